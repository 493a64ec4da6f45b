//! What the monitor knows of the past survives a restart on the same database:
//! - today's figures (B-1): a server serves sessions across the local midnight, stops,
//!   starts again, and shows the same answered count, average wait and service level today —
//!   rebuilt from the log, since the engine's state no longer holds the finished sessions;
//! - contact history (M-41): finished sessions are read from the SQLite archive, open ones'
//!   transcripts and the internal chat are restored from the archive's checkpoint, and the
//!   records fold only the log after that checkpoint.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Center, center, customer_message, ok};
use mirante_core::{AgentId, ContactId, EventKind, SessionId, SupervisorId, Timestamp};
use mirante_monitor::{Filter, TeamCard, Visibility};
use mirante_server::engine::{Clock, Engine, EngineConfig, ManualClock};
use mirante_server::monitor::{LiveConfig, LogReader, MonitorService, RecordLimits, log_reader};
use mirante_store::archive::SessionArchive;
use mirante_store_sqlite::{Durability, SqliteArchive, SqliteStore};
use serde_json::json;

/// 2026-11-24 00:00 in São Paulo (UTC-3), the centre's default time zone.
const MIDNIGHT: i64 = 1_795_489_200_000;
const MIN: i64 = 60_000;

struct Running {
    engine: Engine,
    monitor: MonitorService,
}

async fn start(path: &Path, clock: &ManualClock) -> Running {
    let store = SqliteStore::open(path, Durability::Normal).unwrap();
    let log = log_reader(store.clone());
    let engine = Engine::start(store, clock.clone(), EngineConfig::default())
        .await
        .unwrap();
    let monitor = MonitorService::start(
        engine.handle.clone(),
        Some(log),
        Arc::new(clock.clone()),
        LiveConfig::default(),
    )
    .await;
    Running { engine, monitor }
}

impl Running {
    async fn card(&self, center: &Center, clock: &ManualClock) -> TeamCard {
        self.monitor
            .wait_for(self.engine.handle.durable_seq())
            .await;
        self.monitor.wait_day_figures().await;
        let live = self.monitor.live();
        let view = live
            .monitor
            .view(&Filter::default(), &Visibility::all(), clock.now());
        view.teams
            .into_iter()
            .find(|t| t.id == center.team)
            .unwrap()
    }

    async fn stop(self) {
        self.engine.handle.shutdown().await.unwrap();
        self.engine.task.await.unwrap();
    }
}

fn assigned(events: &[mirante_core::Event]) -> Option<SessionId> {
    events.iter().find_map(|e| match &e.kind {
        EventKind::SessionAssigned { session, .. } => Some(*session),
        _ => None,
    })
}

async fn login(r: &Running, agent: AgentId) -> Vec<mirante_core::Event> {
    ok(
        &r.engine.handle,
        json!({"type": "agent_login", "agent": agent}),
    )
    .await
    .events
}

async fn logout(r: &Running, agent: AgentId) {
    ok(
        &r.engine.handle,
        json!({"type": "agent_logout", "agent": agent, "by": {"agent": agent}}),
    )
    .await;
}

async fn finish(r: &Running, session: SessionId, agent: AgentId) {
    ok(
        &r.engine.handle,
        json!({"type": "finish", "session": session, "by": {"agent": agent}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b1_today_figures_are_the_same_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirante.db");
    let clock = ManualClock::at(Timestamp(MIDNIGHT - 10 * MIN));
    let first = start(&path, &clock).await;
    let e = &first.engine.handle;
    let center = center(e, json!({}), 0).await;
    let created = ok(
        e,
        json!({"type": "create_agent", "name": "Ana", "email": "ana@example.com",
               "teams": [center.team]}),
    )
    .await;
    let agent = created
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::AgentCreated { agent } => Some(agent.id),
            _ => None,
        })
        .unwrap();

    // Yesterday: one session waits a minute and is served (not today's).
    customer_message(e, &center, "5511900000001", "olá").await;
    clock.advance(MIN);
    let a = assigned(&login(&first, agent).await).unwrap();
    finish(&first, a, agent).await;
    logout(&first, agent).await;
    // Queued five minutes before midnight, served one minute after it: a 6-minute wait
    // counted today (its queue time is before the day's first event).
    clock.set(Timestamp(MIDNIGHT - 5 * MIN));
    customer_message(e, &center, "5511900000002", "olá").await;
    clock.set(Timestamp(MIDNIGHT + MIN));
    let b = assigned(&login(&first, agent).await).unwrap();
    // Served at once: wait 0.
    clock.advance(MIN);
    let c = assigned(
        &customer_message(e, &center, "5511900000003", "olá")
            .await
            .events,
    )
    .unwrap();
    finish(&first, c, agent).await;
    // The agent leaves: `b` goes back to the queue (M-15) and its next assignment is not a
    // first one; `d` waits 10 s.
    logout(&first, agent).await;
    clock.advance(MIN);
    customer_message(e, &center, "5511900000004", "olá").await;
    clock.advance(10_000);
    let events = login(&first, agent).await;
    let served: Vec<SessionId> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::SessionAssigned { session, .. } => Some(*session),
            _ => None,
        })
        .collect();
    assert_eq!(served.len(), 2, "b again and d");
    assert!(served.contains(&b));
    finish(&first, b, agent).await;

    let before = first.card(&center, &clock).await;
    assert_eq!(before.answered_today, 3, "{before:?}");
    assert_eq!(before.answered_within_target_today, 2);
    assert_eq!(before.avg_wait_today_ms, Some((6 * MIN + 10_000) / 3));
    first.stop().await;

    clock.advance(MIN);
    let second = start(&path, &clock).await;
    let after = second.card(&center, &clock).await;
    assert_eq!(
        (
            after.answered_today,
            after.answered_within_target_today,
            after.avg_wait_today_ms,
            after.service_level_today,
        ),
        (
            before.answered_today,
            before.answered_within_target_today,
            before.avg_wait_today_ms,
            before.service_level_today,
        )
    );
    second.stop().await;
}

/// A log reader that notes the lowest position a multi-event read started from.
fn noting_reader(inner: LogReader, lowest: Arc<AtomicU64>) -> LogReader {
    Arc::new(move |after, limit| {
        if limit > 1 {
            lowest.fetch_min(after, Ordering::SeqCst);
        }
        inner(after, limit)
    })
}

struct Archived {
    engine: Engine,
    monitor: MonitorService,
    archive: Arc<SqliteArchive>,
}

async fn start_archived(path: &Path, clock: &ManualClock, log: Option<LogReader>) -> Archived {
    let store = SqliteStore::open(path, Durability::Normal).unwrap();
    let log = log.unwrap_or_else(|| log_reader(store.clone()));
    let archive = Arc::new(SqliteArchive::open(path, Durability::Normal).unwrap());
    let engine = Engine::start(store, clock.clone(), EngineConfig::default())
        .await
        .unwrap();
    let config = LiveConfig {
        records: RecordLimits {
            checkpoint_every: 1,
            checkpoint_min_interval: std::time::Duration::ZERO,
            ..RecordLimits::default()
        },
        ..LiveConfig::default()
    };
    let monitor = MonitorService::start_with_archive(
        engine.handle.clone(),
        Some(log),
        archive.clone(),
        Arc::new(clock.clone()),
        config,
    )
    .await;
    monitor.wait_records(engine.handle.durable_seq()).await;
    Archived {
        engine,
        monitor,
        archive,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m41_history_and_transcripts_survive_a_restart_without_a_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirante.db");
    let clock = ManualClock::at(Timestamp(MIDNIGHT - 60 * MIN));
    let first = start_archived(&path, &clock, None).await;
    let e = &first.engine.handle;
    let center = center(e, json!({}), 1).await;
    let agent = center.agents[0];
    let who = "5511900000009";
    let s1 = assigned(&customer_message(e, &center, who, "primeira").await.events).unwrap();
    ok(
        e,
        json!({"type": "agent_message", "session": s1, "agent": agent, "text": "resposta 1"}),
    )
    .await;
    ok(
        e,
        json!({"type": "finish", "session": s1, "by": {"agent": agent}}),
    )
    .await;
    clock.advance(MIN);
    let s2 = assigned(&customer_message(e, &center, who, "segunda").await.events).unwrap();
    ok(
        e,
        json!({"type": "agent_message", "session": s2, "agent": agent, "text": "resposta 2"}),
    )
    .await;
    ok(
        e,
        json!({"type": "internal_message", "agent": agent, "supervisor": 77,
               "from_agent": true, "text": "ajuda?"}),
    )
    .await;
    first.monitor.wait_records(e.durable_seq()).await;
    let contact: ContactId = first.monitor.records().session(s2).unwrap().contact;
    let before = first.monitor.contact_history(contact, 10).await.unwrap();
    assert_eq!(
        before.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![s2, s1]
    );
    assert!(
        first.monitor.records().session(s1).is_none(),
        "finished: not in memory"
    );
    let checkpoint = first.archive.checkpoint().unwrap().unwrap();
    assert_eq!(
        checkpoint.seq,
        e.durable_seq(),
        "checkpointed every batch here"
    );
    first.engine.handle.shutdown().await.unwrap();
    first.engine.task.await.unwrap();
    drop(first.monitor);

    // The next day (nothing of "today" to rebuild): the records read the log only from
    // the checkpoint on.
    clock.set(Timestamp(MIDNIGHT + 12 * 60 * MIN));
    let store = SqliteStore::open(&path, Durability::Normal).unwrap();
    let lowest = Arc::new(AtomicU64::new(u64::MAX));
    let log = noting_reader(log_reader(store), lowest.clone());
    let second = start_archived(&path, &clock, Some(log)).await;
    let after = second.monitor.contact_history(contact, 10).await.unwrap();
    assert_eq!(after, before, "the same history, transcripts included");
    let s1_record = second.monitor.archived_session(s1).await.unwrap().unwrap();
    assert!(s1_record.messages.iter().any(|m| m.text == "resposta 1"));
    assert!(
        second.monitor.records().session(s2).unwrap().messages.len() >= 2,
        "the open session's transcript is restored"
    );
    let chat = second.monitor.records().summaries(SupervisorId(77));
    assert_eq!(chat.len(), 1);
    assert_eq!(chat[0].unread, 1);
    let lowest = lowest.load(Ordering::SeqCst);
    assert!(
        lowest >= checkpoint.seq,
        "the records folded from {lowest}, before the checkpoint at {}",
        checkpoint.seq
    );
    second.engine.handle.shutdown().await.unwrap();
    second.engine.task.await.unwrap();
}
