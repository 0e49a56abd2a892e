//! Property tests for the two-sample KS module.

use jidoka::detect::ks::{ks_2samp, p_value, statistic_brute_force, Alternative, Method};
use proptest::prelude::*;

const ALTS: [Alternative; 3] = [
    Alternative::TwoSided,
    Alternative::Less,
    Alternative::Greater,
];
const METHODS: [Method; 3] = [Method::Auto, Method::Exact, Method::Asymptotic];

/// Samples with many ties: small integers divided by a small scale, optionally shifted.
fn tied_sample(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
    (
        prop::collection::vec(0i32..12, 1..max_len),
        1i32..4,
        -3i32..4,
    )
        .prop_map(|(v, scale, shift)| {
            v.into_iter()
                .map(|x| f64::from(x + shift) / f64::from(scale))
                .collect()
        })
}

/// scipy gives NaN only for kstwo with n = round(0.5) = 0.
fn nan_expected(n1: usize, n2: usize, alt: Alternative, used: Method) -> bool {
    n1 == 1 && n2 == 1 && alt == Alternative::TwoSided && used == Method::Asymptotic
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn statistic_equals_brute_force(a in tied_sample(60), b in tied_sample(60)) {
        for alt in ALTS {
            let brute = statistic_brute_force(&a, &b, alt);
            // The asymptotic path returns the raw statistic: bit-identical.
            let r = ks_2samp(&a, &b, alt, Method::Asymptotic).unwrap();
            prop_assert_eq!(r.statistic, brute, "{:?}", alt);
            // The exact path snaps D to h / lcm(n1, n2), as scipy does.
            let r = ks_2samp(&a, &b, alt, Method::Exact).unwrap();
            prop_assert!((r.statistic - brute).abs() <= 1e-12, "{:?}: {} vs {}", alt, r.statistic, brute);
        }
    }

    #[test]
    fn statistic_is_order_invariant(a in tied_sample(40), b in tied_sample(40), seed in any::<u64>()) {
        let mut ar = a.clone();
        let mut br = b.clone();
        // deterministic shuffle
        let mut s = seed | 1;
        for i in (1..ar.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            ar.swap(i, (s % (i as u64 + 1)) as usize);
        }
        for i in (1..br.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            br.swap(i, (s % (i as u64 + 1)) as usize);
        }
        for alt in ALTS {
            prop_assert_eq!(ks_2samp(&a, &b, alt, Method::Auto), ks_2samp(&ar, &br, alt, Method::Auto));
        }
    }

    #[test]
    fn less_is_greater_swapped(a in tied_sample(50), b in tied_sample(50)) {
        for m in METHODS {
            let l = ks_2samp(&a, &b, Alternative::Less, m).unwrap();
            let g = ks_2samp(&b, &a, Alternative::Greater, m).unwrap();
            prop_assert!((l.statistic - g.statistic).abs() <= 1e-15);
            prop_assert!((l.p_value - g.p_value).abs() <= 1e-12, "{:?}: {} vs {}", m, l.p_value, g.p_value);
        }
    }

    #[test]
    fn p_value_in_unit_interval(d in 0.0f64..=1.0, n1 in 1usize..400, n2 in 1usize..400) {
        for alt in ALTS {
            for m in METHODS {
                let (p, used) = p_value(d, n1, n2, alt, m);
                if nan_expected(n1, n2, alt, used) {
                    continue;
                }
                prop_assert!((0.0..=1.0).contains(&p), "p={} d={} n1={} n2={} {:?} {:?}", p, d, n1, n2, alt, m);
            }
        }
    }

    #[test]
    fn ks_2samp_p_value_in_unit_interval(a in tied_sample(80), b in tied_sample(80)) {
        for alt in ALTS {
            for m in METHODS {
                let r = ks_2samp(&a, &b, alt, m).unwrap();
                if nan_expected(a.len(), b.len(), alt, r.method_used) {
                    continue;
                }
                prop_assert!((0.0..=1.0).contains(&r.p_value));
                prop_assert!(r.method_used == Method::Exact || r.method_used == Method::Asymptotic);
                if m == Method::Asymptotic {
                    prop_assert_eq!(r.method_used, Method::Asymptotic);
                }
            }
        }
    }

    #[test]
    fn p_is_one_at_d_zero(n1 in 1usize..30_000, n2 in 1usize..30_000) {
        for alt in ALTS {
            for m in METHODS {
                let (p, used) = p_value(0.0, n1, n2, alt, m);
                if nan_expected(n1, n2, alt, used) {
                    continue;
                }
                prop_assert_eq!(p, 1.0, "n1={} n2={} {:?} {:?}", n1, n2, alt, m);
            }
        }
    }

}

proptest! {
    // These evaluate a whole grid of p-values per case: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// The exact p-value is a non-increasing function of D (up to rounding noise).
    #[test]
    fn exact_p_is_monotone_in_d(n1 in 1usize..300, n2 in 1usize..300, alt_i in 0usize..3) {
        let alt = ALTS[alt_i];
        let lcm = n1 / gcd(n1, n2) * n2;
        let steps = lcm.min(200);
        let mut last = f64::INFINITY;
        let mut last_method = Method::Exact;
        for s in 0..=steps {
            let d = s as f64 / steps as f64;
            let (p, used) = p_value(d, n1, n2, alt, Method::Exact);
            // only compare within one method (the exact path may fall back)
            if used == last_method {
                prop_assert!(p <= last + 1e-12, "d={} p={} > previous {} (n1={} n2={} {:?})", d, p, last, n1, n2, alt);
            }
            last = p;
            last_method = used;
        }
    }

    /// The asymptotic p-values are non-increasing in D too (checked on a grid).
    #[test]
    fn asymptotic_p_is_monotone_in_d(n1 in 2usize..30_000, n2 in 2usize..30_000, alt_i in 0usize..3) {
        let alt = ALTS[alt_i];
        let mut last = f64::INFINITY;
        for s in 0..=150 {
            let d = s as f64 / 150.0;
            let (p, _) = p_value(d, n1, n2, alt, Method::Asymptotic);
            prop_assert!(p <= last + 1e-9, "d={} p={} > previous {} (n1={} n2={} {:?})", d, p, last, n1, n2, alt);
            last = p;
        }
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}
