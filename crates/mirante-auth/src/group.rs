//! User groups (*Grupo de usuários*): *permissão total* or a set of permissions, and an
//! optional team restriction (*visualização apenas por equipe*). Every administrator
//! belongs to exactly one group; the default group "Administrador" (full, unrestricted)
//! exists from the first start.

use std::collections::BTreeSet;
use std::fmt;

use mirante_core::TeamId;
use serde::{Deserialize, Serialize};

use crate::{Permission, Scope};

/// A user group's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupId(pub u64);

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The id of the default group "Administrador", created by the first migration.
pub const DEFAULT_GROUP: GroupId = GroupId(1);

/// A user group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Id.
    pub id: GroupId,
    /// Name, e.g. "Supervisores – Vendas".
    pub name: String,
    /// *Permissão total*: every permission, present and future.
    pub full: bool,
    /// The permissions granted when not `full`.
    pub permissions: BTreeSet<Permission>,
    /// Team restriction; `None` = sees every team.
    pub teams: Option<BTreeSet<TeamId>>,
}

impl Group {
    /// The permissions a member holds (all of them when `full`).
    pub fn effective_permissions(&self) -> BTreeSet<Permission> {
        if self.full {
            Permission::ALL.into_iter().collect()
        } else {
            self.permissions.clone()
        }
    }

    /// What a member sees.
    pub fn scope(&self) -> Scope {
        Scope::from_teams(self.teams.clone())
    }
}

impl GroupId {
    /// Whether this is the default group.
    pub fn is_default(self) -> bool {
        self == DEFAULT_GROUP
    }
}
