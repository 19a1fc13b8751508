//! Backups while the server runs: a snapshot of the store every interval,
//! the first one interval after start, and one at once on SIGUSR1; the
//! newest N kept. Also the `backup` and `restore` subcommands, for a store
//! no server holds.
//!
//! A snapshot reads from one read transaction of the store, which redb runs
//! beside the writer without holding it up, and the copy runs on a blocking
//! thread, so neither requests nor commits wait for it. A failed snapshot is
//! logged and the server goes on.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use casting_core::{BackupError, SnapshotInfo, Store};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// The default time between snapshots.
pub const DEFAULT_INTERVAL: &str = "1h";

/// The default number of snapshots kept.
pub const DEFAULT_KEEP: usize = 24;

/// How the server takes snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSettings {
    /// Where snapshots go; created at startup when missing.
    pub dir: PathBuf,
    /// The time between two scheduled snapshots, and before the first.
    pub interval: Duration,
    /// How many snapshots to keep; older ones are removed.
    pub keep: usize,
}

impl BackupSettings {
    /// The settings when a backup directory is given; checks that it is a
    /// directory, or could be created as one.
    ///
    /// # Errors
    /// A message naming the variable, when something else is in the way.
    pub fn resolve(
        dir: Option<&Path>,
        interval: Duration,
        keep: usize,
    ) -> Result<Option<Self>, String> {
        let Some(dir) = dir else { return Ok(None) };
        if dir.as_os_str().is_empty() {
            return Err("CASTING_BACKUP_DIR (--backup-dir) is empty: name a directory, or unset it to take no backups".into());
        }
        // The nearest part of the path that exists must be a directory, so
        // that the rest can be created at startup.
        let existing = dir
            .ancestors()
            .find(|p| p.exists() || p.as_os_str().is_empty());
        if let Some(existing) = existing.filter(|p| !p.as_os_str().is_empty() && !p.is_dir()) {
            return Err(format!(
                "CASTING_BACKUP_DIR (--backup-dir) {}: {} is not a directory",
                dir.display(),
                existing.display()
            ));
        }
        Ok(Some(BackupSettings {
            dir: dir.to_owned(),
            interval,
            keep,
        }))
    }
}

/// Parses a duration such as `90s`, `15m`, `1h`, `1h30m` or `500ms`; the
/// units are `ms`, `s`, `m`, `h` and `d`.
///
/// # Errors
/// When the text is not such a duration, or is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let wrong = || format!("{text:?} is not a duration such as 90s, 15m or 1h");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(wrong());
    }
    let mut millis: u64 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: u64 = rest[..digits].parse().map_err(|_| wrong())?;
        rest = &rest[digits..];
        let letters = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit: u64 = match &rest[..letters] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(wrong()),
        };
        rest = &rest[letters..];
        millis = number
            .checked_mul(unit)
            .and_then(|part| millis.checked_add(part))
            .ok_or_else(|| format!("{text:?} is too long a duration"))?;
    }
    if millis == 0 {
        return Err(format!(
            "{text:?} is zero; a duration must be more than that"
        ));
    }
    Ok(Duration::from_millis(millis))
}

/// The name of a snapshot taken at `at`: `casting-YYYYMMDDTHHMMSSZ.redb`,
/// in UTC, so names sort in the order they were taken.
pub fn snapshot_name(at: jiff::Timestamp) -> String {
    format!("casting-{}.redb", at.strftime("%Y%m%dT%H%M%SZ"))
}

/// Whether `name` is that of a snapshot; nothing else in the directory is
/// ever removed.
fn is_snapshot_name(name: &str) -> bool {
    let Some(stamp) = name
        .strip_prefix("casting-")
        .and_then(|rest| rest.strip_suffix("Z.redb"))
    else {
        return false;
    };
    let bytes = stamp.as_bytes();
    bytes.len() == 15
        && bytes[8] == b'T'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 8 || b.is_ascii_digit())
}

/// Whether `name` is the temporary name of a snapshot being written, or
/// left behind by a process killed while it wrote one.
fn is_partial_name(name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|rest| rest.strip_suffix(".partial"))
        .is_some_and(is_snapshot_name)
}

/// Removes the oldest snapshots in `dir` beyond the newest `keep`, and the
/// partial snapshots a killed process left, and returns the paths removed.
/// Call it only while no snapshot is being written there.
///
/// # Errors
/// When the directory cannot be listed or a snapshot removed.
pub fn prune(dir: &Path, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let mut names = Vec::new();
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !entry.file_type()?.is_file() {
            continue;
        }
        if is_snapshot_name(&name) {
            names.push(name);
        } else if is_partial_name(&name) {
            std::fs::remove_file(entry.path())?;
            removed.push(entry.path());
        }
    }
    names.sort_unstable();
    let excess = names.len().saturating_sub(keep);
    for name in names.into_iter().take(excess) {
        let path = dir.join(name);
        std::fs::remove_file(&path)?;
        removed.push(path);
    }
    Ok(removed)
}

/// The snapshot task; [`Backups::stop`] ends it.
#[derive(Debug)]
pub struct Backups {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Starts taking snapshots of `store` as `settings` say; without settings,
/// only catches SIGUSR1, whose default action would stop the process, and
/// logs that it is ignored. Call it before the server announces itself, so
/// that a SIGUSR1 sent from then on is caught.
///
/// # Errors
/// When the backup directory cannot be created or SIGUSR1 not caught.
pub fn start(store: Arc<Store>, settings: Option<BackupSettings>) -> std::io::Result<Backups> {
    let usr1 = signal(SignalKind::user_defined1())?;
    if let Some(settings) = &settings {
        std::fs::create_dir_all(&settings.dir).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot create the backup directory {} (CASTING_BACKUP_DIR, --backup-dir): {e}",
                    settings.dir.display()
                ),
            )
        })?;
        tracing::info!(
            dir = %settings.dir.display(),
            interval_s = settings.interval.as_secs_f64(),
            keep = settings.keep,
            "backups on: a snapshot every interval and on SIGUSR1"
        );
    }
    let (stop, stopped) = oneshot::channel();
    let task = match settings {
        Some(settings) => tokio::spawn(schedule(store, settings, usr1, stopped)),
        None => tokio::spawn(ignore(usr1, stopped)),
    };
    Ok(Backups { stop, task })
}

impl Backups {
    /// Stops the schedule, after the snapshot in progress if there is one,
    /// so that the store is not held past the server's end.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the backup task failed");
        }
    }
}

async fn ignore(mut usr1: Signal, mut stopped: oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            Some(()) = usr1.recv() => {
                tracing::warn!("SIGUSR1 ignored: no backup directory is set (CASTING_BACKUP_DIR, --backup-dir)");
            }
        }
    }
}

async fn schedule(
    store: Arc<Store>,
    settings: BackupSettings,
    mut usr1: Signal,
    mut stopped: oneshot::Receiver<()>,
) {
    let first = tokio::time::Instant::now() + settings.interval;
    let mut ticks = tokio::time::interval_at(first, settings.interval);
    // A snapshot longer than the interval delays the next one rather than
    // starting a burst to catch up.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let trigger = tokio::select! {
            _ = &mut stopped => return,
            _ = ticks.tick() => "schedule",
            Some(()) = usr1.recv() => "SIGUSR1",
        };
        take_snapshot(&store, &settings, trigger).await;
    }
}

/// Takes one snapshot and, when it is written, removes the oldest beyond
/// the number kept; a failure is logged, and the older snapshots stay.
async fn take_snapshot(store: &Arc<Store>, settings: &BackupSettings, trigger: &'static str) {
    let path = settings.dir.join(snapshot_name(jiff::Timestamp::now()));
    let started = Instant::now();
    let copy = {
        let (store, path) = (Arc::clone(store), path.clone());
        tokio::task::spawn_blocking(move || store.snapshot(&path))
    };
    match copy.await {
        Ok(Ok(info)) => tracing::info!(
            path = %info.path.display(),
            bytes = info.bytes,
            movies = info.counts.movies,
            actors = info.counts.actors,
            duration_ms = started.elapsed().as_millis() as u64,
            trigger,
            "snapshot written"
        ),
        Ok(Err(error)) => {
            tracing::error!(path = %path.display(), %error, trigger, "snapshot failed");
            return;
        }
        Err(error) => {
            tracing::error!(path = %path.display(), %error, trigger, "snapshot failed: the copy panicked");
            return;
        }
    }
    let (dir, keep) = (settings.dir.clone(), settings.keep);
    match tokio::task::spawn_blocking(move || prune(&dir, keep)).await {
        Ok(Ok(removed)) => {
            for path in removed {
                tracing::info!(path = %path.display(), "old snapshot removed");
            }
        }
        Ok(Err(error)) => {
            tracing::error!(dir = %settings.dir.display(), %error, "cannot remove old snapshots")
        }
        Err(error) => tracing::error!(%error, "cannot remove old snapshots"),
    }
}

/// Prints what a subcommand did; a closed standard output loses the line,
/// which must not turn success into a panic as `println!` would.
fn report(action: &str, info: &SnapshotInfo, started: Instant) {
    let _ = writeln!(
        std::io::stdout().lock(),
        "{action} {}: {} movies, {} actors, {} bytes in {} ms",
        info.path.display(),
        info.counts.movies,
        info.counts.actors,
        info.bytes,
        started.elapsed().as_millis()
    );
}

/// `casting-server backup --db FILE --to OUT`: writes a snapshot of the
/// store at `db`, which no server may hold, to `to`, which must not exist.
///
/// # Errors
/// What [`Store::backup`] refuses, in one line naming the file.
pub fn backup_command(db: &Path, to: &Path) -> Result<(), BackupError> {
    let started = Instant::now();
    let info = quietly(|| Store::backup(db, to))?;
    report("wrote", &info, started);
    Ok(())
}

/// `casting-server restore --from SNAPSHOT --db FILE`: checks the snapshot
/// and installs it as the store at `db`, which no server may hold.
///
/// # Errors
/// What [`Store::restore`] refuses, in one line naming the file.
pub fn restore_command(from: &Path, db: &Path) -> Result<(), BackupError> {
    let started = Instant::now();
    let info = quietly(|| Store::restore(from, db))?;
    report("restored", &info, started);
    Ok(())
}

/// Runs `f` with panics silent: redb may panic on a damaged file, the
/// store turns that into an error, and the command's one-line refusal says
/// it; the process's panic hook would add a line of its own.
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = f();
    std::panic::set_hook(hook);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_usual_units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration(" 500ms "), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn durations_without_a_known_unit_or_of_zero_are_refused() {
        for bad in [
            "", "90", "s", "1x", "1.5h", "-1s", "1h 30m", "0s", "0h0m", "h1",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration("99999999999999999d").is_err());
    }

    #[test]
    fn snapshot_names_are_utc_timestamps() {
        let at: jiff::Timestamp = "2026-12-02T04:05:06Z".parse().unwrap();
        let name = snapshot_name(at);
        assert_eq!(name, "casting-20261202T040506Z.redb");
        assert!(is_snapshot_name(&name));
    }

    #[test]
    fn only_snapshot_names_are_taken_for_snapshots() {
        for other in [
            "casting.redb",
            "casting-20261202T040506Z.redb.partial",
            ".casting-20261202T040506Z.redb.partial",
            "casting-2026120XT040506Z.redb",
            "casting-20261202T04050Z.redb",
            "casting-20261202-040506Z.redb",
            "notes.txt",
        ] {
            assert!(!is_snapshot_name(other), "{other}");
        }
    }

    #[test]
    fn pruning_keeps_the_newest_snapshots_and_removes_only_snapshots_and_their_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "casting-20261202T040503Z.redb",
            "casting-20261202T040501Z.redb",
            "casting-20261202T040504Z.redb",
            "casting-20261202T040502Z.redb",
            ".casting-20261202T040500Z.redb.partial",
            ".casting.redb.partial",
            "casting.redb",
            "notes.txt",
        ];
        for name in names {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        let removed = prune(dir.path(), 2).unwrap();
        assert_eq!(
            removed,
            [
                dir.path().join(".casting-20261202T040500Z.redb.partial"),
                dir.path().join("casting-20261202T040501Z.redb"),
                dir.path().join("casting-20261202T040502Z.redb")
            ]
        );
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".casting.redb.partial",
                "casting-20261202T040503Z.redb",
                "casting-20261202T040504Z.redb",
                "casting.redb",
                "notes.txt"
            ]
        );
    }

    #[test]
    fn a_backup_directory_must_be_one_or_creatable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let hour = Duration::from_secs(3600);
        assert!(BackupSettings::resolve(Some(&file), hour, 1).is_err());
        assert!(BackupSettings::resolve(Some(&file.join("below")), hour, 1).is_err());
        let new = dir.path().join("a").join("b");
        assert_eq!(
            BackupSettings::resolve(Some(&new), hour, 3),
            Ok(Some(BackupSettings {
                dir: new,
                interval: hour,
                keep: 3
            }))
        );
        assert_eq!(BackupSettings::resolve(None, hour, 3), Ok(None));
    }

    #[tokio::test(start_paused = true)]
    async fn snapshots_come_one_interval_after_start_and_every_interval_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path().join("casting.redb")).unwrap());
        let settings = BackupSettings {
            dir: dir.path().join("backups"),
            interval: Duration::from_secs(3600),
            keep: 100,
        };
        let backups = start(store, Some(settings.clone())).unwrap();
        let count = || {
            std::fs::read_dir(&settings.dir)
                .unwrap()
                .filter(|e| is_snapshot_name(&e.as_ref().unwrap().file_name().to_string_lossy()))
                .count()
        };
        tokio::time::sleep(Duration::from_secs(3599)).await;
        assert_eq!(count(), 0, "none before one interval");
        tokio::time::sleep(Duration::from_secs(2)).await;
        wait_for(|| count() == 1).await;
        // Distinct names: they have a second's resolution.
        tokio::time::sleep(Duration::from_secs(1)).await;
        std::thread::sleep(Duration::from_millis(1100));
        tokio::time::sleep(Duration::from_secs(3598)).await;
        assert_eq!(count(), 1, "one per interval");
        tokio::time::sleep(Duration::from_secs(2)).await;
        wait_for(|| count() == 2).await;
        backups.stop().await;
    }

    /// Waits, in real time, for a snapshot on a blocking thread to land.
    async fn wait_for(done: impl Fn() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            // A blocking thread runs in real time while the clock is
            // paused, so yield to it rather than sleep.
            std::thread::sleep(Duration::from_millis(10));
            tokio::task::yield_now().await;
        }
        panic!("no snapshot within 5 s");
    }
}
