//! The demo scenario (issue 7 item 1): deterministic for a seed (same seed → the same event
//! stream, byte for byte), alive after a while (sessions in the bot, waiting and with agents,
//! some served), and realistic enough that the engine rarely refuses what the simulated
//! people do — every refusal is logged by command and code, since it reveals a simulator or
//! engine bug.

use mirante_sim::demo::{DEMO_START, demo};
use mirante_sim::{EventHasher, InProcess, Simulation};

const MIN: i64 = 60_000;

fn simulation(seed: u64) -> Simulation<InProcess, EventHasher> {
    let mut sim = Simulation::with_observer(
        demo(DEMO_START),
        InProcess::new(),
        seed,
        EventHasher::default(),
    )
    .check_invariants(true)
    .check_against_core(true);
    sim.setup().expect("the demo configuration is accepted");
    sim
}

/// Phase counts from the events, after checking the engine agrees.
fn phases(sim: &Simulation<InProcess, EventHasher>) -> (usize, usize, usize) {
    let phases = sim.world().phase_counts();
    let core = sim.driver().engine().stats();
    assert_eq!(
        (
            core.sessions_bot,
            core.sessions_waiting,
            core.sessions_human
        ),
        (phases.0 as u64, phases.1 as u64, phases.2 as u64),
        "the engine and the event-folded world count the same phases"
    );
    phases
}

fn hash_after(seed: u64, minutes: i64) -> EventHasher {
    let mut sim = simulation(seed);
    sim.run_until(DEMO_START.plus_ms(minutes * MIN));
    *sim.observer()
}

#[test]
fn the_same_seed_gives_the_same_event_stream() {
    let a = hash_after(7, 90);
    let b = hash_after(7, 90);
    let c = hash_after(8, 90);
    assert!(a.count > 10_000, "only {} events", a.count);
    assert_eq!(a, b);
    assert_ne!(a.hash, c.hash, "another seed gives another day");
}

#[test]
fn the_contact_center_comes_alive_and_rarely_refuses() {
    let mut sim = simulation(2026);
    // 09:30 → 10:00: the morning peak builds up while the agents log in.
    sim.run_until(DEMO_START.plus_ms(30 * MIN));
    let (bot, waiting, human) = phases(&sim);
    println!("at 10:00: bot {bot}, waiting {waiting}, human {human}");
    assert!(
        bot > 0 && waiting > 0 && human > 0,
        "phases: {bot}/{waiting}/{human}"
    );
    assert!(sim.stats().served > 50, "served {}", sim.stats().served);

    // → 14:00: lunch breaks, the first shifts end, the afternoon peak starts.
    sim.run_until(DEMO_START.plus_ms(270 * MIN));
    let (bot, waiting, human) = phases(&sim);
    let stats = sim.stats().clone();
    let notes = &sim.world().violation_notes;
    println!("at 14:00: bot {bot}, waiting {waiting}, human {human}");
    println!("{stats:#?}");
    assert!(stats.served > 1_000, "served {}", stats.served);
    assert!(stats.bot_resolved > 0 && stats.abandoned > 0 && stats.transfers > 0);
    assert!(stats.bot_invalid > 0 && stats.bot_silent > 0 && stats.returning > 0);
    assert!(stats.pauses > 20 && stats.logins > 20 && stats.logouts > 0);
    assert_eq!(stats.fifo_violations, 0, "{notes:?}");
    assert_eq!(stats.work_conservation_violations, 0, "{notes:?}");
    assert_eq!(stats.mirror_mismatches, 0, "{notes:?}");
    for ((command, code), n) in &stats.refusals {
        println!("refused {n}× {command}: {code}");
    }
    assert!(
        stats.refusal_rate() < 0.005,
        "refusal rate {:.4}: {:?} {:?}",
        stats.refusal_rate(),
        stats.refusals,
        stats.refusal_samples
    );
}
