//! The search: which limit to probe next, as a pure function of the probes so far.
//!
//! A search runs over a grid of limits, ascending (`0.05, 0.10, ..., 1.0` CPUs, or memory
//! sizes), and assumes that more of a resource never hurts: if a limit meets the target,
//! every larger one does. It spends few probes because each probe is a real cell with its
//! repetitions (seconds each), so [`next`] is written for the fewest probes that still give
//! an answer one can trust:
//!
//! 1. **Bracket.** Probe the top of the range first: if even that fails, the target is not
//!    reached within the bounds and nothing below needs a probe. Then halve the limit until
//!    a probe fails. Halving from the top rather than starting at the bottom also keeps
//!    probes short: ab sends a fixed number of requests, and a probe far below the answer
//!    (a twentieth of the CPU it needs) would take twenty times as long.
//! 2. **Bisect** between the highest failing and the lowest passing limit down to one step
//!    of the grid.
//! 3. **Check.** The answer must pass twice and the step just below it must have failed.
//!
//! Noise (this project's machines change speed by 40% between phases) is handled by being
//! conservative, not by voting: a limit that ever failed counts as failing, so the answer
//! is always above the highest failure seen, and a second failure during the check only
//! moves the answer up. That also makes the search end: every probe either probes a limit
//! not probed before or raises the highest failure, and both are bounded by the grid.
//!
//! A probe that fails because the *load generator* was the limit cannot say whether the
//! server would have passed: the search stops there and says so ([`Answer::LoadgenBound`]).

use serde::{Deserialize, Serialize};

/// What one probe showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The target was met.
    Pass,
    /// The target was missed (too slow, p99 too high, errors, OOM kill, no start).
    Fail,
    /// The target was missed while the load generator was the limit: this says nothing of
    /// the server.
    LoadgenBound,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::LoadgenBound => "loadgen-bound",
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Probe the limit at this index of the grid.
    Probe(usize),
    Done(Answer),
}

/// How a search ended. Indices are into the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Answer {
    /// `at` is the smallest limit that met the target (twice); the limit one step below,
    /// `below`, failed. `below` is `None` when `at` is the bottom of the range: the target
    /// is met even there, and the true minimum may be lower.
    Found { at: usize, below: Option<usize> },
    /// Even the top of the range failed.
    NotReached,
    /// The probe at `at` missed the target with the load generator as the limit.
    LoadgenBound { at: usize },
    /// The budget ran out first: `pass` is the smallest limit known to pass (an upper bound
    /// of the answer), `fail` the highest known to fail.
    Unfinished {
        pass: Option<usize>,
        fail: Option<usize>,
    },
}

/// Which limit to probe next, given the grid's values (ascending; used to halve the limit
/// while bracketing) and every probe so far as (index, outcome).
pub fn next(grid: &[f64], history: &[(usize, Outcome)]) -> Step {
    let n = grid.len();
    assert!(n > 0, "a search needs at least one limit");
    if let Some(&(at, _)) = history.iter().find(|(_, o)| *o == Outcome::LoadgenBound) {
        return Step::Done(Answer::LoadgenBound { at });
    }
    if history.is_empty() {
        return Step::Probe(n - 1);
    }
    // The top of the range decides "not reached within the bounds" for the whole search,
    // so one noisy miss there must not: a miss at the top is probed again, and the top
    // fails only when most of its probes (at least two) failed.
    let top = n - 1;
    let (passes, fails) = (passes_at(history, top), fails_at(history, top));
    if fails >= 2 && fails > passes {
        return Step::Done(Answer::NotReached);
    }
    if fails > 0 && fails >= passes {
        return Step::Probe(top);
    }
    let fail = highest_fail(history, n);
    let Some(pass) = lowest_pass_above(history, fail) else {
        // Unreachable: the top was probed and, by the checks above, counts as passing.
        return Step::Done(Answer::NotReached);
    };
    match fail {
        None if pass > 0 => Step::Probe(halve(grid, pass)),
        Some(f) if pass - f > 1 => Step::Probe((f + pass) / 2),
        // One step from a failure (or at the bottom): the check.
        _ if passes_at(history, pass) >= 2 => Step::Done(Answer::Found {
            at: pass,
            below: fail,
        }),
        _ => Step::Probe(pass),
    }
}

/// [`next`], started from a first guess: the grid index that the first probe's CPU per
/// request puts the answer at (see [`guess`]). After the top of the range passed, the
/// guess is probed instead of half the top, and after the guess passed, the step below
/// it: when the guess was right, the answer is checked after four probes instead of six
/// or more. Anything else (the guess failed, or the step below it passed) goes on as
/// [`next`] would from there, so a wrong guess costs a probe or two, never the answer.
pub fn next_from(grid: &[f64], history: &[(usize, Outcome)], guess: Option<usize>) -> Step {
    let top = grid.len() - 1;
    match (guess.filter(|g| *g < top), history) {
        (Some(g), [(t, Outcome::Pass)]) if *t == top => Step::Probe(g),
        (Some(g), [(t, Outcome::Pass), (at, Outcome::Pass)]) if *t == top && *at == g && g > 0 => {
            Step::Probe(g - 1)
        }
        _ => next(grid, history),
    }
}

/// The grid index a CPU search should try first, from a probe at `cpus` that served
/// `rps` using `cores`: the limit that serves `target_rps` at the same CPU per request,
/// rounded up to the grid. `None` without the figures.
pub fn guess(grid: &[f64], target_rps: f64, cores: Option<f64>, rps: Option<f64>) -> Option<usize> {
    let per_request = cores? / rps.filter(|r| *r > 0.0)?;
    let needed = target_rps * per_request;
    (needed.is_finite() && needed > 0.0).then(|| {
        grid.iter()
            .position(|v| *v >= needed - 1e-9)
            .unwrap_or(grid.len() - 1)
    })
}

/// The answer so far, for a search the budget stopped.
pub fn unfinished(grid_len: usize, history: &[(usize, Outcome)]) -> Answer {
    let fail = highest_fail(history, grid_len);
    Answer::Unfinished {
        pass: lowest_pass_above(history, fail),
        fail,
    }
}

/// Indices that passed below a failure: the monotonic assumption did not hold there (noise,
/// or a server that really does worse with more of the resource). Reports say so.
pub fn non_monotonic(grid_len: usize, history: &[(usize, Outcome)]) -> Vec<usize> {
    let Some(fail) = highest_fail(history, grid_len) else {
        return Vec::new();
    };
    let mut v: Vec<usize> = history
        .iter()
        .filter(|(i, o)| *i < fail && *o == Outcome::Pass)
        .map(|(i, _)| *i)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The highest limit that counts as failing: any miss counts, except at the top of the
/// range (`grid_len - 1`), where most probes must have missed (see [`next`]).
fn highest_fail(history: &[(usize, Outcome)], grid_len: usize) -> Option<usize> {
    let top = grid_len - 1;
    let top_fails = fails_at(history, top) > 0 && fails_at(history, top) >= passes_at(history, top);
    history
        .iter()
        .filter(|(i, o)| *o != Outcome::Pass && (*i != top || top_fails))
        .map(|(i, _)| *i)
        .max()
}

fn fails_at(history: &[(usize, Outcome)], at: usize) -> usize {
    history
        .iter()
        .filter(|(i, o)| *i == at && *o != Outcome::Pass)
        .count()
}

/// The lowest index above `fail` that was probed (and, being above it, only passed).
fn lowest_pass_above(history: &[(usize, Outcome)], fail: Option<usize>) -> Option<usize> {
    history
        .iter()
        .map(|(i, _)| *i)
        .filter(|i| fail.map_or(true, |f| *i > f))
        .min()
}

fn passes_at(history: &[(usize, Outcome)], at: usize) -> usize {
    history
        .iter()
        .filter(|(i, o)| *i == at && *o == Outcome::Pass)
        .count()
}

/// The largest index below `hi` whose limit is at most half of `grid[hi]` (the bottom if
/// none is).
fn halve(grid: &[f64], hi: usize) -> usize {
    let half = grid[hi] / 2.0;
    grid[..hi].iter().rposition(|v| *v <= half).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 0.05, 0.10, ..., 1.00.
    fn cpus() -> Vec<f64> {
        crate::config::tune::CpuRange {
            min: 0.05,
            max: 1.0,
            resolution: 0.05,
        }
        .grid()
    }

    /// Run a search against a simulated server; returns the answer and the probes made.
    fn simulate(
        grid: &[f64],
        mut server: impl FnMut(f64) -> Outcome,
    ) -> (Answer, Vec<(usize, Outcome)>) {
        let mut history = Vec::new();
        loop {
            match next(grid, &history) {
                Step::Probe(i) => history.push((i, server(grid[i]))),
                Step::Done(a) => return (a, history),
            }
            assert!(history.len() <= 4 * grid.len(), "the search must end");
        }
    }

    fn threshold(at: f64) -> impl FnMut(f64) -> Outcome {
        move |v| {
            if v >= at - 1e-9 {
                Outcome::Pass
            } else {
                Outcome::Fail
            }
        }
    }

    #[test]
    fn a_monotonic_server_is_bracketed_bisected_and_checked() {
        let grid = cpus();
        let (answer, probes) = simulate(&grid, threshold(0.35));
        assert_eq!(
            answer,
            Answer::Found {
                at: 6,
                below: Some(5)
            }
        );
        assert_eq!(grid[6], 0.35);
        // Top, halve (0.5, 0.25), bisect (0.35, 0.3), the answer again.
        let limits: Vec<f64> = probes.iter().map(|(i, _)| grid[*i]).collect();
        assert_eq!(limits, vec![1.0, 0.5, 0.25, 0.35, 0.3, 0.35]);
    }

    /// [`simulate`] with a first guess.
    fn simulate_from(
        grid: &[f64],
        guess: usize,
        mut server: impl FnMut(f64) -> Outcome,
    ) -> (Answer, Vec<(usize, Outcome)>) {
        let mut history = Vec::new();
        loop {
            match next_from(grid, &history, Some(guess)) {
                Step::Probe(i) => history.push((i, server(grid[i]))),
                Step::Done(a) => return (a, history),
            }
            assert!(history.len() <= 4 * grid.len(), "the search must end");
        }
    }

    #[test]
    fn a_good_first_guess_checks_the_answer_in_four_probes_and_a_bad_one_still_finds_it() {
        let grid = cpus();
        let (plain, plain_probes) = simulate(&grid, threshold(0.35));
        // Right: top, the guess, the step below, the guess again.
        let (answer, probes) = simulate_from(&grid, 6, threshold(0.35));
        assert_eq!(answer, plain);
        let limits: Vec<f64> = probes.iter().map(|(i, _)| grid[*i]).collect();
        assert_eq!(limits, vec![1.0, 0.35, 0.3, 0.35]);
        assert!(probes.len() < plain_probes.len());
        // Wrong either way, or anywhere: the same answer as without a guess.
        for g in 0..grid.len() {
            for at in [0.05, 0.2, 0.35, 0.7, 1.0] {
                let (a, _) = simulate_from(&grid, g, threshold(at));
                assert_eq!(
                    a,
                    simulate(&grid, threshold(at)).0,
                    "guess {g}, threshold {at}"
                );
            }
        }
    }

    #[test]
    fn the_guess_is_the_limit_serving_the_target_at_the_measured_cpu_per_request() {
        let grid = cpus();
        // 1 core served 1200 req/s: 600 req/s need 0.5.
        assert_eq!(guess(&grid, 600.0, Some(1.0), Some(1200.0)), Some(9));
        // 0.52 rounds up to 0.55.
        assert_eq!(guess(&grid, 624.0, Some(1.0), Some(1200.0)), Some(10));
        // More than the range: the top.
        assert_eq!(guess(&grid, 5000.0, Some(1.0), Some(1200.0)), Some(19));
        assert_eq!(guess(&grid, 600.0, None, Some(1200.0)), None);
        assert_eq!(guess(&grid, 600.0, Some(1.0), Some(0.0)), None);
    }

    #[test]
    fn a_failed_confirmation_at_the_answer_resumes_the_search_above_it() {
        let grid = cpus();
        // The search's probes found 0.35 (index 6): 1.0 and 0.5 passed, 0.25 failed, 0.35
        // passed twice, 0.3 failed.
        let mut history = vec![
            (19, Outcome::Pass),
            (9, Outcome::Pass),
            (4, Outcome::Fail),
            (6, Outcome::Pass),
            (5, Outcome::Fail),
            (6, Outcome::Pass),
        ];
        assert_eq!(
            next(&grid, &history),
            Step::Done(Answer::Found {
                at: 6,
                below: Some(5)
            })
        );
        // Its confirmation run fails: 0.35 now counts as failed, and the search bisects
        // between it and the lowest pass above (0.5), then checks the new answer twice.
        history.push((6, Outcome::Fail));
        assert_eq!(next(&grid, &history), Step::Probe(7));
        history.push((7, Outcome::Pass));
        assert_eq!(next(&grid, &history), Step::Probe(7));
        history.push((7, Outcome::Pass));
        assert_eq!(
            next(&grid, &history),
            Step::Done(Answer::Found {
                at: 7,
                below: Some(6)
            })
        );
    }

    #[test]
    fn every_threshold_is_found_exactly() {
        let grid = cpus();
        for (k, &at) in grid.iter().enumerate().skip(1) {
            let (answer, probes) = simulate(&grid, threshold(at));
            assert_eq!(
                answer,
                Answer::Found {
                    at: k,
                    below: Some(k - 1)
                },
                "at {at}"
            );
            assert!(
                probes.len() <= 9,
                "{} probes for a 20-value grid",
                probes.len()
            );
        }
    }

    #[test]
    fn a_server_that_always_passes_is_answered_at_the_lower_bound() {
        let (answer, probes) = simulate(&cpus(), |_| Outcome::Pass);
        assert_eq!(answer, Answer::Found { at: 0, below: None });
        assert_eq!(probes.iter().filter(|(i, _)| *i == 0).count(), 2);
    }

    #[test]
    fn a_server_that_never_passes_costs_two_probes() {
        let (answer, probes) = simulate(&cpus(), |_| Outcome::Fail);
        assert_eq!(answer, Answer::NotReached);
        assert_eq!(probes, vec![(19, Outcome::Fail), (19, Outcome::Fail)]);
    }

    #[test]
    fn one_noisy_miss_at_the_top_does_not_end_the_search() {
        // Seen on this machine: a p99 miss at 1 CPU that the next probe there did not repeat.
        let mut first = true;
        let (answer, probes) = simulate(&cpus(), |v| {
            if v == 1.0 && std::mem::take(&mut first) {
                return Outcome::Fail;
            }
            threshold(0.35)(v)
        });
        assert_eq!(
            answer,
            Answer::Found {
                at: 6,
                below: Some(5)
            }
        );
        assert_eq!(
            &probes[..3],
            &[
                (19, Outcome::Fail),
                (19, Outcome::Pass),
                (19, Outcome::Pass)
            ]
        );
        // Most probes at the top missing is "not reached".
        let history = [
            (19, Outcome::Fail),
            (19, Outcome::Pass),
            (19, Outcome::Fail),
        ];
        assert_eq!(next(&cpus(), &history), Step::Done(Answer::NotReached));
    }

    #[test]
    fn a_loadgen_bound_probe_stops_the_search() {
        // Below 0.5 CPUs ab runs out of CPU before the server does.
        let (answer, probes) = simulate(&cpus(), |v| {
            if v >= 0.5 {
                Outcome::Pass
            } else {
                Outcome::LoadgenBound
            }
        });
        assert_eq!(answer, Answer::LoadgenBound { at: 4 });
        assert_eq!(probes.len(), 3, "top, 0.5, 0.25: then stop");
    }

    #[test]
    fn a_noisy_server_gets_an_answer_that_passed_twice_above_every_failure() {
        // Throughput proportional to the limit, ±25% noise per probe (a deterministic
        // generator), against a target met at 0.4 CPUs on average.
        for seed in 1..200u64 {
            let mut state = seed;
            let mut noise = move || {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 33) as f64 / (1u64 << 31) as f64) * 0.5 - 0.25
            };
            let grid = cpus();
            let (answer, history) = simulate(&grid, |v| {
                if v * 1000.0 * (1.0 + noise()) >= 400.0 {
                    Outcome::Pass
                } else {
                    Outcome::Fail
                }
            });
            match answer {
                Answer::Found { at, below } => {
                    assert!(
                        history
                            .iter()
                            .filter(|p| **p == (at, Outcome::Pass))
                            .count()
                            >= 2
                    );
                    assert!(history.iter().all(|(i, o)| *i <= at || *o == Outcome::Pass));
                    let below = below.expect("0.05 CPUs never passes");
                    assert_eq!(below + 1, at);
                    assert!(history.contains(&(below, Outcome::Fail)));
                    // Only limits that can pass (0.4 / 1.25 = 0.32) and can fail (0.4 /
                    // 0.75 = 0.53) can be the answer.
                    assert!(
                        (0.32..=0.55).contains(&grid[at]),
                        "seed {seed}: {}",
                        grid[at]
                    );
                }
                // The top can fail with this much noise only if 1.0 * 0.75 < 0.4: never.
                other => panic!("seed {seed}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_failed_check_moves_the_answer_up() {
        // 0.35 passes once, then fails: the answer becomes 0.4.
        let mut seen = 0;
        let (answer, _) = simulate(&cpus(), |v| {
            if (v - 0.35).abs() < 1e-9 {
                seen += 1;
                return if seen == 1 {
                    Outcome::Pass
                } else {
                    Outcome::Fail
                };
            }
            threshold(0.35)(v)
        });
        assert_eq!(
            answer,
            Answer::Found {
                at: 7,
                below: Some(6)
            }
        );
    }

    #[test]
    fn passes_below_a_failure_are_reported() {
        let history = [
            (19, Outcome::Pass),
            (9, Outcome::Pass),
            (4, Outcome::Pass),
            (6, Outcome::Fail),
        ];
        assert_eq!(non_monotonic(20, &history), vec![4]);
        assert_eq!(
            unfinished(20, &history),
            Answer::Unfinished {
                pass: Some(9),
                fail: Some(6)
            }
        );
    }

    #[test]
    fn a_seeded_top_is_not_probed_again() {
        // A history that already holds passes at the top (e.g. carried over from an earlier
        // search at the same limits) goes straight to halving.
        let grid: Vec<f64> = (1..=16).map(|k| f64::from(k) * 8.0).collect();
        let seeded = vec![(15, Outcome::Pass), (15, Outcome::Pass)];
        assert_eq!(
            next(&grid, &seeded),
            Step::Probe(7),
            "64 of 128: halved at once"
        );
    }

    #[test]
    fn a_one_value_grid_is_checked_twice() {
        let (answer, probes) = simulate(&[0.5], |_| Outcome::Pass);
        assert_eq!(answer, Answer::Found { at: 0, below: None });
        assert_eq!(probes.len(), 2);
    }
}
