//! What the simulator knows of the contact center: a small model folded from the events the
//! driver returns, never read from the engine. Customers and agents decide from it (is my
//! session still waiting? am I still online?), and it is the independent oracle for the
//! routing invariants of D-10:
//!
//! - **FIFO**: a session assigned by distribution is the head of its team's queue (the queue
//!   order is rebuilt from `SessionQueued`: back, or front for M-15 re-queues);
//! - **work conservation**: after every command and tick, no team outside *todos* mode has a
//!   waiting session while one of its members is online with free capacity.

use mirante_core::{
    AgentId, AssignedBy, ChannelId, ContactId, Core, DistributionMode, Event, EventKind,
    PauseReasonId, Phase, Presence, SessionId, TeamId, Timestamp,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// An open session as the events describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    /// The channel.
    pub channel: ChannelId,
    /// The customer.
    pub contact: ContactId,
    /// Phase.
    pub phase: Phase,
    /// Team (after routing).
    pub team: Option<TeamId>,
    /// Agent (phase human).
    pub agent: Option<AgentId>,
    /// Bot step it waits at (phase bot).
    pub bot_step: Option<String>,
    /// Started.
    pub started_at: Timestamp,
    /// Last entered a queue.
    pub queued_at: Option<Timestamp>,
    /// First reached an agent.
    pub first_assigned_at: Option<Timestamp>,
    /// Bumped by every bot step, queueing and assignment: an action planned at one epoch is
    /// stale at another.
    pub epoch: u32,
}

/// A team as the events describe it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TeamView {
    /// Name.
    pub name: String,
    /// Distribution mode.
    pub mode: DistributionMode,
    /// Wrap-up codes (required on an agent's finish when non-empty).
    pub wrapup_codes: Vec<String>,
    /// Waiting sessions, next to be served first.
    pub queue: VecDeque<SessionId>,
    /// Agents of the team.
    pub members: BTreeSet<AgentId>,
}

/// An agent as the events describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentView {
    /// Name.
    pub name: String,
    /// Nickname.
    pub nickname: String,
    /// Teams.
    pub teams: BTreeSet<TeamId>,
    /// Capacity.
    pub capacity: u32,
    /// Enabled.
    pub enabled: bool,
    /// Presence.
    pub presence: Presence,
    /// Open sessions.
    pub sessions: BTreeSet<SessionId>,
}

impl AgentView {
    /// Online, enabled, with free capacity.
    pub fn is_available(&self) -> bool {
        self.enabled
            && self.presence == Presence::Online
            && self.sessions.len() < self.capacity as usize
    }
}

/// The folded model.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// Open sessions.
    pub sessions: BTreeMap<SessionId, SessionView>,
    /// Teams.
    pub teams: BTreeMap<TeamId, TeamView>,
    /// Agents.
    pub agents: BTreeMap<AgentId, AgentView>,
    /// Pause reasons by id (name).
    pub pause_reasons: BTreeMap<PauseReasonId, String>,
    /// FIFO violations seen so far (assignment of a session that was not its queue's head).
    pub fifo_violations: u64,
    /// The first few violation descriptions, for the report.
    pub violation_notes: Vec<String>,
}

const MAX_NOTES: usize = 20;

impl World {
    /// An empty world.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one event.
    pub fn apply(&mut self, e: &Event) {
        let at = e.at;
        match &e.kind {
            EventKind::TeamCreated { team } | EventKind::TeamUpdated { team } => {
                let t = self.teams.entry(team.id).or_default();
                t.name.clone_from(&team.name);
                t.mode = team.settings.mode;
                t.wrapup_codes.clone_from(&team.settings.wrapup_codes);
            }
            EventKind::AgentCreated { agent } | EventKind::AgentUpdated { agent } => {
                for t in self.teams.values_mut() {
                    t.members.remove(&agent.id);
                }
                for t in &agent.teams {
                    self.teams.entry(*t).or_default().members.insert(agent.id);
                }
                let view = self.agents.entry(agent.id).or_insert_with(|| AgentView {
                    name: String::new(),
                    nickname: String::new(),
                    teams: BTreeSet::new(),
                    capacity: 0,
                    enabled: true,
                    presence: Presence::Offline,
                    sessions: BTreeSet::new(),
                });
                view.name.clone_from(&agent.name);
                view.nickname.clone_from(&agent.nickname);
                view.teams.clone_from(&agent.teams);
                view.capacity = agent.capacity;
                view.enabled = agent.enabled;
            }
            EventKind::PauseReasonCreated { reason } | EventKind::PauseReasonUpdated { reason } => {
                self.pause_reasons.insert(reason.id, reason.name.clone());
            }
            EventKind::AgentLoggedIn { agent } | EventKind::AgentResumed { agent, .. } => {
                self.set_presence(*agent, Presence::Online);
            }
            EventKind::AgentLoggedOut { agent, .. } => self.set_presence(*agent, Presence::Offline),
            EventKind::AgentPaused { agent, reason, .. } => {
                self.set_presence(*agent, Presence::Paused { reason: *reason });
            }
            EventKind::SessionStarted {
                session,
                contact,
                channel,
                ..
            } => {
                self.sessions.insert(
                    *session,
                    SessionView {
                        channel: *channel,
                        contact: *contact,
                        phase: Phase::Bot,
                        team: None,
                        agent: None,
                        bot_step: None,
                        started_at: at,
                        queued_at: None,
                        first_assigned_at: None,
                        epoch: 0,
                    },
                );
            }
            EventKind::BotStepEntered { session, step, .. } => {
                if let Some(s) = self.sessions.get_mut(session) {
                    s.bot_step = Some(step.clone());
                    s.epoch += 1;
                }
            }
            EventKind::SessionQueued {
                session,
                team,
                front,
                ..
            } => {
                self.detach(*session);
                if let Some(s) = self.sessions.get_mut(session) {
                    s.phase = Phase::Waiting;
                    s.team = Some(*team);
                    s.agent = None;
                    s.bot_step = None;
                    s.queued_at = Some(at);
                    s.epoch += 1;
                    let q = &mut self.teams.entry(*team).or_default().queue;
                    if *front {
                        q.push_front(*session);
                    } else {
                        q.push_back(*session);
                    }
                }
            }
            EventKind::SessionAssigned {
                session,
                agent,
                team,
                by,
                ..
            } => {
                if *by == AssignedBy::Distribution {
                    self.check_fifo(*session, *team);
                }
                self.detach(*session);
                if let Some(s) = self.sessions.get_mut(session) {
                    s.phase = Phase::Human;
                    s.team = Some(*team);
                    s.agent = Some(*agent);
                    s.bot_step = None;
                    s.first_assigned_at.get_or_insert(at);
                    s.epoch += 1;
                    if let Some(a) = self.agents.get_mut(agent) {
                        a.sessions.insert(*session);
                    }
                }
            }
            EventKind::SessionFinished { session, .. } => {
                self.detach(*session);
                self.sessions.remove(session);
            }
            _ => {}
        }
    }

    /// Work conservation (D-10) on the folded model: `Err` names the first team that has a
    /// waiting session while one of its members could take it.
    pub fn check_work_conservation(&self) -> Result<(), String> {
        for (tid, team) in &self.teams {
            if team.mode == DistributionMode::All || team.queue.is_empty() {
                continue;
            }
            for aid in &team.members {
                if let Some(a) = self.agents.get(aid)
                    && a.is_available()
                {
                    return Err(format!(
                        "team {tid} ({}) has {} waiting while agent {aid} ({}) is online with {}/{}",
                        team.name,
                        team.queue.len(),
                        a.name,
                        a.sessions.len(),
                        a.capacity
                    ));
                }
            }
        }
        Ok(())
    }

    /// Compares the folded model with the engine's state (read-only): every team queue in the
    /// same order, every agent with the same presence and sessions, the same open sessions.
    pub fn check_against(&self, core: &Core) -> Result<(), String> {
        let st = core.state();
        if st.sessions.len() != self.sessions.len() {
            return Err(format!(
                "{} open sessions in the engine, {} from the events",
                st.sessions.len(),
                self.sessions.len()
            ));
        }
        for (tid, t) in &st.teams {
            let mine = self.teams.get(tid).map(|v| &v.queue);
            if mine.is_none_or(|q| !q.iter().eq(t.queue.iter())) {
                return Err(format!(
                    "team {tid}: engine queue {:?}, from the events {:?}",
                    t.queue, mine
                ));
            }
        }
        for (aid, a) in &st.agents {
            let Some(mine) = self.agents.get(aid) else {
                return Err(format!("agent {aid} unknown from the events"));
            };
            if mine.presence != a.presence || mine.sessions != a.sessions {
                return Err(format!(
                    "agent {aid}: engine {:?} {:?}, from the events {:?} {:?}",
                    a.presence, a.sessions, mine.presence, mine.sessions
                ));
            }
        }
        Ok(())
    }

    /// Counts of open sessions by phase: (bot, waiting, human).
    pub fn phase_counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for s in self.sessions.values() {
            match s.phase {
                Phase::Bot => c.0 += 1,
                Phase::Waiting => c.1 += 1,
                Phase::Human => c.2 += 1,
            }
        }
        c
    }

    /// Records a violation note (bounded).
    pub fn note(&mut self, text: String) {
        if self.violation_notes.len() < MAX_NOTES {
            self.violation_notes.push(text);
        }
    }

    fn check_fifo(&mut self, session: SessionId, team: TeamId) {
        let head = self.teams.get(&team).and_then(|t| t.queue.front().copied());
        if head != Some(session) {
            self.fifo_violations += 1;
            self.note(format!(
                "FIFO: session {session} assigned in team {team} while the head was {head:?}"
            ));
        }
    }

    fn set_presence(&mut self, agent: AgentId, p: Presence) {
        if let Some(a) = self.agents.get_mut(&agent) {
            a.presence = p;
        }
    }

    /// Takes a session out of its queue or its agent's load.
    fn detach(&mut self, session: SessionId) {
        let Some(s) = self.sessions.get(&session) else {
            return;
        };
        match s.phase {
            Phase::Waiting => {
                if let Some(q) = s
                    .team
                    .and_then(|t| self.teams.get_mut(&t))
                    .map(|t| &mut t.queue)
                    && let Some(pos) = q.iter().position(|x| *x == session)
                {
                    q.remove(pos);
                }
            }
            Phase::Human => {
                if let Some(a) = s.agent.and_then(|a| self.agents.get_mut(&a)) {
                    a.sessions.remove(&session);
                }
            }
            Phase::Bot => {}
        }
    }
}
