//! `/api/v1/auth/*`: log-in (cookie session), who am I, log-out, log out everywhere,
//! password reset (request a link by e-mail, confirm with a new password).

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mirante_auth::{AuthError, Principal, PrincipalKind, Scope, validate};
use mirante_store::accounts::{AccountKind, ResetToken};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, Auth, ClientAddr, Tls, foreign_origin, public_base, session_cookie};
use super::{ApiError, AppState, ErrorBody};
use crate::auth::mail::Mail;
use crate::auth::{Audit, AuthChange, SESSION_COOKIE, ThrottleKey, secret};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(me))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
        .routes(routes!(request_reset))
        .routes(routes!(confirm_reset))
}

/// Log-in credentials.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    /// Login e-mail.
    pub email: String,
    /// Password.
    pub password: String,
}

/// What the caller sees.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeView {
    /// Sees every team.
    pub all: bool,
    /// The teams it sees when restricted.
    pub teams: Option<Vec<u64>>,
}

impl From<&Scope> for ScopeView {
    fn from(scope: &Scope) -> Self {
        ScopeView {
            all: !scope.is_restricted(),
            teams: scope.teams().map(|t| t.iter().map(|t| t.0).collect()),
        }
    }
}

/// The authenticated principal.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    /// The account (for a token: its creator).
    pub account: u64,
    /// `admin`, `agent` or `token`.
    pub kind: &'static str,
    /// The core's supervisor id (administrators and tokens).
    pub supervisor: Option<u64>,
    /// The core agent (agents).
    pub agent: Option<u64>,
    /// The token (tokens).
    pub token: Option<u64>,
    /// *Permissão total*.
    pub full: bool,
    /// Effective permissions.
    pub permissions: Vec<String>,
    /// Team scope.
    pub scope: ScopeView,
}

impl From<&Principal> for MeView {
    fn from(p: &Principal) -> Self {
        let (kind, supervisor, agent, token) = match p.kind {
            PrincipalKind::Admin { supervisor } => ("admin", Some(supervisor.0), None, None),
            PrincipalKind::Agent { agent } => ("agent", None, Some(agent.0), None),
            PrincipalKind::Token {
                token, supervisor, ..
            } => ("token", Some(supervisor.0), None, Some(token.0)),
        };
        MeView {
            account: p.account.0,
            kind,
            supervisor,
            agent,
            token,
            full: p.full,
            permissions: p
                .permissions
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            scope: ScopeView::from(&p.scope),
        }
    }
}

fn set_cookie(value: &str, max_age_s: i64, secure: bool) -> Result<HeaderValue, ApiError> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_s}{secure}"
    ))
    .map_err(|e| ApiError::Internal(format!("cookie header: {e}")))
}

/// Logs in with e-mail and password and sets the session cookie (`HttpOnly`,
/// `SameSite=Strict`, `Secure` behind TLS). A new session id is issued at every log-in;
/// a session cookie sent along is ended. Failures never say whether the e-mail exists.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in; `Set-Cookie: mirante_session=…`", body = MeView),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 403, description = "`csrf_origin`: a foreign Origin", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`, with `Retry-After`", body = ErrorBody),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Tls(tls): Tls,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let auth = &state.auth;
    if foreign_origin(&headers, &auth.config) {
        return Err(AuthError::CsrfOrigin.into());
    }
    let email: String = body
        .email
        .trim()
        .to_lowercase()
        .chars()
        .take(validate::MAX_EMAIL_CHARS + 1)
        .collect();
    let refused = |outcome: &'static str| Audit {
        actor: "anonymous",
        action: "auth.login",
        target: &email,
        outcome,
        addr: Some(&addr),
        team: None,
        detail: None,
    };
    let throttled = auth
        .throttled(ThrottleKey::Address, &addr)
        .and_then(|()| auth.throttled(ThrottleKey::Account, &email));
    if let Err(error) = throttled {
        auth.audit(refused("too_many_attempts")).await;
        return Err(error.into());
    }
    let lookup = email.clone();
    let account = auth
        .store(move |s| s.account_by_email(&lookup))
        .await?
        .filter(|a| !a.disabled);
    let password = body.password;
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let too_long = password.chars().count() > validate::MAX_PASSWORD_CHARS;
    let verified = tokio::task::spawn_blocking(move || {
        // Same work whether or not the account exists (a dummy hash is verified).
        let candidate = if too_long { "" } else { password.as_str() };
        secret::verify_password(candidate, hash.as_deref()) && !too_long
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password check failed: {e}")))?;
    let Some(account) = account.filter(|_| verified) else {
        auth.record_attempt(ThrottleKey::Address, &addr, false);
        auth.record_attempt(ThrottleKey::Account, &email, false);
        auth.audit(refused("invalid_credentials")).await;
        return Err(AuthError::InvalidCredentials.into());
    };
    auth.record_attempt(ThrottleKey::Account, &email, true);
    // Session fixation: whatever session the browser had is ended; a new id is issued.
    if let Some(old) = session_cookie(&headers) {
        let old = secret::fingerprint(&old);
        let ended = old.clone();
        auth.store(move |s| s.delete_session(&old)).await?;
        auth.changed(AuthChange::Session(ended));
    }
    let cookie = auth.open_session(account.id, Some(addr.clone())).await?;
    let principal = auth.principal_of(&state.engine, &account).await?;
    auth.audit_principal(&principal, "auth.login", &email, "ok", &addr, None, None)
        .await;
    let max_age = auth.config.sessions.absolute_ms / 1000;
    let mut response = axum::Json(MeView::from(&principal)).into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, set_cookie(&cookie, max_age, tls)?);
    Ok(response)
}

/// The authenticated principal: kind, permissions and team scope.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = MeView), (status = 401, description = "`unauthenticated`", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn me(auth: Auth) -> axum::Json<MeView> {
    axum::Json(MeView::from(&auth.principal))
}

/// Ends this session (a no-op for an API token) and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out"), (status = 401, body = ErrorBody), (status = 403, description = "`csrf_origin`", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn logout(
    State(state): State<AppState>,
    Tls(tls): Tls,
    auth: Auth,
) -> Result<Response, ApiError> {
    if let Some(session) = auth.session.clone() {
        let ended = session.clone();
        state
            .auth
            .store(move |s| s.delete_session(&session))
            .await?;
        state.auth.changed(AuthChange::Session(ended));
    }
    let target = format!("user:{}", auth.principal.account);
    state
        .auth
        .audit_principal(
            &auth.principal,
            "auth.logout",
            &target,
            "ok",
            &auth.addr,
            None,
            None,
        )
        .await;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, set_cookie("", 0, tls)?);
    Ok(response)
}

/// Ends every session of the caller's account ("log out everywhere").
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth",
    responses((status = 204, description = "Every session ended"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn logout_all(
    State(state): State<AppState>,
    Tls(tls): Tls,
    auth: Auth,
) -> Result<Response, ApiError> {
    let account = auth.principal.account.0;
    let ended = state
        .auth
        .store(move |s| s.delete_sessions_of(account))
        .await?;
    state.auth.changed(AuthChange::Account(account));
    let target = format!("user:{account}");
    state
        .auth
        .audit_principal(
            &auth.principal,
            "auth.logout_all",
            &target,
            "ok",
            &auth.addr,
            None,
            Some(serde_json::json!({ "sessions": ended })),
        )
        .await;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, set_cookie("", 0, tls)?);
    Ok(response)
}

/// A password-reset request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequestBody {
    /// The account's e-mail.
    pub email: String,
}

/// A new password with its reset token.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetConfirmBody {
    /// The token from the e-mailed link.
    pub token: String,
    /// The new password (at least 10 characters).
    pub password: String,
}

/// Sends a single-use, expiring reset link to the account's e-mail, if it exists. The
/// answer is the same either way (202).
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = ResetRequestBody,
    responses((status = 202, description = "If the account exists, a link was sent"),
              (status = 429, description = "`too_many_attempts`", body = ErrorBody)))]
async fn request_reset(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Tls(tls): Tls,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ResetRequestBody>,
) -> Result<StatusCode, ApiError> {
    let auth = &state.auth;
    if foreign_origin(&headers, &auth.config) {
        return Err(AuthError::CsrfOrigin.into());
    }
    auth.throttled(ThrottleKey::Address, &addr)?;
    // Every request counts against the address: bounded mail per source.
    auth.record_attempt(ThrottleKey::Address, &addr, false);
    let Ok(email) = validate::email(&body.email) else {
        return Ok(StatusCode::ACCEPTED);
    };
    let lookup = email.clone();
    let account = auth
        .store(move |s| s.account_by_email(&lookup))
        .await?
        .filter(|a| !a.disabled);
    let outcome = match account {
        Some(account) => {
            let base = public_base(&headers, &auth.config, tls);
            send_password_link(&state, account.id, &email, &base, auth.config.reset_ttl_ms).await?;
            "ok"
        }
        None => "no_account",
    };
    auth.audit(Audit {
        actor: "anonymous",
        action: "auth.password_reset_request",
        target: &email,
        outcome,
        addr: Some(&addr),
        team: None,
        detail: None,
    })
    .await;
    Ok(StatusCode::ACCEPTED)
}

/// Creates a reset token for `account` and e-mails the link to `email`.
pub(crate) async fn send_password_link(
    state: &AppState,
    account: u64,
    email: &str,
    base: &str,
    ttl_ms: i64,
) -> Result<(), ApiError> {
    let token = secret::random_secret().map_err(ApiError::Internal)?;
    let now = state.auth.now_ms();
    let reset = ResetToken {
        hash: secret::fingerprint(&token),
        account,
        created_ms: now,
        expires_ms: now + ttl_ms,
    };
    state.auth.store(move |s| s.insert_reset(&reset)).await?;
    let hours = ttl_ms / 3_600_000;
    let mail = Mail {
        to: email.to_owned(),
        subject: "Mirante: defina sua senha / set your password".into(),
        body: format!(
            "Para definir sua senha do Mirante, abra o link abaixo (válido por {hours} h, uma única vez).\n\
             To set your Mirante password, open the link below (valid for {hours} h, once).\n\n\
             {base}/reset-password#token={token}\n"
        ),
    };
    if let Err(error) = state.auth.mailer.send(mail).await {
        tracing::error!(%error, "could not send the password link");
    }
    Ok(())
}

/// Sets a new password with a reset token (single use, expiring) and ends every session
/// of the account.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirmBody,
    responses((status = 204, description = "Password set"),
              (status = 400, description = "`invalid_reset_token`", body = ErrorBody),
              (status = 422, description = "`weak_password`, `field_too_long`", body = ErrorBody)))]
async fn confirm_reset(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ResetConfirmBody>,
) -> Result<StatusCode, ApiError> {
    let auth = &state.auth;
    if foreign_origin(&headers, &auth.config) {
        return Err(AuthError::CsrfOrigin.into());
    }
    validate::password(&body.password)?;
    auth.throttled(ThrottleKey::Address, &addr)?;
    let hash = secret::fingerprint(body.token.trim());
    let now = auth.now_ms();
    let Some(account_id) = auth.store(move |s| s.take_reset(&hash, now)).await? else {
        auth.record_attempt(ThrottleKey::Address, &addr, false);
        return Err(AuthError::InvalidResetToken.into());
    };
    let password = body.password;
    let hashed = tokio::task::spawn_blocking(move || secret::hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(format!("hashing failed: {e}")))?
        .map_err(ApiError::Internal)?;
    let account = auth
        .store(move |s| s.account(account_id))
        .await?
        .ok_or(AuthError::InvalidResetToken)?;
    let mut updated = account.clone();
    updated.password_hash = Some(hashed);
    updated.updated_ms = now;
    auth.store(move |s| {
        s.update_account(&updated)?;
        s.delete_sessions_of(updated.id)
    })
    .await?;
    auth.changed(AuthChange::Account(account_id));
    let actor = match account.kind {
        AccountKind::Admin { .. } => format!("admin:{account_id}"),
        AccountKind::Agent { .. } => format!("agent:{account_id}"),
    };
    auth.audit(Audit {
        actor: &actor,
        action: "auth.password_reset",
        target: &format!("user:{account_id}"),
        outcome: "ok",
        addr: Some(&addr),
        team: None,
        detail: None,
    })
    .await;
    Ok(StatusCode::NO_CONTENT)
}
