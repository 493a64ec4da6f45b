//! Given/when/then for the core: a [`Scenario`] builds a contact center from commands (or
//! events), runs one command under test and checks what it decided — the events, or the error
//! and that nothing changed. Shared by the rule tests and the property tests.

#![allow(dead_code)]

use mirante_core::flow::FlowDef;
use mirante_core::{
    Actor, AgentId, AgentState, BulkAction, BulkCommand, BulkOutcome, ChannelId, ChannelKind,
    Command, Core, DistributionMode, DomainError, Event, EventKind, FinishReason, FlowId, Outcome,
    PauseReasonId, Phase, Session, SessionId, SupervisorId, Target, TeamId, TeamSettings,
    Timestamp,
};
use std::collections::BTreeSet;

/// 2026-11-23T12:00:00Z (09:00 in São Paulo): the start of every scenario.
pub const T0: i64 = 1_795_435_200_000;

/// `T0` plus `secs` seconds.
pub fn t(secs: i64) -> Timestamp {
    Timestamp(T0 + secs * 1000)
}

/// The supervisor of every scenario.
pub const SUP: Actor = Actor::Supervisor(SupervisorId(1));

/// A contact center under test: the core, the clock, every event so far, and the outcome of
/// the last command run with [`Scenario::when`].
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The core.
    pub core: Core,
    /// The clock: commands run at this time unless told otherwise.
    pub now: Timestamp,
    /// Every event decided so far, in order (the log).
    pub log: Vec<Event>,
    before: Option<Core>,
    last: Option<Result<Vec<Event>, DomainError>>,
    flows: u32,
}

impl Default for Scenario {
    fn default() -> Self {
        Self::new()
    }
}

/// Building a scenario from a list of commands or events at given times.
pub struct Given;

impl Given {
    /// A scenario after `commands`, each at its time (every one must succeed).
    pub fn commands(commands: impl IntoIterator<Item = (Command, Timestamp)>) -> Scenario {
        let mut s = Scenario::new();
        for (cmd, at) in commands {
            s.now = at;
            s.run(cmd);
        }
        s
    }

    /// A scenario whose core is rebuilt from `events` (replay).
    pub fn events(events: impl IntoIterator<Item = Event>) -> Scenario {
        let mut s = Scenario::new();
        for e in events {
            s.now = s.now.max(e.at);
            s.core.apply(&e);
            s.log.push(e);
        }
        s
    }
}

impl Scenario {
    /// An empty contact center at `T0`.
    pub fn new() -> Scenario {
        Scenario {
            core: Core::new(),
            now: t(0),
            log: Vec::new(),
            before: None,
            last: None,
            flows: 0,
        }
    }

    // ---- the clock ---------------------------------------------------------------------

    /// Moves the clock to `at` (never back).
    pub fn at(&mut self, at: Timestamp) -> &mut Self {
        assert!(at >= self.now, "the test clock never goes back");
        self.now = at;
        self
    }

    /// Moves the clock forward by `secs` seconds.
    pub fn advance(&mut self, secs: i64) -> &mut Self {
        self.now = self.now.plus_ms(secs * 1000);
        self
    }

    /// Runs the timers due now and returns their events.
    pub fn tick(&mut self) -> Vec<Event> {
        let evs = self.core.tick(self.now);
        self.log.extend(evs.iter().cloned());
        evs
    }

    /// Moves the clock to `at` and runs the timers.
    pub fn tick_at(&mut self, at: Timestamp) -> Vec<Event> {
        self.at(at);
        self.tick()
    }

    // ---- given: commands that must succeed ------------------------------------------------

    /// Runs `cmd` now; panics if it is refused (a "given", not the command under test).
    pub fn run(&mut self, cmd: Command) -> Vec<Event> {
        let evs = self
            .core
            .execute(cmd.clone(), self.now)
            .unwrap_or_else(|e| panic!("given command {cmd:?} refused: {} ({e})", e.code()));
        self.log.extend(evs.iter().cloned());
        evs
    }

    /// Creates a team.
    pub fn team(&mut self, name: &str, settings: TeamSettings) -> TeamId {
        let evs = self.run(Command::CreateTeam {
            name: name.into(),
            settings,
        });
        match &evs[0].kind {
            EventKind::TeamCreated { team } => team.id,
            other => panic!("expected TeamCreated, got {other:?}"),
        }
    }

    /// Creates a team with default settings (*menos atendimentos*).
    pub fn team_default(&mut self, name: &str) -> TeamId {
        self.team(name, TeamSettings::default())
    }

    /// Creates a team with a distribution mode.
    pub fn team_mode(&mut self, name: &str, mode: DistributionMode) -> TeamId {
        self.team(
            name,
            TeamSettings {
                mode,
                ..TeamSettings::default()
            },
        )
    }

    /// Creates a flow from its JSON.
    pub fn flow(&mut self, json: serde_json::Value) -> FlowId {
        let def: FlowDef = serde_json::from_value(json).expect("flow JSON");
        let evs = self.run(Command::CreateFlow { def });
        match &evs[0].kind {
            EventKind::FlowCreated { flow } => flow.id,
            other => panic!("expected FlowCreated, got {other:?}"),
        }
    }

    /// A flow that sends every new session straight to `team`'s queue.
    pub fn flow_to(&mut self, team: TeamId) -> FlowId {
        self.flows += 1;
        let name = format!("Direto {} #{}", team, self.flows);
        self.flow(route_flow_json(&name, team))
    }

    /// Creates a channel with a flow.
    pub fn channel(&mut self, kind: ChannelKind, name: &str, flow: FlowId) -> ChannelId {
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

    /// A WhatsApp channel whose flow routes every session to `team`.
    pub fn channel_to(&mut self, team: TeamId) -> ChannelId {
        let flow = self.flow_to(team);
        let name = format!("WhatsApp {}", self.flows);
        self.channel(ChannelKind::Whatsapp, &name, flow)
    }

    /// Creates an agent in `teams` with `capacity` (logged out).
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

    /// Creates an agent and logs it in.
    pub fn online_agent(&mut self, name: &str, teams: &[TeamId], capacity: u32) -> AgentId {
        let a = self.agent(name, teams, capacity);
        self.login(a);
        a
    }

    /// Creates a pause reason.
    pub fn pause_reason(&mut self, name: &str) -> PauseReasonId {
        let evs = self.run(Command::CreatePauseReason {
            name: name.into(),
            max_duration_ms: None,
        });
        match &evs[0].kind {
            EventKind::PauseReasonCreated { reason } => reason.id,
            other => panic!("expected PauseReasonCreated, got {other:?}"),
        }
    }

    /// The agent logs in.
    pub fn login(&mut self, agent: AgentId) -> Vec<Event> {
        self.run(Command::AgentLogin { agent })
    }

    /// The agent pauses itself.
    pub fn pause(&mut self, agent: AgentId, reason: PauseReasonId) -> Vec<Event> {
        self.run(Command::AgentPause {
            agent,
            reason,
            by: Actor::Agent(agent),
        })
    }

    /// The agent ends its pause.
    pub fn resume(&mut self, agent: AgentId) -> Vec<Event> {
        self.run(Command::AgentResume {
            agent,
            by: Actor::Agent(agent),
        })
    }

    /// A customer writes on a channel; returns the contact's open session there (or the one
    /// the message finished, when the bot resolved it).
    pub fn customer(&mut self, channel: ChannelId, identifier: &str, text: &str) -> SessionId {
        let evs = self.run(customer_msg(channel, identifier, text));
        evs.iter()
            .find_map(|e| match &e.kind {
                EventKind::MessagePosted { session, .. } => Some(*session),
                _ => None,
            })
            .expect("a customer message posts a message")
    }

    /// `n` customers (`5511900000001`…) write `text` on `channel`; their sessions in order.
    pub fn customers(&mut self, channel: ChannelId, n: usize, text: &str) -> Vec<SessionId> {
        (1..=n)
            .map(|i| self.customer(channel, &format!("55119{i:08}"), text))
            .collect()
    }

    /// The agent finishes its session (with an optional wrap-up code).
    pub fn finish_by(&mut self, session: SessionId, agent: AgentId, wrapup: Option<&str>) {
        self.run(Command::Finish {
            session,
            by: Actor::Agent(agent),
            wrapup: wrapup.map(str::to_string),
        });
    }

    // ---- when ----------------------------------------------------------------------------

    /// Runs the command under test now, remembering the state before it.
    pub fn when(&mut self, cmd: Command) -> &mut Self {
        self.before = Some(self.core.clone());
        let res = self.core.execute(cmd, self.now);
        if let Ok(evs) = &res {
            self.log.extend(evs.iter().cloned());
        }
        self.last = Some(res);
        self
    }

    /// Runs the command under test at `at`.
    pub fn when_at(&mut self, cmd: Command, at: Timestamp) -> &mut Self {
        self.at(at);
        self.when(cmd)
    }

    /// Runs a bulk command under test now.
    pub fn when_bulk(&mut self, cmd: BulkCommand) -> Result<BulkOutcome, DomainError> {
        self.before = Some(self.core.clone());
        let res = self.core.execute_bulk(cmd, self.now);
        if let Ok(out) = &res {
            self.log.extend(out.events.iter().cloned());
        }
        res
    }

    // ---- then ----------------------------------------------------------------------------

    /// The events of the command under test (panics if it was refused).
    pub fn then_ok(&self) -> Vec<Event> {
        match self
            .last
            .as_ref()
            .expect("no command under test (call `when` first)")
        {
            Ok(evs) => {
                assert!(
                    evs.iter().all(|e| e.at == self.now),
                    "every event carries the command's time"
                );
                evs.clone()
            }
            Err(e) => panic!("expected success, got {} ({e})", e.code()),
        }
    }

    /// The command under test decided exactly these events, in order.
    pub fn then_events(&self, expected: &[EventKind]) -> &Self {
        let got: Vec<EventKind> = self.then_ok().into_iter().map(|e| e.kind).collect();
        assert_eq!(got, expected, "events decided");
        self
    }

    /// The command under test was refused with `code`, and nothing changed.
    pub fn then_error(&self, code: &str) -> DomainError {
        let err = match self
            .last
            .as_ref()
            .expect("no command under test (call `when` first)")
        {
            Ok(evs) => panic!("expected error {code}, got events {evs:#?}"),
            Err(e) => e.clone(),
        };
        assert_eq!(err.code(), code, "error code ({err})");
        self.then_unchanged();
        err
    }

    /// The state is the one before the command under test.
    pub fn then_unchanged(&self) {
        let before = self.before.as_ref().expect("no command under test");
        assert!(*before == self.core, "a refused command changed the state");
        assert_eq!(before.stats(), self.core.stats());
        assert_eq!(before.next_deadline(), self.core.next_deadline());
    }

    // ---- reading the state ------------------------------------------------------------------

    /// The open session (panics when finished).
    pub fn session(&self, id: SessionId) -> &Session {
        self.core
            .state()
            .sessions
            .get(&id)
            .unwrap_or_else(|| panic!("session {id} is not open"))
    }

    /// The phase of a session; `None` once finished.
    pub fn phase(&self, id: SessionId) -> Option<Phase> {
        self.core.state().sessions.get(&id).map(|s| s.phase)
    }

    /// The agent's live state.
    pub fn agent_state(&self, id: AgentId) -> &AgentState {
        &self.core.state().agents[&id]
    }

    /// The agent's open sessions.
    pub fn load(&self, id: AgentId) -> Vec<SessionId> {
        self.agent_state(id).sessions.iter().copied().collect()
    }

    /// The team's queue, front first.
    pub fn queue(&self, team: TeamId) -> Vec<SessionId> {
        self.core.state().teams[&team]
            .queue
            .iter()
            .copied()
            .collect()
    }

    /// The agent a session is with, if any.
    pub fn agent_of(&self, id: SessionId) -> Option<AgentId> {
        self.session(id).agent
    }

    /// How a session finished, from the log: reason, outcome, wrap-up code.
    pub fn finished(&self, id: SessionId) -> (FinishReason, Outcome, Option<String>) {
        self.log
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::SessionFinished {
                    session,
                    reason,
                    outcome,
                    wrapup,
                    ..
                } if *session == id => Some((*reason, *outcome, wrapup.clone())),
                _ => None,
            })
            .unwrap_or_else(|| panic!("session {id} never finished"))
    }

    /// The texts of the messages posted in a session, with their authors, from the log.
    pub fn transcript(&self, id: SessionId) -> Vec<(mirante_core::Author, String)> {
        self.log
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::MessagePosted {
                    session,
                    author,
                    text,
                    ..
                } if *session == id => Some((*author, text.clone())),
                _ => None,
            })
            .collect()
    }

    /// Replays the whole log from an empty core.
    pub fn replayed(&self) -> Core {
        let mut c = Core::new();
        for e in &self.log {
            c.apply(e);
        }
        c
    }
}

// ---- commands and flows ----------------------------------------------------------------

/// A customer message.
pub fn customer_msg(channel: ChannelId, identifier: &str, text: &str) -> Command {
    Command::CustomerMessage {
        channel,
        identifier: identifier.into(),
        name: None,
        text: text.into(),
        attachments: Vec::new(),
        external_id: None,
    }
}

/// A supervisor transfer.
pub fn transfer(session: SessionId, to: Target) -> Command {
    Command::Transfer {
        session,
        to,
        by: SUP,
    }
}

/// A supervisor finish.
pub fn sup_finish(session: SessionId) -> Command {
    Command::Finish {
        session,
        by: SUP,
        wrapup: None,
    }
}

/// A bulk command by a supervisor.
pub fn bulk(sessions: &[SessionId], action: BulkAction) -> BulkCommand {
    BulkCommand {
        sessions: sessions.to_vec(),
        action,
        by: SUP,
    }
}

/// A flow that routes straight to `team`.
pub fn route_flow_json(name: &str, team: TeamId) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "start": "rota",
        "steps": { "rota": { "kind": "route", "team": team.0 } }
    })
}

/// A menu: `1` → `t1`, `2` → `t2`, `3` → finish (bot resolved), `4` → collect a CPF → `t1`.
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

/// The set of sessions waiting in any queue.
pub fn all_queued(core: &Core) -> BTreeSet<SessionId> {
    core.state()
        .teams
        .values()
        .flat_map(|t| t.queue.iter().copied())
        .collect()
}
