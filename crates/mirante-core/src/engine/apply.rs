//! `apply`: folds one event into the state. It never decides and never fails; every
//! decision was made when the event was produced.

use super::state::{Index, RecentExternal, State};
use crate::command::{EXTERNAL_ID_MAX_PER_CHANNEL, EXTERNAL_ID_WINDOW_MS};
use crate::event::{Author, Event, EventKind};
use crate::ids::SessionId;
use crate::ids::{ChannelId, MessageId};
use crate::model::{AgentState, BotCursor, Phase, Presence, Session, TeamState, TransferRecord};
use crate::time::Timestamp;
use std::collections::{BTreeMap, VecDeque};

pub(super) fn apply(st: &mut State, ix: &mut Index, event: &Event) {
    let at = event.at;
    match &event.kind {
        EventKind::ChannelCreated { channel } | EventKind::ChannelUpdated { channel } => {
            st.next.channel = st.next.channel.max(channel.id.0 + 1);
            st.channels.insert(channel.id, channel.clone());
        }
        EventKind::ChannelDeleted { channel } => {
            st.channels.remove(channel);
        }
        EventKind::TeamCreated { team } | EventKind::TeamUpdated { team } => {
            st.next.team = st.next.team.max(team.id.0 + 1);
            match st.teams.get_mut(&team.id) {
                Some(t) => t.config = team.clone(),
                None => {
                    st.teams.insert(
                        team.id,
                        TeamState {
                            config: team.clone(),
                            queue: VecDeque::new(),
                            last_assigned: None,
                        },
                    );
                }
            }
            ix.rebuild_deadlines(st);
        }
        EventKind::AgentCreated { agent } | EventKind::AgentUpdated { agent } => {
            st.next.agent = st.next.agent.max(agent.id.0 + 1);
            match st.agents.get_mut(&agent.id) {
                Some(a) => a.config = agent.clone(),
                None => {
                    st.agents.insert(
                        agent.id,
                        AgentState {
                            config: agent.clone(),
                            presence: Presence::Offline,
                            presence_since: at,
                            idle_since: at,
                            sessions: Default::default(),
                        },
                    );
                }
            }
            ix.available.refresh(st, agent.id);
        }
        EventKind::PauseReasonCreated { reason } | EventKind::PauseReasonUpdated { reason } => {
            st.next.pause_reason = st.next.pause_reason.max(reason.id.0 + 1);
            st.pause_reasons.insert(reason.id, reason.clone());
        }
        EventKind::FlowCreated { flow } | EventKind::FlowUpdated { flow } => {
            st.next.flow = st.next.flow.max(flow.id.0 + 1);
            st.flows.insert(flow.id, flow.clone());
        }
        EventKind::SettingsUpdated { settings } => {
            st.settings = settings.clone();
            ix.rebuild_deadlines(st);
        }
        EventKind::AgentLoggedIn { agent } => {
            if let Some(a) = st.agents.get_mut(agent) {
                a.presence = Presence::Online;
                a.presence_since = at;
                a.idle_since = at;
            }
            ix.available.refresh(st, *agent);
        }
        EventKind::AgentLoggedOut { agent, .. } => {
            if let Some(a) = st.agents.get_mut(agent) {
                a.presence = Presence::Offline;
                a.presence_since = at;
            }
            ix.available.refresh(st, *agent);
        }
        EventKind::AgentPaused { agent, reason, .. } => {
            if let Some(a) = st.agents.get_mut(agent) {
                a.presence = Presence::Paused { reason: *reason };
                a.presence_since = at;
            }
            ix.available.refresh(st, *agent);
        }
        EventKind::AgentResumed { agent, .. } => {
            if let Some(a) = st.agents.get_mut(agent) {
                a.presence = Presence::Online;
                a.presence_since = at;
                a.idle_since = at;
            }
            ix.available.refresh(st, *agent);
        }
        EventKind::ContactCreated { contact } | EventKind::ContactUpdated { contact } => {
            st.next.contact = st.next.contact.max(contact.id.0 + 1);
            for (ch, ident) in &contact.identifiers {
                ix.contact_by_ident
                    .entry(*ch)
                    .or_default()
                    .insert(ident.clone(), contact.id);
            }
            st.contacts.insert(contact.id, contact.clone());
        }
        EventKind::SessionStarted {
            session,
            contact,
            channel,
            flow,
        } => {
            st.next.session = st.next.session.max(session.0 + 1);
            st.sessions.insert(
                *session,
                Session {
                    id: *session,
                    contact: *contact,
                    channel: *channel,
                    phase: Phase::Bot,
                    team: None,
                    agent: None,
                    protocol: None,
                    started_at: at,
                    queued_at: None,
                    first_assigned_at: None,
                    assigned_at: None,
                    last_customer_message_at: at,
                    bot: Some(BotCursor {
                        flow: *flow,
                        step: String::new(),
                        fields: BTreeMap::new(),
                        since: at,
                    }),
                    fields: BTreeMap::new(),
                    transfers: Vec::new(),
                    queue_key: 0,
                },
            );
            ix.open_by_contact.insert((*contact, *channel), *session);
            ix.phase_added(Phase::Bot);
            ix.refresh_deadline(st, *session);
        }
        EventKind::MessagePosted {
            session,
            message,
            author,
            external_id,
            ..
        } => {
            st.next.message = st.next.message.max(message.0 + 1);
            if *author == Author::Customer
                && let Some(s) = st.sessions.get_mut(session)
            {
                s.last_customer_message_at = at;
                if let Some(bot) = s.bot.as_mut() {
                    bot.since = at;
                }
                let channel = s.channel;
                ix.refresh_deadline(st, *session);
                if let Some(x) = external_id {
                    remember_external(st, ix, channel, x, *message, at);
                }
            }
        }
        EventKind::MessageStatusChanged { .. } => {}
        EventKind::BotStepEntered {
            session,
            step,
            collected,
            ..
        } => {
            if let Some(s) = st.sessions.get_mut(session) {
                if let Some(bot) = s.bot.as_mut() {
                    bot.step.clone_from(step);
                    bot.fields.extend(collected.clone());
                }
                s.fields.extend(collected.clone());
            }
        }
        EventKind::SessionQueued {
            session,
            team,
            front,
            collected,
            ..
        } => {
            detach(st, ix, *session, at);
            let key = if *front {
                st.queue_front -= 1;
                st.queue_front
            } else {
                st.queue_back += 1;
                st.queue_back
            };
            let Some(s) = st.sessions.get_mut(session) else {
                return;
            };
            set_phase(ix, s, Phase::Waiting);
            s.team = Some(*team);
            s.agent = None;
            s.bot = None;
            s.fields.extend(collected.clone());
            s.queued_at = Some(at);
            s.queue_key = key;
            if let Some(t) = st.teams.get_mut(team) {
                if *front {
                    t.queue.push_front(*session);
                } else {
                    t.queue.push_back(*session);
                }
            }
            ix.refresh_deadline(st, *session);
        }
        EventKind::SessionAssigned {
            session,
            agent,
            team,
            protocol,
            ..
        } => {
            detach(st, ix, *session, at);
            let Some(s) = st.sessions.get_mut(session) else {
                return;
            };
            set_phase(ix, s, Phase::Human);
            s.agent = Some(*agent);
            s.team = Some(*team);
            s.bot = None;
            s.assigned_at = Some(at);
            s.first_assigned_at.get_or_insert(at);
            if let Some(p) = protocol
                && s.protocol.is_none()
            {
                s.protocol = Some(p.clone());
                st.protocol.record(p);
            }
            if let Some(a) = st.agents.get_mut(agent) {
                a.sessions.insert(*session);
                a.idle_since = at;
            }
            ix.available.refresh(st, *agent);
            if let Some(t) = st.teams.get_mut(team) {
                t.last_assigned = Some(*agent);
            }
            ix.refresh_deadline(st, *session);
        }
        EventKind::SessionTransferred {
            session,
            to,
            from_agent,
            by,
        } => {
            if let Some(s) = st.sessions.get_mut(session) {
                s.transfers.push(TransferRecord {
                    at,
                    by: *by,
                    from_agent: *from_agent,
                    from_team: s.team,
                    to: *to,
                });
            }
        }
        EventKind::SessionFinished { session, .. } => {
            detach(st, ix, *session, at);
            if let Some(s) = st.sessions.remove(session) {
                ix.phase_removed(s.phase);
                ix.open_by_contact.remove(&(s.contact, s.channel));
            }
            ix.clear_deadline(*session);
        }
        EventKind::InternalMessageSent {
            message,
            agent,
            supervisor,
            ..
        } => {
            st.next.internal_message = st.next.internal_message.max(message.0 + 1);
            st.internal_last
                .entry(*agent)
                .or_default()
                .insert(*supervisor, *message);
        }
        EventKind::InternalMessagesRead { .. } => {}
    }
}

/// Remembers a channel's message id for idempotent inbound, forgetting ids older than the
/// window or beyond the per-channel cap.
fn remember_external(
    st: &mut State,
    ix: &mut Index,
    channel: ChannelId,
    id: &str,
    message: MessageId,
    at: Timestamp,
) {
    let recent = st.recent_external.entry(channel).or_default();
    recent.push_back(RecentExternal {
        at,
        id: id.to_string(),
        message,
    });
    ix.external_ids.insert((channel, id.to_string()), message);
    let horizon = at.plus_ms(-EXTERNAL_ID_WINDOW_MS);
    while let Some(first) = recent.front() {
        if first.at >= horizon && recent.len() <= EXTERNAL_ID_MAX_PER_CHANNEL {
            break;
        }
        let key = (channel, first.id.clone());
        if ix.external_ids.get(&key) == Some(&first.message) {
            ix.external_ids.remove(&key);
        }
        recent.pop_front();
    }
}

fn set_phase(ix: &mut Index, s: &mut Session, phase: Phase) {
    if s.phase != phase {
        ix.phase_removed(s.phase);
        ix.phase_added(phase);
        s.phase = phase;
    }
}

/// Takes a session out of wherever it sits (a team queue, an agent's load). An agent that
/// lets a session go is idle at this load from now (the "longest idle" tie-break of D-10).
fn detach(st: &mut State, ix: &mut Index, id: SessionId, at: Timestamp) {
    let Some(s) = st.sessions.get(&id) else {
        return;
    };
    match s.phase {
        Phase::Waiting => {
            if let Some(t) = s.team.and_then(|t| st.teams.get_mut(&t))
                && let Some(pos) = t.queue.iter().position(|x| *x == id)
            {
                t.queue.remove(pos);
            }
        }
        Phase::Human => {
            let agent = s.agent;
            if let Some(a) = agent.and_then(|a| st.agents.get_mut(&a)) {
                a.sessions.remove(&id);
                a.idle_since = at;
            }
            if let Some(agent) = agent {
                ix.available.refresh(st, agent);
            }
        }
        Phase::Bot => {}
    }
}
