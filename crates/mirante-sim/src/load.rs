//! The simulator as the load generator of the benchmarks.
//!
//! A [`LoadGen`] runs a scenario on the in-process engine as fast as possible and hands out
//! what it did, command by command: each [`Step`] is one command the simulated people sent
//! (refused ones included), the simulated time the engine saw it at, and the events it caused
//! (the due timers' first, then its own and distribution's) — exactly what the engine's write
//! path executes and appends.
//!
//! **Replayable time.** The engine the benchmarks drive keeps its own clock and runs its timers
//! when a batch starts, not at the deadline itself. So that a recorded run replays
//! identically through it, the recording shows the engine a time **quantized** to windows of
//! `quantum_ms` (every command of a window executes at the window's start) and runs the timers
//! lazily, at the first command whose window has reached their deadline — what the engine
//! does when its clock is set to each window's start and the window's commands are sent in
//! order (pipelined within the window, all acknowledged before the next window). People keep
//! acting at their own, unquantized simulated times.
//!
//! [`scaled`] multiplies a scenario (agents and arrival rates) for loads larger than the
//! demo's thirty agents.

use crate::driver::{Driver, InProcess};
use crate::scenario::Scenario;
use crate::sim::{SimError, SimStats, Simulation};
use mirante_core::{Command, Core, DomainError, Event, Timestamp};
use std::cell::RefCell;
use std::rc::Rc;

/// One command as the engine executes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The engine's time: the start of the command's window.
    pub at: Timestamp,
    /// The command.
    pub command: Command,
    /// The events it caused, in log order (empty when refused); due timers' events first.
    pub events: Vec<Event>,
    /// Whether the engine refused it.
    pub refused: bool,
}

/// The in-process engine seen through quantized time, recording every command.
#[derive(Debug)]
pub struct Recorder {
    inner: InProcess,
    quantum_ms: i64,
    steps: Rc<RefCell<Vec<Step>>>,
    events: u64,
    /// Timer events that ran before a refused command: the simulation learns of them with
    /// the next answer.
    redeliver: Vec<Event>,
}

impl Recorder {
    /// A fresh engine whose time advances in windows of `quantum_ms` (at least 1).
    pub fn new(quantum_ms: i64) -> Self {
        Self {
            inner: InProcess::new(),
            quantum_ms: quantum_ms.max(1),
            steps: Rc::default(),
            events: 0,
            redeliver: Vec::new(),
        }
    }

    /// The start of the window of `now`.
    pub fn window(&self, now: Timestamp) -> Timestamp {
        Timestamp(now.0 - now.0.rem_euclid(self.quantum_ms))
    }

    /// The engine, read-only.
    pub fn engine(&self) -> &Core {
        self.inner.engine()
    }

    /// Events caused so far (setup included).
    pub fn events(&self) -> u64 {
        self.events
    }
}

impl Driver for Recorder {
    type Error = DomainError;

    fn execute(&mut self, cmd: Command, now: Timestamp) -> Result<Vec<Event>, DomainError> {
        let at = self.window(now);
        // The engine ticks at the start of a batch when a deadline is due.
        let ticked = match self.inner.next_deadline() {
            Some(d) if d <= at => self.inner.tick(at),
            _ => Vec::new(),
        };
        let result = self.inner.execute(cmd.clone(), at);
        let mut events = ticked;
        if let Ok(own) = &result {
            events.extend(own.iter().cloned());
        }
        self.events += events.len() as u64;
        self.steps.borrow_mut().push(Step {
            at,
            command: cmd,
            events: events.clone(),
            refused: result.is_err(),
        });
        match result {
            Ok(_) => {
                let mut answer = std::mem::take(&mut self.redeliver);
                answer.extend(events);
                Ok(answer)
            }
            Err(e) => {
                self.redeliver.extend(events);
                Err(e)
            }
        }
    }

    /// Timers run lazily at the next command (see the module doc).
    fn tick(&mut self, _now: Timestamp) -> Vec<Event> {
        std::mem::take(&mut self.redeliver)
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        // Only to hand over timer events that came with a refused command.
        (!self.redeliver.is_empty()).then_some(Timestamp(i64::MIN))
    }

    fn core(&self) -> Option<&Core> {
        Some(self.inner.engine())
    }
}

/// A scenario run as fast as possible on a [`Recorder`], handing out its steps.
#[derive(Debug)]
pub struct LoadGen {
    sim: Simulation<Recorder>,
    steps: Rc<RefCell<Vec<Step>>>,
    done: bool,
}

impl LoadGen {
    /// Sets `scenario` up (its configuration commands are the first steps) with `seed`, the
    /// engine's time quantized to `quantum_ms`.
    pub fn new(scenario: Scenario, seed: u64, quantum_ms: i64) -> Result<Self, SimError> {
        let recorder = Recorder::new(quantum_ms);
        let steps = Rc::clone(&recorder.steps);
        let mut sim = Simulation::new(scenario, recorder, seed).check_invariants(false);
        sim.setup()?;
        Ok(Self {
            sim,
            steps,
            done: false,
        })
    }

    /// Simulates until at least `events` more events were caused (or nothing is left to
    /// do) and returns the steps since the last call, setup included in the first.
    pub fn next_events(&mut self, events: u64) -> Vec<Step> {
        let target = self.sim.driver().events() + events;
        while self.sim.driver().events() < target {
            if self.sim.step().is_none() {
                self.done = true;
                break;
            }
        }
        self.take()
    }

    /// Simulates up to `until` (simulated time) and returns the steps since the last call.
    pub fn run_until(&mut self, until: Timestamp) -> Vec<Step> {
        self.sim.run_until(until);
        self.take()
    }

    /// Whether the scenario has nothing left to do.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Events caused so far.
    pub fn events(&self) -> u64 {
        self.sim.driver().events()
    }

    /// The engine's state after the steps handed out so far (for snapshots).
    pub fn engine(&self) -> &Core {
        self.sim.driver().engine()
    }

    /// The simulation's counts.
    pub fn stats(&self) -> &SimStats {
        self.sim.stats()
    }

    /// Simulated now.
    pub fn now(&self) -> Timestamp {
        self.sim.now()
    }

    fn take(&mut self) -> Vec<Step> {
        std::mem::take(&mut *self.steps.borrow_mut())
    }
}

/// Every step of `scenario` run with `seed` until `events` events were caused (setup
/// included), the engine's time quantized to `quantum_ms`.
pub fn record(
    scenario: Scenario,
    seed: u64,
    quantum_ms: i64,
    events: u64,
) -> Result<Vec<Step>, SimError> {
    let mut load = LoadGen::new(scenario, seed, quantum_ms)?;
    let mut steps = Vec::new();
    while load.events() < events && !load.done() {
        let more = events - load.events();
        steps.extend(load.next_events(more));
    }
    Ok(steps)
}

/// Steps grouped by window (consecutive steps with the same `at`), in order: what a replay
/// sends between two clock moves.
pub fn windows(steps: &[Step]) -> Vec<&[Step]> {
    steps.chunk_by(|a, b| a.at == b.at).collect()
}

/// `scenario` with `k` times the agents (copies of each agent, same teams, capacity and
/// shift, distinct names and e-mails) and `k` times the arrival rate: the same contact
/// center, `k` times larger.
pub fn scaled(mut scenario: Scenario, k: usize) -> Scenario {
    let k = k.max(1);
    let base = scenario.agents.clone();
    for copy in 2..=k {
        for a in &base {
            let mut a = a.clone();
            a.name = format!("{} {copy}", a.name);
            a.email = match a.email.split_once('@') {
                Some((user, domain)) => format!("{user}.{copy}@{domain}"),
                None => format!("{}.{copy}", a.email),
            };
            scenario.agents.push(a);
        }
    }
    scenario.rate_multiplier *= k as f64;
    scenario.name = format!("{} ×{k}", scenario.name);
    scenario
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::demo;

    /// Replaying the recorded commands on a fresh engine, window by window at each window's
    /// time with the timers run at the first command of a window (as the server's engine
    /// does), yields exactly the recorded events: the load is replayable.
    #[test]
    fn recorded_steps_replay_identically_on_a_fresh_engine() {
        let steps = record(demo::demo(demo::DEMO_START), 11, 1_000, 20_000).unwrap();
        assert!(steps.iter().map(|s| s.events.len()).sum::<usize>() >= 20_000);
        let mut core = Core::default();
        let mut refused = 0;
        for window in windows(&steps) {
            let at = window[0].at;
            for step in window {
                let mut events = Vec::new();
                if core.next_deadline().is_some_and(|d| d <= at) {
                    events.extend(core.tick(at));
                }
                match core.execute(step.command.clone(), at) {
                    Ok(own) => events.extend(own),
                    Err(_) => refused += 1,
                }
                assert_eq!(events, step.events, "{:?}", step.command);
            }
        }
        let recorded_refusals = steps.iter().filter(|s| s.refused).count();
        assert_eq!(refused, recorded_refusals);
        // A healthy run: refusals are rare.
        assert!(recorded_refusals * 100 < steps.len(), "{recorded_refusals}");
    }

    #[test]
    fn the_same_seed_records_the_same_load_and_scaling_multiplies_it() {
        let a = record(demo::demo(demo::DEMO_START), 3, 1_000, 5_000).unwrap();
        let b = record(demo::demo(demo::DEMO_START), 3, 1_000, 5_000).unwrap();
        assert_eq!(a, b);
        let big = scaled(demo::demo(demo::DEMO_START), 4);
        assert_eq!(
            big.agents.len(),
            4 * demo::demo(demo::DEMO_START).agents.len()
        );
        let mut load = LoadGen::new(big, 3, 1_000).unwrap();
        let steps = load.run_until(demo::DEMO_START.plus_ms(10 * 60_000));
        assert!(steps.iter().all(|s| s.at <= load.now()));
        assert!(load.stats().sessions_started > 0);
    }
}
