//! `kill -9` of the real `mirante serve` during concurrent writes loses no acknowledged
//! command: after a restart on the same data directory, every acknowledged command's events
//! are in the log at the sequence numbers the server announced, and in the state.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::Server;
use mirante_core::Event;
use mirante_store::EventStore;
use mirante_store_sqlite::{Durability, SqliteStore};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// One acknowledged command: what was asked and what the server answered.
#[derive(Debug)]
struct Ack {
    name: String,
    seq: u64,
    events: Vec<Event>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_writes_loses_no_acknowledged_command() {
    const CLIENTS: usize = 16;
    const KILL_AFTER: usize = 400;

    let dir = tempfile::tempdir().unwrap();
    common::admin_create(dir.path(), "root@example.com");
    let mut server = Server::start(dir.path(), &["--enable-command-api"]);
    let http = reqwest::Client::new();
    let cookie = server.login(&http, "root@example.com").await;
    let stop = Arc::new(AtomicBool::new(false));
    let (acks_tx, mut acks) = mpsc::unbounded_channel();

    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (http, url, stop, acks_tx) = (
            http.clone(),
            format!("{}/api/v1/commands", server.base),
            Arc::clone(&stop),
            acks_tx.clone(),
        );
        let (cookie, origin) = (cookie.clone(), server.base.clone());
        clients.push(tokio::spawn(async move {
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let name = format!("crash-{c}-{i}");
                let command = if i % 2 == 0 {
                    json!({"type": "create_team", "name": name})
                } else {
                    json!({"type": "create_agent", "name": name, "email": format!("{name}@example.com")})
                };
                let request = http
                    .post(&url)
                    .header("cookie", format!("mirante_session={cookie}"))
                    .header("origin", &origin)
                    .json(&command);
                let Ok(response) = request.send().await else { return };
                if !response.status().is_success() {
                    return;
                }
                let Ok(body) = response.json::<Value>().await else { return };
                let ack = Ack {
                    name,
                    seq: body["seq"].as_u64().unwrap(),
                    events: serde_json::from_value(body["events"].clone()).unwrap(),
                };
                if acks_tx.send(ack).is_err() {
                    return;
                }
            }
        }));
    }
    drop(acks_tx);

    let mut acked = Vec::new();
    while acked.len() < KILL_AFTER {
        acked.push(acks.recv().await.expect("clients stopped before the kill"));
    }
    // Mid-stream: the clients are still sending.
    server.kill_9();
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    while let Some(ack) = acks.recv().await {
        acked.push(ack);
    }
    let max_seq = acked.iter().map(|a| a.seq).max().unwrap();

    // Restart on the same data: everything acknowledged is in the state.
    let mut server = Server::start(dir.path(), &["--enable-command-api"]);
    let cookie = server.login(&http, "root@example.com").await;
    let health: Value = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        health["seq"].as_u64().unwrap() >= max_seq,
        "log at {health}, acknowledged up to {max_seq}"
    );
    let state = http
        .get(format!("{}/api/v1/debug/state", server.base))
        .header("cookie", format!("mirante_session={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for ack in &acked {
        assert!(
            state.contains(&format!("\"{}\"", ack.name)),
            "acknowledged {} is missing after restart",
            ack.name
        );
    }
    let status = server.terminate();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");

    // And the log holds exactly the acknowledged events at the announced sequence numbers.
    let store = SqliteStore::open(&dir.path().join("mirante.db"), Durability::Normal).unwrap();
    let log = store.read_from(0, usize::MAX).await.unwrap();
    for ack in &acked {
        let first = ack.seq as usize + 1 - ack.events.len();
        for (i, event) in ack.events.iter().enumerate() {
            let stored: Event = serde_json::from_slice(&log[first - 1 + i].payload).unwrap();
            assert_eq!(
                &stored, event,
                "event {} of {} differs in the log",
                i, ack.name
            );
        }
    }
    store.close().await.unwrap();
}
