//! Given/when/then support: a real `mirante_core::Core` driven by commands, with a monitor
//! fed every event it decides (in log order, with dense sequence numbers).

use crate::{Changes, Filter, Monitor, MonitorView, Visibility};
use mirante_core::flow::FlowDef;
use mirante_core::{
    Actor, AgentId, ChannelId, ChannelKind, Command, Core, Event, EventKind, PauseReasonId,
    SessionId, SupervisorId, Target, TeamId, TeamSettings, Timestamp,
};
use std::collections::BTreeSet;

/// 2026-11-23T12:00:00Z (09:00 in São Paulo).
pub const T0: i64 = 1_795_435_200_000;

/// `T0` plus `secs` seconds.
pub fn t(secs: i64) -> Timestamp {
    Timestamp(T0 + secs * 1000)
}

/// The supervisor of every scenario.
pub const SUP: Actor = Actor::Supervisor(SupervisorId(1));

/// A core and the monitor it feeds.
pub struct World {
    pub core: Core,
    pub monitor: Monitor,
    pub now: Timestamp,
    pub log: Vec<Event>,
    pub last: Changes,
    flows: u32,
}

impl World {
    pub fn new() -> World {
        World {
            core: Core::new(),
            monitor: Monitor::new(),
            now: t(0),
            log: Vec::new(),
            last: Changes::default(),
            flows: 0,
        }
    }

    /// Feeds events to the monitor; remembers the merged changes.
    pub fn feed(&mut self, events: Vec<Event>) -> Vec<Event> {
        let mut changes = Changes::default();
        for e in &events {
            let seq = self.log.len() as u64 + 1;
            changes.merge(self.monitor.apply(seq, e));
            self.log.push(e.clone());
        }
        self.last = changes;
        events
    }

    /// Runs a command that must succeed.
    pub fn run(&mut self, cmd: Command) -> Vec<Event> {
        let evs = self
            .core
            .execute(cmd.clone(), self.now)
            .unwrap_or_else(|e| panic!("command {cmd:?} refused: {e}"));
        self.feed(evs)
    }

    pub fn advance(&mut self, secs: i64) -> &mut Self {
        self.now = self.now.plus_ms(secs * 1000);
        self
    }

    pub fn team(&mut self, name: &str) -> TeamId {
        self.team_with(name, TeamSettings::default())
    }

    pub fn team_with(&mut self, name: &str, settings: TeamSettings) -> TeamId {
        let evs = self.run(Command::CreateTeam {
            name: name.into(),
            settings,
        });
        match &evs[0].kind {
            EventKind::TeamCreated { team } => team.id,
            other => panic!("expected TeamCreated, got {other:?}"),
        }
    }

    pub fn flow(&mut self, json: serde_json::Value) -> mirante_core::FlowId {
        let def: FlowDef = serde_json::from_value(json).expect("flow JSON");
        let evs = self.run(Command::CreateFlow { def });
        match &evs[0].kind {
            EventKind::FlowCreated { flow } => flow.id,
            other => panic!("expected FlowCreated, got {other:?}"),
        }
    }

    pub fn channel(
        &mut self,
        kind: ChannelKind,
        name: &str,
        flow: mirante_core::FlowId,
    ) -> ChannelId {
        let evs = self.run(Command::CreateChannel {
            kind,
            name: name.into(),
            flow: Some(flow),
        });
        match &evs[0].kind {
            EventKind::ChannelCreated { channel } => channel.id,
            other => panic!("expected ChannelCreated, got {other:?}"),
        }
    }

    /// A channel whose bot routes every new session straight to `team`.
    pub fn channel_to(&mut self, kind: ChannelKind, team: TeamId) -> ChannelId {
        self.flows += 1;
        let name = format!("Direto {} #{}", team, self.flows);
        let flow = self.flow(route_flow_json(&name, team));
        self.channel(kind, &format!("Canal {}", self.flows), flow)
    }

    /// A channel whose bot shows a menu (1 → t1, 2 → t2, 3 → finish, 4 → collect a CPF).
    pub fn channel_menu(&mut self, kind: ChannelKind, t1: TeamId, t2: TeamId) -> ChannelId {
        self.flows += 1;
        let name = format!("Menu #{}", self.flows);
        let flow = self.flow(menu_flow_json(&name, t1, t2));
        self.channel(kind, &format!("Canal {}", self.flows), flow)
    }

    pub fn agent(&mut self, name: &str, teams: &[TeamId], capacity: u32) -> AgentId {
        let email = format!("{}@mirante.test", name.to_lowercase().replace(' ', "."));
        let evs = self.run(Command::CreateAgent {
            name: name.into(),
            nickname: None,
            email,
            teams: teams.iter().copied().collect(),
            capacity: Some(capacity),
        });
        match &evs[0].kind {
            EventKind::AgentCreated { agent } => agent.id,
            other => panic!("expected AgentCreated, got {other:?}"),
        }
    }

    pub fn online_agent(&mut self, name: &str, teams: &[TeamId], capacity: u32) -> AgentId {
        let a = self.agent(name, teams, capacity);
        self.login(a);
        a
    }

    pub fn login(&mut self, agent: AgentId) -> Vec<Event> {
        self.run(Command::AgentLogin { agent })
    }

    pub fn pause_reason(&mut self, name: &str, max_ms: Option<i64>) -> PauseReasonId {
        let evs = self.run(Command::CreatePauseReason {
            name: name.into(),
            max_duration_ms: max_ms,
        });
        match &evs[0].kind {
            EventKind::PauseReasonCreated { reason } => reason.id,
            other => panic!("expected PauseReasonCreated, got {other:?}"),
        }
    }

    pub fn pause(&mut self, agent: AgentId, reason: PauseReasonId) -> Vec<Event> {
        self.run(Command::AgentPause {
            agent,
            reason,
            by: Actor::Agent(agent),
        })
    }

    /// A customer writes; returns the session it is in.
    pub fn customer_named(
        &mut self,
        channel: ChannelId,
        identifier: &str,
        name: Option<&str>,
        text: &str,
    ) -> SessionId {
        let evs = self.run(Command::CustomerMessage {
            channel,
            identifier: identifier.into(),
            name: name.map(str::to_string),
            text: text.into(),
            attachments: Vec::new(),
            external_id: None,
        });
        evs.iter()
            .find_map(|e| match &e.kind {
                EventKind::SessionStarted { session, .. } => Some(*session),
                EventKind::MessagePosted { session, .. } => Some(*session),
                _ => None,
            })
            .expect("a session")
    }

    pub fn customer(&mut self, channel: ChannelId, identifier: &str) -> SessionId {
        self.customer_named(channel, identifier, None, "oi")
    }

    pub fn transfer(&mut self, session: SessionId, to: Target) -> Vec<Event> {
        self.run(Command::Transfer {
            session,
            to,
            by: SUP,
        })
    }

    pub fn finish(&mut self, session: SessionId) -> Vec<Event> {
        self.run(Command::Finish {
            session,
            by: SUP,
            wrapup: None,
        })
    }

    pub fn logout(&mut self, agent: AgentId) -> Vec<Event> {
        self.run(Command::AgentLogout { agent, by: SUP })
    }

    /// The screen, unfiltered, for a supervisor who sees everything.
    pub fn view(&self) -> MonitorView<'_> {
        self.monitor
            .view(&Filter::default(), &Visibility::all(), self.now)
    }

    pub fn view_with(&self, filter: &Filter, vis: &Visibility) -> MonitorView<'_> {
        self.monitor.view(filter, vis, self.now)
    }

    /// The monitor equals one rebuilt from the core's state (the live part).
    pub fn assert_matches_rebuilt(&self) {
        let rebuilt = Monitor::from_state(self.core.state(), self.monitor.seq());
        assert_eq!(self.monitor.live, rebuilt.live);
    }
}

/// Ids of a list of rows.
pub fn ids(rows: &[crate::SessionView<'_>]) -> Vec<SessionId> {
    rows.iter().map(|r| r.id).collect()
}

pub fn set<T: Ord + Copy>(items: &[T]) -> BTreeSet<T> {
    items.iter().copied().collect()
}

pub fn route_flow_json(name: &str, team: TeamId) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "start": "rota",
        "steps": { "rota": { "kind": "route", "team": team.0 } }
    })
}

pub fn menu_flow_json(name: &str, t1: TeamId, t2: TeamId) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "start": "menu",
        "steps": {
            "menu": {
                "kind": "menu",
                "text": "Olá! Como posso ajudar?",
                "options": [
                    { "key": "1", "label": "Vendas", "synonyms": ["comprar"], "next": "vendas" },
                    { "key": "2", "label": "Suporte", "synonyms": ["ajuda"], "next": "suporte" },
                    { "key": "3", "label": "Encerrar", "next": "fim" },
                    { "key": "4", "label": "Segunda via", "next": "cpf" }
                ],
                "invalid_text": "Não entendi."
            },
            "vendas": { "kind": "route", "team": t1.0, "text": "Vou chamar um vendedor." },
            "suporte": { "kind": "route", "team": t2.0 },
            "fim": { "kind": "finish", "text": "Até logo!" },
            "cpf": { "kind": "collect", "text": "Qual é o seu CPF?", "field": "cpf", "format": "digits", "next": "vendas" }
        }
    })
}
