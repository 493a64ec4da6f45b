//! How the simulator reaches the system: a [`Driver`] takes the same commands real customers,
//! agents and channels send, and answers with the events they caused.
//!
//! [`InProcess`] wraps a [`mirante_core::Core`] directly (fast tests, engine benchmarks).
//! `crate::http::HttpDriver` (feature `http`) drives a running server over its API for
//! full-stack load: customers through the channel API with their channel's token, agents
//! through `/api/v1/me` with their own sessions; its `Error` carries the API's
//! `{code, message}`. The server decides assignments, bot steps and timeouts on its own, so
//! the events a command caused are not in the API's answer: the HTTP driver reads the
//! *Monitoramento* view (`GET /api/v1/monitor`, one state at one sequence number) once it
//! has caught up with the durable sequence (`GET /healthz`), and turns the difference from
//! the previous view into events — chosen over the agents' `/me/sessions` (each agent sees
//! only its part, nobody sees the bot) and the live stream (coalesced every 100 ms, which
//! would pace a fast run). Its `tick`/`next_deadline` are no-ops because the server keeps
//! its own clock (the runner paces the simulation in real time, or as fast as the server
//! answers).

use mirante_core::{Command, Core, DomainError, Event, Timestamp};
use std::fmt;

/// A refused command, as a driver reports it: a stable machine code (e.g.
/// `agent_not_online`) that the simulator counts per command kind.
pub trait Refusal: fmt::Debug + fmt::Display {
    /// The stable machine code.
    fn code(&self) -> &str;
}

impl Refusal for DomainError {
    fn code(&self) -> &str {
        DomainError::code(self)
    }
}

/// The system under simulation.
pub trait Driver {
    /// Why a command was refused.
    type Error: Refusal;

    /// Runs one command at simulated time `now`; the events it caused, in order (including
    /// the assignments distribution made after it).
    fn execute(&mut self, cmd: Command, now: Timestamp) -> Result<Vec<Event>, Self::Error>;

    /// Runs the time-driven transitions due at `now` (bot and team inactivity, max wait).
    fn tick(&mut self, now: Timestamp) -> Vec<Event>;

    /// When [`Driver::tick`] next has something to do, if the driver knows (a remote server
    /// that keeps its own clock answers `None`).
    fn next_deadline(&self) -> Option<Timestamp>;

    /// Read-only access to the engine, for assertions only (never to drive it); `None` when
    /// the engine is remote.
    fn core(&self) -> Option<&Core> {
        None
    }
}

/// The engine in the same process.
#[derive(Debug, Clone, Default)]
pub struct InProcess {
    core: Core,
}

impl InProcess {
    /// A fresh, empty contact center.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drives an existing engine (e.g. one restored from a snapshot).
    pub fn from_core(core: Core) -> Self {
        Self { core }
    }

    /// The engine, read-only.
    pub fn engine(&self) -> &Core {
        &self.core
    }

    /// Gives the engine back.
    pub fn into_core(self) -> Core {
        self.core
    }
}

impl Driver for InProcess {
    type Error = DomainError;

    fn execute(&mut self, cmd: Command, now: Timestamp) -> Result<Vec<Event>, DomainError> {
        self.core.execute(cmd, now)
    }

    fn tick(&mut self, now: Timestamp) -> Vec<Event> {
        self.core.tick(now)
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        self.core.next_deadline()
    }

    fn core(&self) -> Option<&Core> {
        Some(&self.core)
    }
}
