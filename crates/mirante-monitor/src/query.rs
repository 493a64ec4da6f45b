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
use crate::monitor::{AgentInfo, HumanKey, Monitor, SessionRow, WaitKey, slot};
use crate::view::{
    AgentCard, AgentStatus, ChannelOption, CounterPair, Counters, FilterOptions, MonitorView,
    Named, Phases, ProtocolStatus, SessionView, TeamCard,
};
use mirante_core::{AgentId, ContactId, Phase, Presence, SessionId, TeamId, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
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

    /// True when sessions of `team` are inside the scope and the team filter.
    fn takes_team(&self, team: TeamId) -> bool {
        self.vis.sees_team(team)
            && (self.filter.teams.is_empty() || self.filter.teams.contains(&team))
    }

    /// Conditions other than the team's: agents, channels, contact, protocol.
    fn has_row_conditions(&self) -> bool {
        !self.filter.agents.is_empty()
            || !self.filter.channels.is_empty()
            || self.contacts.is_some()
            || self.protocol.is_some()
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

/// Matching rows in display order, as the tabs need them.
#[derive(Default)]
struct Matched<'a> {
    bot: Vec<Row<'a>>,
    waiting: Vec<Row<'a>>,
    human: Vec<Row<'a>>,
    /// Per team: its matching waiting rows (oldest first) and rows in service (longest
    /// first).
    teams: HashMap<TeamId, (Vec<Row<'a>>, Vec<Row<'a>>)>,
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
    fn source<'a>(&'a self, q: &Query<'a>) -> Source<'a> {
        let live = &self.live;
        let mut best = (live.sessions.len(), Pick::All);
        let mut consider = |size: usize, pick: Pick<'a>| {
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
        if !q.filter.teams.is_empty() {
            let size = q.filter.teams.iter().map(|t| self.team_size(*t)).sum();
            consider(size, Pick::Teams(&q.filter.teams));
        }
        if let Some(set) = &q.vis.teams {
            let size = set.iter().map(|t| self.team_size(*t)).sum();
            consider(size, Pick::Teams(set));
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
                    .flat_map(|a| a.rows.iter())
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
                        w.values().for_each(&mut visit);
                    }
                    if let Some(h) = live.team_human.get(&t) {
                        h.values().for_each(&mut visit);
                    }
                }
            }
        }
    }

    /// The matching rows in display order, grouped as the tabs need them. The indexes keep
    /// every list in order: one team or everyone is a walk, several teams a merge of
    /// sorted runs; only a few rows from other indexes are sorted.
    fn matched<'a>(&'a self, q: &Query<'a>) -> Matched<'a> {
        let live = &self.live;
        let mut m = Matched::default();
        match self.source(q) {
            Source::All => {
                m.bot.extend(live.bot.values().filter(|r| q.matches(r)));
                m.waiting
                    .extend(live.waiting.values().filter(|r| q.matches(r)));
                m.human.extend(live.human.values().filter(|r| q.matches(r)));
                for (t, w) in &live.team_waiting {
                    let e = m.teams.entry(*t).or_default();
                    e.0.extend(w.values().filter(|r| q.matches(r)));
                }
                for (t, h) in &live.team_human {
                    let e = m.teams.entry(*t).or_default();
                    e.1.extend(h.values().filter(|r| q.matches(r)));
                }
            }
            Source::Teams(teams) => {
                // Each team's lists are in order; several teams' are merged on the index
                // keys without touching the rows. Scope and team filter are checked once per
                // team; the other conditions (if any) on each row.
                let size = |m: Option<usize>| m.unwrap_or(0);
                let (cw, ch) = teams.iter().fold((0, 0), |(w, h), t| {
                    (
                        w + size(live.team_waiting.get(t).map(BTreeMap::len)),
                        h + size(live.team_human.get(t).map(BTreeMap::len)),
                    )
                });
                let mut waiting: Vec<(WaitKey, Row<'a>)> = Vec::with_capacity(cw);
                let mut human: Vec<(HumanKey, Row<'a>)> = Vec::with_capacity(ch);
                let (mut runs_w, mut runs_h) = (Vec::new(), Vec::new());
                let per_row = q.has_row_conditions();
                for t in teams {
                    if !q.takes_team(t) {
                        continue;
                    }
                    let (w0, h0) = (waiting.len(), human.len());
                    if let Some(idx) = live.team_waiting.get(&t) {
                        let all = idx.iter().map(|(k, r)| (*k, r));
                        if per_row {
                            waiting.extend(all.filter(|(_, r)| q.matches_in_team(r)));
                        } else {
                            waiting.extend(all);
                        }
                    }
                    if let Some(idx) = live.team_human.get(&t) {
                        let all = idx.iter().map(|(k, r)| (*k, r));
                        if per_row {
                            human.extend(all.filter(|(_, r)| q.matches_in_team(r)));
                        } else {
                            human.extend(all);
                        }
                    }
                    runs_w.push(w0..waiting.len());
                    runs_h.push(h0..human.len());
                    let w = waiting[w0..].iter().map(|e| e.1).collect();
                    let h = human[h0..].iter().map(|e| e.1).collect();
                    m.teams.insert(t, (w, h));
                }
                m.waiting = merge(&waiting, runs_w);
                m.human = merge(&human, runs_h);
            }
            Source::Rows(rows) => {
                for r in rows {
                    if q.matches(r) {
                        match r.phase {
                            Phase::Bot => m.bot.push(r),
                            Phase::Waiting => m.waiting.push(r),
                            Phase::Human => m.human.push(r),
                        }
                    }
                }
                m.bot.sort_unstable_by_key(|r| r.id);
                m.waiting.sort_unstable_by_key(|r| r.wait_key());
                m.human.sort_unstable_by_key(|r| r.human_key());
                for r in &m.waiting {
                    if let Some(t) = r.team {
                        m.teams.entry(t).or_default().0.push(r);
                    }
                }
                for r in &m.human {
                    if let Some(t) = r.team {
                        m.teams.entry(t).or_default().1.push(r);
                    }
                }
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
    pub fn row(&self, id: SessionId, now: Timestamp) -> Option<SessionView> {
        self.live
            .sessions
            .get(&id)
            .map(|r| SessionView::new(r.clone(), now))
    }

    /// The Monitoramento screen for one supervisor: counters, the three tabs, all from this
    /// state at [`Monitor::seq`] (B-2), durations computed at `now`.
    pub fn view(&self, filter: &Filter, vis: &Visibility, now: Timestamp) -> MonitorView {
        let q = self.query(filter, vis);
        let mut m = self.matched(&q);
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
        let rows = |v: &[Row<'_>]| -> Vec<SessionView> {
            v.iter()
                .map(|r| SessionView::new(Arc::clone(r), now))
                .collect()
        };
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
                bot: rows(&m.bot),
                waiting: rows(&m.waiting),
                human: rows(&m.human),
            },
        }
    }

    fn agent_cards(&self, q: &Query<'_>, human: &[Row<'_>], now: Timestamp) -> Vec<AgentCard> {
        let live = &self.live;
        let f = q.filter;
        // With a contact or protocol the matching rows are few: group them by agent. Else
        // each card takes its agent's rows (kept in order) that match.
        let mut by_agent: HashMap<AgentId, Vec<SessionId>> = HashMap::default();
        if f.has_needle() {
            for r in human {
                if let Some(a) = r.agent {
                    by_agent.entry(a).or_default().push(r.id);
                }
            }
        }
        // Candidates: the filtered agents, or the filtered teams' members, or everyone
        // logged in — in name order.
        let keep = |id: &AgentId, a: &AgentInfo| {
            a.is_logged_in()
                && !q.vis.hidden_agents.contains(id)
                && q.vis.sees_member_of(&a.teams)
                && (f.teams.is_empty() || a.teams.iter().any(|t| f.teams.contains(t)))
        };
        let lookup = |id: AgentId| live.agents.get(&id).map(|a| (id, a));
        let mut candidates: Vec<(AgentId, &AgentInfo)> = if f.has_needle() {
            // Only agents serving a matching session can have a card.
            by_agent.keys().filter_map(|id| lookup(*id)).collect()
        } else if !f.agents.is_empty() || !f.teams.is_empty() || q.vis.teams.is_some() {
            // The filtered agents, or the filtered teams' members, or the scope's.
            let mut ids: Vec<AgentId> = f.agents.iter().copied().collect();
            if f.agents.is_empty() {
                let teams = if f.teams.is_empty() {
                    q.vis.teams.as_ref()
                } else {
                    Some(&f.teams)
                };
                for t in teams.into_iter().flatten() {
                    if let Some(m) = live.members.get(t) {
                        ids.extend(m);
                    }
                }
                ids.sort_unstable();
                ids.dedup();
            }
            ids.into_iter().filter_map(lookup).collect()
        } else {
            // Everyone logged in, already by name.
            live.logged_in
                .iter()
                .filter_map(|(_, id)| lookup(*id))
                .collect()
        };
        candidates.retain(|(id, a)| keep(id, a));
        if f.has_needle() || !f.agents.is_empty() || !f.teams.is_empty() || q.vis.teams.is_some() {
            candidates.sort_unstable_by(|x, y| (&x.1.name, x.0).cmp(&(&y.1.name, y.0)));
        }
        let mut cards = Vec::with_capacity(candidates.len());
        for (id, a) in candidates {
            let sessions = if f.has_needle() {
                let Some(sessions) = by_agent.remove(&id) else {
                    continue;
                };
                sessions
            } else {
                a.rows
                    .iter()
                    .filter(|r| q.matches(r))
                    .map(|r| r.id)
                    .collect()
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
                teams: a
                    .teams
                    .iter()
                    .copied()
                    .filter(|t| q.vis.sees_team(*t))
                    .collect(),
                sessions,
            });
        }
        cards
    }

    fn team_cards(
        &self,
        q: &Query<'_>,
        groups: &mut HashMap<TeamId, (Vec<Row<'_>>, Vec<Row<'_>>)>,
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
            let (mut waiting_rows, human_rows) = groups.remove(&id).unwrap_or_default();
            if f.has_needle() && waiting_rows.is_empty() && human_rows.is_empty() {
                continue;
            }
            let in_service: Vec<SessionId> = human_rows.iter().map(|r| r.id).collect();
            let longest_wait_ms = waiting_rows
                .iter()
                .filter_map(|r| r.queued_at)
                .map(|t| now.since(t))
                .max();
            // Queue order (next to be served first); the rows come oldest first, which is
            // nearly the same order.
            waiting_rows.sort_by_key(|r| (r.queue_key, r.id));
            let waiting: Vec<SessionId> = waiting_rows.iter().map(|r| r.id).collect();
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
                waiting_count: waiting.len() as u64,
                in_service_count: in_service.len() as u64,
                waiting,
                in_service,
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

/// Merges sorted runs of `(key, row)` (given by their ranges in `items`) into one list of
/// rows in key order.
fn merge<'a, K: Ord + Copy>(items: &[(K, Row<'a>)], runs: Vec<Range<usize>>) -> Vec<Row<'a>> {
    let mut heads: Vec<Range<usize>> = runs.into_iter().filter(|r| !r.is_empty()).collect();
    if heads.len() > 8 {
        // Many runs: a stable sort of sorted runs is a merge too.
        let mut all = items.to_vec();
        all.sort_by_key(|e| e.0);
        return all.into_iter().map(|e| e.1).collect();
    }
    let mut out = Vec::with_capacity(items.len());
    loop {
        match heads.len() {
            0 => break,
            1 => {
                out.extend(items[heads[0].clone()].iter().map(|e| e.1));
                break;
            }
            _ => {}
        }
        let mut best = 0;
        for i in 1..heads.len() {
            if items[heads[i].start].0 < items[heads[best].start].0 {
                best = i;
            }
        }
        out.push(items[heads[best].start].1);
        heads[best].start += 1;
        if heads[best].is_empty() {
            heads.swap_remove(best);
        }
    }
    out
}
