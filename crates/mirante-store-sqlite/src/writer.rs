//! The single writer: one OS thread owning the write connection, fed by a bounded queue.
//!
//! **Group commit.** The thread blocks for one request, then drains whatever else is
//! already queued (up to [`MAX_GROUP`] requests), applies all of it in one `BEGIN IMMEDIATE`
//! transaction, commits once (one fsync with `synchronous=FULL`) and only then replies to
//! every request of the group. Each append checks its own fence against the running last
//! sequence, so a fenced append fails alone while the others of the group succeed; fences
//! are validated before any insert, so an append is all-or-nothing. If SQLite itself fails
//! (disk full, IO error) the whole group is rolled back and every request in it fails with
//! [`StoreError::Backend`]; acknowledged work is therefore always committed work.
//!
//! **Gathering under load.** When the previous group was large and the queue now holds
//! less than a quarter of it, the callers are refilling their pipeline right after our
//! replies; committing at once would make groups alternate tiny / large. The writer then
//! waits for more requests (blocking on the queue, no polling) for at most half the last
//! commit's duration and [`MAX_GATHER`], or until the group is as large as the previous
//! one. With light traffic (small previous groups) it never waits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use mirante_store::{Seq, Snapshot, StoreError};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::read::Readers;
use crate::schema::sql_err;

/// The most requests applied in one transaction.
pub(crate) const MAX_GROUP: usize = 4096;

/// The longest the writer waits for a pipeline to refill before committing a small group.
const MAX_GATHER: Duration = Duration::from_millis(2);

/// A reply channel for one request.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// Work for the writer thread, in call order.
pub(crate) enum Request {
    Append {
        expected_last: Seq,
        events: Vec<Vec<u8>>,
        reply: Reply<Seq>,
    },
    SaveSnapshot {
        snapshot: Snapshot,
        reply: Reply<()>,
    },
    Close {
        reply: Reply<()>,
    },
}

/// State shared between the handles and the writer thread.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Set by the writer when it dequeues a close; handles then refuse new work.
    pub(crate) closed: AtomicBool,
    pub(crate) commits: AtomicU64,
    pub(crate) events: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) largest_commit: AtomicU64,
}

/// The writer thread's body: runs until a close request or until every handle is dropped.
pub(crate) fn run(
    conn: Connection,
    queue: Receiver<Request>,
    shared: Arc<Shared>,
    readers: Arc<Readers>,
) {
    let mut writer = Writer {
        conn,
        shared,
        readers,
    };
    let mut group = Vec::with_capacity(64);
    let mut previous_group = 0usize;
    let mut last_commit = Duration::ZERO;
    loop {
        let Ok(first) = queue.recv() else {
            // Every handle is gone: nothing more can arrive, flush and stop.
            writer.shared.closed.store(true, Ordering::Release);
            if let Err(error) = writer.shutdown() {
                tracing::error!(%error, "closing the event store after the last handle dropped");
            }
            return;
        };
        let close = match first {
            Request::Close { reply } => Some(reply),
            request => {
                group.push(request);
                let mut close = drain(&queue, &mut group, None);
                if close.is_none() && group.len() * 4 < previous_group {
                    // Under load (the last group was large) a small group means the
                    // callers are still refilling their pipeline after our last reply:
                    // give them a fraction of one commit's time to catch up, so groups
                    // stay large instead of alternating tiny / large.
                    let deadline = Instant::now() + (last_commit / 2).min(MAX_GATHER);
                    close = drain(&queue, &mut group, Some((deadline, previous_group)));
                }
                close
            }
        };
        previous_group = group.len();
        let started = Instant::now();
        if !group.is_empty() {
            writer.commit_group(&mut group);
            last_commit = started.elapsed();
        }
        if let Some(reply) = close {
            writer.shared.closed.store(true, Ordering::Release);
            // Work queued after the close is refused; late senders find the queue gone.
            while let Ok(request) = queue.try_recv() {
                request.refuse();
            }
            drop(queue);
            let result = writer.shutdown();
            let _ = reply.send(result);
            return;
        }
    }
}

/// Moves queued requests into `group` (up to [`MAX_GROUP`]) until the queue is empty or,
/// with `until = Some((deadline, size))`, until the deadline passes or the group reaches
/// `size`. Stops at a close request and returns its reply.
fn drain(
    queue: &Receiver<Request>,
    group: &mut Vec<Request>,
    until: Option<(Instant, usize)>,
) -> Option<Reply<()>> {
    while group.len() < MAX_GROUP {
        let next = match until {
            None => queue.try_recv().ok(),
            Some((deadline, size)) => {
                let now = Instant::now();
                if group.len() >= size || now >= deadline {
                    return None;
                }
                queue.recv_timeout(deadline - now).ok()
            }
        };
        match next {
            Some(Request::Close { reply }) => return Some(reply),
            Some(request) => group.push(request),
            None => return None,
        }
    }
    None
}

impl Request {
    fn refuse(self) {
        match self {
            Request::Append { reply, .. } => drop(reply.send(Err(StoreError::Closed))),
            Request::SaveSnapshot { reply, .. } | Request::Close { reply } => {
                drop(reply.send(Err(StoreError::Closed)));
            }
        }
    }
}

/// The outcome of one request of a group, sent once the group's fate is known.
enum Outcome {
    Append(Reply<Seq>, Result<Seq, StoreError>),
    Snapshot(Reply<()>, Result<(), StoreError>),
}

impl Outcome {
    /// The group was rolled back: whatever this request did is undone.
    fn fail(&mut self, message: &str) {
        let error = || StoreError::Backend(message.to_owned());
        match self {
            Outcome::Append(_, result) => *result = Err(error()),
            Outcome::Snapshot(_, result) => *result = Err(error()),
        }
    }

    fn send(self) {
        // A caller that stopped waiting is not an error of the store.
        match self {
            Outcome::Append(reply, result) => drop(reply.send(result)),
            Outcome::Snapshot(reply, result) => drop(reply.send(result)),
        }
    }
}

struct Writer {
    conn: Connection,
    shared: Arc<Shared>,
    /// Emptied before the final checkpoint, so the writer is the last connection and
    /// SQLite removes the WAL file when it closes.
    readers: Arc<Readers>,
}

impl Writer {
    /// Applies `group` in one transaction, then replies to each request.
    fn commit_group(&mut self, group: &mut Vec<Request>) {
        let mut outcomes = Vec::with_capacity(group.len());
        let mut events = 0u64;
        let result = self.apply(group, &mut outcomes, &mut events);
        let result = result.and_then(|()| {
            self.conn
                .execute_batch("COMMIT")
                .map_err(sql_err("committing a group"))
        });
        match result {
            Ok(()) => {
                let s = &self.shared;
                s.commits.fetch_add(1, Ordering::Relaxed);
                s.events.fetch_add(events, Ordering::Relaxed);
                s.requests
                    .fetch_add(outcomes.len() as u64, Ordering::Relaxed);
                s.largest_commit.fetch_max(events, Ordering::Relaxed);
                if events > 0 {
                    metrics::histogram!("mirante_commit_batch_size").record(events as f64);
                }
                tracing::trace!(events, requests = outcomes.len(), "group committed");
            }
            Err(error) => {
                tracing::error!(%error, requests = outcomes.len(), "group commit failed, rolled back");
                // Harmless if the transaction never started or is already gone.
                let _ = self.conn.execute_batch("ROLLBACK");
                let message = error.to_string();
                for outcome in &mut outcomes {
                    outcome.fail(&message);
                }
            }
        }
        for outcome in outcomes {
            outcome.send();
        }
    }

    /// Runs every request of the group inside one open transaction, recording an outcome
    /// for each (on error, for the rest too) and returning the first SQLite error.
    fn apply(
        &mut self,
        group: &mut Vec<Request>,
        outcomes: &mut Vec<Outcome>,
        events: &mut u64,
    ) -> Result<(), StoreError> {
        let mut failure = None;
        let begun = self
            .conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(sql_err("starting a group"));
        // Read inside the transaction: another process may have written since our last group.
        let mut last = match begun.and_then(|()| self.last_seq()) {
            Ok(last) => last,
            Err(error) => {
                failure = Some(error);
                0
            }
        };
        for request in group.drain(..) {
            match request {
                Request::Close { reply } => {
                    // `run` never puts a close in a group; refuse it defensively.
                    drop(reply.send(Err(StoreError::Closed)));
                }
                Request::Append {
                    expected_last,
                    events: batch,
                    reply,
                } => {
                    if failure.is_some() {
                        outcomes.push(Outcome::Append(reply, Ok(0)));
                        continue;
                    }
                    if expected_last != last {
                        let conflict = StoreError::Conflict {
                            expected: expected_last,
                            actual: last,
                        };
                        outcomes.push(Outcome::Append(reply, Err(conflict)));
                        continue;
                    }
                    match self.insert_events(last, &batch) {
                        Ok(new_last) => {
                            *events += batch.len() as u64;
                            last = new_last;
                            outcomes.push(Outcome::Append(reply, Ok(new_last)));
                        }
                        Err(error) => {
                            failure = Some(error);
                            outcomes.push(Outcome::Append(reply, Ok(0)));
                        }
                    }
                }
                Request::SaveSnapshot { snapshot, reply } => {
                    if failure.is_some() {
                        outcomes.push(Outcome::Snapshot(reply, Ok(())));
                        continue;
                    }
                    if snapshot.seq > last {
                        let conflict = StoreError::Conflict {
                            expected: snapshot.seq,
                            actual: last,
                        };
                        outcomes.push(Outcome::Snapshot(reply, Err(conflict)));
                        continue;
                    }
                    let saved = self.save_snapshot(&snapshot);
                    if let Err(error) = saved {
                        failure = Some(error);
                    }
                    outcomes.push(Outcome::Snapshot(reply, Ok(())));
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }

    fn last_seq(&self) -> Result<Seq, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM events")
            .map_err(sql_err("preparing last seq"))?;
        let last: i64 = stmt
            .query_row([], |row| row.get(0))
            .map_err(sql_err("reading last seq"))?;
        Seq::try_from(last).map_err(|_| StoreError::Corrupt(format!("negative sequence {last}")))
    }

    fn insert_events(&self, last: Seq, batch: &[Vec<u8>]) -> Result<Seq, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("INSERT INTO events (seq, payload) VALUES (?1, ?2)")
            .map_err(sql_err("preparing event insert"))?;
        let mut seq = last;
        for payload in batch {
            seq += 1;
            stmt.execute((to_sql(seq)?, payload.as_slice()))
                .map_err(sql_err(&format!("inserting event {seq}")))?;
        }
        Ok(seq)
    }

    fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let mut insert = self
            .conn
            .prepare_cached("INSERT OR REPLACE INTO snapshots (seq, payload) VALUES (?1, ?2)")
            .map_err(sql_err("preparing snapshot insert"))?;
        insert
            .execute((to_sql(snapshot.seq)?, snapshot.payload.as_slice()))
            .map_err(sql_err(&format!("saving snapshot at {}", snapshot.seq)))?;
        // Keep the newest KEPT_SNAPSHOTS: older ones only cost disk.
        let mut prune = self
            .conn
            .prepare_cached(
                "DELETE FROM snapshots WHERE seq < \
                 (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
            )
            .map_err(sql_err("preparing snapshot pruning"))?;
        prune
            .execute([crate::KEPT_SNAPSHOTS as i64 - 1])
            .map_err(sql_err("pruning old snapshots"))?;
        Ok(())
    }

    /// Checkpoints the WAL into the main file and closes the connection.
    fn shutdown(self) -> Result<(), StoreError> {
        let Writer { conn, readers, .. } = self;
        readers.clear();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(sql_err("checkpointing the WAL"))?;
        conn.close()
            .map_err(|(_, error)| sql_err("closing the database")(error))?;
        tracing::debug!("event store writer stopped");
        Ok(())
    }
}

/// A sequence as SQLite's signed 64-bit integer.
pub(crate) fn to_sql(seq: Seq) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Backend(format!("sequence {seq} exceeds i64")))
}
