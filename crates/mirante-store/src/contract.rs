//! The contract suite every [`EventStore`] backend must pass.
//!
//! One story, run against every backend (atuin's `db_story` pattern): each property is a
//! public `async fn` taking a [`StoreFactory`], so a backend's test file can run them one
//! `#[test]` each (clear failure reports) or all at once with [`run_all`]. The suite uses no
//! runtime of its own: it only awaits the trait's futures (and joins them with a small
//! std-only combinator), so it runs under whatever executor the backend needs. A violated
//! property panics with a message naming it.
//!
//! Properties checked: an empty log; `append` returning the new last sequence; dense,
//! 1-based sequences with payloads kept byte for byte; atomic batches; fencing
//! ([`StoreError::Conflict`] with both sequences, nothing written); empty batches; windowed
//! reads; pipelined appends (enqueued at call, applied in call order, whatever the order of
//! awaiting); snapshots (latest wins, newer than the log refused); close (queued work
//! finished, then [`StoreError::Closed`]); durability across close + reopen.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::{EventStore, Seq, Snapshot, StoreError, StoredEvent};

/// Opens stores for the suite: a fresh empty one, and the same one again after a close.
pub trait StoreFactory {
    /// The backend under test (a cheap handle: the suite clones it to check shared state).
    type Store: EventStore + Clone;
    /// Where a store lives (a temporary directory, a database name); kept alive by the suite
    /// for as long as the store is used, and handed back to [`StoreFactory::reopen`].
    type Location;

    /// Opens a new, empty store.
    fn fresh(&self) -> impl Future<Output = Result<(Self::Store, Self::Location), StoreError>>;

    /// Opens again the store created by [`StoreFactory::fresh`] at `location`, after the
    /// suite closed it.
    fn reopen(
        &self,
        location: &Self::Location,
    ) -> impl Future<Output = Result<Self::Store, StoreError>>;
}

/// Runs every property of the contract, each on a fresh store.
pub async fn run_all<F: StoreFactory>(factory: &F) {
    empty_log(factory).await;
    append_returns_new_last_seq(factory).await;
    dense_sequence_and_payloads(factory).await;
    fencing(factory).await;
    atomic_batches(factory).await;
    empty_batch(factory).await;
    read_window(factory).await;
    pipelined_appends(factory).await;
    pipelined_fence_failure_is_isolated(factory).await;
    joined_appends(factory).await;
    snapshots(factory).await;
    snapshot_newer_than_log_refused(factory).await;
    closed_store_refuses_work(factory).await;
    close_finishes_queued_work(factory).await;
    survives_reopen(factory).await;
}

/// An empty log is at sequence 0, reads nothing and has no snapshot.
pub async fn empty_log<F: StoreFactory>(factory: &F) {
    let (store, _location) = fresh(factory, "empty_log").await;
    assert_eq!(ok(store.last_seq().await, "empty_log: last_seq"), 0);
    assert!(ok(store.read_from(0, 100).await, "empty_log: read_from").is_empty());
    assert_eq!(
        ok(
            store.load_latest_snapshot().await,
            "empty_log: load snapshot"
        ),
        None
    );
    ok(store.close().await, "empty_log: close");
}

/// `append` returns the log's new last sequence, and `last_seq` agrees.
pub async fn append_returns_new_last_seq<F: StoreFactory>(factory: &F) {
    let (store, _location) = fresh(factory, "append_returns_new_last_seq").await;
    let what = "append_returns_new_last_seq";
    assert_eq!(ok(store.append(0, payloads("a", 3)).await, what), 3);
    assert_eq!(ok(store.last_seq().await, what), 3);
    assert_eq!(ok(store.append(3, payloads("b", 2)).await, what), 5);
    assert_eq!(ok(store.append(5, payloads("c", 1)).await, what), 6);
    assert_eq!(ok(store.last_seq().await, what), 6);
    ok(store.close().await, what);
}

/// Sequences start at 1 and have no gaps; payloads (binary, empty, large) come back exactly.
pub async fn dense_sequence_and_payloads<F: StoreFactory>(factory: &F) {
    let what = "dense_sequence_and_payloads";
    let (store, _location) = fresh(factory, what).await;
    let batches: Vec<Vec<Vec<u8>>> = vec![
        vec![b"first".to_vec()],
        vec![Vec::new(), vec![0, 1, 2, 255, 0], b"{\"k\":\"v\"}".to_vec()],
        payloads("x", 17),
        vec![vec![7u8; 1 << 20]],
        payloads("y", 2),
    ];
    let mut expected: Vec<Vec<u8>> = Vec::new();
    let mut last = 0;
    for batch in batches {
        expected.extend(batch.iter().cloned());
        last = ok(store.append(last, batch).await, what);
        assert_eq!(
            last,
            expected.len() as Seq,
            "{what}: last seq after a batch"
        );
    }
    let events = ok(store.read_from(0, usize::MAX).await, what);
    assert_log_is(&events, &expected, what);
    ok(store.close().await, what);
}

/// A wrong `expected_last` (behind or ahead) is refused with both sequences; nothing is written.
pub async fn fencing<F: StoreFactory>(factory: &F) {
    let what = "fencing";
    let (store, _location) = fresh(factory, what).await;
    ok(store.append(0, payloads("a", 4)).await, what);
    for wrong in [0, 3, 5, 1000] {
        match store.append(wrong, payloads("intruder", 3)).await {
            Err(StoreError::Conflict { expected, actual }) => {
                assert_eq!((expected, actual), (wrong, 4), "{what}: conflict fields");
            }
            other => panic!("{what}: append after {wrong} on a log at 4 gave {other:?}"),
        }
    }
    assert_eq!(ok(store.last_seq().await, what), 4);
    let events = ok(store.read_from(0, 100).await, what);
    assert_log_is(&events, &payloads("a", 4), what);
    // The log still accepts the right fence.
    assert_eq!(ok(store.append(4, payloads("b", 1)).await, what), 5);
    ok(store.close().await, what);
}

/// The log is exactly the concatenation of the accepted batches: a refused batch leaves no
/// event behind, an accepted one is never split.
pub async fn atomic_batches<F: StoreFactory>(factory: &F) {
    let what = "atomic_batches";
    let (store, _location) = fresh(factory, what).await;
    let mut expected = Vec::new();
    let mut last = 0;
    for round in 0..10usize {
        let batch = payloads(&format!("r{round}-"), round + 1);
        if round % 3 == 2 {
            let refused = store.append(last + 1, batch).await;
            assert!(
                matches!(refused, Err(StoreError::Conflict { .. })),
                "{what}: a fenced batch gave {refused:?}"
            );
        } else {
            expected.extend(batch.iter().cloned());
            last = ok(store.append(last, batch).await, what);
        }
    }
    let events = ok(store.read_from(0, usize::MAX).await, what);
    assert_log_is(&events, &expected, what);
    ok(store.close().await, what);
}

/// An empty batch writes nothing but still checks the fence.
pub async fn empty_batch<F: StoreFactory>(factory: &F) {
    let what = "empty_batch";
    let (store, _location) = fresh(factory, what).await;
    assert_eq!(ok(store.append(0, Vec::new()).await, what), 0);
    assert_eq!(ok(store.append(0, payloads("a", 2)).await, what), 2);
    assert_eq!(ok(store.append(2, Vec::new()).await, what), 2);
    match store.append(1, Vec::new()).await {
        Err(StoreError::Conflict {
            expected: 1,
            actual: 2,
        }) => {}
        other => panic!("{what}: an empty batch with a wrong fence gave {other:?}"),
    }
    assert_eq!(ok(store.last_seq().await, what), 2);
    assert_eq!(ok(store.read_from(0, 100).await, what).len(), 2);
    ok(store.close().await, what);
}

/// `read_from(after, limit)` returns up to `limit` events with `seq > after`, in order.
pub async fn read_window<F: StoreFactory>(factory: &F) {
    let what = "read_window";
    let (store, _location) = fresh(factory, what).await;
    let all = payloads("e", 10);
    ok(store.append(0, all.clone()).await, what);
    let seqs = |events: Vec<StoredEvent>| events.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(ok(store.read_from(2, 3).await, what)), vec![3, 4, 5]);
    assert_eq!(seqs(ok(store.read_from(0, 1).await, what)), vec![1]);
    assert_eq!(seqs(ok(store.read_from(8, 100).await, what)), vec![9, 10]);
    assert!(ok(store.read_from(10, 100).await, what).is_empty());
    assert!(ok(store.read_from(50, 100).await, what).is_empty());
    assert!(ok(store.read_from(0, 0).await, what).is_empty());
    let window = ok(store.read_from(4, 2).await, what);
    assert_eq!(
        window,
        vec![
            StoredEvent {
                seq: 5,
                payload: all[4].clone()
            },
            StoredEvent {
                seq: 6,
                payload: all[5].clone()
            },
        ],
        "{what}: payloads of a window"
    );
    ok(store.close().await, what);
}

/// Appends are enqueued when called: batch `k + 1` is issued before batch `k` is awaited,
/// and the acknowledgements are awaited in reverse order (a backend that enqueued on first
/// poll would apply the last batch first and refuse it).
pub async fn pipelined_appends<F: StoreFactory>(factory: &F) {
    let what = "pipelined_appends";
    let (store, _location) = fresh(factory, what).await;
    let mut pending = Vec::new();
    let mut expected = Vec::new();
    let mut last = 0;
    for k in 0..50usize {
        let batch = payloads(&format!("k{k}-"), k % 4 + 1);
        expected.extend(batch.iter().cloned());
        pending.push((store.append(last, batch), expected.len() as Seq));
        last = expected.len() as Seq;
    }
    while let Some((ack, want)) = pending.pop() {
        assert_eq!(ok(ack.await, what), want, "{what}: acknowledged last seq");
    }
    let events = ok(store.read_from(0, usize::MAX).await, what);
    assert_log_is(&events, &expected, what);
    ok(store.close().await, what);
}

/// In a pipeline, a batch with a wrong fence fails alone; the batches around it succeed.
pub async fn pipelined_fence_failure_is_isolated<F: StoreFactory>(factory: &F) {
    let what = "pipelined_fence_failure_is_isolated";
    let (store, _location) = fresh(factory, what).await;
    let first = store.append(0, payloads("a", 2));
    let stale = store.append(0, payloads("stale", 3));
    let third = store.append(2, payloads("c", 1));
    let ahead = store.append(7, payloads("ahead", 1));
    let fifth = store.append(3, payloads("e", 2));
    assert_eq!(ok(first.await, what), 2);
    match stale.await {
        Err(StoreError::Conflict {
            expected: 0,
            actual: 2,
        }) => {}
        other => panic!("{what}: stale fence gave {other:?}"),
    }
    assert_eq!(ok(third.await, what), 3);
    match ahead.await {
        Err(StoreError::Conflict {
            expected: 7,
            actual: 3,
        }) => {}
        other => panic!("{what}: fence ahead of the log gave {other:?}"),
    }
    assert_eq!(ok(fifth.await, what), 5);
    let mut expected = payloads("a", 2);
    expected.extend(payloads("c", 1));
    expected.extend(payloads("e", 2));
    let events = ok(store.read_from(0, usize::MAX).await, what);
    assert_log_is(&events, &expected, what);
    ok(store.close().await, what);
}

/// Many appends issued from one task and awaited together (a join of already-created
/// futures) all succeed, in call order.
pub async fn joined_appends<F: StoreFactory>(factory: &F) {
    let what = "joined_appends";
    let (store, _location) = fresh(factory, what).await;
    let n = 500usize;
    let futures: Vec<_> = (0..n)
        .map(|i| store.append(i as Seq, payloads(&format!("j{i}-"), 1)))
        .collect();
    let acks = join_all(futures).await;
    for (i, ack) in acks.into_iter().enumerate() {
        assert_eq!(ok(ack, what), i as Seq + 1, "{what}: ack of append {i}");
    }
    let events = ok(store.read_from(0, usize::MAX).await, what);
    let expected: Vec<Vec<u8>> = (0..n)
        .flat_map(|i| payloads(&format!("j{i}-"), 1))
        .collect();
    assert_log_is(&events, &expected, what);
    ok(store.close().await, what);
}

/// The latest snapshot is the one with the highest sequence, whatever the order of saving.
pub async fn snapshots<F: StoreFactory>(factory: &F) {
    let what = "snapshots";
    let (store, _location) = fresh(factory, what).await;
    ok(store.save_snapshot(snapshot(0, "genesis")).await, what);
    assert_eq!(
        ok(store.load_latest_snapshot().await, what),
        Some(snapshot(0, "genesis"))
    );
    ok(store.append(0, payloads("a", 5)).await, what);
    ok(store.save_snapshot(snapshot(3, "at three")).await, what);
    assert_eq!(
        ok(store.load_latest_snapshot().await, what),
        Some(snapshot(3, "at three"))
    );
    ok(store.save_snapshot(snapshot(5, "at five")).await, what);
    ok(store.save_snapshot(snapshot(4, "late, older")).await, what);
    assert_eq!(
        ok(store.load_latest_snapshot().await, what),
        Some(snapshot(5, "at five"))
    );
    let big = Snapshot {
        seq: 5,
        payload: vec![42u8; 3 << 20],
    };
    ok(store.save_snapshot(big.clone()).await, what);
    assert_eq!(
        ok(store.load_latest_snapshot().await, what),
        Some(big),
        "{what}: resaved"
    );
    ok(store.close().await, what);
}

/// A snapshot newer than the log is refused with [`StoreError::Conflict`] carrying the
/// snapshot's sequence as `expected` and the log's as `actual`; nothing is stored.
pub async fn snapshot_newer_than_log_refused<F: StoreFactory>(factory: &F) {
    let what = "snapshot_newer_than_log_refused";
    let (store, _location) = fresh(factory, what).await;
    match store.save_snapshot(snapshot(1, "from the future")).await {
        Err(StoreError::Conflict {
            expected: 1,
            actual: 0,
        }) => {}
        other => panic!("{what}: snapshot at 1 on an empty log gave {other:?}"),
    }
    ok(store.append(0, payloads("a", 3)).await, what);
    ok(store.save_snapshot(snapshot(2, "ok")).await, what);
    match store.save_snapshot(snapshot(9, "from the future")).await {
        Err(StoreError::Conflict {
            expected: 9,
            actual: 3,
        }) => {}
        other => panic!("{what}: snapshot at 9 on a log at 3 gave {other:?}"),
    }
    assert_eq!(
        ok(store.load_latest_snapshot().await, what),
        Some(snapshot(2, "ok"))
    );
    ok(store.close().await, what);
}

/// After `close`, every operation (through any clone of the handle) fails with
/// [`StoreError::Closed`]; closing again is a no-op.
pub async fn closed_store_refuses_work<F: StoreFactory>(factory: &F) {
    let what = "closed_store_refuses_work";
    let (store, _location) = fresh(factory, what).await;
    let other = store.clone();
    ok(store.append(0, payloads("a", 1)).await, what);
    ok(other.close().await, what);
    let closed = |r: &Result<(), StoreError>| matches!(r, Err(StoreError::Closed));
    let results = [
        store.append(1, payloads("b", 1)).await.map(drop),
        store.append(1, Vec::new()).await.map(drop),
        store.last_seq().await.map(drop),
        store.read_from(0, 10).await.map(drop),
        store.save_snapshot(snapshot(1, "s")).await,
        store.load_latest_snapshot().await.map(drop),
    ];
    for (i, result) in results.iter().enumerate() {
        assert!(
            closed(result),
            "{what}: operation {i} after close gave {result:?}"
        );
    }
    ok(
        store.close().await,
        "closed_store_refuses_work: second close",
    );
}

/// `close` finishes the work queued before it: an append called (not yet awaited) before
/// `close` is acknowledged and durable.
pub async fn close_finishes_queued_work<F: StoreFactory>(factory: &F) {
    let what = "close_finishes_queued_work";
    let (store, location) = fresh(factory, what).await;
    let first = store.append(0, payloads("a", 2));
    let second = store.append(2, payloads("b", 3));
    ok(store.close().await, what);
    assert_eq!(ok(first.await, what), 2);
    assert_eq!(ok(second.await, what), 5);
    drop(store);
    let store = reopen(factory, &location, what).await;
    assert_eq!(ok(store.last_seq().await, what), 5);
    ok(store.close().await, what);
}

/// Events, snapshots and the fence survive close + reopen.
pub async fn survives_reopen<F: StoreFactory>(factory: &F) {
    let what = "survives_reopen";
    let (store, location) = fresh(factory, what).await;
    let mut expected = payloads("a", 7);
    ok(store.append(0, expected.clone()).await, what);
    ok(store.save_snapshot(snapshot(6, "six")).await, what);
    expected.extend(payloads("b", 2));
    ok(store.append(7, payloads("b", 2)).await, what);
    ok(store.close().await, what);
    drop(store);

    let store = reopen(factory, &location, what).await;
    assert_eq!(ok(store.last_seq().await, what), 9);
    assert_log_is(
        &ok(store.read_from(0, usize::MAX).await, what),
        &expected,
        what,
    );
    assert_eq!(
        ok(store.load_latest_snapshot().await, what),
        Some(snapshot(6, "six"))
    );
    match store.append(0, payloads("stale", 1)).await {
        Err(StoreError::Conflict {
            expected: 0,
            actual: 9,
        }) => {}
        other => panic!("{what}: stale fence after reopen gave {other:?}"),
    }
    assert_eq!(ok(store.append(9, payloads("c", 1)).await, what), 10);
    ok(store.close().await, what);
    drop(store);

    let store = reopen(factory, &location, what).await;
    assert_eq!(ok(store.last_seq().await, what), 10);
    ok(store.close().await, what);
}

/// `count` distinct payloads `{prefix}{i}` shaped like small JSON events.
pub fn payloads(prefix: &str, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| format!("{{\"type\":\"test\",\"id\":\"{prefix}{i}\"}}").into_bytes())
        .collect()
}

/// Polls every future with the caller's waker until all are ready; outputs in input order.
/// Std-only, so the suite stays free of any runtime or `futures` dependency.
pub fn join_all<F: Future>(futures: Vec<F>) -> impl Future<Output = Vec<F::Output>> {
    JoinAll {
        pending: futures.into_iter().map(|f| Some(Box::pin(f))).collect(),
        outputs: Vec::new(),
    }
}

struct JoinAll<F: Future> {
    pending: Vec<Option<Pin<Box<F>>>>,
    outputs: Vec<Option<F::Output>>,
}

// The futures are boxed and the outputs are never pinned, so moving the struct is sound.
impl<F: Future> Unpin for JoinAll<F> {}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.outputs.len() != this.pending.len() {
            this.outputs = this.pending.iter().map(|_| None).collect();
        }
        let mut all_done = true;
        for (slot, output) in this.pending.iter_mut().zip(this.outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            Poll::Ready(this.outputs.iter_mut().filter_map(Option::take).collect())
        } else {
            Poll::Pending
        }
    }
}

fn snapshot(seq: Seq, text: &str) -> Snapshot {
    Snapshot {
        seq,
        payload: text.as_bytes().to_vec(),
    }
}

fn ok<T>(result: Result<T, StoreError>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what}: unexpected store error: {error} ({error:?})"),
    }
}

async fn fresh<F: StoreFactory>(factory: &F, what: &str) -> (F::Store, F::Location) {
    ok(
        factory.fresh().await,
        &format!("{what}: open a fresh store"),
    )
}

async fn reopen<F: StoreFactory>(factory: &F, location: &F::Location, what: &str) -> F::Store {
    ok(
        factory.reopen(location).await,
        &format!("{what}: reopen the store"),
    )
}

fn assert_log_is(events: &[StoredEvent], expected: &[Vec<u8>], what: &str) {
    assert_eq!(
        events.len(),
        expected.len(),
        "{what}: number of events in the log"
    );
    for (i, (event, payload)) in events.iter().zip(expected).enumerate() {
        assert_eq!(
            event.seq,
            i as Seq + 1,
            "{what}: sequence of the event at index {i}"
        );
        assert!(
            event.payload == *payload,
            "{what}: payload of seq {} differs",
            event.seq
        );
    }
}
