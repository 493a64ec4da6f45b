//! `/api/v1/contacts`: the customers (*Contatos*), created by the core on first contact.
//! Reading (list, search, one) needs `session.history` (customer data); correcting a
//! contact's registered name or number needs `config.manage` and goes through the core
//! (`UpdateContact`, audited `contact.update`). Contacts are a shared directory, not
//! team-scoped (like channels); search matches **exactly** as the monitor's contact filter
//! (M-53): the name as registered (outer whitespace trimmed), or the number normalised to
//! digits (`+55 (35) 99876-5432` → `5535998765432`).

use axum::Json;
use axum::extract::{Path, Query, State};
use mirante_auth::{AuthError, Permission};
use mirante_core::{Command, Contact, ContactId, EventKind};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, Auth};
use super::{ApiError, AppState, ErrorBody};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts))
        .routes(routes!(get_contact, update_contact))
}

/// Most contacts per answer.
pub const MAX_PAGE: usize = 500;

/// A contact.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 5, "name": "Maria Luiza de Santos Reis", "number": "5535998765432",
    "identifiers": [{"channel": 1, "identifier": "5535998765432"}]}))]
pub struct ContactView {
    /// Id.
    pub id: u64,
    /// Name as registered.
    pub name: String,
    /// Digits, country code first (phone channels).
    pub number: Option<String>,
    /// Its identifier on each channel where it was seen.
    pub identifiers: Vec<Identifier>,
}

/// A contact's identifier on one channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct Identifier {
    /// The channel.
    pub channel: u64,
    /// The identifier there.
    pub identifier: String,
}

impl From<&Contact> for ContactView {
    fn from(c: &Contact) -> Self {
        ContactView {
            id: c.id.0,
            name: c.name.clone(),
            number: c.number.clone(),
            identifiers: c
                .identifiers
                .iter()
                .map(|(ch, i)| Identifier {
                    channel: ch.0,
                    identifier: i.clone(),
                })
                .collect(),
        }
    }
}

/// The search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// Exact name, or a number (punctuation ignored); absent lists every contact.
    #[serde(default)]
    pub q: Option<String>,
    /// Contacts with an id above this (paging).
    #[serde(default)]
    pub after: u64,
    /// At most this many (1 to 500, default 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Lists contacts in id order, or searches them by exact name or number.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", params(ContactQuery),
    responses((status = 200, body = [ContactView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn list_contacts(
    State(state): State<AppState>,
    auth: Auth,
    Query(query): Query<ContactQuery>,
) -> Result<Json<Vec<ContactView>>, ApiError> {
    auth.principal.require(Permission::SessionHistory)?;
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let name = query.q.as_deref().map(str::trim).map(str::to_owned);
    let number = query.q.as_deref().and_then(mirante_core::normalize_number);
    let after = ContactId(query.after);
    let list = state
        .engine
        .read(move |core, _| {
            core.state()
                .contacts
                .range(ContactId(after.0.saturating_add(1))..)
                .map(|(_, c)| c)
                .filter(|c| match &name {
                    None => true,
                    Some(n) => {
                        c.name == *n
                            || number
                                .as_ref()
                                .is_some_and(|d| c.number.as_ref() == Some(d))
                    }
                })
                .take(limit)
                .map(ContactView::from)
                .collect()
        })
        .await?;
    Ok(Json(list))
}

/// One contact.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = u64, Path, description = "Contact id")),
    responses((status = 200, body = ContactView), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn get_contact(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<Json<ContactView>, ApiError> {
    auth.principal.require(Permission::SessionHistory)?;
    let view = state
        .engine
        .read(move |core, _| {
            core.state()
                .contacts
                .get(&ContactId(id))
                .map(ContactView::from)
        })
        .await?
        .ok_or(AuthError::NotFound)?;
    Ok(Json(view))
}

/// Corrections to a contact.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Maria Luiza de Santos Reis", "number": "+55 (35) 99876-5432"}))]
pub struct ContactPatch {
    /// Name as registered (1 to 200 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// Number; punctuation is stripped (8 to 15 digits).
    #[serde(default)]
    pub number: Option<String>,
}

/// Corrects a contact's registered name or number.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = u64, Path, description = "Contact id")),
    request_body = ContactPatch,
    responses((status = 200, body = ContactView), (status = 404, description = "`unknown_contact`", body = ErrorBody),
              (status = 422, description = "`invalid_input` (name, number)", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn update_contact(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<ContactPatch>,
) -> Result<Json<ContactView>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    let done = state
        .engine
        .execute(Command::UpdateContact {
            contact: ContactId(id),
            name: body.name,
            number: body.number,
        })
        .await?;
    let view = done
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ContactUpdated { contact } => Some(ContactView::from(contact)),
            _ => None,
        })
        .ok_or_else(|| ApiError::Internal("no contact update".into()))?;
    state
        .auth
        .audit_principal(
            &auth.principal,
            "contact.update",
            &format!("contact:{id}"),
            "ok",
            &auth.addr,
            None,
            Some(json!({"name": view.name, "number": view.number})),
        )
        .await;
    Ok(Json(view))
}
