//! The discrete-event core: a priority queue of actions in simulated time (milliseconds).
//!
//! Actions due at the same instant run in the order they were scheduled (a sequence number
//! breaks ties), so a run is a pure function of the seed.

use mirante_core::Timestamp;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Timed actions, earliest first.
#[derive(Debug, Clone)]
pub struct Agenda<A> {
    heap: BinaryHeap<Entry<A>>,
    seq: u64,
}

#[derive(Debug, Clone)]
struct Entry<A> {
    at: Timestamp,
    seq: u64,
    action: A,
}

impl<A> PartialEq for Entry<A> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<A> Eq for Entry<A> {}
impl<A> PartialOrd for Entry<A> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<A> Ord for Entry<A> {
    /// Reversed: the max-heap pops the earliest (time, sequence) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

impl<A> Default for Agenda<A> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<A> Agenda<A> {
    /// An empty agenda.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `action` at `at`.
    pub fn schedule(&mut self, at: Timestamp, action: A) {
        self.seq += 1;
        self.heap.push(Entry {
            at,
            seq: self.seq,
            action,
        });
    }

    /// When the earliest action is due.
    pub fn next_time(&self) -> Option<Timestamp> {
        self.heap.peek().map(|e| e.at)
    }

    /// Takes the earliest action if it is due at or before `now`.
    pub fn pop_due(&mut self, now: Timestamp) -> Option<(Timestamp, A)> {
        if self.heap.peek().is_some_and(|e| e.at <= now) {
            self.heap.pop().map(|e| (e.at, e.action))
        } else {
            None
        }
    }

    /// Number of pending actions.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// No pending action.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_then_in_scheduling_order() {
        let mut a = Agenda::new();
        a.schedule(Timestamp(20), "c");
        a.schedule(Timestamp(10), "a");
        a.schedule(Timestamp(10), "b");
        assert_eq!(a.next_time(), Some(Timestamp(10)));
        assert_eq!(a.pop_due(Timestamp(9)), None);
        assert_eq!(a.pop_due(Timestamp(10)), Some((Timestamp(10), "a")));
        assert_eq!(a.pop_due(Timestamp(10)), Some((Timestamp(10), "b")));
        assert_eq!(a.pop_due(Timestamp(10)), None);
        assert_eq!(a.pop_due(Timestamp(30)), Some((Timestamp(20), "c")));
        assert!(a.is_empty());
    }
}
