//! Transcripts and internal chat as read models fed by the event log: what *Acompanhar*
//! (M-40, the transcript so far), *Conferir histórico* (M-41, the contact's earlier sessions)
//! and the *chat interno* (M-11, conversations and unread counts) answer from — for the
//! supervisors and, for the chat, for the agents too (`/api/v1/me/chat`): one copy.
//!
//! Both are folds of events in log order, fed by the engine's broadcast (see
//! [`super::MonitorService`]). Memory holds only the live part: open sessions' transcripts
//! (at most [`RecordLimits::messages_per_session`] messages each, the newest; `truncated`
//! says so) and the internal conversations (at most
//! [`RecordLimits::messages_per_conversation`] each). A session that finishes leaves memory
//! for the durable archive ([`mirante_store::archive::SessionArchive`]):
//! [`Records::take_finished`] hands the service what to archive after each batch, and the
//! history route reads the archive. Every [`RecordLimits::checkpoint_every`] events the live
//! part is checkpointed into the archive too ([`Records::checkpoint`]), so a restart
//! restores it ([`Records::restore`]) and folds only the log after the checkpoint.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use mirante_core::event::Author;
use mirante_core::{
    AgentId, Attachment, ChannelId, ContactId, DeliveryStatus, Event, EventKind, FinishReason,
    InternalMessageId, MessageId, Outcome, SessionId, SupervisorId, TeamId, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::feeds::{
    ChatEntry, ConversationSummary, KEEP_PER_CONVERSATION, KEEP_PER_SESSION, TranscriptEntry,
    author_name,
};
use utoipa::ToSchema;

/// Bounds of the in-memory records.
#[derive(Debug, Clone, Copy)]
pub struct RecordLimits {
    /// Events folded between two checkpoints of the live part into the archive.
    pub checkpoint_every: u64,
    /// Least time between two checkpoints (a checkpoint holds every open transcript).
    pub checkpoint_min_interval: std::time::Duration,
    /// Messages kept per session (the newest).
    pub messages_per_session: usize,
    /// Messages kept per internal conversation (the newest).
    pub messages_per_conversation: usize,
}

impl Default for RecordLimits {
    fn default() -> Self {
        Self {
            checkpoint_every: 20_000,
            checkpoint_min_interval: std::time::Duration::from_secs(30),
            messages_per_session: KEEP_PER_SESSION,
            messages_per_conversation: 1_000,
        }
    }
}

/// One message of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessageView {
    /// Message id.
    pub id: u64,
    /// When (ms since the epoch).
    #[schema(value_type = i64)]
    pub at: Timestamp,
    /// `customer`, `bot`, `agent`, `supervisor` or `system`.
    #[schema(value_type = String)]
    pub author: Author,
    /// The agent, when an agent wrote it.
    #[schema(value_type = Option<u64>)]
    pub agent: Option<AgentId>,
    /// The text.
    pub text: String,
    /// How many attachments it carries.
    pub attachments: usize,
    /// Its event's sequence number (the agent's transcript; not in supervisors' answers).
    #[serde(skip)]
    pub seq: u64,
    /// Attachment metadata (the agent's transcript; supervisors see the count).
    #[serde(skip)]
    pub files: Vec<Attachment>,
    /// Delivery status reported by the channel (the agent's transcript).
    #[serde(skip)]
    pub status: Option<DeliveryStatus>,
}

/// One session's record: where it went, how it ended, its transcript (also the archived
/// payload, as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionRecord {
    /// Id.
    #[schema(value_type = u64)]
    pub id: SessionId,
    /// The customer.
    #[schema(value_type = u64)]
    pub contact: ContactId,
    /// The channel.
    #[schema(value_type = u64)]
    pub channel: ChannelId,
    /// Its (last) team.
    #[schema(value_type = Option<u64>)]
    pub team: Option<TeamId>,
    /// Its (last) agent.
    #[schema(value_type = Option<u64>)]
    pub agent: Option<AgentId>,
    /// Its protocol, once it reached an agent.
    pub protocol: Option<String>,
    /// When it started (ms).
    #[schema(value_type = i64)]
    pub started_at: Timestamp,
    /// When it finished (ms); `null` while open.
    #[schema(value_type = Option<i64>)]
    pub finished_at: Option<Timestamp>,
    /// Why it finished.
    #[schema(value_type = Option<String>)]
    pub reason: Option<FinishReason>,
    /// Success or lost.
    #[schema(value_type = Option<String>)]
    pub outcome: Option<Outcome>,
    /// Wrap-up code.
    pub wrapup: Option<String>,
    /// Older messages were dropped (they remain in the log).
    pub truncated: bool,
    /// The transcript (oldest first).
    #[schema(value_type = Vec<MessageView>)]
    pub messages: VecDeque<MessageView>,
}

/// One internal chat message (M-11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChatMessage {
    /// Id.
    pub id: u64,
    /// When (ms).
    #[schema(value_type = i64)]
    pub at: Timestamp,
    /// The agent of the conversation.
    #[schema(value_type = u64)]
    pub agent: AgentId,
    /// The supervisor of the conversation (its account id).
    #[schema(value_type = u64)]
    pub supervisor: SupervisorId,
    /// True when the agent wrote it.
    pub from_agent: bool,
    /// The text.
    pub text: String,
}

/// A supervisor's conversation with one agent, summarized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChatSummary {
    /// The agent.
    #[schema(value_type = u64)]
    pub agent: AgentId,
    /// Messages from the agent the supervisor has not read (the badge of M-11).
    pub unread: u64,
    /// The last message, if any.
    pub last: Option<ChatMessage>,
    /// The agent has read the conversation up to this message id ("seen").
    pub agent_read_up_to: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Conversation {
    messages: VecDeque<ChatMessage>,
    read_by_agent: u64,
    read_by_supervisor: u64,
}

impl Conversation {
    /// A message in the agent's shape: read when the *other* side read up to it.
    fn agent_entry(&self, m: &ChatMessage) -> ChatEntry {
        let read_up_to = if m.from_agent {
            self.read_by_supervisor
        } else {
            self.read_by_agent
        };
        ChatEntry {
            id: InternalMessageId(m.id),
            from_agent: m.from_agent,
            text: m.text.clone(),
            at: m.at,
            read: m.id <= read_up_to,
        }
    }
}

/// What a folded event means for live followers (published by the service).
#[derive(Debug, Clone)]
pub enum Fact {
    /// A message in a session.
    Message(SessionId, Arc<MessageView>),
    /// An internal message.
    Chat(Arc<ChatMessage>),
    /// One side read a conversation.
    ChatRead {
        /// The agent.
        agent: AgentId,
        /// The supervisor.
        supervisor: SupervisorId,
        /// The agent read (else the supervisor).
        by_agent: bool,
        /// Up to this message.
        up_to: u64,
    },
    /// A session finished.
    Finished(SessionId),
    /// The supervisors following a session changed (B-5): the set now (published by the
    /// service, not folded from the log).
    Followers(SessionId, Arc<[super::Follower]>),
}

/// Open sessions' transcripts and internal conversations, plus the sessions finished since
/// the service last took them for the archive.
#[derive(Debug, Default)]
pub struct Records {
    limits: RecordLimits,
    seq: u64,
    /// The sequence of the last checkpoint written (or restored).
    checkpointed: u64,
    sessions: HashMap<SessionId, SessionRecord>,
    by_contact: HashMap<ContactId, Vec<SessionId>>,
    finished: Vec<(u64, SessionRecord)>,
    chats: BTreeMap<(SupervisorId, AgentId), Conversation>,
    /// Outbound (not the customer's) messages kept in open sessions → their session, for
    /// delivery-status reports.
    outbound: HashMap<MessageId, SessionId>,
}

/// What of a message the supervisors' shape leaves out (checkpointed beside it).
type Extra = (u64, Vec<Attachment>, Option<DeliveryStatus>);

/// The live part as checkpointed (JSON): open sessions, in id order, and conversations.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    seq: u64,
    sessions: Vec<(SessionRecord, Vec<Extra>)>,
    chats: Vec<(SupervisorId, AgentId, Conversation)>,
}

/// Borrowed twin of [`Saved`] for writing without cloning the records.
#[derive(Serialize)]
struct SavedRef<'a> {
    seq: u64,
    sessions: Vec<(&'a SessionRecord, Vec<Extra>)>,
    chats: Vec<(SupervisorId, AgentId, &'a Conversation)>,
}

impl Records {
    /// Empty records (before the first event of the log).
    pub fn new(limits: RecordLimits) -> Records {
        Records {
            limits,
            ..Records::default()
        }
    }

    /// Records restored from a checkpoint payload ([`Records::checkpoint`]).
    pub fn restore(limits: RecordLimits, payload: &[u8]) -> Result<Records, serde_json::Error> {
        let saved: Saved = serde_json::from_slice(payload)?;
        let mut r = Records::new(limits);
        r.seq = saved.seq;
        r.checkpointed = saved.seq;
        for (mut record, extras) in saved.sessions {
            for (m, (seq, files, status)) in record.messages.iter_mut().zip(extras) {
                m.seq = seq;
                m.files = files;
                m.status = status;
                if m.author != Author::Customer {
                    r.outbound.insert(MessageId(m.id), record.id);
                }
            }
            r.by_contact
                .entry(record.contact)
                .or_default()
                .push(record.id);
            r.sessions.insert(record.id, record);
        }
        r.chats = saved
            .chats
            .into_iter()
            .map(|(supervisor, agent, c)| ((supervisor, agent), c))
            .collect();
        Ok(r)
    }

    /// The live part (open sessions, conversations) as of [`Records::seq`], serialized.
    pub fn checkpoint(&self) -> Vec<u8> {
        let mut sessions: Vec<&SessionRecord> = self.sessions.values().collect();
        sessions.sort_unstable_by_key(|r| r.id);
        let saved = SavedRef {
            seq: self.seq,
            sessions: sessions
                .into_iter()
                .map(|r| {
                    let extras = r
                        .messages
                        .iter()
                        .map(|m| (m.seq, m.files.clone(), m.status))
                        .collect();
                    (r, extras)
                })
                .collect(),
            chats: self
                .chats
                .iter()
                .map(|((supervisor, agent), c)| (*supervisor, *agent, c))
                .collect(),
        };
        serde_json::to_vec(&saved).unwrap_or_default()
    }

    /// True when [`RecordLimits::checkpoint_every`] events were folded since the last
    /// checkpoint.
    pub fn checkpoint_due(&self) -> bool {
        self.seq >= self.checkpointed + self.limits.checkpoint_every.max(1)
    }

    /// Notes that a checkpoint at `seq` was written.
    pub fn checkpointed(&mut self, seq: u64) {
        self.checkpointed = self.checkpointed.max(seq);
    }

    /// The sessions finished since the last call, each with the sequence of the event that
    /// finished it: they are no longer in memory, the caller archives them.
    pub fn take_finished(&mut self) -> Vec<(u64, SessionRecord)> {
        std::mem::take(&mut self.finished)
    }

    /// The last folded sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// An open session's record (a finished one is in the archive).
    pub fn session(&self, id: SessionId) -> Option<&SessionRecord> {
        self.sessions.get(&id)
    }

    /// An open session's transcript as its agent sees it (`GET
    /// /api/v1/me/sessions/{id}/messages`): the newest [`RecordLimits::messages_per_session`]
    /// messages with attachment metadata and delivery status.
    pub fn agent_transcript(&self, id: SessionId) -> Vec<TranscriptEntry> {
        self.sessions
            .get(&id)
            .map(|r| {
                r.messages
                    .iter()
                    .map(|m| TranscriptEntry {
                        seq: m.seq,
                        message: MessageId(m.id),
                        author: author_name(m.author),
                        agent: m.agent,
                        text: m.text.clone(),
                        attachments: m.files.clone(),
                        at: m.at,
                        status: m.status,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The contact's open sessions, newest first.
    pub fn contact_sessions(&self, contact: ContactId) -> impl Iterator<Item = &SessionRecord> {
        self.by_contact
            .get(&contact)
            .into_iter()
            .flat_map(|v| v.iter().rev())
            .filter_map(|id| self.sessions.get(id))
    }

    /// A conversation, oldest first (at most `limit` newest messages, before `before` when
    /// given).
    pub fn conversation(
        &self,
        supervisor: SupervisorId,
        agent: AgentId,
        before: Option<u64>,
        limit: usize,
    ) -> Vec<ChatMessage> {
        let Some(c) = self.chats.get(&(supervisor, agent)) else {
            return Vec::new();
        };
        let mut out: Vec<ChatMessage> = c
            .messages
            .iter()
            .rev()
            .filter(|m| before.is_none_or(|b| m.id < b))
            .take(limit)
            .cloned()
            .collect();
        out.reverse();
        out
    }

    /// Every conversation of a supervisor, with the unread count of each.
    pub fn summaries(&self, supervisor: SupervisorId) -> Vec<ChatSummary> {
        self.chats
            .range((supervisor, AgentId(0))..=(supervisor, AgentId(u64::MAX)))
            .map(|((_, agent), c)| ChatSummary {
                agent: *agent,
                unread: c
                    .messages
                    .iter()
                    .filter(|m| m.from_agent && m.id > c.read_by_supervisor)
                    .count() as u64,
                last: c.messages.back().cloned(),
                agent_read_up_to: c.read_by_agent,
            })
            .collect()
    }

    /// The agent's side of the internal chat (M-11, `GET /api/v1/me/chat`): its
    /// conversations, by supervisor, with the messages from the supervisor it has not read.
    pub fn agent_conversations(&self, agent: AgentId) -> Vec<ConversationSummary> {
        let mut list: Vec<ConversationSummary> = self
            .chats
            .iter()
            .filter(|((_, a), _)| *a == agent)
            .map(|((supervisor, _), c)| {
                let kept = c.messages.len().min(KEEP_PER_CONVERSATION);
                ConversationSummary {
                    supervisor: supervisor.0,
                    messages: kept,
                    unread: c
                        .messages
                        .iter()
                        .rev()
                        .take(kept)
                        .filter(|m| !m.from_agent && m.id > c.read_by_agent)
                        .count(),
                    last: c.messages.back().map(|m| c.agent_entry(m)),
                }
            })
            .collect();
        list.sort_by_key(|c| c.supervisor);
        list
    }

    /// One conversation as the agent sees it (`GET /api/v1/me/chat/{id}`): the newest
    /// [`KEEP_PER_CONVERSATION`] messages, oldest first, each with whether the other side
    /// read it.
    pub fn agent_conversation(&self, agent: AgentId, supervisor: SupervisorId) -> Vec<ChatEntry> {
        let Some(c) = self.chats.get(&(supervisor, agent)) else {
            return Vec::new();
        };
        let skip = c.messages.len().saturating_sub(KEEP_PER_CONVERSATION);
        c.messages
            .iter()
            .skip(skip)
            .map(|m| c.agent_entry(m))
            .collect()
    }

    /// Folds one event; returns what followers should hear of it.
    pub fn apply(&mut self, seq: u64, event: &Event) -> Option<Fact> {
        self.seq = seq;
        let at = event.at;
        match &event.kind {
            EventKind::SessionStarted {
                session,
                contact,
                channel,
                ..
            } => {
                self.sessions.insert(
                    *session,
                    SessionRecord {
                        id: *session,
                        contact: *contact,
                        channel: *channel,
                        team: None,
                        agent: None,
                        protocol: None,
                        started_at: at,
                        finished_at: None,
                        reason: None,
                        outcome: None,
                        wrapup: None,
                        truncated: false,
                        messages: VecDeque::new(),
                    },
                );
                self.by_contact.entry(*contact).or_default().push(*session);
                None
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
                let view = MessageView {
                    id: message.0,
                    at,
                    author: *author,
                    agent: *agent,
                    text: text.clone(),
                    attachments: attachments.len(),
                    seq,
                    files: attachments.clone(),
                    status: None,
                };
                let cap = self.limits.messages_per_session.max(1);
                let record = self.sessions.get_mut(session)?;
                if record.messages.len() >= cap
                    && let Some(old) = record.messages.pop_front()
                {
                    record.truncated = true;
                    self.outbound.remove(&MessageId(old.id));
                }
                record.messages.push_back(view.clone());
                if *author != Author::Customer {
                    self.outbound.insert(*message, *session);
                }
                Some(Fact::Message(*session, Arc::new(view)))
            }
            EventKind::MessageStatusChanged {
                message, status, ..
            } => {
                let session = self.outbound.get(message)?;
                let m = self
                    .sessions
                    .get_mut(session)?
                    .messages
                    .iter_mut()
                    .rev()
                    .find(|m| m.id == message.0)?;
                m.status = Some(*status);
                None
            }
            EventKind::SessionQueued { session, team, .. } => {
                if let Some(r) = self.sessions.get_mut(session) {
                    r.team = Some(*team);
                }
                None
            }
            EventKind::SessionAssigned {
                session,
                agent,
                team,
                protocol,
                ..
            } => {
                if let Some(r) = self.sessions.get_mut(session) {
                    r.team = Some(*team);
                    r.agent = Some(*agent);
                    if let Some(p) = protocol {
                        r.protocol = Some(p.clone());
                    }
                }
                None
            }
            EventKind::SessionFinished {
                session,
                reason,
                outcome,
                wrapup,
                ..
            } => {
                let mut r = self.forget(*session)?;
                r.finished_at = Some(at);
                r.reason = Some(*reason);
                r.outcome = Some(*outcome);
                r.wrapup = wrapup.clone();
                self.finished.push((seq, r));
                Some(Fact::Finished(*session))
            }
            EventKind::InternalMessageSent {
                message,
                agent,
                supervisor,
                from_agent,
                text,
            } => {
                let m = ChatMessage {
                    id: message.0,
                    at,
                    agent: *agent,
                    supervisor: *supervisor,
                    from_agent: *from_agent,
                    text: text.clone(),
                };
                let cap = self.limits.messages_per_conversation.max(1);
                let c = self.chats.entry((*supervisor, *agent)).or_default();
                if c.messages.len() >= cap {
                    c.messages.pop_front();
                }
                c.messages.push_back(m.clone());
                Some(Fact::Chat(Arc::new(m)))
            }
            EventKind::InternalMessagesRead {
                agent,
                supervisor,
                by_agent,
                up_to,
            } => {
                let c = self.chats.entry((*supervisor, *agent)).or_default();
                if *by_agent {
                    c.read_by_agent = c.read_by_agent.max(up_to.0);
                } else {
                    c.read_by_supervisor = c.read_by_supervisor.max(up_to.0);
                }
                Some(Fact::ChatRead {
                    agent: *agent,
                    supervisor: *supervisor,
                    by_agent: *by_agent,
                    up_to: up_to.0,
                })
            }
            _ => None,
        }
    }

    fn forget(&mut self, id: SessionId) -> Option<SessionRecord> {
        let r = self.sessions.remove(&id)?;
        for m in &r.messages {
            self.outbound.remove(&MessageId(m.id));
        }
        if let Some(v) = self.by_contact.get_mut(&r.contact) {
            v.retain(|s| *s != id);
            if v.is_empty() {
                self.by_contact.remove(&r.contact);
            }
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mirante_core::model::{Actor, FinishReason};
    use mirante_core::{InternalMessageId, MessageId};

    fn ev(at: i64, kind: EventKind) -> Event {
        Event {
            at: Timestamp(at),
            kind,
        }
    }

    fn start(s: u64, c: u64) -> Event {
        ev(
            1,
            EventKind::SessionStarted {
                session: SessionId(s),
                contact: ContactId(c),
                channel: ChannelId(1),
                flow: mirante_core::FlowId(1),
            },
        )
    }

    fn msg(s: u64, id: u64) -> Event {
        ev(
            2,
            EventKind::MessagePosted {
                session: SessionId(s),
                message: MessageId(id),
                author: Author::Customer,
                agent: None,
                text: format!("m{id}"),
                attachments: vec![],
                external_id: None,
            },
        )
    }

    fn finish(s: u64) -> Event {
        ev(
            3,
            EventKind::SessionFinished {
                session: SessionId(s),
                reason: FinishReason::ByCustomer,
                outcome: Outcome::Success,
                wrapup: None,
                by: Actor::Customer,
            },
        )
    }

    #[test]
    fn m41_finished_sessions_leave_memory_for_the_archive() {
        let mut r = Records::new(RecordLimits {
            checkpoint_every: 10,
            checkpoint_min_interval: std::time::Duration::ZERO,
            messages_per_session: 2,
            messages_per_conversation: 2,
        });
        let mut seq = 0;
        let mut feed = |r: &mut Records, e: Event| {
            seq += 1;
            r.apply(seq, &e)
        };
        for s in 1..=3 {
            feed(&mut r, start(s, 7));
            for m in 0..3 {
                feed(&mut r, msg(s, s * 10 + m));
            }
            if s < 3 {
                feed(&mut r, finish(s));
            }
        }
        let open: Vec<u64> = r.contact_sessions(ContactId(7)).map(|s| s.id.0).collect();
        assert_eq!(open, vec![3], "only the open session stays in memory");
        let s3 = r.session(SessionId(3)).unwrap();
        assert!(s3.truncated);
        assert_eq!(
            s3.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![31, 32]
        );
        let finished = r.take_finished();
        assert_eq!(
            finished
                .iter()
                .map(|(seq, s)| (*seq, s.id.0, s.finished_at.is_some()))
                .collect::<Vec<_>>(),
            vec![(5, 1, true), (10, 2, true)]
        );
        assert!(r.take_finished().is_empty());
        assert!(r.checkpoint_due());
    }

    #[test]
    fn m41_checkpoint_restores_the_live_part() {
        let mut r = Records::new(RecordLimits::default());
        r.apply(1, &start(1, 7));
        r.apply(2, &msg(1, 10));
        r.apply(
            3,
            &ev(
                3,
                EventKind::InternalMessageSent {
                    message: InternalMessageId(1),
                    agent: AgentId(1),
                    supervisor: SupervisorId(9),
                    from_agent: true,
                    text: "x".into(),
                },
            ),
        );
        r.apply(
            4,
            &ev(
                4,
                EventKind::MessagePosted {
                    session: SessionId(1),
                    message: MessageId(11),
                    author: Author::Agent,
                    agent: Some(AgentId(1)),
                    text: "oi".into(),
                    attachments: vec![Attachment {
                        mime: "image/png".into(),
                        name: Some("a.png".into()),
                        url: None,
                        size: Some(1),
                    }],
                    external_id: None,
                },
            ),
        );
        r.apply(
            5,
            &ev(
                5,
                EventKind::MessageStatusChanged {
                    channel: ChannelId(1),
                    message: MessageId(11),
                    status: DeliveryStatus::Delivered,
                },
            ),
        );
        let transcript = r.agent_transcript(SessionId(1));
        assert_eq!(
            transcript
                .iter()
                .map(|e| (e.seq, e.author, e.attachments.len(), e.status))
                .collect::<Vec<_>>(),
            vec![
                (2, "customer", 0, None),
                (4, "agent", 1, Some(DeliveryStatus::Delivered))
            ]
        );
        let back = Records::restore(RecordLimits::default(), &r.checkpoint()).unwrap();
        assert_eq!(back.agent_transcript(SessionId(1)), transcript);
        assert_eq!(back.seq(), 5);
        assert!(!back.checkpoint_due());
        assert_eq!(back.session(SessionId(1)), r.session(SessionId(1)));
        assert_eq!(back.contact_sessions(ContactId(7)).count(), 1);
        assert_eq!(
            back.summaries(SupervisorId(9)),
            r.summaries(SupervisorId(9))
        );
    }

    #[test]
    fn m11_unread_counts_follow_reads() {
        let mut r = Records::new(RecordLimits::default());
        let sent = |id: u64, from_agent: bool| {
            ev(
                id as i64,
                EventKind::InternalMessageSent {
                    message: InternalMessageId(id),
                    agent: AgentId(1),
                    supervisor: SupervisorId(9),
                    from_agent,
                    text: "x".into(),
                },
            )
        };
        r.apply(1, &sent(1, true));
        r.apply(2, &sent(2, true));
        r.apply(3, &sent(3, false));
        assert_eq!(r.summaries(SupervisorId(9))[0].unread, 2);
        r.apply(
            4,
            &ev(
                4,
                EventKind::InternalMessagesRead {
                    agent: AgentId(1),
                    supervisor: SupervisorId(9),
                    by_agent: false,
                    up_to: InternalMessageId(3),
                },
            ),
        );
        assert_eq!(r.summaries(SupervisorId(9))[0].unread, 0);
        assert!(r.summaries(SupervisorId(8)).is_empty());
        // The agent's side of the same conversation.
        let mine = r.agent_conversations(AgentId(1));
        assert_eq!(
            (
                mine.len(),
                mine[0].supervisor,
                mine[0].messages,
                mine[0].unread
            ),
            (1, 9, 3, 1)
        );
        let entries = r.agent_conversation(AgentId(1), SupervisorId(9));
        assert_eq!(
            entries.iter().map(|e| e.read).collect::<Vec<_>>(),
            vec![true, true, false],
            "the supervisor read the agent's messages; the agent has not read the reply"
        );
        assert!(r.agent_conversations(AgentId(2)).is_empty());
        assert_eq!(
            r.conversation(SupervisorId(9), AgentId(1), None, 2).len(),
            2
        );
    }
}
