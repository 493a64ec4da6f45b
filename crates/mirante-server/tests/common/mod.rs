//! Helpers shared by the server's integration tests: commands as JSON (the wire shape) and
//! a small contact center set up through the engine.
#![allow(dead_code, clippy::unwrap_used)]

use mirante_core::{AgentId, ChannelId, Command, EventKind, FlowId, TeamId};
use mirante_server::engine::{EngineHandle, Executed};
use serde_json::{Value, json};

/// A command from its JSON wire shape.
pub fn cmd(value: Value) -> Command {
    serde_json::from_value(value).unwrap()
}

/// A contact center with one team, one direct-routing channel and online agents.
#[derive(Debug, Clone)]
pub struct Center {
    pub team: TeamId,
    pub flow: FlowId,
    pub channel: ChannelId,
    pub agents: Vec<AgentId>,
}

/// Executes a command that must succeed.
pub async fn ok(engine: &EngineHandle, command: Value) -> Executed {
    let text = command.to_string();
    match engine.execute(cmd(command)).await {
        Ok(executed) => executed,
        Err(error) => panic!("{text} failed: {error}"),
    }
}

/// Sets up a team with `team_settings`, a flow routing straight to it, a web chat channel
/// and `agents` agents logged in.
pub async fn center(engine: &EngineHandle, team_settings: Value, agents: usize) -> Center {
    let created = ok(
        engine,
        json!({"type": "create_team", "name": "Suporte", "settings": team_settings}),
    )
    .await;
    let team = created
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::TeamCreated { team } => Some(team.id),
            _ => None,
        })
        .unwrap();
    let created = ok(
        engine,
        json!({"type": "create_flow", "def": {"name": "direto", "start": "r",
               "steps": {"r": {"kind": "route", "team": team}}}}),
    )
    .await;
    let flow = created
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::FlowCreated { flow } => Some(flow.id),
            _ => None,
        })
        .unwrap();
    let created = ok(
        engine,
        json!({"type": "create_channel", "kind": "webchat", "name": "Chat", "flow": flow}),
    )
    .await;
    let channel = created
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ChannelCreated { channel } => Some(channel.id),
            _ => None,
        })
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..agents {
        let created = ok(
            engine,
            json!({"type": "create_agent", "name": format!("Agente {i}"),
                   "email": format!("agente{i}@example.com"), "teams": [team]}),
        )
        .await;
        let agent = created
            .events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::AgentCreated { agent } => Some(agent.id),
                _ => None,
            })
            .unwrap();
        ok(engine, json!({"type": "agent_login", "agent": agent})).await;
        ids.push(agent);
    }
    Center {
        team,
        flow,
        channel,
        agents: ids,
    }
}

/// A customer writes; returns the events.
pub async fn customer_message(
    engine: &EngineHandle,
    center: &Center,
    who: &str,
    text: &str,
) -> Executed {
    ok(
        engine,
        json!({"type": "customer_message", "channel": center.channel, "identifier": who, "text": text}),
    )
    .await
}

/// Some traffic: customers write, get assigned, agents answer and finish.
pub async fn traffic(engine: &EngineHandle, center: &Center, customers: usize) {
    for c in 0..customers {
        let who = format!("5511900000{c:03}");
        let executed = customer_message(engine, center, &who, "olá").await;
        let assigned = executed.events.iter().find_map(|e| match &e.kind {
            EventKind::SessionAssigned { session, agent, .. } => Some((*session, *agent)),
            _ => None,
        });
        if let Some((session, agent)) = assigned {
            ok(
                engine,
                json!({"type": "agent_message", "session": session, "agent": agent, "text": "oi"}),
            )
            .await;
            if c % 2 == 0 {
                ok(
                    engine,
                    json!({"type": "finish", "session": session, "by": {"agent": agent}}),
                )
                .await;
            }
        }
    }
}
