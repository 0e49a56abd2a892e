//! The measured cases and the configuration each one's `jidoka run` child
//! gets.
//!
//! Guarantees: every case of one run has its own consumer group (hence its
//! own changelog topics and transactional id), its own output and
//! secondary input topics and its own state directory; only the
//! predictions topic is shared. The generated TOML is valid for
//! [`Config::load`](crate::config::Config::load) (checked by a test).

use std::path::Path;

/// One end-to-end configuration of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Changelog on, at-least-once.
    Changelog,
    /// Changelog off, at-least-once.
    NoChangelog,
    /// Changelog on, outputs and offsets in Kafka transactions.
    Transactions,
}

impl Case {
    /// Every case, in the order they run.
    pub const ALL: [Case; 3] = [Case::Changelog, Case::NoChangelog, Case::Transactions];

    /// The name used by `--cases` and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Case::Changelog => "changelog",
            Case::NoChangelog => "no-changelog",
            Case::Transactions => "transactions",
        }
    }

    /// Whether the changelog is on.
    pub fn changelog(self) -> bool {
        self != Case::NoChangelog
    }

    /// Whether Kafka transactions are on.
    pub fn transactions(self) -> bool {
        self == Case::Transactions
    }

    /// The case named `name` (as `--cases` takes it).
    pub fn parse(name: &str) -> Result<Case, String> {
        let name = name.trim();
        Case::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                format!("unknown case `{name}` (expected changelog, no-changelog, transactions)")
            })
    }

    /// The wanted cases once each, in [`Case::ALL`] order.
    pub fn in_run_order(wanted: &[Case]) -> Vec<Case> {
        Case::ALL
            .into_iter()
            .filter(|c| wanted.contains(c))
            .collect()
    }
}

/// What a case's configuration is made of.
#[derive(Debug, Clone)]
pub struct CaseSettings<'a> {
    /// The case.
    pub case: Case,
    /// Unique prefix of this run's names.
    pub run_id: &'a str,
    /// Broker.
    pub bootstrap: &'a str,
    /// The shared predictions topic.
    pub predictions: &'a str,
    /// Partitions of every topic.
    pub partitions: i32,
    /// `detect.window-size`.
    pub window: usize,
    /// The case's state directory.
    pub data_dir: &'a Path,
    /// `telemetry.http-address` of the child.
    pub http_address: &'a str,
}

impl CaseSettings<'_> {
    /// The case's consumer group (and prefix of its changelog topics).
    pub fn group_id(&self) -> String {
        format!("{}-{}", self.run_id, self.case.name())
    }

    /// The configuration file of the case's `jidoka run`.
    pub fn to_toml(&self) -> String {
        use toml::{Table, Value};
        let group = self.group_id();
        let mut kafka = Table::new();
        kafka.insert("bootstrap-servers".into(), self.bootstrap.into());
        kafka.insert("group-id".into(), group.clone().into());
        kafka.insert("client-id".into(), "jidoka-bench".into());
        kafka.insert("transactions".into(), self.case.transactions().into());
        let mut topics = Table::new();
        topics.insert("predictions".into(), self.predictions.into());
        for key in [
            "labels",
            "drift-events",
            "actions",
            "outcomes",
            "operator",
            "audit",
            "dead-letter",
            "evaluations",
        ] {
            topics.insert(key.into(), format!("{group}-{key}").into());
        }
        topics.insert("partitions".into(), i64::from(self.partitions).into());
        let mut state = Table::new();
        state.insert(
            "data-dir".into(),
            self.data_dir.to_string_lossy().into_owned().into(),
        );
        state.insert("changelog".into(), self.case.changelog().into());
        let mut detect = Table::new();
        detect.insert(
            "window-size".into(),
            i64::try_from(self.window).unwrap_or(i64::MAX).into(),
        );
        let mut telemetry = Table::new();
        telemetry.insert("log-filter".into(), "warn".into());
        telemetry.insert("http-address".into(), self.http_address.into());
        let mut root = Table::new();
        for (name, table) in [
            ("kafka", kafka),
            ("topics", topics),
            ("state", state),
            ("detect", detect),
            ("telemetry", telemetry),
        ] {
            root.insert(name.into(), Value::Table(table));
        }
        root.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn case_lists_parse_in_a_fixed_order() {
        assert_eq!(Case::parse(" transactions"), Ok(Case::Transactions));
        assert!(Case::parse("exactly-once").is_err());
        assert_eq!(
            Case::in_run_order(&[Case::Transactions, Case::Changelog, Case::Transactions]),
            vec![Case::Changelog, Case::Transactions]
        );
    }

    #[test]
    fn the_generated_config_loads_with_unique_names() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let settings = CaseSettings {
            case: Case::Transactions,
            run_id: "bench-1",
            bootstrap: "127.0.0.1:9999",
            predictions: "bench-1-predictions",
            partitions: 8,
            window: 100,
            data_dir: &dir.path().join("state \"x\""),
            http_address: "127.0.0.1:9464",
        };
        let path = dir.path().join("case.toml");
        std::fs::write(&path, settings.to_toml())?;
        let cfg = Config::load(Some(&path))?.config;
        assert_eq!(cfg.kafka.bootstrap_servers, "127.0.0.1:9999");
        assert_eq!(cfg.kafka.group_id, "bench-1-transactions");
        assert!(cfg.kafka.transactions && cfg.state.changelog);
        assert_eq!(cfg.topics.predictions, "bench-1-predictions");
        assert_eq!(cfg.topics.audit, "bench-1-transactions-audit");
        assert_eq!((cfg.topics.partitions, cfg.detect.window_size), (8, 100));
        assert_eq!(cfg.state.data_dir, dir.path().join("state \"x\""));
        assert_eq!(cfg.telemetry.http_address(), Some("127.0.0.1:9464"));
        assert_eq!(
            cfg.changelog_topic("windows"),
            "bench-1-transactions-windows-changelog"
        );
        Ok(())
    }
}
