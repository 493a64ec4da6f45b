//! The core alone on the simulator's load: how many commands per second `Core::execute`
//! (with the due timers, as the engine runs them) takes, with no storage, no serialization
//! and no async — the part of P4 that the pure core decides.
//!
//! The load is P4's (`mirante_sim::load`): the demo scenario scaled ×`CORE_SCALE` (default
//! 20: 600 agents) from its 09:30 start, seed `CORE_SEED` (default 7), engine time in windows
//! of `CORE_QUANTUM_MS` (default 10 000), recorded until `CORE_EVENTS` events (default
//! 1 500 000). It is then replayed `CORE_RUNS` times (default 3) into a fresh core, each
//! replay checked against the recording (same refusals, same events); the table gives every
//! run and the median.
//!
//! `cargo bench -p mirante-core --bench execute`. For instruction counts that do not vary
//! with the machine's load: `valgrind --tool=callgrind --toggle-collect='*replay*'` on the
//! bench binary with a smaller `CORE_EVENTS` (the recording is then left out).
#![allow(clippy::unwrap_used)]

use mirante_core::{Core, Timestamp};
use mirante_sim::{demo, load};
use std::time::Instant;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Replays the recorded steps into a fresh core; returns (commands, events, mismatches).
#[inline(never)]
fn replay(steps: &[load::Step]) -> (u64, u64, u64) {
    let mut core = Core::new();
    let (mut commands, mut events, mut mismatches) = (0u64, 0u64, 0u64);
    for step in steps {
        let at: Timestamp = step.at;
        let mut got = match core.next_deadline() {
            Some(d) if d <= at => core.tick(at),
            _ => Vec::new(),
        };
        let result = core.execute(step.command.clone(), at);
        let refused = result.is_err();
        if let Ok(own) = result {
            got.extend(own);
        }
        commands += 1;
        events += got.len() as u64;
        if refused != step.refused || got != step.events {
            mismatches += 1;
        }
    }
    (commands, events, mismatches)
}

fn main() {
    let scale: usize = env("CORE_SCALE", 20);
    let seed: u64 = env("CORE_SEED", 7);
    let quantum_ms: i64 = env("CORE_QUANTUM_MS", 10_000);
    let target: u64 = env("CORE_EVENTS", 1_500_000);
    let runs: usize = env("CORE_RUNS", 3).max(1);
    let started = Instant::now();
    let scenario = load::scaled(demo::demo(demo::DEMO_START), scale);
    let steps = load::record(scenario, seed, quantum_ms, target).unwrap();
    println!(
        "core load: demo scenario ×{scale}, seed {seed}, {quantum_ms} ms windows: {} commands, \
         {} events, recorded in {:.1} s",
        steps.len(),
        steps.iter().map(|s| s.events.len()).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    println!("| run | commands/s | events/s | µs/command |");
    println!("|---|---:|---:|---:|");
    let mut rates = Vec::new();
    for run in 1..=runs {
        let t = Instant::now();
        let (commands, events, mismatches) = replay(&steps);
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(mismatches, 0, "the replay diverged from the recording");
        let cps = commands as f64 / secs;
        println!(
            "| {run} | {cps:.0} | {:.0} | {:.2} |",
            events as f64 / secs,
            1e6 / cps
        );
        rates.push((cps, events as f64 / secs));
    }
    rates.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (cps, eps) = rates[rates.len() / 2];
    println!("median: {cps:.0} commands/s, {eps:.0} events/s");
}
