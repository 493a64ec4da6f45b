//! SQLite backend of the Mirante event store (being built).
