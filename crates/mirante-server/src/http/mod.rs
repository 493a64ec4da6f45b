//! The HTTP edge: one [`app`] factory assembling a router per resource. Handlers are thin:
//! they translate wire shapes to engine calls and errors to [`ApiError`].

mod commands;
mod error;
mod system;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::engine::EngineHandle;

pub use error::{ApiError, ErrorBody, lang_from_headers};

/// What every handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The engine.
    pub engine: EngineHandle,
    /// Renders `/metrics`; `None` when no recorder is installed (then `/metrics` is empty).
    pub metrics: Option<PrometheusHandle>,
    /// The development command API (`POST /api/v1/commands`, `GET /api/v1/debug/state`).
    pub command_api: bool,
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new().merge(system::router());
    if state.command_api {
        router = router.merge(commands::router());
    }
    router
        .fallback(error::not_found)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
