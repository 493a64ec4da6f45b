//! The internal chat (M-11) has one copy, the monitor's records, read by both sides: what a
//! supervisor writes reaches the agent's `/api/v1/me/chat` with its unread count, the
//! agent's reply reaches the supervisor's, and each side's read mark shows on the other's
//! messages.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::{Cred, TestApp, center, req};
use mirante_store::accounts::AccountKind;
use serde_json::{Value, json};

async fn get(app: &TestApp, cred: &Cred, uri: &str) -> Value {
    let answer = app.call(req("GET", uri, cred, None)).await;
    assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", answer.body);
    answer.json()
}

async fn post(app: &TestApp, cred: &Cred, uri: &str, body: Option<Value>) {
    let answer = app.call(req("POST", uri, cred, body)).await;
    assert!(answer.status.is_success(), "{uri}: {}", answer.body);
}

#[tokio::test]
async fn m11_both_sides_read_the_same_conversation() {
    let app = TestApp::new(false).await;
    let (sup, cookie) = app.full_admin("sup@example.com").await;
    let sup_cred = Cred::Cookie(cookie);
    let center = center(&app.engine.handle, json!({}), 1).await;
    let agent = center.agents[0];
    let login = app.account("ag@example.com", AccountKind::Agent { agent: agent.0 });
    let agent_cred = Cred::Cookie(app.session(login).await);

    post(
        &app,
        &sup_cred,
        &format!("/api/v1/chat/{}", agent.0),
        Some(json!({"text": "Pode assumir a fila?"})),
    )
    .await;
    let mine = get(&app, &agent_cred, "/api/v1/me/chat").await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["supervisor"], sup);
    assert_eq!(
        (mine[0]["messages"].clone(), mine[0]["unread"].clone()),
        (json!(1), json!(1))
    );

    post(
        &app,
        &agent_cred,
        &format!("/api/v1/me/chat/{sup}"),
        Some(json!({"text": "Posso sim"})),
    )
    .await;
    post(
        &app,
        &agent_cred,
        &format!("/api/v1/me/chat/{sup}/read"),
        None,
    )
    .await;
    let theirs = get(&app, &sup_cred, "/api/v1/chat").await;
    assert_eq!(
        theirs[0]["unread"], 1,
        "the supervisor has the agent's reply"
    );
    post(
        &app,
        &sup_cred,
        &format!("/api/v1/chat/{}/read", agent.0),
        None,
    )
    .await;

    let entries = get(&app, &agent_cred, &format!("/api/v1/me/chat/{sup}")).await;
    let shape: Vec<(bool, bool)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from_agent"].as_bool().unwrap(),
                e["read"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![(false, true), (true, true)],
        "both read, each by the other side"
    );
    let mine = get(&app, &agent_cred, "/api/v1/me/chat").await;
    assert_eq!(mine[0]["unread"], 0);
    assert_eq!(mine[0]["last"]["text"], "Posso sim");
}
