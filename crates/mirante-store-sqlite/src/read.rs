//! The read side: a small pool of read-only connections used from Tokio's blocking pool.
//!
//! WAL lets readers run concurrently with the writer, so reads never queue behind a group
//! commit, and they stay off the async worker threads.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use mirante_store::{Seq, Snapshot, StoreError, StoredEvent};
use rusqlite::Connection;

use crate::schema::{open_reader, sql_err};
use crate::writer::{Shared, to_sql};

/// Idle read connections kept for reuse.
const MAX_IDLE: usize = 4;

pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    shared: Arc<Shared>,
}

impl Readers {
    pub(crate) fn new(path: PathBuf, shared: Arc<Shared>) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
            shared,
        }
    }

    /// Runs `read` on a pooled connection in Tokio's blocking pool.
    pub(crate) async fn run<T, F>(self: Arc<Self>, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        if self.is_closed() {
            return Err(StoreError::Closed);
        }
        tokio::task::spawn_blocking(move || self.with_connection(read))
            .await
            .map_err(|e| StoreError::Backend(format!("read task failed: {e}")))?
    }

    /// Drops the idle connections (after a close).
    pub(crate) fn clear(&self) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    fn with_connection<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.is_closed() {
            return Err(StoreError::Closed);
        }
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        let result = read(&conn);
        if !self.is_closed() {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        result
    }
}

pub(crate) fn last_seq(conn: &Connection) -> Result<Seq, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM events")
        .map_err(sql_err("preparing last seq"))?;
    let last: i64 = stmt
        .query_row([], |row| row.get(0))
        .map_err(sql_err("reading last seq"))?;
    from_sql(last)
}

pub(crate) fn read_from(
    conn: &Connection,
    after: Seq,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let after = to_sql(after).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached("SELECT seq, payload FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")
        .map_err(sql_err("preparing read_from"))?;
    let rows = stmt
        .query_map((after, limit), |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })
        .map_err(sql_err("reading events"))?;
    let mut events = Vec::new();
    for row in rows {
        let (seq, payload) = row.map_err(sql_err("reading an event"))?;
        events.push(StoredEvent {
            seq: from_sql(seq)?,
            payload,
        });
    }
    Ok(events)
}

pub(crate) fn latest_snapshot(conn: &Connection) -> Result<Option<Snapshot>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT seq, payload FROM snapshots ORDER BY seq DESC LIMIT 1")
        .map_err(sql_err("preparing snapshot load"))?;
    let mut rows = stmt
        .query([])
        .map_err(sql_err("loading the latest snapshot"))?;
    match rows
        .next()
        .map_err(sql_err("loading the latest snapshot"))?
    {
        None => Ok(None),
        Some(row) => {
            let seq: i64 = row.get(0).map_err(sql_err("reading snapshot seq"))?;
            let payload: Vec<u8> = row.get(1).map_err(sql_err("reading snapshot payload"))?;
            Ok(Some(Snapshot {
                seq: from_sql(seq)?,
                payload,
            }))
        }
    }
}

fn from_sql(seq: i64) -> Result<Seq, StoreError> {
    Seq::try_from(seq).map_err(|_| StoreError::Corrupt(format!("negative sequence {seq}")))
}
