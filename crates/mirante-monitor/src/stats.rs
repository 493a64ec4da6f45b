//! Today's figures per team (B-1): answered sessions, answered within the team's target and
//! the sum of waits, reset at the local day boundary; the fold that rebuilds them from the
//! log after a bootstrap from a snapshot ([`DayRebuild`]); and the book of protocols handed
//! out, which tells "finished" from "unknown" for the protocol filter (M-54).

use mirante_core::protocol::local_day;
use mirante_core::{Event, EventKind, SessionId, TeamId, Timestamp};
use std::collections::{BTreeMap, HashMap};

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

/// Rebuilds today's first assignments from the log (B-1), without the rest of the model.
///
/// A model bootstrapped from a snapshot ([`crate::Monitor::from_state`]) has no history, so
/// the shell feeds this fold the log from where the day starts up to the snapshot's sequence
/// ([`DayRebuild::forward`], in order), then hands the result to
/// [`crate::Monitor::record_first_assignment`]. A first assignment is the `SessionAssigned`
/// that carries the protocol (the core hands one out on the first assignment only); its wait
/// is the time since the session's last `SessionQueued` (none: 0), exactly as
/// [`crate::Monitor::apply`] counts it. A session queued before the range and first
/// assigned inside it is [`DayRebuild::missing`] its queue time: the shell reads the log
/// backwards from the start of the range ([`DayRebuild::backward`], newest first) until
/// nothing is missing (each such session's start bounds the walk).
#[derive(Debug, Default)]
pub struct DayRebuild {
    /// Sessions seen starting or queued in the range and not yet first-assigned: their last
    /// queue time.
    queued: HashMap<SessionId, Option<Timestamp>>,
    /// First assignments whose queue time is before the range: (team, assigned at).
    missing: HashMap<SessionId, (TeamId, Timestamp)>,
    /// First assignments: (team, assigned at, wait in ms), in log order.
    done: Vec<(TeamId, Timestamp, i64)>,
}

impl DayRebuild {
    /// An empty fold.
    pub fn new() -> DayRebuild {
        DayRebuild::default()
    }

    /// Folds the next event of the range (in log order).
    pub fn forward(&mut self, event: &Event) {
        let at = event.at;
        match &event.kind {
            EventKind::SessionStarted { session, .. } => {
                self.queued.insert(*session, None);
            }
            EventKind::SessionQueued { session, .. } => {
                self.queued.insert(*session, Some(at));
            }
            EventKind::SessionAssigned {
                session,
                team,
                protocol: Some(_),
                ..
            } => match self.queued.remove(session) {
                Some(queued) => {
                    let wait = queued.map_or(0, |q| at.since(q).max(0));
                    self.done.push((*team, at, wait));
                }
                None => {
                    self.missing.insert(*session, (*team, at));
                }
            },
            EventKind::SessionFinished { session, .. } => {
                self.queued.remove(session);
            }
            _ => {}
        }
    }

    /// True while some first assignment still lacks its queue time.
    pub fn missing(&self) -> bool {
        !self.missing.is_empty()
    }

    /// Folds an event from before the range, walking backwards (newest first): the first
    /// `SessionQueued` met of a missing session is its last one; meeting its start first
    /// means it was never queued (wait 0).
    pub fn backward(&mut self, event: &Event) {
        let (session, queued) = match &event.kind {
            EventKind::SessionQueued { session, .. } => (session, Some(event.at)),
            EventKind::SessionStarted { session, .. } => (session, None),
            _ => return,
        };
        if let Some((team, at)) = self.missing.remove(session) {
            let wait = queued.map_or(0, |q| at.since(q).max(0));
            self.done.push((team, at, wait));
        }
    }

    /// The first assignments found: (team, assigned at, wait in ms). Those still missing
    /// their queue time (a log that does not reach their start) count with a wait of 0.
    pub fn finish(mut self) -> Vec<(TeamId, Timestamp, i64)> {
        for (_, (team, at)) in self.missing.drain() {
            self.done.push((team, at, 0));
        }
        self.done.sort_by_key(|(_, at, _)| *at);
        self.done
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

    fn ev(at: i64, kind: EventKind) -> Event {
        Event {
            at: Timestamp(at),
            kind,
        }
    }

    fn queued(s: u64, at: i64) -> Event {
        ev(
            at,
            EventKind::SessionQueued {
                session: SessionId(s),
                team: TeamId(1),
                reason: mirante_core::QueueReason::Routed,
                front: false,
                collected: BTreeMap::new(),
            },
        )
    }

    fn assigned(s: u64, at: i64, first: bool) -> Event {
        ev(
            at,
            EventKind::SessionAssigned {
                session: SessionId(s),
                agent: mirante_core::AgentId(1),
                team: TeamId(1),
                protocol: first.then(|| format!("20261125{s:06}")),
                by: mirante_core::AssignedBy::Distribution,
            },
        )
    }

    #[test]
    fn b1_rebuild_counts_first_assignments_with_waits_from_before_the_range() {
        let mut r = DayRebuild::new();
        // Session 1 queued before the range (at 100), session 2 inside it (at 1_000).
        r.forward(&queued(2, 1_000));
        r.forward(&assigned(1, 1_500, true));
        r.forward(&assigned(2, 4_000, true));
        // A later assignment (a transfer) is not a first one.
        r.forward(&queued(2, 5_000));
        r.forward(&assigned(2, 6_000, false));
        assert!(r.missing());
        // Backwards: the newest queue of session 1 first, then an older one.
        r.backward(&queued(1, 900));
        assert!(!r.missing());
        r.backward(&queued(1, 100));
        assert_eq!(
            r.finish(),
            vec![
                (TeamId(1), Timestamp(1_500), 600),
                (TeamId(1), Timestamp(4_000), 3_000)
            ]
        );
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
