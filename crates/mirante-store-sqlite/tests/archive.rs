//! Runs the session archive port's contract against [`SqliteArchive`], and checks that it
//! shares the event store's file and keeps what it wrote across a reopen.
#![allow(clippy::unwrap_used)]

use mirante_store::EventStore;
use mirante_store::archive::{Checkpoint, SessionArchive, contract};
use mirante_store_sqlite::{Durability, SqliteArchive, SqliteStore};

fn fresh() -> Box<dyn SessionArchive> {
    let dir = tempfile::tempdir().unwrap();
    let archive = SqliteArchive::open(&dir.path().join("mirante.db"), Durability::Normal).unwrap();
    // The directory must outlive the archive; leak it for the test's duration.
    std::mem::forget(dir);
    Box::new(archive)
}

#[test]
fn sqlite_archive_passes_the_contract() {
    contract::run_all(&fresh);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_shares_the_database_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirante.db");
    let events = SqliteStore::open(&path, Durability::Normal).unwrap();
    let archive = SqliteArchive::open(&path, Durability::Normal).unwrap();
    events.append(0, vec![b"e1".to_vec()]).await.unwrap();
    archive
        .record(
            &[contract::archived(1, 7, 1, "s1")],
            Some(&Checkpoint {
                seq: 1,
                payload: b"cp".to_vec(),
            }),
        )
        .unwrap();
    events.append(1, vec![b"e2".to_vec()]).await.unwrap();
    events.close().await.unwrap();
    drop(archive);

    let archive = SqliteArchive::open(&path, Durability::Normal).unwrap();
    assert_eq!(archive.checkpoint().unwrap().unwrap().seq, 1);
    assert_eq!(archive.contact_sessions(7, None, 10).unwrap().len(), 1);
    let events = SqliteStore::open(&path, Durability::Normal).unwrap();
    assert_eq!(events.last_seq().await.unwrap(), 2);
}
