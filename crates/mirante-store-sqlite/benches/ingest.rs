//! P4 at the store level: durable ingest into SQLite with group commit, against a
//! one-transaction-per-event CRUD writer measured in the same run.
//!
//! The events are the simulator's: the first 50 000 events of the demo scenario (seed 7,
//! `mirante_sim::load`), serialized as the engine stores them, cycled through in log order.
//!
//! `cargo bench -p mirante-store-sqlite --bench ingest` runs, for each durability
//! (`full`, `normal`), the median of several runs of:
//! - `group-1`: [`SqliteStore`] fed 1-event appends, pipelined (256 in flight);
//! - `group-100`: [`SqliteStore`] fed 100-event appends, pipelined (64 in flight);
//! - `crud-1tx`: plain rusqlite, one `BEGIN; INSERT; COMMIT` per event into an indexed
//!   table, same journal mode and `synchronous` (time-capped: it is slow by design).
//!
//! It prints a Markdown table and one JSON line (`{"bench":"store_ingest",...}`).
//! Environment: `MIRANTE_BENCH_EVENTS` (default 200000), `MIRANTE_BENCH_RUNS` (3),
//! `MIRANTE_BENCH_DURABILITY` (`full`, `normal`, or both by default),
//! `MIRANTE_BENCH_DIR` (where the databases go; default the system temporary directory).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark binary"
)]

use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant};

use mirante_store::{Durability, EventStore};
use mirante_store_sqlite::SqliteStore;
use rusqlite::Connection;

/// The simulator's seed.
const SEED: u64 = 7;
/// Distinct simulated events, cycled through by every run.
const PAYLOADS: u64 = 50_000;

/// Longest a CRUD baseline run may take; its rate is what matters, not its total.
const CRUD_TIME_CAP: Duration = Duration::from_secs(4);

struct Config {
    events: u64,
    runs: usize,
    durabilities: Vec<Durability>,
}

struct Run {
    events: u64,
    elapsed: Duration,
    commits: u64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

struct Row {
    durability: Durability,
    scenario: &'static str,
    median: Run,
    rates: Vec<f64>,
}

fn main() {
    let config = config();
    let payloads = payloads(PAYLOADS);
    let bytes: usize = payloads.iter().map(Vec::len).sum();
    eprintln!(
        "load: {} events of the demo scenario (seed {SEED}), {:.0} bytes on average",
        payloads.len(),
        bytes as f64 / payloads.len() as f64
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = std::env::var_os("MIRANTE_BENCH_DIR").map(std::path::PathBuf::from);
    let mut rows = Vec::new();
    for &durability in &config.durabilities {
        type Scenario<'a> = (&'static str, Box<dyn Fn(&Path) -> Run + 'a>);
        let scenarios: Vec<Scenario<'_>> = vec![
            (
                "group-1",
                Box::new(|path: &Path| {
                    runtime.block_on(group(path, durability, &payloads, config.events, 1, 256))
                }),
            ),
            (
                "group-100",
                Box::new(|path: &Path| {
                    runtime.block_on(group(path, durability, &payloads, config.events, 100, 64))
                }),
            ),
            (
                "crud-1tx",
                Box::new(|path: &Path| crud(path, durability, &payloads, config.events)),
            ),
        ];
        for (scenario, run) in scenarios {
            let mut runs = Vec::new();
            for _ in 0..config.runs {
                let dir = match &base {
                    Some(base) => tempfile::tempdir_in(base),
                    None => tempfile::tempdir(),
                }
                .unwrap();
                runs.push(run(&dir.path().join("bench.db")));
            }
            runs.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
            let rates = runs.iter().map(Run::rate).collect();
            let median = runs.swap_remove(runs.len() / 2);
            eprintln!(
                "{durability:?} {scenario}: {:.0} events/s (median of {})",
                median.rate(),
                config.runs
            );
            rows.push(Row {
                durability,
                scenario,
                median,
                rates,
            });
        }
    }
    report(&rows, &config);
}

fn config() -> Config {
    let var = |name: &str| std::env::var(name).ok();
    let events = var("MIRANTE_BENCH_EVENTS").map_or(200_000, |v| v.parse().unwrap());
    let runs = var("MIRANTE_BENCH_RUNS").map_or(3, |v| v.parse().unwrap());
    let durabilities = match var("MIRANTE_BENCH_DURABILITY") {
        Some(d) => vec![d.parse().unwrap()],
        None => vec![Durability::Full, Durability::Normal],
    };
    Config {
        events,
        runs,
        durabilities,
    }
}

/// The simulator's events, serialized as the engine stores them: the demo scenario (seed
/// 7) from its 09:30 start, run on the in-process engine until `count` events.
fn payloads(count: u64) -> Vec<Vec<u8>> {
    let scenario = mirante_sim::demo::demo(mirante_sim::demo::DEMO_START);
    let steps = mirante_sim::load::record(scenario, SEED, 1_000, count).unwrap();
    steps
        .iter()
        .flat_map(|s| &s.events)
        .map(|e| serde_json::to_vec(e).unwrap())
        .collect()
}

/// Pipelined appends of `batch` events each, `in_flight` outstanding at a time.
async fn group(
    path: &Path,
    durability: Durability,
    payloads: &[Vec<u8>],
    events: u64,
    batch: u64,
    in_flight: usize,
) -> Run {
    let store = SqliteStore::open(path, durability).unwrap();
    let mut pending = VecDeque::with_capacity(in_flight);
    let mut issued = 0u64;
    let mut next = 0usize;
    let start = Instant::now();
    while issued < events || !pending.is_empty() {
        while issued < events && pending.len() < in_flight {
            let size = batch.min(events - issued);
            let mut events = Vec::with_capacity(size as usize);
            for _ in 0..size {
                events.push(payloads[next % payloads.len()].clone());
                next += 1;
            }
            pending.push_back(store.append(issued, events));
            issued += size;
        }
        if let Some(ack) = pending.pop_front() {
            ack.await.unwrap();
        }
    }
    let elapsed = start.elapsed();
    let stats = store.stats();
    assert_eq!(store.last_seq().await.unwrap(), events);
    store.close().await.unwrap();
    Run {
        events,
        elapsed,
        commits: stats.commits,
    }
}

/// The baseline: what a CRUD service does, one transaction per event, indexed table.
fn crud(path: &Path, durability: Durability, payloads: &[Vec<u8>], events: u64) -> Run {
    let conn = Connection::open(path).unwrap();
    let _mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)
        .unwrap();
    conn.execute_batch(
        "CREATE TABLE events (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             session_id TEXT NOT NULL,
             created_at INTEGER NOT NULL,
             payload BLOB NOT NULL
         );
         CREATE INDEX events_session ON events (session_id, created_at);",
    )
    .unwrap();
    let mut written = 0u64;
    let start = Instant::now();
    while written < events && start.elapsed() < CRUD_TIME_CAP {
        let payload = &payloads[written as usize % payloads.len()];
        let session = format!("s-{:08}", written * 7919 % 100_000);
        conn.execute_batch("BEGIN").unwrap();
        conn.prepare_cached(
            "INSERT INTO events (session_id, created_at, payload) VALUES (?1, ?2, ?3)",
        )
        .unwrap()
        .execute((session, written as i64, payload.as_slice()))
        .unwrap();
        conn.execute_batch("COMMIT").unwrap();
        written += 1;
    }
    Run {
        events: written,
        elapsed: start.elapsed(),
        commits: written,
    }
}

fn report(rows: &[Row], config: &Config) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let baseline = |durability: Durability| {
        rows.iter()
            .find(|r| r.durability == durability && r.scenario == "crud-1tx")
            .map_or(f64::NAN, |r| r.median.rate())
    };
    println!();
    println!(
        "P4 store ingest: {} events per run, median of {} runs, {cores} cores",
        config.events, config.runs
    );
    println!();
    println!(
        "| durability | scenario | events | seconds | events/s | commits | events/commit | × crud-1tx |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let mut json = Vec::new();
    for row in rows {
        let run = &row.median;
        let ratio = run.rate() / baseline(row.durability);
        let per_commit = run.events as f64 / run.commits.max(1) as f64;
        let durability = format!("{:?}", row.durability).to_lowercase();
        println!(
            "| {durability} | {} | {} | {:.3} | {:.0} | {} | {per_commit:.1} | {ratio:.1} |",
            row.scenario,
            run.events,
            run.elapsed.as_secs_f64(),
            run.rate(),
            run.commits,
        );
        let rates: Vec<String> = row.rates.iter().map(|r| format!("{r:.0}")).collect();
        json.push(format!(
            "{{\"durability\":\"{durability}\",\"scenario\":\"{}\",\"events\":{},\
             \"seconds\":{:.6},\"events_per_s\":{:.0},\"commits\":{},\
             \"events_per_commit\":{per_commit:.2},\"ratio_vs_crud\":{ratio:.2},\
             \"all_runs_events_per_s\":[{}]}}",
            row.scenario,
            run.events,
            run.elapsed.as_secs_f64(),
            run.rate(),
            run.commits,
            rates.join(",")
        ));
    }
    println!();
    println!(
        "{{\"bench\":\"store_ingest\",\"cores\":{cores},\"runs\":{},\"results\":[{}]}}",
        config.runs,
        json.join(",")
    );
}
