//! Feeds: small read models the API serves, folded from the engine's committed events —
//! the **outbound feed** of each channel (bot, agent, supervisor and system messages its
//! integration must deliver, in log order, with the event sequence as cursor), the index
//! message → channel that delivery-status updates are checked against — plus the optional
//! **webhook** delivery of the outbound feed ([`webhook`]). Transcripts and the internal
//! chat (M-11) are not kept here: supervisors and agents read one copy, the monitor's
//! records ([`crate::monitor::Records`]); [`TranscriptEntry`], [`ChatEntry`] and
//! [`ConversationSummary`] are the agent's wire shapes of them.
//!
//! One task ([`Feeds::start`]) owns the folding: it subscribes to the engine's broadcast
//! *before* reading the state, rebuilds the recent past from the durable log (the last
//! [`REPLAY_EVENTS`] events, when a log reader is given), then applies committed events as
//! they are published. It never slows the engine down: the broadcast is bounded and a lag is
//! repaired from the log (or, without a log, recorded as a gap in every feed). Everything it
//! keeps is bounded: [`KEEP_PER_CHANNEL`] outbound messages per channel (a cursor older than
//! that answers from the oldest kept with `gap: true`). Reads take a short `std` mutex,
//! never held across `.await`.

pub mod webhook;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use mirante_core::{
    AgentId, Attachment, Author, ChannelId, ContactId, DeliveryStatus, Event, EventKind,
    InternalMessageId, MessageId, SessionId, Timestamp,
};
use mirante_store::Seq;
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::engine::{Committed, EngineHandle};

/// Outbound messages kept per channel.
pub const KEEP_PER_CHANNEL: usize = 10_000;
/// Messages kept per open session (its transcript, in the records).
pub const KEEP_PER_SESSION: usize = 1_000;
/// Internal messages an agent's conversation answer carries (the newest).
pub const KEEP_PER_CONVERSATION: usize = 500;
/// Events of the durable log replayed at start to rebuild the feeds.
pub const REPLAY_EVENTS: u64 = 200_000;
/// Events read from the log per call.
const LOG_CHUNK: usize = 1_000;
/// How long a read waits for the feeds to catch up with the durable log.
const CATCH_UP: Duration = Duration::from_secs(2);

/// The durable-log reader shared with the monitor.
pub use crate::monitor::{LogReader, log_reader};

/// One message the channel's integration must deliver to the customer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Outbound {
    /// The cursor: the sequence number of the event that posted it.
    pub seq: Seq,
    /// Our message id (report its delivery status with it).
    #[schema(value_type = u64)]
    pub message: MessageId,
    /// The session.
    #[schema(value_type = u64)]
    pub session: SessionId,
    /// The contact.
    #[schema(value_type = u64)]
    pub contact: ContactId,
    /// The contact's identifier on the channel (where to deliver).
    pub to: String,
    /// `bot`, `agent`, `supervisor` or `system`.
    pub author: &'static str,
    /// The agent's *codinome* is not included; its id is, for agent messages.
    #[schema(value_type = Option<u64>)]
    pub agent: Option<AgentId>,
    /// The text.
    pub text: String,
    /// Attachment metadata.
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<Attachment>,
    /// When it was posted (ms since the epoch).
    #[schema(value_type = i64)]
    pub at: Timestamp,
}

/// One page of a channel's outbound feed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OutboundPage {
    /// Messages after the cursor, in order.
    pub messages: Vec<Outbound>,
    /// The cursor to ask from next (`after=next`).
    pub next: Seq,
    /// Messages after the given cursor may be missing: it is older than what the feed keeps
    /// (see `docs/api.md`).
    pub gap: bool,
}

/// One message of an open session's transcript.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TranscriptEntry {
    /// Its event's sequence number.
    pub seq: Seq,
    /// Message id.
    #[schema(value_type = u64)]
    pub message: MessageId,
    /// `customer`, `bot`, `agent`, `supervisor` or `system`.
    pub author: &'static str,
    /// The agent, for agent messages.
    #[schema(value_type = Option<u64>)]
    pub agent: Option<AgentId>,
    /// The text.
    pub text: String,
    /// Attachment metadata.
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<Attachment>,
    /// When (ms).
    #[schema(value_type = i64)]
    pub at: Timestamp,
    /// Delivery status reported by the channel (outbound messages).
    #[schema(value_type = Option<String>)]
    pub status: Option<DeliveryStatus>,
}

/// One internal message (M-11).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChatEntry {
    /// Id.
    #[schema(value_type = u64)]
    pub id: InternalMessageId,
    /// True when the agent wrote it.
    pub from_agent: bool,
    /// The text.
    pub text: String,
    /// When (ms).
    #[schema(value_type = i64)]
    pub at: Timestamp,
    /// Read by the other side.
    pub read: bool,
}

/// A conversation of an agent with a supervisor, as listed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConversationSummary {
    /// The supervisor (administrator account id).
    pub supervisor: u64,
    /// Messages kept.
    pub messages: usize,
    /// Messages from the supervisor the agent has not read.
    pub unread: usize,
    /// The last message.
    pub last: Option<ChatEntry>,
}

/// The feeds: a cheap handle onto the folded read models and the webhook senders.
#[derive(Clone)]
pub struct Feeds {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Feeds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feeds")
            .field("applied", &*self.inner.applied.borrow())
            .finish()
    }
}

struct Inner {
    engine: EngineHandle,
    model: Mutex<Model>,
    applied: watch::Receiver<Seq>,
    webhooks: webhook::Registry,
}

#[derive(Default)]
struct Model {
    sessions: HashMap<SessionId, SessionInfo>,
    channels: HashMap<ChannelId, ChannelFeed>,
    /// Outbound messages kept in a channel feed → their channel.
    message_channel: HashMap<MessageId, ChannelId>,
    /// Below this sequence a channel that has no feed yet may have lost messages.
    horizon: Seq,
}

#[derive(Debug, Clone)]
struct SessionInfo {
    channel: ChannelId,
    contact: ContactId,
    to: String,
}

#[derive(Default)]
struct ChannelFeed {
    messages: VecDeque<Outbound>,
    /// Messages at or below this sequence may be missing.
    horizon: Seq,
}

fn lock(model: &Mutex<Model>) -> MutexGuard<'_, Model> {
    model
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An author's wire name.
pub(crate) fn author_name(author: Author) -> &'static str {
    match author {
        Author::Customer => "customer",
        Author::Bot => "bot",
        Author::Agent => "agent",
        Author::Supervisor => "supervisor",
        Author::System => "system",
    }
}

impl Feeds {
    /// Starts the folding task (it ends when the engine stops). With `log`, the recent past
    /// is rebuilt from the durable log and broadcast lags are repaired from it.
    pub fn start(engine: EngineHandle, log: Option<LogReader>) -> Feeds {
        Self::start_with(engine, log, webhook::WebhookConfig::default())
    }

    /// As [`Feeds::start`], with the webhook delivery tuned (tests use short back-offs).
    pub fn start_with(
        engine: EngineHandle,
        log: Option<LogReader>,
        config: webhook::WebhookConfig,
    ) -> Feeds {
        let (applied_tx, applied) = watch::channel(0);
        let inner = Arc::new(Inner {
            engine: engine.clone(),
            model: Mutex::new(Model::default()),
            applied,
            webhooks: webhook::Registry::new(config),
        });
        let feeds = Feeds { inner };
        let subscription = feeds.inner.engine.subscribe();
        let folder = Folder {
            feeds: feeds.clone(),
            log,
            applied: applied_tx,
            last: 0,
        };
        tokio::spawn(folder.run(subscription));
        feeds
    }

    /// Waits (briefly) until everything durable is folded in, so that an answer reflects the
    /// caller's own earlier requests.
    pub async fn caught_up(&self) {
        let target = self.inner.engine.durable_seq();
        let mut applied = self.inner.applied.clone();
        let _ = tokio::time::timeout(CATCH_UP, applied.wait_for(|a| *a >= target)).await;
    }

    /// Up to `limit` outbound messages of `channel` after the cursor `after`.
    pub async fn outbound(&self, channel: ChannelId, after: Seq, limit: usize) -> OutboundPage {
        self.caught_up().await;
        let applied = *self.inner.applied.borrow();
        let model = lock(&self.inner.model);
        let (horizon, messages): (Seq, Vec<Outbound>) = match model.channels.get(&channel) {
            Some(feed) => {
                let start = feed.messages.partition_point(|m| m.seq <= after);
                (
                    feed.horizon,
                    feed.messages
                        .iter()
                        .skip(start)
                        .take(limit)
                        .cloned()
                        .collect(),
                )
            }
            None => (model.horizon, Vec::new()),
        };
        let next = match messages.last() {
            Some(last) if messages.len() == limit => last.seq,
            _ => applied.max(after),
        };
        OutboundPage {
            gap: after < horizon,
            next,
            messages,
        }
    }

    /// The channel of an outbound message still kept in a feed.
    pub async fn channel_of_message(&self, message: MessageId) -> Option<ChannelId> {
        self.caught_up().await;
        lock(&self.inner.model)
            .message_channel
            .get(&message)
            .copied()
    }

    /// The webhook registry.
    pub fn webhooks(&self) -> &webhook::Registry {
        &self.inner.webhooks
    }
}

/// The folding task.
struct Folder {
    feeds: Feeds,
    log: Option<LogReader>,
    applied: watch::Sender<Seq>,
    last: Seq,
}

impl Folder {
    async fn run(mut self, mut subscription: broadcast::Receiver<Committed>) {
        if let Err(error) = self.bootstrap().await {
            tracing::warn!(%error, "feeds: could not rebuild from the log; starting empty");
        }
        loop {
            match subscription.recv().await {
                Ok(first) => {
                    let mut batch = vec![(first.seq, first.event)];
                    while let Ok(more) = subscription.try_recv() {
                        batch.push((more.seq, more.event));
                    }
                    let batch: Vec<(Seq, Event)> = batch
                        .into_iter()
                        .filter(|(seq, _)| *seq > self.last)
                        .map(|(seq, e)| (seq, (*e).clone()))
                        .collect();
                    self.fold(batch).await;
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "feeds: fell behind the engine; repairing");
                    self.repair().await;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Open sessions from the state, then the recent log up to the state's sequence.
    async fn bootstrap(&mut self) -> Result<(), String> {
        let (seq, sessions) = self
            .feeds
            .inner
            .engine
            .read(|core, seq| {
                let st = core.state();
                let sessions: Vec<(SessionId, SessionInfo)> = st
                    .sessions
                    .values()
                    .map(|s| {
                        let to = st
                            .contacts
                            .get(&s.contact)
                            .and_then(|c| c.identifiers.get(&s.channel))
                            .cloned()
                            .unwrap_or_default();
                        (
                            s.id,
                            SessionInfo {
                                channel: s.channel,
                                contact: s.contact,
                                to,
                            },
                        )
                    })
                    .collect();
                (seq, sessions)
            })
            .await
            .map_err(|e| e.to_string())?;
        let from = match &self.log {
            Some(_) => seq.saturating_sub(REPLAY_EVENTS),
            None => seq,
        };
        {
            let mut model = lock(&self.feeds.inner.model);
            model.sessions.extend(sessions);
            model.horizon = from;
        }
        self.last = from;
        self.read_log_up_to(seq).await?;
        self.last = seq;
        let _ = self.applied.send(seq);
        Ok(())
    }

    /// Folds the log from `self.last` up to `until` (or its end when `None`).
    async fn read_log_up_to(&mut self, until: Seq) -> Result<(), String> {
        let Some(log) = self.log.clone() else {
            return Ok(());
        };
        while self.last < until {
            let chunk = log(self.last, LOG_CHUNK).await.map_err(|e| e.to_string())?;
            if chunk.is_empty() {
                break;
            }
            let mut batch = Vec::with_capacity(chunk.len());
            for stored in chunk.into_iter().filter(|s| s.seq <= until) {
                let event: Event =
                    serde_json::from_slice(&stored.payload).map_err(|e| e.to_string())?;
                batch.push((stored.seq, event));
            }
            if batch.is_empty() {
                break;
            }
            self.fold(batch).await;
        }
        Ok(())
    }

    /// After a broadcast lag: fill the hole from the log, or record a gap without one.
    async fn repair(&mut self) {
        let durable = self.feeds.inner.engine.durable_seq();
        if self.log.is_some() {
            if let Err(error) = self.read_log_up_to(durable).await {
                tracing::error!(%error, "feeds: could not repair from the log");
            } else {
                return;
            }
        }
        let mut model = lock(&self.feeds.inner.model);
        model.horizon = durable;
        for feed in model.channels.values_mut() {
            feed.horizon = durable;
        }
        drop(model);
        tracing::warn!(
            seq = durable,
            "feeds: outbound messages may be missing before this sequence"
        );
        self.last = durable;
        let _ = self.applied.send(durable);
    }

    /// Applies committed events in order; one engine read resolves the contacts' channel
    /// identifiers of the sessions they start.
    async fn fold(&mut self, batch: Vec<(Seq, Event)>) {
        if batch.is_empty() {
            return;
        }
        let wanted: Vec<(ContactId, ChannelId)> = batch
            .iter()
            .filter_map(|(_, e)| match &e.kind {
                EventKind::SessionStarted {
                    contact, channel, ..
                } => Some((*contact, *channel)),
                _ => None,
            })
            .collect();
        let idents: HashMap<(ContactId, ChannelId), String> = if wanted.is_empty() {
            HashMap::new()
        } else {
            self.feeds
                .inner
                .engine
                .read(move |core, _| {
                    wanted
                        .into_iter()
                        .filter_map(|(contact, channel)| {
                            core.state()
                                .contacts
                                .get(&contact)
                                .and_then(|c| c.identifiers.get(&channel))
                                .map(|i| ((contact, channel), i.clone()))
                        })
                        .collect()
                })
                .await
                .unwrap_or_default()
        };
        let mut deliveries = Vec::new();
        let last = batch.last().map_or(self.last, |(seq, _)| *seq);
        {
            let mut model = lock(&self.feeds.inner.model);
            for (seq, event) in batch {
                if let Some(out) = model.apply(seq, event, &idents) {
                    deliveries.push(out);
                }
            }
        }
        self.last = last;
        let _ = self.applied.send(last);
        for (channel, out) in deliveries {
            self.feeds.inner.webhooks.offer(channel, out);
        }
    }
}

impl Model {
    /// Folds one event; returns an outbound message to offer to the channel's webhook.
    fn apply(
        &mut self,
        seq: Seq,
        event: Event,
        idents: &HashMap<(ContactId, ChannelId), String>,
    ) -> Option<(ChannelId, Outbound)> {
        let at = event.at;
        match event.kind {
            EventKind::SessionStarted {
                session,
                contact,
                channel,
                ..
            } => {
                let to = idents.get(&(contact, channel)).cloned().unwrap_or_default();
                self.sessions.insert(
                    session,
                    SessionInfo {
                        channel,
                        contact,
                        to,
                    },
                );
            }
            EventKind::MessagePosted {
                session,
                message,
                author,
                agent,
                text,
                attachments,
                ..
            } => {
                if author == Author::Customer {
                    return None;
                }
                let info = self.sessions.get(&session)?.clone();
                let out = Outbound {
                    seq,
                    message,
                    session,
                    contact: info.contact,
                    to: info.to,
                    author: author_name(author),
                    agent,
                    text,
                    attachments,
                    at,
                };
                let horizon = self.horizon;
                let feed = self
                    .channels
                    .entry(info.channel)
                    .or_insert_with(|| ChannelFeed {
                        messages: VecDeque::new(),
                        horizon,
                    });
                feed.messages.push_back(out.clone());
                if feed.messages.len() > KEEP_PER_CHANNEL
                    && let Some(old) = feed.messages.pop_front()
                {
                    feed.horizon = old.seq;
                    self.message_channel.remove(&old.message);
                }
                self.message_channel.insert(message, info.channel);
                return Some((info.channel, out));
            }
            EventKind::SessionFinished { session, .. } => {
                self.sessions.remove(&session);
            }
            _ => {}
        }
        None
    }
}
