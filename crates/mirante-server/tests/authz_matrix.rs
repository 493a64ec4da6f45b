//! The authorization matrix (issue 3): every route × {anonymous, agent, full admin, admin
//! without the permission, team-restricted admin inside / outside its team} → the expected
//! status; for reads with a scope, the exact visible set.
//!
//! Forgetting a route is impossible: the test reads the served OpenAPI document (built
//! from the same `routes!` as the router) and fails on any path + method missing from
//! [`table`], and on any row the document does not have. Routes outside the document are
//! listed in [`NON_OPENAPI`] and checked too.
//!
//! To add a route: declare it with `#[utoipa::path]` + `routes!` (it appears in the
//! document), then add a row to [`table`] with its request for an in-scope and an
//! out-of-scope target and the six expected statuses.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;
use common::{Cred, TestApp, ok, req};
use mirante_auth::ThrottleRule;
use mirante_core::{AgentId, EventKind, TeamId};
use mirante_server::auth::AuthConfig;
use mirante_store::accounts::{AccountKind, ApiToken, MemoryAccounts};
use serde_json::{Value, json};

/// Routes outside the OpenAPI document: (method, path, expected status for anyone).
const NON_OPENAPI: &[(&str, &str, u16)] = &[
    ("GET", "/healthz", 200),
    ("GET", "/metrics", 200),
    ("GET", "/api/openapi.json", 200),
    ("GET", "/api/docs/", 200),
];

/// The callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Persona {
    Anonymous,
    Agent,
    Full,
    NoPermission,
    TeamIn,
    TeamOut,
}

const PERSONAS: [Persona; 6] = [
    Persona::Anonymous,
    Persona::Agent,
    Persona::Full,
    Persona::NoPermission,
    Persona::TeamIn,
    Persona::TeamOut,
];

/// The fixture: two teams, agents in each, accounts, groups and tokens on both sides.
struct World {
    app: TestApp,
    team_in: TeamId,
    team_out: TeamId,
    agent_account: u64,
    full_account: u64,
    noperm_account: u64,
    restricted_account: u64,
    /// An agent login inside / outside the restricted admin's team.
    user_in: u64,
    user_out: u64,
    /// An administrator inside the restricted admin's team, and a full one.
    admin_in: u64,
    /// Groups inside (restricted to team_in) and outside (the default, unrestricted).
    group_in: u64,
    group_out: u64,
    token_in: u64,
    token_out: u64,
    /// Monitor fixtures: an agent and a waiting session in each team, a pause reason.
    agent_in: AgentId,
    agent_out: AgentId,
    session_in: u64,
    session_out: u64,
    pause_reason: u64,
    counter: AtomicU64,
}

/// A waiting session in `team` (a flow routing straight to it; nobody online).
async fn waiting_session(app: &TestApp, team: TeamId, who: &str) -> u64 {
    let flow = ok(
        &app.engine.handle,
        json!({"type": "create_flow", "def": {"name": format!("fluxo {who}"), "start": "r",
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
        &app.engine.handle,
        json!({"type": "create_channel", "kind": "webchat", "name": format!("Chat {who}"), "flow": flow}),
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
    let started = ok(
        &app.engine.handle,
        json!({"type": "customer_message", "channel": channel, "identifier": who, "text": "oi"}),
    )
    .await;
    let session = started
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::SessionStarted { session, .. } => Some(session.0),
            _ => None,
        })
        .unwrap();
    app.state.monitor.wait_for(started.seq).await;
    session
}

async fn create_team(app: &TestApp, name: &str) -> TeamId {
    let done = ok(
        &app.engine.handle,
        json!({"type": "create_team", "name": name}),
    )
    .await;
    done.events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::TeamCreated { team } => Some(team.id),
            _ => None,
        })
        .unwrap()
}

async fn create_agent(app: &TestApp, name: &str, team: TeamId) -> AgentId {
    let done = ok(
        &app.engine.handle,
        json!({"type": "create_agent", "name": name, "email": format!("{name}@example.com"), "teams": [team]}),
    )
    .await;
    done.events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::AgentCreated { agent } => Some(agent.id),
            _ => None,
        })
        .unwrap()
}

fn token(app: &TestApp, creator: u64, teams: Option<Vec<u64>>, secret: &str) -> u64 {
    app.accounts
        .insert_token(&ApiToken {
            id: 0,
            name: "fixture".into(),
            secret_hash: mirante_server::auth::secret::fingerprint(secret),
            creator,
            permissions: vec!["monitor.view".into()],
            teams,
            channel: None,
            created_ms: common::T0,
            last_used_ms: None,
            revoked_ms: None,
        })
        .unwrap()
}

async fn world() -> World {
    let config = AuthConfig {
        address_throttle: ThrottleRule {
            max_failures: 10_000,
            window_ms: 1,
        },
        ..AuthConfig::default()
    };
    let app = TestApp::with(config, true, Arc::new(MemoryAccounts::new())).await;
    let team_in = create_team(&app, "Vendas").await;
    let team_out = create_team(&app, "Suporte").await;
    let a_in = create_agent(&app, "ana", team_in).await;
    let a_out = create_agent(&app, "bia", team_out).await;
    let all: Vec<&str> = mirante_auth::Permission::ALL
        .iter()
        .map(|p| p.as_str())
        .collect();
    let limited = app.group("Só monitor", false, &["monitor.view"], None);
    let restricted = app.group("Vendas", false, &all, Some(&[team_in]));
    let group_in = app.group("Vendas 2", false, &["monitor.view"], Some(&[team_in]));
    let full_account = app.account("full@example.com", AccountKind::Admin { group: 1 });
    let noperm_account = app.account("noperm@example.com", AccountKind::Admin { group: limited });
    let restricted_account =
        app.account("team@example.com", AccountKind::Admin { group: restricted });
    let agent_account = app.account("ana@example.com", AccountKind::Agent { agent: a_in.0 });
    let user_out = app.account("bia@example.com", AccountKind::Agent { agent: a_out.0 });
    let admin_in = app.account(
        "vendas2@example.com",
        AccountKind::Admin { group: group_in },
    );
    let token_in = token(&app, full_account, Some(vec![team_in.0]), "mrt_in");
    let token_out = token(&app, full_account, None, "mrt_out");
    let session_in = waiting_session(&app, team_in, "5511911110001").await;
    let session_out = waiting_session(&app, team_out, "5511911110002").await;
    let reason = ok(
        &app.engine.handle,
        json!({"type": "create_pause_reason", "name": "Almoço"}),
    )
    .await;
    let pause_reason = reason
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::PauseReasonCreated { reason } => Some(reason.id.0),
            _ => None,
        })
        .unwrap();
    app.state.monitor.wait_for(reason.seq).await;
    World {
        app,
        team_in,
        team_out,
        agent_account,
        full_account,
        noperm_account,
        restricted_account,
        user_in: agent_account,
        user_out,
        admin_in,
        group_in,
        group_out: 1,
        token_in,
        token_out,
        agent_in: a_in,
        agent_out: a_out,
        session_in,
        session_out,
        pause_reason,
        counter: AtomicU64::new(0),
    }
}

impl World {
    /// A fresh session for `persona` (so that log-outs in one row do not affect others).
    async fn cred(&self, persona: Persona) -> Cred {
        let account = match persona {
            Persona::Anonymous => return Cred::None,
            Persona::Agent => self.agent_account,
            Persona::Full => self.full_account,
            Persona::NoPermission => self.noperm_account,
            Persona::TeamIn | Persona::TeamOut => self.restricted_account,
        };
        Cred::Cookie(self.app.session(account).await)
    }

    fn n(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst)
    }
}

/// One row: a route, its request for an in-scope (`true`) / out-of-scope target, and the
/// expected statuses for [`PERSONAS`] in order.
struct Row {
    method: &'static str,
    path: &'static str,
    request: fn(&World, bool) -> (String, Option<Value>),
    expect: [u16; 6],
}

fn table() -> Vec<Row> {
    fn no_body(uri: &str) -> (String, Option<Value>) {
        (uri.to_owned(), None)
    }
    vec![
        Row {
            method: "POST",
            path: "/api/v1/auth/login",
            request: |w, _| {
                (
                    "/api/v1/auth/login".into(),
                    Some(
                        json!({"email": format!("nobody{}@example.com", w.n()), "password": "wrong password"}),
                    ),
                )
            },
            expect: [401, 401, 401, 401, 401, 401],
        },
        Row {
            method: "GET",
            path: "/api/v1/auth/me",
            request: |_, _| no_body("/api/v1/auth/me"),
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "POST",
            path: "/api/v1/auth/logout",
            request: |_, _| no_body("/api/v1/auth/logout"),
            expect: [401, 204, 204, 204, 204, 204],
        },
        Row {
            method: "POST",
            path: "/api/v1/auth/logout-all",
            request: |_, _| no_body("/api/v1/auth/logout-all"),
            expect: [401, 204, 204, 204, 204, 204],
        },
        Row {
            method: "POST",
            path: "/api/v1/auth/password-reset",
            request: |_, _| {
                (
                    "/api/v1/auth/password-reset".into(),
                    Some(json!({"email": "nobody@example.com"})),
                )
            },
            expect: [202, 202, 202, 202, 202, 202],
        },
        Row {
            method: "POST",
            path: "/api/v1/auth/password-reset/confirm",
            request: |_, _| {
                (
                    "/api/v1/auth/password-reset/confirm".into(),
                    Some(json!({"token": "nope", "password": "a long new password"})),
                )
            },
            expect: [400, 400, 400, 400, 400, 400],
        },
        Row {
            method: "GET",
            path: "/api/v1/users",
            request: |_, _| no_body("/api/v1/users"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "POST",
            path: "/api/v1/users",
            request: |w, inside| {
                (
                    "/api/v1/users".into(),
                    Some(json!({
                  "email": format!("new{}@example.com", w.n()), "name": "Novo", "kind": "admin",
                  "group": if inside { w.group_in } else { w.group_out }, "password": "a long password"})),
                )
            },
            expect: [401, 403, 201, 403, 201, 422],
        },
        Row {
            method: "GET",
            path: "/api/v1/users/{id}",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/users/{}",
                    if inside { w.user_in } else { w.user_out }
                ))
            },
            expect: [401, 403, 200, 403, 200, 404],
        },
        Row {
            method: "PATCH",
            path: "/api/v1/users/{id}",
            request: |w, inside| {
                (
                    format!(
                        "/api/v1/users/{}",
                        if inside { w.admin_in } else { w.user_out }
                    ),
                    Some(json!({"nickname": "Nick"})),
                )
            },
            expect: [401, 403, 200, 403, 200, 404],
        },
        Row {
            method: "GET",
            path: "/api/v1/groups",
            request: |_, _| no_body("/api/v1/groups"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "POST",
            path: "/api/v1/groups",
            request: |w, inside| {
                (
                    "/api/v1/groups".into(),
                    Some(json!({
                  "name": format!("Grupo {}", w.n()), "permissions": ["monitor.view"],
                  "teams": [if inside { w.team_in.0 } else { w.team_out.0 }]})),
                )
            },
            expect: [401, 403, 201, 403, 201, 422],
        },
        Row {
            method: "GET",
            path: "/api/v1/groups/{id}",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/groups/{}",
                    if inside { w.group_in } else { w.group_out }
                ))
            },
            expect: [401, 403, 200, 403, 200, 404],
        },
        Row {
            method: "PATCH",
            path: "/api/v1/groups/{id}",
            request: |w, inside| {
                (
                    format!(
                        "/api/v1/groups/{}",
                        if inside { w.group_in } else { w.group_out }
                    ),
                    Some(json!({"name": format!("Renomeado {}", w.n())})),
                )
            },
            expect: [401, 403, 200, 403, 200, 404],
        },
        Row {
            method: "GET",
            path: "/api/v1/tokens",
            request: |_, _| no_body("/api/v1/tokens"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "POST",
            path: "/api/v1/tokens",
            request: |w, inside| {
                (
                    "/api/v1/tokens".into(),
                    Some(json!({
                  "name": "integração", "permissions": ["monitor.view"],
                  "teams": [if inside { w.team_in.0 } else { w.team_out.0 }]})),
                )
            },
            expect: [401, 403, 201, 403, 201, 422],
        },
        Row {
            method: "DELETE",
            path: "/api/v1/tokens/{id}",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/tokens/{}",
                    if inside { w.token_in } else { w.token_out }
                ))
            },
            expect: [401, 403, 204, 403, 204, 404],
        },
        Row {
            method: "GET",
            path: "/api/v1/audit",
            request: |_, _| no_body("/api/v1/audit"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "GET",
            path: "/api/v1/audit.csv",
            request: |_, _| no_body("/api/v1/audit.csv"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "POST",
            path: "/api/v1/commands",
            request: |w, _| {
                (
                    "/api/v1/commands".into(),
                    Some(json!({"type": "create_team", "name": format!("Equipe {}", w.n())})),
                )
            },
            expect: [401, 403, 200, 403, 403, 403],
        },
        Row {
            method: "GET",
            path: "/api/v1/debug/state",
            request: |_, _| no_body("/api/v1/debug/state"),
            expect: [401, 403, 200, 403, 403, 403],
        },
        // ---- monitor (issue 5) ------------------------------------------------------------
        Row {
            method: "GET",
            path: "/api/v1/monitor",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/monitor?team={}",
                    if inside { w.team_in.0 } else { w.team_out.0 }
                ))
            },
            expect: [401, 403, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            path: "/api/v1/monitor/options",
            request: |_, _| no_body("/api/v1/monitor/options"),
            expect: [401, 403, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            path: "/api/v1/monitor/hidden",
            request: |_, _| no_body("/api/v1/monitor/hidden"),
            expect: [401, 403, 200, 200, 200, 200],
        },
        Row {
            method: "PUT",
            path: "/api/v1/monitor/hidden/agents/{id}",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/monitor/hidden/agents/{}",
                    if inside { w.agent_in.0 } else { w.agent_out.0 }
                ))
            },
            expect: [401, 403, 204, 204, 204, 404],
        },
        Row {
            method: "DELETE",
            path: "/api/v1/monitor/hidden/agents/{id}",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/monitor/hidden/agents/{}",
                    if inside { w.agent_in.0 } else { w.agent_out.0 }
                ))
            },
            expect: [401, 403, 204, 204, 204, 404],
        },
        Row {
            method: "PUT",
            path: "/api/v1/monitor/hidden/teams/{id}",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/monitor/hidden/teams/{}",
                    if inside { w.team_in.0 } else { w.team_out.0 }
                ))
            },
            expect: [401, 403, 204, 204, 204, 404],
        },
        Row {
            method: "DELETE",
            path: "/api/v1/monitor/hidden/teams/{id}",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/monitor/hidden/teams/{}",
                    if inside { w.team_in.0 } else { w.team_out.0 }
                ))
            },
            expect: [401, 403, 204, 204, 204, 404],
        },
        // The streams: in-process requests carry no upgrade (400 once authorized); the
        // real-socket checks are in tests/monitor_live.rs.
        Row {
            method: "GET",
            path: "/api/v1/monitor/live",
            request: |_, _| no_body("/api/v1/monitor/live"),
            expect: [401, 403, 400, 400, 400, 400],
        },
        Row {
            method: "GET",
            path: "/api/v1/monitor/events",
            request: |_, _| no_body("/api/v1/monitor/events?team=not-a-number"),
            expect: [401, 403, 400, 400, 400, 400],
        },
        // Bulk actions answer per session: out of scope is `unknown_session` (tests/monitor_api.rs).
        Row {
            method: "POST",
            path: "/api/v1/sessions/finish",
            request: |_, _| {
                (
                    "/api/v1/sessions/finish".into(),
                    Some(json!({"sessions": [999_999]})),
                )
            },
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "POST",
            path: "/api/v1/sessions/transfer",
            request: |w, inside| {
                (
                    "/api/v1/sessions/transfer".into(),
                    Some(json!({"sessions": [999_999],
                        "to": {"team": if inside { w.team_in.0 } else { w.team_out.0 }}})),
                )
            },
            expect: [401, 403, 200, 403, 200, 404],
        },
        Row {
            method: "GET",
            path: "/api/v1/sessions/{id}/follow",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/sessions/{}/follow",
                    if inside { w.session_in } else { w.session_out }
                ))
            },
            expect: [401, 403, 200, 403, 200, 404],
        },
        Row {
            method: "GET",
            path: "/api/v1/sessions/{id}/history",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/sessions/{}/history",
                    if inside { w.session_in } else { w.session_out }
                ))
            },
            expect: [401, 403, 200, 403, 200, 404],
        },
        // Agents are offline in the fixture: an authorized, in-scope request reaches the core
        // and is refused there (409); out of scope it is unknown (404).
        Row {
            method: "POST",
            path: "/api/v1/agents/{id}/pause",
            request: |w, inside| {
                (
                    format!(
                        "/api/v1/agents/{}/pause",
                        if inside { w.agent_in.0 } else { w.agent_out.0 }
                    ),
                    Some(json!({"reason": w.pause_reason})),
                )
            },
            expect: [401, 403, 409, 403, 409, 404],
        },
        Row {
            method: "POST",
            path: "/api/v1/agents/{id}/resume",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/agents/{}/resume",
                    if inside { w.agent_in.0 } else { w.agent_out.0 }
                ))
            },
            expect: [401, 403, 409, 403, 409, 404],
        },
        Row {
            method: "POST",
            path: "/api/v1/agents/{id}/logout",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/agents/{}/logout",
                    if inside { w.agent_in.0 } else { w.agent_out.0 }
                ))
            },
            expect: [401, 403, 409, 403, 409, 404],
        },
        Row {
            method: "GET",
            path: "/api/v1/chat",
            request: |_, _| no_body("/api/v1/chat"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "GET",
            path: "/api/v1/chat/{agent}",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/chat/{}",
                    if inside { w.agent_in.0 } else { w.agent_out.0 }
                ))
            },
            expect: [401, 403, 200, 403, 200, 404],
        },
        Row {
            method: "POST",
            path: "/api/v1/chat/{agent}",
            request: |w, inside| {
                (
                    format!(
                        "/api/v1/chat/{}",
                        if inside { w.agent_in.0 } else { w.agent_out.0 }
                    ),
                    Some(json!({"text": "Tudo bem?"})),
                )
            },
            expect: [401, 403, 201, 403, 201, 404],
        },
        Row {
            method: "POST",
            path: "/api/v1/chat/{agent}/read",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/chat/{}/read",
                    if inside { w.agent_in.0 } else { w.agent_out.0 }
                ))
            },
            expect: [401, 403, 204, 403, 204, 404],
        },
        // ---- configuration (issue 4): shared configuration is changed only by unrestricted
        // administrators; teams and agents follow the scope.
        Row {
            method: "GET",
            path: "/api/v1/channels",
            request: |_, _| no_body("/api/v1/channels"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "POST",
            path: "/api/v1/channels",
            request: |w, _| {
                (
                    "/api/v1/channels".into(),
                    Some(json!({"kind": "api", "name": format!("Canal {}", w.n())})),
                )
            },
            expect: [401, 403, 201, 403, 403, 403],
        },
        Row {
            method: "GET",
            path: "/api/v1/channels/{id}",
            request: |_, _| no_body("/api/v1/channels/1"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "PATCH",
            path: "/api/v1/channels/{id}",
            request: |w, _| {
                (
                    "/api/v1/channels/1".into(),
                    Some(json!({"name": format!("Chat {}", w.n())})),
                )
            },
            expect: [401, 403, 200, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            path: "/api/v1/channels/{id}",
            request: |_, _| no_body("/api/v1/channels/999"),
            expect: [401, 403, 404, 403, 403, 403],
        },
        Row {
            method: "POST",
            path: "/api/v1/channels/{id}/tokens",
            request: |_, _| {
                (
                    "/api/v1/channels/1/tokens".into(),
                    Some(json!({"name": "integração"})),
                )
            },
            expect: [401, 403, 201, 403, 403, 403],
        },
        // The channel API takes channel tokens only (tests/api_channels.rs covers them).
        Row {
            method: "POST",
            path: "/api/v1/channels/{id}/messages",
            request: |_, _| {
                (
                    "/api/v1/channels/1/messages".into(),
                    Some(json!({"contact": "5511900000000", "text": "oi"})),
                )
            },
            expect: [401, 403, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            path: "/api/v1/channels/{id}/status",
            request: |_, _| {
                (
                    "/api/v1/channels/1/status".into(),
                    Some(json!({"message": 1, "status": "read"})),
                )
            },
            expect: [401, 403, 403, 403, 403, 403],
        },
        Row {
            method: "GET",
            path: "/api/v1/channels/{id}/outbound",
            request: |_, _| no_body("/api/v1/channels/1/outbound"),
            expect: [401, 403, 403, 403, 403, 403],
        },
        Row {
            method: "PUT",
            path: "/api/v1/channels/{id}/webhook",
            request: |_, _| {
                (
                    "/api/v1/channels/1/webhook".into(),
                    Some(json!({"url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef"})),
                )
            },
            expect: [401, 403, 200, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            path: "/api/v1/channels/{id}/webhook",
            request: |_, _| no_body("/api/v1/channels/1/webhook"),
            expect: [401, 403, 204, 403, 403, 403],
        },
        Row {
            method: "GET",
            path: "/api/v1/teams",
            request: |_, _| no_body("/api/v1/teams"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "POST",
            path: "/api/v1/teams",
            request: |w, _| {
                (
                    "/api/v1/teams".into(),
                    Some(json!({"name": format!("Equipe {}", w.n())})),
                )
            },
            expect: [401, 403, 201, 403, 403, 403],
        },
        Row {
            method: "GET",
            path: "/api/v1/teams/{id}",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/teams/{}",
                    if inside { w.team_in.0 } else { w.team_out.0 }
                ))
            },
            expect: [401, 403, 200, 403, 200, 404],
        },
        Row {
            method: "PATCH",
            path: "/api/v1/teams/{id}",
            request: |w, inside| {
                (
                    format!(
                        "/api/v1/teams/{}",
                        if inside { w.team_in.0 } else { w.team_out.0 }
                    ),
                    Some(json!({"closing_message": "Obrigado pelo contato!"})),
                )
            },
            expect: [401, 403, 200, 403, 200, 404],
        },
        Row {
            method: "GET",
            path: "/api/v1/agents",
            request: |_, _| no_body("/api/v1/agents"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "POST",
            path: "/api/v1/agents",
            request: |w, inside| {
                let n = w.n();
                (
                    "/api/v1/agents".into(),
                    Some(
                        json!({"name": format!("Agente {n}"), "email": format!("agente{n}@example.com"),
                        "teams": [if inside { w.team_in.0 } else { w.team_out.0 }]}),
                    ),
                )
            },
            expect: [401, 403, 201, 403, 201, 422],
        },
        Row {
            method: "GET",
            path: "/api/v1/agents/{id}",
            request: |w, inside| {
                no_body(&format!(
                    "/api/v1/agents/{}",
                    if inside { w.agent_in.0 } else { w.agent_out.0 }
                ))
            },
            expect: [401, 403, 200, 403, 200, 404],
        },
        Row {
            method: "PATCH",
            path: "/api/v1/agents/{id}",
            request: |w, inside| {
                (
                    format!(
                        "/api/v1/agents/{}",
                        if inside { w.agent_in.0 } else { w.agent_out.0 }
                    ),
                    Some(json!({"nickname": "Nick"})),
                )
            },
            expect: [401, 403, 200, 403, 200, 404],
        },
        Row {
            method: "GET",
            path: "/api/v1/pause-reasons",
            request: |_, _| no_body("/api/v1/pause-reasons"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "POST",
            path: "/api/v1/pause-reasons",
            request: |w, _| {
                (
                    "/api/v1/pause-reasons".into(),
                    Some(json!({"name": format!("Pausa {}", w.n())})),
                )
            },
            expect: [401, 403, 201, 403, 403, 403],
        },
        Row {
            method: "PATCH",
            path: "/api/v1/pause-reasons/{id}",
            request: |w, _| {
                (
                    format!("/api/v1/pause-reasons/{}", w.pause_reason),
                    Some(json!({"max_duration_ms": 3_600_000})),
                )
            },
            expect: [401, 403, 200, 403, 403, 403],
        },
        Row {
            method: "GET",
            path: "/api/v1/flows",
            request: |_, _| no_body("/api/v1/flows"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "POST",
            path: "/api/v1/flows",
            request: |w, _| {
                (
                    "/api/v1/flows".into(),
                    Some(json!({"name": format!("Fluxo {}", w.n()), "start": "fim",
                        "steps": {"fim": {"kind": "finish", "text": "Até logo!"}}})),
                )
            },
            expect: [401, 403, 201, 403, 403, 403],
        },
        Row {
            method: "GET",
            path: "/api/v1/flows/{id}",
            request: |_, _| no_body("/api/v1/flows/1"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "PUT",
            path: "/api/v1/flows/{id}",
            request: |w, _| {
                (
                    "/api/v1/flows/1".into(),
                    Some(json!({"name": "fluxo 5511911110001", "start": "r",
                        "steps": {"r": {"kind": "route", "team": w.team_in.0}}})),
                )
            },
            expect: [401, 403, 200, 403, 403, 403],
        },
        Row {
            method: "GET",
            path: "/api/v1/settings",
            request: |_, _| no_body("/api/v1/settings"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "PATCH",
            path: "/api/v1/settings",
            request: |_, _| ("/api/v1/settings".into(), Some(json!({"bulk_cap": 5}))),
            expect: [401, 403, 200, 403, 403, 403],
        },
        // ---- contacts: a shared directory (read: `session.history`; change: `config.manage`).
        Row {
            method: "GET",
            path: "/api/v1/contacts",
            request: |_, _| no_body("/api/v1/contacts?q=5511911110001"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "GET",
            path: "/api/v1/contacts/{id}",
            request: |_, _| no_body("/api/v1/contacts/1"),
            expect: [401, 403, 200, 403, 200, 200],
        },
        Row {
            method: "PATCH",
            path: "/api/v1/contacts/{id}",
            request: |_, _| {
                (
                    "/api/v1/contacts/1".into(),
                    Some(json!({"name": "Cliente Um"})),
                )
            },
            expect: [401, 403, 200, 403, 200, 200],
        },
        // ---- the agent's own actions: only the agent persona passes. Ana is offline and her
        // team's session waits (least-busy mode): the core refuses what needs more (409/422).
        Row {
            method: "GET",
            path: "/api/v1/me/status",
            request: |_, _| no_body("/api/v1/me/status"),
            expect: [401, 200, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            path: "/api/v1/me/pause",
            request: |w, _| {
                (
                    "/api/v1/me/pause".into(),
                    Some(json!({"reason": w.pause_reason})),
                )
            },
            expect: [401, 409, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            path: "/api/v1/me/resume",
            request: |_, _| no_body("/api/v1/me/resume"),
            expect: [401, 409, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            path: "/api/v1/me/logout",
            request: |_, _| no_body("/api/v1/me/logout"),
            expect: [401, 409, 403, 403, 403, 403],
        },
        Row {
            method: "GET",
            path: "/api/v1/me/sessions",
            request: |_, _| no_body("/api/v1/me/sessions"),
            expect: [401, 200, 403, 403, 403, 403],
        },
        Row {
            method: "GET",
            path: "/api/v1/me/sessions/{id}/messages",
            request: |w, _| no_body(&format!("/api/v1/me/sessions/{}/messages", w.session_in)),
            expect: [401, 200, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            path: "/api/v1/me/sessions/{id}/pull",
            request: |w, _| no_body(&format!("/api/v1/me/sessions/{}/pull", w.session_in)),
            expect: [401, 422, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            path: "/api/v1/me/sessions/{id}/messages",
            request: |w, _| {
                (
                    format!("/api/v1/me/sessions/{}/messages", w.session_in),
                    Some(json!({"text": "Olá"})),
                )
            },
            expect: [401, 409, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            path: "/api/v1/me/sessions/{id}/transfer",
            request: |w, _| {
                (
                    format!("/api/v1/me/sessions/{}/transfer", w.session_in),
                    Some(json!({"team": w.team_out.0})),
                )
            },
            expect: [401, 409, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            path: "/api/v1/me/sessions/{id}/finish",
            request: |w, _| {
                (
                    format!("/api/v1/me/sessions/{}/finish", w.session_in),
                    Some(json!({})),
                )
            },
            expect: [401, 409, 403, 403, 403, 403],
        },
        Row {
            method: "GET",
            path: "/api/v1/me/chat",
            request: |_, _| no_body("/api/v1/me/chat"),
            expect: [401, 200, 403, 403, 403, 403],
        },
        Row {
            method: "GET",
            path: "/api/v1/me/chat/{id}",
            request: |w, _| no_body(&format!("/api/v1/me/chat/{}", w.full_account)),
            expect: [401, 200, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            path: "/api/v1/me/chat/{id}",
            request: |w, _| {
                (
                    format!("/api/v1/me/chat/{}", w.full_account),
                    Some(json!({"text": "Preciso de ajuda"})),
                )
            },
            expect: [401, 204, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            path: "/api/v1/me/chat/{id}/read",
            request: |w, _| no_body(&format!("/api/v1/me/chat/{}/read", w.full_account)),
            expect: [401, 204, 403, 403, 403, 403],
        },
        // Last: Ana goes online (and takes her team's waiting session).
        Row {
            method: "POST",
            path: "/api/v1/me/login",
            request: |_, _| no_body("/api/v1/me/login"),
            expect: [401, 200, 403, 403, 403, 403],
        },
    ]
}

/// Every (method, path) of the served OpenAPI document.
async fn documented(app: &TestApp) -> BTreeSet<(String, String)> {
    let doc = app
        .call(req("GET", "/api/openapi.json", &Cred::None, None))
        .await
        .json();
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if [
                "get", "post", "put", "patch", "delete", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[tokio::test]
async fn every_route_is_in_the_matrix_and_answers_as_expected() {
    let w = world().await;
    let rows = table();
    let listed: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let documented = documented(&w.app).await;
    let unlisted: Vec<_> = documented.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "routes missing from the authorization matrix: {unlisted:?}"
    );
    let stale: Vec<_> = listed.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "matrix rows for routes that do not exist: {stale:?}"
    );

    let mut failures = Vec::new();
    for row in &rows {
        for (persona, expected) in PERSONAS.iter().zip(row.expect) {
            let inside = *persona != Persona::TeamOut;
            let (uri, body) = (row.request)(&w, inside);
            let cred = w.cred(*persona).await;
            let answer = w.app.call(req(row.method, &uri, &cred, body)).await;
            if answer.status.as_u16() != expected {
                failures.push(format!(
                    "{} {} as {persona:?}: expected {expected}, got {} {}",
                    row.method, uri, answer.status, answer.body
                ));
            }
        }
    }
    for (method, path, expected) in NON_OPENAPI {
        let answer = w.app.call(req(method, path, &Cred::None, None)).await;
        if answer.status.as_u16() != *expected {
            failures.push(format!(
                "{method} {path}: expected {expected}, got {}",
                answer.status
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn ids(v: &Value, field: &str) -> BTreeSet<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[field].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn team_restricted_reads_see_exactly_their_teams() {
    let w = world().await;
    let full = w.cred(Persona::Full).await;
    let team = w.cred(Persona::TeamIn).await;
    let get = |cred: &Cred, uri: &str| req("GET", uri, cred, None);

    let all_users = w.app.call(get(&full, "/api/v1/users")).await.json();
    assert_eq!(ids(&all_users, "id").len(), 6);
    let users = w.app.call(get(&team, "/api/v1/users")).await.json();
    assert_eq!(
        ids(&users, "id"),
        BTreeSet::from([w.agent_account, w.restricted_account, w.admin_in]),
        "agents of its team, admins whose scope is within its own"
    );

    let groups = w.app.call(get(&team, "/api/v1/groups")).await.json();
    assert_eq!(ids(&groups, "id").len(), 2);
    assert!(ids(&groups, "id").contains(&w.group_in));
    assert!(!ids(&groups, "id").contains(&w.group_out));
    assert_eq!(
        ids(&w.app.call(get(&full, "/api/v1/groups")).await.json(), "id").len(),
        4
    );

    let tokens = w.app.call(get(&team, "/api/v1/tokens")).await.json();
    assert_eq!(ids(&tokens, "id"), BTreeSet::from([w.token_in]));
    assert_eq!(
        ids(&w.app.call(get(&full, "/api/v1/tokens")).await.json(), "id"),
        BTreeSet::from([w.token_in, w.token_out])
    );

    // Audit: one change per team, made by the full admin; the restricted reader sees its own.
    let patch = |id: u64| {
        req(
            "PATCH",
            &format!("/api/v1/users/{id}"),
            &full,
            Some(json!({"nickname": "X"})),
        )
    };
    assert_eq!(w.app.call(patch(w.user_in)).await.status, StatusCode::OK);
    assert_eq!(w.app.call(patch(w.user_out)).await.status, StatusCode::OK);
    let audit = w.app.call(get(&team, "/api/v1/audit")).await.json();
    let targets: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, [format!("user:{}", w.user_in)]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["team"] == w.team_in.0)
    );
    let everything = w.app.call(get(&full, "/api/v1/audit")).await.json();
    assert_eq!(everything.as_array().unwrap().len(), 2);
    let csv = w.app.call(get(&team, "/api/v1/audit.csv")).await.body;
    assert_eq!(csv.lines().count(), 2, "header + its one entry:\n{csv}");
    assert!(!csv.contains(&format!("user:{}", w.user_out)));

    // The restricted admin's /me says so.
    let me = w.app.call(get(&team, "/api/v1/auth/me")).await.json();
    assert_eq!(me["scope"], json!({"all": false, "teams": [w.team_in.0]}));
    assert_eq!(me["permissions"].as_array().unwrap().len(), 12);
    assert_eq!(me["full"], false);
}

#[tokio::test]
async fn out_of_scope_actions_leave_nothing_behind_and_leak_nothing() {
    let w = world().await;
    let team = w.cred(Persona::TeamIn).await;
    // The same answer for an account outside its scope and one that does not exist.
    let outside = w
        .app
        .call(req(
            "GET",
            &format!("/api/v1/users/{}", w.user_out),
            &team,
            None,
        ))
        .await;
    let missing = w
        .app
        .call(req("GET", "/api/v1/users/999999", &team, None))
        .await;
    assert_eq!(
        (outside.status, outside.body.clone()),
        (missing.status, missing.body)
    );
    assert_eq!(outside.code(), "not_found");
    // Cannot grant what it lacks: a full group, or a team outside its scope.
    let full_group = w
        .app
        .call(req(
            "POST",
            "/api/v1/groups",
            &team,
            Some(json!({"name": "X", "full": true})),
        ))
        .await;
    assert_eq!(full_group.status, StatusCode::FORBIDDEN);
    let unrestricted = w
        .app
        .call(req(
            "POST",
            "/api/v1/groups",
            &team,
            Some(json!({"name": "Y", "permissions": ["monitor.view"]})),
        ))
        .await;
    assert_eq!(
        unrestricted.status,
        StatusCode::FORBIDDEN,
        "a group seeing every team"
    );
    // The out-of-team agent cannot be given a login by it.
    let agent_out = w
        .app
        .call(req(
            "POST",
            "/api/v1/users",
            &team,
            Some(json!({
        "email": "z@example.com", "name": "Z", "kind": "agent", "agent": 2})),
        ))
        .await;
    assert_eq!(agent_out.code(), "unknown_agent");
    let groups = w
        .app
        .call(req(
            "GET",
            "/api/v1/groups",
            &w.cred(Persona::Full).await,
            None,
        ))
        .await
        .json();
    assert_eq!(groups.as_array().unwrap().len(), 4, "nothing was created");
    assert!(
        w.app
            .accounts
            .account_by_email("z@example.com")
            .unwrap()
            .is_none()
    );
    let _ = (w.team_out, w.noperm_account);
}
