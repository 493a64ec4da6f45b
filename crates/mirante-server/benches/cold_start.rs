//! P5: cold start with a large log: time from starting the `mirante` process to its
//! "listening" line (state ready), from the latest snapshot plus the tail, and by replaying
//! the whole log (`--ignore-snapshots`) for comparison, on the same database.
//!
//! `cargo bench -p mirante-server --bench cold_start` (or `cargo xtask bench p5`); writes
//! `bench-out/p5-cold-start.json`. The log (`P5_EVENTS`, default 10 000 000 events) is the
//! simulator's: the demo scenario scaled ×`P5_SCALE` (default 20: 600 agents) from its
//! 09:30 start, seed `P5_SEED` (default 7), run as fast as possible on the in-process engine
//! (`mirante_sim::load`), its events appended to the store with a snapshot of the engine's
//! state every ~100 000 events — what the server would have written running that day. It is
//! generated once into `target/bench-cache/p5-sim-<scale>-<seed>-<events>/` and reused;
//! generation takes minutes.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use mirante_sim::{demo, load};
use mirante_store::{Durability, EventStore, Snapshot};
use mirante_store_sqlite::SqliteStore;
use serde_json::json;

const SNAPSHOT_EVERY: u64 = 100_000;
/// Engine time advances in windows of this many simulated milliseconds.
const QUANTUM_MS: i64 = 1_000;

fn main() {
    let target: u64 = std::env::var("P5_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let runs: usize = std::env::var("P5_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let scale: usize = std::env::var("P5_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("P5_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let dir =
        support::workspace().join(format!("target/bench-cache/p5-sim-{scale}-{seed}-{target}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if !dir.join("done").exists() {
        runtime.block_on(generate(&dir, target, scale, seed));
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
        "load": {"scenario": "demo", "scale": scale, "seed": seed, "quantum_ms": QUANTUM_MS},
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

/// Writes `target` events (plus half a snapshot period) of the simulator's load into the
/// store, with a snapshot of the engine's state about every [`SNAPSHOT_EVERY`] events, as
/// the engine would have (same encoding: each event and the core as JSON).
async fn generate(dir: &Path, target: u64, scale: usize, seed: u64) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let store = SqliteStore::open(&dir.join("mirante.db"), Durability::Normal).unwrap();
    let scenario = load::scaled(demo::demo(demo::DEMO_START), scale);
    let mut sim = load::LoadGen::new(scenario, seed, QUANTUM_MS).unwrap();
    // Stop half a period past the target so that start-up has a tail to replay.
    let end = target + SNAPSHOT_EVERY / 2;
    let started = Instant::now();
    let (mut seq, mut snapshot_seq, mut next_report) = (0u64, 0u64, 1_000_000u64);
    let mut in_flight = std::collections::VecDeque::new();
    while seq < end && !sim.done() {
        let steps = sim.next_events(10_000);
        let events: Vec<Vec<u8>> = steps
            .iter()
            .flat_map(|s| &s.events)
            .map(|e| serde_json::to_vec(e).unwrap())
            .collect();
        let n = events.len() as u64;
        // Pipelined: the store applies appends in call order.
        in_flight.push_back(store.append(seq, events));
        seq += n;
        if in_flight.len() > 8 {
            in_flight.pop_front().unwrap().await.unwrap();
        }
        if seq - snapshot_seq >= SNAPSHOT_EVERY {
            while let Some(append) = in_flight.pop_front() {
                append.await.unwrap();
            }
            let payload = serde_json::to_vec(sim.engine()).unwrap();
            store
                .save_snapshot(Snapshot { seq, payload })
                .await
                .unwrap();
            snapshot_seq = seq;
        }
        if seq >= next_report {
            println!(
                "P5 generating: {seq} events after {:.0} s",
                started.elapsed().as_secs_f64()
            );
            next_report += 1_000_000;
        }
    }
    while let Some(append) = in_flight.pop_front() {
        append.await.unwrap();
    }
    let stats = sim.stats();
    println!(
        "P5 generated {seq} events in {:.0} s: {:.0} simulated hours, {} sessions, {} commands ({} refused)",
        started.elapsed().as_secs_f64(),
        sim.now().since(demo::DEMO_START) as f64 / 3_600_000.0,
        stats.sessions_started,
        stats.commands,
        stats.refused
    );
    store.close().await.unwrap();
    std::fs::write(dir.join("done"), format!("{target} {scale} {seed}\n")).unwrap();
}
