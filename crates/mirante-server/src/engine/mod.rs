//! The engine: one task owns the [`Core`] and the write path; everything else talks to it
//! through a cheap, cloneable [`EngineHandle`].
//!
//! **Group commit.** The writer awaits one request, drains up to
//! [`EngineConfig::max_batch`] more that are already queued, executes each against the core,
//! serializes all their events and issues **one** [`EventStore::append`]. Replies go out
//! only once that append is acknowledged, so an acknowledged command is a durable command;
//! the committed events are then published on a broadcast channel.
//!
//! **Pipelining.** While batch `k` is being committed, the writer already executes batch
//! `k + 1` and issues its append (the store applies appends in call order and fences each on
//! the previous one's end). At most [`EngineConfig::pipeline_depth`] batches are in flight.
//! Anything that must see only durable state (reads, snapshots, shutdown) first waits for
//! the pipeline to empty.
//!
//! **Failure.** If an append fails, the in-memory core is ahead of the log: every request of
//! the failed batch (and of the batches behind it that the store refused) gets an error, and
//! the core is rebuilt from the store (snapshot + replay) before any more work is taken.

mod clock;
mod recovery;
mod writer;

use std::sync::Arc;

use mirante_core::{BulkCommand, BulkOutcome, Command, Core, DomainError, Event};
use mirante_store::{EventStore, Seq, StoreError};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::apart::spawn_apart;

pub use clock::{Clock, ManualClock, SystemClock};
pub use recovery::{Recovered, recover};

/// Tuning of the engine. [`EngineConfig::default`] is what `mirante serve` uses.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Most requests executed into one batch (one append, one transaction).
    pub max_batch: usize,
    /// Most batches whose append is in flight at once (1 = no pipelining).
    pub pipeline_depth: usize,
    /// Capacity of the request queue (callers wait when it is full).
    pub queue_capacity: usize,
    /// Take a snapshot in the background after this many events (0 = never).
    pub snapshot_every: u64,
    /// Take a snapshot on graceful shutdown when events were written since the last one.
    pub snapshot_on_shutdown: bool,
    /// Start from the latest snapshot (false = replay the whole log).
    pub use_snapshots: bool,
    /// Capacity of the committed-events broadcast (slow subscribers lag beyond it).
    pub broadcast_capacity: usize,
    /// Run the writer on a thread of its own ([`crate::apart`]), so that a command never
    /// waits behind the serving runtime's other tasks (false: on the calling runtime, e.g. a
    /// test on paused time).
    pub own_thread: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_batch: 1024,
            pipeline_depth: 4,
            queue_capacity: 8192,
            snapshot_every: 100_000,
            snapshot_on_shutdown: true,
            use_snapshots: true,
            broadcast_capacity: 16_384,
            own_thread: true,
        }
    }
}

/// Why the engine could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The core refused the command; nothing changed.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The store failed; the command was not acknowledged (it may or may not be in the log
    /// only if the store itself could not tell).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An event could not be serialized (a bug); the batch was refused.
    #[error("could not encode an event: {0}")]
    Encode(String),
    /// A stored event or snapshot cannot be read by this version.
    #[error("cannot decode stored event {seq}: {message}")]
    Decode {
        /// The event's sequence number.
        seq: Seq,
        /// What went wrong.
        message: String,
    },
    /// The engine is stopped or stopping.
    #[error("the engine is not running")]
    Unavailable,
}

/// The answer to an executed command, sent once its events are durable.
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    /// The command's events (possibly followed by distribution's), in log order.
    pub events: Vec<Event>,
    /// The sequence number of the command's last event; when it produced none, the log's
    /// last sequence when it was executed.
    pub seq: Seq,
}

/// The answer to an executed bulk command, sent once its events are durable.
#[derive(Debug, Clone)]
pub struct BulkExecuted {
    /// Events and per-session results.
    pub outcome: BulkOutcome,
    /// As in [`Executed::seq`].
    pub seq: Seq,
}

/// One committed event, as published to subscribers.
#[derive(Debug, Clone)]
pub struct Committed {
    /// Its global sequence number.
    pub seq: Seq,
    /// The event.
    pub event: Arc<Event>,
}

/// A read of the core's durable state, run on the writer task.
type ReadFn = Box<dyn FnOnce(&Core, Seq) + Send>;

/// A message to the writer task.
pub(crate) enum Request {
    Execute(Command, oneshot::Sender<Result<Executed, EngineError>>),
    Bulk(
        BulkCommand,
        oneshot::Sender<Result<BulkExecuted, EngineError>>,
    ),
    Read(ReadFn),
    Shutdown(oneshot::Sender<Result<(), EngineError>>),
}

/// A cheap handle onto the engine task.
#[derive(Clone)]
pub struct EngineHandle {
    requests: mpsc::Sender<Request>,
    durable: watch::Receiver<Seq>,
    committed: broadcast::Sender<Committed>,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle")
            .field("durable_seq", &self.durable_seq())
            .finish()
    }
}

impl EngineHandle {
    /// Executes one command; answers once its events are durable.
    pub async fn execute(&self, command: Command) -> Result<Executed, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Execute(command, reply)).await?;
        answer.await.map_err(|_| EngineError::Unavailable)?
    }

    /// Executes one bulk command; answers once its events are durable.
    pub async fn execute_bulk(&self, command: BulkCommand) -> Result<BulkExecuted, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Bulk(command, reply)).await?;
        answer.await.map_err(|_| EngineError::Unavailable)?
    }

    /// Runs `read` on the writer task against the durable state and its sequence. Keep it
    /// short: writes wait meanwhile.
    pub async fn read<R, F>(&self, read: F) -> Result<R, EngineError>
    where
        R: Send + 'static,
        F: FnOnce(&Core, Seq) -> R + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let read: ReadFn = Box::new(move |core, seq| {
            // The caller may have stopped waiting; that is not an error of the engine.
            let _ = reply.send(read(core, seq));
        });
        self.send(Request::Read(read)).await?;
        answer.await.map_err(|_| EngineError::Unavailable)
    }

    /// The last sequence number known to be durable.
    pub fn durable_seq(&self) -> Seq {
        *self.durable.borrow()
    }

    /// Waits until the durable sequence reaches `seq` (or the engine stops).
    pub async fn wait_durable(&self, seq: Seq) -> Result<Seq, EngineError> {
        let mut durable = self.durable.clone();
        let reached = durable
            .wait_for(|d| *d >= seq)
            .await
            .map_err(|_| EngineError::Unavailable)?;
        Ok(*reached)
    }

    /// Committed events from now on, in order. A subscriber that falls more than the
    /// broadcast capacity behind gets [`broadcast::error::RecvError::Lagged`] and must resync.
    pub fn subscribe(&self) -> broadcast::Receiver<Committed> {
        self.committed.subscribe()
    }

    /// Stops taking new requests, executes what is already queued, waits for every append,
    /// takes a final snapshot (if configured) and closes the store.
    pub async fn shutdown(&self) -> Result<(), EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Shutdown(reply)).await?;
        answer.await.map_err(|_| EngineError::Unavailable)?
    }

    async fn send(&self, request: Request) -> Result<(), EngineError> {
        self.requests
            .send(request)
            .await
            .map_err(|_| EngineError::Unavailable)
    }
}

/// A running engine: its handle and its task.
#[derive(Debug)]
pub struct Engine {
    /// Talk to the engine through this.
    pub handle: EngineHandle,
    /// The writer task; it ends after a shutdown (or when every handle is dropped).
    pub task: JoinHandle<()>,
}

impl Engine {
    /// Rebuilds the state from `store` (latest snapshot + replay of the tail) and spawns
    /// the writer task. Fails if the store cannot be read.
    pub async fn start<S, C>(
        store: S,
        clock: C,
        config: EngineConfig,
    ) -> Result<Engine, EngineError>
    where
        S: EventStore,
        C: Clock,
    {
        let recovered = recover(&store, config.use_snapshots).await?;
        tracing::info!(
            seq = recovered.seq,
            snapshot_seq = recovered.snapshot_seq,
            replayed = recovered.replayed,
            "engine state recovered"
        );
        let (requests, inbox) = mpsc::channel(config.queue_capacity.max(1));
        let (durable_tx, durable) = watch::channel(recovered.seq);
        let (committed, _) = broadcast::channel(config.broadcast_capacity.max(1));
        let handle = EngineHandle {
            requests,
            durable,
            committed: committed.clone(),
        };
        let own_thread = config.own_thread;
        let writer = writer::Writer::new(
            store, clock, config, recovered, inbox, durable_tx, committed,
        );
        let task = if own_thread {
            spawn_apart("mirante-engine", writer.run())
        } else {
            tokio::spawn(writer.run())
        };
        Ok(Engine { handle, task })
    }
}

/// A copy of a store error for every request of a failed batch (errors are not `Clone`).
pub(crate) fn copy_store_error(error: &StoreError) -> StoreError {
    match error {
        StoreError::Conflict { expected, actual } => StoreError::Conflict {
            expected: *expected,
            actual: *actual,
        },
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
        StoreError::Closed => StoreError::Closed,
        StoreError::Backend(m) => StoreError::Backend(m.clone()),
    }
}
