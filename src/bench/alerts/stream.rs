//! The streams `jidoka bench alerts` runs: what each one is, its window
//! settings, its period, and where (if anywhere) its distribution changes.
//!
//! Guarantees: every stream is one model; a stream's name is unique and
//! stable (the JSON keys and `--streams` use it); the only change in any
//! stream is a planted shift ([`Shift`]), so an alert opening counts as a
//! false alarm unless its window holds shifted records of the shifted
//! feature ([`Stream::is_false_alarm`]).

use std::sync::Arc;

use serde::Serialize;

use super::error::AlertsError;
use super::real::Series;
use super::synthetic::{Shift, Synthetic, DAY_MS, HOUR_MS, SHIFTED_FEATURE};
use crate::schema::Prediction;

/// A year of 365.25 days, in ms (the period of the real yearly series).
const YEAR_MS: i64 = 31_557_600_000;

/// What kind of stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Synthetic, independent and identically distributed.
    Stationary,
    /// Synthetic, nothing but a cycle in event time.
    Seasonal,
    /// Real seasonal series from a Python package.
    Real,
    /// Synthetic stationary with a planted shift.
    Shift,
}

impl Family {
    /// The `--streams` and report name.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Stationary => "stationary",
            Family::Seasonal => "seasonal",
            Family::Real => "real",
            Family::Shift => "shift",
        }
    }
}

/// A stream's cycle, for settings that need one (`{period}`,
/// `{period-records}` in a setting's TOML). Streams without a cycle
/// (stationary, shift) say one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// In event time (ms).
    pub ms: i64,
    /// In records (rounded for the real series).
    pub records: u64,
}

/// Where the predictions come from.
#[derive(Debug, Clone)]
enum Source {
    Synthetic(Synthetic),
    Real(Arc<Series>),
}

/// One stream of the benchmark.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Unique name, also the model id.
    pub name: String,
    /// Kind.
    pub family: Family,
    /// One line: what it is.
    pub about: String,
    /// TOML merged over the defaults before any setting (window settings
    /// of the short real series; empty for the synthetic streams).
    pub snippet: String,
    /// Its cycle.
    pub period: Period,
    source: Source,
}

/// The real series: file, description, period, window settings.
pub struct RealSpec {
    /// Stream name.
    pub name: &'static str,
    /// File written by the export script.
    pub file: &'static str,
    /// One line: what it is.
    pub about: &'static str,
    /// Its cycle.
    pub period: Period,
    /// Its window settings: the defaults (reference 1,000, window 500,
    /// every 250 records) scaled by the records per period / 365, that is
    /// the defaults' geometry on daily data with a yearly cycle (issue 15's
    /// weather data): reference 2.74 periods, window 1.37, evaluated every
    /// 0.68 period.
    pub snippet: &'static str,
}

/// The real series shipped by the export script.
pub const REAL: [RealSpec; 3] = [
    RealSpec {
        name: "co2",
        file: "co2.csv",
        about: "Mauna Loa CO2, weekly 1958-2001, trend removed (statsmodels)",
        period: Period {
            ms: YEAR_MS,
            records: 52,
        },
        snippet: "detect.reference-size = 143\ndetect.window-size = 71\ndetect.evaluate-every = 36",
    },
    RealSpec {
        name: "elnino",
        file: "elnino.csv",
        about: "El Nino sea surface temperature, monthly 1950-2010 (statsmodels)",
        period: Period {
            ms: YEAR_MS,
            records: 12,
        },
        snippet: "detect.reference-size = 33\ndetect.window-size = 16\ndetect.evaluate-every = 8",
    },
    RealSpec {
        name: "sunspots",
        file: "sunspots.csv",
        about: "sunspot numbers, yearly 1700-2008, ~11-year cycle (statsmodels)",
        period: Period {
            ms: 11 * YEAR_MS,
            records: 11,
        },
        snippet: "detect.reference-size = 30\ndetect.window-size = 15\ndetect.evaluate-every = 8",
    },
];

/// Sizes of the synthetic streams.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticPlan {
    /// Records of the stationary, hourly seasonal and shift streams.
    pub records: u64,
    /// Years (of 365 days) of the daily seasonal stream.
    pub years: u64,
    /// Planted shifts, in standard deviations; each is one stream.
    pub shifts: Vec<f64>,
}

impl SyntheticPlan {
    /// The last unshifted record of the shift streams: half the stream.
    pub fn shift_after(&self) -> u64 {
        self.records / 2
    }

    /// The synthetic streams, in report order.
    pub fn streams(&self) -> Vec<Stream> {
        let day = Period {
            ms: DAY_MS,
            records: 1440,
        };
        let mut out = vec![
            Stream {
                name: "stationary".into(),
                family: Family::Stationary,
                about: "8 iid features (6 normal, 1 skewed, 1 discrete), 1 record/min".into(),
                snippet: String::new(),
                period: day,
                source: Source::Synthetic(Synthetic::Stationary {
                    records: self.records,
                    shift: None,
                }),
            },
            Stream {
                name: "seasonal-daily".into(),
                family: Family::Seasonal,
                about: format!(
                    "8 features, 365-day cycle of 1-2 sd, 1 record/day, {} years",
                    self.years
                ),
                snippet: String::new(),
                period: Period {
                    ms: 365 * DAY_MS,
                    records: 365,
                },
                source: Source::Synthetic(Synthetic::Seasonal {
                    records: self.years * 365,
                    step_ms: DAY_MS,
                    period_ms: 365 * DAY_MS,
                }),
            },
            Stream {
                name: "seasonal-hourly".into(),
                family: Family::Seasonal,
                about: "8 features, 1-day cycle of 1-2 sd, 1 record/hour".into(),
                snippet: String::new(),
                period: Period {
                    ms: DAY_MS,
                    records: 24,
                },
                source: Source::Synthetic(Synthetic::Seasonal {
                    records: self.records,
                    step_ms: HOUR_MS,
                    period_ms: DAY_MS,
                }),
            },
        ];
        for sd in &self.shifts {
            let shift = Shift {
                sd: *sd,
                after: self.shift_after(),
            };
            out.push(Stream {
                name: shift_name(*sd),
                family: Family::Shift,
                about: format!(
                    "stationary, {SHIFTED_FEATURE} shifted by {sd} sd after record {}",
                    shift.after
                ),
                snippet: String::new(),
                period: day,
                source: Source::Synthetic(Synthetic::Stationary {
                    records: self.records,
                    shift: Some(shift),
                }),
            });
        }
        out
    }
}

impl Stream {
    /// A real series as a stream.
    pub fn real(spec: &RealSpec, series: Series) -> Stream {
        Stream {
            name: spec.name.into(),
            family: Family::Real,
            about: spec.about.into(),
            snippet: spec.snippet.into(),
            period: spec.period,
            source: Source::Real(Arc::new(series)),
        }
    }

    /// Records in the stream.
    pub fn records(&self) -> u64 {
        match &self.source {
            Source::Synthetic(s) => s.records(),
            Source::Real(s) => s.rows.len() as u64,
        }
    }

    /// Whether seeds give different streams (a real series is one stream).
    pub fn is_seeded(&self) -> bool {
        matches!(self.source, Source::Synthetic(_))
    }

    /// The planted shift, if any.
    pub fn shift(&self) -> Option<Shift> {
        match self.source {
            Source::Synthetic(Synthetic::Stationary { shift, .. }) => shift,
            _ => None,
        }
    }

    /// The predictions for `seed` (ignored by a real series).
    pub fn predictions(&self, seed: u64) -> Box<dyn Iterator<Item = Prediction>> {
        match &self.source {
            Source::Synthetic(s) => Box::new(s.predictions(&self.name, seed)),
            Source::Real(s) => Box::new(s.clone().predictions(&self.name)),
        }
    }

    /// Whether an alert on `feature` opened at a window ending at record
    /// `end` is a false alarm: nothing changed in that window (every
    /// opening but those on a shifted feature after its shift).
    pub fn is_false_alarm(&self, feature: &str, end: u64) -> bool {
        match self.shift() {
            Some(s) => !(feature == SHIFTED_FEATURE && end > s.after),
            None => true,
        }
    }

    /// Whether an evaluation at record `record` tests windows where nothing
    /// changed (before a planted shift, or any evaluation of a stream
    /// without one).
    pub fn is_null_evaluation(&self, record: u64) -> bool {
        self.shift().is_none_or(|s| record <= s.after)
    }
}

/// The names `--streams` accepts besides stream names: families, and
/// `synthetic` (every synthetic stream).
pub fn selects(filter: &[String], name: &str, family: Family) -> bool {
    filter.is_empty()
        || filter.iter().any(|f| {
            f == name || f == family.as_str() || (f == "synthetic" && family != Family::Real)
        })
}

/// Checks that every `--streams` entry names a stream or a family.
pub fn check_filter(filter: &[String], known: &[String]) -> Result<(), AlertsError> {
    let families = ["stationary", "seasonal", "real", "shift", "synthetic"];
    for f in filter {
        if !known.contains(f) && !families.contains(&f.as_str()) {
            return Err(AlertsError::Usage(format!(
                "unknown stream `{f}` (streams: {}; families: {})",
                known.join(", "),
                families.join(", ")
            )));
        }
    }
    Ok(())
}

/// The name of the stream with a planted shift of `sd` standard deviations.
pub fn shift_name(sd: f64) -> String {
    format!("shift-{sd}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> SyntheticPlan {
        SyntheticPlan {
            records: 4_000,
            years: 3,
            shifts: vec![0.5, 1.0],
        }
    }

    #[test]
    fn streams_have_unique_names_and_the_planned_sizes() {
        let streams = plan().streams();
        let names: Vec<&str> = streams.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "stationary",
                "seasonal-daily",
                "seasonal-hourly",
                "shift-0.5",
                "shift-1"
            ]
        );
        assert_eq!(streams[1].records(), 3 * 365);
        assert_eq!(streams[4].records(), 4_000);
        assert_eq!(streams[4].predictions(1).count(), 4_000);
        assert_eq!(
            streams[3].shift().map(|s| (s.sd, s.after)),
            Some((0.5, 2_000))
        );
        assert_eq!(shift_name(1.0), "shift-1");
    }

    #[test]
    fn false_alarms_are_openings_where_nothing_changed() {
        let streams = plan().streams();
        let (stationary, shifted) = (&streams[0], &streams[3]);
        assert!(stationary.is_false_alarm(SHIFTED_FEATURE, 3_000));
        assert!(shifted.is_false_alarm(SHIFTED_FEATURE, 2_000));
        assert!(!shifted.is_false_alarm(SHIFTED_FEATURE, 2_001));
        assert!(shifted.is_false_alarm("n1", 3_000));
        assert!(shifted.is_null_evaluation(2_000) && !shifted.is_null_evaluation(2_250));
        assert!(stationary.is_null_evaluation(3_000));
    }

    #[test]
    fn the_filter_takes_names_and_families() {
        let f = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(selects(&[], "co2", Family::Real));
        assert!(selects(&f(&["synthetic"]), "shift-1", Family::Shift));
        assert!(!selects(&f(&["synthetic"]), "co2", Family::Real));
        assert!(selects(&f(&["seasonal", "co2"]), "co2", Family::Real));
        assert!(!selects(
            &f(&["seasonal"]),
            "stationary",
            Family::Stationary
        ));
        let known = f(&["stationary", "co2"]);
        assert!(check_filter(&f(&["real", "co2"]), &known).is_ok());
        let err = check_filter(&f(&["co3"]), &known).map_err(|e| e.to_string());
        assert!(matches!(&err, Err(e) if e.contains("co3") && e.contains("co2")));
    }
}
