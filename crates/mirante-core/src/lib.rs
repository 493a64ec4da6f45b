//! The contact center as a pure, deterministic, event-sourced state machine.
//!
//! `mirante-core` decides: commands come in with the time as an argument, and the core
//! answers with the events that follow (or a [`DomainError`], changing nothing). Applying an
//! event only updates state and never decides, so replaying the log rebuilds the exact
//! state. No IO, no clock, no async, no randomness: the shell (`mirante-server`) owns all of
//! those. The facade the shell uses is documented in `docs/core-facade.md`.

pub mod command;
mod engine;
pub mod error;
pub mod event;
pub mod flow;
pub mod ids;
pub mod model;
pub mod protocol;
pub mod time;

pub use command::{Attachment, BulkAction, BulkCommand, Command};
pub use engine::{BulkItemResult, BulkOutcome, Core, State, Stats};
pub use error::{DomainError, Lang};
pub use event::{AssignedBy, Author, Event, EventKind, QueueReason};
pub use ids::*;
pub use model::*;
pub use time::Timestamp;
