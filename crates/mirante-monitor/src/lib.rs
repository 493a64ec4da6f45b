//! The live read model of *Monitoramento* (SPEC §1): counters, the Agentes / Equipes / Fases
//! tabs, filters and visibility, fed one event at a time by the core.
//!
//! Pure and incremental: no IO, no clock, no async. [`Monitor::apply`] folds one event with
//! O(log n) work (no scan of all sessions or agents) and returns the [`Changes`] a streaming
//! layer needs to compute per-subscriber deltas; [`Monitor::view`] answers one supervisor's
//! screen from one state at one sequence number (B-2), with `now` as an argument.
//! [`Monitor::from_state`] bootstraps from an engine snapshot; fed the same events, the
//! incremental model equals one rebuilt from the core's state (property-tested).
//!
//! Visibility ([`Visibility`], M-60, M-14, M-23) is applied inside the model, the same way in
//! every counter, tab, filter option and lookup. The design note is `docs/monitor.md`.

mod filter;
mod json;
mod monitor;
mod query;
mod stats;
mod view;

pub use filter::{Filter, Visibility, normalize_number};
pub use monitor::{
    AgentInfo, Changes, ChannelInfo, ContactInfo, Monitor, PauseInfo, SessionRow, TeamInfo,
};
pub use stats::DayRebuild;
pub use view::{
    AgentCard, AgentStatus, ChannelOption, CounterPair, Counters, FilterOptions, MonitorView,
    Named, Phases, ProtocolStatus, SessionFields, SessionView, TeamCard,
};

#[cfg(test)]
mod tests;
