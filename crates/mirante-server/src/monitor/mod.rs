//! The monitor service: the server's live read models and the hub of the live stream.
//!
//! One task keeps a [`mirante_monitor::Monitor`] next to the engine: it **subscribes to the
//! engine's broadcast first**, then bootstraps from `engine.read(|core, seq|
//! Monitor::from_state(core.state(), seq))` — today's per-team figures rebuilt from the
//! day's log, see [`today`] (B-1) —, drops every broadcast event at or below that sequence
//! and applies the rest in order. Each applied event's [`Changes`] go into a
//! bounded ring (for resume and for computing deltas) and the new sequence is published on a
//! `watch` channel — the wake-up of every stream connection. If the broadcast lags (or a
//! gap appears) the task reads the missed events from the log (the store is the truth); if
//! even that fails it rebuilds from a fresh engine snapshot and bumps the epoch, which makes
//! every connection resync.
//!
//! A second task folds the log into [`Records`] (open sessions' transcripts and internal
//! chat, bounded in memory): at start, in the background, it restores the archive's
//! checkpoint and folds the log after it, then follows the same broadcast the same way; it
//! publishes [`Fact`]s (new messages, internal messages, reads) for followers and chat
//! notifications, and writes each finished session to the durable archive
//! ([`SessionArchive`], read by the history route) before publishing the sequence.
//!
//! Stream connections never get a queue of their own: each is registered with the
//! [`stream::Hub`] with the last sequence it sent. A hub task ticks at most once per frame
//! interval (at once after a quiet period): under the model's read lock it computes one delta
//! per (subscription, starting sequence) from the ring's changes and the model at the current
//! sequence (B-2: rows, cards and counters from one state) — naming only what the
//! connection's client holds (`stream::Held`) — and leaves them in the mailboxes of the
//! connections they are for, waking only those; every connection of a subscription writes
//! the same shared frame (fan-out by topic, not by user). A connection that missed a tick
//! computes its own catch-up delta, or resyncs. See [`stream`] and ARCHITECTURE.md.

mod quiet;
pub mod records;
pub mod stream;
mod today;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use mirante_core::{ContactId, Event, EventKind, SessionId, TeamId};
use mirante_monitor::{Changes, Monitor, Visibility};
use mirante_store::archive::{ArchivedSession, Checkpoint, MemoryArchive, SessionArchive};
use mirante_store::{EventStore, Seq, StoreError, StoredEvent};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

use crate::apart::spawn_apart;
use crate::background;
use crate::engine::{Clock, EngineHandle};
pub use records::{
    ChatMessage, ChatSummary, Fact, MessageView, RecordLimits, Records, SessionRecord,
};

/// Tuning of the live stream.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Changes kept for resume and delta computation (events). A connection further behind
    /// gets a resync with a fresh snapshot.
    pub ring_capacity: usize,
    /// Most sessions one delta may carry; beyond, the connection resyncs instead.
    pub max_delta_sessions: usize,
    /// Least time between two deltas of one connection unless its client asks otherwise
    /// (100 ms: ≤ 10 frames/s, what the browser UI gets); a connection whose last delta is
    /// older gets its next change at the hub's next tick.
    pub frame_interval: Duration,
    /// The least a client may ask for with `frame_ms` in its `subscribe` (10 ms: ≤ 100
    /// frames/s; capped by `frame_interval`): a program that wants lower latency than the
    /// default — the price is more, smaller writes for that connection, as many as the
    /// server can make (a connection still writing takes the frames left meanwhile in one
    /// flush).
    pub min_frame_interval: Duration,
    /// Least time between two ticks of the hub (`None`: a quarter of the shortest frame
    /// interval of a registered connection): how long a change waits, at most, when its
    /// connection's rate limit allows a frame.
    pub tick_interval: Option<Duration>,
    /// Least time between two counter updates of one connection (≤ 4/s).
    pub counters_interval: Duration,
    /// A heartbeat after this long without any frame.
    pub heartbeat: Duration,
    /// How often an open stream checks its caller's rights again even when no account
    /// change concerns it (the expiry of its session).
    pub recheck: Duration,
    /// Open streams per account.
    pub max_per_user: usize,
    /// Open streams in total.
    pub max_total: usize,
    /// Capacity of each connection's facts inbox (messages of the sessions it follows, its
    /// account's internal chat); a connection that falls further behind re-reads what it
    /// follows.
    pub facts_capacity: usize,
    /// Bounds of the transcripts and chat kept in memory.
    pub records: RecordLimits,
    /// A snapshot with more items (agent cards and session rows) than this goes out in parts
    /// of this many items (a `snapshot` frame with `parts`, then `snapshot_part` frames), each
    /// a message of its own.
    pub snapshot_part_items: usize,
    /// Most ids of each kind (session rows, agent cards, team cards) a connection's *held
    /// state* keeps — what its client was sent and not told is gone, so a delta names only
    /// those and re-sends only cards that differ. A view with more is not tracked for that
    /// kind: its deltas fall back to the conservative rule (see ARCHITECTURE.md, "Coalescing
    /// and fan-out").
    pub held_max: usize,
}

impl LiveConfig {
    /// The `frame_ms` a client may ask for: from `min_frame_interval` (capped by
    /// `frame_interval`) to 1 000.
    pub fn frame_ms_range(&self) -> (u64, u64) {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        (
            ms(self.min_frame_interval.min(self.frame_interval)).max(1),
            ms(self.frame_interval).max(1_000),
        )
    }
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            ring_capacity: 8192,
            max_delta_sessions: 5_000,
            frame_interval: Duration::from_millis(100),
            min_frame_interval: Duration::from_millis(10),
            tick_interval: None,
            counters_interval: Duration::from_millis(250),
            heartbeat: Duration::from_secs(20),
            recheck: Duration::from_secs(60),
            max_per_user: 8,
            max_total: 5_000,
            facts_capacity: 64,
            records: RecordLimits::default(),
            snapshot_part_items: 500,
            held_max: 2_048,
        }
    }
}

/// Reads the event log from a sequence on (the store, type-erased).
pub type LogReader = Arc<
    dyn Fn(Seq, usize) -> Pin<Box<dyn Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send>>
        + Send
        + Sync,
>;

/// A [`LogReader`] over a clone of the event store.
pub fn log_reader<S: EventStore + Clone>(store: S) -> LogReader {
    Arc::new(move |after, limit| {
        let store = store.clone();
        Box::pin(async move { store.read_from(after, limit).await })
    })
}

/// The live model: the monitor, and the changes of the recent events.
#[derive(Debug)]
pub struct LiveModel {
    /// The read model.
    pub monitor: Monitor,
    /// Bumped when the model is rebuilt from a snapshot (changes are then unknown).
    pub epoch: u64,
    /// The most recent events' changes, dense and ascending.
    ring: VecDeque<RingEntry>,
}

/// What one event changed, and the teams its sessions were in before and after it (so a
/// restricted connection is told of a session leaving its scope, and of nothing else).
#[derive(Debug)]
struct RingEntry {
    seq: u64,
    changes: Changes,
    teams: Vec<(SessionId, Option<TeamId>)>,
    /// The session this event opened (`SessionStarted`), if any.
    opened: Option<SessionId>,
}

/// The session an event is about, if any.
fn event_session(kind: &EventKind) -> Option<SessionId> {
    match kind {
        EventKind::SessionStarted { session, .. }
        | EventKind::MessagePosted { session, .. }
        | EventKind::BotStepEntered { session, .. }
        | EventKind::SessionQueued { session, .. }
        | EventKind::SessionAssigned { session, .. }
        | EventKind::SessionTransferred { session, .. }
        | EventKind::SessionFinished { session, .. } => Some(*session),
        _ => None,
    }
}

impl LiveModel {
    /// The merged changes of the events after `after` up to the model's sequence, or `None`
    /// when the ring no longer holds all of them.
    pub fn changes_since(&self, after: u64) -> Option<Changes> {
        let seq = self.monitor.seq();
        if after >= seq {
            return Some(Changes::default());
        }
        let first = self.ring.front().map(|e| e.seq)?;
        if first > after + 1 {
            return None;
        }
        let mut merged = Changes::default();
        let start = (after + 1 - first) as usize;
        for e in self.ring.range(start..) {
            merged.merge(e.changes.clone());
        }
        Some(merged)
    }

    /// Whether `session` was opened by one of the events after `after` (so a client at
    /// `after` cannot hold it). `false` when the ring no longer holds them all (unknown: the
    /// client may hold it).
    pub fn opened_since(&self, after: u64, session: SessionId) -> bool {
        let Some(first) = self.ring.front().map(|e| e.seq) else {
            return false;
        };
        if first > after + 1 {
            return false;
        }
        let start = (after + 1 - first) as usize;
        self.ring
            .range(start.min(self.ring.len())..)
            .any(|e| e.opened == Some(session))
    }

    /// Whether `session` was inside `vis`'s scope at some point after `after` (before or
    /// after one of the events since): only then may a connection be told it is gone.
    pub fn was_in_scope(&self, after: u64, session: SessionId, vis: &Visibility) -> bool {
        let Some(teams) = &vis.teams else {
            return true;
        };
        let Some(first) = self.ring.front().map(|e| e.seq) else {
            return false;
        };
        let start = (after + 1).saturating_sub(first) as usize;
        self.ring.range(start.min(self.ring.len())..).any(|e| {
            e.teams
                .iter()
                .any(|(s, t)| *s == session && t.is_some_and(|t| teams.contains(&t)))
        })
    }
}

/// A supervisor following a session (B-5).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Follower {
    /// The supervisor's account id.
    pub account: u64,
    /// Its name.
    pub name: String,
}

/// The service: cheap to clone.
#[derive(Clone)]
pub struct MonitorService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MonitorService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorService")
            .field("seq", &*self.inner.seq.borrow())
            .finish_non_exhaustive()
    }
}

struct Inner {
    live: RwLock<LiveModel>,
    records: RwLock<Records>,
    archive: Arc<dyn SessionArchive>,
    seq: watch::Sender<u64>,
    /// The model epoch whose today's figures are complete (rebuilt from the log, B-1).
    day_ready: watch::Sender<u64>,
    records_seq: watch::Sender<u64>,
    facts: Mutex<FactRoutes>,
    prefs: broadcast::Sender<u64>,
    clock: Arc<dyn Clock + Sync>,
    config: LiveConfig,
    connections: Mutex<HashMap<u64, usize>>,
    followers: Mutex<Followers>,
    frames: Mutex<stream::FrameCache>,
    hub: stream::Hub,
}

/// Where facts go, by topic: a session's messages, finish and followers to the connections
/// following it; an internal conversation's messages and read marks to the connections of
/// its supervisor. Each connection has its own bounded inbox (a fact reaches only the
/// connections it concerns, not every open stream).
#[derive(Default)]
struct FactRoutes {
    /// Per session: connection id → its inbox.
    sessions: HashMap<SessionId, HashMap<u64, broadcast::Sender<Arc<Fact>>>>,
    /// Per supervisor account: connection id → its inbox.
    accounts: HashMap<u64, HashMap<u64, broadcast::Sender<Arc<Fact>>>>,
}

impl FactRoutes {
    fn publish(&self, fact: Fact) {
        let inboxes = match &fact {
            Fact::Message(s, _) | Fact::Finished(s) | Fact::Followers(s, _) => self.sessions.get(s),
            Fact::Chat(m) => self.accounts.get(&m.supervisor.0),
            Fact::ChatRead { supervisor, .. } => self.accounts.get(&supervisor.0),
        };
        let Some(inboxes) = inboxes.filter(|i| !i.is_empty()) else {
            return;
        };
        let fact = Arc::new(fact);
        for tx in inboxes.values() {
            let _ = tx.send(Arc::clone(&fact));
        }
    }
}

/// Removes `conn` from `topic`'s inboxes (and the topic when it has none left).
fn unroute<K: Eq + std::hash::Hash>(
    map: &mut HashMap<K, HashMap<u64, broadcast::Sender<Arc<Fact>>>>,
    topic: K,
    conn: u64,
) {
    if let std::collections::hash_map::Entry::Occupied(mut e) = map.entry(topic) {
        e.get_mut().remove(&conn);
        if e.get().is_empty() {
            e.remove();
        }
    }
}

/// Runs the live task (events folded into the model) and the hub (the stream's ticks) on a
/// thread of their own ([`crate::apart`]): events folded late and ticks computed late would be
/// latency for every stream. The thread stops when the serving runtime drops its tasks
/// (shutdown, or the end of a test).
fn spawn_monitor_thread(
    live: impl Future<Output = ()> + Send + 'static,
    hub: impl Future<Output = ()> + Send + 'static,
) {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    drop(spawn_apart("mirante-monitor", async move {
        tokio::select! {
            _ = stop_rx => {}
            _ = async { tokio::join!(live, hub) } => {}
        }
    }));
    // Held by a task of the serving runtime: dropped with it, which stops the thread.
    tokio::spawn(async move {
        let _stop = stop_tx;
        std::future::pending::<()>().await;
    });
}

/// Per session: the supervisors following it (account → (name, open follows)).
type Followers = BTreeMap<SessionId, BTreeMap<u64, (String, usize)>>;

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

impl MonitorService {
    /// [`MonitorService::start_with_archive`] with an archive in memory.
    pub async fn start(
        engine: EngineHandle,
        log: Option<LogReader>,
        clock: Arc<dyn Clock + Sync>,
        config: LiveConfig,
    ) -> MonitorService {
        Self::start_with_archive(engine, log, Arc::new(MemoryArchive::new()), clock, config).await
    }

    /// Starts the service's tasks over `engine` (the log read through `log`; without one,
    /// transcripts start empty and a lag rebuilds from a snapshot), waiting until the live
    /// model is bootstrapped. Finished sessions go to `archive`; the transcripts load in
    /// the background from its checkpoint and the log after it.
    pub async fn start_with_archive(
        engine: EngineHandle,
        log: Option<LogReader>,
        archive: Arc<dyn SessionArchive>,
        clock: Arc<dyn Clock + Sync>,
        config: LiveConfig,
    ) -> MonitorService {
        let (seq, _) = watch::channel(0);
        let (day_ready, _) = watch::channel(0);
        let (records_seq, _) = watch::channel(0);
        let (prefs, _) = broadcast::channel(64);
        let service = MonitorService {
            inner: Arc::new(Inner {
                live: RwLock::new(LiveModel {
                    monitor: Monitor::new(),
                    epoch: 0,
                    ring: VecDeque::new(),
                }),
                records: RwLock::new(Records::new(config.records)),
                archive,
                seq,
                day_ready,
                records_seq,
                facts: Mutex::new(FactRoutes::default()),
                prefs,
                clock,
                config,
                connections: Mutex::new(HashMap::new()),
                followers: Mutex::new(BTreeMap::new()),
                frames: Mutex::new(stream::FrameCache::default()),
                hub: stream::Hub::default(),
            }),
        };
        // Subscribe before bootstrapping (habit 7).
        let live_rx = engine.subscribe();
        let records_rx = engine.subscribe();
        service.bootstrap(&engine, log.as_ref()).await;
        let live = service
            .clone()
            .run_live(engine.clone(), live_rx, log.clone());
        let hub = stream::run_hub(service.clone());
        tokio::spawn(service.clone().run_records(engine, records_rx, log));
        spawn_monitor_thread(live, hub);
        service
    }

    /// The configuration.
    pub fn config(&self) -> &LiveConfig {
        &self.inner.config
    }

    /// Now, by the injected clock.
    pub fn now(&self) -> mirante_core::Timestamp {
        self.inner.clock.now()
    }

    /// Read access to the live model (never hold it across an `.await`).
    pub fn live(&self) -> RwLockReadGuard<'_, LiveModel> {
        read(&self.inner.live)
    }

    /// Read access to the records (never hold it across an `.await`).
    pub fn records(&self) -> RwLockReadGuard<'_, Records> {
        read(&self.inner.records)
    }

    /// The live model's sequence number, as a watch (the wake-up of stream connections).
    pub fn seq_watch(&self) -> watch::Receiver<u64> {
        self.inner.seq.subscribe()
    }

    /// Waits until the live model has folded `seq`.
    pub async fn wait_for(&self, seq: u64) {
        let mut rx = self.inner.seq.subscribe();
        let _ = rx.wait_for(|s| *s >= seq).await;
    }

    /// Waits until every stream connection has been brought to `seq` (its frames up to there
    /// handed to its driver, or nothing to send): with [`MonitorService::wait_for`], a
    /// read-your-writes wait on the stream (tests).
    pub async fn wait_streams(&self, seq: u64) {
        self.inner.hub.wait_settled(seq).await;
    }

    /// Waits until today's per-team figures of the current model are complete (B-1: after a
    /// bootstrap they are rebuilt from the log in the background).
    pub async fn wait_day_figures(&self) {
        let mut rx = self.inner.day_ready.subscribe();
        let _ = rx.wait_for(|e| *e >= self.live().epoch).await;
    }

    /// Waits until the records have folded `seq`.
    pub async fn wait_records(&self, seq: u64) {
        let mut rx = self.inner.records_seq.subscribe();
        let _ = rx.wait_for(|s| *s >= seq).await;
    }

    fn routes(&self) -> std::sync::MutexGuard<'_, FactRoutes> {
        self.inner
            .facts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection's facts inbox (`LiveConfig::facts_capacity`), routed the internal chat
    /// of `account` from now on (the connection subscribes to it); [`MonitorService::route_session`]
    /// adds a followed session. The connection calls [`MonitorService::drop_routes`] when it
    /// closes.
    pub fn facts_inbox(&self, conn: u64, account: u64) -> broadcast::Sender<Arc<Fact>> {
        let (tx, _) = broadcast::channel(self.inner.config.facts_capacity.max(1));
        self.routes()
            .accounts
            .entry(account)
            .or_default()
            .insert(conn, tx.clone());
        tx
    }

    /// Routes `session`'s facts to a connection's inbox (`Some`) from now on, or stops
    /// (`None`).
    pub fn route_session(
        &self,
        conn: u64,
        session: SessionId,
        inbox: Option<&broadcast::Sender<Arc<Fact>>>,
    ) {
        let mut routes = self.routes();
        match inbox {
            Some(tx) => {
                routes
                    .sessions
                    .entry(session)
                    .or_default()
                    .insert(conn, tx.clone());
            }
            None => unroute(&mut routes.sessions, session, conn),
        }
    }

    /// Stops every route of a connection (its account's chat and `sessions`).
    pub fn drop_routes(&self, conn: u64, account: u64, sessions: &[SessionId]) {
        let mut routes = self.routes();
        unroute(&mut routes.accounts, account, conn);
        for s in sessions {
            unroute(&mut routes.sessions, *s, conn);
        }
    }

    /// How many connections hear `session`'s facts (tests: routes are dropped).
    pub fn session_routes(&self, session: SessionId) -> usize {
        self.routes().sessions.get(&session).map_or(0, HashMap::len)
    }

    /// Preference changes (the account id whose hidden cards changed).
    pub fn prefs(&self) -> broadcast::Receiver<u64> {
        self.inner.prefs.subscribe()
    }

    /// Tells the account's open streams that its hidden cards changed.
    pub fn prefs_changed(&self, account: u64) {
        let _ = self.inner.prefs.send(account);
    }

    /// The supervisors following a session now (B-5), by account id.
    pub fn followers(&self, session: SessionId) -> Vec<Follower> {
        self.inner
            .followers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&session)
            .map(|m| {
                m.iter()
                    .map(|(account, (name, _))| Follower {
                        account: *account,
                        name: name.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Starts (`true`) or stops following a session. When the set of supervisors following
    /// it changes (not merely a second tab of the same one), publishes
    /// [`Fact::Followers`] so every connection following it can update "Também
    /// acompanhando" (B-5).
    pub(crate) fn set_following(&self, session: SessionId, account: u64, name: &str, on: bool) {
        let now = {
            let mut all = self
                .inner
                .followers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let entry = all.entry(session).or_default();
            let mut changed = false;
            if on {
                let f = entry.entry(account).or_insert_with(|| {
                    changed = true;
                    (name.to_owned(), 0)
                });
                f.1 += 1;
            } else if let Some(f) = entry.get_mut(&account) {
                f.1 = f.1.saturating_sub(1);
                if f.1 == 0 {
                    entry.remove(&account);
                    changed = true;
                }
            }
            let now: Arc<[Follower]> = entry
                .iter()
                .map(|(account, (name, _))| Follower {
                    account: *account,
                    name: name.clone(),
                })
                .collect();
            if entry.is_empty() {
                all.remove(&session);
            }
            changed.then_some(now)
        };
        if let Some(followers) = now {
            self.routes().publish(Fact::Followers(session, followers));
        }
    }

    /// Takes a stream slot for `account`; `None` when a limit is reached.
    pub fn open_stream(&self, account: u64) -> Option<StreamSlot> {
        let mut c = self
            .inner
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let total: usize = c.values().sum();
        let mine = c.get(&account).copied().unwrap_or(0);
        if total >= self.inner.config.max_total || mine >= self.inner.config.max_per_user {
            return None;
        }
        *c.entry(account).or_default() += 1;
        metrics::gauge!("mirante_monitor_streams").set((total + 1) as f64);
        Some(StreamSlot {
            service: self.clone(),
            account,
        })
    }

    /// Replaces the model by one built from the engine's state and publishes it at once;
    /// today's figures are then rebuilt from the log in the background (B-1, see [`today`])
    /// and added in, so start-up never waits on the length of the day.
    async fn bootstrap(&self, engine: &EngineHandle, log: Option<&LogReader>) -> bool {
        match engine
            .read(|core, seq| {
                let state = core.state();
                (
                    Monitor::from_state(state, seq),
                    state.settings.time_zone.clone(),
                )
            })
            .await
        {
            Ok((monitor, tz)) => {
                let seq = monitor.seq();
                let epoch = {
                    let mut live = self
                        .inner
                        .live
                        .write()
                        .unwrap_or_else(PoisonError::into_inner);
                    live.monitor = monitor;
                    live.ring.clear();
                    live.epoch += 1;
                    live.epoch
                };
                self.inner.seq.send_replace(seq);
                match log {
                    Some(log) => {
                        let service = self.clone();
                        let log = log.clone();
                        let today = mirante_core::protocol::local_day(self.now(), &tz);
                        tokio::spawn(async move {
                            service.add_day_figures(&log, seq, &tz, today, epoch).await;
                        });
                    }
                    None => {
                        self.inner.day_ready.send_replace(epoch);
                    }
                }
                true
            }
            Err(error) => {
                tracing::warn!(%error, "monitor: cannot bootstrap from the engine");
                false
            }
        }
    }

    /// Rebuilds today's figures from the log up to the bootstrap's `seq` and adds them to the
    /// model of `epoch` (the figures are sums: the events applied live since the bootstrap
    /// are counted already). A model replaced meanwhile gets its own rebuild; this one is
    /// dropped. Connections resync to show the figures.
    async fn add_day_figures(&self, log: &LogReader, seq: u64, tz: &str, today: u32, epoch: u64) {
        let found = match today::first_assignments(log, seq, tz, today).await {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(%error, "monitor: cannot rebuild today's figures");
                Vec::new()
            }
        };
        let (epoch, seq) = {
            let mut live = self
                .inner
                .live
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if live.epoch != epoch {
                return;
            }
            for (team, at, wait) in &found {
                live.monitor.record_first_assignment(*team, *at, *wait);
            }
            if !found.is_empty() {
                live.ring.clear();
                live.epoch += 1;
            }
            (live.epoch, live.monitor.seq())
        };
        self.inner.day_ready.send_replace(epoch);
        self.inner.seq.send_replace(seq);
    }

    /// Applies events (dense, after the model's sequence) under one write lock.
    fn apply_live(&self, events: &[(u64, Arc<Event>)]) {
        if events.is_empty() {
            return;
        }
        let cap = self.inner.config.ring_capacity.max(1);
        let seq = {
            let mut live = self
                .inner
                .live
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            for (seq, event) in events {
                let mut teams = Vec::new();
                if let Some(s) = event_session(&event.kind)
                    && let Some(row) = live.monitor.session(s)
                {
                    teams.push((s, row.team));
                }
                let opened = match &event.kind {
                    EventKind::SessionStarted { session, .. } => Some(*session),
                    _ => None,
                };
                let changes = live.monitor.apply(*seq, event);
                for s in &changes.sessions {
                    if let Some(row) = live.monitor.session(*s) {
                        teams.push((*s, row.team));
                    }
                }
                if live.ring.len() >= cap {
                    live.ring.pop_front();
                }
                live.ring.push_back(RingEntry {
                    seq: *seq,
                    changes,
                    teams,
                    opened,
                });
            }
            live.monitor.seq()
        };
        self.inner.seq.send_replace(seq);
    }

    async fn run_live(
        self,
        engine: EngineHandle,
        mut rx: broadcast::Receiver<crate::engine::Committed>,
        log: Option<LogReader>,
    ) {
        let mut batch: Vec<(u64, Arc<Event>)> = Vec::new();
        loop {
            let last = self.live().monitor.seq();
            let first = rx.recv().await;
            let mut lagged = false;
            batch.clear();
            let mut next = last;
            let mut push = |c: crate::engine::Committed, batch: &mut Vec<_>, lagged: &mut bool| {
                if c.seq <= next {
                    return;
                }
                if c.seq != next + 1 {
                    *lagged = true;
                    return;
                }
                next = c.seq;
                batch.push((c.seq, c.event));
            };
            match first {
                Ok(c) => push(c, &mut batch, &mut lagged),
                Err(RecvError::Lagged(_)) => lagged = true,
                Err(RecvError::Closed) => return,
            }
            // Drain what is already there: one write lock, one wake-up per burst.
            while !lagged && batch.len() < 1024 {
                match rx.try_recv() {
                    Ok(c) => push(c, &mut batch, &mut lagged),
                    Err(broadcast::error::TryRecvError::Lagged(_)) => lagged = true,
                    Err(_) => break,
                }
            }
            self.apply_live(&batch);
            if lagged {
                metrics::counter!("mirante_monitor_catch_ups").increment(1);
                if !self.catch_up_live(log.as_ref()).await {
                    tracing::warn!("monitor: rebuilding from a fresh snapshot");
                    self.bootstrap(&engine, log.as_ref()).await;
                }
            }
        }
    }

    /// Reads the events after the model's sequence from the log and applies them.
    async fn catch_up_live(&self, log: Option<&LogReader>) -> bool {
        let Some(log) = log else {
            return false;
        };
        loop {
            let after = self.live().monitor.seq();
            let chunk = match log(after, 4096).await {
                Ok(chunk) => chunk,
                Err(error) => {
                    tracing::warn!(%error, "monitor: cannot read the log");
                    return false;
                }
            };
            if chunk.is_empty() {
                return true;
            }
            let Some(events) = decode(after, &chunk) else {
                return false;
            };
            self.apply_live(&events);
        }
    }

    async fn run_records(
        self,
        engine: EngineHandle,
        mut rx: broadcast::Receiver<crate::engine::Committed>,
        log: Option<LogReader>,
    ) {
        if log.is_some() {
            self.restore_records(&engine).await;
        }
        let mut pending = ArchiveQueue::default();
        // Fold the log from the checkpoint, then follow the broadcast (catching up from the
        // log again whenever the broadcast lags).
        loop {
            if let Some(log) = &log
                && !self.catch_up_records(log, &mut pending).await
            {
                return;
            }
            let mut batch: Vec<(u64, Arc<Event>)> = Vec::new();
            loop {
                let mut next = self.records().seq();
                batch.clear();
                let mut push = |c: crate::engine::Committed, batch: &mut Vec<_>| {
                    if c.seq <= next {
                        return true;
                    }
                    // Without a log, a gap cannot be repaired: fold what comes.
                    if c.seq != next + 1 && log.is_some() {
                        return false;
                    }
                    next = c.seq;
                    batch.push((c.seq, c.event));
                    true
                };
                let mut gap = match rx.recv().await {
                    Ok(c) => !push(c, &mut batch),
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => return,
                };
                // Drain what is already there: one archive write per burst.
                while !gap && batch.len() < 1024 {
                    match rx.try_recv() {
                        Ok(c) => gap = !push(c, &mut batch),
                        Err(broadcast::error::TryRecvError::Lagged(_)) => gap = true,
                        Err(_) => break,
                    }
                }
                self.apply_records(&batch, &mut pending).await;
                if gap {
                    break;
                }
            }
        }
    }

    /// Restores the records' live part from the archive's checkpoint, when it is not ahead
    /// of the log.
    async fn restore_records(&self, engine: &EngineHandle) {
        let archive = Arc::clone(&self.inner.archive);
        let checkpoint = match tokio::task::spawn_blocking(move || archive.checkpoint()).await {
            Ok(Ok(checkpoint)) => checkpoint,
            Ok(Err(error)) => {
                tracing::warn!(%error, "monitor: cannot read the records checkpoint");
                None
            }
            Err(error) => {
                tracing::warn!(%error, "monitor: reading the records checkpoint failed");
                None
            }
        };
        let Some(checkpoint) = checkpoint else {
            return;
        };
        if checkpoint.seq > engine.durable_seq() {
            tracing::warn!(
                checkpoint = checkpoint.seq,
                "monitor: the records checkpoint is ahead of the log; folding the whole log"
            );
            return;
        }
        match Records::restore(self.inner.config.records, &checkpoint.payload) {
            Ok(records) => {
                let seq = records.seq();
                *self
                    .inner
                    .records
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = records;
                self.inner.records_seq.send_replace(seq);
                tracing::info!(seq, "monitor: records restored from the checkpoint");
            }
            Err(error) => {
                tracing::warn!(%error, "monitor: unreadable records checkpoint; folding the whole log");
            }
        }
    }

    /// Folds events into the records, publishes their facts, archives the sessions they
    /// finished (with a checkpoint when one is due), then publishes the sequence: a reader
    /// waiting for it finds a finished session in the archive.
    async fn apply_records(&self, events: &[(u64, Arc<Event>)], pending: &mut ArchiveQueue) {
        if events.is_empty() {
            return;
        }
        let mut facts = Vec::new();
        let (seq, due) = {
            let mut records = self
                .inner
                .records
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            for (seq, event) in events {
                if let Some(fact) = records.apply(*seq, event) {
                    facts.push(fact);
                }
            }
            for (finished_at, record) in records.take_finished() {
                match serde_json::to_vec(&record) {
                    Ok(payload) => pending.sessions.push(ArchivedSession {
                        session: record.id.0,
                        contact: record.contact.0,
                        seq: finished_at,
                        payload,
                    }),
                    Err(error) => tracing::error!(%error, "monitor: cannot serialize a record"),
                }
            }
            let interval = self.inner.config.records.checkpoint_min_interval;
            let due = records.checkpoint_due()
                && pending
                    .checkpointed_at
                    .is_none_or(|at| at.elapsed() >= interval);
            (records.seq(), due)
        };
        if !facts.is_empty() {
            let routes = self.routes();
            for fact in facts {
                routes.publish(fact);
            }
        }
        if !pending.sessions.is_empty() || due {
            let archive = Arc::clone(&self.inner.archive);
            let batch = std::mem::take(&mut pending.sessions);
            let written = if due {
                // A checkpoint holds every open transcript (~10 000 in a large center: some
                // hundred ms of CPU to serialize and write): off the serving runtime and below
                // its priority. Only this task writes the records, and it waits here: they are
                // read at `seq`, without blocking readers.
                let service = self.clone();
                background::run("mirante-checkpoint", move || {
                    let checkpoint = Checkpoint {
                        seq,
                        payload: service.records().checkpoint(),
                    };
                    (archive.record(&batch, Some(&checkpoint)), batch)
                })
                .await
                .map_err(|error| error.to_string())
            } else {
                tokio::task::spawn_blocking(move || (archive.record(&batch, None), batch))
                    .await
                    .map_err(|error| error.to_string())
            };
            match written {
                Ok((Ok(()), _)) => {
                    if due {
                        pending.checkpointed_at = Some(std::time::Instant::now());
                        self.inner
                            .records
                            .write()
                            .unwrap_or_else(PoisonError::into_inner)
                            .checkpointed(seq);
                    }
                }
                Ok((Err(error), batch)) => {
                    tracing::error!(%error, "monitor: cannot write the session archive; retrying with the next batch");
                    pending.sessions = batch;
                }
                Err(error) => tracing::error!(%error, "monitor: the archive write failed"),
            }
        }
        self.inner.records_seq.send_replace(seq);
    }

    async fn catch_up_records(&self, log: &LogReader, pending: &mut ArchiveQueue) -> bool {
        loop {
            let after = self.records().seq();
            let chunk = match log(after, 4096).await {
                Ok(chunk) => chunk,
                Err(error) => {
                    tracing::error!(%error, "monitor: cannot read the log for transcripts");
                    return false;
                }
            };
            if chunk.is_empty() {
                return true;
            }
            let Some(events) = decode(after, &chunk) else {
                return false;
            };
            self.apply_records(&events, pending).await;
        }
    }

    /// A finished session's record, from the archive.
    pub async fn archived_session(
        &self,
        session: SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let archive = Arc::clone(&self.inner.archive);
        let found = tokio::task::spawn_blocking(move || archive.session(session.0))
            .await
            .map_err(|e| StoreError::Backend(format!("archive read failed: {e}")))??;
        found.map(|a| decode_record(&a)).transpose()
    }

    /// A contact's sessions, newest first, at most `limit`: the open ones (memory) and the
    /// finished ones (the archive).
    pub async fn contact_history(
        &self,
        contact: ContactId,
        limit: usize,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let open: Vec<SessionRecord> = self
            .records()
            .contact_sessions(contact)
            .take(limit)
            .cloned()
            .collect();
        let archive = Arc::clone(&self.inner.archive);
        let archived =
            tokio::task::spawn_blocking(move || archive.contact_sessions(contact.0, None, limit))
                .await
                .map_err(|e| StoreError::Backend(format!("archive read failed: {e}")))??;
        let mut all = archived
            .iter()
            .map(decode_record)
            .collect::<Result<Vec<_>, _>>()?;
        // A session that finished between the two reads is in both: keep the archived copy.
        all.extend(
            open.into_iter()
                .filter(|o| !archived.iter().any(|a| a.session == o.id.0)),
        );
        all.sort_unstable_by_key(|r| std::cmp::Reverse(r.id));
        all.truncate(limit);
        Ok(all)
    }

    pub(crate) fn hub(&self) -> &stream::Hub {
        &self.inner.hub
    }

    pub(crate) fn frames(&self) -> std::sync::MutexGuard<'_, stream::FrameCache> {
        self.inner
            .frames
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the records task still owes the archive.
#[derive(Debug, Default)]
struct ArchiveQueue {
    /// Finished sessions not yet written (a failed write is retried with the next batch).
    sessions: Vec<ArchivedSession>,
    /// When the last checkpoint was written by this process.
    checkpointed_at: Option<std::time::Instant>,
}

fn decode_record(archived: &ArchivedSession) -> Result<SessionRecord, StoreError> {
    serde_json::from_slice(&archived.payload)
        .map_err(|e| StoreError::Corrupt(format!("archived session {}: {e}", archived.session)))
}

fn decode(after: u64, chunk: &[StoredEvent]) -> Option<Vec<(u64, Arc<Event>)>> {
    let mut out = Vec::with_capacity(chunk.len());
    for (stored, expect) in chunk.iter().zip(after + 1..) {
        if stored.seq != expect {
            tracing::error!(seq = stored.seq, expect, "monitor: gap in the log");
            return None;
        }
        match serde_json::from_slice::<Event>(&stored.payload) {
            Ok(event) => out.push((stored.seq, Arc::new(event))),
            Err(error) => {
                tracing::error!(seq = stored.seq, %error, "monitor: undecodable event");
                return None;
            }
        }
    }
    Some(out)
}

/// One open stream, counted against the limits until dropped.
#[derive(Debug)]
pub struct StreamSlot {
    service: MonitorService,
    account: u64,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut c = self
            .service
            .inner
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = c.get_mut(&self.account) {
            *n -= 1;
            if *n == 0 {
                c.remove(&self.account);
            }
        }
        let total: usize = c.values().sum();
        metrics::gauge!("mirante_monitor_streams").set(total as f64);
    }
}
