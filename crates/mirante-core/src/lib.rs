//! The contract center as a pure state machine (being built).
