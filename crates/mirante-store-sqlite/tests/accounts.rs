//! Runs the accounts port's contract against [`SqliteAccounts`], and checks what only the
//! SQLite backend can: it shares the event store's file without disturbing it, and the
//! audit log refuses updates and deletes even through raw SQL.
#![allow(clippy::unwrap_used)]

use mirante_store::EventStore;
use mirante_store::accounts::{AccountStore, AuditEntry, contract};
use mirante_store_sqlite::{Durability, SqliteAccounts, SqliteStore};

fn fresh() -> Box<dyn AccountStore> {
    let dir = tempfile::tempdir().unwrap();
    let accounts =
        SqliteAccounts::open(&dir.path().join("mirante.db"), Durability::Normal).unwrap();
    // The directory must outlive the store; leak it for the test's duration.
    std::mem::forget(dir);
    Box::new(accounts)
}

#[test]
fn sqlite_accounts_pass_the_contract() {
    contract::run_all(&fresh);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_share_the_database_with_the_event_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirante.db");
    let events = SqliteStore::open(&path, Durability::Normal).unwrap();
    let accounts = SqliteAccounts::open(&path, Durability::Normal).unwrap();
    let entry = AuditEntry {
        id: 0,
        at_ms: 1,
        actor: "cli".into(),
        action: "user.create".into(),
        target: "user:1".into(),
        outcome: "ok".into(),
        addr: None,
        team: None,
        detail: None,
    };
    let mut last = 0;
    for i in 0..20 {
        last = events
            .append(last, vec![format!("e{i}").into_bytes()])
            .await
            .unwrap();
        accounts.append_audit(&entry).unwrap();
    }
    assert_eq!(events.last_seq().await.unwrap(), 20);
    events.close().await.unwrap();
    drop(accounts);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 20);
    assert!(
        conn.execute("UPDATE audit_log SET outcome = 'x'", [])
            .is_err()
    );
    assert!(conn.execute("DELETE FROM audit_log", []).is_err());
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5);
}
