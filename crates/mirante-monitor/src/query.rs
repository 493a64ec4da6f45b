//! Queries: the screen for one supervisor, one filter, at one instant. A filter is evaluated
//! by walking the smallest candidate set its conditions (or the supervisor's scope) give —
//! a protocol, a contact's sessions, the agents' loads, the teams' queues and services, the
//! channels' sessions — and checking the other conditions on each candidate; counters for
//! filters made only of teams and channels come from per-(team, channel) counts without
//! touching a session.

use crate::filter::{Filter, Visibility, normalize_number};
use crate::monitor::HashMap;
use crate::monitor::{Monitor, SessionRow, slot};
use crate::view::{
    AgentCard, AgentStatus, ChannelOption, CounterPair, Counters, FilterOptions, MonitorView,
    Named, Phases, ProtocolStatus, SessionView, TeamCard,
};
use mirante_core::{AgentId, ContactId, Phase, Presence, SessionId, TeamId, Timestamp};
use std::collections::BTreeSet;
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
            && (self.filter.agents.is_empty()
                || row.agent.is_some_and(|a| self.filter.agents.contains(&a)))
            && (self.filter.teams.is_empty()
                || row.team.is_some_and(|t| self.filter.teams.contains(&t)))
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

/// Where the candidates come from (each a union of disjoint sets).
enum Source<'a> {
    All,
    Ids(Vec<SessionId>),
    Sets(Vec<&'a BTreeSet<SessionId>>),
    Teams(Vec<TeamId>),
}

/// Matching rows, grouped as the tabs need them.
#[derive(Default)]
struct Matched<'a> {
    bot: Vec<&'a SessionRow>,
    waiting: Vec<&'a SessionRow>,
    human: Vec<&'a SessionRow>,
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

    /// The smallest candidate set the query's conditions give.
    fn source<'a>(&'a self, q: &Query<'_>) -> Source<'a> {
        let live = &self.live;
        let mut best = (live.sessions.len(), Source::All);
        let mut consider = |size: usize, src: Source<'a>| {
            if size < best.0 {
                best = (size, src);
            }
        };
        if let Some(p) = q.protocol {
            let ids: Vec<SessionId> = live.by_protocol.get(p).copied().into_iter().collect();
            consider(ids.len(), Source::Ids(ids));
        }
        if let Some(contacts) = &q.contacts {
            let ids: Vec<SessionId> = contacts
                .iter()
                .filter_map(|c| live.contacts.get(c))
                .flat_map(|c| c.sessions.iter().copied())
                .collect();
            consider(ids.len(), Source::Ids(ids));
        }
        if !q.filter.agents.is_empty() {
            let sets: Vec<&BTreeSet<SessionId>> = q
                .filter
                .agents
                .iter()
                .filter_map(|a| live.agents.get(a))
                .map(|a| &a.sessions)
                .collect();
            consider(sets.iter().map(|s| s.len()).sum(), Source::Sets(sets));
        }
        if !q.filter.channels.is_empty() {
            let sets: Vec<&BTreeSet<SessionId>> = q
                .filter
                .channels
                .iter()
                .filter_map(|c| live.by_channel.get(c))
                .collect();
            consider(sets.iter().map(|s| s.len()).sum(), Source::Sets(sets));
        }
        let mut teams = |set: &BTreeSet<TeamId>| {
            let teams: Vec<TeamId> = set.iter().copied().collect();
            let size = teams.iter().map(|t| self.team_size(*t)).sum();
            consider(size, Source::Teams(teams));
        };
        if !q.filter.teams.is_empty() {
            teams(&q.filter.teams);
        }
        if let Some(set) = &q.vis.teams {
            teams(set);
        }
        best.1
    }

    fn for_each_match<'a>(&'a self, q: &Query<'_>, mut f: impl FnMut(&'a SessionRow)) {
        let live = &self.live;
        let mut visit = |id: &SessionId| {
            if let Some(row) = live.sessions.get(id)
                && q.matches(row)
            {
                f(row);
            }
        };
        match self.source(q) {
            Source::All => {
                for row in live.sessions.values() {
                    if q.matches(row) {
                        f(row);
                    }
                }
            }
            Source::Ids(ids) => ids.iter().for_each(&mut visit),
            Source::Sets(sets) => sets.iter().flat_map(|s| s.iter()).for_each(&mut visit),
            Source::Teams(teams) => {
                for t in teams {
                    if let Some(w) = live.team_waiting.get(&t) {
                        w.iter().map(|(_, id)| id).for_each(&mut visit);
                    }
                    if let Some(h) = live.team_human.get(&t) {
                        h.iter().for_each(&mut visit);
                    }
                }
            }
        }
    }

    fn matched<'a>(&'a self, q: &Query<'_>) -> Matched<'a> {
        let mut m = Matched::default();
        self.for_each_match(q, |row| match row.phase {
            Phase::Bot => m.bot.push(row),
            Phase::Waiting => m.waiting.push(row),
            Phase::Human => m.human.push(row),
        });
        m.bot.sort_unstable_by_key(|r| r.id);
        m.waiting.sort_unstable_by_key(|r| waiting_order(r));
        m.human.sort_unstable_by_key(|r| human_order(r));
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
            .map(|r| self.session_view(r, now))
    }

    /// The Monitoramento screen for one supervisor: counters, the three tabs, all from this
    /// state at [`Monitor::seq`] (B-2), durations computed at `now`.
    pub fn view(&self, filter: &Filter, vis: &Visibility, now: Timestamp) -> MonitorView {
        let q = self.query(filter, vis);
        let m = self.matched(&q);
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

        // Group the matching rows by agent and by team, keeping each list's order.
        let mut by_agent: HashMap<AgentId, Vec<SessionId>> = HashMap::default();
        let mut team_human: HashMap<TeamId, Vec<SessionId>> = HashMap::default();
        for r in &m.human {
            if let Some(a) = r.agent {
                by_agent.entry(a).or_default().push(r.id);
            }
            if let Some(t) = r.team {
                team_human.entry(t).or_default().push(r.id);
            }
        }
        let mut team_waiting: HashMap<TeamId, Vec<&SessionRow>> = HashMap::default();
        for r in &m.waiting {
            if let Some(t) = r.team {
                team_waiting.entry(t).or_default().push(r);
            }
        }

        let agents = self.agent_cards(&q, &mut by_agent, now);
        let teams = self.team_cards(&q, &mut team_waiting, &mut team_human, now);
        let rows = |v: &[&SessionRow]| -> Vec<SessionView> {
            v.iter().map(|r| self.session_view(r, now)).collect()
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

    fn agent_cards(
        &self,
        q: &Query<'_>,
        by_agent: &mut HashMap<AgentId, Vec<SessionId>>,
        now: Timestamp,
    ) -> Vec<AgentCard> {
        let live = &self.live;
        let f = q.filter;
        // Candidates: the filtered agents, or the filtered teams' members, or everyone
        // logged in — in name order.
        let candidates: Vec<AgentId> = if f.has_needle() {
            // Only agents serving a matching session can have a card.
            let mut v: Vec<(&Arc<str>, AgentId)> = by_agent
                .keys()
                .filter_map(|id| live.agents.get(id).map(|a| (&a.name, *id)))
                .collect();
            v.sort_unstable();
            v.into_iter().map(|(_, id)| id).collect()
        } else if !f.agents.is_empty() || !f.teams.is_empty() || q.vis.teams.is_some() {
            let mut ids: BTreeSet<AgentId> = f.agents.clone();
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
            }
            let mut v: Vec<(&Arc<str>, AgentId)> = ids
                .into_iter()
                .filter_map(|id| live.agents.get(&id).map(|a| (&a.name, id)))
                .collect();
            v.sort_unstable();
            v.into_iter().map(|(_, id)| id).collect()
        } else {
            live.logged_in.iter().map(|(_, id)| *id).collect()
        };
        let mut cards = Vec::new();
        for id in candidates {
            let Some(a) = live.agents.get(&id) else {
                continue;
            };
            if !a.is_logged_in()
                || q.vis.hidden_agents.contains(&id)
                || !q.vis.sees_member_of(&a.teams)
                || (!f.teams.is_empty() && !a.teams.iter().any(|t| f.teams.contains(t)))
            {
                continue;
            }
            let sessions = by_agent.remove(&id).unwrap_or_default();
            if f.has_needle() && sessions.is_empty() {
                continue;
            }
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
        team_waiting: &mut HashMap<TeamId, Vec<&SessionRow>>,
        team_human: &mut HashMap<TeamId, Vec<SessionId>>,
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
            let mut waiting_rows = team_waiting.remove(&id).unwrap_or_default();
            let in_service = team_human.remove(&id).unwrap_or_default();
            if f.has_needle() && waiting_rows.is_empty() && in_service.is_empty() {
                continue;
            }
            let longest_wait_ms = waiting_rows
                .iter()
                .filter_map(|r| r.queued_at)
                .map(|t| now.since(t))
                .max();
            waiting_rows.sort_unstable_by_key(|r| (r.queue_key, r.id));
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

    fn session_view(&self, r: &SessionRow, now: Timestamp) -> SessionView {
        let live = &self.live;
        let contact = live.contacts.get(&r.contact);
        SessionView {
            id: r.id,
            phase: r.phase,
            contact: r.contact,
            contact_name: contact.map_or_else(|| Arc::from(""), |c| c.name.clone()),
            contact_number: contact.and_then(|c| c.number.clone()),
            channel: r.channel,
            channel_name: live
                .channels
                .get(&r.channel)
                .map_or_else(|| Arc::from(""), |c| c.name.clone()),
            bot_step: r.bot_step.clone(),
            team: r.team.map(|t| Named {
                id: t,
                name: live
                    .teams
                    .get(&t)
                    .map_or_else(|| Arc::from(""), |t| t.name.clone()),
            }),
            agent: r.agent.map(|a| Named {
                id: a,
                name: live
                    .agents
                    .get(&a)
                    .map_or_else(|| Arc::from(""), |a| a.name.clone()),
            }),
            protocol: r.protocol.clone(),
            started_at: r.started_at,
            queued_at: r.queued_at,
            assigned_at: r.assigned_at,
            last_customer_message_at: r.last_customer_message_at,
            age_ms: now.since(r.started_at),
            waiting_ms: (r.phase == Phase::Waiting)
                .then_some(r.queued_at)
                .flatten()
                .map(|t| now.since(t)),
            in_service_ms: (r.phase == Phase::Human)
                .then_some(r.assigned_at)
                .flatten()
                .map(|t| now.since(t)),
            since_customer_ms: now.since(r.last_customer_message_at),
        }
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

/// M-31: oldest first (ties: queue order).
pub(crate) fn waiting_order(r: &SessionRow) -> (Timestamp, i64, SessionId) {
    (r.queued_at.unwrap_or(r.started_at), r.queue_key, r.id)
}

/// M-32: longest in service first.
pub(crate) fn human_order(r: &SessionRow) -> (Timestamp, SessionId) {
    (r.assigned_at.unwrap_or(r.started_at), r.id)
}
