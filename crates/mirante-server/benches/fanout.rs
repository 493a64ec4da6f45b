//! P1 and P2: fan-out of the live stream over real WebSocket connections on loopback.
//!
//! * **P1** — `SUBS` (1 000) unfiltered subscribers while the engine accepts 1 000 events/s:
//!   deliveries/s (one event reaching one subscriber, counted from each delta's
//!   `(from_seq, seq]`) and the p99 from the engine's acknowledgement to the frame on the
//!   subscriber's socket; against a **bare** broadcast WebSocket server measured in the same
//!   run (one pre-serialized frame per event, drained and flushed once per socket — the
//!   figure of `shared/PERFORMANCE.md`).
//! * **P2** — `SUBS / 2` subscribers each filtered to one agent online, 5 000 events/s: p99
//!   from the acknowledgement to the session's row on a matching subscriber's socket.
//!
//! **Load: the simulator's** (`mirante_sim::load`): the demo scenario scaled
//! ×`MIRANTE_BENCH_SCALE` (default 20: 600 agents) from its 09:30 start, seed
//! `MIRANTE_BENCH_SEED` (7), recorded once with the engine's time in 1 s windows. Each run
//! replays into a fresh engine (its clock set to each window's start, a window's commands
//! all acknowledged before the next): first the `MIRANTE_BENCH_WARMUP_MIN` (10) simulated
//! minutes as fast as possible (the live center the subscribers see), then the following
//! commands paced so that exactly `rate` events/s go in (a command goes when the events it
//! causes fit the budget). An event's acknowledgement is the wall time of the first command
//! answer covering its sequence (the engine answers once its events are durable).
//!
//! The WebSocket clients run in a **second process** (this binary re-executed with
//! `--clients`), pinned with `taskset -c 1`, while the server, the engine and the monitor are
//! pinned to core 0; the load generator runs on a thread of its own pinned to core 1 beside the
//! clients: the server and the load generator on different cores, as PERFORMANCE.md asks, so
//! that its pacing and acknowledgements never wait behind the server's writes.
//! `MIRANTE_BENCH_PIN=0` turns pinning off, and it is off on a machine with fewer than 2
//! cores. The bare baseline runs the same way. Times are
//! the wall clock (`SystemTime`) of the one machine, read by both processes. A client reads
//! of an unfiltered frame only its head (`"type":"delta","seq":…,"from_seq":…`, the first
//! fields of a delta, and of the bare server's frames); a filtered client (P2) parses the
//! whole frame for its rows.
//!
//! The server runs with its defaults (`LiveConfig::default()`, more streams allowed): 100 ms
//! between two frames of a connection unless its client asks for another `frame_ms` in its
//! `subscribe` (10–1 000 ms). The clients ask for each of `MIRANTE_BENCH_FRAME_MS` in turn — a
//! busy connection's event waits up to one interval by construction, so the interval a
//! client asks for is its latency floor.
//!
//! Run: `cargo bench -p mirante-server --bench fanout` (env `MIRANTE_BENCH_SECS`, default 5;
//! `MIRANTE_BENCH_SUBS`, default 1 000; `MIRANTE_BENCH_FRAME_MS`, a comma-separated list of
//! the `frame_ms` the clients ask for, default `100,20,10`: the server's default, and two a
//! program may ask for; `MIRANTE_BENCH_ONLY=p1` to run P1 alone, for profiling;
//! `MIRANTE_BENCH_DUMP=<file>`: every delivery to the first 20 clients as a line `event seq,
//! acknowledged µs, arrived µs, client`, to see where a tail comes from). Prints a table and
//! writes `bench-out/fanout.json`.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use mirante_core::{Command, EventKind, Timestamp};
use mirante_server::auth::mail::LogMailer;
use mirante_server::auth::{AuthConfig, AuthState};
use mirante_server::engine::{
    Engine, EngineConfig, EngineError, EngineHandle, Executed, ManualClock, SystemClock,
};
use mirante_server::http::{AppState, app};
use mirante_server::monitor::{LiveConfig, MonitorService, log_reader};
use mirante_server::nodelay;
use mirante_sim::{demo, load};
use mirante_store::accounts::{Account, AccountKind, AccountStore, MemoryAccounts};
use mirante_store::memory::MemoryStore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// CPU seconds (user + system) this process has used so far, from `/proc/self/stat`.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat(5) (utime, stime), counted after the command name; 100 Hz.
    (ticks(11) + ticks(12)) / 100.0
}

/// Nanoseconds of the wall clock: the one clock both processes read.
fn wall() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Per sequence number: when the engine acknowledged it (0: not yet), and its session.
struct Acks {
    at: Vec<AtomicU64>,
    /// The highest sequence acknowledged so far.
    high: AtomicU64,
    session: Arc<Vec<u64>>,
}

impl Acks {
    fn new(n: usize, session: Arc<Vec<u64>>) -> Acks {
        Acks {
            at: (0..n).map(|_| AtomicU64::new(0)).collect(),
            high: AtomicU64::new(0),
            session,
        }
    }

    /// A command's answer at `now` covers every sequence up to `seq` (durable by then).
    fn ack(&self, seq: u64, now: u64) {
        let before = self.high.fetch_max(seq, Ordering::Relaxed);
        for s in before + 1..=seq {
            if let Some(slot) = self.at.get(s as usize) {
                slot.store(now, Ordering::Relaxed);
            }
        }
    }

    /// `(seq, at, session)` of every acknowledged event after `from`, little-endian, for the
    /// clients.
    fn to_bytes(&self, from: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for (seq, at) in self.at.iter().enumerate().skip(from as usize + 1) {
            let at = at.load(Ordering::Relaxed);
            if at != 0 {
                let session = self.session.get(seq).copied().unwrap_or(0);
                for v in [seq as u64, at, session] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        out
    }
}

/// Latency histogram in 0.1 ms buckets, and deliveries.
struct Stats {
    buckets: Vec<u64>,
    deliveries: u64,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            buckets: vec![0; 20_000],
            deliveries: 0,
        }
    }
    fn record(&mut self, nanos: u64) {
        let b = ((nanos / 100_000) as usize).min(self.buckets.len() - 1);
        self.buckets[b] += 1;
        self.deliveries += 1;
    }
    fn quantile(&self, q: f64) -> f64 {
        let total: u64 = self.buckets.iter().sum();
        let target = (total as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b;
            if seen >= target.max(1) {
                return (i as f64 + 1.0) / 10.0;
            }
        }
        f64::NAN
    }
}

/// What a filtered client (P2) reads of a frame: all of it, keeping the rows' ids.
#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    seq: u64,
    #[serde(default)]
    from_seq: u64,
    #[serde(default)]
    rows: Vec<RowId>,
}

/// What a client reads of a snapshot frame (`snapshot`, or `snapshot_part`) to know when
/// it has the whole of it.
#[derive(Deserialize)]
struct SnapshotHead {
    #[serde(rename = "type")]
    kind: String,
    parts: Option<u64>,
}

#[derive(Deserialize)]
struct RowId {
    id: u64,
}

/// What an unfiltered client reads of a frame: `seq` and `from_seq` from the head of a delta
/// (`{"type":"delta","seq":…,"from_seq":…` — `DeltaFrame`'s first fields, and the bare
/// server's), without parsing the rows; `None` for any other frame.
fn delta_head(text: &str) -> Option<(u64, u64)> {
    let rest = text.strip_prefix(r#"{"type":"delta","seq":"#)?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    let seq = rest[..end].parse().ok()?;
    let rest = rest[end..].strip_prefix(r#","from_seq":"#)?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    let from = rest[..end].parse().ok()?;
    Some((seq, from))
}

/// Simulated time per engine window.
const QUANTUM_MS: i64 = 1_000;
/// Most commands in flight during the fast warm-up replay.
const IN_FLIGHT: usize = 1_024;

/// One engine window of the recorded load: its time and commands (recorded refusal,
/// events caused).
struct Window {
    at: Timestamp,
    steps: Vec<(Command, bool, u64)>,
}

/// The simulator's load, recorded once: the warm-up, then the measured part.
struct Recorded {
    warm_up: Vec<Window>,
    measured: Vec<Window>,
    /// Events of the warm-up (setup included): the log's sequence when measuring starts.
    warm_up_events: u64,
    /// Per sequence number (index), the session its event is about (0: none).
    sessions: Arc<Vec<u64>>,
    /// Agents logged in at the end of the warm-up (P2's filters).
    online: Vec<u64>,
    measured_events: u64,
    scale: usize,
    seed: u64,
    warm_up_min: i64,
    seconds_to_record: f64,
}

fn windows_of(steps: Vec<load::Step>) -> Vec<Window> {
    let mut out: Vec<Window> = Vec::new();
    for step in steps {
        let item = (step.command, step.refused, step.events.len() as u64);
        match out.last_mut() {
            Some(w) if w.at == step.at => w.steps.push(item),
            _ => out.push(Window {
                at: step.at,
                steps: vec![item],
            }),
        }
    }
    out
}

/// Records the scaled demo scenario: `warm_up_min` simulated minutes, then at least
/// `events` more events.
fn record(scale: usize, seed: u64, warm_up_min: i64, events: u64) -> Recorded {
    let started = Instant::now();
    let scenario = load::scaled(demo::demo(demo::DEMO_START), scale);
    let mut sim = load::LoadGen::new(scenario, seed, QUANTUM_MS).expect("scenario");
    let warm = sim.run_until(demo::DEMO_START.plus_ms(warm_up_min * 60_000));
    let warm_up_events = sim.events();
    let mut measured = Vec::new();
    while sim.events() < warm_up_events + events && !sim.done() {
        measured.extend(sim.next_events(warm_up_events + events - sim.events()));
    }
    let mut sessions = vec![0u64];
    let mut online = BTreeSet::new();
    for (i, step) in warm.iter().chain(&measured).enumerate() {
        let in_warm_up = i < warm.len();
        for e in &step.events {
            let kind = serde_json::to_value(&e.kind).expect("event");
            sessions.push(kind["session"].as_u64().unwrap_or(0));
            if in_warm_up {
                match &e.kind {
                    EventKind::AgentLoggedIn { agent } => {
                        online.insert(agent.0);
                    }
                    EventKind::AgentLoggedOut { agent, .. } => {
                        online.remove(&agent.0);
                    }
                    _ => {}
                }
            }
        }
    }
    let measured_events = sim.events() - warm_up_events;
    Recorded {
        warm_up: windows_of(warm),
        measured: windows_of(measured),
        warm_up_events,
        sessions: Arc::new(sessions),
        online: online.into_iter().collect(),
        measured_events,
        scale,
        seed,
        warm_up_min,
        seconds_to_record: started.elapsed().as_secs_f64(),
    }
}

type Pending = Pin<Box<dyn Future<Output = Result<Executed, EngineError>> + Send>>;

/// Sends `command` now (one poll enqueues it, so the engine gets the commands in order).
fn send(
    engine: &EngineHandle,
    command: Command,
) -> (Pending, Option<Result<Executed, EngineError>>) {
    let e = engine.clone();
    let mut answer: Pending = Box::pin(async move { e.execute(command).await });
    match answer
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => (answer, Some(result)),
        Poll::Pending => (answer, None),
    }
}

/// Whether an answer agrees with the recording.
fn agrees(result: &Result<Executed, EngineError>, refused: bool) -> bool {
    match result {
        Ok(_) => !refused,
        Err(EngineError::Domain(_)) => refused,
        Err(error) => panic!("engine: {error}"),
    }
}

/// The warm-up, as fast as possible; returns the commands whose answer disagreed with the
/// recording.
async fn replay_fast(engine: &EngineHandle, clock: &ManualClock, windows: &[Window]) -> u64 {
    let mut mismatches = 0;
    for w in windows {
        clock.set(w.at);
        let mut pending: VecDeque<(Pending, bool)> = VecDeque::new();
        for (command, refused, _) in &w.steps {
            if pending.len() >= IN_FLIGHT {
                let (answer, refused) = pending.pop_front().expect("pending");
                mismatches += u64::from(!agrees(&answer.await, refused));
            }
            match send(engine, command.clone()) {
                (_, Some(result)) => mismatches += u64::from(!agrees(&result, *refused)),
                (answer, None) => pending.push_back((answer, *refused)),
            }
        }
        for (answer, refused) in pending {
            mismatches += u64::from(!agrees(&answer.await, refused));
        }
    }
    mismatches
}

/// What the paced replay did.
struct Paced {
    events: u64,
    seconds: f64,
    mismatches: u64,
    exhausted: bool,
}

/// The measured part at `rate` events/s for `secs`: a command goes when the events it
/// causes fit the budget; each answer acknowledges the sequences it covers.
async fn replay_paced(
    engine: &EngineHandle,
    clock: &ManualClock,
    windows: &[Window],
    acks: &Arc<Acks>,
    rate: u64,
    secs: u64,
) -> Paced {
    let mismatches = Arc::new(AtomicU64::new(0));
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut events = 0u64;
    let mut exhausted = true;
    'windows: for w in windows {
        clock.set(w.at);
        let mut answers = Vec::new();
        for (command, refused, n) in &w.steps {
            loop {
                let now = Instant::now();
                if now >= end {
                    exhausted = false;
                    for a in answers {
                        let _ = a.await;
                    }
                    break 'windows;
                }
                if (events as f64) < rate as f64 * (now - start).as_secs_f64() {
                    break;
                }
                tick.tick().await;
            }
            events += n;
            let record = {
                let (acks, mismatches, refused) =
                    (Arc::clone(acks), Arc::clone(&mismatches), *refused);
                move |result: Result<Executed, EngineError>| {
                    let now = wall();
                    if !agrees(&result, refused) {
                        mismatches.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Ok(done) = result {
                        acks.ack(done.seq, now);
                    }
                }
            };
            match send(engine, command.clone()) {
                (_, Some(result)) => record(result),
                (answer, None) => answers.push(tokio::spawn(async move { record(answer.await) })),
            }
        }
        // The window's commands are all answered before the clock moves (as recorded).
        for a in answers {
            let _ = a.await;
        }
    }
    Paced {
        events,
        seconds: start.elapsed().as_secs_f64(),
        mismatches: mismatches.load(Ordering::Relaxed),
        exhausted,
    }
}

struct World {
    addr: SocketAddr,
    cookie: String,
    engine: EngineHandle,
    clock: ManualClock,
    warm_up_mismatches: u64,
}

/// A fresh engine with the warm-up replayed, then the monitor (bootstrapped from it, today's
/// figures rebuilt) and the HTTP server.
async fn world(load: &Recorded) -> World {
    let store = MemoryStore::new();
    let log = log_reader(store.clone());
    let clock = ManualClock::at(load.warm_up[0].at);
    let engine = Engine::start(store, clock.clone(), EngineConfig::default())
        .await
        .expect("engine");
    let warm_up_mismatches = replay_fast(&engine.handle, &clock, &load.warm_up).await;
    let accounts: Arc<dyn AccountStore> = Arc::new(MemoryAccounts::new());
    let id = accounts
        .insert_account(&Account {
            id: 0,
            email: "root@x.com".into(),
            name: "Root".into(),
            nickname: None,
            kind: AccountKind::Admin { group: 1 },
            password_hash: None,
            disabled: false,
            created_ms: 0,
            updated_ms: 0,
        })
        .expect("account");
    let auth = AuthState::new(
        accounts,
        Arc::new(SystemClock),
        AuthConfig::default(),
        Arc::new(LogMailer),
    );
    let cookie = auth.open_session(id, None).await.expect("session");
    let monitor = MonitorService::start(
        engine.handle.clone(),
        Some(log.clone()),
        Arc::new(clock.clone()),
        // The server's defaults (100 ms, clients may ask for 10–1 000 ms), more streams.
        LiveConfig {
            max_per_user: 100_000,
            max_total: 100_000,
            ..LiveConfig::default()
        },
    )
    .await;
    monitor.wait_for(engine.handle.durable_seq()).await;
    monitor.wait_day_figures().await;
    let state = AppState {
        engine: engine.handle.clone(),
        metrics: None,
        command_api: false,
        auth,
        monitor,
        feeds: mirante_server::feeds::Feeds::start(engine.handle.clone(), Some(log)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(
            nodelay(listener),
            app(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    std::mem::forget(engine.task);
    World {
        addr,
        cookie,
        engine: engine.handle,
        clock,
        warm_up_mismatches,
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn dial(url: &str, cookie: Option<&str>) -> Ws {
    let mut request = url.into_client_request().expect("url");
    if let Some(c) = cookie {
        request.headers_mut().insert(
            "cookie",
            format!("mirante_session={c}").parse().expect("header"),
        );
    }
    // tungstenite zeroes its whole read buffer (128 KiB by default) before every socket read:
    // with 1 000 sockets that was 14 % of the CPU samples of a 20 ms run, spent by the clients
    // process on memset. 16 KiB per read (a frame larger than that takes a few reads); the
    // bare server's clients are the same.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(16 * 1024);
    tokio_tungstenite::connect_async_with_config(request, Some(config), false)
        .await
        .expect("connect")
        .0
}

/// What the server process tells the clients process (one JSON line on its stdin).
#[derive(Serialize, Deserialize)]
struct ClientsPlan {
    url: String,
    cookie: Option<String>,
    /// One subscribe filter per client (`None`: the bare server, nothing to send).
    filters: Vec<Option<serde_json::Value>>,
    /// Only the events of sessions among a delta's rows count (P2).
    filtered: bool,
    /// The `frame_ms` each client asks for in its `subscribe`.
    frame_ms: Option<u64>,
}

/// After the load: where the acknowledgements are, and from which sequence to count.
#[derive(Serialize, Deserialize)]
struct ClientsDone {
    acks: String,
    start_seq: u64,
}

#[derive(Serialize, Deserialize)]
struct ClientsResult {
    /// CPU seconds the clients process used from `ready` to `done`.
    cpu_s: f64,
    deliveries: u64,
    p50_ms: f64,
    p99_ms: f64,
}

/// One delta as received: when, its range, and (filtered runs) its rows.
struct Received {
    /// The client's index (for `MIRANTE_BENCH_DUMP`).
    client: usize,
    at: u64,
    from_seq: u64,
    seq: u64,
    rows: Vec<u64>,
}

/// The clients process: dials every subscriber, records each delta frame's arrival, and at
/// the end counts deliveries and latencies against the server's acknowledgements.
fn clients_main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut stdin = BufReader::new(tokio::io::stdin()).lines();
        let mut stdout = tokio::io::stdout();
        let plan: ClientsPlan =
            serde_json::from_str(&stdin.next_line().await.expect("stdin").expect("plan"))
                .expect("plan");
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(Mutex::new(Vec::<Received>::new()));
        // Clients that have had their whole snapshot (the bare server: any frame).
        let greeted = Arc::new(AtomicU64::new(0));
        let first_frame = Arc::new(tokio::sync::Notify::new());
        for (client, filter) in plan.filters.iter().enumerate() {
            let mut ws = dial(&plan.url, plan.cookie.as_deref()).await;
            if let Some(filter) = filter {
                ws.send(tokio_tungstenite::tungstenite::Message::Text(
                    json!({"type": "subscribe", "filter": filter, "frame_ms": plan.frame_ms})
                        .to_string()
                        .into(),
                ))
                .await
                .expect("subscribe");
            }
            let (stop, received, filtered) =
                (Arc::clone(&stop), Arc::clone(&received), plan.filtered);
            let (greeted, first_frame) = (Arc::clone(&greeted), Arc::clone(&first_frame));
            let bare = filter.is_none();
            tokio::spawn(async move {
                let mut greet = true;
                // Parts of the snapshot still to come (`None`: no snapshot yet).
                let mut snapshot_parts_left: Option<u64> = None;
                while let Some(Ok(msg)) = ws.next().await {
                    let tokio_tungstenite::tungstenite::Message::Text(text) = msg else {
                        continue;
                    };
                    let at = wall();
                    let delta = if filtered {
                        serde_json::from_str::<Frame>(text.as_str())
                            .ok()
                            .filter(|f| f.kind == "delta")
                            .map(|f| (f.seq, f.from_seq, f.rows.iter().map(|r| r.id).collect()))
                    } else {
                        delta_head(text.as_str()).map(|(seq, from)| (seq, from, Vec::new()))
                    };
                    // Ready once the whole snapshot is in: a large one comes in parts,
                    // and the load must not start while the server still writes them.
                    if greet && (bare || delta.is_none()) {
                        if bare {
                            snapshot_parts_left = Some(0);
                        } else {
                            let head: SnapshotHead =
                                serde_json::from_str(text.as_str()).expect("a frame");
                            match head.kind.as_str() {
                                "snapshot" => {
                                    snapshot_parts_left = Some(head.parts.unwrap_or(1) - 1);
                                }
                                "snapshot_part" => {
                                    snapshot_parts_left =
                                        snapshot_parts_left.map(|k| k.saturating_sub(1));
                                }
                                _ => {}
                            }
                        }
                        if snapshot_parts_left == Some(0) {
                            greet = false;
                            greeted.fetch_add(1, Ordering::Relaxed);
                            first_frame.notify_one();
                        }
                    }
                    let Some((seq, from_seq, rows)) = delta else {
                        continue;
                    };
                    if stop.load(Ordering::Relaxed) {
                        continue;
                    }
                    received.lock().expect("lock").push(Received {
                        client,
                        at,
                        from_seq,
                        seq,
                        rows,
                    });
                }
            });
        }
        // Every subscriber has its snapshot before the load starts (the bare server sends
        // nothing before: its clients are ready once dialed).
        if plan.filters.iter().any(Option::is_some) {
            while greeted.load(Ordering::Relaxed) < plan.filters.len() as u64 {
                first_frame.notified().await;
            }
        }
        stdout.write_all(b"ready\n").await.expect("stdout");
        stdout.flush().await.expect("stdout");
        let cpu_ready = cpu_secs();
        let done: ClientsDone =
            serde_json::from_str(&stdin.next_line().await.expect("stdin").expect("done"))
                .expect("done");
        stop.store(true, Ordering::Relaxed);
        let cpu_s = cpu_secs() - cpu_ready;
        let bytes = std::fs::read(&done.acks).expect("acks");
        let mut at = std::collections::HashMap::new();
        for c in bytes.chunks_exact(24) {
            let v = |i: usize| u64::from_le_bytes(c[i..i + 8].try_into().expect("8 bytes"));
            at.insert(v(0), (v(8), v(16)));
        }
        let mut stats = Stats::new();
        // Diagnosis: `event seq, acknowledged, arrived (µs since the epoch), client` of every
        // delivery to the first 20 clients, one line each.
        let mut dump = std::env::var_os("MIRANTE_BENCH_DUMP")
            .map(|p| std::io::BufWriter::new(std::fs::File::create(p).expect("dump file")));
        for r in received.lock().expect("lock").iter() {
            for e in (r.from_seq + 1).max(done.start_seq + 1)..=r.seq {
                let Some(&(acked, session)) = at.get(&e) else {
                    continue;
                };
                if plan.filtered && !r.rows.contains(&session) {
                    continue;
                }
                if let Some(d) = dump.as_mut().filter(|_| r.client < 20) {
                    use std::io::Write as _;
                    let _ = writeln!(d, "{e} {} {} {}", acked / 1000, r.at / 1000, r.client);
                }
                stats.record(r.at.saturating_sub(acked));
            }
        }
        if let Some(mut d) = dump {
            use std::io::Write as _;
            d.flush().expect("dump file");
        }
        let result = ClientsResult {
            cpu_s,
            deliveries: stats.deliveries,
            p50_ms: stats.quantile(0.50),
            p99_ms: stats.quantile(0.99),
        };
        let line = serde_json::to_string(&result).expect("json") + "\n";
        stdout.write_all(line.as_bytes()).await.expect("stdout");
        stdout.flush().await.expect("stdout");
        std::process::exit(0);
    });
}

/// Whether to pin (server on core 0, clients on core 1). Decided once, at the first call (in
/// `main`, before anything is pinned): `available_parallelism` follows the process's
/// affinity, so asked again once the process is on core 0 it says 1, and the clients and the
/// load generator would silently stay on core 0 with the server.
fn pinned() -> bool {
    static PINNED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PINNED.get_or_init(|| {
        std::env::var("MIRANTE_BENCH_PIN").as_deref() != Ok("0")
            && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
    })
}

/// Runs the load generator `load` on a thread of its own (its own single-threaded runtime),
/// pinned to core 1 beside the clients when the bench pins: the server and the load generator
/// on different cores (PERFORMANCE.md), so that the pacing of the commands and the times of
/// their acknowledgements never wait behind the server's writes on core 0.
async fn on_load_thread<T, F>(load: impl FnOnce() -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: Future<Output = T>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench-load".into())
        .spawn(move || {
            if pinned() {
                // This thread only (`/proc/thread-self` is `<pid>/task/<tid>`).
                let tid = std::fs::read_link("/proc/thread-self").expect("thread-self");
                let tid = tid.file_name().expect("tid").to_owned();
                let ok = std::process::Command::new("taskset")
                    .args(["-p", "-c", "1"])
                    .arg(tid)
                    .stdout(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok, "taskset failed (MIRANTE_BENCH_PIN=0 to run unpinned)");
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let _ = tx.send(runtime.block_on(load()));
        })
        .expect("the load thread");
    rx.await.expect("the load's result")
}

/// The clients process, running `plan`; returns once every client has dialed.
struct Clients {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Clients {
    async fn start(plan: &ClientsPlan) -> Clients {
        let exe = std::env::current_exe().expect("exe");
        let mut cmd = if pinned() {
            let mut c = tokio::process::Command::new("taskset");
            c.args(["-c", "1"]).arg(exe);
            c
        } else {
            tokio::process::Command::new(exe)
        };
        let mut child = cmd
            .arg("--clients")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("clients process");
        let mut stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = serde_json::to_string(plan).expect("json") + "\n";
        stdin.write_all(line.as_bytes()).await.expect("plan");
        stdin.flush().await.expect("plan");
        let ready = stdout.next_line().await.expect("ready").expect("ready");
        assert_eq!(ready, "ready");
        Clients {
            child,
            stdin,
            stdout,
        }
    }

    /// Hands over the acknowledgements and reads the clients' figures.
    async fn finish(mut self, acks: &Acks, start_seq: u64, tag: &str) -> ClientsResult {
        let path = out_dir().join(format!("fanout-acks-{tag}.bin"));
        std::fs::write(&path, acks.to_bytes(start_seq)).expect("acks");
        let done = ClientsDone {
            acks: path.display().to_string(),
            start_seq,
        };
        let line = serde_json::to_string(&done).expect("json") + "\n";
        self.stdin.write_all(line.as_bytes()).await.expect("done");
        self.stdin.flush().await.expect("done");
        let result = self
            .stdout
            .next_line()
            .await
            .expect("result")
            .expect("result");
        let _ = self.child.wait().await;
        let _ = std::fs::remove_file(&path);
        serde_json::from_str(&result).expect("result")
    }
}

fn out_dir() -> std::path::PathBuf {
    let out = std::env::var_os("MIRANTE_BENCH_OUT").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench-out"),
        std::path::PathBuf::from,
    );
    let _ = std::fs::create_dir_all(&out);
    out
}

#[derive(Clone, Copy)]
struct Figures {
    deliveries_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Cores used on average during the run by the server process (server, engine, monitor
    /// and load) and by the clients process.
    server_cores: f64,
    client_cores: f64,
    /// Events offered per second (the engine's acknowledged load).
    events_per_s: f64,
    /// Answers that disagreed with the recording (0: the recorded log was replayed).
    mismatches: u64,
}

async fn run_monitor(
    load: &Arc<Recorded>,
    subs: usize,
    rate: u64,
    secs: u64,
    filtered: bool,
    frame_ms: u64,
) -> Figures {
    let w = world(load).await;
    let start_seq = w.engine.durable_seq();
    assert_eq!(
        start_seq, load.warm_up_events,
        "the warm-up replayed the recorded log"
    );
    let acks = Arc::new(Acks::new(
        load.sessions.len() + 1,
        Arc::clone(&load.sessions),
    ));
    let plan = ClientsPlan {
        url: format!("ws://{}/api/v1/monitor/live", w.addr),
        cookie: Some(w.cookie.clone()),
        filters: (0..subs)
            .map(|k| {
                Some(if filtered {
                    json!({"agents": [load.online[k % load.online.len()]]})
                } else {
                    json!({})
                })
            })
            .collect(),
        filtered,
        frame_ms: Some(frame_ms),
    };
    let clients = Clients::start(&plan).await;
    let t = Instant::now();
    let cpu = cpu_secs();
    let paced = {
        let (engine, clock, load, acks) = (
            w.engine.clone(),
            w.clock.clone(),
            Arc::clone(load),
            Arc::clone(&acks),
        );
        on_load_thread(move || async move {
            replay_paced(&engine, &clock, &load.measured, &acks, rate, secs).await
        })
        .await
    };
    assert!(
        !paced.exhausted,
        "the recorded load ran out: raise the recording"
    );
    // Let the last frames arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server_cores = (cpu_secs() - cpu) / t.elapsed().as_secs_f64();
    let elapsed = t.elapsed().as_secs_f64() - 0.5;
    let tag = if filtered { "p2" } else { "p1" };
    let r = clients.finish(&acks, start_seq, tag).await;
    Figures {
        deliveries_per_s: r.deliveries as f64 / elapsed,
        p50_ms: r.p50_ms,
        p99_ms: r.p99_ms,
        server_cores,
        client_cores: r.cpu_s / (elapsed + 0.5),
        events_per_s: paced.events as f64 / paced.seconds,
        mismatches: paced.mismatches + w.warm_up_mismatches,
    }
}

/// The bare server: every event is one pre-serialized frame on a broadcast; each socket
/// drains what is pending and flushes once.
async fn bare_ws(
    State(tx): State<broadcast::Sender<Utf8Bytes>>,
    ws: WebSocketUpgrade,
) -> axum::response::Response {
    ws.on_upgrade(move |socket: WebSocket| async move {
        let mut rx = tx.subscribe();
        let (mut sink, _stream) = socket.split();
        loop {
            let first = match rx.recv().await {
                Ok(f) => f,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            };
            if sink.feed(Message::Text(first)).await.is_err() {
                return;
            }
            while let Ok(f) = rx.try_recv() {
                if sink.feed(Message::Text(f)).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    })
}

async fn run_bare(subs: usize, rate: u64, secs: u64) -> Figures {
    let (tx, _) = broadcast::channel::<Utf8Bytes>(65_536);
    let router = Router::new()
        .route("/ws", get(bare_ws))
        .with_state(tx.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(nodelay(listener), router).await });
    let acks = Arc::new(Acks::new(
        (rate * secs * 2 + 10_000) as usize,
        Arc::new(Vec::new()),
    ));
    let plan = ClientsPlan {
        url: format!("ws://{addr}/ws"),
        cookie: None,
        filters: vec![None; subs],
        filtered: false,
        frame_ms: None,
    };
    let clients = Clients::start(&plan).await;
    let t = Instant::now();
    let cpu = cpu_secs();
    let seq = {
        let (tx, acks) = (tx.clone(), Arc::clone(&acks));
        on_load_thread(move || async move {
            let per_ms = (rate / 1000).max(1);
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            let end = Instant::now() + Duration::from_secs(secs);
            let mut seq = 0u64;
            let row = "x".repeat(400);
            while Instant::now() < end {
                tick.tick().await;
                for _ in 0..per_ms {
                    seq += 1;
                    acks.ack(seq, wall());
                    // The head in `DeltaFrame`'s order (type, seq, from_seq), ~450 bytes.
                    let frame = format!(
                        r#"{{"type":"delta","seq":{seq},"from_seq":{},"rows":[{{"id":{},"pad":"{row}"}}]}}"#,
                        seq - 1,
                        seq % 400
                    );
                    let _ = tx.send(Utf8Bytes::from(frame));
                }
            }
            seq
        })
        .await
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server_cores = (cpu_secs() - cpu) / t.elapsed().as_secs_f64();
    let elapsed = t.elapsed().as_secs_f64() - 0.5;
    let r = clients.finish(&acks, 0, "bare").await;
    Figures {
        deliveries_per_s: r.deliveries as f64 / elapsed,
        p50_ms: r.p50_ms,
        p99_ms: r.p99_ms,
        server_cores,
        client_cores: r.cpu_s / (elapsed + 0.5),
        events_per_s: seq as f64 / secs as f64,
        mismatches: 0,
    }
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--clients") {
        return clients_main();
    }
    let secs: u64 = env("MIRANTE_BENCH_SECS", 5);
    let subs: usize = env("MIRANTE_BENCH_SUBS", 1000);
    let frame_ms: Vec<u64> = std::env::var("MIRANTE_BENCH_FRAME_MS")
        .unwrap_or_else(|_| "100,20,10".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let scale: usize = env("MIRANTE_BENCH_SCALE", 20);
    let seed: u64 = env("MIRANTE_BENCH_SEED", 7);
    let warm_up_min: i64 = env("MIRANTE_BENCH_WARMUP_MIN", 10);
    // Profiling aid: P1 only.
    let only_p1 = std::env::var("MIRANTE_BENCH_ONLY").as_deref() == Ok("p1");
    // P2's 5 000 events/s for `secs`, with room for pacing.
    let load = Arc::new(record(scale, seed, warm_up_min, 5_000 * (secs + 2)));
    println!(
        "load: demo scenario ×{scale}, seed {seed}: {warm_up_min} simulated minutes of warm-up \
         ({} events, {} agents online), then {} events ({} windows of {QUANTUM_MS} ms); recorded in {:.1} s",
        load.warm_up_events,
        load.online.len(),
        load.measured_events,
        load.measured.len(),
        load.seconds_to_record
    );
    let pin = pinned();
    if pin {
        // Server, engine and monitor on core 0 (threads inherit it); the load generator's
        // thread and the clients on core 1.
        let ok = std::process::Command::new("taskset")
            .args(["-a", "-p", "-c", "0", &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "taskset failed (MIRANTE_BENCH_PIN=0 to run unpinned)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(if pin { 1 } else { 2 })
        .enable_all()
        .build()
        .expect("runtime");
    let (bare, runs) = runtime.block_on(async {
        let bare = run_bare(subs, 1000, secs).await;
        let mut runs = Vec::new();
        for &ms in &frame_ms {
            let p1 = run_monitor(&load, subs, 1000, secs, false, ms).await;
            let p2 = if only_p1 {
                None
            } else {
                Some(run_monitor(&load, subs / 2, 5000, secs, true, ms).await)
            };
            runs.push((ms, p1, p2));
        }
        (bare, runs)
    });
    let placement = if pin {
        "server on core 0, load generator and clients on core 1 (taskset)"
    } else {
        "unpinned"
    };
    println!("{placement}, {secs} s per run");
    println!(
        "| benchmark | frame_ms asked | events/s in | deliveries/s | p50 (ms) | p99 (ms) | server cores | client cores | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    println!(
        "| bare broadcast WS, {subs} sockets × 1 000 frames/s | – | {:.0} | {:.0} | {:.1} | {:.1} | {:.2} | {:.2} | baseline |",
        bare.events_per_s,
        bare.deliveries_per_s,
        bare.p50_ms,
        bare.p99_ms,
        bare.server_cores,
        bare.client_cores
    );
    let mut report = Vec::new();
    for (ms, p1, p2) in &runs {
        let ratio = p1.deliveries_per_s / bare.deliveries_per_s;
        println!(
            "| P1 monitor stream, {subs} subscribers × 1 000 events/s | {ms} ms | {:.0} | {:.0} ({ratio:.2}× bare) | {:.1} | {:.1} | {:.2} | {:.2} | ≥ 1 M/s, p99 ≤ 50 ms, ≥ 0.7× bare |",
            p1.events_per_s,
            p1.deliveries_per_s,
            p1.p50_ms,
            p1.p99_ms,
            p1.server_cores,
            p1.client_cores
        );
        if let Some(p2) = p2 {
            println!(
                "| P2 {} filtered subscribers, 5 000 events/s (matching rows) | {ms} ms | {:.0} | {:.0} | {:.1} | {:.1} | {:.2} | {:.2} | p99 ≤ 100 ms |",
                subs / 2,
                p2.events_per_s,
                p2.deliveries_per_s,
                p2.p50_ms,
                p2.p99_ms,
                p2.server_cores,
                p2.client_cores
            );
        }
        report.push(json!({
            "frame_ms": ms,
            "p1": {"deliveries_per_s": p1.deliveries_per_s, "p50_ms": p1.p50_ms, "p99_ms": p1.p99_ms, "ratio_to_bare": ratio, "server_cores": p1.server_cores, "client_cores": p1.client_cores},
            "p2": p2.map(|p2| json!({"deliveries_per_s": p2.deliveries_per_s, "p50_ms": p2.p50_ms, "p99_ms": p2.p99_ms, "server_cores": p2.server_cores, "client_cores": p2.client_cores})),
        }));
    }
    let mismatches: u64 = runs
        .iter()
        .map(|(_, p1, p2)| p1.mismatches + p2.map_or(0, |p2| p2.mismatches))
        .sum();
    println!("answers that disagreed with the recording: {mismatches}");
    let report = json!({
        "bare": {"deliveries_per_s": bare.deliveries_per_s, "p50_ms": bare.p50_ms, "p99_ms": bare.p99_ms, "server_cores": bare.server_cores, "client_cores": bare.client_cores},
        "runs": report,
        "subscribers": subs, "seconds": secs, "pinned": pin, "mismatches": mismatches,
        "load": {"scenario": "demo", "scale": load.scale, "seed": load.seed,
                 "warm_up_minutes": load.warm_up_min, "warm_up_events": load.warm_up_events,
                 "agents_online": load.online.len()},
    });
    let _ = std::fs::write(out_dir().join("fanout.json"), report.to_string());
}
