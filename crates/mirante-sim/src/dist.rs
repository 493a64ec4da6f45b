//! Random distributions of the simulator, drawn from one portable seeded generator.
//!
//! The generator is ChaCha8 ([`SimRng`]): its stream is specified, so a seed gives the same
//! draws on every machine and every build. The transforms are written here (inverse CDF for
//! the exponential, Box–Muller for the normal) rather than taken from a distributions crate,
//! so that the mapping from draws to values is pinned by this code too. They use `f64::ln`,
//! `exp`, `cos` and `sqrt`; `sqrt` is exact, and the others agree to the last bit on every
//! mainstream platform in practice (a difference would shift one sample by one ulp).

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The simulator's random generator: ChaCha with 8 rounds, portable and fast.
pub type SimRng = rand_chacha::ChaCha8Rng;

/// A generator for `seed`.
pub fn rng_from_seed(seed: u64) -> SimRng {
    SimRng::seed_from_u64(seed)
}

/// A duration distribution, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Dist {
    /// Always the same duration.
    Const {
        /// The duration.
        ms: f64,
    },
    /// Uniform between two durations.
    Uniform {
        /// Shortest.
        min_ms: f64,
        /// Longest.
        max_ms: f64,
    },
    /// Exponential (memoryless) with this mean: inter-arrival times of a Poisson process,
    /// service times of the Erlang C model.
    Exp {
        /// The mean.
        mean_ms: f64,
    },
    /// Lognormal: `exp(ln(median) + sigma·Z)` with `Z` standard normal. Right-skewed, the
    /// usual shape of human handling and think times. Mean = `median·exp(sigma²/2)`.
    LogNormal {
        /// The median.
        median_ms: f64,
        /// Standard deviation of the logarithm (0.3 = tight, 1.0 = very spread).
        sigma: f64,
    },
}

impl Dist {
    /// Minutes, lognormal (helper for scenario tables).
    pub fn lognormal_min(median_min: f64, sigma: f64) -> Dist {
        Dist::LogNormal {
            median_ms: median_min * 60_000.0,
            sigma,
        }
    }

    /// Seconds, lognormal (helper for scenario tables).
    pub fn lognormal_s(median_s: f64, sigma: f64) -> Dist {
        Dist::LogNormal {
            median_ms: median_s * 1_000.0,
            sigma,
        }
    }

    /// One draw, in (real-valued) milliseconds, never negative.
    pub fn sample_f64(&self, rng: &mut SimRng) -> f64 {
        let v = match *self {
            Dist::Const { ms } => ms,
            Dist::Uniform { min_ms, max_ms } => min_ms + (max_ms - min_ms) * unit(rng),
            Dist::Exp { mean_ms } => exponential(rng, mean_ms),
            Dist::LogNormal { median_ms, sigma } => {
                median_ms.max(0.0) * (sigma * standard_normal(rng)).exp()
            }
        };
        if v.is_finite() { v.max(0.0) } else { 0.0 }
    }

    /// One draw rounded to whole milliseconds.
    pub fn sample(&self, rng: &mut SimRng) -> i64 {
        // Saturating float → int conversion; durations are far below i64::MAX anyway.
        self.sample_f64(rng).round() as i64
    }

    /// The mean of the distribution, in milliseconds.
    pub fn mean_ms(&self) -> f64 {
        match *self {
            Dist::Const { ms } => ms,
            Dist::Uniform { min_ms, max_ms } => (min_ms + max_ms) / 2.0,
            Dist::Exp { mean_ms } => mean_ms,
            Dist::LogNormal { median_ms, sigma } => median_ms * (sigma * sigma / 2.0).exp(),
        }
    }
}

/// A uniform draw in `[0, 1)`.
pub fn unit(rng: &mut SimRng) -> f64 {
    rng.random::<f64>()
}

/// True with probability `p`.
pub fn chance(rng: &mut SimRng, p: f64) -> bool {
    p > 0.0 && unit(rng) < p
}

/// A uniform index in `0..n` (`n > 0`).
pub fn index(rng: &mut SimRng, n: usize) -> usize {
    if n <= 1 { 0 } else { rng.random_range(0..n) }
}

/// One item of a non-empty slice, uniformly.
pub fn pick<'a, T>(rng: &mut SimRng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        items.get(index(rng, items.len()))
    }
}

/// An exponential draw with this mean (inverse CDF; `1 - u` is in `(0, 1]`, never `ln 0`).
pub fn exponential(rng: &mut SimRng, mean: f64) -> f64 {
    -mean * (1.0 - unit(rng)).ln()
}

/// A standard normal draw (Box–Muller, one of the pair).
pub fn standard_normal(rng: &mut SimRng) -> f64 {
    let u1 = 1.0 - unit(rng);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_of(d: Dist, n: usize) -> f64 {
        let mut rng = rng_from_seed(7);
        (0..n).map(|_| d.sample_f64(&mut rng)).sum::<f64>() / n as f64
    }

    #[test]
    fn sample_means_match_the_formulas() {
        for d in [
            Dist::Exp { mean_ms: 1000.0 },
            Dist::LogNormal {
                median_ms: 1000.0,
                sigma: 0.5,
            },
            Dist::Uniform {
                min_ms: 10.0,
                max_ms: 30.0,
            },
            Dist::Const { ms: 5.0 },
        ] {
            let m = mean_of(d, 200_000);
            let rel = (m - d.mean_ms()).abs() / d.mean_ms();
            assert!(rel < 0.01, "{d:?}: sample mean {m} vs {}", d.mean_ms());
        }
    }

    #[test]
    fn a_seed_gives_the_same_draws() {
        let mut a = rng_from_seed(42);
        let mut b = rng_from_seed(42);
        let d = Dist::lognormal_s(10.0, 0.8);
        for _ in 0..100 {
            assert_eq!(d.sample(&mut a), d.sample(&mut b));
        }
    }
}
