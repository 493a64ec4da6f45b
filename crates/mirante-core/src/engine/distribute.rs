//! Distribution (D-10): work-conserving and FIFO within a team. While some team's oldest
//! waiting session has an available agent, the oldest such session across all teams goes to
//! the agent its team's mode picks: *menos atendimentos* (fewest open sessions, ties → longest
//! idle), *sequencial* (round robin by id). Teams in *todos* mode are not distributed: their
//! agents pull.

use super::state::{Index, State};
use crate::event::{AssignedBy, Event, EventKind};
use crate::ids::{AgentId, SessionId, TeamId};
use crate::model::{DistributionMode, TeamState};
use crate::time::Timestamp;

/// The next assignment distribution makes, if any (decided, not applied).
pub(crate) fn next_assignment(state: &State, index: &Index, now: Timestamp) -> Option<Event> {
    let mut best: Option<(i64, SessionId, TeamId, AgentId)> = None;
    for (tid, team) in &state.teams {
        if team.config.settings.mode == DistributionMode::All {
            continue;
        }
        let Some(head) = team.queue.front() else {
            continue;
        };
        let Some(session) = state.sessions.get(head) else {
            continue;
        };
        if best.is_some_and(|(key, ..)| key <= session.queue_key) {
            continue;
        }
        if let Some(agent) = pick_agent(index, *tid, team) {
            best = Some((session.queue_key, *head, *tid, agent));
        }
    }
    let (_, session, team, agent) = best?;
    let protocol = state
        .sessions
        .get(&session)
        .filter(|s| s.protocol.is_none())
        .map(|_| state.protocol.next(now, &state.settings.time_zone));
    Some(Event {
        at: now,
        kind: EventKind::SessionAssigned {
            session,
            agent,
            team,
            protocol,
            by: AssignedBy::Distribution,
        },
    })
}

/// The agent a team's mode picks among its available members (enabled, online, with free
/// capacity), from the index of available agents: *menos atendimentos* → fewest open
/// sessions, ties → longest idle, then lowest id; *sequencial* → the first by id after the
/// team's last assigned agent, wrapping around.
pub(crate) fn pick_agent(index: &Index, tid: TeamId, team: &TeamState) -> Option<AgentId> {
    match team.config.settings.mode {
        DistributionMode::LeastBusy => index.available.least_busy(tid),
        DistributionMode::Sequential => index.available.next_after(tid, team.last_assigned),
        DistributionMode::All => None,
    }
}

/// The rule as it was before the index: a scan of the team's members on every call. Kept
/// as the oracle the index is checked against.
#[cfg(test)]
pub(crate) fn pick_agent_by_scan(state: &State, tid: TeamId, team: &TeamState) -> Option<AgentId> {
    let available = state
        .agents
        .values()
        .filter(|a| a.config.teams.contains(&tid))
        .filter(|a| a.config.enabled && a.is_available());
    match team.config.settings.mode {
        DistributionMode::LeastBusy => available
            .min_by_key(|a| (a.sessions.len(), a.idle_since, a.config.id))
            .map(|a| a.config.id),
        DistributionMode::Sequential => {
            let mut first = None;
            for a in available {
                let id = a.config.id;
                if team.last_assigned.is_some_and(|last| id > last) {
                    return Some(id);
                }
                first.get_or_insert(id);
            }
            first
        }
        DistributionMode::All => None,
    }
}
