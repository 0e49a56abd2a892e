use proptest::prelude::*;

use super::*;

/// Deterministic xorshift64* generator with Box–Muller normals.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        // In (0, 1): never 0, so ln() is finite.
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn cfg(kind: BaselineKind) -> ZScoreConfig {
    ZScoreConfig {
        baseline: kind,
        ..ZScoreConfig::default()
    }
}

/// A config that never scores, so Welford learns every value.
fn learn_all(kind: BaselineKind) -> ZScoreConfig {
    ZScoreConfig {
        min_samples: u64::MAX,
        ..cfg(kind)
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn welford_matches_python_statistics() {
    // statistics.mean / statistics.stdev (numpy agrees to 1 ulp).
    let v = [
        0.91, 0.93, 0.88, 0.95, 0.90, 0.92, 0.89, 0.94, 0.91, 0.87, 0.93, 0.90,
    ];
    let mut b = Baseline::default();
    let c = learn_all(BaselineKind::Welford);
    for x in v {
        assert_eq!(b.observe(x, &c), None);
    }
    assert_eq!(b.samples(), 12);
    assert!(close(b.mean(), 0.9108333333333334, 1e-15));
    let sd = b.std_dev().unwrap_or(f64::NAN);
    assert!(close(sd, 0.02429303429280737, 1e-15), "{sd}");
}

#[test]
fn defaults() {
    let c = ZScoreConfig::default();
    assert_eq!((c.threshold, c.min_samples), (3.0, 10));
    assert_eq!((c.baseline, c.ewma_alpha), (BaselineKind::Welford, 0.1));
    assert_eq!(
        serde_json::to_string(&BaselineKind::Ewma).ok().as_deref(),
        Some("\"ewma\"")
    );
}

#[test]
fn min_samples_respected() {
    for kind in [BaselineKind::Welford, BaselineKind::Ewma] {
        let c = ZScoreConfig {
            min_samples: 5,
            ..cfg(kind)
        };
        let mut b = Baseline::default();
        for i in 0..5 {
            assert_eq!(b.observe(i as f64, &c), None, "{kind:?} {i}");
        }
        let s = b.observe(1e6, &c);
        assert!(s.is_some_and(|s| s.anomalous && s.samples == 5));
        // min_samples 0 still needs two values for a spread.
        let c0 = ZScoreConfig {
            min_samples: 0,
            ..cfg(kind)
        };
        let mut b = Baseline::default();
        assert_eq!(b.observe(1.0, &c0), None);
        assert_eq!(b.observe(1.0, &c0), None);
        assert!(b
            .observe(1.0, &c0)
            .is_some_and(|s| s.z == 0.0 && !s.anomalous));
        assert!(b.observe(1.5, &c0).is_some_and(|s| s.z == f64::INFINITY));
    }
}

#[test]
fn step_change_of_five_sigma_is_flagged() {
    for kind in [BaselineKind::Welford, BaselineKind::Ewma] {
        let c = cfg(kind);
        let mut rng = Rng(42);
        let mut b = Baseline::default();
        for _ in 0..200 {
            b.observe(10.0 + rng.normal(), &c);
        }
        let first = b.observe(15.0, &c);
        assert!(
            first.is_some_and(|s| s.anomalous && s.z > 3.0),
            "{kind:?} {first:?}"
        );
        let later: Vec<bool> = (0..50)
            .map(|_| {
                b.observe(15.0 + 0.1 * rng.normal(), &c)
                    .is_some_and(|s| s.anomalous)
            })
            .collect();
        match kind {
            // Welford never learns the shift: it keeps alarming.
            BaselineKind::Welford => assert!(later.iter().all(|&a| a)),
            // EWMA adapts: the alarm stops.
            BaselineKind::Ewma => assert!(!later[40..].iter().any(|&a| a)),
        }
    }
}

/// Share of values flagged on stable N(0, 1) noise over 10k draws.
fn false_alarm_rate(c: &ZScoreConfig, seed: u64) -> f64 {
    let mut rng = Rng(seed);
    let mut b = Baseline::default();
    let (mut scored, mut flagged) = (0u32, 0u32);
    for _ in 0..10_000 {
        if let Some(s) = b.observe(rng.normal(), c) {
            scored += 1;
            flagged += u32::from(s.anomalous);
        }
    }
    f64::from(flagged) / f64::from(scored)
}

#[test]
fn stable_noise_rarely_flags() {
    for seed in [1, 2, 3] {
        let r = false_alarm_rate(&cfg(BaselineKind::Welford), seed);
        assert!(r < 0.01, "welford seed {seed}: {r}");
        // EWMA's spread estimate is noisy (about 19 effective values at
        // alpha 0.1, which gives ~1% at threshold 3); a slower alpha stays
        // well under 1%.
        let slow = ZScoreConfig {
            ewma_alpha: 0.02,
            ..cfg(BaselineKind::Ewma)
        };
        let r = false_alarm_rate(&slow, seed);
        assert!(r < 0.01, "ewma seed {seed}: {r}");
    }
}

#[test]
fn non_finite_is_ignored_and_kind_switch_restarts() {
    let c = cfg(BaselineKind::Welford);
    let mut b = Baseline::default();
    for x in [1.0, 2.0, 3.0] {
        b.observe(x, &c);
    }
    let before = b;
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(b.observe(x, &c), None);
        assert_eq!(b, before);
    }
    // Overflowing updates are skipped; the state stays finite.
    b.observe(f64::MAX, &c);
    b.observe(-f64::MAX, &c);
    assert!(b.mean().is_finite() && b.std_dev().is_some_and(f64::is_finite));
    assert_eq!(b.score(2.0, &cfg(BaselineKind::Ewma)), None);
    b.observe(5.0, &cfg(BaselineKind::Ewma));
    assert_eq!((b.samples(), b.mean()), (1, 5.0));
}

#[test]
fn two_sided_p_matches_scipy() {
    // 2 * scipy.stats.norm.sf(|z|), to 1e-9 relative (statrs 0.18 erfc is
    // off by ~4e-11 relative at z = 3).
    for (z, p) in [
        (3.0, 0.0026997960632601866),
        (-1.959963984540054, 0.05),
        (0.5, 0.6170750774519738),
        (8.0, 1.244192114854348e-15),
    ] {
        let got = two_sided_p(z);
        assert!(close(got, p, 1e-9 * p), "{z}: {got} vs {p}");
    }
    assert_eq!(two_sided_p(0.0), 1.0);
    assert_eq!(two_sided_p(f64::NEG_INFINITY), 0.0);
}

#[test]
fn metric_window_takes_mean_and_resets() {
    let mut w = MetricWindow::default();
    assert_eq!(w.take(), None);
    for x in [1.0, f64::NAN, 2.0, 6.0] {
        w.add(x);
    }
    assert_eq!(w.mean(), Some(3.0));
    assert_eq!(w.take(), Some((3.0, 3)));
    assert_eq!(w, MetricWindow::default());
}

#[test]
fn decode_rejects_garbage() {
    assert!(Baseline::decode(&[]).is_err());
    let good = Baseline::default().encode();
    assert_eq!(Baseline::decode(&good), Ok(Baseline::default()));
    for (i, byte) in [(0, 2u8), (1, 2), (25, 0xff)] {
        let mut bad = good.clone();
        bad[i] = byte;
        assert!(Baseline::decode(&bad).is_err(), "byte {i}");
    }
    let mut long = good;
    long.push(0);
    assert!(Baseline::decode(&long).is_err());
}

fn values() -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(-1e6f64..1e6, 0..200)
}

proptest! {
    #[test]
    fn welford_matches_two_pass(v in values()) {
        let mut b = Baseline::default();
        for &x in &v {
            b.observe(x, &learn_all(BaselineKind::Welford));
        }
        let n = v.len() as f64;
        let scale = v.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        prop_assert_eq!(b.samples(), v.len() as u64);
        if v.is_empty() {
            return Ok(());
        }
        let mean = v.iter().sum::<f64>() / n;
        prop_assert!(close(b.mean(), mean, 1e-9 * scale));
        if v.len() >= 2 {
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            let got = b.std_dev().unwrap_or(f64::NAN);
            prop_assert!(close(got, sd, 1e-9 * sd.max(1e-9 * scale)), "{} vs {}", got, sd);
        }
    }

    #[test]
    fn ewma_matches_weighted_sums(v in values(), alpha in 0.01f64..=1.0) {
        let c = ZScoreConfig { ewma_alpha: alpha, ..learn_all(BaselineKind::Ewma) };
        let mut b = Baseline::default();
        for &x in &v {
            b.observe(x, &c);
        }
        if v.len() < 2 {
            return Ok(());
        }
        // Closed form: weight (1-a)^(n-1) on the first value (the start),
        // a(1-a)^(n-i) on value i; West's variance is the weighted
        // population variance around the weighted mean.
        let n = v.len();
        let w: Vec<f64> = (1..=n)
            .map(|i| if i == 1 { (1.0 - alpha).powi(n as i32 - 1) } else { alpha * (1.0 - alpha).powi((n - i) as i32) })
            .collect();
        let mean: f64 = w.iter().zip(&v).map(|(w, x)| w * x).sum();
        let var: f64 = w.iter().zip(&v).map(|(w, x)| w * (x - mean).powi(2)).sum();
        let scale = v.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        prop_assert!(close(b.mean(), mean, 1e-9 * scale));
        let got = b.std_dev().unwrap_or(f64::NAN);
        prop_assert!(close(got, var.sqrt(), 1e-9 * var.sqrt().max(1e-6 * scale)), "{} vs {}", got, var.sqrt());
    }

    #[test]
    fn encode_round_trips(v in values(), ewma in any::<bool>(), min in 0u64..20) {
        let kind = if ewma { BaselineKind::Ewma } else { BaselineKind::Welford };
        let c = ZScoreConfig { min_samples: min, ..cfg(kind) };
        let mut b = Baseline::default();
        for &x in &v {
            b.observe(x, &c);
            prop_assert_eq!(Baseline::decode(&b.encode()), Ok(b));
        }
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(b) = Baseline::decode(&bytes) {
            prop_assert_eq!(b.encode(), bytes);
        }
    }

    #[test]
    fn decode_never_panics_on_near_valid(n in any::<u64>(), mean in any::<f64>(), spread in any::<f64>(), kind in 0u8..3) {
        let mut bytes = vec![1, kind];
        bytes.extend_from_slice(&n.to_le_bytes());
        bytes.extend_from_slice(&mean.to_le_bytes());
        bytes.extend_from_slice(&spread.to_le_bytes());
        if let Ok(b) = Baseline::decode(&bytes) {
            prop_assert_eq!(b.encode(), bytes);
            let _ = b.score(mean, &ZScoreConfig::default());
        }
    }
}
