//! The `mirante` binary: parse configuration, install tracing and the metrics recorder,
//! open the store, bind the listener, and hand over to [`mirante_server::run`].

use std::io::IsTerminal;

use anyhow::Context;
use clap::Parser;
use mirante_server::config::{Cli, CliCommand, DatabaseLocation, ServeConfig};
use mirante_server::{RunConfig, run, telemetry};
use mirante_store_sqlite::SqliteStore;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        CliCommand::Serve(config) => serve(config),
    }
}

#[tokio::main]
async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&config.log).context("invalid --log filter")?)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let metrics = telemetry::install_recorder().context("installing the metrics recorder")?;

    let DatabaseLocation::Sqlite(path) = config.database_location()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let store = SqliteStore::open(&path, config.durability.into())
        .with_context(|| format!("opening the event store {}", path.display()))?;
    tracing::info!(path = %path.display(), durability = ?config.durability, "event store open");

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let on_ready = |addr| println!("mirante listening on http://{addr}");
    run(
        RunConfig::from_serve(&config, Some(metrics)),
        store,
        listener,
        on_ready,
        shutdown_signal(),
    )
    .await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}
