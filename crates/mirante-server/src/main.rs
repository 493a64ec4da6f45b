//! The `mirante` binary: parse configuration, install tracing and the metrics recorder,
//! open the store, bind the listener, and hand over to [`mirante_server::run`]; or manage
//! administrator accounts (`mirante admin …`) on the same database.

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use mirante_server::auth::{self, mail};
use mirante_server::config::{
    AdminCommand, Cli, CliCommand, DatabaseArgs, DatabaseLocation, DemoConfig, ServeConfig,
};
use mirante_server::engine::{Clock, SystemClock};
use mirante_server::{EngineClock, EngineHook, RunConfig, demo, run, telemetry};
use mirante_store::Durability;
use mirante_store::accounts::AccountStore;
use mirante_store_sqlite::{SqliteAccounts, SqliteArchive, SqliteStore};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        CliCommand::Serve(config) => serve(config, None),
        CliCommand::Demo(config) => serve(config.serve.clone(), Some(config)),
        CliCommand::Admin(command) => admin(command),
        CliCommand::Sim(config) => sim(&config),
    }
}

/// `mirante admin create | reset-password`.
fn admin(command: AdminCommand) -> anyhow::Result<()> {
    let now = SystemClock.now().0;
    match command {
        AdminCommand::Create(args) => {
            let accounts = open_accounts(&args.db)?;
            let password = read_password(args.password_env.as_deref())?;
            let id = auth::create_admin(
                &accounts,
                &args.email,
                &args.name,
                &password,
                args.group,
                now,
            )
            .context("creating the administrator")?;
            println!(
                "administrator {} created (account {id})",
                args.email.trim().to_lowercase()
            );
        }
        AdminCommand::ResetPassword(args) => {
            let accounts = open_accounts(&args.db)?;
            let password = read_password(args.password_env.as_deref())?;
            let id = auth::reset_password(&accounts, &args.email, &password, now)
                .context("resetting the password")?;
            println!("password of account {id} reset; its sessions were ended");
        }
    }
    Ok(())
}

fn open_accounts(db: &DatabaseArgs) -> anyhow::Result<SqliteAccounts> {
    let DatabaseLocation::Sqlite(path) = db.database_location()?;
    create_parent(&path)?;
    SqliteAccounts::open(&path, Durability::Full)
        .with_context(|| format!("opening the accounts in {}", path.display()))
}

fn create_parent(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// The password from `$VAR`, or the first line of standard input.
fn read_password(env: Option<&str>) -> anyhow::Result<String> {
    if let Some(var) = env {
        return std::env::var(var).with_context(|| format!("reading the password from ${var}"));
    }
    if std::io::stdin().is_terminal() {
        eprintln!("password (at least 10 characters; the input is echoed):");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// `mirante sim`: the demo scenario's traffic over HTTP against a running server
/// (`mirante_sim::http`).
fn sim(config: &mirante_server::config::SimConfig) -> anyhow::Result<()> {
    use mirante_sim::http::{Api, RunOptions, run};
    let password = read_password(config.password_env.as_deref())?;
    let api = Api::new(&config.url).map_err(anyhow::Error::msg)?;
    let options = RunOptions {
        seed: config.seed,
        speed: config.speed,
        minutes: config.minutes,
        warm_up_minutes: config.warm_up,
    };
    let mut scenario = mirante_sim::demo::demo(mirante_sim::demo::DEMO_START);
    if config.scale > 1 {
        scenario = mirante_sim::load::scaled(scenario, usize::from(config.scale));
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    let report = run(api, scenario, &config.email, &password, &options, &stop)
        .with_context(|| format!("simulating against {}", config.url))?;
    println!("{}", report.render());
    Ok(())
}

/// `mirante serve`, or `mirante demo` when `demo` is given (the same server plus the demo
/// logins and the simulator).
#[tokio::main]
async fn serve(config: ServeConfig, demo: Option<DemoConfig>) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&config.log).context("invalid --log filter")?)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let metrics = telemetry::install_recorder().context("installing the metrics recorder")?;
    let shutdown = shutdown_signal();
    // Bind first: a port in use stops us before anything is written.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;

    let DatabaseLocation::Sqlite(path) = config.database_location()?;
    create_parent(&path)?;
    let store = SqliteStore::open(&path, config.durability.into())
        .with_context(|| format!("opening the event store {}", path.display()))?;
    tracing::info!(path = %path.display(), durability = ?config.durability, "event store open");
    let accounts = SqliteAccounts::open(&path, config.durability.into())
        .with_context(|| format!("opening the accounts in {}", path.display()))?;
    let mailer = mail::from_option(&config.mail.0, &config.mail_from)
        .map_err(anyhow::Error::msg)
        .context("setting up --mail")?;
    // The archive is derived from the log (a lost write is redone from the previous
    // checkpoint at start), so it does not need to fsync every commit.
    let archive = SqliteArchive::open(&path, Durability::Normal)
        .with_context(|| format!("opening the session archive in {}", path.display()))?;
    let mut run_config = RunConfig::from_serve(&config, Some(metrics), mailer);
    run_config.archive = Some(Arc::new(archive));

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut announce = Vec::new();
    if let Some(demo_config) = &demo {
        let data_dir = path
            .parent()
            .map_or_else(|| Path::new(".").to_path_buf(), Path::to_path_buf);
        let scenario = mirante_sim::demo::demo(mirante_sim::demo::DEMO_START);
        let suporte = scenario
            .team_id("Suporte")
            .context("the demo scenario has no team Suporte")?;
        let logins = demo::ensure_logins(&accounts, &data_dir, suporte.0, SystemClock.now().0)
            .context("creating the demo logins")?;
        let admin = accounts
            .account_by_email(demo::ADMIN_EMAIL)
            .context("reading the demo administrator")?
            .context("the demo administrator is missing from this database")?;
        announce.push(format!(
            "Demo logins (also in {}):",
            data_dir.join("demo-logins.txt").display()
        ));
        for l in &logins {
            announce.push(format!("  {:<28} {:<22} {}", l.email, l.password, l.role));
        }
        let (seed, speed, scale, stop) = (
            demo_config.seed,
            demo_config.speed,
            demo_config.scale,
            stop.clone(),
        );
        let supervisor = mirante_core::SupervisorId(admin.id);
        // The warm-up is backdated: the engine's clock starts in the past (see `demo`).
        let last_event = demo::last_event_at(&store)
            .await
            .map_err(anyhow::Error::msg)
            .context("reading the log's last event")?;
        let clock = demo::DemoClock::warming_up(SystemClock.now(), last_event);
        run_config.clock = EngineClock(Arc::new(clock.clone()));
        run_config.on_engine = Some(EngineHook(Arc::new(move |engine| {
            let clock = clock.clone();
            if let Err(error) =
                demo::start_simulator(engine, clock, seed, speed, scale, supervisor, stop.clone())
            {
                tracing::error!(%error, "could not start the demo simulator");
            }
        })));
    } else if !auth::has_admin(&accounts).context("reading the accounts")? {
        println!(
            "No administrator exists yet. Create the first one (password on standard input):\n  \
             mirante admin create --email you@example.com --name \"Your Name\" --database sqlite://{}",
            path.display()
        );
    }

    let on_ready = |addr| {
        println!("mirante listening on http://{addr}");
        for line in &announce {
            println!("{line}");
        }
    };
    let stopping = stop.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    run(
        run_config,
        store,
        Arc::new(accounts),
        listener,
        on_ready,
        shutdown,
    )
    .await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is
/// *called* (before the server announces it is listening), so a signal sent right after
/// the announcement is never lost to the default action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let mut interrupt =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let term = async {
                match terminate.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => {
                        tracing::error!("cannot listen for SIGTERM");
                        std::future::pending::<()>().await;
                    }
                }
            };
            let int = async {
                match interrupt.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => {
                        tracing::error!("cannot listen for SIGINT");
                        std::future::pending::<()>().await;
                    }
                }
            };
            tokio::select! {
                () = int => tracing::info!("SIGINT received; shutting down"),
                () = term => tracing::info!("SIGTERM received; shutting down"),
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::error!(%error, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
            tracing::info!("SIGINT received; shutting down");
        }
    }
}
