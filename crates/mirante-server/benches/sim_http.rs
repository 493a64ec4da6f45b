//! Full-stack load: the demo scenario driven over HTTP (`mirante_sim::http::HttpDriver`)
//! against a real server (SQLite, `--durability full`, loopback), as fast as the server
//! answers, against the in-process engine (`InProcess`) on the same scenario and seed in the
//! same run as the baseline. Prints commands/s and p50/p99 latency per command kind; the
//! HTTP column is the command's own API call, and the observation (`/healthz` + the monitor
//! until it caught up, how the driver learns what the server decided) is reported apart.
//!
//! `cargo bench -p mirante-server --bench sim_http` (or `cargo xtask bench http`); writes
//! `bench-out/sim-http.json`. `SIM_HTTP_MINUTES` (default 60) sets the simulated minutes.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use mirante_core::Core;
use mirante_server::{RunConfig, run};
use mirante_sim::http::{self, Api, RunOptions, latency_table};
use mirante_sim::{InProcess, Latencies, Simulation, Timed, demo};
use mirante_store::Durability;
use mirante_store::accounts::DEFAULT_GROUP_ID;
use mirante_store_sqlite::{SqliteAccounts, SqliteStore};
use serde_json::json;

const EMAIL: &str = "bench@mirante.test";
const PASSWORD: &str = "uma senha de benchmark";
const SEED: u64 = 7;

fn main() {
    let minutes: f64 = std::env::var("SIM_HTTP_MINUTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60.0);

    // Baseline: the same scenario and seed on the engine in this process.
    // The configuration is applied before timing starts (as `http::run` does over HTTP).
    let scenario = demo::demo(demo::DEMO_START);
    let mut core = Core::new();
    let mut config = Vec::new();
    for cmd in scenario.setup_commands() {
        config.extend(core.execute(cmd, scenario.start).unwrap());
    }
    let driver = Timed::new(InProcess::from_core(core));
    let mut sim = Simulation::new(scenario.clone(), driver, SEED);
    sim.resume(&config).unwrap();
    let t0 = Instant::now();
    sim.run_until(sim.now().plus_ms((minutes * 60_000.0) as i64));
    let local_wall = t0.elapsed();
    let local_stats = sim.stats().clone();
    let local = sim.driver().latencies().clone();
    let local_rate = local_stats.commands as f64 / local_wall.as_secs_f64();

    // The server: SQLite on a temporary data dir, full durability, loopback.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mirante.db");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = SqliteStore::open(&db, Durability::Full).unwrap();
    let accounts = SqliteAccounts::open(&db, Durability::Full).unwrap();
    mirante_server::auth::create_admin(&accounts, EMAIL, "Bench", PASSWORD, DEFAULT_GROUP_ID, 0)
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(run(
        RunConfig::default(),
        store,
        Arc::new(accounts),
        listener,
        |_| {},
        async move {
            let _ = stopped.await;
        },
    ));
    let api = Api::new(&format!("http://{addr}")).unwrap();
    let opts = RunOptions {
        seed: SEED,
        speed: None,
        minutes,
        warm_up_minutes: 0.0,
    };
    let report = http::run(
        api,
        scenario,
        EMAIL,
        PASSWORD,
        &opts,
        &AtomicBool::new(false),
    )
    .unwrap();
    stop.send(()).unwrap();
    rt.block_on(server).unwrap().unwrap();

    let http_rate = report.commands_per_s();
    println!(
        "demo scenario, seed {SEED}, {minutes} simulated minutes, as fast as possible\n\
         in-process: {} commands in {:.2} s = {local_rate:.0} commands/s ({} refused)\n\
         over HTTP:  {} commands in {:.2} s = {http_rate:.0} commands/s ({} refused: {:?}); \
         {} observations waited for the monitor\n",
        local_stats.commands,
        local_wall.as_secs_f64(),
        local_stats.refused,
        report.stats.commands,
        report.wall.as_secs_f64(),
        report.stats.refused,
        report.stats.refusals,
        report.observe_waits,
    );
    println!(
        "over HTTP: finished {:?}; work-conservation violations {}, FIFO violations {} (on the \
         picture rebuilt from the monitor)\n",
        report.stats.finished,
        report.stats.work_conservation_violations,
        report.stats.fifo_violations,
    );
    println!("{}", side_by_side(&local, &report.calls));
    println!(
        "{}",
        latency_table("observation after each command (HTTP)", &report.observe)
    );

    let rows = |l: &Latencies| {
        l.summary()
            .into_iter()
            .map(|r| json!({"kind": r.kind, "count": r.count, "p50_us": r.p50_us, "p99_us": r.p99_us, "max_us": r.max_us}))
            .collect::<Vec<_>>()
    };
    let out = json!({
        "minutes": minutes,
        "seed": SEED,
        "in_process": {"commands": local_stats.commands, "wall_s": local_wall.as_secs_f64(),
            "commands_per_s": local_rate, "latency": rows(&local)},
        "http": {"commands": report.stats.commands, "wall_s": report.wall.as_secs_f64(),
            "commands_per_s": http_rate, "refused": report.stats.refused,
            "observe_waits": report.observe_waits,
            "latency": rows(&report.calls), "observe": rows(&report.observe)},
    });
    let path = support::out_dir().join("sim-http.json");
    std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
    println!("report: {}", path.display());
}

/// Latency per kind, in-process next to HTTP (µs).
fn side_by_side(local: &Latencies, remote: &Latencies) -> String {
    let mut out = format!(
        "{:<18} | {:>8} {:>8} {:>8} | {:>8} {:>8} {:>8}\n{:<18} | {:^26} | {:^26}\n",
        "kind", "n", "p50 µs", "p99 µs", "n", "p50 µs", "p99 µs", "", "in-process", "HTTP call"
    );
    for r in remote.summary() {
        let l = local.of(&r.kind);
        let (n, p50, p99) = l.map_or((0, 0, 0), |l| (l.count, l.p50_us, l.p99_us));
        out.push_str(&format!(
            "{:<18} | {n:>8} {p50:>8} {p99:>8} | {:>8} {:>8} {:>8}\n",
            r.kind, r.count, r.p50_us, r.p99_us
        ));
    }
    out
}
