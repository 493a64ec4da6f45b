//! P1 / P2: fan-out of the live stream (see the module body once written).

fn main() {}
