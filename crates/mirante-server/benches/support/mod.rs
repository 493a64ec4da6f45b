//! Shared by the benchmarks: a realistic workload driven through the engine (customers write
//! on channels whose flows route straight to a team, agents answer and finish), where the
//! reports go, and what machine they ran on.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use mirante_core::{Actor, AgentId, ChannelId, Command, EventKind, SessionId};
use mirante_server::engine::{EngineError, EngineHandle};
use serde_json::{Value, json};

/// Shape of the simulated contact center.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Teams, each with its own channel and flow.
    pub teams: usize,
    /// Agents per team (capacity 5 each).
    pub agents_per_team: usize,
    /// Concurrent customers (clients), spread over the channels.
    pub clients: usize,
    /// Distinct contacts each client cycles through.
    pub contacts_per_client: usize,
}

fn cmd(value: Value) -> Command {
    serde_json::from_value(value).unwrap()
}

async fn id_of(
    engine: &EngineHandle,
    command: Value,
    pick: impl Fn(&EventKind) -> Option<u64>,
) -> u64 {
    let executed = engine.execute(cmd(command)).await.unwrap();
    executed.events.iter().find_map(|e| pick(&e.kind)).unwrap()
}

/// Creates the teams, flows, channels and online agents; returns the channels.
pub async fn set_up(engine: &EngineHandle, shape: Shape) -> Vec<ChannelId> {
    let mut channels = Vec::new();
    for t in 0..shape.teams {
        let team = id_of(
            engine,
            json!({"type": "create_team", "name": format!("Equipe {t}")}),
            |k| match k {
                EventKind::TeamCreated { team } => Some(team.id.0),
                _ => None,
            },
        )
        .await;
        let flow = id_of(
            engine,
            json!({"type": "create_flow", "def": {"name": format!("direto {t}"), "start": "r",
                   "steps": {"r": {"kind": "route", "team": team}}}}),
            |k| match k {
                EventKind::FlowCreated { flow } => Some(flow.id.0),
                _ => None,
            },
        )
        .await;
        let channel = id_of(
            engine,
            json!({"type": "create_channel", "kind": "whatsapp", "name": format!("WhatsApp {t}"), "flow": flow}),
            |k| match k {
                EventKind::ChannelCreated { channel } => Some(channel.id.0),
                _ => None,
            },
        )
        .await;
        channels.push(ChannelId(channel));
        for a in 0..shape.agents_per_team {
            let agent = id_of(
                engine,
                json!({"type": "create_agent", "name": format!("Agente {t}-{a}"),
                       "email": format!("agente{t}-{a}@example.com"), "teams": [team]}),
                |k| match k {
                    EventKind::AgentCreated { agent } => Some(agent.id.0),
                    _ => None,
                },
            )
            .await;
            engine
                .execute(cmd(json!({"type": "agent_login", "agent": agent})))
                .await
                .unwrap();
        }
    }
    channels
}

/// Counters shared by the clients.
#[derive(Debug, Default)]
pub struct Load {
    pub stop: AtomicBool,
    pub commands: AtomicU64,
    pub refused: AtomicU64,
}

/// One client: a customer conversation after another until `load.stop`.
pub async fn client(
    engine: EngineHandle,
    channel: ChannelId,
    client: usize,
    shape: Shape,
    load: Arc<Load>,
) {
    let mut k = 0usize;
    while !load.stop.load(Ordering::Relaxed) {
        let who = format!("55{client:05}{:06}", k % shape.contacts_per_client.max(1));
        k += 1;
        let message = |text: &str| Command::CustomerMessage {
            channel,
            identifier: who.clone(),
            name: None,
            text: text.to_owned(),
            attachments: Vec::new(),
            external_id: None,
        };
        let events = match engine
            .execute(message("Olá, preciso de ajuda com meu pedido"))
            .await
        {
            Ok(executed) => executed.events,
            Err(error) => {
                refuse(&load, &error);
                continue;
            }
        };
        load.commands.fetch_add(1, Ordering::Relaxed);
        let mut session: Option<SessionId> = None;
        let mut agent: Option<AgentId> = None;
        for e in &events {
            match &e.kind {
                EventKind::SessionStarted { session: s, .. } => session = Some(*s),
                EventKind::SessionAssigned {
                    session: s,
                    agent: a,
                    ..
                } => {
                    session = Some(*s);
                    agent = Some(*a);
                }
                _ => {}
            }
        }
        let Some(session) = session else { continue };
        let reply = |agent, text: &str| Command::AgentMessage {
            session,
            agent,
            text: text.to_owned(),
        };
        let script = match agent {
            Some(agent) => vec![
                reply(agent, "Olá! Vou verificar, um momento."),
                message("Obrigado"),
                reply(agent, "Pronto, resolvido."),
                Command::Finish {
                    session,
                    by: Actor::Agent(agent),
                    wrapup: None,
                },
            ],
            None => vec![Command::Finish {
                session,
                by: Actor::Customer,
                wrapup: None,
            }],
        };
        for command in script {
            match engine.execute(command).await {
                Ok(_) => {
                    load.commands.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => refuse(&load, &error),
            }
        }
    }
}

fn refuse(load: &Load, error: &EngineError) {
    if load.refused.fetch_add(1, Ordering::Relaxed) < 5 {
        eprintln!("refused: {error}");
    }
}

/// Where reports go: `$MIRANTE_BENCH_OUT` or `<workspace>/bench-out`.
pub fn out_dir() -> PathBuf {
    let dir = std::env::var_os("MIRANTE_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("bench-out"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// What machine this ran on.
pub fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
                    / 1024
                    / 1024
            })
        })
        .unwrap_or(0);
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "memory_gib": mem,
        "os": std::env::consts::OS,
        "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
    })
}
