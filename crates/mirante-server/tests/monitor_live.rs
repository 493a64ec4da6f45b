//! The live stream on a real socket (WebSocket via tokio-tungstenite, SSE via reqwest):
//! snapshot → delta → filter change → reconnect and resume → resume too old → forced lag →
//! resync; M-15 re-queue seen live; a restricted administrator's stream (M-60); follow
//! (M-40, B-5, the followers pushed live) and chat notifications (M-11) on the same connection; limits and
//! authorization of the stream itself; a large snapshot in parts (P7). No sleeps: every wait is for a frame, with a timeout.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use common::{Center, Cred, TestApp, customer_message, ok, req};
use futures_util::{SinkExt, StreamExt};
use mirante_core::{EventKind, SessionId, Timestamp};
use mirante_server::monitor::LiveConfig;
use mirante_store::accounts::AccountKind;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use common::Ws;

const WAIT: Duration = Duration::from_secs(10);

fn fast(config: impl FnOnce(&mut LiveConfig)) {
    common::LIVE_CONFIG.with(|c| {
        let mut live = LiveConfig {
            frame_interval: Duration::from_millis(10),
            counters_interval: Duration::from_millis(20),
            ..LiveConfig::default()
        };
        config(&mut live);
        *c.borrow_mut() = live;
    });
}

async fn try_connect(
    addr: SocketAddr,
    cookie: Option<&str>,
    origin: Option<&str>,
) -> Result<Ws, u16> {
    let mut request = format!("ws://{addr}/api/v1/monitor/live")
        .into_client_request()
        .unwrap();
    if let Some(c) = cookie {
        request
            .headers_mut()
            .insert("cookie", format!("mirante_session={c}").parse().unwrap());
    }
    let origin = origin.map_or_else(|| format!("http://{addr}"), str::to_owned);
    request
        .headers_mut()
        .insert("origin", origin.parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

async fn connect(addr: SocketAddr, cookie: &str) -> Ws {
    try_connect(addr, Some(cookie), None).await.unwrap()
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next frame that is not a heartbeat.
async fn next(ws: &mut Ws) -> Value {
    loop {
        let v = any_frame(ws).await;
        if v["type"] != "heartbeat" {
            return v;
        }
    }
}

/// Frames until one satisfies `pred` (returned with the ones before it).
async fn until(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
    let mut seen = Vec::new();
    loop {
        let v = next(ws).await;
        if pred(&v) {
            return (v, seen);
        }
        seen.push(v);
    }
}

/// The first delta with counters from `delta` on (`delta` itself, or a later one: counters
/// are rate-limited per connection).
async fn counters_from(ws: &mut Ws, delta: &Value) -> Value {
    if delta.get("counters").is_some() {
        return delta.clone();
    }
    until(ws, |v| v["type"] == "delta" && v.get("counters").is_some())
        .await
        .0
}

/// A new team, nobody in it.
async fn create_team(e: &mirante_server::engine::EngineHandle, name: &str) -> mirante_core::TeamId {
    ok(e, json!({"type": "create_team", "name": name}))
        .await
        .events
        .iter()
        .find_map(|x| match &x.kind {
            EventKind::TeamCreated { team } => Some(team.id),
            _ => None,
        })
        .unwrap()
}

fn session_of(events: &[mirante_core::Event]) -> SessionId {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::SessionStarted { session, .. } => Some(*session),
            _ => None,
        })
        .unwrap()
}

fn has_row(v: &Value, session: SessionId) -> bool {
    v["type"] == "delta"
        && v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == session.0)
}

/// The SSE fallback of the stream, opened with a session cookie.
async fn open_sse(addr: SocketAddr, cookie: &str) -> reqwest::Response {
    let response = reqwest::Client::new()
        .get(format!("http://{addr}/api/v1/monitor/events"))
        .header("cookie", format!("mirante_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
}

async fn setup(agents: usize) -> (TestApp, SocketAddr, String, Center) {
    TestApp::monitored(agents).await
}

#[tokio::test]
async fn snapshot_delta_filter_change_resume_and_resync() {
    fast(|c| c.ring_capacity = 32);
    let (app, addr, cookie, c) = setup(2).await;
    let e = &app.engine.handle;
    let mut ws = connect(addr, &cookie).await;
    send(&mut ws, json!({"type": "subscribe", "filter": {}})).await;
    let snap = next(&mut ws).await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["counters"]["geral"], 0);
    let s0 = snap["seq"].as_u64().unwrap();

    // Delta: a customer arrives and is served; counters follow (same seq as the rows).
    let s1 = session_of(&customer_message(e, &c, "5511900000001", "oi").await.events);
    let (delta, _) = until(&mut ws, |v| has_row(v, s1)).await;
    assert!(delta["seq"].as_u64().unwrap() > s0);
    assert_eq!(delta["from_seq"].as_u64().unwrap(), s0);
    // The counters come with that delta (same seq) or, rate-limited, with a later one.
    let counted = counters_from(&mut ws, &delta).await;
    assert_eq!(counted["counters"]["geral"], 1);
    assert_eq!(counted["counters"]["humano"], 1);
    let agent_cards = delta["agents"].as_array().unwrap();
    assert!(agent_cards.iter().any(|a| a["open"] == 1) || counted["agents"].is_array());

    // Filter change on the same connection: a fresh snapshot of the filtered view.
    send(
        &mut ws,
        json!({"type": "subscribe", "filter": {"agents": [c.agents[1]]}}),
    )
    .await;
    let (filtered, _) = until(&mut ws, |v| v["type"] == "snapshot").await;
    assert_eq!(filtered["filtered"], true);
    let last = filtered["seq"].as_u64().unwrap();

    // Reconnect and resume: only what happened meanwhile.
    drop(ws);
    let s2 = session_of(&customer_message(e, &c, "5511900000002", "oi").await.events);
    app.state.monitor.wait_for(e.durable_seq()).await;
    let mut ws = connect(addr, &cookie).await;
    send(
        &mut ws,
        json!({"type": "subscribe", "filter": {}, "resume_from": last}),
    )
    .await;
    let resumed = next(&mut ws).await;
    assert_eq!(resumed["type"], "delta", "{resumed}");
    assert_eq!(resumed["from_seq"].as_u64().unwrap(), last);
    assert!(has_row(&resumed, s2));
    assert!(!has_row(&resumed, s1), "only the changes since `last`");
    assert_eq!(resumed["counters"]["geral"], 2);

    // Resume from a sequence the ring no longer has: a fresh snapshot instead.
    drop(ws);
    for i in 0..20 {
        ok(e, json!({"type": "agent_message", "session": s2, "agent": c.agents[(s2.0 as usize + 1) % 2], "text": format!("m{i}")}))
            .await;
    }
    app.state.monitor.wait_for(e.durable_seq()).await;
    let mut ws = connect(addr, &cookie).await;
    send(
        &mut ws,
        json!({"type": "subscribe", "filter": {}, "resume_from": 1}),
    )
    .await;
    let fresh = next(&mut ws).await;
    assert_eq!(fresh["type"], "snapshot");
    assert_eq!(fresh["counters"]["geral"], 2);
}

#[tokio::test]
async fn a_lagging_client_gets_a_resync_and_a_snapshot() {
    // Any delta larger than this is a lag: the connection never buffers, it resyncs.
    fast(|c| c.max_delta_sessions = 0);
    let (app, addr, cookie, c) = setup(1).await;
    let mut ws = connect(addr, &cookie).await;
    send(&mut ws, json!({"type": "subscribe", "filter": {}})).await;
    assert_eq!(next(&mut ws).await["type"], "snapshot");
    customer_message(&app.engine.handle, &c, "5511900000001", "oi").await;
    let (resync, _) = until(&mut ws, |v| v["type"] == "resync").await;
    assert_eq!(resync["reason"], "lagged");
    let snap = next(&mut ws).await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["counters"]["geral"], 1);
}

#[tokio::test]
async fn m15_forced_logout_requeue_is_seen_live() {
    fast(|_| {});
    let (app, addr, cookie, c) = setup(1).await;
    let e = &app.engine.handle;
    let a = session_of(&customer_message(e, &c, "5511900000001", "oi").await.events);
    let b = session_of(&customer_message(e, &c, "5511900000002", "oi").await.events);
    app.state.monitor.wait_for(e.durable_seq()).await;
    let mut ws = connect(addr, &cookie).await;
    send(&mut ws, json!({"type": "subscribe", "filter": {}})).await;
    let snap = next(&mut ws).await;
    assert_eq!(snap["counters"]["humano"], 2);
    let out = app
        .call(req(
            "POST",
            &format!("/api/v1/agents/{}/logout", c.agents[0].0),
            &Cred::Cookie(cookie.clone()),
            None,
        ))
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
    let mut phase: BTreeMap<u64, String> = BTreeMap::new();
    let mut agent_gone = false;
    while phase.get(&a.0).map(String::as_str) != Some("waiting")
        || phase.get(&b.0).map(String::as_str) != Some("waiting")
        || !agent_gone
    {
        let v = next(&mut ws).await;
        assert_eq!(v["type"], "delta", "{v}");
        for r in v["rows"].as_array().unwrap() {
            phase.insert(
                r["id"].as_u64().unwrap(),
                r["phase"].as_str().unwrap().to_owned(),
            );
            assert!(r["protocol"].is_string(), "protocol kept");
        }
        agent_gone |= v["agents_removed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == c.agents[0].0);
    }
}

#[tokio::test]
async fn m60_a_restricted_stream_never_carries_other_teams() {
    fast(|_| {});
    let (app, addr, _, c) = setup(1).await;
    let e = &app.engine.handle;
    // Team B with its own channel, nobody online: its sessions wait there.
    let team_b = create_team(e, "Vendas").await;
    let flow = ok(e, json!({"type": "create_flow", "def": {"name": "v", "start": "r", "steps": {"r": {"kind": "route", "team": team_b}}}})).await;
    let flow = flow
        .events
        .iter()
        .find_map(|x| match &x.kind {
            EventKind::FlowCreated { flow } => Some(flow.id),
            _ => None,
        })
        .unwrap();
    let ch = ok(
        e,
        json!({"type": "create_channel", "kind": "webchat", "name": "Loja", "flow": flow}),
    )
    .await;
    let ch = ch
        .events
        .iter()
        .find_map(|x| match &x.kind {
            EventKind::ChannelCreated { channel } => Some(channel.id),
            _ => None,
        })
        .unwrap();
    let group = app.group("Suporte", false, &["monitor.view"], Some(&[c.team]));
    let sup = app.account("sup@example.com", AccountKind::Admin { group });
    let cookie = app.session(sup).await;
    let mut ws = connect(addr, &cookie).await;
    send(&mut ws, json!({"type": "subscribe", "filter": {}})).await;
    let snap = next(&mut ws).await;
    assert_eq!(snap["teams"].as_array().unwrap().len(), 1);
    let outside = ok(e, json!({"type": "customer_message", "channel": ch, "identifier": "552100000001", "text": "oi"})).await;
    let outside = session_of(&outside.events);
    let inside = session_of(&customer_message(e, &c, "5511900000001", "oi").await.events);
    let (last, before) = until(&mut ws, |v| has_row(v, inside)).await;
    for v in before.iter().chain([&last]) {
        let text = v.to_string();
        assert!(!has_row(v, outside), "{text}");
        assert!(
            !v["removed"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == outside.0)),
            "{text}"
        );
        assert!(
            !v["teams"]
                .as_array()
                .is_some_and(|t| t.iter().any(|x| x["id"] == team_b.0)),
            "{text}"
        );
    }
    let counted = counters_from(&mut ws, &last).await;
    assert_eq!(counted["counters"]["geral"], 1, "counters only of its team");
    assert_eq!(counted["unfiltered_counters"]["geral"], 1);
}

#[tokio::test]
async fn m40_m11_follow_and_chat_ride_on_the_same_connection() {
    fast(|_| {});
    let (app, addr, cookie, c) = setup(1).await;
    let e = &app.engine.handle;
    let s = session_of(&customer_message(e, &c, "5511900000001", "oi").await.events);
    app.state.monitor.wait_for(e.durable_seq()).await;
    let mut ws = connect(addr, &cookie).await;
    send(&mut ws, json!({"type": "subscribe", "filter": {}})).await;
    assert_eq!(next(&mut ws).await["type"], "snapshot");
    send(&mut ws, json!({"type": "follow", "session": s})).await;
    let (follow, _) = until(&mut ws, |v| v["type"] == "follow").await;
    assert_eq!(follow["messages"][0]["text"], "oi");
    assert_eq!(follow["followers"][0]["name"], "root");
    // B-5: the REST answer names who follows it now.
    let rest = app
        .call(req(
            "GET",
            &format!("/api/v1/sessions/{}/follow", s.0),
            &Cred::Cookie(cookie.clone()),
            None,
        ))
        .await
        .json();
    assert_eq!(rest["followers"].as_array().unwrap().len(), 1);
    customer_message(e, &c, "5511900000001", "ainda aí?").await;
    let (message, _) = until(&mut ws, |v| v["type"] == "message").await;
    assert_eq!(message["message"]["text"], "ainda aí?");
    // M-11: an agent writes to this supervisor.
    let me = rest["followers"][0]["account"].as_u64().unwrap();
    ok(e, json!({"type": "internal_message", "agent": c.agents[0], "supervisor": me, "from_agent": true, "text": "Preciso de ajuda"})).await;
    let (chat, _) = until(&mut ws, |v| v["type"] == "chat").await;
    assert_eq!(chat["message"]["text"], "Preciso de ajuda");
    // Unfollow: nobody follows it any more.
    send(&mut ws, json!({"type": "unfollow", "session": s})).await;
    send(&mut ws, json!({"type": "ping"})).await;
    let _ = tokio::time::timeout(WAIT, ws.next()).await;
    let audit = app
        .call(req(
            "GET",
            "/api/v1/audit?action=session.follow_start",
            &Cred::Cookie(cookie.clone()),
            None,
        ))
        .await
        .json();
    assert!(!audit.as_array().unwrap().is_empty());
}

/// The `followers` frames about `s` until one names exactly `names` (sorted).
async fn followers_now(ws: &mut Ws, s: SessionId, names: &[&str]) -> Value {
    let (frame, _) = until(ws, |v| {
        v["type"] == "followers" && v["session"] == s.0 && {
            let mut got: Vec<&str> = v["followers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap())
                .collect();
            got.sort_unstable();
            got == names
        }
    })
    .await;
    frame
}

#[tokio::test]
async fn b5_followers_are_pushed_live_to_every_connection_following_the_session() {
    fast(|_| {});
    let (app, addr, cookie_a, c) = setup(1).await;
    let e = &app.engine.handle;
    let (_, cookie_b) = app.full_admin("bia@example.com").await;
    let s = session_of(&customer_message(e, &c, "5511900000001", "oi").await.events);
    let other = session_of(&customer_message(e, &c, "5511900000002", "oi").await.events);
    app.state.monitor.wait_for(e.durable_seq()).await;

    // A (root) follows the session: it is alone.
    let mut a = connect(addr, &cookie_a).await;
    send(&mut a, json!({"type": "follow", "session": s})).await;
    let (follow, _) = until(&mut a, |v| v["type"] == "follow").await;
    assert_eq!(follow["followers"].as_array().unwrap().len(), 1);

    // B starts following: A is told at once, without reopening anything.
    let mut b = connect(addr, &cookie_b).await;
    send(&mut b, json!({"type": "follow", "session": s})).await;
    let (follow_b, _) = until(&mut b, |v| v["type"] == "follow").await;
    assert_eq!(follow_b["followers"].as_array().unwrap().len(), 2);
    followers_now(&mut a, s, &["bia", "root"]).await;

    // A second tab of B changes nothing; B following another session is not A's business.
    let mut b2 = connect(addr, &cookie_b).await;
    send(&mut b2, json!({"type": "follow", "session": s})).await;
    until(&mut b2, |v| v["type"] == "follow").await;
    send(&mut b, json!({"type": "follow", "session": other})).await;
    until(&mut b, |v| v["type"] == "follow" && v["session"] == other.0).await;

    // B's tabs go away (one unfollows, the other closes): A sees B leave, once B is gone
    // from both — and never a frame about the other session.
    send(&mut b, json!({"type": "unfollow", "session": s})).await;
    drop(b2);
    let (frame, before) = until(&mut a, |v| {
        v["type"] == "followers" && v["followers"].as_array().unwrap().len() == 1
    })
    .await;
    assert_eq!(frame["followers"][0]["name"], "root");
    for v in before.iter().chain([&frame]) {
        assert_ne!(v["session"], other.0, "{v}");
        if v["type"] == "followers" {
            assert_eq!(v["session"], s.0);
        }
    }
    assert_eq!(app.state.monitor.followers(s).len(), 1);
    // Facts go by topic: a session's reach only the connections following it (A for `s`,
    // B for `other`); B's unfollow and B2's close took theirs away.
    assert_eq!(app.state.monitor.session_routes(s), 1);
    assert_eq!(app.state.monitor.session_routes(other), 1);
    customer_message(e, &c, "5511900000002", "ainda aí?").await;
    let (msg, _) = until(&mut b, |v| v["type"] == "message").await;
    assert_eq!(
        (&msg["session"], &msg["message"]["text"]),
        (&json!(other.0), &json!("ainda aí?"))
    );
}

#[tokio::test]
async fn the_stream_is_authorized_and_limited() {
    fast(|c| c.max_per_user = 1);
    let (app, addr, cookie, _) = setup(1).await;
    assert_eq!(try_connect(addr, None, None).await.err(), Some(401));
    assert_eq!(
        try_connect(addr, Some(&cookie), Some("http://evil.example"))
            .await
            .err(),
        Some(403)
    );
    let agent = app.account("ag@example.com", AccountKind::Agent { agent: 1 });
    let agent_cookie = app.session(agent).await;
    assert_eq!(
        try_connect(addr, Some(&agent_cookie), None).await.err(),
        Some(403)
    );
    let first = connect(addr, &cookie).await;
    assert_eq!(
        try_connect(addr, Some(&cookie), None).await.err(),
        Some(429)
    );
    drop(first);
}

#[tokio::test]
async fn sse_fallback_carries_the_same_messages() {
    fast(|_| {});
    let (app, addr, cookie, c) = setup(1).await;
    let mut response = open_sse(addr, &cookie).await;
    let mut buffer = String::new();
    let mut frames: Vec<Value> = Vec::new();
    let mut want_delta = false;
    loop {
        let chunk = tokio::time::timeout(WAIT, response.chunk())
            .await
            .expect("SSE data in time")
            .unwrap()
            .unwrap();
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                frames.push(serde_json::from_str(data).unwrap());
            }
        }
        if !want_delta && frames.iter().any(|f| f["type"] == "snapshot") {
            want_delta = true;
            customer_message(&app.engine.handle, &c, "5511900000001", "oi").await;
        }
        if frames.iter().any(|f| f["type"] == "delta") {
            break;
        }
    }
    assert_eq!(frames[0]["type"], "snapshot");
}

/// Concatenates the Fases lists of a split snapshot, part by part.
fn join_parts(snapshot: &Value, parts: &[Value]) -> Value {
    let mut phases = snapshot["phases"].clone();
    for p in parts {
        for list in ["bot", "waiting", "human"] {
            let more = p["phases"][list].as_array().unwrap().clone();
            phases[list].as_array_mut().unwrap().extend(more);
        }
    }
    phases
}

fn join_agents(snapshot: &Value, parts: &[Value]) -> Value {
    let mut agents = snapshot["agents"].as_array().unwrap().clone();
    for p in parts {
        agents.extend(p["agents"].as_array().unwrap().iter().cloned());
    }
    Value::Array(agents)
}

/// Agent cards and rows in a snapshot frame or part.
fn items_in(frame: &Value) -> usize {
    frame["agents"].as_array().unwrap().len() + rows_in(&frame["phases"])
}

fn rows_in(phases: &Value) -> usize {
    ["bot", "waiting", "human"]
        .iter()
        .map(|l| phases[*l].as_array().unwrap().len())
        .sum()
}

#[tokio::test]
async fn p7_a_large_snapshot_arrives_in_parts_over_websocket_and_sse() {
    const PART: usize = 6;
    fast(|c| c.snapshot_part_items = PART);
    // 7 agents (more than a part: the cards too are cut) and 40 sessions (more than they
    // take: some wait, so the rows cut across lists).
    let (app, addr, cookie, c) = setup(7).await;
    let e = &app.engine.handle;
    for i in 0..40 {
        customer_message(e, &c, &format!("55119000000{i:02}"), "oi").await;
    }
    app.state.monitor.wait_for(e.durable_seq()).await;
    // The unsplit view, as the REST route answers it (same model, same manual clock).
    let whole = app
        .call(req(
            "GET",
            "/api/v1/monitor",
            &Cred::Cookie(cookie.clone()),
            None,
        ))
        .await;
    assert_eq!(whole.status, 200, "{}", whole.body);
    let whole: Value = serde_json::from_str(&whole.body).unwrap();
    assert_eq!(rows_in(&whole["phases"]), 40);
    assert_eq!(whole["agents"].as_array().unwrap().len(), 7);
    assert!(
        !whole["phases"]["waiting"].as_array().unwrap().is_empty()
            && !whole["phases"]["human"].as_array().unwrap().is_empty(),
        "the parts cut across lists"
    );
    let count = 47_usize.div_ceil(PART);

    let mut ws = connect(addr, &cookie).await;
    send(&mut ws, json!({"type": "subscribe", "filter": {}})).await;
    let snap = next(&mut ws).await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["seq"], whole["seq"]);
    assert_eq!(snap["parts"], count, "7 cards and 40 rows in parts of 6");
    // the cards first: the first part is the first 6 cards
    assert_eq!(snap["agents"].as_array().unwrap().len(), PART);
    assert_eq!(rows_in(&snap["phases"]), 0);
    assert_eq!(
        snap["counters"], whole["counters"],
        "the counters are the whole view's"
    );
    assert_eq!(snap["teams"], whole["teams"]);
    let mut parts = Vec::new();
    for i in 1..count {
        let p = next(&mut ws).await;
        assert_eq!(p["type"], "snapshot_part", "{p}");
        assert_eq!(p["seq"], snap["seq"]);
        assert_eq!(p["part"], i);
        let expected = if i + 1 < count { PART } else { 47 - PART * i };
        assert_eq!(items_in(&p), expected, "{p}");
        parts.push(p);
    }
    // the 7th card and the first 5 rows
    assert_eq!(parts[0]["agents"].as_array().unwrap().len(), 1);
    assert_eq!(rows_in(&parts[0]["phases"]), 5);
    assert_eq!(join_agents(&snap, &parts), whole["agents"]);
    assert_eq!(join_parts(&snap, &parts), whole["phases"]);

    // Deltas follow the snapshot's sequence as before.
    let s = session_of(&customer_message(e, &c, "5511900000099", "oi").await.events);
    let (delta, before) = until(&mut ws, |v| has_row(v, s)).await;
    assert_eq!(delta["from_seq"], snap["seq"], "{before:?} {delta}");

    // A snapshot that fits in one part is not split (a filter with one agent: his card and
    // his sessions).
    send(
        &mut ws,
        json!({"type": "subscribe", "filter": {"agents": [c.agents[0]]}}),
    )
    .await;
    let (small, _) = until(&mut ws, |v| v["type"] == "snapshot").await;
    assert!(small.get("parts").is_none(), "{small}");
    assert!(items_in(&small) <= PART, "{small}");
    assert!(items_in(&small) >= 2, "{small}");

    // The SSE fallback carries the same parts, one event each (41 rows now).
    let count = 48_usize.div_ceil(PART);
    let mut response = open_sse(addr, &cookie).await;
    let mut buffer = String::new();
    let mut frames: Vec<Value> = Vec::new();
    while frames.len() < count {
        let chunk = tokio::time::timeout(WAIT, response.chunk())
            .await
            .expect("SSE data in time")
            .unwrap()
            .unwrap();
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                frames.push(serde_json::from_str(data).unwrap());
            }
        }
    }
    assert_eq!(frames[0]["type"], "snapshot");
    assert_eq!(
        frames[0]["parts"], count,
        "7 cards and 41 rows in parts of 6"
    );
    for (i, f) in frames.iter().enumerate().take(count).skip(1) {
        assert_eq!(f["type"], "snapshot_part", "{f}");
        assert_eq!(f["part"], i);
    }
    let rest = &frames[1..count];
    assert_eq!(rows_in(&join_parts(&frames[0], rest)), 41);
    assert_eq!(join_agents(&frames[0], rest).as_array().unwrap().len(), 7);
}

/// Frames until the `error` that ends a stream whose rights were withdrawn; then the
/// server closes the socket (1008, policy). The error frame is returned.
async fn refused(ws: &mut Ws) -> Value {
    let (error, _) = until(ws, |v| v["type"] == "error").await;
    assert_eq!(error["closing"], true, "{error}");
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("the close in time")
        {
            Some(Ok(Message::Close(frame))) => {
                assert_eq!(u16::from(frame.unwrap().code), 1008);
                return error;
            }
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                assert_eq!(v["type"], "heartbeat", "nothing after the error: {v}");
            }
            Some(Ok(_)) => {}
            other => panic!("a close frame, not {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_stream_ends_with_its_session_and_its_account() {
    fast(|_| {});
    let (app, addr, root, c) = setup(1).await;
    let group = app.group("Suporte", false, &["monitor.view"], Some(&[c.team]));
    let sup = app.account("sup@example.com", AccountKind::Admin { group });

    // Log-out of the session the stream was opened with: the stream ends, in pt-BR.
    let cookie = app.session(sup).await;
    let mut ws = connect(addr, &cookie).await;
    send(&mut ws, json!({"type": "subscribe", "filter": {}})).await;
    assert_eq!(next(&mut ws).await["type"], "snapshot");
    let other = app.session(sup).await;
    let mut kept = connect(addr, &other).await;
    send(&mut kept, json!({"type": "subscribe", "filter": {}})).await;
    assert_eq!(next(&mut kept).await["type"], "snapshot");
    let out = app
        .call(req(
            "POST",
            "/api/v1/auth/logout",
            &Cred::Cookie(cookie.clone()),
            None,
        ))
        .await;
    assert_eq!(out.status, 204);
    let error = refused(&mut ws).await;
    assert_eq!(error["code"], "unauthenticated");
    assert!(
        error["message"].as_str().unwrap().contains("Autenticação"),
        "{error}"
    );
    assert_eq!(
        try_connect(addr, Some(&cookie), None).await.unwrap_err(),
        401
    );

    // The account's other session goes on… until an administrator disables the account.
    let e = &app.engine.handle;
    let session = session_of(&customer_message(e, &c, "5511900000001", "oi").await.events);
    let (_, before) = until(&mut kept, |v| has_row(v, session)).await;
    assert!(before.iter().all(|v| v["type"] != "error"), "{before:?}");
    let off = app
        .call(req(
            "PATCH",
            &format!("/api/v1/users/{sup}"),
            &Cred::Cookie(root.clone()),
            Some(json!({"disabled": true})),
        ))
        .await;
    assert_eq!(off.status, 200, "{}", off.json());
    assert_eq!(refused(&mut kept).await["code"], "unauthenticated");
}

#[tokio::test]
async fn a_group_change_rescopes_or_ends_an_open_stream() {
    fast(|_| {});
    let (app, addr, root, c) = setup(1).await;
    let e = &app.engine.handle;
    let team_b = create_team(e, "Vendas").await;
    let group = app.group(
        "Suporte",
        false,
        &["monitor.view", "session.follow"],
        Some(&[c.team]),
    );
    let sup = app.account("sup@example.com", AccountKind::Admin { group });
    let cookie = app.session(sup).await;
    let mut ws = connect(addr, &cookie).await;
    send(&mut ws, json!({"type": "subscribe", "filter": {}})).await;
    let snap = next(&mut ws).await;
    assert_eq!(snap["teams"].as_array().unwrap().len(), 1, "{snap}");
    let session = session_of(&customer_message(e, &c, "5511900000001", "oi").await.events);
    until(&mut ws, |v| has_row(v, session)).await;
    send(&mut ws, json!({"type": "follow", "session": session})).await;
    until(&mut ws, |v| v["type"] == "follow").await;

    // A wider scope: a fresh snapshot with both teams, on the same connection.
    let patch = |body: Value| {
        req(
            "PATCH",
            &format!("/api/v1/groups/{group}"),
            &Cred::Cookie(root.clone()),
            Some(body),
        )
    };
    let wider = app
        .call(patch(json!({"teams": [c.team.0, team_b.0]})))
        .await;
    assert_eq!(wider.status, 200, "{}", wider.json());
    let (snap, _) = until(&mut ws, |v| v["type"] == "snapshot").await;
    assert_eq!(snap["teams"].as_array().unwrap().len(), 2, "{snap}");

    // `session.follow` withdrawn: the follow ends; the stream goes on.
    let fewer = app
        .call(patch(json!({"permissions": ["monitor.view"]})))
        .await;
    assert_eq!(fewer.status, 200, "{}", fewer.json());
    let (ended, _) = until(&mut ws, |v| v["type"] == "follow_ended").await;
    assert_eq!(ended["session"], session.0);
    send(&mut ws, json!({"type": "follow", "session": session})).await;
    let refusal = until(&mut ws, |v| v["type"] == "error").await.0;
    assert_eq!(refusal["code"], "forbidden", "{refusal}");
    // In the connection's language (pt-BR: no `Accept-Language`), as the REST answer says it.
    assert_eq!(
        refusal["message"], "Você não tem permissão para esta ação.",
        "{refusal}"
    );

    // `monitor.view` withdrawn: the stream ends.
    let none = app
        .call(patch(json!({"permissions": ["chat.internal"]})))
        .await;
    assert_eq!(none.status, 200, "{}", none.json());
    assert_eq!(refused(&mut ws).await["code"], "forbidden");
}

#[tokio::test]
async fn an_expired_session_or_a_revoked_token_ends_the_stream() {
    fast(|c| c.recheck = Duration::from_millis(20));
    let (app, addr, root, _) = setup(1).await;

    // A token's stream ends when the token is revoked.
    let created = app
        .call(req(
            "POST",
            "/api/v1/tokens",
            &Cred::Cookie(root.clone()),
            Some(json!({"name": "painel", "permissions": ["monitor.view"]})),
        ))
        .await;
    assert_eq!(created.status, 201, "{}", created.json());
    let token = created.json()["token"].as_str().unwrap().to_owned();
    let id = created.json()["id"].as_u64().unwrap();
    let mut request = format!("ws://{addr}/api/v1/monitor/live")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
        .headers_mut()
        .insert("accept-language", "en".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(&mut ws, json!({"type": "subscribe", "filter": {}})).await;
    assert_eq!(next(&mut ws).await["type"], "snapshot");
    let revoked = app
        .call(req(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            &Cred::Cookie(root.clone()),
            None,
        ))
        .await;
    assert!(revoked.status.is_success(), "{}", revoked.status);
    let error = refused(&mut ws).await;
    assert_eq!(error["code"], "unauthenticated");
    assert!(
        error["message"].as_str().unwrap().contains("log in"),
        "{error}"
    );

    // A session past its idle limit: the periodic check ends the stream.
    let mut ws = connect(addr, &root).await;
    send(&mut ws, json!({"type": "subscribe", "filter": {}})).await;
    assert_eq!(next(&mut ws).await["type"], "snapshot");
    app.clock.set(Timestamp(common::T0 + 9 * 3_600_000));
    assert_eq!(refused(&mut ws).await["code"], "unauthenticated");
}

/// The next frame, heartbeats included.
async fn any_frame(ws: &mut Ws) -> Value {
    common::next_frame(ws).await
}

#[tokio::test]
async fn a_quiet_connection_gets_a_heartbeat_after_the_interval_without_a_frame() {
    const BEAT: Duration = Duration::from_millis(150);
    fast(|c| c.heartbeat = BEAT);
    let (app, addr, cookie, c) = setup(1).await;
    let e = &app.engine.handle;
    let mut ws = connect(addr, &cookie).await;
    let before = std::time::Instant::now();
    send(&mut ws, json!({"type": "subscribe", "filter": {}})).await;
    let snapshot = any_frame(&mut ws).await;
    assert_eq!(snapshot["type"], "snapshot");
    // Nothing happens: a heartbeat at the snapshot's sequence, no sooner than the interval
    // after the snapshot went out (which was after `before`), and another one after it.
    for _ in 0..2 {
        let beat = any_frame(&mut ws).await;
        assert_eq!(beat["type"], "heartbeat", "{beat}");
        assert_eq!(beat["seq"], snapshot["seq"], "{beat}");
    }
    assert!(before.elapsed() >= BEAT * 2, "{:?}", before.elapsed());
    // A delta moves the next heartbeat on: it carries the delta's sequence, and comes no
    // sooner than the interval after the change was made (the delta went out after it).
    let changed = std::time::Instant::now();
    customer_message(e, &c, "5511900000001", "oi").await;
    let delta = any_frame(&mut ws).await;
    let delta = if delta["type"] == "heartbeat" {
        any_frame(&mut ws).await
    } else {
        delta
    };
    assert_eq!(delta["type"], "delta", "{delta}");
    let mut last = delta["seq"].clone();
    let beat = loop {
        let v = any_frame(&mut ws).await;
        if v["type"] == "heartbeat" {
            break v;
        }
        assert_eq!(v["type"], "delta", "{v}");
        last = v["seq"].clone();
    };
    assert_eq!(beat["seq"], last, "{beat}");
    assert!(changed.elapsed() >= BEAT, "{:?}", changed.elapsed());
}
