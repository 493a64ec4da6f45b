//! The read model itself: what the screen needs of the contact center, kept up to date one
//! event at a time with O(log n) work per event (no scan of all sessions or agents), plus
//! the indexes the filters use (agent, team, channel, contact, protocol → sessions).
//!
//! Each open session is one immutable `Arc<SessionRow>` that carries the names the screen
//! shows (contact, channel, team, agent), held by the session map and by the indexes in
//! display order (per phase, per team and phase, per agent). An event that changes a session
//! replaces its row; a query answers with reference-counted clones of the rows it selects,
//! already in order, so it builds no row and sorts only when it merges several lists. A
//! rename (contact, channel, team, agent) replaces the rows that show the name: O(their
//! sessions), on configuration events only.

use crate::stats::{DayStats, ProtocolBook, day_of};
use mirante_core::{
    AgentId, ChannelId, ChannelKind, ContactId, Event, EventKind, PauseReasonId, Phase, Presence,
    SessionId, State, TeamId, Timestamp,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// A fast, non-cryptographic hasher (the Fx hash of rustc) for maps keyed by ids and names
/// the model itself controls; SipHash's flood resistance buys nothing here and costs a third
/// of a lookup.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(SEED);
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A hash map with [`FxHasher`].
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// One open session as the monitor keeps it (the `follow` layer reads it too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRow {
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
    /// The agent (phase human).
    pub agent: Option<AgentId>,
    /// The protocol, from the first assignment on.
    pub protocol: Option<Arc<str>>,
    /// When it started.
    pub started_at: Timestamp,
    /// When it last entered a queue.
    pub queued_at: Option<Timestamp>,
    /// When it was first assigned.
    pub first_assigned_at: Option<Timestamp>,
    /// When it was last assigned.
    pub assigned_at: Option<Timestamp>,
    /// The customer's last message.
    pub last_customer_message_at: Timestamp,
    /// The bot step it waits at (phase bot; empty before the first step).
    pub bot_step: Option<Arc<str>>,
    /// Queue position key (lower is served first), meaningful in phase waiting.
    pub queue_key: i64,
    /// The contact's name as registered (empty if the contact is unknown).
    pub contact_name: Arc<str>,
    /// The contact's number (digits), when it has one.
    pub contact_number: Option<Arc<str>>,
    /// The channel's display name (empty if the channel is unknown).
    pub channel_name: Arc<str>,
    /// The team's name, with `team` (empty if the team is unknown).
    pub team_name: Option<Arc<str>>,
    /// The agent's name, with `agent` (empty if the agent is unknown).
    pub agent_name: Option<Arc<str>>,
}

/// A row in a per-team index, with the attribute a filter most often adds to a team
/// (M-52, the channel) beside it: a team-scoped view with a channel tests it without
/// reading the row (a cache miss for every row that does not match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TeamEntry {
    /// The row's channel (a session never changes channel).
    pub channel: ChannelId,
    /// The row.
    pub row: Arc<SessionRow>,
}

impl TeamEntry {
    fn of(row: &Arc<SessionRow>) -> TeamEntry {
        TeamEntry {
            channel: row.channel,
            row: row.clone(),
        }
    }
}

/// M-31 order: oldest first (ties: queue order).
pub(crate) type WaitKey = (Timestamp, i64, SessionId);
/// M-32 order: longest in service first.
pub(crate) type HumanKey = (Timestamp, SessionId);

impl SessionRow {
    /// Its place in the Em espera list.
    pub(crate) fn wait_key(&self) -> WaitKey {
        (
            self.queued_at.unwrap_or(self.started_at),
            self.queue_key,
            self.id,
        )
    }

    /// Its place in the Em atendimento list (and on its agent's card).
    pub(crate) fn human_key(&self) -> HumanKey {
        (self.assigned_at.unwrap_or(self.started_at), self.id)
    }
}

/// A contact as the monitor keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactInfo {
    /// Name as registered.
    pub name: Arc<str>,
    /// Number (digits), when it has one.
    pub number: Option<Arc<str>>,
    /// Its open sessions (at most one per channel), ascending.
    #[serde(skip)]
    pub(crate) sessions: Vec<SessionId>,
}

/// An agent as the monitor keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentInfo {
    /// Full name.
    pub name: Arc<str>,
    /// *Codinome*.
    pub nickname: Arc<str>,
    /// Teams.
    pub teams: BTreeSet<TeamId>,
    /// Capacity.
    pub capacity: u32,
    /// Enabled.
    pub enabled: bool,
    /// Presence (with the pause reason).
    pub presence: Presence,
    /// When the presence last changed.
    pub presence_since: Timestamp,
    /// Its open sessions.
    pub sessions: BTreeSet<SessionId>,
    /// Its sessions in service, longest first (the rows of its card).
    #[serde(skip)]
    pub(crate) rows: Vec<AgentEntry>,
}

/// A session in service in its agent's list, with what a team-scoped or channel-filtered card
/// tests beside it: building the card reads no row (a cache miss each) unless the filter has
/// a contact or a protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AgentEntry {
    /// Its place in the list ([`SessionRow::human_key`]; the id is its second part).
    pub key: HumanKey,
    /// The session's team.
    pub team: Option<TeamId>,
    /// The session's channel.
    pub channel: ChannelId,
    /// The row.
    pub row: Arc<SessionRow>,
}

impl AgentEntry {
    fn of(row: &Arc<SessionRow>) -> AgentEntry {
        AgentEntry {
            key: row.human_key(),
            team: row.team,
            channel: row.channel,
            row: row.clone(),
        }
    }
}

impl AgentInfo {
    /// Online with free capacity.
    pub fn is_available(&self) -> bool {
        self.presence == Presence::Online && self.sessions.len() < self.capacity as usize
    }

    /// Online or paused.
    pub fn is_logged_in(&self) -> bool {
        self.presence != Presence::Offline
    }
}

/// A team as the monitor keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamInfo {
    /// Name.
    pub name: Arc<str>,
    /// Enabled.
    pub enabled: bool,
    /// Service-level target (ms).
    pub service_level_target_ms: i64,
    /// Service-level goal (percent).
    pub service_level_goal_percent: u8,
}

/// A channel as the monitor keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelInfo {
    /// Display name.
    pub name: Arc<str>,
    /// Kind.
    pub kind: ChannelKind,
    /// Enabled.
    pub enabled: bool,
}

/// A pause reason as the monitor keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PauseInfo {
    /// Name.
    pub name: Arc<str>,
    /// Max duration (ms), informative (B-4 flags longer pauses).
    pub max_duration_ms: Option<i64>,
}

/// What one event changed, for a streaming layer to compute per-subscriber deltas and to
/// coalesce them ([`Changes::merge`]). A session listed here whose
/// [`crate::Monitor::session`] is `None` was finished (its row is gone).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// Sessions added, changed or removed.
    pub sessions: BTreeSet<SessionId>,
    /// Agents whose card changed (presence, load, configuration).
    pub agents: BTreeSet<AgentId>,
    /// Teams whose card changed (their sessions, members' presence or load, today's figures,
    /// configuration).
    pub teams: BTreeSet<TeamId>,
    /// Some counter may have changed (a session opened, moved or finished).
    pub counters: bool,
    /// Configuration changed (channels, pause reasons, settings, team or agent records):
    /// names and filter options may differ.
    pub config: bool,
}

impl Changes {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
            && self.agents.is_empty()
            && self.teams.is_empty()
            && !self.counters
            && !self.config
    }

    /// Coalesces `other` into `self`.
    pub fn merge(&mut self, other: Changes) {
        self.sessions.extend(other.sessions);
        self.agents.extend(other.agents);
        self.teams.extend(other.teams);
        self.counters |= other.counters;
        self.config |= other.config;
    }
}

/// The part of the model that is a pure function of the core's state (so the incremental
/// model and one rebuilt from a snapshot are equal).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Live {
    pub time_zone: String,
    pub channels: BTreeMap<ChannelId, ChannelInfo>,
    pub teams: BTreeMap<TeamId, TeamInfo>,
    pub agents: BTreeMap<AgentId, AgentInfo>,
    pub pause_reasons: BTreeMap<PauseReasonId, PauseInfo>,
    pub contacts: HashMap<ContactId, ContactInfo>,
    pub sessions: HashMap<SessionId, Arc<SessionRow>>,
    pub queue_front: i64,
    pub queue_back: i64,
    // ---- indexes (no empty entries) ----
    /// Members of each team.
    pub members: BTreeMap<TeamId, BTreeSet<AgentId>>,
    /// Members of each team online, paused, available (no all-zero entries).
    pub team_presence: BTreeMap<TeamId, [u32; 3]>,
    /// Logged-in agents by name.
    pub logged_in: BTreeSet<(Arc<str>, AgentId)>,
    /// Logged-in members of each team by name (no empty entries): a team-scoped Agentes tab
    /// is a merge of a few of these, already in order.
    pub team_logged_in: HashMap<TeamId, BTreeSet<(Arc<str>, AgentId)>>,
    /// Sessions in the bot, by id (M-30).
    pub bot: BTreeMap<SessionId, Arc<SessionRow>>,
    /// Waiting sessions, oldest first (M-31).
    pub waiting: BTreeMap<WaitKey, Arc<SessionRow>>,
    /// Sessions with an agent, longest in service first (M-32).
    pub human: BTreeMap<HumanKey, Arc<SessionRow>>,
    /// Waiting sessions of each team, oldest first.
    pub team_waiting: HashMap<TeamId, BTreeMap<WaitKey, TeamEntry>>,
    /// Sessions in service of each team, longest first.
    pub team_human: HashMap<TeamId, BTreeMap<HumanKey, TeamEntry>>,
    /// Open sessions of each channel.
    pub by_channel: HashMap<ChannelId, BTreeSet<SessionId>>,
    /// Contacts by exact name.
    pub by_name: HashMap<Arc<str>, Vec<ContactId>>,
    /// Contacts by number.
    pub by_number: HashMap<Arc<str>, Vec<ContactId>>,
    /// Open session of each protocol.
    pub by_protocol: HashMap<Arc<str>, SessionId>,
    /// Open sessions per (team, channel): \[bot, waiting, human\].
    pub cells: HashMap<(Option<TeamId>, ChannelId), [u64; 3]>,
    /// Open sessions per phase: \[bot, waiting, human\].
    pub totals: [u64; 3],
}

/// The live read model of Monitoramento. Pure: no IO, no clock (`now` is an argument of the
/// queries), no async. Feed it every event in log order with [`Monitor::apply`].
#[derive(Debug, Clone, Default)]
pub struct Monitor {
    pub(crate) seq: u64,
    pub(crate) live: Live,
    /// Today's figures per team (depend on history, not only on the state).
    pub(crate) day: BTreeMap<TeamId, DayStats>,
    pub(crate) protocols: ProtocolBook,
    /// Interned bot step names (many sessions share few steps).
    steps: HashSet<Arc<str>>,
}

pub(crate) fn slot(p: Phase) -> usize {
    match p {
        Phase::Bot => 0,
        Phase::Waiting => 1,
        Phase::Human => 2,
    }
}

fn insert_sorted<T: Ord + Copy>(v: &mut Vec<T>, x: T) {
    if let Err(pos) = v.binary_search(&x) {
        v.insert(pos, x);
    }
}

fn remove_sorted<T: Ord + Copy>(v: &mut Vec<T>, x: T) {
    if let Ok(pos) = v.binary_search(&x) {
        v.remove(pos);
    }
}

fn remove_from_vec_map<K: std::hash::Hash + Eq, T: Ord + Copy>(
    map: &mut HashMap<K, Vec<T>>,
    key: &K,
    x: T,
) {
    if let Some(v) = map.get_mut(key) {
        remove_sorted(v, x);
        if v.is_empty() {
            map.remove(key);
        }
    }
}

impl Monitor {
    /// An empty model (before the first event of the log).
    pub fn new() -> Monitor {
        Monitor {
            live: Live {
                time_zone: mirante_core::Settings::default().time_zone,
                ..Live::default()
            },
            ..Monitor::default()
        }
    }

    /// The model of an engine snapshot taken at sequence `seq`.
    ///
    /// Today's per-team figures (answered, within target, average wait) depend on sessions
    /// that already left the state, so they start empty here: the shell rebuilds them from
    /// the day's log with [`crate::DayRebuild`] and [`Monitor::record_first_assignment`].
    pub fn from_state(state: &State, seq: u64) -> Monitor {
        let mut m = Monitor {
            seq,
            live: Live {
                time_zone: state.settings.time_zone.clone(),
                queue_front: state.queue_front,
                queue_back: state.queue_back,
                ..Live::default()
            },
            day: BTreeMap::new(),
            protocols: ProtocolBook::from_last(state.protocol.day, state.protocol.seq),
            steps: HashSet::new(),
        };
        for c in state.channels.values() {
            m.set_channel(c);
        }
        for t in state.teams.values() {
            m.set_team(&t.config);
        }
        for p in state.pause_reasons.values() {
            m.set_pause_reason(p);
        }
        for a in state.agents.values() {
            m.set_agent(&a.config, a.presence_since);
            m.set_presence(a.config.id, a.presence, a.presence_since);
        }
        for c in state.contacts.values() {
            m.set_contact(c);
        }
        for s in state.sessions.values() {
            let row = SessionRow {
                id: s.id,
                contact: s.contact,
                channel: s.channel,
                phase: s.phase,
                team: s.team,
                agent: s.agent,
                protocol: s.protocol.as_deref().map(Arc::from),
                started_at: s.started_at,
                queued_at: s.queued_at,
                first_assigned_at: s.first_assigned_at,
                assigned_at: s.assigned_at,
                last_customer_message_at: s.last_customer_message_at,
                bot_step: s.bot.as_ref().map(|b| m.intern(&b.step)),
                queue_key: s.queue_key,
                contact_name: m.intern(""),
                contact_number: None,
                channel_name: m.intern(""),
                team_name: None,
                agent_name: None,
            };
            if let Some(p) = &row.protocol {
                m.protocols.record(p);
            }
            let mut row = row;
            m.dress(&mut row);
            let row = Arc::new(row);
            m.live.link(&row);
            m.live.attach(&row);
            m.live.sessions.insert(row.id, row);
        }
        m
    }

    /// Counts a first assignment in today's figures (B-1) and nothing else: the shell rebuilds
    /// the day after [`Monitor::from_state`] by folding the log with [`crate::DayRebuild`].
    /// The team's current service-level target applies.
    pub fn record_first_assignment(&mut self, team: TeamId, at: Timestamp, wait_ms: i64) {
        let target = self
            .live
            .teams
            .get(&team)
            .map_or(20_000, |t| t.service_level_target_ms);
        let day = day_of(at, &self.live.time_zone);
        self.day
            .entry(team)
            .or_default()
            .record(day, wait_ms, target);
    }

    /// The sequence number of the last event applied (or of the snapshot).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// An open session's row (for `follow` and for deltas); `None` once finished.
    pub fn session(&self, id: SessionId) -> Option<&SessionRow> {
        self.live.sessions.get(&id).map(|r| &**r)
    }

    /// A contact.
    pub fn contact(&self, id: ContactId) -> Option<&ContactInfo> {
        self.live.contacts.get(&id)
    }

    /// An agent.
    pub fn agent(&self, id: AgentId) -> Option<&AgentInfo> {
        self.live.agents.get(&id)
    }

    /// A team.
    pub fn team(&self, id: TeamId) -> Option<&TeamInfo> {
        self.live.teams.get(&id)
    }

    /// A channel.
    pub fn channel(&self, id: ChannelId) -> Option<&ChannelInfo> {
        self.live.channels.get(&id)
    }

    /// A pause reason.
    pub fn pause_reason(&self, id: PauseReasonId) -> Option<&PauseInfo> {
        self.live.pause_reasons.get(&id)
    }

    /// Number of open sessions.
    pub fn open_sessions(&self) -> usize {
        self.live.sessions.len()
    }

    /// Folds the event at sequence `seq` into the model and says what changed.
    pub fn apply(&mut self, seq: u64, event: &Event) -> Changes {
        self.seq = seq;
        let at = event.at;
        let mut ch = Changes::default();
        match &event.kind {
            EventKind::ChannelCreated { channel } | EventKind::ChannelUpdated { channel } => {
                self.set_channel(channel);
                self.redress_channel(channel.id);
                ch.config = true;
            }
            EventKind::ChannelDeleted { channel } => {
                self.live.channels.remove(channel);
                self.redress_channel(*channel);
                ch.config = true;
            }
            EventKind::TeamCreated { team } | EventKind::TeamUpdated { team } => {
                self.set_team(team);
                self.redress_team(team.id);
                ch.teams.insert(team.id);
                ch.config = true;
            }
            EventKind::AgentCreated { agent } | EventKind::AgentUpdated { agent } => {
                if let Some(old) = self.live.agents.get(&agent.id) {
                    ch.teams.extend(old.teams.iter().copied());
                }
                self.set_agent(agent, at);
                self.redress_agent(agent.id);
                ch.teams.extend(agent.teams.iter().copied());
                ch.agents.insert(agent.id);
                ch.config = true;
            }
            EventKind::PauseReasonCreated { reason } | EventKind::PauseReasonUpdated { reason } => {
                self.set_pause_reason(reason);
                ch.config = true;
            }
            EventKind::FlowCreated { .. } | EventKind::FlowUpdated { .. } => {}
            EventKind::SettingsUpdated { settings } => {
                self.live.time_zone.clone_from(&settings.time_zone);
                ch.config = true;
            }
            EventKind::AgentLoggedIn { agent } | EventKind::AgentResumed { agent, .. } => {
                self.presence_event(*agent, Presence::Online, at, &mut ch);
            }
            EventKind::AgentLoggedOut { agent, .. } => {
                self.presence_event(*agent, Presence::Offline, at, &mut ch);
            }
            EventKind::AgentPaused { agent, reason, .. } => {
                self.presence_event(*agent, Presence::Paused { reason: *reason }, at, &mut ch);
            }
            EventKind::ContactCreated { contact } | EventKind::ContactUpdated { contact } => {
                self.set_contact(contact);
                if let Some(c) = self.live.contacts.get(&contact.id) {
                    let sessions = c.sessions.clone();
                    for s in &sessions {
                        self.redress(*s);
                    }
                    ch.sessions.extend(sessions);
                }
            }
            EventKind::SessionStarted {
                session,
                contact,
                channel,
                ..
            } => {
                let row = SessionRow {
                    id: *session,
                    contact: *contact,
                    channel: *channel,
                    phase: Phase::Bot,
                    team: None,
                    agent: None,
                    protocol: None,
                    started_at: at,
                    queued_at: None,
                    first_assigned_at: None,
                    assigned_at: None,
                    last_customer_message_at: at,
                    bot_step: Some(self.intern("")),
                    queue_key: 0,
                    contact_name: self.intern(""),
                    contact_number: None,
                    channel_name: self.intern(""),
                    team_name: None,
                    agent_name: None,
                };
                let mut row = row;
                self.dress(&mut row);
                let row = Arc::new(row);
                if let Some(old) = self.live.sessions.remove(session) {
                    self.live.detach(&old);
                    self.live.unlink(&old);
                }
                self.live.link(&row);
                self.live.attach(&row);
                self.live.sessions.insert(*session, row);
                ch.sessions.insert(*session);
                ch.counters = true;
            }
            EventKind::MessagePosted {
                session, author, ..
            } => {
                if *author == mirante_core::Author::Customer
                    && self.restamp(*session, |s| s.last_customer_message_at = at)
                {
                    ch.sessions.insert(*session);
                }
            }
            EventKind::BotStepEntered { session, step, .. } => {
                let step = self.intern(step);
                if self
                    .live
                    .sessions
                    .get(session)
                    .is_some_and(|s| s.bot_step.is_some())
                {
                    self.restamp(*session, |s| s.bot_step = Some(step));
                    ch.sessions.insert(*session);
                }
            }
            EventKind::SessionQueued {
                session,
                team,
                front,
                ..
            } => {
                let key = if *front {
                    self.live.queue_front -= 1;
                    self.live.queue_front
                } else {
                    self.live.queue_back += 1;
                    self.live.queue_back
                };
                self.move_session(*session, &mut ch, |s| {
                    s.phase = Phase::Waiting;
                    s.team = Some(*team);
                    s.agent = None;
                    s.bot_step = None;
                    s.queued_at = Some(at);
                    s.queue_key = key;
                });
            }
            EventKind::SessionAssigned {
                session,
                agent,
                team,
                protocol,
                ..
            } => {
                let Some(before) = self.live.sessions.get(session) else {
                    return ch;
                };
                if before.first_assigned_at.is_none() {
                    let wait = before.queued_at.map_or(0, |q| at.since(q).max(0));
                    let target = self
                        .live
                        .teams
                        .get(team)
                        .map_or(20_000, |t| t.service_level_target_ms);
                    let day = day_of(at, &self.live.time_zone);
                    self.day.entry(*team).or_default().record(day, wait, target);
                    ch.teams.insert(*team);
                }
                let new_protocol = match (&before.protocol, protocol) {
                    (None, Some(p)) => {
                        self.protocols.record(p);
                        Some(Arc::<str>::from(p.as_str()))
                    }
                    _ => None,
                };
                if let Some(p) = &new_protocol {
                    self.live.by_protocol.insert(p.clone(), *session);
                }
                self.move_session(*session, &mut ch, |s| {
                    s.phase = Phase::Human;
                    s.agent = Some(*agent);
                    s.team = Some(*team);
                    s.bot_step = None;
                    s.assigned_at = Some(at);
                    s.first_assigned_at.get_or_insert(at);
                    if new_protocol.is_some() {
                        s.protocol = new_protocol;
                    }
                });
            }
            EventKind::SessionTransferred { .. } => {}
            EventKind::SessionFinished { session, .. } => {
                if let Some(old) = self.live.sessions.remove(session) {
                    self.live.detach(&old);
                    self.live.unlink(&old);
                    self.touch_place(&old, &mut ch);
                    ch.sessions.insert(*session);
                    ch.counters = true;
                }
            }
            EventKind::InternalMessageSent { .. }
            | EventKind::InternalMessagesRead { .. }
            | EventKind::MessageStatusChanged { .. } => {}
        }
        ch
    }

    /// Detaches a session from its place, changes it, attaches it again; records the old
    /// and new places as changed.
    fn move_session(
        &mut self,
        id: SessionId,
        ch: &mut Changes,
        change: impl FnOnce(&mut SessionRow),
    ) {
        let Some(mut row) = self.live.sessions.remove(&id) else {
            return;
        };
        self.live.detach(&row);
        self.touch_place(&row, ch);
        // The indexes let go of the row: it is changed in place unless a view still holds it.
        let r = Arc::make_mut(&mut row);
        change(r);
        self.dress(r);
        self.live.attach(&row);
        self.touch_place(&row, ch);
        self.live.sessions.insert(id, row);
        ch.sessions.insert(id);
        ch.counters = true;
    }

    /// Replaces a session's row by a changed copy that keeps its place (same phase, team,
    /// agent and order keys). False when it is not open.
    fn restamp(&mut self, id: SessionId, change: impl FnOnce(&mut SessionRow)) -> bool {
        let Some(old) = self.live.sessions.get(&id) else {
            return false;
        };
        let mut row = SessionRow::clone(old);
        change(&mut row);
        let row = Arc::new(row);
        self.live.replace(&row);
        self.live.sessions.insert(id, row);
        true
    }

    /// Replaces a session's row by a copy with the names of the current records.
    fn redress(&mut self, id: SessionId) {
        let Some(old) = self.live.sessions.get(&id) else {
            return;
        };
        let mut row = SessionRow::clone(old);
        self.dress(&mut row);
        let row = Arc::new(row);
        self.live.replace(&row);
        self.live.sessions.insert(id, row);
    }

    /// Sets the names a row shows from the current records.
    fn dress(&self, row: &mut SessionRow) {
        let live = &self.live;
        let contact = live.contacts.get(&row.contact);
        let empty = || self.steps.get("").cloned().unwrap_or_else(|| Arc::from(""));
        row.contact_name = contact.map_or_else(empty, |c| c.name.clone());
        row.contact_number = contact.and_then(|c| c.number.clone());
        row.channel_name = live
            .channels
            .get(&row.channel)
            .map_or_else(empty, |c| c.name.clone());
        row.team_name = row
            .team
            .map(|t| live.teams.get(&t).map_or_else(empty, |t| t.name.clone()));
        row.agent_name = row
            .agent
            .map(|a| live.agents.get(&a).map_or_else(empty, |a| a.name.clone()));
    }

    /// Refreshes the rows of a channel's sessions whose shown name differs.
    fn redress_channel(&mut self, channel: ChannelId) {
        let name = self.live.channels.get(&channel).map(|c| c.name.clone());
        let stale: Vec<SessionId> = self
            .live
            .by_channel
            .get(&channel)
            .into_iter()
            .flatten()
            .filter(|s| {
                self.live
                    .sessions
                    .get(s)
                    .is_some_and(|r| name.as_deref().unwrap_or("") != &*r.channel_name)
            })
            .copied()
            .collect();
        for s in stale {
            self.redress(s);
        }
    }

    /// Refreshes the rows of a team's sessions whose shown name differs.
    fn redress_team(&mut self, team: TeamId) {
        let name = self.live.teams.get(&team).map(|t| t.name.clone());
        let live = &self.live;
        let stale: Vec<SessionId> = live
            .team_waiting
            .get(&team)
            .into_iter()
            .flat_map(|m| m.values())
            .chain(
                live.team_human
                    .get(&team)
                    .into_iter()
                    .flat_map(|m| m.values()),
            )
            .map(|e| &e.row)
            .filter(|r| r.team_name.as_deref() != Some(name.as_deref().unwrap_or("")))
            .map(|r| r.id)
            .collect();
        for s in stale {
            self.redress(s);
        }
    }

    /// Refreshes the rows of an agent's sessions whose shown name differs.
    fn redress_agent(&mut self, agent: AgentId) {
        let Some(info) = self.live.agents.get(&agent) else {
            return;
        };
        let stale: Vec<SessionId> = info
            .rows
            .iter()
            .filter(|e| e.row.agent_name.as_deref() != Some(&*info.name))
            .map(|e| e.row.id)
            .collect();
        for s in stale {
            self.redress(s);
        }
    }

    /// The team and agent cards a session's place touches (an agent's load changes its
    /// teams' "available" figures too).
    fn touch_place(&self, row: &SessionRow, ch: &mut Changes) {
        if let Some(t) = row.team {
            ch.teams.insert(t);
        }
        if let Some(a) = row.agent {
            ch.agents.insert(a);
            if let Some(info) = self.live.agents.get(&a) {
                ch.teams.extend(info.teams.iter().copied());
            }
        }
    }

    fn presence_event(&mut self, agent: AgentId, p: Presence, at: Timestamp, ch: &mut Changes) {
        if let Some(info) = self.live.agents.get(&agent) {
            ch.agents.insert(agent);
            ch.teams.extend(info.teams.iter().copied());
        }
        self.set_presence(agent, p, at);
    }

    fn intern(&mut self, step: &str) -> Arc<str> {
        if let Some(s) = self.steps.get(step) {
            return s.clone();
        }
        let s: Arc<str> = Arc::from(step);
        self.steps.insert(s.clone());
        s
    }

    fn set_channel(&mut self, c: &mirante_core::Channel) {
        self.live.channels.insert(
            c.id,
            ChannelInfo {
                name: Arc::from(c.name.as_str()),
                kind: c.kind,
                enabled: c.enabled,
            },
        );
    }

    fn set_team(&mut self, t: &mirante_core::Team) {
        self.live.teams.insert(
            t.id,
            TeamInfo {
                name: Arc::from(t.name.as_str()),
                enabled: t.enabled,
                service_level_target_ms: t.settings.service_level_target_ms,
                service_level_goal_percent: t.settings.service_level_percent,
            },
        );
    }

    fn set_pause_reason(&mut self, p: &mirante_core::PauseReason) {
        self.live.pause_reasons.insert(
            p.id,
            PauseInfo {
                name: Arc::from(p.name.as_str()),
                max_duration_ms: p.max_duration_ms,
            },
        );
    }

    /// Creates or updates an agent's configuration (a new agent is offline since `at`).
    fn set_agent(&mut self, a: &mirante_core::Agent, at: Timestamp) {
        let Live {
            agents,
            members,
            team_presence,
            logged_in,
            team_logged_in,
            ..
        } = &mut self.live;
        let info = agents.entry(a.id).or_insert_with(|| AgentInfo {
            name: Arc::from(a.name.as_str()),
            nickname: Arc::from(""),
            teams: BTreeSet::new(),
            capacity: a.capacity,
            enabled: a.enabled,
            presence: Presence::Offline,
            presence_since: at,
            sessions: BTreeSet::new(),
            rows: Vec::new(),
        });
        // Take the agent out of every index under its old record…
        let share = presence_share(info);
        for t in &info.teams {
            adjust_presence(team_presence, *t, share, false);
            if let Some(m) = members.get_mut(t) {
                m.remove(&a.id);
                if m.is_empty() {
                    members.remove(t);
                }
            }
        }
        let key = (info.name.clone(), a.id);
        logged_in.remove(&key);
        for t in &info.teams {
            set_member_logged_in(team_logged_in, *t, &key, false);
        }
        // …and put it back under the new one.
        info.name = Arc::from(a.name.as_str());
        info.nickname = Arc::from(a.nickname.as_str());
        info.teams.clone_from(&a.teams);
        info.capacity = a.capacity;
        info.enabled = a.enabled;
        let share = presence_share(info);
        for t in &info.teams {
            adjust_presence(team_presence, *t, share, true);
            members.entry(*t).or_default().insert(a.id);
        }
        if info.is_logged_in() {
            let key = (info.name.clone(), a.id);
            for t in &info.teams {
                set_member_logged_in(team_logged_in, *t, &key, true);
            }
            logged_in.insert(key);
        }
    }

    fn set_presence(&mut self, agent: AgentId, p: Presence, at: Timestamp) {
        self.live.with_agent(agent, |info| {
            info.presence = p;
            info.presence_since = at;
        });
    }

    fn set_contact(&mut self, c: &mirante_core::Contact) {
        let live = &mut self.live;
        let sessions = match live.contacts.remove(&c.id) {
            Some(old) => {
                remove_from_vec_map(&mut live.by_name, &old.name, c.id);
                if let Some(n) = &old.number {
                    remove_from_vec_map(&mut live.by_number, n, c.id);
                }
                old.sessions
            }
            None => Vec::new(),
        };
        let info = ContactInfo {
            name: Arc::from(c.name.as_str()),
            number: c.number.as_deref().map(Arc::from),
            sessions,
        };
        insert_sorted(live.by_name.entry(info.name.clone()).or_default(), c.id);
        if let Some(n) = &info.number {
            insert_sorted(live.by_number.entry(n.clone()).or_default(), c.id);
        }
        live.contacts.insert(c.id, info);
    }
}

/// What an agent adds to each of its teams' online / paused / available figures.
fn presence_share(a: &AgentInfo) -> [u32; 3] {
    [
        u32::from(a.presence == Presence::Online),
        u32::from(matches!(a.presence, Presence::Paused { .. })),
        u32::from(a.is_available()),
    ]
}

fn adjust_presence(
    counts: &mut BTreeMap<TeamId, [u32; 3]>,
    team: TeamId,
    share: [u32; 3],
    add: bool,
) {
    if share == [0; 3] {
        return;
    }
    let e = counts.entry(team).or_default();
    for (x, d) in e.iter_mut().zip(share) {
        *x = if add { *x + d } else { x.saturating_sub(d) };
    }
    if *e == [0; 3] {
        counts.remove(&team);
    }
}

/// Adds (or removes) a logged-in member to (from) its team's by-name index.
fn set_member_logged_in(
    index: &mut HashMap<TeamId, BTreeSet<(Arc<str>, AgentId)>>,
    team: TeamId,
    key: &(Arc<str>, AgentId),
    logged_in: bool,
) {
    if logged_in {
        index.entry(team).or_default().insert(key.clone());
    } else if let Some(set) = index.get_mut(&team) {
        set.remove(key);
        if set.is_empty() {
            index.remove(&team);
        }
    }
}

impl Live {
    /// Changes an agent's presence or load (never its teams or name), keeping its teams'
    /// presence figures and the logged-in index right.
    fn with_agent(&mut self, id: AgentId, change: impl FnOnce(&mut AgentInfo)) {
        let Live {
            agents,
            team_presence,
            logged_in,
            team_logged_in,
            ..
        } = self;
        let Some(info) = agents.get_mut(&id) else {
            return;
        };
        let before = presence_share(info);
        let was_in = info.is_logged_in();
        change(info);
        let after = presence_share(info);
        if before != after {
            for t in &info.teams {
                adjust_presence(team_presence, *t, before, false);
                adjust_presence(team_presence, *t, after, true);
            }
        }
        if was_in != info.is_logged_in() {
            let key = (info.name.clone(), id);
            for t in &info.teams {
                set_member_logged_in(team_logged_in, *t, &key, !was_in);
            }
            if was_in {
                logged_in.remove(&key);
            } else {
                logged_in.insert(key);
            }
        }
    }

    /// Adds a row to the indexes of what it is (channel, contact, protocol).
    fn link(&mut self, row: &SessionRow) {
        self.by_channel
            .entry(row.channel)
            .or_default()
            .insert(row.id);
        if let Some(c) = self.contacts.get_mut(&row.contact) {
            insert_sorted(&mut c.sessions, row.id);
        }
        if let Some(p) = &row.protocol {
            self.by_protocol.insert(p.clone(), row.id);
        }
    }

    fn unlink(&mut self, row: &SessionRow) {
        if let Some(set) = self.by_channel.get_mut(&row.channel) {
            set.remove(&row.id);
            if set.is_empty() {
                self.by_channel.remove(&row.channel);
            }
        }
        if let Some(c) = self.contacts.get_mut(&row.contact) {
            remove_sorted(&mut c.sessions, row.id);
        }
        if let Some(p) = &row.protocol
            && self.by_protocol.get(p) == Some(&row.id)
        {
            self.by_protocol.remove(p);
        }
    }

    /// Adds a row to the indexes of where it sits (phase, team queue or service, agent load).
    fn attach(&mut self, row: &Arc<SessionRow>) {
        let s = slot(row.phase);
        self.totals[s] += 1;
        self.cells.entry((row.team, row.channel)).or_default()[s] += 1;
        match row.phase {
            Phase::Bot => {
                self.bot.insert(row.id, row.clone());
            }
            Phase::Waiting => {
                let key = row.wait_key();
                self.waiting.insert(key, row.clone());
                if let Some(t) = row.team {
                    self.team_waiting
                        .entry(t)
                        .or_default()
                        .insert(key, TeamEntry::of(row));
                }
            }
            Phase::Human => {
                let key = row.human_key();
                self.human.insert(key, row.clone());
                if let Some(t) = row.team {
                    self.team_human
                        .entry(t)
                        .or_default()
                        .insert(key, TeamEntry::of(row));
                }
                if let Some(a) = row.agent {
                    self.with_agent(a, |a| {
                        a.sessions.insert(row.id);
                        if let Err(at) = a.rows.binary_search_by_key(&key, |e| e.key) {
                            a.rows.insert(at, AgentEntry::of(row));
                        }
                    });
                }
            }
        }
    }

    fn detach(&mut self, row: &SessionRow) {
        let s = slot(row.phase);
        self.totals[s] = self.totals[s].saturating_sub(1);
        let key = (row.team, row.channel);
        if let Some(c) = self.cells.get_mut(&key) {
            c[s] = c[s].saturating_sub(1);
            if *c == [0; 3] {
                self.cells.remove(&key);
            }
        }
        match row.phase {
            Phase::Bot => {
                self.bot.remove(&row.id);
            }
            Phase::Waiting => {
                let key = row.wait_key();
                self.waiting.remove(&key);
                if let Some(t) = row.team
                    && let Some(set) = self.team_waiting.get_mut(&t)
                {
                    set.remove(&key);
                    if set.is_empty() {
                        self.team_waiting.remove(&t);
                    }
                }
            }
            Phase::Human => {
                let key = row.human_key();
                self.human.remove(&key);
                if let Some(t) = row.team
                    && let Some(set) = self.team_human.get_mut(&t)
                {
                    set.remove(&key);
                    if set.is_empty() {
                        self.team_human.remove(&t);
                    }
                }
                if let Some(a) = row.agent {
                    self.with_agent(a, |a| {
                        a.sessions.remove(&row.id);
                        if let Ok(at) = a.rows.binary_search_by_key(&key, |e| e.key) {
                            a.rows.remove(at);
                        }
                    });
                }
            }
        }
    }

    /// Puts a changed row in the place of the one it replaces (same phase, team, agent and
    /// order keys).
    fn replace(&mut self, row: &Arc<SessionRow>) {
        fn put<K: Ord>(
            map: Option<&mut BTreeMap<K, Arc<SessionRow>>>,
            key: &K,
            row: &Arc<SessionRow>,
        ) {
            if let Some(slot) = map.and_then(|m| m.get_mut(key)) {
                *slot = row.clone();
            }
        }
        fn put_entry<K: Ord>(
            map: Option<&mut BTreeMap<K, TeamEntry>>,
            key: &K,
            row: &Arc<SessionRow>,
        ) {
            if let Some(slot) = map.and_then(|m| m.get_mut(key)) {
                *slot = TeamEntry::of(row);
            }
        }
        match row.phase {
            Phase::Bot => put(Some(&mut self.bot), &row.id, row),
            Phase::Waiting => {
                let key = row.wait_key();
                put(Some(&mut self.waiting), &key, row);
                if let Some(t) = row.team {
                    put_entry(self.team_waiting.get_mut(&t), &key, row);
                }
            }
            Phase::Human => {
                let key = row.human_key();
                put(Some(&mut self.human), &key, row);
                if let Some(t) = row.team {
                    put_entry(self.team_human.get_mut(&t), &key, row);
                }
                if let Some(info) = row.agent.and_then(|a| self.agents.get_mut(&a))
                    && let Ok(at) = info.rows.binary_search_by_key(&key, |e| e.key)
                {
                    info.rows[at] = AgentEntry::of(row);
                }
            }
        }
    }
}
