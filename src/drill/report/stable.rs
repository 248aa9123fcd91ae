//! Pure: `drill --until-stable` — run trials until the p95 of client RTO settles: it moved by
//! less than a fraction of itself with the last trial, once enough trials measured it.

use serde::{Deserialize, Serialize};

use super::Spread;

/// The stopping rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UntilStable {
    /// Stop when the p95 moves by less than this fraction of its previous value (0.05: 5 %).
    pub fraction: f64,
    /// Trials that must have measured a client RTO before the rule may stop the drill.
    pub min_trials: usize,
}

/// How a `--until-stable` run ended (in the report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stability {
    /// The fraction asked for.
    pub fraction: f64,
    /// The minimum of trials that measured a client RTO.
    pub min_trials: usize,
    /// Trials that measured a client RTO.
    pub measured: usize,
    /// How far the p95 moved with the last of them, as a fraction of the one before
    /// (`null`: fewer than two).
    pub last_move: Option<f64>,
    /// Whether the rule was met (false: the drill stopped at `trials`, or was cancelled).
    pub stable: bool,
}

impl UntilStable {
    /// Whether `rtos` (client RTOs in trial order, ms) meet the rule.
    pub fn reached(&self, rtos: &[f64]) -> bool {
        rtos.len() >= self.min_trials.max(2) && last_move(rtos).is_some_and(|m| m < self.fraction)
    }

    /// The rule's verdict on `rtos`, for the report.
    pub fn outcome(&self, rtos: &[f64]) -> Stability {
        Stability {
            fraction: self.fraction,
            min_trials: self.min_trials,
            measured: rtos.len(),
            last_move: last_move(rtos),
            stable: self.reached(rtos),
        }
    }
}

/// `|p95(rtos) − p95(rtos without the last)| / p95(rtos without the last)`; 0 when both are 0.
fn last_move(rtos: &[f64]) -> Option<f64> {
    let (_, before) = rtos.split_last()?;
    let p95 = |v: &[f64]| Spread::of(v.to_vec()).map(|s| s.p95);
    let (now, was) = (p95(rtos)?, p95(before)?);
    let d = (now - was).abs();
    Some(if d == 0.0 { 0.0 } else { d / was.abs() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: UntilStable = UntilStable {
        fraction: 0.05,
        min_trials: 4,
    };

    #[test]
    fn the_rule_waits_for_the_minimum_then_for_a_small_move() {
        // (client RTOs so far, stable?)
        let cases: &[(&[f64], bool)] = &[
            (&[], false),
            (&[2000.0], false),
            (&[2000.0, 2000.0, 2000.0], false), // below the minimum
            (&[2000.0, 2000.0, 2000.0, 2000.0], true), // p95 did not move
            (&[2000.0, 2000.0, 2000.0, 3000.0], false), // p95 moved 50 %
            (&[2000.0, 2100.0, 2200.0, 2300.0, 2500.0], false), // p95 (the max) 2300 → 2500: 8.7 %
            (&[2000.0, 2100.0, 2200.0, 2300.0, 2340.0], true), // 2300 → 2340: 1.7 %
            (&[2000.0, 2100.0, 2200.0, 2300.0, 2000.0], true), // a low value leaves the p95
        ];
        for (rtos, want) in cases {
            assert_eq!(RULE.reached(rtos), *want, "{rtos:?}: {:?}", last_move(rtos));
        }
    }

    #[test]
    fn the_report_says_how_far_it_moved() {
        let s = RULE.outcome(&[100.0, 100.0, 100.0, 104.0]);
        assert_eq!(s.measured, 4);
        assert!((s.last_move.unwrap() - 0.04).abs() < 1e-9, "{s:?}");
        assert!(s.stable);
        let zero = RULE.outcome(&[0.0, 0.0, 0.0, 0.0]);
        assert_eq!((zero.last_move, zero.stable), (Some(0.0), true));
        assert_eq!(RULE.outcome(&[1.0]).last_move, None);
    }
}
