//! The writer task: executes batches against the core, appends them, acknowledges them in
//! order, publishes their events, takes snapshots and rebuilds after a failed append.

use std::collections::VecDeque;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram};
use mirante_core::{BulkOutcome, Core, DomainError, Event, Timestamp};
use mirante_store::{EventStore, Seq, Snapshot, StoreError};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::background;

use super::{
    BulkExecuted, Clock, Committed, EngineConfig, EngineError, Executed, Recovered, Request,
    copy_store_error, recover,
};

/// How often the phase/presence gauges are refreshed at most.
const GAUGE_PERIOD: Duration = Duration::from_millis(250);
/// Wait before ticking again at a deadline whose tick produced nothing.
const STALE_DEADLINE_RETRY_MS: u64 = 1000;
/// Longest wait between two attempts to rebuild the state after a failure.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

type AppendFuture<'s> = Pin<Box<dyn Future<Output = Result<Seq, StoreError>> + Send + 's>>;

/// A reply waiting for its batch to be durable.
enum Pending {
    Execute {
        reply: oneshot::Sender<Result<Executed, EngineError>>,
        /// The command's events as a range of the batch, or the refusal.
        result: Result<Range<usize>, DomainError>,
    },
    Bulk {
        reply: oneshot::Sender<Result<BulkExecuted, EngineError>>,
        result: Result<(BulkOutcome, Range<usize>), DomainError>,
    },
}

/// A command's answer, built before the batch is published and sent after it.
enum Answer {
    Execute(
        oneshot::Sender<Result<Executed, EngineError>>,
        Result<Executed, EngineError>,
    ),
    Bulk(
        oneshot::Sender<Result<BulkExecuted, EngineError>>,
        Result<BulkExecuted, EngineError>,
    ),
}

impl Answer {
    fn send(self) {
        // A caller that stopped waiting is not an error of the engine.
        match self {
            Answer::Execute(reply, answer) => drop(reply.send(answer)),
            Answer::Bulk(reply, answer) => drop(reply.send(answer)),
        }
    }
}

impl Pending {
    fn fail(self, error: EngineError) {
        // A caller that stopped waiting is not an error of the engine.
        match self {
            Pending::Execute { reply, .. } => drop(reply.send(Err(error))),
            Pending::Bulk { reply, .. } => drop(reply.send(Err(error))),
        }
    }
}

/// One batch whose append is in flight.
struct InFlight<'s> {
    append: AppendFuture<'s>,
    /// The log's last sequence before this batch.
    base: Seq,
    events: Vec<Event>,
    pending: Vec<Pending>,
}

/// A batch being assembled.
struct Batch {
    base: Seq,
    events: Vec<Event>,
    pending: Vec<Pending>,
}

/// What woke the writer up.
enum Step {
    Acked(Result<Seq, StoreError>),
    Request(Request),
    Deadline,
    InboxClosed,
}

/// Metric handles, registered once.
struct Metrics {
    events: Counter,
    command_duration: Histogram,
    sessions_bot: Gauge,
    sessions_waiting: Gauge,
    sessions_human: Gauge,
    agents_online: Gauge,
    agents_paused: Gauge,
    agents_offline: Gauge,
    last_refresh: Option<Instant>,
}

impl Metrics {
    fn register() -> Self {
        let events = metrics::counter!(crate::telemetry::EVENTS_TOTAL);
        events.increment(0);
        // Recorded by the store backend; registered here so the series exists from start.
        drop(metrics::histogram!(crate::telemetry::COMMIT_BATCH_SIZE));
        let phase =
            |p: &'static str| metrics::gauge!(crate::telemetry::SESSIONS_OPEN, "phase" => p);
        let status = |s: &'static str| metrics::gauge!(crate::telemetry::AGENTS, "status" => s);
        Self {
            events,
            command_duration: metrics::histogram!(crate::telemetry::COMMAND_DURATION),
            sessions_bot: phase("bot"),
            sessions_waiting: phase("waiting"),
            sessions_human: phase("human"),
            agents_online: status("online"),
            agents_paused: status("paused"),
            agents_offline: status("offline"),
            last_refresh: None,
        }
    }

    fn refresh(&mut self, core: &Core, force: bool) {
        let now = Instant::now();
        if !force
            && self
                .last_refresh
                .is_some_and(|t| now.duration_since(t) < GAUGE_PERIOD)
        {
            return;
        }
        self.last_refresh = Some(now);
        let s = core.stats();
        self.sessions_bot.set(s.sessions_bot as f64);
        self.sessions_waiting.set(s.sessions_waiting as f64);
        self.sessions_human.set(s.sessions_human as f64);
        self.agents_online.set(s.agents_online as f64);
        self.agents_paused.set(s.agents_paused as f64);
        self.agents_offline.set(s.agents_offline as f64);
    }
}

/// The writer task's state, before it borrows its store.
pub(crate) struct Writer<S, C> {
    store: Arc<S>,
    clock: C,
    config: EngineConfig,
    recovered: Recovered,
    inbox: mpsc::Receiver<Request>,
    durable: watch::Sender<Seq>,
    committed: broadcast::Sender<Committed>,
}

impl<S: EventStore, C: Clock> Writer<S, C> {
    pub(crate) fn new(
        store: S,
        clock: C,
        config: EngineConfig,
        recovered: Recovered,
        inbox: mpsc::Receiver<Request>,
        durable: watch::Sender<Seq>,
        committed: broadcast::Sender<Committed>,
    ) -> Self {
        Self {
            store: Arc::new(store),
            clock,
            config,
            recovered,
            inbox,
            durable,
            committed,
        }
    }

    /// The task body.
    pub(crate) async fn run(self) {
        let Writer {
            store,
            clock,
            config,
            recovered,
            inbox,
            durable,
            committed,
        } = self;
        let last_now = clock.now();
        let mut task = Task {
            store: &*store,
            shared_store: Arc::clone(&store),
            clock,
            last_now,
            core: recovered.core,
            last_seq: recovered.seq,
            snapshot_seq: recovered.seq,
            config,
            inbox,
            durable,
            committed,
            in_flight: VecDeque::new(),
            snapshot_task: None,
            shutdown: Vec::new(),
            closing: false,
            stale_deadline: None,
            metrics: Metrics::register(),
        };
        task.metrics.refresh(&task.core, true);
        task.run().await;
    }
}

/// The running writer; borrows the store so that in-flight appends can borrow it too.
struct Task<'s, S, C> {
    store: &'s S,
    shared_store: Arc<S>,
    clock: C,
    last_now: Timestamp,
    core: Core,
    /// The last sequence executed into `core` (durable or in flight).
    last_seq: Seq,
    /// The sequence of the last snapshot taken (or recovered from).
    snapshot_seq: Seq,
    config: EngineConfig,
    inbox: mpsc::Receiver<Request>,
    durable: watch::Sender<Seq>,
    committed: broadcast::Sender<Committed>,
    in_flight: VecDeque<InFlight<'s>>,
    snapshot_task: Option<JoinHandle<()>>,
    shutdown: Vec<oneshot::Sender<Result<(), EngineError>>>,
    closing: bool,
    /// A deadline at which `tick` produced nothing (guards against spinning).
    stale_deadline: Option<Timestamp>,
    metrics: Metrics,
}

impl<'s, S: EventStore, C: Clock> Task<'s, S, C> {
    async fn run(&mut self) {
        loop {
            let can_take = self.in_flight.len() < self.config.pipeline_depth.max(1);
            let deadline = if self.closing {
                None
            } else {
                self.core.next_deadline()
            };
            let sleep = deadline.map(|d| {
                let mut ms = d.since(self.clock.now()).max(0) as u64;
                if self.stale_deadline == Some(d) {
                    // Ticking at this deadline changed nothing: do not spin on it.
                    ms = ms.max(STALE_DEADLINE_RETRY_MS);
                }
                tokio::time::sleep(Duration::from_millis(ms))
            });
            let has_in_flight = !self.in_flight.is_empty();
            let step = tokio::select! {
                biased;
                acked = next_ack(&mut self.in_flight), if has_in_flight => Step::Acked(acked),
                request = self.inbox.recv(), if can_take => match request {
                    Some(request) => Step::Request(request),
                    None => Step::InboxClosed,
                },
                () = async { if let Some(s) = sleep { s.await } }, if can_take && deadline.is_some() => Step::Deadline,
            };
            match step {
                Step::Acked(result) => self.complete_front(result).await,
                Step::Request(request) => self.run_batch(Some(request)).await,
                Step::Deadline => self.run_batch(None).await,
                Step::InboxClosed => {
                    self.finish().await;
                    return;
                }
            }
            if self.snapshot_due() {
                self.flush().await;
                self.start_snapshot();
            }
        }
    }

    /// The engine's time: the clock, never going back.
    fn now(&mut self) -> Timestamp {
        self.last_now = self.last_now.max(self.clock.now());
        self.last_now
    }

    /// Executes `first` (if any), time-driven transitions that are due and whatever else is
    /// queued (up to the batch cap), then issues one append.
    async fn run_batch(&mut self, first: Option<Request>) {
        let mut batch = Batch {
            base: self.last_seq,
            events: Vec::new(),
            pending: Vec::new(),
        };
        let now = self.now();
        if let Some(deadline) = self
            .core
            .next_deadline()
            .filter(|d| !self.closing && *d <= now)
        {
            let events = self.core.tick(now);
            self.stale_deadline = events.is_empty().then_some(deadline);
            batch.events.extend(events);
        }
        let mut deferred = None;
        let mut next = first;
        let mut taken = 0;
        loop {
            let Some(request) = next.take() else { break };
            match request {
                Request::Execute(command, reply) => {
                    let started = Instant::now();
                    let now = self.now();
                    let result = self.core.execute(command, now).map(|events| {
                        let start = batch.events.len();
                        batch.events.extend(events);
                        start..batch.events.len()
                    });
                    self.metrics
                        .command_duration
                        .record(started.elapsed().as_secs_f64());
                    batch.pending.push(Pending::Execute { reply, result });
                }
                Request::Bulk(command, reply) => {
                    let started = Instant::now();
                    let now = self.now();
                    let result = self.core.execute_bulk(command, now).map(|outcome| {
                        let start = batch.events.len();
                        batch.events.extend(outcome.events.iter().cloned());
                        (outcome, start..batch.events.len())
                    });
                    self.metrics
                        .command_duration
                        .record(started.elapsed().as_secs_f64());
                    batch.pending.push(Pending::Bulk { reply, result });
                }
                // Reads and shutdown need the durable state: they close the batch.
                other => {
                    deferred = Some(other);
                    break;
                }
            }
            taken += 1;
            if taken >= self.config.max_batch.max(1) {
                break;
            }
            next = self.inbox.try_recv().ok();
        }
        self.last_seq = batch.base + batch.events.len() as Seq;
        self.issue(batch).await;
        match deferred {
            None => {}
            Some(Request::Read(read)) => {
                self.flush().await;
                read(&self.core, self.last_seq);
            }
            Some(Request::Shutdown(reply)) => {
                self.shutdown.push(reply);
                if !self.closing {
                    self.closing = true;
                    // Take what is already queued, then nothing more.
                    self.inbox.close();
                }
            }
            Some(Request::Execute(..) | Request::Bulk(..)) => {}
        }
    }

    /// Serializes a batch and issues its append (or answers at once when it is empty).
    async fn issue(&mut self, batch: Batch) {
        if batch.events.is_empty() && batch.pending.is_empty() {
            return;
        }
        let mut payloads = Vec::with_capacity(batch.events.len());
        for event in &batch.events {
            match serde_json::to_vec(event) {
                Ok(payload) => payloads.push(payload),
                Err(error) => {
                    tracing::error!(%error, "an event cannot be serialized; refusing its batch");
                    let error = EngineError::Encode(error.to_string());
                    self.flush().await;
                    for pending in batch.pending {
                        pending.fail(EngineError::Encode(error.to_string()));
                    }
                    self.rebuild().await;
                    return;
                }
            }
        }
        let append: AppendFuture<'s> = if payloads.is_empty() {
            // Nothing to write: acknowledge in order behind the batches in flight.
            let seq = batch.base;
            Box::pin(std::future::ready(Ok(seq)))
        } else {
            Box::pin(self.store.append(batch.base, payloads))
        };
        self.in_flight.push_back(InFlight {
            append,
            base: batch.base,
            events: batch.events,
            pending: batch.pending,
        });
    }

    /// The oldest in-flight append finished with `result`.
    async fn complete_front(&mut self, result: Result<Seq, StoreError>) {
        let Some(batch) = self.in_flight.pop_front() else {
            return;
        };
        match result {
            Ok(_) => self.acknowledge(batch),
            Err(error) => {
                tracing::error!(%error, base = batch.base, "append failed; rebuilding the state from the store");
                for pending in batch.pending {
                    pending.fail(EngineError::Store(copy_store_error(&error)));
                }
                // Batches behind it were decided on state the log does not have: refuse
                // them too (an error means "not acknowledged"), after their appends end.
                while let Some(mut next) = self.in_flight.pop_front() {
                    let result = next.append.as_mut().await;
                    if let Err(error) = &result {
                        tracing::debug!(%error, base = next.base, "append behind a failed one refused");
                    }
                    for pending in next.pending {
                        pending.fail(EngineError::Store(copy_store_error(&error)));
                    }
                }
                self.rebuild().await;
            }
        }
    }

    /// A batch is durable: reply, publish, count.
    fn acknowledge(&mut self, batch: InFlight<'s>) {
        let InFlight {
            base,
            events,
            pending,
            ..
        } = batch;
        let end = base + events.len() as Seq;
        // The answers are built first but sent last: a caller that reads right after its
        // answer (a durable-sequence wait, `/healthz`, a follow or history read) must
        // already see the sequence its command reached (read your writes).
        let answers: Vec<Answer> = pending
            .into_iter()
            .map(|pending| match pending {
                Pending::Execute { reply, result } => Answer::Execute(
                    reply,
                    result
                        .map(|range| Executed {
                            seq: base + range.end as Seq,
                            events: events[range].to_vec(),
                        })
                        .map_err(EngineError::Domain),
                ),
                Pending::Bulk { reply, result } => Answer::Bulk(
                    reply,
                    result
                        .map(|(outcome, range)| BulkExecuted {
                            seq: base + range.end as Seq,
                            outcome,
                        })
                        .map_err(EngineError::Domain),
                ),
            })
            .collect();
        self.metrics.events.increment(events.len() as u64);
        if self.committed.receiver_count() > 0 {
            for (i, event) in events.into_iter().enumerate() {
                let seq = base + 1 + i as Seq;
                // No subscriber left is fine.
                let _ = self.committed.send(Committed {
                    seq,
                    event: Arc::new(event),
                });
            }
        }
        self.durable.send_replace(end);
        for answer in answers {
            answer.send();
        }
        self.metrics.refresh(&self.core, false);
    }

    /// Waits for every in-flight append, in order.
    async fn flush(&mut self) {
        while let Some(front) = self.in_flight.front_mut() {
            let result = front.append.as_mut().await;
            self.complete_front(result).await;
        }
    }

    /// Replaces the core with the state in the store, retrying until the store answers.
    /// Requests arriving meanwhile are refused (a shutdown is honoured).
    async fn rebuild(&mut self) {
        let mut backoff = Duration::from_millis(50);
        loop {
            match recover(self.store, self.config.use_snapshots).await {
                Ok(recovered) => {
                    tracing::info!(seq = recovered.seq, "state rebuilt from the store");
                    self.core = recovered.core;
                    self.last_seq = recovered.seq;
                    self.durable.send_replace(recovered.seq);
                    self.metrics.refresh(&self.core, true);
                    return;
                }
                Err(error) => {
                    tracing::error!(%error, "cannot rebuild the state from the store; retrying");
                    while let Ok(request) = self.inbox.try_recv() {
                        match request {
                            Request::Execute(_, reply) => {
                                drop(reply.send(Err(EngineError::Unavailable)))
                            }
                            Request::Bulk(_, reply) => {
                                drop(reply.send(Err(EngineError::Unavailable)))
                            }
                            Request::Read(_) => {}
                            Request::Shutdown(reply) => {
                                self.shutdown.push(reply);
                                self.closing = true;
                                self.inbox.close();
                            }
                        }
                    }
                    if self.closing {
                        // The core is not the log's state: never snapshot it.
                        self.config.snapshot_on_shutdown = false;
                        return;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn snapshot_due(&mut self) -> bool {
        if let Some(task) = &self.snapshot_task {
            if !task.is_finished() {
                return false;
            }
            self.snapshot_task = None;
        }
        let every = self.config.snapshot_every;
        every > 0 && !self.closing && self.last_seq.saturating_sub(self.snapshot_seq) >= every
    }

    /// Clones the (durable) core here and serializes + saves it on another task.
    fn start_snapshot(&mut self) {
        if !self.in_flight.is_empty() {
            return;
        }
        let core = self.core.clone();
        let seq = self.last_seq;
        self.snapshot_seq = seq;
        let store = Arc::clone(&self.shared_store);
        self.snapshot_task = Some(tokio::spawn(async move {
            if let Err(error) = save_snapshot(&*store, core, seq).await {
                tracing::warn!(%error, seq, "background snapshot failed");
            }
        }));
    }

    /// Drained: wait for the pipeline, a final snapshot, close the store, answer.
    async fn finish(&mut self) {
        self.flush().await;
        if let Some(task) = self.snapshot_task.take()
            && let Err(error) = task.await
        {
            tracing::warn!(%error, "background snapshot task failed");
        }
        let result = self.close().await;
        for reply in self.shutdown.drain(..) {
            let answer = match &result {
                Ok(()) => Ok(()),
                Err(error) => Err(EngineError::Store(copy_store_error(error))),
            };
            drop(reply.send(answer));
        }
        tracing::info!(seq = self.last_seq, "engine stopped");
    }

    async fn close(&mut self) -> Result<(), StoreError> {
        if self.config.snapshot_on_shutdown && self.last_seq > self.snapshot_seq {
            let seq = self.last_seq;
            match save_snapshot(self.store, self.core.clone(), seq).await {
                Ok(()) => self.snapshot_seq = seq,
                Err(error) => tracing::warn!(%error, seq, "final snapshot failed"),
            }
        }
        self.store.close().await
    }
}

/// Serializes `core` off the async threads, below their priority (`background`), and saves
/// it as the snapshot at `seq`.
async fn save_snapshot<S: EventStore>(store: &S, core: Core, seq: Seq) -> Result<(), StoreError> {
    let started = Instant::now();
    let payload = background::run("mirante-snapshot", move || serde_json::to_vec(&core))
        .await
        .map_err(|e| StoreError::Backend(format!("snapshot task: {e}")))?
        .map_err(|e| StoreError::Backend(format!("encoding the snapshot: {e}")))?;
    let bytes = payload.len();
    store.save_snapshot(Snapshot { seq, payload }).await?;
    tracing::info!(
        seq,
        bytes,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "snapshot saved"
    );
    Ok(())
}

/// The result of the oldest in-flight append (pending forever when there is none).
async fn next_ack(in_flight: &mut VecDeque<InFlight<'_>>) -> Result<Seq, StoreError> {
    match in_flight.front_mut() {
        Some(front) => front.append.as_mut().await,
        None => std::future::pending().await,
    }
}
