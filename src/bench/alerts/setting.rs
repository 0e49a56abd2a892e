//! The detection settings `jidoka bench alerts` compares: a name and a TOML
//! snippet merged over the shipped defaults.
//!
//! Adding a setting is one line in [`SETTINGS`]. A snippet may say
//! `{period}` (the stream's cycle in event time, a duration string: whole
//! days as `365days`, else milliseconds as `31557600000ms`) and `{period-records}` (the cycle in records); they are
//! replaced per stream, so a seasonal reference can follow each stream's
//! cycle.
//!
//! Guarantees: a setting's configuration on a stream is the defaults, then
//! the stream's window settings, then the setting's snippet (later wins),
//! validated like any configuration; an unknown setting name is a usage
//! error listing the known ones.

use serde::Serialize;

use super::error::AlertsError;
use super::stream::Stream;
use super::synthetic::DAY_MS;
use crate::config::Config;

/// The built-in settings: name, TOML merged over the defaults.
pub const SETTINGS: &[(&str, &str)] = &[
    ("default", ""),
    (
        "no-gate",
        "detect.effect-threshold = \"fixed\"\ndetect.min-effect.ks = 0.0\n\
         detect.min-effect.chi2 = 0.0",
    ),
    ("rolling", "detect.reference-mode = \"rolling\""),
    (
        "fixed-0.2",
        "detect.effect-threshold = \"fixed\"\ndetect.min-effect.ks = 0.2",
    ),
    (
        "fixed-0.3",
        "detect.effect-threshold = \"fixed\"\ndetect.min-effect.ks = 0.3",
    ),
    (
        "seasonal",
        "detect.reference-mode = \"seasonal\"\ndetect.season = \"{period}\"\n\
         detect.window-kind = \"time\"\ndetect.window-duration = \"{period/2}\"\n\
         detect.window-slide = \"{period/24}\"\ndetect.min-window-size = {period-records/4}",
    ),
];

/// A detection setting under test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// Name (report key).
    pub name: String,
    /// TOML merged over the defaults (and the stream's window settings).
    pub toml: String,
}

impl Setting {
    /// A setting from a name and a TOML snippet.
    pub fn new(name: impl Into<String>, toml: impl Into<String>) -> Self {
        Setting {
            name: name.into(),
            toml: toml.into(),
        }
    }

    /// The built-in settings named, in the order given.
    pub fn named(names: &[String]) -> Result<Vec<Setting>, AlertsError> {
        names
            .iter()
            .map(|n| {
                SETTINGS
                    .iter()
                    .find(|(name, _)| name == n)
                    .map(|(name, toml)| Setting::new(*name, *toml))
                    .ok_or_else(|| {
                        let known: Vec<&str> = SETTINGS.iter().map(|(n, _)| *n).collect();
                        AlertsError::Usage(format!(
                            "unknown setting `{n}` (known: {})",
                            known.join(", ")
                        ))
                    })
            })
            .collect()
    }

    /// The snippet with the stream's `{period}` and `{period-records}`,
    /// and their fractions `{period/N}` and `{period-records/N}` (integer
    /// division, at least 1 ms and 2 records).
    pub fn toml_for(&self, stream: &Stream) -> String {
        let duration = |ms: i64| {
            if ms % DAY_MS == 0 {
                format!("{}days", ms / DAY_MS)
            } else {
                format!("{ms}ms")
            }
        };
        let (ms, records) = (stream.period.ms, stream.period.records as i64);
        let mut out = self
            .toml
            .replace("{period}", &duration(ms))
            .replace("{period-records}", &records.to_string());
        for (name, whole, floor) in [("{period/", ms, 1), ("{period-records/", records, 2)] {
            while let Some(start) = out.find(name) {
                let rest = &out[start + name.len()..];
                let Some(end) = rest.find('}') else { break };
                let divisor: i64 = rest[..end].trim().parse().unwrap_or(1).max(1);
                let part = (whole / divisor).max(floor);
                let text = if name == "{period/" {
                    duration(part)
                } else {
                    part.to_string()
                };
                out.replace_range(start..start + name.len() + end + 1, &text);
            }
        }
        out
    }

    /// The configuration of this setting on `stream`.
    pub fn config(&self, stream: &Stream) -> Result<Config, AlertsError> {
        Config::defaults_with(&[&stream.snippet, &self.toml_for(stream)]).map_err(|source| {
            AlertsError::Config {
                setting: self.name.clone(),
                stream: stream.name.clone(),
                source: Box::new(source),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::alerts::stream::SyntheticPlan;
    use crate::config::ReferenceMode;

    fn streams() -> Vec<Stream> {
        SyntheticPlan {
            records: 100,
            years: 1,
            shifts: vec![],
        }
        .streams()
    }

    #[test]
    fn builtin_settings_load_on_every_stream() {
        let names: Vec<String> = SETTINGS.iter().map(|(n, _)| n.to_string()).collect();
        let settings = Setting::named(&names).unwrap_or_else(|e| panic!("{e}"));
        for s in &settings {
            for stream in streams() {
                s.config(&stream).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        let rolling = settings
            .iter()
            .find(|s| s.name == "rolling")
            .unwrap_or_else(|| panic!("no rolling setting"))
            .config(&streams()[0])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rolling.detect.reference_mode, ReferenceMode::Rolling);
        let err = Setting::named(&["nope".into()]).map_err(|e| e.to_string());
        assert!(matches!(&err, Err(e) if e.contains("nope") && e.contains("rolling")));
    }

    #[test]
    fn placeholders_take_the_stream_period_and_the_setting_wins() {
        let s = Setting::new(
            "p",
            "detect.window-duration = \"{period}\"\ndetect.window-size = {period-records}",
        );
        let daily = &streams()[1];
        assert_eq!(
            s.toml_for(daily),
            "detect.window-duration = \"365days\"\ndetect.window-size = 365"
        );
        let fractions = Setting::new(
            "f",
            "a = \"{period/2}\" b = \"{period/24}\" c = {period-records/4} d = {period-records/1000}",
        );
        assert_eq!(
            fractions.toml_for(daily),
            format!(
                "a = \"{}ms\" b = \"{}ms\" c = 91 d = 2",
                365 * DAY_MS / 2,
                365 * DAY_MS / 24
            )
        );
        let cfg = s.config(daily).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.detect.window_duration.as_secs(), 365 * 86_400);
        assert_eq!(cfg.detect.window_size, 365);
        let bad = Setting::new("bad", "detect.window-size = 1").config(daily);
        assert!(
            matches!(&bad, Err(AlertsError::Config { setting, stream, .. })
                if setting == "bad" && stream == "seasonal-daily"),
            "{bad:?}"
        );
    }
}
