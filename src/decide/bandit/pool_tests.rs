//! Pooled posteriors against brute force: the pool is the sum of its
//! members, a model with no outcome gets the pool's posterior with
//! inflated covariance, `scope = model` is the per-model bandit, and the
//! rules prior ranks the rules' choice first.

use super::*;
use crate::decide::bandit::brute::{inverse, times};
use crate::decide::bandit::posterior;
use crate::decide::bandit::ArmStats;
use crate::decide::rules::Signals;
use proptest::prelude::*;

const ARMS: [Action; 3] = [Action::None, Action::Retrain, Action::Fallback];
const MODELS: [&str; 4] = ["m0", "m1", "m2", "m3"];
const GROUPS: [&str; 2] = ["g0", "g1"];

type Obs = (usize, usize, usize, Vec<f64>, f64);

fn obs_strategy() -> impl Strategy<Value = Vec<Obs>> {
    proptest::collection::vec(
        (
            0usize..MODELS.len(),
            0usize..GROUPS.len(),
            0usize..ARMS.len(),
            proptest::collection::vec(-1.0f64..1.0, 3),
            -12.0f64..2.0,
        ),
        0..40,
    )
}

fn cfg(scope: Scope, s: f64) -> LearnConfig {
    LearnConfig {
        scope,
        forgetting: 1.0,
        pool_strength: s,
        deviation: Deviation::Fixed(0.0),
        rules_prior: 0.0,
        prior: Prior {
            precision: 2.0,
            a0: 1.0,
            b0: 1.0,
        },
    }
}

fn close(x: f64, y: f64) -> bool {
    (x - y).abs() <= 1e-7 * (1.0 + x.abs().max(y.abs()))
}

fn same_arm_stats(p: &ArmStats, q: &ArmStats) -> bool {
    p.xx.iter().zip(&q.xx).all(|(a, b)| close(*a, *b))
        && p.xr.iter().zip(&q.xr).all(|(a, b)| close(*a, *b))
        && close(p.rr, q.rr)
        && close(p.weight, q.weight)
        && p.count == q.count
}

fn same_stats(p: &BanditStats, q: &BanditStats) -> bool {
    ARMS.iter()
        .all(|a| same_arm_stats(p.arm(*a).unwrap(), q.arm(*a).unwrap()))
}

fn same_posterior(p: &LinearThompsonBandit, q: &LinearThompsonBandit) -> bool {
    ARMS.iter().all(|a| {
        let (x, y) = (p.arm(*a).unwrap(), q.arm(*a).unwrap());
        let ((xa, xb), (ya, yb)) = (x.noise_params(), y.noise_params());
        x.mean().iter().zip(y.mean()).all(|(u, v)| close(*u, *v))
            && x.precision()
                .iter()
                .zip(y.precision())
                .all(|(u, v)| close(*u, *v))
            && close(xa, ya)
            && close(xb, yb)
    })
}

proptest! {
    /// After any sequence (models changing group included), the global sum
    /// and each group's sum equal the brute-force sums of the members.
    #[test]
    fn sums_equal_members(obs in obs_strategy(), gamma in 0.7f64..=1.0) {
        let mut pool = Pool::new(3, &ARMS).unwrap();
        let mut brute: BTreeMap<&str, (usize, BanditStats)> = BTreeMap::new();
        for (m, g, a, x, r) in &obs {
            pool.observe(MODELS[*m], GROUPS[*g], ARMS[*a], x, *r, gamma).unwrap();
            let e = brute.entry(MODELS[*m]).or_insert((*g, BanditStats::new(3, &ARMS).unwrap()));
            e.0 = *g;
            e.1.observe(ARMS[*a], x, *r, gamma).unwrap();
        }
        let mut all = BanditStats::new(3, &ARMS).unwrap();
        let mut per_group = vec![BanditStats::new(3, &ARMS).unwrap(); GROUPS.len()];
        for (g, s) in brute.values() {
            all.add_scaled(s, 1.0).unwrap();
            per_group[*g].add_scaled(s, 1.0).unwrap();
        }
        prop_assert!(same_stats(pool.global(), &all));
        for (model, (g, s)) in &brute {
            prop_assert!(same_stats(pool.own(model), s));
            let others = pool.others(model, GROUPS[*g], Scope::Group).unwrap().unwrap();
            let mut expect = per_group[*g].clone();
            expect.add_scaled(s, -1.0).unwrap();
            prop_assert!(same_stats(&others, &expect));
        }
    }

    /// A model with no outcome of its own gets the posterior of the base
    /// prior plus the pool's outcomes at weight s (its data precision
    /// scaled by s); at s = 1 that is exactly the pool's posterior.
    #[test]
    fn new_model_gets_the_inflated_pool(obs in obs_strategy(), s in 0.05f64..=1.0) {
        let mut pool = Pool::new(3, &ARMS).unwrap();
        for (m, g, a, x, r) in &obs {
            pool.observe(MODELS[*m], GROUPS[*g], ARMS[*a], x, *r, 1.0).unwrap();
        }
        let got = pool.posterior("fresh", "g0", &cfg(Scope::Global, s), None).unwrap();
        let mut scaled = BanditStats::new(3, &ARMS).unwrap();
        scaled.add_scaled(pool.global(), s).unwrap();
        let expect = posterior(&scaled, cfg(Scope::Global, s).prior, None).unwrap();
        prop_assert!(same_posterior(&got, &expect));
        let full = pool.posterior("fresh", "g0", &cfg(Scope::Global, 1.0), None).unwrap();
        let pool_post = posterior(pool.global(), cfg(Scope::Global, 1.0).prior, None).unwrap();
        prop_assert!(same_posterior(&full, &pool_post));
    }

    /// `scope = model` ignores the others: it is the per-model bandit
    /// updated with the model's own outcomes only.
    #[test]
    fn scope_model_is_the_per_model_bandit(obs in obs_strategy()) {
        let c = cfg(Scope::Model, 0.7);
        let mut pool = Pool::new(3, &ARMS).unwrap();
        let mut own = LinearThompsonBandit::new(3, &ARMS, c.prior).unwrap();
        for (m, g, a, x, r) in &obs {
            pool.observe(MODELS[*m], GROUPS[*g], ARMS[*a], x, *r, 1.0).unwrap();
            if *m == 0 {
                own.update(ARMS[*a], x, *r).unwrap();
            }
        }
        let got = pool.posterior("m0", "g0", &c, None).unwrap();
        prop_assert!(same_posterior(&got, &own));
    }

    /// Before any outcome the arm with the highest prior mean reward is the
    /// first matching default rule's action (seed policy, any signals).
    #[test]
    fn rules_prior_ranks_the_rules_choice_first(
        d in 0.0f64..0.6, a in 0.0f64..0.5, r in 0.0f64..0.3, strength in 0.1f64..5.0,
    ) {
        let policy = Policy::seed().unwrap();
        let arms = [Action::None, Action::Retrain, Action::Rollback, Action::Fallback];
        let means = rules_prior_means(&policy, &arms, strength);
        let s = Signals { drift: d, accuracy_drop: a, anomaly_rate: r, ..Signals::default() };
        let ev = policy.evaluate(&s);
        let x = context::features(&s, &ev);
        let score: Vec<f64> = means.iter().map(|m| x.iter().zip(m).map(|(p, q)| p * q).sum()).collect();
        let best = (0..arms.len()).max_by(|i, j| score[*i].total_cmp(&score[*j])).unwrap();
        prop_assert_eq!(Some(arms[best]), ev.default_match().map(|m| m.action));
        for (k, v) in score.iter().enumerate() {
            if k != best {
                prop_assert!(*v < score[best]);
            }
        }
    }
}

#[test]
fn pool_strength_outside_the_unit_interval_is_an_error() {
    let pool = Pool::new(3, &ARMS).unwrap();
    assert!(pool
        .posterior("m", "g", &cfg(Scope::Global, 1.5), None)
        .is_err());
    assert!(pool
        .posterior("m", "g", &cfg(Scope::Global, f64::NAN), None)
        .is_err());
    let mut p = pool.clone();
    assert!(p
        .observe("m", "g", Action::Hold, &[1.0, 0.0, 0.0], 1.0, 1.0)
        .is_err());
    assert_eq!(p, pool);
    assert_eq!(Scope::from_name("group"), Some(Scope::Group));
    assert_eq!(Scope::from_name("all"), None);
}

/// With prior means (the informative start) the intercept of every arm's
/// prior is shifted by the mean reward of all outcomes combined: the
/// posterior equals the brute-force one centred there.
#[test]
fn informative_start_centres_on_the_mean_reward() {
    let mut pool = Pool::new(3, &ARMS).unwrap();
    let outcomes = [
        ("m0", Action::None, [1.0, 0.2, 0.0], -4.0),
        ("m1", Action::Retrain, [1.0, 0.0, 0.5], -1.0),
        ("m0", Action::Retrain, [1.0, 0.3, 0.1], -2.5),
    ];
    for (m, a, x, r) in outcomes {
        pool.observe(m, "g", a, &x, r, 1.0).unwrap();
    }
    let c = cfg(Scope::Global, 0.5);
    let bonus = vec![vec![0.0, 0.3, 0.0]; 3];
    let got = pool.posterior("m0", "g", &c, Some(&bonus)).unwrap();
    // Combined: m0's outcomes at weight 1, m1's at 0.5.
    let base = (-4.0 - 2.5 - 0.5) / 2.5;
    let mut combined = pool.own("m0").clone();
    combined
        .add_scaled(
            &pool.others("m0", "g", Scope::Global).unwrap().unwrap(),
            0.5,
        )
        .unwrap();
    assert!((mean_reward(&combined) - base).abs() < 1e-12);
    let shifted = vec![vec![base, 0.3, 0.0]; 3];
    let expect = posterior(&combined, c.prior, Some(&shifted)).unwrap();
    assert!(same_posterior(&got, &expect));
    // No outcome at all: the base is 0, the prior is the bonus alone.
    let empty = Pool::new(3, &ARMS).unwrap();
    let fresh = empty.posterior("m", "g", &c, Some(&bonus)).unwrap();
    let mean = fresh.arm(Action::None).unwrap().mean();
    for (g, e) in mean.iter().zip([0.0, 0.3, 0.0]) {
        assert!(close(*g, e), "{mean:?}");
    }
}

/// The two-level model computed directly: the model's prior is the
/// others' posterior `N(μ₋, σ²(Λ₋⁻¹ + τ² e₀e₀ᵀ))`, its posterior precision
/// `S⁻¹ + XᵀX` and mean `(S⁻¹ + XᵀX)⁻¹(S⁻¹μ₋ + Xᵀr)`, and the noise scale
/// grows by half the prior-predictive quadratic form
/// `(r − Xμ₋)ᵀ(I + X S Xᵀ)⁻¹(r − Xμ₋)` of its own outcomes.
fn brute_hierarchy(
    others: &LinearThompsonBandit,
    own: &[(Action, [f64; 3], f64)],
    tau2: f64,
) -> Vec<(Vec<f64>, Vec<f64>, f64, f64)> {
    let d = 3;
    ARMS.iter()
        .map(|arm| {
            let o = others.arm(*arm).unwrap();
            let mut s = inverse(o.precision(), d);
            s[0] += tau2;
            let s_inv = inverse(&s, d);
            let rows: Vec<&(Action, [f64; 3], f64)> = own.iter().filter(|r| r.0 == *arm).collect();
            let mut lambda = s_inv.clone();
            let mut eta = times(&s_inv, d, o.mean());
            for (_, x, r) in &rows {
                for i in 0..d {
                    for j in 0..d {
                        lambda[i * d + j] += x[i] * x[j];
                    }
                    eta[i] += r * x[i];
                }
            }
            let mu = times(&inverse(&lambda, d), d, &eta);
            let n = rows.len();
            let mut cov = vec![0.0; n * n];
            let mut e = vec![0.0; n];
            for (p, (_, x, r)) in rows.iter().enumerate() {
                e[p] = r - x.iter().zip(o.mean()).map(|(u, v)| u * v).sum::<f64>();
                let sx = times(&s, d, x);
                for (q, (_, y, _)) in rows.iter().enumerate() {
                    cov[p * n + q] = y.iter().zip(&sx).map(|(u, v)| u * v).sum::<f64>()
                        + if p == q { 1.0 } else { 0.0 };
                }
            }
            let (a, b) = o.noise_params();
            let quad: f64 = if n == 0 {
                0.0
            } else {
                let w = times(&inverse(&cov, n), n, &e);
                e.iter().zip(&w).map(|(u, v)| u * v).sum()
            };
            (mu, lambda, a + 0.5 * n as f64, b + 0.5 * quad)
        })
        .collect()
}

proptest! {
    /// With a fixed deviation, a model's posterior is the two-level model
    /// computed directly; τ² = 0 is complete pooling.
    #[test]
    fn a_fixed_deviation_is_the_two_level_model(
        obs in obs_strategy(), own in proptest::collection::vec(
            (0usize..ARMS.len(), -1.0f64..1.0, -1.0f64..1.0, -6.0f64..2.0), 0..12),
        tau2 in 0.0f64..4.0,
    ) {
        let mut pool = Pool::new(3, &ARMS).unwrap();
        for (m, g, a, x, r) in &obs {
            pool.observe(MODELS[1 + *m % 3], GROUPS[*g], ARMS[*a], x, *r, 1.0).unwrap();
        }
        let own: Vec<(Action, [f64; 3], f64)> =
            own.into_iter().map(|(a, u, v, r)| (ARMS[a], [1.0, u, v], r)).collect();
        for (a, x, r) in &own {
            pool.observe("m0", "g0", *a, x, *r, 1.0).unwrap();
        }
        let mut c = cfg(Scope::Global, 1.0);
        c.deviation = Deviation::Fixed(tau2);
        let got = pool.posterior("m0", "g0", &c, None).unwrap();
        let others = posterior(&pool.others("m0", "g0", Scope::Global).unwrap().unwrap(), c.prior, None).unwrap();
        for (arm, (mu, lambda, a, b)) in ARMS.iter().zip(brute_hierarchy(&others, &own, tau2)) {
            let g = got.arm(*arm).unwrap();
            prop_assert!(g.mean().iter().zip(&mu).all(|(u, v)| (u - v).abs() < 1e-6 * (1.0 + v.abs())), "{:?} vs {mu:?}", g.mean());
            prop_assert!(g.precision().iter().zip(&lambda).all(|(u, v)| (u - v).abs() < 1e-6 * (1.0 + v.abs())));
            let (ga, gb) = g.noise_params();
            prop_assert!((ga - a).abs() < 1e-9 && (gb - b).abs() < 1e-6 * (1.0 + b), "{gb} vs {b}");
        }
        c.deviation = Deviation::Fixed(0.0);
        let complete = pool.posterior("m0", "g0", &c, None).unwrap();
        let everyone = posterior(pool.global(), c.prior, None).unwrap();
        prop_assert!(same_posterior(&complete, &everyone));
    }
}

/// On a fleet where one group's fallback fails, the estimated deviation
/// lets a failing model's own outcomes pull its fallback below the pool's,
/// which complete pooling does not; on alike models it pools completely.
#[test]
fn an_estimated_deviation_follows_a_model_that_differs() {
    let x = [1.0, 0.0, 0.0];
    let fleet = |bad: bool| {
        let mut pool = Pool::new(3, &ARMS).unwrap();
        for i in 0..6 {
            for m in 0..12 {
                let fails = bad && m % 3 == 0;
                let jitter = 0.1 * (((i * 5 + m * 3) % 7) as f64 - 3.0);
                let r = if fails { -4.0 } else { 1.0 } + jitter;
                pool.observe(&format!("m{m:02}"), "g", Action::Fallback, &x, r, 1.0)
                    .unwrap();
                pool.observe(
                    &format!("m{m:02}"),
                    "g",
                    Action::Retrain,
                    &x,
                    0.0 + jitter,
                    1.0,
                )
                .unwrap();
            }
        }
        pool
    };
    let mut est = cfg(Scope::Global, 1.0);
    est.deviation = Deviation::ESTIMATED;
    let complete = cfg(Scope::Global, 1.0);
    let mean = |p: &LinearThompsonBandit| p.arm(Action::Fallback).unwrap().mean()[0];

    let mixed = fleet(true);
    let tau2 = mixed.deviation("g", &est, None).unwrap().unwrap();
    assert!(tau2[2] > 1.0, "{tau2:?}");
    let failing = mean(&mixed.posterior("m00", "g", &est, None).unwrap());
    let pooled = mean(&mixed.posterior("m00", "g", &complete, None).unwrap());
    assert!(failing < -3.0, "own outcomes -4, got {failing}");
    assert!(pooled > -1.0, "the pool's mean, got {pooled}");
    let working = mean(&mixed.posterior("m01", "g", &est, None).unwrap());
    assert!(working > 0.5, "own outcomes 1, got {working}");

    let alike = fleet(false);
    let tau2 = alike.deviation("g", &est, None).unwrap().unwrap();
    assert_eq!(tau2, vec![0.0, 0.0, 0.0]);
    assert!(same_posterior(
        &alike.posterior("m00", "g", &est, None).unwrap(),
        &alike.posterior("m00", "g", &complete, None).unwrap()
    ));
}
