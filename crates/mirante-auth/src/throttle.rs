//! Login throttling as a pure policy: a sliding window of failures per key (an account's
//! e-mail, a source address). Time is an argument; the server keeps one [`Throttle`] per
//! kind of key behind a mutex.

use std::collections::{HashMap, VecDeque};

/// At most `max_failures` failures within `window_ms`; then the key is refused until the
/// oldest failure of the window leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    /// Failures allowed in the window.
    pub max_failures: usize,
    /// The window, in ms.
    pub window_ms: i64,
}

/// Most keys kept before old ones are pruned.
const PRUNE_ABOVE: usize = 10_000;

/// Failure windows per key.
#[derive(Debug, Clone)]
pub struct Throttle {
    rule: ThrottleRule,
    failures: HashMap<String, VecDeque<i64>>,
}

impl Throttle {
    /// An empty throttle with `rule`.
    pub fn new(rule: ThrottleRule) -> Throttle {
        Throttle {
            rule,
            failures: HashMap::new(),
        }
    }

    /// `Ok` when `key` may try now, else `Err(ms until it may)`.
    pub fn check(&self, key: &str, now_ms: i64) -> Result<(), i64> {
        let Some(times) = self.failures.get(key) else {
            return Ok(());
        };
        let recent: Vec<i64> = times
            .iter()
            .copied()
            .filter(|t| now_ms - t < self.rule.window_ms)
            .collect();
        if recent.len() < self.rule.max_failures.max(1) {
            return Ok(());
        }
        // The window frees up when the oldest failure that still counts leaves it.
        let idx = recent.len() - self.rule.max_failures.max(1);
        Err((recent[idx] + self.rule.window_ms - now_ms).max(1))
    }

    /// Records a failure of `key` at `now_ms`.
    pub fn fail(&mut self, key: &str, now_ms: i64) {
        let window = self.rule.window_ms;
        if self.failures.len() > PRUNE_ABOVE {
            self.failures
                .retain(|_, times| times.back().is_some_and(|t| now_ms - t < window));
        }
        let times = self.failures.entry(key.to_owned()).or_default();
        times.push_back(now_ms);
        while times.front().is_some_and(|t| now_ms - t >= window)
            || times.len() > self.rule.max_failures.max(1)
        {
            times.pop_front();
        }
    }

    /// Forgets the failures of `key` (after a successful log-in).
    pub fn clear(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_max_failures_until_the_window_slides() {
        let mut t = Throttle::new(ThrottleRule {
            max_failures: 3,
            window_ms: 1000,
        });
        for at in [0, 100, 200] {
            assert!(t.check("a", at).is_ok());
            t.fail("a", at);
        }
        assert_eq!(t.check("a", 300), Err(700));
        assert!(t.check("b", 300).is_ok(), "keys are independent");
        assert!(
            t.check("a", 1000).is_ok(),
            "the first failure left the window"
        );
        t.fail("a", 1000);
        assert_eq!(t.check("a", 1000), Err(100));
        t.clear("a");
        assert!(t.check("a", 1000).is_ok());
    }
}
