use super::*;

fn latest<'a>(partition: i32, model: &'a str, feature: &'a str, p_value: f64) -> Latest<'a> {
    Latest {
        partition,
        model,
        kind: "covariate",
        feature,
        test: TestKind::Ks,
        statistic: 1.0 - p_value,
        p_value,
    }
}

fn own(g: &FeatureGauges) -> Vec<(String, String, f64)> {
    g.snapshot()
        .series
        .into_iter()
        .map(|s| (s.model, s.feature, s.p_value))
        .collect()
}

fn s(model: &str, feature: &str, p: f64) -> (String, String, f64) {
    (model.to_string(), feature.to_string(), p)
}

#[test]
fn series_are_admitted_first_come_up_to_the_limit() {
    let g = FeatureGauges::new(2);
    g.update([latest(0, "m", "b", 0.5), latest(0, "m", "a", 0.4)]);
    g.update([latest(1, "n", "a", 0.3)]);
    assert_eq!(own(&g), vec![s("m", "a", 0.4), s("m", "b", 0.5)]);
    assert_eq!(g.dropped_total(), 1);
    // Later values replace the latest; a refused series stays refused and
    // is counted once.
    g.update([latest(0, "m", "a", 0.01), latest(1, "n", "a", 0.2)]);
    g.update([latest(1, "n", "a", 0.1)]);
    assert_eq!(own(&g), vec![s("m", "a", 0.01), s("m", "b", 0.5)]);
    assert_eq!(g.dropped_total(), 1);
    let snap = g.snapshot();
    assert_eq!(snap.dropped_total, 1);
    assert_eq!(
        snap.aggregated,
        vec![SeriesValue {
            model: OTHER.into(),
            kind: "covariate".into(),
            feature: OTHER.into(),
            test: TestKind::Ks,
            statistic: 0.9,
            p_value: 0.1,
        }]
    );
}

#[test]
fn kind_and_test_make_distinct_series_of_one_name() {
    let g = FeatureGauges::new(10);
    let metric = Latest {
        kind: "anomaly",
        test: TestKind::ZScore,
        statistic: -2.5,
        ..latest(0, "m", "a", 0.0124)
    };
    g.update([latest(0, "m", "a", 0.3), metric]);
    let snap = g.snapshot();
    let got: Vec<(&str, &str)> = snap
        .series
        .iter()
        .map(|s| (s.kind.as_str(), s.test.as_str()))
        .collect();
    assert_eq!(got, vec![("anomaly", "zscore"), ("covariate", "ks")]);
    assert_eq!(snap.series[0].statistic, -2.5);
    assert!(snap.aggregated.is_empty());
    assert_eq!(snap.dropped_total, 0);
}

#[test]
fn aggregated_series_holds_the_most_significant_refused_per_test() {
    let g = FeatureGauges::new(0);
    let z = |feature, statistic: f64, p_value| Latest {
        kind: "anomaly",
        test: TestKind::ZScore,
        statistic,
        p_value,
        ..latest(0, "m", feature, 0.0)
    };
    g.update([
        latest(0, "m", "a", 0.2),
        latest(0, "n", "a", 0.05),
        latest(0, "n", "b", f64::NAN),
        z("score_mean", 2.0, 0.0455),
        z("latency", f64::NEG_INFINITY, 0.0),
        z("error_rate", 40.0, 0.0),
    ]);
    let snap = g.snapshot();
    assert!(snap.series.is_empty());
    assert_eq!(snap.dropped_total, 6);
    let agg: Vec<(&str, f64, f64)> = snap
        .aggregated
        .iter()
        .map(|a| (a.test.as_str(), a.statistic, a.p_value))
        .collect();
    // Ties on p = 0 go to the larger |Z|: the infinite one.
    assert_eq!(
        agg,
        vec![("zscore", f64::NEG_INFINITY, 0.0), ("ks", 0.95, 0.05)]
    );
    assert!(snap
        .aggregated
        .iter()
        .all(|a| a.model == OTHER && a.feature == OTHER));
    // Latest values, not the best ever: n/a is no longer significant.
    g.update([latest(0, "n", "a", 0.9)]);
    let ks = g
        .snapshot()
        .aggregated
        .into_iter()
        .find(|a| a.test == TestKind::Ks);
    assert_eq!(ks.map(|a| a.p_value), Some(0.2));
    // A NaN p-value is shown only when no refused series has a number.
    let g = FeatureGauges::new(0);
    g.update([latest(0, "m", "a", f64::NAN)]);
    let agg = g.snapshot().aggregated;
    assert_eq!(agg.len(), 1);
    assert!(agg[0].p_value.is_nan());
}

#[test]
fn a_revoked_partition_takes_its_series_away_and_frees_their_places() {
    let g = FeatureGauges::new(2);
    g.update([
        latest(0, "m", "a", 0.1),
        latest(1, "n", "a", 0.2),
        latest(0, "m", "b", 0.3), // refused
        latest(1, "n", "b", 0.4), // refused
    ]);
    assert_eq!(g.dropped_total(), 2);
    assert_eq!(g.forget_partition(2), 0);
    assert_eq!(g.forget_partition(0), 2);
    assert_eq!(own(&g), vec![s("n", "a", 0.2)]);
    let agg = g.snapshot().aggregated;
    assert_eq!(agg.iter().map(|a| a.p_value).collect::<Vec<_>>(), vec![0.4]);
    // A refused series is not promoted; a new one takes the freed place.
    g.update([latest(1, "n", "b", 0.5), latest(2, "o", "a", 0.6)]);
    assert_eq!(own(&g), vec![s("n", "a", 0.2), s("o", "a", 0.6)]);
    assert_eq!(g.dropped_total(), 2);
    // The model moved back: refused again, counted again.
    g.update([latest(0, "m", "b", 0.7)]);
    assert_eq!(g.dropped_total(), 3);
    // A series follows its latest partition.
    g.update([latest(3, "n", "a", 0.25)]);
    assert_eq!(g.forget_partition(1), 1, "n/b only");
    assert_eq!(own(&g), vec![s("n", "a", 0.25), s("o", "a", 0.6)]);
    assert_eq!(g.forget_partition(3) + g.forget_partition(2), 2);
    assert_eq!(g.forget_partition(0), 1);
    assert_eq!(
        g.snapshot(),
        Snapshot {
            dropped_total: 3,
            ..Snapshot::default()
        }
    );
}

#[test]
fn a_new_limit_applies_to_later_series() {
    let g = FeatureGauges::new(1);
    g.update([latest(0, "m", "a", 0.1)]);
    g.set_limit(0);
    g.update([latest(0, "m", "a", 0.2), latest(0, "m", "b", 0.3)]);
    assert_eq!(own(&g), vec![s("m", "a", 0.2)]);
    assert_eq!(g.dropped_total(), 1);
    g.set_limit(3);
    g.update([latest(0, "m", "c", 0.4)]);
    assert_eq!(own(&g), vec![s("m", "a", 0.2), s("m", "c", 0.4)]);
    assert_eq!(FeatureGauges::default().lock().limit, 10_000);
}

#[test]
fn full_ties_go_to_the_first_series_by_name_whatever_the_order() {
    let z = |model, feature, statistic| Latest {
        kind: "anomaly",
        test: TestKind::ZScore,
        statistic,
        p_value: 0.0,
        ..latest(0, model, feature, 0.0)
    };
    let values = [
        z("m", "latency", f64::INFINITY),
        z("c", "latency", f64::NEG_INFINITY),
        z("a", "z", f64::NAN),
        z("b", "score_mean", f64::INFINITY),
        z("a", "y", 3.0),
    ];
    for rotation in 0..values.len() {
        let g = FeatureGauges::new(0);
        let mut order = values.to_vec();
        order.rotate_left(rotation);
        g.update(order);
        let agg = g.snapshot().aggregated;
        assert_eq!(agg.len(), 1);
        // |Z| = inf three times: b/score_mean, first by name, not c's -inf.
        assert_eq!(agg[0].statistic, f64::INFINITY, "rotation {rotation}");
    }
}
