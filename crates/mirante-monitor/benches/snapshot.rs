//! P3 and P6 (PERFORMANCE.md): the monitor snapshot of a large contact center — ~100 k live
//! sessions, ~5 k agents — timed for what supervisors request (a typical filter, a contact, a
//! protocol, a team-restricted admin, the counters alone, the full unfiltered screen), against
//! the same answers computed by SQL over the same data in SQLite in the same run; the JSON the
//! server writes for each answer; and the read model's memory per live session, measured with
//! a counting global allocator. Prints a Markdown table and one JSON line.
//!
//! The data is the simulator's (`mirante_sim`): the demo contact center run in 14 regions
//! (42 teams, 42 channels), scaled ×`P3_SCALE` (12: 5 040 agents) with arrivals ×`P3_RATE`
//! (3) more, customers who never give up and no maximum wait — an overloaded center — until
//! `P3_SESSIONS` (100 000) sessions are open; every event is folded into the monitor, and
//! SQLite is loaded with the monitor's rows.
//!
//! Run: `cargo xtask bench p3` (or `cargo bench -p mirante-monitor --bench snapshot`).

use cap::Cap;
use mimalloc::MiMalloc;
use mirante_core::flow::Step as FlowStep;
use mirante_core::{ChannelId, Phase, TeamId, Timestamp};
use mirante_monitor::{Filter, Monitor, MonitorView, Visibility};
use mirante_sim::load::{LoadGen, scaled};
use mirante_sim::{Scenario, demo};
use rusqlite::{Connection, params_from_iter};
use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Instant;

/// The server's allocator (`mirante-server` makes mimalloc the global allocator), counted: P6
/// is the bytes the monitor holds, and the profile loop prints what one view holds.
#[global_allocator]
static GLOBAL: Cap<MiMalloc> = Cap::new(MiMalloc, usize::MAX);

/// The regions of the simulated company: each runs the demo's contact center (three teams,
/// three channels with their bot flows) with `P3_SCALE` times its agents.
const REGIONS: [&str; 14] = [
    "SP", "RJ", "MG", "RS", "PR", "SC", "BA", "PE", "CE", "GO", "DF", "PA", "AM", "ES",
];

/// `base` once per region: teams, channels (with flows routing to the region's teams) and
/// agents renamed with the region, so ids stay predictable (region `r`'s teams are
/// `3r + 1 ..= 3r + 3`, its channels likewise).
fn regional(base: &Scenario) -> Scenario {
    let mut out = base.clone();
    out.teams.clear();
    out.channels.clear();
    out.agents.clear();
    let per = base.teams.len() as u64;
    for (r, region) in REGIONS.iter().enumerate() {
        let named = |n: &str| format!("{n} {region}");
        for t in &base.teams {
            let mut t = t.clone();
            t.name = named(&t.name);
            t.overflow = t.overflow.as_deref().map(named);
            out.teams.push(t);
        }
        for c in &base.channels {
            let mut c = c.clone();
            c.name = named(&c.name);
            c.flow.name = named(&c.flow.name);
            for step in c.flow.steps.values_mut() {
                if let FlowStep::Route { team, .. } = step {
                    *team = TeamId(team.0 + per * r as u64);
                }
            }
            out.channels.push(c);
        }
        for a in &base.agents {
            let mut a = a.clone();
            a.name = format!("{} ({region})", a.name);
            a.email = a
                .email
                .replacen('@', &format!(".{}@", region.to_lowercase()), 1);
            a.teams = a.teams.iter().map(|t| named(t)).collect();
            out.agents.push(a);
        }
    }
    out.name = format!("{} in {} regions", base.name, REGIONS.len());
    out
}

/// The simulated contact center, folded into the monitor event by event.
struct Data {
    monitor: Monitor,
    now: Timestamp,
    events: u64,
    apply_s: f64,
    simulate_s: f64,
    sim_minutes: f64,
    agents: u64,
    teams: u64,
    channels: u64,
    sessions_started: u64,
    /// Bytes the monitor holds (allocated minus freed while folding).
    held: i64,
}

/// Runs the demo scenario in every region, scaled ×`scale` (agents and arrivals), arrivals
/// ×`rate` more, customers who never give up and no maximum wait — an overloaded center, so
/// that `live` sessions are open at once — and folds every event into a fresh monitor until
/// `live` sessions are open.
fn simulate(live: usize, scale: usize, rate: f64, seed: u64) -> Data {
    let mut base = scaled(demo::demo(demo::DEMO_START), scale);
    base.rate_multiplier *= rate;
    base.customers.patience = None;
    for t in &mut base.teams {
        t.settings.max_wait_ms = None;
    }
    let scenario = regional(&base);
    let (agents, teams, channels) = (
        scenario.agents.len() as u64,
        scenario.teams.len() as u64,
        scenario.channels.len() as u64,
    );
    let started = Instant::now();
    let mut load = LoadGen::new(scenario, seed, 1_000).unwrap_or_else(|e| panic!("sim: {e}"));
    let mut monitor = Monitor::new();
    let (mut seq, mut apply_s, mut held) = (0u64, 0.0, 0i64);
    while monitor.open_sessions() < live && !load.done() {
        let steps = load.next_events(20_000);
        // Only the monitor allocates or frees while it folds (the events are borrowed).
        let before = GLOBAL.allocated();
        let t = Instant::now();
        for e in steps.iter().flat_map(|s| &s.events) {
            seq += 1;
            black_box(monitor.apply(seq, e));
        }
        apply_s += t.elapsed().as_secs_f64();
        held += GLOBAL.allocated() as i64 - before as i64;
    }
    Data {
        now: load.now(),
        events: seq,
        apply_s,
        simulate_s: started.elapsed().as_secs_f64() - apply_s,
        sim_minutes: load.now().since(demo::DEMO_START) as f64 / 60_000.0,
        agents,
        teams,
        channels,
        sessions_started: load.stats().sessions_started,
        held,
        monitor,
    }
}

// ---- the SQL baseline ----------------------------------------------------------------------

fn sql_load(m: &Monitor, now: Timestamp) -> rusqlite::Result<Connection> {
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
    // The rows come from the monitor's own model (itself folded from the simulator's
    // events), so both sides answer over the same data.
    let tx = db.unchecked_transaction()?;
    let full = m.view(&Filter::default(), &Visibility::all(), now);
    let options = m.filter_options(&Visibility::all());
    for c in &options.channels {
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
    for id in 1.. {
        let Some(p) = m.pause_reason(mirante_core::PauseReasonId(id)) else {
            break;
        };
        tx.execute(
            "INSERT INTO pause_reasons VALUES (?1, ?2, ?3)",
            rusqlite::params![id as i64, &*p.name, p.max_duration_ms],
        )?;
    }
    for a in &options.agents {
        let Some(info) = m.agent(a.id) else {
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
                a.id.0 as i64,
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
                rusqlite::params![t.0 as i64, a.id.0 as i64],
            )?;
        }
    }
    let rows = full
        .phases
        .bot
        .iter()
        .chain(&full.phases.waiting)
        .chain(&full.phases.human);
    for r in rows {
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
            Phase::Bot => 0,
            Phase::Waiting => 1,
            Phase::Human => 2,
        };
        tx.execute(
            "INSERT INTO sessions VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            rusqlite::params![
                r.id.0 as i64,
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

fn answer_of(v: &MonitorView<'_>) -> SqlAnswer {
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

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A text for a SQL literal.
fn quoted(s: &str) -> String {
    s.replace('\'', "''")
}

/// The JSON of a view as the server writes it (`MonitorView::to_json`: one buffer of the
/// hinted size, the rows written field by field; the same bytes as `serde_json::to_vec`).
fn to_json(v: &MonitorView<'_>) -> Vec<u8> {
    v.to_json()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let live_target: usize = env("P3_SESSIONS", 100_000);
    let scale: usize = env("P3_SCALE", 12);
    let rate: f64 = env("P3_RATE", 3.0);
    let seed: u64 = env("P3_SEED", 7);
    let data = simulate(live_target, scale, rate, seed);
    let m = &data.monitor;

    // P6: bytes held by the model per live session.
    let held = data.held;
    let live = m.open_sessions() as f64;
    let per_session = held as f64 / live;
    let events_per_s = data.events as f64 / data.apply_s;

    let now = data.now;
    let all = Visibility::all();
    // Region SP: teams 1–3 (Financeiro, Suporte, Vendas), channels 1–3 (WhatsApp Business,
    // Telegram, Webchat).
    let typical = Filter {
        teams: BTreeSet::from([TeamId(1), TeamId(2)]),
        channels: BTreeSet::from([ChannelId(1)]),
        ..Filter::default()
    };
    let restricted = Visibility::teams([TeamId(1), TeamId(2), TeamId(3)]);
    // A customer waiting in the middle of the region's queue, and one in service.
    let sp = m.view(&Filter::default(), &restricted, now);
    let numbered: Vec<_> = sp
        .phases
        .waiting
        .iter()
        .filter(|r| r.contact_number.is_some())
        .collect();
    let waiting = numbered[numbered.len() / 2];
    let cname = waiting.contact_name.to_string();
    let digits = waiting
        .contact_number
        .as_deref()
        .map_or_else(String::new, str::to_string);
    let punctuated = if digits.len() == 13 {
        format!(
            "+{} ({}) {}-{}",
            &digits[..2],
            &digits[2..4],
            &digits[4..9],
            &digits[9..]
        )
    } else {
        digits.clone()
    };
    let proto = sp
        .phases
        .human
        .iter()
        .find_map(|r| r.protocol.as_deref())
        .unwrap_or_default()
        .to_string();
    drop(sp);
    let contact = Filter {
        contact: Some(cname.clone()),
        ..Filter::default()
    };
    let number_filter = Filter {
        contact: Some(punctuated),
        ..Filter::default()
    };
    let protocol = Filter {
        protocol: Some(proto.clone()),
        ..Filter::default()
    };

    // `P3_PROFILE=restricted|typical|full`: only the monitor's view of that case, in a loop
    // (for `perf`), without the SQL side; `P3_JSON=1` adds its JSON.
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
        let json = std::env::var("P3_JSON").is_ok_and(|v| v == "1");
        // What one view allocates (the allocator's work is a good part of a large view's).
        let live = GLOBAL.allocated();
        let once = m.view(&f, &v, now);
        let live_after = GLOBAL.allocated();
        println!(
            "{which}: one view = {} rows ({} bot, {} waiting, {} human), {} agent cards, {} team cards; {} bytes held",
            once.rows(),
            once.phases.bot.len(),
            once.phases.waiting.len(),
            once.phases.human.len(),
            once.agents.len(),
            once.teams.len(),
            live_after.saturating_sub(live)
        );
        drop(once);
        let t = Instant::now();
        // Per view: the view alone, then (with `P3_JSON=1`) its JSON by the server's writer
        // and by `serde_json::to_vec`, then its drop, each timed on its own, interleaved.
        let mut each: [Vec<f64>; 4] = Default::default();
        let mut time = |i: usize, f: &mut dyn FnMut()| {
            let one = Instant::now();
            f();
            each[i].push(one.elapsed().as_secs_f64() * 1e6);
        };
        for _ in 0..n {
            let mut view = None;
            time(0, &mut || view = Some(m.view(&f, &v, now)));
            if json && let Some(view) = &view {
                time(1, &mut || {
                    black_box(to_json(view));
                });
                time(2, &mut || {
                    black_box(serde_json::to_vec(view).unwrap_or_default());
                });
            }
            time(3, &mut || drop(black_box(view.take())));
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64;
        // On a shared machine the fastest runs are the ones nothing else disturbed.
        let mut line = format!("{which}: {n} views, {per:.1} µs per iteration");
        for (name, v) in ["view", "to_json", "serde_json", "drop"]
            .iter()
            .zip(&mut each)
        {
            if v.is_empty() {
                continue;
            }
            v.sort_by(f64::total_cmp);
            let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
            line += &format!(
                "; {name} µs min {:.1} p10 {:.1} median {:.1}",
                at(0.0),
                at(0.1),
                at(0.5)
            );
        }
        println!("{line}");
        return Ok(());
    }
    let db = sql_load(m, now)?;
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
        team_cond: String,
        agent_cond: String,
        iters: (usize, usize),
    }
    let (qname, qnumber, qproto) = (quoted(&cname), quoted(&digits), quoted(&proto));
    let cases = [
        Case {
            name: "2 teams + 1 channel",
            filter: &typical,
            vis: &all,
            scope: "1 = 1",
            cond: "s.team_id IN (?, ?) AND s.channel_id IN (?)".into(),
            args: vec![int(1), int(2), int(1)],
            team_cond: "t.id IN (1, 2)".into(),
            agent_cond: "EXISTS (SELECT 1 FROM agent_teams y WHERE y.agent_id = a.id AND y.team_id IN (1, 2))".into(),
            iters: (300, 30),
        },
        Case {
            name: "contact name",
            filter: &contact,
            vis: &all,
            scope: "1 = 1",
            cond: "s.contact_id IN (SELECT id FROM contacts WHERE name = ?)".into(),
            args: vec![text(&cname)],
            team_cond: format!("EXISTS (SELECT 1 FROM sessions z JOIN contacts k ON k.id = z.contact_id WHERE z.team_id = t.id AND k.name = '{qname}')"),
            agent_cond: format!("EXISTS (SELECT 1 FROM sessions z JOIN contacts k ON k.id = z.contact_id WHERE z.agent_id = a.id AND k.name = '{qname}')"),
            iters: (300, 30),
        },
        Case {
            name: "contact number",
            filter: &number_filter,
            vis: &all,
            scope: "1 = 1",
            cond: "s.contact_id IN (SELECT id FROM contacts WHERE number = ?)".into(),
            args: vec![text(&digits)],
            team_cond: format!("EXISTS (SELECT 1 FROM sessions z JOIN contacts k ON k.id = z.contact_id WHERE z.team_id = t.id AND k.number = '{qnumber}')"),
            agent_cond: format!("EXISTS (SELECT 1 FROM sessions z JOIN contacts k ON k.id = z.contact_id WHERE z.agent_id = a.id AND k.number = '{qnumber}')"),
            iters: (300, 30),
        },
        Case {
            name: "protocol",
            filter: &protocol,
            vis: &all,
            scope: "1 = 1",
            cond: "s.protocol = ?".into(),
            args: vec![text(&proto)],
            team_cond: format!("EXISTS (SELECT 1 FROM sessions z WHERE z.team_id = t.id AND z.protocol = '{qproto}')"),
            agent_cond: format!("EXISTS (SELECT 1 FROM sessions z WHERE z.agent_id = a.id AND z.protocol = '{qproto}')"),
            iters: (300, 30),
        },
        Case {
            name: "restricted admin (3 teams), unfiltered",
            filter: &Filter::default(),
            vis: &restricted,
            scope: "s.team_id IN (1, 2, 3)",
            cond: "s.team_id IN (?, ?, ?)".into(),
            args: vec![int(1), int(2), int(3)],
            team_cond: "t.id IN (1, 2, 3)".into(),
            agent_cond: "EXISTS (SELECT 1 FROM agent_teams y WHERE y.agent_id = a.id AND y.team_id IN (1, 2, 3))".into(),
            iters: (300, 30),
        },
        Case {
            name: "full unfiltered screen",
            filter: &Filter::default(),
            vis: &all,
            scope: "1 = 1",
            cond: "1 = 1".into(),
            args: vec![],
            team_cond: "1 = 1".into(),
            agent_cond: "1 = 1".into(),
            iters: (30, 5),
        },
    ];

    struct Line {
        name: &'static str,
        rows: usize,
        mon: Figures,
        base: Figures,
        json_plain: Figures,
        json: Figures,
        server: Figures,
    }
    let mut table = Vec::new();
    for c in &cases {
        let view = m.view(c.filter, c.vis, now);
        let sql_answer = |db: &Connection| {
            sql_view(
                db,
                c.scope,
                &c.cond,
                &c.args,
                &c.team_cond,
                &c.agent_cond,
                now.0,
            )
        };
        let (mine, theirs) = (answer_of(&view), sql_answer(&db)?);
        assert!(
            mine == theirs,
            "{}: monitor and SQL disagree (counters {:?} vs {:?}, rows {:?} vs {:?})",
            c.name,
            mine.counters,
            theirs.counters,
            mine.rows.each_ref().map(Vec::len),
            theirs.rows.each_ref().map(Vec::len)
        );
        assert!(
            to_json(&view) == serde_json::to_vec(&view)?,
            "{}: the JSON depends on the writer",
            c.name
        );
        let mon = measure(c.iters.0, || {
            black_box(m.view(c.filter, c.vis, now));
        });
        let base = measure(c.iters.1, || {
            black_box(sql_answer(&db).unwrap_or_else(|e| panic!("sql: {e}")));
        });
        // JSON of the same view: as `serde_json::to_vec` writes it (what `axum::Json` did), and
        // as the server writes it now (`MonitorView::to_json`).
        let json_plain = measure(c.iters.1, || {
            black_box(serde_json::to_vec(&view).unwrap_or_default());
        });
        let json = measure(c.iters.1, || {
            black_box(to_json(&view));
        });
        // What `GET /api/v1/monitor` does after the lookups: the view, then its JSON.
        let server = measure(c.iters.1, || {
            black_box(to_json(&m.view(c.filter, c.vis, now)));
        });
        table.push(Line {
            name: c.name,
            rows: view.phases.bot.len() + view.phases.waiting.len() + view.phases.human.len(),
            mon,
            base,
            json_plain,
            json,
            server,
        });
    }
    let counters_typ = measure(2000, || {
        black_box(m.counters(&typical, &all));
    });
    let counters_all = measure(2000, || {
        black_box(m.counters(&Filter::default(), &all));
    });
    let json_bytes = to_json(&m.view(&typical, &all, now)).len();

    println!(
        "\n## P3 / P6 — monitor snapshot, {} live sessions, {} agents, {} teams, {} channels\n",
        m.open_sessions(),
        data.agents,
        data.teams,
        data.channels
    );
    println!(
        "Load: the simulator's demo center in {} regions, ×{scale} agents and arrivals, arrivals ×{rate} more, no abandonment, no max wait, seed {seed}: {:.0} simulated minutes from 09:30, {} sessions started, {} events ({:.1} s to simulate).\n",
        REGIONS.len(),
        data.sim_minutes,
        data.sessions_started,
        data.events,
        data.simulate_s
    );
    println!(
        "| query | rows | monitor median µs | monitor p99 µs | SQLite median µs | SQLite p99 µs | ratio (median) | JSON µs, serde_json::to_vec | JSON µs, server's writer | server µs (view + JSON) | ratio with JSON on both sides |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut json = Vec::new();
    for l in &table {
        let ratio = l.base.median_us / l.mon.median_us;
        // The SQL answer would be serialized too: the same bytes, the same writer.
        let ratio_json = (l.base.median_us + l.json.median_us) / l.server.median_us;
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.0} | {:.0} | {ratio:.0}× | {:.0} | {:.0} | {:.0} | {ratio_json:.1}× |",
            l.name,
            l.rows,
            l.mon.median_us,
            l.mon.p99_us,
            l.base.median_us,
            l.base.p99_us,
            l.json_plain.median_us,
            l.json.median_us,
            l.server.median_us
        );
        json.push(format!(
            "{{\"query\":\"{}\",\"rows\":{},\"monitor_median_us\":{:.1},\"monitor_p99_us\":{:.1},\"sql_median_us\":{:.0},\"sql_p99_us\":{:.0},\"ratio\":{ratio:.1},\"json_serde_median_us\":{:.0},\"json_server_median_us\":{:.0},\"server_median_us\":{:.0},\"server_p99_us\":{:.0},\"ratio_with_json\":{ratio_json:.2}}}",
            l.name,
            l.rows,
            l.mon.median_us,
            l.mon.p99_us,
            l.base.median_us,
            l.base.p99_us,
            l.json_plain.median_us,
            l.json.median_us,
            l.server.median_us,
            l.server.p99_us
        ));
    }
    println!(
        "| counters only, 2 teams + 1 channel | – | {:.2} | {:.2} | | | | | | | |",
        counters_typ.median_us, counters_typ.p99_us
    );
    println!(
        "| counters only, unfiltered | – | {:.2} | {:.2} | | | | | | | |",
        counters_all.median_us, counters_all.p99_us
    );
    println!(
        "\nP6: {per_session:.0} bytes per live session ({held} bytes held for {live} sessions, incl. contacts and indexes); apply: {:.2} M events/s ({} events); typical view JSON: {json_bytes} bytes\n",
        events_per_s / 1e6,
        data.events
    );
    println!(
        "{{\"bench\":\"monitor_snapshot\",\"load\":\"mirante-sim\",\"scale\":{scale},\"rate\":{rate},\"seed\":{seed},\"sessions\":{live},\"agents\":{},\"teams\":{},\"channels\":{},\"events\":{},\"p6_bytes_per_session\":{per_session:.0},\"apply_events_per_s\":{events_per_s:.0},\"counters_only_typical_median_us\":{:.2},\"counters_only_unfiltered_median_us\":{:.2},\"queries\":[{}]}}",
        data.agents,
        data.teams,
        data.channels,
        data.events,
        counters_typ.median_us,
        counters_all.median_us,
        json.join(",")
    );
    Ok(())
}
