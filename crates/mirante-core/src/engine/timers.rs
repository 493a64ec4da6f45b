//! Time-driven transitions (D-1): when each open session next needs attention, and what
//! happens then — bot inactivity (lost), team inactivity since the last customer message
//! (lost), max wait exceeded (overflow team, or lost with the no-agent message).

use super::Core;
use super::state::State;
use crate::event::{Author, Event, EventKind, QueueReason};
use crate::ids::SessionId;
use crate::model::{Actor, FinishReason, Phase, Session};
use crate::time::Timestamp;
use std::collections::BTreeMap;

/// When `session` next has a time-driven transition, if ever.
pub(crate) fn deadline(state: &State, session: &Session) -> Option<Timestamp> {
    match session.phase {
        Phase::Bot => {
            let since = session.bot.as_ref().map_or(session.started_at, |b| b.since);
            Some(since.plus_ms(state.settings.bot_inactivity_ms))
        }
        Phase::Waiting => {
            let team = state.teams.get(&session.team?)?;
            let max = team.config.settings.max_wait_ms?;
            Some(session.queued_at?.plus_ms(max))
        }
        Phase::Human => {
            let team = state.teams.get(&session.team?)?;
            let timeout = team.config.settings.inactivity_timeout_ms?;
            let from = session
                .last_customer_message_at
                .max(session.assigned_at.unwrap_or(session.started_at));
            Some(from.plus_ms(timeout))
        }
    }
}

impl Core {
    /// The events of one due deadline (decided against the current state).
    pub(super) fn decide_timeout(&self, id: SessionId, now: Timestamp) -> Vec<Event> {
        let st = &self.state;
        let Some(session) = st.sessions.get(&id) else {
            return Vec::new();
        };
        let ev = |kind| Event { at: now, kind };
        let finish = |reason| {
            ev(EventKind::SessionFinished {
                session: id,
                reason,
                outcome: FinishReason::outcome(reason),
                wrapup: None,
                by: Actor::System,
            })
        };
        let team = session.team.and_then(|t| st.teams.get(&t));
        match session.phase {
            Phase::Bot | Phase::Human => vec![finish(FinishReason::InactivityTimeout)],
            Phase::Waiting => {
                let overflow = team
                    .and_then(|t| t.config.settings.overflow_team)
                    .filter(|o| Some(*o) != session.team)
                    .filter(|o| st.teams.get(o).is_some_and(|t| t.config.enabled));
                if let Some(to) = overflow {
                    return vec![ev(EventKind::SessionQueued {
                        session: id,
                        team: to,
                        reason: QueueReason::Overflow,
                        front: false,
                        collected: BTreeMap::new(),
                    })];
                }
                let mut out = Vec::new();
                if let Some(text) = team.and_then(|t| t.config.settings.no_agent_message.clone()) {
                    out.push(ev(EventKind::MessagePosted {
                        session: id,
                        message: crate::ids::MessageId(st.next.message),
                        author: Author::System,
                        agent: None,
                        text,
                        attachments: Vec::new(),
                        external_id: None,
                    }));
                }
                out.push(finish(FinishReason::NoAgentAvailable));
                out
            }
        }
    }
}
