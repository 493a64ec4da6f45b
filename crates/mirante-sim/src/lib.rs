//! Mirante's traffic simulator: customers arriving on channels, navigating the bot, waiting
//! and being served; agents on shifts logging in, pausing, replying, finishing and
//! transferring — all driven through the same commands real people and channels send (no
//! back door into the engine's state), in simulated time, deterministic for a seed.
//!
//! - [`Scenario`] is the contact center as data; [`demo::demo`] is the believable one the
//!   `mirante demo` command shows, [`QueueTruth::scenario`] the M/M/c queue.
//! - [`Simulation`] runs a scenario on a [`Driver`] ([`InProcess`]; with the feature `http`,
//!   `http::HttpDriver` against a running server; [`Timed`] around either for latencies):
//!   [`Simulation::run_until`] as fast as possible, or [`Simulation::next_action_time`] +
//!   [`Simulation::step`] for a real-time runner.
//! - [`World`] is what the simulator knows, folded from events; it also checks FIFO and
//!   work conservation (D-10) after every command and tick.
//! - [`erlang`] and [`QueueTruth`] compare the engine's queueing with Erlang C
//!   (`docs/erlang-c.md`).
//!
//! The distributions of the demo are listed in [`demo`]; the random draws in [`dist`].

pub mod agenda;
pub mod demo;
pub mod dist;
pub mod driver;
pub mod erlang;
#[cfg(feature = "http")]
pub mod http;
pub mod load;
pub mod names;
pub mod queue_truth;
pub mod scenario;
pub mod sim;
pub mod timed;
pub mod world;

pub use agenda::Agenda;
pub use driver::{Driver, InProcess, Refusal};
pub use erlang::{erlang_c, erlang_c_full};
pub use queue_truth::{Agreement, QueueTruth, QueueTruthReport, WaitRecorder};
pub use scenario::Scenario;
pub use sim::{EventHasher, Observer, SimError, SimStats, Simulation, command_kind};
pub use timed::{Latencies, Timed};
pub use world::World;
