//! Sufficient statistics against brute-force sums and the conjugate
//! formulas computed independently (naive Gauss–Jordan inverse).

use super::*;
use crate::decide::bandit::brute::inverse;
use proptest::prelude::*;

const ARMS: [Action; 3] = [Action::None, Action::Retrain, Action::Fallback];

fn close(x: f64, y: f64, tol: f64) -> bool {
    (x - y).abs() <= tol * (1.0 + x.abs().max(y.abs()))
}

type Obs = (usize, Vec<f64>, f64);

fn obs_strategy(d: usize) -> impl Strategy<Value = Vec<Obs>> {
    proptest::collection::vec(
        (
            0usize..ARMS.len(),
            proptest::collection::vec(-1.0f64..1.0, d),
            -12.0f64..2.0,
        ),
        0..40,
    )
}

/// Brute force: weights γ^(later observations of the same arm).
fn brute_sums(obs: &[Obs], arm: usize, d: usize, gamma: f64) -> (Vec<f64>, Vec<f64>, f64, f64) {
    let mine: Vec<&Obs> = obs.iter().filter(|o| o.0 == arm).collect();
    let k = mine.len();
    let (mut xx, mut xr, mut rr, mut w) = (vec![0.0; d * d], vec![0.0; d], 0.0, 0.0);
    for (i, (_, x, r)) in mine.iter().enumerate() {
        let wi = gamma.powi((k - 1 - i) as i32);
        for a in 0..d {
            for b in 0..d {
                xx[a * d + b] += wi * x[a] * x[b];
            }
            xr[a] += wi * r * x[a];
        }
        rr += wi * r * r;
        w += wi;
    }
    (xx, xr, rr, w)
}

fn stats_of(obs: &[Obs], d: usize, gamma: f64) -> BanditStats {
    let mut s = BanditStats::new(d, &ARMS).unwrap();
    for (a, x, r) in obs {
        s.observe(ARMS[*a], x, *r, gamma).unwrap();
    }
    s
}

proptest! {
    #[test]
    fn forgetting_equals_weighted_sums(obs in obs_strategy(3), gamma in 0.5f64..=1.0) {
        let s = stats_of(&obs, 3, gamma);
        for (k, arm) in ARMS.iter().enumerate() {
            let (xx, xr, rr, w) = brute_sums(&obs, k, 3, gamma);
            let got = s.arm(*arm).unwrap();
            for (g, e) in got.xx.iter().zip(&xx).chain(got.xr.iter().zip(&xr)) {
                prop_assert!(close(*g, *e, 1e-9), "{g} vs {e}");
            }
            prop_assert!(close(got.rr, rr, 1e-9) && close(got.weight, w, 1e-9));
            prop_assert_eq!(got.count as usize, obs.iter().filter(|o| o.0 == k).count());
        }
    }

    /// A pool of members A and B equals the brute-force sums over both
    /// members' outcomes (each decayed by its own later outcomes).
    #[test]
    fn pool_is_the_sum_of_members(
        obs in obs_strategy(3), owner in proptest::collection::vec(any::<bool>(), 40),
        gamma in 0.5f64..=1.0,
    ) {
        let a: Vec<Obs> = obs.iter().zip(&owner).filter(|(_, o)| **o).map(|(x, _)| x.clone()).collect();
        let b: Vec<Obs> = obs.iter().zip(&owner).filter(|(_, o)| !**o).map(|(x, _)| x.clone()).collect();
        let mut pool = stats_of(&a, 3, gamma);
        pool.add_scaled(&stats_of(&b, 3, gamma), 1.0).unwrap();
        for (k, arm) in ARMS.iter().enumerate() {
            let (xa, ra, rra, wa) = brute_sums(&a, k, 3, gamma);
            let (xb, rb, rrb, wb) = brute_sums(&b, k, 3, gamma);
            let got = pool.arm(*arm).unwrap();
            for (i, g) in got.xx.iter().enumerate() {
                prop_assert!(close(*g, xa[i] + xb[i], 1e-9));
            }
            for (i, g) in got.xr.iter().enumerate() {
                prop_assert!(close(*g, ra[i] + rb[i], 1e-9));
            }
            prop_assert!(close(got.rr, rra + rrb, 1e-9) && close(got.weight, wa + wb, 1e-9));
        }
        if gamma == 1.0 {
            // Without forgetting the pool is exactly the statistics of all outcomes.
            let all = stats_of(&obs.iter().zip(&owner).map(|(x, _)| x.clone()).collect::<Vec<_>>(), 3, 1.0);
            for arm in ARMS {
                let (p, q) = (pool.arm(arm).unwrap(), all.arm(arm).unwrap());
                prop_assert!(close(p.rr, q.rr, 1e-9) && p.count == q.count);
            }
        }
    }

    /// The posterior against the conjugate formulas computed by brute force:
    /// Λ = κI + Σwxxᵀ, μ = Λ⁻¹(κm0 + Σwrx), a = a0 + Σw/2,
    /// b = b0 + ½(Σwr² + κ m0ᵀm0 − μᵀΛμ).
    #[test]
    fn posterior_matches_conjugate_formulas(
        obs in obs_strategy(3), gamma in 0.6f64..=1.0, kappa in 0.1f64..20.0,
        m in proptest::collection::vec(-2.0f64..2.0, 9),
    ) {
        let d = 3;
        let means: Vec<Vec<f64>> = m.chunks(d).map(|c| c.to_vec()).collect();
        let prior = Prior { precision: kappa, a0: 1.5, b0: 0.7 };
        let post = posterior(&stats_of(&obs, d, gamma), prior, Some(&means)).unwrap();
        for (k, arm) in ARMS.iter().enumerate() {
            let (mut lam, xr, rr, w) = brute_sums(&obs, k, d, gamma);
            for i in 0..d {
                lam[i * d + i] += kappa;
            }
            let eta: Vec<f64> = (0..d).map(|i| xr[i] + kappa * means[k][i]).collect();
            let inv = inverse(&lam, d);
            let mu: Vec<f64> = (0..d).map(|i| (0..d).map(|j| inv[i * d + j] * eta[j]).sum()).collect();
            let quad: f64 = (0..d).map(|i| (0..d).map(|j| mu[i] * lam[i * d + j] * mu[j]).sum::<f64>()).sum();
            let m0m0: f64 = means[k].iter().map(|v| v * v).sum();
            let b = 0.7 + 0.5 * (rr + kappa * m0m0 - quad);
            let got = post.arm(*arm).unwrap();
            for (g, e) in got.mean().iter().zip(&mu) {
                prop_assert!(close(*g, *e, 1e-7), "mu {g} vs {e}");
            }
            for (g, e) in got.precision().iter().zip(&lam) {
                prop_assert!(close(*g, *e, 1e-9));
            }
            let (ga, gb) = got.noise_params();
            prop_assert!(close(ga, 1.5 + w / 2.0, 1e-9));
            prop_assert!(close(gb, b, 1e-6), "b {gb} vs {b}");
        }
    }

    /// Without forgetting and with a zero prior mean, the posterior from
    /// statistics is the state the incremental bandit reaches.
    #[test]
    fn no_forgetting_equals_incremental_bandit(obs in obs_strategy(4)) {
        let prior = Prior { precision: 10.0, a0: 1.0, b0: 1.0 };
        let mut inc = LinearThompsonBandit::new(4, &ARMS, prior).unwrap();
        for (a, x, r) in &obs {
            inc.update(ARMS[*a], x, *r).unwrap();
        }
        let batch = posterior(&stats_of(&obs, 4, 1.0), prior, None).unwrap();
        for arm in ARMS {
            let (p, q) = (inc.arm(arm).unwrap(), batch.arm(arm).unwrap());
            prop_assert_eq!(p.observations(), q.observations());
            for (g, e) in p.mean().iter().zip(q.mean()) {
                prop_assert!(close(*g, *e, 1e-8));
            }
            for (g, e) in p.precision().iter().zip(q.precision()) {
                prop_assert!(close(*g, *e, 1e-9));
            }
            let ((pa, pb), (qa, qb)) = (p.noise_params(), q.noise_params());
            prop_assert!(close(pa, qa, 1e-12) && close(pb, qb, 1e-7), "{pb} vs {qb}");
        }
    }
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let mut s = BanditStats::new(2, &ARMS).unwrap();
    assert!(s.observe(Action::Hold, &[1.0, 0.0], 1.0, 1.0).is_err());
    assert!(s.observe(Action::None, &[1.0], 1.0, 1.0).is_err());
    assert!(s.observe(Action::None, &[1.0, f64::NAN], 1.0, 1.0).is_err());
    assert!(s.observe(Action::None, &[1.0, 0.0], 1.0, 0.0).is_err());
    assert!(s.observe(Action::None, &[1.0, 0.0], 1.0, 1.5).is_err());
    assert_eq!(s, BanditStats::new(2, &ARMS).unwrap());
    let other = BanditStats::new(3, &ARMS).unwrap();
    assert!(s.add_scaled(&other, 1.0).is_err());
    let fewer = BanditStats::new(2, &ARMS[..2]).unwrap();
    assert!(s.add_scaled(&fewer, 1.0).is_err());
    assert!(BanditStats::new(2, &[Action::None, Action::None]).is_err());
    let bad = Prior {
        precision: 0.0,
        a0: 1.0,
        b0: 1.0,
    };
    assert!(posterior(&s, bad, None).is_err());
    assert!(posterior(&s, Prior::default(), Some(&[vec![0.0; 2]])).is_err());
}
