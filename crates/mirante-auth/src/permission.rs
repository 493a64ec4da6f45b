//! The closed set of permissions (issue 3, SPEC M-60). Names are the wire format and are
//! stable: `monitor.view`, `session.follow`, … An unknown name is refused with
//! [`AuthError::UnknownPermission`] (code `unknown_permission`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::AuthError;

/// One permission a user group may grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// See the *Monitoramento* screen and its live stream.
    MonitorView,
    /// Follow (*acompanhar*) a session live.
    SessionFollow,
    /// Read a session's history (transcript).
    SessionHistory,
    /// Transfer sessions.
    SessionTransfer,
    /// Finish sessions.
    SessionFinish,
    /// Pause agents.
    AgentPause,
    /// Log agents out.
    AgentLogout,
    /// Internal chat with agents.
    ChatInternal,
    /// Reports.
    ReportsView,
    /// Configuration: channels, teams, agents, pauses, flows.
    ConfigManage,
    /// Accounts, user groups and API tokens.
    UsersManage,
    /// Read and export the audit log.
    AuditView,
}

impl Permission {
    /// Every permission, in a stable order.
    pub const ALL: [Permission; 12] = [
        Permission::MonitorView,
        Permission::SessionFollow,
        Permission::SessionHistory,
        Permission::SessionTransfer,
        Permission::SessionFinish,
        Permission::AgentPause,
        Permission::AgentLogout,
        Permission::ChatInternal,
        Permission::ReportsView,
        Permission::ConfigManage,
        Permission::UsersManage,
        Permission::AuditView,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::MonitorView => "monitor.view",
            Permission::SessionFollow => "session.follow",
            Permission::SessionHistory => "session.history",
            Permission::SessionTransfer => "session.transfer",
            Permission::SessionFinish => "session.finish",
            Permission::AgentPause => "agent.pause",
            Permission::AgentLogout => "agent.logout",
            Permission::ChatInternal => "chat.internal",
            Permission::ReportsView => "reports.view",
            Permission::ConfigManage => "config.manage",
            Permission::UsersManage => "users.manage",
            Permission::AuditView => "audit.view",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = AuthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| AuthError::UnknownPermission(s.chars().take(64).collect()))
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_refused() {
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>().unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        let names: Vec<_> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            names,
            [
                "monitor.view",
                "session.follow",
                "session.history",
                "session.transfer",
                "session.finish",
                "agent.pause",
                "agent.logout",
                "chat.internal",
                "reports.view",
                "config.manage",
                "users.manage",
                "audit.view"
            ]
        );
        let err = "monitor.edit".parse::<Permission>().unwrap_err();
        assert_eq!(err.code(), "unknown_permission");
        assert!(serde_json::from_str::<Permission>("\"x\"").is_err());
    }
}
