//! An in-memory [`EventStore`]: the reference implementation of the port's contract, and a
//! fast test double for the shell's tests (no disk, no threads, no runtime).
//!
//! Nothing survives the process; [`MemoryStore::reopen`] gives a new open handle onto the
//! same data, which is how the contract's reopen properties run against it.

use std::collections::BTreeMap;
use std::future::{Future, ready};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{EventStore, Seq, Snapshot, StoreError, StoredEvent};

/// How many snapshots are kept (the newest ones), as in the SQLite backend.
const KEPT_SNAPSHOTS: usize = 2;

/// A cheap-to-clone handle onto an in-memory log. Every operation completes when called.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    data: Arc<Mutex<Data>>,
    closed: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
struct Data {
    events: Vec<Vec<u8>>,
    snapshots: BTreeMap<Seq, Vec<u8>>,
}

impl MemoryStore {
    /// An empty, open store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new open handle onto the same data (as if the store were closed and opened again).
    pub fn reopen(&self) -> Self {
        Self {
            data: Arc::clone(&self.data),
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    fn data(&self) -> Result<MutexGuard<'_, Data>, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        Ok(self.data.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl EventStore for MemoryStore {
    fn append(
        &self,
        expected_last: Seq,
        events: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Seq, StoreError>> + Send {
        let result = self.data().and_then(|mut data| {
            let actual = data.events.len() as Seq;
            if actual != expected_last {
                return Err(StoreError::Conflict {
                    expected: expected_last,
                    actual,
                });
            }
            data.events.extend(events);
            Ok(data.events.len() as Seq)
        });
        ready(result)
    }

    fn last_seq(&self) -> impl Future<Output = Result<Seq, StoreError>> + Send {
        ready(self.data().map(|data| data.events.len() as Seq))
    }

    fn read_from(
        &self,
        after: Seq,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send {
        let result = self.data().map(|data| {
            let start = usize::try_from(after)
                .unwrap_or(usize::MAX)
                .min(data.events.len());
            data.events[start..]
                .iter()
                .take(limit)
                .zip(after + 1..)
                .map(|(payload, seq)| StoredEvent {
                    seq,
                    payload: payload.clone(),
                })
                .collect()
        });
        ready(result)
    }

    fn save_snapshot(
        &self,
        snapshot: Snapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let result = self.data().and_then(|mut data| {
            let actual = data.events.len() as Seq;
            if snapshot.seq > actual {
                return Err(StoreError::Conflict {
                    expected: snapshot.seq,
                    actual,
                });
            }
            data.snapshots.insert(snapshot.seq, snapshot.payload);
            while data.snapshots.len() > KEPT_SNAPSHOTS {
                data.snapshots.pop_first();
            }
            Ok(())
        });
        ready(result)
    }

    fn load_latest_snapshot(
        &self,
    ) -> impl Future<Output = Result<Option<Snapshot>, StoreError>> + Send {
        let result = self.data().map(|data| {
            data.snapshots
                .last_key_value()
                .map(|(seq, payload)| Snapshot {
                    seq: *seq,
                    payload: payload.clone(),
                })
        });
        ready(result)
    }

    fn close(&self) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.closed.store(true, Ordering::Release);
        ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    use std::thread::{self, Thread};

    use super::MemoryStore;
    use crate::StoreError;
    use crate::contract::{self, StoreFactory};

    struct Factory;

    impl StoreFactory for Factory {
        type Store = MemoryStore;
        type Location = MemoryStore;

        async fn fresh(&self) -> Result<(MemoryStore, MemoryStore), StoreError> {
            let store = MemoryStore::new();
            Ok((store.clone(), store))
        }

        async fn reopen(&self, location: &MemoryStore) -> Result<MemoryStore, StoreError> {
            Ok(location.reopen())
        }
    }

    /// A minimal executor: the suite must run on any, this one included.
    fn block_on<F: Future>(future: F) -> F::Output {
        struct Unpark(Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            match future.as_mut().poll(&mut cx) {
                Poll::Ready(output) => return output,
                Poll::Pending => thread::park(),
            }
        }
    }

    #[test]
    fn memory_store_passes_the_contract() {
        block_on(contract::run_all(&Factory));
    }
}
