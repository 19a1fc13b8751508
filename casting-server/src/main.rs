//! `casting-server`: parses the configuration, starts logging, and serves
//! until SIGINT or SIGTERM.

use std::io::IsTerminal;
use std::process::ExitCode;

use casting_server::config::{Cli, Command, Settings};
use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    if let Some(Command::Token { role, ttl }) = cli.command {
        return report(casting_server::print_token(&cli.db, role, ttl));
    }
    let settings = match Settings::resolve(&cli.serve, cli.db) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("casting-server: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return report(Err(error)),
    };
    report(runtime.block_on(async {
        ignore_file_size_signal();
        casting_server::serve(settings, shutdown_signal()).await
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

fn report<E: std::fmt::Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("casting-server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            // Without a SIGTERM handler, SIGINT alone stops the server.
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
