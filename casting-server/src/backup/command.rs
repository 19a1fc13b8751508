//! The `backup` and `restore` subcommands, for a store no server holds.

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use casting_core::{BackupError, SnapshotInfo, Store};

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
