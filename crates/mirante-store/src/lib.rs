//! The storage port of Mirante: an append-only event log with a global sequence number,
//! fenced appends (conditional on the expected last sequence), and snapshots.
//!
//! The port knows nothing of the domain: events and snapshots are opaque byte payloads
//! (the shell serializes the core's events). Every backend (`mirante-store-sqlite`, later
//! `mirante-store-postgres`) implements [`EventStore`] and passes the same
//! [`contract`] suite. Beside the log: the accounts port ([`accounts`]) and the session
//! archive port ([`archive`]: finished sessions with their transcripts, and the checkpoint
//! of the records' live part), each with its own contract.
//!
//! Guarantees every backend gives:
//! - **Atomic batches**: an [`EventStore::append`] writes all of its events or none.
//! - **Dense global order**: sequence numbers start at 1 and have no gaps.
//! - **Fencing**: an append whose `expected_last` differs from the log's last sequence is
//!   refused with [`StoreError::Conflict`] and writes nothing, so a second writer that
//!   believes it owns the log is fenced out.
//! - **Durability on acknowledgement**: when `append` returns `Ok`, the batch survives a
//!   crash of the process (and, with [`Durability::Full`], of the machine).

use std::future::Future;

pub mod accounts;
pub mod archive;
pub mod contract;
pub mod memory;

/// A position in the global event log. `0` means "before the first event".
pub type Seq = u64;

/// One event as stored: its global sequence number and its opaque payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Global, dense, 1-based sequence number.
    pub seq: Seq,
    /// The serialized event, exactly as appended.
    pub payload: Vec<u8>,
}

/// A serialized state of the whole engine as of `seq` (all events up to and including it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The last event folded into this snapshot.
    pub seq: Seq,
    /// The serialized state.
    pub payload: Vec<u8>,
}

/// How hard a backend works to keep an acknowledged batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Survives a crash of the process and of the operating system (fsync on every commit).
    #[default]
    Full,
    /// Survives a crash of the process (`kill -9`); the last commits may be lost on power
    /// failure. Faster.
    Normal,
}

impl std::str::FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(format!(
                "unknown durability `{other}` (expected `full` or `normal`)"
            )),
        }
    }
}

/// Errors of the storage layer, each with a stable code.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The log's last sequence is not what the writer expected: another writer appended.
    #[error("append conflict: expected last sequence {expected}, log is at {actual}")]
    Conflict {
        /// What the writer believed.
        expected: Seq,
        /// What the log holds.
        actual: Seq,
    },
    /// The stored data is not what this version of Mirante can read.
    #[error("corrupt or incompatible store: {0}")]
    Corrupt(String),
    /// The backend is shut down and accepts no more work.
    #[error("store is closed")]
    Closed,
    /// Any failure of the backend itself (IO, database error).
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl StoreError {
    /// A stable machine code for logs and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Conflict { .. } => "store_conflict",
            Self::Corrupt(_) => "store_corrupt",
            Self::Closed => "store_closed",
            Self::Backend(_) => "store_backend",
        }
    }
}

/// The storage port. Implementations are cheap to clone handles onto a shared backend.
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events` atomically after `expected_last`; returns the new last sequence.
    /// Refuses with [`StoreError::Conflict`] (writing nothing) when the log's last sequence
    /// is not `expected_last`. An empty batch is a no-op that still checks the fence.
    ///
    /// **Pipelining**: a backend enqueues the request when `append` is *called*, not when
    /// the returned future is first polled, and applies appends in call order. The single
    /// writer may therefore issue batch `k + 1` (with `expected_last` = the end of batch
    /// `k`) before batch `k` is acknowledged, and await the acknowledgements in order.
    fn append(
        &self,
        expected_last: Seq,
        events: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Seq, StoreError>> + Send;

    /// The last sequence in the log (`0` when empty).
    fn last_seq(&self) -> impl Future<Output = Result<Seq, StoreError>> + Send;

    /// Up to `limit` events with `seq > after`, in order.
    fn read_from(
        &self,
        after: Seq,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Stores a snapshot. It must not be newer than the log (`seq <= last_seq`): a newer one
    /// is refused with [`StoreError::Conflict`] `{ expected: snapshot.seq, actual: last_seq }`
    /// (the caller's view of the log is ahead of the log). Saving again at the same `seq`
    /// replaces the payload; backends may keep only the few newest snapshots.
    fn save_snapshot(
        &self,
        snapshot: Snapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The snapshot with the highest sequence, if any.
    fn load_latest_snapshot(
        &self,
    ) -> impl Future<Output = Result<Option<Snapshot>, StoreError>> + Send;

    /// Finishes queued work, flushes to disk and stops accepting new work. Afterwards every
    /// call (through any clone of the handle) fails with [`StoreError::Closed`], except
    /// `close` itself, which is a no-op.
    fn close(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}
