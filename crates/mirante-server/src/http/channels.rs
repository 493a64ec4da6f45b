//! The generic channel API (D-30): how any integration brings customers in and takes
//! Mirante's answers out. It authenticates with a **channel token** — an API token bound to
//! one channel, minted by an unrestricted `config.manage` administrator with
//! `POST /api/v1/channels/{id}/tokens` — which may use only that channel's routes:
//!
//! - `POST …/messages`: a customer message (contact identifier, name, text ≤ 4 096
//!   characters, attachment metadata, the channel's own message id). Idempotent on that id:
//!   a repeat answers 200 `{"duplicate": true, "message": …}` and writes nothing.
//! - `POST …/status`: delivery / read status of an outbound message of *this* channel
//!   (another channel's message is `unknown_message`, 404, as a missing one).
//! - `GET …/outbound?after=&limit=`: the messages to deliver (bot, agent, supervisor,
//!   system), in order, with the event sequence as cursor ([`crate::feeds`]).
//! - `PUT`/`DELETE …/webhook`: push the outbound feed to a URL instead (signed, retried
//!   with back-off, never blocking the engine; see [`crate::feeds::webhook`]).
//!
//! A token of another channel answers 404 (`not_found`), exactly as a channel that does not
//! exist; any other caller is `forbidden`. The webhook may also be managed by an
//! unrestricted `config.manage` administrator.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mirante_auth::{AuthError, Permission, Principal, PrincipalKind, validate};
use mirante_core::{
    Attachment, ChannelId, Command, DeliveryStatus, DomainError, EventKind, MessageId,
};
use mirante_store::accounts::ApiToken;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, Auth};
use super::tokens::{CreatedToken, TokenView};
use super::{ApiError, AppState, ErrorBody};
use crate::auth::secret;
use crate::feeds::OutboundPage;
use crate::feeds::webhook::WebhookView;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_channel_token))
        .routes(routes!(inbound))
        .routes(routes!(status))
        .routes(routes!(outbound))
        .routes(routes!(set_webhook, remove_webhook))
}

/// Most outbound messages per page.
pub const MAX_PAGE: usize = 1000;

// ---- channel tokens ------------------------------------------------------------------

/// A new channel token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Integração SMS"}))]
pub struct NewChannelToken {
    /// Label.
    pub name: String,
}

/// Mints a channel token: it authenticates only this channel's integration API and works
/// while its creator holds `config.manage` over every team. The secret is shown once;
/// list and revoke it with `/api/v1/tokens`.
#[utoipa::path(post, path = "/api/v1/channels/{id}/tokens", tag = "channel-api", params(("id" = u64, Path, description = "Channel id")),
    request_body = NewChannelToken,
    responses((status = 201, body = CreatedToken),
              (status = 403, description = "`forbidden`: not an unrestricted administrator's session with `config.manage`", body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = [])))]
async fn create_channel_token(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<NewChannelToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let principal = &auth.principal;
    principal.require(Permission::ConfigManage)?;
    if principal.scope.is_restricted() || !matches!(principal.kind, PrincipalKind::Admin { .. }) {
        return Err(AuthError::Forbidden.into());
    }
    let name = validate::name("name", &body.name, validate::MAX_NAME_CHARS)?;
    channel_exists(&state, ChannelId(id)).await?;
    let secret = format!(
        "{}{}",
        secret::TOKEN_PREFIX,
        secret::random_secret().map_err(ApiError::Internal)?
    );
    let mut token = ApiToken {
        id: 0,
        name,
        secret_hash: secret::fingerprint(&secret),
        creator: principal.account.0,
        permissions: Vec::new(),
        teams: None,
        channel: Some(id),
        created_ms: state.auth.now_ms(),
        last_used_ms: None,
        revoked_ms: None,
    };
    let record = token.clone();
    token.id = state.auth.store(move |s| s.insert_token(&record)).await?;
    state
        .auth
        .audit_principal(
            principal,
            "config.channel.token",
            &format!("token:{}", token.id),
            "ok",
            &auth.addr,
            None,
            Some(json!({"channel": id, "name": token.name})),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: secret,
            record: TokenView::from(&token),
        }),
    ))
}

async fn channel_exists(state: &AppState, channel: ChannelId) -> Result<(), ApiError> {
    let exists = state
        .engine
        .read(move |core, _| core.state().channels.contains_key(&channel))
        .await?;
    if exists {
        Ok(())
    } else {
        Err(AuthError::NotFound.into())
    }
}

// ---- inbound -------------------------------------------------------------------------

/// Metadata of an attachment (the file stays with the channel).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentBody {
    /// MIME type.
    pub mime: String,
    /// File name.
    #[serde(default)]
    pub name: Option<String>,
    /// Where the channel keeps it.
    #[serde(default)]
    pub url: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
}

/// A customer message as the channel delivers it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"contact": "5535998765432", "name": "Maria Luiza de Santos Reis",
    "text": "Olá, preciso da segunda via do boleto", "message_id": "wamid.HBgNNTUzNTk5ODc2NTQzMhUCABIYFjNFQjA",
    "attachments": [{"mime": "image/jpeg", "name": "boleto.jpg", "url": "https://cdn.example.com/1.jpg", "size": 48213}]}))]
pub struct InboundMessage {
    /// The contact's identifier on the channel (phone number, chat id…; 1 to 200 characters).
    pub contact: String,
    /// The contact's display name, used when the contact is first seen.
    #[serde(default)]
    pub name: Option<String>,
    /// The text, at most 4 096 characters (may be empty with attachments).
    #[serde(default)]
    pub text: String,
    /// Attachment metadata (at most 10).
    #[serde(default)]
    pub attachments: Vec<AttachmentBody>,
    /// The channel's own id of the message (1 to 256 characters): a message whose id was
    /// already received in the last 24 h is a duplicate and writes nothing.
    #[serde(default)]
    pub message_id: Option<String>,
}

/// The answer to an inbound message.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"duplicate": false, "message": 12, "session": 4}))]
pub struct InboundAccepted {
    /// A repeat of a message already received (nothing was written).
    pub duplicate: bool,
    /// Our message id (the first one's, for a duplicate).
    pub message: u64,
    /// The session it went to (absent for a duplicate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<u64>,
}

/// A customer message arrives: continues the contact's open session on the channel or
/// starts one in the channel's bot flow. Idempotent on `message_id`.
#[utoipa::path(post, path = "/api/v1/channels/{id}/messages", tag = "channel-api", params(("id" = u64, Path, description = "Channel id")),
    request_body = InboundMessage,
    responses((status = 201, description = "Received", body = InboundAccepted),
              (status = 200, description = "A duplicate: nothing written", body = InboundAccepted),
              (status = 400, description = "`invalid_request` (malformed JSON, invalid UTF-8)", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, description = "`forbidden`: not a channel token", body = ErrorBody),
              (status = 404, description = "`not_found`: another channel's token, or no such channel", body = ErrorBody),
              (status = 409, description = "`channel_disabled`", body = ErrorBody),
              (status = 422, description = "`invalid_input` (text over 4 096 characters, empty text, identifier, more than 10 attachments, message id), `channel_without_flow`", body = ErrorBody)),
    security(("token" = [])))]
async fn inbound(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<InboundMessage>,
) -> Result<Response, ApiError> {
    let channel = ChannelId(id);
    auth.principal.require_channel(channel)?;
    let command = Command::CustomerMessage {
        channel,
        identifier: body.contact,
        name: body.name,
        text: body.text,
        attachments: body
            .attachments
            .into_iter()
            .map(|a| Attachment {
                mime: a.mime,
                name: a.name,
                url: a.url,
                size: a.size,
            })
            .collect(),
        external_id: body.message_id,
    };
    match state.engine.execute(command).await {
        Ok(done) => {
            let posted = done.events.iter().find_map(|e| match &e.kind {
                EventKind::MessagePosted {
                    session, message, ..
                } => Some((session.0, message.0)),
                _ => None,
            });
            let (session, message) =
                posted.ok_or_else(|| ApiError::Internal("no message posted".into()))?;
            Ok((
                StatusCode::CREATED,
                Json(InboundAccepted {
                    duplicate: false,
                    message,
                    session: Some(session),
                }),
            )
                .into_response())
        }
        Err(crate::engine::EngineError::Domain(DomainError::AlreadyReceived { message })) => Ok((
            StatusCode::OK,
            Json(InboundAccepted {
                duplicate: true,
                message: message.0,
                session: None,
            }),
        )
            .into_response()),
        Err(other) => Err(other.into()),
    }
}

// ---- delivery status -----------------------------------------------------------------

/// A delivery status report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"message": 15, "status": "read"}))]
pub struct StatusReport {
    /// Our message id (from the outbound feed).
    pub message: u64,
    /// `sent`, `delivered`, `read` or `failed`.
    #[schema(value_type = String)]
    pub status: DeliveryStatus,
}

/// Reports the delivery status of an outbound message of this channel.
#[utoipa::path(post, path = "/api/v1/channels/{id}/status", tag = "channel-api", params(("id" = u64, Path, description = "Channel id")),
    request_body = StatusReport,
    responses((status = 204, description = "Recorded"), (status = 403, body = ErrorBody),
              (status = 404, description = "`unknown_message`: not an outbound message of this channel (or older than the feed keeps)", body = ErrorBody)),
    security(("token" = [])))]
async fn status(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<StatusReport>,
) -> Result<StatusCode, ApiError> {
    let channel = ChannelId(id);
    auth.principal.require_channel(channel)?;
    let message = MessageId(body.message);
    if state.feeds.channel_of_message(message).await != Some(channel) {
        return Err(ApiError::Domain(DomainError::UnknownMessage(message)));
    }
    state
        .engine
        .execute(Command::MessageStatus {
            channel,
            message,
            status: body.status,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- outbound ------------------------------------------------------------------------

/// The cursor of the outbound feed.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboundQuery {
    /// Messages after this cursor (`next` of the previous page; 0 for the beginning).
    #[serde(default)]
    pub after: u64,
    /// At most this many (1 to 1000, default 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// The messages to deliver on this channel, in order.
#[utoipa::path(get, path = "/api/v1/channels/{id}/outbound", tag = "channel-api",
    params(("id" = u64, Path, description = "Channel id"), OutboundQuery),
    responses((status = 200, body = OutboundPage, example = json!({"messages": [{"seq": 41, "message": 15, "session": 4,
        "contact": 3, "to": "5535998765432", "author": "bot", "agent": null, "text": "Como posso ajudar?\n1 - Financeiro\n2 - Encerrar",
        "attachments": [], "at": 1795435200000_i64}], "next": 41, "gap": false})),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
async fn outbound(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
    Query(query): Query<OutboundQuery>,
) -> Result<Json<OutboundPage>, ApiError> {
    let channel = ChannelId(id);
    auth.principal.require_channel(channel)?;
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    Ok(Json(
        state.feeds.outbound(channel, query.after, limit).await,
    ))
}

// ---- webhook -------------------------------------------------------------------------

/// A webhook registration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://integracao.example.com/mirante", "secret": "um segredo bem comprido"}))]
pub struct WebhookBody {
    /// Where to POST each outbound message (`http://` or `https://`).
    pub url: String,
    /// The HMAC-SHA256 key of `X-Mirante-Signature` (16 to 256 characters).
    pub secret: String,
}

/// The channel's token, or an unrestricted `config.manage` administrator.
fn may_manage_webhook(principal: &Principal, channel: ChannelId) -> Result<(), AuthError> {
    if principal.channel().is_some() {
        return principal.require_channel(channel);
    }
    principal.require(Permission::ConfigManage)?;
    if principal.scope.is_restricted() {
        return Err(AuthError::Forbidden);
    }
    Ok(())
}

/// Registers (or replaces) the channel's webhook: each outbound message is POSTed as JSON
/// (the shape of an outbound item) with `X-Mirante-Signature: sha256=<hex HMAC>` and
/// `X-Mirante-Seq`; failures are retried with exponential back-off and, in the end, left
/// to the pull feed. Kept in memory: register again after a restart.
#[utoipa::path(put, path = "/api/v1/channels/{id}/webhook", tag = "channel-api", params(("id" = u64, Path, description = "Channel id")),
    request_body = WebhookBody,
    responses((status = 200, body = WebhookView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, description = "`invalid_input` (url, secret)", body = ErrorBody)),
    security(("token" = []), ("session" = [])))]
async fn set_webhook(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<WebhookBody>,
) -> Result<Json<WebhookView>, ApiError> {
    let channel = ChannelId(id);
    may_manage_webhook(&auth.principal, channel)?;
    channel_exists(&state, channel).await?;
    let url = body.url.trim().to_owned();
    let valid_url = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_control() || c.is_whitespace());
    if !valid_url {
        return Err(ApiError::Domain(DomainError::InvalidInput {
            field: "url",
            reason: "must be an http:// or https:// URL of at most 2048 characters".into(),
        }));
    }
    if !(16..=256).contains(&body.secret.chars().count()) {
        return Err(ApiError::Domain(DomainError::InvalidInput {
            field: "secret",
            reason: "must be 16 to 256 characters".into(),
        }));
    }
    let view = state.feeds.webhooks().register(channel, url, body.secret);
    state
        .auth
        .audit_principal(
            &auth.principal,
            "channel.webhook.set",
            &format!("channel:{id}"),
            "ok",
            &auth.addr,
            None,
            Some(json!({"url": view.url})),
        )
        .await;
    Ok(Json(view))
}

/// Removes the channel's webhook (the pull feed keeps everything).
#[utoipa::path(delete, path = "/api/v1/channels/{id}/webhook", tag = "channel-api", params(("id" = u64, Path, description = "Channel id")),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody),
              (status = 404, description = "No such channel, or no webhook", body = ErrorBody)),
    security(("token" = []), ("session" = [])))]
async fn remove_webhook(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    let channel = ChannelId(id);
    may_manage_webhook(&auth.principal, channel)?;
    if !state.feeds.webhooks().remove(channel) {
        return Err(AuthError::NotFound.into());
    }
    state
        .auth
        .audit_principal(
            &auth.principal,
            "channel.webhook.remove",
            &format!("channel:{id}"),
            "ok",
            &auth.addr,
            None,
            None,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
