//! The contract every [`SessionArchive`] backend passes: each property is a public function
//! taking a fresh archive, so a backend's test file can run them one `#[test]` each, or all
//! with [`run_all`]. A violated property panics naming it.

use super::{ArchivedSession, Checkpoint, SessionArchive};
use crate::StoreError;

/// Runs every property, each on an archive made by `fresh`.
pub fn run_all(fresh: &dyn Fn() -> Box<dyn SessionArchive>) {
    empty_archive_has_nothing(fresh().as_ref());
    sessions_round_trip_and_replace(fresh().as_ref());
    contact_history_is_newest_first_and_paged(fresh().as_ref());
    checkpoint_only_moves_forward(fresh().as_ref());
}

fn ok<T>(result: Result<T, StoreError>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what}: {error}"),
    }
}

/// A sample archived session.
pub fn archived(session: u64, contact: u64, seq: u64, payload: &str) -> ArchivedSession {
    ArchivedSession {
        session,
        contact,
        seq,
        payload: payload.as_bytes().to_vec(),
    }
}

/// A fresh archive has no session and no checkpoint.
pub fn empty_archive_has_nothing(a: &dyn SessionArchive) {
    assert_eq!(
        ok(a.checkpoint(), "checkpoint"),
        None,
        "empty: no checkpoint"
    );
    assert_eq!(ok(a.session(1), "session"), None, "empty: no session");
    assert!(
        ok(a.contact_sessions(1, None, 10), "contact").is_empty(),
        "empty: no history"
    );
}

/// Sessions come back byte for byte; recording one again replaces it.
pub fn sessions_round_trip_and_replace(a: &dyn SessionArchive) {
    let payload = "{\"transcript\":[\"olá\",\"\u{1F600}\"]}";
    ok(
        a.record(
            &[archived(1, 7, 10, payload), archived(2, 8, 11, "b")],
            None,
        ),
        "record",
    );
    assert_eq!(
        ok(a.session(1), "session 1"),
        Some(archived(1, 7, 10, payload)),
        "round trip"
    );
    ok(
        a.record(&[archived(1, 7, 10, "again")], None),
        "record again",
    );
    assert_eq!(
        ok(a.session(1), "session 1").map(|s| s.payload),
        Some(b"again".to_vec()),
        "a session recorded again replaces the earlier copy"
    );
    assert_eq!(
        ok(a.contact_sessions(7, None, 10), "history").len(),
        1,
        "replaced, not duplicated"
    );
    ok(a.record(&[], None), "an empty record is a no-op");
}

/// A contact's sessions newest first, limited, paged with `before`, never another's.
pub fn contact_history_is_newest_first_and_paged(a: &dyn SessionArchive) {
    let batch: Vec<_> = (1..=5)
        .map(|s| archived(s, if s == 3 { 9 } else { 7 }, s, "x"))
        .collect();
    ok(a.record(&batch, None), "record");
    let ids = |v: Vec<ArchivedSession>| v.into_iter().map(|s| s.session).collect::<Vec<_>>();
    assert_eq!(
        ids(ok(a.contact_sessions(7, None, 10), "all")),
        vec![5, 4, 2, 1],
        "newest first, only the contact's"
    );
    assert_eq!(ids(ok(a.contact_sessions(7, None, 2), "limit")), vec![5, 4]);
    assert_eq!(
        ids(ok(a.contact_sessions(7, Some(4), 10), "before")),
        vec![2, 1],
        "`before` is exclusive"
    );
    assert_eq!(ids(ok(a.contact_sessions(9, None, 10), "other")), vec![3]);
    assert!(ok(a.contact_sessions(7, None, 0), "zero").is_empty());
}

/// The newest checkpoint wins; an older one recorded later is ignored (its sessions are
/// still stored).
pub fn checkpoint_only_moves_forward(a: &dyn SessionArchive) {
    let cp = |seq: u64, p: &str| Checkpoint {
        seq,
        payload: p.as_bytes().to_vec(),
    };
    ok(a.record(&[], Some(&cp(10, "ten"))), "checkpoint 10");
    assert_eq!(ok(a.checkpoint(), "read"), Some(cp(10, "ten")));
    ok(a.record(&[], Some(&cp(20, "twenty"))), "checkpoint 20");
    ok(
        a.record(&[archived(1, 1, 5, "s")], Some(&cp(15, "older"))),
        "older checkpoint",
    );
    assert_eq!(
        ok(a.checkpoint(), "read"),
        Some(cp(20, "twenty")),
        "the checkpoint only moves forward"
    );
    assert!(
        ok(a.session(1), "session").is_some(),
        "sessions of that record are stored"
    );
    ok(a.record(&[], Some(&cp(20, "same"))), "same seq");
    assert_eq!(
        ok(a.checkpoint(), "read").map(|c| c.payload),
        Some(b"same".to_vec()),
        "the same sequence replaces"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::MemoryArchive;

    #[test]
    fn memory_archive_passes_the_contract() {
        run_all(&|| Box::new(MemoryArchive::new()));
    }
}
