//! Identifier newtypes: one type per entity, so that an agent id can never be passed where a
//! session id is expected. Ids are allocated by the core from counters kept in its state
//! (deterministic: replaying the log allocates the same ids).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A channel (*Canal*): WhatsApp Business, Telegram, web chat…
    ChannelId
);
id_type!(
    /// A customer (*Contato*).
    ContactId
);
id_type!(
    /// A team (*Equipe*).
    TeamId
);
id_type!(
    /// An agent (*Agente*).
    AgentId
);
id_type!(
    /// A pause reason (*Pausa*).
    PauseReasonId
);
id_type!(
    /// A bot flow.
    FlowId
);
id_type!(
    /// A session (*Atendimento*). Never reused: a finished session is never reopened (D-2).
    SessionId
);
id_type!(
    /// A message inside a session (customer, bot, agent or system).
    MessageId
);
id_type!(
    /// An internal-chat message between a supervisor and an agent (M-11).
    InternalMessageId
);
id_type!(
    /// A supervisor / administrator as seen by the core (accounts map logins onto it).
    SupervisorId
);
