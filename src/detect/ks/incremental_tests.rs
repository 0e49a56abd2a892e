//! Unit tests of the incremental KS structure.

use super::*;

/// Checks that both samples are sorted order keys.
fn validate(ks: &IncrementalKs) {
    for keys in [&ks.reference, &ks.current] {
        let keys: Vec<u64> = keys.iter().collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "unsorted sample");
    }
}

fn filled(reference: &[f64], current: &[f64]) -> IncrementalKs {
    let mut ks = IncrementalKs::new();
    reference.iter().for_each(|&v| ks.insert_reference(v));
    current.iter().for_each(|&v| ks.insert_current(v));
    validate(&ks);
    ks
}

fn stats(ks: &IncrementalKs) -> [f64; 3] {
    [ks.statistic(), ks.statistic_greater(), ks.statistic_less()]
}

#[test]
fn empty_sides_give_zero() {
    assert_eq!(stats(&filled(&[], &[])), [0.0; 3]);
    let mut ks = filled(&[1.0, 2.0], &[]);
    assert_eq!((stats(&ks), ks.exact().denominator), ([0.0; 3], 0));
    ks.insert_current(5.0);
    assert_eq!(stats(&ks), [1.0, 1.0, 0.0]);
    assert!(ks.remove_reference(1.0) && ks.remove_reference(2.0));
    assert_eq!((stats(&ks), ks.distinct_values()), ([0.0; 3], 1));
    validate(&ks);
}

#[test]
fn single_values_and_direction() {
    // F_ref jumps first: F_ref - F_cur = 1 at x = 0 ('greater').
    let mut ks = filled(&[0.0], &[1.0]);
    assert_eq!(stats(&ks), [1.0, 1.0, 0.0]);
    assert!(ks.remove_current(1.0));
    ks.insert_current(-1.0);
    assert_eq!(stats(&ks), [1.0, 0.0, 1.0]);
    validate(&ks);
}

#[test]
fn all_ties_give_zero_and_signed_zeros_tie() {
    let mut ks = filled(&[0.0; 5], &[-0.0; 3]);
    assert_eq!((ks.distinct_values(), ks.exact().denominator), (1, 15));
    assert_eq!(stats(&ks), [0.0; 3]);
    assert!(ks.remove_reference(-0.0) && ks.remove_current(0.0));
    assert_eq!(stats(&ks), [0.0; 3]);
    validate(&ks);
}

#[test]
fn partial_ties_match_scipy() {
    // scipy.stats.ks_2samp([1, 2, 2, 3], [2, 2, 2]): statistic 0.25,
    // 'greater' 0.25 (x=1: 1/4 vs 0), 'less' 0.25 (x=2: 3/4 vs 1).
    let mut ks = filled(&[1.0, 2.0, 2.0, 3.0], &[2.0; 3]);
    assert_eq!(stats(&ks), [0.25; 3]);
    // cur 0.5,2,2,2: at 0.5: 0 - 1/4, at 1: 1/4 - 1/4, at 2: 3/4 - 1.
    ks.insert_current(0.5);
    let e = ks.exact();
    assert_eq!((e.greater, e.less, e.denominator), (0, 4, 16));
}

#[test]
fn removal_of_absent_values_is_a_no_op() {
    let mut ks = filled(&[], &[]);
    assert!(!ks.remove_reference(1.0) && !ks.remove_current(f64::NAN));
    ks = filled(&[1.0], &[2.0]);
    let before = ks.exact();
    assert!(!ks.remove_current(1.0)); // present, but only in the reference
    assert!(!ks.remove_reference(2.0) && !ks.remove_reference(3.0));
    assert_eq!((ks.n_reference(), ks.n_current()), (1, 1));
    assert_eq!(ks.exact(), before);
    assert!(ks.remove_reference(1.0) && !ks.remove_reference(1.0));
    validate(&ks);
}

#[test]
fn nan_is_one_value_above_infinity() {
    let mut ks = filled(&[f64::NAN], &[f64::INFINITY, -f64::NAN]);
    assert_eq!(ks.distinct_values(), 2);
    assert_eq!(stats(&ks), [0.5, 0.0, 0.5]);
    assert!(ks.remove_current(f64::NAN));
    validate(&ks);
}

#[test]
fn many_ops_match_recomputation() {
    use crate::detect::ks::{statistic_brute_force, Alternative};
    let (mut ks, mut x) = (IncrementalKs::new(), 12345u64);
    let (mut r, mut c) = (Vec::new(), Vec::new());
    let remove = |s: &mut Vec<f64>, v: f64| match s.iter().position(|&w| w == v) {
        Some(i) => {
            s.swap_remove(i);
            true
        }
        None => false,
    };
    for step in 0..3000 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        let v = ((x >> 33) % 40) as f64;
        match (x >> 20) % 5 {
            0 => {
                ks.insert_reference(v);
                r.push(v);
            }
            1 | 2 => {
                ks.insert_current(v);
                c.push(v);
            }
            3 => assert_eq!(ks.remove_reference(v), remove(&mut r, v)),
            _ => assert_eq!(ks.remove_current(v), remove(&mut c, v)),
        }
        if step % 7 == 0 && !r.is_empty() && !c.is_empty() {
            let want = statistic_brute_force(&r, &c, Alternative::TwoSided);
            assert!((ks.statistic() - want).abs() < 1e-12, "step {step}");
        }
        if step % 97 == 0 {
            validate(&ks);
        }
    }
}

#[test]
fn sliding_wrapper_evicts_oldest() {
    let mut s = SlidingKs::new(2);
    s.insert_reference(0.0);
    assert_eq!((s.push(1.0), s.push(2.0)), (None, None));
    assert_eq!(s.push(3.0), Some(1.0));
    assert_eq!(s.window().iter().copied().collect::<Vec<_>>(), [2.0, 3.0]);
    assert_eq!((s.statistic_greater(), s.inner().n_current()), (1.0, 2));
    assert_eq!(SlidingKs::new(0).capacity(), 1);
}
