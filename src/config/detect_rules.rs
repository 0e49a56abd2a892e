//! The rules of `[detect]` (and of every model's own detect settings),
//! and the reference time range they allow.
//!
//! Guarantees: [`check_detect`] rejects every `[detect]` value the
//! detectors cannot use, with an error naming the key; a config that passed
//! it has a parseable reference time range when `reference-mode` is
//! `time-range` ([`DetectConfig::reference_range_ms`]).

use super::load::ConfigError;
use super::model::{DetectConfig, ReferenceMode, WindowKindName};

impl DetectConfig {
    /// The reference time range as event-time milliseconds, when set.
    pub fn reference_range_ms(&self) -> Option<(i64, i64)> {
        let d = self;
        Some((
            rfc3339_ms(d.reference_start.as_deref()).ok()?,
            rfc3339_ms(d.reference_end.as_deref()).ok()?,
        ))
    }
}

/// The rules of `[detect]` that per-model settings must pass too; `fail`
/// turns a `detect.…` key and a message into the error.
pub(super) fn check_detect(
    d: &DetectConfig,
    fail: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(), ConfigError> {
    if d.reference_size < 2 {
        return Err(fail("detect.reference-size", "must be at least 2".into()));
    }
    if d.window_size < 2 {
        return Err(fail("detect.window-size", "must be at least 2".into()));
    }
    if d.evaluate_every == 0 {
        return Err(fail("detect.evaluate-every", "must be at least 1".into()));
    }
    if d.window_kind == WindowKindName::Time {
        if d.window_duration.as_millis() < 1 {
            return Err(fail(
                "detect.window-duration",
                "must be at least 1ms".into(),
            ));
        }
        if d.window_slide.as_millis() < 1 || d.window_slide > d.window_duration {
            return Err(fail(
                "detect.window-slide",
                "must be at least 1ms and at most detect.window-duration".into(),
            ));
        }
        if d.min_window_size < 2 {
            return Err(fail("detect.min-window-size", "must be at least 2".into()));
        }
    }
    match d.reference_mode {
        ReferenceMode::TimeRange => {
            let (start, end) = (
                rfc3339_ms(d.reference_start.as_deref())
                    .map_err(|m| fail("detect.reference-start", m))?,
                rfc3339_ms(d.reference_end.as_deref())
                    .map_err(|m| fail("detect.reference-end", m))?,
            );
            if end <= start {
                return Err(fail(
                    "detect.reference-end",
                    "must be later than detect.reference-start".into(),
                ));
            }
        }
        ReferenceMode::Seasonal => {
            let Some(season) = d.season else {
                return Err(fail(
                    "detect.season",
                    "is required when detect.reference-mode = \"seasonal\" (e.g. \"365d\")".into(),
                ));
            };
            if d.window_kind != WindowKindName::Time {
                return Err(fail(
                    "detect.reference-mode",
                    "\"seasonal\" compares event-time phases: it needs detect.window-kind = \"time\""
                        .into(),
                ));
            }
            if season < d.window_duration {
                return Err(fail(
                    "detect.season",
                    format!(
                        "must be at least detect.window-duration ({}), got {}",
                        humantime::format_duration(d.window_duration),
                        humantime::format_duration(season)
                    ),
                ));
            }
        }
        ReferenceMode::File if d.reference_file.is_none() => {
            return Err(fail(
                "detect.reference-file",
                "is required when detect.reference-mode = \"file\"".into(),
            ));
        }
        _ => {}
    }
    if d.persistence == 0 {
        return Err(fail("detect.persistence", "must be at least 1".into()));
    }
    for (key, value) in [("ks", d.min_effect.ks), ("chi2", d.min_effect.chi2)] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(fail(
                &format!("detect.min-effect.{key}"),
                format!("must be a finite number >= 0, got {value}"),
            ));
        }
    }
    if !(d.reference_quantile > 0.0 && d.reference_quantile <= 1.0) {
        return Err(fail(
            "detect.reference-quantile",
            format!("must be in (0, 1], got {}", d.reference_quantile),
        ));
    }
    if !(2..=1000).contains(&d.reference_chunks) {
        return Err(fail(
            "detect.reference-chunks",
            format!("must be from 2 to 1000, got {}", d.reference_chunks),
        ));
    }
    if !(d.ks_alpha > 0.0 && d.ks_alpha < 1.0) {
        return Err(fail(
            "detect.ks-alpha",
            format!("must be in (0, 1), got {}", d.ks_alpha),
        ));
    }
    Ok(())
}

/// An RFC 3339 timestamp as milliseconds since the epoch.
fn rfc3339_ms(value: Option<&str>) -> Result<i64, String> {
    let value = value.ok_or("is required when detect.reference-mode = \"time-range\"")?;
    let t = humantime::parse_rfc3339_weak(value)
        .map_err(|e| format!("`{value}` is not an RFC 3339 time: {e}"))?;
    let ms = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    };
    Ok(ms)
}
