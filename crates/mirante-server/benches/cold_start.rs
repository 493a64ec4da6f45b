//! P5: cold start with a large log: time from starting the `mirante` process to its
//! "listening" line (state ready), from the latest snapshot plus the tail, and by replaying
//! the whole log (`--ignore-snapshots`) for comparison, on the same database.
//!
//! `cargo bench -p mirante-server --bench cold_start` (or `cargo xtask bench p5`); writes
//! `bench-out/p5-cold-start.json`. The log (`P5_EVENTS`, default 10 000 000 events) is
//! generated once through the engine with the P4 workload into
//! `target/bench-cache/p5-<events>/` and reused; generation takes a few minutes.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use mirante_server::engine::{Engine, EngineConfig, SystemClock};
use mirante_store::{Durability, EventStore};
use mirante_store_sqlite::SqliteStore;
use serde_json::json;
use support::{Load, Shape};

/// A large center: 2 000 agents, 1 000 concurrent customers, ~100 k distinct contacts.
const SHAPE: Shape = Shape {
    teams: 20,
    agents_per_team: 100,
    clients: 1000,
    contacts_per_client: 100,
};
const SNAPSHOT_EVERY: u64 = 100_000;

fn main() {
    let target: u64 = std::env::var("P5_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let runs: usize = std::env::var("P5_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let dir = support::workspace().join(format!("target/bench-cache/p5-{target}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if !dir.join("done").exists() {
        runtime.block_on(generate(&dir, target));
    }
    let db = dir.join("mirante.db");
    let (last, snapshot_seq, snapshot_bytes) = runtime.block_on(async {
        let store = SqliteStore::open(&db, Durability::Normal).unwrap();
        let last = store.last_seq().await.unwrap();
        let snapshot = store.load_latest_snapshot().await.unwrap().unwrap();
        store.close().await.unwrap();
        (last, snapshot.seq, snapshot.payload.len())
    });
    let db_bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "P5 log: {last} events, latest snapshot at {snapshot_seq} ({} KiB), tail {} events, database {} MiB",
        snapshot_bytes / 1024,
        last - snapshot_seq,
        db_bytes / 1024 / 1024
    );

    let mut with: Vec<f64> = (0..runs).map(|_| time_to_ready(&dir, false)).collect();
    with.sort_by(f64::total_cmp);
    println!("P5 with snapshots: {:?} s", with);
    let without_runs = std::env::var("P5_FULL_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut without: Vec<f64> = (0..without_runs)
        .map(|_| time_to_ready(&dir, true))
        .collect();
    without.sort_by(f64::total_cmp);
    println!("P5 full replay: {:?} s", without);
    let (m_with, m_without) = (median(&with), median(&without));
    println!(
        "P5 median: {m_with:.3} s with snapshots, {m_without:.3} s replaying everything ({:.0}x)",
        m_without / m_with
    );

    let report = json!({
        "benchmark": "P5 cold start",
        "command": "cargo xtask bench p5",
        "events": last,
        "snapshot_seq": snapshot_seq,
        "tail_events": last - snapshot_seq,
        "snapshot_bytes": snapshot_bytes,
        "database_bytes": db_bytes,
        "shape": {"teams": SHAPE.teams, "agents_per_team": SHAPE.agents_per_team, "clients": SHAPE.clients,
                  "contacts_per_client": SHAPE.contacts_per_client},
        "with_snapshots_seconds": with,
        "full_replay_seconds": without,
        "median_with_snapshots_seconds": m_with,
        "median_full_replay_seconds": m_without,
        "machine": support::machine(),
    });
    let path = support::out_dir().join("p5-cold-start.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    println!("report: {}", path.display());
}

fn median(sorted: &[f64]) -> f64 {
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Seconds from spawning `mirante serve` to its "listening" line; the process is then
/// killed (nothing was written, so the data stays as generated).
fn time_to_ready(dir: &Path, ignore_snapshots: bool) -> f64 {
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mirante"));
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--durability",
            "normal",
            "--log",
            "warn",
        ])
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if ignore_snapshots {
        command.arg("--ignore-snapshots");
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines
            .next()
            .expect("mirante exited before listening")
            .unwrap();
        if line.starts_with("mirante listening on ") {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    child.kill().unwrap();
    child.wait().unwrap();
    elapsed
}

/// Writes `target` events (plus less than one snapshot period) through the engine.
async fn generate(dir: &Path, target: u64) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let store = SqliteStore::open(&dir.join("mirante.db"), Durability::Normal).unwrap();
    let config = EngineConfig {
        snapshot_every: SNAPSHOT_EVERY,
        snapshot_on_shutdown: false,
        ..EngineConfig::default()
    };
    let engine = Engine::start(store.clone(), SystemClock, config)
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
    // Stop half a period past the target so that start-up has a tail to replay.
    let end = target + SNAPSHOT_EVERY / 2;
    let started = Instant::now();
    let mut next_report = 0;
    loop {
        let seq = engine
            .handle
            .wait_durable(end.min(next_report + 1_000_000))
            .await
            .unwrap();
        if seq >= next_report {
            println!(
                "P5 generating: {seq} events after {:.0} s",
                started.elapsed().as_secs_f64()
            );
            next_report += 1_000_000;
        }
        if seq >= end {
            break;
        }
    }
    load.stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    engine.handle.shutdown().await.unwrap();
    engine.task.await.unwrap();
    let _ = store.close().await;
    std::fs::write(dir.join("done"), format!("{}\n", target)).unwrap();
}
