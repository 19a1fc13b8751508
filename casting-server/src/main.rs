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
    report(runtime.block_on(casting_server::serve(settings, shutdown_signal())))
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
