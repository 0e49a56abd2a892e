//! Property tests: `IncrementalKs` / `SlidingKs` against a brute-force KS statistic.

use jidoka::detect::ks::{IncrementalKs, KsExact, SlidingKs};
use proptest::prelude::*;

/// Brute force: sort the pooled sample, evaluate both ECDFs (right-continuous,
/// ties included) at every distinct value. Returns the exact numerators and the
/// scipy-style float statistics `(D, D+, D-)` computed independently.
fn brute(reference: &[f64], current: &[f64]) -> (KsExact, [f64; 3]) {
    let (n1, n2) = (reference.len(), current.len());
    if n1 == 0 || n2 == 0 {
        let zero = KsExact {
            greater: 0,
            less: 0,
            denominator: 0,
        };
        return (zero, [0.0; 3]);
    }
    let mut pooled: Vec<f64> = reference.iter().chain(current).copied().collect();
    pooled.sort_by(f64::total_cmp);
    // `<=` on f64 treats -0.0 == 0.0, like np.searchsorted.
    let count_le = |s: &[f64], x: f64| s.iter().filter(|&&v| v <= x).count();
    let (mut max_num, mut min_num) = (i128::MIN, i128::MAX);
    let (mut max_f, mut min_f) = (f64::MIN, f64::MAX);
    for &x in &pooled {
        let (c1, c2) = (count_le(reference, x), count_le(current, x));
        let num = (n2 * c1) as i128 - (n1 * c2) as i128;
        max_num = max_num.max(num);
        min_num = min_num.min(num);
        let d = c1 as f64 / n1 as f64 - c2 as f64 / n2 as f64;
        max_f = max_f.max(d);
        min_f = min_f.min(d);
    }
    let exact = KsExact {
        greater: max_num.max(0) as u128,
        less: (-min_num).max(0) as u128,
        denominator: (n1 * n2) as u128,
    };
    let less_f = (-min_f).clamp(0.0, 1.0);
    (exact, [max_f.max(less_f), max_f, less_f])
}

fn assert_matches(ks: &IncrementalKs, reference: &[f64], current: &[f64]) {
    let (exact, [d, dp, dm]) = brute(reference, current);
    assert_eq!(ks.exact(), exact);
    assert_eq!(ks.n_reference(), reference.len());
    assert_eq!(ks.n_current(), current.len());
    for (got, want) in [
        (ks.statistic(), d),
        (ks.statistic_greater(), dp),
        (ks.statistic_less(), dm),
    ] {
        assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
    }
}

/// Heavy ties: a handful of integers, plus both signed zeros.
fn tied_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => (-3i32..4).prop_map(f64::from),
        1 => Just(-0.0),
        1 => Just(0.0),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    InsRef(f64),
    RemRef(f64),
    InsCur(f64),
    RemCur(f64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => tied_value().prop_map(Op::InsRef),
        2 => tied_value().prop_map(Op::RemRef),
        3 => tied_value().prop_map(Op::InsCur),
        2 => tied_value().prop_map(Op::RemCur),
    ]
}

fn remove_from(model: &mut Vec<f64>, v: f64) -> bool {
    match model.iter().position(|&x| x == v) {
        Some(i) => {
            model.swap_remove(i);
            true
        }
        None => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_ops_match_brute_force(ops in prop::collection::vec(op(), 0..300)) {
        let mut ks = IncrementalKs::new();
        let (mut r, mut c) = (Vec::new(), Vec::new());
        for op in ops {
            match op {
                Op::InsRef(v) => { ks.insert_reference(v); r.push(v); }
                Op::InsCur(v) => { ks.insert_current(v); c.push(v); }
                Op::RemRef(v) => prop_assert_eq!(ks.remove_reference(v), remove_from(&mut r, v)),
                Op::RemCur(v) => prop_assert_eq!(ks.remove_current(v), remove_from(&mut c, v)),
            }
            assert_matches(&ks, &r, &c);
        }
    }

    #[test]
    fn rolling_pairs_stay_exact(
        init in prop::collection::vec((tied_value(), tied_value()), 1..40),
        steps in prop::collection::vec((any::<prop::sample::Index>(), tied_value(), any::<bool>()), 0..200),
    ) {
        // Paired insert+remove at constant sizes, on either side (a rolling
        // reference, a full window): every read stays exact.
        let mut ks = IncrementalKs::new();
        let (mut r, mut c): (Vec<f64>, Vec<f64>) = init.iter().copied().unzip();
        for &(a, b) in &init { ks.insert_reference(a); ks.insert_current(b); }
        for (idx, v, on_ref) in steps {
            let model = if on_ref { &mut r } else { &mut c };
            let old = model.swap_remove(idx.index(model.len()));
            model.push(v);
            if on_ref {
                ks.insert_reference(v);
                prop_assert!(ks.remove_reference(old));
            } else {
                prop_assert!(ks.remove_current(old));
                ks.insert_current(v);
            }
            assert_matches(&ks, &r, &c);
        }
    }

    #[test]
    fn sliding_window_matches_brute_force(
        w in 1usize..50,
        reference in prop::collection::vec(tied_value(), 0..60),
        stream in prop::collection::vec(tied_value(), 0..250),
    ) {
        let mut s = SlidingKs::new(w);
        for &v in &reference { s.insert_reference(v); }
        let mut window: Vec<f64> = Vec::new();
        for &v in &stream {
            let expected = if window.len() == w { Some(window.remove(0)) } else { None };
            prop_assert_eq!(s.push(v), expected);
            window.push(v);
            prop_assert_eq!(s.window().iter().copied().collect::<Vec<_>>(), window.clone());
            assert_matches(s.inner(), &reference, &window);
            prop_assert_eq!(s.statistic(), s.inner().statistic());
        }
    }

    #[test]
    fn continuous_values_match_brute_force(
        r in prop::collection::vec(-1e3f64..1e3, 0..80),
        c in prop::collection::vec(-1e3f64..1e3, 0..80),
    ) {
        let mut ks = IncrementalKs::new();
        for &v in &r { ks.insert_reference(v); }
        for &v in &c { ks.insert_current(v); }
        assert_matches(&ks, &r, &c);
    }
}
