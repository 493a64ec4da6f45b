//! Protocol numbers (*Protocolo*): local date in the configured time zone plus a daily
//! sequence, digits only (`20261123000042`). Generated when a session first reaches an agent.
//! Unique forever: the sequence never goes back, even if the clock or the time zone does.

use crate::time::Timestamp;
use chrono::{Datelike, TimeZone};
use serde::{Deserialize, Serialize};

/// The last protocol handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProtocolState {
    /// Local day of the last protocol, as `yyyymmdd` (0 before the first).
    pub day: u32,
    /// Sequence within that day (1-based).
    pub seq: u64,
}

impl ProtocolState {
    /// The protocol for an assignment at `now` in time zone `tz` (an IANA name; an unknown
    /// name falls back to UTC, though settings validation never lets one in).
    pub fn next(&self, now: Timestamp, tz: &str) -> String {
        let (day, seq) = self.next_parts(now, tz);
        format!("{day:08}{seq:06}")
    }

    fn next_parts(&self, now: Timestamp, tz: &str) -> (u32, u64) {
        let today = local_day(now, tz);
        if today > self.day {
            (today, 1)
        } else {
            // Same day, or the clock went back: continue the last day's sequence.
            (self.day, self.seq + 1)
        }
    }

    /// Records a protocol handed out (used by `apply`). Malformed input changes nothing.
    pub fn record(&mut self, protocol: &str) {
        if protocol.len() < 9 || !protocol.bytes().all(|b| b.is_ascii_digit()) {
            return;
        }
        let (day, seq) = protocol.split_at(8);
        if let (Ok(day), Ok(seq)) = (day.parse::<u32>(), seq.parse::<u64>())
            && (day, seq) > (self.day, self.seq)
        {
            self.day = day;
            self.seq = seq;
        }
    }
}

/// The local calendar day of `now` in `tz`, as `yyyymmdd`.
pub fn local_day(now: Timestamp, tz: &str) -> u32 {
    let date = match tz.parse::<chrono_tz::Tz>() {
        Ok(zone) => zone
            .timestamp_millis_opt(now.0)
            .single()
            .map(|d| d.date_naive()),
        Err(_) => chrono::Utc
            .timestamp_millis_opt(now.0)
            .single()
            .map(|d| d.date_naive()),
    };
    match date {
        Some(d) => {
            let y = u32::try_from(d.year()).unwrap_or(0);
            y * 10_000 + d.month() * 100 + d.day()
        }
        None => 0,
    }
}

/// True when `tz` is a known IANA time zone.
pub fn is_valid_time_zone(tz: &str) -> bool {
    tz.parse::<chrono_tz::Tz>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-23T12:00:00Z = 09:00 in São Paulo.
    const NOON_UTC: i64 = 1_795_435_200_000;

    #[test]
    fn protocol_is_local_date_plus_daily_sequence() {
        let mut st = ProtocolState::default();
        let p = st.next(Timestamp(NOON_UTC), "America/Sao_Paulo");
        assert_eq!(p, "20261123000001");
        st.record(&p);
        assert_eq!(
            st.next(Timestamp(NOON_UTC + 1), "America/Sao_Paulo"),
            "20261123000002"
        );
    }

    #[test]
    fn protocol_uses_the_local_day_not_utc() {
        // 2026-11-24T01:00Z is still the 23rd in São Paulo (UTC-3).
        let st = ProtocolState::default();
        let t = Timestamp(NOON_UTC + 13 * 3_600_000);
        assert_eq!(st.next(t, "America/Sao_Paulo"), "20261123000001");
        assert_eq!(st.next(t, "UTC"), "20261124000001");
    }

    #[test]
    fn protocol_never_repeats_when_the_clock_goes_back() {
        let mut st = ProtocolState::default();
        let a = st.next(Timestamp(NOON_UTC + 86_400_000), "UTC");
        st.record(&a);
        let b = st.next(Timestamp(NOON_UTC), "UTC");
        assert_ne!(a, b);
        assert!(b > a);
    }

    #[test]
    fn new_day_restarts_the_sequence() {
        let mut st = ProtocolState::default();
        st.record("20261123000042");
        assert_eq!(
            st.next(Timestamp(NOON_UTC + 86_400_000), "UTC"),
            "20261124000001"
        );
    }
}
