//! The `mirante` binary (being built).
fn main() {}
