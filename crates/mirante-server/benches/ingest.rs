//! P4: durable ingest through the engine (core + group commit into SQLite), in events per
//! second with many concurrent clients, against two baselines measured in the same run:
//! the same engine committing one transaction per command (no grouping, no pipelining), and
//! plain rusqlite committing one transaction per event (the CRUD way).
//!
//! `cargo bench -p mirante-server --bench ingest` (or `cargo xtask bench p4`); writes
//! `bench-out/p4-ingest.json`. `P4_SECONDS` sets the measuring window (default 5).
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mirante_server::engine::{Engine, EngineConfig, SystemClock};
use mirante_store::{Durability, EventStore};
use mirante_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use support::{Load, Shape};

const SHAPE: Shape = Shape {
    teams: 8,
    agents_per_team: 16,
    clients: 256,
    contacts_per_client: 50,
};

struct Figure {
    events_per_s: f64,
    commands_per_s: f64,
    commits: u64,
    events: u64,
}

fn main() {
    let seconds: u64 = std::env::var("P4_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let window = Duration::from_secs(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for (label, durability) in [("full", Durability::Full), ("normal", Durability::Normal)] {
        let grouped = runtime.block_on(engine_run(durability, EngineConfig::default(), window));
        let per_command = runtime.block_on(engine_run(
            durability,
            EngineConfig {
                max_batch: 1,
                pipeline_depth: 1,
                ..EngineConfig::default()
            },
            window,
        ));
        let per_event = crud_run(durability, window);
        let row = json!({
            "durability": label,
            "engine_group_commit": figure_json(&grouped),
            "baseline_engine_one_tx_per_command": figure_json(&per_command),
            "baseline_rusqlite_one_tx_per_event": {"events_per_s": per_event},
            "ratio_vs_one_tx_per_event": grouped.events_per_s / per_event,
            "ratio_vs_one_tx_per_command": grouped.events_per_s / per_command.events_per_s,
        });
        println!(
            "P4 durability={label}: group commit {:.0} events/s ({:.0} commands/s, {:.1} events/commit) | \
             one tx per command {:.0} events/s | one tx per event (rusqlite) {:.0} events/s | ratio {:.1}x / {:.1}x",
            grouped.events_per_s,
            grouped.commands_per_s,
            grouped.events as f64 / grouped.commits.max(1) as f64,
            per_command.events_per_s,
            per_event,
            grouped.events_per_s / per_event,
            grouped.events_per_s / per_command.events_per_s,
        );
        rows.push(row);
    }
    let report = json!({
        "benchmark": "P4 durable ingest",
        "command": "cargo xtask bench p4",
        "window_seconds": seconds,
        "shape": {"teams": SHAPE.teams, "agents_per_team": SHAPE.agents_per_team, "clients": SHAPE.clients,
                  "contacts_per_client": SHAPE.contacts_per_client},
        "machine": support::machine(),
        "results": rows,
    });
    let path = support::out_dir().join("p4-ingest.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    println!("report: {}", path.display());
}

fn figure_json(f: &Figure) -> Value {
    json!({"events_per_s": f.events_per_s, "commands_per_s": f.commands_per_s, "commits": f.commits,
           "events": f.events, "events_per_commit": f.events as f64 / f.commits.max(1) as f64})
}

/// Many clients through the engine into a fresh SQLite store; events/s over `window`.
async fn engine_run(durability: Durability, config: EngineConfig, window: Duration) -> Figure {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("mirante.db"), durability).unwrap();
    let engine = Engine::start(
        store.clone(),
        SystemClock,
        EngineConfig {
            snapshot_every: 0,
            ..config
        },
    )
    .await
    .unwrap();
    let channels = support::set_up(&engine.handle, SHAPE).await;
    let load = Arc::new(Load::default());
    let clients: Vec<_> = (0..SHAPE.clients)
        .map(|c| {
            tokio::spawn(support::client(
                engine.handle.clone(),
                channels[c % channels.len()],
                c,
                SHAPE,
                Arc::clone(&load),
            ))
        })
        .collect();
    // Warm up, then measure.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (seq0, commands0, stats0, t0) = (
        engine.handle.durable_seq(),
        load.commands.load(Ordering::Relaxed),
        store.stats(),
        Instant::now(),
    );
    tokio::time::sleep(window).await;
    let (seq1, commands1, stats1, elapsed) = (
        engine.handle.durable_seq(),
        load.commands.load(Ordering::Relaxed),
        store.stats(),
        t0.elapsed().as_secs_f64(),
    );
    load.stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    engine.handle.shutdown().await.unwrap();
    engine.task.await.unwrap();
    let _ = store.close().await;
    Figure {
        events_per_s: (seq1 - seq0) as f64 / elapsed,
        commands_per_s: (commands1 - commands0) as f64 / elapsed,
        commits: stats1.commits - stats0.commits,
        events: stats1.events - stats0.events,
    }
}

/// Plain rusqlite, WAL, one transaction per event, same payload sizes; events/s.
fn crud_run(durability: Durability, window: Duration) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("crud.db")).unwrap();
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync};
         CREATE TABLE events (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL);"
    ))
    .unwrap();
    // A typical event payload: a customer message as the engine stores it.
    let payload = br#"{"at":1790000000000,"type":"message_posted","session":123456,"message":987654,"author":"customer","text":"Ola, preciso de ajuda com meu pedido"}"#;
    let mut insert = conn
        .prepare("INSERT INTO events (seq, payload) VALUES (?1, ?2)")
        .unwrap();
    let started = Instant::now();
    let mut n: i64 = 0;
    while started.elapsed() < window {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        n += 1;
        insert.execute((n, &payload[..])).unwrap();
        conn.execute_batch("COMMIT").unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}
