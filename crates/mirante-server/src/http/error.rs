//! API errors: one type, a registry of stable codes mapped to HTTP statuses, a JSON body
//! `{code, message}` in the caller's language (pt-BR by default, English for `en*`).
//! Internal details are logged, never sent.
//!
//! Handlers just return `Result<_, ApiError>`: the answer is rendered in pt-BR and carries
//! its English rendering as an extension; the [`localize`] middleware swaps it in when the
//! request's `Accept-Language` asks for English.

use axum::Json;
use axum::body::Body;
use axum::extract::Request;
use axum::extract::rejection::JsonRejection;
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_LENGTH, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mirante_auth::AuthError;
use mirante_core::{DomainError, Lang};
use mirante_store::StoreError;
use mirante_store::accounts::AccountError;
use serde::{Deserialize, Serialize};

use crate::engine::EngineError;

/// The JSON body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine code, e.g. `agent_not_online`.
    pub code: String,
    /// Human text in the requested language.
    pub message: String,
}

/// What went wrong, before it is rendered in a language.
#[derive(Debug)]
pub enum ApiError {
    /// The core refused the request.
    Domain(DomainError),
    /// The store could not do its part (the request was not acknowledged).
    Store(StoreError),
    /// The engine is stopped or stopping.
    Unavailable,
    /// A bug or an unreadable stored record.
    Internal(String),
    /// The body is not the JSON this endpoint expects.
    BadRequest(String),
    /// No such route.
    NotFound,
    /// The access rules refused the request (401, 403, 404, 409, 413, 422, 429).
    Auth(AuthError),
    /// The caller (or the server) has as many live streams open as allowed (429).
    TooManyStreams,
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        ApiError::Auth(error)
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::EmailTaken => ApiError::Auth(AuthError::EmailTaken),
            AccountError::AgentTaken => ApiError::Internal("agent link conflict".into()),
            AccountError::NotFound => ApiError::Auth(AuthError::NotFound),
            AccountError::Store(e) => ApiError::Store(e),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::Domain(e) => ApiError::Domain(e),
            EngineError::Store(e) => ApiError::Store(e),
            EngineError::Unavailable => ApiError::Unavailable,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// The body size limit of the API (JSON bodies), in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::Auth(AuthError::BodyTooLarge(MAX_BODY_BYTES));
        }
        ApiError::BadRequest(rejection.body_text())
    }
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Domain(e) if e.is_not_found() => StatusCode::NOT_FOUND,
            ApiError::Domain(e) if e.is_conflict() => StatusCode::CONFLICT,
            ApiError::Domain(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Store(
                StoreError::Conflict { .. } | StoreError::Closed | StoreError::Backend(_),
            )
            | ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(StoreError::Corrupt(_)) | ApiError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Auth(e) => auth_status(e),
            ApiError::TooManyStreams => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Domain(e) => e.code(),
            ApiError::Store(StoreError::Corrupt(_)) | ApiError::Internal(_) => "internal_error",
            ApiError::Store(_) | ApiError::Unavailable => "service_unavailable",
            ApiError::BadRequest(_) => "invalid_request",
            ApiError::NotFound => "not_found",
            ApiError::Auth(e) => e.code(),
            ApiError::TooManyStreams => "too_many_streams",
        }
    }

    /// The body in `lang`.
    pub fn body(&self, lang: Lang) -> ErrorBody {
        let message = match (self, lang) {
            (ApiError::Domain(e), lang) => e.message(lang),
            (ApiError::Auth(e), lang) => e.message(lang),
            (ApiError::Store(StoreError::Corrupt(_)) | ApiError::Internal(_), Lang::PtBr) => {
                "Erro interno; o problema foi registrado.".to_owned()
            }
            (ApiError::Store(StoreError::Corrupt(_)) | ApiError::Internal(_), Lang::En) => {
                "Internal error; the problem was logged.".to_owned()
            }
            (ApiError::Store(_) | ApiError::Unavailable, Lang::PtBr) => {
                "Serviço temporariamente indisponível; tente de novo.".to_owned()
            }
            (ApiError::Store(_) | ApiError::Unavailable, Lang::En) => {
                "Service temporarily unavailable; try again.".to_owned()
            }
            (ApiError::BadRequest(detail), Lang::PtBr) => format!("Requisição inválida: {detail}"),
            (ApiError::BadRequest(detail), Lang::En) => format!("Invalid request: {detail}"),
            (ApiError::NotFound, Lang::PtBr) => "Recurso não encontrado.".to_owned(),
            (ApiError::NotFound, Lang::En) => "Resource not found.".to_owned(),
            (ApiError::TooManyStreams, Lang::PtBr) => {
                "Limite de conexões ao vivo atingido; feche outra aba e tente de novo.".to_owned()
            }
            (ApiError::TooManyStreams, Lang::En) => {
                "Too many live connections; close another tab and try again.".to_owned()
            }
        };
        ErrorBody {
            code: self.code().to_owned(),
            message,
        }
    }

    /// The full answer in `lang`; server-side failures are logged here with their detail.
    pub fn into_response_in(self, lang: Lang) -> Response {
        match &self {
            ApiError::Store(e) => {
                tracing::error!(error = %e, code = e.code(), "request failed in the store")
            }
            ApiError::Internal(detail) => tracing::error!(%detail, "request failed"),
            ApiError::Unavailable => tracing::warn!("request refused: engine unavailable"),
            ApiError::Domain(_)
            | ApiError::BadRequest(_)
            | ApiError::NotFound
            | ApiError::TooManyStreams
            | ApiError::Auth(_) => {}
        }
        let mut response = (self.status(), Json(self.body(lang))).into_response();
        if let ApiError::Auth(AuthError::TooManyAttempts(seconds)) = &self {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(*seconds));
        }
        response
    }
}

/// The status of each access-rule refusal.
fn auth_status(error: &AuthError) -> StatusCode {
    match error {
        AuthError::Unauthenticated | AuthError::InvalidCredentials => StatusCode::UNAUTHORIZED,
        AuthError::Forbidden | AuthError::CsrfOrigin => StatusCode::FORBIDDEN,
        AuthError::NotFound => StatusCode::NOT_FOUND,
        AuthError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
        AuthError::EmailTaken | AuthError::AgentAlreadyLinked(_) | AuthError::LastFullAdmin => {
            StatusCode::CONFLICT
        }
        AuthError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        AuthError::InvalidResetToken => StatusCode::BAD_REQUEST,
        AuthError::InvalidEmail
        | AuthError::EmptyField(_)
        | AuthError::MissingField(_)
        | AuthError::FieldTooLong { .. }
        | AuthError::WeakPassword(_)
        | AuthError::UnknownPermission(_)
        | AuthError::UnknownTeam(_)
        | AuthError::UnknownAgent(_)
        | AuthError::UnknownGroup => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The English rendering of an error answer, carried until [`localize`] decides.
#[derive(Debug, Clone)]
struct English(ErrorBody);

/// Renders in pt-BR, keeping the English body for [`localize`].
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let english = self.body(Lang::En);
        let mut response = self.into_response_in(Lang::PtBr);
        response.extensions_mut().insert(English(english));
        response
    }
}

/// Middleware: error answers in English when the request's `Accept-Language` asks for it.
pub async fn localize(request: Request, next: Next) -> Response {
    let lang = lang_from_headers(request.headers());
    let mut response = next.run(request).await;
    let english = response.extensions_mut().remove::<English>();
    match (lang, english) {
        (Lang::En, Some(English(body))) => {
            let (mut parts, _) = response.into_parts();
            parts.headers.remove(CONTENT_LENGTH);
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            Response::from_parts(parts, Body::from(bytes))
        }
        _ => response,
    }
}

/// The language of an answer: the first `Accept-Language` tag; `en*` → English, anything
/// else (or none) → pt-BR.
pub fn lang_from_headers(headers: &HeaderMap) -> Lang {
    let first = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|tag| {
            tag.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    match first {
        Some(tag) if tag == "en" || tag.starts_with("en-") => Lang::En,
        _ => Lang::PtBr,
    }
}

/// The fallback for unknown routes.
pub(crate) async fn not_found(headers: HeaderMap) -> Response {
    ApiError::NotFound.into_response_in(lang_from_headers(&headers))
}
