//! Property tests: random command sequences on a real core (customers on three channels,
//! log-ins, pauses, transfers, finishes, pulls, capacity and team changes, ticks, days
//! passing); after every step the incremental monitor, fed only the events,
//!
//! * equals a monitor rebuilt from the core's state (`Monitor::from_state`);
//! * answers every view exactly as a naive oracle that scans the core's state (counters,
//!   the three tabs, rows and their order, cards, protocol status), for random filters and
//!   visibilities — and today's team figures as an oracle that replays the log on a replica;
//! * has counters equal to its list sizes, and its cheap counters path agrees with the view.

use super::support::{SUP, World, menu_flow_json, route_flow_json, t};
use crate::view::{
    AgentCard, AgentStatus, Counters, MonitorView, Named, Phases, ProtocolStatus, SessionFields,
    SessionView, TeamCard,
};
use crate::{Filter, Monitor, Visibility, normalize_number};
use mirante_core::protocol::local_day;
use mirante_core::{
    Actor, AgentId, ChannelId, ChannelKind, Command, Core, Event, EventKind, PauseReasonId, Phase,
    Presence, Session, SessionId, State, SupervisorId, Target, TeamId, TeamSettings, Timestamp,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const TEAMS: u64 = 3;
const AGENTS: u64 = 4;
const NAMES: [&str; 4] = ["Maria Luiza", "João", "Maria Luiza", "Ana Clara"];
const TEXTS: [&str; 6] = ["oi", "1", "2", "3", "4", "quero falar"];

/// Three teams (one with a 10 s target), a WhatsApp menu, a Telegram menu and a web chat
/// routed straight to team 1; four agents in overlapping teams, three online; two pauses.
fn world() -> World {
    let mut w = World::new();
    let t1 = w.team("Vendas");
    let t2 = w.team_with(
        "Suporte",
        TeamSettings {
            service_level_target_ms: 10_000,
            max_wait_ms: Some(120_000),
            ..TeamSettings::default()
        },
    );
    let t3 = w.team_with(
        "Plantão",
        TeamSettings {
            inactivity_timeout_ms: Some(240_000),
            ..TeamSettings::default()
        },
    );
    let f1 = w.flow(menu_flow_json("Menu WhatsApp", t1, t2));
    let f2 = w.flow(menu_flow_json("Menu Telegram", t3, t2));
    let f3 = w.flow(route_flow_json("Direto", t1));
    w.channel(ChannelKind::Whatsapp, "WhatsApp Business", f1);
    w.channel(ChannelKind::Telegram, "Telegram", f2);
    w.channel(ChannelKind::Webchat, "Web chat", f3);
    w.agent("Ana", &[t1], 2);
    w.agent("Bia", &[t1, t2], 3);
    w.agent("Caio", &[t2, t3], 1);
    w.agent("Duda", &[t3, t1], 2);
    w.pause_reason("Almoço", Some(60_000));
    w.pause_reason("Café", None);
    w.run(Command::UpdateSettings {
        time_zone: None,
        bulk_cap: None,
        bot_inactivity_ms: Some(120_000),
    });
    for a in 1..=3 {
        w.login(AgentId(a));
    }
    w
}

#[derive(Debug, Clone)]
enum Op {
    Customer {
        channel: u64,
        contact: u8,
        text: usize,
    },
    Login(u64),
    Logout(u64),
    Pause {
        agent: u64,
        reason: u64,
    },
    Resume(u64),
    Transfer {
        session: u8,
        to_agent: bool,
        to: u64,
    },
    Finish {
        session: u8,
    },
    Pull {
        session: u8,
        agent: u64,
    },
    Capacity {
        agent: u64,
        capacity: u32,
    },
    AgentTeams {
        agent: u64,
        teams: Vec<u64>,
    },
    Target {
        team: u64,
        ms: i64,
    },
    Tokyo(bool),
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (1..=3u64, 0..8u8, 0..TEXTS.len()).prop_map(|(channel, contact, text)| Op::Customer { channel, contact, text }),
        6 => (1..=AGENTS).prop_map(Op::Login),
        2 => (1..=AGENTS).prop_map(Op::Logout),
        3 => (1..=AGENTS, 1..=2u64).prop_map(|(agent, reason)| Op::Pause { agent, reason }),
        4 => (1..=AGENTS).prop_map(Op::Resume),
        6 => (any::<u8>(), any::<bool>(), 1..=AGENTS).prop_map(|(session, to_agent, to)| Op::Transfer { session, to_agent, to }),
        8 => any::<u8>().prop_map(|session| Op::Finish { session }),
        2 => (any::<u8>(), 1..=AGENTS).prop_map(|(session, agent)| Op::Pull { session, agent }),
        2 => (1..=AGENTS, 1..=4u32).prop_map(|(agent, capacity)| Op::Capacity { agent, capacity }),
        1 => (1..=AGENTS, prop::collection::vec(1..=TEAMS, 1..3)).prop_map(|(agent, teams)| Op::AgentTeams { agent, teams }),
        1 => (1..=TEAMS, prop_oneof![Just(5_000i64), Just(20_000i64)]).prop_map(|(team, ms)| Op::Target { team, ms }),
        1 => any::<bool>().prop_map(Op::Tokyo),
        8 => Just(Op::Tick),
    ]
}

fn dt() -> impl Strategy<Value = i64> {
    prop_oneof![
        5 => Just(0i64),
        20 => 1i64..8_000,
        4 => 8_000i64..150_000,
        1 => 150_000i64..400_000,
        1 => Just(86_400_000i64),
    ]
}

fn pick(core: &Core, sel: u8) -> SessionId {
    let open: Vec<SessionId> = core.state().sessions.keys().copied().collect();
    if open.is_empty() || sel.is_multiple_of(10) {
        SessionId(u64::from(sel) % 40)
    } else {
        open[usize::from(sel) % open.len()]
    }
}

fn identifier(contact: u8) -> String {
    match contact {
        6 => "tg-joao".into(),
        7 => "visitante 7".into(),
        c => format!("55359987654{c:02}"),
    }
}

fn command(core: &Core, op: &Op) -> Option<Command> {
    let sup = Actor::Supervisor(SupervisorId(1));
    Some(match op {
        Op::Customer {
            channel,
            contact,
            text,
        } => Command::CustomerMessage {
            channel: ChannelId(*channel),
            identifier: identifier(*contact),
            name: Some(NAMES[usize::from(*contact) % NAMES.len()].into()),
            text: TEXTS[*text].into(),
            attachments: Vec::new(),
            external_id: None,
        },
        Op::Login(a) => Command::AgentLogin { agent: AgentId(*a) },
        Op::Logout(a) => Command::AgentLogout {
            agent: AgentId(*a),
            by: sup,
        },
        Op::Pause { agent, reason } => Command::AgentPause {
            agent: AgentId(*agent),
            reason: PauseReasonId(*reason),
            by: Actor::Agent(AgentId(*agent)),
        },
        Op::Resume(a) => Command::AgentResume {
            agent: AgentId(*a),
            by: Actor::Agent(AgentId(*a)),
        },
        Op::Transfer {
            session,
            to_agent,
            to,
        } => Command::Transfer {
            session: pick(core, *session),
            to: if *to_agent {
                Target::Agent(AgentId(*to))
            } else {
                Target::Team(TeamId(1 + to % TEAMS))
            },
            by: SUP,
        },
        Op::Finish { session } => Command::Finish {
            session: pick(core, *session),
            by: SUP,
            wrapup: None,
        },
        Op::Pull { session, agent } => Command::PullSession {
            session: pick(core, *session),
            agent: AgentId(*agent),
        },
        Op::Capacity { agent, capacity } => Command::UpdateAgent {
            agent: AgentId(*agent),
            name: None,
            nickname: None,
            email: None,
            teams: None,
            capacity: Some(*capacity),
            enabled: None,
        },
        Op::AgentTeams { agent, teams } => Command::UpdateAgent {
            agent: AgentId(*agent),
            name: None,
            nickname: None,
            email: None,
            teams: Some(teams.iter().map(|t| TeamId(*t)).collect()),
            capacity: None,
            enabled: None,
        },
        Op::Target { team, ms } => {
            let current = core.state().teams.get(&TeamId(*team))?;
            Command::UpdateTeam {
                team: TeamId(*team),
                name: None,
                settings: Some(TeamSettings {
                    service_level_target_ms: *ms,
                    ..current.config.settings.clone()
                }),
                enabled: None,
            }
        }
        Op::Tokyo(on) => Command::UpdateSettings {
            time_zone: Some(
                if *on {
                    "Asia/Tokyo"
                } else {
                    "America/Sao_Paulo"
                }
                .into(),
            ),
            bulk_cap: None,
            bot_inactivity_ms: None,
        },
        Op::Tick => return None,
    })
}

fn subset<T: Ord + Copy>(bits: u8, items: &[T]) -> BTreeSet<T> {
    items
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, x)| *x)
        .collect()
}

fn filter() -> impl Strategy<Value = Filter> {
    let agents = [1u64, 2, 3, 4, 9].map(AgentId);
    let teams = [1u64, 2, 3].map(TeamId);
    let channels = [1u64, 2, 3].map(ChannelId);
    let contact = prop_oneof![
        6 => Just(None),
        1 => Just(Some(" Maria Luiza ".to_string())),
        1 => Just(Some("João".to_string())),
        1 => Just(Some("+55 (35) 99876-5401".to_string())),
        1 => Just(Some("5535998765400".to_string())),
        1 => Just(Some("visitante 7".to_string())),
    ];
    let protocol = prop_oneof![
        6 => Just(None),
        3 => (1u32..6).prop_map(|n| Some(format!("20261123{n:06}"))),
        1 => Just(Some("20261124000001".to_string())),
        1 => Just(Some("xyz".to_string())),
    ];
    (
        prop_oneof![3 => Just(0u8), 1 => any::<u8>()],
        prop_oneof![3 => Just(0u8), 1 => any::<u8>()],
        prop_oneof![3 => Just(0u8), 1 => any::<u8>()],
        contact,
        protocol,
    )
        .prop_map(move |(a, t, c, contact, protocol)| Filter {
            agents: subset(a, &agents),
            teams: subset(t, &teams),
            channels: subset(c, &channels),
            contact,
            protocol,
        })
}

fn visibility() -> impl Strategy<Value = Visibility> {
    let teams = [1u64, 2, 3].map(TeamId);
    let agents = [1u64, 2, 3, 4].map(AgentId);
    (
        prop::option::weighted(0.4, any::<u8>()),
        prop_oneof![3 => Just(0u8), 1 => any::<u8>()],
        prop_oneof![3 => Just(0u8), 1 => any::<u8>()],
    )
        .prop_map(move |(scope, ha, ht)| Visibility {
            teams: scope.map(|b| subset(b, &teams)),
            hidden_agents: subset(ha, &agents),
            hidden_teams: subset(ht, &teams),
        })
}

// ---- the oracles ------------------------------------------------------------------------------

/// Today's figures per team, recomputed by replaying the log on a replica core and looking at
/// each session just before its first assignment.
#[derive(Default)]
struct DayOracle {
    replica: Core,
    per_team: BTreeMap<TeamId, (u32, u64, u64, i64)>,
    protocols: BTreeSet<String>,
}

impl DayOracle {
    fn observe(&mut self, e: &Event) {
        if let EventKind::SessionAssigned {
            session,
            team,
            protocol,
            ..
        } = &e.kind
        {
            let st = self.replica.state();
            if let Some(s) = st.sessions.get(session)
                && s.first_assigned_at.is_none()
            {
                let wait = s.queued_at.map_or(0, |q| e.at.since(q).max(0));
                let target = st
                    .teams
                    .get(team)
                    .map_or(20_000, |t| t.config.settings.service_level_target_ms);
                let day = local_day(e.at, &st.settings.time_zone);
                let entry = self.per_team.entry(*team).or_insert((0, 0, 0, 0));
                if day > entry.0 {
                    *entry = (day, 0, 0, 0);
                }
                if day == entry.0 {
                    entry.1 += 1;
                    entry.2 += u64::from(wait <= target);
                    entry.3 += wait;
                }
            }
            if let Some(p) = protocol {
                self.protocols.insert(p.clone());
            }
        }
        self.replica.apply(e);
    }
}

fn arc(s: &str) -> Arc<str> {
    Arc::from(s)
}

fn row(st: &State, s: &Session, now: Timestamp) -> SessionView<'static> {
    let contact = st.contacts.get(&s.contact);
    let fields = SessionFields {
        id: s.id,
        phase: s.phase,
        contact: s.contact,
        contact_name: arc(contact.map_or("", |c| &c.name)),
        contact_number: contact.and_then(|c| c.number.as_deref()).map(arc),
        channel: s.channel,
        channel_name: arc(st.channels.get(&s.channel).map_or("", |c| &c.name)),
        bot_step: s.bot.as_ref().map(|b| arc(&b.step)),
        team: s.team.map(|t| Named {
            id: t,
            name: arc(st.teams.get(&t).map_or("", |x| &x.config.name)),
        }),
        agent: s.agent.map(|a| Named {
            id: a,
            name: arc(st.agents.get(&a).map_or("", |x| &x.config.name)),
        }),
        protocol: s.protocol.as_deref().map(arc),
        started_at: s.started_at,
        queued_at: s.queued_at,
        queue_order: (s.phase == Phase::Waiting).then_some(s.queue_key),
        assigned_at: s.assigned_at,
        last_customer_message_at: s.last_customer_message_at,
        age_ms: now.since(s.started_at),
        waiting_ms: (s.phase == Phase::Waiting)
            .then_some(s.queued_at)
            .flatten()
            .map(|q| now.since(q)),
        in_service_ms: (s.phase == Phase::Human)
            .then_some(s.assigned_at)
            .flatten()
            .map(|a| now.since(a)),
        since_customer_ms: now.since(s.last_customer_message_at),
    };
    SessionView::from_fields(fields, now)
}

fn in_scope(vis: &Visibility, team: Option<TeamId>) -> bool {
    match &vis.teams {
        None => true,
        Some(set) => team.is_some_and(|t| set.contains(&t)),
    }
}

fn naive_matches(st: &State, s: &Session, f: &Filter, vis: &Visibility) -> bool {
    let contact_ok = match f
        .contact
        .as_deref()
        .map(str::trim)
        .filter(|x| !x.is_empty())
    {
        None => true,
        Some(needle) => st.contacts.get(&s.contact).is_some_and(|c| {
            c.name == needle
                || normalize_number(needle).is_some_and(|n| c.number.as_deref() == Some(&n))
        }),
    };
    let protocol_ok = match f
        .protocol
        .as_deref()
        .map(str::trim)
        .filter(|x| !x.is_empty())
    {
        None => true,
        Some(p) => s.protocol.as_deref() == Some(p),
    };
    in_scope(vis, s.team)
        && (f.agents.is_empty() || s.agent.is_some_and(|a| f.agents.contains(&a)))
        && (f.teams.is_empty() || s.team.is_some_and(|t| f.teams.contains(&t)))
        && (f.channels.is_empty() || f.channels.contains(&s.channel))
        && contact_ok
        && protocol_ok
}

fn naive_view(
    st: &State,
    day: &DayOracle,
    seq: u64,
    f: &Filter,
    vis: &Visibility,
    now: Timestamp,
) -> MonitorView<'static> {
    let all: Vec<&Session> = st
        .sessions
        .values()
        .filter(|s| in_scope(vis, s.team))
        .collect();
    let matched: Vec<&Session> = all
        .iter()
        .copied()
        .filter(|s| naive_matches(st, s, f, vis))
        .collect();
    let count = |v: &[&Session]| {
        let n = |p| v.iter().filter(|s| s.phase == p).count() as u64;
        Counters::from_phases(n(Phase::Bot), n(Phase::Waiting), n(Phase::Human))
    };
    let mut bot: Vec<&Session> = matched
        .iter()
        .copied()
        .filter(|s| s.phase == Phase::Bot)
        .collect();
    let mut waiting: Vec<&Session> = matched
        .iter()
        .copied()
        .filter(|s| s.phase == Phase::Waiting)
        .collect();
    let mut human: Vec<&Session> = matched
        .iter()
        .copied()
        .filter(|s| s.phase == Phase::Human)
        .collect();
    bot.sort_by_key(|s| s.id);
    waiting.sort_by_key(|s| (s.queued_at.unwrap_or(s.started_at), s.queue_key, s.id));
    human.sort_by_key(|s| (s.assigned_at.unwrap_or(s.started_at), s.id));
    let needle = f.contact.as_deref().is_some_and(|c| !c.trim().is_empty())
        || f.protocol.as_deref().is_some_and(|p| !p.trim().is_empty());

    let mut agents_sorted: Vec<_> = st.agents.values().collect();
    agents_sorted.sort_by(|a, b| (&a.config.name, a.config.id).cmp(&(&b.config.name, b.config.id)));
    let mut agents = Vec::new();
    for a in agents_sorted {
        let id = a.config.id;
        let teams_in_scope = match &vis.teams {
            None => true,
            Some(set) => a.config.teams.iter().any(|t| set.contains(t)),
        };
        if a.presence == Presence::Offline
            || vis.hidden_agents.contains(&id)
            || !teams_in_scope
            || (!f.agents.is_empty() && !f.agents.contains(&id))
            || (!f.teams.is_empty() && !a.config.teams.iter().any(|t| f.teams.contains(t)))
        {
            continue;
        }
        let sessions: Vec<SessionId> = human
            .iter()
            .filter(|s| s.agent == Some(id))
            .map(|s| s.id)
            .collect();
        if needle && sessions.is_empty() {
            continue;
        }
        let (status, pause_reason, exceeded) = match a.presence {
            Presence::Paused { reason } => {
                let r = st.pause_reasons.get(&reason);
                (
                    AgentStatus::Paused,
                    Some(Named {
                        id: reason,
                        name: arc(r.map_or("", |r| &r.name)),
                    }),
                    r.and_then(|r| r.max_duration_ms)
                        .is_some_and(|m| now.since(a.presence_since) > m),
                )
            }
            Presence::Online => (AgentStatus::Online, None, false),
            Presence::Offline => (AgentStatus::Offline, None, false),
        };
        agents.push(AgentCard {
            id,
            name: arc(&a.config.name),
            nickname: arc(&a.config.nickname),
            status,
            pause_reason,
            pause_exceeded: exceeded,
            since: a.presence_since,
            in_status_ms: now.since(a.presence_since),
            open: a.sessions.len() as u32,
            capacity: a.config.capacity,
            available: a.is_available(),
            teams: a
                .config
                .teams
                .iter()
                .copied()
                .filter(|t| vis.teams.as_ref().is_none_or(|s| s.contains(t)))
                .collect(),
            sessions,
        });
    }

    let today = local_day(now, &st.settings.time_zone);
    let mut teams_sorted: Vec<_> = st.teams.values().collect();
    teams_sorted.sort_by(|a, b| (&a.config.name, a.config.id).cmp(&(&b.config.name, b.config.id)));
    let mut teams = Vec::new();
    for t in teams_sorted {
        let id = t.config.id;
        let members: Vec<_> = st
            .agents
            .values()
            .filter(|a| a.config.teams.contains(&id))
            .collect();
        if !vis.teams.as_ref().is_none_or(|s| s.contains(&id))
            || vis.hidden_teams.contains(&id)
            || (!f.teams.is_empty() && !f.teams.contains(&id))
            || (!f.agents.is_empty() && !members.iter().any(|a| f.agents.contains(&a.config.id)))
        {
            continue;
        }
        let mut w: Vec<&Session> = waiting
            .iter()
            .copied()
            .filter(|s| s.team == Some(id))
            .collect();
        w.sort_by_key(|s| (s.queue_key, s.id));
        let in_service: Vec<&Session> = human
            .iter()
            .copied()
            .filter(|s| s.team == Some(id))
            .collect();
        if needle && w.is_empty() && in_service.is_empty() {
            continue;
        }
        let (d, answered, within, sum) = day.per_team.get(&id).copied().unwrap_or_default();
        let (answered, within, sum) = if d == today {
            (answered, within, sum)
        } else {
            (0, 0, 0)
        };
        teams.push(TeamCard {
            id,
            name: arc(&t.config.name),
            waiting_count: w.len() as u64,
            in_service_count: in_service.len() as u64,
            longest_wait_ms: w
                .iter()
                .filter_map(|s| s.queued_at)
                .map(|q| now.since(q))
                .max(),
            answered_today: answered,
            answered_within_target_today: within,
            avg_wait_today_ms: (answered > 0).then(|| sum / answered as i64),
            service_level_today: (answered > 0).then(|| within as f64 * 100.0 / answered as f64),
            service_level_target_ms: t.config.settings.service_level_target_ms,
            service_level_goal_percent: t.config.settings.service_level_percent,
            agents_online: members
                .iter()
                .filter(|a| a.presence == Presence::Online)
                .count() as u32,
            agents_paused: members
                .iter()
                .filter(|a| matches!(a.presence, Presence::Paused { .. }))
                .count() as u32,
            agents_available: members.iter().filter(|a| a.is_available()).count() as u32,
        });
    }

    let protocol = f
        .protocol
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let protocol_status = protocol.map(|p| {
        if st
            .sessions
            .values()
            .any(|s| s.protocol.as_deref() == Some(p))
        {
            ProtocolStatus::Open
        } else if day.protocols.contains(p) {
            ProtocolStatus::Finished
        } else {
            ProtocolStatus::Unknown
        }
    });
    let counters = count(&matched);
    let rows = |v: &[&Session]| v.iter().map(|s| row(st, s, now)).collect::<Vec<_>>();
    MonitorView {
        seq,
        now,
        filtered: !f.is_empty(),
        counters,
        unfiltered_counters: count(&all),
        protocol_not_open: protocol.is_some() && counters.geral == 0,
        protocol_status,
        agents,
        teams,
        phases: Phases {
            bot: rows(&bot),
            waiting: rows(&waiting),
            human: rows(&human),
        },
    }
}

fn check(w: &World, day: &DayOracle, views: &[(Filter, Visibility)]) -> Result<(), TestCaseError> {
    let m = &w.monitor;
    let rebuilt = Monitor::from_state(w.core.state(), m.seq());
    prop_assert_eq!(&m.live, &rebuilt.live, "incremental != rebuilt from state");
    for (f, vis) in views {
        let v = m.view(f, vis, w.now);
        prop_assert_eq!(v.counters.auto as usize, v.phases.bot.len());
        prop_assert_eq!(v.counters.espera as usize, v.phases.waiting.len());
        prop_assert_eq!(v.counters.humano as usize, v.phases.human.len());
        let cheap = m.counters(f, vis);
        prop_assert_eq!(cheap.counters, v.counters);
        prop_assert_eq!(cheap.unfiltered_counters, v.unfiltered_counters);
        let oracle = naive_view(w.core.state(), day, m.seq(), f, vis, w.now);
        prop_assert_eq!(&v, &oracle, "filter {:?} vis {:?}", f, vis);
        let (mine, serde) = (v.to_json(), serde_json::to_vec(&v).unwrap_or_default());
        prop_assert_eq!(
            String::from_utf8_lossy(&mine),
            String::from_utf8_lossy(&serde),
            "the server's JSON writer differs from serde_json"
        );
        let mut phases = Vec::new();
        v.phases.write_json(&mut phases);
        let serde_phases = serde_json::to_vec(&v.phases).unwrap_or_default();
        prop_assert_eq!(
            String::from_utf8_lossy(&phases),
            String::from_utf8_lossy(&serde_phases),
            "the server's JSON writer differs from serde_json (phases)"
        );
        // A team's queue, as a client derives it from the rows (`queue_order`), is the
        // engine's (M-15: a re-queue goes to the front, though it waited less).
        for t in &v.teams {
            let mut rows: Vec<_> = v
                .phases
                .waiting
                .iter()
                .filter(|r| r.team == Some(t.id))
                .collect();
            rows.sort_by_key(|r| r.queue_order());
            let derived: Vec<SessionId> = rows.iter().map(|r| r.id).collect();
            let engine: Vec<SessionId> = w.core.state().teams[&t.id]
                .queue
                .iter()
                .copied()
                .filter(|s| derived.contains(s))
                .collect();
            prop_assert_eq!(&derived, &engine, "team {} queue", t.id);
            prop_assert_eq!(derived.len() as u64, t.waiting_count);
        }
        // The owned form (a reference per row) is the same view.
        let owned = v.clone().into_owned();
        prop_assert_eq!(&owned, &v);
        prop_assert_eq!(owned.to_json(), mine);
        let opts = m.filter_options(vis);
        for a in &opts.agents {
            prop_assert!(m.agent_visible(a.id, vis));
        }
        for s in v
            .phases
            .bot
            .iter()
            .chain(&v.phases.waiting)
            .chain(&v.phases.human)
        {
            prop_assert!(m.session_visible(s.id, vis));
            prop_assert!(m.matches(s.id, f, vis));
            let r = m.row(s.id, w.now);
            prop_assert_eq!(r.as_ref(), Some(s));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_rebuilt_and_views_equal_a_naive_oracle(
        steps in prop::collection::vec((dt(), op()), 1..40),
        views in prop::collection::vec((filter(), visibility()), 3),
    ) {
        let mut w = world();
        let mut day = DayOracle::default();
        for e in &w.log {
            day.observe(e);
        }
        let mut views = views;
        views.push((Filter::default(), Visibility::all()));
        check(&w, &day, &views)?;
        for (dt, op) in steps {
            w.now = w.now.plus_ms(dt);
            let events = match command(&w.core, &op) {
                Some(cmd) => w.core.execute(cmd, w.now).unwrap_or_default(),
                None => w.core.tick(w.now),
            };
            for e in &events {
                day.observe(e);
            }
            w.feed(events);
            check(&w, &day, &views)?;
        }
        prop_assert!(w.now >= t(0));
    }
}
