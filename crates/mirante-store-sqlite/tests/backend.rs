//! Behaviour specific to the SQLite backend, beyond the port's contract: URLs, schema
//! versioning, refusing foreign files, snapshot pruning, group commit, clean shutdown.

use std::path::{Path, PathBuf};

use mirante_store::contract::payloads;
use mirante_store::{Durability, EventStore, Snapshot, StoreError};
use mirante_store_sqlite::{KEPT_SNAPSHOTS, SqliteStore, path_from_url};
use rusqlite::Connection;
use tempfile::TempDir;

fn db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("events.db");
    (dir, path)
}

fn wal(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

#[test]
fn urls_name_a_path() {
    assert_eq!(
        path_from_url("sqlite://mirante-data/m.db").unwrap(),
        PathBuf::from("mirante-data/m.db")
    );
    assert_eq!(
        path_from_url("sqlite:///var/lib/m.db").unwrap(),
        PathBuf::from("/var/lib/m.db")
    );
    for bad in ["sqlite://", "postgres://host/db", "m.db", "sqlite:m.db"] {
        let err = path_from_url(bad).unwrap_err();
        assert!(matches!(err, StoreError::Backend(_)), "{bad}: {err:?}");
        assert!(
            err.to_string().contains(bad),
            "the message names the URL: {err}"
        );
    }
}

#[tokio::test]
async fn open_url_creates_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/m.db");
    let store =
        SqliteStore::open_url(&format!("sqlite://{}", path.display()), Durability::Full).unwrap();
    assert_eq!(store.path(), path);
    assert_eq!(store.append(0, payloads("a", 2)).await.unwrap(), 2);
    store.close().await.unwrap();
    assert!(path.exists());
}

#[test]
fn a_schema_newer_than_known_is_refused() {
    let (_dir, path) = db();
    drop(SqliteStore::open(&path, Durability::Normal).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let err = SqliteStore::open(&path, Durability::Normal).unwrap_err();
    match &err {
        StoreError::Corrupt(message) => {
            assert!(
                message.contains("999") && message.contains("newer"),
                "{message}"
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let (_dir, path) = db();
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    let err = SqliteStore::open(&path, Durability::Normal).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}

#[test]
fn another_applications_database_is_refused_untouched() {
    let (_dir, path) = db();
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY);")
        .unwrap();
    drop(conn);
    let err = SqliteStore::open(&path, Durability::Normal).unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt(ref m) if m.contains("not a Mirante database")),
        "{err:?}"
    );
    let conn = Connection::open(&path).unwrap();
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 1, "the foreign database was not modified");
}

#[tokio::test]
async fn only_the_newest_snapshots_are_kept() {
    let (_dir, path) = db();
    let store = SqliteStore::open(&path, Durability::Normal).unwrap();
    store.append(0, payloads("a", 10)).await.unwrap();
    for seq in [2, 4, 6, 8] {
        store
            .save_snapshot(Snapshot {
                seq,
                payload: vec![seq as u8; 100],
            })
            .await
            .unwrap();
    }
    let latest = store.load_latest_snapshot().await.unwrap().unwrap();
    assert_eq!(latest.seq, 8);
    store.close().await.unwrap();
    let conn = Connection::open(&path).unwrap();
    let mut stmt = conn
        .prepare("SELECT seq FROM snapshots ORDER BY seq")
        .unwrap();
    let kept: Vec<i64> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kept.len(), KEPT_SNAPSHOTS);
    assert_eq!(kept, vec![6, 8]);
}

#[tokio::test]
async fn pipelined_appends_share_commits() {
    let (_dir, path) = db();
    let store = SqliteStore::open(&path, Durability::Full).unwrap();
    let n = 2000u64;
    let acks: Vec<_> = (0..n).map(|i| store.append(i, payloads("p", 1))).collect();
    for (i, ack) in acks.into_iter().enumerate() {
        assert_eq!(ack.await.unwrap(), i as u64 + 1);
    }
    let stats = store.stats();
    assert_eq!(stats.events, n);
    assert_eq!(stats.requests, n);
    assert!(
        stats.commits < n && stats.largest_commit > 1,
        "2000 appends queued at once were committed one by one: {stats:?}"
    );
    store.close().await.unwrap();
}

#[tokio::test]
async fn close_checkpoints_the_wal_and_releases_the_file() {
    let (_dir, path) = db();
    let store = SqliteStore::open(&path, Durability::Full).unwrap();
    store.append(0, payloads("a", 100)).await.unwrap();
    assert_eq!(store.read_from(0, 1).await.unwrap().len(), 1);
    assert!(wal(&path).exists(), "WAL mode is on");
    store.close().await.unwrap();
    assert!(
        !wal(&path).exists(),
        "the WAL was checkpointed and removed on close"
    );
    // Everything is in the main file: a plain connection sees it.
    let conn = Connection::open(&path).unwrap();
    let count: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 100);
}

#[tokio::test]
async fn dropping_the_last_handle_flushes_and_stops_the_writer() {
    let (_dir, path) = db();
    let store = SqliteStore::open(&path, Durability::Normal).unwrap();
    let clone = store.clone();
    let ack = clone.append(0, payloads("a", 3));
    drop(store);
    // The remaining handle still works.
    assert_eq!(ack.await.unwrap(), 3);
    assert_eq!(clone.append(3, payloads("b", 1)).await.unwrap(), 4);
    drop(clone);
    // The writer thread was joined: its connection is closed and the WAL removed.
    assert!(!wal(&path).exists());
    let store = SqliteStore::open(&path, Durability::Normal).unwrap();
    assert_eq!(store.last_seq().await.unwrap(), 4);
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_second_writer_on_the_same_file_is_fenced() {
    let (_dir, path) = db();
    let first = SqliteStore::open(&path, Durability::Normal).unwrap();
    let second = SqliteStore::open(&path, Durability::Normal).unwrap();
    assert_eq!(first.append(0, payloads("a", 2)).await.unwrap(), 2);
    // The second writer believes the log is empty: it is fenced out, nothing written.
    match second.append(0, payloads("b", 5)).await {
        Err(StoreError::Conflict {
            expected: 0,
            actual: 2,
        }) => {}
        other => panic!("second writer was not fenced: {other:?}"),
    }
    assert_eq!(first.last_seq().await.unwrap(), 2);
    second.close().await.unwrap();
    first.close().await.unwrap();
}
