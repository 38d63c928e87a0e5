//! The interval of a row's figure over its repetitions: what reports print as a row's 95%
//! interval, what thresholds are judged on and what the regression gate compares.
//!
//! req/s (all answers, or good ones) of cells with a steady window come from its seconds
//! (batch means, [`stats::batch_ci95`](crate::stats::batch_ci95)); every other figure, and
//! cells without steady seconds, from the repetitions ([`Interval::of`]).

use crate::config::thresholds::Figure;
use crate::record::Cell;
use crate::stats::Interval;

/// The interval of `figure` over `cells` (the measured repetitions of one row); `None`
/// when no cell has the figure.
pub fn row_interval(cells: &[&Cell], figure: Figure) -> Option<Interval> {
    let per_cell: Vec<f64> = cells
        .iter()
        .filter_map(|c| super::thresholds::figure_of(c, figure))
        .collect();
    let batches = match figure {
        Figure::Rps => batches(cells, |_| 1.0),
        Figure::GoodRps => batches(cells, good_share),
        _ => Vec::new(),
    };
    Interval::of_row(&per_cell, &batches)
}

/// The steady seconds of each measured cell (req/s, scaled by `scale`): the batches of
/// the row's interval. Empty when any cell has none (then the repetitions give it).
pub fn batches(cells: &[&Cell], scale: impl Fn(&Cell) -> f64) -> Vec<Vec<f64>> {
    let per_cell: Vec<Vec<f64>> = cells
        .iter()
        .map(|c| match &c.steady {
            Some(s) => s.batches().iter().map(|b| b * scale(c)).collect(),
            None => Vec::new(),
        })
        .collect();
    if per_cell.iter().any(|b| b.is_empty()) {
        Vec::new()
    } else {
        per_cell
    }
}

/// A cell's good answers over all its answers (1 when it counted none).
pub fn good_share(c: &Cell) -> f64 {
    match (c.good_rps(), c.rps()) {
        (Some(g), Some(r)) if r > 0.0 => g / r,
        _ => 1.0,
    }
}
