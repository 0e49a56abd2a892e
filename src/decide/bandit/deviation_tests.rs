//! The deviation estimate against a brute-force one-way analysis of
//! variance of the raw residuals, and on simulated fleets: alike models
//! are pooled (τ² = 0), models whose mean rewards differ get about the
//! variance of the difference.

use super::*;
use crate::decide::bandit::brute::{inverse, times};
use crate::schema::Action;
use proptest::prelude::*;
use rand::distributions::Distribution;
use rand::rngs::StdRng;
use rand::SeedableRng;
use statrs::distribution::Normal;

const ARMS: [Action; 2] = [Action::Retrain, Action::Fallback];
const D: usize = 3;

fn prior() -> Prior {
    Prior {
        precision: 2.0,
        a0: 3.0,
        b0: 2.0,
    }
}

/// `(member, arm, x, r)` with `x[0] = 1`.
type Raw = (usize, usize, [f64; D], f64);

fn stats_of(raw: &[Raw], members: usize) -> (Vec<BanditStats>, BanditStats) {
    let mut per = vec![BanditStats::new(D, &ARMS).unwrap(); members];
    let mut total = BanditStats::new(D, &ARMS).unwrap();
    for (m, a, x, r) in raw {
        per[*m].observe(ARMS[*a], x, *r, 1.0).unwrap();
        total.observe(ARMS[*a], x, *r, 1.0).unwrap();
    }
    (per, total)
}

/// Textbook one-way random-effects ANOVA of the residuals of `arm` around
/// the ridge fit of all members' outcomes (prior mean `m0`).
fn brute_tau2(raw: &[Raw], members: usize, arm: usize, m0: &[f64]) -> f64 {
    let p = prior().precision;
    let mut a = vec![0.0; D * D];
    let mut b: Vec<f64> = m0.iter().map(|m| p * m).collect();
    for i in 0..D {
        a[i * D + i] = p;
    }
    let rows: Vec<&Raw> = raw.iter().filter(|o| o.1 == arm).collect();
    for (_, _, x, r) in &rows {
        for i in 0..D {
            for j in 0..D {
                a[i * D + j] += x[i] * x[j];
            }
            b[i] += r * x[i];
        }
    }
    let mu = times(&inverse(&a, D), D, &b);
    let mut res: Vec<Vec<f64>> = vec![Vec::new(); members];
    for (m, _, x, r) in &rows {
        let fit: f64 = x.iter().zip(&mu).map(|(u, v)| u * v).sum();
        res[*m].push(r - fit);
    }
    let groups: Vec<&Vec<f64>> = res.iter().filter(|g| !g.is_empty()).collect();
    let j = groups.len() as f64;
    let n: f64 = groups.iter().map(|g| g.len() as f64).sum();
    let df_w = n - j;
    if groups.len() < 2 || df_w < 1.0 {
        return 0.0;
    }
    let mean = |g: &Vec<f64>| g.iter().sum::<f64>() / g.len() as f64;
    let grand = groups.iter().flat_map(|g| g.iter()).sum::<f64>() / n;
    let ssw: f64 = groups
        .iter()
        .map(|g| {
            let m = mean(g);
            g.iter().map(|e| (e - m).powi(2)).sum::<f64>()
        })
        .sum();
    let ssb: f64 = groups
        .iter()
        .map(|g| g.len() as f64 * (mean(g) - grand).powi(2))
        .sum();
    let sigma2 = ssw / df_w;
    let n0 = (n - groups.iter().map(|g| (g.len() as f64).powi(2)).sum::<f64>() / n) / (j - 1.0);
    let f = FisherSnedecor::new(j - 1.0, df_w)
        .unwrap()
        .inverse_cdf(LEVEL);
    ((ssb / (j - 1.0) / sigma2 - f) / n0).max(0.0)
}

fn raw_strategy() -> impl Strategy<Value = Vec<Raw>> {
    proptest::collection::vec(
        (
            0usize..5,
            0usize..ARMS.len(),
            (-1.0f64..1.0, 0.0f64..1.0),
            -3.0f64..2.0,
        )
            .prop_map(|(m, a, (u, v), r)| (m, a, [1.0, u, v], r)),
        0..60,
    )
}

proptest! {
    /// From sufficient statistics alone, the estimate equals the ANOVA of
    /// the raw residuals.
    #[test]
    fn equals_the_anova_of_the_raw_residuals(raw in raw_strategy(), shift in -1.0f64..1.0) {
        let (per, total) = stats_of(&raw, 5);
        let members: Vec<&BanditStats> = per.iter().collect();
        let m0s = vec![vec![shift, 0.2, 0.0]; ARMS.len()];
        let got = estimate(&members, &total, prior(), &m0s).unwrap();
        for (k, g) in got.iter().enumerate() {
            let want = brute_tau2(&raw, 5, k, &m0s[k]);
            prop_assert!((g - want).abs() <= 1e-6 * (1.0 + want.abs()), "arm {k}: {g} vs {want}");
        }
    }
}

/// `members` models, `per` outcomes each of both arms; the fallback arm's
/// mean reward of member `m` is `offset(m)`, noise sd 1.
fn simulate(members: usize, per: usize, offset: impl Fn(usize) -> f64, seed: u64) -> Vec<Raw> {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 1.0).unwrap();
    let mut raw = Vec::new();
    for m in 0..members {
        for i in 0..per {
            let u = (i as f64 / per as f64) - 0.5;
            let v = ((i * 7) % per) as f64 / per as f64;
            let x = [1.0, u, v];
            raw.push((m, 0, x, 0.5 * u + noise.sample(&mut rng)));
            raw.push((m, 1, x, offset(m) + 0.5 * v + noise.sample(&mut rng)));
        }
    }
    raw
}

fn estimate_of(raw: &[Raw], members: usize) -> Vec<f64> {
    let (per, total) = stats_of(raw, members);
    let refs: Vec<&BanditStats> = per.iter().collect();
    estimate(&refs, &total, prior(), &[vec![0.0; D], vec![0.0; D]]).unwrap()
}

#[test]
fn alike_models_are_pooled_and_differing_ones_are_not() {
    let mut pooled = 0;
    for seed in 0..20 {
        let got = estimate_of(&simulate(30, 8, |_| 0.0, seed), 30);
        pooled += got.iter().filter(|t| **t == 0.0).count();
    }
    // Noise alone passes the 95% quantile about 1 time in 20 per arm.
    assert!(pooled >= 34, "{pooled} of 40 arm estimates were 0");
    // Half the models' fallback does 2 reward units worse: the intercepts'
    // variance is 1 (σ² = 1); the retrain arm does not differ.
    let got = estimate_of(
        &simulate(40, 20, |m| if m % 2 == 0 { 0.0 } else { -2.0 }, 7),
        40,
    );
    assert_eq!(got[0], 0.0, "{got:?}");
    assert!(got[1] > 0.6 && got[1] < 1.4, "{got:?}");
}

#[test]
fn nothing_to_compare_gives_no_deviation() {
    // One member, however far its outcomes spread.
    let raw = simulate(1, 30, |_| 5.0, 1);
    assert_eq!(estimate_of(&raw, 1), vec![0.0, 0.0]);
    // Two members with one outcome each: no degree of freedom within.
    let raw: Vec<Raw> = vec![(0, 1, [1.0, 0.0, 0.0], -3.0), (1, 1, [1.0, 0.0, 0.0], 2.0)];
    assert_eq!(estimate_of(&raw, 2), vec![0.0, 0.0]);
    // Mismatched prior means are an error, not a panic.
    let (per, total) = stats_of(&raw, 2);
    let refs: Vec<&BanditStats> = per.iter().collect();
    assert!(estimate(&refs, &total, prior(), &[vec![0.0; D]]).is_err());
}
