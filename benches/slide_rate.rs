//! Throughput harness for the incremental KS slide, printing plain rates for
//! `benches/river_compare.py` (which measures River on the same stream in
//! the same run). Usage: `cargo bench --bench slide_rate -- [SLIDES]`.
//!
//! The stream is a 64-bit LCG (`x = x * 6364136223846793005 + 1442695040888963407`,
//! value = top 53 bits / 2^53), identical to the Python script's. For each
//! window n: reference = first n values, current window = next n values, then
//! each slide pushes the next value (evicting the oldest) and reads D, once
//! reading D after every slide (`rate`) and once after every 250th, the
//! pipeline's default `evaluate-every` (`rate_eval250`).

use std::hint::black_box;
use std::time::Instant;

use jidoka::detect::ks::SlidingKs;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test` this is a quick smoke run.
    let benching = std::env::args().any(|a| a == "--bench");
    let slides: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(if benching { 1_000_000 } else { 1_000 });
    for n in [100usize, 1_000, 10_000] {
        let every_slide = slide_rate(n, slides, 1);
        let every_250 = slide_rate(n, slides, 250);
        println!(
            "jidoka window={n} slides={slides} rate={every_slide:.0} rate_eval250={every_250:.0}"
        );
    }
}

/// Slides per second with a read of D after every `read_every`th slide.
fn slide_rate(n: usize, slides: usize, read_every: usize) -> f64 {
    let mut rng = Lcg(42);
    let mut ks = SlidingKs::new(n);
    for _ in 0..n {
        ks.insert_reference(rng.next());
    }
    for _ in 0..n {
        ks.push(rng.next());
    }
    let values: Vec<f64> = (0..slides).map(|_| rng.next()).collect();
    let start = Instant::now();
    let mut acc = 0.0;
    for (i, v) in values.iter().enumerate() {
        ks.push(*v);
        if (i + 1) % read_every == 0 {
            acc += ks.statistic();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(acc);
    slides as f64 / secs
}
