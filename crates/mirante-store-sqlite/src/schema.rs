//! Connection setup and the in-house, versioned schema migrations.
//!
//! The schema version is `PRAGMA user_version`: the number of entries of [`MIGRATIONS`]
//! applied, in order, each in the same transaction as the version bump. A database whose
//! version is newer than this build knows, or that belongs to another application, is
//! refused with [`StoreError::Corrupt`] rather than touched.

use std::path::Path;
use std::time::Duration;

use mirante_store::{Durability, StoreError};
use rusqlite::{Connection, ErrorCode, OpenFlags};

/// `PRAGMA application_id` of a Mirante database ("MIRA").
const APPLICATION_ID: i64 = 0x4D49_5241;

/// The schema, one step per entry; never edit a released step, append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the event log (the rowid is the global sequence) and the snapshots.
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL);
     CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL);",
    // 2: accounts (issue 3): user groups with the default "Administrador", logins, web
    // sessions, API tokens, password-reset tokens and the append-only audit log.
    "CREATE TABLE user_groups (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, full INTEGER NOT NULL,
        permissions TEXT NOT NULL, teams TEXT);
     INSERT INTO user_groups (id, name, full, permissions, teams)
        VALUES (1, 'Administrador', 1, '', NULL);
     CREATE TABLE accounts (
        id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
        nickname TEXT, group_id INTEGER REFERENCES user_groups(id), agent_id INTEGER UNIQUE,
        password_hash TEXT, disabled INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
        CHECK ((group_id IS NULL) <> (agent_id IS NULL)));
     CREATE TABLE web_sessions (
        id_hash TEXT PRIMARY KEY, account_id INTEGER NOT NULL,
        created_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, addr TEXT);
     CREATE INDEX web_sessions_account ON web_sessions(account_id);
     CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, secret_hash TEXT NOT NULL UNIQUE,
        creator INTEGER NOT NULL, permissions TEXT NOT NULL, teams TEXT,
        created_ms INTEGER NOT NULL, last_used_ms INTEGER, revoked_ms INTEGER);
     CREATE TABLE reset_tokens (
        hash TEXT PRIMARY KEY, account_id INTEGER NOT NULL,
        created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);
     CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, actor TEXT NOT NULL,
        action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL, addr TEXT,
        team INTEGER, detail TEXT);
     CREATE INDEX audit_log_at ON audit_log(at_ms);
     CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
     CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    // 3: per-account preferences (issue 5: the monitor's hidden agents and teams, M-14/M-23).
    "CREATE TABLE account_preferences (
        account_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (account_id, key));",
    // 4: channel tokens (issue 4): an API token may be bound to one channel's integration API.
    "ALTER TABLE api_tokens ADD COLUMN channel INTEGER;",
    // 5: the session archive (issue 5, M-41): finished sessions with their transcripts
    // (opaque payloads) by contact, and the checkpoint of the records' live part.
    "CREATE TABLE session_archive (
        session INTEGER PRIMARY KEY, contact INTEGER NOT NULL, seq INTEGER NOT NULL,
        payload BLOB NOT NULL);
     CREATE INDEX session_archive_contact ON session_archive(contact, session);
     CREATE TABLE records_checkpoint (
        id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, payload BLOB NOT NULL);",
];

/// How long a connection waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the writer's connection: WAL, the durability's `synchronous`, schema migrated.
pub(crate) fn open_writer(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Backend(format!("creating directory {}: {e}", parent.display()))
        })?;
    }
    let conn = Connection::open(path).map_err(sql_err(&format!("opening {}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(sql_err("setting busy_timeout"))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(sql_err(&format!("switching {} to WAL", path.display())))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "{} cannot use WAL journaling (got `{mode}`)",
            path.display()
        )));
    }
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)
        .map_err(sql_err("setting synchronous"))?;
    conn.set_prepared_statement_cache_capacity(32);
    migrate(&conn).map_err(|e| match e {
        StoreError::Corrupt(msg) => StoreError::Corrupt(format!("{}: {msg}", path.display())),
        other => other,
    })?;
    Ok(conn)
}

/// Opens a read-write connection for the accounts (separate from the event writer's, with
/// the same `busy_timeout`), migrating the schema if this is the first opener.
pub(crate) fn open_accounts(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    // The writer's setup is exactly what the accounts connection needs too.
    open_writer(path, durability)
}

/// Opens a read-only connection on a database the writer has already set up.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(sql_err(&format!("opening {} for reading", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(sql_err("setting busy_timeout"))?;
    Ok(conn)
}

/// Brings the schema up to date, in one immediate transaction (safe against a concurrent
/// opener of the same file).
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(sql_err("starting the migration"))?;
    let result = migrate_in_transaction(conn);
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = conn
        .execute_batch(end)
        .map_err(sql_err("ending the migration"));
    result.and(ended)
}

fn migrate_in_transaction(conn: &Connection) -> Result<(), StoreError> {
    let read = |pragma: &str| -> Result<i64, StoreError> {
        conn.pragma_query_value(None, pragma, |row| row.get(0))
            .map_err(sql_err(&format!("reading {pragma}")))
    };
    let application_id = read("application_id")?;
    let version = read("user_version")?;
    let known = MIGRATIONS.len() as i64;
    if application_id != APPLICATION_ID {
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
            .map_err(sql_err("reading the schema"))?;
        if application_id != 0 || version != 0 || tables != 0 {
            return Err(StoreError::Corrupt(format!(
                "not a Mirante database (application_id {application_id:#x}, \
                 user_version {version}, {tables} schema objects)"
            )));
        }
    }
    if version > known || version < 0 {
        return Err(StoreError::Corrupt(format!(
            "schema version {version} is newer than this build of Mirante knows ({known}); \
             run a newer Mirante"
        )));
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let target = step as i64 + 1;
        conn.execute_batch(sql)
            .map_err(sql_err(&format!("applying migration {target}")))?;
        conn.pragma_update(None, "user_version", target)
            .map_err(sql_err("setting user_version"))?;
        tracing::info!(schema.version = target, "applied store migration");
    }
    conn.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(sql_err("setting application_id"))?;
    Ok(())
}

/// Maps a SQLite error to a [`StoreError`] with `context`: a file that is not a database
/// (or is damaged) is `Corrupt`, anything else is `Backend`.
pub(crate) fn sql_err(context: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |error| match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::Corrupt(format!("{context}: {error}"))
        }
        _ => StoreError::Backend(format!("{context}: {error}")),
    }
}
