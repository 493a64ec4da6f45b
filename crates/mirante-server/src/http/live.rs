//! The live stream (permission `monitor.view`): `GET /api/v1/monitor/live` over WebSocket,
//! and the same messages over Server-Sent Events at `GET /api/v1/monitor/events` (filter in
//! the query string as for `GET /api/v1/monitor`, `resume_from` in the query).
//!
//! The protocol itself (subscribe, snapshot, deltas, resume, resync, coalescing, follow and
//! chat on the same connection) is [`crate::monitor::stream`]; this module only does the
//! transports: authentication before the upgrade (a cookie-authenticated upgrade must come
//! from the server's own `Origin`), the per-user and total connection limits, one task per
//! socket that reads and writes it, and one flush per batch of frames.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, Stream, StreamExt};
use mirante_auth::{AuthError, Permission};
use tokio::sync::mpsc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Auth, origin_ok};
use super::{ApiError, AppState, ErrorBody, lang_from_headers};
use crate::monitor::StreamSlot;
use crate::monitor::stream::{Caller, Frame, Subscriber, Transport, drive, load_hidden};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(events))
}

/// Authorizes a stream and takes a connection slot.
async fn open(
    state: &AppState,
    auth: &Auth,
    headers: &HeaderMap,
) -> Result<(StreamSlot, Subscriber), ApiError> {
    auth.principal.require(Permission::MonitorView)?;
    // Cross-site WebSocket hijacking: a browser sends Origin on every upgrade.
    if auth.session.is_some()
        && headers.contains_key(axum::http::header::ORIGIN)
        && !origin_ok(headers, &state.auth.config)
    {
        return Err(ApiError::Auth(AuthError::CsrfOrigin));
    }
    let account = auth.principal.account.0;
    let slot = state
        .monitor
        .open_stream(account)
        .ok_or(ApiError::TooManyStreams)?;
    let name = state
        .auth
        .store(move |s| s.account(account))
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    let hidden = load_hidden(&state.auth, account).await;
    let sub = Subscriber::new(
        state.monitor.clone(),
        &auth.principal,
        name,
        hidden,
        lang_from_headers(headers),
    );
    Ok((slot, sub))
}

/// The connection's caller, to audit its actions and check its rights again.
fn caller(state: &AppState, auth: Auth, headers: &HeaderMap) -> Caller {
    Caller {
        auth: state.auth.clone(),
        engine: state.engine.clone(),
        credential: auth.credential,
        principal: auth.principal,
        addr: auth.addr,
        lang: lang_from_headers(headers),
    }
}

/// The socket, read and written by the connection's one task (no split, no reader task:
/// a frame written takes no lock shared with a reader and wakes no one else).
struct WsIo(WebSocket);

impl Transport for WsIo {
    async fn send(&mut self, frames: Vec<Frame>) -> bool {
        for f in frames {
            if self.0.feed(Message::Text(f)).await.is_err() {
                return false;
            }
        }
        self.0.flush().await.is_ok()
    }

    fn poll_text(&mut self, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        loop {
            match std::task::ready!(Pin::new(&mut self.0).poll_next(cx)) {
                Some(Ok(Message::Text(text))) => return Poll::Ready(Some(text)),
                // Pings are answered by the protocol layer; binary frames mean nothing here.
                Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => return Poll::Ready(None),
            }
        }
    }

    async fn refuse(&mut self) {
        // 1008 "policy violation": the server will not go on serving this caller.
        let frame = CloseFrame {
            code: close_code::POLICY,
            reason: "rights withdrawn".into(),
        };
        let _ = self.0.send(Message::Close(Some(frame))).await;
    }
}

/// The live stream over WebSocket. Send
/// `{"type":"subscribe","filter":{…},"resume_from":seq?,"frame_ms":ms?}`; receive
/// `snapshot`, then `delta`s (see ARCHITECTURE.md, "The live stream"). 429
/// `too_many_streams` beyond the per-user or total limit.
#[utoipa::path(get, path = "/api/v1/monitor/live", tag = "monitor",
    responses((status = 101, description = "switching to the WebSocket protocol"),
              (status = 400, description = "not a WebSocket upgrade", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 429, description = "too many streams", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn live(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let (slot, sub) = open(&state, &auth, &headers).await?;
    let ws = ws.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let caller = caller(&state, auth, &headers);
    Ok(ws
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| async move {
            drive(sub, WsIo(socket), caller).await;
            drop(slot);
        }))
}

struct SseOut(mpsc::Sender<Vec<Frame>>);

impl Transport for SseOut {
    async fn send(&mut self, frames: Vec<Frame>) -> bool {
        self.0.send(frames).await.is_ok()
    }
}

/// The number a query string gives `name`, if any.
fn query_number(query: Option<&str>, name: &str) -> Result<Option<u64>, ApiError> {
    query
        .unwrap_or_default()
        .split('&')
        .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| ApiError::BadRequest(format!("`{name}` must be a number")))
        })
        .transpose()
}

/// The live stream over Server-Sent Events (fallback): the filter as query parameters
/// (`agent`, `team`, `channel`, `contact`, `protocol`), `resume_from` optional; the same
/// messages as the WebSocket, one per `data:` line.
#[utoipa::path(get, path = "/api/v1/monitor/events", tag = "monitor",
    params(
        ("agent" = Option<Vec<u64>>, Query, description = "M-50, repeatable"),
        ("team" = Option<Vec<u64>>, Query, description = "M-51, repeatable"),
        ("channel" = Option<Vec<u64>>, Query, description = "M-52, repeatable"),
        ("contact" = Option<String>, Query, description = "M-53"),
        ("protocol" = Option<String>, Query, description = "M-54"),
        ("resume_from" = Option<u64>, Query, description = "the last sequence seen"),
        ("frame_ms" = Option<u64>, Query, description = "least time between two deltas, in ms (10–1000 by default; absent: the server's, 100)"),
    ),
    responses((status = 200, description = "text/event-stream of the live messages", content_type = "text/event-stream"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 429, description = "too many streams", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn events(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    auth.principal.require(Permission::MonitorView)?;
    let filter = super::monitor::filter_from_query(query.as_deref())?;
    let resume_from = query_number(query.as_deref(), "resume_from")?;
    let frame_ms = query_number(query.as_deref(), "frame_ms")?;
    let (slot, mut sub) = open(&state, &auth, &headers).await?;
    if let Some(ms) = frame_ms {
        sub.set_frame_ms(ms)?;
    }
    sub.subscribe(filter, resume_from);
    let (tx, rx) = mpsc::channel::<Vec<Frame>>(2);
    let caller = caller(&state, auth, &headers);
    tokio::spawn(async move {
        drive(sub, SseOut(tx), caller).await;
        drop(slot);
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|frames| (frames, rx))
    })
    .flat_map(|frames| {
        futures_util::stream::iter(
            frames
                .into_iter()
                .map(|f| Ok::<_, Infallible>(SseEvent::default().data(f.as_str()))),
        )
    });
    Ok((
        StatusCode::OK,
        Sse::new(stream).keep_alive(KeepAlive::default()),
    )
        .into_response())
}
