//! The monitor's REST API in-process: the screen (insta snapshot, ids and times redacted),
//! bulk finish / transfer with the cap and per-session results (B-3), M-16 and M-15 by
//! API, a team-restricted administrator's exact view (M-60), hidden cards (M-14, M-23),
//! internal chat (M-11), history (M-41), follow (M-40), the audit trail, and the OpenAPI
//! schemas against real answers.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use axum::http::{StatusCode, header};
use common::{Center, Cred, TestApp, center, customer_message, ok, req};
use mirante_core::{AgentId, ChannelId, EventKind, SessionId, TeamId};
use mirante_store::accounts::AccountKind;
use serde_json::{Value, json};

/// Replaces times, sequence numbers and ids so snapshots hold only the shape and figures.
fn redact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                let time = k.ends_with("_at") || k == "now" || k == "since";
                let id = k == "id" || k == "seq" || k == "contact" || k == "channel";
                if time && !x.is_null() {
                    *x = json!("[time]");
                } else if id && x.is_number() {
                    *x = json!("[id]");
                } else {
                    redact(x);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

async fn settle(app: &TestApp) {
    let seq = app.engine.handle.durable_seq();
    app.state.monitor.wait_for(seq).await;
    app.state.monitor.wait_records(seq).await;
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

/// A second team with its own channel (routing straight to it) and no agent online.
async fn second_team(app: &TestApp) -> (TeamId, ChannelId) {
    let e = &app.engine.handle;
    let team = ok(e, json!({"type": "create_team", "name": "Vendas"})).await;
    let team = team
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::TeamCreated { team } => Some(team.id),
            _ => None,
        })
        .unwrap();
    let flow = ok(
        e,
        json!({"type": "create_flow", "def": {"name": "vendas", "start": "r",
               "steps": {"r": {"kind": "route", "team": team}}}}),
    )
    .await;
    let flow = flow
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::FlowCreated { flow } => Some(flow.id),
            _ => None,
        })
        .unwrap();
    let channel = ok(
        e,
        json!({"type": "create_channel", "kind": "webchat", "name": "Loja", "flow": flow}),
    )
    .await;
    let channel = channel
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ChannelCreated { channel } => Some(channel.id),
            _ => None,
        })
        .unwrap();
    (team, channel)
}

async fn write_on(app: &TestApp, channel: ChannelId, who: &str) -> SessionId {
    let done = ok(
        &app.engine.handle,
        json!({"type": "customer_message", "channel": channel, "identifier": who, "text": "olá"}),
    )
    .await;
    session_of(&done.events)
}

struct Fixture {
    app: TestApp,
    full: Cred,
    center: Center,
    team_b: TeamId,
    /// Sessions with agents of team A.
    a: Vec<SessionId>,
    /// Sessions waiting in team B.
    b: Vec<SessionId>,
}

async fn fixture(agents: usize) -> Fixture {
    let app = TestApp::new(false).await;
    let (_, cookie) = app.full_admin("root@example.com").await;
    let center = center(&app.engine.handle, json!({}), agents).await;
    let (team_b, channel_b) = second_team(&app).await;
    let mut a = Vec::new();
    for i in 0..3 {
        let done = customer_message(
            &app.engine.handle,
            &center,
            &format!("551190000000{i}"),
            "oi",
        )
        .await;
        a.push(session_of(&done.events));
    }
    let mut b = Vec::new();
    for i in 0..2 {
        b.push(write_on(&app, channel_b, &format!("552190000000{i}")).await);
    }
    settle(&app).await;
    Fixture {
        app,
        full: Cred::Cookie(String::new()),
        center,
        team_b,
        a,
        b,
    }
    .with_cookie(cookie)
}

impl Fixture {
    fn with_cookie(mut self, cookie: String) -> Self {
        self.full = Cred::Cookie(cookie);
        self
    }

    async fn get(&self, cred: &Cred, uri: &str) -> Value {
        let answer = self.app.call(req("GET", uri, cred, None)).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", answer.body);
        answer.json()
    }

    /// A team-restricted administrator of team A with every permission.
    async fn restricted(&self) -> (u64, Cred) {
        let all: Vec<&str> = mirante_auth::Permission::ALL
            .iter()
            .map(|p| p.as_str())
            .collect();
        let group = self
            .app
            .group("Suporte", false, &all, Some(&[self.center.team]));
        let id = self
            .app
            .account("sup@example.com", AccountKind::Admin { group });
        (id, Cred::Cookie(self.app.session(id).await))
    }
}

fn row_ids(view: &Value, phase: &str) -> BTreeSet<u64> {
    view["phases"][phase]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn m1_the_screen_as_one_answer_snapshot() {
    let f = fixture(2).await;
    let mut view = f.get(&f.full, "/api/v1/monitor").await;
    let c = &view["counters"];
    assert_eq!(c["geral"], 5);
    assert_eq!(c["humano"], 3);
    assert_eq!(c["espera"], 2);
    assert_eq!(view["unfiltered_counters"], view["counters"]);
    redact(&mut view);
    insta::assert_json_snapshot!("monitor_view", view);

    let mut filtered = f
        .get(&f.full, &format!("/api/v1/monitor?team={}", f.team_b.0))
        .await;
    assert_eq!(filtered["filtered"], true);
    assert_eq!(filtered["counters"]["geral"], 2);
    assert_eq!(filtered["unfiltered_counters"]["geral"], 5);
    redact(&mut filtered);
    insta::assert_json_snapshot!("monitor_view_team_filter", filtered);

    let protocol = f.get(&f.full, "/api/v1/monitor?protocol=nao-existe").await;
    assert_eq!(protocol["protocol_not_open"], true);
    assert_eq!(protocol["protocol_status"], "unknown");

    let mut options = f.get(&f.full, "/api/v1/monitor/options").await;
    redact(&mut options);
    insta::assert_json_snapshot!("monitor_options", options);

    let bad = f
        .app
        .call(req("GET", "/api/v1/monitor?agent=x", &f.full, None))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn m12_b3_bulk_cap_and_per_session_results() {
    let f = fixture(2).await;
    // Over the cap (default 5): refused as a whole, nothing done.
    let six: Vec<u64> = f.a.iter().chain(&f.b).map(|s| s.0).chain([999]).collect();
    let over = f
        .app
        .call(req(
            "POST",
            "/api/v1/sessions/finish",
            &f.full,
            Some(json!({ "sessions": six })),
        ))
        .await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(over.code(), "bulk_cap_exceeded");
    let view = f.get(&f.full, "/api/v1/monitor").await;
    assert_eq!(view["counters"]["geral"], 5, "nothing was finished");

    // A restricted admin of team A: its session is finished, team B's is reported unknown
    // (and left alone), a session that does not exist likewise.
    let (_, team_a) = f.restricted().await;
    let mut answer = f
        .app
        .call(req(
            "POST",
            "/api/v1/sessions/finish",
            &team_a,
            Some(json!({ "sessions": [f.a[0].0, f.b[0].0, 999] })),
        ))
        .await
        .json();
    let results = answer["results"].as_array().unwrap().clone();
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[1]["code"], "unknown_session");
    assert_eq!(results[2]["code"], "unknown_session");
    assert_eq!(
        results[1]["message"]
            .as_str()
            .unwrap()
            .replace(&f.b[0].0.to_string(), "N"),
        results[2]["message"].as_str().unwrap().replace("999", "N"),
        "out of scope reads exactly like nonexistent"
    );
    redact(&mut answer);
    insta::assert_json_snapshot!("bulk_finish_results_pt", answer);
    let view = f.get(&f.full, "/api/v1/monitor").await;
    assert_eq!(view["counters"]["geral"], 4);
    assert!(row_ids(&view, "waiting").contains(&f.b[0].0));

    // English messages by Accept-Language; transfer to a team outside the scope is unknown.
    let mut request = req(
        "POST",
        "/api/v1/sessions/transfer",
        &team_a,
        Some(json!({ "sessions": [f.a[1].0], "to": {"team": f.team_b.0} })),
    );
    request
        .headers_mut()
        .insert(header::ACCEPT_LANGUAGE, "en".parse().unwrap());
    let out_of_scope = f.app.call(request).await;
    assert_eq!(out_of_scope.status, StatusCode::NOT_FOUND);
    assert_eq!(out_of_scope.code(), "unknown_team");

    // The full admin moves two sessions of A to team B in one request.
    let mut request = req(
        "POST",
        "/api/v1/sessions/transfer",
        &f.full,
        Some(json!({ "sessions": [f.a[1].0, f.a[2].0, 999], "to": {"team": f.team_b.0} })),
    );
    request
        .headers_mut()
        .insert(header::ACCEPT_LANGUAGE, "en-US".parse().unwrap());
    let mut moved = f.app.call(request).await.json();
    redact(&mut moved);
    insta::assert_json_snapshot!("bulk_transfer_results_en", moved);
    let view = f.get(&f.full, "/api/v1/monitor").await;
    assert_eq!(view["counters"]["espera"], 4);
    assert_eq!(view["counters"]["humano"], 0);
}

#[tokio::test]
async fn m16_m15_pause_refused_with_the_count_then_logout_requeues() {
    let f = fixture(1).await;
    let agent = f.center.agents[0];
    let reason = ok(
        &f.app.engine.handle,
        json!({"type": "create_pause_reason", "name": "Almoço"}),
    )
    .await;
    let reason = reason
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::PauseReasonCreated { reason } => Some(reason.id.0),
            _ => None,
        })
        .unwrap();
    let pause = |cred: &Cred, lang: &str| {
        let mut r = req(
            "POST",
            &format!("/api/v1/agents/{}/pause", agent.0),
            cred,
            Some(json!({ "reason": reason })),
        );
        r.headers_mut()
            .insert(header::ACCEPT_LANGUAGE, lang.parse().unwrap());
        r
    };
    let refused = f.app.call(pause(&f.full, "pt-BR")).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.code(), "agent_has_open_sessions");
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("3 atendimento(s)")
    );
    let refused = f.app.call(pause(&f.full, "en")).await;
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("3 open session(s)")
    );

    // M-15: log-out puts its sessions back at the front of the queue, protocols kept.
    let before = f.get(&f.full, "/api/v1/monitor").await;
    let protocols: BTreeSet<String> = before["phases"]["human"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["protocol"].as_str().unwrap().to_owned())
        .collect();
    let out = f
        .app
        .call(req(
            "POST",
            &format!("/api/v1/agents/{}/logout", agent.0),
            &f.full,
            None,
        ))
        .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    let after = f.get(&f.full, "/api/v1/monitor").await;
    assert_eq!(after["counters"]["humano"], 0);
    assert_eq!(after["counters"]["espera"], 5);
    let requeued: BTreeSet<String> = after["phases"]["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["protocol"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(requeued, protocols);
    assert!(after["agents"].as_array().unwrap().is_empty(), "logged out");

    // Logged in again with no session: pause and resume work.
    ok(
        &f.app.engine.handle,
        json!({"type": "agent_login", "agent": agent}),
    )
    .await;
    ok(
        &f.app.engine.handle,
        json!({"type": "agent_logout", "agent": agent, "by": {"agent": agent}}),
    )
    .await;
    ok(
        &f.app.engine.handle,
        json!({"type": "agent_login", "agent": agent}),
    )
    .await;
    settle(&f.app).await;
    // Distribution gave it sessions again; transfer them away to pause it.
    let view = f.get(&f.full, "/api/v1/monitor").await;
    let mine: Vec<u64> = row_ids(&view, "human").into_iter().collect();
    for chunk in mine.chunks(5) {
        let r = f
            .app
            .call(req(
                "POST",
                "/api/v1/sessions/finish",
                &f.full,
                Some(json!({ "sessions": chunk })),
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    settle(&f.app).await;
    let view = f.get(&f.full, "/api/v1/monitor").await;
    if view["agents"][0]["open"] == 0 {
        let paused = f.app.call(pause(&f.full, "pt-BR")).await;
        assert_eq!(paused.status, StatusCode::OK, "{}", paused.body);
        let view = f.get(&f.full, "/api/v1/monitor").await;
        assert_eq!(view["agents"][0]["status"], "paused");
        assert_eq!(view["agents"][0]["pause_reason"]["name"], "Almoço");
        let resumed = f
            .app
            .call(req(
                "POST",
                &format!("/api/v1/agents/{}/resume", agent.0),
                &f.full,
                None,
            ))
            .await;
        assert_eq!(resumed.status, StatusCode::OK);
    }
    // Every attempt is in the audit log with its outcome.
    let audit = f.get(&f.full, "/api/v1/audit?action=agent.pause").await;
    let outcomes: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"agent_has_open_sessions"),
        "{outcomes:?}"
    );
    let logout = f.get(&f.full, "/api/v1/audit?action=agent.logout").await;
    assert_eq!(logout.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn m60_restricted_admin_sees_exactly_its_team() {
    let f = fixture(2).await;
    let (_, team_a) = f.restricted().await;
    let view = f.get(&team_a, "/api/v1/monitor").await;
    assert_eq!(view["counters"]["geral"], 3);
    assert_eq!(view["unfiltered_counters"]["geral"], 3);
    let all_rows: BTreeSet<u64> = ["bot", "waiting", "human"]
        .iter()
        .flat_map(|p| row_ids(&view, p))
        .collect();
    assert_eq!(all_rows, f.a.iter().map(|s| s.0).collect());
    let teams: Vec<u64> = view["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(teams, vec![f.center.team.0]);
    // A filter cannot reach outside the scope.
    let outside = f
        .get(&team_a, &format!("/api/v1/monitor?team={}", f.team_b.0))
        .await;
    assert_eq!(outside["counters"]["geral"], 0);
    let options = f.get(&team_a, "/api/v1/monitor/options").await;
    let option_teams: Vec<u64> = options["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(option_teams, vec![f.center.team.0]);
    // Follow and history of a session outside: 404, like one that does not exist.
    for what in ["follow", "history"] {
        let out = f
            .app
            .call(req(
                "GET",
                &format!("/api/v1/sessions/{}/{what}", f.b[0].0),
                &team_a,
                None,
            ))
            .await;
        assert_eq!(out.status, StatusCode::NOT_FOUND, "{what}");
        let none = f
            .app
            .call(req(
                "GET",
                &format!("/api/v1/sessions/987654/{what}"),
                &team_a,
                None,
            ))
            .await;
        assert_eq!(none.body, out.body);
    }
}

#[tokio::test]
async fn m14_m23_hidden_cards_are_a_persisted_personal_preference() {
    let f = fixture(2).await;
    let agent = f.center.agents[0];
    let before = f.get(&f.full, "/api/v1/monitor").await;
    let hide = f
        .app
        .call(req(
            "PUT",
            &format!("/api/v1/monitor/hidden/agents/{}", agent.0),
            &f.full,
            None,
        ))
        .await;
    assert_eq!(hide.status, StatusCode::NO_CONTENT);
    let hide = f
        .app
        .call(req(
            "PUT",
            &format!("/api/v1/monitor/hidden/teams/{}", f.team_b.0),
            &f.full,
            None,
        ))
        .await;
    assert_eq!(hide.status, StatusCode::NO_CONTENT);
    let after = f.get(&f.full, "/api/v1/monitor").await;
    assert_eq!(after["counters"], before["counters"], "counters unchanged");
    assert_eq!(after["phases"], before["phases"], "rows unchanged");
    let agent_ids: Vec<u64> = after["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_u64().unwrap())
        .collect();
    assert!(!agent_ids.contains(&agent.0));
    assert_eq!(after["teams"].as_array().unwrap().len(), 1);
    let hidden = f.get(&f.full, "/api/v1/monitor/hidden").await;
    assert_eq!(hidden, json!({"agents": [agent.0], "teams": [f.team_b.0]}));
    // Someone else's screen is untouched.
    let (_, other) = f.app.full_admin("other@example.com").await;
    let theirs = f.get(&Cred::Cookie(other), "/api/v1/monitor").await;
    assert_eq!(theirs["agents"].as_array().unwrap().len(), 2);
    let show = f
        .app
        .call(req(
            "DELETE",
            &format!("/api/v1/monitor/hidden/agents/{}", agent.0),
            &f.full,
            None,
        ))
        .await;
    assert_eq!(show.status, StatusCode::NO_CONTENT);
    let back = f.get(&f.full, "/api/v1/monitor").await;
    assert_eq!(back["agents"].as_array().unwrap().len(), 2);
    let audit = f.get(&f.full, "/api/v1/audit?action=session.hide").await;
    assert_eq!(audit.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn m11_internal_chat_with_unread_counts() {
    let f = fixture(2).await;
    let agent: AgentId = f.center.agents[1];
    let sent = f
        .app
        .call(req(
            "POST",
            &format!("/api/v1/chat/{}", agent.0),
            &f.full,
            Some(json!({"text": "Pode assumir a fila de vendas?"})),
        ))
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    let me = sent.json()["supervisor"].as_u64().unwrap();
    ok(
        &f.app.engine.handle,
        json!({"type": "internal_message", "agent": agent, "supervisor": me, "from_agent": true, "text": "Posso sim"}),
    )
    .await;
    settle(&f.app).await;
    let mut summaries = f.get(&f.full, "/api/v1/chat").await;
    assert_eq!(summaries[0]["unread"], 1);
    redact(&mut summaries);
    insta::assert_json_snapshot!("chat_summaries", summaries);
    let conversation = f.get(&f.full, &format!("/api/v1/chat/{}", agent.0)).await;
    assert_eq!(conversation.as_array().unwrap().len(), 2);
    let read = f
        .app
        .call(req(
            "POST",
            &format!("/api/v1/chat/{}/read", agent.0),
            &f.full,
            None,
        ))
        .await;
    assert_eq!(read.status, StatusCode::NO_CONTENT);
    let summaries = f.get(&f.full, "/api/v1/chat").await;
    assert_eq!(summaries[0]["unread"], 0);
    let empty = f
        .app
        .call(req(
            "POST",
            &format!("/api/v1/chat/{}", agent.0),
            &f.full,
            Some(json!({"text": "  "})),
        ))
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn m41_m40_history_and_follow_with_transcripts() {
    let f = fixture(2).await;
    let first = f.a[0];
    let view = f.get(&f.full, "/api/v1/monitor").await;
    let row = view["phases"]["human"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == first.0)
        .unwrap()
        .clone();
    let agent = row["agent"]["id"].as_u64().unwrap();
    ok(
        &f.app.engine.handle,
        json!({"type": "agent_message", "session": first, "agent": agent, "text": "Como posso ajudar?"}),
    )
    .await;
    let follow = f
        .get(&f.full, &format!("/api/v1/sessions/{}/follow", first.0))
        .await;
    let texts: Vec<&str> = follow["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["oi", "Como posso ajudar?"]);
    let finished = f
        .app
        .call(req(
            "POST",
            "/api/v1/sessions/finish",
            &f.full,
            Some(json!({"sessions": [first.0]})),
        ))
        .await;
    assert_eq!(finished.status, StatusCode::OK);
    // The same customer comes back: the new session's history shows the first one.
    let again = customer_message(&f.app.engine.handle, &f.center, "5511900000000", "voltei").await;
    let second = session_of(&again.events);
    settle(&f.app).await;
    let mut history = f
        .get(&f.full, &format!("/api/v1/sessions/{}/history", second.0))
        .await;
    assert_eq!(history["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(history["sessions"][0]["id"], first.0);
    assert_eq!(history["sessions"][0]["reason"], "by_supervisor");
    redact(&mut history);
    insta::assert_json_snapshot!("history", history);
    let audit = f
        .get(&f.full, "/api/v1/audit?action=session.history_view")
        .await;
    assert_eq!(audit.as_array().unwrap().len(), 1);
    let audit = f.get(&f.full, "/api/v1/audit?action=session.finish").await;
    assert_eq!(audit[0]["target"], format!("session:{}", first.0));
}

/// The keys of a schema's properties in the served document.
fn schema_keys(doc: &Value, name: &str) -> BTreeSet<String> {
    doc["components"]["schemas"][name]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {name} missing"))
        .keys()
        .cloned()
        .collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn openapi_schemas_describe_the_real_answers() {
    let f = fixture(2).await;
    let doc = f
        .app
        .call(req("GET", "/api/openapi.json", &Cred::None, None))
        .await
        .json();
    let view = f.get(&f.full, "/api/v1/monitor").await;
    assert_eq!(schema_keys(&doc, "MonitorView"), keys(&view));
    assert_eq!(schema_keys(&doc, "Counters"), keys(&view["counters"]));
    assert_eq!(
        schema_keys(&doc, "SessionView"),
        keys(&view["phases"]["human"][0])
    );
    assert_eq!(schema_keys(&doc, "AgentCard"), keys(&view["agents"][0]));
    assert_eq!(schema_keys(&doc, "TeamCard"), keys(&view["teams"][0]));
    let options = f.get(&f.full, "/api/v1/monitor/options").await;
    assert_eq!(schema_keys(&doc, "FilterOptions"), keys(&options));
    assert_eq!(
        schema_keys(&doc, "ChannelOption"),
        keys(&options["channels"][0])
    );
}

#[tokio::test]
async fn m16_a_supervisor_who_may_pause_reads_the_pause_reasons() {
    let f = fixture(1).await;
    ok(
        &f.app.engine.handle,
        json!({"type": "create_pause_reason", "name": "Almoço"}),
    )
    .await;
    let app = &f.app;
    let reasons_as = |perms: &'static [&'static str], email: &'static str| {
        let group = app.group(email, false, perms, Some(&[f.center.team]));
        let id = app.account(email, AccountKind::Admin { group });
        async move {
            let cred = Cred::Cookie(app.session(id).await);
            app.call(req("GET", "/api/v1/pause-reasons", &cred, None))
                .await
        }
    };
    // Pausing agents without managing the configuration: the dialog still gets its reasons.
    let pauser = reasons_as(&["monitor.view", "agent.pause"], "pauser@example.com").await;
    assert_eq!(pauser.status, StatusCode::OK, "{}", pauser.body);
    let names: Vec<String> = pauser
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Almoço"]);
    // Neither permission: refused, as before.
    let viewer = reasons_as(&["monitor.view"], "viewer@example.com").await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN, "{}", viewer.body);
}
