//! Command-line and environment configuration of the `mirante` binary (clap derive; every
//! option also reads a `MIRANTE_*` variable; the doc comments are the `--help`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mirante_store::Durability;

/// Mirante: an omnichannel contact-center server.
#[derive(Debug, Parser)]
#[command(
    name = "mirante",
    version,
    about = "Mirante: an omnichannel contact-center server"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: CliCommand,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Run the server: HTTP API, engine and event store.
    Serve(ServeConfig),
}

/// Options of `mirante serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on (use port 0 to pick a free port; the bound address is printed).
    #[arg(long, env = "MIRANTE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory holding the data (the SQLite file `mirante.db`); created if missing.
    #[arg(long, env = "MIRANTE_DATA_DIR", default_value = "./mirante-data")]
    pub data_dir: PathBuf,

    /// Database URL, e.g. `sqlite:///var/lib/mirante/mirante.db`; wins over `--data-dir`.
    #[arg(long, env = "MIRANTE_DATABASE")]
    pub database: Option<String>,

    /// How hard each commit works to survive crashes: `full` survives power loss (fsync on
    /// every commit); `normal` survives a crash of the process only, and is faster.
    #[arg(long, env = "MIRANTE_DURABILITY", value_enum, default_value_t = DurabilityArg::Full)]
    pub durability: DurabilityArg,

    /// Save a snapshot of the state in the background every this many events (0 = never);
    /// start-up loads the latest snapshot and replays only the events after it.
    #[arg(long, env = "MIRANTE_SNAPSHOT_EVERY", default_value_t = 100_000)]
    pub snapshot_every: u64,

    /// Ignore snapshots at start-up and replay the whole log (diagnostics, benchmarks).
    #[arg(long, env = "MIRANTE_IGNORE_SNAPSHOTS")]
    pub ignore_snapshots: bool,

    /// Log filter, in `tracing` `EnvFilter` syntax (e.g. `info`, `mirante_server=debug`).
    #[arg(long, env = "MIRANTE_LOG", default_value = "info")]
    pub log: String,

    /// DEVELOPMENT SWITCH: enable `POST /api/v1/commands` (any core command as JSON) and
    /// `GET /api/v1/debug/state`, without authentication. Off by default; never enable it
    /// on a reachable address (the accounts work will put it behind admin auth).
    #[arg(long, env = "MIRANTE_ENABLE_COMMAND_API")]
    pub enable_command_api: bool,
}

/// `--durability` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DurabilityArg {
    /// fsync on every commit: survives power loss.
    Full,
    /// Survives a crash of the process (`kill -9`); faster.
    Normal,
}

impl From<DurabilityArg> for Durability {
    fn from(value: DurabilityArg) -> Self {
        match value {
            DurabilityArg::Full => Durability::Full,
            DurabilityArg::Normal => Durability::Normal,
        }
    }
}

/// Where the event store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// An SQLite file.
    Sqlite(PathBuf),
}

/// Why the database option cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The URL's scheme names no backend this build has.
    #[error("unsupported database URL `{0}` (expected `sqlite://PATH`)")]
    UnsupportedDatabase(String),
}

impl ServeConfig {
    /// The database to open: `--database` when given, else `DATA_DIR/mirante.db`.
    pub fn database_location(&self) -> Result<DatabaseLocation, ConfigError> {
        match &self.database {
            None => Ok(DatabaseLocation::Sqlite(self.data_dir.join("mirante.db"))),
            Some(url) => mirante_store_sqlite::path_from_url(url)
                .map(DatabaseLocation::Sqlite)
                .map_err(|_| ConfigError::UnsupportedDatabase(url.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn serve(args: &[&str]) -> ServeConfig {
        let cli = Cli::try_parse_from(["mirante", "serve"].iter().chain(args)).unwrap();
        let CliCommand::Serve(config) = cli.command;
        config
    }

    #[test]
    fn defaults_are_safe_and_local() {
        let config = serve(&[]);
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.durability, DurabilityArg::Full);
        assert_eq!(config.snapshot_every, 100_000);
        assert!(!config.enable_command_api);
        assert_eq!(
            config.database_location().unwrap(),
            DatabaseLocation::Sqlite("./mirante-data/mirante.db".into())
        );
    }

    #[test]
    fn a_database_url_wins_over_the_data_dir() {
        let config = serve(&[
            "--data-dir",
            "/srv/x",
            "--database",
            "sqlite:///var/lib/m.db",
        ]);
        assert_eq!(
            config.database_location().unwrap(),
            DatabaseLocation::Sqlite("/var/lib/m.db".into())
        );
        let config = serve(&["--database", "postgres://db/mirante"]);
        assert!(config.database_location().is_err());
    }

    #[test]
    fn options_parse() {
        let config = serve(&[
            "--listen",
            "0.0.0.0:0",
            "--durability",
            "normal",
            "--enable-command-api",
        ]);
        assert_eq!(config.listen.port(), 0);
        assert_eq!(Durability::from(config.durability), Durability::Normal);
        assert!(config.enable_command_api);
        assert!(Cli::try_parse_from(["mirante", "serve", "--durability", "fast"]).is_err());
    }
}
