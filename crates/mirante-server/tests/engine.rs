//! The engine task: group commit acknowledges only durable work, restarts rebuild the same
//! state (snapshot + tail == full replay == live), a failed append is recovered from, and
//! time-driven transitions fire on their own.
#![allow(clippy::unwrap_used)]

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{center, cmd, customer_message, ok, traffic};
use mirante_core::{Core, EventKind, Timestamp};
use mirante_server::engine::{Clock, Engine, EngineConfig, EngineError, ManualClock, recover};
use mirante_store::memory::MemoryStore;
use mirante_store::{EventStore, Seq, Snapshot, StoreError, StoredEvent};
use serde_json::json;
use tokio::sync::Semaphore;

const T0: Timestamp = Timestamp(1_790_000_000_000);

fn config() -> EngineConfig {
    EngineConfig {
        snapshot_every: 0,
        snapshot_on_shutdown: false,
        ..EngineConfig::default()
    }
}

async fn start<S: EventStore>(store: S, config: EngineConfig) -> Engine {
    Engine::start(store, ManualClock::at(T0), config)
        .await
        .unwrap()
}

async fn live_core(engine: &Engine) -> (Core, Seq) {
    engine
        .handle
        .read(|core, seq| (core.clone(), seq))
        .await
        .unwrap()
}

async fn stop(engine: Engine) {
    engine.handle.shutdown().await.unwrap();
    engine.task.await.unwrap();
}

/// A store whose appends are registered when called but complete only when the test
/// releases a permit.
#[derive(Clone)]
struct GatedStore {
    inner: MemoryStore,
    gate: Arc<Semaphore>,
    appends: Arc<AtomicUsize>,
}

impl EventStore for GatedStore {
    fn append(
        &self,
        expected_last: Seq,
        events: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Seq, StoreError>> + Send {
        self.appends.fetch_add(1, Ordering::SeqCst);
        let written = self.inner.append(expected_last, events);
        let gate = Arc::clone(&self.gate);
        async move {
            gate.acquire().await.unwrap().forget();
            written.await
        }
    }
    fn last_seq(&self) -> impl Future<Output = Result<Seq, StoreError>> + Send {
        self.inner.last_seq()
    }
    fn read_from(
        &self,
        after: Seq,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send {
        self.inner.read_from(after, limit)
    }
    fn save_snapshot(
        &self,
        snapshot: Snapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.save_snapshot(snapshot)
    }
    fn load_latest_snapshot(
        &self,
    ) -> impl Future<Output = Result<Option<Snapshot>, StoreError>> + Send {
        self.inner.load_latest_snapshot()
    }
    fn close(&self) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.close()
    }
}

#[tokio::test]
async fn group_commit_replies_only_after_the_append_is_durable() {
    let store = GatedStore {
        inner: MemoryStore::new(),
        gate: Arc::new(Semaphore::new(0)),
        appends: Arc::default(),
    };
    let engine = start(store.clone(), config()).await;
    let clients: Vec<_> = (0..50)
        .map(|i| {
            let handle = engine.handle.clone();
            tokio::spawn(async move {
                handle
                    .execute(cmd(json!({"type": "create_team", "name": format!("t{i}")})))
                    .await
            })
        })
        .collect();
    // Let every client reach the engine and the engine issue what it can.
    while store.appends.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert!(
        clients.iter().all(|c| !c.is_finished()),
        "a reply went out before its append completed"
    );
    assert_eq!(engine.handle.durable_seq(), 0);

    store.gate.add_permits(1_000);
    let mut seqs = Vec::new();
    for client in clients {
        let executed = client.await.unwrap().unwrap();
        assert_eq!(executed.events.len(), 1);
        seqs.push(executed.seq);
    }
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=50).collect::<Vec<Seq>>(),
        "each command got its own dense sequence"
    );
    let appends = store.appends.load(Ordering::SeqCst);
    assert!(
        appends < 50,
        "50 concurrent commands were grouped into fewer appends ({appends})"
    );
    assert_eq!(store.inner.last_seq().await.unwrap(), 50);
    stop(engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_is_sent_only_after_its_sequence_is_published() {
    // Read your writes: whoever gets an answer and then asks for the durable sequence (a
    // `/healthz`, a follow or history read waiting on it) sees at least the answer's seq.
    let engine = start(MemoryStore::new(), config()).await;
    let clients: Vec<_> = (0..200)
        .map(|i| {
            let handle = engine.handle.clone();
            tokio::spawn(async move {
                let executed = handle
                    .execute(cmd(json!({"type": "create_team", "name": format!("t{i}")})))
                    .await
                    .unwrap();
                (executed.seq, handle.durable_seq())
            })
        })
        .collect();
    for client in clients {
        let (seq, durable) = client.await.unwrap();
        assert!(
            durable >= seq,
            "answered seq {seq} before publishing it ({durable})"
        );
    }
    stop(engine).await;
}

#[tokio::test]
async fn domain_errors_are_answered_and_write_nothing() {
    let store = MemoryStore::new();
    let engine = start(store.clone(), config()).await;
    let refused = engine
        .handle
        .execute(cmd(json!({"type": "agent_login", "agent": 999})))
        .await;
    match refused {
        Err(EngineError::Domain(error)) => assert!(error.is_not_found(), "{error:?}"),
        other => panic!("expected a domain error, got {other:?}"),
    }
    assert_eq!(store.last_seq().await.unwrap(), 0);
    stop(engine).await;
}

#[tokio::test]
async fn restart_rebuilds_the_same_state_and_snapshot_plus_tail_equals_full_replay() {
    let store = MemoryStore::new();

    // First life: set-up and traffic, with a snapshot on shutdown.
    let first = start(
        store.clone(),
        EngineConfig {
            snapshot_on_shutdown: true,
            ..config()
        },
    )
    .await;
    let c = center(&first.handle, json!({}), 3).await;
    traffic(&first.handle, &c, 20).await;
    let (_, snapshot_seq) = live_core(&first).await;
    stop(first).await;

    // Second life: more traffic, no snapshot.
    let second = start(store.reopen(), config()).await;
    traffic(&second.handle, &c, 15).await;
    let (live, seq) = live_core(&second).await;
    stop(second).await;
    assert!(seq > snapshot_seq);

    let store = store.reopen();
    let from_snapshot = recover(&store, true).await.unwrap();
    assert_eq!(from_snapshot.snapshot_seq, snapshot_seq);
    assert_eq!(from_snapshot.replayed, seq - snapshot_seq);
    let full = recover(&store, false).await.unwrap();
    assert_eq!(full.snapshot_seq, 0);
    assert_eq!(full.replayed, seq);
    assert_eq!(from_snapshot.seq, seq);
    assert!(
        from_snapshot.core == full.core,
        "snapshot + tail differs from full replay"
    );
    assert!(full.core == live, "replay differs from the live state");

    // Third life: it starts where the second stopped.
    let third = start(store, config()).await;
    let (restarted, restarted_seq) = live_core(&third).await;
    assert_eq!(restarted_seq, seq);
    assert!(restarted == live);
    stop(third).await;
}

#[tokio::test]
async fn snapshots_are_taken_in_the_background_every_n_events() {
    let store = MemoryStore::new();
    let engine = start(
        store.clone(),
        EngineConfig {
            snapshot_every: 10,
            ..config()
        },
    )
    .await;
    let c = center(&engine.handle, json!({}), 2).await;
    traffic(&engine.handle, &c, 30).await;
    let (live, seq) = live_core(&engine).await;
    stop(engine).await;
    let snapshot = store
        .reopen()
        .load_latest_snapshot()
        .await
        .unwrap()
        .unwrap();
    assert!(snapshot.seq > 0 && snapshot.seq <= seq);
    assert!(
        snapshot.seq >= 10,
        "the first snapshot comes after 10 events"
    );
    let recovered = recover(&store.reopen(), true).await.unwrap();
    assert_eq!(recovered.snapshot_seq, snapshot.seq);
    assert!(recovered.core == live);
}

/// A store that fails one chosen append (writing nothing).
#[derive(Clone)]
struct FlakyStore {
    inner: MemoryStore,
    appends: Arc<AtomicUsize>,
    fail_at: usize,
}

impl EventStore for FlakyStore {
    fn append(
        &self,
        expected_last: Seq,
        events: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Seq, StoreError>> + Send {
        let n = self.appends.fetch_add(1, Ordering::SeqCst);
        let inner = self.inner.clone();
        let fail = n == self.fail_at;
        async move {
            if fail {
                Err(StoreError::Backend("disk on fire".into()))
            } else {
                inner.append(expected_last, events).await
            }
        }
    }
    fn last_seq(&self) -> impl Future<Output = Result<Seq, StoreError>> + Send {
        self.inner.last_seq()
    }
    fn read_from(
        &self,
        after: Seq,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send {
        self.inner.read_from(after, limit)
    }
    fn save_snapshot(
        &self,
        snapshot: Snapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.save_snapshot(snapshot)
    }
    fn load_latest_snapshot(
        &self,
    ) -> impl Future<Output = Result<Option<Snapshot>, StoreError>> + Send {
        self.inner.load_latest_snapshot()
    }
    fn close(&self) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.close()
    }
}

#[tokio::test]
async fn a_failed_append_is_refused_and_the_state_is_rebuilt_from_the_store() {
    let store = FlakyStore {
        inner: MemoryStore::new(),
        appends: Arc::default(),
        fail_at: 2,
    };
    let engine = start(store.clone(), config()).await;
    ok(&engine.handle, json!({"type": "create_team", "name": "A"})).await;
    ok(&engine.handle, json!({"type": "create_team", "name": "B"})).await;
    let lost = engine
        .handle
        .execute(cmd(json!({"type": "create_team", "name": "Lost"})))
        .await;
    assert!(
        matches!(lost, Err(EngineError::Store(StoreError::Backend(_)))),
        "{lost:?}"
    );

    // The engine goes on from the log's state: the lost team does not exist, and the next
    // team takes the id the lost one had.
    let retried = ok(&engine.handle, json!({"type": "create_team", "name": "C"})).await;
    assert_eq!(retried.seq, 3);
    let (live, seq) = live_core(&engine).await;
    assert_eq!(seq, 3);
    let names: Vec<_> = live
        .state()
        .teams
        .values()
        .map(|t| t.config.name.clone())
        .collect();
    assert_eq!(names, ["A", "B", "C"]);
    let replayed = recover(&store.inner, false).await.unwrap();
    assert!(replayed.core == live);
    stop(engine).await;
}

/// Time that moves with Tokio's (paused) clock.
struct TokioClock {
    origin: Timestamp,
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        self.origin.plus_ms(self.start.elapsed().as_millis() as i64)
    }
}

#[tokio::test(start_paused = true)]
async fn time_driven_transitions_fire_at_their_deadline() {
    let store = MemoryStore::new();
    let clock = TokioClock {
        origin: T0,
        start: tokio::time::Instant::now(),
    };
    let engine = Engine::start(
        store.clone(),
        clock,
        // On this test's paused time.
        EngineConfig {
            own_thread: false,
            ..config()
        },
    )
    .await
    .unwrap();
    // No agent online and a max wait without overflow: the session is finished as lost.
    let c = center(&engine.handle, json!({"max_wait_ms": 60_000}), 0).await;
    let mut committed = engine.handle.subscribe();
    let started = customer_message(&engine.handle, &c, "5511911112222", "oi").await;
    assert!(
        started
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::SessionQueued { .. }))
    );
    let finished = loop {
        let event = committed.recv().await.unwrap();
        if let EventKind::SessionFinished { .. } = &event.event.kind {
            break event;
        }
    };
    assert!(
        finished.event.at.since(started.events[0].at) >= 60_000,
        "finished at {:?}",
        finished.event.at
    );
    assert_eq!(store.last_seq().await.unwrap(), engine.handle.durable_seq());
    stop(engine).await;
}
