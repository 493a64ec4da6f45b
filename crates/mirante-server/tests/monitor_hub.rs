//! The stream hub's per-connection rate limit on a real socket: under continuous load a
//! connection gets at most one delta per `frame_interval` (merging everything since), while a
//! subscription whose view changes rarely is not held to a busy one's schedule — its change
//! goes out at the hub's next tick. A filtered or restricted connection is sent exactly what
//! its view lost or changed: its deltas name only rows and cards its client holds and re-send
//! a card only when it differs, through filter changes and resumes, and its copy of the view
//! converges to `GET /api/v1/monitor`. No sleeps: every wait is for a frame or for the
//! stream to be brought to a sequence, with a timeout.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Center, Cred, TestApp, customer_message, ok, req};
use futures_util::{SinkExt, StreamExt};
use mirante_core::{AgentId, ChannelId, EventKind, SessionId, TeamId};
use mirante_server::engine::Executed;
use mirante_server::monitor::LiveConfig;
use mirante_store::accounts::AccountKind;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use common::Ws;

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
    subscribe_from(addr, cookie, filter, None).await
}

/// Opens a stream and subscribes (resuming from `resume_from`); its first frame.
async fn subscribe_from(
    addr: SocketAddr,
    cookie: &str,
    filter: Value,
    resume_from: Option<u64>,
) -> (Ws, Value) {
    let mut ws = connect(addr, cookie, None).await;
    let msg = json!({"type": "subscribe", "filter": filter, "resume_from": resume_from});
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .unwrap();
    let first = next(&mut ws).await;
    let expected = if resume_from.is_some() {
        "delta"
    } else {
        "snapshot"
    };
    assert_eq!(first["type"], expected, "{first}");
    (ws, first)
}

/// One agent, one customer served by it, the monitor caught up: the app and that session.
async fn setup_served() -> (TestApp, SocketAddr, String, Center, SessionId) {
    let (app, addr, cookie, c) = setup(1).await;
    let (session, _) = served(&app, &c, "5511900000001").await;
    app.state
        .monitor
        .wait_for(app.engine.handle.durable_seq())
        .await;
    (app, addr, cookie, c, session)
}

/// Opens a stream with a session cookie (and `Accept-Language: lang`).
async fn connect(addr: SocketAddr, cookie: &str, lang: Option<&str>) -> Ws {
    let mut request = format!("ws://{addr}/api/v1/monitor/live")
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "cookie",
        format!("mirante_session={cookie}").parse().unwrap(),
    );
    headers.insert("origin", format!("http://{addr}").parse().unwrap());
    if let Some(lang) = lang {
        headers.insert("accept-language", lang.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// The next frame, heartbeats included.
async fn next(ws: &mut Ws) -> Value {
    common::next_frame(ws).await
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

/// Customer messages on `who`'s session back to back until `ws` has had `n` deltas
/// (bounded by events); the deltas with their arrival times, the events sent, and `ws`.
async fn deltas_under_load(
    app: &TestApp,
    c: &Center,
    who: &str,
    ws: Ws,
    n: usize,
) -> (Vec<(Instant, Value)>, usize, Ws) {
    let received: Arc<Mutex<Vec<(Instant, Value)>>> = Arc::default();
    let reader = {
        let received = Arc::clone(&received);
        tokio::spawn(async move {
            let mut ws = ws;
            while received.lock().unwrap().len() < n {
                let v = next(&mut ws).await;
                if v["type"] == "delta" {
                    received.lock().unwrap().push((Instant::now(), v));
                }
            }
            ws
        })
    };
    let mut events = 0;
    while received.lock().unwrap().len() < n {
        assert!(events < 100_000, "the connection stopped getting deltas");
        customer_message(&app.engine.handle, c, who, "de novo").await;
        events += 1;
    }
    let ws = reader.await.unwrap();
    let received = received.lock().unwrap().clone();
    (received, events, ws)
}

/// Checks that `deltas` chain on each other from `snapshot`, each after the first carrying
/// `session`'s row, and that the k-th (from 0) arrived no sooner than k × `frame` after
/// `started` (a lower bound: a slow machine only makes it later).
fn chained_and_spaced(
    snapshot: &Value,
    deltas: &[(Instant, Value)],
    session: SessionId,
    started: Instant,
    frame: Duration,
) {
    let mut seq = snapshot["seq"].as_u64().unwrap();
    for (k, (at, d)) in deltas.iter().enumerate() {
        assert_eq!(d["from_seq"].as_u64().unwrap(), seq, "{d}");
        seq = d["seq"].as_u64().unwrap();
        let earliest = frame * u32::try_from(k).unwrap();
        assert!(
            at.duration_since(started) >= earliest,
            "delta {k} after {:?} < {earliest:?}: {d}",
            at.duration_since(started)
        );
    }
    assert!(deltas.iter().skip(1).all(|(_, d)| has_row(d, session)));
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
    let (team_b, channel_b) = team_with_channel(e).await;
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
    let (app, addr, cookie, c, session) = setup_served().await;
    let started = Instant::now();
    let (ws, snapshot) = subscribe(addr, &cookie, json!({})).await;
    let (received, events, _) = deltas_under_load(&app, &c, "5511900000001", ws, DELTAS).await;
    assert!(events > DELTAS, "continuous load: {events} events");
    chained_and_spaced(&snapshot, &received, session, started, FRAME);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_may_ask_for_its_own_frame_interval_within_the_servers_range() {
    const FAST: u64 = 40;
    const DELTAS: usize = 4;
    // The server's default: one frame per hour; a client may ask for 40 ms … 1 hour.
    common::LIVE_CONFIG.with(|c| {
        *c.borrow_mut() = LiveConfig {
            frame_interval: Duration::from_secs(3600),
            min_frame_interval: Duration::from_millis(FAST),
            tick_interval: Some(Duration::from_millis(2)),
            counters_interval: Duration::from_millis(20),
            ..LiveConfig::default()
        };
    });
    let (app, addr, cookie, c, session) = setup_served().await;

    // Below the range, in English: an error, and nothing subscribed (a ping's heartbeat at
    // sequence 0 is the next frame); a valid request afterwards subscribes.
    let mut fast = connect(addr, &cookie, Some("en-US")).await;
    for bad in [json!(FAST - 1), json!(0), json!(3_600_001)] {
        let msg = json!({"type": "subscribe", "filter": {}, "frame_ms": bad});
        fast.send(Message::Text(msg.to_string().into()))
            .await
            .unwrap();
        let error = next(&mut fast).await;
        assert_eq!(error["type"], "error", "{bad}: {error}");
        assert_eq!(error["code"], "invalid_request", "{error}");
        let text = error["message"].as_str().unwrap();
        assert!(
            text.starts_with("Invalid request") && text.contains("from 40 to 3600000 ms"),
            "{text}"
        );
    }
    // Any refused message says why in the connection's language, as the REST answer would.
    for (msg, code, text) in [
        (
            json!({"type": "follow", "session": 999_999}),
            "not_found",
            "Resource not found.",
        ),
        (
            json!({"type": "nonsense"}),
            "invalid_request",
            "Invalid request: ",
        ),
    ] {
        fast.send(Message::Text(msg.to_string().into()))
            .await
            .unwrap();
        let error = next(&mut fast).await;
        assert_eq!(
            (error["type"].as_str(), error["code"].as_str()),
            (Some("error"), Some(code))
        );
        assert!(
            error["message"].as_str().unwrap().starts_with(text),
            "{error}"
        );
    }
    fast.send(Message::Text(json!({"type": "ping"}).to_string().into()))
        .await
        .unwrap();
    let beat = next(&mut fast).await;
    assert_eq!(
        (beat["type"].as_str(), beat["seq"].as_u64()),
        (Some("heartbeat"), Some(0))
    );
    let msg = json!({"type": "subscribe", "filter": {}, "frame_ms": FAST});
    fast.send(Message::Text(msg.to_string().into()))
        .await
        .unwrap();
    let snapshot = next(&mut fast).await;
    assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
    let subscribed = Instant::now();
    // A connection at the server's default, in the same subscription.
    let (mut slow, slow_snapshot) = subscribe(addr, &cookie, json!({})).await;

    // Under continuous load the fast connection gets delta after delta, each chained on
    // the previous one and never sooner than its 40 ms allow.
    let (received, mut events, mut fast) =
        deltas_under_load(&app, &c, "5511900000001", fast, DELTAS).await;
    chained_and_spaced(
        &snapshot,
        &received,
        session,
        subscribed,
        Duration::from_millis(FAST),
    );

    // The default connection: its first delta, then nothing for the hour (a ping's
    // heartbeat is the next frame).
    let first = next(&mut slow).await;
    assert_eq!(first["type"], "delta", "{first}");
    assert_eq!(first["from_seq"], slow_snapshot["seq"], "{first}");
    slow.send(Message::Text(json!({"type": "ping"}).to_string().into()))
        .await
        .unwrap();
    let after = next(&mut slow).await;
    assert_eq!(after["type"], "heartbeat", "rate limit broken: {after}");
    assert_eq!(after["seq"], first["seq"], "{after}");

    // A filter change keeps the connection's rate (no `frame_ms`: unchanged): after its
    // snapshot it still takes deltas under load.
    let msg = json!({"type": "subscribe", "filter": {"agents": [c.agents[0]]}});
    fast.send(Message::Text(msg.to_string().into()))
        .await
        .unwrap();
    let mut resubscribed = None;
    let mut more = 0;
    while more < 2 {
        assert!(events < 200_000, "no deltas after the filter change");
        customer_message(&app.engine.handle, &c, "5511900000001", "mais").await;
        events += 1;
        while let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_millis(1), fast.next()).await
        {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            match v["type"].as_str() {
                Some("snapshot") => resubscribed = Some(v),
                Some("delta") if resubscribed.is_some() => more += 1,
                _ => {}
            }
        }
    }

    // The SSE fallback takes `frame_ms` as a query parameter, with the same range.
    for (query, status) in [
        ("frame_ms=39", 400),
        ("frame_ms=soon", 400),
        ("frame_ms=40", 200),
    ] {
        let response = reqwest::Client::new()
            .get(format!("http://{addr}/api/v1/monitor/events?{query}"))
            .header("cookie", format!("mirante_session={cookie}"))
            .header("accept-language", "en")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{query}");
        if status == 400 {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], "invalid_request", "{body}");
            assert!(
                body["message"].as_str().unwrap().contains("frame_ms"),
                "{body}"
            );
        }
    }
}

/// A team "Vendas" with its own webchat channel "Loja", whose flow routes straight to it.
async fn team_with_channel(e: &mirante_server::engine::EngineHandle) -> (TeamId, ChannelId) {
    let team = ok(e, json!({"type": "create_team", "name": "Vendas"})).await;
    let team = created(&team, |k| match k {
        EventKind::TeamCreated { team } => Some(team.id),
        _ => None,
    });
    let flow = ok(
        e,
        json!({"type": "create_flow", "def": {"name": "v", "start": "r",
                            "steps": {"r": {"kind": "route", "team": team}}}}),
    )
    .await;
    let flow = created(&flow, |k| match k {
        EventKind::FlowCreated { flow } => Some(flow.id),
        _ => None,
    });
    let channel = ok(
        e,
        json!({"type": "create_channel", "kind": "webchat", "name": "Loja", "flow": flow}),
    )
    .await;
    let channel = created(&channel, |k| match k {
        EventKind::ChannelCreated { channel } => Some(channel.id),
        _ => None,
    });
    (team, channel)
}

/// A second team with its own channel (routing straight to it) and one agent logged in.
async fn second_team(e: &mirante_server::engine::EngineHandle) -> (TeamId, ChannelId, AgentId) {
    let (team, channel) = team_with_channel(e).await;
    let agent = ok(
        e,
        json!({"type": "create_agent", "name": "Vendedor", "email": "vendedor@example.com",
               "teams": [team]}),
    )
    .await;
    let agent = created(&agent, |k| match k {
        EventKind::AgentCreated { agent } => Some(agent.id),
        _ => None,
    });
    ok(e, json!({"type": "agent_login", "agent": agent})).await;
    (team, channel, agent)
}

/// A customer writes on `channel`; its session.
async fn writes(
    e: &mirante_server::engine::EngineHandle,
    channel: ChannelId,
    who: &str,
) -> SessionId {
    let done = ok(
        e,
        json!({"type": "customer_message", "channel": channel, "identifier": who, "text": "oi"}),
    )
    .await;
    created(&done, |k| match k {
        EventKind::SessionStarted { session, .. } => Some(*session),
        _ => None,
    })
}

/// Traffic on both teams: arrivals, answers, finishes (some sessions wait: team B has one
/// agent).
async fn round(
    e: &mirante_server::engine::EngineHandle,
    c: &Center,
    channel_b: ChannelId,
    agent_b: AgentId,
    i: usize,
) {
    common::traffic(e, c, 4 + i).await;
    for k in 0..3 {
        let s = writes(e, channel_b, &format!("55210000{i}{k}")).await;
        if k == 0 {
            ok(
                e,
                json!({"type": "finish", "session": s, "by": {"agent": agent_b}}),
            )
            .await;
        }
    }
}

/// A card as compared: without what only the clock moves.
fn timeless(card: &Value) -> Value {
    let mut c = card.clone();
    if let Some(o) = c.as_object_mut() {
        o.remove("in_status_ms");
    }
    c
}

fn by_id(list: &Value) -> BTreeMap<u64, Value> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_u64().unwrap(), v.clone()))
        .collect()
}

fn ids(list: &Value) -> Vec<u64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

/// A client's copy of its view, built from the frames as the web client builds it; on the
/// way it checks that every delta is minimal: it removes only what the copy holds and
/// re-sends a card only when it differs from the copy's.
#[derive(Debug, Default)]
struct Copy {
    seq: u64,
    rows: BTreeMap<u64, Value>,
    agents: BTreeMap<u64, Value>,
    teams: BTreeMap<u64, Value>,
    deltas: usize,
}

impl Copy {
    fn rows_of(&mut self, phases: &Value) {
        for list in ["bot", "waiting", "human"] {
            self.rows.extend(by_id(&phases[list]));
        }
    }

    /// Applies a frame; `exact`: a delta must be minimal (a resuming delta is not: the
    /// server does not know what the client held).
    fn apply(&mut self, v: &Value, exact: bool) {
        match v["type"].as_str().unwrap() {
            "snapshot" => {
                self.rows.clear();
                self.rows_of(&v["phases"]);
                self.agents = by_id(&v["agents"]);
                self.teams = by_id(&v["teams"]);
                self.seq = v["seq"].as_u64().unwrap();
            }
            "snapshot_part" => {
                self.rows_of(&v["phases"]);
                self.agents.extend(by_id(&v["agents"]));
            }
            "delta" => {
                self.deltas += 1;
                assert!(v["from_seq"].as_u64().unwrap() == self.seq || !exact, "{v}");
                for id in ids(&v["removed"]) {
                    let held = self.rows.remove(&id).is_some();
                    assert!(held || !exact, "removed {id}, never held: {v}");
                }
                self.rows.extend(by_id(&v["rows"]));
                for id in ids(&v["agents_removed"]) {
                    let held = self.agents.remove(&id).is_some();
                    assert!(held || !exact, "agent {id} removed, never held: {v}");
                }
                for (id, card) in by_id(&v["agents"]) {
                    let old = self.agents.insert(id, card.clone());
                    assert!(
                        !exact || old.as_ref().map(timeless) != Some(timeless(&card)),
                        "agent card {id} re-sent unchanged: {v}"
                    );
                }
                for id in ids(&v["teams_removed"]) {
                    let held = self.teams.remove(&id).is_some();
                    assert!(held || !exact, "team {id} removed, never held: {v}");
                }
                for (id, card) in by_id(&v["teams"]) {
                    let old = self.teams.insert(id, card.clone());
                    assert!(
                        !exact || old.as_ref() != Some(&card),
                        "team card {id} re-sent unchanged: {v}"
                    );
                }
                self.seq = v["seq"].as_u64().unwrap();
            }
            _ => {}
        }
    }

    /// Reads frames up to a ping's heartbeat (call once the stream is brought to the model's
    /// sequence: every frame up to there is before the heartbeat), applying them.
    async fn settle(&mut self, ws: &mut Ws) -> Vec<Value> {
        ws.send(Message::Text(json!({"type": "ping"}).to_string().into()))
            .await
            .unwrap();
        let mut frames = Vec::new();
        loop {
            let v = next(ws).await;
            if v["type"] == "heartbeat" {
                return frames;
            }
            self.apply(&v, true);
            frames.push(v);
        }
    }

    /// Equal to the REST answer for the same filter, as far as the stream carries it.
    fn assert_matches(&self, rest: &Value, what: &str) {
        let mut rows = BTreeMap::new();
        for list in ["bot", "waiting", "human"] {
            rows.extend(by_id(&rest["phases"][list]));
        }
        assert_eq!(self.rows, rows, "{what}: rows");
        let timeless_all = |m: &BTreeMap<u64, Value>| {
            m.iter()
                .map(|(k, v)| (*k, timeless(v)))
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(
            timeless_all(&self.agents),
            timeless_all(&by_id(&rest["agents"])),
            "{what}: agents"
        );
        assert_eq!(self.teams, by_id(&rest["teams"]), "{what}: teams");
    }
}

/// `GET /api/v1/monitor` with `query`.
async fn rest_view(app: &TestApp, cookie: &str, query: &str) -> Value {
    let answer = app
        .call(req(
            "GET",
            &format!("/api/v1/monitor{query}"),
            &Cred::Cookie(cookie.to_owned()),
            None,
        ))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    serde_json::from_str(&answer.body).unwrap()
}

/// Brings every stream to the engine's sequence (read-your-writes).
async fn settled(app: &TestApp) -> u64 {
    let seq = app.engine.handle.durable_seq();
    app.state.monitor.wait_for(seq).await;
    tokio::time::timeout(WAIT, app.state.monitor.wait_streams(seq))
        .await
        .expect("the streams brought to the model's sequence in time");
    seq
}

#[tokio::test]
async fn a_filtered_connection_is_sent_nothing_about_what_it_does_not_show() {
    live(Duration::from_millis(5), Duration::from_millis(1));
    let (app, addr, cookie, c) = setup(2).await;
    let e = &app.engine.handle;
    let (team_b, channel_b, agent_b) = second_team(e).await;
    let (mine, a) = served(&app, &c, "5511900000001").await;
    let (theirs, other) = served(&app, &c, "5511900000002").await;
    assert_ne!(a, other, "one session each");
    let elsewhere = writes(e, channel_b, "552100000001").await;
    app.state.monitor.wait_for(e.durable_seq()).await;
    let (mut all, all_snapshot) = subscribe(addr, &cookie, json!({})).await;
    let (mut ws, snapshot) = subscribe(addr, &cookie, json!({"agents": [a]})).await;
    let mut copy = Copy::default();
    copy.apply(&snapshot, true);
    assert_eq!(copy.rows.keys().copied().collect::<Vec<_>>(), vec![mine.0]);
    assert_eq!(copy.agents.keys().copied().collect::<Vec<_>>(), vec![a.0]);
    assert_eq!(
        copy.teams.keys().copied().collect::<Vec<_>>(),
        vec![c.team.0]
    );

    // Only what it does not show changes: the other agent's session in the same team (its
    // team card as this view shows it does not change), the other team's session and agent.
    for i in 0..5 {
        customer_message(e, &c, "5511900000002", &format!("m{i}")).await;
        ok(
            e,
            json!({"type": "agent_message", "session": theirs, "agent": other, "text": "ok"}),
        )
        .await;
        ok(
            e,
            json!({"type": "customer_message", "channel": channel_b,
                     "identifier": "552100000001", "text": format!("m{i}")}),
        )
        .await;
        ok(
            e,
            json!({"type": "agent_message", "session": elsewhere, "agent": agent_b, "text": "ok"}),
        )
        .await;
    }
    let quiet = settled(&app).await;
    // The unfiltered connection saw it all...
    let mut everything = Copy::default();
    everything.apply(&all_snapshot, true);
    let frames = everything.settle(&mut all).await;
    assert!(frames.iter().any(|f| has_row(f, theirs)), "{frames:?}");
    assert!(frames.iter().any(|f| has_row(f, elsewhere)), "{frames:?}");
    // ... the filtered one nothing at all.
    let frames = copy.settle(&mut ws).await;
    assert!(frames.is_empty(), "noise: {frames:?}");

    // Its own session changes: its row, and nothing else (its card and team card are as
    // they were).
    customer_message(e, &c, "5511900000001", "ainda aí?").await;
    settled(&app).await;
    let frames = copy.settle(&mut ws).await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    let d = &frames[0];
    assert!(has_row(d, mine), "{d}");
    assert!(d["seq"].as_u64().unwrap() > quiet);
    assert_eq!(d["rows"].as_array().unwrap().len(), 1, "{d}");
    for list in [
        "removed",
        "agents",
        "agents_removed",
        "teams",
        "teams_removed",
    ] {
        assert!(d[list].as_array().unwrap().is_empty(), "{list}: {d}");
    }

    // Its session finishes: it is told of that session (and of its card and team card,
    // which changed), never of the others.
    ok(
        e,
        json!({"type": "finish", "session": mine, "by": {"agent": a}}),
    )
    .await;
    ok(
        e,
        json!({"type": "finish", "session": elsewhere, "by": {"agent": agent_b}}),
    )
    .await;
    settled(&app).await;
    let frames = copy.settle(&mut ws).await;
    let removed: Vec<u64> = frames.iter().flat_map(|f| ids(&f["removed"])).collect();
    assert_eq!(removed, vec![mine.0], "{frames:?}");
    assert!(copy.rows.is_empty());
    let cards: Vec<u64> = frames
        .iter()
        .flat_map(|f| by_id(&f["agents"]).into_keys())
        .collect();
    assert_eq!(cards, vec![a.0], "its card, once: {frames:?}");
    assert_eq!(copy.agents[&a.0]["open"], 0);
    for f in &frames {
        assert!(!by_id(&f["teams"]).contains_key(&team_b.0), "{f}");
        assert!(
            ids(&f["agents_removed"]).is_empty() && ids(&f["teams_removed"]).is_empty(),
            "{f}"
        );
    }
    copy.assert_matches(
        &rest_view(&app, &cookie, &format!("?agent={}", a.0)).await,
        "agent filter",
    );
}

#[tokio::test]
async fn every_view_converges_to_the_rest_answer_through_filter_changes_and_resumes() {
    live(Duration::from_millis(5), Duration::from_millis(1));
    let (app, addr, cookie, c) = setup(3).await;
    let e = &app.engine.handle;
    let (team_b, channel_b, agent_b) = second_team(e).await;
    let group = app.group("Suporte", false, &["monitor.view"], Some(&[c.team]));
    let supervisor = app.account("sup@example.com", AccountKind::Admin { group });
    let sup = app.session(supervisor).await;
    app.state.monitor.wait_for(e.durable_seq()).await;
    // (cookie, filter as subscribed, the same as a query string)
    let views: Vec<(&str, Value, String)> = vec![
        (&cookie, json!({}), String::new()),
        (
            &cookie,
            json!({"agents": [c.agents[0]]}),
            format!("?agent={}", c.agents[0].0),
        ),
        (
            &cookie,
            json!({"teams": [team_b]}),
            format!("?team={}", team_b.0),
        ),
        (
            &cookie,
            json!({"channels": [c.channel]}),
            format!("?channel={}", c.channel.0),
        ),
        (&sup, json!({}), String::new()),
        (
            &sup,
            json!({"agents": [c.agents[1]]}),
            format!("?agent={}", c.agents[1].0),
        ),
    ];
    let mut open = Vec::new();
    for (who, filter, _) in &views {
        let (ws, snapshot) = subscribe(addr, who, filter.clone()).await;
        let mut copy = Copy::default();
        copy.apply(&snapshot, true);
        open.push((ws, copy));
    }
    for (i, what) in ["first round", "after a filter change", "after a resume"]
        .into_iter()
        .enumerate()
    {
        if i == 1 {
            // Filter change on the same connection: a fresh snapshot, then deltas as before.
            let (ws, copy) = &mut open[1];
            ws.send(Message::Text(
                json!({"type": "subscribe", "filter": {"agents": [c.agents[2]]}})
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
            loop {
                let v = next(ws).await;
                copy.apply(&v, true);
                if v["type"] == "snapshot" {
                    break;
                }
            }
        }
        if i == 2 {
            // Reconnect and resume from what each copy shows.
            for (k, (who, filter, _)) in views.iter().enumerate() {
                let filter = if k == 1 {
                    json!({"agents": [c.agents[2]]})
                } else {
                    filter.clone()
                };
                let from = open[k].1.seq;
                let (ws, first) = subscribe_from(addr, who, filter, Some(from)).await;
                open[k].1.apply(&first, false);
                open[k].0 = ws;
            }
        }
        round(e, &c, channel_b, agent_b, i).await;
        settled(&app).await;
        for (k, (who, _, query)) in views.iter().enumerate() {
            let query = if k == 1 && i > 0 {
                format!("?agent={}", c.agents[2].0)
            } else {
                query.clone()
            };
            let (ws, copy) = &mut open[k];
            copy.settle(ws).await;
            let rest = rest_view(&app, who, &query).await;
            copy.assert_matches(&rest, &format!("{what}, view {k} ({query})"));
        }
    }
    // The restricted supervisor never held anything of team B.
    assert!(!open[4].1.teams.contains_key(&team_b.0));
    assert!(open.iter().all(|(_, copy)| copy.deltas > 0));
}
