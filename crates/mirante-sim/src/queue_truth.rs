//! Queue truth (D-10, issue 7 item 3): the engine's routing, measured in simulated time,
//! agrees with the Erlang C formula.
//!
//! The scenario is an M/M/c queue built from ordinary configuration: one team of `c` agents
//! of capacity 1 (*menos atendimentos*, no timeouts, no overflow, no wrap-up codes), one
//! channel whose flow is a single `route` step (no bot turn: the first message queues the
//! session), Poisson arrivals of rate `λ`, and agents that finish each session after an
//! exponential handling time of rate `μ`. Nobody abandons, pauses or logs out. Contacts come
//! back (an arrival reuses an idle contact), so the engine's state stays bounded over 10⁶
//! sessions.
//!
//! The wait of a session is measured from the events: `SessionQueued` (routed) → its first
//! `SessionAssigned`. Sessions are counted in arrival order; the first `warmup` are dropped
//! (the run starts empty), then `sessions` are measured. `P(wait > 0)` and the mean wait are
//! estimated with batch means ([`crate::erlang::batch_means`]); the simulation also checks
//! FIFO and work conservation after every command and tick (see [`crate::World`]).

use crate::dist::Dist;
use crate::driver::InProcess;
use crate::erlang::{BatchMeans, ErlangC, batch_means, erlang_c_full, t_999};
use crate::scenario::{
    AgentModel, AgentSpec, Arrivals, ChannelSpec, CustomerModel, DailyCurve, Scenario, Shift,
    TeamSpec,
};
use crate::sim::{Observer, SimError, SimStats, Simulation};
use crate::world::World;
use mirante_core::flow::{FlowDef, Step};
use mirante_core::{
    ChannelKind, DistributionMode, Event, EventKind, QueueReason, SessionId, TeamId, TeamSettings,
    Timestamp,
};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// 2026-01-05 00:00 UTC: the start of every queue-truth run.
pub const QUEUE_TRUTH_START: Timestamp = Timestamp(1_767_571_200_000);

/// One queue-truth experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueTruth {
    /// Servers (agents of capacity 1).
    pub agents: u32,
    /// Arrival rate, per minute.
    pub lambda_per_min: f64,
    /// Service rate of one agent, per minute (mean handling time `1/μ`).
    pub mu_per_min: f64,
    /// Sessions measured (after the warm-up).
    pub sessions: usize,
    /// Sessions dropped at the start.
    pub warmup: usize,
    /// Batches for the confidence interval.
    pub batches: usize,
    /// Seed.
    pub seed: u64,
    /// Also compare the event-folded world with the engine after every batch (slower).
    pub check_against_core: bool,
}

impl QueueTruth {
    /// `c` agents with a mean handling time of 5 minutes at utilisation `rho`, measuring
    /// `sessions` after a warm-up of 5 % (at least 2 000), in 32 batches.
    pub fn at_load(agents: u32, rho: f64, sessions: usize, seed: u64) -> QueueTruth {
        let mu = 0.2;
        QueueTruth {
            agents,
            lambda_per_min: rho * f64::from(agents) * mu,
            mu_per_min: mu,
            sessions,
            warmup: (sessions / 20).max(2_000),
            batches: 32,
            seed,
            check_against_core: false,
        }
    }

    /// Utilisation `λ/(cμ)`.
    pub fn rho(&self) -> f64 {
        self.lambda_per_min / (f64::from(self.agents) * self.mu_per_min)
    }

    /// The scenario: one team, one direct channel, `c` agents always on.
    pub fn scenario(&self) -> Scenario {
        let team = TeamId(1);
        let flow = FlowDef {
            name: "Fila direta".into(),
            start: "fila".into(),
            steps: BTreeMap::from([("fila".to_string(), Step::Route { team, text: None })]),
        };
        Scenario {
            name: format!("Erlang C c={} rho={:.2}", self.agents, self.rho()),
            start: QUEUE_TRUTH_START,
            utc_offset_minutes: 0,
            rate_multiplier: 1.0,
            bot_inactivity_ms: None,
            pause_reasons: Vec::new(),
            teams: vec![TeamSpec {
                name: "Fila".into(),
                settings: TeamSettings {
                    mode: DistributionMode::LeastBusy,
                    ..TeamSettings::default()
                },
                overflow: None,
            }],
            channels: vec![ChannelSpec {
                kind: ChannelKind::Api,
                name: "Entrada".into(),
                flow,
                arrivals: Arrivals {
                    peak_per_hour: self.lambda_per_min * 60.0,
                    curve: DailyCurve::flat(),
                },
            }],
            agents: (0..self.agents)
                .map(|i| AgentSpec {
                    name: format!("Agente {}", i + 1),
                    email: format!("agente{}@fila.example", i + 1),
                    teams: vec!["Fila".into()],
                    capacity: 1,
                    shift: Shift::Always,
                })
                .collect(),
            customers: CustomerModel {
                think: Dist::Const { ms: 0.0 },
                p_silent_in_bot: 0.0,
                p_invalid: 0.0,
                p_words: 0.0,
                patience: None,
                p_nudge_while_waiting: 0.0,
                reply: None,
                p_silent_in_service: 0.0,
                p_returning: 1.0,
            },
            agent_model: AgentModel {
                handling: Dist::Exp {
                    mean_ms: 60_000.0 / self.mu_per_min,
                },
                first_reply: None,
                reply: None,
                p_transfer: 0.0,
                login_jitter_ms: 0,
                pauses: Vec::new(),
                end_of_shift_reason: None,
            },
        }
    }

    /// Runs the experiment.
    pub fn run(&self) -> Result<QueueTruthReport, SimError> {
        let started = Instant::now();
        let target = self.warmup + self.sessions;
        let recorder = WaitRecorder::with_capacity(target);
        let mut sim =
            Simulation::with_observer(self.scenario(), InProcess::new(), self.seed, recorder)
                .check_invariants(true)
                .check_against_core(self.check_against_core);
        sim.setup()?;
        while sim.observer().filled < target {
            if sim.step().is_none() {
                break;
            }
        }
        let wall = started.elapsed().as_secs_f64();
        let waits =
            &sim.observer().waits[self.warmup.min(sim.observer().filled)..sim.observer().filled];
        let waited: Vec<f64> = waits
            .iter()
            .map(|w| if *w > 0.0 { 1.0 } else { 0.0 })
            .collect();
        let minutes: Vec<f64> = waits.iter().map(|w| w / 60_000.0).collect();
        let predicted = erlang_c_full(self.lambda_per_min, self.mu_per_min, self.agents);
        Ok(QueueTruthReport {
            agents: self.agents,
            lambda_per_min: self.lambda_per_min,
            mu_per_min: self.mu_per_min,
            rho: self.rho(),
            predicted,
            p_wait: batch_means(&waited, self.batches),
            mean_wait_min: batch_means(&minutes, self.batches),
            sessions: waits.len(),
            wall_secs: wall,
            sessions_per_sec: sim.observer().filled as f64 / wall.max(1e-9),
            stats: sim.stats().clone(),
            notes: sim.world().violation_notes.clone(),
        })
    }
}

/// What one experiment measured.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueTruthReport {
    /// Servers.
    pub agents: u32,
    /// Arrival rate per minute.
    pub lambda_per_min: f64,
    /// Service rate per minute.
    pub mu_per_min: f64,
    /// Utilisation.
    pub rho: f64,
    /// Erlang C (mean wait in minutes).
    pub predicted: ErlangC,
    /// Measured probability of waiting.
    pub p_wait: BatchMeans,
    /// Measured mean wait, minutes.
    pub mean_wait_min: BatchMeans,
    /// Sessions measured.
    pub sessions: usize,
    /// Wall-clock seconds of the run (warm-up included).
    pub wall_secs: f64,
    /// Simulated sessions per wall-clock second (warm-up included).
    pub sessions_per_sec: f64,
    /// Simulation counters (refusals, invariant violations…).
    pub stats: SimStats,
    /// Invariant violation notes, if any.
    pub notes: Vec<String>,
}

/// An agreement check: `|measured − predicted| ≤ max(z·SE, floor)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    /// Measured − predicted.
    pub error: f64,
    /// Error relative to the prediction.
    pub relative: f64,
    /// The allowed absolute error: `max(z·SE, floor)`.
    pub tolerance: f64,
    /// `z·SE` relative to the prediction: below 5 %, the 5 % target is also asserted.
    pub ci_relative: f64,
}

impl Agreement {
    /// Within the tolerance (and within 5 % when the confidence interval is that narrow).
    pub fn holds(&self) -> bool {
        self.error.abs() <= self.tolerance
            && (self.ci_relative > 0.05 || self.relative.abs() <= 0.05)
    }
}

fn agreement(measured: &BatchMeans, predicted: f64, floor: f64) -> Agreement {
    let half = t_999(measured.batches.saturating_sub(1)) * measured.se;
    let error = measured.mean - predicted;
    Agreement {
        error,
        relative: error / predicted,
        tolerance: half.max(floor),
        ci_relative: half / predicted,
    }
}

impl QueueTruthReport {
    /// P(wait > 0) against Erlang C, with a floor of 1 % of the prediction (see
    /// `docs/erlang-c.md`).
    pub fn p_wait_agreement(&self) -> Agreement {
        agreement(
            &self.p_wait,
            self.predicted.p_wait,
            0.01 * self.predicted.p_wait,
        )
    }

    /// Mean wait against Erlang C, with a floor of 1 % of the prediction.
    pub fn mean_wait_agreement(&self) -> Agreement {
        agreement(
            &self.mean_wait_min,
            self.predicted.mean_wait,
            0.01 * self.predicted.mean_wait,
        )
    }

    /// A markdown table row: λ, μ, c, ρ, P(wait) predicted/measured/error, mean wait
    /// predicted/measured/error, sessions, speed.
    pub fn table_row(&self) -> String {
        let p = self.p_wait_agreement();
        let w = self.mean_wait_agreement();
        format!(
            "| {:.3} | {:.2} | {} | {:.2} | {:.4} | {:.4} ± {:.4} | {:+.1} % | {:.3} | {:.3} ± {:.3} | {:+.1} % | {} | {:.0} |",
            self.lambda_per_min,
            self.mu_per_min,
            self.agents,
            self.rho,
            self.predicted.p_wait,
            self.p_wait.mean,
            t_999(self.p_wait.batches.saturating_sub(1)) * self.p_wait.se,
            100.0 * p.relative,
            self.predicted.mean_wait,
            self.mean_wait_min.mean,
            t_999(self.mean_wait_min.batches.saturating_sub(1)) * self.mean_wait_min.se,
            100.0 * w.relative,
            self.sessions,
            self.sessions_per_sec,
        )
    }

    /// The header matching [`QueueTruthReport::table_row`].
    pub fn table_header() -> &'static str {
        "| λ (/min) | μ (/min) | c | ρ | P(wait) Erlang C | P(wait) measured ± 99.9 % | error | mean wait Erlang C (min) | mean wait measured ± 99.9 % (min) | error | sessions | sessions/s |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    }

    /// One JSON object with the figures.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "lambda_per_min": self.lambda_per_min,
            "mu_per_min": self.mu_per_min,
            "agents": self.agents,
            "rho": self.rho,
            "p_wait_predicted": self.predicted.p_wait,
            "p_wait_measured": self.p_wait.mean,
            "p_wait_se": self.p_wait.se,
            "mean_wait_predicted_min": self.predicted.mean_wait,
            "mean_wait_measured_min": self.mean_wait_min.mean,
            "mean_wait_se_min": self.mean_wait_min.se,
            "p_wait_rel_error": self.p_wait_agreement().relative,
            "mean_wait_rel_error": self.mean_wait_agreement().relative,
            "sessions": self.sessions,
            "sessions_per_sec": self.sessions_per_sec,
            "wall_secs": self.wall_secs,
            "refused": self.stats.refused,
            "fifo_violations": self.stats.fifo_violations,
            "work_conservation_violations": self.stats.work_conservation_violations,
        })
    }
}

/// Records, in arrival order, each routed session's wait until its first agent.
#[derive(Debug, Clone, Default)]
pub struct WaitRecorder {
    /// Waits in ms by arrival index (`NaN` until assigned).
    pub waits: Vec<f64>,
    /// The length of the prefix of `waits` that is complete.
    pub filled: usize,
    pending: HashMap<SessionId, (usize, Timestamp)>,
}

impl WaitRecorder {
    /// A recorder expecting about `n` sessions.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            waits: Vec::with_capacity(n),
            filled: 0,
            pending: HashMap::new(),
        }
    }
}

impl Observer for WaitRecorder {
    fn on_event(&mut self, e: &Event, _world: &World) {
        match &e.kind {
            EventKind::SessionQueued {
                session,
                reason: QueueReason::Routed,
                ..
            } => {
                self.pending.insert(*session, (self.waits.len(), e.at));
                self.waits.push(f64::NAN);
            }
            EventKind::SessionAssigned { session, .. } => {
                if let Some((i, queued)) = self.pending.remove(session)
                    && let Some(w) = self.waits.get_mut(i)
                {
                    *w = e.at.since(queued) as f64;
                    while self.waits.get(self.filled).is_some_and(|w| !w.is_nan()) {
                        self.filled += 1;
                    }
                }
            }
            _ => {}
        }
    }
}
