//! Many tasks writing at once: pipelined appends with correct fences are all acknowledged
//! and all present; racing writers with stale fences lose cleanly (nothing half-written).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use mirante_store::{Durability, EventStore, StoreError};
use mirante_store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipelined_tasks_are_all_acknowledged_and_all_present() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("events.db"), Durability::Normal).unwrap();
    // The next expected fence, shared by the tasks; held only to *issue* an append (which
    // enqueues synchronously), never across an await.
    let next = Arc::new(Mutex::new(0u64));
    let tasks = 16usize;
    let appends_per_task = 300usize;
    let mut handles = Vec::new();
    for task in 0..tasks {
        let store = store.clone();
        let next = Arc::clone(&next);
        handles.push(tokio::spawn(async move {
            let mut in_flight = VecDeque::new();
            let mut acknowledged = Vec::new();
            for i in 0..appends_per_task {
                let size = (task + i) % 3 + 1;
                let batch: Vec<Vec<u8>> = (0..size)
                    .map(|j| format!("t{task}-a{i}-e{j}").into_bytes())
                    .collect();
                let (ack, want) = {
                    let mut next = next.lock().unwrap();
                    let ack = store.append(*next, batch.clone());
                    *next += size as u64;
                    (ack, *next)
                };
                in_flight.push_back((ack, want, batch));
                if in_flight.len() >= 8 {
                    let (ack, want, batch) = in_flight.pop_front().unwrap();
                    assert_eq!(ack.await.unwrap(), want);
                    acknowledged.push((want, batch));
                }
                if i % 50 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            while let Some((ack, want, batch)) = in_flight.pop_front() {
                assert_eq!(ack.await.unwrap(), want);
                acknowledged.push((want, batch));
            }
            acknowledged
        }));
    }
    let mut expected = HashMap::new();
    for handle in handles {
        for (last, batch) in handle.await.unwrap() {
            let first = last - batch.len() as u64 + 1;
            for (seq, payload) in (first..=last).zip(batch) {
                assert!(
                    expected.insert(seq, payload).is_none(),
                    "seq {seq} acknowledged twice"
                );
            }
        }
    }
    let total = *next.lock().unwrap();
    assert_eq!(expected.len() as u64, total);
    assert_eq!(store.last_seq().await.unwrap(), total);
    let events = store.read_from(0, usize::MAX).await.unwrap();
    assert_eq!(events.len() as u64, total);
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.seq, i as u64 + 1, "dense log");
        assert_eq!(
            Some(&event.payload),
            expected.get(&event.seq),
            "payload of seq {}",
            event.seq
        );
    }
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_with_stale_fences_lose_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("events.db"), Durability::Normal).unwrap();
    let mut handles = Vec::new();
    for task in 0..8usize {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut won = Vec::new();
            let mut conflicts = 0;
            for round in 0..40usize {
                let last = store.last_seq().await.unwrap();
                let batch: Vec<Vec<u8>> = (0..4)
                    .map(|j| format!("t{task}-r{round}-e{j}").into_bytes())
                    .collect();
                match store.append(last, batch.clone()).await {
                    Ok(new_last) => {
                        assert_eq!(new_last, last + 4);
                        won.push((new_last, batch));
                    }
                    Err(StoreError::Conflict { expected, actual }) => {
                        assert_eq!(expected, last);
                        assert!(actual > last, "a conflict means someone else appended");
                        conflicts += 1;
                    }
                    Err(other) => panic!("unexpected error {other:?}"),
                }
            }
            (won, conflicts)
        }));
    }
    let mut expected = HashMap::new();
    for handle in handles {
        let (won, _conflicts) = handle.await.unwrap();
        for (last, batch) in won {
            for (seq, payload) in (last - 3..=last).zip(batch) {
                assert!(expected.insert(seq, payload).is_none());
            }
        }
    }
    let events = store.read_from(0, usize::MAX).await.unwrap();
    assert_eq!(
        events.len(),
        expected.len(),
        "the log holds exactly the winning batches"
    );
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.seq, i as u64 + 1);
        assert_eq!(Some(&event.payload), expected.get(&event.seq));
    }
    store.close().await.unwrap();
}
