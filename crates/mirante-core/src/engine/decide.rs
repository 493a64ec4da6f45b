//! `decide`: the rules. A command and the current state give the events that follow, or the
//! [`DomainError`] that refuses it. Pure: nothing here mutates.

use super::state::{Index, State};
use crate::command::{
    Command, MAX_CAPACITY, MAX_EXTERNAL_ID_CHARS, MAX_NAME_CHARS, MAX_TEXT_CHARS,
};
use crate::error::DomainError;
use crate::event::{AssignedBy, Author, Event, EventKind, QueueReason};
use crate::flow::{BotNext, BotTurn, FlowDef};
use crate::ids::{
    AgentId, ChannelId, ContactId, FlowId, InternalMessageId, MessageId, PauseReasonId, SessionId,
    TeamId,
};
use crate::model::normalize_number;
use crate::model::{
    Actor, Agent, AgentState, Channel, ChannelKind, Contact, FinishReason, Flow, PauseReason,
    Phase, Presence, Session, Target, Team, TeamSettings,
};
use crate::protocol::is_valid_time_zone;
use crate::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

type Res<T> = Result<T, DomainError>;

/// Max attachments in one message.
const MAX_ATTACHMENTS: usize = 10;
/// Longest duration setting accepted (30 days), in ms.
const MAX_DURATION_MS: i64 = 30 * 24 * 3_600_000;

pub(super) fn decide(st: &State, ix: &Index, cmd: &Command, now: Timestamp) -> Res<Vec<Event>> {
    let d = Decider {
        st,
        ix,
        now,
        out: Vec::new(),
        next_message: st.next.message,
    };
    d.run(cmd)
}

/// An inbound customer message, as the command gives it.
struct Inbound<'c> {
    identifier: &'c str,
    name: Option<&'c str>,
    text: &'c str,
    attachments: &'c [crate::command::Attachment],
    external_id: Option<&'c str>,
}

struct Decider<'a> {
    st: &'a State,
    ix: &'a Index,
    now: Timestamp,
    out: Vec<Event>,
    next_message: u64,
}

impl<'a> Decider<'a> {
    fn emit(&mut self, kind: EventKind) {
        self.out.push(Event { at: self.now, kind });
    }

    fn run(mut self, cmd: &Command) -> Res<Vec<Event>> {
        match cmd {
            Command::CreateChannel { kind, name, flow } => {
                let name = self.unique_channel_name(name, None)?;
                if let Some(f) = flow {
                    self.flow(*f)?;
                }
                let channel = Channel {
                    id: ChannelId(self.st.next.channel),
                    kind: *kind,
                    name,
                    enabled: true,
                    flow: *flow,
                };
                self.emit(EventKind::ChannelCreated { channel });
            }
            Command::UpdateChannel {
                channel,
                name,
                flow,
                enabled,
            } => {
                let mut c = self.channel(*channel)?.clone();
                if let Some(n) = name {
                    c.name = self.unique_channel_name(n, Some(c.id))?;
                }
                if let Some(f) = flow {
                    self.flow(*f)?;
                    c.flow = Some(*f);
                }
                if let Some(e) = enabled {
                    c.enabled = *e;
                }
                self.emit(EventKind::ChannelUpdated { channel: c });
            }
            Command::DeleteChannel { channel } => {
                self.channel(*channel)?;
                let open = self
                    .st
                    .sessions
                    .values()
                    .filter(|s| s.channel == *channel)
                    .count();
                if open > 0 {
                    return Err(DomainError::ChannelHasOpenSessions {
                        channel: *channel,
                        open,
                    });
                }
                self.emit(EventKind::ChannelDeleted { channel: *channel });
            }
            Command::CreateTeam { name, settings } => {
                let name = self.unique_team_name(name, None)?;
                self.check_team_settings(settings, None)?;
                let team = Team {
                    id: TeamId(self.st.next.team),
                    name,
                    enabled: true,
                    settings: settings.clone(),
                };
                self.emit(EventKind::TeamCreated { team });
            }
            Command::UpdateTeam {
                team,
                name,
                settings,
                enabled,
            } => {
                let mut t = self.team(*team)?.clone();
                if let Some(n) = name {
                    t.name = self.unique_team_name(n, Some(t.id))?;
                }
                if let Some(s) = settings {
                    self.check_team_settings(s, Some(t.id))?;
                    t.settings = s.clone();
                }
                if let Some(e) = enabled {
                    t.enabled = *e;
                }
                self.emit(EventKind::TeamUpdated { team: t });
            }
            Command::CreateAgent {
                name,
                nickname,
                email,
                teams,
                capacity,
            } => {
                let name = check_name("name", name)?;
                let nickname = match nickname {
                    Some(n) => check_name("nickname", n)?,
                    None => name.split_whitespace().next().unwrap_or(&name).to_string(),
                };
                let email = self.unique_email(email, None)?;
                self.check_teams(teams)?;
                let capacity = check_capacity(capacity.unwrap_or(5))?;
                let agent = Agent {
                    id: AgentId(self.st.next.agent),
                    name,
                    nickname,
                    email,
                    teams: teams.clone(),
                    capacity,
                    enabled: true,
                };
                self.emit(EventKind::AgentCreated { agent });
            }
            Command::UpdateAgent {
                agent,
                name,
                nickname,
                email,
                teams,
                capacity,
                enabled,
            } => {
                let a = self.agent(*agent)?;
                let mut cfg = a.config.clone();
                if let Some(n) = name {
                    cfg.name = check_name("name", n)?;
                }
                if let Some(n) = nickname {
                    cfg.nickname = check_name("nickname", n)?;
                }
                if let Some(e) = email {
                    cfg.email = self.unique_email(e, Some(*agent))?;
                }
                if let Some(t) = teams {
                    self.check_teams(t)?;
                    cfg.teams = t.clone();
                }
                if let Some(c) = capacity {
                    cfg.capacity = check_capacity(*c)?;
                }
                if let Some(e) = enabled {
                    cfg.enabled = *e;
                    if !*e && a.presence != Presence::Offline {
                        self.log_out(a, Actor::System);
                    }
                }
                self.emit(EventKind::AgentUpdated { agent: cfg });
            }
            Command::CreatePauseReason {
                name,
                max_duration_ms,
            } => {
                let name = self.unique_pause_name(name, None)?;
                check_duration("max_duration_ms", *max_duration_ms)?;
                let reason = PauseReason {
                    id: PauseReasonId(self.st.next.pause_reason),
                    name,
                    max_duration_ms: *max_duration_ms,
                    enabled: true,
                };
                self.emit(EventKind::PauseReasonCreated { reason });
            }
            Command::UpdatePauseReason {
                reason,
                name,
                max_duration_ms,
                enabled,
            } => {
                let mut r = self.pause_reason(*reason)?.clone();
                if let Some(n) = name {
                    r.name = self.unique_pause_name(n, Some(r.id))?;
                }
                if max_duration_ms.is_some() {
                    check_duration("max_duration_ms", *max_duration_ms)?;
                    r.max_duration_ms = *max_duration_ms;
                }
                if let Some(e) = enabled {
                    r.enabled = *e;
                }
                self.emit(EventKind::PauseReasonUpdated { reason: r });
            }
            Command::CreateFlow { def } => {
                self.check_flow(def, None)?;
                let flow = Flow {
                    id: FlowId(self.st.next.flow),
                    def: def.clone(),
                };
                self.emit(EventKind::FlowCreated { flow });
            }
            Command::UpdateFlow { flow, def } => {
                self.flow(*flow)?;
                self.check_flow(def, Some(*flow))?;
                self.emit(EventKind::FlowUpdated {
                    flow: Flow {
                        id: *flow,
                        def: def.clone(),
                    },
                });
            }
            Command::UpdateSettings {
                time_zone,
                bulk_cap,
                bot_inactivity_ms,
            } => {
                let mut s = self.st.settings.clone();
                if let Some(tz) = time_zone {
                    if !is_valid_time_zone(tz) {
                        return Err(DomainError::UnknownTimeZone(tz.clone()));
                    }
                    s.time_zone.clone_from(tz);
                }
                if let Some(cap) = bulk_cap {
                    if !(1..=100).contains(cap) {
                        return Err(invalid("bulk_cap", "must be between 1 and 100"));
                    }
                    s.bulk_cap = *cap;
                }
                if let Some(ms) = bot_inactivity_ms {
                    if !(1_000..=MAX_DURATION_MS).contains(ms) {
                        return Err(invalid(
                            "bot_inactivity_ms",
                            "must be between 1 s and 30 days",
                        ));
                    }
                    s.bot_inactivity_ms = *ms;
                }
                self.emit(EventKind::SettingsUpdated { settings: s });
            }

            Command::AgentLogin { agent } => {
                let a = self.agent(*agent)?;
                if !a.config.enabled {
                    return Err(DomainError::AgentDisabled(*agent));
                }
                if a.presence != Presence::Offline {
                    return Err(DomainError::AgentAlreadyLoggedIn(*agent));
                }
                self.emit(EventKind::AgentLoggedIn { agent: *agent });
            }
            Command::AgentLogout { agent, by } => {
                let a = self.agent(*agent)?;
                check_presence_actor(*agent, by)?;
                if a.presence == Presence::Offline {
                    return Err(DomainError::AgentOffline(*agent));
                }
                self.log_out(a, *by);
            }
            Command::AgentPause { agent, reason, by } => {
                let a = self.agent(*agent)?;
                check_presence_actor(*agent, by)?;
                let r = self.pause_reason(*reason)?;
                if !r.enabled {
                    return Err(DomainError::PauseReasonDisabled(*reason));
                }
                match a.presence {
                    Presence::Offline => return Err(DomainError::AgentOffline(*agent)),
                    Presence::Paused { reason: current } if current == *reason => {
                        return Err(DomainError::AgentAlreadyPaused(*agent));
                    }
                    _ => {}
                }
                if super::is_supervisor(by) && !a.sessions.is_empty() {
                    return Err(DomainError::AgentHasOpenSessions {
                        agent: *agent,
                        open: a.sessions.len(),
                    });
                }
                self.emit(EventKind::AgentPaused {
                    agent: *agent,
                    reason: *reason,
                    by: *by,
                });
            }
            Command::AgentResume { agent, by } => {
                let a = self.agent(*agent)?;
                check_presence_actor(*agent, by)?;
                match a.presence {
                    Presence::Paused { .. } => {}
                    Presence::Offline => return Err(DomainError::AgentOffline(*agent)),
                    Presence::Online => return Err(DomainError::AgentNotPaused(*agent)),
                }
                self.emit(EventKind::AgentResumed {
                    agent: *agent,
                    by: *by,
                });
            }

            Command::CustomerMessage {
                channel,
                identifier,
                name,
                text,
                attachments,
                external_id,
            } => {
                let msg = Inbound {
                    identifier,
                    name: name.as_deref(),
                    text,
                    attachments,
                    external_id: external_id.as_deref(),
                };
                self.customer_message(*channel, msg)?;
            }
            Command::MessageStatus {
                channel,
                message,
                status,
            } => {
                self.channel(*channel)?;
                if message.0 == 0 || message.0 >= self.st.next.message {
                    return Err(DomainError::UnknownMessage(*message));
                }
                self.emit(EventKind::MessageStatusChanged {
                    channel: *channel,
                    message: *message,
                    status: *status,
                });
            }
            Command::UpdateContact {
                contact,
                name,
                number,
            } => {
                let mut c = self
                    .st
                    .contacts
                    .get(contact)
                    .ok_or(DomainError::UnknownContact(*contact))?
                    .clone();
                if let Some(n) = name {
                    c.name = check_name("name", n)?;
                }
                if let Some(n) = number {
                    c.number =
                        Some(normalize_number(n).ok_or_else(|| {
                            invalid("number", "not a phone number (8 to 15 digits)")
                        })?);
                }
                self.emit(EventKind::ContactUpdated { contact: c });
            }
            Command::AgentMessage {
                session,
                agent,
                text,
            } => {
                let s = self.open_session(*session)?;
                self.agent(*agent)?;
                if s.phase != Phase::Human || s.agent != Some(*agent) {
                    return Err(DomainError::NotAgentsSession {
                        session: *session,
                        agent: *agent,
                    });
                }
                let text = check_text(text, false)?;
                let message = self.message_id();
                self.emit(EventKind::MessagePosted {
                    session: *session,
                    message,
                    author: Author::Agent,
                    agent: Some(*agent),
                    text,
                    attachments: Vec::new(),
                    external_id: None,
                });
            }
            Command::PullSession { session, agent } => {
                let s = self.open_session(*session)?;
                let a = self.agent(*agent)?;
                if s.phase != Phase::Waiting {
                    return Err(wrong_phase(s, "waiting"));
                }
                let team = s.team.ok_or_else(|| wrong_phase(s, "waiting"))?;
                if self.team(team)?.settings.mode != crate::model::DistributionMode::All {
                    return Err(DomainError::NotPullMode(team));
                }
                if !a.config.teams.contains(&team) {
                    return Err(DomainError::AgentNotInTeam {
                        agent: *agent,
                        team,
                    });
                }
                check_online(a)?;
                check_capacity_left(a)?;
                let protocol = self.protocol_for(s);
                self.emit(EventKind::SessionAssigned {
                    session: *session,
                    agent: *agent,
                    team,
                    protocol,
                    by: AssignedBy::Pull,
                });
            }
            Command::Transfer { session, to, by } => self.transfer(*session, *to, *by)?,
            Command::Finish {
                session,
                by,
                wrapup,
            } => self.finish(*session, *by, wrapup)?,

            Command::InternalMessage {
                agent,
                supervisor,
                from_agent,
                text,
            } => {
                self.agent(*agent)?;
                let text = check_text(text, false)?;
                self.emit(EventKind::InternalMessageSent {
                    message: InternalMessageId(self.st.next.internal_message),
                    agent: *agent,
                    supervisor: *supervisor,
                    from_agent: *from_agent,
                    text,
                });
            }
            Command::InternalRead {
                agent,
                supervisor,
                by_agent,
            } => {
                self.agent(*agent)?;
                if let Some(up_to) = self
                    .st
                    .internal_last
                    .get(agent)
                    .and_then(|m| m.get(supervisor))
                {
                    self.emit(EventKind::InternalMessagesRead {
                        agent: *agent,
                        supervisor: *supervisor,
                        by_agent: *by_agent,
                        up_to: *up_to,
                    });
                }
            }
        }
        Ok(self.out)
    }

    // ---- sessions --------------------------------------------------------------------

    fn customer_message(&mut self, channel: ChannelId, msg: Inbound<'_>) -> Res<()> {
        let Inbound {
            identifier,
            name,
            text,
            attachments,
            external_id,
        } = msg;
        let ch = self.channel(channel)?;
        if let Some(x) = external_id {
            if x.trim().is_empty() || x.chars().count() > MAX_EXTERNAL_ID_CHARS || has_control(x) {
                return Err(invalid(
                    "external_id",
                    "must be 1 to 256 printable characters",
                ));
            }
            if let Some(message) = self.ix.external_ids.get(&(channel, x.to_string())) {
                return Err(DomainError::AlreadyReceived { message: *message });
            }
        }
        let ident = identifier.trim();
        if ident.is_empty() || ident.chars().count() > MAX_NAME_CHARS || has_control(ident) {
            return Err(invalid(
                "identifier",
                "must be 1 to 200 printable characters",
            ));
        }
        if attachments.len() > MAX_ATTACHMENTS {
            return Err(invalid("attachments", "at most 10 attachments per message"));
        }
        let text = check_text(text, !attachments.is_empty())?;
        let existing = self
            .ix
            .contact_by_ident
            .get(&channel)
            .and_then(|by_ident| by_ident.get(ident))
            .copied();
        let open = existing.and_then(|c| self.ix.open_by_contact.get(&(c, channel)).copied());
        if let Some(sid) = open {
            let s = self.open_session(sid)?;
            let message = self.message_id();
            self.emit(EventKind::MessagePosted {
                session: sid,
                message,
                author: Author::Customer,
                agent: None,
                text: text.clone(),
                attachments: attachments.to_vec(),
                external_id: external_id.map(str::to_string),
            });
            if s.phase == Phase::Bot
                && let Some(cursor) = &s.bot
            {
                let fields = cursor.fields.clone();
                match self.st.flows.get(&cursor.flow) {
                    Some(flow) => {
                        let turn = flow.def.input(&cursor.step, &text);
                        self.bot_turn(sid, turn, fields);
                    }
                    None => self.finish_lost(sid, FinishReason::NoAgentAvailable, None),
                }
            }
            return Ok(());
        }
        // A new session (D-2: a finished one is never reopened).
        if !ch.enabled {
            return Err(DomainError::ChannelDisabled(channel));
        }
        let flow_id = ch.flow.ok_or(DomainError::ChannelWithoutFlow(channel))?;
        let flow = self.flow(flow_id)?;
        let contact = match existing {
            Some(c) => c,
            None => {
                let id = ContactId(self.st.next.contact);
                let display = name
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .unwrap_or(ident);
                let display: String = display.chars().take(MAX_NAME_CHARS).collect();
                self.emit(EventKind::ContactCreated {
                    contact: Contact {
                        id,
                        name: display,
                        number: match ch.kind {
                            ChannelKind::Whatsapp | ChannelKind::Sms => normalize_number(ident),
                            _ => None,
                        },
                        identifiers: BTreeMap::from([(channel, ident.to_string())]),
                    },
                });
                id
            }
        };
        let sid = SessionId(self.st.next.session);
        self.emit(EventKind::SessionStarted {
            session: sid,
            contact,
            channel,
            flow: flow_id,
        });
        let message = self.message_id();
        self.emit(EventKind::MessagePosted {
            session: sid,
            message,
            author: Author::Customer,
            agent: None,
            text,
            attachments: attachments.to_vec(),
            external_id: external_id.map(str::to_string),
        });
        let turn = flow.def.start();
        self.bot_turn(sid, turn, BTreeMap::new());
        Ok(())
    }

    fn bot_turn(&mut self, sid: SessionId, turn: BotTurn, mut fields: BTreeMap<String, String>) {
        let collected: BTreeMap<String, String> = turn.collected.into_iter().collect();
        fields.extend(collected.clone());
        for reply in turn.replies {
            let message = self.message_id();
            self.emit(EventKind::MessagePosted {
                session: sid,
                message,
                author: Author::Bot,
                agent: None,
                text: crate::flow::render(&reply, &fields),
                attachments: Vec::new(),
                external_id: None,
            });
        }
        match turn.next {
            BotNext::Wait { step } => self.emit(EventKind::BotStepEntered {
                session: sid,
                step,
                invalid: turn.invalid,
                collected,
            }),
            BotNext::Route { team } => {
                if self.st.teams.get(&team).is_some_and(|t| t.config.enabled) {
                    self.emit(EventKind::SessionQueued {
                        session: sid,
                        team,
                        reason: QueueReason::Routed,
                        front: false,
                        collected,
                    });
                } else {
                    self.finish_lost(sid, FinishReason::NoAgentAvailable, None);
                }
            }
            BotNext::Finish => self.emit(EventKind::SessionFinished {
                session: sid,
                reason: FinishReason::BotResolved,
                outcome: FinishReason::BotResolved.outcome(),
                wrapup: None,
                by: Actor::System,
            }),
        }
    }

    fn finish_lost(&mut self, sid: SessionId, reason: FinishReason, message: Option<String>) {
        if let Some(text) = message {
            let m = self.message_id();
            self.emit(EventKind::MessagePosted {
                session: sid,
                message: m,
                author: Author::System,
                agent: None,
                text,
                attachments: Vec::new(),
                external_id: None,
            });
        }
        self.emit(EventKind::SessionFinished {
            session: sid,
            reason,
            outcome: reason.outcome(),
            wrapup: None,
            by: Actor::System,
        });
    }

    fn transfer(&mut self, session: SessionId, to: Target, by: Actor) -> Res<()> {
        let s = self.open_session(session)?;
        match by {
            Actor::Agent(a) => {
                self.agent(a)?;
                if s.phase != Phase::Human || s.agent != Some(a) {
                    return Err(DomainError::NotAgentsSession { session, agent: a });
                }
            }
            Actor::Supervisor(_) => {}
            Actor::Customer | Actor::System => {
                return Err(invalid("by", "only an agent or a supervisor can transfer"));
            }
        }
        match to {
            Target::Agent(b) => {
                let target = self.agent(b)?;
                if !target.config.enabled {
                    return Err(DomainError::AgentDisabled(b));
                }
                check_online(target)?;
                if s.agent == Some(b) {
                    return Err(DomainError::TransferToSamePlace(session));
                }
                if matches!(by, Actor::Agent(_)) {
                    check_capacity_left(target)?;
                }
                let team = match s.team {
                    Some(t) => t,
                    None => *target
                        .config
                        .teams
                        .first()
                        .ok_or_else(|| invalid("to", "the agent belongs to no team"))?,
                };
                let protocol = self.protocol_for(s);
                self.emit(EventKind::SessionTransferred {
                    session,
                    to,
                    from_agent: s.agent,
                    by,
                });
                self.emit(EventKind::SessionAssigned {
                    session,
                    agent: b,
                    team,
                    protocol,
                    by: AssignedBy::Transfer,
                });
            }
            Target::Team(t) => {
                let team = self.team(t)?;
                if !team.enabled {
                    return Err(DomainError::TeamDisabled(t));
                }
                if s.phase == Phase::Waiting && s.team == Some(t) {
                    return Err(DomainError::TransferToSamePlace(session));
                }
                self.emit(EventKind::SessionTransferred {
                    session,
                    to,
                    from_agent: s.agent,
                    by,
                });
                self.emit(EventKind::SessionQueued {
                    session,
                    team: t,
                    reason: QueueReason::Transferred,
                    front: false,
                    collected: BTreeMap::new(),
                });
            }
        }
        Ok(())
    }

    fn finish(&mut self, session: SessionId, by: Actor, wrapup: &Option<String>) -> Res<()> {
        let s = self.open_session(session)?;
        let team = s
            .team
            .and_then(|t| self.st.teams.get(&t))
            .map(|t| &t.config);
        let codes: &[String] = team.map_or(&[], |t| &t.settings.wrapup_codes);
        let reason = match by {
            Actor::Agent(a) => {
                self.agent(a)?;
                if s.phase != Phase::Human || s.agent != Some(a) {
                    return Err(DomainError::NotAgentsSession { session, agent: a });
                }
                if !codes.is_empty() && wrapup.is_none() {
                    return Err(DomainError::WrapupRequired(
                        team.map_or(TeamId(0), |t| t.id),
                    ));
                }
                FinishReason::ByAgent
            }
            Actor::Supervisor(_) => FinishReason::BySupervisor,
            Actor::Customer => FinishReason::ByCustomer,
            Actor::System => return Err(invalid("by", "the system finishes only by timers")),
        };
        let wrapup = match (by, wrapup) {
            (Actor::Customer, _) | (_, None) => None,
            (_, Some(code)) => {
                let code = code.trim();
                if !codes.iter().any(|c| c == code) {
                    return Err(DomainError::UnknownWrapup {
                        team: team.map_or(TeamId(0), |t| t.id),
                        code: code.to_string(),
                    });
                }
                Some(code.to_string())
            }
        };
        if reason != FinishReason::ByCustomer
            && s.phase != Phase::Bot
            && let Some(text) = team.and_then(|t| t.settings.closing_message.clone())
        {
            let message = self.message_id();
            self.emit(EventKind::MessagePosted {
                session,
                message,
                author: Author::System,
                agent: None,
                text,
                attachments: Vec::new(),
                external_id: None,
            });
        }
        self.emit(EventKind::SessionFinished {
            session,
            reason,
            outcome: reason.outcome(),
            wrapup,
            by,
        });
        Ok(())
    }

    /// M-15: the agent's open sessions go back to the front of their queues, oldest customer
    /// first, keeping protocol and transcript; then the agent is offline.
    fn log_out(&mut self, a: &AgentState, by: Actor) {
        let mut open: Vec<&Session> = a
            .sessions
            .iter()
            .filter_map(|s| self.st.sessions.get(s))
            .collect();
        open.sort_by_key(|s| (s.queued_at.unwrap_or(s.started_at), s.id));
        for s in open.iter().rev() {
            let team = s.team.or_else(|| a.config.teams.first().copied());
            if let Some(team) = team {
                self.emit(EventKind::SessionQueued {
                    session: s.id,
                    team,
                    reason: QueueReason::Requeued,
                    front: true,
                    collected: BTreeMap::new(),
                });
            }
        }
        self.emit(EventKind::AgentLoggedOut {
            agent: a.config.id,
            by,
        });
    }

    fn protocol_for(&self, s: &Session) -> Option<String> {
        s.protocol
            .is_none()
            .then(|| self.st.protocol.next(self.now, &self.st.settings.time_zone))
    }

    fn message_id(&mut self) -> MessageId {
        let id = MessageId(self.next_message);
        self.next_message += 1;
        id
    }

    // ---- lookups -----------------------------------------------------------------------

    fn open_session(&self, id: SessionId) -> Res<&'a Session> {
        match self.st.sessions.get(&id) {
            Some(s) => Ok(s),
            None if id.0 >= 1 && id.0 < self.st.next.session => {
                Err(DomainError::SessionNotOpen(id))
            }
            None => Err(DomainError::UnknownSession(id)),
        }
    }

    fn channel(&self, id: ChannelId) -> Res<&'a Channel> {
        self.st
            .channels
            .get(&id)
            .ok_or(DomainError::UnknownChannel(id))
    }

    fn team(&self, id: TeamId) -> Res<&'a Team> {
        self.st
            .teams
            .get(&id)
            .map(|t| &t.config)
            .ok_or(DomainError::UnknownTeam(id))
    }

    fn agent(&self, id: AgentId) -> Res<&'a AgentState> {
        self.st.agents.get(&id).ok_or(DomainError::UnknownAgent(id))
    }

    fn pause_reason(&self, id: PauseReasonId) -> Res<&'a PauseReason> {
        self.st
            .pause_reasons
            .get(&id)
            .ok_or(DomainError::UnknownPauseReason(id))
    }

    fn flow(&self, id: FlowId) -> Res<&'a Flow> {
        self.st.flows.get(&id).ok_or(DomainError::UnknownFlow(id))
    }

    // ---- validation ----------------------------------------------------------------------

    fn unique_channel_name(&self, name: &str, me: Option<ChannelId>) -> Res<String> {
        let mut names = self.st.channels.values().filter(|c| Some(c.id) != me);
        unique_name("channel", name, |n| names.any(|c| c.name == n))
    }

    fn unique_team_name(&self, name: &str, me: Option<TeamId>) -> Res<String> {
        let mut names = self.st.teams.values().filter(|t| Some(t.config.id) != me);
        unique_name("team", name, |n| names.any(|t| t.config.name == n))
    }

    fn unique_pause_name(&self, name: &str, me: Option<PauseReasonId>) -> Res<String> {
        let mut names = self.st.pause_reasons.values().filter(|r| Some(r.id) != me);
        unique_name("pause_reason", name, |n| names.any(|r| r.name == n))
    }

    fn unique_email(&self, email: &str, me: Option<AgentId>) -> Res<String> {
        let email = email.trim().to_lowercase();
        let valid = email.len() <= 254
            && !has_control(&email)
            && !email.contains(char::is_whitespace)
            && matches!(email.split_once('@'), Some((user, domain))
                if !user.is_empty() && !domain.contains('@') && domain.contains('.')
                    && !domain.starts_with('.') && !domain.ends_with('.'));
        if !valid {
            return Err(invalid("email", "not a valid e-mail address"));
        }
        let taken = self
            .st
            .agents
            .values()
            .any(|a| Some(a.config.id) != me && a.config.email == email);
        if taken {
            return Err(DomainError::NameTaken {
                kind: "agent_email",
                name: email,
            });
        }
        Ok(email)
    }

    fn check_teams(&self, teams: &BTreeSet<TeamId>) -> Res<()> {
        for t in teams {
            self.team(*t)?;
        }
        Ok(())
    }

    fn check_team_settings(&self, s: &TeamSettings, me: Option<TeamId>) -> Res<()> {
        check_duration("inactivity_timeout_ms", s.inactivity_timeout_ms)?;
        check_duration("max_wait_ms", s.max_wait_ms)?;
        if let Some(o) = s.overflow_team {
            if Some(o) == me {
                return Err(invalid(
                    "overflow_team",
                    "a team cannot overflow into itself",
                ));
            }
            self.team(o)?;
        }
        for (field, text) in [
            ("closing_message", &s.closing_message),
            ("no_agent_message", &s.no_agent_message),
        ] {
            if let Some(t) = text
                && (t.trim().is_empty() || t.chars().count() > MAX_TEXT_CHARS)
            {
                return Err(invalid(field, "must be 1 to 4096 characters"));
            }
        }
        if s.wrapup_codes.len() > 100 {
            return Err(invalid("wrapup_codes", "at most 100 codes"));
        }
        let mut seen = BTreeSet::new();
        for c in &s.wrapup_codes {
            if c.trim().is_empty() || c.trim() != c || c.chars().count() > 100 || has_control(c) {
                return Err(invalid(
                    "wrapup_codes",
                    "each code must be 1 to 100 characters, trimmed",
                ));
            }
            if !seen.insert(c) {
                return Err(invalid("wrapup_codes", "duplicate code"));
            }
        }
        if !(1..=MAX_DURATION_MS).contains(&s.service_level_target_ms) {
            return Err(invalid("service_level_target_ms", "must be positive"));
        }
        if !(1..=100).contains(&s.service_level_percent) {
            return Err(invalid(
                "service_level_percent",
                "must be between 1 and 100",
            ));
        }
        Ok(())
    }

    fn check_flow(&self, def: &FlowDef, me: Option<FlowId>) -> Res<()> {
        def.validate(|t| self.st.teams.get(&t).is_some_and(|t| t.config.enabled))
            .map_err(DomainError::InvalidFlow)?;
        let name = def.name.trim();
        if self
            .st
            .flows
            .values()
            .any(|f| Some(f.id) != me && f.def.name.trim() == name)
        {
            return Err(DomainError::NameTaken {
                kind: "flow",
                name: name.to_string(),
            });
        }
        Ok(())
    }
}

fn invalid(field: &'static str, reason: &str) -> DomainError {
    DomainError::InvalidInput {
        field,
        reason: reason.to_string(),
    }
}

fn wrong_phase(s: &Session, expected: &'static str) -> DomainError {
    DomainError::WrongPhase {
        session: s.id,
        actual: s.phase.name(),
        expected,
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A valid name (see [`check_name`]) that `taken` says is free, else `name_taken`.
fn unique_name(kind: &'static str, name: &str, taken: impl FnOnce(&str) -> bool) -> Res<String> {
    let name = check_name("name", name)?;
    if taken(&name) {
        return Err(DomainError::NameTaken { kind, name });
    }
    Ok(name)
}

fn check_name(field: &'static str, name: &str) -> Res<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || has_control(name) {
        return Err(invalid(field, "must be 1 to 200 printable characters"));
    }
    Ok(name.to_string())
}

fn check_text(text: &str, allow_empty: bool) -> Res<String> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid("text", "longer than 4096 characters"));
    }
    if !allow_empty && text.trim().is_empty() {
        return Err(invalid("text", "empty message"));
    }
    Ok(text.to_string())
}

fn check_capacity(c: u32) -> Res<u32> {
    if !(1..=MAX_CAPACITY).contains(&c) {
        return Err(invalid("capacity", "must be between 1 and 100"));
    }
    Ok(c)
}

fn check_duration(field: &'static str, ms: Option<i64>) -> Res<()> {
    match ms {
        Some(v) if !(1_000..=MAX_DURATION_MS).contains(&v) => {
            Err(invalid(field, "must be between 1 s and 30 days"))
        }
        _ => Ok(()),
    }
}

fn check_presence_actor(agent: AgentId, by: &Actor) -> Res<()> {
    match by {
        Actor::Agent(a) if *a == agent => Ok(()),
        Actor::Agent(_) => Err(invalid("by", "an agent can change only its own presence")),
        Actor::Supervisor(_) | Actor::System => Ok(()),
        Actor::Customer => Err(invalid(
            "by",
            "a customer cannot change an agent's presence",
        )),
    }
}

fn check_online(a: &AgentState) -> Res<()> {
    if a.presence != Presence::Online {
        return Err(DomainError::AgentNotOnline {
            agent: a.config.id,
            presence: a.presence.name(),
        });
    }
    Ok(())
}

fn check_capacity_left(a: &AgentState) -> Res<()> {
    if a.sessions.len() >= a.config.capacity as usize {
        return Err(DomainError::AgentAtCapacity {
            agent: a.config.id,
            open: a.sessions.len(),
            capacity: a.config.capacity,
        });
    }
    Ok(())
}
