//! The imperative shell of Mirante (being built).
