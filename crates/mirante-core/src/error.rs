//! Domain errors: every refusal of the core, each with a stable machine code and a human
//! message in pt-BR and English. A refused command changes nothing.

use crate::flow::FlowError;
use crate::ids::{AgentId, ChannelId, ContactId, FlowId, PauseReasonId, SessionId, TeamId};
use serde::{Deserialize, Serialize};

/// The language of human-facing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Lang {
    /// Brazilian Portuguese, the default.
    #[default]
    PtBr,
    /// English.
    En,
}

/// Why the core refused a command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// No channel with this id.
    #[error("unknown channel {0}")]
    UnknownChannel(ChannelId),
    /// No team with this id.
    #[error("unknown team {0}")]
    UnknownTeam(TeamId),
    /// No agent with this id.
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    /// No pause reason with this id.
    #[error("unknown pause reason {0}")]
    UnknownPauseReason(PauseReasonId),
    /// No flow with this id.
    #[error("unknown flow {0}")]
    UnknownFlow(FlowId),
    /// No contact with this id.
    #[error("unknown contact {0}")]
    UnknownContact(ContactId),
    /// No message with this id.
    #[error("unknown message {0}")]
    UnknownMessage(crate::ids::MessageId),
    /// The channel already delivered a message with this id (idempotent inbound): nothing
    /// was written; `message` is the one stored the first time.
    #[error("message already received as {message}")]
    AlreadyReceived {
        /// The message stored the first time.
        message: crate::ids::MessageId,
    },
    /// No session with this id was ever started.
    #[error("unknown session {0}")]
    UnknownSession(SessionId),
    /// The session existed but is finished (D-2): it is never reopened.
    #[error("session {0} is not open")]
    SessionNotOpen(SessionId),
    /// The session is open but not in a phase that allows the command.
    #[error("session {session} is {actual}, expected {expected}")]
    WrongPhase {
        /// The session.
        session: SessionId,
        /// Its phase now.
        actual: &'static str,
        /// The phase(s) the command needs.
        expected: &'static str,
    },
    /// An agent acted on a session that is not (or no longer) with it.
    #[error("session {session} is not with agent {agent}")]
    NotAgentsSession {
        /// The session.
        session: SessionId,
        /// The agent that tried.
        agent: AgentId,
    },
    /// The channel is disabled.
    #[error("channel {0} is disabled")]
    ChannelDisabled(ChannelId),
    /// The channel has no bot flow, so a session cannot start on it.
    #[error("channel {0} has no flow")]
    ChannelWithoutFlow(ChannelId),
    /// The team is disabled.
    #[error("team {0} is disabled")]
    TeamDisabled(TeamId),
    /// The agent is disabled.
    #[error("agent {0} is disabled")]
    AgentDisabled(AgentId),
    /// The pause reason is disabled.
    #[error("pause reason {0} is disabled")]
    PauseReasonDisabled(PauseReasonId),
    /// The agent must be online (not paused, not offline) (D-3).
    #[error("agent {agent} is not online ({presence})")]
    AgentNotOnline {
        /// The agent.
        agent: AgentId,
        /// `offline` or `paused`.
        presence: &'static str,
    },
    /// The agent is already logged in.
    #[error("agent {0} is already logged in")]
    AgentAlreadyLoggedIn(AgentId),
    /// The agent is offline.
    #[error("agent {0} is offline")]
    AgentOffline(AgentId),
    /// The agent is already paused.
    #[error("agent {0} is already paused")]
    AgentAlreadyPaused(AgentId),
    /// The agent is not paused.
    #[error("agent {0} is not paused")]
    AgentNotPaused(AgentId),
    /// M-16: a supervisor cannot pause an agent that has open sessions.
    #[error("agent {agent} has {open} open sessions")]
    AgentHasOpenSessions {
        /// The agent.
        agent: AgentId,
        /// How many sessions are open with it.
        open: usize,
    },
    /// The agent is at capacity and the command may not exceed it.
    #[error("agent {agent} is at capacity ({open}/{capacity})")]
    AgentAtCapacity {
        /// The agent.
        agent: AgentId,
        /// Open sessions.
        open: usize,
        /// Its capacity.
        capacity: u32,
    },
    /// The agent is not a member of the team.
    #[error("agent {agent} is not in team {team}")]
    AgentNotInTeam {
        /// The agent.
        agent: AgentId,
        /// The team.
        team: TeamId,
    },
    /// Pulling a session is only for teams in *todos* mode.
    #[error("team {0} does not offer sessions to pull")]
    NotPullMode(TeamId),
    /// The session is already where the transfer would put it.
    #[error("session {0} is already there")]
    TransferToSamePlace(SessionId),
    /// The team has wrap-up codes, so finishing by an agent needs one.
    #[error("team {0} requires a wrap-up code")]
    WrapupRequired(TeamId),
    /// The wrap-up code is not one of the team's codes.
    #[error("unknown wrap-up code `{code}` for team {team}")]
    UnknownWrapup {
        /// The team.
        team: TeamId,
        /// The code given.
        code: String,
    },
    /// A channel with open sessions cannot be deleted.
    #[error("channel {channel} has {open} open sessions")]
    ChannelHasOpenSessions {
        /// The channel.
        channel: ChannelId,
        /// How many open sessions.
        open: usize,
    },
    /// A name (or e-mail) that must be unique is taken.
    #[error("{kind} `{name}` already exists")]
    NameTaken {
        /// `team`, `channel`, `agent_email`, `pause_reason`, `flow`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A bulk command with no sessions.
    #[error("bulk command with no sessions")]
    BulkEmpty,
    /// M-12 / B-3: more sessions than the bulk cap allows.
    #[error("bulk of {requested} sessions exceeds the cap of {cap}")]
    BulkCapExceeded {
        /// The cap.
        cap: usize,
        /// How many were asked.
        requested: usize,
    },
    /// The same session twice in one bulk command.
    #[error("session {0} appears twice in the bulk command")]
    BulkDuplicate(SessionId),
    /// Invalid input in a field.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field.
        field: &'static str,
        /// What is wrong (English; also used in pt-BR messages as detail).
        reason: String,
    },
    /// A time zone that is not in the IANA database.
    #[error("unknown time zone `{0}`")]
    UnknownTimeZone(String),
    /// A bot flow that does not validate.
    #[error("invalid flow: {0}")]
    InvalidFlow(FlowError),
}

impl DomainError {
    /// A stable snake_case machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownChannel(_) => "unknown_channel",
            Self::UnknownTeam(_) => "unknown_team",
            Self::UnknownAgent(_) => "unknown_agent",
            Self::UnknownPauseReason(_) => "unknown_pause_reason",
            Self::UnknownFlow(_) => "unknown_flow",
            Self::UnknownContact(_) => "unknown_contact",
            Self::UnknownSession(_) => "unknown_session",
            Self::UnknownMessage(_) => "unknown_message",
            Self::AlreadyReceived { .. } => "already_received",
            Self::SessionNotOpen(_) => "session_not_open",
            Self::WrongPhase { .. } => "wrong_phase",
            Self::NotAgentsSession { .. } => "not_agents_session",
            Self::ChannelDisabled(_) => "channel_disabled",
            Self::ChannelWithoutFlow(_) => "channel_without_flow",
            Self::TeamDisabled(_) => "team_disabled",
            Self::AgentDisabled(_) => "agent_disabled",
            Self::PauseReasonDisabled(_) => "pause_reason_disabled",
            Self::AgentNotOnline { .. } => "agent_not_online",
            Self::AgentAlreadyLoggedIn(_) => "agent_already_logged_in",
            Self::AgentOffline(_) => "agent_offline",
            Self::AgentAlreadyPaused(_) => "agent_already_paused",
            Self::AgentNotPaused(_) => "agent_not_paused",
            Self::AgentHasOpenSessions { .. } => "agent_has_open_sessions",
            Self::AgentAtCapacity { .. } => "agent_at_capacity",
            Self::AgentNotInTeam { .. } => "agent_not_in_team",
            Self::NotPullMode(_) => "not_pull_mode",
            Self::TransferToSamePlace(_) => "transfer_to_same_place",
            Self::WrapupRequired(_) => "wrapup_required",
            Self::UnknownWrapup { .. } => "unknown_wrapup",
            Self::ChannelHasOpenSessions { .. } => "channel_has_open_sessions",
            Self::NameTaken { .. } => "name_taken",
            Self::BulkEmpty => "bulk_empty",
            Self::BulkCapExceeded { .. } => "bulk_cap_exceeded",
            Self::BulkDuplicate(_) => "bulk_duplicate",
            Self::InvalidInput { .. } => "invalid_input",
            Self::UnknownTimeZone(_) => "unknown_time_zone",
            Self::InvalidFlow(e) => e.code,
        }
    }

    /// D-4 and friends: the command lost against the current state (HTTP 409 at the edge).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Self::SessionNotOpen(_)
                | Self::WrongPhase { .. }
                | Self::NotAgentsSession { .. }
                | Self::AgentNotOnline { .. }
                | Self::AgentAlreadyLoggedIn(_)
                | Self::AgentOffline(_)
                | Self::AgentAlreadyPaused(_)
                | Self::AgentNotPaused(_)
                | Self::AgentHasOpenSessions { .. }
                | Self::AgentAtCapacity { .. }
                | Self::TransferToSamePlace(_)
                | Self::ChannelHasOpenSessions { .. }
                | Self::NameTaken { .. }
                | Self::ChannelDisabled(_)
                | Self::TeamDisabled(_)
                | Self::AgentDisabled(_)
                | Self::PauseReasonDisabled(_)
        )
    }

    /// An idempotent repeat (`already_received`): the edge answers it as a success that
    /// changed nothing.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Self::AlreadyReceived { .. })
    }

    /// Unknown ids (HTTP 404 at the edge).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::UnknownChannel(_)
                | Self::UnknownTeam(_)
                | Self::UnknownAgent(_)
                | Self::UnknownPauseReason(_)
                | Self::UnknownFlow(_)
                | Self::UnknownContact(_)
                | Self::UnknownSession(_)
                | Self::UnknownMessage(_)
        )
    }

    /// Human text in the requested language.
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.to_string_en(),
            Lang::PtBr => self.to_string_pt(),
        }
    }

    fn to_string_en(&self) -> String {
        match self {
            Self::AgentHasOpenSessions { agent, open } => format!(
                "Agent {agent} cannot be paused by a supervisor while serving: {open} open session(s). \
                 Finish or transfer them first."
            ),
            Self::BulkCapExceeded { cap, requested } => {
                format!("At most {cap} sessions can be handled at once; {requested} were selected.")
            }
            Self::WrapupRequired(team) => {
                format!("Team {team} requires a wrap-up code to finish a session.")
            }
            Self::InvalidFlow(e) => e.message(Lang::En),
            other => {
                let mut s = other.to_string();
                if let Some(first) = s.get(0..1) {
                    let up = first.to_uppercase();
                    s.replace_range(0..1, &up);
                }
                s.push('.');
                s
            }
        }
    }

    fn to_string_pt(&self) -> String {
        match self {
            Self::UnknownChannel(id) => format!("Canal {id} não encontrado."),
            Self::UnknownTeam(id) => format!("Equipe {id} não encontrada."),
            Self::UnknownAgent(id) => format!("Agente {id} não encontrado."),
            Self::UnknownPauseReason(id) => format!("Motivo de pausa {id} não encontrado."),
            Self::UnknownFlow(id) => format!("Fluxo {id} não encontrado."),
            Self::UnknownContact(id) => format!("Contato {id} não encontrado."),
            Self::UnknownSession(id) => format!("Atendimento {id} não encontrado."),
            Self::UnknownMessage(id) => format!("Mensagem {id} não encontrada."),
            Self::AlreadyReceived { message } => {
                format!("Mensagem já recebida (registrada como {message}).")
            }
            Self::SessionNotOpen(id) => format!("O atendimento {id} já foi finalizado."),
            Self::WrongPhase {
                session,
                actual,
                expected,
            } => format!(
                "O atendimento {session} está na fase {}; a ação exige {}.",
                phase_pt(actual),
                phase_pt(expected)
            ),
            Self::NotAgentsSession { session, agent } => {
                format!("O atendimento {session} não está com o agente {agent}.")
            }
            Self::ChannelDisabled(id) => format!("O canal {id} está desativado."),
            Self::ChannelWithoutFlow(id) => {
                format!("O canal {id} não tem fluxo de bot configurado.")
            }
            Self::TeamDisabled(id) => format!("A equipe {id} está desativada."),
            Self::AgentDisabled(id) => format!("O agente {id} está desativado."),
            Self::PauseReasonDisabled(id) => format!("O motivo de pausa {id} está desativado."),
            Self::AgentNotOnline { agent, presence } => format!(
                "O agente {agent} não está online ({}).",
                if *presence == "paused" {
                    "em pausa"
                } else {
                    "deslogado"
                }
            ),
            Self::AgentAlreadyLoggedIn(id) => format!("O agente {id} já está logado."),
            Self::AgentOffline(id) => format!("O agente {id} está deslogado."),
            Self::AgentAlreadyPaused(id) => format!("O agente {id} já está em pausa."),
            Self::AgentNotPaused(id) => format!("O agente {id} não está em pausa."),
            Self::AgentHasOpenSessions { agent, open } => format!(
                "Não é possível pausar o agente {agent}: ele tem {open} atendimento(s) em aberto. \
                 Finalize ou transfira antes."
            ),
            Self::AgentAtCapacity {
                agent,
                open,
                capacity,
            } => {
                format!("O agente {agent} está com a capacidade esgotada ({open}/{capacity}).")
            }
            Self::AgentNotInTeam { agent, team } => {
                format!("O agente {agent} não faz parte da equipe {team}.")
            }
            Self::NotPullMode(team) => {
                format!("A equipe {team} não distribui por oferta a todos; não é possível puxar.")
            }
            Self::TransferToSamePlace(id) => {
                format!("O atendimento {id} já está com esse destino.")
            }
            Self::WrapupRequired(team) => {
                format!("A equipe {team} exige uma tabulação para finalizar o atendimento.")
            }
            Self::UnknownWrapup { team, code } => {
                format!("Tabulação `{code}` não existe na equipe {team}.")
            }
            Self::ChannelHasOpenSessions { channel, open } => format!(
                "O canal {channel} tem {open} atendimento(s) em aberto e não pode ser excluído."
            ),
            Self::NameTaken { kind, name } => format!("Já existe {} `{name}`.", kind_pt(kind)),
            Self::BulkEmpty => "Nenhum atendimento selecionado.".to_string(),
            Self::BulkCapExceeded { cap, requested } => format!(
                "No máximo {cap} atendimentos podem ser tratados de uma vez; {requested} foram selecionados."
            ),
            Self::BulkDuplicate(id) => format!("O atendimento {id} aparece duas vezes."),
            Self::InvalidInput { field, reason } => {
                format!("Valor inválido em `{field}`: {reason}.")
            }
            Self::UnknownTimeZone(tz) => format!("Fuso horário `{tz}` desconhecido."),
            Self::InvalidFlow(e) => e.message(Lang::PtBr),
        }
    }
}

fn phase_pt(phase: &str) -> &str {
    match phase {
        "bot" => "Navegando",
        "waiting" => "Em espera",
        "human" => "Em atendimento",
        "finished" => "Finalizado",
        "waiting or human" => "Em espera ou Em atendimento",
        other => other,
    }
}

fn kind_pt(kind: &str) -> &str {
    match kind {
        "team" => "uma equipe chamada",
        "channel" => "um canal chamado",
        "agent_email" => "um agente com o e-mail",
        "pause_reason" => "um motivo de pausa chamado",
        "flow" => "um fluxo chamado",
        other => other,
    }
}
