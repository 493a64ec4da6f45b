//! The entities of the contact center (SPEC §2): configuration records as administrators
//! write them, and the runtime state the engine keeps for open sessions and agents.

use crate::ids::{AgentId, ChannelId, ContactId, FlowId, PauseReasonId, SessionId, TeamId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Kinds of channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// WhatsApp (shown as "WhatsApp Business").
    Whatsapp,
    /// Telegram.
    Telegram,
    /// The built-in web chat.
    Webchat,
    /// Instagram direct.
    Instagram,
    /// Facebook Messenger.
    Messenger,
    /// E-mail.
    Email,
    /// SMS.
    Sms,
    /// Any other integration through the generic API.
    Api,
}

/// A channel (*Canal*).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    /// Id.
    pub id: ChannelId,
    /// Kind.
    pub kind: ChannelKind,
    /// Display name, e.g. "WhatsApp Business".
    pub name: String,
    /// Disabled channels accept no new sessions.
    pub enabled: bool,
    /// The bot flow a new session starts in.
    pub flow: Option<FlowId>,
}

/// How a team's queue is distributed (D-10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistributionMode {
    /// *Menos atendimentos*: fewest open sessions, ties → longest idle (default).
    #[default]
    LeastBusy,
    /// *Sequencial*: round robin over the team's members.
    Sequential,
    /// *Todos*: offered to all; the first agent to pull takes it.
    All,
}

/// A team's settings (*Equipe*), as written by an administrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamSettings {
    /// Distribution mode.
    #[serde(default)]
    pub mode: DistributionMode,
    /// *Tempo de sessão*: finish (lost) after this long without a customer message, in ms.
    #[serde(default)]
    pub inactivity_timeout_ms: Option<i64>,
    /// Max wait in the queue before overflow (or finishing as lost), in ms.
    #[serde(default)]
    pub max_wait_ms: Option<i64>,
    /// *Transbordo*: where sessions go after `max_wait_ms`.
    #[serde(default)]
    pub overflow_team: Option<TeamId>,
    /// Sent to the customer when an agent or supervisor finishes the session.
    #[serde(default)]
    pub closing_message: Option<String>,
    /// Sent when the session is finished because no agent was available.
    #[serde(default)]
    pub no_agent_message: Option<String>,
    /// *Tabulações*: when non-empty, finishing by an agent requires one.
    #[serde(default)]
    pub wrapup_codes: Vec<String>,
    /// Service-level target: answered within this many ms (default 20 s).
    #[serde(default = "default_sl_target_ms")]
    pub service_level_target_ms: i64,
    /// Service-level goal in percent (default 80).
    #[serde(default = "default_sl_percent")]
    pub service_level_percent: u8,
}

fn default_sl_target_ms() -> i64 {
    20_000
}
fn default_sl_percent() -> u8 {
    80
}

impl Default for TeamSettings {
    fn default() -> Self {
        Self {
            mode: DistributionMode::default(),
            inactivity_timeout_ms: None,
            max_wait_ms: None,
            overflow_team: None,
            closing_message: None,
            no_agent_message: None,
            wrapup_codes: Vec::new(),
            service_level_target_ms: default_sl_target_ms(),
            service_level_percent: default_sl_percent(),
        }
    }
}

/// A team as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    /// Id.
    pub id: TeamId,
    /// Name.
    pub name: String,
    /// Disabled teams take no new sessions.
    pub enabled: bool,
    /// Settings.
    pub settings: TeamSettings,
}

/// An agent as configured (*Agente*).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Id.
    pub id: AgentId,
    /// Full name.
    pub name: String,
    /// *Codinome* shown to customers.
    pub nickname: String,
    /// Login e-mail.
    pub email: String,
    /// Teams the agent serves.
    pub teams: BTreeSet<TeamId>,
    /// Max simultaneous sessions (default 5).
    pub capacity: u32,
    /// Disabled agents cannot log in.
    pub enabled: bool,
}

/// A pause reason (*Pausa*).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PauseReason {
    /// Id.
    pub id: PauseReasonId,
    /// Name, e.g. "Almoço".
    pub name: String,
    /// Optional max duration in ms (informative: the monitor flags longer pauses).
    pub max_duration_ms: Option<i64>,
    /// Disabled reasons cannot be chosen.
    pub enabled: bool,
}

/// A bot flow as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// Id.
    pub id: FlowId,
    /// The validated definition.
    pub def: crate::flow::FlowDef,
}

/// A customer (*Contato*).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Id.
    pub id: ContactId,
    /// Name as registered.
    pub name: String,
    /// Digits only, country code first (e.g. `5535998765432`), when the channel gives a number.
    pub number: Option<String>,
    /// The identifier on each channel where the contact was seen.
    #[serde(with = "channel_keyed")]
    pub identifiers: BTreeMap<ChannelId, String>,
}

/// The digits of a phone number as a contact's number is registered (M-53): country code
/// first, punctuation stripped (`+55 (35) 99876-5432` → `5535998765432`). `None` unless the
/// text holds only digits, spaces and `+ ( ) - .`, with 8 to 15 digits. The one definition
/// used by the core (registering), the monitor (filtering) and the API (searching).
pub fn normalize_number(text: &str) -> Option<String> {
    let mut digits = String::with_capacity(text.len());
    for c in text.trim().chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '+' | '(' | ')' | '-' | '.' => {}
            _ => return None,
        }
    }
    (8..=15).contains(&digits.len()).then_some(digits)
}

/// Global settings of the contact center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// IANA time zone for protocol dates (default `America/Sao_Paulo`).
    pub time_zone: String,
    /// Max sessions per bulk finish/transfer (M-12, B-3; default 5).
    pub bulk_cap: usize,
    /// Bot inactivity: finish (lost) a session in the bot after this long without input, in ms.
    pub bot_inactivity_ms: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            time_zone: "America/Sao_Paulo".to_string(),
            bulk_cap: 5,
            bot_inactivity_ms: 10 * 60 * 1000,
        }
    }
}

/// Delivery status of an outbound message, as the channel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Handed to the channel.
    Sent,
    /// Delivered to the customer's device.
    Delivered,
    /// Read by the customer.
    Read,
    /// The channel could not deliver it.
    Failed,
}

/// Agent presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Presence {
    /// Not logged in.
    Offline,
    /// Logged in and taking sessions.
    Online,
    /// Logged in, on a break: takes no new sessions.
    Paused {
        /// Why.
        reason: PauseReasonId,
    },
}

impl Presence {
    /// `offline`, `online` or `paused`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Online => "online",
            Self::Paused { .. } => "paused",
        }
    }
}

/// The live side of an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    /// The configuration.
    pub config: Agent,
    /// Presence.
    pub presence: Presence,
    /// When the presence last changed.
    pub presence_since: Timestamp,
    /// Last change of its load (a session assigned, finished or moved away) or of its
    /// availability (log-in, end of pause): the "longest idle" tie-break of D-10.
    pub idle_since: Timestamp,
    /// Open sessions with the agent.
    pub sessions: BTreeSet<SessionId>,
}

impl AgentState {
    /// Online with free capacity.
    pub fn is_available(&self) -> bool {
        self.presence == Presence::Online && self.sessions.len() < self.config.capacity as usize
    }
}

/// The live side of a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamState {
    /// The configuration.
    pub config: Team,
    /// Waiting sessions, first to be served at the front.
    pub queue: VecDeque<SessionId>,
    /// Last agent assigned (round robin cursor for *sequencial*).
    pub last_assigned: Option<AgentId>,
}

/// The phase of an open session (D-1, D-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// *Navegando*: with the bot.
    Bot,
    /// *Em espera*: in a team's queue.
    Waiting,
    /// *Em atendimento*: with an agent.
    Human,
}

impl Phase {
    /// `bot`, `waiting` or `human`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Bot => "bot",
            Self::Waiting => "waiting",
            Self::Human => "human",
        }
    }
}

/// Why a session finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The agent finished it.
    ByAgent,
    /// A supervisor finished it.
    BySupervisor,
    /// The customer ended it.
    ByCustomer,
    /// Team inactivity timeout, or bot inactivity.
    InactivityTimeout,
    /// Max wait exceeded with no overflow team.
    NoAgentAvailable,
    /// The bot resolved it.
    BotResolved,
}

impl FinishReason {
    /// Success or lost (SPEC §2).
    pub fn outcome(self) -> Outcome {
        match self {
            Self::InactivityTimeout | Self::NoAgentAvailable => Outcome::Lost,
            _ => Outcome::Success,
        }
    }
}

/// The outcome of a finished session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Served or resolved.
    Success,
    /// Abandoned by timeout or no agent.
    Lost,
}

/// Where a transfer goes (D-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// To an online agent (with the session).
    Agent(AgentId),
    /// To a team's queue.
    Team(TeamId),
}

/// Who issued a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The customer.
    Customer,
    /// An agent.
    Agent(AgentId),
    /// A supervisor / administrator.
    Supervisor(crate::ids::SupervisorId),
    /// The system itself (timers, distribution).
    System,
}

/// A record of one transfer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferRecord {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub by: Actor,
    /// From which agent, if it was with one.
    pub from_agent: Option<AgentId>,
    /// From which team.
    pub from_team: Option<TeamId>,
    /// To where.
    pub to: Target,
}

/// Where a session stands in the bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotCursor {
    /// The flow.
    pub flow: FlowId,
    /// The step it waits at.
    pub step: String,
    /// Fields collected so far.
    pub fields: BTreeMap<String, String>,
    /// Last customer input (or start) in the bot: bot inactivity counts from here.
    pub since: Timestamp,
}

/// An open session (*Atendimento*). Finished sessions leave the core's state; their history
/// lives in the event log and the read models built from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Id.
    pub id: SessionId,
    /// The customer.
    pub contact: ContactId,
    /// The channel.
    pub channel: ChannelId,
    /// Phase.
    pub phase: Phase,
    /// The team (after routing).
    pub team: Option<TeamId>,
    /// The agent (in phase human).
    pub agent: Option<AgentId>,
    /// Generated on the first assignment; kept forever after.
    pub protocol: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
    /// When it last entered a queue.
    pub queued_at: Option<Timestamp>,
    /// When it was first assigned to an agent.
    pub first_assigned_at: Option<Timestamp>,
    /// When it was last assigned.
    pub assigned_at: Option<Timestamp>,
    /// Last message from the customer.
    pub last_customer_message_at: Timestamp,
    /// Bot position (phase bot).
    pub bot: Option<BotCursor>,
    /// Fields collected by the bot (kept after it leaves the bot).
    pub fields: BTreeMap<String, String>,
    /// Transfers so far.
    pub transfers: Vec<TransferRecord>,
    /// Position key in the queue: lower is served first (re-queued sessions get a key below
    /// every other).
    pub queue_key: i64,
}

/// Serde for a map keyed by channel id. JSON writes the keys as strings (`{"1": "…"}`); inside
/// an internally tagged enum (every [`crate::Event`]) serde buffers the value first and then
/// cannot turn such a key back into an integer, so the map goes through string keys both ways.
/// The JSON is the same as the derived one.
mod channel_keyed {
    use crate::ids::ChannelId;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<ChannelId, String>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(map.iter().map(|(k, v)| (k.0.to_string(), v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<ChannelId, String>, D::Error> {
        BTreeMap::<String, String>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| {
                k.parse::<u64>()
                    .map(|k| (ChannelId(k), v))
                    .map_err(|_| serde::de::Error::custom(format!("invalid channel id `{k}`")))
            })
            .collect()
    }
}
