//! Metric names and the Prometheus recorder's configuration, shared by `main` (which
//! installs the recorder) and the tests (which build one of their own).

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// Events written to the log (counter).
pub const EVENTS_TOTAL: &str = "mirante_events_total";
/// Open sessions by phase: `phase` = `bot` | `waiting` | `human` (gauge).
pub const SESSIONS_OPEN: &str = "mirante_sessions_open";
/// Agents by presence: `status` = `online` | `paused` | `offline` (gauge).
pub const AGENTS: &str = "mirante_agents";
/// Time the core takes to execute one command, in seconds (histogram).
pub const COMMAND_DURATION: &str = "mirante_command_duration_seconds";
/// Events per committed transaction (histogram, recorded by the store backend).
pub const COMMIT_BATCH_SIZE: &str = "mirante_commit_batch_size";

/// Every metric name Mirante exports.
pub const ALL: [&str; 5] = [
    EVENTS_TOTAL,
    SESSIONS_OPEN,
    AGENTS,
    COMMAND_DURATION,
    COMMIT_BATCH_SIZE,
];

/// The Prometheus builder with Mirante's histogram buckets.
pub fn prometheus_builder() -> Result<PrometheusBuilder, BuildError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(COMMAND_DURATION.to_owned()),
            &[
                1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1,
            ],
        )?
        .set_buckets_for_metric(
            Matcher::Full(COMMIT_BATCH_SIZE.to_owned()),
            &[
                1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 10_000.0,
            ],
        )
}

/// Installs the process-wide recorder and describes every metric (for `main` only).
pub fn install_recorder() -> Result<PrometheusHandle, BuildError> {
    let handle = prometheus_builder()?.install_recorder()?;
    describe();
    Ok(handle)
}

/// Registers the help text of every metric with the installed recorder.
pub fn describe() {
    use metrics::Unit;
    metrics::describe_counter!(
        EVENTS_TOTAL,
        Unit::Count,
        "Events appended to the durable log."
    );
    metrics::describe_gauge!(SESSIONS_OPEN, Unit::Count, "Open sessions by phase.");
    metrics::describe_gauge!(AGENTS, Unit::Count, "Agents by presence status.");
    metrics::describe_histogram!(
        COMMAND_DURATION,
        Unit::Seconds,
        "Time the core takes to execute one command (decide, apply, distribute)."
    );
    metrics::describe_histogram!(
        COMMIT_BATCH_SIZE,
        Unit::Count,
        "Events per committed transaction."
    );
}
