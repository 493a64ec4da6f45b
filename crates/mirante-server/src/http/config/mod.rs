//! Configuration (permission `config.manage`, every change audited as `config.*`):
//! channels, teams, agents, pause reasons, bot flows and global settings. Every change is a
//! core command through the engine, so it takes effect live and is an event in the log;
//! lists read the core's state.
//!
//! Team-restricted administrators configure **their teams and the agents of their teams
//! only**: they list and change the teams in their scope (creating a team needs an
//! unrestricted administrator, as a new team would lie outside the scope), create agents in
//! their teams and change agents they see — a team set they send replaces only the part
//! inside their scope. Channels, flows, pause reasons and settings are shared
//! configuration: any `config.manage` holder reads them, only an unrestricted one changes
//! them (`forbidden` otherwise). Out-of-scope teams and agents answer 404 like missing
//! ones; an out-of-scope team given as input is `unknown_team` (422).
//!
//! One submodule per kind of configuration; this module has the router and the helpers they
//! share.

mod agents;
mod channels;
mod flows;
mod pause_reasons;
mod settings;
mod teams;

pub use agents::AgentView;

use axum::extract::Request;
use mirante_auth::{AuthError, Principal};
use mirante_core::{Event, EventKind, TeamId};
use serde::{Deserialize, Deserializer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Auth;
use super::{ApiError, AppState, MAX_BODY_BYTES};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(channels::list_channels, channels::create_channel))
        .routes(routes!(
            channels::get_channel,
            channels::update_channel,
            channels::delete_channel
        ))
        .routes(routes!(teams::list_teams, teams::create_team))
        .routes(routes!(teams::get_team, teams::update_team))
        .routes(routes!(agents::list_agents, agents::create_agent))
        .routes(routes!(agents::get_agent, agents::update_agent))
        .routes(routes!(
            pause_reasons::list_pause_reasons,
            pause_reasons::create_pause_reason
        ))
        .routes(routes!(pause_reasons::update_pause_reason))
        .routes(routes!(flows::list_flows, flows::create_flow))
        .routes(routes!(flows::get_flow, flows::update_flow))
        .routes(routes!(settings::get_settings, settings::update_settings))
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Shared configuration (channels, flows, pause reasons, settings) is changed only by
/// administrators who see every team.
fn require_unrestricted(principal: &Principal) -> Result<(), AuthError> {
    if principal.scope.is_restricted() {
        return Err(AuthError::Forbidden);
    }
    Ok(())
}

/// The first event of a kind among an executed command's events.
fn created<T>(events: &[Event], pick: impl Fn(&EventKind) -> Option<T>) -> Result<T, ApiError> {
    events
        .iter()
        .find_map(|e| pick(&e.kind))
        .ok_or_else(|| ApiError::Internal("the command produced no record".into()))
}

/// Audits a successful change by the request's caller (configuration, and the agent's own
/// actions in `http/agent.rs`).
pub(super) async fn audit(
    state: &AppState,
    auth: &Auth,
    action: &str,
    target: String,
    team: Option<TeamId>,
    detail: serde_json::Value,
) {
    state
        .auth
        .audit_principal(
            &auth.principal,
            action,
            &target,
            "ok",
            &auth.addr,
            team,
            Some(detail),
        )
        .await;
}

/// A request body as UTF-8 text (at most [`MAX_BODY_BYTES`]).
pub(crate) async fn text_body(request: Request) -> Result<String, ApiError> {
    let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| AuthError::BodyTooLarge(MAX_BODY_BYTES))?;
    String::from_utf8(bytes.to_vec())
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid UTF-8 ({e})")))
}
