//! API errors: one type, a registry of stable codes mapped to HTTP statuses, a JSON body
//! `{code, message}` in the caller's language (pt-BR by default, English for `en*`).
//! Internal details are logged, never sent.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mirante_core::{DomainError, Lang};
use mirante_store::StoreError;
use serde::{Deserialize, Serialize};

use crate::engine::EngineError;

/// The JSON body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
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
        }
    }

    /// The body in `lang`.
    pub fn body(&self, lang: Lang) -> ErrorBody {
        let message = match (self, lang) {
            (ApiError::Domain(e), lang) => e.message(lang),
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
            ApiError::Domain(_) | ApiError::BadRequest(_) | ApiError::NotFound => {}
        }
        (self.status(), Json(self.body(lang))).into_response()
    }
}

/// Without the request's headers at hand: pt-BR. Handlers that can should use
/// [`ApiError::into_response_in`] with [`lang_from_headers`].
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_response_in(Lang::PtBr)
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
