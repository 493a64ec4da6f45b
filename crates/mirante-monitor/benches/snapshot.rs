//! P3 and P6 (PERFORMANCE.md): the monitor snapshot of a large contact center — 100 k live
//! sessions, 5 k agents, 50 teams, 3 channels — timed for what supervisors request (a typical
//! filter, a contact, a protocol, a team-restricted admin, the counters alone, the full
//! unfiltered screen), against the same answers computed by SQL over the same data in SQLite
//! in the same run; and the read model's memory per live session, measured with a counting
//! global allocator. Prints a Markdown table and one JSON line.
//!
//! Run: `cargo bench -p mirante-monitor --bench snapshot` (env `P3_SESSIONS` to resize).

use mirante_core::{
    Actor, Agent, AgentId, AssignedBy, Author, Channel, ChannelId, ChannelKind, Contact, ContactId,
    Event, EventKind, FlowId, MessageId, PauseReason, PauseReasonId, QueueReason, SessionId, Team,
    TeamId, TeamSettings, Timestamp,
};
use mirante_monitor::{Filter, Monitor, MonitorView, Visibility};
use rusqlite::{Connection, params_from_iter};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::time::Instant;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const AGENTS: u64 = 5_000;
const TEAMS: u64 = 50;
const CHANNELS: u64 = 3;
const CAPACITY: u32 = 6;
/// 2026-11-23T12:00:00Z (09:00 in São Paulo).
const T0: i64 = 1_795_435_200_000;

const FIRST: [&str; 16] = [
    "Maria", "João", "Ana", "Pedro", "Luiza", "Carlos", "Beatriz", "Rafael", "Juliana", "Lucas",
    "Fernanda", "Gabriel", "Camila", "Mateus", "Larissa", "Bruno",
];
const LAST: [&str; 12] = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
];

/// Phase of generated session `i` (of `n`): 30 % bot, the rest waiting unless an agent
/// takes it (25 k with agents at 100 k).
struct Data {
    events: Vec<Event>,
    now: Timestamp,
    sessions: u64,
}

fn ev(at: i64, kind: EventKind) -> Event {
    Event {
        at: Timestamp(at),
        kind,
    }
}

fn contact_name(i: u64) -> String {
    let f = FIRST[(i % 16) as usize];
    let l1 = LAST[((i / 16) % 12) as usize];
    let l2 = LAST[((i / 192) % 12) as usize];
    format!("{f} {l1} {l2} {}", i / 2304)
}

fn number(i: u64) -> String {
    format!("55119{:08}", i)
}

fn generate(n: u64) -> Data {
    let mut e = Vec::new();
    let start = T0 - 2 * 3_600_000;
    let mut at = start;
    for c in 1..=CHANNELS {
        let kind = [
            ChannelKind::Whatsapp,
            ChannelKind::Telegram,
            ChannelKind::Webchat,
        ][(c - 1) as usize];
        e.push(ev(
            at,
            EventKind::ChannelCreated {
                channel: Channel {
                    id: ChannelId(c),
                    kind,
                    name: format!("Canal {c}"),
                    enabled: true,
                    flow: Some(FlowId(1)),
                },
            },
        ));
    }
    for t in 1..=TEAMS {
        e.push(ev(
            at,
            EventKind::TeamCreated {
                team: Team {
                    id: TeamId(t),
                    name: format!("Equipe {t:02}"),
                    enabled: true,
                    settings: TeamSettings::default(),
                },
            },
        ));
    }
    e.push(ev(
        at,
        EventKind::PauseReasonCreated {
            reason: PauseReason {
                id: PauseReasonId(1),
                name: "Almoço".into(),
                max_duration_ms: Some(3_600_000),
                enabled: true,
            },
        },
    ));
    // Agents: one or two teams each; 90 % logged in, one in ten of those paused.
    let mut online: Vec<(AgentId, TeamId)> = Vec::new();
    for a in 1..=AGENTS {
        let t1 = 1 + (a - 1) % TEAMS;
        let mut teams = BTreeSet::from([TeamId(t1)]);
        if a % 2 == 0 {
            teams.insert(TeamId(1 + (a * 7) % TEAMS));
        }
        e.push(ev(
            at,
            EventKind::AgentCreated {
                agent: Agent {
                    id: AgentId(a),
                    name: format!("Agente {a:04}"),
                    nickname: format!("A{a}"),
                    email: format!("a{a}@mirante.test"),
                    teams,
                    capacity: CAPACITY,
                    enabled: true,
                },
            },
        ));
        if a % 10 != 0 {
            e.push(ev(at, EventKind::AgentLoggedIn { agent: AgentId(a) }));
            if a % 10 == 5 {
                e.push(ev(
                    at,
                    EventKind::AgentPaused {
                        agent: AgentId(a),
                        reason: PauseReasonId(1),
                        by: Actor::Agent(AgentId(a)),
                    },
                ));
            } else {
                online.push((AgentId(a), TeamId(t1)));
            }
        }
    }
    let human_target = n / 4;
    let mut slots = online
        .iter()
        .flat_map(|a| std::iter::repeat_n(*a, CAPACITY as usize));
    let mut msg = 0u64;
    let mut protocol = 0u64;
    let step = (2 * 3_600_000) / n.max(1) as i64;
    for i in 1..=n {
        at = start + i as i64 * step;
        let sid = SessionId(i);
        let channel = ChannelId(1 + i % CHANNELS);
        e.push(ev(
            at,
            EventKind::ContactCreated {
                contact: Contact {
                    id: ContactId(i),
                    name: contact_name(i),
                    number: Some(number(i)),
                    identifiers: BTreeMap::from([(channel, number(i))]),
                },
            },
        ));
        e.push(ev(
            at,
            EventKind::SessionStarted {
                session: sid,
                contact: ContactId(i),
                channel,
                flow: FlowId(1),
            },
        ));
        msg += 1;
        e.push(ev(
            at,
            EventKind::MessagePosted {
                session: sid,
                message: MessageId(msg),
                author: Author::Customer,
                agent: None,
                text: "oi".into(),
                attachments: Vec::new(),
                external_id: None,
            },
        ));
        e.push(ev(
            at,
            EventKind::BotStepEntered {
                session: sid,
                step: "menu".into(),
                invalid: false,
                collected: BTreeMap::new(),
            },
        ));
        if i % 10 < 3 {
            continue; // 30 % stay in the bot
        }
        let human = if i % 10 >= 6 && protocol < human_target {
            slots.next()
        } else {
            None
        };
        let team = human.map_or(TeamId(1 + (i * 13) % TEAMS), |(_, t)| t);
        e.push(ev(
            at,
            EventKind::SessionQueued {
                session: sid,
                team,
                reason: QueueReason::Routed,
                front: false,
                collected: BTreeMap::new(),
            },
        ));
        if let Some((agent, team)) = human {
            protocol += 1;
            e.push(ev(
                at + 15_000,
                EventKind::SessionAssigned {
                    session: sid,
                    agent,
                    team,
                    protocol: Some(format!("20261123{protocol:06}")),
                    by: AssignedBy::Distribution,
                },
            ));
        }
    }
    Data {
        events: e,
        now: Timestamp(T0 + 60_000),
        sessions: n,
    }
}

// ---- the SQL baseline ----------------------------------------------------------------------

fn sql_load(m: &Monitor, data: &Data) -> rusqlite::Result<Connection> {
    let db = Connection::open_in_memory()?;
    db.execute_batch(
        "CREATE TABLE channels (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT NOT NULL, target_ms INTEGER,
                             goal INTEGER, answered INTEGER, within INTEGER, wait_sum INTEGER);
         CREATE TABLE pause_reasons (id INTEGER PRIMARY KEY, name TEXT, max_ms INTEGER);
         CREATE TABLE agents (id INTEGER PRIMARY KEY, name TEXT, nickname TEXT, capacity INTEGER,
                              presence INTEGER, pause_reason INTEGER, since INTEGER);
         CREATE INDEX agents_presence ON agents(presence, name);
         CREATE TABLE agent_teams (team_id INTEGER, agent_id INTEGER, PRIMARY KEY (team_id, agent_id));
         CREATE INDEX agent_teams_agent ON agent_teams(agent_id);
         CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT, number TEXT);
         CREATE INDEX contacts_name ON contacts(name);
         CREATE INDEX contacts_number ON contacts(number);
         CREATE TABLE sessions (id INTEGER PRIMARY KEY, contact_id INTEGER, channel_id INTEGER,
             phase INTEGER, team_id INTEGER, agent_id INTEGER, protocol TEXT, started_at INTEGER,
             queued_at INTEGER, assigned_at INTEGER, last_customer_at INTEGER, bot_step TEXT,
             queue_key INTEGER);
         CREATE INDEX sessions_team ON sessions(team_id, phase);
         CREATE INDEX sessions_channel ON sessions(channel_id, phase);
         CREATE INDEX sessions_agent ON sessions(agent_id);
         CREATE INDEX sessions_contact ON sessions(contact_id);
         CREATE INDEX sessions_protocol ON sessions(protocol);
         CREATE INDEX sessions_phase ON sessions(phase);",
    )?;
    // The rows come from the monitor's own model, so both sides answer over the same data.
    let tx = db.unchecked_transaction()?;
    let full = m.view(&Filter::default(), &Visibility::all(), data.now);
    for c in &m.filter_options(&Visibility::all()).channels {
        tx.execute(
            "INSERT INTO channels VALUES (?1, ?2)",
            rusqlite::params![c.id.0 as i64, &*c.name],
        )?;
    }
    for t in &full.teams {
        tx.execute(
            "INSERT INTO teams VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                t.id.0 as i64,
                &*t.name,
                t.service_level_target_ms,
                t.service_level_goal_percent,
                t.answered_today as i64,
                t.answered_within_target_today as i64,
                t.avg_wait_today_ms.unwrap_or(0) * t.answered_today as i64
            ],
        )?;
    }
    tx.execute(
        "INSERT INTO pause_reasons VALUES (1, 'Almoço', 3600000)",
        [],
    )?;
    for a in 1..=AGENTS {
        let Some(info) = m.agent(AgentId(a)) else {
            continue;
        };
        let (presence, reason) = match info.presence {
            mirante_core::Presence::Offline => (0, None),
            mirante_core::Presence::Online => (1, None),
            mirante_core::Presence::Paused { reason } => (2, Some(reason.0 as i64)),
        };
        tx.execute(
            "INSERT INTO agents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                a as i64,
                &*info.name,
                &*info.nickname,
                info.capacity,
                presence,
                reason,
                info.presence_since.0
            ],
        )?;
        for t in &info.teams {
            tx.execute(
                "INSERT INTO agent_teams VALUES (?1, ?2)",
                rusqlite::params![t.0 as i64, a as i64],
            )?;
        }
    }
    for i in 1..=data.sessions {
        let Some(r) = m.session(SessionId(i)) else {
            continue;
        };
        let c = m.contact(r.contact);
        tx.execute(
            "INSERT OR IGNORE INTO contacts VALUES (?1, ?2, ?3)",
            rusqlite::params![
                r.contact.0 as i64,
                c.map(|c| c.name.to_string()),
                c.and_then(|c| c.number.as_deref().map(str::to_string))
            ],
        )?;
        let phase = match r.phase {
            mirante_core::Phase::Bot => 0,
            mirante_core::Phase::Waiting => 1,
            mirante_core::Phase::Human => 2,
        };
        tx.execute(
            "INSERT INTO sessions VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            rusqlite::params![
                i as i64,
                r.contact.0 as i64,
                r.channel.0 as i64,
                phase,
                r.team.map(|t| t.0 as i64),
                r.agent.map(|a| a.0 as i64),
                r.protocol.as_deref(),
                r.started_at.0,
                r.queued_at.map(|t| t.0),
                r.assigned_at.map(|t| t.0),
                r.last_customer_message_at.0,
                r.bot_step.as_deref(),
                r.queue_key
            ],
        )?;
    }
    tx.commit()?;
    db.execute_batch("ANALYZE;")?;
    Ok(db)
}

/// One SQL row of a session, with the joined names.
#[allow(dead_code)]
struct SqlRow {
    id: i64,
    phase: i64,
    contact: String,
    number: Option<String>,
    channel: String,
    team: Option<String>,
    agent: Option<String>,
    protocol: Option<String>,
    started: i64,
    queued: Option<i64>,
    assigned: Option<i64>,
    last: i64,
    step: Option<String>,
}

/// What both sides answer, compared: counters, the rows' ids in display order per phase,
/// the agent cards (id, open sessions) and the team cards (id, waiting, in service) in order.
#[derive(Debug, PartialEq)]
struct SqlAnswer {
    counters: [u64; 3],
    unfiltered: [u64; 3],
    rows: [Vec<i64>; 3],
    agents: Vec<(i64, i64)>,
    teams: Vec<(i64, i64, i64)>,
}

/// The monitor's screen for one filter, by SQL. `cond` is a WHERE fragment on `s`, `args` its
/// parameters; `team_cond` limits the team cards; `agent_cond` the agent cards.
fn sql_view(
    db: &Connection,
    scope: &str,
    cond: &str,
    args: &[rusqlite::types::Value],
    team_cond: &str,
    agent_cond: &str,
    now: i64,
) -> rusqlite::Result<SqlAnswer> {
    let group = |sql: &str, args: &[rusqlite::types::Value]| -> rusqlite::Result<[u64; 3]> {
        let mut st = db.prepare_cached(sql)?;
        let mut out = [0u64; 3];
        let mut rows = st.query(params_from_iter(args.iter()))?;
        while let Some(r) = rows.next()? {
            let p: i64 = r.get(0)?;
            out[p as usize] = r.get::<_, i64>(1)? as u64;
        }
        Ok(out)
    };
    let counters = group(
        &format!("SELECT phase, COUNT(*) FROM sessions s WHERE {cond} GROUP BY phase"),
        args,
    )?;
    let unfiltered = group(
        &format!("SELECT phase, COUNT(*) FROM sessions s WHERE {scope} GROUP BY phase"),
        &[],
    )?;
    let mut rows: [Vec<i64>; 3] = Default::default();
    for (phase, order) in [
        (0, "s.id"),
        (1, "s.queued_at, s.queue_key, s.id"),
        (2, "s.assigned_at, s.id"),
    ] {
        let sql = format!(
            "SELECT s.id, s.phase, c.name, c.number, ch.name, t.name, a.name, s.protocol,
                    s.started_at, s.queued_at, s.assigned_at, s.last_customer_at, s.bot_step
             FROM sessions s JOIN contacts c ON c.id = s.contact_id
             JOIN channels ch ON ch.id = s.channel_id
             LEFT JOIN teams t ON t.id = s.team_id LEFT JOIN agents a ON a.id = s.agent_id
             WHERE s.phase = {phase} AND ({cond}) ORDER BY {order}"
        );
        let mut st = db.prepare_cached(&sql)?;
        let mapped = st.query_map(params_from_iter(args.iter()), |r| {
            Ok(SqlRow {
                id: r.get(0)?,
                phase: r.get(1)?,
                contact: r.get(2)?,
                number: r.get(3)?,
                channel: r.get(4)?,
                team: r.get(5)?,
                agent: r.get(6)?,
                protocol: r.get(7)?,
                started: r.get(8)?,
                queued: r.get(9)?,
                assigned: r.get(10)?,
                last: r.get(11)?,
                step: r.get(12)?,
            })
        })?;
        let v: Vec<SqlRow> = mapped.collect::<rusqlite::Result<_>>()?;
        rows[phase] = v.iter().map(|r| r.id).collect();
        black_box(v);
    }
    // Agent cards: logged-in agents with load, pause reason and teams.
    let sql = format!(
        "SELECT a.id, a.name, a.nickname, a.presence, a.since, ?1 - a.since, a.capacity, p.name,
                (SELECT COUNT(*) FROM sessions x WHERE x.agent_id = a.id) AS open,
                (SELECT group_concat(team_id) FROM agent_teams y WHERE y.agent_id = a.id)
         FROM agents a LEFT JOIN pause_reasons p ON p.id = a.pause_reason
         WHERE a.presence <> 0 AND ({agent_cond}) ORDER BY a.name, a.id"
    );
    let mut st = db.prepare_cached(&sql)?;
    let agents: Vec<(i64, String, i64)> = st
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(8)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let agents = agents.into_iter().map(|(id, _, open)| (id, open)).collect();
    // Team cards: counts, longest wait, today's figures, members online / paused / available.
    let sql = format!(
        "SELECT t.id, t.name, t.target_ms, t.goal, t.answered, t.within, t.wait_sum,
           (SELECT COUNT(*) FROM sessions s WHERE s.team_id = t.id AND s.phase = 1 AND ({cond})),
           (SELECT COUNT(*) FROM sessions s WHERE s.team_id = t.id AND s.phase = 2 AND ({cond})),
           (SELECT MIN(s.queued_at) FROM sessions s WHERE s.team_id = t.id AND s.phase = 1 AND ({cond})),
           (SELECT SUM(a.presence = 1) FROM agent_teams m JOIN agents a ON a.id = m.agent_id WHERE m.team_id = t.id),
           (SELECT SUM(a.presence = 2) FROM agent_teams m JOIN agents a ON a.id = m.agent_id WHERE m.team_id = t.id),
           (SELECT SUM(a.presence = 1 AND (SELECT COUNT(*) FROM sessions x WHERE x.agent_id = a.id) < a.capacity)
              FROM agent_teams m JOIN agents a ON a.id = m.agent_id WHERE m.team_id = t.id)
         FROM teams t WHERE ({team_cond}) ORDER BY t.name, t.id"
    );
    let mut st = db.prepare_cached(&sql)?;
    let team_args: Vec<rusqlite::types::Value> =
        args.iter().cloned().cycle().take(args.len() * 3).collect();
    let teams: Vec<(i64, String, i64, i64)> = st
        .query_map(params_from_iter(team_args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(7)?, r.get(8)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let teams = teams.into_iter().map(|(id, _, w, h)| (id, w, h)).collect();
    Ok(SqlAnswer {
        counters,
        unfiltered,
        rows,
        agents,
        teams,
    })
}

// ---- measuring -----------------------------------------------------------------------------

struct Figures {
    median_us: f64,
    p99_us: f64,
}

fn measure(iters: usize, mut f: impl FnMut()) -> Figures {
    f(); // warm up
    let mut v: Vec<f64> = (0..iters)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Figures {
        median_us: at(0.5),
        p99_us: at(0.99),
    }
}

fn answer_of(v: &MonitorView) -> SqlAnswer {
    SqlAnswer {
        counters: [v.counters.auto, v.counters.espera, v.counters.humano],
        unfiltered: [
            v.unfiltered_counters.auto,
            v.unfiltered_counters.espera,
            v.unfiltered_counters.humano,
        ],
        rows: [
            v.phases.bot.iter().map(|r| r.id.0 as i64).collect(),
            v.phases.waiting.iter().map(|r| r.id.0 as i64).collect(),
            v.phases.human.iter().map(|r| r.id.0 as i64).collect(),
        ],
        agents: v
            .agents
            .iter()
            .map(|a| (a.id.0 as i64, i64::from(a.open)))
            .collect(),
        teams: v
            .teams
            .iter()
            .map(|t| {
                (
                    t.id.0 as i64,
                    t.waiting_count as i64,
                    t.in_service_count as i64,
                )
            })
            .collect(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::var("P3_SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let data = generate(n);

    // P6: bytes held by the model per live session.
    let reg = Region::new(GLOBAL);
    let t = Instant::now();
    let mut m = Monitor::new();
    for (i, e) in data.events.iter().enumerate() {
        black_box(m.apply(i as u64 + 1, e));
    }
    let apply_s = t.elapsed().as_secs_f64();
    let stats = reg.change();
    let held = stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
        + stats.bytes_reallocated as i64;
    let live = m.open_sessions() as f64;
    let per_session = held as f64 / live;
    let events_per_s = data.events.len() as f64 / apply_s;

    let now = data.now;
    let all = Visibility::all();
    let typical = Filter {
        teams: BTreeSet::from([TeamId(3), TeamId(17)]),
        channels: BTreeSet::from([ChannelId(2)]),
        ..Filter::default()
    };
    let contact = Filter {
        contact: Some(contact_name(4242)),
        ..Filter::default()
    };
    let number_filter = Filter {
        contact: Some(format!("+55 (11) 9{}", &number(777)[5..])),
        ..Filter::default()
    };
    let protocol = Filter {
        protocol: Some("20261123001234".into()),
        ..Filter::default()
    };
    let restricted = Visibility::teams([TeamId(5), TeamId(6), TeamId(7)]);

    // `P3_PROFILE=restricted|typical|full`: only the monitor's view of that case, in a loop
    // (for `perf`), without the SQL side.
    if let Ok(which) = std::env::var("P3_PROFILE") {
        let (f, v) = match which.as_str() {
            "restricted" => (Filter::default(), restricted.clone()),
            "full" => (Filter::default(), all.clone()),
            _ => (typical.clone(), all.clone()),
        };
        let n: u64 = std::env::var("P3_ITERS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1_000);
        let t = Instant::now();
        for _ in 0..n {
            black_box(m.view(&f, &v, now));
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64;
        println!("{which}: {n} views, {per:.1} µs per view");
        return Ok(());
    }
    let db = sql_load(&m, &data)?;
    let int = |v: u64| rusqlite::types::Value::Integer(v as i64);
    let text = |s: &str| rusqlite::types::Value::Text(s.to_string());
    struct Case<'a> {
        name: &'static str,
        filter: &'a Filter,
        vis: &'a Visibility,
        /// The supervisor's scope as a WHERE fragment on `s` (M-60).
        scope: &'static str,
        cond: String,
        args: Vec<rusqlite::types::Value>,
        team_cond: &'static str,
        agent_cond: &'static str,
        iters: (usize, usize),
    }
    let cname = contact_name(4242);
    let cases = [
        Case {
            name: "2 teams + 1 channel",
            filter: &typical,
            vis: &all,
            scope: "1 = 1",
            cond: "s.team_id IN (?, ?) AND s.channel_id IN (?)".into(),
            args: vec![int(3), int(17), int(2)],
            team_cond: "t.id IN (3, 17)",
            agent_cond: "EXISTS (SELECT 1 FROM agent_teams y WHERE y.agent_id = a.id AND y.team_id IN (3, 17))",
            iters: (300, 30),
        },
        Case {
            name: "contact name",
            filter: &contact,
            vis: &all,
            scope: "1 = 1",
            cond: "s.contact_id IN (SELECT id FROM contacts WHERE name = ?)".into(),
            args: vec![text(&cname)],
            team_cond: "EXISTS (SELECT 1 FROM sessions z JOIN contacts k ON k.id = z.contact_id WHERE z.team_id = t.id AND k.name = '__NAME__')",
            agent_cond: "EXISTS (SELECT 1 FROM sessions z JOIN contacts k ON k.id = z.contact_id WHERE z.agent_id = a.id AND k.name = '__NAME__')",
            iters: (300, 30),
        },
        Case {
            name: "contact number",
            filter: &number_filter,
            vis: &all,
            scope: "1 = 1",
            cond: "s.contact_id IN (SELECT id FROM contacts WHERE number = ?)".into(),
            args: vec![text(&number(777))],
            team_cond: "EXISTS (SELECT 1 FROM sessions z JOIN contacts k ON k.id = z.contact_id WHERE z.team_id = t.id AND k.number = '__NUMBER__')",
            agent_cond: "EXISTS (SELECT 1 FROM sessions z JOIN contacts k ON k.id = z.contact_id WHERE z.agent_id = a.id AND k.number = '__NUMBER__')",
            iters: (300, 30),
        },
        Case {
            name: "protocol",
            filter: &protocol,
            vis: &all,
            scope: "1 = 1",
            cond: "s.protocol = ?".into(),
            args: vec![text("20261123001234")],
            team_cond: "EXISTS (SELECT 1 FROM sessions z WHERE z.team_id = t.id AND z.protocol = '20261123001234')",
            agent_cond: "EXISTS (SELECT 1 FROM sessions z WHERE z.agent_id = a.id AND z.protocol = '20261123001234')",
            iters: (300, 30),
        },
        Case {
            name: "restricted admin (3 teams), unfiltered",
            filter: &Filter::default(),
            vis: &restricted,
            scope: "s.team_id IN (5, 6, 7)",
            cond: "s.team_id IN (?, ?, ?)".into(),
            args: vec![int(5), int(6), int(7)],
            team_cond: "t.id IN (5, 6, 7)",
            agent_cond: "EXISTS (SELECT 1 FROM agent_teams y WHERE y.agent_id = a.id AND y.team_id IN (5, 6, 7))",
            iters: (300, 30),
        },
        Case {
            name: "full unfiltered screen (100 k rows)",
            filter: &Filter::default(),
            vis: &all,
            scope: "1 = 1",
            cond: "1 = 1".into(),
            args: vec![],
            team_cond: "1 = 1",
            agent_cond: "1 = 1",
            iters: (30, 5),
        },
    ];

    let mut table = Vec::new();
    for c in &cases {
        let view = m.view(c.filter, c.vis, now);
        let team_cond = c
            .team_cond
            .replace("__NAME__", &cname)
            .replace("__NUMBER__", &number(777));
        let agent_cond = c
            .agent_cond
            .replace("__NAME__", &cname)
            .replace("__NUMBER__", &number(777));
        let sql = sql_view(
            &db,
            c.scope,
            &c.cond,
            &c.args,
            &team_cond,
            &agent_cond,
            now.0,
        )?;
        assert_eq!(
            answer_of(&view),
            sql,
            "{}: monitor and SQL disagree",
            c.name
        );
        let mon = measure(c.iters.0, || {
            black_box(m.view(c.filter, c.vis, now));
        });
        let base = measure(c.iters.1, || {
            black_box(
                sql_view(
                    &db,
                    c.scope,
                    &c.cond,
                    &c.args,
                    &team_cond,
                    &agent_cond,
                    now.0,
                )
                .unwrap_or_else(|e| panic!("sql: {e}")),
            );
        });
        // Not in either side's figure: the server then serializes the view to JSON (the SQL
        // side's rows would need the same); measured apart, for the record.
        let json = measure(c.iters.1, || {
            black_box(serde_json::to_vec(&view).unwrap_or_default());
        });
        table.push((
            c.name,
            json,
            mon,
            base,
            view.phases.bot.len() + view.phases.waiting.len() + view.phases.human.len(),
        ));
    }
    let counters_typ = measure(2000, || {
        black_box(m.counters(&typical, &all));
    });
    let counters_all = measure(2000, || {
        black_box(m.counters(&Filter::default(), &all));
    });
    let json_bytes = serde_json::to_vec(&m.view(&typical, &all, now))?.len();

    println!(
        "\n## P3 / P6 — monitor snapshot, {} live sessions, {} agents, {} teams, {} channels\n",
        m.open_sessions(),
        AGENTS,
        TEAMS,
        CHANNELS
    );
    println!(
        "| query | rows | monitor median µs | monitor p99 µs | SQLite median µs | SQLite p99 µs | ratio (median) | JSON of the view, median µs |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut json = Vec::new();
    for (name, js, mon, base, rows) in &table {
        let ratio = base.median_us / mon.median_us;
        println!(
            "| {name} | {rows} | {:.1} | {:.1} | {:.0} | {:.0} | {ratio:.0}× | {:.0} |",
            mon.median_us, mon.p99_us, base.median_us, base.p99_us, js.median_us
        );
        json.push(format!(
            "{{\"query\":\"{name}\",\"rows\":{rows},\"monitor_median_us\":{:.1},\"monitor_p99_us\":{:.1},\"sql_median_us\":{:.0},\"sql_p99_us\":{:.0},\"ratio\":{ratio:.1},\"json_median_us\":{:.0}}}",
            mon.median_us, mon.p99_us, base.median_us, base.p99_us, js.median_us
        ));
    }
    println!(
        "| counters only, 2 teams + 1 channel | – | {:.2} | {:.2} | | | | |",
        counters_typ.median_us, counters_typ.p99_us
    );
    println!(
        "| counters only, unfiltered | – | {:.2} | {:.2} | | | | |",
        counters_all.median_us, counters_all.p99_us
    );
    println!(
        "\nP6: {per_session:.0} bytes per live session ({held} bytes held for {live} sessions, incl. contacts and indexes); apply: {:.2} M events/s ({} events); typical view JSON: {json_bytes} bytes\n",
        events_per_s / 1e6,
        data.events.len()
    );
    println!(
        "{{\"bench\":\"monitor_snapshot\",\"sessions\":{live},\"agents\":{AGENTS},\"teams\":{TEAMS},\"channels\":{CHANNELS},\"p6_bytes_per_session\":{per_session:.0},\"apply_events_per_s\":{events_per_s:.0},\"counters_only_typical_median_us\":{:.2},\"counters_only_unfiltered_median_us\":{:.2},\"queries\":[{}]}}",
        counters_typ.median_us,
        counters_all.median_us,
        json.join(",")
    );
    Ok(())
}
