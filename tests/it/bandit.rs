//! Behavioural tests of the linear Thompson-sampling bandit: learning,
//! confidence calibration, determinism, persistence and error handling.

use jidoka::decide::bandit::{Action, BanditError, LinearThompsonBandit, Prior};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use statrs::distribution::Normal;

fn noisy(rng: &mut StdRng, sd: f64) -> f64 {
    let n = Normal::new(0.0, sd).unwrap();
    rng.sample(n)
}

#[test]
fn posterior_mean_converges_to_true_weights() {
    let truth = [0.5, -1.0, 2.0];
    let mut b = LinearThompsonBandit::new(3, &[Action::Retrain], Prior::default()).unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let mut sum_y2 = 0.0;
    for _ in 0..2000 {
        let x = [1.0, rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0)];
        let y = truth.iter().zip(&x).map(|(w, v)| w * v).sum::<f64>() + noisy(&mut rng, 0.1);
        sum_y2 += y * y;
        b.update(Action::Retrain, &x, y).unwrap();
    }
    let arm = b.arm(Action::Retrain).unwrap();
    for (m, t) in arm.mean().iter().zip(truth) {
        assert!((m - t).abs() < 0.05, "mean {m} vs truth {t}");
    }
    // The recursive b equals the batch conjugate formula
    // b_n = b0 + ½(Σy² − mu_nᵀ Λ_n mu_n) (mu0 = 0).
    let (a, bb) = arm.noise_params();
    let lm = jidoka::decide::bandit::linalg::mat_vec(arm.precision(), 3, arm.mean()).unwrap();
    let quad = jidoka::decide::bandit::linalg::dot(arm.mean(), &lm).unwrap();
    let batch = 1.0 + 0.5 * (sum_y2 - quad);
    assert!(
        (bb - batch).abs() < 1e-8 * batch,
        "recursive {bb} vs batch {batch}"
    );
    assert_eq!(a, 1.0 + 1000.0);
    // E[σ²] = b/(a−1) ≈ 0.01 plus the ridge term ½·|w|²/(a−1) ≈ 0.0026.
    let s2 = bb / (a - 1.0);
    assert!((0.009..0.016).contains(&s2), "sigma^2 estimate {s2}");
    assert_eq!(arm.observations(), 2000);
}

#[test]
fn weight_draws_have_posterior_covariance() {
    // Correlated design so Lambda is far from diagonal: checks the Lᵀ solve.
    let mut b = LinearThompsonBandit::new(3, &[Action::Hold], Prior::default()).unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    for _ in 0..30 {
        let u: f64 = rng.gen_range(-1.0..1.0);
        let x = [1.0, u, 0.8 * u + 0.2 * rng.gen_range(-1.0..1.0)];
        b.update(Action::Hold, &x, 1.0 + u + noisy(&mut rng, 0.5))
            .unwrap();
    }
    let arm = b.arm(Action::Hold).unwrap().clone();
    let (a, bb) = arm.noise_params();
    let inv = {
        let l = jidoka::decide::bandit::linalg::cholesky(arm.precision(), 3).unwrap();
        let mut m = vec![0.0; 9];
        for j in 0..3 {
            let mut e = [0.0; 3];
            e[j] = 1.0;
            let col = jidoka::decide::bandit::linalg::cholesky_solve(&l, 3, &e).unwrap();
            for i in 0..3 {
                m[i * 3 + j] = col[i];
            }
        }
        m
    };
    let n = 40_000;
    let draws: Vec<Vec<f64>> = (0..n)
        .map(|_| b.sample_weights(Action::Hold, &mut rng).unwrap())
        .collect();
    let scale = bb / (a - 1.0); // Cov(w) = E[σ²] Λ⁻¹ (Student-t marginal)
    for i in 0..3 {
        let mi = draws.iter().map(|w| w[i]).sum::<f64>() / n as f64;
        assert!((mi - arm.mean()[i]).abs() < 0.05 * (scale * inv[i * 4]).sqrt() + 1e-3);
        for j in 0..3 {
            let mj = draws.iter().map(|w| w[j]).sum::<f64>() / n as f64;
            let c = draws.iter().map(|w| (w[i] - mi) * (w[j] - mj)).sum::<f64>() / n as f64;
            let expect = scale * inv[i * 3 + j];
            let tol = 0.06 * scale * (inv[i * 4] * inv[j * 4]).sqrt();
            assert!((c - expect).abs() < tol, "cov[{i}][{j}] {c} vs {expect}");
        }
    }
}

#[test]
fn confidence_near_one_for_clearly_best_arm() {
    let arms = [Action::None, Action::Retrain, Action::Fallback];
    let means = [0.0, 1.0, -0.5];
    let mut b = LinearThompsonBandit::new(2, &arms, Prior::default()).unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..300 {
        for (act, m) in arms.iter().zip(means) {
            let x = [1.0, rng.gen_range(0.0..1.0)];
            b.update(*act, &x, m + noisy(&mut rng, 0.1)).unwrap();
        }
    }
    // Posterior sd of each arm's mean ≈ 0.1/√300 ≈ 0.006 ≪ gap 1.0, so the
    // probability that any draw reorders the arms is astronomically small.
    for k in 0..20 {
        let c = b
            .decide(&[1.0, 0.5], &mut StdRng::seed_from_u64(k), 200)
            .unwrap();
        assert_eq!(c.arm, Action::Retrain);
        assert!(c.confidence >= 0.995, "confidence {}", c.confidence);
        let best = c
            .posterior_means
            .iter()
            .max_by(|p, q| p.1.total_cmp(&q.1))
            .unwrap();
        assert_eq!(best.0, Action::Retrain);
    }
}

#[test]
fn confidence_near_one_over_k_for_identical_untrained_arms() {
    // With identical priors the arms are exchangeable and the Thompson choice
    // is independent of the confidence draws, so samples·confidence is exactly
    // Binomial(samples, 1/k). For k=4, samples=200: sd = √(¼·¾/200) ≈ 0.0306.
    // Each run must lie within 5 sd (p ≈ 6e-7); the mean of 40 runs within
    // 5·0.0306/√40 ≈ 0.024.
    let arms = [
        Action::None,
        Action::Retrain,
        Action::Rollback,
        Action::Fallback,
    ];
    let b = LinearThompsonBandit::new(3, &arms, Prior::default()).unwrap();
    let mut total = 0.0;
    let mut chosen = [0usize; 4];
    for k in 0..40u64 {
        let mut rng = StdRng::seed_from_u64(100 + k);
        let x = [1.0, rng.gen_range(0.0..1.0), rng.gen_range(0.0..1.0)];
        let c = b.decide(&x, &mut rng, 200).unwrap();
        assert!(
            (c.confidence - 0.25).abs() < 5.0 * 0.0306,
            "{}",
            c.confidence
        );
        total += c.confidence;
        chosen[arms.iter().position(|a| *a == c.arm).unwrap()] += 1;
    }
    assert!((total / 40.0 - 0.25).abs() < 0.024);
    assert!(chosen.iter().all(|&n| n > 0), "choices {chosen:?}");
}

fn trained() -> LinearThompsonBandit {
    let arms = [Action::None, Action::Rollback, Action::Escalate];
    let mut b = LinearThompsonBandit::new(4, &arms, Prior::default()).unwrap();
    let mut rng = StdRng::seed_from_u64(9);
    for i in 0..150 {
        let x = [
            1.0,
            rng.gen_range(0.0..1.0),
            rng.gen_range(0.0..1.0),
            rng.gen_range(0.0..1.0),
        ];
        let r = x[1] - x[2] * (i % 3) as f64 + noisy(&mut rng, 0.3);
        b.update(arms[i % 3], &x, r).unwrap();
    }
    b
}

#[test]
fn same_seed_same_choices() {
    let b = trained();
    let run = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..50)
            .map(|i| {
                let t = i as f64 / 50.0;
                b.decide(&[1.0, t, 1.0 - t, 0.5], &mut rng, 200).unwrap()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(42), run(42));
    let differ = run(42)
        .iter()
        .zip(run(43))
        .any(|(x, y)| x.confidence != y.confidence || x.arm != y.arm);
    assert!(differ);
}

#[test]
fn state_round_trip_is_exact() {
    let b = trained();
    let bytes = b.to_bytes();
    let back = LinearThompsonBandit::from_bytes(&bytes).unwrap();
    assert_eq!(back, b);
    assert_eq!(back.to_bytes(), bytes);
    let x = [1.0, 0.2, 0.3, 0.4];
    let c1 = b.decide(&x, &mut StdRng::seed_from_u64(1), 200).unwrap();
    let c2 = back.decide(&x, &mut StdRng::seed_from_u64(1), 200).unwrap();
    assert_eq!(c1, c2);
    // Fresh (untrained) state round-trips too.
    let fresh = LinearThompsonBandit::new(2, &[Action::Hold], Prior::default()).unwrap();
    assert_eq!(
        LinearThompsonBandit::from_bytes(&fresh.to_bytes()).unwrap(),
        fresh
    );
}

#[test]
fn corrupted_state_is_rejected_without_panic() {
    let bytes = trained().to_bytes();
    for cut in [0, 3, 5, 12, 13, bytes.len() - 1] {
        assert!(LinearThompsonBandit::from_bytes(&bytes[..cut]).is_err());
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(LinearThompsonBandit::from_bytes(&extra).is_err());
    let mut magic = bytes.clone();
    magic[0] = b'X';
    assert!(LinearThompsonBandit::from_bytes(&magic).is_err());
    let mut nan = bytes.clone();
    // First f64 of the first arm (its `a`) starts at 13 + 1 + 8.
    nan[22..30].copy_from_slice(&f64::NAN.to_le_bytes());
    assert!(LinearThompsonBandit::from_bytes(&nan).is_err());
    let mut action = bytes;
    action[13] = 99;
    assert!(LinearThompsonBandit::from_bytes(&action).is_err());
}

#[test]
fn invalid_inputs_return_errors() {
    let p = Prior::default();
    assert_eq!(
        LinearThompsonBandit::new(0, &[Action::None], p),
        Err(BanditError::ZeroDimension)
    );
    assert_eq!(
        LinearThompsonBandit::new(2, &[], p),
        Err(BanditError::NoArms)
    );
    assert_eq!(
        LinearThompsonBandit::new(2, &[Action::None, Action::None], p),
        Err(BanditError::DuplicateArm(Action::None))
    );
    let bad = Prior { a0: -1.0, ..p };
    assert_eq!(
        LinearThompsonBandit::new(2, &[Action::None], bad),
        Err(BanditError::InvalidPrior)
    );
    let mut b = LinearThompsonBandit::new(2, &[Action::None], p).unwrap();
    let before = b.clone();
    assert!(matches!(
        b.update(Action::None, &[1.0], 0.0),
        Err(BanditError::DimensionMismatch {
            expected: 2,
            got: 1
        })
    ));
    assert_eq!(
        b.update(Action::None, &[1.0, f64::NAN], 0.0),
        Err(BanditError::NonFinite)
    );
    assert_eq!(
        b.update(Action::None, &[1.0, 0.0], f64::INFINITY),
        Err(BanditError::NonFinite)
    );
    assert_eq!(
        b.update(Action::Retrain, &[1.0, 0.0], 0.0),
        Err(BanditError::UnknownArm(Action::Retrain))
    );
    assert_eq!(b, before, "failed updates must not change state");
    let mut rng = StdRng::seed_from_u64(0);
    assert_eq!(
        b.decide(&[1.0, 0.0], &mut rng, 0),
        Err(BanditError::ZeroSamples)
    );
    assert!(b.decide(&[1.0], &mut rng, 10).is_err());
}

/// Three arms whose posteriors overlap: `Rollback` and `Fallback` equally
/// good, `None` a little worse. Noise comes in mirrored pairs (m + e, m − e
/// at the same context), so the fitted means are the true ones and only
/// the spread is random.
fn overlapping() -> LinearThompsonBandit {
    let arms = [Action::None, Action::Rollback, Action::Fallback];
    let means = [-0.1, 0.0, 0.0];
    let mut b = LinearThompsonBandit::new(2, &arms, Prior::default()).unwrap();
    let mut rng = StdRng::seed_from_u64(21);
    for _ in 0..60 {
        for (act, m) in arms.iter().zip(means) {
            let x = [1.0, rng.gen_range(0.0..1.0)];
            let e = noisy(&mut rng, 1.0);
            b.update(*act, &x, m + e).unwrap();
            b.update(*act, &x, m - e).unwrap();
        }
    }
    b
}

#[test]
fn confidence_against_a_reference_is_the_posterior_probability_of_doing_no_worse() {
    let b = overlapping();
    let x = [1.0, 0.5];
    // Brute force: independent joint draws of the two arms' weights.
    let mut rng = StdRng::seed_from_u64(5);
    let n = 40_000;
    let value = |a: Action, rng: &mut StdRng| {
        let w = b.sample_weights(a, rng).unwrap();
        w[0] * x[0] + w[1] * x[1]
    };
    let wins = (0..n)
        .filter(|_| value(Action::Rollback, &mut rng) >= value(Action::None, &mut rng))
        .count();
    let truth = wins as f64 / n as f64;
    assert!(
        (0.55..0.95).contains(&truth),
        "overlap expected, got {truth}"
    );
    // The confidence draws are independent of the Thompson draw, so the
    // mean confidence over decisions that chose rollback estimates `truth`.
    let (mut sum, mut count, mut best_sum) = (0.0, 0usize, 0.0);
    for k in 0..400u64 {
        let against = b
            .decide_against(&x, &mut StdRng::seed_from_u64(k), 200, Some(Action::None))
            .unwrap();
        let best = b.decide(&x, &mut StdRng::seed_from_u64(k), 200).unwrap();
        assert_eq!(against.arm, best.arm, "the same draws choose the same arm");
        assert_eq!((against.against, best.against), (Some(Action::None), None));
        assert!(against.confidence >= best.confidence || against.arm == Action::None);
        if against.arm == Action::None {
            assert_eq!(against.confidence, 1.0, "agreeing with the reference");
        }
        if against.arm == Action::Rollback {
            sum += against.confidence;
            best_sum += best.confidence;
            count += 1;
        }
    }
    assert!(count > 40, "rollback chosen {count} times");
    let mean = sum / count as f64;
    // 200 draws per decision, `count` decisions: sd ≤ 0.5/√(200·count).
    let tol = 5.0 * 0.5 / ((200 * count) as f64).sqrt() + 0.005;
    assert!(
        (mean - truth).abs() < tol,
        "mean {mean} vs brute force {truth}"
    );
    // Against all arms (fallback is as good) the probability is far lower.
    assert!(best_sum / (count as f64) < mean - 0.2);
}

#[test]
fn without_a_reference_arm_the_confidence_is_that_of_the_best_of_all() {
    let b = overlapping();
    for k in 0..20u64 {
        let x = [1.0, k as f64 / 20.0];
        let plain = b.decide(&x, &mut StdRng::seed_from_u64(k), 100).unwrap();
        let none = b
            .decide_against(&x, &mut StdRng::seed_from_u64(k), 100, None)
            .unwrap();
        // Escalate is not an arm of this bandit: no reference.
        let absent = b
            .decide_against(
                &x,
                &mut StdRng::seed_from_u64(k),
                100,
                Some(Action::Escalate),
            )
            .unwrap();
        assert_eq!(plain, none);
        assert_eq!(plain, absent);
    }
}
