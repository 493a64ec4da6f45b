//! The contract every [`AccountStore`] backend passes: each property is a public function
//! taking a fresh store, so a backend's test file can run them one `#[test]` each, or all
//! with [`run_all`]. A violated property panics naming it.

use super::{
    Account, AccountError, AccountKind, AccountStore, ApiToken, AuditEntry, AuditQuery,
    DEFAULT_GROUP_ID, DEFAULT_GROUP_NAME, GroupRecord, ResetToken, WebSession,
};

/// Runs every property, each on a store made by `fresh`.
pub fn run_all(fresh: &dyn Fn() -> Box<dyn AccountStore>) {
    default_group_exists(fresh().as_ref());
    groups_round_trip(fresh().as_ref());
    accounts_unique_email_and_agent(fresh().as_ref());
    sessions(fresh().as_ref());
    tokens(fresh().as_ref());
    reset_tokens_are_single_use_and_expire(fresh().as_ref());
    audit_is_append_only_and_filtered(fresh().as_ref());
    preferences_round_trip(fresh().as_ref());
}

fn ok<T>(result: Result<T, AccountError>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what}: {error}"),
    }
}

/// A sample account.
pub fn account(email: &str, kind: AccountKind) -> Account {
    Account {
        id: 0,
        email: email.to_owned(),
        name: "Ana".to_owned(),
        nickname: None,
        kind,
        password_hash: Some("$argon2id$fake".to_owned()),
        disabled: false,
        created_ms: 1,
        updated_ms: 1,
    }
}

/// The default group "Administrador" (full, unrestricted) exists from the start.
pub fn default_group_exists(store: &dyn AccountStore) {
    let groups = ok(store.groups(), "default_group_exists");
    assert_eq!(groups.len(), 1, "default_group_exists: one group");
    let g = &groups[0];
    assert_eq!(
        (g.id, g.name.as_str(), g.full, g.teams.clone()),
        (DEFAULT_GROUP_ID, DEFAULT_GROUP_NAME, true, None),
        "default_group_exists"
    );
}

/// Groups keep their permissions and team restriction; updates replace them.
pub fn groups_round_trip(store: &dyn AccountStore) {
    let what = "groups_round_trip";
    let mut g = GroupRecord {
        id: 0,
        name: "Vendas".into(),
        full: false,
        permissions: vec!["monitor.view".into(), "session.follow".into()],
        teams: Some(vec![3, 5]),
    };
    let id = ok(store.insert_group(&g), what);
    assert_ne!(id, DEFAULT_GROUP_ID, "{what}: new id");
    g.id = id;
    assert_eq!(
        ok(store.group(id), what),
        Some(g.clone()),
        "{what}: read back"
    );
    g.teams = None;
    g.permissions = vec![];
    ok(store.update_group(&g), what);
    assert_eq!(
        ok(store.group(id), what),
        Some(g.clone()),
        "{what}: updated"
    );
    g.id = 999;
    assert!(
        matches!(store.update_group(&g), Err(AccountError::NotFound)),
        "{what}: update of a missing group"
    );
}

/// E-mails are unique, and so is the agent an agent login links to.
pub fn accounts_unique_email_and_agent(store: &dyn AccountStore) {
    let what = "accounts_unique_email_and_agent";
    let admin = AccountKind::Admin {
        group: DEFAULT_GROUP_ID,
    };
    let a = ok(store.insert_account(&account("ana@x.com", admin)), what);
    assert!(matches!(
        store.insert_account(&account("ana@x.com", admin)),
        Err(AccountError::EmailTaken)
    ));
    let b = ok(
        store.insert_account(&account("bia@x.com", AccountKind::Agent { agent: 4 })),
        what,
    );
    assert!(matches!(
        store.insert_account(&account("caio@x.com", AccountKind::Agent { agent: 4 })),
        Err(AccountError::AgentTaken)
    ));
    let mut read = ok(store.account(b), what).expect("account b");
    assert_eq!(read.kind, AccountKind::Agent { agent: 4 });
    assert_eq!(
        ok(store.account_by_email("ana@x.com"), what).map(|a| a.id),
        Some(a)
    );
    assert_eq!(ok(store.account_by_email("nobody@x.com"), what), None);
    read.email = "ana@x.com".into();
    assert!(matches!(
        store.update_account(&read),
        Err(AccountError::EmailTaken)
    ));
    read.email = "bia2@x.com".into();
    read.disabled = true;
    read.password_hash = None;
    ok(store.update_account(&read), what);
    assert_eq!(ok(store.account(b), what), Some(read.clone()));
    assert_eq!(ok(store.accounts(), what).len(), 2);
}

/// Sessions are found by hash, touched, deleted one by one or all of an account's.
pub fn sessions(store: &dyn AccountStore) {
    let what = "sessions";
    let s = |h: &str, account| WebSession {
        id_hash: h.into(),
        account,
        created_ms: 10,
        last_seen_ms: 10,
        addr: Some("127.0.0.1".into()),
    };
    for (h, acc) in [("h1", 1), ("h2", 1), ("h3", 2)] {
        ok(store.insert_session(&s(h, acc)), what);
    }
    ok(store.touch_session("h1", 50), what);
    assert_eq!(
        ok(store.session("h1"), what).map(|s| s.last_seen_ms),
        Some(50)
    );
    assert!(ok(store.delete_session("h1"), what));
    assert!(!ok(store.delete_session("h1"), what));
    assert_eq!(ok(store.session("h1"), what), None);
    ok(store.insert_session(&s("h4", 1)), what);
    assert_eq!(ok(store.delete_sessions_of(1), what), 2);
    assert_eq!(ok(store.session("h2"), what), None);
    assert!(
        ok(store.session("h3"), what).is_some(),
        "{what}: other account kept"
    );
}

/// Tokens are found by hash, record their last use, and revoke for good.
pub fn tokens(store: &dyn AccountStore) {
    let what = "tokens";
    let t = ApiToken {
        id: 0,
        name: "webhook".into(),
        secret_hash: "abc".into(),
        creator: 7,
        permissions: vec!["monitor.view".into()],
        teams: Some(vec![2]),
        channel: Some(3),
        created_ms: 5,
        last_used_ms: None,
        revoked_ms: None,
    };
    let id = ok(store.insert_token(&t), what);
    let read = ok(store.token_by_hash("abc"), what).expect("token by hash");
    assert_eq!(read, ApiToken { id, ..t.clone() });
    ok(store.touch_token(id, 9), what);
    ok(store.revoke_token(id, 11), what);
    ok(store.revoke_token(id, 12), what);
    let listed = ok(store.tokens(), what);
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].last_used_ms, listed[0].revoked_ms),
        (Some(9), Some(11))
    );
    assert!(matches!(
        store.revoke_token(999, 1),
        Err(AccountError::NotFound)
    ));
}

/// A reset token works once, and not after it expires.
pub fn reset_tokens_are_single_use_and_expire(store: &dyn AccountStore) {
    let what = "reset_tokens";
    let r = |hash: &str| ResetToken {
        hash: hash.into(),
        account: 3,
        created_ms: 0,
        expires_ms: 100,
    };
    ok(store.insert_reset(&r("a")), what);
    ok(store.insert_reset(&r("b")), what);
    assert_eq!(ok(store.take_reset("a", 50), what), Some(3));
    assert_eq!(
        ok(store.take_reset("a", 50), what),
        None,
        "{what}: second use"
    );
    assert_eq!(
        ok(store.take_reset("b", 100), what),
        None,
        "{what}: expired"
    );
    assert_eq!(
        ok(store.take_reset("b", 50), what),
        None,
        "{what}: expired is gone"
    );
    assert_eq!(ok(store.take_reset("zzz", 1), what), None);
}

/// The audit log keeps every entry, newest first, and filters by period, actor, action,
/// target and team.
pub fn audit_is_append_only_and_filtered(store: &dyn AccountStore) {
    let what = "audit";
    let e = |at, actor: &str, action: &str, team| AuditEntry {
        id: 0,
        at_ms: at,
        actor: actor.into(),
        action: action.into(),
        target: format!("t{at}"),
        outcome: "ok".into(),
        addr: None,
        team,
        detail: Some("{\"k\":1}".into()),
    };
    let entries = [
        e(10, "admin:1", "auth.login", None),
        e(20, "admin:2", "user.create", Some(1)),
        e(30, "admin:1", "user.create", Some(2)),
        e(40, "anonymous", "auth.login", None),
    ];
    let mut ids = Vec::new();
    for entry in &entries {
        ids.push(ok(store.append_audit(entry), what));
    }
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "{what}: increasing ids"
    );
    let q = |f: fn(&mut AuditQuery)| {
        let mut query = AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        };
        f(&mut query);
        ok(store.audit(&query), what)
            .into_iter()
            .map(|e| e.at_ms)
            .collect::<Vec<_>>()
    };
    assert_eq!(q(|_| {}), [40, 30, 20, 10], "{what}: newest first");
    assert_eq!(q(|q| q.actor = Some("admin:1".into())), [30, 10]);
    assert_eq!(q(|q| q.action = Some("user.create".into())), [30, 20]);
    assert_eq!(q(|q| q.target = Some("t20".into())), [20]);
    assert_eq!(
        q(|q| {
            q.from_ms = Some(20);
            q.to_ms = Some(40)
        }),
        [30, 20]
    );
    assert_eq!(q(|q| q.teams = Some(vec![2])), [30]);
    assert_eq!(q(|q| q.limit = 2), [40, 30]);
    let all = ok(
        store.audit(&AuditQuery {
            limit: 1,
            ..AuditQuery::default()
        }),
        what,
    );
    let before = all[0].id;
    assert_eq!(q_before(store, before), [30, 20, 10]);
    assert_eq!(all[0].detail.as_deref(), Some("{\"k\":1}"));
}

fn q_before(store: &dyn AccountStore, before: u64) -> Vec<i64> {
    let query = AuditQuery {
        before_id: Some(before),
        limit: 100,
        ..AuditQuery::default()
    };
    ok(store.audit(&query), "audit before")
        .into_iter()
        .map(|e| e.at_ms)
        .collect()
}

/// Preferences are per account and key; setting replaces, `None` removes.
pub fn preferences_round_trip(store: &dyn AccountStore) {
    let get = |a, k| ok(store.preference(a, k), "preference");
    assert_eq!(
        get(1, "monitor.hidden"),
        None,
        "preferences: absent at first"
    );
    ok(
        store.set_preference(1, "monitor.hidden", Some("{\"a\":1}")),
        "set",
    );
    ok(
        store.set_preference(1, "monitor.hidden", Some("{\"a\":2}")),
        "replace",
    );
    ok(
        store.set_preference(2, "monitor.hidden", Some("x")),
        "other account",
    );
    assert_eq!(
        get(1, "monitor.hidden").as_deref(),
        Some("{\"a\":2}"),
        "preferences: replaced"
    );
    assert_eq!(
        get(2, "monitor.hidden").as_deref(),
        Some("x"),
        "preferences: per account"
    );
    ok(store.set_preference(1, "monitor.hidden", None), "remove");
    assert_eq!(get(1, "monitor.hidden"), None, "preferences: removed");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::MemoryAccounts;

    #[test]
    fn memory_backend_passes_the_contract() {
        run_all(&|| Box::new(MemoryAccounts::new()));
    }
}
