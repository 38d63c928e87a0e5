//! Change points in a row's history: where a figure stepped from one level to another.
//!
//! The method, for runs 0..n in order, each with the figure of every repetition:
//!
//! 1. Every split k (1..n) gets a window of up to [`WINDOW`] runs on each side: the runs
//!    before k and the runs from k on, each window's repetitions pooled.
//! 2. The two windows are compared by the **Mann–Whitney U test** (two-sided; exact with
//!    up to 400 pairs, else the normal approximation with continuity correction; ties count
//!    ½). It assumes nothing about the shape of the distribution, like the lab's other
//!    intervals.
//! 3. A split is a candidate when p < [`ALPHA`] and the windows' medians differ by more
//!    than [`MIN_CHANGE`] (a significant but tiny shift is not a step anyone acts on).
//! 4. Neighbouring candidates see the same step through overlapping windows: of each run
//!    of consecutive candidates (changing the same way), the split that separates its
//!    windows best (the smallest p; then the largest change) is the change point.
//!
//! With one repetition per run the test needs at least 4 runs a side to reach p < 0.05
//! (runs with `repeat: 3` or more find a step with 2 runs on each side).

use crate::stats::Spread;

/// Runs on each side of a split.
pub const WINDOW: usize = 3;
/// Significance level of the two-sample test.
pub const ALPHA: f64 = 0.05;
/// Smallest relative change of the medians that counts as a step.
pub const MIN_CHANGE: f64 = 0.05;

/// A step between run `at - 1` and run `at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    /// The first run at the new level.
    pub at: usize,
    /// (after − before) / before of the windows' medians.
    pub change: f64,
    pub p: f64,
}

/// The change points of a series of runs (`runs[i]`: the figure of each repetition of run
/// i; a run without a figure is an empty list and is skipped by the windows).
pub fn change_points(runs: &[Vec<f64>]) -> Vec<ChangePoint> {
    let mut candidates: Vec<ChangePoint> = Vec::new();
    for k in 1..runs.len() {
        let left: Vec<f64> = runs[k.saturating_sub(WINDOW)..k].concat();
        let right: Vec<f64> = runs[k..(k + WINDOW).min(runs.len())].concat();
        if left.is_empty() || right.is_empty() || runs[k].is_empty() {
            continue;
        }
        let (ml, mr) = (Spread::of(&left).median, Spread::of(&right).median);
        if ml == 0.0 {
            continue;
        }
        let change = (mr - ml) / ml;
        let p = mann_whitney_p(&left, &right);
        if p < ALPHA && change.abs() > MIN_CHANGE {
            candidates.push(ChangePoint { at: k, change, p });
        }
    }
    let mut out: Vec<ChangePoint> = Vec::new();
    let mut prev_at = None;
    for c in candidates {
        match out.last_mut() {
            // The same step seen from the next split: keep the split that separates the
            // windows best (smallest p), then the larger change.
            Some(last)
                if prev_at == Some(c.at - 1) && last.change.signum() == c.change.signum() =>
            {
                if (c.p, -c.change.abs()) < (last.p, -last.change.abs()) {
                    *last = c;
                }
            }
            _ => out.push(c),
        }
        prev_at = Some(c.at);
    }
    out
}

/// Two-sided p-value of the Mann–Whitney U test of `a` against `b`.
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len(), b.len());
    let u: f64 = a
        .iter()
        .map(|x| {
            b.iter()
                .map(|y| match x.total_cmp(y) {
                    std::cmp::Ordering::Greater => 1.0,
                    std::cmp::Ordering::Equal => 0.5,
                    std::cmp::Ordering::Less => 0.0,
                })
                .sum::<f64>()
        })
        .sum();
    let pairs = (n1 * n2) as f64;
    let u_min = u.min(pairs - u);
    let p = if n1 * n2 <= 400 {
        exact_cdf(n1, n2, u_min.floor() as usize) * 2.0
    } else {
        let mean = pairs / 2.0;
        let sd = (pairs * (n1 + n2 + 1) as f64 / 12.0).sqrt();
        let z = (mean - u_min - 0.5).max(0.0) / sd;
        2.0 * (1.0 - normal_cdf(z))
    };
    p.min(1.0)
}

/// P(U ≤ u) under the null hypothesis, by counting the orderings of n1 + n2 values with
/// each U (the recursion f(m, n, u) = f(m−1, n, u−n) + f(m, n−1, u)).
fn exact_cdf(n1: usize, n2: usize, u: usize) -> f64 {
    // counts[j][v]: orderings of i values of a and j of b with U = v, for the current i.
    let mut prev: Vec<Vec<f64>> = (0..=n2).map(|_| vec![1.0]).collect();
    for i in 1..=n1 {
        let mut cur: Vec<Vec<f64>> = Vec::with_capacity(n2 + 1);
        cur.push(vec![1.0]);
        for j in 1..=n2 {
            let mut v = vec![0.0; i * j + 1];
            // The largest value is from a (adds j to U) or from b (adds nothing).
            for (k, c) in prev[j].iter().enumerate() {
                v[k + j] += c;
            }
            for (k, c) in cur[j - 1].iter().enumerate() {
                v[k] += c;
            }
            cur.push(v);
        }
        prev = cur;
    }
    let counts = &prev[n2];
    let total: f64 = counts.iter().sum();
    counts.iter().take(u + 1).sum::<f64>() / total
}

/// Φ(z), by the Abramowitz–Stegun 7.1.26 approximation of erf (error < 1.5e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    0.5 * (1.0 + erf.copysign(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_p_values_match_the_tables() {
        // 3 vs 3, complete separation: 2 of C(6,3) = 20 orderings are as extreme.
        let p = mann_whitney_p(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]);
        assert!((p - 0.1).abs() < 1e-12, "{p}");
        // 6 vs 6 complete separation: 2 / C(12,6) = 2 / 924.
        let a: Vec<f64> = (0..6).map(f64::from).collect();
        let b: Vec<f64> = (10..16).map(f64::from).collect();
        assert!((mann_whitney_p(&a, &b) - 2.0 / 924.0).abs() < 1e-12);
        // Interleaved samples: nowhere near significant.
        assert!(mann_whitney_p(&[1.0, 3.0, 5.0], &[2.0, 4.0, 6.0]) > 0.5);
        // Past 400 pairs, the normal approximation: U = 136 of 625, z = 3.41, p = 0.00064
        // (scipy.stats.mannwhitneyu with the continuity correction gives the same).
        let a: Vec<f64> = (0..25).map(f64::from).collect();
        let b: Vec<f64> = (0..25).map(|x| f64::from(x) + 8.5).collect();
        let p = mann_whitney_p(&a, &b);
        assert!((p - 0.000_638).abs() < 0.000_01, "{p}");
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
    }

    fn run(level: f64, jitter: &[f64]) -> Vec<f64> {
        jitter.iter().map(|j| level * (1.0 + j)).collect()
    }

    #[test]
    fn a_step_in_the_middle_is_found_once_at_its_run() {
        let j = [0.0, 0.01, -0.01];
        let runs = vec![
            run(1000.0, &j),
            run(1010.0, &j),
            run(700.0, &j),
            run(695.0, &j),
            run(705.0, &j),
        ];
        let cps = change_points(&runs);
        assert_eq!(cps.len(), 1, "{cps:?}");
        assert_eq!(cps[0].at, 2);
        assert!(cps[0].change < -0.25 && cps[0].p < ALPHA);
    }

    #[test]
    fn noise_without_a_step_has_no_change_point() {
        let runs = vec![
            run(1000.0, &[0.0, 0.02, -0.02]),
            run(1000.0, &[0.01, -0.01, 0.03]),
            run(1000.0, &[-0.03, 0.0, 0.02]),
            run(1000.0, &[0.02, -0.02, 0.01]),
            run(1000.0, &[0.0, 0.01, -0.01]),
        ];
        assert!(change_points(&runs).is_empty());
        assert!(change_points(&[]).is_empty());
    }
}
