//! What one run (setting × stream × seed) of `jidoka bench alerts` saw,
//! counted from the processor's outputs.
//!
//! Guarantees: an evaluation is one processed record whose outputs hold at
//! least one covariate evaluation record (the processor tests every ready
//! feature of the model at once); it rejects when any of them rejected, and
//! has an alert open when any of their alerts is open after it; an
//! alert opening is a covariate drift event with status `opened`, placed at
//! its window's last record. Anomaly (Z-score) and concept alerts are not
//! counted: the benchmark is about the covariate tests.

use crate::schema::DriftEvent;
use crate::stage::Output;

/// One evaluation: the model's record count, whether any feature's test
/// rejected, and whether any feature's covariate alert is open after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tested {
    /// The model's record count at the evaluation.
    pub record: u64,
    /// Any feature rejected.
    pub rejected: bool,
    /// Any covariate alert open after the evaluation.
    pub alert_open: bool,
}

/// One covariate alert opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// The feature.
    pub feature: String,
    /// The last record of the window that opened it.
    pub record: u64,
}

/// The counts of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records processed.
    pub records: u64,
    /// Every evaluation, in order.
    pub evaluations: Vec<Tested>,
    /// Every covariate alert opening, in order.
    pub openings: Vec<Opening>,
}

fn record_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn is_opening(d: &DriftEvent) -> bool {
    d.kind == "covariate" && d.status == "opened"
}

impl Tally {
    /// Counts the outputs of one processed record.
    pub fn observe(&mut self, outputs: &[Output]) {
        self.records += 1;
        let mut tested: Option<Tested> = None;
        for o in outputs {
            match o {
                Output::Evaluation(e) if e.kind == "covariate" => {
                    let t = tested.get_or_insert(Tested {
                        record: record_of(e.record),
                        rejected: false,
                        alert_open: false,
                    });
                    t.rejected |= e.significant;
                    t.alert_open |= e.alert_open;
                }
                Output::Drift(d) if is_opening(d) => self.openings.push(Opening {
                    feature: d.feature.clone(),
                    record: record_of(d.window_end_record),
                }),
                _ => {}
            }
        }
        self.evaluations.extend(tested);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Processor;
    use crate::stage::SourcePos;
    use crate::state::Store;

    #[test]
    fn counts_evaluations_rejections_and_openings_of_a_processor() {
        // A 2-sd jump in one of two features after record 300: windows of
        // 100 evaluated every 50 records after a reference of 200.
        let cfg = crate::config::Config::defaults_with(&[
            "detect.reference-size = 200\ndetect.window-size = 100\ndetect.evaluate-every = 50",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path(), false).unwrap_or_else(|e| panic!("{e}"));
        let mut p = Processor::new(&cfg, "v", store);
        let mut tally = Tally::default();
        let stream = crate::bench::alerts::synthetic::Synthetic::Stationary {
            records: 600,
            shift: Some(crate::bench::alerts::synthetic::Shift {
                sd: 2.0,
                after: 300,
            }),
        };
        for (i, pred) in stream.predictions("m", 4).enumerate() {
            let pos = SourcePos {
                topic: "predictions".into(),
                partition: 0,
                offset: i as i64,
            };
            let out = p.process(&pos, &pred).unwrap_or_else(|e| panic!("{e}"));
            tally.observe(&out);
        }
        assert_eq!(tally.records, 600);
        let records: Vec<u64> = tally.evaluations.iter().map(|t| t.record).collect();
        // First full window at 300, then every 50 records.
        assert_eq!(records, (300..=600).step_by(50).collect::<Vec<u64>>());
        assert!(!tally.evaluations[0].rejected);
        assert!(tally.evaluations.iter().skip(2).all(|t| t.rejected));
        // Persistence 2: open from the second rejection in a row.
        assert!(!tally.evaluations[1].alert_open);
        assert!(tally.evaluations.iter().skip(3).all(|t| t.alert_open));
        assert_eq!(
            tally.openings.first().map(|o| o.feature.as_str()),
            Some("n0")
        );
        assert!(tally.openings.iter().all(|o| o.record > 300));
    }
}
