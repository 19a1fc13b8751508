//! `casting-server`: parses the configuration, starts logging, and serves
//! until SIGINT or SIGTERM.

use std::io::Write as _;
use std::process::ExitCode;

use casting_server::config::{Cli, Command, Settings};
use casting_server::logging;
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = match logging::filter() {
        Ok(filter) => filter,
        Err(error) => {
            say(&error);
            return ExitCode::from(2);
        }
    };
    // Held to the end of main, so queued lines are written before exit.
    let _logging = match logging::init(filter, cli.serve.log_format) {
        Ok(logging) => logging,
        Err(error) => {
            say(&format_args!("cannot start the log writer: {error}"));
            return ExitCode::FAILURE;
        }
    };
    log_panics();

    let file = || {
        cli.db.file().ok_or_else(|| {
            format!(
                "{} is a PostgreSQL database: back it up and restore it with its own tools (pg_dump, pg_restore), or move data with `casting-server copy`",
                cli.db
            )
        })
    };
    match &cli.command {
        Some(Command::Token { role, ttl }) => {
            return report(casting_server::print_token(
                &cli.db,
                cli.db_connect_timeout,
                *role,
                *ttl,
            ));
        }
        Some(Command::Backup { to }) => {
            return report(file().and_then(|db| {
                casting_server::backup::backup_command(db, to).map_err(|e| e.to_string())
            }));
        }
        Some(Command::Restore { from }) => {
            return report(file().and_then(|db| {
                casting_server::backup::restore_command(from, db).map_err(|e| e.to_string())
            }));
        }
        Some(Command::Copy { from, to, force }) => {
            return report(casting_server::copy::copy_command(
                from,
                to,
                *force,
                cli.db_connect_timeout,
            ));
        }
        None => {}
    }
    let settings = match Settings::resolve(&cli.serve, cli.db, cli.db_connect_timeout) {
        Ok(settings) => settings,
        Err(error) => {
            say(&error);
            return ExitCode::from(2);
        }
    };
    let runtime = match casting_server::idle::Workers::process_runtime() {
        Ok(runtime) => runtime,
        Err(error) => return report(Err(error)),
    };
    report(runtime.block_on(async {
        ignore_file_size_signal();
        let shutdown = shutdown_signal();
        casting_server::serve(settings, shutdown).await
    }))
}

/// A store file that would grow past the process's file size limit
/// (`RLIMIT_FSIZE`) must fail that write with `EFBIG`, which the store
/// reports as a 500, rather than kill the server with SIGXFSZ. Tokio keeps a
/// registered handler for the life of the process, so the stream may go.
fn ignore_file_size_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    if let Err(error) = signal(SignalKind::from_raw(libc::SIGXFSZ)) {
        tracing::warn!(%error, "could not catch SIGXFSZ; a file size limit will stop the server");
    }
}

/// Tells the operator why the server stops, on standard error; a closed
/// standard error loses the line, and must not turn the exit into a panic
/// as `eprintln!` would.
fn say(error: &dyn std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "casting-server: {error}");
}

fn report<E: std::fmt::Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            say(&error);
            ExitCode::FAILURE
        }
    }
}

/// A panic becomes one log line (message and place) instead of the default
/// hook's lines on standard error: the code that catches panics (a damaged
/// store page, say) answers 500 and goes on, and the log says why once.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%message, %place, "panic");
    }));
}

/// Catches SIGINT and SIGTERM from now on, and returns a future that
/// completes on the first of them. The handlers are installed here, before
/// the server prints that it listens: installed when the future is first
/// polled, a signal sent right after that line would find the default
/// action and end the process uncleanly.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    if let Err(error) = &terminate {
        tracing::warn!(%error, "could not catch SIGTERM; SIGINT alone stops the server");
    }
    async move {
        let wait = |stream: std::io::Result<tokio::signal::unix::Signal>| async move {
            match stream {
                Ok(mut stream) => {
                    stream.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(terminate) => {}
            () = wait(interrupt) => {}
        }
    }
}
