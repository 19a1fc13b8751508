//! Backups while the server runs: a snapshot of the store every interval,
//! the first one interval after start, and one at once on SIGUSR1; the
//! newest N kept. Also the `backup` and `restore` subcommands, for a store
//! no server holds.
//!
//! A snapshot reads from one read transaction of the store, which redb runs
//! beside the writer without holding it up, and the copy runs on a blocking
//! thread, so neither requests nor commits wait for it. A failed snapshot is
//! logged and the server goes on.

mod command;
mod duration;
mod retention;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use casting_core::Store;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

pub use self::command::{backup_command, restore_command};
pub use self::duration::parse_duration;
pub use self::retention::{prune, snapshot_name};

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

/// The snapshot task; [`Backups::stop`] ends it.
#[derive(Debug)]
pub struct Backups {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Starts taking snapshots of `store` as `settings` say; without settings
/// (or without a redb store, which configuration already refuses with them),
/// only catches SIGUSR1, whose default action would stop the process, and
/// logs that it is ignored. Call it before the server announces itself, so
/// that a SIGUSR1 sent from then on is caught.
///
/// # Errors
/// When the backup directory cannot be created or SIGUSR1 not caught.
pub fn start(
    store: Option<Arc<Store>>,
    settings: Option<BackupSettings>,
) -> std::io::Result<Backups> {
    let settings = settings.filter(|_| store.is_some());
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
    let task = match store.zip(settings) {
        Some((store, settings)) => tokio::spawn(schedule(store, settings, usr1, stopped)),
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

#[cfg(test)]
mod tests {
    use super::retention::is_snapshot_name;
    use super::*;
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
        let backups = start(Some(store), Some(settings.clone())).unwrap();
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
