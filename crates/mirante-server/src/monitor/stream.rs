//! The live protocol, independent of the transport (WebSocket or SSE): one [`Subscriber`]
//! per connection and the [`drive`] loop that wakes it, coalesces and writes.
//!
//! Client → server: `{"type":"subscribe","filter":{…},"resume_from":seq?}` (again to change
//! the filter), `{"type":"follow","session":id}`, `{"type":"unfollow","session":id}`,
//! `{"type":"ping"}`.
//! Server → client: `snapshot` (the whole view at `seq`), `delta` (rows / removed ids /
//! cards / counters from `from_seq` to `seq`), `resync` (followed by a snapshot),
//! `heartbeat`, `follow` (transcript so far + followers), `followers` (who follows a followed
//! session, each time that set changes), `message` (a followed session's new message),
//! `follow_ended`, `chat` / `chat_read` (M-11), `error`. Full description in
//! ARCHITECTURE.md ("The live stream").

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use mirante_auth::{Permission, Principal};
use mirante_core::{AgentId, SessionId, SupervisorId, TeamId, Timestamp};
use mirante_monitor::{AgentCard, Changes, CounterPair, Filter, SessionView, TeamCard, Visibility};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Fact, Follower, LiveModel, MessageView, MonitorService};
use crate::auth::AuthState;

/// One frame as written on the wire (JSON text, cheap to clone and share).
pub type Frame = Utf8Bytes;

/// Frames computed once per (range, subscription) and shared by every connection with the
/// same subscription at the same sequence.
#[derive(Debug, Default)]
pub struct FrameCache {
    seq: u64,
    epoch: u64,
    deltas: HashMap<(u64, bool, Arc<str>), Option<Frame>>,
    snapshots: HashMap<Arc<str>, Frame>,
}

impl FrameCache {
    fn at(&mut self, seq: u64, epoch: u64) -> &mut Self {
        if self.seq != seq || self.epoch != epoch {
            self.seq = seq;
            self.epoch = epoch;
            self.deltas.clear();
            self.snapshots.clear();
        }
        self
    }
}

/// What a client sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Subscribe (or change the filter).
    Subscribe {
        /// The funnel filter (`agents`, `teams`, `channels`, `contact`, `protocol`).
        #[serde(default)]
        filter: Filter,
        /// The last sequence the client has seen (after a reconnect).
        #[serde(default)]
        resume_from: Option<u64>,
    },
    /// Follow a session (M-40).
    Follow {
        /// The session.
        session: SessionId,
    },
    /// Stop following a session.
    Unfollow {
        /// The session.
        session: SessionId,
    },
    /// Keep-alive from the client (answered by a heartbeat).
    Ping,
}

#[derive(Serialize)]
struct SnapshotFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    view: &'a mirante_monitor::MonitorView,
}

/// A delta: what changed between `from_seq` and `seq` for this subscription.
#[derive(Debug, Serialize)]
pub struct DeltaFrame {
    #[serde(rename = "type")]
    kind: &'static str,
    /// The state this delta brings the client to.
    pub seq: u64,
    /// The state it applies on.
    pub from_seq: u64,
    /// Session rows added or changed (upsert by id).
    pub rows: Vec<SessionView>,
    /// Sessions no longer in the view (finished, or moved out of the filter or scope).
    pub removed: Vec<SessionId>,
    /// Agent cards added or changed.
    pub agents: Vec<AgentCard>,
    /// Agent cards gone (logged out, hidden, out of the filter).
    pub agents_removed: Vec<AgentId>,
    /// Team cards added or changed.
    pub teams: Vec<TeamCard>,
    /// Team cards gone.
    pub teams_removed: Vec<TeamId>,
    /// Counters (at most 4 per second; absent when unchanged or not yet due).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub counters: Option<CounterPair>,
    /// M-54, with the counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_not_open: Option<bool>,
}

fn json<T: Serialize>(value: &T) -> Frame {
    Frame::from(serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned()))
}

fn snapshot_frame(live: &LiveModel, filter: &Filter, vis: &Visibility, now: Timestamp) -> Frame {
    let view = live.monitor.view(filter, vis, now);
    json(&SnapshotFrame {
        kind: "snapshot",
        view: &view,
    })
}

/// The delta from `from` to the model's sequence, or `None` when only a snapshot will do
/// (the ring lost the range, configuration changed, or the delta would be too large).
fn delta_frame(
    live: &LiveModel,
    from: u64,
    filter: &Filter,
    vis: &Visibility,
    with_counters: bool,
    max_sessions: usize,
    now: Timestamp,
) -> Option<Frame> {
    let changes: Changes = live.changes_since(from)?;
    if changes.config || changes.sessions.len() > max_sessions {
        return None;
    }
    let m = &live.monitor;
    let mut d = DeltaFrame {
        kind: "delta",
        seq: m.seq(),
        from_seq: from,
        rows: Vec::new(),
        removed: Vec::new(),
        agents: Vec::new(),
        agents_removed: Vec::new(),
        teams: Vec::new(),
        teams_removed: Vec::new(),
        counters: None,
        protocol_not_open: None,
    };
    for &s in &changes.sessions {
        match m.matches(s, filter, vis).then(|| m.row(s, now)).flatten() {
            Some(row) => d.rows.push(row),
            // Never name a session the connection could not have seen (M-60).
            None if live.was_in_scope(from, s, vis) => d.removed.push(s),
            None => {}
        }
    }
    let narrowed = |set: &BTreeSet<AgentId>| -> BTreeSet<AgentId> {
        set.iter()
            .copied()
            .filter(|a| filter.agents.is_empty() || filter.agents.contains(a))
            .collect()
    };
    let agents = narrowed(&changes.agents);
    if !agents.is_empty() {
        let f = Filter {
            agents: agents.clone(),
            ..filter.clone()
        };
        let v = m.view(&f, vis, now);
        let present: BTreeSet<AgentId> = v.agents.iter().map(|c| c.id).collect();
        d.agents_removed = agents.difference(&present).copied().collect();
        d.agents = v.agents;
    }
    let removed_agents: Vec<AgentId> = changes
        .agents
        .iter()
        .copied()
        .filter(|a| !agents.contains(a))
        .collect();
    d.agents_removed.extend(removed_agents);
    d.agents_removed.retain(|a| m.agent_visible(*a, vis));
    let teams: BTreeSet<TeamId> = changes
        .teams
        .iter()
        .copied()
        .filter(|t| filter.teams.is_empty() || filter.teams.contains(t))
        .collect();
    if !teams.is_empty() {
        let f = Filter {
            teams: teams.clone(),
            ..filter.clone()
        };
        let v = m.view(&f, vis, now);
        let present: BTreeSet<TeamId> = v.teams.iter().map(|c| c.id).collect();
        d.teams_removed = teams.difference(&present).copied().collect();
        d.teams = v.teams;
    }
    d.teams_removed
        .extend(changes.teams.iter().copied().filter(|t| !teams.contains(t)));
    d.teams_removed.retain(|t| m.team_visible(*t, vis));
    if with_counters {
        let c = m.counters(filter, vis);
        d.protocol_not_open = filter
            .protocol
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|_| c.counters.geral == 0);
        d.counters = Some(c);
    }
    let empty = d.rows.is_empty()
        && d.removed.is_empty()
        && d.agents.is_empty()
        && d.agents_removed.is_empty()
        && d.teams.is_empty()
        && d.teams_removed.is_empty()
        && d.counters.is_none();
    // An empty delta still moves the client's sequence (so a resume starts later), but
    // only when there is nothing else to say it is skipped by the caller.
    if empty {
        return Some(Frame::from_static(""));
    }
    Some(json(&d))
}

/// An audit record a stream asks for (written by the driver).
#[derive(Debug, Clone)]
pub struct StreamAudit {
    /// `session.follow_start` / `session.follow_stop`.
    pub action: &'static str,
    /// `session:ID`.
    pub target: String,
    /// The session's team.
    pub team: Option<TeamId>,
}

/// One connection's state.
pub struct Subscriber {
    svc: MonitorService,
    account: u64,
    name: String,
    vis: Visibility,
    can_follow: bool,
    can_chat: bool,
    filter: Option<Filter>,
    key: Arc<str>,
    sent_seq: u64,
    epoch: u64,
    dirty: bool,
    counters_owed: bool,
    last_frame: Option<Instant>,
    last_counters: Option<Instant>,
    following: BTreeSet<SessionId>,
    out: Vec<Frame>,
    audits: Vec<StreamAudit>,
}

#[derive(Serialize)]
struct FollowFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    session: SessionId,
    row: Option<SessionView>,
    messages: Vec<&'a MessageView>,
    truncated: bool,
    followers: Vec<Follower>,
}

impl Subscriber {
    /// A connection of `principal` (its scope becomes the visibility; `hidden` its hidden
    /// cards).
    pub fn new(
        svc: MonitorService,
        principal: &Principal,
        name: String,
        hidden: (BTreeSet<AgentId>, BTreeSet<TeamId>),
    ) -> Subscriber {
        let vis = Visibility {
            teams: principal.scope.teams().cloned(),
            hidden_agents: hidden.0,
            hidden_teams: hidden.1,
        };
        Subscriber {
            svc,
            account: principal.account.0,
            name,
            vis,
            can_follow: principal.has(Permission::SessionFollow),
            can_chat: principal.has(Permission::ChatInternal),
            filter: None,
            key: Arc::from(""),
            sent_seq: 0,
            epoch: 0,
            dirty: false,
            counters_owed: false,
            last_frame: None,
            last_counters: None,
            following: BTreeSet::new(),
            out: Vec::new(),
            audits: Vec::new(),
        }
    }

    fn rekey(&mut self) {
        let filter = self.filter.clone().unwrap_or_default();
        self.key = Arc::from(serde_json::to_string(&(&filter, &self.vis)).unwrap_or_default());
    }

    /// Frames to write now (drained).
    pub fn take_out(&mut self) -> Vec<Frame> {
        std::mem::take(&mut self.out)
    }

    /// Audit records to write (drained).
    pub fn take_audits(&mut self) -> Vec<StreamAudit> {
        std::mem::take(&mut self.audits)
    }

    fn error(&mut self, code: &str, message: &str) {
        self.out.push(json(&serde_json::json!({
            "type": "error", "code": code, "message": message
        })));
    }

    /// Handles one client message.
    pub fn handle_text(&mut self, text: &str) {
        let msg: ClientMessage = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => return self.error("invalid_request", &e.to_string()),
        };
        match msg {
            ClientMessage::Subscribe {
                filter,
                resume_from,
            } => self.subscribe(filter, resume_from),
            ClientMessage::Follow { session } => self.follow(session),
            ClientMessage::Unfollow { session } => self.unfollow(session),
            ClientMessage::Ping => self.heartbeat(),
        }
    }

    /// Subscribes with `filter`; resumes from `resume_from` when the ring still has it.
    pub fn subscribe(&mut self, filter: Filter, resume_from: Option<u64>) {
        self.filter = Some(filter);
        self.rekey();
        let now = self.svc.now();
        let frame = {
            let live = self.svc.live();
            let filter = self.filter.clone().unwrap_or_default();
            self.epoch = live.epoch;
            let resumed = resume_from
                .filter(|s| *s <= live.monitor.seq())
                .and_then(|from| {
                    delta_frame(
                        &live,
                        from,
                        &filter,
                        &self.vis,
                        true,
                        self.svc.config().max_delta_sessions,
                        now,
                    )
                    .map(|f| (from, f))
                });
            self.sent_seq = live.monitor.seq();
            match resumed {
                Some((from, f)) if f.as_str().is_empty() => {
                    // Nothing changed since: an empty delta confirms the resume.
                    json(&serde_json::json!({
                        "type": "delta", "seq": self.sent_seq, "from_seq": from,
                        "rows": [], "removed": [], "agents": [], "agents_removed": [],
                        "teams": [], "teams_removed": []
                    }))
                }
                Some((_, f)) => f,
                None => snapshot_frame(&live, &filter, &self.vis, now),
            }
        };
        self.out.push(frame);
        let at = Instant::now();
        self.last_frame = Some(at);
        self.last_counters = Some(at);
        self.dirty = false;
        self.counters_owed = false;
    }

    fn resync(&mut self, reason: &str) {
        metrics::counter!("mirante_monitor_resyncs").increment(1);
        self.out.push(json(
            &serde_json::json!({"type": "resync", "reason": reason}),
        ));
        let filter = self.filter.clone().unwrap_or_default();
        self.subscribe(filter, None);
    }

    /// The model moved on.
    pub fn wake(&mut self) {
        if self.filter.is_some() {
            self.dirty = true;
        }
    }

    /// When the next frame may be written (`None`: nothing pending).
    pub fn next_flush_at(&self) -> Option<Instant> {
        if !self.dirty && !self.counters_owed {
            return None;
        }
        let cfg = self.svc.config();
        let frame_ok = self
            .last_frame
            .map_or_else(Instant::now, |t| t + cfg.frame_interval);
        if self.dirty {
            Some(frame_ok)
        } else {
            let counters_ok = self
                .last_counters
                .map_or_else(Instant::now, |t| t + cfg.counters_interval);
            Some(frame_ok.max(counters_ok))
        }
    }

    /// Writes the pending delta (coalesced since the last frame).
    pub fn flush(&mut self) {
        let Some(filter) = self.filter.clone() else {
            return;
        };
        let at = Instant::now();
        let cfg = self.svc.config().clone();
        let counters_due = self
            .last_counters
            .is_none_or(|t| at >= t + cfg.counters_interval);
        let now = self.svc.now();
        let live = self.svc.live();
        if live.epoch != self.epoch {
            drop(live);
            return self.resync("reset");
        }
        let seq = live.monitor.seq();
        let changes_counters = self.counters_owed
            || live
                .changes_since(self.sent_seq)
                .is_some_and(|c| c.counters);
        let with_counters = changes_counters && counters_due;
        let frame = {
            let mut cache = self.svc.frames();
            let cache = cache.at(seq, live.epoch);
            let key = (self.sent_seq, with_counters, Arc::clone(&self.key));
            if let Some(f) = cache.deltas.get(&key) {
                f.clone()
            } else {
                let f = delta_frame(
                    &live,
                    self.sent_seq,
                    &filter,
                    &self.vis,
                    with_counters,
                    cfg.max_delta_sessions,
                    now,
                );
                cache.deltas.insert(key, f.clone());
                f
            }
        };
        drop(live);
        match frame {
            None => self.resync("lagged"),
            Some(f) => {
                self.sent_seq = seq;
                self.dirty = false;
                self.counters_owed = changes_counters && !with_counters;
                if with_counters {
                    self.last_counters = Some(at);
                }
                if !f.as_str().is_empty() {
                    self.out.push(f);
                    self.last_frame = Some(at);
                }
            }
        }
    }

    /// A heartbeat frame.
    pub fn heartbeat(&mut self) {
        self.out.push(json(
            &serde_json::json!({"type": "heartbeat", "seq": self.sent_seq}),
        ));
    }

    fn follow(&mut self, session: SessionId) {
        if !self.can_follow {
            return self.error("forbidden", "session.follow is required");
        }
        let now = self.svc.now();
        let (visible, row, team) = {
            let live = self.svc.live();
            let m = &live.monitor;
            (
                m.session_visible(session, &self.vis),
                m.row(session, now),
                m.session(session).and_then(|s| s.team),
            )
        };
        if !visible {
            return self.error("not_found", "session not found");
        }
        if self.following.insert(session) {
            self.svc
                .set_following(session, self.account, &self.name, true);
            self.audits.push(StreamAudit {
                action: "session.follow_start",
                target: format!("session:{}", session.0),
                team,
            });
        }
        let frame = {
            let records = self.svc.records();
            let record = records.session(session);
            json(&FollowFrame {
                kind: "follow",
                session,
                row,
                messages: record
                    .map(|r| r.messages.iter().collect())
                    .unwrap_or_default(),
                truncated: record.is_some_and(|r| r.truncated),
                followers: self.svc.followers(session),
            })
        };
        self.out.push(frame);
    }

    fn unfollow(&mut self, session: SessionId) {
        if self.following.remove(&session) {
            self.svc
                .set_following(session, self.account, &self.name, false);
            self.audits.push(StreamAudit {
                action: "session.follow_stop",
                target: format!("session:{}", session.0),
                team: None,
            });
        }
    }

    /// Stops every follow (the connection ends).
    pub fn close(&mut self) {
        for s in std::mem::take(&mut self.following) {
            self.following.insert(s);
            self.unfollow(s);
        }
    }

    /// A fact from the records (messages, chat).
    pub fn on_fact(&mut self, fact: &Fact) {
        match fact {
            Fact::Message(session, message) if self.following.contains(session) => {
                self.out.push(json(&serde_json::json!({
                    "type": "message", "session": session, "message": message
                })));
            }
            Fact::Finished(session) if self.following.contains(session) => {
                self.unfollow(*session);
                self.out.push(json(
                    &serde_json::json!({"type": "follow_ended", "session": session}),
                ));
            }
            Fact::Followers(session, followers) if self.following.contains(session) => {
                self.out.push(json(&serde_json::json!({
                    "type": "followers", "session": session, "followers": &followers[..]
                })));
            }
            Fact::Chat(m)
                if self.can_chat
                    && m.supervisor == SupervisorId(self.account)
                    && self.agent_visible(m.agent) =>
            {
                self.out
                    .push(json(&serde_json::json!({"type": "chat", "message": m})));
            }
            Fact::ChatRead {
                agent,
                supervisor,
                by_agent,
                up_to,
            } if self.can_chat
                && *supervisor == SupervisorId(self.account)
                && self.agent_visible(*agent) =>
            {
                self.out.push(json(&serde_json::json!({
                    "type": "chat_read", "agent": agent, "by_agent": by_agent, "up_to": up_to
                })));
            }
            _ => {}
        }
    }

    fn agent_visible(&self, agent: AgentId) -> bool {
        self.svc.live().monitor.agent_visible(agent, &self.vis)
    }

    /// Facts were missed: re-send what followers must not lose.
    pub fn on_facts_lagged(&mut self) {
        for s in self.following.clone() {
            self.follow(s);
        }
    }

    /// This supervisor's hidden cards changed: a fresh snapshot.
    pub fn set_hidden(&mut self, hidden: (BTreeSet<AgentId>, BTreeSet<TeamId>)) {
        self.vis.hidden_agents = hidden.0;
        self.vis.hidden_teams = hidden.1;
        if let Some(f) = self.filter.clone() {
            self.subscribe(f, None);
        }
    }

    /// The account.
    pub fn account(&self) -> u64 {
        self.account
    }
}

/// Where a driver writes.
pub trait Outbound: Send {
    /// Writes the frames with one flush; `false` when the client is gone.
    fn send(&mut self, frames: Vec<Frame>) -> impl std::future::Future<Output = bool> + Send;
}

/// The hidden cards of an account (M-14, M-23), from its preferences.
pub async fn load_hidden(auth: &AuthState, account: u64) -> (BTreeSet<AgentId>, BTreeSet<TeamId>) {
    let stored = auth
        .store(move |s| s.preference(account, HIDDEN_KEY))
        .await
        .ok()
        .flatten();
    let hidden: Hidden = stored
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    (hidden.agents, hidden.teams)
}

/// The preference key of the hidden cards.
pub const HIDDEN_KEY: &str = "monitor.hidden";

/// The stored shape of the hidden cards.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hidden {
    /// Hidden agent cards.
    #[serde(default)]
    #[schema(value_type = Vec<u64>)]
    pub agents: BTreeSet<AgentId>,
    /// Hidden team cards.
    #[serde(default)]
    #[schema(value_type = Vec<u64>)]
    pub teams: BTreeSet<TeamId>,
}

/// Runs one connection until the client goes: input from `input` (`None` for SSE), output
/// to `out`, wake-ups from the service.
pub async fn drive<O: Outbound>(
    mut sub: Subscriber,
    mut input: Option<mpsc::Receiver<String>>,
    mut out: O,
    auth: AuthState,
    principal: Principal,
    addr: String,
) {
    let svc = sub.svc.clone();
    let mut seq = svc.seq_watch();
    seq.mark_unchanged();
    let mut facts = svc.facts();
    let mut prefs = svc.prefs();
    let heartbeat = svc.config().heartbeat;
    let mut heartbeat_at = Instant::now() + heartbeat;
    let far = Duration::from_secs(3600);
    loop {
        for a in sub.take_audits() {
            auth.audit_principal(&principal, a.action, &a.target, "ok", &addr, a.team, None)
                .await;
        }
        let frames = sub.take_out();
        if !frames.is_empty() {
            if !out.send(frames).await {
                break;
            }
            heartbeat_at = Instant::now() + heartbeat;
        }
        let flush_at = sub.next_flush_at();
        tokio::select! {
            text = async {
                match input.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => match text {
                Some(text) => sub.handle_text(&text),
                None => break,
            },
            changed = seq.changed() => {
                if changed.is_err() {
                    break;
                }
                sub.wake();
            }
            fact = facts.recv() => match fact {
                Ok(f) => sub.on_fact(&f),
                Err(RecvError::Lagged(_)) => sub.on_facts_lagged(),
                Err(RecvError::Closed) => break,
            },
            account = prefs.recv() => {
                if matches!(account, Ok(a) if a == sub.account()) || matches!(account, Err(RecvError::Lagged(_))) {
                    let hidden = load_hidden(&auth, sub.account()).await;
                    sub.set_hidden(hidden);
                }
            }
            () = tokio::time::sleep_until(flush_at.unwrap_or_else(|| Instant::now() + far)), if flush_at.is_some() => {
                sub.flush();
            }
            () = tokio::time::sleep_until(heartbeat_at) => sub.heartbeat(),
        }
    }
    sub.close();
    for a in sub.take_audits() {
        auth.audit_principal(&principal, a.action, &a.target, "ok", &addr, a.team, None)
            .await;
    }
}
