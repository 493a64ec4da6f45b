//! Commands: what administrators, agents, supervisors, customers and channels ask the core
//! to do. A command is decided by [`crate::Core::handle`] into events, or refused.

use crate::flow::FlowDef;
use crate::ids::{AgentId, ChannelId, FlowId, PauseReasonId, SessionId, SupervisorId, TeamId};
use crate::model::{Actor, ChannelKind, Target, TeamSettings};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Longest text accepted in one message (characters).
pub const MAX_TEXT_CHARS: usize = 4096;
/// Longest name accepted (characters).
pub const MAX_NAME_CHARS: usize = 200;
/// Highest capacity an agent may be configured with.
pub const MAX_CAPACITY: u32 = 100;
/// How long a channel's message id is remembered for idempotent inbound (24 h).
pub const EXTERNAL_ID_WINDOW_MS: i64 = 24 * 3_600_000;
/// At most this many message ids are remembered per channel.
pub const EXTERNAL_ID_MAX_PER_CHANNEL: usize = 200_000;
/// Longest channel message id accepted.
pub const MAX_EXTERNAL_ID_CHARS: usize = 256;

/// Metadata of an attachment (the file itself lives with the channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// MIME type.
    pub mime: String,
    /// File name, if any.
    #[serde(default)]
    pub name: Option<String>,
    /// Where the channel keeps it.
    #[serde(default)]
    pub url: Option<String>,
    /// Size in bytes, if known.
    #[serde(default)]
    pub size: Option<u64>,
}

/// One command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    // ---- configuration -------------------------------------------------------------
    /// Create a channel.
    CreateChannel {
        /// Kind.
        kind: ChannelKind,
        /// Display name.
        name: String,
        /// Bot flow.
        #[serde(default)]
        flow: Option<FlowId>,
    },
    /// Change a channel (fields left out stay as they are).
    UpdateChannel {
        /// The channel.
        channel: ChannelId,
        /// New name.
        #[serde(default)]
        name: Option<String>,
        /// New flow (`Some(None)` is not expressible: a channel keeps a flow once set).
        #[serde(default)]
        flow: Option<FlowId>,
        /// Enable or disable.
        #[serde(default)]
        enabled: Option<bool>,
    },
    /// Delete a channel (refused while it has open sessions).
    DeleteChannel {
        /// The channel.
        channel: ChannelId,
    },
    /// Create a team.
    CreateTeam {
        /// Name.
        name: String,
        /// Settings.
        #[serde(default)]
        settings: TeamSettings,
    },
    /// Change a team.
    UpdateTeam {
        /// The team.
        team: TeamId,
        /// New name.
        #[serde(default)]
        name: Option<String>,
        /// New settings (replace the old ones as a whole).
        #[serde(default)]
        settings: Option<TeamSettings>,
        /// Enable or disable.
        #[serde(default)]
        enabled: Option<bool>,
    },
    /// Create an agent.
    CreateAgent {
        /// Full name.
        name: String,
        /// *Codinome*; defaults to the first name.
        #[serde(default)]
        nickname: Option<String>,
        /// Login e-mail (unique).
        email: String,
        /// Teams.
        #[serde(default)]
        teams: BTreeSet<TeamId>,
        /// Capacity (default 5).
        #[serde(default)]
        capacity: Option<u32>,
    },
    /// Change an agent.
    UpdateAgent {
        /// The agent.
        agent: AgentId,
        /// New name.
        #[serde(default)]
        name: Option<String>,
        /// New nickname.
        #[serde(default)]
        nickname: Option<String>,
        /// New e-mail.
        #[serde(default)]
        email: Option<String>,
        /// New team set.
        #[serde(default)]
        teams: Option<BTreeSet<TeamId>>,
        /// New capacity.
        #[serde(default)]
        capacity: Option<u32>,
        /// Enable or disable (disabling logs the agent out first).
        #[serde(default)]
        enabled: Option<bool>,
    },
    /// Create a pause reason.
    CreatePauseReason {
        /// Name.
        name: String,
        /// Optional max duration in ms.
        #[serde(default)]
        max_duration_ms: Option<i64>,
    },
    /// Change a pause reason.
    UpdatePauseReason {
        /// The reason.
        reason: PauseReasonId,
        /// New name.
        #[serde(default)]
        name: Option<String>,
        /// New max duration (replaces the old one).
        #[serde(default)]
        max_duration_ms: Option<i64>,
        /// Enable or disable.
        #[serde(default)]
        enabled: Option<bool>,
    },
    /// Create a bot flow (validated).
    CreateFlow {
        /// The definition.
        def: FlowDef,
    },
    /// Replace a bot flow's definition (validated). Sessions in the bot continue at the same
    /// step id when it still exists, else from the start.
    UpdateFlow {
        /// The flow.
        flow: FlowId,
        /// The new definition.
        def: FlowDef,
    },
    /// Change global settings.
    UpdateSettings {
        /// IANA time zone for protocol dates.
        #[serde(default)]
        time_zone: Option<String>,
        /// Bulk cap (1..=100).
        #[serde(default)]
        bulk_cap: Option<usize>,
        /// Bot inactivity in ms.
        #[serde(default)]
        bot_inactivity_ms: Option<i64>,
    },

    // ---- presence ------------------------------------------------------------------
    /// The agent logs in to service (online).
    AgentLogin {
        /// The agent.
        agent: AgentId,
    },
    /// Log-out; by the agent itself or forced by a supervisor (M-15). Open sessions go back
    /// to the front of their team queues.
    AgentLogout {
        /// The agent.
        agent: AgentId,
        /// Who asks.
        by: Actor,
    },
    /// Pause with a reason. A supervisor's pause is refused while the agent has open
    /// sessions (M-16).
    AgentPause {
        /// The agent.
        agent: AgentId,
        /// Why.
        reason: PauseReasonId,
        /// Who asks.
        by: Actor,
    },
    /// End a pause.
    AgentResume {
        /// The agent.
        agent: AgentId,
        /// Who asks.
        by: Actor,
    },

    // ---- sessions ------------------------------------------------------------------
    /// A customer wrote on a channel: continues the contact's open session there or starts
    /// one in the channel's bot flow.
    CustomerMessage {
        /// The channel.
        channel: ChannelId,
        /// The contact's identifier on the channel (a phone number, a chat id…).
        identifier: String,
        /// The contact's display name as the channel gives it.
        #[serde(default)]
        name: Option<String>,
        /// The text.
        #[serde(default)]
        text: String,
        /// Attachments.
        #[serde(default)]
        attachments: Vec<Attachment>,
        /// The channel's own id of the message. A message whose id the channel already
        /// delivered (within [`EXTERNAL_ID_WINDOW_MS`]) is refused with `already_received`,
        /// so a retried webhook never duplicates a message.
        #[serde(default)]
        external_id: Option<String>,
    },
    /// The channel reports the delivery status of a message sent to the customer.
    MessageStatus {
        /// The channel reporting.
        channel: ChannelId,
        /// The message (as given to the channel in the outbound feed).
        message: crate::ids::MessageId,
        /// The new status.
        status: crate::model::DeliveryStatus,
    },
    /// Correct a contact's registered name or number (M-53 matches them exactly).
    UpdateContact {
        /// The contact.
        contact: crate::ids::ContactId,
        /// New name as registered.
        #[serde(default)]
        name: Option<String>,
        /// New number; punctuation is stripped (`+55 (35) 99876-5432` → `5535998765432`).
        #[serde(default)]
        number: Option<String>,
    },
    /// An agent replies in a session it serves.
    AgentMessage {
        /// The session.
        session: SessionId,
        /// The agent.
        agent: AgentId,
        /// The text.
        text: String,
    },
    /// An agent pulls a waiting session of a *todos* team.
    PullSession {
        /// The session.
        session: SessionId,
        /// The agent.
        agent: AgentId,
    },
    /// Transfer a session to an agent or a team (D-3).
    Transfer {
        /// The session.
        session: SessionId,
        /// Where to.
        to: Target,
        /// Who asks: the serving agent or a supervisor.
        by: Actor,
    },
    /// Finish a session: by its agent (wrap-up code when the team has codes), by a supervisor
    /// (any open phase) or by the customer.
    Finish {
        /// The session.
        session: SessionId,
        /// Who asks.
        by: Actor,
        /// Wrap-up code.
        #[serde(default)]
        wrapup: Option<String>,
    },

    // ---- internal chat (M-11) ----------------------------------------------------------
    /// A message between a supervisor and an agent.
    InternalMessage {
        /// The agent.
        agent: AgentId,
        /// The supervisor.
        supervisor: SupervisorId,
        /// True when the agent writes to the supervisor.
        from_agent: bool,
        /// The text.
        text: String,
    },
    /// Mark the internal messages of a conversation as read by one side.
    InternalRead {
        /// The agent.
        agent: AgentId,
        /// The supervisor.
        supervisor: SupervisorId,
        /// True when the agent is the reader.
        by_agent: bool,
    },
}

impl Command {
    /// The snake_case name of the command (its JSON `type`), for logs, metrics and audit.
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateChannel { .. } => "create_channel",
            Self::UpdateChannel { .. } => "update_channel",
            Self::DeleteChannel { .. } => "delete_channel",
            Self::CreateTeam { .. } => "create_team",
            Self::UpdateTeam { .. } => "update_team",
            Self::CreateAgent { .. } => "create_agent",
            Self::UpdateAgent { .. } => "update_agent",
            Self::CreatePauseReason { .. } => "create_pause_reason",
            Self::UpdatePauseReason { .. } => "update_pause_reason",
            Self::CreateFlow { .. } => "create_flow",
            Self::UpdateFlow { .. } => "update_flow",
            Self::UpdateSettings { .. } => "update_settings",
            Self::AgentLogin { .. } => "agent_login",
            Self::AgentLogout { .. } => "agent_logout",
            Self::AgentPause { .. } => "agent_pause",
            Self::AgentResume { .. } => "agent_resume",
            Self::CustomerMessage { .. } => "customer_message",
            Self::MessageStatus { .. } => "message_status",
            Self::UpdateContact { .. } => "update_contact",
            Self::AgentMessage { .. } => "agent_message",
            Self::PullSession { .. } => "pull_session",
            Self::Transfer { .. } => "transfer",
            Self::Finish { .. } => "finish",
            Self::InternalMessage { .. } => "internal_message",
            Self::InternalRead { .. } => "internal_read",
        }
    }
}

/// What a bulk command does to each session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BulkAction {
    /// Finish each session.
    Finish {
        /// Optional wrap-up code applied to each.
        #[serde(default)]
        wrapup: Option<String>,
    },
    /// Transfer each session.
    Transfer {
        /// Where to.
        to: Target,
    },
}

/// Finish or transfer several sessions at once (M-12, M-21, B-3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkCommand {
    /// The sessions (at most the configured cap, default 5; no duplicates).
    pub sessions: Vec<SessionId>,
    /// The action.
    #[serde(flatten)]
    pub action: BulkAction,
    /// Who asks.
    pub by: Actor,
}
