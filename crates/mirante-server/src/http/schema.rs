//! OpenAPI schemas of the monitor's answers. The read model (`mirante-monitor`) stays free of
//! HTTP concerns, so its `Serialize` types are described here field by field for the
//! document (and the UI's generated TypeScript types); `tests/monitor_api.rs` checks that
//! every key of a real answer is described here and nothing more.
#![allow(dead_code)] // documentation-only types: never built, only described

use utoipa::ToSchema;

/// M-1…M-4: `geral = auto + espera + humano`, always.
#[derive(ToSchema)]
#[schema(as = Counters)]
pub struct CountersSchema {
    /// M-1 *Geral*: every open session.
    geral: u64,
    /// M-2 *Auto*: with the bot.
    auto: u64,
    /// M-3 *Espera*: waiting for an agent.
    espera: u64,
    /// M-4 *Humano*: with an agent.
    humano: u64,
}

/// An id with its display name.
#[derive(ToSchema)]
#[schema(as = Named)]
pub struct NamedSchema {
    /// Id.
    id: u64,
    /// Name.
    name: String,
}

/// One session row (Fases); durations are at the answer's `now`.
#[derive(ToSchema)]
#[schema(as = SessionView)]
pub struct SessionViewSchema {
    /// Session id.
    id: u64,
    /// `bot`, `waiting` or `human`.
    phase: String,
    /// Contact id.
    contact: u64,
    /// The contact's name as registered.
    contact_name: String,
    /// The contact's number (digits).
    contact_number: Option<String>,
    /// Channel id.
    channel: u64,
    /// Channel name.
    channel_name: String,
    /// The bot step (phase bot).
    bot_step: Option<String>,
    /// The team.
    team: Option<NamedSchema>,
    /// The agent (phase human).
    agent: Option<NamedSchema>,
    /// The protocol.
    protocol: Option<String>,
    /// Started (ms since the epoch).
    started_at: i64,
    /// Last entered a queue (ms).
    queued_at: Option<i64>,
    /// Its place in its team's queue (waiting): lower is served first. *Em espera* is
    /// oldest first; a team's queue differs where a session went back to the front (M-15).
    queue_order: Option<i64>,
    /// Last assigned (ms).
    assigned_at: Option<i64>,
    /// The customer's last message (ms).
    last_customer_message_at: i64,
    /// Age at `now` (ms).
    age_ms: i64,
    /// Waiting time at `now` (ms; waiting).
    waiting_ms: Option<i64>,
    /// With the current agent at `now` (ms; human).
    in_service_ms: Option<i64>,
    /// Since the customer's last message (ms).
    since_customer_ms: i64,
}

/// An agent card (M-10, M-13, B-4).
#[derive(ToSchema)]
#[schema(as = AgentCard)]
pub struct AgentCardSchema {
    /// Agent id.
    id: u64,
    /// Full name.
    name: String,
    /// *Codinome*.
    nickname: String,
    /// `online` or `paused`.
    status: String,
    /// The pause reason.
    pause_reason: Option<NamedSchema>,
    /// Paused longer than the reason allows (B-4).
    pause_exceeded: bool,
    /// In this status since (ms).
    since: i64,
    /// Time in status (ms).
    in_status_ms: i64,
    /// Open sessions (the `3` of `3/5`).
    open: u32,
    /// Capacity (the `5` of `3/5`).
    capacity: u32,
    /// Online with free capacity.
    available: bool,
    /// Its teams within the caller's scope.
    teams: Vec<u64>,
    /// Its matching sessions (rows in `phases.human`).
    sessions: Vec<u64>,
}

/// A team card (M-20, M-22, B-1).
#[derive(ToSchema)]
#[schema(as = TeamCard)]
pub struct TeamCardSchema {
    /// Team id.
    id: u64,
    /// Name.
    name: String,
    /// Waiting sessions: its rows in `phases.waiting` (the card lists none; a client groups
    /// the rows by `team`, in `queue_order` for the team's queue).
    waiting_count: u64,
    /// Sessions in service: its rows in `phases.human` (M-22).
    in_service_count: u64,
    /// Longest current wait (ms).
    longest_wait_ms: Option<i64>,
    /// First answered today.
    answered_today: u64,
    /// Of those, within the target.
    answered_within_target_today: u64,
    /// Average wait today (ms).
    avg_wait_today_ms: Option<i64>,
    /// Service level today (percent).
    service_level_today: Option<f64>,
    /// Target (ms).
    service_level_target_ms: i64,
    /// Goal (percent).
    service_level_goal_percent: u8,
    /// Members online.
    agents_online: u32,
    /// Members paused.
    agents_paused: u32,
    /// Members online with free capacity.
    agents_available: u32,
}

/// The Fases lists (M-30…M-32).
#[derive(ToSchema)]
#[schema(as = Phases)]
pub struct PhasesSchema {
    /// *Navegando*, by arrival.
    bot: Vec<SessionViewSchema>,
    /// *Em espera*, oldest first.
    waiting: Vec<SessionViewSchema>,
    /// *Em atendimento*, longest in service first.
    human: Vec<SessionViewSchema>,
}

/// The whole screen for one supervisor and one filter, from one state at `seq` (B-2).
#[derive(ToSchema)]
#[schema(as = MonitorView)]
pub struct MonitorViewSchema {
    /// The sequence number of the state.
    seq: u64,
    /// The time durations are computed at (ms).
    now: i64,
    /// A filter is active (counters show the filtered view, M-5).
    filtered: bool,
    /// Counters of the filtered view.
    counters: CountersSchema,
    /// Counters without the filter, within the caller's scope.
    unfiltered_counters: CountersSchema,
    /// M-54: a protocol is filtered and no open session in scope has it.
    protocol_not_open: bool,
    /// M-54: `open`, `finished` (see the Conversations report) or `unknown`.
    protocol_status: Option<String>,
    /// Tab Agentes.
    agents: Vec<AgentCardSchema>,
    /// Tab Equipes.
    teams: Vec<TeamCardSchema>,
    /// Tab Fases.
    phases: PhasesSchema,
}

/// A channel in the filter options.
#[derive(ToSchema)]
#[schema(as = ChannelOption)]
pub struct ChannelOptionSchema {
    /// Id.
    id: u64,
    /// Name.
    name: String,
    /// Kind (`whatsapp`, `webchat`, …).
    kind: String,
}

/// What the funnel offers within the caller's scope (M-50…M-52).
#[derive(ToSchema)]
#[schema(as = FilterOptions)]
pub struct FilterOptionsSchema {
    /// Agents.
    agents: Vec<NamedSchema>,
    /// Teams.
    teams: Vec<NamedSchema>,
    /// Channels.
    channels: Vec<ChannelOptionSchema>,
}
