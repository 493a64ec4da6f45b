//! Queries: the screen for one supervisor, one filter, at one instant. A filter is evaluated
//! by walking the smallest candidate set its conditions (or the supervisor's scope) give —
//! a protocol, a contact's sessions, the agents' loads, the teams' queues and services, the
//! channels' sessions — and checking the other conditions on each candidate. The per-phase,
//! per-team and per-agent indexes keep their rows in display order, so the answer is a walk
//! (or a merge of a few team lists) with no sort and no row built; counters for
//! filters made only of teams and channels come from per-(team, channel) counts without
//! touching a session.

use crate::filter::{Filter, Visibility, normalize_number};
use crate::monitor::HashMap;
use crate::monitor::{AgentEntry, AgentInfo, Monitor, SessionRow, TeamEntry, WaitKey, slot};
use crate::view::{
    AgentCard, AgentStatus, ChannelOption, CounterPair, Counters, FilterOptions, MonitorView,
    Named, Phases, ProtocolStatus, SessionView, TeamCard,
};
use mirante_core::{AgentId, ChannelId, ContactId, Phase, Presence, SessionId, TeamId, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A filter with its contact resolved to contact ids.
struct Query<'a> {
    filter: &'a Filter,
    vis: &'a Visibility,
    /// `Some` when the filter has a contact: the matching contacts, ascending.
    contacts: Option<Vec<ContactId>>,
    protocol: Option<&'a str>,
}

impl Query<'_> {
    fn matches(&self, row: &SessionRow) -> bool {
        self.vis.sees_team_of_session(row.team)
            && (self.filter.teams.is_empty()
                || row.team.is_some_and(|t| self.filter.teams.contains(&t)))
            && self.matches_in_team(row)
    }

    /// [`Query::takes_team`] for a session's team (none: still in the bot).
    fn takes_team_of_session(&self, team: Option<TeamId>) -> bool {
        self.vis.sees_team_of_session(team)
            && (self.filter.teams.is_empty()
                || team.is_some_and(|t| self.filter.teams.contains(&t)))
    }

    /// True when sessions of `team` are inside the scope and the team filter.
    fn takes_team(&self, team: TeamId) -> bool {
        self.vis.sees_team(team)
            && (self.filter.teams.is_empty() || self.filter.teams.contains(&team))
    }

    /// Conditions other than the team's and the channel's: agents, contact, protocol.
    fn has_row_conditions_beyond_channel(&self) -> bool {
        !self.filter.agents.is_empty() || self.contacts.is_some() || self.protocol.is_some()
    }

    /// [`Query::matches`] for a row of a team that [`Query::takes_team`].
    fn matches_in_team(&self, row: &SessionRow) -> bool {
        (self.filter.agents.is_empty()
            || row.agent.is_some_and(|a| self.filter.agents.contains(&a)))
            && (self.filter.channels.is_empty() || self.filter.channels.contains(&row.channel))
            && self
                .contacts
                .as_ref()
                .is_none_or(|c| c.binary_search(&row.contact).is_ok())
            && self
                .protocol
                .is_none_or(|p| row.protocol.as_deref() == Some(p))
    }
}

/// A row of the model, borrowed while answering.
type Row<'a> = &'a Arc<SessionRow>;

/// Where the candidates come from (each a union of disjoint sets).
enum Source<'a> {
    /// Every open session, from the per-phase indexes (each already in display order).
    All,
    /// The per-team indexes of these teams (each already in display order).
    Teams(Vec<TeamId>),
    /// A few rows in no particular order: a protocol's, contacts', agents', channels'.
    Rows(Vec<Row<'a>>),
}

/// Which condition gives the smallest candidate set.
enum Pick<'a> {
    All,
    Protocol(&'a str),
    Contacts,
    Agents,
    Channels,
    Teams(&'a BTreeSet<TeamId>),
}

/// One team's matching sessions, as its card counts them (keys only: building a card touches
/// no row).
#[derive(Default)]
struct TeamMatch {
    /// Waiting.
    waiting: u64,
    /// When the longest current wait among them started.
    oldest: Option<Timestamp>,
    /// In service.
    in_service: u64,
}

impl TeamMatch {
    fn push_waiting(&mut self, key: &WaitKey) {
        self.oldest.get_or_insert(key.0);
        self.waiting += 1;
    }
}

/// Matching rows in display order, as the tabs need them.
#[derive(Default)]
struct Matched<'a> {
    bot: Vec<SessionView<'a>>,
    waiting: Vec<SessionView<'a>>,
    human: Vec<SessionView<'a>>,
    /// Per team: its matching waiting and in-service sessions.
    teams: HashMap<TeamId, TeamMatch>,
}

impl Matched<'_> {
    /// The per-team lists from the phase lists (already in display order).
    fn group_by_team(&mut self) {
        for r in &self.waiting {
            if let Some(t) = r.team {
                self.teams.entry(t).or_default().push_waiting(&r.wait_key());
            }
        }
        for r in &self.human {
            if let Some(t) = r.team {
                self.teams.entry(t).or_default().in_service += 1;
            }
        }
    }
}

impl Monitor {
    fn query<'a>(&self, filter: &'a Filter, vis: &'a Visibility) -> Query<'a> {
        let contacts = filter.contact_needle().map(|needle| {
            let mut ids: Vec<ContactId> = Vec::new();
            if let Some(v) = self.live.by_name.get(needle) {
                ids.extend(v);
            }
            if let Some(number) = normalize_number(needle)
                && let Some(v) = self.live.by_number.get(number.as_str())
            {
                ids.extend(v);
            }
            ids.sort_unstable();
            ids.dedup();
            ids
        });
        Query {
            filter,
            vis,
            contacts,
            protocol: filter.protocol_needle(),
        }
    }

    fn team_size(&self, t: TeamId) -> usize {
        self.live.team_waiting.get(&t).map_or(0, |s| s.len())
            + self.live.team_human.get(&t).map_or(0, |s| s.len())
    }

    /// The smallest candidate set the query's conditions give (sizes first, then only the
    /// chosen set is gathered).
    fn source<'a, 'q>(&'a self, q: &Query<'q>) -> Source<'a> {
        let live = &self.live;
        let mut best = (live.sessions.len(), Pick::All);
        let mut consider = |size: usize, pick: Pick<'q>| {
            if size < best.0 {
                best = (size, pick);
            }
        };
        if let Some(p) = q.protocol {
            consider(
                usize::from(live.by_protocol.contains_key(p)),
                Pick::Protocol(p),
            );
        }
        if let Some(contacts) = &q.contacts {
            let size = contacts
                .iter()
                .filter_map(|c| live.contacts.get(c))
                .map(|c| c.sessions.len())
                .sum();
            consider(size, Pick::Contacts);
        }
        if !q.filter.agents.is_empty() {
            let size = q
                .filter
                .agents
                .iter()
                .filter_map(|a| live.agents.get(a))
                .map(|a| a.rows.len())
                .sum();
            consider(size, Pick::Agents);
        }
        if !q.filter.channels.is_empty() {
            let size = q
                .filter
                .channels
                .iter()
                .filter_map(|c| live.by_channel.get(c))
                .map(BTreeSet::len)
                .sum();
            consider(size, Pick::Channels);
        }
        // A team's index is walked in order and tests the channel on its entries, without
        // reading a row that does not match; the other sets read every candidate row (a
        // cache miss each) and sort the matches. An index entry costs a fraction of that.
        const TEAM_ENTRY_COST: usize = 4;
        if !q.filter.teams.is_empty() {
            let size: usize = q.filter.teams.iter().map(|t| self.team_size(*t)).sum();
            consider(size / TEAM_ENTRY_COST, Pick::Teams(&q.filter.teams));
        }
        if let Some(set) = &q.vis.teams {
            let size: usize = set.iter().map(|t| self.team_size(*t)).sum();
            consider(size / TEAM_ENTRY_COST, Pick::Teams(set));
        }
        let by_id = |id: &SessionId| live.sessions.get(id);
        match best.1 {
            Pick::All => Source::All,
            Pick::Teams(set) => Source::Teams(set.iter().copied().collect()),
            Pick::Protocol(p) => Source::Rows(
                live.by_protocol
                    .get(p)
                    .and_then(by_id)
                    .into_iter()
                    .collect(),
            ),
            Pick::Contacts => Source::Rows(
                q.contacts
                    .iter()
                    .flatten()
                    .filter_map(|c| live.contacts.get(c))
                    .flat_map(|c| c.sessions.iter())
                    .filter_map(by_id)
                    .collect(),
            ),
            Pick::Agents => Source::Rows(
                q.filter
                    .agents
                    .iter()
                    .filter_map(|a| live.agents.get(a))
                    .flat_map(|a| a.rows.iter().map(|e| &e.row))
                    .collect(),
            ),
            Pick::Channels => Source::Rows(
                q.filter
                    .channels
                    .iter()
                    .filter_map(|c| live.by_channel.get(c))
                    .flatten()
                    .filter_map(by_id)
                    .collect(),
            ),
        }
    }

    /// Every matching row, in no particular order.
    fn for_each_match<'a>(&'a self, q: &Query<'a>, mut f: impl FnMut(Row<'a>)) {
        let live = &self.live;
        let mut visit = |row: Row<'a>| {
            if q.matches(row) {
                f(row);
            }
        };
        match self.source(q) {
            Source::All => live.sessions.values().for_each(&mut visit),
            Source::Rows(rows) => rows.into_iter().for_each(&mut visit),
            Source::Teams(teams) => {
                for t in teams {
                    if let Some(w) = live.team_waiting.get(&t) {
                        w.values().map(|e| &e.row).for_each(&mut visit);
                    }
                    if let Some(h) = live.team_human.get(&t) {
                        h.values().map(|e| &e.row).for_each(&mut visit);
                    }
                }
            }
        }
    }

    /// The matching rows in display order, grouped as the tabs need them. The indexes keep
    /// every list in order: everyone is a walk, a few teams a merge of their ordered lists on
    /// the index keys (the team cards are built from the keys); only a few rows from other
    /// indexes are sorted.
    fn matched<'a>(&'a self, q: &Query<'_>, now: Timestamp) -> Matched<'a> {
        let live = &self.live;
        let mut m = Matched::default();
        match self.source(q) {
            Source::All => {
                let rows = |idx: &mut dyn Iterator<Item = Row<'a>>| -> Vec<SessionView<'a>> {
                    idx.filter(|r| q.matches(r))
                        .map(|r| SessionView::borrowed(r, now))
                        .collect()
                };
                m.bot = rows(&mut live.bot.values());
                m.waiting = rows(&mut live.waiting.values());
                m.human = rows(&mut live.human.values());
                m.group_by_team();
            }
            Source::Teams(teams) => {
                // Scope and team filter are checked once per team, the channels on the index
                // entry, the other conditions (if any) on each row. Without them, the merge
                // reads only the index (a row that does not match is never touched).
                let taken: Vec<TeamId> = teams.into_iter().filter(|t| q.takes_team(*t)).collect();
                // The channels as a slice (a filter names a few: a scan of a few words beats
                // a search of the set, for every entry).
                let channels: Vec<ChannelId> = q.filter.channels.iter().copied().collect();
                let per_row = q.has_row_conditions_beyond_channel();
                let keep = |e: &TeamEntry| {
                    (channels.is_empty() || channels.contains(&e.channel))
                        && (!per_row || q.matches_in_team(&e.row))
                };
                // One run per taken team (`cards` is indexed by run).
                let waiting: Vec<_> = taken.iter().map(|t| live.team_waiting.get(t)).collect();
                let human: Vec<_> = taken.iter().map(|t| live.team_human.get(t)).collect();
                let mut cards: Vec<TeamMatch> =
                    taken.iter().map(|_| TeamMatch::default()).collect();
                let view = |e: &'a TeamEntry| SessionView::borrowed(&e.row, now);
                m.waiting = merged(
                    &waiting,
                    |run, key, e| {
                        let kept = keep(e);
                        if kept {
                            cards[run].push_waiting(key);
                        }
                        kept
                    },
                    view,
                );
                m.human = merged(
                    &human,
                    |run, _, e| {
                        let kept = keep(e);
                        if kept {
                            cards[run].in_service += 1;
                        }
                        kept
                    },
                    view,
                );
                m.teams = taken.into_iter().zip(cards).collect();
            }
            Source::Rows(rows) => {
                let (mut bot, mut waiting, mut human) = (Vec::new(), Vec::new(), Vec::new());
                for r in rows {
                    if q.matches(r) {
                        match r.phase {
                            Phase::Bot => bot.push(r),
                            Phase::Waiting => waiting.push(r),
                            Phase::Human => human.push(r),
                        }
                    }
                }
                bot.sort_unstable_by_key(|r| r.id);
                waiting.sort_unstable_by_key(|r| r.wait_key());
                human.sort_unstable_by_key(|r| r.human_key());
                m.bot = views(&bot, now);
                m.waiting = views(&waiting, now);
                m.human = views(&human, now);
                m.group_by_team();
            }
        }
        m
    }

    /// Counters from the per-(team, channel) counts: for a filter made only of teams and
    /// channels (or none), within `vis`.
    fn cell_counters(&self, filter: Option<&Filter>, vis: &Visibility) -> Counters {
        if vis.teams.is_none() && filter.is_none_or(|f| f.is_empty()) {
            let [b, w, h] = self.live.totals;
            return Counters::from_phases(b, w, h);
        }
        let mut c = Counters::default();
        for ((team, channel), counts) in &self.live.cells {
            let ok = vis.sees_team_of_session(*team)
                && filter.is_none_or(|f| {
                    (f.teams.is_empty() || team.is_some_and(|t| f.teams.contains(&t)))
                        && (f.channels.is_empty() || f.channels.contains(channel))
                });
            if ok {
                for p in [Phase::Bot, Phase::Waiting, Phase::Human] {
                    c.add(p, counts[slot(p)]);
                }
            }
        }
        c
    }

    /// The counters only (M-1…M-5), without building any row: the cheap path for counter
    /// pushes and wallboards. Equal to the counters of [`Monitor::view`] for the same
    /// arguments.
    pub fn counters(&self, filter: &Filter, vis: &Visibility) -> CounterPair {
        let unfiltered = self.cell_counters(None, vis);
        let counters = if filter.is_empty() {
            unfiltered
        } else if filter.agents.is_empty() && !filter.has_needle() {
            self.cell_counters(Some(filter), vis)
        } else {
            let q = self.query(filter, vis);
            let mut c = Counters::default();
            self.for_each_match(&q, |row| c.add(row.phase, 1));
            c
        };
        CounterPair {
            filtered: !filter.is_empty(),
            counters,
            unfiltered_counters: unfiltered,
        }
    }

    /// What the monitor knows of a protocol (M-54).
    pub fn protocol_status(&self, protocol: &str) -> ProtocolStatus {
        let p = protocol.trim();
        if self.live.by_protocol.contains_key(p) {
            ProtocolStatus::Open
        } else if self.protocols.issued(p) {
            ProtocolStatus::Finished
        } else {
            ProtocolStatus::Unknown
        }
    }

    /// True when the session is open and matches `filter` within `vis`.
    pub fn matches(&self, id: SessionId, filter: &Filter, vis: &Visibility) -> bool {
        let q = self.query(filter, vis);
        self.live.sessions.get(&id).is_some_and(|r| q.matches(r))
    }

    /// One session as a row at `now` (for deltas and `follow`).
    /// It holds a reference on the row: it outlives the model's borrow.
    pub fn row(&self, id: SessionId, now: Timestamp) -> Option<SessionView<'static>> {
        self.live
            .sessions
            .get(&id)
            .map(|r| SessionView::shared(r.clone(), now))
    }

    /// The Monitoramento screen for one supervisor: counters, the three tabs, all from this
    /// state at [`Monitor::seq`] (B-2), durations computed at `now`.
    ///
    /// The view borrows the model: its rows are the model's, no reference taken
    /// ([`MonitorView::into_owned`] for one that outlives the borrow).
    pub fn view(&self, filter: &Filter, vis: &Visibility, now: Timestamp) -> MonitorView<'_> {
        let q = self.query(filter, vis);
        let mut m = self.matched(&q, now);
        let counters = Counters::from_phases(
            m.bot.len() as u64,
            m.waiting.len() as u64,
            m.human.len() as u64,
        );
        let unfiltered_counters = if filter.is_empty() {
            counters
        } else {
            self.cell_counters(None, vis)
        };
        let protocol_status = q.protocol.map(|p| self.protocol_status(p));
        let protocol_not_open = q.protocol.is_some() && counters.geral == 0;

        let agents = self.agent_cards(&q, &m.human, now);
        let teams = self.team_cards(&q, &mut m.teams, now);
        MonitorView {
            seq: self.seq,
            now,
            filtered: !filter.is_empty(),
            counters,
            unfiltered_counters,
            protocol_not_open,
            protocol_status,
            agents,
            teams,
            phases: Phases {
                bot: m.bot,
                waiting: m.waiting,
                human: m.human,
            },
        }
    }

    fn agent_cards(
        &self,
        q: &Query<'_>,
        human: &[SessionView<'_>],
        now: Timestamp,
    ) -> Vec<AgentCard> {
        let live = &self.live;
        let f = q.filter;
        // A card's sessions are its agent's matching rows in service, longest first. With a
        // contact or protocol (a few rows, and only their agents get a card): the matching Em
        // atendimento rows (already in that order) grouped by agent. Otherwise: the agent's
        // own rows in service (also in that order) that match, counted first so that each
        // card's list is one allocation of its size (a growing map of growing lists was a
        // good part of a team-scoped view's time in `malloc`).
        let mut by_agent: HashMap<AgentId, Vec<SessionId>> = HashMap::default();
        if f.has_needle() {
            for r in human {
                if let Some(a) = r.agent {
                    by_agent.entry(a).or_default().push(r.id);
                }
            }
        }
        // Without a contact or protocol, the team and channel beside each entry decide (the
        // agent filter holds for the card's own agent): no row is read.
        let by_entry = !f.has_needle();
        let channels: Vec<ChannelId> = f.channels.iter().copied().collect();
        let entry_matches = |e: &AgentEntry| {
            if by_entry {
                q.takes_team_of_session(e.team)
                    && (channels.is_empty() || channels.contains(&e.channel))
            } else {
                q.matches(&e.row)
            }
        };
        let own_sessions = |a: &AgentInfo| -> Vec<SessionId> {
            let n = a.rows.iter().filter(|e| entry_matches(e)).count();
            if n == 0 {
                return Vec::new();
            }
            let mut ids = Vec::with_capacity(n);
            ids.extend(a.rows.iter().filter(|e| entry_matches(e)).map(|e| e.key.1));
            ids
        };
        // Members of the scope's teams are in the scope.
        let in_scope = f.teams.is_empty() && f.agents.is_empty() && !f.has_needle();
        let keep = |id: &AgentId, a: &AgentInfo| {
            a.is_logged_in()
                && !q.vis.hidden_agents.contains(id)
                && (in_scope || q.vis.sees_member_of(&a.teams))
                && (f.teams.is_empty() || a.teams.iter().any(|t| f.teams.contains(t)))
        };
        let lookup = |id: AgentId| live.agents.get(&id).map(|a| (id, a));
        let by_name = |x: &(AgentId, &AgentInfo), y: &(AgentId, &AgentInfo)| {
            (&x.1.name, x.0).cmp(&(&y.1.name, y.0))
        };
        // Candidates in name order: the agents serving a matching session (with a contact or
        // protocol), or the filtered agents, or the logged-in members of the filtered teams
        // (else of the scope's), or everyone logged in.
        let teams = if f.teams.is_empty() {
            q.vis.teams.as_ref()
        } else {
            Some(&f.teams)
        };
        let mut candidates: Vec<(AgentId, &AgentInfo)> = Vec::new();
        if f.has_needle() || !f.agents.is_empty() {
            let ids: Vec<AgentId> = if f.has_needle() {
                by_agent.keys().copied().collect()
            } else {
                f.agents.iter().copied().collect()
            };
            candidates.extend(ids.into_iter().filter_map(lookup));
            candidates.sort_unstable_by(by_name);
        } else if let Some(teams) = teams {
            let runs: Vec<_> = teams
                .iter()
                .filter_map(|t| live.team_logged_in.get(t))
                .map(|set| set.iter())
                .enumerate()
                .collect();
            candidates.reserve(runs.iter().map(|(_, set)| set.len()).sum());
            let mut last: Option<AgentId> = None;
            merge_runs(
                runs,
                |a, b| a < b,
                |_, (_, id)| {
                    // An agent in two of the teams comes twice, one after the other.
                    if last != Some(*id) {
                        last = Some(*id);
                        candidates.extend(lookup(*id));
                    }
                },
            );
        } else {
            candidates.extend(live.logged_in.iter().filter_map(|(_, id)| lookup(*id)));
        }
        candidates.retain(|(id, a)| keep(id, a));
        let mut cards = Vec::with_capacity(candidates.len());
        for (id, a) in candidates {
            let sessions = if f.has_needle() {
                match by_agent.remove(&id) {
                    Some(sessions) => sessions,
                    // With a contact or protocol, only agents serving a matching session.
                    None => continue,
                }
            } else {
                own_sessions(a)
            };
            let (status, pause_reason, pause_exceeded) = match a.presence {
                Presence::Paused { reason } => {
                    let info = live.pause_reasons.get(&reason);
                    let exceeded = info
                        .and_then(|p| p.max_duration_ms)
                        .is_some_and(|max| now.since(a.presence_since) > max);
                    let named = Named {
                        id: reason,
                        name: info.map_or_else(|| Arc::from(""), |p| p.name.clone()),
                    };
                    (AgentStatus::Paused, Some(named), exceeded)
                }
                Presence::Online => (AgentStatus::Online, None, false),
                Presence::Offline => (AgentStatus::Offline, None, false),
            };
            cards.push(AgentCard {
                id,
                name: a.name.clone(),
                nickname: a.nickname.clone(),
                status,
                pause_reason,
                pause_exceeded,
                since: a.presence_since,
                in_status_ms: now.since(a.presence_since),
                open: u32::try_from(a.sessions.len()).unwrap_or(u32::MAX),
                capacity: a.capacity,
                available: a.is_available(),
                teams: {
                    let mut teams = Vec::with_capacity(a.teams.len());
                    teams.extend(a.teams.iter().copied().filter(|t| q.vis.sees_team(*t)));
                    teams
                },
                sessions,
            });
        }
        cards
    }

    fn team_cards(
        &self,
        q: &Query<'_>,
        groups: &mut HashMap<TeamId, TeamMatch>,
        now: Timestamp,
    ) -> Vec<TeamCard> {
        let live = &self.live;
        let f = q.filter;
        let today = crate::stats::day_of(now, &live.time_zone);
        let mut order: Vec<(&Arc<str>, TeamId)> = live
            .teams
            .iter()
            .filter(|(id, _)| {
                q.vis.sees_team(**id)
                    && !q.vis.hidden_teams.contains(id)
                    && (f.teams.is_empty() || f.teams.contains(id))
            })
            .map(|(id, t)| (&t.name, *id))
            .collect();
        order.sort_unstable();
        let mut cards = Vec::with_capacity(order.len());
        for (name, id) in order {
            let members = live.members.get(&id);
            if !f.agents.is_empty()
                && !members.is_some_and(|m| f.agents.iter().any(|a| m.contains(a)))
            {
                continue;
            }
            let TeamMatch {
                waiting,
                oldest,
                in_service,
            } = groups.remove(&id).unwrap_or_default();
            if f.has_needle() && waiting == 0 && in_service == 0 {
                continue;
            }
            let longest_wait_ms = oldest.map(|t| now.since(t));
            let [online, paused, available] =
                live.team_presence.get(&id).copied().unwrap_or_default();
            let info = live.teams.get(&id);
            let day = self.day.get(&id).map(|d| d.on(today)).unwrap_or_default();
            let (avg, sl) = if day.answered > 0 {
                let n = day.answered as f64;
                (
                    Some(day.wait_sum_ms / i64::try_from(day.answered).unwrap_or(i64::MAX)),
                    Some(day.within_target as f64 * 100.0 / n),
                )
            } else {
                (None, None)
            };
            cards.push(TeamCard {
                id,
                name: name.clone(),
                waiting_count: waiting,
                in_service_count: in_service,
                longest_wait_ms,
                answered_today: day.answered,
                answered_within_target_today: day.within_target,
                avg_wait_today_ms: avg,
                service_level_today: sl,
                service_level_target_ms: info.map_or(20_000, |t| t.service_level_target_ms),
                service_level_goal_percent: info.map_or(80, |t| t.service_level_goal_percent),
                agents_online: online,
                agents_paused: paused,
                agents_available: available,
            });
        }
        cards
    }

    /// The agents, teams and channels this supervisor may pick in the funnel (M-60: only
    /// those within its scope; hidden cards stay pickable).
    pub fn filter_options(&self, vis: &Visibility) -> FilterOptions {
        let live = &self.live;
        let mut agents: Vec<Named<AgentId>> = live
            .agents
            .iter()
            .filter(|(_, a)| vis.sees_member_of(&a.teams))
            .map(|(id, a)| Named {
                id: *id,
                name: a.name.clone(),
            })
            .collect();
        agents.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        let mut teams: Vec<Named<TeamId>> = live
            .teams
            .iter()
            .filter(|(id, _)| vis.sees_team(**id))
            .map(|(id, t)| Named {
                id: *id,
                name: t.name.clone(),
            })
            .collect();
        teams.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        let mut channels: Vec<ChannelOption> = live
            .channels
            .iter()
            .map(|(id, c)| ChannelOption {
                id: *id,
                name: c.name.clone(),
                kind: c.kind,
            })
            .collect();
        channels.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        FilterOptions {
            agents,
            teams,
            channels,
        }
    }

    /// True when the session is open and inside the supervisor's scope (M-60). The action
    /// layer answers "not found" otherwise.
    pub fn session_visible(&self, id: SessionId, vis: &Visibility) -> bool {
        self.live
            .sessions
            .get(&id)
            .is_some_and(|r| vis.sees_team_of_session(r.team))
    }

    /// True when the agent exists and is a member of a team inside the scope (M-60).
    pub fn agent_visible(&self, id: AgentId, vis: &Visibility) -> bool {
        self.live
            .agents
            .get(&id)
            .is_some_and(|a| vis.sees_member_of(&a.teams))
    }

    /// True when the team exists and is inside the scope (M-60).
    pub fn team_visible(&self, id: TeamId, vis: &Visibility) -> bool {
        self.live.teams.contains_key(&id) && vis.sees_team(id)
    }
}

/// The views of `rows` at `now` (borrowed: no reference taken).
fn views<'a>(rows: &[Row<'a>], now: Timestamp) -> Vec<SessionView<'a>> {
    rows.iter().map(|r| SessionView::borrowed(r, now)).collect()
}

/// The entries of the present `indexes` that `keep(run, key, value)` keeps, in key order
/// (run = the index's place in `indexes`; `keep` sees each index's entries in order): the
/// merge of a few teams' ordered indexes.
///
/// Each index is walked on its own, in order, into a buffer of `(key, value)` (a B-tree walk
/// is fast; walking a few of them in step, choosing the next entry among their heads at each
/// step, took about twice as long: a mispredicted branch about every other entry, the
/// iterators' state going through memory), and the sorted buffers are merged two by two
/// without a branch on which side comes next ([`merge_two`]).
fn merged<'a, K: Ord + Copy, V, T>(
    indexes: &[Option<&'a BTreeMap<K, V>>],
    mut keep: impl FnMut(usize, &K, &'a V) -> bool,
    out: impl Fn(&'a V) -> T,
) -> Vec<T> {
    let mut runs: Vec<Vec<(K, &'a V)>> = Vec::with_capacity(indexes.len());
    for (run, index) in indexes.iter().enumerate() {
        let Some(index) = index else { continue };
        let mut out = Vec::with_capacity(index.len());
        out.extend(
            index
                .iter()
                .filter(|(k, v)| keep(run, k, v))
                .map(|(k, v)| (*k, v)),
        );
        runs.push(out);
    }
    while runs.len() > 2 {
        let mut next = Vec::with_capacity(runs.len().div_ceil(2));
        let mut pairs = runs.into_iter();
        while let Some(a) = pairs.next() {
            next.push(match pairs.next() {
                Some(b) => merge_two(&a, &b, |x| *x),
                None => a,
            });
        }
        runs = next;
    }
    // The last merge writes the answer's items directly.
    match (runs.pop(), runs.pop()) {
        (Some(b), Some(a)) => merge_two(&a, &b, |(_, v)| out(v)),
        (Some(a), None) => a.iter().map(|(_, v)| out(v)).collect(),
        _ => Vec::new(),
    }
}

/// Two sorted lists merged (keys are distinct). Which side the next item comes from is
/// computed, not branched on, so the loop runs without mispredictions. Each item is written
/// as `f` makes it.
fn merge_two<K: Ord + Copy, V: Copy, T>(
    a: &[(K, V)],
    b: &[(K, V)],
    f: impl Fn(&(K, V)) -> T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        let take_b = y.0 < x.0;
        out.push(f(if take_b { y } else { x }));
        j += usize::from(take_b);
        i += usize::from(!take_b);
    }
    out.extend(a.get(i..).unwrap_or_default().iter().map(&f));
    out.extend(b.get(j..).unwrap_or_default().iter().map(&f));
    out
}

/// Calls `f(run, item)` for every item of the sorted `runs`, in the order `less` gives (a
/// k-way merge: no buffer for a few runs; many runs are gathered and stably sorted).
fn merge_runs<T, I: Iterator<Item = T>>(
    runs: Vec<(usize, I)>,
    less: impl Fn(&T, &T) -> bool,
    mut f: impl FnMut(usize, T),
) {
    let mut heads: Vec<(usize, T, I)> = runs
        .into_iter()
        .filter_map(|(i, mut it)| it.next().map(|x| (i, x, it)))
        .collect();
    if heads.len() > 8 {
        let mut all: Vec<(usize, T)> = Vec::new();
        for (i, x, it) in heads {
            all.push((i, x));
            all.extend(it.map(|x| (i, x)));
        }
        all.sort_by(|a, b| {
            if less(&a.1, &b.1) {
                std::cmp::Ordering::Less
            } else if less(&b.1, &a.1) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        for (i, x) in all {
            f(i, x);
        }
        return;
    }
    loop {
        if heads.len() <= 1 {
            if let Some((i, x, it)) = heads.pop() {
                f(i, x);
                it.for_each(|x| f(i, x));
            }
            return;
        }
        let mut best = 0;
        for j in 1..heads.len() {
            if less(&heads[j].1, &heads[best].1) {
                best = j;
            }
        }
        let head = &mut heads[best];
        let run = head.0;
        match head.2.next() {
            Some(next) => f(run, std::mem::replace(&mut head.1, next)),
            None => {
                let (_, x, _) = heads.swap_remove(best);
                f(run, x);
            }
        }
    }
}
