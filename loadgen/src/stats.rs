//! Small descriptive statistics over repetitions of one cell.

use serde::{Deserialize, Serialize};

/// Median, range and coefficient of variation of a set of repeated measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub n: usize,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Standard deviation / mean (sample standard deviation); 0 for one value.
    pub cv: f64,
}

impl Spread {
    /// Panics on an empty slice: callers only build spreads of measured cells.
    pub fn of(values: &[f64]) -> Spread {
        assert!(!values.is_empty(), "Spread::of needs at least one value");
        let mut v = values.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        let mean = v.iter().sum::<f64>() / n as f64;
        let cv = if n > 1 && mean != 0.0 {
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            var.sqrt() / mean
        } else {
            0.0
        };
        Spread {
            n,
            median,
            min: v[0],
            max: v[n - 1],
            mean,
            cv,
        }
    }
}

/// The distribution-free 95% confidence interval of the median of `values`: the order
/// statistics x(k) and x(n+1-k) with the largest k such that P(Binomial(n, ½) < k) ≤ 2.5%.
/// It assumes nothing about the shape of the distribution (req/s of short cells is skewed),
/// and needs at least 6 values: with 5 or fewer even min–max covers less than 95%.
pub fn median_ci95(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len();
    if n < 6 {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    // Cumulative binomial(n, 1/2) probabilities, in f64 (n is at most a few hundred).
    let mut k = 0;
    let mut cdf = 0.0;
    let mut pmf = 0.5f64.powi(n as i32);
    for i in 0..n {
        // P(X <= i)
        cdf += pmf;
        if cdf > 0.025 {
            break;
        }
        k = i + 1;
        pmf *= (n - i) as f64 / (i + 1) as f64;
    }
    let k = k.max(1);
    Some((v[k - 1], v[n - k]))
}

/// Indices of outliers by the modified Z-score (Iglewicz and Hoaglin; hyperfine uses the
/// same): |0.6745 (x − median) / MAD| > 3.5. None when the MAD is 0.
pub fn outliers(values: &[f64]) -> Vec<usize> {
    if values.len() < 3 {
        return Vec::new();
    }
    let median = Spread::of(values).median;
    let deviations: Vec<f64> = values.iter().map(|x| (x - median).abs()).collect();
    let mad = Spread::of(&deviations).median;
    if mad == 0.0 {
        return Vec::new();
    }
    values
        .iter()
        .enumerate()
        .filter(|(_, x)| (0.6745 * (*x - median) / mad).abs() > 3.5)
        .map(|(i, _)| i)
        .collect()
}

/// The 95% interval of a row's figure from its cells' steady windows: **batch means**.
///
/// Each whole second of a cell's steady window (10 quota periods at the default period) is
/// one batch; the batches of all repetitions are pooled, and the interval is the pooled
/// mean ± t(k−1, 97.5%) · s / √k, centred on `center` (the median of the repetitions, the
/// figure reports print). Seconds of one cell are nearly independent under a quota (each
/// spans whole periods, so the quota's cycle does not correlate them), but repetitions can
/// differ by drift between them: the interval is never narrower than half the range of
/// the repetitions' own figures. Needs at least 2 repetitions and 4 batches; `None`
/// otherwise (then [`median_ci95`] over the repetitions applies).
pub fn batch_ci95(center: f64, per_cell: &[f64], batches: &[Vec<f64>]) -> Option<(f64, f64)> {
    let all: Vec<f64> = batches.iter().flatten().copied().collect();
    let k = all.len();
    if per_cell.len() < 2 || k < 4 || batches.iter().any(|b| b.is_empty()) {
        return None;
    }
    let mean = all.iter().sum::<f64>() / k as f64;
    let var = all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1) as f64;
    let half_batches = t_975(k - 1) * (var / k as f64).sqrt();
    let s = Spread::of(per_cell);
    let half = half_batches.max((s.max - s.min) / 2.0);
    Some((center - half, center + half))
}

/// The interval of a row: batch means when its cells have steady seconds, else the
/// distribution-free interval of the median of its repetitions.
pub fn row_ci95(per_cell: &[f64], batches: &[Vec<f64>]) -> Option<(f64, f64)> {
    if per_cell.is_empty() {
        return None;
    }
    let median = Spread::of(per_cell).median;
    batch_ci95(median, per_cell, batches).or_else(|| median_ci95(per_cell))
}

/// Student's t, 97.5th percentile, for `df` degrees of freedom (1.96 beyond 30).
fn t_975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    T.get(df.max(1) - 1).copied().unwrap_or(1.96)
}

/// The half-width of an interval around `median`, as a share of it: ±5% is 0.05.
pub fn relative_half_width((lo, hi): (f64, f64), median: f64) -> Option<f64> {
    (median > 0.0).then(|| (median - lo).max(hi - median) / median)
}

/// A change within ±5 % of a single measurement is not called significant: the floor of
/// noise assumed for a side measured once (`lab compare`, thresholds).
pub const NOISE_FLOOR: f64 = 0.05;

/// How an [`Interval`] was made, from the most to the least the repetitions allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Basis {
    /// The distribution-free 95% interval of the median ([`median_ci95`], 6+ values).
    #[serde(rename = "95% CI")]
    Ci95,
    /// 2 to 5 values: their min–max range.
    #[serde(rename = "spread")]
    Spread,
    /// One value: ± [`NOISE_FLOOR`] of it.
    #[serde(rename = "noise floor")]
    NoiseFloor,
    /// req/s of cells with steady seconds: batch means ([`batch_ci95`]).
    #[serde(rename = "95% CI (batch means)")]
    BatchMeans,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Ci95 => "95% CI",
            Basis::Spread => "spread",
            Basis::NoiseFloor => "noise floor",
            Basis::BatchMeans => "95% CI (batch means)",
        }
    }
}

/// Where the median of repeated measurements lies, as well as the repetitions tell: the
/// interval `lab compare` calls two runs apart with and thresholds are judged on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub median: f64,
    pub lo: f64,
    pub hi: f64,
    /// Values it was made of.
    pub n: usize,
    pub basis: Basis,
}

impl Interval {
    /// `None` for no values.
    pub fn of(values: &[f64]) -> Option<Interval> {
        if values.is_empty() {
            return None;
        }
        let s = Spread::of(values);
        let (lo, hi, basis) = match median_ci95(values) {
            Some((lo, hi)) => (lo, hi, Basis::Ci95),
            None if s.n > 1 => (s.min, s.max, Basis::Spread),
            None => {
                let d = (s.median * NOISE_FLOOR).abs();
                (s.median - d, s.median + d, Basis::NoiseFloor)
            }
        };
        Some(Interval {
            median: s.median,
            lo,
            hi,
            n: s.n,
            basis,
        })
    }

    /// A row's interval: batch means over the cells' steady seconds when `batches` has
    /// them ([`batch_ci95`], as reports print a row's interval), else [`Interval::of`] the
    /// repetitions.
    pub fn of_row(per_cell: &[f64], batches: &[Vec<f64>]) -> Option<Interval> {
        let mut iv = Interval::of(per_cell)?;
        if let Some((lo, hi)) = batch_ci95(iv.median, per_cell, batches) {
            (iv.lo, iv.hi, iv.basis) = (lo, hi, Basis::BatchMeans);
        }
        Some(iv)
    }

    /// Do the two intervals have no value in common?
    pub fn apart(&self, other: &Interval) -> bool {
        self.lo > other.hi || self.hi < other.lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_use_the_most_the_repetitions_allow() {
        let one = Interval::of(&[100.0]).unwrap();
        assert_eq!(
            (one.lo, one.hi, one.basis),
            (95.0, 105.0, Basis::NoiseFloor)
        );
        let three = Interval::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((three.lo, three.median, three.hi), (1.0, 2.0, 3.0));
        assert_eq!(three.basis, Basis::Spread);
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let ten = Interval::of(&v).unwrap();
        assert_eq!((ten.lo, ten.hi, ten.basis), (2.0, 9.0, Basis::Ci95));
        assert!(Interval::of(&[]).is_none());
        assert!(three.apart(&Interval::of(&[3.5, 4.0]).unwrap()));
        assert!(!three.apart(&Interval::of(&[3.0, 4.0]).unwrap()));
        // With steady seconds, a row's interval is the reports' batch-means one.
        let batches = vec![vec![100.0, 102.0, 98.0], vec![101.0, 99.0, 100.0]];
        let row = Interval::of_row(&[100.0, 100.0], &batches).unwrap();
        assert_eq!(row.basis, Basis::BatchMeans);
        assert_eq!(Some((row.lo, row.hi)), row_ci95(&[100.0, 100.0], &batches));
        assert_eq!(
            Interval::of_row(&[3.0, 1.0, 2.0], &[]),
            Interval::of(&[3.0, 1.0, 2.0])
        );
    }

    #[test]
    fn median_ci_uses_order_statistics() {
        assert_eq!(median_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]), None);
        // n = 6: P(X = 0) = 1/64 ≤ 2.5%, P(X ≤ 1) = 7/64 > 2.5% → k = 1: min..max.
        assert_eq!(
            median_ci95(&[6.0, 1.0, 5.0, 2.0, 4.0, 3.0]),
            Some((1.0, 6.0))
        );
        // n = 10: P(X ≤ 1) = 11/1024 ≤ 2.5%, P(X ≤ 2) = 56/1024 > 2.5% → k = 2.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(median_ci95(&v), Some((2.0, 9.0)));
        // n = 20: the textbook interval is x(6)..x(15).
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(median_ci95(&v), Some((6.0, 15.0)));
        assert_eq!(relative_half_width((95.0, 103.0), 100.0), Some(0.05));
    }

    #[test]
    fn batch_means_use_the_seconds_and_never_hide_drift_between_repetitions() {
        // Two repetitions of 3 steady seconds each, all near 5000 req/s.
        let batches = vec![vec![5000.0, 5100.0, 4900.0], vec![5050.0, 4950.0, 5000.0]];
        let (lo, hi) = batch_ci95(5000.0, &[5000.0, 5000.0], &batches).unwrap();
        // s = 70.7, k = 6, t(5) = 2.571: ± 74.2.
        assert!((hi - 5000.0 - 74.2).abs() < 0.5, "{lo}..{hi}");
        assert!(relative_half_width((lo, hi), 5000.0).unwrap() < 0.05);
        // The repetitions disagree by 10%: the interval covers both.
        let (lo, hi) = batch_ci95(5250.0, &[5000.0, 5500.0], &batches).unwrap();
        assert!(lo <= 5000.0 && hi >= 5500.0, "{lo}..{hi}");
        // One repetition, or too few seconds: no batch interval.
        assert_eq!(batch_ci95(5000.0, &[5000.0], &batches[..1]), None);
        assert_eq!(
            batch_ci95(5000.0, &[1.0, 2.0], &[vec![1.0], vec![2.0]]),
            None
        );
        // Without batches a row falls back to the median's interval (6 or more values).
        assert_eq!(row_ci95(&[1.0, 2.0, 3.0], &[]), None);
        assert_eq!(
            row_ci95(&[6.0, 1.0, 5.0, 2.0, 4.0, 3.0], &[]),
            Some((1.0, 6.0))
        );
        assert_eq!(t_975(1), 12.706);
        assert_eq!(t_975(100), 1.96);
    }

    #[test]
    fn modified_z_score_flags_far_values_only() {
        let v = [100.0, 101.0, 99.0, 100.5, 99.5, 150.0];
        assert_eq!(outliers(&v), vec![5]);
        assert!(outliers(&[100.0, 100.0, 100.0, 120.0]).is_empty(), "MAD 0");
        assert!(outliers(&[1.0, 2.0]).is_empty());
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(Spread::of(&[3.0, 1.0, 2.0]).median, 2.0);
        assert_eq!(Spread::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
        let s = Spread::of(&[10.0, 12.0]);
        assert_eq!((s.min, s.max, s.mean), (10.0, 12.0, 11.0));
        assert!((s.cv - (2.0f64).sqrt() / 11.0).abs() < 1e-12);
    }
}
