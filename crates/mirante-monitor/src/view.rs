//! The answer of a monitor query: what the Monitoramento screen shows, computed from one state
//! at one sequence number (B-2). Plain data with `Serialize` (snake_case English field names);
//! the server turns it into JSON as it is. The session rows are handles on the model's shared,
//! immutable rows ([`SessionView`]): a view borrows the model (`MonitorView<'a>`, no row built,
//! no reference count touched), and [`MonitorView::into_owned`] takes a reference per row when
//! the answer must outlive the borrow (the model's lock).
//!
//! Every matching session appears exactly once, as a row in the Fases lists (`phases`); the
//! Agentes and Equipes cards list the ids of their sessions in display order, and the UI joins
//! them with the rows. So `counters.auto == phases.bot.len()` and so on, always, and a delta
//! about one session touches one row.

use crate::monitor::SessionRow;
use mirante_core::{
    AgentId, ChannelId, ChannelKind, ContactId, PauseReasonId, Phase, SessionId, TeamId, Timestamp,
};
use serde::Serialize;
use std::borrow::Cow;
use std::sync::Arc;

/// The four counters (M-1…M-4). `geral = auto + espera + humano`, always.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// M-1 *Geral*: every open session.
    pub geral: u64,
    /// M-2 *Auto*: with the bot.
    pub auto: u64,
    /// M-3 *Espera*: waiting for an agent.
    pub espera: u64,
    /// M-4 *Humano*: with an agent.
    pub humano: u64,
}

impl Counters {
    /// Counters from the three phase counts (`geral` is their sum).
    pub fn from_phases(auto: u64, espera: u64, humano: u64) -> Counters {
        Counters {
            geral: auto + espera + humano,
            auto,
            espera,
            humano,
        }
    }

    pub(crate) fn add(&mut self, phase: Phase, n: u64) {
        match phase {
            Phase::Bot => self.auto += n,
            Phase::Waiting => self.espera += n,
            Phase::Human => self.humano += n,
        }
        self.geral += n;
    }
}

/// The filtered counters and the totals within the supervisor's scope (M-5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CounterPair {
    /// True when a filter is active: `counters` then show the filtered view.
    pub filtered: bool,
    /// The counters of the filtered view.
    pub counters: Counters,
    /// The counters without the filter (still within visibility).
    pub unfiltered_counters: Counters,
}

/// What the monitor knows of a protocol typed in the filter (M-54).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtocolStatus {
    /// An open session carries it (it may still be outside the filter or the scope).
    Open,
    /// It was handed out and its session is no longer open: look in the Conversations report.
    Finished,
    /// No session ever had it, as far as the monitor can tell.
    Unknown,
}

/// The whole Monitoramento screen for one supervisor and one filter.
///
/// Its rows borrow the model it was computed from (`'a`): answering a query takes no
/// reference on any row, so the model cannot change while the view is used (in the server:
/// the view is written under the model's read lock). [`MonitorView::into_owned`] makes a view
/// that outlives the model's borrow (a reference per row).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitorView<'a> {
    /// The sequence number of the last event folded into the state this view comes from.
    pub seq: u64,
    /// The time the durations were computed at.
    pub now: Timestamp,
    /// True when a filter is active (the UI marks the counters as filtered, M-5).
    pub filtered: bool,
    /// Counters of the filtered view (M-1…M-4).
    pub counters: Counters,
    /// Counters without the filter, within the supervisor's scope (M-5).
    pub unfiltered_counters: Counters,
    /// M-54: a protocol filter is set and no open session in scope carries it; the UI points
    /// to the Conversations report instead of showing an empty list silently.
    pub protocol_not_open: bool,
    /// M-54: what the monitor knows of the filtered protocol (`None` without one).
    pub protocol_status: Option<ProtocolStatus>,
    /// Tab *Agentes* (M-10, M-13): logged-in agents, by name.
    pub agents: Vec<AgentCard>,
    /// Tab *Equipes* (M-20, M-22, B-1): teams, by name.
    pub teams: Vec<TeamCard>,
    /// Tab *Fases* (M-30…M-32): every matching session, once.
    pub phases: Phases<'a>,
}

impl MonitorView<'_> {
    /// The number of rows in the Fases lists.
    pub fn rows(&self) -> usize {
        self.phases.len()
    }

    /// The same view, independent of the model it borrows: a reference is taken on each row
    /// (a locked increment each, and its drop a decrement; for a large view, most of its cost).
    pub fn into_owned(self) -> MonitorView<'static> {
        MonitorView {
            seq: self.seq,
            now: self.now,
            filtered: self.filtered,
            counters: self.counters,
            unfiltered_counters: self.unfiltered_counters,
            protocol_not_open: self.protocol_not_open,
            protocol_status: self.protocol_status,
            agents: self.agents,
            teams: self.teams,
            phases: self.phases.into_owned(),
        }
    }

    /// A generous estimate of the size of this view serialized as JSON, for the buffer it is
    /// written into: one allocation instead of a doubling (and a copy) every time a large
    /// answer outgrows its buffer.
    pub fn json_size_hint(&self) -> usize {
        let rows = self.phases.bot.len() + self.phases.waiting.len() + self.phases.human.len();
        let ids: usize = self.agents.iter().map(|a| a.sessions.len()).sum();
        1_024 + 512 * (rows + self.agents.len() + self.teams.len()) + 16 * ids
    }
}

/// The Fases lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Phases<'a> {
    /// M-30 *Navegando*: in the bot, in order of arrival.
    pub bot: Vec<SessionView<'a>>,
    /// M-31 *Em espera*: waiting, oldest first (longest waiting time first).
    pub waiting: Vec<SessionView<'a>>,
    /// M-32 *Em atendimento*: with an agent, longest in service first.
    pub human: Vec<SessionView<'a>>,
}

impl Phases<'_> {
    /// The number of rows in the three lists.
    pub fn len(&self) -> usize {
        self.bot.len() + self.waiting.len() + self.human.len()
    }

    /// True when the three lists are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same lists, independent of the model they borrow (see [`SessionView::into_owned`]).
    pub fn into_owned(self) -> Phases<'static> {
        let owned = |rows: Vec<SessionView<'_>>| -> Vec<SessionView<'static>> {
            rows.into_iter().map(SessionView::into_owned).collect()
        };
        Phases {
            bot: owned(self.bot),
            waiting: owned(self.waiting),
            human: owned(self.human),
        }
    }
}

/// A name with its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named<I> {
    /// Id.
    pub id: I,
    /// Display name.
    pub name: Arc<str>,
}

/// One session as the screen shows it: a cheap handle on the model's shared, immutable row
/// (names included) and the instant the durations are computed at.
///
/// The model keeps each open session as one `Arc<SessionRow>`, replaced when an event changes
/// it. A view's rows borrow it (`SessionView<'a>`: a pointer, so answering a query builds no
/// row and writes no reference count — on a large view, taking and dropping a reference per
/// row was most of its time, each a locked instruction on the row's cache line); a row that
/// must outlive the borrow holds a reference ([`SessionView::into_owned`], and
/// [`crate::Monitor::row`]). It dereferences to the [`SessionRow`] (ids, timestamps, names);
/// the durations are methods. Serialized, it is exactly [`SessionFields`] (the owned form,
/// [`SessionView::fields`]).
#[derive(Clone)]
pub struct SessionView<'a> {
    row: Cow<'a, Arc<SessionRow>>,
    now: Timestamp,
}

impl<'a> SessionView<'a> {
    /// A row borrowed from the model.
    pub(crate) fn borrowed(row: &'a Arc<SessionRow>, now: Timestamp) -> SessionView<'a> {
        SessionView {
            row: Cow::Borrowed(row),
            now,
        }
    }

    /// A row holding its own reference.
    pub(crate) fn shared(row: Arc<SessionRow>, now: Timestamp) -> SessionView<'static> {
        SessionView {
            row: Cow::Owned(row),
            now,
        }
    }

    /// The same row, independent of the model it borrows (a reference on the row).
    pub fn into_owned(self) -> SessionView<'static> {
        SessionView {
            row: Cow::Owned(self.row.into_owned()),
            now: self.now,
        }
    }

    /// The time the durations are computed at.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Since it started, at `now` (ms).
    pub fn age_ms(&self) -> i64 {
        self.now.since(self.row.started_at)
    }

    /// Waiting time at `now` (phase waiting; ms): the live timer of B-1.
    pub fn waiting_ms(&self) -> Option<i64> {
        (self.row.phase == Phase::Waiting)
            .then_some(self.row.queued_at)
            .flatten()
            .map(|t| self.now.since(t))
    }

    /// Duration with the current agent at `now` (phase human; ms).
    pub fn in_service_ms(&self) -> Option<i64> {
        (self.row.phase == Phase::Human)
            .then_some(self.row.assigned_at)
            .flatten()
            .map(|t| self.now.since(t))
    }

    /// Its place in its team's queue (phase waiting): lower is served first. The Em espera
    /// list is oldest first; a team's queue differs where a session went back to the front
    /// (M-15), so a client derives a team's queue order from this key.
    pub fn queue_order(&self) -> Option<i64> {
        (self.row.phase == Phase::Waiting).then_some(self.row.queue_key)
    }

    /// Time since the customer's last message at `now` (ms).
    pub fn since_customer_ms(&self) -> i64 {
        self.now.since(self.row.last_customer_message_at)
    }

    /// The team with its name.
    pub fn team_named(&self) -> Option<Named<TeamId>> {
        self.row.team.map(|id| Named {
            id,
            name: self.row.team_name.clone().unwrap_or_else(|| Arc::from("")),
        })
    }

    /// The agent with its name.
    pub fn agent_named(&self) -> Option<Named<AgentId>> {
        self.row.agent.map(|id| Named {
            id,
            name: self.row.agent_name.clone().unwrap_or_else(|| Arc::from("")),
        })
    }

    /// The owned form: every field the API answers, durations computed.
    pub fn fields(&self) -> SessionFields {
        let r = &*self.row;
        SessionFields {
            id: r.id,
            phase: r.phase,
            contact: r.contact,
            contact_name: r.contact_name.clone(),
            contact_number: r.contact_number.clone(),
            channel: r.channel,
            channel_name: r.channel_name.clone(),
            bot_step: r.bot_step.clone(),
            team: self.team_named(),
            agent: self.agent_named(),
            protocol: r.protocol.clone(),
            started_at: r.started_at,
            queued_at: r.queued_at,
            queue_order: self.queue_order(),
            assigned_at: r.assigned_at,
            last_customer_message_at: r.last_customer_message_at,
            age_ms: self.age_ms(),
            waiting_ms: self.waiting_ms(),
            in_service_ms: self.in_service_ms(),
            since_customer_ms: self.since_customer_ms(),
        }
    }

    /// A view of the owned form (for oracles in tests): the durations must be the ones
    /// `now` gives.
    #[cfg(test)]
    pub(crate) fn from_fields(f: SessionFields, now: Timestamp) -> SessionView<'static> {
        let row = SessionRow {
            id: f.id,
            contact: f.contact,
            channel: f.channel,
            phase: f.phase,
            team: f.team.as_ref().map(|t| t.id),
            agent: f.agent.as_ref().map(|a| a.id),
            protocol: f.protocol.clone(),
            started_at: f.started_at,
            queued_at: f.queued_at,
            first_assigned_at: None,
            assigned_at: f.assigned_at,
            last_customer_message_at: f.last_customer_message_at,
            bot_step: f.bot_step.clone(),
            queue_key: f.queue_order.unwrap_or(0),
            contact_name: f.contact_name.clone(),
            contact_number: f.contact_number.clone(),
            channel_name: f.channel_name.clone(),
            team_name: f.team.as_ref().map(|t| t.name.clone()),
            agent_name: f.agent.as_ref().map(|a| a.name.clone()),
        };
        let v = SessionView::shared(Arc::new(row), now);
        assert_eq!(v.fields(), f, "durations disagree with now");
        v
    }
}

impl std::ops::Deref for SessionView<'_> {
    type Target = SessionRow;

    fn deref(&self) -> &SessionRow {
        &self.row
    }
}

impl PartialEq for SessionView<'_> {
    fn eq(&self, other: &SessionView<'_>) -> bool {
        self.fields() == other.fields()
    }
}

impl std::fmt::Debug for SessionView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.fields().fmt(f)
    }
}

/// A name with its id, borrowed (serialized as [`Named`]).
#[derive(Serialize)]
struct NamedRef<'a, I> {
    id: I,
    name: &'a str,
}

/// [`SessionFields`] borrowed from a row: what a [`SessionView`] serializes as.
#[derive(Serialize)]
struct ShownRef<'a> {
    id: SessionId,
    phase: Phase,
    contact: ContactId,
    contact_name: &'a str,
    contact_number: Option<&'a str>,
    channel: ChannelId,
    channel_name: &'a str,
    bot_step: Option<&'a str>,
    team: Option<NamedRef<'a, TeamId>>,
    agent: Option<NamedRef<'a, AgentId>>,
    protocol: Option<&'a str>,
    started_at: Timestamp,
    queued_at: Option<Timestamp>,
    queue_order: Option<i64>,
    assigned_at: Option<Timestamp>,
    last_customer_message_at: Timestamp,
    age_ms: i64,
    waiting_ms: Option<i64>,
    in_service_ms: Option<i64>,
    since_customer_ms: i64,
}

impl Serialize for SessionView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = &*self.row;
        ShownRef {
            id: r.id,
            phase: r.phase,
            contact: r.contact,
            contact_name: &r.contact_name,
            contact_number: r.contact_number.as_deref(),
            channel: r.channel,
            channel_name: &r.channel_name,
            bot_step: r.bot_step.as_deref(),
            team: r.team.map(|id| NamedRef {
                id,
                name: r.team_name.as_deref().unwrap_or(""),
            }),
            agent: r.agent.map(|id| NamedRef {
                id,
                name: r.agent_name.as_deref().unwrap_or(""),
            }),
            protocol: r.protocol.as_deref(),
            started_at: r.started_at,
            queued_at: r.queued_at,
            queue_order: self.queue_order(),
            assigned_at: r.assigned_at,
            last_customer_message_at: r.last_customer_message_at,
            age_ms: self.age_ms(),
            waiting_ms: self.waiting_ms(),
            in_service_ms: self.in_service_ms(),
            since_customer_ms: self.since_customer_ms(),
        }
        .serialize(serializer)
    }
}

/// One session as the API answers it, owned: timestamps, plus durations computed at `now`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionFields {
    /// Id.
    pub id: SessionId,
    /// Phase: `bot`, `waiting` or `human`.
    pub phase: Phase,
    /// The contact.
    pub contact: ContactId,
    /// The contact's name as registered.
    pub contact_name: Arc<str>,
    /// The contact's number (digits), when it has one.
    pub contact_number: Option<Arc<str>>,
    /// The channel.
    pub channel: ChannelId,
    /// The channel's display name (empty if the channel is unknown).
    pub channel_name: Arc<str>,
    /// The bot step (phase bot).
    pub bot_step: Option<Arc<str>>,
    /// The team (after routing).
    pub team: Option<Named<TeamId>>,
    /// The agent (phase human), by name.
    pub agent: Option<Named<AgentId>>,
    /// The protocol (from the first assignment on).
    pub protocol: Option<Arc<str>>,
    /// When it started.
    pub started_at: Timestamp,
    /// When it last entered a queue.
    pub queued_at: Option<Timestamp>,
    /// Its place in its team's queue (phase waiting): lower is served first.
    pub queue_order: Option<i64>,
    /// When it was last assigned.
    pub assigned_at: Option<Timestamp>,
    /// The customer's last message.
    pub last_customer_message_at: Timestamp,
    /// Since it started, at `now` (ms).
    pub age_ms: i64,
    /// Waiting time at `now` (phase waiting; ms): the live timer of B-1.
    pub waiting_ms: Option<i64>,
    /// Duration with the current agent at `now` (phase human; ms).
    pub in_service_ms: Option<i64>,
    /// Time since the customer's last message at `now` (ms).
    pub since_customer_ms: i64,
}

/// Presence on a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Logged in and taking sessions.
    Online,
    /// On a break.
    Paused,
    /// Not logged in (never on a card; used by lookups).
    Offline,
}

/// An agent card (M-10, M-13, B-4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentCard {
    /// Id.
    pub id: AgentId,
    /// Full name.
    pub name: Arc<str>,
    /// *Codinome*.
    pub nickname: Arc<str>,
    /// Online or paused.
    pub status: AgentStatus,
    /// The pause reason, when paused.
    pub pause_reason: Option<Named<PauseReasonId>>,
    /// Paused longer than the reason's max duration (B-4).
    pub pause_exceeded: bool,
    /// Since when in this status.
    pub since: Timestamp,
    /// Time in this status at `now` (ms).
    pub in_status_ms: i64,
    /// Open sessions (all of them, M-13): the `3` of `3/5`.
    pub open: u32,
    /// Capacity: the `5` of `3/5` (a supervisor may exceed it, D-3).
    pub capacity: u32,
    /// Online with free capacity.
    pub available: bool,
    /// Its teams (within the supervisor's scope).
    pub teams: Vec<TeamId>,
    /// Its sessions that match the filter and the scope, longest in service first (rows in
    /// `phases.human`).
    pub sessions: Vec<SessionId>,
}

/// A team card (M-20, M-22, B-1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamCard {
    /// Id.
    pub id: TeamId,
    /// Name.
    pub name: Arc<str>,
    /// Waiting sessions matching the filter: its rows in `phases.waiting` (the card carries
    /// no list of them: a client groups the rows by `team`, in `queue_order` for the queue).
    pub waiting_count: u64,
    /// Sessions in service matching the filter: its rows in `phases.human` (M-22).
    pub in_service_count: u64,
    /// Longest current wait among its waiting sessions at `now` (ms).
    pub longest_wait_ms: Option<i64>,
    /// Sessions first answered today (local day of the settings' time zone).
    pub answered_today: u64,
    /// Of those, answered within the team's target.
    pub answered_within_target_today: u64,
    /// Average wait of today's answered sessions (ms).
    pub avg_wait_today_ms: Option<i64>,
    /// Percent of today's answered sessions answered within the target.
    pub service_level_today: Option<f64>,
    /// The team's target: answered within this many ms (default 20 000).
    pub service_level_target_ms: i64,
    /// The team's goal in percent (default 80).
    pub service_level_goal_percent: u8,
    /// Members online (paused ones not included).
    pub agents_online: u32,
    /// Members paused.
    pub agents_paused: u32,
    /// Members online with free capacity.
    pub agents_available: u32,
}

/// What a supervisor may pick in the funnel (M-50…M-52), within its scope.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FilterOptions {
    /// Agents (any presence), by name.
    pub agents: Vec<Named<AgentId>>,
    /// Teams, by name.
    pub teams: Vec<Named<TeamId>>,
    /// Channels, by name.
    pub channels: Vec<ChannelOption>,
}

/// A channel in the filter options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelOption {
    /// Id.
    pub id: ChannelId,
    /// Display name.
    pub name: Arc<str>,
    /// Kind.
    pub kind: ChannelKind,
}
