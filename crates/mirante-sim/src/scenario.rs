//! A scenario: the whole simulated contact center as data — configuration (channels with
//! their bot flows, teams, agents, pause reasons, settings) and behaviour (arrival rates and
//! their daily curve, how customers and agents act). [`Scenario::setup_commands`] turns the
//! configuration into the commands an administrator would send; the behaviour drives the
//! [`crate::Simulation`].
//!
//! Ids are predicted for a **fresh** contact center (the core allocates them from counters
//! starting at 1, in creation order): the `i`-th team (0-based) is `TeamId(i + 1)`, and so on
//! for channels, flows, agents and pause reasons. Flows name their teams by these ids;
//! [`crate::Simulation::setup`] checks every created id against the prediction.

use crate::dist::Dist;
use mirante_core::flow::FlowDef;
use mirante_core::{
    AgentId, ChannelId, ChannelKind, Command, FlowId, PauseReasonId, TeamId, TeamSettings,
    Timestamp,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * 3_600_000;

/// The simulated contact center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// A name for reports.
    pub name: String,
    /// When the simulation starts (and the configuration is created).
    pub start: Timestamp,
    /// Offset of local time from UTC, in minutes (São Paulo: −180, no daylight saving since
    /// 2019). The daily curve and the shifts are in local time.
    pub utc_offset_minutes: i32,
    /// Multiplies every channel's arrival rate (1.0 = as configured).
    pub rate_multiplier: f64,
    /// Bot inactivity before a silent customer's session is finished (global setting).
    pub bot_inactivity_ms: Option<i64>,
    /// Pause reasons.
    pub pause_reasons: Vec<PauseReasonSpec>,
    /// Teams, in creation order.
    pub teams: Vec<TeamSpec>,
    /// Channels, in creation order (each with its own flow).
    pub channels: Vec<ChannelSpec>,
    /// Agents, in creation order.
    pub agents: Vec<AgentSpec>,
    /// How customers behave.
    pub customers: CustomerModel,
    /// How agents behave.
    pub agent_model: AgentModel,
}

/// A pause reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PauseReasonSpec {
    /// Name, e.g. `Almoço`.
    pub name: String,
    /// Informative maximum duration.
    pub max_duration_ms: Option<i64>,
}

/// A team. Its `settings.overflow_team` is ignored: the overflow is named by `overflow` and
/// set once every team exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamSpec {
    /// Name.
    pub name: String,
    /// Settings (mode, timeouts, messages, wrap-up codes).
    pub settings: TeamSettings,
    /// *Transbordo*: the name of the team that takes sessions waiting longer than
    /// `settings.max_wait_ms`.
    pub overflow: Option<String>,
}

/// A channel, its bot flow and its traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelSpec {
    /// Kind.
    pub kind: ChannelKind,
    /// Display name.
    pub name: String,
    /// Bot flow (route steps name teams by predicted id, see the module doc).
    pub flow: FlowDef,
    /// New customers on this channel.
    pub arrivals: Arrivals,
}

/// A Poisson arrival process whose rate follows the time of day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arrivals {
    /// Arrivals per hour when the curve is at 1.0.
    pub peak_per_hour: f64,
    /// Relative rate over the day.
    pub curve: DailyCurve,
}

/// Relative arrival rate at each local hour (24 values, usually in `[0, 1]`), interpolated
/// linearly between whole hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyCurve {
    /// Value at 00:00, 01:00, … 23:00.
    pub hourly: Vec<f64>,
}

impl DailyCurve {
    /// The same rate all day (a homogeneous Poisson process).
    pub fn flat() -> Self {
        Self {
            hourly: vec![1.0; 24],
        }
    }

    /// A Brazilian business day: quiet night, a morning peak around 10h, a dip at lunch, an
    /// afternoon peak around 15h, a long evening tail.
    pub fn business_day() -> Self {
        Self {
            hourly: vec![
                0.06, 0.04, 0.03, 0.03, 0.03, 0.05, 0.12, 0.30, 0.60, 0.90, 1.00, 0.95, 0.70, 0.65,
                0.85, 0.90, 0.85, 0.70, 0.50, 0.40, 0.30, 0.22, 0.15, 0.10,
            ],
        }
    }

    /// The relative rate at `local_ms` milliseconds after local midnight.
    pub fn at(&self, local_ms: i64) -> f64 {
        let n = self.hourly.len();
        if n == 0 {
            return 0.0;
        }
        let hours = local_ms.rem_euclid(DAY_MS) as f64 / 3_600_000.0;
        let h = (hours.floor() as usize) % n;
        let frac = hours - hours.floor();
        let a = self.hourly[h];
        let b = self.hourly[(h + 1) % n];
        (a + (b - a) * frac).max(0.0)
    }

    /// The highest value (the thinning bound).
    pub fn max(&self) -> f64 {
        self.hourly.iter().copied().fold(0.0, f64::max)
    }
}

/// An agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSpec {
    /// Full name.
    pub name: String,
    /// Login e-mail.
    pub email: String,
    /// Teams, by name.
    pub teams: Vec<String>,
    /// Max simultaneous sessions.
    pub capacity: u32,
    /// When the agent works.
    pub shift: Shift,
}

/// When an agent works.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shift {
    /// Logged in from the start, never leaves, never pauses (queue-truth runs).
    Always,
    /// Every day between two local times (minutes after midnight); `end < start` crosses
    /// midnight.
    Daily {
        /// Start, minutes after local midnight.
        start_min: u32,
        /// End, minutes after local midnight.
        end_min: u32,
    },
}

impl Shift {
    /// `Daily` from `"HH:MM"`-style hours and minutes.
    pub fn daily(start_h: u32, start_m: u32, end_h: u32, end_m: u32) -> Shift {
        Shift::Daily {
            start_min: start_h * 60 + start_m,
            end_min: end_h * 60 + end_m,
        }
    }

    /// Length of a daily shift in ms (a 24 h shift when start = end).
    pub fn len_ms(&self) -> Option<i64> {
        match *self {
            Shift::Always => None,
            Shift::Daily { start_min, end_min } => {
                let len = (i64::from(end_min) - i64::from(start_min)).rem_euclid(24 * 60);
                Some(if len == 0 { DAY_MS } else { len * 60_000 })
            }
        }
    }
}

/// How customers behave. Probabilities are per occasion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerModel {
    /// Time to answer a bot prompt.
    pub think: Dist,
    /// At a bot prompt: never answers (the bot's inactivity timeout finishes the session).
    pub p_silent_in_bot: f64,
    /// At a bot prompt: answers something the bot does not understand.
    pub p_invalid: f64,
    /// At a menu: types an option's words (a synonym or the label) instead of its number.
    pub p_words: f64,
    /// Time the customer accepts to wait for a first agent before leaving (finishing the
    /// session); `None`: waits forever.
    pub patience: Option<Dist>,
    /// While waiting: writes once more ("ainda estou aguardando").
    pub p_nudge_while_waiting: f64,
    /// Gap between the customer's messages while served; `None`: silent.
    pub reply: Option<Dist>,
    /// When served: never writes again (the team's inactivity timeout may finish it).
    pub p_silent_in_service: f64,
    /// A new arrival is a returning contact (when one is idle on that channel).
    pub p_returning: f64,
}

/// How agents behave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentModel {
    /// Handling time: from assignment to finishing (or transferring) the session.
    pub handling: Dist,
    /// Delay of the agent's first message after the assignment; `None`: no greeting.
    pub first_reply: Option<Dist>,
    /// Gap between the agent's messages; `None`: silent.
    pub reply: Option<Dist>,
    /// At the end of handling: transfers instead of finishing (70 % to another team, 30 % to
    /// an available colleague of the same team).
    pub p_transfer: f64,
    /// Log-in happens within ± this many ms of the shift start.
    pub login_jitter_ms: i64,
    /// Planned breaks in each shift.
    pub pauses: Vec<PausePlan>,
    /// Pause reason used at the end of a shift while the agent finishes its open sessions
    /// (it then logs out); `None`: logs out at once, its sessions go back to the queue.
    pub end_of_shift_reason: Option<String>,
}

/// A break an agent may take during a shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PausePlan {
    /// Pause reason, by name.
    pub reason: String,
    /// Probability that the break happens in a given shift.
    pub probability: f64,
    /// Where in the shift it is centred (0 = start, 1 = end).
    pub at_fraction: f64,
    /// Uniform ± jitter around that point, in ms.
    pub jitter_ms: i64,
    /// How long it lasts.
    pub duration: Dist,
    /// Only in shifts at least this long.
    pub min_shift_ms: i64,
}

impl Scenario {
    /// The predicted id of the team named `name` (see the module doc).
    pub fn team_id(&self, name: &str) -> Option<TeamId> {
        self.teams
            .iter()
            .position(|t| t.name == name)
            .map(|i| TeamId(i as u64 + 1))
    }

    /// The predicted id of the pause reason named `name`.
    pub fn pause_reason_id(&self, name: &str) -> Option<PauseReasonId> {
        self.pause_reasons
            .iter()
            .position(|p| p.name == name)
            .map(|i| PauseReasonId(i as u64 + 1))
    }

    /// The predicted id of the `i`-th channel.
    pub fn channel_id(i: usize) -> ChannelId {
        ChannelId(i as u64 + 1)
    }

    /// The predicted id of the `i`-th agent.
    pub fn agent_id(i: usize) -> AgentId {
        AgentId(i as u64 + 1)
    }

    /// The configuration commands, in order, for a fresh contact center: settings, pause
    /// reasons, teams (then their overflow), one flow per channel, channels, agents.
    pub fn setup_commands(&self) -> Vec<Command> {
        let mut out = Vec::new();
        if self.bot_inactivity_ms.is_some() {
            out.push(Command::UpdateSettings {
                time_zone: None,
                bulk_cap: None,
                bot_inactivity_ms: self.bot_inactivity_ms,
            });
        }
        for p in &self.pause_reasons {
            out.push(Command::CreatePauseReason {
                name: p.name.clone(),
                max_duration_ms: p.max_duration_ms,
            });
        }
        for t in &self.teams {
            let mut settings = t.settings.clone();
            settings.overflow_team = None;
            out.push(Command::CreateTeam {
                name: t.name.clone(),
                settings,
            });
        }
        for (i, t) in self.teams.iter().enumerate() {
            if let Some(o) = t.overflow.as_deref().and_then(|o| self.team_id(o)) {
                let mut settings = t.settings.clone();
                settings.overflow_team = Some(o);
                out.push(Command::UpdateTeam {
                    team: TeamId(i as u64 + 1),
                    name: None,
                    settings: Some(settings),
                    enabled: None,
                });
            }
        }
        for c in &self.channels {
            out.push(Command::CreateFlow {
                def: c.flow.clone(),
            });
        }
        for (i, c) in self.channels.iter().enumerate() {
            out.push(Command::CreateChannel {
                kind: c.kind,
                name: c.name.clone(),
                flow: Some(FlowId(i as u64 + 1)),
            });
        }
        for a in &self.agents {
            let teams: BTreeSet<TeamId> = a.teams.iter().filter_map(|t| self.team_id(t)).collect();
            out.push(Command::CreateAgent {
                name: a.name.clone(),
                nickname: None,
                email: a.email.clone(),
                teams,
                capacity: Some(a.capacity),
            });
        }
        out
    }

    /// Local milliseconds since the Unix epoch (UTC shifted by the offset).
    pub fn local_ms(&self, t: Timestamp) -> i64 {
        t.0 + i64::from(self.utc_offset_minutes) * 60_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_interpolates_between_hours() {
        let c = DailyCurve {
            hourly: (0..24).map(f64::from).collect(),
        };
        assert!((c.at(90 * 60_000) - 1.5).abs() < 1e-9);
        assert!((c.at(DAY_MS + 3_600_000) - 1.0).abs() < 1e-9);
        assert!((c.at(23 * 3_600_000 + 1_800_000) - 11.5).abs() < 1e-9);
        assert!((DailyCurve::flat().at(12_345) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn overnight_shift_length() {
        assert_eq!(Shift::daily(22, 0, 6, 0).len_ms(), Some(8 * 3_600_000));
        assert_eq!(Shift::daily(8, 0, 17, 0).len_ms(), Some(9 * 3_600_000));
    }
}
