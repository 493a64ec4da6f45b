//! Refusals of the access rules, each with a stable machine code and a message in pt-BR
//! and English (like `mirante_core::DomainError`). The HTTP edge maps them to statuses.

use mirante_core::{AgentId, Lang, TeamId};

/// Why a request about accounts, sessions or permissions was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No valid session or token.
    #[error("not authenticated")]
    Unauthenticated,
    /// Wrong e-mail or password (never says which).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Authenticated, but the permission is not held.
    #[error("forbidden")]
    Forbidden,
    /// A cookie-authenticated state-changing request without the server's own `Origin`.
    #[error("cross-site request refused")]
    CsrfOrigin,
    /// Absent, or outside the caller's scope (the two are indistinguishable on purpose).
    #[error("not found")]
    NotFound,
    /// Too many failed attempts; retry after this many seconds.
    #[error("too many attempts; retry after {0} s")]
    TooManyAttempts(u64),
    /// Not an e-mail address.
    #[error("invalid e-mail")]
    InvalidEmail,
    /// A required field is empty.
    #[error("field `{0}` is empty")]
    EmptyField(&'static str),
    /// A required field is missing for this kind of record.
    #[error("field `{0}` is required")]
    MissingField(&'static str),
    /// A field is longer than allowed.
    #[error("field `{field}` is longer than {max} characters")]
    FieldTooLong {
        /// Which field.
        field: &'static str,
        /// Its limit.
        max: usize,
    },
    /// The password does not meet the policy.
    #[error("password shorter than {0} characters")]
    WeakPassword(usize),
    /// A permission name that does not exist.
    #[error("unknown permission `{0}`")]
    UnknownPermission(String),
    /// A team that does not exist (or is not visible to the caller).
    #[error("unknown team {0}")]
    UnknownTeam(TeamId),
    /// An agent that does not exist (or is not visible to the caller).
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    /// A user group that does not exist (or is not visible to the caller).
    #[error("unknown user group")]
    UnknownGroup,
    /// The e-mail is already used by another account.
    #[error("e-mail already in use")]
    EmailTaken,
    /// The core agent already has a login.
    #[error("agent {0} already has a login")]
    AgentAlreadyLinked(AgentId),
    /// The change would leave no enabled administrator with full permission.
    #[error("the last full administrator cannot be removed")]
    LastFullAdmin,
    /// The password-reset token is unknown, used or expired.
    #[error("invalid or expired reset token")]
    InvalidResetToken,
    /// The request body is larger than allowed.
    #[error("body larger than {0} bytes")]
    BodyTooLarge(usize),
}

impl AuthError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Unauthenticated => "unauthenticated",
            AuthError::InvalidCredentials => "invalid_credentials",
            AuthError::Forbidden => "forbidden",
            AuthError::CsrfOrigin => "csrf_origin",
            AuthError::NotFound => "not_found",
            AuthError::TooManyAttempts(_) => "too_many_attempts",
            AuthError::InvalidEmail => "invalid_email",
            AuthError::EmptyField(_) => "empty_field",
            AuthError::MissingField(_) => "missing_field",
            AuthError::FieldTooLong { .. } => "field_too_long",
            AuthError::WeakPassword(_) => "weak_password",
            AuthError::UnknownPermission(_) => "unknown_permission",
            AuthError::UnknownTeam(_) => "unknown_team",
            AuthError::UnknownAgent(_) => "unknown_agent",
            AuthError::UnknownGroup => "unknown_group",
            AuthError::EmailTaken => "email_taken",
            AuthError::AgentAlreadyLinked(_) => "agent_already_linked",
            AuthError::LastFullAdmin => "last_full_admin",
            AuthError::InvalidResetToken => "invalid_reset_token",
            AuthError::BodyTooLarge(_) => "body_too_large",
        }
    }

    /// The human message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        let pt = matches!(lang, Lang::PtBr);
        match self {
            AuthError::Unauthenticated if pt => {
                "Autenticação necessária: entre com seu e-mail e senha.".into()
            }
            AuthError::Unauthenticated => {
                "Authentication required: log in with your e-mail and password.".into()
            }
            AuthError::InvalidCredentials if pt => "E-mail ou senha incorretos.".into(),
            AuthError::InvalidCredentials => "Wrong e-mail or password.".into(),
            AuthError::Forbidden if pt => "Você não tem permissão para esta ação.".into(),
            AuthError::Forbidden => "You do not have permission for this action.".into(),
            AuthError::CsrfOrigin if pt => {
                "Requisição recusada: origem ausente ou diferente da do servidor.".into()
            }
            AuthError::CsrfOrigin => {
                "Request refused: missing Origin, or not the server's own.".into()
            }
            AuthError::NotFound if pt => "Recurso não encontrado.".into(),
            AuthError::NotFound => "Resource not found.".into(),
            AuthError::TooManyAttempts(s) if pt => {
                format!("Muitas tentativas; tente de novo em {s} s.")
            }
            AuthError::TooManyAttempts(s) => format!("Too many attempts; try again in {s} s."),
            AuthError::InvalidEmail if pt => "E-mail inválido.".into(),
            AuthError::InvalidEmail => "Invalid e-mail address.".into(),
            AuthError::EmptyField(f) if pt => format!("O campo `{f}` não pode ficar vazio."),
            AuthError::EmptyField(f) => format!("The field `{f}` cannot be empty."),
            AuthError::MissingField(f) if pt => format!("O campo `{f}` é obrigatório."),
            AuthError::MissingField(f) => format!("The field `{f}` is required."),
            AuthError::FieldTooLong { field, max } if pt => {
                format!("O campo `{field}` passa de {max} caracteres.")
            }
            AuthError::FieldTooLong { field, max } => {
                format!("The field `{field}` is longer than {max} characters.")
            }
            AuthError::WeakPassword(min) if pt => {
                format!("A senha deve ter pelo menos {min} caracteres.")
            }
            AuthError::WeakPassword(min) => {
                format!("The password must have at least {min} characters.")
            }
            AuthError::UnknownPermission(p) if pt => format!("Permissão desconhecida: `{p}`."),
            AuthError::UnknownPermission(p) => format!("Unknown permission: `{p}`."),
            AuthError::UnknownTeam(t) if pt => format!("Equipe {t} não encontrada."),
            AuthError::UnknownTeam(t) => format!("Team {t} not found."),
            AuthError::UnknownAgent(a) if pt => format!("Agente {a} não encontrado."),
            AuthError::UnknownAgent(a) => format!("Agent {a} not found."),
            AuthError::UnknownGroup if pt => "Grupo de usuários não encontrado.".into(),
            AuthError::UnknownGroup => "User group not found.".into(),
            AuthError::EmailTaken if pt => "Este e-mail já está em uso.".into(),
            AuthError::EmailTaken => "This e-mail is already in use.".into(),
            AuthError::AgentAlreadyLinked(a) if pt => format!("O agente {a} já tem um login."),
            AuthError::AgentAlreadyLinked(a) => format!("Agent {a} already has a login."),
            AuthError::LastFullAdmin if pt => {
                "Deve restar ao menos um administrador ativo com permissão total.".into()
            }
            AuthError::LastFullAdmin => {
                "At least one enabled administrator with full permission must remain.".into()
            }
            AuthError::InvalidResetToken if pt => {
                "Link de redefinição inválido, já usado ou expirado.".into()
            }
            AuthError::InvalidResetToken => {
                "Reset link is invalid, already used or expired.".into()
            }
            AuthError::BodyTooLarge(max) if pt => {
                format!("Corpo da requisição maior que {max} bytes.")
            }
            AuthError::BodyTooLarge(max) => format!("Request body larger than {max} bytes."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_speaks_both_languages() {
        let all = [
            AuthError::Unauthenticated,
            AuthError::InvalidCredentials,
            AuthError::Forbidden,
            AuthError::CsrfOrigin,
            AuthError::NotFound,
            AuthError::TooManyAttempts(3),
            AuthError::InvalidEmail,
            AuthError::EmptyField("name"),
            AuthError::MissingField("group"),
            AuthError::FieldTooLong {
                field: "name",
                max: 200,
            },
            AuthError::WeakPassword(10),
            AuthError::UnknownPermission("x".into()),
            AuthError::UnknownTeam(TeamId(1)),
            AuthError::UnknownAgent(AgentId(1)),
            AuthError::UnknownGroup,
            AuthError::EmailTaken,
            AuthError::AgentAlreadyLinked(AgentId(1)),
            AuthError::LastFullAdmin,
            AuthError::InvalidResetToken,
            AuthError::BodyTooLarge(1),
        ];
        let mut codes = std::collections::BTreeSet::new();
        for e in &all {
            assert!(codes.insert(e.code()), "duplicate code {}", e.code());
            assert_ne!(e.message(Lang::PtBr), e.message(Lang::En));
        }
    }
}
