//! Pooled posteriors against brute force: the pool is the sum of its
//! members, a model with no outcome gets the pool's posterior with
//! inflated covariance, `scope = model` is the per-model bandit, and the
//! rules prior ranks the rules' choice first.

use super::*;
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
