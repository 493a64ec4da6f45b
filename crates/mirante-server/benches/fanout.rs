//! P1 and P2: fan-out of the live stream over real WebSocket connections on loopback.
//!
//! * **P1** — `SUBS` (1 000) unfiltered subscribers while the engine accepts `RATE` (1 000)
//!   events/s (customers writing in open sessions): deliveries/s (one event reaching one
//!   subscriber, counted from each delta's `(from_seq, seq]`) and the p99 from the engine's
//!   acknowledgement to the frame on the subscriber's socket; against a **bare** broadcast
//!   WebSocket server measured in the same run (one pre-serialized frame per event, drained
//!   and flushed once per socket — the figure of `shared/PERFORMANCE.md`).
//! * **P2** — 500 subscribers each filtered to one agent, 5 000 events/s: p99 from the
//!   acknowledgement to the matching row on the socket.
//!
//! The WebSocket clients run in a **second process** (this binary re-executed with
//! `--clients`), pinned with `taskset -c 1`, while the server, the engine, the monitor and the
//! load generator are pinned to core 0 (`MIRANTE_BENCH_PIN=0` turns pinning off, and it is
//! off on a machine with fewer than 2 cores). The bare baseline runs the same way. Times are
//! the wall clock (`SystemTime`) of the one machine, read by both processes.
//!
//! Run: `cargo bench -p mirante-server --bench fanout` (env `MIRANTE_BENCH_SECS`, default 5;
//! `MIRANTE_BENCH_SUBS`, default 1 000; `MIRANTE_BENCH_FRAME_MS`, a comma-separated list of
//! frame intervals, default `100,40`). Prints a table and writes `bench-out/fanout.json`.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use mirante_core::{AgentId, ChannelId, Command, EventKind};
use mirante_server::auth::mail::LogMailer;
use mirante_server::auth::{AuthConfig, AuthState};
use mirante_server::engine::{Engine, EngineConfig, EngineHandle, SystemClock};
use mirante_server::http::{AppState, app};
use mirante_server::monitor::{LiveConfig, MonitorService, log_reader};
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

/// Per sequence number: when the engine acknowledged it, and its session.
struct Acks {
    at: Vec<AtomicU64>,
    session: Vec<AtomicU64>,
}

impl Acks {
    fn new(n: usize) -> Acks {
        Acks {
            at: (0..n).map(|_| AtomicU64::new(0)).collect(),
            session: (0..n).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// `(seq, at, session)` of every acknowledged event, little-endian, for the clients.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (seq, at) in self.at.iter().enumerate() {
            let at = at.load(Ordering::Relaxed);
            if at != 0 {
                let session = self.session[seq].load(Ordering::Relaxed);
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

/// What a client reads of a frame (the same work for the bare server and the monitor).
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

#[derive(Deserialize)]
struct RowId {
    id: u64,
}

struct World {
    addr: SocketAddr,
    cookie: String,
    engine: EngineHandle,
    channel: ChannelId,
    agents: Vec<AgentId>,
    customers: Vec<String>,
}

async fn world(sessions: usize, agents: usize, frame_ms: u64) -> World {
    let store = MemoryStore::new();
    let log = log_reader(store.clone());
    let engine = Engine::start(store, SystemClock, EngineConfig::default())
        .await
        .expect("engine");
    let e = engine.handle.clone();
    let exec = |c: serde_json::Value| {
        let e = e.clone();
        async move {
            e.execute(serde_json::from_value::<Command>(c).expect("command"))
                .await
                .expect("executed")
        }
    };
    let team = exec(json!({"type": "create_team", "name": "Suporte"})).await;
    let team = team
        .events
        .iter()
        .find_map(|x| match &x.kind {
            EventKind::TeamCreated { team } => Some(team.id),
            _ => None,
        })
        .expect("team");
    let flow = exec(json!({"type": "create_flow", "def": {"name": "d", "start": "r", "steps": {"r": {"kind": "route", "team": team}}}})).await;
    let flow = flow
        .events
        .iter()
        .find_map(|x| match &x.kind {
            EventKind::FlowCreated { flow } => Some(flow.id),
            _ => None,
        })
        .expect("flow");
    let ch =
        exec(json!({"type": "create_channel", "kind": "webchat", "name": "Chat", "flow": flow}))
            .await;
    let channel = ch
        .events
        .iter()
        .find_map(|x| match &x.kind {
            EventKind::ChannelCreated { channel } => Some(channel.id),
            _ => None,
        })
        .expect("channel");
    let mut ids = Vec::new();
    for i in 0..agents {
        let a = exec(json!({"type": "create_agent", "name": format!("Agente {i}"), "email": format!("a{i}@x.com"), "teams": [team], "capacity": 100})).await;
        let a = a
            .events
            .iter()
            .find_map(|x| match &x.kind {
                EventKind::AgentCreated { agent } => Some(agent.id),
                _ => None,
            })
            .expect("agent");
        exec(json!({"type": "agent_login", "agent": a})).await;
        ids.push(a);
    }
    let mut customers = Vec::new();
    for i in 0..sessions {
        let who = format!("55119{i:08}");
        exec(json!({"type": "customer_message", "channel": channel, "identifier": who, "text": "oi"})).await;
        customers.push(who);
    }
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
        Arc::new(SystemClock),
        LiveConfig {
            frame_interval: Duration::from_millis(frame_ms),
            max_per_user: 100_000,
            max_total: 100_000,
            ..LiveConfig::default()
        },
    )
    .await;
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
            listener,
            app(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    std::mem::forget(engine.task);
    World {
        addr,
        cookie,
        engine: engine.handle,
        channel,
        agents: ids,
        customers,
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
    tokio_tungstenite::connect_async(request)
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
        for filter in &plan.filters {
            let mut ws = dial(&plan.url, plan.cookie.as_deref()).await;
            if let Some(filter) = filter {
                ws.send(tokio_tungstenite::tungstenite::Message::Text(
                    json!({"type": "subscribe", "filter": filter})
                        .to_string()
                        .into(),
                ))
                .await
                .expect("subscribe");
            }
            let (stop, received, filtered) =
                (Arc::clone(&stop), Arc::clone(&received), plan.filtered);
            tokio::spawn(async move {
                while let Some(Ok(msg)) = ws.next().await {
                    let tokio_tungstenite::tungstenite::Message::Text(text) = msg else {
                        continue;
                    };
                    let at = wall();
                    let Ok(f) = serde_json::from_str::<Frame>(text.as_str()) else {
                        continue;
                    };
                    if f.kind != "delta" || stop.load(Ordering::Relaxed) {
                        continue;
                    }
                    let rows = if filtered {
                        f.rows.iter().map(|r| r.id).collect()
                    } else {
                        Vec::new()
                    };
                    received.lock().expect("lock").push(Received {
                        at,
                        from_seq: f.from_seq,
                        seq: f.seq,
                        rows,
                    });
                }
            });
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
        for r in received.lock().expect("lock").iter() {
            for e in (r.from_seq + 1).max(done.start_seq + 1)..=r.seq {
                let Some(&(acked, session)) = at.get(&e) else {
                    continue;
                };
                if plan.filtered && !r.rows.contains(&session) {
                    continue;
                }
                stats.record(r.at.saturating_sub(acked));
            }
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

/// Whether to pin (server on core 0, clients on core 1).
fn pinned() -> bool {
    std::env::var("MIRANTE_BENCH_PIN").as_deref() != Ok("0")
        && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
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
        std::fs::write(&path, acks.to_bytes()).expect("acks");
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

/// Customers write in their open sessions at `rate` events/s for `secs`.
async fn generate(w: &World, acks: &Arc<Acks>, rate: u64, secs: u64) {
    let per_ms = (rate / 1000).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let end = Instant::now() + Duration::from_secs(secs);
    let mut i = 0usize;
    while Instant::now() < end {
        tick.tick().await;
        for _ in 0..per_ms {
            let who = w.customers[i % w.customers.len()].clone();
            i += 1;
            let e = w.engine.clone();
            let acks = Arc::clone(acks);
            let channel = w.channel;
            tokio::spawn(async move {
                let done = e
                    .execute(Command::CustomerMessage {
                        channel,
                        identifier: who,
                        name: None,
                        text: "ainda aí?".into(),
                        attachments: Vec::new(),
                        external_id: None,
                    })
                    .await;
                if let Ok(done) = done {
                    let now = wall();
                    let mut seq = done.seq;
                    for ev in done.events.iter().rev() {
                        if let EventKind::MessagePosted { session, .. } = &ev.kind
                            && let Some(slot) = acks.at.get(seq as usize)
                        {
                            slot.store(now, Ordering::Relaxed);
                            acks.session[seq as usize].store(session.0, Ordering::Relaxed);
                        }
                        seq = seq.saturating_sub(1);
                    }
                }
            });
        }
    }
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
}

async fn run_monitor(subs: usize, rate: u64, secs: u64, filtered: bool, frame_ms: u64) -> Figures {
    let w = world(400, 40, frame_ms).await;
    let acks = Arc::new(Acks::new((rate * secs * 3 + 100_000) as usize));
    let start_seq = w.engine.durable_seq();
    let plan = ClientsPlan {
        url: format!("ws://{}/api/v1/monitor/live", w.addr),
        cookie: Some(w.cookie.clone()),
        filters: (0..subs)
            .map(|k| {
                Some(if filtered {
                    json!({"agents": [w.agents[k % w.agents.len()]]})
                } else {
                    json!({})
                })
            })
            .collect(),
        filtered,
    };
    let clients = Clients::start(&plan).await;
    let t = Instant::now();
    let cpu = cpu_secs();
    generate(&w, &acks, rate, secs).await;
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
    tokio::spawn(async move { axum::serve(listener, router).await });
    let acks = Arc::new(Acks::new((rate * secs * 3 + 100_000) as usize));
    let plan = ClientsPlan {
        url: format!("ws://{addr}/ws"),
        cookie: None,
        filters: vec![None; subs],
        filtered: false,
    };
    let clients = Clients::start(&plan).await;
    let per_ms = (rate / 1000).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let t = Instant::now();
    let cpu = cpu_secs();
    let end = t + Duration::from_secs(secs);
    let mut seq = 0u64;
    let row = "x".repeat(400);
    while Instant::now() < end {
        tick.tick().await;
        for _ in 0..per_ms {
            seq += 1;
            if let Some(slot) = acks.at.get(seq as usize) {
                slot.store(wall(), Ordering::Relaxed);
            }
            let frame = json!({"type": "delta", "from_seq": seq - 1, "seq": seq,
                               "rows": [{"id": seq % 400, "pad": row}]})
            .to_string();
            let _ = tx.send(Utf8Bytes::from(frame));
        }
    }
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
        .unwrap_or_else(|_| "100,40".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let pin = pinned();
    if pin {
        // Server, engine, monitor and load on core 0 (threads inherit it); clients on core 1.
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
            let p1 = run_monitor(subs, 1000, secs, false, ms).await;
            let p2 = run_monitor(subs / 2, 5000, secs, true, ms).await;
            runs.push((ms, p1, p2));
        }
        (bare, runs)
    });
    let placement = if pin {
        "server + load on core 0, clients on core 1 (taskset)"
    } else {
        "unpinned"
    };
    println!("{placement}, {secs} s per run");
    println!(
        "| benchmark | frame interval | deliveries/s | p50 (ms) | p99 (ms) | server cores | client cores | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    println!(
        "| bare broadcast WS, {subs} sockets × 1 000 frames/s | – | {:.0} | {:.1} | {:.1} | {:.2} | {:.2} | baseline |",
        bare.deliveries_per_s, bare.p50_ms, bare.p99_ms, bare.server_cores, bare.client_cores
    );
    let mut report = Vec::new();
    for (ms, p1, p2) in &runs {
        let ratio = p1.deliveries_per_s / bare.deliveries_per_s;
        println!(
            "| P1 monitor stream, {subs} subscribers × 1 000 events/s | {ms} ms | {:.0} ({ratio:.2}× bare) | {:.1} | {:.1} | {:.2} | {:.2} | ≥ 1 M/s, p99 ≤ 50 ms, ≥ 0.7× bare |",
            p1.deliveries_per_s, p1.p50_ms, p1.p99_ms, p1.server_cores, p1.client_cores
        );
        println!(
            "| P2 {} filtered subscribers, 5 000 events/s (matching rows) | {ms} ms | {:.0} | {:.1} | {:.1} | {:.2} | {:.2} | p99 ≤ 100 ms |",
            subs / 2,
            p2.deliveries_per_s,
            p2.p50_ms,
            p2.p99_ms,
            p2.server_cores,
            p2.client_cores
        );
        report.push(json!({
            "frame_ms": ms,
            "p1": {"deliveries_per_s": p1.deliveries_per_s, "p50_ms": p1.p50_ms, "p99_ms": p1.p99_ms, "ratio_to_bare": ratio, "server_cores": p1.server_cores, "client_cores": p1.client_cores},
            "p2": {"deliveries_per_s": p2.deliveries_per_s, "p50_ms": p2.p50_ms, "p99_ms": p2.p99_ms, "server_cores": p2.server_cores, "client_cores": p2.client_cores},
        }));
    }
    let report = json!({
        "bare": {"deliveries_per_s": bare.deliveries_per_s, "p50_ms": bare.p50_ms, "p99_ms": bare.p99_ms, "server_cores": bare.server_cores, "client_cores": bare.client_cores},
        "runs": report,
        "subscribers": subs, "seconds": secs, "pinned": pin,
    });
    let _ = std::fs::write(out_dir().join("fanout.json"), report.to_string());
}
