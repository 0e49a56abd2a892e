//! A small SVG chart kit for the HTML report: axes with ticks (scales in
//! `scale`), polylines, long series drawn as min/max envelopes,
//! shaded time spans, markers, bars and threshold lines.
//!
//! Guarantees: output is inline SVG for an HTML5 page (no `xmlns`, no
//! `href`, no script, no external reference); every text is escaped; any
//! input is drawable (non-finite values are skipped, zero or negative
//! values on a log scale sit at its floor, an empty or one-point domain is
//! widened), so rendering never panics and never emits `NaN` coordinates.
//! A history path ([`Chart::history`]) has at most two vertices per pixel
//! column of the plot area however many points it draws, and names in
//! `data-t` the times (ms) of its first and last point; markers and spans
//! name their times in `data-t` too.

use std::fmt::Write as _;

use super::envelope::{envelope, vertices};
pub use super::scale::{time_label, time_ticks, Scale};

/// `s` with `&`, `<`, `>`, `"` and `'` escaped, for HTML text and
/// attribute values alike.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How the x axis reads.
#[derive(Debug, Clone)]
pub enum XAxis {
    /// Event time (ms) on a linear scale.
    Time(Scale),
    /// Named bands (bar charts).
    Bands(Vec<String>),
}

/// One chart: a titled SVG with a plot area, axes and marks.
#[derive(Debug, Clone)]
pub struct Chart {
    title: String,
    width: f64,
    height: f64,
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
    x: XAxis,
    y: Scale,
    y_label: String,
    y_names: Option<Vec<(f64, String)>>,
    marks: String,
    empty: bool,
}

/// Plot-area margins: left, top, right, bottom.
const MARGIN: (f64, f64, f64, f64) = (64.0, 30.0, 16.0, 40.0);

fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.1}")
    } else {
        "0".into()
    }
}

/// `v` rounded to a whole pixel (0 when not finite).
fn pixel(v: f64) -> i64 {
    if v.is_finite() {
        v.round() as i64
    } else {
        0
    }
}

/// One step of a relative path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    /// To an absolute position.
    To(i64, i64),
    /// Right (or left) only.
    H(i64),
    /// Up or down only.
    V(i64),
    /// Both.
    L(i64, i64),
}

/// A path through `vertices` (whole pixels): the first absolute, each next
/// one relative to the one before, as `v` when only y moves and `h` when
/// only x does (a run of them merged into one), so rounding never
/// accumulates and a flat stretch costs a few bytes whatever its length.
fn relative_path(vertices: &[(i64, i64)]) -> String {
    let mut moves: Vec<Move> = Vec::with_capacity(vertices.len());
    let mut prev: Option<(i64, i64)> = None;
    for &(x, y) in vertices {
        let next = match prev {
            None => Move::To(x, y),
            Some((px, py)) => match (x - px, y - py) {
                (0, 0) => continue,
                (0, dy) => Move::V(dy),
                (dx, 0) => Move::H(dx),
                (dx, dy) => Move::L(dx, dy),
            },
        };
        prev = Some((x, y));
        match (moves.last_mut(), next) {
            (Some(Move::H(a)), Move::H(b)) if (*a > 0) == (b > 0) => *a += b,
            (Some(Move::V(a)), Move::V(b)) if (*a > 0) == (b > 0) => *a += b,
            _ => moves.push(next),
        }
    }
    let mut d = String::with_capacity(moves.len() * 6);
    for m in moves {
        let _ = match m {
            Move::To(x, y) => write!(d, "M{x},{y}"),
            Move::H(dx) => write!(d, "h{dx}"),
            Move::V(dy) => write!(d, "v{dy}"),
            Move::L(dx, dy) => write!(d, "l{dx},{dy}"),
        };
    }
    d
}

/// A tick label for a y value.
fn y_label_of(v: f64, log: bool) -> String {
    if log {
        let e = v.log10().round();
        if e == 0.0 {
            "1".into()
        } else {
            format!("1e{e}")
        }
    } else if v == 0.0 || (v.abs() >= 0.01 && v.abs() < 10_000.0) {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.1e}")
    }
}

impl Chart {
    /// A time chart of `width` × `height` pixels: x is event time over
    /// `time` (ms), y is linear (or log10) over `y`.
    pub fn time(title: &str, size: (f64, f64), time: (f64, f64), y: (f64, f64), log: bool) -> Self {
        let (width, height) = size;
        let (l, t, r, b) = MARGIN;
        let x = Scale::linear(time, (l, width - r));
        let y = if log {
            Scale::log(y, (height - b, t))
        } else {
            Scale::linear(y, (height - b, t))
        };
        Chart {
            title: title.to_string(),
            width,
            height,
            left: l,
            top: t,
            right: r,
            bottom: b,
            x: XAxis::Time(x),
            y,
            y_label: String::new(),
            y_names: None,
            marks: String::new(),
            empty: true,
        }
    }

    /// A bar chart with one band per name and a linear y over `y`.
    pub fn bands(title: &str, size: (f64, f64), bands: Vec<String>, y: (f64, f64)) -> Self {
        let (width, height) = size;
        let (l, t, r, b) = MARGIN;
        Chart {
            title: title.to_string(),
            width,
            height,
            left: l,
            top: t,
            right: r,
            bottom: b,
            x: XAxis::Bands(bands),
            y: Scale::linear(y, (height - b, t)),
            y_label: String::new(),
            y_names: None,
            marks: String::new(),
            empty: true,
        }
    }

    /// Names the y axis.
    pub fn y_label(mut self, label: &str) -> Self {
        self.y_label = label.to_string();
        self
    }

    /// Names y positions (lanes) instead of numeric ticks.
    pub fn y_names(mut self, names: Vec<(f64, String)>) -> Self {
        self.y_names = Some(names);
        self
    }

    /// The y scale.
    pub fn y(&self) -> Scale {
        self.y
    }

    fn px(&self, t: f64) -> f64 {
        match &self.x {
            XAxis::Time(s) => s.map(t),
            XAxis::Bands(_) => self.left,
        }
    }

    /// Left edge and width of band `i`.
    pub fn band(&self, i: usize) -> (f64, f64) {
        let n = match &self.x {
            XAxis::Bands(b) => b.len().max(1),
            XAxis::Time(_) => 1,
        };
        let w = (self.width - self.left - self.right) / n as f64;
        (self.left + w * i as f64, w)
    }

    /// A line through the finite points `(time, value)`, in time order.
    pub fn line(&mut self, points: &[(f64, f64)], color: &str, dashed: bool) {
        let pts: Vec<String> = points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| format!("{},{}", num(self.px(*x)), num(self.y.map(*y))))
            .collect();
        if pts.is_empty() {
            return;
        }
        self.empty = false;
        let dash = if dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = write!(
            self.marks,
            r#"<polyline class="series" fill="none" stroke="{}" stroke-width="1.5"{dash} points="{}"/>"#,
            escape(color),
            pts.join(" ")
        );
    }

    /// Pixel columns of the plot area (one per whole pixel).
    pub fn columns(&self) -> usize {
        (self.width - self.left - self.right).floor().max(1.0) as usize
    }

    /// A series' history, `points` as `(time, value)` in time order: a
    /// path through every finite point when they are no more than the
    /// plot's pixel columns, else through each column's lowest and highest
    /// point (at the column's centre, rounded to whole pixels; see
    /// [`super::envelope`]). `data-t` holds the times (ms) of the first and
    /// last finite point.
    pub fn history<I>(&mut self, points: I, color: &str, dashed: bool, class: &str)
    where
        I: IntoIterator<Item = (f64, f64)>,
        I::IntoIter: Clone,
    {
        let points = points.into_iter();
        let finite = points
            .clone()
            .filter(|(t, v)| t.is_finite() && v.is_finite());
        let (count, first, last) = finite.fold(
            (0usize, f64::INFINITY, f64::NEG_INFINITY),
            |(n, a, b), (t, _)| (n + 1, a.min(t), b.max(t)),
        );
        if count == 0 {
            return;
        }
        let columns = self.columns();
        let path = if count <= columns {
            let mut d = String::with_capacity(count * 12);
            for (i, (t, v)) in points
                .filter(|(t, v)| t.is_finite() && v.is_finite())
                .enumerate()
            {
                let _ = write!(
                    d,
                    "{}{},{}",
                    if i == 0 { "M" } else { " " },
                    num(self.px(t)),
                    num(self.y.map(v))
                );
            }
            d
        } else {
            let XAxis::Time(scale) = &self.x else {
                return;
            };
            let cols = envelope(points, scale.domain(), columns);
            let step = (self.width - self.left - self.right) / columns as f64;
            let vs: Vec<(i64, i64)> = vertices(&cols)
                .into_iter()
                .map(|(c, v)| {
                    let x = self.left + (c as f64 + 0.5) * step;
                    (pixel(x), pixel(self.y.map(v)))
                })
                .collect();
            relative_path(&vs)
        };
        self.empty = false;
        let dash = if dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = write!(
            self.marks,
            r#"<path class="{}" data-t="{} {}" fill="none" stroke="{}" stroke-width="1.2"{dash} d="{path}"/>"#,
            escape(class),
            first.round() as i64,
            last.round() as i64,
            escape(color),
        );
    }

    /// A shaded span of time from `t0` to `t1` over the plot's height (an
    /// open alert), with a hover title.
    pub fn span(&mut self, t0: f64, t1: f64, color: &str, tip: &str) {
        if !(t0.is_finite() && t1.is_finite()) {
            return;
        }
        let (a, b) = (self.px(t0.min(t1)), self.px(t0.max(t1)));
        let _ = write!(
            self.marks,
            r#"<rect class="alert-open" data-t="{} {}" x="{}" y="{}" width="{}" height="{}" fill="{}" fill-opacity="0.13"><title>{}</title></rect>"#,
            t0.min(t1).round() as i64,
            t0.max(t1).round() as i64,
            num(a),
            num(self.top),
            num((b - a).max(1.0)),
            num(self.height - self.bottom - self.top),
            escape(color),
            escape(tip)
        );
    }

    /// A horizontal threshold line at `value`, labelled at its right end.
    pub fn threshold(&mut self, value: f64, color: &str, label: &str) {
        if !value.is_finite() {
            return;
        }
        let y = num(self.y.map(value));
        let (x0, x1) = (num(self.left), num(self.width - self.right));
        let _ = write!(
            self.marks,
            r#"<line class="threshold" x1="{x0}" x2="{x1}" y1="{y}" y2="{y}" stroke="{c}" stroke-width="1.2" stroke-dasharray="4 3"/><text x="{x1}" y="{}" font-size="10" text-anchor="end" fill="{c}">{}</text>"#,
            num(self.y.map(value) - 3.0),
            escape(label),
            c = escape(color),
        );
    }

    /// A marker at `(time, value)`: a circle, filled or hollow, with a
    /// hover title.
    pub fn marker(&mut self, t: f64, value: f64, color: &str, filled: bool, tip: &str) {
        if !(t.is_finite() && value.is_finite()) {
            return;
        }
        self.empty = false;
        let fill = if filled {
            escape(color)
        } else {
            "white".into()
        };
        let _ = write!(
            self.marks,
            r#"<circle class="marker" data-t="{}" cx="{}" cy="{}" r="4" fill="{fill}" stroke="{}" stroke-width="1.5"><title>{}</title></circle>"#,
            t.round() as i64,
            num(self.px(t)),
            num(self.y.map(value)),
            escape(color),
            escape(tip)
        );
    }

    /// A short vertical tick at time `t` along the bottom of the plot area
    /// (a decision on a drift chart).
    pub fn tick(&mut self, t: f64, color: &str, tip: &str) {
        if !t.is_finite() {
            return;
        }
        let x = num(self.px(t));
        let y1 = self.height - self.bottom;
        let _ = write!(
            self.marks,
            r#"<line class="decision-tick" x1="{x}" x2="{x}" y1="{}" y2="{}" stroke="{}" stroke-width="2"><title>{}</title></line>"#,
            num(y1),
            num(y1 - 10.0),
            escape(color),
            escape(tip)
        );
    }

    /// A bar from `y0` to `y1` in band `band`, slot `slot` of `slots`.
    pub fn bar(&mut self, band: usize, y0: f64, y1: f64, color: &str, tip: &str) {
        if !(y0.is_finite() && y1.is_finite()) {
            return;
        }
        self.empty = false;
        let (x, w) = self.band(band);
        let (a, b) = (self.y.map(y0), self.y.map(y1));
        let _ = write!(
            self.marks,
            r#"<rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>"#,
            num(x + w * 0.2),
            num(a.min(b)),
            num(w * 0.6),
            num((a - b).abs()),
            escape(color),
            escape(tip)
        );
    }

    /// A vertical stem from 0 to `value` at time `t` with a marker on top
    /// (a reward).
    pub fn stem(&mut self, t: f64, value: f64, color: &str, tip: &str) {
        if !(t.is_finite() && value.is_finite()) {
            return;
        }
        let x = num(self.px(t));
        let _ = write!(
            self.marks,
            r#"<line class="stem" x1="{x}" x2="{x}" y1="{}" y2="{}" stroke="{}" stroke-width="1.5"/>"#,
            num(self.y.map(0.0)),
            num(self.y.map(value)),
            escape(color)
        );
        self.marker(t, value, color, true, tip);
    }

    fn axes(&self) -> String {
        let mut s = String::new();
        let (x0, x1) = (self.left, self.width - self.right);
        let (y0, y1) = (self.height - self.bottom, self.top);
        let _ = write!(
            s,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="#fbfbfd" stroke="#ccc"/>"##,
            num(x0),
            num(y1),
            num(x1 - x0),
            num(y0 - y1)
        );
        let ticks: Vec<(f64, String)> = match &self.y_names {
            Some(names) => names.clone(),
            None => self
                .y
                .ticks(5)
                .into_iter()
                .map(|v| (v, y_label_of(v, self.y.log)))
                .collect(),
        };
        for (v, label) in ticks {
            let y = num(self.y.map(v));
            let _ = write!(
                s,
                r##"<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="#e6e6ea"/><text class="tick" x="{}" y="{y}" dy="3" font-size="10" text-anchor="end" fill="#555">{}</text>"##,
                num(x0),
                num(x1),
                num(x0 - 4.0),
                escape(&label)
            );
        }
        match &self.x {
            XAxis::Time(scale) => {
                for (t, label) in time_ticks(scale.domain(), 6) {
                    let x = num(scale.map(t));
                    let _ = write!(
                        s,
                        r##"<line x1="{x}" x2="{x}" y1="{}" y2="{}" stroke="#999"/><text class="tick" x="{x}" y="{}" font-size="10" text-anchor="middle" fill="#555">{}</text>"##,
                        num(y0),
                        num(y0 + 4.0),
                        num(y0 + 15.0),
                        escape(&label)
                    );
                }
                let _ = write!(
                    s,
                    r##"<text x="{}" y="{}" font-size="10" text-anchor="end" fill="#777">event time (UTC)</text>"##,
                    num(x1),
                    num(self.height - 4.0)
                );
            }
            XAxis::Bands(names) => {
                for (i, name) in names.iter().enumerate() {
                    let (bx, w) = self.band(i);
                    let _ = write!(
                        s,
                        r##"<text class="tick" x="{}" y="{}" font-size="11" text-anchor="middle" fill="#333">{}</text>"##,
                        num(bx + w / 2.0),
                        num(y0 + 15.0),
                        escape(name)
                    );
                }
            }
        }
        if !self.y_label.is_empty() {
            let _ = write!(
                s,
                r##"<text x="12" y="{}" font-size="10" fill="#555" transform="rotate(-90 12 {})" text-anchor="middle">{}</text>"##,
                num((y0 + y1) / 2.0),
                num((y0 + y1) / 2.0),
                escape(&self.y_label)
            );
        }
        s
    }

    /// The finished `<svg>` element.
    pub fn finish(self) -> String {
        let title = escape(&self.title);
        let mut s = format!(
            r#"<svg class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{title}"><title>{title}</title>"#,
            w = num(self.width),
            h = num(self.height),
        );
        s.push_str(&self.axes());
        s.push_str(&self.marks);
        if self.empty {
            let _ = write!(
                s,
                r##"<text x="{}" y="{}" font-size="12" text-anchor="middle" fill="#999">no data</text>"##,
                num(self.width / 2.0),
                num(self.height / 2.0)
            );
        }
        let _ = write!(
            s,
            r##"<text class="chart-title" x="{}" y="18" font-size="13" font-weight="600" fill="#222">{title}</text></svg>"##,
            num(self.left)
        );
        s
    }
}

#[cfg(test)]
#[path = "svg_tests.rs"]
mod tests;
