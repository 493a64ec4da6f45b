//! The engine's state (serialized as the snapshot) and its derived indexes (rebuilt on load,
//! maintained by `apply`).

use crate::ids::{
    AgentId, ChannelId, ContactId, FlowId, InternalMessageId, MessageId, PauseReasonId, SessionId,
    SupervisorId, TeamId,
};
use crate::model::{
    AgentState, Channel, Contact, Flow, PauseReason, Phase, Session, Settings, TeamState,
};
use crate::protocol::ProtocolState;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// Next ids to hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Next channel id.
    pub channel: u64,
    /// Next team id.
    pub team: u64,
    /// Next agent id.
    pub agent: u64,
    /// Next pause reason id.
    pub pause_reason: u64,
    /// Next flow id.
    pub flow: u64,
    /// Next contact id.
    pub contact: u64,
    /// Next session id.
    pub session: u64,
    /// Next message id.
    pub message: u64,
    /// Next internal message id.
    pub internal_message: u64,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            channel: 1,
            team: 1,
            agent: 1,
            pause_reason: 1,
            flow: 1,
            contact: 1,
            session: 1,
            message: 1,
            internal_message: 1,
        }
    }
}

/// The whole state of the contact center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct State {
    /// Global settings.
    pub settings: Settings,
    /// Channels.
    pub channels: BTreeMap<ChannelId, Channel>,
    /// Teams with their queues.
    pub teams: BTreeMap<TeamId, TeamState>,
    /// Agents with their presence and sessions.
    pub agents: BTreeMap<AgentId, AgentState>,
    /// Pause reasons.
    pub pause_reasons: BTreeMap<PauseReasonId, PauseReason>,
    /// Bot flows.
    pub flows: BTreeMap<FlowId, Flow>,
    /// Contacts.
    pub contacts: BTreeMap<ContactId, Contact>,
    /// Open sessions (finished ones leave the state).
    pub sessions: BTreeMap<SessionId, Session>,
    /// Id counters.
    pub next: Counters,
    /// Protocol sequence.
    pub protocol: ProtocolState,
    /// Queue keys: the next key for the back of a queue, and the last used for the front.
    pub queue_back: i64,
    /// See `queue_back`.
    pub queue_front: i64,
    /// Channel message ids seen recently, per channel, oldest first (idempotent inbound).
    #[serde(default)]
    pub recent_external: BTreeMap<ChannelId, VecDeque<RecentExternal>>,
    /// Last internal message per conversation (agent → supervisor → id).
    pub internal_last: BTreeMap<AgentId, BTreeMap<SupervisorId, InternalMessageId>>,
}

/// A channel message id remembered for idempotent inbound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentExternal {
    /// When it arrived.
    pub at: Timestamp,
    /// The channel's id.
    pub id: String,
    /// Our message.
    pub message: MessageId,
}

/// Indexes derived from [`State`]; never serialized.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    /// The available agents of each team, in the orders distribution picks from.
    pub available: Available,
    /// Open session of a contact on a channel.
    pub open_by_contact: BTreeMap<(ContactId, ChannelId), SessionId>,
    /// Contact by its identifier on a channel (hashed: looked up on every customer message,
    /// by `&str`, where ordered keys sharing long prefixes cost a string compare per level).
    pub contact_by_ident: HashMap<ChannelId, HashMap<String, ContactId>>,
    /// Recent channel message ids → our message (mirror of `State::recent_external`).
    pub external_ids: HashMap<(ChannelId, String), MessageId>,
    /// Time-driven transitions, by due time.
    deadlines: BTreeSet<(Timestamp, SessionId)>,
    deadline_of: BTreeMap<SessionId, Timestamp>,
    phase_counts: [u64; 3],
}

fn phase_slot(p: Phase) -> usize {
    match p {
        Phase::Bot => 0,
        Phase::Waiting => 1,
        Phase::Human => 2,
    }
}

impl Index {
    pub fn build(state: &State) -> Index {
        let mut ix = Index::default();
        for id in state.agents.keys() {
            ix.available.refresh(state, *id);
        }
        for c in state.contacts.values() {
            for (ch, ident) in &c.identifiers {
                ix.contact_by_ident
                    .entry(*ch)
                    .or_default()
                    .insert(ident.clone(), c.id);
            }
        }
        for (ch, recent) in &state.recent_external {
            for r in recent {
                ix.external_ids.insert((*ch, r.id.clone()), r.message);
            }
        }
        for s in state.sessions.values() {
            ix.open_by_contact.insert((s.contact, s.channel), s.id);
            ix.phase_counts[phase_slot(s.phase)] += 1;
        }
        ix.rebuild_deadlines(state);
        ix
    }

    pub fn rebuild_deadlines(&mut self, state: &State) {
        self.deadlines.clear();
        self.deadline_of.clear();
        for s in state.sessions.values() {
            if let Some(t) = super::timers::deadline(state, s) {
                self.deadlines.insert((t, s.id));
                self.deadline_of.insert(s.id, t);
            }
        }
    }

    /// Recomputes one session's deadline (call after any change to it).
    pub fn refresh_deadline(&mut self, state: &State, session: SessionId) {
        self.clear_deadline(session);
        if let Some(s) = state.sessions.get(&session)
            && let Some(t) = super::timers::deadline(state, s)
        {
            self.deadlines.insert((t, session));
            self.deadline_of.insert(session, t);
        }
    }

    pub fn clear_deadline(&mut self, session: SessionId) {
        if let Some(t) = self.deadline_of.remove(&session) {
            self.deadlines.remove(&(t, session));
        }
    }

    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.deadlines.first().map(|(t, _)| *t)
    }

    /// The first session whose deadline is at or before `now`.
    pub fn due(&self, now: Timestamp) -> Option<SessionId> {
        self.deadlines
            .first()
            .filter(|(t, _)| *t <= now)
            .map(|(_, s)| *s)
    }

    pub fn phase_count(&self, p: Phase) -> u64 {
        self.phase_counts[phase_slot(p)]
    }

    pub fn phase_added(&mut self, p: Phase) {
        self.phase_counts[phase_slot(p)] += 1;
    }

    pub fn phase_removed(&mut self, p: Phase) {
        let slot = &mut self.phase_counts[phase_slot(p)];
        *slot = slot.saturating_sub(1);
    }
}

/// How an available agent ranks for *menos atendimentos* (D-10): fewest open sessions, then
/// longest idle, then lowest id — the first in a set of these is the pick.
pub(crate) type LoadKey = (usize, Timestamp, AgentId);

/// The available agents (enabled, online, with free capacity) of every team, kept up to date
/// by `apply` through [`Available::refresh`] whenever an agent's presence, load, idle time or
/// configuration changes, so that distribution picks in O(log n) instead of scanning the
/// team's members on every command.
#[derive(Debug, Clone, Default)]
pub(crate) struct Available {
    /// Per team, by [`LoadKey`] (*menos atendimentos*).
    by_load: BTreeMap<TeamId, BTreeSet<LoadKey>>,
    /// Per team, by id (*sequencial*).
    by_id: BTreeMap<TeamId, BTreeSet<AgentId>>,
    /// Where each available agent is filed: its key and the teams it was filed under.
    filed: HashMap<AgentId, (LoadKey, BTreeSet<TeamId>)>,
}

impl Available {
    /// Files `agent` again from its current state (call after any change to it; an agent no
    /// longer in the state is dropped).
    pub fn refresh(&mut self, state: &State, agent: AgentId) {
        let available = state
            .agents
            .get(&agent)
            .filter(|a| a.config.enabled && a.is_available())
            .map(|a| ((a.sessions.len(), a.idle_since, agent), &a.config.teams));
        if let (Some((key, teams)), Some((filed_key, filed_teams))) =
            (available, self.filed.get(&agent))
            && key == *filed_key
            && teams == filed_teams
        {
            return;
        }
        if let Some((key, teams)) = self.filed.remove(&agent) {
            for t in &teams {
                remove_from(&mut self.by_load, *t, &key);
                remove_from(&mut self.by_id, *t, &agent);
            }
        }
        let Some((key, teams)) = available else {
            return;
        };
        for t in teams {
            self.by_load.entry(*t).or_default().insert(key);
            self.by_id.entry(*t).or_default().insert(agent);
        }
        self.filed.insert(agent, (key, teams.clone()));
    }

    /// The available member of `team` with the fewest sessions, longest idle, lowest id.
    pub fn least_busy(&self, team: TeamId) -> Option<AgentId> {
        self.by_load.get(&team)?.first().map(|(_, _, id)| *id)
    }

    /// The first available member of `team` after `last` by id, wrapping around.
    pub fn next_after(&self, team: TeamId, last: Option<AgentId>) -> Option<AgentId> {
        let ids = self.by_id.get(&team)?;
        last.and_then(|last| {
            ids.range((std::ops::Bound::Excluded(last), std::ops::Bound::Unbounded))
                .next()
        })
        .or_else(|| ids.first())
        .copied()
    }

    /// The available members of every team by id (teams with none left out): what the
    /// index holds, for the consistency tests.
    #[cfg(test)]
    pub fn teams(&self) -> BTreeMap<TeamId, BTreeSet<AgentId>> {
        let mut out = BTreeMap::new();
        for (t, keys) in &self.by_load {
            let ids: BTreeSet<AgentId> = keys.iter().map(|(_, _, id)| *id).collect();
            assert_eq!(
                Some(&ids),
                self.by_id.get(t),
                "both orders hold the same agents"
            );
            out.insert(*t, ids);
        }
        assert_eq!(
            out.len(),
            self.by_id.len(),
            "both orders hold the same teams"
        );
        out
    }
}

/// Removes `item` from `team`'s set, dropping the set when it empties.
fn remove_from<T: Ord>(sets: &mut BTreeMap<TeamId, BTreeSet<T>>, team: TeamId, item: &T) {
    if let Some(set) = sets.get_mut(&team) {
        set.remove(item);
        if set.is_empty() {
            sets.remove(&team);
        }
    }
}
