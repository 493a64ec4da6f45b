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
//! Run: `cargo bench -p mirante-server --bench fanout` (env `MIRANTE_BENCH_SECS`, default 5).
//! Prints a table and writes `bench-out/fanout.json`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use mirante_core::{AgentId, ChannelId, Command, EventKind, SessionId};
use mirante_server::auth::mail::LogMailer;
use mirante_server::auth::{AuthConfig, AuthState};
use mirante_server::engine::{Engine, EngineConfig, EngineHandle, SystemClock};
use mirante_server::http::{AppState, app};
use mirante_server::monitor::{LiveConfig, MonitorService, log_reader};
use mirante_store::accounts::{Account, AccountKind, AccountStore, MemoryAccounts};
use mirante_store::memory::MemoryStore;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Shared clock of the run: nanoseconds since `T0`.
struct Clock(Instant);

impl Clock {
    fn now(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
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
}

/// Latency histogram in 0.1 ms buckets, and deliveries.
#[derive(Default)]
struct Stats {
    buckets: Vec<AtomicU64>,
    deliveries: AtomicU64,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            buckets: (0..20_000).map(|_| AtomicU64::new(0)).collect(),
            deliveries: AtomicU64::new(0),
        }
    }
    fn record(&self, nanos: u64) {
        let b = ((nanos / 100_000) as usize).min(self.buckets.len() - 1);
        self.buckets[b].fetch_add(1, Ordering::Relaxed);
        self.deliveries.fetch_add(1, Ordering::Relaxed);
    }
    fn quantile(&self, q: f64) -> f64 {
        let total: u64 = self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum();
        let target = (total as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= target.max(1) {
                return (i as f64 + 1.0) / 10.0;
            }
        }
        f64::NAN
    }
}

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

async fn world(sessions: usize, agents: usize) -> World {
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
            frame_interval: Duration::from_millis(
                std::env::var("MIRANTE_BENCH_FRAME_MS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(100),
            ),
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

/// One subscriber: counts the deliveries of each frame and their latencies.
/// `filtered`: only the events of sessions present in the frame's rows count.
fn subscriber(
    mut ws: Ws,
    clock: Arc<Clock>,
    acks: Arc<Acks>,
    stats: Arc<Stats>,
    start_seq: u64,
    filtered: bool,
) {
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let tokio_tungstenite::tungstenite::Message::Text(text) = msg else {
                continue;
            };
            let now = clock.now();
            let Ok(f) = serde_json::from_str::<Frame>(text.as_str()) else {
                continue;
            };
            if f.kind != "delta" {
                continue;
            }
            let rows: Vec<u64> = f.rows.iter().map(|r| r.id).collect();
            for e in (f.from_seq + 1).max(start_seq + 1)..=f.seq {
                let Some(at) = acks.at.get(e as usize) else {
                    continue;
                };
                let at = at.load(Ordering::Relaxed);
                if at == 0 {
                    continue;
                }
                if filtered {
                    let s = acks.session[e as usize].load(Ordering::Relaxed);
                    if !rows.contains(&s) {
                        continue;
                    }
                }
                stats.record(now.saturating_sub(at));
            }
        }
    });
}

/// Customers write in their open sessions at `rate` events/s for `secs`.
async fn generate(w: &World, clock: &Arc<Clock>, acks: &Arc<Acks>, rate: u64, secs: u64) {
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
            let clock = Arc::clone(clock);
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
                    let now = clock.now();
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

struct Figures {
    deliveries_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn run_monitor(subs: usize, rate: u64, secs: u64, filtered: bool) -> Figures {
    let w = world(400, 40).await;
    let clock = Arc::new(Clock(Instant::now()));
    let acks = Arc::new(Acks::new((rate * secs * 3 + 100_000) as usize));
    let stats = Arc::new(Stats::new());
    let start_seq = w.engine.durable_seq();
    let url = format!("ws://{}/api/v1/monitor/live", w.addr);
    for k in 0..subs {
        let mut ws = dial(&url, Some(&w.cookie)).await;
        let filter = if filtered {
            json!({"agents": [w.agents[k % w.agents.len()]]})
        } else {
            json!({})
        };
        ws.send(tokio_tungstenite::tungstenite::Message::Text(
            json!({"type": "subscribe", "filter": filter})
                .to_string()
                .into(),
        ))
        .await
        .expect("subscribe");
        subscriber(
            ws,
            Arc::clone(&clock),
            Arc::clone(&acks),
            Arc::clone(&stats),
            start_seq,
            filtered,
        );
    }
    let t = Instant::now();
    generate(&w, &clock, &acks, rate, secs).await;
    // Let the last frames arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let elapsed = t.elapsed().as_secs_f64() - 0.5;
    Figures {
        deliveries_per_s: stats.deliveries.load(Ordering::Relaxed) as f64 / elapsed,
        p50_ms: stats.quantile(0.50),
        p99_ms: stats.quantile(0.99),
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
    let clock = Arc::new(Clock(Instant::now()));
    let acks = Arc::new(Acks::new((rate * secs * 3 + 100_000) as usize));
    let stats = Arc::new(Stats::new());
    for _ in 0..subs {
        let ws = dial(&format!("ws://{addr}/ws"), None).await;
        subscriber(
            ws,
            Arc::clone(&clock),
            Arc::clone(&acks),
            Arc::clone(&stats),
            0,
            false,
        );
    }
    let per_ms = (rate / 1000).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let t = Instant::now();
    let end = t + Duration::from_secs(secs);
    let mut seq = 0u64;
    let row = "x".repeat(400);
    while Instant::now() < end {
        tick.tick().await;
        for _ in 0..per_ms {
            seq += 1;
            if let Some(slot) = acks.at.get(seq as usize) {
                slot.store(clock.now(), Ordering::Relaxed);
            }
            let frame = json!({"type": "delta", "from_seq": seq - 1, "seq": seq,
                               "rows": [{"id": seq % 400, "pad": row}]})
            .to_string();
            let _ = tx.send(Utf8Bytes::from(frame));
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let elapsed = t.elapsed().as_secs_f64() - 0.5;
    Figures {
        deliveries_per_s: stats.deliveries.load(Ordering::Relaxed) as f64 / elapsed,
        p50_ms: stats.quantile(0.50),
        p99_ms: stats.quantile(0.99),
    }
}

fn main() {
    let secs: u64 = std::env::var("MIRANTE_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let subs: usize = std::env::var("MIRANTE_BENCH_SUBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (bare, p1, p2) = runtime.block_on(async {
        let bare = run_bare(subs, 1000, secs).await;
        let p1 = run_monitor(subs, 1000, secs, false).await;
        let p2 = run_monitor(subs / 2, 5000, secs, true).await;
        (bare, p1, p2)
    });
    let ratio = p1.deliveries_per_s / bare.deliveries_per_s;
    println!("| benchmark | deliveries/s | p50 (ms) | p99 (ms) | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| bare broadcast WS, {subs} sockets × 1 000 frames/s | {:.0} | {:.1} | {:.1} | baseline |",
        bare.deliveries_per_s, bare.p50_ms, bare.p99_ms
    );
    println!(
        "| P1 monitor stream, {subs} subscribers × 1 000 events/s | {:.0} | {:.1} | {:.1} | ≥ 1 M/s, p99 ≤ 50 ms, ≥ 0.7× bare (here {ratio:.2}×) |",
        p1.deliveries_per_s, p1.p50_ms, p1.p99_ms
    );
    println!(
        "| P2 {} filtered subscribers, 5 000 events/s (matching rows) | {:.0} | {:.1} | {:.1} | p99 ≤ 100 ms |",
        subs / 2,
        p2.deliveries_per_s,
        p2.p50_ms,
        p2.p99_ms
    );
    let report = json!({
        "bare": {"deliveries_per_s": bare.deliveries_per_s, "p50_ms": bare.p50_ms, "p99_ms": bare.p99_ms},
        "p1": {"deliveries_per_s": p1.deliveries_per_s, "p50_ms": p1.p50_ms, "p99_ms": p1.p99_ms, "ratio_to_bare": ratio},
        "p2": {"deliveries_per_s": p2.deliveries_per_s, "p50_ms": p2.p50_ms, "p99_ms": p2.p99_ms},
        "subscribers": subs, "seconds": secs,
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench-out");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("fanout.json"), report.to_string());
    let _ = SessionId(0);
}
