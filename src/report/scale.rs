//! The report charts' scales: linear, log10 and event time, with round
//! ticks and labels.
//!
//! Guarantees: any domain maps to finite pixels (non-finite bounds fall
//! back to a default, an empty or one-point domain is widened, zero or
//! negative values on a log scale sit at its floor); time ticks fall on
//! round steps (seconds to years) and their labels carry only as much of
//! the date as the span needs.

use crate::audit::format_time;

/// Lowest value a log scale shows (p-values can be exactly 0).
const LOG_FLOOR: f64 = 1e-300;

/// Maps a domain onto a pixel range, linearly or by log10.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
    pub(super) log: bool,
}

impl Scale {
    /// A linear scale; a degenerate or non-finite domain is widened.
    pub fn linear(domain: (f64, f64), range: (f64, f64)) -> Self {
        let (mut d0, mut d1) = finite_or(domain, (0.0, 1.0));
        if d1 < d0 {
            std::mem::swap(&mut d0, &mut d1);
        }
        if d1 - d0 <= f64::EPSILON * d0.abs().max(1.0) {
            let pad = d0.abs().max(1.0) * 0.5;
            d0 -= pad;
            d1 += pad;
        }
        Scale {
            d0,
            d1,
            r0: range.0,
            r1: range.1,
            log: false,
        }
    }

    /// A log10 scale over whole decades covering the positive part of
    /// `domain`.
    pub fn log(domain: (f64, f64), range: (f64, f64)) -> Self {
        let (a, b) = finite_or(domain, (1e-6, 1.0));
        let lo = a.min(b).max(LOG_FLOOR);
        let hi = a.max(b).max(lo);
        let mut d0 = lo.log10().floor();
        let mut d1 = hi.log10().ceil();
        if d1 <= d0 {
            d1 = d0 + 1.0;
        }
        d0 = d0.max(LOG_FLOOR.log10());
        Scale {
            d0,
            d1,
            r0: range.0,
            r1: range.1,
            log: true,
        }
    }

    /// Pixel position of `v` (clamped to the range's ends).
    pub fn map(&self, v: f64) -> f64 {
        let v = if self.log {
            v.max(LOG_FLOOR).log10()
        } else {
            v
        };
        let t = ((v - self.d0) / (self.d1 - self.d0)).clamp(0.0, 1.0);
        let t = if t.is_finite() { t } else { 0.0 };
        self.r0 + t * (self.r1 - self.r0)
    }

    /// The domain (in data units).
    pub fn domain(&self) -> (f64, f64) {
        if self.log {
            (10f64.powf(self.d0), 10f64.powf(self.d1))
        } else {
            (self.d0, self.d1)
        }
    }

    /// About `n` round tick values inside the domain.
    pub fn ticks(&self, n: usize) -> Vec<f64> {
        if self.log {
            let decades = (self.d1 - self.d0).max(1.0);
            let step = (decades / n.max(1) as f64).ceil().max(1.0);
            let mut out = Vec::new();
            let mut e = self.d1;
            while e >= self.d0 - 1e-9 && out.len() < 64 {
                out.push(10f64.powf(e));
                e -= step;
            }
            out.reverse();
            return out;
        }
        let step = nice_step((self.d1 - self.d0) / n.max(1) as f64);
        let first = (self.d0 / step - 1e-9).ceil();
        let last = (self.d1 / step + 1e-9).floor();
        let mut out = Vec::new();
        let mut k = first;
        while k <= last && out.len() < 64 {
            out.push(if k == 0.0 { 0.0 } else { k * step });
            k += 1.0;
        }
        out
    }
}

fn finite_or(d: (f64, f64), fallback: (f64, f64)) -> (f64, f64) {
    if d.0.is_finite() && d.1.is_finite() {
        d
    } else {
        fallback
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    let f = raw / p;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * p
}

/// Round steps for a time axis, in ms.
const TIME_STEPS: [i64; 18] = [
    1_000,
    5_000,
    15_000,
    30_000,
    60_000,
    300_000,
    900_000,
    1_800_000,
    3_600_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    172_800_000,
    604_800_000,
    2_592_000_000,
    7_776_000_000,
    31_536_000_000,
];

/// Tick times (ms) for a time domain, about `n` of them, with the label of
/// each.
pub fn time_ticks(domain: (f64, f64), n: usize) -> Vec<(f64, String)> {
    let (d0, d1) = (domain.0.min(domain.1), domain.0.max(domain.1));
    if !(d0.is_finite() && d1.is_finite()) {
        return Vec::new();
    }
    let span = (d1 - d0).max(1.0);
    let raw = span / n.max(1) as f64;
    let step = TIME_STEPS
        .iter()
        .copied()
        .find(|s| *s as f64 >= raw)
        .unwrap_or(TIME_STEPS[TIME_STEPS.len() - 1]) as f64;
    let mut out = Vec::new();
    let mut t = (d0 / step).ceil() * step;
    while t <= d1 && out.len() < 64 {
        out.push((t, time_label(t as i64, step as i64, span)));
        t += step;
    }
    out
}

/// A short label for `t`: the time of day within a day, the date with time
/// within weeks, the date beyond.
pub fn time_label(t: i64, step: i64, span: f64) -> String {
    let full = format_time(t);
    let part = |a: usize, b: usize| full.get(a..b).map(str::to_string);
    let label = if span <= 86_400_000.0 && step < 60_000 {
        part(11, 19)
    } else if span <= 86_400_000.0 {
        part(11, 16)
    } else if step < 86_400_000 {
        part(5, 16).map(|s| s.replace('T', " "))
    } else {
        part(0, 10)
    };
    label.unwrap_or(full)
}
