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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(Spread::of(&[3.0, 1.0, 2.0]).median, 2.0);
        assert_eq!(Spread::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
        let s = Spread::of(&[10.0, 12.0]);
        assert_eq!((s.min, s.max, s.mean), (10.0, 12.0, 11.0));
        assert!((s.cv - (2.0f64).sqrt() / 11.0).abs() < 1e-12);
    }
}
