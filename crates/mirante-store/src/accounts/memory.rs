//! An in-memory [`AccountStore`]: the reference implementation of the accounts contract
//! and a fast double for the server's tests. Starts with the default group, like the
//! SQLite schema.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{
    Account, AccountError, AccountKind, AccountStore, ApiToken, AuditEntry, AuditQuery,
    DEFAULT_GROUP_ID, DEFAULT_GROUP_NAME, GroupRecord, ResetToken, WebSession,
};

/// Accounts kept in memory; nothing survives the process.
#[derive(Debug)]
pub struct MemoryAccounts {
    data: Mutex<Data>,
}

#[derive(Debug, Default)]
struct Data {
    groups: BTreeMap<u64, GroupRecord>,
    accounts: BTreeMap<u64, Account>,
    sessions: BTreeMap<String, WebSession>,
    tokens: BTreeMap<u64, ApiToken>,
    resets: BTreeMap<String, ResetToken>,
    audit: Vec<AuditEntry>,
    preferences: BTreeMap<(u64, String), String>,
    next: u64,
}

impl Data {
    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

impl Default for MemoryAccounts {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryAccounts {
    /// An empty store holding only the default group.
    pub fn new() -> Self {
        let mut data = Data {
            next: DEFAULT_GROUP_ID,
            ..Data::default()
        };
        data.groups.insert(
            DEFAULT_GROUP_ID,
            GroupRecord {
                id: DEFAULT_GROUP_ID,
                name: DEFAULT_GROUP_NAME.to_owned(),
                full: true,
                permissions: Vec::new(),
                teams: None,
            },
        );
        Self {
            data: Mutex::new(data),
        }
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn agent_of(account: &Account) -> Option<u64> {
    match account.kind {
        AccountKind::Agent { agent } => Some(agent),
        AccountKind::Admin { .. } => None,
    }
}

impl AccountStore for MemoryAccounts {
    fn groups(&self) -> Result<Vec<GroupRecord>, AccountError> {
        Ok(self.data().groups.values().cloned().collect())
    }

    fn group(&self, id: u64) -> Result<Option<GroupRecord>, AccountError> {
        Ok(self.data().groups.get(&id).cloned())
    }

    fn insert_group(&self, group: &GroupRecord) -> Result<u64, AccountError> {
        let mut data = self.data();
        let id = data.id();
        data.groups.insert(
            id,
            GroupRecord {
                id,
                ..group.clone()
            },
        );
        Ok(id)
    }

    fn update_group(&self, group: &GroupRecord) -> Result<(), AccountError> {
        let mut data = self.data();
        let slot = data
            .groups
            .get_mut(&group.id)
            .ok_or(AccountError::NotFound)?;
        *slot = group.clone();
        Ok(())
    }

    fn accounts(&self) -> Result<Vec<Account>, AccountError> {
        Ok(self.data().accounts.values().cloned().collect())
    }

    fn account(&self, id: u64) -> Result<Option<Account>, AccountError> {
        Ok(self.data().accounts.get(&id).cloned())
    }

    fn account_by_email(&self, email: &str) -> Result<Option<Account>, AccountError> {
        Ok(self
            .data()
            .accounts
            .values()
            .find(|a| a.email == email)
            .cloned())
    }

    fn insert_account(&self, account: &Account) -> Result<u64, AccountError> {
        let mut data = self.data();
        if data.accounts.values().any(|a| a.email == account.email) {
            return Err(AccountError::EmailTaken);
        }
        if let Some(agent) = agent_of(account)
            && data.accounts.values().any(|a| agent_of(a) == Some(agent))
        {
            return Err(AccountError::AgentTaken);
        }
        let id = data.id();
        data.accounts.insert(
            id,
            Account {
                id,
                ..account.clone()
            },
        );
        Ok(id)
    }

    fn update_account(&self, account: &Account) -> Result<(), AccountError> {
        let mut data = self.data();
        if !data.accounts.contains_key(&account.id) {
            return Err(AccountError::NotFound);
        }
        if data
            .accounts
            .values()
            .any(|a| a.id != account.id && a.email == account.email)
        {
            return Err(AccountError::EmailTaken);
        }
        data.accounts.insert(account.id, account.clone());
        Ok(())
    }

    fn insert_session(&self, session: &WebSession) -> Result<(), AccountError> {
        self.data()
            .sessions
            .insert(session.id_hash.clone(), session.clone());
        Ok(())
    }

    fn session(&self, id_hash: &str) -> Result<Option<WebSession>, AccountError> {
        Ok(self.data().sessions.get(id_hash).cloned())
    }

    fn touch_session(&self, id_hash: &str, now_ms: i64) -> Result<(), AccountError> {
        if let Some(s) = self.data().sessions.get_mut(id_hash) {
            s.last_seen_ms = s.last_seen_ms.max(now_ms);
        }
        Ok(())
    }

    fn delete_session(&self, id_hash: &str) -> Result<bool, AccountError> {
        Ok(self.data().sessions.remove(id_hash).is_some())
    }

    fn delete_sessions_of(&self, account: u64) -> Result<u64, AccountError> {
        let mut data = self.data();
        let before = data.sessions.len();
        data.sessions.retain(|_, s| s.account != account);
        Ok((before - data.sessions.len()) as u64)
    }

    fn insert_token(&self, token: &ApiToken) -> Result<u64, AccountError> {
        let mut data = self.data();
        let id = data.id();
        data.tokens.insert(
            id,
            ApiToken {
                id,
                ..token.clone()
            },
        );
        Ok(id)
    }

    fn tokens(&self) -> Result<Vec<ApiToken>, AccountError> {
        Ok(self.data().tokens.values().cloned().collect())
    }

    fn token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>, AccountError> {
        Ok(self
            .data()
            .tokens
            .values()
            .find(|t| t.secret_hash == secret_hash)
            .cloned())
    }

    fn touch_token(&self, id: u64, now_ms: i64) -> Result<(), AccountError> {
        if let Some(t) = self.data().tokens.get_mut(&id) {
            t.last_used_ms = Some(t.last_used_ms.map_or(now_ms, |l| l.max(now_ms)));
        }
        Ok(())
    }

    fn revoke_token(&self, id: u64, now_ms: i64) -> Result<(), AccountError> {
        let mut data = self.data();
        let token = data.tokens.get_mut(&id).ok_or(AccountError::NotFound)?;
        token.revoked_ms.get_or_insert(now_ms);
        Ok(())
    }

    fn insert_reset(&self, reset: &ResetToken) -> Result<(), AccountError> {
        self.data().resets.insert(reset.hash.clone(), reset.clone());
        Ok(())
    }

    fn take_reset(&self, hash: &str, now_ms: i64) -> Result<Option<u64>, AccountError> {
        Ok(self
            .data()
            .resets
            .remove(hash)
            .filter(|r| now_ms < r.expires_ms)
            .map(|r| r.account))
    }

    fn append_audit(&self, entry: &AuditEntry) -> Result<u64, AccountError> {
        let mut data = self.data();
        let id = data.audit.len() as u64 + 1;
        data.audit.push(AuditEntry {
            id,
            ..entry.clone()
        });
        Ok(id)
    }

    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, AccountError> {
        Ok(self
            .data()
            .audit
            .iter()
            .rev()
            .filter(|e| query.matches(e))
            .take(query.limit)
            .cloned()
            .collect())
    }

    fn preference(&self, account: u64, key: &str) -> Result<Option<String>, AccountError> {
        Ok(self
            .data()
            .preferences
            .get(&(account, key.to_owned()))
            .cloned())
    }

    fn set_preference(
        &self,
        account: u64,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), AccountError> {
        let mut data = self.data();
        match value {
            Some(v) => data
                .preferences
                .insert((account, key.to_owned()), v.to_owned()),
            None => data.preferences.remove(&(account, key.to_owned())),
        };
        Ok(())
    }
}
