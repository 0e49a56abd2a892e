//! Downsampling a series to a chart's pixel columns: per column, the
//! lowest and the highest point that falls in it (a min/max envelope), so
//! a month of evaluations draws as a few hundred vertices and a single
//! spike stays visible.
//!
//! Guarantees: pure; non-finite points are skipped; every other point
//! falls in exactly one column (its time mapped linearly onto the domain,
//! clamped to the first or last column); a column's min and max are
//! exactly the smallest and largest value among its points (the earliest
//! such point on a tie); [`envelope`] returns at most one entry per
//! column, in column order, and [`vertices`] at most two per column, in
//! column order and, within a column, in time order.

/// One pixel column's extremes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    /// Column index, from 0 at the domain's start.
    pub index: usize,
    /// `(time, value)` of the lowest point.
    pub min: (f64, f64),
    /// `(time, value)` of the highest point.
    pub max: (f64, f64),
    /// Points in the column.
    pub count: usize,
}

/// The column (of `columns` over `domain`) that time `t` falls in.
pub fn column_of(t: f64, domain: (f64, f64), columns: usize) -> usize {
    let n = columns.max(1);
    let width = domain.1 - domain.0;
    if !(width.is_finite() && width > 0.0) {
        return 0;
    }
    let c = ((t - domain.0) / width * n as f64).floor();
    if c.is_nan() || c < 0.0 {
        0
    } else {
        (c as usize).min(n - 1)
    }
}

/// The non-empty columns of `points` (`(time, value)`, any order) over
/// `domain`, split into `columns` columns.
pub fn envelope(
    points: impl IntoIterator<Item = (f64, f64)>,
    domain: (f64, f64),
    columns: usize,
) -> Vec<Column> {
    let n = columns.max(1);
    let mut slots: Vec<Option<Column>> = vec![None; n];
    for (t, v) in points {
        if !(t.is_finite() && v.is_finite()) {
            continue;
        }
        let index = column_of(t, domain, n);
        let Some(slot) = slots.get_mut(index) else {
            continue;
        };
        match slot {
            None => {
                *slot = Some(Column {
                    index,
                    min: (t, v),
                    max: (t, v),
                    count: 1,
                })
            }
            Some(c) => {
                c.count += 1;
                if v < c.min.1 || (v == c.min.1 && t < c.min.0) {
                    c.min = (t, v);
                }
                if v > c.max.1 || (v == c.max.1 && t < c.max.0) {
                    c.max = (t, v);
                }
            }
        }
    }
    slots.into_iter().flatten().collect()
}

/// The vertices of a line through `columns`: `(column, value)`, the min
/// and max of each column in the order they happened (one vertex when
/// they are equal).
pub fn vertices(columns: &[Column]) -> Vec<(usize, f64)> {
    let mut out = Vec::with_capacity(columns.len() * 2);
    for c in columns {
        if c.min.1 == c.max.1 {
            out.push((c.index, c.min.1));
        } else if c.min.0 <= c.max.0 {
            out.push((c.index, c.min.1));
            out.push((c.index, c.max.1));
        } else {
            out.push((c.index, c.max.1));
            out.push((c.index, c.min.1));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_single_spike_survives() {
        let mut points: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, 0.1)).collect();
        points[7_777].1 = 0.9;
        let cols = envelope(points.iter().copied(), (0.0, 10_000.0), 100);
        assert_eq!(cols.len(), 100);
        let spike: Vec<&Column> = cols.iter().filter(|c| c.max.1 > 0.5).collect();
        assert_eq!(spike.len(), 1);
        assert_eq!((spike[0].index, spike[0].max), (77, (7_777.0, 0.9)));
        let v = vertices(&cols);
        // Flat columns give one vertex, the spike's column two.
        assert_eq!(v.len(), 101);
        assert!(v.contains(&(77, 0.9)) && v.contains(&(77, 0.1)));
    }

    #[test]
    fn columns_clamp_skip_and_order() {
        let d = (0.0, 10.0);
        assert_eq!(column_of(-5.0, d, 10), 0);
        assert_eq!(column_of(10.0, d, 10), 9);
        assert_eq!(column_of(99.0, d, 10), 9);
        assert_eq!(column_of(3.5, d, 10), 3);
        assert_eq!(column_of(f64::NAN, d, 10), 0);
        assert_eq!(column_of(5.0, (1.0, 1.0), 10), 0);
        let cols = envelope(
            [
                (5.5, 2.0),
                (5.1, 7.0),
                (f64::NAN, 1.0),
                (5.2, f64::INFINITY),
            ],
            d,
            10,
        );
        assert_eq!(cols.len(), 1);
        assert_eq!(cols[0].count, 2);
        // The max came first.
        assert_eq!(vertices(&cols), [(5, 7.0), (5, 2.0)]);
        assert!(envelope([], d, 0).is_empty());
    }

    proptest! {
        #[test]
        fn the_envelope_is_the_brute_force_min_and_max(
            points in prop::collection::vec((0.0f64..1_000.0, -1e6f64..1e6), 0..600),
            columns in 1usize..80,
            start in -100.0f64..100.0,
            width in 1.0f64..2_000.0,
        ) {
            let domain = (start, start + width);
            let cols = envelope(points.iter().copied(), domain, columns);
            prop_assert!(cols.len() <= columns);
            prop_assert!(vertices(&cols).len() <= 2 * columns);
            prop_assert!(cols.windows(2).all(|w| w[0].index < w[1].index));
            prop_assert_eq!(cols.iter().map(|c| c.count).sum::<usize>(), points.len());
            for c in 0..columns {
                let inside: Vec<f64> = points
                    .iter()
                    .filter(|(t, _)| column_of(*t, domain, columns) == c)
                    .map(|(_, v)| *v)
                    .collect();
                let got = cols.iter().find(|k| k.index == c);
                match got {
                    None => prop_assert!(inside.is_empty()),
                    Some(k) => {
                        let lo = inside.iter().copied().fold(f64::INFINITY, f64::min);
                        let hi = inside.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        prop_assert_eq!((k.min.1, k.max.1, k.count), (lo, hi, inside.len()));
                        // The time kept is a point's with that value.
                        prop_assert!(points.contains(&k.min) && points.contains(&k.max));
                    }
                }
            }
        }

        #[test]
        fn a_column_covers_its_share_of_the_domain(
            t in -10.0f64..1_010.0,
            columns in 1usize..2_000,
            width in 1.0f64..1_000.0,
        ) {
            let c = column_of(t, (0.0, width), columns);
            let step = width / columns as f64;
            let slack = 1e-9 * width;
            prop_assert!(c < columns);
            if t >= 0.0 && t < width {
                prop_assert!(c as f64 * step <= t + slack, "{} in column {}", t, c);
                prop_assert!(t < (c + 1) as f64 * step + slack, "{} in column {}", t, c);
            } else if t < 0.0 {
                prop_assert_eq!(c, 0);
            } else {
                prop_assert_eq!(c, columns - 1);
            }
        }
    }
}
