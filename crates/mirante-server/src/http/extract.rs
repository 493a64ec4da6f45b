//! Extractors every handler uses: [`Auth`] (the principal of a session cookie or an API
//! token, with the CSRF check), [`ClientAddr`] (the source address) and [`ApiJson`] (a JSON
//! body whose rejections become stable error codes).
//!
//! The request path of every protected route is: `Auth` → `principal.require(permission)`
//! → `principal.scope` filters or refuses (404) what the handler reads or touches.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use mirante_auth::{AuthError, Principal};
use serde::de::DeserializeOwned;

use super::{ApiError, AppState};
use crate::auth::secret::fingerprint;
use crate::auth::{AuthConfig, Credential, SESSION_COOKIE};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Auth {
    /// Who, with its permissions and scope.
    pub principal: Principal,
    /// Source address (for the audit log).
    pub addr: String,
    /// The fingerprint of the session cookie, when authenticated by one.
    pub session: Option<String>,
    /// How it authenticated (a live stream checks it again when accounts change).
    pub credential: Credential,
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = peer(parts);
        let addr = client_addr(&parts.headers, peer, &state.auth.config);
        if let Some(value) = parts.headers.get(AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or(ApiError::Auth(AuthError::Unauthenticated))?;
            // Bearer requests carry no ambient credential: exempt from the Origin check.
            let principal = state.auth.principal_from_token(token).await?;
            return Ok(Auth {
                principal,
                addr,
                session: None,
                credential: Credential::Token(fingerprint(token)),
            });
        }
        let cookie =
            session_cookie(&parts.headers).ok_or(ApiError::Auth(AuthError::Unauthenticated))?;
        let (principal, session) = state
            .auth
            .principal_from_session(&state.engine, &cookie)
            .await?;
        if !is_safe_method(&parts.method) && !origin_ok(&parts.headers, &state.auth.config) {
            return Err(ApiError::Auth(AuthError::CsrfOrigin));
        }
        Ok(Auth {
            principal,
            addr,
            credential: Credential::Session(session.clone()),
            session: Some(session),
        })
    }
}

/// The caller's source address: the peer, or — when the peer is a trusted proxy — the
/// last address of `X-Forwarded-For`.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = peer(parts);
        Ok(ClientAddr(client_addr(
            &parts.headers,
            peer,
            &state.auth.config,
        )))
    }
}

/// A JSON body; malformed JSON is `invalid_request` (400), an oversized body
/// `body_too_large` (413).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| ApiJson(value))
            .map_err(ApiError::from)
    }
}

fn peer(parts: &Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
}

fn trusted(peer: Option<SocketAddr>, config: &AuthConfig) -> bool {
    peer.is_some_and(|p| config.trusted_proxies.contains(&p.ip()))
}

/// The source address as recorded in the audit log and keyed by the throttle.
pub fn client_addr(headers: &HeaderMap, peer: Option<SocketAddr>, config: &AuthConfig) -> String {
    if trusted(peer, config)
        && let Some(forwarded) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    {
        return forwarded.to_string();
    }
    peer.map_or_else(|| "unknown".to_owned(), |p| p.ip().to_string())
}

/// Whether the request reached us over TLS: `--public-url https://…`, or
/// `X-Forwarded-Proto: https` from a trusted proxy.
pub fn is_https(parts: &Parts, config: &AuthConfig) -> bool {
    if let Some(url) = &config.public_url {
        return url.starts_with("https://");
    }
    trusted(peer(parts), config)
        && parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The origin (`scheme://host[:port]`) of a URL.
pub fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

/// CSRF defence for cookie-authenticated state changes: the `Origin` header must be the
/// server's own — `--public-url`'s origin when configured, else `http(s)://<Host>`.
pub fn origin_ok(headers: &HeaderMap, config: &AuthConfig) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    match &config.public_url {
        Some(url) => origin.eq_ignore_ascii_case(origin_of(url)),
        None => {
            let Some(host) = headers.get(HOST).and_then(|v| v.to_str().ok()) else {
                return false;
            };
            origin.eq_ignore_ascii_case(&format!("http://{host}"))
                || origin.eq_ignore_ascii_case(&format!("https://{host}"))
        }
    }
}

/// The value of the session cookie, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether the request came over TLS (see [`is_https`]); decides the cookie's `Secure`.
#[derive(Debug, Clone, Copy)]
pub struct Tls(pub bool);

impl FromRequestParts<AppState> for Tls {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Tls(is_https(parts, &state.auth.config)))
    }
}

/// The base URL for links in e-mails: `--public-url`, else the request's own origin.
pub fn public_base(headers: &HeaderMap, config: &AuthConfig, tls: bool) -> String {
    if let Some(url) = &config.public_url {
        return origin_of(url).to_owned();
    }
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// Anonymous state-changing routes (log-in, password reset): a browser always sends
/// `Origin` on them, and a foreign one is refused (login CSRF); a missing one (scripts,
/// curl) is accepted, as there is no ambient credential to abuse.
pub fn foreign_origin(headers: &HeaderMap, config: &AuthConfig) -> bool {
    headers.contains_key(ORIGIN) && !origin_ok(headers, config)
}
