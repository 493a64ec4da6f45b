//! P4: durable ingest through the engine (core + group commit into SQLite), in events per
//! second, against two baselines measured in the same run: the same engine committing one
//! transaction per command (no grouping, no pipelining), and plain rusqlite committing one
//! transaction per event (the CRUD way).
//!
//! The load is the simulator's: the demo scenario scaled ×`P4_SCALE` (default 20: 600
//! agents, 20× the demo's arrivals) from its 09:30 start, seed `P4_SEED` (default 7), run
//! as fast as possible on the in-process engine with time in windows of `P4_QUANTUM_MS`
//! (default 10 000) simulated ms (`mirante_sim::load`), recorded once per run (`P4_EVENTS`
//! events, default 1 500 000), then
//! replayed in order into each engine under test: its clock set to each window's start, the
//! window's commands sent back to back (up to 1 024 in flight), all acknowledged before the
//! next window — so every engine executes exactly the recorded commands and writes exactly
//! the recorded events (checked: same refusals, same log length when the load is exhausted).
//!
//! `cargo bench -p mirante-server --bench ingest` (or `cargo xtask bench p4`); writes
//! `bench-out/p4-ingest.json`. `P4_SECONDS` sets the measuring window (default 5).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use mirante_core::{Command, Timestamp};
use mirante_server::engine::{
    Engine, EngineConfig, EngineError, EngineHandle, Executed, ManualClock,
};
use mirante_sim::{demo, load};
use mirante_store::{Durability, EventStore};
use mirante_store_sqlite::SqliteStore;
use serde_json::{Value, json};

/// Most commands sent and not yet acknowledged (well below the engine's queue capacity, so
/// that sending never waits and the order is kept).
const IN_FLIGHT: usize = 1_024;

/// One window of the recorded load.
struct Window {
    at: Timestamp,
    commands: Vec<(Command, bool)>,
}

/// The recorded load.
struct Script {
    windows: Vec<Window>,
    events: u64,
    commands: u64,
    refused: u64,
    /// Serialized events (a prefix of the log) for the rusqlite baseline.
    payloads: Vec<Vec<u8>>,
    sim_minutes: f64,
    seconds_to_record: f64,
}

struct Figure {
    events_per_s: f64,
    commands_per_s: f64,
    commits: u64,
    events: u64,
    mismatches: u64,
    exhausted: bool,
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let seconds: u64 = env("P4_SECONDS", 5);
    let scale: usize = env("P4_SCALE", 20);
    let seed: u64 = env("P4_SEED", 7);
    let target: u64 = env("P4_EVENTS", 1_500_000);
    let quantum_ms: i64 = env("P4_QUANTUM_MS", 10_000);
    let window = Duration::from_secs(seconds);
    let script = Arc::new(record(scale, seed, quantum_ms, target));
    println!(
        "P4 load: demo scenario ×{scale}, seed {seed}, {quantum_ms} ms windows: {} commands ({} refused), \
         {} events, {} windows, {:.0} simulated minutes, recorded in {:.1} s",
        script.commands,
        script.refused,
        script.events,
        script.windows.len(),
        script.sim_minutes,
        script.seconds_to_record
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for (label, durability) in [("full", Durability::Full), ("normal", Durability::Normal)] {
        let grouped = runtime.block_on(engine_run(
            durability,
            EngineConfig::default(),
            window,
            Arc::clone(&script),
        ));
        let per_command = runtime.block_on(engine_run(
            durability,
            EngineConfig {
                max_batch: 1,
                pipeline_depth: 1,
                ..EngineConfig::default()
            },
            window,
            Arc::clone(&script),
        ));
        let per_event = crud_run(durability, window, &script.payloads);
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
        for (arm, f) in [
            ("group commit", &grouped),
            ("one tx per command", &per_command),
        ] {
            assert_eq!(
                f.mismatches, 0,
                "{arm}: the replay diverged from the recorded load"
            );
            if f.exhausted {
                println!(
                    "  warning: {arm} ran out of recorded load before the window ended (raise P4_EVENTS)"
                );
            }
        }
        rows.push(row);
    }
    let report = json!({
        "benchmark": "P4 durable ingest",
        "command": "cargo xtask bench p4",
        "window_seconds": seconds,
        "load": {"scenario": "demo", "scale": scale, "seed": seed, "quantum_ms": quantum_ms,
                 "commands": script.commands, "refused": script.refused, "events": script.events,
                 "simulated_minutes": script.sim_minutes, "in_flight": IN_FLIGHT},
        "machine": support::machine(),
        "results": rows,
    });
    let path = support::out_dir().join("p4-ingest.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    println!("report: {}", path.display());
}

/// Runs the scaled demo scenario until `target` events and keeps its commands by window.
fn record(scale: usize, seed: u64, quantum_ms: i64, target: u64) -> Script {
    let started = Instant::now();
    let scenario = load::scaled(demo::demo(demo::DEMO_START), scale);
    let mut sim = load::LoadGen::new(scenario, seed, quantum_ms).unwrap();
    let mut windows: Vec<Window> = Vec::new();
    let (mut commands, mut refused) = (0, 0);
    let mut payloads = Vec::new();
    while sim.events() < target && !sim.done() {
        for step in sim.next_events(100_000) {
            commands += 1;
            refused += u64::from(step.refused);
            if payloads.len() < 100_000 {
                payloads.extend(step.events.iter().map(|e| serde_json::to_vec(e).unwrap()));
            }
            match windows.last_mut() {
                Some(w) if w.at == step.at => w.commands.push((step.command, step.refused)),
                _ => windows.push(Window {
                    at: step.at,
                    commands: vec![(step.command, step.refused)],
                }),
            }
        }
    }
    Script {
        windows,
        events: sim.events(),
        commands,
        refused,
        payloads,
        sim_minutes: sim.now().since(demo::DEMO_START) as f64 / 60_000.0,
        seconds_to_record: started.elapsed().as_secs_f64(),
    }
}

fn figure_json(f: &Figure) -> Value {
    json!({"events_per_s": f.events_per_s, "commands_per_s": f.commands_per_s, "commits": f.commits,
           "events": f.events, "events_per_commit": f.events as f64 / f.commits.max(1) as f64,
           "load_exhausted": f.exhausted})
}

/// Counters of a replay.
#[derive(Default)]
struct Progress {
    stop: AtomicBool,
    commands: AtomicU64,
    mismatches: AtomicU64,
}

/// The recorded load replayed into a fresh engine on a fresh SQLite store; events/s over
/// `window` after a 0.5 s warm-up.
async fn engine_run(
    durability: Durability,
    config: EngineConfig,
    window: Duration,
    script: Arc<Script>,
) -> Figure {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("mirante.db"), durability).unwrap();
    let clock = ManualClock::at(script.windows[0].at);
    let engine = Engine::start(
        store.clone(),
        clock.clone(),
        EngineConfig {
            snapshot_every: 0,
            ..config
        },
    )
    .await
    .unwrap();
    let progress = Arc::new(Progress::default());
    let mut replay = tokio::spawn(tokio::task::unconstrained(replay(
        engine.handle.clone(),
        clock,
        Arc::clone(&script),
        Arc::clone(&progress),
    )));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !replay.is_finished(),
        "the recorded load ran out during the warm-up: raise P4_EVENTS"
    );
    let sample = |handle: &EngineHandle| {
        (
            handle.durable_seq(),
            progress.commands.load(Ordering::Relaxed),
            store.stats(),
            Instant::now(),
        )
    };
    let (seq0, commands0, stats0, t0) = sample(&engine.handle);
    let exhausted = tokio::select! {
        () = tokio::time::sleep(window) => false,
        done = &mut replay => { done.unwrap(); true }
    };
    let (seq1, commands1, stats1, t1) = sample(&engine.handle);
    progress.stop.store(true, Ordering::Relaxed);
    if !exhausted {
        replay.await.unwrap();
    }
    let elapsed = (t1 - t0).as_secs_f64();
    if exhausted {
        // The whole load went in: the log is exactly the recorded one.
        assert_eq!(engine.handle.durable_seq(), script.events);
    }
    engine.handle.shutdown().await.unwrap();
    engine.task.await.unwrap();
    let _ = store.close().await;
    Figure {
        events_per_s: (seq1 - seq0) as f64 / elapsed,
        commands_per_s: (commands1 - commands0) as f64 / elapsed,
        commits: stats1.commits - stats0.commits,
        events: stats1.events - stats0.events,
        mismatches: progress.mismatches.load(Ordering::Relaxed),
        exhausted,
    }
}

type Pending<'a> = Pin<Box<dyn Future<Output = Result<Executed, EngineError>> + Send + 'a>>;

/// Sends the recorded commands in order, window by window (see the module doc).
async fn replay(
    engine: EngineHandle,
    clock: ManualClock,
    script: Arc<Script>,
    progress: Arc<Progress>,
) {
    let check = |result: Result<Executed, EngineError>, refused: bool| {
        let was_refused = match result {
            Ok(_) => false,
            Err(EngineError::Domain(_)) => true,
            Err(error) => panic!("engine: {error}"),
        };
        if was_refused != refused {
            progress.mismatches.fetch_add(1, Ordering::Relaxed);
        }
        progress.commands.fetch_add(1, Ordering::Relaxed);
    };
    for window in &script.windows {
        if progress.stop.load(Ordering::Relaxed) {
            break;
        }
        clock.set(window.at);
        let mut pending: VecDeque<(Pending<'_>, bool)> = VecDeque::new();
        for (command, refused) in &window.commands {
            if pending.len() >= IN_FLIGHT {
                let (answer, refused) = pending.pop_front().unwrap();
                check(answer.await, refused);
            }
            let mut answer: Pending<'_> = Box::pin(engine.execute(command.clone()));
            // One poll enqueues the request now, so the engine receives the commands in
            // order (the queue has room: at most IN_FLIGHT requests are outstanding).
            let first = answer
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()));
            match first {
                Poll::Ready(result) => check(result, *refused),
                Poll::Pending => pending.push_back((answer, *refused)),
            }
        }
        for (answer, refused) in pending {
            check(answer.await, refused);
        }
    }
}

/// Plain rusqlite, WAL, one transaction per event, the recorded events' payloads; events/s.
fn crud_run(durability: Durability, window: Duration, payloads: &[Vec<u8>]) -> f64 {
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
    let mut insert = conn
        .prepare("INSERT INTO events (seq, payload) VALUES (?1, ?2)")
        .unwrap();
    let started = Instant::now();
    let mut n: i64 = 0;
    while started.elapsed() < window {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let payload = &payloads[n as usize % payloads.len()];
        n += 1;
        insert.execute((n, payload.as_slice())).unwrap();
        conn.execute_batch("COMMIT").unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}
