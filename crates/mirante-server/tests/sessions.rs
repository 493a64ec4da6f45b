//! Session security, throttling, API tokens, bad input and the audit trail, in-process
//! with an injected clock (no sleeps).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Cred, HOST, ORIGIN, PASSWORD, TestApp, req};
use mirante_auth::ThrottleRule;
use mirante_server::auth::AuthConfig;
use mirante_store::accounts::{AccountKind, AuditQuery, MemoryAccounts};
use mirante_store_sqlite::{Durability, SqliteAccounts};
use serde_json::{Value, json};

fn login_body(email: &str, password: &str) -> Option<Value> {
    Some(json!({"email": email, "password": password}))
}

async fn login(app: &TestApp, email: &str, password: &str) -> common::Answer {
    app.call(req(
        "POST",
        "/api/v1/auth/login",
        &Cred::None,
        login_body(email, password),
    ))
    .await
}

fn audit(app: &TestApp, action: &str) -> Vec<mirante_store::accounts::AuditEntry> {
    app.accounts
        .audit(&AuditQuery {
            action: Some(action.into()),
            limit: 100,
            ..AuditQuery::default()
        })
        .unwrap()
}

#[tokio::test]
async fn login_sets_a_hardened_cookie_and_a_new_id_each_time() {
    let app = TestApp::new(false).await;
    app.account("ana@example.com", AccountKind::Admin { group: 1 });
    let first = login(&app, "  ANA@example.com ", PASSWORD).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let set = first
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(flag), "{set}");
    }
    assert!(
        !set.contains("Secure"),
        "plain HTTP without --public-url: {set}"
    );
    assert_eq!(first.json()["kind"], "admin");
    assert_eq!(first.json()["full"], true);
    let old = first.cookie().unwrap();
    // Fixation: logging in again (carrying the old cookie) gives a new id and ends the old.
    let mut again = Request::post("/api/v1/auth/login")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, format!("mirante_session={old}"));
    again = again.header(header::ORIGIN, ORIGIN);
    let second = app
        .call(
            again
                .body(Body::from(
                    login_body("ana@example.com", PASSWORD).unwrap().to_string(),
                ))
                .unwrap(),
        )
        .await;
    let new = second.cookie().unwrap();
    assert_ne!(old, new);
    let me = |c: &str| req("GET", "/api/v1/auth/me", &Cred::Cookie(c.to_owned()), None);
    assert_eq!(app.call(me(&old)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call(me(&new)).await.status, StatusCode::OK);
    // Stored as a fingerprint, never the value.
    assert!(app.accounts.session(&new).unwrap().is_none());
    assert!(
        app.accounts
            .session(&mirante_server::auth::secret::fingerprint(&new))
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn secure_cookie_behind_tls() {
    let config = AuthConfig {
        public_url: Some("https://mirante.example.com".into()),
        ..AuthConfig::default()
    };
    let app = TestApp::with(config, false, Arc::new(MemoryAccounts::new())).await;
    app.account("ana@example.com", AccountKind::Admin { group: 1 });
    let answer = login(&app, "ana@example.com", PASSWORD).await;
    assert!(
        answer
            .headers
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
    // With a public URL, the CSRF origin is its origin, not the Host header's.
    let cookie = answer.cookie().unwrap();
    let logout = app
        .call(req(
            "POST",
            "/api/v1/auth/logout",
            &Cred::Cookie(cookie.clone()),
            None,
        ))
        .await;
    assert_eq!(logout.code(), "csrf_origin");
    let ok = Request::post("/api/v1/auth/logout")
        .header(header::HOST, HOST)
        .header(header::COOKIE, format!("mirante_session={cookie}"))
        .header(header::ORIGIN, "https://mirante.example.com")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.call(ok).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn sessions_expire_idle_and_absolute() {
    let app = TestApp::new(false).await;
    let (_, cookie) = app.full_admin("ana@example.com").await;
    let me = || {
        req(
            "GET",
            "/api/v1/auth/me",
            &Cred::Cookie(cookie.clone()),
            None,
        )
    };
    let hour = 3_600_000;
    // Active every 7 h: never idle for 8 h, so alive until the absolute 7 days.
    for _ in 0..23 {
        app.clock.advance(7 * hour);
        assert_eq!(app.call(me()).await.status, StatusCode::OK);
    }
    app.clock.advance(7 * hour); // 168 h since log-in
    assert_eq!(
        app.call(me()).await.status,
        StatusCode::UNAUTHORIZED,
        "absolute expiry"
    );

    let (_, idle) = app.full_admin("bia@example.com").await;
    let me = || req("GET", "/api/v1/auth/me", &Cred::Cookie(idle.clone()), None);
    app.clock.advance(8 * hour - 1);
    assert_eq!(app.call(me()).await.status, StatusCode::OK);
    app.clock.advance(8 * hour);
    let answer = app.call(me()).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
}

#[tokio::test]
async fn logout_and_logout_everywhere() {
    let app = TestApp::new(false).await;
    let (id, a) = app.full_admin("ana@example.com").await;
    let b = app.session(id).await;
    let c = app.session(id).await;
    let (_, other) = app.full_admin("bia@example.com").await;
    let me = |c: &str| req("GET", "/api/v1/auth/me", &Cred::Cookie(c.to_owned()), None);
    let out = app
        .call(req(
            "POST",
            "/api/v1/auth/logout",
            &Cred::Cookie(a.clone()),
            None,
        ))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(
        out.headers
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(app.call(me(&a)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call(me(&b)).await.status, StatusCode::OK);
    let all = app
        .call(req(
            "POST",
            "/api/v1/auth/logout-all",
            &Cred::Cookie(b.clone()),
            None,
        ))
        .await;
    assert_eq!(all.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(me(&b)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call(me(&c)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.call(me(&other)).await.status,
        StatusCode::OK,
        "another account's session stays"
    );
    assert_eq!(audit(&app, "auth.logout").len(), 1);
    assert_eq!(
        audit(&app, "auth.logout_all")[0].detail.as_deref(),
        Some("{\"sessions\":2}")
    );
}

#[tokio::test]
async fn csrf_state_changes_by_cookie_need_the_servers_origin() {
    let app = TestApp::new(false).await;
    let (_, cookie) = app.full_admin("ana@example.com").await;
    let post = |origin: Option<&str>| {
        let mut r = Request::post("/api/v1/groups")
            .header(header::HOST, HOST)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, format!("mirante_session={cookie}"));
        if let Some(o) = origin {
            r = r.header(header::ORIGIN, o);
        }
        r.body(Body::from(
            json!({"name": "G", "permissions": []}).to_string(),
        ))
        .unwrap()
    };
    for origin in [
        None,
        Some("http://evil.example"),
        Some("http://mirante.test.evil.example"),
    ] {
        let answer = app.call(post(origin)).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (StatusCode::FORBIDDEN, "csrf_origin"),
            "{origin:?}"
        );
    }
    assert_eq!(app.accounts.groups().unwrap().len(), 1, "nothing written");
    assert_eq!(
        app.call(post(Some(ORIGIN))).await.status,
        StatusCode::CREATED
    );
    // Reads need no Origin; bearer requests are exempt.
    let read = Request::get("/api/v1/groups")
        .header(header::COOKIE, format!("mirante_session={cookie}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.call(read).await.status, StatusCode::OK);
    // A log-in from a foreign page is refused too (login CSRF).
    let foreign = Request::post("/api/v1/auth/login")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, "http://evil.example")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            login_body("ana@example.com", PASSWORD).unwrap().to_string(),
        ))
        .unwrap();
    assert_eq!(app.call(foreign).await.code(), "csrf_origin");
}

#[tokio::test]
async fn login_throttling_per_account_and_address_says_nothing_about_existence() {
    let config = AuthConfig {
        account_throttle: ThrottleRule {
            max_failures: 3,
            window_ms: 60_000,
        },
        address_throttle: ThrottleRule {
            max_failures: 8,
            window_ms: 60_000,
        },
        ..AuthConfig::default()
    };
    let app = TestApp::with(config, false, Arc::new(MemoryAccounts::new())).await;
    app.account("ana@example.com", AccountKind::Admin { group: 1 });
    let wrong = login(&app, "ana@example.com", "wrong password").await;
    let unknown = login(&app, "nobody@example.com", "wrong password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (wrong.status, wrong.body.clone()),
        (unknown.status, unknown.body.clone()),
        "same answer"
    );
    assert_eq!(wrong.code(), "invalid_credentials");
    for _ in 0..2 {
        login(&app, "ana@example.com", "wrong password").await;
        login(&app, "nobody@example.com", "wrong password").await;
    }
    // 3 failures each: both keys refused the same way, even with the right password.
    for email in ["ana@example.com", "nobody@example.com"] {
        let answer = login(&app, email, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{email}");
        assert_eq!(answer.code(), "too_many_attempts");
        assert_eq!(answer.headers.get(header::RETRY_AFTER).unwrap(), "60");
    }
    // The window slides.
    app.clock.advance(60_000);
    assert_eq!(
        login(&app, "ana@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
    // Per address: other accounts from the same address are refused after 8 failures.
    for i in 0..8 {
        login(&app, &format!("x{i}@example.com"), "wrong password").await;
    }
    let answer = login(&app, "ana@example.com", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    let failures = audit(&app, "auth.login");
    assert!(failures.iter().any(|e| e.outcome == "too_many_attempts"));
    assert!(
        failures
            .iter()
            .any(|e| e.outcome == "invalid_credentials" && e.actor == "anonymous")
    );
    assert!(
        failures
            .iter()
            .any(|e| e.outcome == "ok" && e.actor.starts_with("admin:"))
    );
}

#[tokio::test]
async fn disabled_accounts_cannot_log_in_and_lose_their_sessions() {
    let app = TestApp::new(false).await;
    let (_, root) = app.full_admin("root@example.com").await;
    let ana = app.account("ana@example.com", AccountKind::Admin { group: 1 });
    let ana_session = app.session(ana).await;
    let patch = app
        .call(req(
            "PATCH",
            &format!("/api/v1/users/{ana}"),
            &Cred::Cookie(root.clone()),
            Some(json!({"disabled": true})),
        ))
        .await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.body);
    assert_eq!(
        app.call(req(
            "GET",
            "/api/v1/auth/me",
            &Cred::Cookie(ana_session),
            None
        ))
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&app, "ana@example.com", PASSWORD).await.code(),
        "invalid_credentials"
    );
}

#[tokio::test]
async fn the_last_full_admin_stays() {
    let app = TestApp::new(false).await;
    let (root, cookie) = app.full_admin("root@example.com").await;
    let limited = app.group("Limitado", false, &["monitor.view"], None);
    let c = Cred::Cookie(cookie);
    for body in [json!({"disabled": true}), json!({"group": limited})] {
        let answer = app
            .call(req(
                "PATCH",
                &format!("/api/v1/users/{root}"),
                &c,
                Some(body),
            ))
            .await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (StatusCode::CONFLICT, "last_full_admin")
        );
    }
    let answer = app
        .call(req(
            "PATCH",
            "/api/v1/groups/1",
            &c,
            Some(json!({"full": false})),
        ))
        .await;
    assert_eq!(answer.code(), "last_full_admin");
}

#[tokio::test]
async fn password_reset_is_single_use_and_expires() {
    let app = TestApp::new(false).await;
    let (id, old_session) = app.full_admin("ana@example.com").await;
    let request = |email: &str| {
        req(
            "POST",
            "/api/v1/auth/password-reset",
            &Cred::None,
            Some(json!({"email": email})),
        )
    };
    assert_eq!(
        app.call(request("ana@example.com")).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        app.call(request("nobody@example.com")).await.status,
        StatusCode::ACCEPTED,
        "same answer"
    );
    let sent = app.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "ana@example.com");
    let token = sent[0]
        .body
        .split("#token=")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        sent[0]
            .body
            .contains("http://mirante.test/reset-password#token=")
    );
    let confirm = |token: &str, password: &str| {
        req(
            "POST",
            "/api/v1/auth/password-reset/confirm",
            &Cred::None,
            Some(json!({"token": token, "password": password})),
        )
    };
    assert_eq!(
        app.call(confirm(&token, "short")).await.code(),
        "weak_password"
    );
    assert_eq!(
        app.call(confirm(&token, "a brand new password"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call(confirm(&token, "another new password"))
            .await
            .code(),
        "invalid_reset_token"
    );
    assert_eq!(
        login(&app, "ana@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&app, "ana@example.com", "a brand new password")
            .await
            .status,
        StatusCode::OK
    );
    let me = req("GET", "/api/v1/auth/me", &Cred::Cookie(old_session), None);
    assert_eq!(
        app.call(me).await.status,
        StatusCode::UNAUTHORIZED,
        "sessions end with a reset"
    );
    assert_eq!(
        audit(&app, "auth.password_reset")[0].target,
        format!("user:{id}")
    );

    app.call(request("ana@example.com")).await;
    let token = app.mailer.sent()[1]
        .body
        .split("#token=")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    app.clock.advance(3_600_000);
    assert_eq!(
        app.call(confirm(&token, "yet another password"))
            .await
            .code(),
        "invalid_reset_token"
    );
}

#[tokio::test]
async fn tokens_are_shown_once_hashed_at_rest_scoped_and_revocable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirante.db");
    let accounts = Arc::new(SqliteAccounts::open(&path, Durability::Normal).unwrap());
    let app = TestApp::with(AuthConfig::default(), false, accounts).await;
    let (_, cookie) = app.full_admin("root@example.com").await;
    let admin = Cred::Cookie(cookie);
    let created = app
        .call(req(
            "POST",
            "/api/v1/tokens",
            &admin,
            Some(json!({"name": "script", "permissions": ["audit.view"]})),
        ))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let secret = created.json()["token"].as_str().unwrap().to_owned();
    let id = created.json()["id"].as_u64().unwrap();
    assert!(secret.starts_with("mrt_") && secret.len() > 60);
    // Listed without the secret.
    let listed = app.call(req("GET", "/api/v1/tokens", &admin, None)).await;
    assert!(!listed.body.contains(&secret) && !listed.body.contains("token\":"));
    // At rest: the SHA-256 fingerprint, not the secret.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let stored: String = conn
        .query_row(
            "SELECT secret_hash FROM api_tokens WHERE id = ?1",
            [id as i64],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, mirante_server::auth::secret::fingerprint(&secret));
    let dump: String = conn
        .query_row(
            "SELECT group_concat(name || secret_hash || permissions) FROM api_tokens",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!dump.contains(&secret));

    // Bearer works (no Origin needed), within its permissions only; last use recorded.
    let bearer = Cred::Bearer(secret.clone());
    app.clock.advance(5_000);
    let audit_read = app.call(req("GET", "/api/v1/audit", &bearer, None)).await;
    assert_eq!(audit_read.status, StatusCode::OK);
    let users = app.call(req("GET", "/api/v1/users", &bearer, None)).await;
    assert_eq!(users.status, StatusCode::FORBIDDEN);
    let me = app
        .call(req("GET", "/api/v1/auth/me", &bearer, None))
        .await
        .json();
    assert_eq!(
        (me["kind"].as_str(), me["permissions"].clone()),
        (Some("token"), json!(["audit.view"]))
    );
    let last_used: Option<i64> = conn
        .query_row(
            "SELECT last_used_ms FROM api_tokens WHERE id = ?1",
            [id as i64],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(last_used, Some(common::T0 + 5_000));
    // Cannot grant what the creator lacks.
    let limited = app.group("Limitado", false, &["users.manage"], None);
    let lim = app.account("lim@example.com", AccountKind::Admin { group: limited });
    let lim = Cred::Cookie(app.session(lim).await);
    let escalate = app
        .call(req(
            "POST",
            "/api/v1/tokens",
            &lim,
            Some(json!({"name": "x", "permissions": ["audit.view"]})),
        ))
        .await;
    assert_eq!(escalate.status, StatusCode::FORBIDDEN);

    // Revoked → 401.
    let revoke = app
        .call(req("DELETE", &format!("/api/v1/tokens/{id}"), &admin, None))
        .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);
    let after = app.call(req("GET", "/api/v1/audit", &bearer, None)).await;
    assert_eq!(
        (after.status, after.code().as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    for bogus in ["mrt_nope", "not-a-token"] {
        let answer = app
            .call(req(
                "GET",
                "/api/v1/auth/me",
                &Cred::Bearer(bogus.into()),
                None,
            ))
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let actions: Vec<String> = app
        .accounts
        .audit(&AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"token.create".to_owned())
            && actions.contains(&"token.revoke".to_owned())
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_stable_code_and_writes_nothing() {
    let app = TestApp::new(false).await;
    let (_, cookie) = app.full_admin("root@example.com").await;
    let c = Cred::Cookie(cookie);
    let long = "x".repeat(201);
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "/api/v1/users",
            json!({"email": "not-an-email", "name": "A", "kind": "admin", "group": 1}),
            422,
            "invalid_email",
        ),
        (
            "/api/v1/users",
            json!({"email": "a@example.com", "name": "  ", "kind": "admin", "group": 1}),
            422,
            "empty_field",
        ),
        (
            "/api/v1/users",
            json!({"email": "a@example.com", "name": long, "kind": "admin", "group": 1}),
            422,
            "field_too_long",
        ),
        (
            "/api/v1/users",
            json!({"email": "a@example.com", "name": "A", "kind": "admin", "group": 1, "password": "short"}),
            422,
            "weak_password",
        ),
        (
            "/api/v1/users",
            json!({"email": "a@example.com", "name": "A", "kind": "admin"}),
            422,
            "missing_field",
        ),
        (
            "/api/v1/users",
            json!({"email": "a@example.com", "name": "A", "kind": "admin", "group": 99}),
            422,
            "unknown_group",
        ),
        (
            "/api/v1/users",
            json!({"email": "a@example.com", "name": "A", "kind": "agent", "agent": 99}),
            422,
            "unknown_agent",
        ),
        (
            "/api/v1/users",
            json!({"email": "root@example.com", "name": "A", "kind": "admin", "group": 1}),
            409,
            "email_taken",
        ),
        (
            "/api/v1/users",
            json!({"email": "a@example.com", "name": "A", "kind": "robot"}),
            400,
            "invalid_request",
        ),
        (
            "/api/v1/groups",
            json!({"name": "G", "permissions": ["monitor.view", "monitor.edit"]}),
            422,
            "unknown_permission",
        ),
        (
            "/api/v1/groups",
            json!({"name": "G", "permissions": [], "teams": [42]}),
            422,
            "unknown_team",
        ),
        (
            "/api/v1/groups",
            json!({"name": "", "permissions": []}),
            422,
            "empty_field",
        ),
        (
            "/api/v1/tokens",
            json!({"name": "t", "permissions": ["nope"]}),
            422,
            "unknown_permission",
        ),
        (
            "/api/v1/tokens",
            json!({"name": "t", "permissions": [], "teams": [7]}),
            422,
            "unknown_team",
        ),
    ];
    for (uri, body, status, code) in cases {
        let answer = app.call(req("POST", uri, &c, Some(body.clone()))).await;
        assert_eq!(
            (answer.status.as_u16(), answer.code()),
            (status, code.to_owned()),
            "{uri} {body}"
        );
        assert!(!answer.json()["message"].as_str().unwrap().is_empty());
    }
    // An oversized body.
    let huge = json!({"name": "x".repeat(100_000), "permissions": []});
    let answer = app
        .call(req("POST", "/api/v1/groups", &c, Some(huge)))
        .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (413, "body_too_large".to_owned())
    );
    // Nothing written: one account, the default group, no token, no config audit entry.
    assert_eq!(app.accounts.accounts().unwrap().len(), 1);
    assert_eq!(app.accounts.groups().unwrap().len(), 1);
    assert!(app.accounts.tokens().unwrap().is_empty());
    assert!(audit(&app, "user.create").is_empty() && audit(&app, "group.create").is_empty());
    // English on request.
    let mut english = req(
        "POST",
        "/api/v1/groups",
        &c,
        Some(json!({"name": "G", "permissions": ["x.y"]})),
    );
    english
        .headers_mut()
        .insert(header::ACCEPT_LANGUAGE, "en-US".parse().unwrap());
    let answer = app.call(english).await;
    assert_eq!(answer.json()["message"], "Unknown permission: `x.y`.");
    let answer = app
        .call(req(
            "POST",
            "/api/v1/groups",
            &c,
            Some(json!({"name": "G", "permissions": ["x.y"]})),
        ))
        .await;
    assert_eq!(answer.json()["message"], "Permissão desconhecida: `x.y`.");
}

#[tokio::test]
async fn configuration_changes_are_audited_and_exported_as_csv() {
    let app = TestApp::new(false).await;
    let (root, cookie) = app.full_admin("root@example.com").await;
    let c = Cred::Cookie(cookie);
    let group = app
        .call(req(
            "POST",
            "/api/v1/groups",
            &c,
            Some(json!({"name": "Vendas, \"A\"", "permissions": ["monitor.view"]})),
        ))
        .await;
    let gid = group.json()["id"].as_u64().unwrap();
    let user = app
        .call(req(
            "POST",
            "/api/v1/users",
            &c,
            Some(json!({"email": "sup@example.com", "name": "Sup", "kind": "admin", "group": gid})),
        ))
        .await;
    assert_eq!(user.status, StatusCode::CREATED);
    assert_eq!(user.json()["has_password"], false);
    assert_eq!(app.mailer.sent().len(), 1, "a set-password link went out");
    app.call(req(
        "PATCH",
        &format!("/api/v1/groups/{gid}"),
        &c,
        Some(json!({"permissions": ["audit.view"]})),
    ))
    .await;
    let list = app
        .call(req("GET", "/api/v1/audit?action=group.create", &c, None))
        .await
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let entry = &list[0];
    assert_eq!(entry["actor"], format!("admin:{root}"));
    assert_eq!(entry["target"], format!("group:{gid}"));
    assert_eq!(entry["outcome"], "ok");
    assert_eq!(entry["addr"], "unknown");
    let all = app.call(req("GET", "/api/v1/audit", &c, None)).await.json();
    let actions: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["group.update", "user.create", "group.create"],
        "newest first"
    );
    // Filters: period and actor.
    let none = app
        .call(req(
            "GET",
            &format!("/api/v1/audit?from={}", common::T0 + 1),
            &c,
            None,
        ))
        .await
        .json();
    assert!(none.as_array().unwrap().is_empty());
    let uri = format!(
        "/api/v1/audit?from=2026-11-23T11:00:00Z&to=2026-11-23T13:00:00Z&actor=admin:{root}"
    );
    let iso = app.call(req("GET", &uri, &c, None)).await.json();
    assert_eq!(iso.as_array().unwrap().len(), 3);
    let bad = app
        .call(req("GET", "/api/v1/audit?from=yesterday", &c, None))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // CSV.
    let csv = app.call(req("GET", "/api/v1/audit.csv", &c, None)).await;
    assert!(
        csv.headers
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines[0],
        "id,at,actor,action,target,outcome,addr,team,detail"
    );
    assert_eq!(lines.len(), 4);
    assert!(
        lines[3].contains(&format!(
            "2026-11-23T12:00:00.000Z,admin:{root},group.create,group:"
        )),
        "{}",
        lines[3]
    );
    assert!(
        lines[3].contains("\"{\"\"full\"\":false"),
        "detail quoted: {}",
        lines[3]
    );
    // Append-only: no route changes the log.
    for method in ["PUT", "PATCH", "DELETE", "POST"] {
        let answer = app.call(req(method, "/api/v1/audit", &c, None)).await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
}

#[tokio::test]
async fn agents_log_in_too_and_see_their_teams() {
    let app = TestApp::new(false).await;
    let center = common::center(&app.engine.handle, json!({}), 1).await;
    let (_, root) = app.full_admin("root@example.com").await;
    let created = app
        .call(req(
            "POST",
            "/api/v1/users",
            &Cred::Cookie(root),
            Some(json!({
            "email": "agente@example.com", "name": "Agente", "nickname": "Ag", "kind": "agent",
            "agent": center.agents[0].0, "password": PASSWORD})),
        ))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let answer = login(&app, "agente@example.com", PASSWORD).await;
    let me = answer.json();
    assert_eq!(me["kind"], "agent");
    assert_eq!(me["agent"], center.agents[0].0);
    assert_eq!(me["scope"]["teams"], json!([center.team.0]));
    assert_eq!(me["permissions"], json!([]));
}
