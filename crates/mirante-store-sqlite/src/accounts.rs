//! The accounts port ([`AccountStore`]) on the same SQLite file as the event log, through
//! its **own** connection: account writes are rare and small, so they take SQLite's write
//! lock briefly (waiting up to `busy_timeout` behind a group commit) instead of going
//! through the event writer's queue, which stays dedicated to the log's group commit.
//! Calls are blocking; the server runs them on Tokio's blocking pool.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use mirante_store::accounts::{
    Account, AccountError, AccountKind, AccountStore, ApiToken, AuditEntry, AuditQuery,
    GroupRecord, ResetToken, WebSession,
};
use mirante_store::{Durability, StoreError};
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};

use crate::schema::{open_accounts, sql_err};

/// The accounts of one Mirante database.
pub struct SqliteAccounts {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteAccounts").finish_non_exhaustive()
    }
}

impl SqliteAccounts {
    /// Opens (creating and migrating if needed) the accounts of the database at `path`.
    pub fn open(path: &Path, durability: Durability) -> Result<SqliteAccounts, StoreError> {
        let conn = open_accounts(path, durability)?;
        Ok(SqliteAccounts {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn err(context: &'static str) -> impl FnOnce(rusqlite::Error) -> AccountError {
    move |e| AccountError::Store(sql_err(context)(e))
}

/// Unique-constraint violations tell which field collided.
fn unique(context: &'static str) -> impl FnOnce(rusqlite::Error) -> AccountError {
    move |e| {
        let text = e.to_string();
        match e.sqlite_error_code() {
            Some(ErrorCode::ConstraintViolation) if text.contains("accounts.email") => {
                AccountError::EmailTaken
            }
            Some(ErrorCode::ConstraintViolation) if text.contains("accounts.agent_id") => {
                AccountError::AgentTaken
            }
            _ => err(context)(e),
        }
    }
}

fn join<T: ToString>(items: &[T]) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

fn split_strings(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn split_ids(text: Option<String>) -> Option<Vec<u64>> {
    text.map(|t| t.split(',').filter_map(|s| s.parse().ok()).collect())
}

fn id(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn uid(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

const GROUP_COLS: &str = "id, name, full, permissions, teams";
fn group_row(row: &Row<'_>) -> rusqlite::Result<GroupRecord> {
    Ok(GroupRecord {
        id: uid(row.get(0)?),
        name: row.get(1)?,
        full: row.get(2)?,
        permissions: split_strings(&row.get::<_, String>(3)?),
        teams: split_ids(row.get(4)?),
    })
}

const ACCOUNT_COLS: &str = "id, email, name, nickname, group_id, agent_id, password_hash, \
                            disabled, created_ms, updated_ms";
fn account_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    let group: Option<i64> = row.get(4)?;
    let agent: Option<i64> = row.get(5)?;
    let kind = match (group, agent) {
        (_, Some(agent)) => AccountKind::Agent { agent: uid(agent) },
        (group, None) => AccountKind::Admin {
            group: uid(group.unwrap_or_default()),
        },
    };
    Ok(Account {
        id: uid(row.get(0)?),
        email: row.get(1)?,
        name: row.get(2)?,
        nickname: row.get(3)?,
        kind,
        password_hash: row.get(6)?,
        disabled: row.get(7)?,
        created_ms: row.get(8)?,
        updated_ms: row.get(9)?,
    })
}

fn kind_columns(kind: AccountKind) -> (Option<i64>, Option<i64>) {
    match kind {
        AccountKind::Admin { group } => (Some(id(group)), None),
        AccountKind::Agent { agent } => (None, Some(id(agent))),
    }
}

const TOKEN_COLS: &str = "id, name, secret_hash, creator, permissions, teams, created_ms, last_used_ms, revoked_ms, channel";
fn token_row(row: &Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: uid(row.get(0)?),
        name: row.get(1)?,
        secret_hash: row.get(2)?,
        creator: uid(row.get(3)?),
        permissions: split_strings(&row.get::<_, String>(4)?),
        teams: split_ids(row.get(5)?),
        created_ms: row.get(6)?,
        last_used_ms: row.get(7)?,
        revoked_ms: row.get(8)?,
        channel: row.get::<_, Option<i64>>(9)?.map(uid),
    })
}

const AUDIT_COLS: &str = "id, at_ms, actor, action, target, outcome, addr, team, detail";
fn audit_row(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: uid(row.get(0)?),
        at_ms: row.get(1)?,
        actor: row.get(2)?,
        action: row.get(3)?,
        target: row.get(4)?,
        outcome: row.get(5)?,
        addr: row.get(6)?,
        team: row.get::<_, Option<i64>>(7)?.map(uid),
        detail: row.get(8)?,
    })
}

impl AccountStore for SqliteAccounts {
    fn groups(&self) -> Result<Vec<GroupRecord>, AccountError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {GROUP_COLS} FROM user_groups ORDER BY id"))
            .map_err(err("listing groups"))?;
        let rows = stmt
            .query_map([], group_row)
            .map_err(err("listing groups"))?;
        rows.collect::<Result<_, _>>()
            .map_err(err("listing groups"))
    }

    fn group(&self, group: u64) -> Result<Option<GroupRecord>, AccountError> {
        self.conn()
            .query_row(
                &format!("SELECT {GROUP_COLS} FROM user_groups WHERE id = ?1"),
                [id(group)],
                group_row,
            )
            .optional()
            .map_err(err("reading a group"))
    }

    fn insert_group(&self, group: &GroupRecord) -> Result<u64, AccountError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO user_groups (name, full, permissions, teams) VALUES (?1, ?2, ?3, ?4)",
            params![
                group.name,
                group.full,
                join(&group.permissions),
                group.teams.as_deref().map(join)
            ],
        )
        .map_err(err("creating a group"))?;
        Ok(uid(conn.last_insert_rowid()))
    }

    fn update_group(&self, group: &GroupRecord) -> Result<(), AccountError> {
        let changed = self
            .conn()
            .execute(
                "UPDATE user_groups SET name = ?2, full = ?3, permissions = ?4, teams = ?5
                 WHERE id = ?1",
                params![
                    id(group.id),
                    group.name,
                    group.full,
                    join(&group.permissions),
                    group.teams.as_deref().map(join)
                ],
            )
            .map_err(err("updating a group"))?;
        if changed == 0 {
            return Err(AccountError::NotFound);
        }
        Ok(())
    }

    fn accounts(&self) -> Result<Vec<Account>, AccountError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {ACCOUNT_COLS} FROM accounts ORDER BY id"))
            .map_err(err("listing accounts"))?;
        let rows = stmt
            .query_map([], account_row)
            .map_err(err("listing accounts"))?;
        rows.collect::<Result<_, _>>()
            .map_err(err("listing accounts"))
    }

    fn account(&self, account: u64) -> Result<Option<Account>, AccountError> {
        self.conn()
            .query_row(
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = ?1"),
                [id(account)],
                account_row,
            )
            .optional()
            .map_err(err("reading an account"))
    }

    fn account_by_email(&self, email: &str) -> Result<Option<Account>, AccountError> {
        self.conn()
            .query_row(
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE email = ?1"),
                [email],
                account_row,
            )
            .optional()
            .map_err(err("reading an account"))
    }

    fn insert_account(&self, account: &Account) -> Result<u64, AccountError> {
        let conn = self.conn();
        let (group, agent) = kind_columns(account.kind);
        conn.execute(
            "INSERT INTO accounts (email, name, nickname, group_id, agent_id, password_hash,
                                   disabled, created_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                account.email,
                account.name,
                account.nickname,
                group,
                agent,
                account.password_hash,
                account.disabled,
                account.created_ms,
                account.updated_ms
            ],
        )
        .map_err(unique("creating an account"))?;
        Ok(uid(conn.last_insert_rowid()))
    }

    fn update_account(&self, account: &Account) -> Result<(), AccountError> {
        let (group, agent) = kind_columns(account.kind);
        let changed = self
            .conn()
            .execute(
                "UPDATE accounts SET email = ?2, name = ?3, nickname = ?4, group_id = ?5,
                        agent_id = ?6, password_hash = ?7, disabled = ?8, updated_ms = ?9
                 WHERE id = ?1",
                params![
                    id(account.id),
                    account.email,
                    account.name,
                    account.nickname,
                    group,
                    agent,
                    account.password_hash,
                    account.disabled,
                    account.updated_ms
                ],
            )
            .map_err(unique("updating an account"))?;
        if changed == 0 {
            return Err(AccountError::NotFound);
        }
        Ok(())
    }

    fn insert_session(&self, s: &WebSession) -> Result<(), AccountError> {
        self.conn()
            .execute(
                "INSERT INTO web_sessions (id_hash, account_id, created_ms, last_seen_ms, addr)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    s.id_hash,
                    id(s.account),
                    s.created_ms,
                    s.last_seen_ms,
                    s.addr
                ],
            )
            .map_err(err("creating a session"))?;
        Ok(())
    }

    fn session(&self, id_hash: &str) -> Result<Option<WebSession>, AccountError> {
        self.conn()
            .query_row(
                "SELECT id_hash, account_id, created_ms, last_seen_ms, addr
                 FROM web_sessions WHERE id_hash = ?1",
                [id_hash],
                |row| {
                    Ok(WebSession {
                        id_hash: row.get(0)?,
                        account: uid(row.get(1)?),
                        created_ms: row.get(2)?,
                        last_seen_ms: row.get(3)?,
                        addr: row.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(err("reading a session"))
    }

    fn touch_session(&self, id_hash: &str, now_ms: i64) -> Result<(), AccountError> {
        self.conn()
            .execute(
                "UPDATE web_sessions SET last_seen_ms = max(last_seen_ms, ?2) WHERE id_hash = ?1",
                params![id_hash, now_ms],
            )
            .map_err(err("touching a session"))?;
        Ok(())
    }

    fn delete_session(&self, id_hash: &str) -> Result<bool, AccountError> {
        let n = self
            .conn()
            .execute("DELETE FROM web_sessions WHERE id_hash = ?1", [id_hash])
            .map_err(err("deleting a session"))?;
        Ok(n > 0)
    }

    fn delete_sessions_of(&self, account: u64) -> Result<u64, AccountError> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM web_sessions WHERE account_id = ?1",
                [id(account)],
            )
            .map_err(err("deleting sessions"))?;
        Ok(n as u64)
    }

    fn insert_token(&self, t: &ApiToken) -> Result<u64, AccountError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO api_tokens (name, secret_hash, creator, permissions, teams, created_ms,
                                     last_used_ms, revoked_ms, channel)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                t.name,
                t.secret_hash,
                id(t.creator),
                join(&t.permissions),
                t.teams.as_deref().map(join),
                t.created_ms,
                t.last_used_ms,
                t.revoked_ms,
                t.channel.map(id)
            ],
        )
        .map_err(err("creating a token"))?;
        Ok(uid(conn.last_insert_rowid()))
    }

    fn tokens(&self) -> Result<Vec<ApiToken>, AccountError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id"))
            .map_err(err("listing tokens"))?;
        let rows = stmt
            .query_map([], token_row)
            .map_err(err("listing tokens"))?;
        rows.collect::<Result<_, _>>()
            .map_err(err("listing tokens"))
    }

    fn token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>, AccountError> {
        self.conn()
            .query_row(
                &format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE secret_hash = ?1"),
                [secret_hash],
                token_row,
            )
            .optional()
            .map_err(err("reading a token"))
    }

    fn touch_token(&self, token: u64, now_ms: i64) -> Result<(), AccountError> {
        self.conn()
            .execute(
                "UPDATE api_tokens SET last_used_ms = max(coalesce(last_used_ms, ?2), ?2)
                 WHERE id = ?1",
                params![id(token), now_ms],
            )
            .map_err(err("touching a token"))?;
        Ok(())
    }

    fn revoke_token(&self, token: u64, now_ms: i64) -> Result<(), AccountError> {
        let n = self
            .conn()
            .execute(
                "UPDATE api_tokens SET revoked_ms = coalesce(revoked_ms, ?2) WHERE id = ?1",
                params![id(token), now_ms],
            )
            .map_err(err("revoking a token"))?;
        if n == 0 {
            return Err(AccountError::NotFound);
        }
        Ok(())
    }

    fn insert_reset(&self, r: &ResetToken) -> Result<(), AccountError> {
        self.conn()
            .execute(
                "INSERT INTO reset_tokens (hash, account_id, created_ms, expires_ms)
                 VALUES (?1, ?2, ?3, ?4)",
                params![r.hash, id(r.account), r.created_ms, r.expires_ms],
            )
            .map_err(err("creating a reset token"))?;
        Ok(())
    }

    fn take_reset(&self, hash: &str, now_ms: i64) -> Result<Option<u64>, AccountError> {
        // One statement: the row is gone for everyone else whatever it held.
        let taken: Option<(i64, i64)> = self
            .conn()
            .query_row(
                "DELETE FROM reset_tokens WHERE hash = ?1 RETURNING account_id, expires_ms",
                [hash],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(err("consuming a reset token"))?;
        Ok(taken
            .filter(|(_, expires)| now_ms < *expires)
            .map(|(account, _)| uid(account)))
    }

    fn append_audit(&self, e: &AuditEntry) -> Result<u64, AccountError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO audit_log (at_ms, actor, action, target, outcome, addr, team, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                e.at_ms,
                e.actor,
                e.action,
                e.target,
                e.outcome,
                e.addr,
                e.team.map(id),
                e.detail
            ],
        )
        .map_err(err("appending to the audit log"))?;
        Ok(uid(conn.last_insert_rowid()))
    }

    fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, AccountError> {
        let mut sql = format!("SELECT {AUDIT_COLS} FROM audit_log WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        let mut add = |clause: &str, value: Value| {
            args.push(value);
            sql.push_str(&format!(" AND {clause} ?{}", args.len()));
        };
        if let Some(from) = q.from_ms {
            add("at_ms >=", Value::Integer(from));
        }
        if let Some(to) = q.to_ms {
            add("at_ms <", Value::Integer(to));
        }
        if let Some(actor) = &q.actor {
            add("actor =", Value::Text(actor.clone()));
        }
        if let Some(action) = &q.action {
            add("action =", Value::Text(action.clone()));
        }
        if let Some(target) = &q.target {
            add("target =", Value::Text(target.clone()));
        }
        if let Some(before) = q.before_id {
            add("id <", Value::Integer(id(before)));
        }
        if let Some(teams) = &q.teams {
            let list = teams.iter().map(|t| id(*t).to_string()).collect::<Vec<_>>();
            // Integers only, formatted here: no injection possible.
            sql.push_str(&format!(" AND team IN ({})", list.join(",")));
        }
        sql.push_str(&format!(
            " ORDER BY id DESC LIMIT {}",
            i64::try_from(q.limit).unwrap_or(i64::MAX)
        ));
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql).map_err(err("querying the audit log"))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), audit_row)
            .map_err(err("querying the audit log"))?;
        rows.collect::<Result<_, _>>()
            .map_err(err("querying the audit log"))
    }

    fn preference(&self, account: u64, key: &str) -> Result<Option<String>, AccountError> {
        self.conn()
            .query_row(
                "SELECT value FROM account_preferences WHERE account_id = ?1 AND key = ?2",
                params![id(account), key],
                |row| row.get(0),
            )
            .optional()
            .map_err(err("reading a preference"))
    }

    fn set_preference(
        &self,
        account: u64,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), AccountError> {
        let conn = self.conn();
        match value {
            Some(v) => conn.execute(
                "INSERT INTO account_preferences (account_id, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (account_id, key) DO UPDATE SET value = excluded.value",
                params![id(account), key, v],
            ),
            None => conn.execute(
                "DELETE FROM account_preferences WHERE account_id = ?1 AND key = ?2",
                params![id(account), key],
            ),
        }
        .map_err(err("writing a preference"))?;
        Ok(())
    }
}
