//! Latency measurement for benchmarks: [`Latencies`] keeps the duration of every command by
//! kind (percentiles, rate), and [`Timed`] wraps any [`Driver`] to fill one, so the
//! in-process engine and the HTTP driver are measured the same way on the same scenario.

use crate::driver::Driver;
use mirante_core::{Command, Core, Event, Timestamp};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Durations by command kind (`customer_message`, `agent_login`, …), in microseconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Latencies {
    by_kind: BTreeMap<String, Vec<u64>>,
}

/// One row of [`Latencies::summary`].
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyRow {
    /// Command kind.
    pub kind: String,
    /// Samples.
    pub count: usize,
    /// Median, µs.
    pub p50_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// Largest, µs.
    pub max_us: u64,
}

impl Latencies {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one sample.
    pub fn record(&mut self, kind: &str, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        match self.by_kind.get_mut(kind) {
            Some(v) => v.push(us),
            None => {
                self.by_kind.insert(kind.to_string(), vec![us]);
            }
        }
    }

    /// Samples of every kind.
    pub fn count(&self) -> usize {
        self.by_kind.values().map(Vec::len).sum()
    }

    /// Sum of every sample.
    pub fn total(&self) -> Duration {
        Duration::from_micros(self.by_kind.values().flatten().sum())
    }

    /// One row per kind (sorted by kind), then `all`.
    pub fn summary(&self) -> Vec<LatencyRow> {
        let mut rows: Vec<LatencyRow> = self
            .by_kind
            .iter()
            .map(|(k, v)| row(k, v.clone()))
            .collect();
        let all: Vec<u64> = self.by_kind.values().flatten().copied().collect();
        if !all.is_empty() {
            rows.push(row("all", all));
        }
        rows
    }

    /// The row of one kind (`all` for every kind).
    pub fn of(&self, kind: &str) -> Option<LatencyRow> {
        self.summary().into_iter().find(|r| r.kind == kind)
    }
}

fn row(kind: &str, mut v: Vec<u64>) -> LatencyRow {
    v.sort_unstable();
    let pick = |q: f64| {
        if v.is_empty() {
            0
        } else {
            let i = ((v.len() as f64 - 1.0) * q).round() as usize;
            v.get(i).copied().unwrap_or(0)
        }
    };
    LatencyRow {
        kind: kind.to_string(),
        count: v.len(),
        p50_us: pick(0.5),
        p99_us: pick(0.99),
        max_us: v.last().copied().unwrap_or(0),
    }
}

/// A driver whose every `execute` is timed by command kind (ticks are not commands and are
/// not timed).
#[derive(Debug)]
pub struct Timed<D> {
    inner: D,
    latencies: Latencies,
}

impl<D> Timed<D> {
    /// Wraps `inner`.
    pub fn new(inner: D) -> Self {
        Self {
            inner,
            latencies: Latencies::new(),
        }
    }

    /// What was measured.
    pub fn latencies(&self) -> &Latencies {
        &self.latencies
    }

    /// The driver.
    pub fn inner(&self) -> &D {
        &self.inner
    }
}

impl<D: Driver> Driver for Timed<D> {
    type Error = D::Error;

    fn execute(&mut self, cmd: Command, now: Timestamp) -> Result<Vec<Event>, D::Error> {
        let kind = cmd.name();
        let t0 = Instant::now();
        let out = self.inner.execute(cmd, now);
        self.latencies.record(kind, t0.elapsed());
        out
    }

    fn tick(&mut self, now: Timestamp) -> Vec<Event> {
        self.inner.tick(now)
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        self.inner.next_deadline()
    }

    fn core(&self) -> Option<&Core> {
        self.inner.core()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_kind() {
        let mut l = Latencies::new();
        for us in 1..=100 {
            l.record("a", Duration::from_micros(us));
        }
        l.record("b", Duration::from_micros(7));
        let a = l.of("a").unwrap_or_else(|| row("none", Vec::new()));
        assert_eq!((a.count, a.p50_us, a.p99_us, a.max_us), (100, 51, 99, 100));
        assert_eq!(l.of("all").map(|r| r.count), Some(101));
        assert_eq!(l.count(), 101);
    }
}
