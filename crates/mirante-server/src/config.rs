//! Command-line and environment configuration of the `mirante` binary (clap derive; every
//! option also reads a `MIRANTE_*` variable; the doc comments are the `--help`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mirante_store::Durability;

use crate::auth::AuthConfig;

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
    /// Run the server with a living demo contact center: configuration, two logins
    /// (written to `<data-dir>/demo-logins.txt`) and the traffic simulator.
    Demo(DemoConfig),
    /// Manage administrator accounts on the database (works while the server runs).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Drive a running server with the demo scenario's traffic over HTTP (full-stack load):
    /// configures the fresh server through the admin API, then customers write through the
    /// channel API and agents act through their own sessions. Prints the counts and the
    /// latency per command kind.
    Sim(SimConfig),
}

/// Options of `mirante sim`.
#[derive(Debug, Clone, Args)]
pub struct SimConfig {
    /// The server's base URL (e.g. `http://127.0.0.1:8080`); it must have no configuration
    /// yet (a fresh data dir with one administrator).
    #[arg(long, env = "MIRANTE_SIM_URL")]
    pub url: String,
    /// E-mail of an unrestricted administrator (a cookie session: it mints the channel
    /// tokens). The password is read from standard input, or from `--password-env`.
    #[arg(long, env = "MIRANTE_SIM_EMAIL")]
    pub email: String,
    /// Read the password from this environment variable instead of standard input.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Seed of the simulator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated time per real time (> 0 and ≤ 1000); omitted: as fast as the server answers.
    #[arg(long, value_parser = parse_speed)]
    pub speed: Option<f64>,
    /// Simulated minutes to run (> 0).
    #[arg(long, default_value_t = 60.0, value_parser = parse_minutes)]
    pub minutes: f64,
    /// Simulated minutes run as fast as possible first (queues form), ≥ 0.
    #[arg(long, default_value_t = 0.0, value_parser = parse_warm_up)]
    pub warm_up: f64,
    /// The demo contact center this many times larger (agents and arrivals,
    /// `mirante_sim::load::scaled`), ≥ 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub scale: u16,
}

fn parse_minutes(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(m) if m.is_finite() && m > 0.0 => Ok(m),
        _ => Err(format!("the minutes must be a number > 0 (got {text})")),
    }
}

fn parse_warm_up(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(m) if m.is_finite() && m >= 0.0 => Ok(m),
        _ => Err(format!("the warm-up must be a number ≥ 0 (got {text})")),
    }
}

/// `mirante admin …`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an administrator in the default group "Administrador" (full permission).
    /// The password is read from standard input (one line), or from `--password-env`.
    Create(AdminCreate),
    /// Set a new password for an account (administrator or agent) and end its sessions.
    /// The password is read from standard input (one line), or from `--password-env`.
    ResetPassword(AdminResetPassword),
}

/// Options of `mirante admin create`.
#[derive(Debug, Clone, Args)]
pub struct AdminCreate {
    /// Login e-mail.
    #[arg(long)]
    pub email: String,
    /// Full name.
    #[arg(long)]
    pub name: String,
    /// User group id (default: 1, "Administrador").
    #[arg(long, default_value_t = 1)]
    pub group: u64,
    /// Read the password from this environment variable instead of standard input.
    #[arg(long)]
    pub password_env: Option<String>,
    /// The database.
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Options of `mirante admin reset-password`.
#[derive(Debug, Clone, Args)]
pub struct AdminResetPassword {
    /// Login e-mail of the account.
    #[arg(long)]
    pub email: String,
    /// Read the password from this environment variable instead of standard input.
    #[arg(long)]
    pub password_env: Option<String>,
    /// The database.
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Where the database is, as `mirante serve` takes it.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Directory holding the data (the SQLite file `mirante.db`).
    #[arg(long, env = "MIRANTE_DATA_DIR", default_value = "./mirante-data")]
    pub data_dir: PathBuf,
    /// Database URL, e.g. `sqlite:///var/lib/mirante/mirante.db`; wins over `--data-dir`.
    #[arg(long, env = "MIRANTE_DATABASE")]
    pub database: Option<String>,
}

impl DatabaseArgs {
    /// The database to open.
    pub fn database_location(&self) -> Result<DatabaseLocation, ConfigError> {
        database_location(&self.data_dir, self.database.as_deref())
    }
}

fn database_location(
    data_dir: &std::path::Path,
    database: Option<&str>,
) -> Result<DatabaseLocation, ConfigError> {
    match database {
        None => Ok(DatabaseLocation::Sqlite(data_dir.join("mirante.db"))),
        Some(url) => mirante_store_sqlite::path_from_url(url)
            .map(DatabaseLocation::Sqlite)
            .map_err(|_| ConfigError::UnsupportedDatabase(url.to_owned())),
    }
}

/// `--mail`: `log`, `dir:PATH` or an SMTP URL; its `Debug` hides credentials.
#[derive(Clone)]
pub struct MailOption(pub String);

impl std::fmt::Debug for MailOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
                write!(f, "{scheme}://…@{host}")
            }
            None => write!(f, "{}", self.0),
        }
    }
}

fn parse_public_url(value: &str) -> Result<String, String> {
    let trimmed = value.trim_end_matches('/');
    if (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
        && trimmed.len() > "https://".len()
    {
        Ok(trimmed.to_owned())
    } else {
        Err("expected http(s)://host[:port]".to_owned())
    }
}

/// Options of `mirante demo`: those of `serve`, plus the simulator's.
#[derive(Debug, Clone, Args)]
pub struct DemoConfig {
    /// The server.
    #[command(flatten)]
    pub serve: ServeConfig,
    /// Seed of the simulator (the same seed plays the same customers and agents).
    #[arg(long, env = "MIRANTE_DEMO_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Simulated time per real time (1 = real time; 10 = ten times faster), > 0 and ≤ 1000.
    #[arg(long, env = "MIRANTE_DEMO_SPEED", default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,
    /// The demo contact center this many times larger (agents and arrivals,
    /// `mirante_sim::load::scaled`), ≥ 1; e.g. a load for the supervisor screen's benchmark.
    #[arg(long, env = "MIRANTE_DEMO_SCALE", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub scale: u16,
}

fn parse_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if speed.is_finite() && speed > 0.0 && speed <= 1000.0 {
        Ok(speed)
    } else {
        Err(format!("the speed must be > 0 and ≤ 1000 (got {text})"))
    }
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

    /// The server's public URL, e.g. `https://mirante.example.com` behind a TLS proxy: the
    /// origin state-changing requests must come from (CSRF), the `Secure` cookie flag when
    /// `https`, and the base of links in e-mails. Unset: taken from each request's `Host`.
    #[arg(long, env = "MIRANTE_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,

    /// Reverse proxies (IP addresses, comma-separated) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed (source address in the audit log and throttling;
    /// `Secure` cookies).
    #[arg(
        long = "trusted-proxy",
        env = "MIRANTE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpAddr>,

    /// A web session ends after this many minutes without a request.
    #[arg(long, env = "MIRANTE_SESSION_IDLE_MINUTES", default_value_t = 480)]
    pub session_idle_minutes: u64,

    /// A web session ends this many hours after log-in, whatever the activity.
    #[arg(long, env = "MIRANTE_SESSION_ABSOLUTE_HOURS", default_value_t = 168)]
    pub session_absolute_hours: u64,

    /// Outbound mail (password links): `log` (write to the log; development),
    /// `dir:PATH` (one file per message), `smtp://user:pass@host[:587]` (STARTTLS),
    /// `smtps://…[:465]` (TLS), or `smtp+plain://host[:25]` (no TLS; local relay only).
    #[arg(long, env = "MIRANTE_MAIL", default_value = "log", value_parser = |v: &str| Ok::<_, String>(MailOption(v.to_owned())))]
    pub mail: MailOption,

    /// Sender address of outbound mail.
    #[arg(
        long,
        env = "MIRANTE_MAIL_FROM",
        default_value = "Mirante <mirante@localhost>"
    )]
    pub mail_from: String,

    /// Least time between two frames of one live-monitor connection, in milliseconds
    /// (1–1000). The default, 100, allows 10 frames/s per connection; under continuous
    /// change a change waits up to this long, so a lower value lowers the stream's latency
    /// at the cost of more writes.
    #[arg(long, env = "MIRANTE_STREAM_FRAME_MS", default_value_t = 100, value_parser = parse_frame_ms)]
    pub stream_frame_ms: u64,

    /// The least time between two frames a live-monitor client may ask for (`frame_ms` in
    /// its `subscribe`), in milliseconds (1–1000; capped by `--stream-frame-ms`). The default,
    /// 10, allows a program up to 100 frames/s on its connection (fewer when the server is
    /// busy: a connection still writing takes the frames left meanwhile in one flush); the
    /// browser UI keeps the server's default.
    #[arg(long, env = "MIRANTE_STREAM_MIN_FRAME_MS", default_value_t = 10, value_parser = parse_frame_ms)]
    pub stream_min_frame_ms: u64,
}

fn parse_frame_ms(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(ms) if (1..=1000).contains(&ms) => Ok(ms),
        _ => Err(format!(
            "the stream frame interval must be a whole number of milliseconds from 1 to 1000 (got {text})"
        )),
    }
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
        database_location(&self.data_dir, self.database.as_deref())
    }

    /// The accounts configuration these options describe.
    pub fn auth_config(&self) -> AuthConfig {
        let minutes = |m: u64| i64::try_from(m.saturating_mul(60_000)).unwrap_or(i64::MAX);
        AuthConfig {
            sessions: mirante_auth::SessionPolicy {
                idle_ms: minutes(self.session_idle_minutes.max(1)),
                absolute_ms: minutes(self.session_absolute_hours.max(1).saturating_mul(60)),
            },
            public_url: self.public_url.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            ..AuthConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn serve(args: &[&str]) -> ServeConfig {
        let cli = Cli::try_parse_from(["mirante", "serve"].iter().chain(args)).unwrap();
        let CliCommand::Serve(config) = cli.command else {
            panic!("not serve")
        };
        config
    }

    #[test]
    fn defaults_are_safe_and_local() {
        let config = serve(&[]);
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.durability, DurabilityArg::Full);
        assert_eq!(config.snapshot_every, 100_000);
        assert!(!config.enable_command_api);
        assert_eq!(config.stream_frame_ms, 100);
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

    #[test]
    fn the_stream_frame_interval_is_validated() {
        assert_eq!(serve(&["--stream-frame-ms", "40"]).stream_frame_ms, 40);
        assert_eq!(serve(&["--stream-frame-ms", "1000"]).stream_frame_ms, 1000);
        for bad in ["0", "1001", "fast"] {
            let error = Cli::try_parse_from(["mirante", "serve", "--stream-frame-ms", bad])
                .unwrap_err()
                .to_string();
            assert!(error.contains("from 1 to 1000"), "{bad}: {error}");
        }
        assert_eq!(serve(&[]).stream_min_frame_ms, 10);
        assert_eq!(
            serve(&["--stream-min-frame-ms", "20"]).stream_min_frame_ms,
            20
        );
        assert!(Cli::try_parse_from(["mirante", "serve", "--stream-min-frame-ms", "0"]).is_err());
    }

    #[test]
    fn auth_options_parse() {
        let config = serve(&[
            "--public-url",
            "https://mirante.example.com/",
            "--trusted-proxy",
            "10.0.0.1,10.0.0.2",
            "--session-idle-minutes",
            "30",
            "--mail",
            "smtp://user:secret@mail.example.com:587",
        ]);
        let auth = config.auth_config();
        assert_eq!(
            auth.public_url.as_deref(),
            Some("https://mirante.example.com")
        );
        assert_eq!(auth.trusted_proxies.len(), 2);
        assert_eq!(auth.sessions.idle_ms, 30 * 60_000);
        assert_eq!(auth.sessions.absolute_ms, 168 * 3_600_000);
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("secret"),
            "credentials are redacted: {debug}"
        );
        assert!(Cli::try_parse_from(["mirante", "serve", "--public-url", "ftp://x"]).is_err());
        let cli = Cli::try_parse_from([
            "mirante",
            "admin",
            "create",
            "--email",
            "a@x.com",
            "--name",
            "Ana",
            "--data-dir",
            "/tmp/d",
        ])
        .unwrap();
        let CliCommand::Admin(AdminCommand::Create(create)) = cli.command else {
            panic!("admin create")
        };
        assert_eq!(create.group, 1);
        assert_eq!(
            create.db.database_location().unwrap(),
            DatabaseLocation::Sqlite("/tmp/d/mirante.db".into())
        );
    }
}
