use proptest::prelude::*;

use super::*;

#[derive(serde::Deserialize)]
struct Golden {
    cases: Vec<GoldenCase>,
}

#[derive(serde::Deserialize)]
struct GoldenCase {
    p: Vec<f64>,
    adjusted: Vec<f64>,
}

/// Max abs error against `bh_golden.json` (regenerate with
/// `python3 gen_bh_golden.py`).
#[test]
fn bh_matches_scipy_golden() {
    let text = include_str!("../../tests/data/bh_golden.json");
    let golden: Golden = serde_json::from_str(text).expect("golden json");
    assert!(golden.cases.len() >= 200);
    let mut max_err: f64 = 0.0;
    for case in &golden.cases {
        let out = adjust(&case.p, 0.05, Correction::BenjaminiHochberg);
        assert_eq!(out.adjusted.len(), case.adjusted.len());
        for (a, b) in out.adjusted.iter().zip(&case.adjusted) {
            max_err = max_err.max((a - b).abs());
        }
    }
    println!("max abs error vs scipy: {max_err:e}");
    assert!(max_err <= 1e-12, "max abs error {max_err}");
}

#[test]
fn textbook_example() {
    let p = [0.01, 0.04, 0.03, 0.005, 0.2];
    let bh = adjust(&p, 0.05, Correction::BenjaminiHochberg);
    // Sorted 0.005, 0.01, 0.03, 0.04, 0.2 → 0.025, 0.025, 0.05, 0.05, 0.2.
    let want = [0.025, 0.05, 0.05, 0.025, 0.2];
    for (a, b) in bh.adjusted.iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{a} vs {b}");
    }
    assert_eq!(bh.rejected, vec![true, true, true, true, false]);
    assert!((bh.threshold - 0.04).abs() < 1e-15);
    let bf = adjust(&p, 0.05, Correction::Bonferroni);
    assert_eq!(bf.rejected, vec![true, false, false, true, false]);
    assert!((bf.threshold - 0.01).abs() < 1e-15);
    assert_eq!(bf.adjusted[4], 1.0);
}

#[test]
fn empty_and_nan() {
    for c in [Correction::BenjaminiHochberg, Correction::Bonferroni] {
        let out = adjust(&[], 0.05, c);
        assert!(out.adjusted.is_empty() && out.rejected.is_empty());
        assert_eq!(out.threshold, 0.05);
        let out = adjust(&[f64::NAN, 1e-9], 0.05, c);
        assert_eq!(out.adjusted[0], 1.0);
        assert_eq!(out.rejected, vec![false, true]);
    }
}

#[test]
fn names_match_serde() {
    for c in [Correction::BenjaminiHochberg, Correction::Bonferroni] {
        let json = serde_json::to_string(&c).expect("serialize");
        assert_eq!(json, format!("\"{}\"", c.as_str()));
        assert_eq!(serde_json::from_str::<Correction>(&json).ok(), Some(c));
    }
    assert_eq!(Correction::default(), Correction::BenjaminiHochberg);
}

/// p-values with a mix of uniform, tiny and repeated values.
fn p_values() -> impl Strategy<Value = Vec<f64>> {
    let one = prop_oneof![
        4 => 0.0f64..=1.0,
        2 => (-12.0f64..-1.0).prop_map(|e| 10f64.powf(e)),
        1 => Just(0.01),
        1 => Just(0.0),
        1 => Just(1.0),
    ];
    proptest::collection::vec(one, 0..60)
}

fn alphas() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.05), Just(0.01), 0.0f64..=1.0]
}

proptest! {
    #[test]
    fn bh_rejects_superset_of_bonferroni(p in p_values(), alpha in alphas()) {
        let bh = adjust(&p, alpha, Correction::BenjaminiHochberg);
        let bf = adjust(&p, alpha, Correction::Bonferroni);
        for i in 0..p.len() {
            prop_assert!(!bf.rejected[i] || bh.rejected[i]);
            prop_assert!(bh.adjusted[i] <= bf.adjusted[i]);
        }
        prop_assert!(bh.threshold >= bf.threshold);
    }

    #[test]
    fn rejected_is_p_at_most_threshold(p in p_values(), alpha in alphas(), bh in any::<bool>()) {
        let c = if bh { Correction::BenjaminiHochberg } else { Correction::Bonferroni };
        let out = adjust(&p, alpha, c);
        let k = out.rejected.iter().filter(|&&r| r).count();
        for ((&pi, &r), &a) in p.iter().zip(&out.rejected).zip(&out.adjusted) {
            prop_assert_eq!(r, pi <= out.threshold);
            prop_assert_eq!(r, a <= alpha);
            prop_assert!((0.0..=1.0).contains(&a));
        }
        if !p.is_empty() {
            let m = p.len() as f64;
            let nominal = if bh && k > 0 { k as f64 / m * alpha } else { alpha / m };
            prop_assert!((out.threshold - nominal).abs() <= 1e-12 * nominal.max(1e-300));
        }
    }

    #[test]
    fn adjusted_is_monotone_in_p(p in p_values(), bh in any::<bool>()) {
        let c = if bh { Correction::BenjaminiHochberg } else { Correction::Bonferroni };
        let out = adjust(&p, 0.05, c);
        for i in 0..p.len() {
            for j in 0..p.len() {
                if p[i] <= p[j] {
                    prop_assert!(out.adjusted[i] <= out.adjusted[j]);
                }
                if p[i] == p[j] {
                    prop_assert_eq!(out.rejected[i], out.rejected[j]);
                }
            }
            prop_assert!(out.adjusted[i] >= p[i]);
        }
    }

    #[test]
    fn single_test_corrections_agree(p in 0.0f64..=1.0, alpha in alphas()) {
        let bh = adjust(&[p], alpha, Correction::BenjaminiHochberg);
        let bf = adjust(&[p], alpha, Correction::Bonferroni);
        prop_assert_eq!(&bh, &bf);
        prop_assert_eq!(bh.adjusted[0], p);
        prop_assert_eq!(bh.rejected[0], p <= alpha);
    }
}
