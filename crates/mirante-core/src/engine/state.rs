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
    /// Agents of each team.
    pub members: BTreeMap<TeamId, BTreeSet<AgentId>>,
    /// Open session of a contact on a channel.
    pub open_by_contact: BTreeMap<(ContactId, ChannelId), SessionId>,
    /// Contact by its identifier on a channel.
    pub contact_by_ident: BTreeMap<(ChannelId, String), ContactId>,
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
        ix.rebuild_members(state);
        for c in state.contacts.values() {
            for (ch, ident) in &c.identifiers {
                ix.contact_by_ident.insert((*ch, ident.clone()), c.id);
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

    pub fn rebuild_members(&mut self, state: &State) {
        self.members.clear();
        for a in state.agents.values() {
            for t in &a.config.teams {
                self.members.entry(*t).or_default().insert(a.config.id);
            }
        }
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
