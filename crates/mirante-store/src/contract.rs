//! The contract suite every [`crate::EventStore`] backend must pass (filled in by the store work).
