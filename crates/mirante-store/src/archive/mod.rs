//! The session archive port: finished sessions kept durably (contact history with
//! transcripts, M-41) and the checkpoint of the records' live part, so that memory holds
//! only what is still open and a restart folds the log from the checkpoint on, not from
//! its first event.
//!
//! Like [`crate::EventStore`] the port knows nothing of the domain: an archived session is
//! its ids (session, contact) and the sequence of the event that finished it, plus an
//! opaque payload (the shell's serialized record: channel, team, agent, protocol, times,
//! transcript); a checkpoint is a sequence and an opaque payload. Like
//! [`crate::accounts::AccountStore`] it is **blocking and object-safe**: the server calls it
//! from Tokio's blocking pool. Every backend passes [`contract`].
//!
//! Guarantees:
//! - [`SessionArchive::record`] writes its sessions and its checkpoint atomically; a session
//!   recorded again (a restart folds again the events after the checkpoint) replaces the
//!   earlier copy.
//! - The checkpoint only moves forward: a checkpoint older than the stored one is ignored.

pub mod contract;

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use crate::{Seq, StoreError};

/// One finished session as archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedSession {
    /// The session's id.
    pub session: u64,
    /// Its contact (history is looked up by contact).
    pub contact: u64,
    /// The sequence of the event that finished it.
    pub seq: Seq,
    /// The serialized record, exactly as given.
    pub payload: Vec<u8>,
}

/// The state of the records' live part (open sessions, conversations) as of `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The last event folded into it.
    pub seq: Seq,
    /// The serialized state.
    pub payload: Vec<u8>,
}

/// The archive port.
pub trait SessionArchive: Send + Sync + std::fmt::Debug {
    /// Stores `sessions` (replacing any with the same id) and, when given, `checkpoint`
    /// (unless the stored one is newer), all or nothing.
    fn record(
        &self,
        sessions: &[ArchivedSession],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<(), StoreError>;

    /// The newest checkpoint, if any.
    fn checkpoint(&self) -> Result<Option<Checkpoint>, StoreError>;

    /// One archived session.
    fn session(&self, session: u64) -> Result<Option<ArchivedSession>, StoreError>;

    /// A contact's archived sessions, newest (highest session id) first, at most `limit`,
    /// only those with an id below `before` when given.
    fn contact_sessions(
        &self,
        contact: u64,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ArchivedSession>, StoreError>;
}

/// An archive in memory (tests, and a server without a database).
#[derive(Debug, Default)]
pub struct MemoryArchive {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    sessions: BTreeMap<u64, ArchivedSession>,
    by_contact: BTreeMap<(u64, u64), ()>,
    checkpoint: Option<Checkpoint>,
}

impl MemoryArchive {
    /// An empty archive.
    pub fn new() -> MemoryArchive {
        MemoryArchive::default()
    }
}

impl SessionArchive for MemoryArchive {
    fn record(
        &self,
        sessions: &[ArchivedSession],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for s in sessions {
            if let Some(old) = inner.sessions.insert(s.session, s.clone()) {
                inner.by_contact.remove(&(old.contact, old.session));
            }
            inner.by_contact.insert((s.contact, s.session), ());
        }
        if let Some(c) = checkpoint
            && inner.checkpoint.as_ref().is_none_or(|old| old.seq <= c.seq)
        {
            inner.checkpoint = Some(c.clone());
        }
        Ok(())
    }

    fn checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(inner.checkpoint.clone())
    }

    fn session(&self, session: u64) -> Result<Option<ArchivedSession>, StoreError> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(inner.sessions.get(&session).cloned())
    }

    fn contact_sessions(
        &self,
        contact: u64,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ArchivedSession>, StoreError> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let end = before.unwrap_or(u64::MAX);
        Ok(inner
            .by_contact
            .range((contact, 0)..(contact, end))
            .rev()
            .take(limit)
            .filter_map(|((_, s), ())| inner.sessions.get(s).cloned())
            .collect())
    }
}
