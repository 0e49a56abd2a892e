//! Unit tests of the incremental KS structure.

use super::*;

/// Checks BST order, heap order, counts and aggregates; returns subtree size.
fn check(ks: &IncrementalKs, t: u32, lo: Option<f64>, hi: Option<f64>) -> usize {
    if t == NIL {
        return 0;
    }
    let n = ks.nodes[t as usize];
    assert!(n.c_ref + n.c_cur > 0, "empty node kept");
    assert!(lo.is_none_or(|lo| lo.total_cmp(&n.key).is_lt()));
    assert!(hi.is_none_or(|hi| n.key.total_cmp(&hi).is_lt()));
    for c in n.ch {
        assert!(c == NIL || ks.nodes[c as usize].prio <= n.prio);
    }
    let a = i128::from(ks.basis_cur);
    let b = i128::from(ks.basis_ref);
    assert_eq!(n.agg, ks.fold(t, a, b));
    1 + check(ks, n.ch[0], lo, Some(n.key)) + check(ks, n.ch[1], Some(n.key), hi)
}

fn validate(ks: &IncrementalKs) {
    assert_eq!(check(ks, ks.root, None, None), ks.distinct_values());
}

fn filled(reference: &[f64], current: &[f64]) -> IncrementalKs {
    let mut ks = IncrementalKs::new(reference.len() as u64);
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
    ks.rebase();
    assert!(ks.remove_current(1.0));
    ks.insert_current(-1.0);
    assert!(ks.is_rebased());
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
    ks.rebase();
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
fn stale_and_rebased_reads_agree_through_many_ops() {
    let (mut ks, mut x) = (IncrementalKs::new(7), 12345u64);
    for step in 0..3000 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        let v = ((x >> 33) % 40) as f64;
        match (x >> 20) % 5 {
            0 => ks.insert_reference(v),
            1 | 2 => ks.insert_current(v),
            3 => _ = ks.remove_reference(v),
            _ => _ = ks.remove_current(v),
        }
        let stale = ks.exact();
        if step % 7 == 0 {
            ks.rebase();
            assert_eq!(ks.exact(), stale);
        }
        if step % 97 == 0 {
            validate(&ks);
        }
    }
}

#[test]
fn sliding_wrapper_evicts_oldest() {
    let mut s = SlidingKs::new(2, 8);
    s.insert_reference(0.0);
    assert_eq!((s.push(1.0), s.push(2.0)), (None, None));
    assert!(s.inner().is_rebased());
    assert_eq!(s.push(3.0), Some(1.0));
    assert_eq!(s.window().iter().copied().collect::<Vec<_>>(), [2.0, 3.0]);
    assert_eq!((s.statistic_greater(), s.inner().n_current()), (1.0, 2));
    assert_eq!(SlidingKs::new(0, 0).capacity(), 1);
}
