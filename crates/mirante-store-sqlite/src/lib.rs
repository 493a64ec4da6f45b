//! Embedded SQLite backend of the Mirante event store: WAL, one writer thread, group commit.
//!
//! [`SqliteStore`] implements [`EventStore`] on a single SQLite file:
//! - **One writer.** A dedicated OS thread owns the write connection. `append`,
//!   `save_snapshot` and `close` put a request on a bounded queue *when called* (so
//!   pipelined appends keep their call order) and return a future of the reply.
//! - **Group commit.** The writer drains everything queued into one transaction and
//!   commits once, then replies (see [`writer`](crate::writer) for the rules). The number
//!   of events per commit is recorded in the `mirante_commit_batch_size` histogram of the
//!   [`metrics`] facade, and summed up in [`SqliteStore::stats`].
//! - **Reads** (`last_seq`, `read_from`, `load_latest_snapshot`) use a pool of read-only
//!   connections on Tokio's blocking pool; they must be awaited inside a Tokio runtime.
//! - **Durability.** `synchronous=FULL` for [`Durability::Full`] (fsync per commit),
//!   `NORMAL` for [`Durability::Normal`] (survives `kill -9`, not a power cut).
//! - **Shutdown.** `close` finishes queued work, checkpoints the WAL into the main file and
//!   stops the thread; dropping the last handle does the same.
//!
//! Backpressure: the queue holds [`QUEUE_CAPACITY`] requests. When it is full, a call to
//! `append` blocks its thread until the writer takes a group (a few milliseconds at most);
//! the writer never needs the async runtime, so this cannot deadlock.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

pub use mirante_store::Durability;
use mirante_store::{EventStore, Seq, Snapshot, StoreError, StoredEvent};
use tokio::sync::oneshot;

mod accounts;
mod archive;
mod read;
mod schema;

pub use accounts::SqliteAccounts;
pub use archive::SqliteArchive;
mod writer;

use read::Readers;
use writer::{Reply, Request, Shared};

/// Requests the writer's queue holds before callers block.
pub const QUEUE_CAPACITY: usize = 16 * 1024;

/// How many snapshots are kept: the newest ones; older ones are deleted when one is saved.
pub const KEPT_SNAPSHOTS: usize = 2;

/// The URL scheme accepted by [`SqliteStore::open_url`].
pub const URL_SCHEME: &str = "sqlite://";

/// A cheap-to-clone handle onto one SQLite event store.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

/// Counters of the writer since the store was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommitStats {
    /// Transactions committed.
    pub commits: u64,
    /// Events written.
    pub events: u64,
    /// Appends and snapshot saves applied (successful or fenced).
    pub requests: u64,
    /// The most events written by one commit.
    pub largest_commit: u64,
}

impl SqliteStore {
    /// Opens (creating it and its directory if needed) the store at `path`, migrating its
    /// schema, and starts the writer thread.
    ///
    /// Fails with [`StoreError::Corrupt`] when the file is not a Mirante database or its
    /// schema is newer than this build, and [`StoreError::Backend`] on IO errors.
    pub fn open(path: &Path, durability: Durability) -> Result<SqliteStore, StoreError> {
        let conn = schema::open_writer(path, durability)?;
        let shared = Arc::new(Shared::default());
        let (requests, queue) = sync_channel(QUEUE_CAPACITY);
        let readers = Arc::new(Readers::new(path.to_path_buf(), Arc::clone(&shared)));
        let (writer_shared, writer_readers) = (Arc::clone(&shared), Arc::clone(&readers));
        let thread = std::thread::Builder::new()
            .name("mirante-store-writer".into())
            .spawn(move || writer::run(conn, queue, writer_shared, writer_readers))
            .map_err(|e| StoreError::Backend(format!("starting the writer thread: {e}")))?;
        tracing::debug!(path = %path.display(), ?durability, "event store opened");
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                requests,
                readers,
                shared,
                path: path.to_path_buf(),
                _writer: WriterThread(Some(thread)),
            }),
        })
    }

    /// Opens the store named by a `sqlite://<path>` URL (the server's `--database`):
    /// `sqlite://mirante-data/mirante.db` is relative, `sqlite:///var/lib/mirante.db` absolute.
    pub fn open_url(url: &str, durability: Durability) -> Result<SqliteStore, StoreError> {
        Self::open(&path_from_url(url)?, durability)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The writer's counters (commits, events, largest commit) since opening.
    pub fn stats(&self) -> CommitStats {
        let s = &self.inner.shared;
        CommitStats {
            commits: s.commits.load(Ordering::Relaxed),
            events: s.events.load(Ordering::Relaxed),
            requests: s.requests.load(Ordering::Relaxed),
            largest_commit: s.largest_commit.load(Ordering::Relaxed),
        }
    }

    /// Puts a request on the writer's queue now, returning the receiver of its reply.
    fn enqueue<T>(
        &self,
        request: impl FnOnce(Reply<T>) -> Request,
    ) -> Result<oneshot::Receiver<Result<T, StoreError>>, StoreError> {
        if self.inner.shared.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        let (reply, receiver) = oneshot::channel();
        match self.inner.requests.try_send(request(reply)) {
            Ok(()) => Ok(receiver),
            Err(TrySendError::Full(request)) => {
                // Backpressure: wait for the writer to take a group (see the crate docs).
                self.inner
                    .requests
                    .send(request)
                    .map_err(|_| StoreError::Closed)?;
                Ok(receiver)
            }
            Err(TrySendError::Disconnected(_)) => Err(StoreError::Closed),
        }
    }

    fn read<T, F>(&self, read: F) -> impl Future<Output = Result<T, StoreError>> + Send + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    {
        Arc::clone(&self.inner.readers).run(read)
    }
}

/// The path named by a `sqlite://<path>` URL.
pub fn path_from_url(url: &str) -> Result<PathBuf, StoreError> {
    match url.strip_prefix(URL_SCHEME) {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        Some(_) => Err(StoreError::Backend(format!(
            "database URL `{url}` names no file"
        ))),
        None => Err(StoreError::Backend(format!(
            "unsupported database URL `{url}`: expected `{URL_SCHEME}<path>`"
        ))),
    }
}

/// Waits for a reply; a writer that went away without replying has been closed.
async fn reply<T>(
    receiver: Result<oneshot::Receiver<Result<T, StoreError>>, StoreError>,
) -> Result<T, StoreError> {
    receiver?.await.unwrap_or(Err(StoreError::Closed))
}

impl EventStore for SqliteStore {
    fn append(
        &self,
        expected_last: Seq,
        events: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Seq, StoreError>> + Send {
        reply(self.enqueue(|reply| Request::Append {
            expected_last,
            events,
            reply,
        }))
    }

    fn last_seq(&self) -> impl Future<Output = Result<Seq, StoreError>> + Send {
        self.read(read::last_seq)
    }

    fn read_from(
        &self,
        after: Seq,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send {
        self.read(move |conn| read::read_from(conn, after, limit))
    }

    fn save_snapshot(
        &self,
        snapshot: Snapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        reply(self.enqueue(|reply| Request::SaveSnapshot { snapshot, reply }))
    }

    fn load_latest_snapshot(
        &self,
    ) -> impl Future<Output = Result<Option<Snapshot>, StoreError>> + Send {
        self.read(read::latest_snapshot)
    }

    fn close(&self) -> impl Future<Output = Result<(), StoreError>> + Send {
        let receiver = self.enqueue(|reply| Request::Close { reply });
        let readers = Arc::clone(&self.inner.readers);
        async move {
            let result = match reply(receiver).await {
                // Already closed (by this or another handle): closing is idempotent.
                Err(StoreError::Closed) => Ok(()),
                other => other,
            };
            readers.clear();
            result
        }
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("closed", &self.inner.shared.closed.load(Ordering::Relaxed))
            .finish()
    }
}

/// What the handles share. Fields drop in order: the queue's sender first (the writer sees
/// the disconnect, flushes and stops), then the writer thread is joined.
struct Inner {
    requests: SyncSender<Request>,
    readers: Arc<Readers>,
    shared: Arc<Shared>,
    path: PathBuf,
    _writer: WriterThread,
}

/// Joins the writer thread when the last handle goes away.
struct WriterThread(Option<JoinHandle<()>>);

impl Drop for WriterThread {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take()
            && thread.join().is_err()
        {
            tracing::error!("the event store writer thread panicked");
        }
    }
}
