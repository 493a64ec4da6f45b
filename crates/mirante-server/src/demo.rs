//! `mirante demo`: the server on the embedded database with a living contact center. On a
//! fresh data dir it creates two logins (a full administrator and one restricted to the team
//! Suporte) with passwords generated for that data dir, written to `demo-logins.txt`; the
//! simulator (`mirante-sim`, demo scenario) then configures channels, teams, flows and agents
//! and drives customers and agents **through the engine's write path** — the same commands,
//! durable and acknowledged, that the API sends — paced at `--speed` × real time after a
//! short warm-up, so the monitor shows all three phases within seconds. A second run on the
//! same data dir keeps the configuration and the history: it ends the previous run's open
//! sessions and agent log-ins (as the demo supervisor) and the simulation continues.
//! `--scale K` runs the demo center K times larger (`mirante_sim::load::scaled`: K copies of
//! its agents, arrivals ×K), e.g. as the load of the supervisor screen's benchmark (P7); the
//! logins stay the same. Keep the same scale for a data dir's later runs.
//!
//! **The warm-up is backdated.** Its ~15 simulated minutes run in a few seconds of wall time,
//! but the engine does not see them compressed: during the warm-up its clock is a
//! [`DemoClock`] pinned, before each of the simulator's commands, to that command's place on
//! a timeline that starts 15 minutes ago (or just after the log's last event, when a previous
//! run ended more recently) and ends *now*; then the clock follows the system's. So the
//! events of the warm-up carry believable times, and the monitor's waits, today's average
//! wait and service level are realistic from the first screen. The simulator still acts only
//! through commands; only the time the engine stamps on them moves.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use mirante_core::{
    Actor, Command, Core, DomainError, Event, EventKind, Presence, SupervisorId, Timestamp,
};
use mirante_sim::{Driver, Refusal, Simulation, demo};
use mirante_store::accounts::{AccountStore, DEFAULT_GROUP_ID, GroupRecord};
use mirante_store::{EventStore, Seq};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use crate::engine::{Clock, Committed, EngineError, EngineHandle, SystemClock};

/// The full administrator's login.
pub const ADMIN_EMAIL: &str = "supervisora@mirante.demo";
/// The login restricted to the team Suporte.
pub const RESTRICTED_EMAIL: &str = "suporte@mirante.demo";
/// Simulated time run as fast as possible before pacing starts (queues and conversations
/// form at once); the engine sees it spread over the same span of the past.
pub const WARM_UP_MS: i64 = 15 * 60 * 1000;
/// How often the paced simulator wakes up.
const PACE: Duration = Duration::from_millis(100);

/// One demo login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    /// E-mail.
    pub email: String,
    /// Password (generated per data dir).
    pub password: String,
    /// `admin` or `admin-suporte`.
    pub role: &'static str,
}

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The accounts could not be read or written.
    #[error("demo accounts: {0}")]
    Accounts(String),
    /// The logins file could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
}

/// The engine's clock in the demo: pinned by the simulator during the warm-up (see the
/// module doc), the system's afterwards. Clones share the same state.
#[derive(Debug, Clone)]
pub struct DemoClock(Arc<AtomicI64>);

/// The pinned time's value when the clock follows the system's.
const FOLLOW_SYSTEM: i64 = i64::MIN;

impl DemoClock {
    /// A clock pinned at the start of the backdated warm-up: [`WARM_UP_MS`] before `now`, but
    /// after `last_event` (the log's last event, on a second run) so that time never goes
    /// back in the log.
    pub fn warming_up(now: Timestamp, last_event: Option<Timestamp>) -> Self {
        let start = now.plus_ms(-WARM_UP_MS);
        let start = match last_event {
            Some(last) => start.max(last.plus_ms(1)).min(now),
            None => start,
        };
        Self(Arc::new(AtomicI64::new(start.0)))
    }

    /// A clock that follows the system's.
    pub fn system() -> Self {
        Self(Arc::new(AtomicI64::new(FOLLOW_SYSTEM)))
    }

    /// The pinned time, `None` once the clock follows the system's.
    pub fn pinned(&self) -> Option<Timestamp> {
        let at = self.0.load(Ordering::SeqCst);
        (at != FOLLOW_SYSTEM).then_some(Timestamp(at))
    }

    /// Moves the pinned time forward to `at` (never back, never past the system's time).
    fn pin(&self, at: Timestamp) {
        let at = at.min(SystemClock.now()).0;
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |cur| {
                (cur != FOLLOW_SYSTEM && at > cur).then_some(at)
            });
    }

    /// From now on, the system's time.
    pub fn release(&self) {
        self.0.store(FOLLOW_SYSTEM, Ordering::SeqCst);
    }
}

impl Clock for DemoClock {
    fn now(&self) -> Timestamp {
        self.pinned().unwrap_or_else(|| SystemClock.now())
    }
}

/// Releases the clock when the warm-up ends, however it ends.
struct Release(DemoClock);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// The time of the log's last event (`None` for an empty log).
pub async fn last_event_at<S: EventStore>(store: &S) -> Result<Option<Timestamp>, String> {
    let last = store.last_seq().await.map_err(|e| e.to_string())?;
    if last == 0 {
        return Ok(None);
    }
    let stored = store
        .read_from(last - 1, 1)
        .await
        .map_err(|e| e.to_string())?;
    Ok(stored
        .first()
        .and_then(|e| serde_json::from_slice::<Event>(&e.payload).ok())
        .map(|e| e.at))
}

/// The demo logins of `data_dir`: read from `demo-logins.txt` when it exists, otherwise
/// created (accounts + file). The restricted group is limited to the team with id
/// `suporte_team`, which the simulator creates with that id.
pub fn ensure_logins(
    accounts: &dyn AccountStore,
    data_dir: &Path,
    suporte_team: u64,
    now_ms: i64,
) -> Result<Vec<DemoLogin>, DemoError> {
    let path = data_dir.join("demo-logins.txt");
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(|source| DemoError::File {
            path: path.clone(),
            source,
        })?;
        return Ok(parse_logins(&text));
    }
    let acc = |e: &dyn fmt::Display| DemoError::Accounts(e.to_string());
    let full = DemoLogin {
        email: ADMIN_EMAIL.into(),
        password: password().map_err(|e| acc(&e))?,
        role: "admin",
    };
    let restricted = DemoLogin {
        email: RESTRICTED_EMAIL.into(),
        password: password().map_err(|e| acc(&e))?,
        role: "admin-suporte",
    };
    let group = accounts
        .insert_group(&GroupRecord {
            id: 0,
            name: "Supervisão Suporte".into(),
            full: false,
            permissions: mirante_auth::Permission::ALL
                .iter()
                .filter(|p| !matches!(p, mirante_auth::Permission::UsersManage))
                .map(|p| p.as_str().to_string())
                .collect(),
            teams: Some(vec![suporte_team]),
        })
        .map_err(|e| acc(&e))?;
    for (login, name, group) in [
        (&full, "Supervisora Demo", DEFAULT_GROUP_ID),
        (&restricted, "Supervisor Suporte", group),
    ] {
        crate::auth::create_admin(accounts, &login.email, name, &login.password, group, now_ms)
            .map_err(|e| acc(&e))?;
    }
    let logins = vec![full, restricted];
    let text: String = logins
        .iter()
        .map(|l| format!("{} {} {}\n", l.email, l.password, l.role))
        .collect();
    std::fs::create_dir_all(data_dir).map_err(|source| DemoError::File {
        path: data_dir.to_path_buf(),
        source,
    })?;
    std::fs::write(&path, text).map_err(|source| DemoError::File { path, source })?;
    Ok(logins)
}

fn parse_logins(text: &str) -> Vec<DemoLogin> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let (email, password, role) = (parts.next()?, parts.next()?, parts.next()?);
            Some(DemoLogin {
                email: email.into(),
                password: password.into(),
                role: if role == "admin" {
                    "admin"
                } else {
                    "admin-suporte"
                },
            })
        })
        .collect()
}

fn password() -> Result<String, String> {
    crate::auth::secret::random_secret().map(|s| s[..20].to_string())
}

/// Starts the simulator on its own thread, driving `engine`, whose clock is `clock` (released
/// to the system's time when the warm-up ends, or if the simulator cannot start). It stops
/// when `stop` is set.
pub fn start_simulator(
    engine: EngineHandle,
    clock: DemoClock,
    seed: u64,
    speed: f64,
    scale: u16,
    supervisor: SupervisorId,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let rt = tokio::runtime::Handle::current();
    let release = Release(clock.clone());
    std::thread::Builder::new()
        .name("mirante-demo-sim".into())
        .spawn(move || {
            let _release = release;
            if let Err(error) = simulate(
                &engine,
                &rt,
                &clock,
                Pace { seed, speed, scale },
                supervisor,
                &stop,
            ) {
                tracing::error!(%error, "the demo simulator stopped");
            }
        })
}

/// The simulator's seed, its speed (simulated time per real time) and the center's scale.
struct Pace {
    seed: u64,
    speed: f64,
    scale: u16,
}

fn simulate(
    engine: &EngineHandle,
    rt: &tokio::runtime::Handle,
    clock: &DemoClock,
    Pace { seed, speed, scale }: Pace,
    supervisor: SupervisorId,
    stop: &AtomicBool,
) -> Result<(), String> {
    let release = Release(clock.clone());
    let committed = engine.subscribe();
    let (configured, config, open, online) = rt
        .block_on(engine.read(|core, _| {
            let st = core.state();
            (
                !st.channels.is_empty(),
                config_events(core),
                st.sessions.keys().copied().collect::<Vec<_>>(),
                st.agents
                    .values()
                    .filter(|a| a.presence != Presence::Offline)
                    .map(|a| a.config.id)
                    .collect::<Vec<_>>(),
            )
        }))
        .map_err(|e| e.to_string())?;
    if configured {
        // A second run: the previous run's people are gone; end what they left open.
        let by = Actor::Supervisor(supervisor);
        for session in open {
            let finish = Command::Finish {
                session,
                by,
                wrapup: None,
            };
            if let Err(error) = rt.block_on(engine.execute(finish)) {
                tracing::debug!(%error, %session, "demo: could not finish a stale session");
            }
        }
        for agent in online {
            let logout = Command::AgentLogout { agent, by };
            if let Err(error) = rt.block_on(engine.execute(logout)) {
                tracing::debug!(%error, %agent, "demo: could not log out a stale agent");
            }
        }
    }
    let mut scenario = demo::demo(demo::DEMO_START);
    if scale > 1 {
        scenario = mirante_sim::load::scaled(scenario, usize::from(scale));
    }
    let driver = EngineDriver {
        engine: engine.clone(),
        rt: rt.clone(),
        committed,
        seen: 0,
        warm_up: clock.pinned().map(|from| WarmUp {
            clock: clock.clone(),
            sim_from: scenario.start,
            from,
        }),
    };
    let mut sim = Simulation::new(scenario, driver, seed).check_invariants(false);
    if configured {
        sim.resume(&config)
            .map_err(|e| format!("resuming the demo: {e}"))?;
        tracing::info!("demo: continuing the contact center of this data dir");
    } else {
        sim.setup()
            .map_err(|e| format!("setting up the demo: {e}"))?;
        tracing::info!("demo: contact center configured");
    }
    let warm_until = sim.now().plus_ms(WARM_UP_MS);
    sim.run_until(warm_until);
    drop(release);
    let (sim0, wall0) = (sim.now(), Instant::now());
    while !stop.load(Ordering::Relaxed) {
        let elapsed = wall0.elapsed().as_secs_f64() * 1000.0 * speed;
        sim.run_until(sim0.plus_ms(elapsed as i64));
        // Pacing the simulated people at real time is this runner's job.
        std::thread::sleep(PACE);
    }
    let stats = sim.stats();
    tracing::info!(
        commands = stats.commands,
        events = stats.events,
        "demo simulator stopped"
    );
    Ok(())
}

/// The configuration of `core` as creation events (what `Simulation::resume` folds).
fn config_events(core: &Core) -> Vec<Event> {
    let st = core.state();
    let at = Timestamp(0);
    let ev = |kind| Event { at, kind };
    let mut out = vec![ev(EventKind::SettingsUpdated {
        settings: st.settings.clone(),
    })];
    out.extend(st.teams.values().map(|t| {
        ev(EventKind::TeamCreated {
            team: t.config.clone(),
        })
    }));
    out.extend(
        st.pause_reasons
            .values()
            .map(|r| ev(EventKind::PauseReasonCreated { reason: r.clone() })),
    );
    out.extend(
        st.flows
            .values()
            .map(|f| ev(EventKind::FlowCreated { flow: f.clone() })),
    );
    out.extend(
        st.channels
            .values()
            .map(|c| ev(EventKind::ChannelCreated { channel: c.clone() })),
    );
    out.extend(st.agents.values().map(|a| {
        ev(EventKind::AgentCreated {
            agent: a.config.clone(),
        })
    }));
    out
}

/// A refusal seen by the simulator: the core's, or the engine being unavailable.
#[derive(Debug)]
enum DemoRefusal {
    Domain(DomainError),
    Engine(String),
}

impl fmt::Display for DemoRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain(e) => write!(f, "{e}"),
            Self::Engine(e) => write!(f, "engine: {e}"),
        }
    }
}

impl Refusal for DemoRefusal {
    fn code(&self) -> &str {
        match self {
            Self::Domain(e) => e.code(),
            Self::Engine(_) => "engine_unavailable",
        }
    }
}

/// Drives the simulator through the engine. The simulator sees every committed event in log
/// order — its own commands', the engine's timers' and other users' (a supervisor acting in
/// the UI) — from the engine's broadcast, so its picture of the contact center stays whole.
struct EngineDriver {
    engine: EngineHandle,
    rt: tokio::runtime::Handle,
    committed: broadcast::Receiver<Committed>,
    seen: Seq,
    /// Set while the engine's clock is pinned (the warm-up).
    warm_up: Option<WarmUp>,
}

/// The backdated warm-up's timeline: simulated `sim_from + x` is engine time
/// `from + x / WARM_UP_MS × (system now − from)`, so the warm-up ends at *now* however long
/// it took to run.
#[derive(Debug)]
struct WarmUp {
    clock: DemoClock,
    sim_from: Timestamp,
    from: Timestamp,
}

impl WarmUp {
    /// Pins the engine's clock to simulated `now`'s place on the timeline.
    fn pin(&self, now: Timestamp) {
        let done = (now.since(self.sim_from) as f64 / WARM_UP_MS as f64).clamp(0.0, 1.0);
        let span = SystemClock.now().since(self.from).max(0);
        self.clock
            .pin(self.from.plus_ms((span as f64 * done) as i64));
    }
}

impl fmt::Debug for EngineDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineDriver")
            .field("seen", &self.seen)
            .finish()
    }
}

impl EngineDriver {
    /// Every committed event up to and including `seq`, waiting for the broadcast.
    fn events_until(&mut self, seq: Seq) -> Vec<Event> {
        let mut out = Vec::new();
        while self.seen < seq {
            match self.rt.block_on(self.committed.recv()) {
                Ok(c) => self.take(c, &mut out),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "demo simulator lagged behind the engine");
                }
                Err(RecvError::Closed) => break,
            }
        }
        out
    }

    /// Every committed event already published.
    fn pending(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        loop {
            match self.committed.try_recv() {
                Ok(c) => self.take(c, &mut out),
                Err(TryRecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "demo simulator lagged behind the engine");
                }
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        out
    }

    fn take(&mut self, c: Committed, out: &mut Vec<Event>) {
        if c.seq > self.seen {
            self.seen = c.seq;
            out.push((*c.event).clone());
        }
    }
}

impl Driver for EngineDriver {
    type Error = DemoRefusal;

    fn execute(&mut self, cmd: Command, now: Timestamp) -> Result<Vec<Event>, DemoRefusal> {
        if let Some(warm_up) = &self.warm_up {
            warm_up.pin(now);
        }
        match self.rt.block_on(self.engine.execute(cmd)) {
            Ok(executed) => Ok(self.events_until(executed.seq)),
            Err(EngineError::Domain(e)) => Err(DemoRefusal::Domain(e)),
            Err(e) => Err(DemoRefusal::Engine(e.to_string())),
        }
    }

    /// The engine runs its own timers; a "tick" hands the simulator what they (and anyone
    /// else) committed meanwhile.
    fn tick(&mut self, _now: Timestamp) -> Vec<Event> {
        self.pending()
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        (!self.committed.is_empty()).then_some(Timestamp(i64::MIN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_clock_starts_in_the_past_moves_forward_only_and_is_released() {
        let now = SystemClock.now();
        let clock = DemoClock::warming_up(now, None);
        assert_eq!(clock.now(), now.plus_ms(-WARM_UP_MS));
        // A previous run's last event bounds the start: time never goes back in the log.
        let recent = DemoClock::warming_up(now, Some(now.plus_ms(-60_000)));
        assert_eq!(recent.now(), now.plus_ms(-59_999));
        clock.pin(now.plus_ms(-60_000));
        assert_eq!(clock.now(), now.plus_ms(-60_000));
        clock.pin(now.plus_ms(-120_000));
        assert_eq!(clock.now(), now.plus_ms(-60_000), "never back");
        clock.pin(now.plus_ms(3_600_000));
        assert!(
            clock.now() <= SystemClock.now(),
            "never past the system's time"
        );
        clock.release();
        assert_eq!(clock.pinned(), None);
        clock.pin(now.plus_ms(-WARM_UP_MS));
        assert!(clock.now() >= now, "released: the system's time");
    }

    #[test]
    fn logins_file_round_trips() {
        let text = "a@x.demo pw1 admin\nb@x.demo pw2 admin-suporte\n";
        let logins = parse_logins(text);
        assert_eq!(logins.len(), 2);
        assert_eq!(logins[0].role, "admin");
        assert_eq!(logins[1].password, "pw2");
        assert_eq!(logins[1].role, "admin-suporte");
    }
}
