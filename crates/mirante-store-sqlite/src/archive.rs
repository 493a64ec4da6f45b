//! The session archive port ([`SessionArchive`]) on the same SQLite file as the event log,
//! through its **own** connection, like the accounts: the records task writes one small
//! transaction per batch of folded events (the sessions that finished in it, now and then
//! a checkpoint), taking SQLite's write lock briefly instead of going through the event
//! writer's queue. Calls are blocking; the server runs them on Tokio's blocking pool.
//! Schema: migration 5 (`session_archive` by session with an index by contact,
//! `records_checkpoint` with a single row).

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use mirante_store::archive::{ArchivedSession, Checkpoint, SessionArchive};
use mirante_store::{Durability, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::schema::{open_accounts, sql_err};

/// The session archive of one Mirante database.
pub struct SqliteArchive {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteArchive").finish_non_exhaustive()
    }
}

impl SqliteArchive {
    /// Opens (creating and migrating if needed) the archive of the database at `path`.
    pub fn open(path: &Path, durability: Durability) -> Result<SqliteArchive, StoreError> {
        // The accounts' connection setup (WAL, busy_timeout, migrations) is what this needs.
        let conn = open_accounts(path, durability)?;
        Ok(SqliteArchive {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn uint(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

const COLS: &str = "session, contact, seq, payload";
fn archived_row(row: &Row<'_>) -> rusqlite::Result<ArchivedSession> {
    Ok(ArchivedSession {
        session: uint(row.get(0)?),
        contact: uint(row.get(1)?),
        seq: uint(row.get(2)?),
        payload: row.get(3)?,
    })
}

impl SessionArchive for SqliteArchive {
    fn record(
        &self,
        sessions: &[ArchivedSession],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        if sessions.is_empty() && checkpoint.is_none() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql_err("starting an archive write"))?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO session_archive (session, contact, seq, payload)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(sql_err("preparing the archive insert"))?;
            for s in sessions {
                insert
                    .execute(params![
                        int(s.session),
                        int(s.contact),
                        int(s.seq),
                        s.payload
                    ])
                    .map_err(sql_err("archiving a session"))?;
            }
            if let Some(c) = checkpoint {
                tx.execute(
                    "INSERT INTO records_checkpoint (id, seq, payload) VALUES (1, ?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, payload = excluded.payload
                     WHERE excluded.seq >= records_checkpoint.seq",
                    params![int(c.seq), c.payload],
                )
                .map_err(sql_err("saving the records checkpoint"))?;
            }
        }
        tx.commit().map_err(sql_err("committing an archive write"))
    }

    fn checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.conn()
            .query_row(
                "SELECT seq, payload FROM records_checkpoint WHERE id = 1",
                [],
                |row| {
                    Ok(Checkpoint {
                        seq: uint(row.get(0)?),
                        payload: row.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(sql_err("reading the records checkpoint"))
    }

    fn session(&self, session: u64) -> Result<Option<ArchivedSession>, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT {COLS} FROM session_archive WHERE session = ?1"),
                [int(session)],
                archived_row,
            )
            .optional()
            .map_err(sql_err("reading an archived session"))
    }

    fn contact_sessions(
        &self,
        contact: u64,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ArchivedSession>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLS} FROM session_archive WHERE contact = ?1 AND session < ?2
                 ORDER BY session DESC LIMIT ?3"
            ))
            .map_err(sql_err("preparing the contact history"))?;
        let rows = stmt
            .query_map(
                params![
                    int(contact),
                    before.map_or(i64::MAX, int),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                archived_row,
            )
            .map_err(sql_err("reading the contact history"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(sql_err("reading an archived session"))
    }
}
