//! Queueing theory for the "queue truth" check (D-10): the Erlang C formula for an M/M/c
//! queue, and batch-means confidence intervals for what a simulation measures.
//!
//! # Erlang C
//!
//! Customers arrive as a Poisson process of rate `λ`, each needs an exponential service of
//! rate `μ`, `c` identical servers, an infinite FIFO queue, nobody abandons. With offered
//! load `a = λ/μ` (Erlangs) and utilisation `ρ = a/c < 1`:
//!
//! ```text
//! P(wait > 0) = C(c, a) = c·B(c, a) / (c − a·(1 − B(c, a)))
//! E[wait]     = C(c, a) / (c·μ − λ)
//! ```
//!
//! where `B` is the Erlang B blocking probability, computed with the recursion
//! `B(0) = 1`, `B(k) = a·B(k−1) / (k + a·B(k−1))`: every term stays in `[0, 1]`, so unlike
//! the textbook sum of `aᵏ/k!` it neither overflows nor cancels, for any `c`.
//!
//! # Batch means
//!
//! Successive waits are strongly correlated (a customer arriving behind a long queue waits
//! long, and so does the next one), so the naive `σ/√n` underestimates the error. The
//! sequence is cut into `k` consecutive batches; when a batch is much longer than the
//! correlation time, batch means are nearly independent and normal, and their spread gives
//! an honest standard error `SE = sd(batch means)/√k` (Student's t with `k − 1` degrees of
//! freedom).

/// The Erlang C prediction for an M/M/c queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErlangC {
    /// Probability that an arriving customer waits at all.
    pub p_wait: f64,
    /// Mean wait in the queue, in the time unit of `1/μ`.
    pub mean_wait: f64,
}

/// Erlang B: the blocking probability of `c` servers with offered load `a` Erlangs.
pub fn erlang_b(a: f64, c: u32) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    b
}

/// Erlang C for arrival rate `lambda`, service rate `mu` (same time unit) and `c` servers:
/// `(P(wait > 0), mean wait)`. An unstable queue (`λ ≥ c·μ`) waits surely and forever:
/// `(1, ∞)`.
pub fn erlang_c(lambda: f64, mu: f64, c: u32) -> (f64, f64) {
    let p = erlang_c_full(lambda, mu, c);
    (p.p_wait, p.mean_wait)
}

/// [`erlang_c`] as a struct.
pub fn erlang_c_full(lambda: f64, mu: f64, c: u32) -> ErlangC {
    let a = lambda / mu;
    let cf = f64::from(c);
    if c == 0 || a >= cf {
        return ErlangC {
            p_wait: 1.0,
            mean_wait: f64::INFINITY,
        };
    }
    let b = erlang_b(a, c);
    let p_wait = cf * b / (cf - a * (1.0 - b));
    ErlangC {
        p_wait,
        mean_wait: p_wait / (cf * mu - lambda),
    }
}

/// A batch-means estimate: the mean and its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchMeans {
    /// Mean of all samples used (the batch means' mean).
    pub mean: f64,
    /// Standard error of `mean`.
    pub se: f64,
    /// Number of batches.
    pub batches: usize,
    /// Samples per batch (the remainder at the end is dropped).
    pub batch_len: usize,
}

/// Splits `samples` into `batches` consecutive equal batches (the tail that does not fill a
/// batch is dropped) and returns the mean and its standard error.
pub fn batch_means(samples: &[f64], batches: usize) -> BatchMeans {
    let k = batches.max(2);
    let len = samples.len() / k;
    if len == 0 {
        return BatchMeans {
            mean: f64::NAN,
            se: f64::INFINITY,
            batches: k,
            batch_len: 0,
        };
    }
    let means: Vec<f64> = samples
        .chunks_exact(len)
        .take(k)
        .map(|b| b.iter().sum::<f64>() / len as f64)
        .collect();
    let kf = k as f64;
    let mean = means.iter().sum::<f64>() / kf;
    let var = means.iter().map(|m| (m - mean) * (m - mean)).sum::<f64>() / (kf - 1.0);
    BatchMeans {
        mean,
        se: (var / kf).sqrt(),
        batches: k,
        batch_len: len,
    }
}

/// Two-sided 99.9 % quantile of Student's t with `dof` degrees of freedom (tabulated for the
/// batch counts the simulator uses; the normal 3.29 beyond).
pub fn t_999(dof: usize) -> f64 {
    match dof {
        0 => f64::INFINITY,
        1..=9 => 4.781,
        10..=19 => 3.883,
        20..=29 => 3.646,
        30..=39 => 3.551,
        40..=59 => 3.496,
        60..=119 => 3.416,
        _ => 3.291,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_server_is_the_m_m_1_queue() {
        // M/M/1: P(wait) = ρ, E[W] = ρ/(μ−λ).
        let (p, w) = erlang_c(0.7, 1.0, 1);
        assert!((p - 0.7).abs() < 1e-12);
        assert!((w - 0.7 / 0.3).abs() < 1e-12);
    }

    #[test]
    fn matches_the_textbook_sum() {
        // C(c, a) = (aᶜ/c!)·(c/(c−a)) / (Σ_{k<c} aᵏ/k! + (aᶜ/c!)·(c/(c−a))).
        for (c, a) in [(2_u32, 1.5_f64), (10, 8.5), (20, 19.0), (5, 1.0)] {
            let mut term = 1.0;
            let mut sum = 0.0;
            for k in 0..c {
                sum += term;
                term *= a / f64::from(k + 1);
            }
            let tail = term * f64::from(c) / (f64::from(c) - a);
            let expected = tail / (sum + tail);
            let (p, _) = erlang_c(a, 1.0, c);
            assert!(
                (p - expected).abs() < 1e-12,
                "c={c} a={a}: {p} vs {expected}"
            );
        }
    }

    #[test]
    fn stable_for_large_pools_and_unstable_loads() {
        let (p, w) = erlang_c(950.0, 1.0, 1000);
        assert!(p.is_finite() && (0.0..=1.0).contains(&p) && w.is_finite());
        assert_eq!(erlang_c(10.0, 1.0, 10), (1.0, f64::INFINITY));
    }

    #[test]
    fn batch_means_of_independent_samples() {
        let samples: Vec<f64> = (0..1000).map(|i| f64::from(i % 2)).collect();
        let b = batch_means(&samples, 10);
        assert!((b.mean - 0.5).abs() < 1e-12);
        assert!(b.se < 1e-12);
        assert_eq!(b.batch_len, 100);
    }
}
