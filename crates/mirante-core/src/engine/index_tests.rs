//! Consistency of the index of available agents (D-10): after every event of random
//! sequences — agents created and reconfigured (teams, capacity, enabled), log-in, log-out,
//! pauses, sessions queued, assigned, moved and finished, team modes changed — the index kept
//! incrementally by `apply` equals the one a full scan of the state computes (and the one
//! rebuilt from a snapshot), and every pick equals the old rule's (the member scan kept as
//! the oracle in `distribute::pick_agent_by_scan`), for both modes and every cursor.

use super::Core;
use super::distribute::{pick_agent, pick_agent_by_scan};
use super::state::Index;
use crate::event::{AssignedBy, Event, EventKind, QueueReason};
use crate::ids::{AgentId, ChannelId, ContactId, FlowId, PauseReasonId, SessionId, TeamId};
use crate::model::{Actor, Agent, DistributionMode, FinishReason, Outcome, Team, TeamSettings};
use crate::time::Timestamp;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const AGENTS: u64 = 6;
const TEAMS: u64 = 4;
const SESSIONS: u64 = 10;

#[derive(Debug, Clone)]
enum Op {
    Agent {
        id: u64,
        teams: u8,
        capacity: u32,
        enabled: bool,
    },
    Team {
        id: u64,
        mode: u8,
    },
    Login(u64),
    Logout(u64),
    Pause(u64),
    Resume(u64),
    Start(u64),
    Queue {
        session: u64,
        team: u64,
        front: bool,
    },
    Assign {
        session: u64,
        agent: u64,
        team: u64,
    },
    Finish(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let agent = 1..=AGENTS;
    let team = 1..=TEAMS;
    let session = 1..=SESSIONS;
    prop_oneof![
        1 => (agent.clone(), 0u8..16, 0u32..4, prop::bool::weighted(0.85)).prop_map(
            |(id, teams, capacity, enabled)| Op::Agent { id, teams, capacity, enabled }
        ),
        1 => (team.clone(), 0u8..3).prop_map(|(id, mode)| Op::Team { id, mode }),
        3 => agent.clone().prop_map(Op::Login),
        1 => agent.clone().prop_map(Op::Logout),
        1 => agent.clone().prop_map(Op::Pause),
        2 => agent.clone().prop_map(Op::Resume),
        2 => session.clone().prop_map(Op::Start),
        3 => (session.clone(), team.clone(), any::<bool>())
            .prop_map(|(session, team, front)| Op::Queue { session, team, front }),
        4 => (session.clone(), agent, team)
            .prop_map(|(session, agent, team)| Op::Assign { session, agent, team }),
        2 => session.prop_map(Op::Finish),
    ]
}

fn event(op: &Op) -> EventKind {
    match *op {
        Op::Agent {
            id,
            teams,
            capacity,
            enabled,
        } => EventKind::AgentUpdated {
            agent: Agent {
                id: AgentId(id),
                name: format!("Agente {id}"),
                nickname: format!("A{id}"),
                email: format!("a{id}@example.com"),
                teams: (1..=TEAMS)
                    .filter(|t| teams & (1 << (t - 1)) != 0)
                    .map(TeamId)
                    .collect(),
                capacity,
                enabled,
            },
        },
        Op::Team { id, mode } => EventKind::TeamUpdated {
            team: Team {
                id: TeamId(id),
                name: format!("Equipe {id}"),
                enabled: true,
                settings: TeamSettings {
                    mode: [
                        DistributionMode::LeastBusy,
                        DistributionMode::Sequential,
                        DistributionMode::All,
                    ][usize::from(mode)],
                    ..TeamSettings::default()
                },
            },
        },
        Op::Login(a) => EventKind::AgentLoggedIn { agent: AgentId(a) },
        Op::Logout(a) => EventKind::AgentLoggedOut {
            agent: AgentId(a),
            by: Actor::System,
        },
        Op::Pause(a) => EventKind::AgentPaused {
            agent: AgentId(a),
            reason: PauseReasonId(1),
            by: Actor::Agent(AgentId(a)),
        },
        Op::Resume(a) => EventKind::AgentResumed {
            agent: AgentId(a),
            by: Actor::Agent(AgentId(a)),
        },
        Op::Start(s) => EventKind::SessionStarted {
            session: SessionId(s),
            contact: ContactId(s),
            channel: ChannelId(1),
            flow: FlowId(1),
        },
        Op::Queue {
            session,
            team,
            front,
        } => EventKind::SessionQueued {
            session: SessionId(session),
            team: TeamId(team),
            reason: if front {
                QueueReason::Requeued
            } else {
                QueueReason::Routed
            },
            front,
            collected: BTreeMap::new(),
        },
        Op::Assign {
            session,
            agent,
            team,
        } => EventKind::SessionAssigned {
            session: SessionId(session),
            agent: AgentId(agent),
            team: TeamId(team),
            protocol: None,
            by: AssignedBy::Distribution,
        },
        Op::Finish(s) => EventKind::SessionFinished {
            session: SessionId(s),
            reason: FinishReason::ByAgent,
            outcome: Outcome::Success,
            wrapup: None,
            by: Actor::System,
        },
    }
}

/// The available agents of every team, by a full scan of the state.
fn scan(core: &Core) -> BTreeMap<TeamId, BTreeSet<AgentId>> {
    let mut out: BTreeMap<TeamId, BTreeSet<AgentId>> = BTreeMap::new();
    for a in core.state.agents.values() {
        if a.config.enabled && a.is_available() {
            for t in &a.config.teams {
                out.entry(*t).or_default().insert(a.config.id);
            }
        }
    }
    out
}

/// Everything the index answers equals the scan's answer.
fn check(core: &Core) {
    let expected = scan(core);
    assert_eq!(
        core.index.available.teams(),
        expected,
        "incremental == scan"
    );
    let rebuilt = Index::build(&core.state);
    assert_eq!(rebuilt.available.teams(), expected, "rebuilt == scan");
    // Every team, every mode, every cursor.
    for tid in (1..=TEAMS).map(TeamId) {
        let base = &core.state.teams[&tid];
        for mode in [
            DistributionMode::LeastBusy,
            DistributionMode::Sequential,
            DistributionMode::All,
        ] {
            for last in std::iter::once(None).chain((0..=AGENTS + 1).map(|a| Some(AgentId(a)))) {
                let mut team = base.clone();
                team.config.settings.mode = mode;
                team.last_assigned = last;
                assert_eq!(
                    pick_agent(&core.index, tid, &team),
                    pick_agent_by_scan(&core.state, tid, &team),
                    "team {tid}, {mode:?}, last {last:?}"
                );
                assert_eq!(
                    pick_agent(&rebuilt, tid, &team),
                    pick_agent_by_scan(&core.state, tid, &team),
                    "rebuilt: team {tid}, {mode:?}, last {last:?}"
                );
            }
        }
    }
}

fn run(ops: &[(i64, Op)]) {
    let mut core = Core::new();
    let mut now = Timestamp(1_700_000_000_000);
    for tid in 1..=TEAMS {
        let kind = event(&Op::Team { id: tid, mode: 0 });
        core.apply(&Event { at: now, kind });
    }
    check(&core);
    for (dt, op) in ops {
        now = now.plus_ms(*dt);
        core.apply(&Event {
            at: now,
            kind: event(op),
        });
        check(&core);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Small time steps (often none) so that idle-time ties, and the id tie-break, happen.
    #[test]
    fn index_equals_scan_after_every_event(
        ops in prop::collection::vec((0i64..3, op()), 0..120)
    ) {
        run(&ops);
    }
}
