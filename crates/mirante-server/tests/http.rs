//! The HTTP edge in-process (`oneshot`): health, metrics, the development command API and
//! the shape and language of errors.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use metrics_exporter_prometheus::PrometheusHandle;
use mirante_server::auth::mail::MemoryMailer;
use mirante_server::auth::{AuthConfig, AuthState};
use mirante_server::engine::{Engine, EngineConfig, SystemClock};
use mirante_server::http::{AppState, ErrorBody, app};
use mirante_server::telemetry;
use mirante_store::accounts::{AccountKind, AccountStore, MemoryAccounts, contract};
use mirante_store::memory::MemoryStore;
use mirante_store_sqlite::{Durability, SqliteStore};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The test binary's one global recorder.
fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| telemetry::install_recorder().unwrap())
        .clone()
}

/// The session cookie of a full administrator, shared by the requests of these tests.
static COOKIE: OnceLock<String> = OnceLock::new();

async fn server(command_api: bool) -> (Router, Engine) {
    let engine = Engine::start(MemoryStore::new(), SystemClock, EngineConfig::default())
        .await
        .unwrap();
    let (router, _) = router_for(&engine, command_api).await;
    (router, engine)
}

/// The app over `engine` with a full administrator whose session is [`COOKIE`].
async fn router_for(engine: &Engine, command_api: bool) -> (Router, AppState) {
    let accounts = Arc::new(MemoryAccounts::new());
    let state = AppState {
        engine: engine.handle.clone(),
        metrics: Some(recorder()),
        command_api,
        auth: AuthState::new(
            accounts.clone(),
            Arc::new(SystemClock),
            AuthConfig::default(),
            Arc::new(MemoryMailer::default()),
        ),
        feeds: mirante_server::feeds::Feeds::start(engine.handle.clone(), None),
        monitor: mirante_server::monitor::MonitorService::start(
            engine.handle.clone(),
            None,
            Arc::new(SystemClock),
            mirante_server::monitor::LiveConfig::default(),
        )
        .await,
    };
    let admin = accounts
        .insert_account(&contract::account(
            "root@example.com",
            AccountKind::Admin { group: 1 },
        ))
        .unwrap();
    let cookie = state.auth.open_session(admin, None).await.unwrap();
    // Every test's store gets its own session; the secret is what the requests carry.
    accounts
        .delete_session(&mirante_server::auth::secret::fingerprint(&cookie))
        .unwrap();
    let shared = COOKIE.get_or_init(|| cookie.clone());
    accounts
        .insert_session(&mirante_store::accounts::WebSession {
            id_hash: mirante_server::auth::secret::fingerprint(shared),
            account: admin,
            created_ms: mirante_server::engine::Clock::now(&SystemClock).0,
            last_seen_ms: mirante_server::engine::Clock::now(&SystemClock).0,
            addr: None,
        })
        .unwrap();
    (app(state.clone()), state)
}

async fn call(router: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// A GET carrying the administrator's session (ignored by public routes).
fn get(uri: &str) -> Request<Body> {
    let mut request = Request::get(uri);
    if let Some(cookie) = COOKIE.get() {
        request = request.header(header::COOKIE, format!("mirante_session={cookie}"));
    }
    request.body(Body::empty()).unwrap()
}

fn post_command(body: Value, lang: Option<&str>) -> Request<Body> {
    let cookie = COOKIE.get().expect("a server was built first");
    let mut request = Request::post("/api/v1/commands")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::HOST, common::HOST)
        .header(header::ORIGIN, common::ORIGIN)
        .header(header::COOKIE, format!("mirante_session={cookie}"));
    if let Some(lang) = lang {
        request = request.header(header::ACCEPT_LANGUAGE, lang);
    }
    request.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn healthz_reports_status_sequence_and_version() {
    let (router, _engine) = server(false).await;
    let (status, body) = call(&router, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["seq"], 0);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn metrics_export_every_mirante_metric() {
    let _ = recorder();
    // The SQLite store records the commit batch size itself.
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("mirante.db"), Durability::Normal).unwrap();
    let engine = Engine::start(store, SystemClock, EngineConfig::default())
        .await
        .unwrap();
    let (router, _) = router_for(&engine, true).await;
    let (status, _) = call(
        &router,
        post_command(json!({"type": "create_team", "name": "Vendas"}), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = call(&router, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    for name in telemetry::ALL {
        assert!(body.contains(name), "{name} missing from /metrics:\n{body}");
    }
    for series in [
        r#"mirante_sessions_open{phase="bot"}"#,
        r#"mirante_sessions_open{phase="waiting"}"#,
        r#"mirante_sessions_open{phase="human"}"#,
        r#"mirante_agents{status="online"}"#,
        r#"mirante_agents{status="paused"}"#,
        r#"mirante_agents{status="offline"}"#,
        "mirante_command_duration_seconds_bucket",
        "mirante_commit_batch_size_bucket",
    ] {
        assert!(
            body.contains(series),
            "{series} missing from /metrics:\n{body}"
        );
    }
    engine.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_command_api_is_off_by_default() {
    let (router, engine) = server(false).await;
    let (status, body) = call(
        &router,
        post_command(json!({"type": "create_team", "name": "X"}), None),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: ErrorBody = serde_json::from_str(&body).unwrap();
    assert_eq!(body.code, "not_found");
    let (status, _) = call(&router, get("/api/v1/debug/state")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(engine.handle.durable_seq(), 0, "nothing was executed");
}

#[tokio::test]
async fn the_command_api_answers_with_durable_sequence_and_events() {
    let (router, engine) = server(true).await;
    let (status, body) = call(
        &router,
        post_command(json!({"type": "create_team", "name": "Vendas"}), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["seq"], 1);
    assert_eq!(body["events"][0]["type"], "team_created");
    assert_eq!(body["events"][0]["team"]["name"], "Vendas");
    assert_eq!(engine.handle.durable_seq(), 1);

    let (status, body) = call(&router, get("/api/v1/debug/state")).await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["seq"], 1);
    assert!(body["core"].to_string().contains("Vendas"));
}

#[tokio::test]
async fn errors_are_json_with_a_stable_code_in_the_callers_language() {
    let (router, _engine) = server(true).await;
    let unknown = json!({"type": "agent_login", "agent": 42});

    let (status, pt) = call(&router, post_command(unknown.clone(), None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let pt: ErrorBody = serde_json::from_str(&pt).unwrap();
    assert_eq!(pt.code, "unknown_agent");

    let (status, en) = call(
        &router,
        post_command(unknown.clone(), Some("en-US,en;q=0.9")),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let en: ErrorBody = serde_json::from_str(&en).unwrap();
    assert_eq!(en.code, "unknown_agent");
    assert_ne!(
        pt.message, en.message,
        "pt-BR is the default, en* gives English"
    );

    let (_, explicit_pt) = call(
        &router,
        post_command(unknown, Some("pt-BR,pt;q=0.9,en;q=0.5")),
    )
    .await;
    let explicit_pt: ErrorBody = serde_json::from_str(&explicit_pt).unwrap();
    assert_eq!(explicit_pt.message, pt.message);

    // A refusal for another reason than an unknown id is 422 (or 409 for conflicts).
    let (status, body) = call(
        &router,
        post_command(json!({"type": "create_team", "name": ""}), None),
    )
    .await;
    assert!(
        status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::CONFLICT,
        "{status} {body}"
    );

    let cookie = COOKIE.get().unwrap();
    let bad = Request::post("/api/v1/commands")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::HOST, common::HOST)
        .header(header::ORIGIN, common::ORIGIN)
        .header(header::COOKIE, format!("mirante_session={cookie}"))
        .header(header::ACCEPT_LANGUAGE, "en")
        .body(Body::from(r#"{"type": "no_such_command"}"#))
        .unwrap();
    let (status, body) = call(&router, bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: ErrorBody = serde_json::from_str(&body).unwrap();
    assert_eq!(body.code, "invalid_request");
    assert!(body.message.starts_with("Invalid request"));
}
