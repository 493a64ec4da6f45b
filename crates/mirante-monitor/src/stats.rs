//! Today's figures per team (B-1): answered sessions, answered within the team's target and
//! the sum of waits, reset at the local day boundary; and the book of protocols handed out,
//! which tells "finished" from "unknown" for the protocol filter (M-54).

use mirante_core::Timestamp;
use mirante_core::protocol::local_day;
use std::collections::BTreeMap;

/// One team's figures for one local day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DayStats {
    /// The local day (`yyyymmdd`) these figures are for.
    pub day: u32,
    /// Sessions first answered that day.
    pub answered: u64,
    /// Of those, within the team's target.
    pub within_target: u64,
    /// Sum of their waits (ms).
    pub wait_sum_ms: i64,
}

impl DayStats {
    /// Counts one first assignment on `day` after waiting `wait_ms`. A day earlier than the
    /// current one (the clock went back) is not counted; a later one starts the new day.
    pub fn record(&mut self, day: u32, wait_ms: i64, target_ms: i64) {
        if day < self.day {
            return;
        }
        if day > self.day {
            *self = DayStats {
                day,
                ..DayStats::default()
            };
        }
        self.answered += 1;
        self.within_target += u64::from(wait_ms <= target_ms);
        self.wait_sum_ms = self.wait_sum_ms.saturating_add(wait_ms);
    }

    /// The figures as of `today` (zero when they are for another day).
    pub fn on(&self, today: u32) -> DayStats {
        if self.day == today {
            *self
        } else {
            DayStats::default()
        }
    }
}

/// Protocols handed out, compactly: the highest daily sequence of each local day (a day's
/// sequence is dense from 1, so `seq <= max[day]` means "handed out"). Days before
/// `complete_from` were not seen protocol by protocol (the monitor was bootstrapped from a
/// snapshot): there, anything up to the last protocol counts as handed out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ProtocolBook {
    max_seq: BTreeMap<u32, u64>,
    last: (u32, u64),
    complete_from: u32,
}

impl ProtocolBook {
    /// A book bootstrapped from the core's last protocol (`day`, `seq`).
    pub fn from_last(day: u32, seq: u64) -> ProtocolBook {
        let mut b = ProtocolBook {
            max_seq: BTreeMap::new(),
            last: (day, seq),
            complete_from: day,
        };
        if day > 0 {
            b.max_seq.insert(day, seq);
        }
        b
    }

    /// Records a protocol handed out.
    pub fn record(&mut self, protocol: &str) {
        if let Some((day, seq)) = parse(protocol) {
            let m = self.max_seq.entry(day).or_insert(0);
            *m = (*m).max(seq);
            self.last = self.last.max((day, seq));
        }
    }

    /// True when `protocol` was handed out (as far as the book can tell).
    pub fn issued(&self, protocol: &str) -> bool {
        let Some((day, seq)) = parse(protocol) else {
            return false;
        };
        if (day, seq) > self.last {
            return false;
        }
        match self.max_seq.get(&day) {
            Some(max) => seq <= *max,
            None => day < self.complete_from,
        }
    }
}

/// `yyyymmdd` + sequence (at least 6 digits), digits only.
fn parse(protocol: &str) -> Option<(u32, u64)> {
    if protocol.len() < 14 || !protocol.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (day, seq) = protocol.split_at(8);
    let day = day.parse::<u32>().ok()?;
    let seq = seq.parse::<u64>().ok()?;
    (seq >= 1).then_some((day, seq))
}

/// The local day of `at` in time zone `tz`.
pub(crate) fn day_of(at: Timestamp, tz: &str) -> u32 {
    local_day(at, tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b1_day_stats_reset_on_a_new_day_and_ignore_an_older_one() {
        let mut s = DayStats::default();
        s.record(20261123, 10_000, 20_000);
        s.record(20261123, 30_000, 20_000);
        assert_eq!((s.answered, s.within_target, s.wait_sum_ms), (2, 1, 40_000));
        s.record(20261122, 1, 20_000);
        assert_eq!(s.answered, 2);
        s.record(20261124, 5_000, 20_000);
        assert_eq!((s.day, s.answered, s.within_target), (20261124, 1, 1));
        assert_eq!(s.on(20261125), DayStats::default());
    }

    #[test]
    fn m54_book_tells_handed_out_from_unknown() {
        let mut b = ProtocolBook::default();
        b.record("20261123000001");
        b.record("20261123000002");
        b.record("20261124000001");
        assert!(b.issued("20261123000002"));
        assert!(!b.issued("20261123000003"));
        assert!(!b.issued("20261124000002"));
        assert!(!b.issued("20261122000001"));
        assert!(!b.issued("abc"));
        let boot = ProtocolBook::from_last(20261124, 7);
        assert!(
            boot.issued("20261120000099"),
            "before the snapshot: assume handed out"
        );
        assert!(boot.issued("20261124000007"));
        assert!(!boot.issued("20261124000008"));
    }
}
