use super::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn empty_or_nan_gives_none() {
    assert!(ks_2samp(&[], &[1.0], Alternative::TwoSided, Method::Auto).is_none());
    assert!(ks_2samp(&[1.0], &[], Alternative::TwoSided, Method::Auto).is_none());
    assert!(ks_2samp(
        &[1.0, f64::NAN],
        &[1.0],
        Alternative::TwoSided,
        Method::Auto
    )
    .is_none());
}

#[test]
fn identical_samples_have_p_one() {
    let a = [1.0, 2.0, 3.0, 4.0, 5.0];
    for alt in [
        Alternative::TwoSided,
        Alternative::Less,
        Alternative::Greater,
    ] {
        for m in [Method::Auto, Method::Exact, Method::Asymptotic] {
            let r = ks_2samp(&a, &a, alt, m).unwrap();
            assert_eq!(r.statistic, 0.0);
            assert_eq!(r.p_value, 1.0, "{alt:?} {m:?}");
        }
    }
}

/// Hand-checkable: completely separated samples of size 3 and 3.
/// D = 1; exact two-sided p = 2 / C(6,3) = 0.1; one-sided = 1/20 = 0.05.
#[test]
fn separated_small_samples() {
    let a = [1.0, 2.0, 3.0];
    let b = [4.0, 5.0, 6.0];
    let r = ks_2samp(&a, &b, Alternative::TwoSided, Method::Auto).unwrap();
    assert_eq!(r.statistic, 1.0);
    assert!(close(r.p_value, 0.1, 1e-15), "{}", r.p_value);
    assert_eq!(r.method_used, Method::Exact);
    // a is stochastically smaller: F1 >= F2 everywhere, D+ = 1.
    let g = ks_2samp(&a, &b, Alternative::Greater, Method::Auto).unwrap();
    assert_eq!(g.statistic, 1.0);
    assert!(close(g.p_value, 0.05, 1e-15), "{}", g.p_value);
    let l = ks_2samp(&a, &b, Alternative::Less, Method::Auto).unwrap();
    assert_eq!(l.statistic, 0.0);
    assert_eq!(l.p_value, 1.0);
}

/// Unequal sizes, hand-counted: a = {1, 2}, b = {3, 4, 5}: D = 1,
/// only 2 of the C(5,2) = 10 arrangements reach D = 1 (all a first or all b first).
#[test]
fn separated_unequal_sizes() {
    let r = ks_2samp(
        &[1.0, 2.0],
        &[3.0, 4.0, 5.0],
        Alternative::TwoSided,
        Method::Exact,
    )
    .unwrap();
    assert_eq!(r.statistic, 1.0);
    assert!(close(r.p_value, 0.2, 1e-15), "{}", r.p_value);
    let g = ks_2samp(
        &[1.0, 2.0],
        &[3.0, 4.0, 5.0],
        Alternative::Greater,
        Method::Exact,
    )
    .unwrap();
    assert!(close(g.p_value, 0.1, 1e-15), "{}", g.p_value);
}

/// Values checked against scipy 1.17.1 by hand.
#[test]
fn scipy_hand_values() {
    // scipy.stats.ks_2samp([1,2,3,4,5,6,7,8], [5,6,7,8,9,10,11,12])
    //   -> statistic=0.5, pvalue=0.2826728826728826 (exact)
    let a: Vec<f64> = (1..=8).map(f64::from).collect();
    let b: Vec<f64> = (5..=12).map(f64::from).collect();
    let r = ks_2samp(&a, &b, Alternative::TwoSided, Method::Auto).unwrap();
    assert_eq!(r.statistic, 0.5);
    assert!(
        close(r.p_value, 0.282_672_882_672_882_6, 1e-15),
        "{}",
        r.p_value
    );
    // asymp: kstwo.sf(0.5, en = 4) = 2 * smirnov(4, 0.5)
    //   = 2 * sum_j C(4,j) d (d + j/4)^(j-1) (1 - d - j/4)^(4-j) = 2 * (1/16 + 1/32) = 0.1875
    let r = ks_2samp(&a, &b, Alternative::TwoSided, Method::Asymptotic).unwrap();
    assert_eq!(r.method_used, Method::Asymptotic);
    assert!(close(r.p_value, 0.1875, 1e-15), "{}", r.p_value);
}

#[test]
fn ties_are_grouped() {
    // cdfs evaluated after all ties: a = {0,0,1}, b = {0,1,1}
    // at 0: 2/3 - 1/3 = 1/3; at 1: 0 -> D = 1/3
    let r = ks_2samp(
        &[0.0, 0.0, 1.0],
        &[0.0, 1.0, 1.0],
        Alternative::TwoSided,
        Method::Asymptotic,
    )
    .unwrap();
    assert!(close(r.statistic, 1.0 / 3.0, 1e-16));
    let r = ks_2samp(
        &[-0.0, 0.0, 1.0],
        &[0.0, 1.0, 1.0],
        Alternative::TwoSided,
        Method::Asymptotic,
    )
    .unwrap();
    assert!(close(r.statistic, 1.0 / 3.0, 1e-16));
}

/// Infinite values sort like numpy's: checked against scipy 1.17.1.
#[test]
fn infinities_are_ordinary_values() {
    let a = [f64::NEG_INFINITY, 1.0, 2.0, f64::INFINITY];
    let b = [f64::INFINITY, 0.5, 3.0];
    let r = ks_2samp(&a, &b, Alternative::TwoSided, Method::Auto).unwrap();
    assert!(close(r.statistic, 0.416_666_666_666_666_7, 1e-16));
    assert!(close(r.p_value, 0.885_714_285_714_285_8, 1e-15));
    let r = ks_2samp(&a, &b, Alternative::Less, Method::Auto).unwrap();
    assert!(close(r.statistic, 0.083_333_333_333_333_33, 1e-16));
    assert!(close(r.p_value, 0.857_142_857_142_857_1, 1e-15));
}

#[test]
fn auto_switch_rule() {
    assert_eq!(
        p_value(0.01, 10_000, 10_000, Alternative::TwoSided, Method::Auto).1,
        Method::Exact
    );
    assert_eq!(
        p_value(0.01, 10_001, 10_000, Alternative::TwoSided, Method::Auto).1,
        Method::Asymptotic
    );
    assert_eq!(
        p_value(0.3, 1000, 999, Alternative::Greater, Method::Auto).1,
        Method::Asymptotic
    );
    assert_eq!(
        p_value(0.3, 100, 99, Alternative::Greater, Method::Auto).1,
        Method::Exact
    );
}

#[test]
fn kstwo_reference_points() {
    for &(n, x, want) in tests_data::KSTWO_SF {
        let got = kstwo_sf(x, n);
        assert!(
            close(got, want, 1e-12),
            "kstwo.sf({x}, {n}) = {got:e}, want {want:e}"
        );
    }
}

#[test]
fn smirnov_reference_points() {
    for &(n, x, want) in tests_data::SMIRNOV_SF {
        let got = smirnov::smirnov_sf(n, x);
        assert!(
            close(got, want, 1e-14),
            "smirnov({n}, {x}) = {got:e}, want {want:e}"
        );
    }
}

/// Straight port of scipy's pythran `_compute_outer_prob_inside_method`, used to
/// check that the wavefront evaluation is bit-identical.
fn reference_outer(m: i64, n: i64, g: i64, h: i64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let mg = m / g;
    let ng = n / g;
    let mgf = mg as f64;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64 / mgf).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for v in a.iter_mut().take(maxj as usize) {
        *v = 0.0;
    }
    for i in 1..=m {
        let lastminj = minj;
        let lastlen = curlen;
        minj = (((ng * i - h) as f64 / mgf).floor() as i64 + 1)
            .max(0)
            .min(n);
        maxj = (((ng * i + h) as f64 / mgf).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            val = (a[(jj + minj - lastminj) as usize] * i as f64 + val * j as f64) / (i + j) as f64;
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = (maxj - minj) as usize;
            let end = ((maxj - minj + (lastlen - curlen)) as usize).min(len_a);
            for v in &mut a[start..end] {
                *v = 1.0;
            }
        }
    }
    a[(maxj - minj - 1) as usize]
}

#[test]
fn wavefront_matches_reference_bitwise() {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |k: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % k
    };
    for it in 0..3000 {
        let lim = if it % 10 == 0 { 600 } else { 80 };
        let n1 = 1 + next(lim) as usize;
        let n2 = 1 + next(lim) as usize;
        let g = gcd(n1, n2);
        let lcm = (n1 / g * n2) as u64;
        let h = 1 + next(lcm) as i64;
        let (n1, n2, g) = (n1 as i64, n2 as i64, g as i64);
        let got = compute_outer_prob_inside_method(n1, n2, g, h);
        let want = reference_outer(n1, n2, g, h);
        assert_eq!(
            got.to_bits(),
            want.to_bits(),
            "n1={n1} n2={n2} h={h}: {got:e} vs {want:e}"
        );
    }
}

#[test]
fn frexp_ldexp_roundtrip() {
    for &x in &[1.0, 0.75, -3.5, 1e-310, 5e-324, 1e300, f64::MAX] {
        let (m, e) = frexp(x);
        assert!((0.5..1.0).contains(&m.abs()));
        assert_eq!(ldexp(m, e), x);
    }
    assert_eq!(ldexp(1.0, -1074), 5e-324);
    assert_eq!(ldexp(1.0, 1024), f64::INFINITY);
}
