//! The live protocol, independent of the transport (WebSocket or SSE): one [`Subscriber`]
//! per connection, the [`Hub`] whose shared tick computes each subscription's delta once for
//! all its connections, and the [`drive`] loop that writes them.
//!
//! Client → server: `{"type":"subscribe","filter":{…},"resume_from":seq?,"frame_ms":ms?}`
//! (again to change the filter; `frame_ms`: the least time between two deltas this client
//! wants, from `LiveConfig::min_frame_interval` to 1 000 ms),
//! `{"type":"follow","session":id}`, `{"type":"unfollow","session":id}`, `{"type":"ping"}`.
//! Server → client: `snapshot` (the whole view at `seq`; a large one split into `parts`,
//! the next agent cards and rows following in `snapshot_part` frames), `delta` (rows /
//! removed ids / cards / counters from `from_seq` to `seq`), `resync` (followed by a snapshot),
//! `heartbeat`, `follow` (transcript so far + followers), `followers` (who follows a followed
//! session, each time that set changes), `message` (a followed session's new message),
//! `follow_ended`, `chat` / `chat_read` (M-11), `error`. Full description in
//! ARCHITECTURE.md ("The live stream").

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::Hasher;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use futures_util::task::AtomicWaker;
use mirante_auth::{AuthError, Lang, Permission, Principal};
use mirante_core::{AgentId, SessionId, SupervisorId, TeamId, Timestamp};
use mirante_monitor::{
    AgentCard, Changes, CounterPair, Filter, MonitorView, Phases, SessionView, TeamCard, Visibility,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast, watch};
use tokio::time::Instant;
use tokio_stream::Stream;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::quiet::Quiet;
use super::{Fact, Follower, LiveConfig, LiveModel, MessageView, MonitorService};
use crate::auth::{AuthChange, AuthState, Credential};
use crate::engine::EngineHandle;
use crate::http::ApiError;

/// One frame as written on the wire (JSON text, cheap to clone and share).
pub type Frame = Utf8Bytes;

/// A delta and what its client holds once it has it.
type Computed = (Frame, Arc<Held>);

/// Frames computed once per (range, subscription) and shared by every connection with the
/// same subscription at the same sequence.
#[derive(Debug, Default)]
pub struct FrameCache {
    seq: u64,
    epoch: u64,
    deltas: HashMap<(u64, bool, Arc<str>), Option<Computed>>,
    snapshots: HashMap<Arc<str>, Frame>,
}

impl FrameCache {
    fn at(&mut self, seq: u64, epoch: u64) -> &mut Self {
        if self.seq != seq || self.epoch != epoch {
            self.seq = seq;
            self.epoch = epoch;
            self.deltas.clear();
            self.snapshots.clear();
        }
        self
    }
}

/// The hub's view of one connection: its subscription and what it has been sent.
#[derive(Debug)]
struct Registered {
    key: Arc<str>,
    /// Bumped by the connection each time it re-registers (a tick computed before that is
    /// ignored by it).
    generation: u64,
    /// The sequence the connection's client is at: its view there is the view at the
    /// last frame it was sent (ranges with nothing for this subscription are skipped).
    from: u64,
    /// The sequence of the last frame the connection was told about (its `sent_seq`).
    sent: u64,
    /// Counters changed since its last counters, not yet sent (rate limit).
    owed: bool,
    /// Its next counters may not go before this (`None`: now).
    counters_from: Option<Instant>,
    /// Its next delta may not go before this (`None`: now): one `frame_interval` after its
    /// last non-empty delta (kept across re-registrations).
    next_frame: Option<Instant>,
    /// Least time between two of its deltas (the server's default, or the `frame_ms` its
    /// client asked for).
    frame_interval: Duration,
    epoch: u64,
    /// What its client holds at `from`.
    held: Arc<Held>,
    /// Where a tick leaves its outcomes.
    mailbox: Arc<Mailbox>,
}

/// One subscription (filter + visibility) and how many connections share it.
#[derive(Debug)]
struct Group {
    filter: Filter,
    vis: Visibility,
    connections: usize,
}

/// Every subscribed connection, grouped by subscription.
#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    groups: HashMap<Arc<str>, Group>,
    connections: HashMap<u64, Registered>,
}

impl Registry {
    fn unregister(&mut self, id: u64) {
        if let Some(old) = self.connections.remove(&id)
            && let Some(g) = self.groups.get_mut(&old.key)
        {
            g.connections -= 1;
            if g.connections == 0 {
                self.groups.remove(&old.key);
            }
        }
    }
}

/// What one tick brings one connection.
#[derive(Debug, Clone)]
pub struct Outcome {
    generation: u64,
    from: u64,
    /// `None`: only a snapshot will do (resync).
    frame: Option<Frame>,
    counters: bool,
    owed: bool,
    reset: bool,
    /// What the client holds once it has the frame.
    held: Option<Arc<Held>>,
}

impl Outcome {
    /// Only a snapshot will do for this connection (`reset`: the model's epoch changed).
    fn snapshot(r: &Registered, reset: bool) -> Outcome {
        Outcome {
            generation: r.generation,
            from: r.sent,
            frame: None,
            counters: false,
            owed: false,
            reset,
            held: None,
        }
    }
}

/// Ticks a connection may fall behind before it catches up on its own.
const TICKS_KEPT: usize = 64;

/// A connection's mailbox: a tick leaves the connection's outcome there (with the model's
/// sequence it was computed at) and wakes that connection only — a tick for a few
/// connections does not wake the other thousand.
#[derive(Debug, Default)]
struct Mailbox {
    delivered: Mutex<Delivered>,
    /// The connection's task, while it waits.
    waker: AtomicWaker,
}

#[derive(Debug, Default)]
struct Delivered {
    outcomes: VecDeque<(u64, Outcome)>,
    /// More than [`TICKS_KEPT`] outcomes were left untaken: the connection catches up on
    /// its own.
    lagged: bool,
}

impl Mailbox {
    /// Leaves an outcome; the caller wakes the connection (`Mailbox::waker`) once every
    /// mailbox of the tick has its outcome (the woken connections then find theirs at once).
    fn deliver(&self, seq: u64, outcome: Outcome) {
        let mut d = self
            .delivered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if d.outcomes.len() >= TICKS_KEPT {
            d.outcomes.clear();
            d.lagged = true;
        }
        d.outcomes.push_back((seq, outcome));
    }

    /// The outcomes delivered since the last take, oldest first, and whether some were lost;
    /// `Pending` (the task to be woken by the next delivery) while there are none.
    fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Delivered> {
        self.waker.register(cx.waker());
        let mut d = self
            .delivered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if d.outcomes.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(std::mem::take(&mut *d))
        }
    }
}

/// The shared tick of the stream (fan-out by subscription, not by connection).
///
/// The hub ticks at most once per tick interval (`frame_interval / 4` unless configured), when the
/// model moved and some connection may take a frame. A tick takes the model's read lock and
/// computes **one delta per (subscription, starting sequence)** for every registered connection
/// that is behind and whose rate limit allows a frame — its last non-empty delta is at least
/// `frame_interval` old (≤ 10 frames/s per connection by default) — and leaves each non-empty frame
/// in the mailbox of each connection it is for, waking only those (a connection keeps up to
/// [`TICKS_KEPT`] untaken). A delta with nothing for a subscription is not sent and does not count:
/// a sparse subscription's first change goes out at the next tick (the leading edge), while a busy
/// one gets a frame every `frame_interval`, merging everything since. Each connection takes its
/// frames (shared `Bytes`) from its mailbox in order and writes them; none computes anything on the
/// hot path, and a connection busy writing stays aligned with its subscription (it writes the ticks
/// it fell behind on in one flush). One further behind computes its own catch-up delta from the
/// ring, or resyncs. Counters ride on a frame at most every `counters_interval` per connection.
/// Each connection's [`Held`] state (what its client holds) makes the delta exact and minimal: it
/// removes only what the client holds and re-sends only cards that differ.
#[derive(Debug)]
pub struct Hub {
    registry: Mutex<Registry>,
    wake: Notify,
    /// After each tick (once it is published): the lowest sequence a registered connection
    /// is at — every connection has been sent what it needs up to there.
    settled: watch::Sender<u64>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            registry: Mutex::new(Registry::default()),
            wake: Notify::new(),
            settled: watch::Sender::new(0),
        }
    }
}

impl Hub {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn next_id(&self) -> u64 {
        let mut r = self.registry();
        r.next_id += 1;
        r.next_id
    }

    fn unregister(&self, id: u64) {
        self.registry().unregister(id);
    }

    fn register(&self, id: u64, entry: Registered, filter: &Filter, vis: &Visibility) {
        let mut r = self.registry();
        let mut entry = entry;
        // The rate limit is the connection's, whatever it subscribes to.
        entry.next_frame = r.connections.get(&id).and_then(|old| old.next_frame);
        r.unregister(id);
        r.groups
            .entry(Arc::clone(&entry.key))
            .or_insert_with(|| Group {
                filter: filter.clone(),
                vis: vis.clone(),
                connections: 0,
            })
            .connections += 1;
        r.connections.insert(id, entry);
        drop(r);
        self.wake.notify_one();
    }

    /// Computes and publishes one tick; returns when the hub must tick next.
    fn tick(&self, svc: &MonitorService) -> Next {
        let at = Instant::now();
        let cfg = svc.config();
        let now = svc.now();
        let live = svc.live();
        let seq = live.monitor.seq();
        let mut registry = self.registry();
        let Registry {
            groups,
            connections,
            ..
        } = &mut *registry;
        type Outcomes = (Option<Computed>, bool, bool);
        // Keyed by subscription, the client's sequence (the frame's `from_seq`), the sequence
        // its changes start from (later when nothing in its view changed since), owed and
        // due counters.
        let mut computed: HashMap<(Arc<str>, u64, u64, bool, bool), Outcomes> = HashMap::new();
        // The changes since each starting sequence, merged once per tick for all the
        // subscriptions starting there (many filtered subscriptions move together).
        let mut merged: HashMap<u64, Option<Changes>> = HashMap::new();
        let mut outcomes: Vec<(Arc<Mailbox>, Outcome)> = Vec::new();
        let mut next = Next::default();
        for r in connections.values_mut() {
            next.interval(r.frame_interval);
            let counters_due = r.counters_from.is_none_or(|t| at >= t);
            if r.epoch != live.epoch {
                outcomes.push((Arc::clone(&r.mailbox), Outcome::snapshot(r, true)));
                continue;
            }
            let limited = r.next_frame.filter(|t| at < *t);
            let pending = r.from < seq || (r.owed && counters_due);
            if !pending || limited.is_some() {
                next.note(r, r.from < seq, at);
                continue;
            }
            let Some(group) = groups.get(&r.key) else {
                continue;
            };
            let (frame, counters, owed) = computed
                .entry((Arc::clone(&r.key), r.sent, r.from, r.owed, counters_due))
                .or_insert_with(|| {
                    let changes = merged
                        .entry(r.from)
                        .or_insert_with(|| live.changes_since(r.from));
                    let changed = r.owed || changes.as_ref().is_some_and(|c| c.counters);
                    let with_counters = changed && counters_due;
                    // Every connection of a subscription at one sequence holds the same
                    // (the view there): any one's held state will do for all of them.
                    let frame = delta_frame(
                        &live,
                        changes.as_ref(),
                        (r.sent, r.from),
                        &group.filter,
                        &group.vis,
                        &r.held,
                        with_counters,
                        cfg,
                        now,
                    )
                    .map(|(f, held)| (f, Arc::new(held)));
                    (frame, with_counters, changed && !with_counters)
                })
                .clone();
            match frame {
                // Nothing for this subscription: its client is as good as at `seq` (its next
                // delta is merged from there, still applying on `r.sent`); nothing is sent
                // and its rate limit is not spent.
                Some((f, held)) if f.as_str().is_empty() => {
                    r.from = seq;
                    r.owed = owed;
                    r.held = held;
                }
                Some((f, held)) => {
                    outcomes.push((
                        Arc::clone(&r.mailbox),
                        Outcome {
                            generation: r.generation,
                            from: r.sent,
                            frame: Some(f),
                            counters,
                            owed,
                            reset: false,
                            held: Some(Arc::clone(&held)),
                        },
                    ));
                    r.held = held;
                    r.from = seq;
                    r.sent = seq;
                    r.owed = owed;
                    r.next_frame = Some(at + r.frame_interval);
                    if counters {
                        r.counters_from = Some(at + cfg.counters_interval);
                    }
                }
                // Only a snapshot will do: the connection resyncs and registers again.
                None => {
                    outcomes.push((Arc::clone(&r.mailbox), Outcome::snapshot(r, false)));
                    continue;
                }
            }
            next.note(r, false, at);
        }
        let settled = connections.values().map(|r| r.from).min().unwrap_or(seq);
        drop(registry);
        drop(live);
        let mut woken = Vec::with_capacity(outcomes.len());
        for (mailbox, outcome) in outcomes {
            mailbox.deliver(seq, outcome);
            woken.push(mailbox);
        }
        for mailbox in woken {
            mailbox.waker.wake();
        }
        self.settled.send_replace(settled);
        next
    }

    /// Waits until every registered connection is at `seq` or later: its frames up to there
    /// are on its way (published to its driver), or it had nothing to be sent.
    pub async fn wait_settled(&self, seq: u64) {
        let mut rx = self.settled.subscribe();
        let _ = rx.wait_for(|s| *s >= seq).await;
    }
}

/// When the hub must tick again, from the registered connections after a tick.
#[derive(Debug, Default)]
struct Next {
    /// A connection has something to be sent (changes or owed counters) held back by its
    /// rate limits: tick then, even if the model does not move.
    due: Option<Instant>,
    /// The earliest a connection may take a frame: after the model moves, no tick before.
    ready: Option<Instant>,
    /// The shortest frame interval of a registered connection.
    shortest: Option<Duration>,
}

impl Next {
    /// Accounts for a connection's frame interval.
    fn interval(&mut self, interval: Duration) {
        self.shortest = Some(self.shortest.map_or(interval, |s| s.min(interval)));
    }

    /// Least time between two ticks: `LiveConfig::tick_interval`, else a quarter of the
    /// shortest frame interval of a registered connection (the default's without any).
    fn spacing(&self, cfg: &LiveConfig) -> Duration {
        let interval = self.shortest.unwrap_or(cfg.frame_interval);
        cfg.tick_interval.unwrap_or(interval / 4).min(interval)
    }

    /// Accounts for `r` after a tick at `at`; `behind`: changes wait for its rate limit.
    fn note(&mut self, r: &Registered, behind: bool, at: Instant) {
        let frame_at = r.next_frame.map_or(at, |t| t.max(at));
        self.ready = Some(self.ready.map_or(frame_at, |t| t.min(frame_at)));
        let due = if behind {
            Some(frame_at)
        } else if r.owed {
            Some(frame_at.max(r.counters_from.map_or(at, |t| t.max(at))))
        } else {
            None
        };
        if let Some(due) = due {
            self.due = Some(self.due.map_or(due, |t| t.min(due)));
        }
    }
}

/// The hub's task: ticks when the model moved and a connection may take a frame, when a
/// connection (re)subscribed, and when a frame held back by a rate limit falls due; never
/// twice within the tick interval (`LiveConfig::tick_interval`, default a quarter of the
/// shortest frame interval of a registered connection).
pub async fn run_hub(svc: MonitorService) {
    let hub = svc.hub();
    let mut seq = svc.seq_watch();
    let cfg = svc.config();
    let mut last: Option<Instant> = None;
    let mut next = Next::default();
    let far = Duration::from_secs(3600);
    loop {
        let not_before = tokio::select! {
            changed = seq.changed() => {
                if changed.is_err() {
                    return;
                }
                next.ready
            }
            () = hub.wake.notified() => None,
            () = tokio::time::sleep_until(next.due.unwrap_or_else(|| Instant::now() + far)), if next.due.is_some() => None,
        };
        let mut at = not_before;
        if let Some(last) = last {
            let spaced = last + next.spacing(cfg);
            at = Some(at.map_or(spaced, |t| t.max(spaced)));
        }
        if let Some(at) = at {
            tokio::time::sleep_until(at).await;
        }
        last = Some(Instant::now());
        seq.mark_unchanged();
        next = hub.tick(&svc);
    }
}

/// What a client sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Subscribe (or change the filter).
    Subscribe {
        /// The funnel filter (`agents`, `teams`, `channels`, `contact`, `protocol`).
        #[serde(default)]
        filter: Filter,
        /// The last sequence the client has seen (after a reconnect).
        #[serde(default)]
        resume_from: Option<u64>,
        /// The least time between two deltas this client wants, in milliseconds
        /// (`LiveConfig::min_frame_interval` … 1 000; absent: unchanged, the server's
        /// default at first).
        #[serde(default)]
        frame_ms: Option<u64>,
    },
    /// Follow a session (M-40).
    Follow {
        /// The session.
        session: SessionId,
    },
    /// Stop following a session.
    Unfollow {
        /// The session.
        session: SessionId,
    },
    /// Keep-alive from the client (answered by a heartbeat).
    Ping,
}

/// A `snapshot` frame: `{"type":"snapshot", the view's fields…, "parts":K}` (`parts` only
/// when split), written by the monitor's JSON writer (`MonitorView::write_json_fields`: the
/// bytes `serde_json` gives a struct with the view `#[serde(flatten)]`ed, several times
/// faster for row-heavy views).
fn snapshot_frame(view: &MonitorView<'_>, parts: Option<usize>) -> Frame {
    let mut out = Vec::with_capacity(view.json_size_hint() + 64);
    out.extend_from_slice(br#"{"type":"snapshot","#);
    view.write_json_fields(&mut out);
    if let Some(parts) = parts {
        out.extend_from_slice(format!(r#","parts":{parts}"#).as_bytes());
    }
    out.push(b'}');
    utf8_frame(out)
}

/// One further part of a split snapshot: `{"type":"snapshot_part","seq":…,"part":…,
/// "agents":[…],"phases":{…}}`, the next agent cards and the next rows of each Fases list
/// (`part`: 1 … `parts` − 1, the `snapshot` frame itself is part 0; `seq`: the snapshot's).
fn snapshot_part_frame(seq: u64, part: usize, items: &Part<'_>) -> Frame {
    let mut out = Vec::with_capacity(items.phases.json_size_hint() + 512 * items.agents.len() + 64);
    out.extend_from_slice(
        format!(r#"{{"type":"snapshot_part","seq":{seq},"part":{part},"agents":"#).as_bytes(),
    );
    // Plain data into a `Vec` cannot fail (no map with non-string keys, no IO).
    let written = serde_json::to_writer(&mut out, &items.agents);
    debug_assert!(written.is_ok(), "agent cards into memory: {written:?}");
    out.extend_from_slice(br#","phases":"#);
    items.phases.write_json(&mut out);
    out.push(b'}');
    utf8_frame(out)
}

/// A frame from JSON bytes (always UTF-8: the writer escapes nothing into invalid bytes).
fn utf8_frame(json: Vec<u8>) -> Frame {
    match String::from_utf8(json) {
        Ok(text) => Frame::from(text),
        Err(e) => Frame::from(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// A delta: what changed between `from_seq` and `seq` for this subscription.
#[derive(Debug, Serialize)]
pub struct DeltaFrame {
    #[serde(rename = "type")]
    kind: &'static str,
    /// The state this delta brings the client to.
    pub seq: u64,
    /// The state it applies on.
    pub from_seq: u64,
    /// Session rows added or changed (upsert by id).
    pub rows: Vec<SessionView<'static>>,
    /// Sessions no longer in the view (finished, or moved out of the filter or scope).
    pub removed: Vec<SessionId>,
    /// Agent cards added or changed.
    pub agents: Vec<AgentCard>,
    /// Agent cards gone (logged out, hidden, out of the filter).
    pub agents_removed: Vec<AgentId>,
    /// Team cards added or changed.
    pub teams: Vec<TeamCard>,
    /// Team cards gone.
    pub teams_removed: Vec<TeamId>,
    /// Counters (at most 4 per second; absent when unchanged or not yet due).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub counters: Option<CounterPair>,
    /// M-54, with the counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_not_open: Option<bool>,
}

fn json<T: Serialize>(value: &T) -> Frame {
    Frame::from(serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned()))
}

/// The snapshot frames of a view: one `snapshot` frame, or — when its agent cards and Fases
/// rows are more than `part_items` items — a `snapshot` frame with the first `part_items`
/// items and `parts`, then `parts − 1` `snapshot_part` frames with the next ones: the agent
/// cards first, then the rows in display order (concatenating the cards, and each list, part
/// by part gives the whole). A client receives and parses each part as a message of its own
/// (P7: a 10 000-row snapshot with 2 800 agents is ~5.6 MB of JSON; a part of 500 rows
/// ~240 KB) and applies the snapshot when it has every part. The frames go out together,
/// before any later frame. With them, what the client then holds.
fn snapshot_frames(
    live: &LiveModel,
    filter: &Filter,
    vis: &Visibility,
    now: Timestamp,
    cfg: &LiveConfig,
) -> (Vec<Frame>, Held) {
    let part_items = cfg.snapshot_part_items.max(1);
    let mut view = live.monitor.view(filter, vis, now);
    let held = Held::of_view(&view, filter, vis, cfg.held_max);
    if view.agents.len() + view.rows() <= part_items {
        return (vec![snapshot_frame(&view, None)], held);
    }
    let agents = std::mem::take(&mut view.agents);
    let phases = std::mem::take(&mut view.phases);
    let mut parts = split_items(agents, phases, part_items).into_iter();
    let first = parts.next().unwrap_or_default();
    view.agents = first.agents;
    view.phases = first.phases;
    let mut frames = vec![snapshot_frame(&view, Some(parts.len() + 1))];
    frames.extend(
        parts
            .enumerate()
            .map(|(i, part)| snapshot_part_frame(view.seq, i + 1, &part)),
    );
    (frames, held)
}

/// The items of one part of a split snapshot.
#[derive(Default)]
struct Part<'a> {
    agents: Vec<AgentCard>,
    phases: Phases<'a>,
}

/// Cuts a view's agent cards, then its Fases lists taken in display order (bot, waiting,
/// human), into parts of `part_items` items.
fn split_items(agents: Vec<AgentCard>, phases: Phases<'_>, part_items: usize) -> Vec<Part<'_>> {
    /// The part the next item goes into: the last one, or a new one when it is full.
    fn room<'p, 'a>(parts: &'p mut Vec<Part<'a>>, n: &mut usize, size: usize) -> &'p mut Part<'a> {
        if *n == size || parts.is_empty() {
            parts.push(Part::default());
            *n = 0;
        }
        *n += 1;
        let last = parts.len() - 1;
        &mut parts[last]
    }
    let mut parts = Vec::new();
    let mut n = 0;
    for card in agents {
        room(&mut parts, &mut n, part_items).agents.push(card);
    }
    let lists = [phases.bot, phases.waiting, phases.human];
    for (list, rows) in lists.into_iter().enumerate() {
        for row in rows {
            let part = &mut room(&mut parts, &mut n, part_items).phases;
            match list {
                0 => part.bot.push(row),
                1 => part.waiting.push(row),
                _ => part.human.push(row),
            }
        }
    }
    parts
}

/// What a connection's client holds at the sequence it is at: the session rows, agent cards
/// and team cards it was sent and not told are gone, and a fingerprint of each card as it
/// was last sent ([`agent_fp`], [`team_fp`]). A delta names in `removed`, `agents_removed`
/// and `teams_removed` only what is held, and re-sends a card only when it differs.
///
/// `None` for a kind: not tracked — the view had more than `LiveConfig::held_max` of them
/// (the delta then falls back to the conservative rule: every changed session, agent or
/// team out of the view that the connection may have seen), or, for rows, the view is
/// unfiltered with unrestricted visibility (every open session is in it, so the ring tells
/// exactly which ones the client held: those not opened since). Every delta brings its
/// client to the view at its sequence, so the held state depends only on the subscription
/// and the sequence: the connections of one subscription at one sequence share one.
#[derive(Debug, Clone, Default)]
pub struct Held {
    rows: Option<BTreeSet<SessionId>>,
    agents: Option<BTreeMap<AgentId, u64>>,
    teams: Option<BTreeMap<TeamId, u64>>,
}

impl Held {
    /// What a client holds once it has `view` (a snapshot).
    fn of_view(view: &MonitorView<'_>, filter: &Filter, vis: &Visibility, max: usize) -> Held {
        let phases = [&view.phases.bot, &view.phases.waiting, &view.phases.human];
        let n: usize = phases.iter().map(|l| l.len()).sum();
        let rows = (!every_open_session(filter, vis) && n <= max)
            .then(|| phases.iter().flat_map(|l| l.iter().map(|r| r.id)).collect());
        let agents = (view.agents.len() <= max)
            .then(|| view.agents.iter().map(|c| (c.id, agent_fp(c))).collect());
        let teams = (view.teams.len() <= max).then(|| {
            view.teams
                .iter()
                .map(|c| (c.id, team_fp(c, view.now)))
                .collect()
        });
        Held {
            rows,
            agents,
            teams,
        }
    }

    /// Drops what outgrew `max` (untracked from now on).
    fn bounded(mut self, max: usize) -> Held {
        if self.rows.as_ref().is_some_and(|r| r.len() > max) {
            self.rows = None;
        }
        if self.agents.as_ref().is_some_and(|a| a.len() > max) {
            self.agents = None;
        }
        if self.teams.as_ref().is_some_and(|t| t.len() > max) {
            self.teams = None;
        }
        self
    }
}

/// Whether every open session is in the view (no filter, unrestricted visibility).
fn every_open_session(filter: &Filter, vis: &Visibility) -> bool {
    filter.is_empty() && vis.teams.is_none()
}

/// A value's fingerprint: its JSON, hashed in one piece (a reused buffer: a hasher fed
/// serde's many small writes costs more than the JSON itself).
fn fingerprint<T: Serialize>(value: &T) -> u64 {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with_borrow_mut(|buf| {
        buf.clear();
        let _ = serde_json::to_writer(&mut *buf, value);
        let mut h = std::hash::DefaultHasher::new();
        h.write(buf);
        h.finish()
    })
}

/// An agent card's fingerprint, without what only the clock moves (`in_status_ms`: `since`
/// is in the card).
fn agent_fp(card: &AgentCard) -> u64 {
    let mut c = card.clone();
    c.in_status_ms = 0;
    fingerprint(&c)
}

/// A team card's fingerprint, without what only the clock moves (`longest_wait_ms` counts
/// as the instant the longest wait started).
fn team_fp(card: &TeamCard, now: Timestamp) -> u64 {
    let mut c = card.clone();
    c.longest_wait_ms = c.longest_wait_ms.map(|w| now.0.saturating_sub(w));
    fingerprint(&c)
}

/// The cards of one kind a delta carries, and the ids it removes: of the `changed` ids, the
/// `cards` the view now shows that differ from what the client holds (by fingerprint), and
/// the ids no longer shown that the client holds — or, when the kind is not tracked
/// (`held` is `None`), that it may have seen (`visible`). `next` becomes what the client
/// holds after the delta.
fn card_changes<I: Ord + Copy, C>(
    cards: Vec<C>,
    changed: &BTreeSet<I>,
    key: impl Fn(&C) -> (I, u64),
    held: Option<&BTreeMap<I, u64>>,
    mut next: Option<&mut BTreeMap<I, u64>>,
    visible: impl Fn(I) -> bool,
) -> (Vec<C>, Vec<I>) {
    let mut present = BTreeSet::new();
    let mut sent = Vec::new();
    for card in cards {
        let (id, fp) = key(&card);
        present.insert(id);
        if let Some(h) = next.as_deref_mut() {
            h.insert(id, fp);
        }
        if held.is_none_or(|h| h.get(&id) != Some(&fp)) {
            sent.push(card);
        }
    }
    let mut removed = Vec::new();
    for &id in changed.difference(&present) {
        if held.map_or_else(|| visible(id), |h| h.contains_key(&id)) {
            removed.push(id);
            if let Some(h) = next.as_deref_mut() {
                h.remove(&id);
            }
        }
    }
    (sent, removed)
}

/// The delta from `from` to the model's sequence for a client holding `held` (at
/// `applies_on`, its last frame's `seq`: `from` or earlier, when nothing in its view changed
/// in between), with what it holds then, given the `changes` merged since `from`
/// (`LiveModel::changes_since`); `None` when only a snapshot will do (the ring lost the range
/// — `changes` is `None` —, configuration changed, or the delta would be too large). The
/// frame is empty when there is nothing to say.
#[allow(clippy::too_many_arguments)]
fn delta_frame(
    live: &LiveModel,
    changes: Option<&Changes>,
    (applies_on, from): (u64, u64),
    filter: &Filter,
    vis: &Visibility,
    held: &Held,
    with_counters: bool,
    cfg: &LiveConfig,
    now: Timestamp,
) -> Option<(Frame, Held)> {
    let changes = changes?;
    if changes.config || changes.sessions.len() > cfg.max_delta_sessions {
        return None;
    }
    let m = &live.monitor;
    let mut next = held.clone();
    let mut d = DeltaFrame {
        kind: "delta",
        seq: m.seq(),
        from_seq: applies_on,
        rows: Vec::new(),
        removed: Vec::new(),
        agents: Vec::new(),
        agents_removed: Vec::new(),
        teams: Vec::new(),
        teams_removed: Vec::new(),
        counters: None,
        protocol_not_open: None,
    };
    let every_open = every_open_session(filter, vis);
    for &s in &changes.sessions {
        match m.matches(s, filter, vis).then(|| m.row(s, now)).flatten() {
            Some(row) => {
                d.rows.push(row);
                if let Some(rows) = &mut next.rows {
                    rows.insert(s);
                }
            }
            None => {
                let was_held = match &held.rows {
                    Some(rows) => rows.contains(&s),
                    // Open at `from` unless opened since.
                    None if every_open => !live.opened_since(from, s),
                    // Never name a session the connection could not have seen (M-60).
                    None => live.was_in_scope(from, s, vis),
                };
                if was_held {
                    d.removed.push(s);
                    if let Some(rows) = &mut next.rows {
                        rows.remove(&s);
                    }
                }
            }
        }
    }
    let agents: BTreeSet<AgentId> = changes
        .agents
        .iter()
        .copied()
        .filter(|a| filter.agents.is_empty() || filter.agents.contains(a))
        .collect();
    let cards = if agents.is_empty() {
        Vec::new()
    } else {
        let f = Filter {
            agents,
            ..filter.clone()
        };
        m.view(&f, vis, now).agents
    };
    (d.agents, d.agents_removed) = card_changes(
        cards,
        &changes.agents,
        |c| (c.id, agent_fp(c)),
        held.agents.as_ref(),
        next.agents.as_mut(),
        |a| m.agent_visible(a, vis),
    );
    let teams: BTreeSet<TeamId> = changes
        .teams
        .iter()
        .copied()
        .filter(|t| filter.teams.is_empty() || filter.teams.contains(t))
        .collect();
    let cards = if teams.is_empty() {
        Vec::new()
    } else {
        let f = Filter {
            teams,
            ..filter.clone()
        };
        m.view(&f, vis, now).teams
    };
    (d.teams, d.teams_removed) = card_changes(
        cards,
        &changes.teams,
        |c| (c.id, team_fp(c, now)),
        held.teams.as_ref(),
        next.teams.as_mut(),
        |t| m.team_visible(t, vis),
    );
    if with_counters {
        let c = m.counters(filter, vis);
        d.protocol_not_open = filter
            .protocol
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|_| c.counters.geral == 0);
        d.counters = Some(c);
    }
    let next = next.bounded(cfg.held_max);
    let empty = d.rows.is_empty()
        && d.removed.is_empty()
        && d.agents.is_empty()
        && d.agents_removed.is_empty()
        && d.teams.is_empty()
        && d.teams_removed.is_empty()
        && d.counters.is_none();
    // An empty delta still moves the client's sequence (so a resume starts later), but
    // only when there is nothing else to say it is skipped by the caller.
    if empty {
        return Some((Frame::from_static(""), next));
    }
    Some((json(&d), next))
}

/// An audit record a stream asks for (written by the driver).
#[derive(Debug, Clone)]
pub struct StreamAudit {
    /// `session.follow_start` / `session.follow_stop`.
    pub action: &'static str,
    /// `session:ID`.
    pub target: String,
    /// The session's team.
    pub team: Option<TeamId>,
}

/// One connection's state.
pub struct Subscriber {
    svc: MonitorService,
    /// Its id in the hub.
    id: u64,
    generation: u64,
    account: u64,
    name: String,
    vis: Visibility,
    can_follow: bool,
    can_chat: bool,
    filter: Option<Filter>,
    key: Arc<str>,
    sent_seq: u64,
    /// What its client holds at `sent_seq`.
    held: Arc<Held>,
    epoch: u64,
    counters_owed: bool,
    last_counters: Option<Instant>,
    following: BTreeSet<SessionId>,
    out: Vec<Frame>,
    audits: Vec<StreamAudit>,
    /// The stream ends after the frames now in `out` (the caller's rights were withdrawn).
    ended: bool,
    /// Least time between two of its deltas (`frame_ms`).
    frame_interval: Duration,
    /// The language of its error messages.
    lang: Lang,
    /// Its facts inbox: the service routes it the facts of the sessions it follows and its
    /// account's internal chat (see `MonitorService::facts_inbox`); [`drive`] reads it.
    facts: broadcast::Sender<Arc<Fact>>,
    /// Where the hub leaves its outcomes; [`drive`] reads it.
    mailbox: Arc<Mailbox>,
}

#[derive(Serialize)]
struct FollowFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    session: SessionId,
    row: Option<SessionView<'static>>,
    messages: Vec<&'a MessageView>,
    truncated: bool,
    followers: Vec<Follower>,
}

impl Subscriber {
    /// A connection of `principal` (its scope becomes the visibility; `hidden` its hidden
    /// cards; `lang` the language of its error messages).
    pub fn new(
        svc: MonitorService,
        principal: &Principal,
        name: String,
        hidden: (BTreeSet<AgentId>, BTreeSet<TeamId>),
        lang: Lang,
    ) -> Subscriber {
        let vis = Visibility {
            teams: principal.scope.teams().cloned(),
            hidden_agents: hidden.0,
            hidden_teams: hidden.1,
        };
        let id = svc.hub().next_id();
        let svc_frame_interval = svc.config().frame_interval;
        let facts = svc.facts_inbox(id, principal.account.0);
        Subscriber {
            svc,
            id,
            generation: 0,
            account: principal.account.0,
            name,
            vis,
            can_follow: principal.has(Permission::SessionFollow),
            can_chat: principal.has(Permission::ChatInternal),
            filter: None,
            key: Arc::from(""),
            sent_seq: 0,
            held: Arc::default(),
            epoch: 0,
            counters_owed: false,
            last_counters: None,
            following: BTreeSet::new(),
            out: Vec::new(),
            audits: Vec::new(),
            ended: false,
            frame_interval: svc_frame_interval,
            lang,
            facts,
            mailbox: Arc::default(),
        }
    }

    /// Sets the least time between two of this connection's deltas (`frame_ms`, from
    /// `LiveConfig::min_frame_interval` to 1 000 ms); out of range, an `ApiError::BadRequest`
    /// that says the range, and nothing changes.
    pub fn set_frame_ms(&mut self, ms: u64) -> Result<(), ApiError> {
        let (min, max) = self.svc.config().frame_ms_range();
        if !(min..=max).contains(&ms) {
            return Err(ApiError::BadRequest(format!(
                "`frame_ms` must be from {min} to {max} ms (got {ms})"
            )));
        }
        self.frame_interval = Duration::from_millis(ms);
        Ok(())
    }

    fn rekey(&mut self) {
        let filter = self.filter.clone().unwrap_or_default();
        self.key = Arc::from(serde_json::to_string(&(&filter, &self.vis)).unwrap_or_default());
    }

    /// Tells the hub where this connection stands (after a snapshot or a delta of its own).
    fn register(&mut self) {
        let Some(filter) = &self.filter else {
            return;
        };
        self.generation += 1;
        self.svc.hub().register(
            self.id,
            Registered {
                key: Arc::clone(&self.key),
                generation: self.generation,
                from: self.sent_seq,
                sent: self.sent_seq,
                owed: self.counters_owed,
                counters_from: self
                    .last_counters
                    .map(|t| t + self.svc.config().counters_interval),
                next_frame: None,
                frame_interval: self.frame_interval,
                epoch: self.epoch,
                held: Arc::clone(&self.held),
                mailbox: Arc::clone(&self.mailbox),
            },
            filter,
            &self.vis,
        );
    }

    /// Frames to write now (drained).
    pub fn take_out(&mut self) -> Vec<Frame> {
        std::mem::take(&mut self.out)
    }

    /// Audit records to write (drained).
    pub fn take_audits(&mut self) -> Vec<StreamAudit> {
        std::mem::take(&mut self.audits)
    }

    /// Ends the stream: a last `error` frame with `closing: true` says why
    /// (`unauthenticated`: log in again; `forbidden`: `monitor.view` withdrawn).
    pub fn end(&mut self, e: &AuthError, lang: Lang) {
        self.out.push(json(&serde_json::json!({
            "type": "error", "code": e.code(), "message": e.message(lang), "closing": true
        })));
        self.ended = true;
    }

    /// An `error` frame for a refused client message: the same `code` and `message` (in the
    /// connection's language) as the REST answer to the same error.
    fn error(&mut self, e: &ApiError) {
        let body = e.body(self.lang);
        self.out.push(json(&serde_json::json!({
            "type": "error", "code": body.code, "message": body.message
        })));
    }

    /// Handles one client message.
    pub fn handle_text(&mut self, text: &str) {
        let msg: ClientMessage = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => return self.error(&ApiError::BadRequest(e.to_string())),
        };
        match msg {
            ClientMessage::Subscribe {
                filter,
                resume_from,
                frame_ms,
            } => {
                // A rate out of range changes nothing: the subscription stays as it was.
                if let Some(Err(e)) = frame_ms.map(|ms| self.set_frame_ms(ms)) {
                    return self.error(&e);
                }
                self.subscribe(filter, resume_from);
            }
            ClientMessage::Follow { session } => self.follow(session),
            ClientMessage::Unfollow { session } => self.unfollow(session),
            ClientMessage::Ping => self.heartbeat(),
        }
    }

    /// Subscribes with `filter`; resumes from `resume_from` when the ring still has it.
    pub fn subscribe(&mut self, filter: Filter, resume_from: Option<u64>) {
        self.filter = Some(filter);
        self.rekey();
        let now = self.svc.now();
        let cfg = self.svc.config();
        let (frames, held) = {
            let live = self.svc.live();
            let filter = self.filter.clone().unwrap_or_default();
            self.epoch = live.epoch;
            // What the client holds at `resume_from` is not known here (another connection
            // sent it): the resuming delta is the conservative one, and what the client holds
            // afterwards is the view now.
            let resumed = resume_from
                .filter(|s| *s <= live.monitor.seq())
                .and_then(|from| {
                    delta_frame(
                        &live,
                        live.changes_since(from).as_ref(),
                        (from, from),
                        &filter,
                        &self.vis,
                        &Held::default(),
                        true,
                        cfg,
                        now,
                    )
                    .map(|(f, _)| (from, f))
                });
            self.sent_seq = live.monitor.seq();
            let held_now = || {
                let view = live.monitor.view(&filter, &self.vis, now);
                Held::of_view(&view, &filter, &self.vis, cfg.held_max)
            };
            match resumed {
                Some((from, f)) if f.as_str().is_empty() => {
                    // Nothing changed since: an empty delta confirms the resume.
                    let frame = json(&serde_json::json!({
                        "type": "delta", "seq": self.sent_seq, "from_seq": from,
                        "rows": [], "removed": [], "agents": [], "agents_removed": [],
                        "teams": [], "teams_removed": []
                    }));
                    (vec![frame], held_now())
                }
                Some((_, f)) => (vec![f], held_now()),
                None => snapshot_frames(&live, &filter, &self.vis, now, cfg),
            }
        };
        self.held = Arc::new(held);
        self.out.extend(frames);
        self.last_counters = Some(Instant::now());
        self.counters_owed = false;
        self.register();
    }

    fn resync(&mut self, reason: &str) {
        metrics::counter!("mirante_monitor_resyncs").increment(1);
        self.out.push(json(
            &serde_json::json!({"type": "resync", "reason": reason}),
        ));
        let filter = self.filter.clone().unwrap_or_default();
        self.subscribe(filter, None);
    }

    /// What the hub left in this connection's mailbox, oldest first.
    fn on_delivered(&mut self, delivered: Delivered) {
        if delivered.lagged {
            // More ticks behind than kept: catch up on our own.
            return self.flush();
        }
        for (seq, outcome) in &delivered.outcomes {
            self.on_tick(*seq, outcome);
        }
    }

    /// One tick's outcome for this connection (computed at the model's `seq`): its shared
    /// frame.
    fn on_tick(&mut self, seq: u64, o: &Outcome) {
        if self.filter.is_none() || o.generation != self.generation {
            // Computed before this connection last re-registered: stale.
            return;
        }
        if o.from != self.sent_seq {
            // A tick was missed: catch up on our own.
            return self.flush();
        }
        if o.reset {
            return self.resync("reset");
        }
        let Some(frame) = &o.frame else {
            return self.resync("lagged");
        };
        self.sent_seq = seq;
        if let Some(held) = &o.held {
            self.held = Arc::clone(held);
        }
        self.counters_owed = o.owed;
        if o.counters {
            self.last_counters = Some(Instant::now());
        }
        if !frame.as_str().is_empty() {
            self.out.push(frame.clone());
        }
    }

    /// Writes the delta since the last frame, computed by this connection (after a missed
    /// tick), and re-registers with the hub.
    pub fn flush(&mut self) {
        let Some(filter) = self.filter.clone() else {
            return;
        };
        let at = Instant::now();
        let cfg = self.svc.config().clone();
        let counters_due = self
            .last_counters
            .is_none_or(|t| at >= t + cfg.counters_interval);
        let now = self.svc.now();
        let live = self.svc.live();
        if live.epoch != self.epoch {
            drop(live);
            return self.resync("reset");
        }
        let seq = live.monitor.seq();
        let changes = live.changes_since(self.sent_seq);
        let changes_counters = self.counters_owed || changes.as_ref().is_some_and(|c| c.counters);
        let with_counters = changes_counters && counters_due;
        let frame = {
            let mut cache = self.svc.frames();
            let cache = cache.at(seq, live.epoch);
            let key = (self.sent_seq, with_counters, Arc::clone(&self.key));
            if let Some(f) = cache.deltas.get(&key) {
                f.clone()
            } else {
                let f = delta_frame(
                    &live,
                    changes.as_ref(),
                    (self.sent_seq, self.sent_seq),
                    &filter,
                    &self.vis,
                    &self.held,
                    with_counters,
                    &cfg,
                    now,
                )
                .map(|(f, held)| (f, Arc::new(held)));
                cache.deltas.insert(key, f.clone());
                f
            }
        };
        drop(live);
        match frame {
            None => self.resync("lagged"),
            Some((f, held)) => {
                self.sent_seq = seq;
                self.held = held;
                self.counters_owed = changes_counters && !with_counters;
                if with_counters {
                    self.last_counters = Some(at);
                }
                if !f.as_str().is_empty() {
                    self.out.push(f);
                }
                self.register();
            }
        }
    }

    /// A heartbeat frame.
    pub fn heartbeat(&mut self) {
        self.out.push(json(
            &serde_json::json!({"type": "heartbeat", "seq": self.sent_seq}),
        ));
    }

    fn follow(&mut self, session: SessionId) {
        if !self.can_follow {
            return self.error(&ApiError::Auth(AuthError::Forbidden));
        }
        let now = self.svc.now();
        let (visible, row, team) = {
            let live = self.svc.live();
            let m = &live.monitor;
            (
                m.session_visible(session, &self.vis),
                m.row(session, now),
                m.session(session).and_then(|s| s.team),
            )
        };
        if !visible {
            return self.error(&ApiError::NotFound);
        }
        if self.following.insert(session) {
            // Routed before the transcript is read: a message folded after the read is a
            // fact in the inbox.
            self.svc.route_session(self.id, session, Some(&self.facts));
            self.svc
                .set_following(session, self.account, &self.name, true);
            self.audits.push(StreamAudit {
                action: "session.follow_start",
                target: format!("session:{}", session.0),
                team,
            });
        }
        let frame = {
            let records = self.svc.records();
            let record = records.session(session);
            json(&FollowFrame {
                kind: "follow",
                session,
                row,
                messages: record
                    .map(|r| r.messages.iter().collect())
                    .unwrap_or_default(),
                truncated: record.is_some_and(|r| r.truncated),
                followers: self.svc.followers(session),
            })
        };
        self.out.push(frame);
    }

    fn unfollow(&mut self, session: SessionId) {
        if self.following.remove(&session) {
            self.svc.route_session(self.id, session, None);
            self.svc
                .set_following(session, self.account, &self.name, false);
            self.audits.push(StreamAudit {
                action: "session.follow_stop",
                target: format!("session:{}", session.0),
                team: None,
            });
        }
    }

    /// Stops every follow (the connection ends).
    pub fn close(&mut self) {
        for s in std::mem::take(&mut self.following) {
            self.following.insert(s);
            self.unfollow(s);
        }
    }

    /// A fact from the records (messages, chat).
    pub fn on_fact(&mut self, fact: &Fact) {
        match fact {
            Fact::Message(session, message) if self.following.contains(session) => {
                self.out.push(json(&serde_json::json!({
                    "type": "message", "session": session, "message": message
                })));
            }
            Fact::Finished(session) if self.following.contains(session) => {
                self.unfollow(*session);
                self.out.push(json(
                    &serde_json::json!({"type": "follow_ended", "session": session}),
                ));
            }
            Fact::Followers(session, followers) if self.following.contains(session) => {
                self.out.push(json(&serde_json::json!({
                    "type": "followers", "session": session, "followers": &followers[..]
                })));
            }
            Fact::Chat(m)
                if self.can_chat
                    && m.supervisor == SupervisorId(self.account)
                    && self.agent_visible(m.agent) =>
            {
                self.out
                    .push(json(&serde_json::json!({"type": "chat", "message": m})));
            }
            Fact::ChatRead {
                agent,
                supervisor,
                by_agent,
                up_to,
            } if self.can_chat
                && *supervisor == SupervisorId(self.account)
                && self.agent_visible(*agent) =>
            {
                self.out.push(json(&serde_json::json!({
                    "type": "chat_read", "agent": agent, "by_agent": by_agent, "up_to": up_to
                })));
            }
            _ => {}
        }
    }

    fn agent_visible(&self, agent: AgentId) -> bool {
        self.svc.live().monitor.agent_visible(agent, &self.vis)
    }

    /// Facts were missed: re-send what followers must not lose.
    pub fn on_facts_lagged(&mut self) {
        for s in self.following.clone() {
            self.follow(s);
        }
    }

    /// The caller's rights were checked again (see [`drive`]): chat and follow follow its
    /// permissions, a follow it may no longer have ends (`follow_ended`), and another team
    /// scope takes a fresh snapshot.
    pub fn set_principal(&mut self, principal: &Principal) {
        self.can_chat = principal.has(Permission::ChatInternal);
        self.can_follow = principal.has(Permission::SessionFollow);
        let teams = principal.scope.teams().cloned();
        let rescoped = teams != self.vis.teams;
        self.vis.teams = teams;
        let ended: Vec<SessionId> = {
            let live = self.svc.live();
            self.following
                .iter()
                .copied()
                .filter(|&s| !self.can_follow || !live.monitor.session_visible(s, &self.vis))
                .collect()
        };
        for session in ended {
            self.unfollow(session);
            self.out.push(json(
                &serde_json::json!({"type": "follow_ended", "session": session}),
            ));
        }
        if rescoped && let Some(f) = self.filter.clone() {
            self.subscribe(f, None);
        }
    }

    /// This supervisor's hidden cards changed: a fresh snapshot.
    pub fn set_hidden(&mut self, hidden: (BTreeSet<AgentId>, BTreeSet<TeamId>)) {
        self.vis.hidden_agents = hidden.0;
        self.vis.hidden_teams = hidden.1;
        if let Some(f) = self.filter.clone() {
            self.subscribe(f, None);
        }
    }

    /// The account.
    pub fn account(&self) -> u64 {
        self.account
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.svc.hub().unregister(self.id);
        let following: Vec<SessionId> = self.following.iter().copied().collect();
        self.svc.drop_routes(self.id, self.account, &following);
    }
}

/// The connection a driver reads and writes.
pub trait Transport: Send {
    /// Writes the frames with one flush; `false` when the client is gone.
    fn send(&mut self, frames: Vec<Frame>) -> impl std::future::Future<Output = bool> + Send;

    /// The client's next text message; `Ready(None)` when the client is gone. A transport
    /// without input (SSE) never has one.
    fn poll_text(&mut self, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let _ = cx;
        Poll::Pending
    }

    /// Ends the connection because the caller's rights were withdrawn (after the `error`
    /// frame that says why).
    fn refuse(&mut self) -> impl std::future::Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// The hidden cards of an account (M-14, M-23), from its preferences.
pub async fn load_hidden(auth: &AuthState, account: u64) -> (BTreeSet<AgentId>, BTreeSet<TeamId>) {
    let stored = auth
        .store(move |s| s.preference(account, HIDDEN_KEY))
        .await
        .ok()
        .flatten();
    let hidden: Hidden = stored
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    (hidden.agents, hidden.teams)
}

/// The preference key of the hidden cards.
pub const HIDDEN_KEY: &str = "monitor.hidden";

/// The stored shape of the hidden cards.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hidden {
    /// Hidden agent cards.
    #[serde(default)]
    #[schema(value_type = Vec<u64>)]
    pub agents: BTreeSet<AgentId>,
    /// Hidden team cards.
    #[serde(default)]
    #[schema(value_type = Vec<u64>)]
    pub teams: BTreeSet<TeamId>,
}

/// Who is on the other end of a connection, and how to check it again.
pub struct Caller {
    /// The account state (audit, hidden cards, revalidation).
    pub auth: AuthState,
    /// The engine (a principal's revalidation reads an agent's teams from it).
    pub engine: EngineHandle,
    /// How it authenticated.
    pub credential: Credential,
    /// What it was allowed when it connected.
    pub principal: Principal,
    /// Its address (for the audit log).
    pub addr: String,
    /// The language of the message that ends the stream.
    pub lang: Lang,
}

/// What a check of the caller's rights decided.
enum Recheck {
    /// Rights unchanged, or applied to the subscription.
    Keep,
    /// No longer authenticated, or no longer allowed to watch: the stream ends.
    End(AuthError),
}

impl Caller {
    /// Writes the subscription's pending audit records as this caller.
    async fn audit(&self, sub: &mut Subscriber) {
        for a in sub.take_audits() {
            self.auth
                .audit_principal(
                    &self.principal,
                    a.action,
                    &a.target,
                    "ok",
                    &self.addr,
                    a.team,
                    None,
                )
                .await;
        }
    }

    /// Derives the principal again from the credential (see [`AuthState::revalidate`]) and
    /// applies it to `sub`. A failure to reach the account store keeps the stream as it is.
    async fn recheck(&mut self, sub: &mut Subscriber) -> Recheck {
        match self.auth.revalidate(&self.engine, &self.credential).await {
            Ok(p) if !p.has(Permission::MonitorView) => Recheck::End(AuthError::Forbidden),
            Ok(p) => {
                if p != self.principal {
                    sub.set_principal(&p);
                    self.principal = p;
                }
                Recheck::Keep
            }
            Err(ApiError::Auth(e)) => Recheck::End(e),
            Err(e) => {
                tracing::warn!(error = ?e, "live stream: rights not re-checked");
                Recheck::Keep
            }
        }
    }
}

/// What woke a connection's task: its mailbox, or one of its rare sources (polled only
/// after one of them woke: [`Quiet`]).
enum Woke {
    /// The outcomes the hub left in the mailbox.
    Mailbox(Delivered),
    /// The client's message (`None`: the client is gone).
    Text(Option<Frame>),
    /// A fact for the connection's inbox (`None`: the inbox is gone).
    Fact(Option<Result<Arc<Fact>, BroadcastStreamRecvError>>),
    /// An account's preferences changed.
    Prefs(Option<Result<u64, BroadcastStreamRecvError>>),
    /// An account change (session ended, rights changed, token revoked).
    Change(Option<Result<AuthChange, BroadcastStreamRecvError>>),
    /// Time to check the caller's rights again.
    Recheck,
    /// Time for a heartbeat, unless a frame went out since.
    Heartbeat,
}

/// Runs one connection until the client goes: input from and output to `io`, wake-ups from
/// the service.
///
/// The task waits on its mailbox, woken by nearly every tick, and on its rare sources (the
/// client's messages, its facts inbox, account and preference changes, the recheck and
/// heartbeat timers) behind a waker of their own ([`Quiet`]): a frame written does not poll
/// them all again. The caller's rights are checked again when an account change concerns it
/// (a session ended, its account or group changed, its token revoked) and every
/// [`LiveConfig::recheck`]: a stream whose session ended or expired, or whose account lost
/// `monitor.view`, gets an `error` frame (`unauthenticated` / `forbidden`) and is closed; a
/// narrower or wider team scope takes a fresh snapshot.
pub async fn drive<T: Transport>(mut sub: Subscriber, mut io: T, mut caller: Caller) {
    let svc = sub.svc.clone();
    let mailbox = Arc::clone(&sub.mailbox);
    let mut changes = BroadcastStream::new(caller.auth.changes());
    let mut facts = BroadcastStream::new(sub.facts.subscribe());
    let mut prefs = BroadcastStream::new(svc.prefs());
    let recheck = svc.config().recheck;
    let recheck_due = tokio::time::sleep(recheck);
    tokio::pin!(recheck_due);
    // A heartbeat after `heartbeat` without a frame: the timer is moved on when it fires
    // and a frame went out since, not with every frame.
    let heartbeat = svc.config().heartbeat;
    let mut last_sent = Instant::now();
    let heartbeat_due = tokio::time::sleep(heartbeat);
    tokio::pin!(heartbeat_due);
    let quiet = Quiet::default();
    loop {
        caller.audit(&mut sub).await;
        let frames = sub.take_out();
        if !frames.is_empty() {
            if !io.send(frames).await {
                break;
            }
            last_sent = Instant::now();
        }
        // The mailbox before the rest: the frames of a state go out before the answer to a
        // message read after it (a ping's heartbeat carries the last frame's `seq`).
        let woke = std::future::poll_fn(|cx| {
            if let Poll::Ready(d) = mailbox.poll_take(cx) {
                return Poll::Ready(Woke::Mailbox(d));
            }
            quiet.poll(cx, |cx| {
                if let Poll::Ready(t) = io.poll_text(cx) {
                    return Poll::Ready(Woke::Text(t));
                }
                if let Poll::Ready(f) = Pin::new(&mut facts).poll_next(cx) {
                    return Poll::Ready(Woke::Fact(f));
                }
                if let Poll::Ready(a) = Pin::new(&mut prefs).poll_next(cx) {
                    return Poll::Ready(Woke::Prefs(a));
                }
                if let Poll::Ready(c) = Pin::new(&mut changes).poll_next(cx) {
                    return Poll::Ready(Woke::Change(c));
                }
                if recheck_due.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Woke::Recheck);
                }
                ready!(heartbeat_due.as_mut().poll(cx));
                Poll::Ready(Woke::Heartbeat)
            })
        })
        .await;
        match woke {
            Woke::Mailbox(delivered) => sub.on_delivered(delivered),
            Woke::Text(Some(text)) => sub.handle_text(&text),
            Woke::Text(None) | Woke::Fact(None) => break,
            Woke::Fact(Some(Ok(f))) => sub.on_fact(&f),
            Woke::Fact(Some(Err(BroadcastStreamRecvError::Lagged(_)))) => {
                sub.on_facts_lagged();
            }
            Woke::Prefs(account) => {
                let reload = match account {
                    Some(Ok(a)) => a == sub.account(),
                    Some(Err(BroadcastStreamRecvError::Lagged(_))) => true,
                    None => false,
                };
                if reload {
                    let hidden = load_hidden(&caller.auth, sub.account()).await;
                    sub.set_hidden(hidden);
                }
            }
            Woke::Change(change) => {
                let concerns = match &change {
                    Some(Ok(c)) => c.concerns(&caller.credential, &caller.principal),
                    Some(Err(BroadcastStreamRecvError::Lagged(_))) => true,
                    None => false,
                };
                if concerns && let Recheck::End(e) = caller.recheck(&mut sub).await {
                    sub.end(&e, caller.lang);
                }
            }
            Woke::Recheck => {
                recheck_due.as_mut().reset(Instant::now() + recheck);
                if let Recheck::End(e) = caller.recheck(&mut sub).await {
                    sub.end(&e, caller.lang);
                }
            }
            Woke::Heartbeat => {
                let due = last_sent + heartbeat;
                if Instant::now() >= due {
                    sub.heartbeat();
                    heartbeat_due.as_mut().reset(Instant::now() + heartbeat);
                } else {
                    heartbeat_due.as_mut().reset(due);
                }
            }
        }
        if sub.ended {
            caller.audit(&mut sub).await;
            if io.send(sub.take_out()).await {
                io.refuse().await;
            }
            break;
        }
    }
    sub.close();
    caller.audit(&mut sub).await;
}
