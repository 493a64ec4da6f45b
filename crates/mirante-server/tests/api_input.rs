//! Bad input and refusals of the issue-4 API, over HTTP on a real listener: each is a 4xx
//! with a stable code, writes nothing (the durable sequence does not move) and panics
//! nothing. Also: configuration errors with their codes, what a team-restricted
//! administrator may configure, channel tokens bound to one channel, the webhook.
#![allow(clippy::unwrap_used)]

mod api_support;
mod common;

use std::time::Duration;

use api_support::{Api, Reply, Who, serve};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::TestApp;
use mirante_server::feeds::webhook::{hex, hmac_sha256};
use mirante_store::accounts::AccountKind;
use serde_json::{Value, json};
use tokio::sync::mpsc;

struct World {
    app: TestApp,
    api: Api,
    admin: Who,
    team: u64,
    other_team: u64,
    channel: u64,
    token: Who,
    other_channel: u64,
    other_token: Who,
}

async fn world() -> World {
    let app = TestApp::new(false).await;
    let api = Api::new(serve(&app).await);
    let (_, cookie) = app.full_admin("root@example.com").await;
    let admin = Who::Cookie(cookie);
    let team = api
        .post("/api/v1/teams", &admin, json!({"name": "Vendas"}))
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let other_team = api
        .post("/api/v1/teams", &admin, json!({"name": "Suporte"}))
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let flow = api
        .post(
            "/api/v1/flows",
            &admin,
            json!({"name": "direto", "start": "r", "steps": {"r": {"kind": "route", "team": team}}}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let mut channels = Vec::new();
    for name in ["SMS", "Chat"] {
        let channel = api
            .post(
                "/api/v1/channels",
                &admin,
                json!({"kind": "sms", "name": name, "flow": flow}),
            )
            .await
            .expect(201)["id"]
            .as_u64()
            .unwrap();
        let token = api
            .post(
                &format!("/api/v1/channels/{channel}/tokens"),
                &admin,
                json!({"name": name}),
            )
            .await
            .expect(201)["token"]
            .as_str()
            .unwrap()
            .to_owned();
        channels.push((channel, Who::Bearer(token)));
    }
    let (other_channel, other_token) = channels.pop().unwrap();
    let (channel, token) = channels.pop().unwrap();
    World {
        app,
        api,
        admin,
        team,
        other_team,
        channel,
        token,
        other_channel,
        other_token,
    }
}

impl World {
    fn seq(&self) -> u64 {
        self.app.engine.handle.durable_seq()
    }

    /// Asserts a refusal with `status` and `code` that wrote nothing.
    #[track_caller]
    fn refused(&self, reply: &Reply, status: u16, code: &str, seq: u64) {
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (status, code),
            "{}",
            reply.body
        );
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            reply.body
        );
        assert_eq!(self.seq(), seq, "nothing written: {}", reply.body);
    }

    fn messages(&self) -> String {
        format!("/api/v1/channels/{}/messages", self.channel)
    }
}

#[tokio::test]
async fn inbound_messages_are_checked_before_anything_is_written() {
    let w = world().await;
    let api = &w.api;
    let seq = w.seq();
    // Text limit: 4 096 characters (multi-byte ones count as one).
    let long = "é".repeat(4097);
    let r = api
        .post(
            &w.messages(),
            &w.token,
            json!({"contact": "5511900000001", "text": long}),
        )
        .await;
    w.refused(&r, 422, "invalid_input", seq);
    assert!(r.body["message"].as_str().unwrap().contains("text"));
    let exact = "é".repeat(4096);
    api.post(
        &w.messages(),
        &w.token,
        json!({"contact": "5511900000001", "text": exact}),
    )
    .await
    .expect(201);
    let seq = w.seq();
    // Invalid UTF-8, malformed JSON, unknown fields, missing contact.
    let r = api
        .raw(
            "POST",
            &w.messages(),
            &w.token,
            "application/json",
            b"{\"contact\": \"55119\xff\", \"text\": \"oi\"}".to_vec(),
        )
        .await;
    w.refused(&r, 400, "invalid_request", seq);
    let r = api
        .raw(
            "POST",
            &w.messages(),
            &w.token,
            "application/json",
            b"{\"contact\": ".to_vec(),
        )
        .await;
    w.refused(&r, 400, "invalid_request", seq);
    for body in [
        json!({"contact": "1", "text": "oi", "extra": true}),
        json!({"text": "oi"}),
    ] {
        let r = api.post(&w.messages(), &w.token, body).await;
        assert!(r.status.is_client_error(), "{}", r.body);
        assert_eq!(w.seq(), seq);
    }
    // Empty identifier, empty text, too many attachments, a bad message id.
    for (body, field) in [
        (json!({"contact": "  ", "text": "oi"}), "identifier"),
        (json!({"contact": "5511900000002", "text": "  "}), "text"),
        (
            json!({"contact": "5511900000002", "text": "oi",
                "attachments": (0..11).map(|i| json!({"mime": "image/png", "name": format!("{i}.png")})).collect::<Vec<_>>()}),
            "attachments",
        ),
        (
            json!({"contact": "5511900000002", "text": "oi", "message_id": "x".repeat(257)}),
            "external_id",
        ),
    ] {
        let r = api.post(&w.messages(), &w.token, body).await;
        w.refused(&r, 422, "invalid_input", seq);
        assert!(r.body["message"].as_str().unwrap().contains(field));
    }
    // Attachments alone are a message.
    api.post(
        &w.messages(),
        &w.token,
        json!({"contact": "5511900000003", "attachments": [{"mime": "image/jpeg", "url": "https://cdn.example.com/a.jpg", "size": 10}]}),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn a_channel_token_acts_for_its_channel_only() {
    let w = world().await;
    let api = &w.api;
    let seq = w.seq();
    let body = json!({"contact": "5511900000001", "text": "oi"});
    // Another channel's token: not found, like a channel that does not exist.
    let r = api.post(&w.messages(), &w.other_token, body.clone()).await;
    w.refused(&r, 404, "not_found", seq);
    let r = api
        .post("/api/v1/channels/999/messages", &w.token, body.clone())
        .await;
    w.refused(&r, 404, "not_found", seq);
    let r = api
        .get(
            &format!("/api/v1/channels/{}/outbound", w.channel),
            &w.other_token,
        )
        .await;
    assert_eq!(r.status.as_u16(), 404);
    // Administrators are not channels; a channel token is not an administrator.
    let r = api.post(&w.messages(), &w.admin, body.clone()).await;
    w.refused(&r, 403, "forbidden", seq);
    for path in [
        "/api/v1/channels",
        "/api/v1/teams",
        "/api/v1/contacts",
        "/api/v1/me/status",
    ] {
        let r = api.get(path, &w.token).await;
        assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"), "{path}");
    }
    let r = api
        .post(
            &format!("/api/v1/channels/{}/tokens", w.channel),
            &w.token,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 403);
    // Revoked: no longer authenticates.
    let tokens = api.get("/api/v1/tokens", &w.admin).await;
    let id = tokens
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["channel"] == w.channel)
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    api.call(
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        &w.admin,
        json!({}),
    )
    .await
    .expect(204);
    let r = api.post(&w.messages(), &w.token, body).await;
    w.refused(&r, 401, "unauthenticated", seq);
}

#[tokio::test]
async fn delivery_status_is_accepted_only_for_outbound_messages_of_the_channel() {
    let w = world().await;
    let api = &w.api;
    let agent = api
        .post(
            "/api/v1/agents",
            &w.admin,
            json!({"name": "Ana", "email": "ana@example.com", "teams": [w.team]}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let account = w
        .app
        .account("ana.login@example.com", AccountKind::Agent { agent });
    let ana = Who::Cookie(w.app.session(account).await);
    api.post("/api/v1/me/login", &ana, json!({}))
        .await
        .expect(200);
    let first = api
        .post(
            &w.messages(),
            &w.token,
            json!({"contact": "5511900000001", "text": "oi"}),
        )
        .await;
    let customer_message = first.expect(201)["message"].as_u64().unwrap();
    let session = first.body["session"].as_u64().unwrap();
    let reply = api
        .post(
            &format!("/api/v1/me/sessions/{session}/messages"),
            &ana,
            json!({"text": "Olá"}),
        )
        .await;
    let outbound = reply.expect(201)["message"].as_u64().unwrap();
    let seq = w.seq();
    let status = |channel: u64| format!("/api/v1/channels/{channel}/status");
    for (who, channel, message) in [
        (&w.other_token, w.other_channel, outbound),
        (&w.token, w.channel, customer_message),
        (&w.token, w.channel, 999_999),
    ] {
        let r = api
            .post(
                &status(channel),
                who,
                json!({"message": message, "status": "delivered"}),
            )
            .await;
        w.refused(&r, 404, "unknown_message", seq);
    }
    let r = api
        .post(
            &status(w.channel),
            &w.token,
            json!({"message": outbound, "status": "lido"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400);
    api.post(
        &status(w.channel),
        &w.token,
        json!({"message": outbound, "status": "delivered"}),
    )
    .await
    .expect(204);
    assert_eq!(w.seq(), seq + 1);
    // The agent's unknown and foreign sessions: 404; a reply too long: 422.
    let seq = w.seq();
    for (path, body) in [
        ("/api/v1/me/sessions/999/finish", json!({})),
        ("/api/v1/me/sessions/999/messages", json!({"text": "x"})),
        ("/api/v1/me/sessions/999/pull", json!(null)),
        ("/api/v1/me/sessions/999/transfer", json!({"team": w.team})),
    ] {
        let r = api.post(path, &ana, body).await;
        w.refused(&r, 404, "not_found", seq);
    }
    let r = api
        .post(
            &format!("/api/v1/me/sessions/{session}/messages"),
            &ana,
            json!({"text": "a".repeat(4097)}),
        )
        .await;
    w.refused(&r, 422, "invalid_input", seq);
    let r = api
        .post(
            &format!("/api/v1/me/sessions/{session}/transfer"),
            &ana,
            json!({"agent": 1, "team": 1}),
        )
        .await;
    w.refused(&r, 400, "invalid_request", seq);
    let r = api
        .post(
            &format!("/api/v1/me/sessions/{session}/transfer"),
            &ana,
            json!({"team": 999}),
        )
        .await;
    w.refused(&r, 404, "unknown_team", seq);
    let r = api
        .post("/api/v1/me/pause", &ana, json!({"reason": 999}))
        .await;
    w.refused(&r, 404, "unknown_pause_reason", seq);
}

#[tokio::test]
async fn configuration_errors_have_stable_codes_and_write_nothing() {
    let w = world().await;
    let api = &w.api;
    let a = &w.admin;
    let seq = w.seq();
    let agent = |capacity: u32| json!({"name": "Ana", "email": "ana@example.com", "teams": [w.team], "capacity": capacity});
    for capacity in [0, 10_000] {
        let r = api.post("/api/v1/agents", a, agent(capacity)).await;
        w.refused(&r, 422, "invalid_input", seq);
        assert!(r.body["message"].as_str().unwrap().contains("capacity"));
    }
    let team_path = format!("/api/v1/teams/{}", w.team);
    let webhook_path = format!("/api/v1/channels/{}/webhook", w.channel);
    let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
        (
            "POST",
            "/api/v1/agents",
            json!({"name": "Ana", "email": "ana@example.com", "teams": [999]}),
            422,
            "unknown_team",
        ),
        (
            "POST",
            "/api/v1/agents",
            json!({"name": "Ana", "email": "não é e-mail", "teams": [w.team]}),
            422,
            "invalid_input",
        ),
        (
            "PATCH",
            "/api/v1/agents/999",
            json!({"capacity": 3}),
            404,
            "not_found",
        ),
        (
            "PATCH",
            "/api/v1/teams/999",
            json!({"name": "X"}),
            404,
            "not_found",
        ),
        (
            "POST",
            "/api/v1/teams",
            json!({"name": "Vendas"}),
            409,
            "name_taken",
        ),
        (
            "POST",
            "/api/v1/teams",
            json!({"mode": "all"}),
            422,
            "missing_field",
        ),
        (
            "POST",
            "/api/v1/teams",
            json!({"name": "T", "overflow_team": 999}),
            422,
            "unknown_team",
        ),
        (
            "POST",
            "/api/v1/teams",
            json!({"name": "T", "inactivity_timeout_ms": 10}),
            422,
            "invalid_input",
        ),
        (
            "POST",
            "/api/v1/teams",
            json!({"name": "T", "mode": "aleatório"}),
            400,
            "invalid_request",
        ),
        (
            "PATCH",
            &team_path,
            json!({"overflow_team": w.team}),
            422,
            "invalid_input",
        ),
        (
            "PATCH",
            &team_path,
            json!({"wrapup_codes": ["a", "a"]}),
            422,
            "invalid_input",
        ),
        (
            "POST",
            "/api/v1/channels",
            json!({"kind": "api", "name": "SMS"}),
            409,
            "name_taken",
        ),
        (
            "POST",
            "/api/v1/channels",
            json!({"kind": "fax", "name": "Fax"}),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/api/v1/channels",
            json!({"kind": "api", "name": "X", "flow": 999}),
            404,
            "unknown_flow",
        ),
        (
            "PATCH",
            "/api/v1/channels/999",
            json!({"enabled": false}),
            404,
            "unknown_channel",
        ),
        (
            "POST",
            "/api/v1/pause-reasons",
            json!({"name": "Longa", "max_duration_ms": 1}),
            422,
            "invalid_input",
        ),
        (
            "PATCH",
            "/api/v1/pause-reasons/999",
            json!({"enabled": false}),
            404,
            "unknown_pause_reason",
        ),
        (
            "PATCH",
            "/api/v1/settings",
            json!({"time_zone": "Marte/Olympus"}),
            422,
            "unknown_time_zone",
        ),
        (
            "PATCH",
            "/api/v1/settings",
            json!({"bulk_cap": 0}),
            422,
            "invalid_input",
        ),
        (
            "PATCH",
            "/api/v1/contacts/999",
            json!({"name": "X"}),
            404,
            "unknown_contact",
        ),
        (
            "PUT",
            &webhook_path,
            json!({"url": "ftp://x", "secret": "0123456789abcdef"}),
            422,
            "invalid_input",
        ),
        (
            "PUT",
            &webhook_path,
            json!({"url": "http://x", "secret": "curto"}),
            422,
            "invalid_input",
        ),
        ("DELETE", &webhook_path, json!({}), 404, "not_found"),
    ];
    for (method, path, body, status, code) in cases {
        let r = api.call(method, path, a, body.clone()).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (status, code),
            "{method} {path} {body}: {}",
            r.body
        );
        assert_eq!(w.seq(), seq, "{method} {path} wrote");
    }
    // English on request.
    let r = api
        .send(
            api.http
                .post(format!("{}/api/v1/agents", api.base))
                .header(
                    "cookie",
                    match a {
                        Who::Cookie(c) => format!("mirante_session={c}"),
                        Who::Bearer(_) => unreachable!(),
                    },
                )
                .header("origin", &api.base)
                .header("accept-language", "en")
                .json(&agent(0)),
        )
        .await;
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid capacity"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn broken_flows_are_refused_with_their_position() {
    let w = world().await;
    let api = &w.api;
    let seq = w.seq();
    // Routing to a team that does not exist: line and column of the team.
    let json_flow = "{\n  \"name\": \"Quebrado\",\n  \"start\": \"r\",\n  \"steps\": {\n    \"r\": {\"kind\": \"route\", \"team\": 999}\n  }\n}";
    let r = api
        .raw(
            "POST",
            "/api/v1/flows",
            &w.admin,
            "application/json",
            json_flow.into(),
        )
        .await;
    w.refused(&r, 422, "flow_unknown_team", seq);
    let message = r.body["message"].as_str().unwrap();
    assert!(message.contains("linha 5"), "{message}");
    assert!(message.contains("steps.r.team"), "{message}");
    let toml_flow = "name = \"Quebrado\"\nstart = \"menu\"\n\n[steps.menu]\nkind = \"menu\"\ntext = \"Escolha\"\noptions = [{ key = \"1\", label = \"A\", next = \"nenhum\" }]\n";
    let r = api
        .raw(
            "POST",
            "/api/v1/flows",
            &w.admin,
            "application/toml",
            toml_flow.into(),
        )
        .await;
    w.refused(&r, 422, "flow_unknown_step", seq);
    assert!(
        r.body["message"].as_str().unwrap().contains("linha 7"),
        "{}",
        r.body
    );
    let r = api
        .raw(
            "POST",
            "/api/v1/flows",
            &w.admin,
            "application/toml",
            b"name = \"x\"\nstart = [".to_vec(),
        )
        .await;
    w.refused(&r, 422, "flow_syntax", seq);
    let r = api
        .raw(
            "POST",
            "/api/v1/flows",
            &w.admin,
            "application/toml",
            b"name = \"\xff\"".to_vec(),
        )
        .await;
    w.refused(&r, 400, "invalid_request", seq);
    let r = api
        .raw(
            "PUT",
            "/api/v1/flows/999",
            &w.admin,
            "application/json",
            b"{\"name\": \"x\", \"start\": \"f\", \"steps\": {\"f\": {\"kind\": \"finish\"}}}"
                .to_vec(),
        )
        .await;
    w.refused(&r, 404, "unknown_flow", seq);
    // A disabled team is as good as missing for a new flow.
    api.patch(
        &format!("/api/v1/teams/{}", w.other_team),
        &w.admin,
        json!({"enabled": false}),
    )
    .await
    .expect(200);
    let seq = w.seq();
    let r = api
        .post(
            "/api/v1/flows",
            &w.admin,
            json!({"name": "y", "start": "r", "steps": {"r": {"kind": "route", "team": w.other_team}}}),
        )
        .await;
    w.refused(&r, 422, "flow_unknown_team", seq);
}

#[tokio::test]
async fn a_channel_with_open_sessions_cannot_be_deleted() {
    let w = world().await;
    let api = &w.api;
    api.post(
        &w.messages(),
        &w.token,
        json!({"contact": "5511900000001", "text": "oi"}),
    )
    .await
    .expect(201);
    let seq = w.seq();
    let r = api
        .call(
            "DELETE",
            &format!("/api/v1/channels/{}", w.channel),
            &w.admin,
            json!({}),
        )
        .await;
    w.refused(&r, 409, "channel_has_open_sessions", seq);
    api.call(
        "DELETE",
        &format!("/api/v1/channels/{}", w.other_channel),
        &w.admin,
        json!({}),
    )
    .await
    .expect(204);
    let r = api
        .get(&format!("/api/v1/channels/{}", w.other_channel), &w.admin)
        .await;
    assert_eq!(r.status.as_u16(), 404);
}

#[tokio::test]
async fn a_team_restricted_administrator_configures_its_teams_and_their_agents_only() {
    let w = world().await;
    let api = &w.api;
    let all: Vec<&str> = mirante_auth::Permission::ALL
        .iter()
        .map(|p| p.as_str())
        .collect();
    let group = w
        .app
        .group("Vendas", false, &all, Some(&[mirante_core::TeamId(w.team)]));
    let account = w
        .app
        .account("vendas@example.com", AccountKind::Admin { group });
    let r = Who::Cookie(w.app.session(account).await);
    let both = api
        .post(
            "/api/v1/agents",
            &w.admin,
            json!({"name": "Duda", "email": "duda@example.com", "teams": [w.team, w.other_team]}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let outside = api
        .post(
            "/api/v1/agents",
            &w.admin,
            json!({"name": "Edu", "email": "edu@example.com", "teams": [w.other_team]}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let mine = api
        .post(
            "/api/v1/agents",
            &r,
            json!({"name": "Fabi", "email": "fabi@example.com", "teams": [w.team]}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    // Exactly its teams and the agents in them.
    let ids = |v: &Value| -> Vec<u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(api.get("/api/v1/teams", &r).await.expect(200)),
        [w.team]
    );
    assert_eq!(
        ids(api.get("/api/v1/agents", &r).await.expect(200)),
        [both, mine]
    );
    assert_eq!(
        ids(api.get("/api/v1/agents", &w.admin).await.expect(200)),
        [both, outside, mine]
    );
    let seq = w.seq();
    for (method, path, body, status) in [
        ("GET", format!("/api/v1/agents/{outside}"), json!({}), 404),
        (
            "PATCH",
            format!("/api/v1/agents/{outside}"),
            json!({"capacity": 2}),
            404,
        ),
        (
            "PATCH",
            format!("/api/v1/teams/{}", w.other_team),
            json!({"name": "X"}),
            404,
        ),
        (
            "POST",
            "/api/v1/teams".to_owned(),
            json!({"name": "Nova"}),
            403,
        ),
        (
            "POST",
            "/api/v1/channels".to_owned(),
            json!({"kind": "api", "name": "Novo"}),
            403,
        ),
        (
            "PATCH",
            "/api/v1/settings".to_owned(),
            json!({"bulk_cap": 3}),
            403,
        ),
        (
            "POST",
            "/api/v1/pause-reasons".to_owned(),
            json!({"name": "Café"}),
            403,
        ),
        (
            "POST",
            "/api/v1/agents".to_owned(),
            json!({"name": "G", "email": "g@example.com", "teams": [w.other_team]}),
            422,
        ),
        (
            "POST",
            "/api/v1/agents".to_owned(),
            json!({"name": "G", "email": "g@example.com"}),
            422,
        ),
        (
            "PATCH",
            format!("/api/v1/teams/{}", w.team),
            json!({"overflow_team": w.other_team}),
            422,
        ),
        (
            "POST",
            format!("/api/v1/channels/{}/tokens", w.channel),
            json!({"name": "x"}),
            403,
        ),
    ] {
        let reply = api.call(method, &path, &r, body).await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {path}: {}",
            reply.body
        );
        assert_eq!(w.seq(), seq, "{method} {path} wrote");
    }
    // Its team set replaces only the part inside its scope.
    let patched = api
        .patch(
            &format!("/api/v1/agents/{both}"),
            &r,
            json!({"teams": [], "capacity": 2}),
        )
        .await;
    assert_eq!(patched.expect(200)["teams"], json!([w.other_team]));
    assert_eq!(patched.body["capacity"], 2);
    // It reads shared configuration.
    api.get("/api/v1/channels", &r).await.expect(200);
    api.get("/api/v1/flows", &r).await.expect(200);
    api.get("/api/v1/settings", &r).await.expect(200);
}

#[tokio::test]
async fn contacts_are_found_by_exact_name_or_normalised_number_and_corrected() {
    let w = world().await;
    let api = &w.api;
    for (who, name) in [
        ("+55 (35) 99876-5432", "Maria Luiza de Santos Reis"),
        ("5511912345678", "João"),
    ] {
        api.post(
            &w.messages(),
            &w.token,
            json!({"contact": who, "name": name, "text": "oi"}),
        )
        .await
        .expect(201);
    }
    let search = |q: &str| {
        let q = q
            .replace(' ', "%20")
            .replace('+', "%2B")
            .replace('(', "%28")
            .replace(')', "%29");
        format!("/api/v1/contacts?q={q}")
    };
    let found = api
        .get(&search("Maria Luiza de Santos Reis"), &w.admin)
        .await;
    assert_eq!(found.expect(200).as_array().unwrap().len(), 1);
    assert_eq!(found.body[0]["number"], "5535998765432");
    let by_number = api.get(&search("+55 (35) 99876-5432"), &w.admin).await;
    assert_eq!(
        by_number.expect(200)[0]["name"],
        "Maria Luiza de Santos Reis"
    );
    assert!(
        api.get(&search("Maria"), &w.admin)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        api.get("/api/v1/contacts", &w.admin)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let id = found.body[0]["id"].as_u64().unwrap();
    let patched = api
        .patch(
            &format!("/api/v1/contacts/{id}"),
            &w.admin,
            json!({"name": "Maria L. Reis", "number": "+55 35 3333-4444"}),
        )
        .await;
    assert_eq!(patched.expect(200)["number"], "553533334444");
    let seq = w.seq();
    let r = api
        .patch(
            &format!("/api/v1/contacts/{id}"),
            &w.admin,
            json!({"number": "não é número"}),
        )
        .await;
    w.refused(&r, 422, "invalid_input", seq);
    assert_eq!(
        api.get(&format!("/api/v1/contacts/{id}"), &w.admin)
            .await
            .body["name"],
        "Maria L. Reis"
    );
}

/// What the webhook receiver passes on, and how many calls it had.
type Receiver = (
    mpsc::UnboundedSender<(HeaderMap, Vec<u8>)>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
);

/// The webhook receiver: the first delivery fails with 500, later ones succeed.
async fn receiver(
    State(state): State<Receiver>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let (tx, calls) = state;
    let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let _ = tx.send((headers, body.to_vec()));
    if n == 0 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

#[tokio::test]
async fn the_webhook_receives_signed_outbound_messages_and_retries() {
    let w = world().await;
    let api = &w.api;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hook = axum::Router::new()
        .route("/hook", axum::routing::post(receiver))
        .with_state((tx, calls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });
    let secret = "um segredo bem comprido";
    let registered = api
        .call(
            "PUT",
            &format!("/api/v1/channels/{}/webhook", w.channel),
            &w.token,
            json!({"url": url, "secret": secret}),
        )
        .await;
    assert_eq!(registered.expect(200)["url"], url.as_str());
    // A system message reaches the customer when the team has a closing message: use the
    // team's no-agent path instead — a flow that finishes says goodbye.
    let flow = api
        .post(
            "/api/v1/flows",
            &w.admin,
            json!({"name": "tchau", "start": "f", "steps": {"f": {"kind": "finish", "text": "Até logo!"}}}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    api.patch(
        &format!("/api/v1/channels/{}", w.channel),
        &w.admin,
        json!({"flow": flow}),
    )
    .await
    .expect(200);
    api.post(
        &w.messages(),
        &w.token,
        json!({"contact": "5511900000009", "text": "oi"}),
    )
    .await
    .expect(201);
    let wait = Duration::from_secs(10);
    let (first_headers, first_body) = tokio::time::timeout(wait, rx.recv())
        .await
        .unwrap()
        .unwrap();
    let (headers, body) = tokio::time::timeout(wait, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first_body, body, "the refused delivery is retried as is");
    assert_eq!(first_headers["x-mirante-seq"], headers["x-mirante-seq"]);
    let signature = format!("sha256={}", hex(&hmac_sha256(secret.as_bytes(), &body)));
    assert_eq!(headers["x-mirante-signature"].to_str().unwrap(), signature);
    let message: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(message["text"], "Até logo!");
    assert_eq!(message["to"], "5511900000009");
    assert_eq!(message["author"], "bot");
    // The pull feed has it too, at the same cursor.
    let page = api
        .get(
            &format!("/api/v1/channels/{}/outbound?after=0", w.channel),
            &w.token,
        )
        .await;
    assert_eq!(page.expect(200)["messages"][0]["seq"], message["seq"]);
    api.call(
        "DELETE",
        &format!("/api/v1/channels/{}/webhook", w.channel),
        &w.token,
        json!({}),
    )
    .await
    .expect(204);
}
