//! The stream hub's per-connection rate limit on a real socket: under continuous load a
//! connection gets at most one delta per `frame_interval` (merging everything since), while a
//! subscription whose view changes rarely is not held to a busy one's schedule — its change
//! goes out at the hub's next tick. No sleeps: every wait is for a frame, with a timeout.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Center, TestApp, customer_message, ok};
use futures_util::{SinkExt, StreamExt};
use mirante_core::{AgentId, EventKind, SessionId};
use mirante_server::engine::Executed;
use mirante_server::monitor::LiveConfig;
use mirante_store::accounts::AccountKind;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

fn live(frame: Duration, tick: Duration) {
    common::LIVE_CONFIG.with(|c| {
        *c.borrow_mut() = LiveConfig {
            frame_interval: frame,
            tick_interval: Some(tick),
            counters_interval: Duration::from_millis(20),
            ..LiveConfig::default()
        };
    });
}

async fn setup(agents: usize) -> (TestApp, SocketAddr, String, Center) {
    TestApp::monitored(agents).await
}

async fn subscribe(addr: SocketAddr, cookie: &str, filter: Value) -> (Ws, Value) {
    let mut request = format!("ws://{addr}/api/v1/monitor/live")
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "cookie",
        format!("mirante_session={cookie}").parse().unwrap(),
    );
    headers.insert("origin", format!("http://{addr}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let msg = json!({"type": "subscribe", "filter": filter}).to_string();
    ws.send(Message::Text(msg.into())).await.unwrap();
    let snapshot = next(&mut ws).await;
    assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
    (ws, snapshot)
}

/// The next frame, whatever its type.
async fn next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

fn has_row(v: &Value, session: SessionId) -> bool {
    v["type"] == "delta"
        && v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == session.0)
}

/// A new customer's session and the agent it went to.
async fn served(app: &TestApp, c: &Center, who: &str) -> (SessionId, AgentId) {
    let done = customer_message(&app.engine.handle, c, who, "oi").await;
    done.events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::SessionAssigned { session, agent, .. } => Some((*session, *agent)),
            _ => None,
        })
        .unwrap()
}

/// The id an event of `executed` names.
fn created<T>(executed: &Executed, pick: impl Fn(&EventKind) -> Option<T>) -> T {
    executed.events.iter().find_map(|e| pick(&e.kind)).unwrap()
}

#[tokio::test]
async fn a_sparse_subscription_is_not_held_to_a_busy_ones_frame_interval() {
    // One frame per hour per connection: a busy connection gets one delta for the whole
    // test, however many events; the hub itself ticks every 5 ms.
    live(Duration::from_secs(3600), Duration::from_millis(5));
    let (app, addr, cookie, c) = setup(1).await;
    let e = &app.engine.handle;
    // Team B with its own channel, nobody online: its sessions wait there. Its supervisor's
    // view (scope: team B) changes only when team B's sessions do.
    let team_b = ok(e, json!({"type": "create_team", "name": "Vendas"})).await;
    let team_b = created(&team_b, |k| match k {
        EventKind::TeamCreated { team } => Some(team.id),
        _ => None,
    });
    let flow = ok(
        e,
        json!({"type": "create_flow", "def": {"name": "v", "start": "r",
                            "steps": {"r": {"kind": "route", "team": team_b}}}}),
    )
    .await;
    let flow = created(&flow, |k| match k {
        EventKind::FlowCreated { flow } => Some(flow.id),
        _ => None,
    });
    let channel_b = ok(
        e,
        json!({"type": "create_channel", "kind": "webchat", "name": "Loja", "flow": flow}),
    )
    .await;
    let channel_b = created(&channel_b, |k| match k {
        EventKind::ChannelCreated { channel } => Some(channel.id),
        _ => None,
    });
    let group = app.group("Vendas", false, &["monitor.view"], Some(&[team_b]));
    let supervisor = app.account("sup@example.com", AccountKind::Admin { group });
    let sparse_cookie = app.session(supervisor).await;
    let (busy_session, _) = served(&app, &c, "5511900000001").await;
    app.state.monitor.wait_for(e.durable_seq()).await;
    let (mut busy, _) = subscribe(addr, &cookie, json!({})).await;
    let (mut sparse, _) = subscribe(addr, &sparse_cookie, json!({})).await;

    // The busy connection's first change goes out at once (its first delta).
    customer_message(e, &c, "5511900000001", "um").await;
    let first = next(&mut busy).await;
    assert!(has_row(&first, busy_session), "{first}");
    // Continuous load on team A's session: nothing for team B's supervisor.
    for i in 0..50 {
        customer_message(e, &c, "5511900000001", &format!("m{i}")).await;
    }
    // A customer arrives on team B: its supervisor gets the session at a tick of its own —
    // not held until the busy connection may have its next frame (an hour from now).
    let arrived = ok(
        e,
        json!({"type": "customer_message", "channel": channel_b,
                               "identifier": "552100000001", "text": "oi"}),
    )
    .await;
    let waiting = created(&arrived, |k| match k {
        EventKind::SessionStarted { session, .. } => Some(*session),
        _ => None,
    });
    let frame = next(&mut sparse).await;
    assert!(has_row(&frame, waiting), "{frame}");
    assert!(!has_row(&frame, busy_session), "out of its scope: {frame}");
    assert!(
        frame["seq"].as_u64().unwrap() > first["seq"].as_u64().unwrap() + 50,
        "a state the busy connection has not been sent: {frame} after {first}"
    );

    // The busy connection had exactly one delta over the 52 events: a ping's heartbeat is
    // the next thing on its socket.
    busy.send(Message::Text(json!({"type": "ping"}).to_string().into()))
        .await
        .unwrap();
    let after = next(&mut busy).await;
    assert_eq!(after["type"], "heartbeat", "rate limit broken: {after}");
    assert_eq!(after["seq"], first["seq"], "no frame since the first one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_continuous_load_a_connection_gets_at_most_one_delta_per_frame_interval() {
    const FRAME: Duration = Duration::from_millis(40);
    const DELTAS: usize = 8;
    // The hub ticks every 2 ms: without the per-connection limit, a connection under
    // continuous load would get a delta every tick.
    live(FRAME, Duration::from_millis(2));
    let (app, addr, cookie, c) = setup(1).await;
    let (session, _) = served(&app, &c, "5511900000001").await;
    app.state
        .monitor
        .wait_for(app.engine.handle.durable_seq())
        .await;
    let started = Instant::now();
    let (ws, snapshot) = subscribe(addr, &cookie, json!({})).await;
    let received: Arc<Mutex<Vec<(Instant, Value)>>> = Arc::default();
    let reader = {
        let received = Arc::clone(&received);
        tokio::spawn(async move {
            let mut ws = ws;
            while received.lock().unwrap().len() < DELTAS {
                let v = next(&mut ws).await;
                if v["type"] == "delta" {
                    received.lock().unwrap().push((Instant::now(), v));
                }
            }
        })
    };
    // Events back to back until the connection has had its deltas (bounded by events).
    let mut events = 0;
    while received.lock().unwrap().len() < DELTAS {
        assert!(events < 100_000, "the connection stopped getting deltas");
        customer_message(&app.engine.handle, &c, "5511900000001", "de novo").await;
        events += 1;
    }
    reader.await.unwrap();
    let received = received.lock().unwrap();
    assert!(events > DELTAS, "continuous load: {events} events");
    // Deltas chain on each other from the snapshot, each carrying the session's row.
    let mut seq = snapshot["seq"].as_u64().unwrap();
    for (_, d) in received.iter() {
        assert_eq!(d["from_seq"].as_u64().unwrap(), seq, "{d}");
        seq = d["seq"].as_u64().unwrap();
    }
    assert!(received.iter().skip(1).all(|(_, d)| has_row(d, session)));
    // The k-th delta (from 0) cannot have been sent before k frame intervals after the
    // subscription: a lower bound on when it arrived (a slow machine only makes it later).
    for (k, (at, d)) in received.iter().enumerate() {
        let earliest = FRAME * u32::try_from(k).unwrap();
        assert!(
            at.duration_since(started) >= earliest,
            "delta {k} after {:?} < {earliest:?}: {d}",
            at.duration_since(started)
        );
    }
}
