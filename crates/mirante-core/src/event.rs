//! Events: the facts the core decided. They are the only thing stored; applying them in
//! order rebuilds the state exactly. Events carry enough to build read models (the monitor,
//! reports, transcripts) without looking anything up.

use crate::command::Attachment;
use crate::ids::{
    AgentId, ChannelId, ContactId, InternalMessageId, MessageId, PauseReasonId, SessionId,
    SupervisorId, TeamId,
};
use crate::model::{
    Actor, Agent, Channel, Contact, FinishReason, Flow, Outcome, PauseReason, Settings, Target,
    Team,
};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One event: when, and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened (the time of the command or tick that decided it).
    pub at: Timestamp,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Why a session entered a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueReason {
    /// The bot routed it.
    Routed,
    /// Transferred to the team.
    Transferred,
    /// Its agent logged out (M-15): placed at the front.
    Requeued,
    /// Max wait exceeded: moved to the overflow team.
    Overflow,
}

/// How a session reached its agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignedBy {
    /// Automatic distribution (D-10).
    Distribution,
    /// The agent pulled it (*todos* mode).
    Pull,
    /// A transfer to this agent.
    Transfer,
}

/// Who wrote a message in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The customer.
    Customer,
    /// The bot.
    Bot,
    /// The agent.
    Agent,
    /// A supervisor.
    Supervisor,
    /// The system (closing or no-agent message).
    System,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    // ---- configuration ---------------------------------------------------------------
    /// A channel was created.
    ChannelCreated {
        /// The channel.
        channel: Channel,
    },
    /// A channel changed (the full new record).
    ChannelUpdated {
        /// The channel.
        channel: Channel,
    },
    /// A channel was deleted.
    ChannelDeleted {
        /// The channel.
        channel: ChannelId,
    },
    /// A team was created.
    TeamCreated {
        /// The team.
        team: Team,
    },
    /// A team changed (the full new record).
    TeamUpdated {
        /// The team.
        team: Team,
    },
    /// An agent was created.
    AgentCreated {
        /// The agent.
        agent: Agent,
    },
    /// An agent changed (the full new record).
    AgentUpdated {
        /// The agent.
        agent: Agent,
    },
    /// A pause reason was created.
    PauseReasonCreated {
        /// The reason.
        reason: PauseReason,
    },
    /// A pause reason changed.
    PauseReasonUpdated {
        /// The reason.
        reason: PauseReason,
    },
    /// A flow was created.
    FlowCreated {
        /// The flow.
        flow: Flow,
    },
    /// A flow changed.
    FlowUpdated {
        /// The flow.
        flow: Flow,
    },
    /// Global settings changed (the full new record).
    SettingsUpdated {
        /// The settings.
        settings: Settings,
    },

    // ---- presence --------------------------------------------------------------------
    /// An agent logged in (online).
    AgentLoggedIn {
        /// The agent.
        agent: AgentId,
    },
    /// An agent logged out (its sessions were re-queued by the events before this one).
    AgentLoggedOut {
        /// The agent.
        agent: AgentId,
        /// Who did it.
        by: Actor,
    },
    /// An agent paused.
    AgentPaused {
        /// The agent.
        agent: AgentId,
        /// Why.
        reason: PauseReasonId,
        /// Who did it.
        by: Actor,
    },
    /// An agent's pause ended.
    AgentResumed {
        /// The agent.
        agent: AgentId,
        /// Who did it.
        by: Actor,
    },

    // ---- contacts and sessions -------------------------------------------------------
    /// A contact was seen for the first time.
    ContactCreated {
        /// The contact.
        contact: Contact,
    },
    /// A contact was first seen on another channel, or its name changed.
    ContactUpdated {
        /// The contact.
        contact: Contact,
    },
    /// A session started in a channel's bot flow (phase bot).
    SessionStarted {
        /// The session.
        session: SessionId,
        /// The customer.
        contact: ContactId,
        /// The channel.
        channel: ChannelId,
        /// The flow.
        flow: crate::ids::FlowId,
    },
    /// A message in a session.
    MessagePosted {
        /// The session.
        session: SessionId,
        /// Message id.
        message: MessageId,
        /// Who wrote it.
        author: Author,
        /// The agent, when the author is an agent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<AgentId>,
        /// The text.
        text: String,
        /// Attachments.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<Attachment>,
        /// The channel's own id of an inbound message (idempotency key).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external_id: Option<String>,
    },
    /// A channel reported the delivery status of an outbound message.
    MessageStatusChanged {
        /// The channel.
        channel: ChannelId,
        /// The message.
        message: MessageId,
        /// The status.
        status: crate::model::DeliveryStatus,
    },
    /// The bot now waits at a step.
    BotStepEntered {
        /// The session.
        session: SessionId,
        /// The step id.
        step: String,
        /// The input was not understood (the step repeats).
        invalid: bool,
        /// Fields collected in this turn.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        collected: BTreeMap<String, String>,
    },
    /// The session entered a team's queue (phase waiting).
    SessionQueued {
        /// The session.
        session: SessionId,
        /// The team.
        team: TeamId,
        /// Why.
        reason: QueueReason,
        /// Placed at the front (M-15) rather than the back.
        front: bool,
        /// Fields collected by the bot, when it leaves the bot.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        collected: BTreeMap<String, String>,
    },
    /// The session reached an agent (phase human).
    SessionAssigned {
        /// The session.
        session: SessionId,
        /// The agent.
        agent: AgentId,
        /// The team it was served under.
        team: TeamId,
        /// The protocol, on the first assignment only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        protocol: Option<String>,
        /// How.
        by: AssignedBy,
    },
    /// The session was transferred (followed by `SessionQueued` or `SessionAssigned`).
    SessionTransferred {
        /// The session.
        session: SessionId,
        /// Where to.
        to: Target,
        /// From which agent, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_agent: Option<AgentId>,
        /// Who did it.
        by: Actor,
    },
    /// The session finished (D-2: never reopened).
    SessionFinished {
        /// The session.
        session: SessionId,
        /// Why.
        reason: FinishReason,
        /// Success or lost.
        outcome: Outcome,
        /// Wrap-up code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wrapup: Option<String>,
        /// Who did it.
        by: Actor,
    },

    // ---- internal chat (M-11) ----------------------------------------------------------
    /// An internal message between a supervisor and an agent.
    InternalMessageSent {
        /// Id.
        message: InternalMessageId,
        /// The agent.
        agent: AgentId,
        /// The supervisor.
        supervisor: SupervisorId,
        /// True when the agent wrote it.
        from_agent: bool,
        /// The text.
        text: String,
    },
    /// One side read the conversation up to now.
    InternalMessagesRead {
        /// The agent.
        agent: AgentId,
        /// The supervisor.
        supervisor: SupervisorId,
        /// True when the agent read.
        by_agent: bool,
        /// Read up to and including this message.
        up_to: InternalMessageId,
    },
}
