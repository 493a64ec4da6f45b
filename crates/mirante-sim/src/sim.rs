//! The simulation: customers and agents acting on the contact center through a [`Driver`],
//! in simulated time.
//!
//! Every action is a command a real customer, agent or channel sends. The simulator reacts to
//! the events the driver returns — `SessionStarted`, `BotStepEntered`, `SessionQueued`,
//! `SessionAssigned`, `SessionFinished`, presence changes — and schedules what each person
//! does next on the [`Agenda`]. Before acting, a person checks the [`World`] (the model
//! folded from events) so that an action planned for a state that has since changed (the
//! session was assigned meanwhile, the agent went on a break) is dropped rather than sent to
//! be refused: in a healthy run refusals are rare, and each one is counted by command and
//! code because it reveals a simulator or engine bug.
//!
//! Pacing is the runner's concern: [`Simulation::run_until`] steps as fast as possible;
//! a real-time runner asks [`Simulation::next_action_time`] and calls
//! [`Simulation::step`] when the wall clock (times the speed factor) gets there.

use crate::agenda::Agenda;
use crate::dist::{SimRng, chance, exponential, index, pick, rng_from_seed, unit};
use crate::driver::{Driver, Refusal};
use crate::names;
use crate::scenario::{DAY_MS, Scenario, Shift};
use crate::world::World;
use mirante_core::flow::{FieldFormat, Step};
use mirante_core::{
    Actor, AgentId, Command, Core, Event, EventKind, FinishReason, Outcome, PauseReasonId, Phase,
    Presence, QueueReason, SessionId, Target, Timestamp,
};
use std::collections::{BTreeMap, BTreeSet};

/// Watches the simulation: every event (after the [`World`] folded it) and the end of every
/// command or tick. Used for measurements (waits for Erlang C) and stream hashes.
pub trait Observer {
    /// One event, after the world applied it.
    fn on_event(&mut self, _event: &Event, _world: &World) {}
    /// After all events of one command or tick. `core` is the engine, read-only, when the
    /// driver is in-process.
    fn after_batch(&mut self, _now: Timestamp, _world: &World, _core: Option<&Core>) {}
}

impl Observer for () {}

impl<A: Observer, B: Observer> Observer for (A, B) {
    fn on_event(&mut self, event: &Event, world: &World) {
        self.0.on_event(event, world);
        self.1.on_event(event, world);
    }
    fn after_batch(&mut self, now: Timestamp, world: &World, core: Option<&Core>) {
        self.0.after_batch(now, world, core);
        self.1.after_batch(now, world, core);
    }
}

/// A 64-bit FNV-1a hash of the event stream (each event's JSON), to compare runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventHasher {
    /// The hash so far.
    pub hash: u64,
    /// Events hashed.
    pub count: u64,
}

impl Default for EventHasher {
    fn default() -> Self {
        Self {
            hash: 0xcbf2_9ce4_8422_2325,
            count: 0,
        }
    }
}

impl Observer for EventHasher {
    fn on_event(&mut self, event: &Event, _world: &World) {
        let bytes = serde_json::to_vec(event).unwrap_or_else(|e| e.to_string().into_bytes());
        for b in bytes {
            self.hash ^= u64::from(b);
            self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.count += 1;
    }
}

/// Why the simulation could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// A configuration command was refused.
    #[error("setup command `{command}` refused: {code} ({message})")]
    SetupRefused {
        /// Command kind.
        command: &'static str,
        /// Refusal code.
        code: String,
        /// Refusal text.
        message: String,
    },
    /// The engine allocated another id than the scenario predicted (not a fresh engine?).
    #[error("setup: {what} created with id {got}, expected {expected} (is the engine fresh?)")]
    UnexpectedId {
        /// What was created.
        what: &'static str,
        /// Predicted id.
        expected: u64,
        /// Allocated id.
        got: u64,
    },
    /// `setup` was called twice.
    #[error("setup already done")]
    AlreadySetUp,
}

/// Counts of what happened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimStats {
    /// Commands sent (setup excluded).
    pub commands: u64,
    /// Commands refused.
    pub refused: u64,
    /// Refusals by (command kind, code).
    pub refusals: BTreeMap<(String, String), u64>,
    /// The first refusals in full, for diagnosis.
    pub refusal_samples: Vec<String>,
    /// Events received.
    pub events: u64,
    /// Ticks with at least one event.
    pub ticks: u64,
    /// Arrivals (first messages of a new session).
    pub arrivals: u64,
    /// Of which by returning contacts.
    pub returning: u64,
    /// Sessions started.
    pub sessions_started: u64,
    /// Bot answers that were not understood.
    pub bot_invalid: u64,
    /// Customers who went silent in the bot.
    pub bot_silent: u64,
    /// Sessions routed by the bot to a team queue.
    pub routed: u64,
    /// Sessions that reached a first agent.
    pub first_assignments: u64,
    /// Of which after a wait > 0.
    pub waited: u64,
    /// Sum of the waits until the first agent, in ms.
    pub wait_ms_total: i64,
    /// Longest wait until the first agent, in ms.
    pub wait_ms_max: i64,
    /// Sessions finished, by reason (`by_agent`, `by_customer`, …).
    pub finished: BTreeMap<String, u64>,
    /// Finished by their agent.
    pub served: u64,
    /// Resolved by the bot.
    pub bot_resolved: u64,
    /// Left by the customer while waiting for a first agent.
    pub abandoned: u64,
    /// Finished as lost (inactivity, no agent).
    pub lost: u64,
    /// Transfers.
    pub transfers: u64,
    /// Log-ins.
    pub logins: u64,
    /// Log-outs.
    pub logouts: u64,
    /// Pauses.
    pub pauses: u64,
    /// Batches after which a team had a waiting session and an available member.
    pub work_conservation_violations: u64,
    /// Assignments by distribution of a session that was not its queue's head.
    pub fifo_violations: u64,
    /// Batches after which the event-folded world disagreed with the engine's state.
    pub mirror_mismatches: u64,
}

impl SimStats {
    /// Refused commands over commands sent.
    pub fn refusal_rate(&self) -> f64 {
        if self.commands == 0 {
            0.0
        } else {
            self.refused as f64 / self.commands as f64
        }
    }

    /// Mean wait until the first agent, in ms.
    pub fn mean_wait_ms(&self) -> f64 {
        if self.first_assignments == 0 {
            0.0
        } else {
            self.wait_ms_total as f64 / self.first_assignments as f64
        }
    }
}

/// A person's next move.
#[derive(Debug, Clone, PartialEq)]
enum Action {
    /// A candidate arrival on a channel (thinning of the daily curve).
    Arrival { channel: usize },
    /// The customer answers the bot step it was at.
    BotAnswer { session: SessionId, epoch: u32 },
    /// The customer gives up waiting.
    Abandon { session: SessionId },
    /// The customer writes while waiting.
    Nudge { session: SessionId, epoch: u32 },
    /// The customer writes while served.
    CustomerReply { session: SessionId, epoch: u32 },
    /// The agent writes.
    AgentReply {
        session: SessionId,
        agent: AgentId,
        epoch: u32,
        first: bool,
    },
    /// The agent is done: finishes (with a wrap-up code) or transfers.
    AgentDone {
        session: SessionId,
        agent: AgentId,
        epoch: u32,
    },
    /// An agent logs in for a shift ending at `until` (never for `None`).
    Login {
        agent: usize,
        until: Option<Timestamp>,
    },
    /// End of an agent's shift.
    ShiftEnd { agent: usize },
    /// A planned break starts.
    PauseStart { agent: usize, plan: usize },
    /// A break ends.
    PauseEnd { agent: usize, reason: PauseReasonId },
    /// A draining agent with no session left logs out.
    Logout { agent: usize },
}

#[derive(Debug, Clone)]
struct Customer {
    channel: usize,
    name: String,
    identifier: String,
    session: Option<SessionId>,
}

#[derive(Debug, Clone)]
struct Track {
    customer: usize,
    abandon_planned: bool,
    served_once: bool,
    service_end: Timestamp,
}

#[derive(Debug, Clone, Default)]
struct AgentSim {
    shift_start: Option<Timestamp>,
}

const MAX_SAMPLES: usize = 20;

/// The simulation of one scenario on one driver, observed by `O`.
#[derive(Debug)]
pub struct Simulation<D: Driver, O: Observer = ()> {
    scenario: Scenario,
    driver: D,
    observer: O,
    rng: SimRng,
    agenda: Agenda<Action>,
    now: Timestamp,
    ticked_at: Option<Timestamp>,
    world: World,
    customers: Vec<Customer>,
    idle: Vec<Vec<usize>>,
    tracks: BTreeMap<SessionId, Track>,
    agents: Vec<AgentSim>,
    draining: BTreeSet<usize>,
    stats: SimStats,
    check_invariants: bool,
    check_against_core: bool,
    set_up: bool,
}

impl<D: Driver> Simulation<D, ()> {
    /// A simulation of `scenario` on `driver`, deterministic for `seed`.
    pub fn new(scenario: Scenario, driver: D, seed: u64) -> Self {
        Simulation::with_observer(scenario, driver, seed, ())
    }
}

impl<D: Driver, O: Observer> Simulation<D, O> {
    /// A simulation watched by `observer`.
    pub fn with_observer(scenario: Scenario, driver: D, seed: u64, observer: O) -> Self {
        let channels = scenario.channels.len();
        let agents = vec![AgentSim::default(); scenario.agents.len()];
        Simulation {
            now: scenario.start,
            scenario,
            driver,
            observer,
            rng: rng_from_seed(seed),
            agenda: Agenda::new(),
            ticked_at: None,
            world: World::new(),
            customers: Vec::new(),
            idle: vec![Vec::new(); channels],
            tracks: BTreeMap::new(),
            agents,
            draining: BTreeSet::new(),
            stats: SimStats::default(),
            check_invariants: true,
            check_against_core: false,
            set_up: false,
        }
    }

    /// Checks work conservation and FIFO after every command and tick (on by default; the
    /// cost is one pass over the teams' members per batch).
    pub fn check_invariants(mut self, on: bool) -> Self {
        self.check_invariants = on;
        self
    }

    /// Also compares the event-folded world with the engine's state after every batch (when
    /// the driver exposes the engine; costs a pass over all queues and agents).
    pub fn check_against_core(mut self, on: bool) -> Self {
        self.check_against_core = on;
        self
    }

    /// Sends the scenario's configuration commands at its start time, checks the ids, and
    /// schedules the first arrivals and log-ins.
    pub fn setup(&mut self) -> Result<(), SimError> {
        if self.set_up {
            return Err(SimError::AlreadySetUp);
        }
        for cmd in self.scenario.setup_commands() {
            let kind = command_kind(&cmd);
            let events =
                self.driver
                    .execute(cmd, self.now)
                    .map_err(|e| SimError::SetupRefused {
                        command: kind,
                        code: e.code().to_string(),
                        message: e.to_string(),
                    })?;
            for e in &events {
                check_predicted_id(&self.scenario, &self.world, e)?;
                self.world.apply(e);
                self.observer.on_event(e, &self.world);
            }
            self.stats.events += events.len() as u64;
            self.observer
                .after_batch(self.now, &self.world, self.driver.core());
        }
        self.set_up = true;
        for ch in 0..self.scenario.channels.len() {
            self.schedule_arrival(ch);
        }
        for i in 0..self.scenario.agents.len() {
            self.schedule_first_login(i);
        }
        Ok(())
    }

    /// Continues a contact center configured by an earlier run (a second `mirante demo` on
    /// the same data): folds `config` — events describing the existing configuration, e.g.
    /// `ChannelCreated`/`TeamCreated`/… rebuilt from the engine's state — into the world
    /// instead of sending the setup commands (checking that the ids are the scenario's), then
    /// schedules the first arrivals and log-ins as [`Simulation::setup`] does.
    pub fn resume(&mut self, config: &[Event]) -> Result<(), SimError> {
        if self.set_up {
            return Err(SimError::AlreadySetUp);
        }
        for e in config {
            check_predicted_id(&self.scenario, &self.world, e)?;
            self.world.apply(e);
            self.observer.on_event(e, &self.world);
        }
        self.set_up = true;
        for ch in 0..self.scenario.channels.len() {
            self.schedule_arrival(ch);
        }
        for i in 0..self.scenario.agents.len() {
            self.schedule_first_login(i);
        }
        Ok(())
    }

    /// Simulated now.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// When the next thing happens: a person's action or an engine deadline.
    pub fn next_action_time(&self) -> Option<Timestamp> {
        match (self.agenda.next_time(), self.due_deadline()) {
            (Some(a), Some(d)) => Some(a.min(d)),
            (a, d) => a.or(d),
        }
    }

    /// Runs the next thing (one tick or one action) and returns its time; `None` when nothing
    /// is left to do.
    pub fn step(&mut self) -> Option<Timestamp> {
        let t = self.next_action_time()?;
        self.now = self.now.max(t);
        if self.due_deadline().is_some_and(|d| d <= self.now) {
            self.ticked_at = Some(self.now);
            let events = self.driver.tick(self.now);
            if !events.is_empty() {
                self.stats.ticks += 1;
                self.absorb(&events, None);
            }
        } else if let Some((_, action)) = self.agenda.pop_due(self.now) {
            self.run(action);
        }
        Some(t)
    }

    /// Steps as fast as possible through everything due up to `until`, then sets the clock
    /// there.
    pub fn run_until(&mut self, until: Timestamp) {
        while self.next_action_time().is_some_and(|t| t <= until) {
            self.step();
        }
        self.now = self.now.max(until);
    }

    /// What happened so far.
    pub fn stats(&self) -> &SimStats {
        &self.stats
    }

    /// The model folded from the events.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The driver, read-only.
    pub fn driver(&self) -> &D {
        &self.driver
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// The observer, mutably (e.g. to reset a measurement after a warm-up).
    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    /// The driver and the observer back.
    pub fn into_parts(self) -> (D, O) {
        (self.driver, self.observer)
    }

    // ---- the engine's side -------------------------------------------------------------

    /// The driver's next deadline, unless we already ticked at it (a deadline that does not
    /// move after a tick would otherwise spin: it is retried one millisecond later).
    fn due_deadline(&self) -> Option<Timestamp> {
        let d = self.driver.next_deadline()?;
        match self.ticked_at {
            Some(t) if d <= t => Some(t.plus_ms(1)),
            _ => Some(d),
        }
    }

    /// Sends one command on behalf of a customer (`ctx`) or an agent.
    fn exec(&mut self, cmd: Command, ctx: Option<usize>) -> bool {
        let kind = command_kind(&cmd);
        self.stats.commands += 1;
        match self.driver.execute(cmd, self.now) {
            Ok(events) => {
                self.absorb(&events, ctx);
                true
            }
            Err(e) => {
                self.stats.refused += 1;
                *self
                    .stats
                    .refusals
                    .entry((kind.to_string(), e.code().to_string()))
                    .or_default() += 1;
                if self.stats.refusal_samples.len() < MAX_SAMPLES {
                    self.stats.refusal_samples.push(format!(
                        "{} {kind}: {} — {e}",
                        self.now.0,
                        e.code()
                    ));
                }
                false
            }
        }
    }

    /// Folds and reacts to the events of one command or tick, then checks the invariants.
    fn absorb(&mut self, events: &[Event], ctx: Option<usize>) {
        self.stats.events += events.len() as u64;
        for e in events {
            let before = match &e.kind {
                EventKind::SessionFinished { session, .. } => {
                    self.world.sessions.get(session).map(|s| s.phase)
                }
                _ => None,
            };
            self.world.apply(e);
            self.observer.on_event(e, &self.world);
            self.react(e, ctx, before);
        }
        self.stats.fifo_violations = self.world.fifo_violations;
        if self.check_invariants
            && let Err(msg) = self.world.check_work_conservation()
        {
            self.stats.work_conservation_violations += 1;
            self.world.note(format!("at {}: {msg}", self.now.0));
        }
        if self.check_against_core
            && let Some(core) = self.driver.core()
            && let Err(msg) = self.world.check_against(core)
        {
            self.stats.mirror_mismatches += 1;
            self.world.note(format!("at {}: {msg}", self.now.0));
        }
        for &a in &self.draining {
            let id = Scenario::agent_id(a);
            if self
                .world
                .agents
                .get(&id)
                .is_some_and(|v| v.sessions.is_empty() && v.presence != Presence::Offline)
            {
                self.agenda.schedule(self.now, Action::Logout { agent: a });
            }
        }
        self.observer
            .after_batch(self.now, &self.world, self.driver.core());
    }

    /// Plans what people do next after one event.
    fn react(&mut self, e: &Event, ctx: Option<usize>, before: Option<Phase>) {
        let now = self.now;
        match &e.kind {
            EventKind::SessionStarted { session, .. } => {
                self.stats.sessions_started += 1;
                if let Some(c) = ctx {
                    if let Some(cust) = self.customers.get_mut(c) {
                        cust.session = Some(*session);
                    }
                    self.tracks.insert(
                        *session,
                        Track {
                            customer: c,
                            abandon_planned: false,
                            served_once: false,
                            service_end: now,
                        },
                    );
                }
            }
            EventKind::BotStepEntered {
                session, invalid, ..
            } => {
                if *invalid {
                    self.stats.bot_invalid += 1;
                }
                let Some(epoch) = self.world.sessions.get(session).map(|s| s.epoch) else {
                    return;
                };
                if chance(&mut self.rng, self.scenario.customers.p_silent_in_bot) {
                    self.stats.bot_silent += 1;
                    return;
                }
                let think = self.scenario.customers.think.sample(&mut self.rng);
                self.agenda.schedule(
                    now.plus_ms(think),
                    Action::BotAnswer {
                        session: *session,
                        epoch,
                    },
                );
            }
            EventKind::SessionQueued {
                session, reason, ..
            } => {
                if *reason == QueueReason::Routed {
                    self.stats.routed += 1;
                }
                let model = &self.scenario.customers;
                let Some(track) = self.tracks.get_mut(session) else {
                    return;
                };
                if track.served_once {
                    return;
                }
                if !track.abandon_planned
                    && let Some(patience) = model.patience
                {
                    track.abandon_planned = true;
                    let p = patience.sample(&mut self.rng);
                    self.agenda
                        .schedule(now.plus_ms(p), Action::Abandon { session: *session });
                }
                if chance(&mut self.rng, model.p_nudge_while_waiting)
                    && let Some(epoch) = self.world.sessions.get(session).map(|s| s.epoch)
                {
                    let after = 60_000 + (unit(&mut self.rng) * 120_000.0) as i64;
                    self.agenda.schedule(
                        now.plus_ms(after),
                        Action::Nudge {
                            session: *session,
                            epoch,
                        },
                    );
                }
            }
            EventKind::SessionAssigned { session, agent, .. } => {
                self.plan_service(*session, *agent);
            }
            EventKind::SessionTransferred { .. } => self.stats.transfers += 1,
            EventKind::SessionFinished {
                session,
                reason,
                outcome,
                ..
            } => {
                *self
                    .stats
                    .finished
                    .entry(reason_name(*reason).to_string())
                    .or_default() += 1;
                match reason {
                    FinishReason::ByAgent => self.stats.served += 1,
                    FinishReason::BotResolved => self.stats.bot_resolved += 1,
                    FinishReason::ByCustomer if before == Some(Phase::Waiting) => {
                        self.stats.abandoned += 1;
                    }
                    _ => {}
                }
                if *outcome == Outcome::Lost {
                    self.stats.lost += 1;
                }
                if let Some(track) = self.tracks.remove(session)
                    && let Some(c) = self.customers.get_mut(track.customer)
                {
                    c.session = None;
                    if let Some(pool) = self.idle.get_mut(c.channel) {
                        pool.push(track.customer);
                    }
                }
            }
            EventKind::AgentLoggedIn { .. } => self.stats.logins += 1,
            EventKind::AgentLoggedOut { .. } => self.stats.logouts += 1,
            EventKind::AgentPaused { .. } => self.stats.pauses += 1,
            _ => {}
        }
    }

    /// A session reached an agent: the agent's handling time, its messages and the
    /// customer's replies.
    fn plan_service(&mut self, session: SessionId, agent: AgentId) {
        let now = self.now;
        let Some(view) = self.world.sessions.get(&session) else {
            return;
        };
        let epoch = view.epoch;
        let wait = view.queued_at.map_or(0, |q| now.since(q));
        let Some(track) = self.tracks.get_mut(&session) else {
            return;
        };
        if !track.served_once {
            track.served_once = true;
            self.stats.first_assignments += 1;
            self.stats.wait_ms_total += wait;
            self.stats.wait_ms_max = self.stats.wait_ms_max.max(wait);
            if wait > 0 {
                self.stats.waited += 1;
            }
        }
        let am = &self.scenario.agent_model;
        let handling = am.handling.sample(&mut self.rng);
        let end = now.plus_ms(handling);
        track.service_end = end;
        self.agenda.schedule(
            end,
            Action::AgentDone {
                session,
                agent,
                epoch,
            },
        );
        if let Some(first) = am.first_reply {
            let at = now.plus_ms(first.sample(&mut self.rng));
            if at < end {
                self.agenda.schedule(
                    at,
                    Action::AgentReply {
                        session,
                        agent,
                        epoch,
                        first: true,
                    },
                );
            }
        }
        let cm = &self.scenario.customers;
        if let Some(reply) = cm.reply
            && !chance(&mut self.rng, cm.p_silent_in_service)
        {
            let at = now.plus_ms(reply.sample(&mut self.rng));
            if at < end {
                self.agenda
                    .schedule(at, Action::CustomerReply { session, epoch });
            }
        }
    }

    // ---- people acting -----------------------------------------------------------------

    fn run(&mut self, action: Action) {
        match action {
            Action::Arrival { channel } => self.arrival(channel),
            Action::BotAnswer { session, epoch } => self.bot_answer(session, epoch),
            Action::Abandon { session } => {
                let waiting_first =
                    self.world.sessions.get(&session).is_some_and(|s| {
                        s.phase == Phase::Waiting && s.first_assigned_at.is_none()
                    });
                if waiting_first {
                    let cmd = Command::Finish {
                        session,
                        by: Actor::Customer,
                        wrapup: None,
                    };
                    self.exec(cmd, None);
                }
            }
            Action::Nudge { session, epoch } => {
                if self.session_at(session, Phase::Waiting, epoch) {
                    let text = pick(&mut self.rng, WAITING_TEXTS).copied().unwrap_or("Oi?");
                    self.customer_says(session, text.to_string());
                }
            }
            Action::CustomerReply { session, epoch } => {
                if self.session_at(session, Phase::Human, epoch) {
                    let text = pick(&mut self.rng, CUSTOMER_TEXTS).copied().unwrap_or("Ok");
                    self.customer_says(session, text.to_string());
                    if let Some(reply) = self.scenario.customers.reply {
                        let at = self.now.plus_ms(reply.sample(&mut self.rng));
                        if self
                            .tracks
                            .get(&session)
                            .is_some_and(|t| at < t.service_end)
                        {
                            self.agenda
                                .schedule(at, Action::CustomerReply { session, epoch });
                        }
                    }
                }
            }
            Action::AgentReply {
                session,
                agent,
                epoch,
                first,
            } => self.agent_reply(session, agent, epoch, first),
            Action::AgentDone {
                session,
                agent,
                epoch,
            } => self.agent_done(session, agent, epoch),
            Action::Login { agent, until } => self.login(agent, until),
            Action::ShiftEnd { agent } => self.shift_end(agent),
            Action::PauseStart { agent, plan } => self.pause_start(agent, plan),
            Action::PauseEnd { agent, reason } => {
                let id = Scenario::agent_id(agent);
                let paused_so = self
                    .world
                    .agents
                    .get(&id)
                    .is_some_and(|a| a.presence == Presence::Paused { reason });
                if paused_so && !self.draining.contains(&agent) {
                    let cmd = Command::AgentResume {
                        agent: id,
                        by: Actor::Agent(id),
                    };
                    self.exec(cmd, None);
                }
            }
            Action::Logout { agent } => {
                let id = Scenario::agent_id(agent);
                let free = self
                    .world
                    .agents
                    .get(&id)
                    .is_some_and(|a| a.sessions.is_empty() && a.presence != Presence::Offline);
                if free && self.draining.remove(&agent) {
                    let cmd = Command::AgentLogout {
                        agent: id,
                        by: Actor::Agent(id),
                    };
                    self.exec(cmd, None);
                }
            }
        }
    }

    /// A candidate arrival: accepted with probability curve(now)/max (thinning), then the
    /// next candidate.
    fn arrival(&mut self, ch: usize) {
        let Some(spec) = self.scenario.channels.get(ch) else {
            return;
        };
        let max = spec.arrivals.curve.max();
        let local = self.scenario.local_ms(self.now);
        let accept = max > 0.0 && unit(&mut self.rng) * max < spec.arrivals.curve.at(local);
        let kind = spec.kind;
        if accept {
            self.stats.arrivals += 1;
            let pool_len = self.idle.get(ch).map_or(0, Vec::len);
            let returning =
                pool_len > 0 && chance(&mut self.rng, self.scenario.customers.p_returning);
            let customer = if returning {
                self.stats.returning += 1;
                let i = index(&mut self.rng, pool_len);
                self.idle.get_mut(ch).map(|p| p.swap_remove(i))
            } else {
                None
            };
            let customer = customer.unwrap_or_else(|| {
                let name = names::full_name(&mut self.rng);
                let identifier = names::identifier(&mut self.rng, kind, &name);
                self.customers.push(Customer {
                    channel: ch,
                    name,
                    identifier,
                    session: None,
                });
                self.customers.len() - 1
            });
            let text = pick(&mut self.rng, GREETINGS).copied().unwrap_or("Olá");
            let Some(c) = self.customers.get(customer) else {
                return;
            };
            let cmd = Command::CustomerMessage {
                channel: Scenario::channel_id(ch),
                identifier: c.identifier.clone(),
                name: Some(c.name.clone()),
                text: text.to_string(),
                attachments: Vec::new(),
                external_id: None,
            };
            self.exec(cmd, Some(customer));
        }
        self.schedule_arrival(ch);
    }

    fn schedule_arrival(&mut self, ch: usize) {
        let Some(spec) = self.scenario.channels.get(ch) else {
            return;
        };
        let per_hour =
            spec.arrivals.peak_per_hour * self.scenario.rate_multiplier * spec.arrivals.curve.max();
        if per_hour <= 0.0 || !per_hour.is_finite() {
            return;
        }
        let gap = exponential(&mut self.rng, 3_600_000.0 / per_hour).round() as i64;
        self.agenda
            .schedule(self.now.plus_ms(gap), Action::Arrival { channel: ch });
    }

    fn bot_answer(&mut self, session: SessionId, epoch: u32) {
        if !self.session_at(session, Phase::Bot, epoch) {
            return;
        }
        let Some(track) = self.tracks.get(&session) else {
            return;
        };
        let Some(cust) = self.customers.get(track.customer) else {
            return;
        };
        let step_id = self
            .world
            .sessions
            .get(&session)
            .and_then(|s| s.bot_step.clone())
            .unwrap_or_default();
        let step = self
            .scenario
            .channels
            .get(cust.channel)
            .and_then(|c| c.flow.steps.get(&step_id))
            .cloned();
        let first_name = cust
            .name
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        let full_name = cust.name.clone();
        let cm = &self.scenario.customers;
        let invalid = chance(&mut self.rng, cm.p_invalid);
        let text = match step {
            Some(Step::Menu { options, .. }) => {
                if invalid {
                    pick(&mut self.rng, INVALID_MENU)
                        .copied()
                        .unwrap_or("?")
                        .to_string()
                } else {
                    let o = &options[index(&mut self.rng, options.len())];
                    if chance(&mut self.rng, cm.p_words) {
                        let words: Vec<&String> =
                            std::iter::once(&o.label).chain(o.synonyms.iter()).collect();
                        pick(&mut self.rng, &words).map_or_else(|| o.key.clone(), |w| (*w).clone())
                    } else {
                        o.key.clone()
                    }
                }
            }
            Some(Step::Collect { format, .. }) => match (format, invalid) {
                (Some(FieldFormat::Digits), false) => names::cpf(&mut self.rng),
                (Some(FieldFormat::Digits), true) => "não lembro agora".to_string(),
                (Some(FieldFormat::Email), false) => {
                    names::identifier(&mut self.rng, mirante_core::ChannelKind::Email, &full_name)
                }
                (Some(FieldFormat::Email), true) => "prefiro não informar".to_string(),
                (_, _) => first_name,
            },
            _ => "oi".to_string(),
        };
        self.customer_says(session, text);
    }

    fn customer_says(&mut self, session: SessionId, text: String) {
        let Some(track) = self.tracks.get(&session) else {
            return;
        };
        let customer = track.customer;
        let Some(c) = self.customers.get(customer) else {
            return;
        };
        let cmd = Command::CustomerMessage {
            channel: Scenario::channel_id(c.channel),
            identifier: c.identifier.clone(),
            name: Some(c.name.clone()),
            text,
            attachments: Vec::new(),
            external_id: None,
        };
        self.exec(cmd, Some(customer));
    }

    fn agent_reply(&mut self, session: SessionId, agent: AgentId, epoch: u32, first: bool) {
        if !self.session_with(session, agent, epoch) {
            return;
        }
        let text = if first {
            let customer = self
                .tracks
                .get(&session)
                .and_then(|t| self.customers.get(t.customer))
                .and_then(|c| c.name.split_whitespace().next())
                .unwrap_or("");
            let me = self
                .world
                .agents
                .get(&agent)
                .map_or("", |a| a.nickname.as_str());
            format!("Olá, {customer}! Aqui é {me}, em que posso ajudar?")
        } else {
            pick(&mut self.rng, AGENT_TEXTS)
                .copied()
                .unwrap_or("Um momento, por favor.")
                .to_string()
        };
        let cmd = Command::AgentMessage {
            session,
            agent,
            text,
        };
        self.exec(cmd, None);
        if let Some(reply) = self.scenario.agent_model.reply {
            let at = self.now.plus_ms(reply.sample(&mut self.rng));
            if self
                .tracks
                .get(&session)
                .is_some_and(|t| at < t.service_end)
            {
                self.agenda.schedule(
                    at,
                    Action::AgentReply {
                        session,
                        agent,
                        epoch,
                        first: false,
                    },
                );
            }
        }
    }

    fn agent_done(&mut self, session: SessionId, agent: AgentId, epoch: u32) {
        if !self.session_with(session, agent, epoch) {
            return;
        }
        let team = self.world.sessions.get(&session).and_then(|s| s.team);
        if chance(&mut self.rng, self.scenario.agent_model.p_transfer) {
            let colleagues: Vec<AgentId> = team
                .and_then(|t| self.world.teams.get(&t))
                .map(|t| {
                    t.members
                        .iter()
                        .copied()
                        .filter(|a| *a != agent)
                        .filter(|a| self.world.agents.get(a).is_some_and(|v| v.is_available()))
                        .collect()
                })
                .unwrap_or_default();
            let others: Vec<_> = self
                .world
                .teams
                .keys()
                .copied()
                .filter(|t| Some(*t) != team)
                .collect();
            let to = if !colleagues.is_empty() && (others.is_empty() || chance(&mut self.rng, 0.3))
            {
                pick(&mut self.rng, &colleagues).copied().map(Target::Agent)
            } else {
                pick(&mut self.rng, &others).copied().map(Target::Team)
            };
            if let Some(to) = to {
                let cmd = Command::Transfer {
                    session,
                    to,
                    by: Actor::Agent(agent),
                };
                self.exec(cmd, None);
                return;
            }
        }
        let codes = team
            .and_then(|t| self.world.teams.get(&t))
            .map(|t| t.wrapup_codes.clone())
            .unwrap_or_default();
        let wrapup = pick(&mut self.rng, &codes).cloned();
        let cmd = Command::Finish {
            session,
            by: Actor::Agent(agent),
            wrapup,
        };
        self.exec(cmd, None);
    }

    // ---- shifts and pauses ---------------------------------------------------------------

    /// The first log-in: at once (within two minutes) when the simulation starts inside the
    /// agent's shift, else at the next shift start.
    fn schedule_first_login(&mut self, i: usize) {
        let Some(spec) = self.scenario.agents.get(i) else {
            return;
        };
        match spec.shift {
            Shift::Always => self.agenda.schedule(
                self.now,
                Action::Login {
                    agent: i,
                    until: None,
                },
            ),
            Shift::Daily { start_min, .. } => {
                let len = spec.shift.len_ms().unwrap_or(DAY_MS);
                let local = self.scenario.local_ms(self.now);
                let midnight = local - local.rem_euclid(DAY_MS);
                let offset = i64::from(self.scenario.utc_offset_minutes) * 60_000;
                // Shift starts (UTC) yesterday, today and tomorrow.
                let starts = (-1..=1)
                    .map(|d| midnight + d * DAY_MS + i64::from(start_min) * 60_000 - offset);
                for s in starts {
                    let (start, end) = (Timestamp(s), Timestamp(s + len));
                    if end <= self.now {
                        continue;
                    }
                    if start <= self.now {
                        let at = self.now.plus_ms((unit(&mut self.rng) * 120_000.0) as i64);
                        self.agents[i].shift_start = Some(start);
                        self.agenda.schedule(
                            at,
                            Action::Login {
                                agent: i,
                                until: Some(end),
                            },
                        );
                    } else {
                        self.schedule_login_at(i, start);
                    }
                    break;
                }
            }
        }
    }

    fn schedule_login_at(&mut self, i: usize, shift_start: Timestamp) {
        let Some(len) = self.scenario.agents.get(i).and_then(|a| a.shift.len_ms()) else {
            return;
        };
        let jitter = self.scenario.agent_model.login_jitter_ms;
        let j = ((unit(&mut self.rng) * 2.0 - 1.0) * jitter as f64) as i64;
        self.agents[i].shift_start = Some(shift_start);
        self.agenda.schedule(
            shift_start.plus_ms(j).max(self.now),
            Action::Login {
                agent: i,
                until: Some(shift_start.plus_ms(len)),
            },
        );
    }

    fn login(&mut self, i: usize, until: Option<Timestamp>) {
        let id = Scenario::agent_id(i);
        let offline = self
            .world
            .agents
            .get(&id)
            .is_some_and(|a| a.presence == Presence::Offline);
        let shift_start = self.agents[i].shift_start;
        if offline {
            self.exec(Command::AgentLogin { agent: id }, None);
        }
        let Some(end) = until else {
            return;
        };
        self.agenda.schedule(end, Action::ShiftEnd { agent: i });
        if !offline {
            return;
        }
        let start = shift_start.unwrap_or(self.now);
        let len = end.since(start);
        let plans = self.scenario.agent_model.pauses.clone();
        for (p, plan) in plans.iter().enumerate() {
            if len < plan.min_shift_ms || !chance(&mut self.rng, plan.probability) {
                continue;
            }
            let j = ((unit(&mut self.rng) * 2.0 - 1.0) * plan.jitter_ms as f64) as i64;
            let at = start.plus_ms((len as f64 * plan.at_fraction) as i64 + j);
            if at > self.now && at < end {
                self.agenda
                    .schedule(at, Action::PauseStart { agent: i, plan: p });
            }
        }
    }

    fn shift_end(&mut self, i: usize) {
        let id = Scenario::agent_id(i);
        let Some(view) = self.world.agents.get(&id) else {
            return;
        };
        let (presence, busy) = (view.presence, !view.sessions.is_empty());
        if presence != Presence::Offline {
            let reason = self
                .scenario
                .agent_model
                .end_of_shift_reason
                .as_deref()
                .and_then(|r| self.scenario.pause_reason_id(r));
            match reason {
                Some(reason) if busy => {
                    self.draining.insert(i);
                    if presence != (Presence::Paused { reason }) {
                        let cmd = Command::AgentPause {
                            agent: id,
                            reason,
                            by: Actor::Agent(id),
                        };
                        self.exec(cmd, None);
                    }
                }
                _ => {
                    self.draining.remove(&i);
                    let cmd = Command::AgentLogout {
                        agent: id,
                        by: Actor::Agent(id),
                    };
                    self.exec(cmd, None);
                }
            }
        }
        if let Some(start) = self.agents[i].shift_start {
            self.schedule_login_at(i, start.plus_ms(DAY_MS));
        }
    }

    fn pause_start(&mut self, i: usize, p: usize) {
        let id = Scenario::agent_id(i);
        let online = self
            .world
            .agents
            .get(&id)
            .is_some_and(|a| a.presence == Presence::Online);
        if !online || self.draining.contains(&i) {
            return;
        }
        let Some(plan) = self.scenario.agent_model.pauses.get(p) else {
            return;
        };
        let Some(reason) = self.scenario.pause_reason_id(&plan.reason) else {
            return;
        };
        let duration = plan.duration.sample(&mut self.rng);
        let cmd = Command::AgentPause {
            agent: id,
            reason,
            by: Actor::Agent(id),
        };
        if self.exec(cmd, None) {
            self.agenda.schedule(
                self.now.plus_ms(duration),
                Action::PauseEnd { agent: i, reason },
            );
        }
    }

    // ---- guards ----------------------------------------------------------------------------

    fn session_at(&self, session: SessionId, phase: Phase, epoch: u32) -> bool {
        self.world
            .sessions
            .get(&session)
            .is_some_and(|s| s.phase == phase && s.epoch == epoch)
    }

    fn session_with(&self, session: SessionId, agent: AgentId, epoch: u32) -> bool {
        self.world
            .sessions
            .get(&session)
            .is_some_and(|s| s.phase == Phase::Human && s.agent == Some(agent) && s.epoch == epoch)
    }
}

/// Checks that a creation event has the id the scenario predicted.
fn check_predicted_id(sc: &Scenario, world: &World, e: &Event) -> Result<(), SimError> {
    let (what, got, expected) = match &e.kind {
        EventKind::TeamCreated { team } => ("team", team.id.0, world.teams.len() as u64 + 1),
        EventKind::AgentCreated { agent } => ("agent", agent.id.0, world.agents.len() as u64 + 1),
        EventKind::PauseReasonCreated { reason } => (
            "pause reason",
            reason.id.0,
            world.pause_reasons.len() as u64 + 1,
        ),
        EventKind::ChannelCreated { channel } => {
            let expected = sc
                .channels
                .iter()
                .position(|c| c.name == channel.name)
                .map_or(0, |i| i as u64 + 1);
            ("channel", channel.id.0, expected)
        }
        _ => return Ok(()),
    };
    if got == expected {
        Ok(())
    } else {
        Err(SimError::UnexpectedId {
            what,
            expected,
            got,
        })
    }
}

/// The snake_case name of a command kind (as in its JSON `type`).
pub fn command_kind(cmd: &Command) -> &'static str {
    cmd.name()
}

fn reason_name(r: FinishReason) -> &'static str {
    match r {
        FinishReason::ByAgent => "by_agent",
        FinishReason::BySupervisor => "by_supervisor",
        FinishReason::ByCustomer => "by_customer",
        FinishReason::InactivityTimeout => "inactivity_timeout",
        FinishReason::NoAgentAvailable => "no_agent_available",
        FinishReason::BotResolved => "bot_resolved",
    }
}

/// First messages of a customer on a channel.
const GREETINGS: &[&str] = &[
    "Olá",
    "Oi, bom dia",
    "Boa tarde!",
    "Oi",
    "Olá, preciso de ajuda",
    "Bom dia, tudo bem?",
    "Boa noite",
    "Oi, alguém pode me ajudar?",
];

/// Answers a menu does not understand (none equals an option of the scenario flows).
const INVALID_MENU: &[&str] = &[
    "não sei",
    "hã?",
    "quero falar com uma pessoa",
    "9",
    "??",
    "já mandei mensagem ontem",
    "ok",
];

/// Messages while waiting for an agent.
const WAITING_TEXTS: &[&str] = &[
    "Ainda estou aguardando",
    "Alguém aí?",
    "Vai demorar muito?",
    "Oi? Ainda na fila",
];

/// Customer messages while served.
const CUSTOMER_TEXTS: &[&str] = &[
    "Ok",
    "Certo, obrigado",
    "Pode verificar, por favor?",
    "Meu pedido ainda não chegou",
    "A internet caiu de novo hoje cedo",
    "Quanto fica o plano de 500 mega?",
    "Já reiniciei o modem",
    "Paguei o boleto ontem",
    "Pode mandar a segunda via no meu e-mail?",
    "Entendi",
    "Perfeito!",
    "Tem como parcelar?",
];

/// Agent messages while serving.
const AGENT_TEXTS: &[&str] = &[
    "Um momento, por favor, estou verificando.",
    "Certo! Já localizei seu cadastro.",
    "Pode me confirmar o endereço de instalação?",
    "Acabei de enviar a segunda via para o seu e-mail.",
    "Fiz um teste na sua linha e está tudo normal agora.",
    "Temos uma promoção para este mês, posso explicar?",
    "Mais alguma dúvida?",
    "Entendo, vou abrir uma solicitação para você.",
    "Obrigado pela paciência!",
];
