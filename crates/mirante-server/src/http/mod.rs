//! The HTTP edge: one [`app`] factory assembling a router per resource. Handlers are thin:
//! they authenticate through the [`extract::Auth`] extractor, check their permission with
//! `principal.require(…)`, filter or refuse by `principal.scope`, translate wire shapes to
//! engine or account-store calls, and errors to [`ApiError`].
//!
//! Every API route is declared with `utoipa` (`#[utoipa::path]` + `routes!`), so the
//! OpenAPI document at `GET /api/openapi.json` lists them all (Swagger UI at `/api/docs`);
//! the authorization-matrix test enumerates that document. Only `/healthz`, `/metrics` and
//! the documentation itself live outside it.

mod agent;
mod agents;
mod audit;
mod auth;
mod channels;
mod chat;
mod commands;
mod config;
mod contacts;
mod error;
pub mod extract;
mod live;
mod monitor;
mod schema;
mod sessions;
mod system;
mod tokens;
mod ui;
mod users;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use metrics_exporter_prometheus::PrometheusHandle;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{AuthState, SESSION_COOKIE};
use crate::engine::EngineHandle;

pub use error::{ApiError, ErrorBody, MAX_BODY_BYTES, lang_from_headers, localize};

/// What every handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The engine.
    pub engine: EngineHandle,
    /// Renders `/metrics`; `None` when no recorder is installed (then `/metrics` is empty).
    pub metrics: Option<PrometheusHandle>,
    /// The development command API (`POST /api/v1/commands`, `GET /api/v1/debug/state`).
    pub command_api: bool,
    /// Accounts, sessions, audit.
    pub auth: AuthState,
    /// The live monitor: read models and the stream hub (`crate::monitor`).
    pub monitor: crate::monitor::MonitorService,
    /// Outbound feeds, transcripts, internal chat, webhooks (`crate::feeds`).
    pub feeds: crate::feeds::Feeds,
}

/// The OpenAPI document's frame: title, security schemes.
#[derive(OpenApi)]
#[openapi(
    info(title = "Mirante API", description = "Omnichannel contact-center server. Errors are `{code, message}` (pt-BR by default, English with `Accept-Language: en`)."),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Log-in, sessions, password reset"),
        (name = "users", description = "Logins and user groups (`users.manage`)"),
        (name = "tokens", description = "API tokens (`users.manage`)"),
        (name = "audit", description = "Audit log (`audit.view`)"),
        (name = "monitor", description = "Monitoramento: the screen, its filters, hidden cards and the live stream (`monitor.view`)"),
        (name = "sessions", description = "Supervisor actions on sessions: finish, transfer, follow, history"),
        (name = "agents", description = "Supervisor actions on agents: pause, end pause, log-out"),
        (name = "chat", description = "Internal chat with agents (`chat.internal`)"),
        (name = "agent", description = "The logged-in agent's own actions (`/api/v1/me`, agents' sessions only)"),
        (name = "channel-api", description = "Channel integrations: inbound messages, delivery status, outbound feed, webhook (channel tokens)"),
        (name = "contacts", description = "Contacts: search (`session.history`), corrections (`config.manage`)"),
        (name = "config", description = "Configuration: channels, teams, agents, pause reasons, bot flows, settings (`config.manage`)"),
        (name = "development", description = "Development switch `--enable-command-api` (full administrators only)"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API routes and their OpenAPI document.
pub fn api(command_api: bool) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(users::router())
        .merge(tokens::router())
        .merge(audit::router())
        .merge(monitor::router())
        .merge(live::router())
        .merge(sessions::router())
        .merge(agents::router())
        .merge(chat::router())
        .merge(config::router())
        .merge(agent::router())
        .merge(channels::router())
        .merge(contacts::router());
    if command_api {
        router = router.merge(commands::router());
    }
    router.split_for_parts()
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (api, doc) = api(state.command_api);
    Router::new()
        .merge(system::router())
        .merge(api.layer(DefaultBodyLimit::max(MAX_BODY_BYTES)))
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", doc))
        .fallback(ui::fallback)
        .layer(axum::middleware::from_fn(localize))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
