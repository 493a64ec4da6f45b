//! DEVELOPMENT SWITCH (`--enable-command-api`): raw core commands over HTTP and a dump of
//! the state, without authentication. Off by default; the accounts work will put it behind
//! admin auth. The kill -9 test and early tooling use it until the full API exists.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mirante_core::{Command, Event};
use serde::Serialize;

use super::{ApiError, AppState, lang_from_headers};

/// `POST /api/v1/commands`, `GET /api/v1/debug/state`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/commands", post(execute))
        .route("/api/v1/debug/state", get(state_dump))
}

/// The answer to an executed command.
#[derive(Debug, Serialize)]
struct CommandAnswer {
    /// Sequence number of the command's last event (durable when this is sent).
    seq: u64,
    /// The events, in log order.
    events: Vec<Event>,
}

async fn execute(
    State(state): State<AppState>,
    headers: HeaderMap,
    command: Result<Json<Command>, JsonRejection>,
) -> Response {
    let lang = lang_from_headers(&headers);
    let result = match command {
        Ok(Json(command)) => state.engine.execute(command).await.map_err(ApiError::from),
        Err(rejection) => Err(ApiError::from(rejection)),
    };
    match result {
        Ok(executed) => Json(CommandAnswer {
            seq: executed.seq,
            events: executed.events,
        })
        .into_response(),
        Err(error) => error.into_response_in(lang),
    }
}

/// `{seq, core}`: the whole durable state as serialized for snapshots.
async fn state_dump(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = lang_from_headers(&headers);
    let dump = state
        .engine
        .read(|core, seq| {
            serde_json::to_value(core).map(|core| serde_json::json!({ "seq": seq, "core": core }))
        })
        .await;
    match dump {
        Ok(Ok(value)) => Json(value).into_response(),
        Ok(Err(error)) => ApiError::Internal(error.to_string()).into_response_in(lang),
        Err(error) => ApiError::from(error).into_response_in(lang),
    }
}
