//! The imperative shell of Mirante: the engine task that owns the core and the write path,
//! the HTTP API, metrics and configuration. The binary `mirante` (`main.rs`) only parses
//! configuration, installs tracing and the metrics recorder, opens the store, binds the
//! listener and calls [`run`].

mod apart;
pub mod auth;
mod background;
pub mod config;
pub mod demo;
pub mod engine;
pub mod feeds;
pub mod http;
pub mod monitor;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt as _;
use metrics_exporter_prometheus::PrometheusHandle;
use mirante_store::EventStore;
use mirante_store::accounts::AccountStore;
use mirante_store::archive::{MemoryArchive, SessionArchive};
use tokio::net::{TcpListener, TcpStream};

use crate::auth::mail::{LogMailer, Mailer};
use crate::auth::{AuthConfig, AuthState};
use crate::config::ServeConfig;
use crate::engine::{Clock, Engine, EngineConfig, EngineError, EngineHandle, SystemClock};
use crate::http::{AppState, app};

/// The allocator of every program that links the server (the `mirante` binary, its tests and
/// benchmarks): mimalloc. A monitor view or a stream frame allocates and frees many small
/// buffers in a heap the live model keeps large and fragmented; glibc's malloc spent ~25 % of
/// a 7 000-row view consolidating free lists (docs/benchmarks.md, P3), mimalloc's per-thread
/// size classes do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What [`run`] needs besides the stores and the listener.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Engine tuning.
    pub engine: EngineConfig,
    /// Enable the development command API.
    pub command_api: bool,
    /// The installed Prometheus recorder, rendered at `/metrics`.
    pub metrics: Option<PrometheusHandle>,
    /// Sessions, throttling, public URL.
    pub auth: AuthConfig,
    /// Outbound mail (password links).
    pub mailer: Arc<dyn Mailer>,
    /// Called once the engine runs, before HTTP is served (the demo starts its simulator).
    pub on_engine: Option<EngineHook>,
    /// Where finished sessions are archived with their transcripts (M-41); `None`: memory.
    pub archive: Option<Arc<dyn SessionArchive>>,
    /// The engine's clock: the system's, except that `mirante demo` backdates its warm-up.
    pub clock: EngineClock,
    /// The live monitor's stream tuning (`--stream-frame-ms`).
    pub live: monitor::LiveConfig,
}

/// The clock the engine reads (shared; [`SystemClock`] by default).
#[derive(Clone)]
pub struct EngineClock(pub Arc<dyn Clock + Sync>);

impl Default for EngineClock {
    fn default() -> Self {
        Self(Arc::new(SystemClock))
    }
}

impl Clock for EngineClock {
    fn now(&self) -> mirante_core::Timestamp {
        self.0.now()
    }
}

impl std::fmt::Debug for EngineClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineClock")
    }
}

/// A hook given the engine once it runs.
#[derive(Clone)]
pub struct EngineHook(pub Arc<dyn Fn(EngineHandle) + Send + Sync>);

impl std::fmt::Debug for EngineHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineHook")
    }
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            engine: EngineConfig::default(),
            command_api: false,
            metrics: None,
            auth: AuthConfig::default(),
            mailer: Arc::new(LogMailer),
            on_engine: None,
            archive: None,
            clock: EngineClock::default(),
            live: monitor::LiveConfig::default(),
        }
    }
}

impl RunConfig {
    /// The run configuration for `mirante serve` options.
    pub fn from_serve(
        config: &ServeConfig,
        metrics: Option<PrometheusHandle>,
        mailer: Arc<dyn Mailer>,
    ) -> Self {
        let engine = EngineConfig {
            snapshot_every: config.snapshot_every,
            use_snapshots: !config.ignore_snapshots,
            ..EngineConfig::default()
        };
        Self {
            engine,
            command_api: config.enable_command_api,
            metrics,
            auth: config.auth_config(),
            mailer,
            on_engine: None,
            archive: None,
            clock: EngineClock::default(),
            live: monitor::LiveConfig {
                frame_interval: std::time::Duration::from_millis(config.stream_frame_ms),
                min_frame_interval: std::time::Duration::from_millis(config.stream_min_frame_ms),
                ..monitor::LiveConfig::default()
            },
        }
    }
}

/// `listener` with `TCP_NODELAY` set on every connection it accepts: the live stream
/// coalesces its own frames and writes each with one flush, so Nagle's algorithm would only
/// hold a frame back until the previous one is acknowledged.
pub fn nodelay(listener: TcpListener) -> axum::serve::TapIo<TcpListener, fn(&mut TcpStream)> {
    fn set(tcp: &mut TcpStream) {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
    }
    listener.tap_io(set)
}

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The engine could not start or stop cleanly.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The listener failed.
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the server until `shutdown` resolves: recovers the state from `store`, calls
/// `on_ready` with the bound address, serves HTTP on `listener` (accounts in `accounts`);
/// then stops accepting, lets open requests finish, drains the engine and closes the store.
pub async fn run<S, R, F>(
    config: RunConfig,
    store: S,
    accounts: Arc<dyn AccountStore>,
    listener: TcpListener,
    on_ready: R,
    shutdown: F,
) -> Result<(), RunError>
where
    S: EventStore + Clone,
    R: FnOnce(SocketAddr),
    F: Future<Output = ()> + Send + 'static,
{
    let log = monitor::log_reader(store.clone());
    let engine = Engine::start(store, config.clock, config.engine).await?;
    if let Some(EngineHook(hook)) = config.on_engine {
        hook(engine.handle.clone());
    }
    let state = AppState {
        engine: engine.handle.clone(),
        metrics: config.metrics,
        command_api: config.command_api,
        auth: AuthState::new(accounts, Arc::new(SystemClock), config.auth, config.mailer),
        monitor: monitor::MonitorService::start_with_archive(
            engine.handle.clone(),
            Some(log.clone()),
            config
                .archive
                .unwrap_or_else(|| Arc::new(MemoryArchive::new())),
            Arc::new(SystemClock),
            config.live,
        )
        .await,
        feeds: feeds::Feeds::start(engine.handle.clone(), Some(log)),
    };
    if config.command_api {
        tracing::warn!("the development command API is enabled (full administrators only)");
    }
    on_ready(listener.local_addr()?);
    let served = axum::serve(
        nodelay(listener),
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    tracing::info!("HTTP server stopped; draining the engine");
    let stopped = engine.handle.shutdown().await;
    if let Err(error) = engine.task.await {
        tracing::error!(%error, "engine task failed");
    }
    served?;
    stopped?;
    Ok(())
}
