//! The engine: [`Core`] holds the state of the contact center and is the only place where
//! commands are decided. `execute` = decide (pure) → apply → distribute; `apply` only folds
//! an event into the state, so replaying the log rebuilds it exactly.

mod apply;
mod decide;
mod distribute;
#[cfg(test)]
mod index_tests;
mod state;
mod timers;

use crate::command::{BulkAction, BulkCommand, Command};
use crate::error::DomainError;
use crate::event::Event;
use crate::ids::SessionId;
use crate::model::{Actor, Phase, Presence};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

pub use state::State;

/// The contact center: its state and the rules that change it.
///
/// Serialization (the snapshot) covers the state only; derived indexes are rebuilt on load.
#[derive(Debug, Clone, Default)]
pub struct Core {
    state: State,
    index: state::Index,
}

impl PartialEq for Core {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
    }
}

impl Serialize for Core {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.state.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Core {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let state = State::deserialize(d)?;
        Ok(Core::from_state(state))
    }
}

/// Counts for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Stats {
    /// Sessions with the bot.
    pub sessions_bot: u64,
    /// Sessions waiting for an agent.
    pub sessions_waiting: u64,
    /// Sessions with an agent.
    pub sessions_human: u64,
    /// Agents online.
    pub agents_online: u64,
    /// Agents paused.
    pub agents_paused: u64,
    /// Agents offline.
    pub agents_offline: u64,
}

/// The result of one session in a bulk command (B-3).
#[derive(Debug, Clone, PartialEq)]
pub struct BulkItemResult {
    /// The session.
    pub session: SessionId,
    /// Done, or refused and why.
    pub result: Result<(), DomainError>,
}

impl Serialize for BulkItemResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("BulkItemResult", 4)?;
        st.serialize_field("session", &self.session)?;
        st.serialize_field("ok", &self.result.is_ok())?;
        match &self.result {
            Ok(()) => {
                st.skip_field("code")?;
                st.skip_field("message")?;
            }
            Err(e) => {
                st.serialize_field("code", e.code())?;
                st.serialize_field("message", &e.message(crate::Lang::En))?;
            }
        }
        st.end()
    }
}

/// The outcome of a bulk command: all events, and one result per session, in request order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulkOutcome {
    /// Every event, in order (already applied).
    pub events: Vec<Event>,
    /// One result per requested session.
    pub results: Vec<BulkItemResult>,
}

impl Core {
    /// An empty contact center with default settings.
    pub fn new() -> Core {
        Core::default()
    }

    fn from_state(state: State) -> Core {
        let index = state::Index::build(&state);
        Core { state, index }
    }

    /// Read access to the whole state (for read models and tests).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Decide + apply + run distribution. On `Err` nothing changed.
    pub fn execute(&mut self, cmd: Command, now: Timestamp) -> Result<Vec<Event>, DomainError> {
        let mut events = self.handle(&cmd, now)?;
        for e in &events {
            self.apply(e);
        }
        self.distribute(now, &mut events);
        Ok(events)
    }

    /// Bulk finish/transfer (M-12, B-3). `Err` only when the bulk is refused as a whole
    /// (empty, over the cap, duplicates); per-session refusals are in the outcome.
    pub fn execute_bulk(
        &mut self,
        cmd: BulkCommand,
        now: Timestamp,
    ) -> Result<BulkOutcome, DomainError> {
        if cmd.sessions.is_empty() {
            return Err(DomainError::BulkEmpty);
        }
        let cap = self.state.settings.bulk_cap;
        if cmd.sessions.len() > cap {
            return Err(DomainError::BulkCapExceeded {
                cap,
                requested: cmd.sessions.len(),
            });
        }
        let mut seen = BTreeSet::new();
        for s in &cmd.sessions {
            if !seen.insert(*s) {
                return Err(DomainError::BulkDuplicate(*s));
            }
        }
        let mut events = Vec::new();
        let mut results = Vec::with_capacity(cmd.sessions.len());
        for &session in &cmd.sessions {
            let single = match &cmd.action {
                BulkAction::Finish { wrapup } => Command::Finish {
                    session,
                    by: cmd.by,
                    wrapup: wrapup.clone(),
                },
                BulkAction::Transfer { to } => Command::Transfer {
                    session,
                    to: *to,
                    by: cmd.by,
                },
            };
            let result = self
                .execute(single, now)
                .map(|mut evs| events.append(&mut evs));
            results.push(BulkItemResult { session, result });
        }
        Ok(BulkOutcome { events, results })
    }

    /// Time-driven transitions due at `now` (D-1): bot inactivity, team inactivity, max wait
    /// → overflow or lost. Returns the events, already applied.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(session) = self.index.due(now) {
            let evs = self.decide_timeout(session, now);
            for e in &evs {
                self.apply(e);
            }
            if evs.is_empty() {
                // Nothing to do for this deadline (should not happen): drop it, never loop.
                self.index.clear_deadline(session);
            }
            events.extend(evs);
            // D-10: capacity freed by this timeout goes to a waiting session at once, before
            // the next deadline due now could finish that session as "no agent available".
            self.distribute(now, &mut events);
        }
        self.distribute(now, &mut events);
        events
    }

    /// The earliest time at which [`Core::tick`] has something to do.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.index.next_deadline()
    }

    /// Folds an event into the state. Never decides, never fails: an event that does not fit
    /// (which a log written by this core never contains) is ignored.
    pub fn apply(&mut self, event: &Event) {
        apply::apply(&mut self.state, &mut self.index, event);
    }

    /// The events a command decides, without applying them and without distribution.
    pub fn handle(&self, cmd: &Command, now: Timestamp) -> Result<Vec<Event>, DomainError> {
        decide::decide(&self.state, &self.index, cmd, now)
    }

    /// Counts for metrics.
    pub fn stats(&self) -> Stats {
        let mut s = Stats {
            sessions_bot: self.index.phase_count(Phase::Bot),
            sessions_waiting: self.index.phase_count(Phase::Waiting),
            sessions_human: self.index.phase_count(Phase::Human),
            ..Stats::default()
        };
        for a in self.state.agents.values() {
            match a.presence {
                Presence::Online => s.agents_online += 1,
                Presence::Paused { .. } => s.agents_paused += 1,
                Presence::Offline => s.agents_offline += 1,
            }
        }
        s
    }

    fn distribute(&mut self, now: Timestamp, events: &mut Vec<Event>) {
        while let Some(e) = distribute::next_assignment(&self.state, &self.index, now) {
            self.apply(&e);
            events.push(e);
        }
    }
}

/// True for actors a supervisor command may come from.
pub(crate) fn is_supervisor(actor: &Actor) -> bool {
    matches!(actor, Actor::Supervisor(_))
}
