//! Tests of the monitor: rules by requirement id (given/when/then over a real core's
//! events) and property tests against a model rebuilt from scratch and a naive oracle.

mod properties;
mod rules;
mod support;
