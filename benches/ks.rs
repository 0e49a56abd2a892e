//! KS drift test benchmarks at windows 100, 1,000 and 10,000: one full
//! evaluation (sort + statistic + p-value) of a reference window against a
//! current window; one incremental KS slide (insert a value, evict the
//! oldest); one read of D; and one stored-window push.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use jidoka::detect::ks::{ks_2samp, Alternative, Method, SlidingKs};
use jidoka::detect::{FeatureState, ReferenceKind, WindowEntry, WindowKind, WindowPlan};
use std::hint::black_box;

fn spread(n: usize, offset: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64) * 0.618_033_988_749_895).fract() + offset)
        .collect()
}

fn evaluation(c: &mut Criterion) {
    let mut group = c.benchmark_group("ks_evaluation");
    for n in [100usize, 1_000, 10_000] {
        let reference = spread(n, 0.0);
        let current = spread(n, 0.05);
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                ks_2samp(
                    black_box(&reference),
                    black_box(&current),
                    Alternative::TwoSided,
                    Method::Auto,
                )
            })
        });
    }
    group.finish();
}

fn slide(c: &mut Criterion) {
    let mut group = c.benchmark_group("window_slide");
    for n in [100usize, 1_000, 10_000] {
        // The pipeline's per-value cost: stored windows plus the KS tree.
        let plan = WindowPlan {
            window: WindowKind::Count { size: n },
            reference: ReferenceKind::FirstN(n),
        };
        let mut w = FeatureState::default();
        for (i, v) in spread(2 * n, 0.0).into_iter().enumerate() {
            let e = WindowEntry {
                record: i as u64,
                time: i as i64,
                value: v,
            };
            w.push(e, 0, &plan);
        }
        let mut i = 2 * n as u64;
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                i += 1;
                let e = WindowEntry {
                    record: i,
                    time: i as i64,
                    value: (i as f64 * 0.618).fract(),
                };
                w.push(e, 0, &plan)
            })
        });
    }
    group.finish();
}

/// A sliding window of `n` against a reference of `n` (values spread over
/// [0, 1), the window shifted by 0.05).
fn sliding(n: usize) -> SlidingKs {
    let mut ks = SlidingKs::new(n);
    for v in spread(n, 0.0) {
        ks.insert_reference(v);
    }
    for v in spread(n, 0.05) {
        ks.push(v);
    }
    ks
}

/// One slide: insert the newest value, evict the oldest.
fn ks_slide(c: &mut Criterion) {
    let mut group = c.benchmark_group("ks_slide");
    for n in [100usize, 1_000, 10_000] {
        let mut ks = sliding(n);
        let mut i = 0u64;
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                i += 1;
                black_box(ks.push((i as f64 * 0.618_033_988_749_895).fract() + 0.05))
            })
        });
    }
    group.finish();
}

/// One read of D (done once per evaluation, not per slide).
fn ks_read(c: &mut Criterion) {
    let mut group = c.benchmark_group("ks_read");
    for n in [100usize, 1_000, 10_000] {
        let ks = sliding(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(ks.statistic()))
        });
    }
    group.finish();
}

criterion_group!(benches, evaluation, ks_slide, ks_read, slide);
criterion_main!(benches);
