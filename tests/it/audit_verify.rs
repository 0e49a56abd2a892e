//! The analyst side of the audit trail against a real broker, in process
//! (library calls, not the binary): a sealed chain with later versions is
//! produced to an audit topic; `verify_topic` finds it intact; after the
//! broker compacted the (compacted) audit topic, it is still intact, the
//! removed versions accounted for; a tampered copy of one record (same key,
//! altered field, old hash) is caught, before and after compaction. Replay
//! filters, `--latest`, explain and the HTML report read the topics.

use crate::common::{
    create_plain_topic, create_topics, produce_raw, producer, read_raw, test_config, unique,
    BoxError, Broker, TestResult,
};
use jidoka::audit::{self, chain, AuditError, Filter, ReplayOptions};
use jidoka::config::Config;
use jidoka::schema::{
    AuditInputs, AuditOutcome, AuditRecord, AuditStatus, BanditView, Codec, DriftEvent,
    FeatureEvidence, OutcomeStatus, Superseded, TestKind,
};

const T0: i64 = 1_717_200_000_000;
const MIN: i64 = 60_000;

fn record(decision: &str, minute: i64, action: &str, by: &str) -> AuditRecord {
    AuditRecord {
        decision_id: decision.into(),
        model_id: "churn-v7".into(),
        model_version: "7".into(),
        decided_at: T0 + minute * MIN,
        inputs: AuditInputs {
            source_topic: "predictions".into(),
            source_partition: 1,
            source_offset: minute * 100,
            records_seen: minute * 100,
        },
        evidence: vec![FeatureEvidence {
            feature: "tenure_days".into(),
            test: TestKind::Ks,
            statistic: 0.2,
            p_value: 1e-7,
            drifted: true,
            drift_event_id: Some("drift-1".into()),
        }],
        action: action.into(),
        proposed_action: action.into(),
        decided_by: by.into(),
        status: if action == "none" {
            AuditStatus::Decided
        } else {
            AuditStatus::Dispatched
        },
        gate_reason: format!("{by} proposed {action}"),
        config_version: "cfg".into(),
        bandit: Some(BanditView {
            chosen: "retrain".into(),
            confidence: 0.9,
            threshold: 0.8,
            samples: 200,
            arms: vec![],
            seed: Some(0),
            against: None,
        }),
        ..AuditRecord::default()
    }
}

/// One model's chain as the processor writes it: decisions, and later
/// versions superseding them.
#[derive(Default)]
struct Chain {
    records: Vec<AuditRecord>,
}

impl Chain {
    fn push(&mut self, mut r: AuditRecord) -> AuditRecord {
        let previous = self.records.last().map(|p| p.record_hash.clone());
        chain::seal(&mut r, self.records.len() as u64 + 1, previous);
        self.records.push(r.clone());
        r
    }

    fn next(
        &mut self,
        previous: &AuditRecord,
        change: impl FnOnce(&mut AuditRecord),
    ) -> AuditRecord {
        let mut r = previous.clone();
        r.version += 1;
        r.supersedes = Some(Superseded {
            sequence: previous.sequence,
            record_hash: previous.record_hash.clone(),
        });
        change(&mut r);
        self.push(r)
    }
}

/// 9 records: dec-a dispatched then completed; dec-b escalated, approved,
/// completed; dec-c decided; dec-d dispatched then vetoed; dec-e decided.
fn sealed_chain() -> Vec<AuditRecord> {
    let mut c = Chain::default();
    let a = c.push(record("dec-a", 1, "retrain", "bandit"));
    let mut b = record("dec-b", 2, "escalate", "escalation");
    b.status = AuditStatus::AwaitingApproval;
    let b = c.push(b);
    c.next(&a, |r| {
        r.status = AuditStatus::Completed;
        r.outcome = Some(AuditOutcome {
            command_id: "cmd-a".into(),
            status: OutcomeStatus::Succeeded,
            recovery: 0.3,
            cost: 10.0,
            reward: 0.2,
            reported_at: T0 + 30 * MIN,
        });
    });
    c.push(record("dec-c", 3, "none", "rules"));
    let b2 = c.next(&b, |r| {
        r.status = AuditStatus::Dispatched;
        r.decided_by = "human".into();
        r.action = "rollback".into();
        r.operator_command_id = Some("op-1".into());
        r.gate_reason = format!(
            "{}; rollback approved by alice (operator command op-1)",
            r.gate_reason
        );
    });
    let d = c.push(record("dec-d", 4, "rollback", "rules"));
    c.next(&b2, |r| r.status = AuditStatus::Completed);
    c.next(&d, |r| r.status = AuditStatus::Vetoed);
    c.push(record("dec-e", 5, "retrain", "bandit"));
    c.records
}

/// Waits until the broker compacted `topic` down to `n` records.
async fn await_compaction(cfg: &Config, n: usize) -> TestResult {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let c = cfg.clone();
        let held =
            tokio::task::spawn_blocking(move || read_raw(&c, &c.topics.audit).map(|r| r.len()))
                .await??;
        if held == n {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("the broker did not compact the audit topic to {n} records within 90 s ({held} left)").into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Produces audit records keyed by decision id. They are placed with
/// librdkafka's CRC32 partitioner, not `kafka.partitioner`: placement is not
/// what these tests are about, and in the murmur2 layout (four of the five
/// decisions on one partition) tansu's reads of the compacted partition
/// alternate between its compacted and uncompacted contents.
async fn produce_audits(cfg: &Config, codec: &Codec, records: &[AuditRecord]) -> TestResult {
    let raw = records
        .iter()
        .map(|r| Ok((r.decision_id.clone(), Some(codec.encode(r)?))))
        .collect::<Result<Vec<_>, jidoka::schema::SchemaError>>()?;
    let mut crc32 = cfg.clone();
    crc32.kafka.partitioner = jidoka::config::Partitioner::ConsistentRandom;
    produce_raw(&producer(&crc32)?, &cfg.topics.audit, &raw).await
}

/// `verify_topic` off the async runtime (it blocks on the consumer).
async fn verify(
    cfg: &Config,
) -> Result<(Vec<audit::ChainReport>, u64), Box<dyn std::error::Error + Send + Sync>> {
    let cfg = cfg.clone();
    Ok(tokio::task::spawn_blocking(move || audit::verify_topic(&cfg)).await??)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_finds_the_chain_intact_compacted_or_not_and_catches_a_tampered_copy() -> TestResult
{
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let compacted = test_config(&broker, dir.path())?.config;
    create_topics(&compacted).await?;
    let mut plain = compacted.clone();
    plain.topics.audit = unique("audit-plain");
    create_plain_topic(&plain, &plain.topics.audit).await?;
    let codec = Codec::new(plain.schemas.ids)?;
    let chain = sealed_chain();
    let dec_c = chain
        .iter()
        .find(|r| r.decision_id == "dec-c")
        .ok_or("dec-c")?
        .clone();
    let mut forged = dec_c.clone();
    forged.action = "rollback".into();
    forged.gate_reason = "nothing to see here".into();

    // Every version on the topic: intact, nothing compacted.
    produce_audits(&plain, &codec, &chain).await?;
    let (reports, undecodable) = verify(&plain).await?;
    assert_eq!((reports.len(), undecodable), (1, 0));
    let r = &reports[0];
    assert!(r.is_intact(), "{r}");
    assert_eq!(
        (r.records, r.compacted, r.compacted_unnamed),
        (9, 0, 0),
        "{r}"
    );

    // A tampered copy: same key, an altered field, the old hash.
    produce_audits(&plain, &codec, std::slice::from_ref(&forged)).await?;
    let (reports, _) = verify(&plain).await?;
    let r = &reports[0];
    assert!(!r.is_intact(), "{r}");
    assert_eq!(r.records, 10);
    let bad: Vec<(i64, &str)> = r
        .bad_hash
        .iter()
        .map(|f| (f.sequence, f.decision_id.as_str()))
        .collect();
    assert_eq!(bad, vec![(dec_c.sequence, "dec-c")], "{r}");
    assert_eq!(r.conflicts, vec![dec_c.sequence], "{r}");
    let text = r.to_string();
    assert!(text.starts_with("churn-v7: BROKEN"), "{text}");
    assert!(
        text.contains("bad hash: sequence 4 (decision dec-c)"),
        "{text}"
    );

    // The audit topic as jidoka creates it is compacted: once the broker
    // kept only the last version of each key, the chain is still intact.
    produce_audits(&compacted, &codec, &chain).await?;
    await_compaction(&compacted, 5).await?;
    let (reports, _) = verify(&compacted).await?;
    let r = &reports[0];
    assert!(r.is_intact(), "{r}");
    // Removed: dec-a v1, dec-b v2 and dec-d v1 (named by a kept version)
    // and dec-b v1 (implied by dec-b's version 3).
    assert_eq!(
        (r.records, r.compacted, r.compacted_unnamed),
        (5, 3, 1),
        "{r}"
    );
    assert!(r.gaps.is_empty(), "{r}");

    // The forgery on the compacted topic: caught, whether compaction has
    // already dropped the original or not.
    produce_audits(&compacted, &codec, &[forged]).await?;
    let (reports, _) = verify(&compacted).await?;
    let r = &reports[0];
    assert!(!r.is_intact(), "{r}");
    assert!(r.bad_hash.iter().any(|f| f.decision_id == "dec-c"), "{r}");
    Ok(())
}

fn drift_event(id: &str, minute: i64, status: &str) -> DriftEvent {
    DriftEvent {
        event_id: id.into(),
        model_id: "churn-v7".into(),
        feature: "tenure_days".into(),
        test: TestKind::Ks,
        statistic: 0.2,
        p_value: 1e-7,
        alpha: 0.001,
        reference_size: 500,
        reference_start_time: T0,
        reference_end_time: T0,
        window_size: 250,
        window_start_record: 1,
        window_end_record: 250,
        window_start_time: T0,
        window_end_time: T0 + minute * MIN,
        event_time: T0 + minute * MIN,
        kind: "covariate".into(),
        status: status.into(),
        adjusted_p_value: Some(2e-7),
        correction: "benjamini-hochberg".into(),
        late_records: 0,
        effect_size: None,
        min_effect: None,
    }
}

fn replay_lines(cfg: &Config, opts: ReplayOptions) -> Result<Vec<String>, AuditError> {
    let mut out = Vec::new();
    audit::replay(cfg, &opts, &mut out)?;
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .map(str::to_string)
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_filters_explain_and_report_read_the_topics() -> TestResult {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let mut cfg = test_config(&broker, dir.path())?.config;
    // Every version stays: a topic the broker does not compact.
    cfg.topics.audit = unique("audit-plain");
    create_plain_topic(&cfg, &cfg.topics.audit).await?;
    create_topics(&cfg).await?;
    let codec = Codec::new(cfg.schemas.ids)?;
    produce_audits(&cfg, &codec, &sealed_chain()).await?;
    let events = [
        drift_event("drift-1", 0, "opened"),
        drift_event("drift-2", 40, "closed"),
    ];
    let raw = events
        .iter()
        .map(|e| Ok((e.model_id.clone(), Some(codec.encode(e)?))))
        .collect::<Result<Vec<_>, jidoka::schema::SchemaError>>()?;
    produce_raw(&producer(&cfg)?, &cfg.topics.drift_events, &raw).await?;

    let c = cfg.clone();
    let dir_path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || -> TestResult {
        let cfg = c;
        let all = ReplayOptions {
            from_beginning: true,
            ..ReplayOptions::default()
        };
        // Every record: a header, then 9 rows.
        let lines = replay_lines(&cfg, all.clone())?;
        assert_eq!(lines.len(), 10, "{lines:#?}");
        assert!(lines[0].starts_with("TIME "), "{}", lines[0]);
        // By default in decision-time order across the topic's 3
        // partitions (then decision id, then version); `--order offset`
        // prints the same records as read.
        let keys = |opts: ReplayOptions| -> Result<Vec<(i64, String, i64)>, BoxError> {
            replay_lines(&cfg, opts)?
                .iter()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l)?;
                    Ok((
                        v["decided_at"].as_i64().ok_or("no decided_at")?,
                        v["decision_id"]
                            .as_str()
                            .ok_or("no decision_id")?
                            .to_string(),
                        v["version"].as_i64().ok_or("no version")?,
                    ))
                })
                .collect()
        };
        let json = ReplayOptions {
            json: true,
            ..all.clone()
        };
        let by_time = keys(json.clone())?;
        let mut sorted = by_time.clone();
        sorted.sort();
        assert_eq!(by_time, sorted);
        assert_eq!(by_time.len(), 9);
        let mut as_read = keys(ReplayOptions {
            order: audit::ReplayOrder::Offset,
            ..json
        })?;
        as_read.sort();
        assert_eq!(as_read, sorted);
        // Filters: decided by a human (dec-b v2 and v3).
        let human = ReplayOptions {
            filter: Filter {
                decided_by: Some("human".into()),
                ..Filter::default()
            },
            ..all.clone()
        };
        let lines = replay_lines(&cfg, human)?;
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[1..]
            .iter()
            .all(|l| l.contains("dec-b") && l.contains(" human ")));
        // Latest versions only, in a time window, as JSON lines.
        let latest = ReplayOptions {
            latest: true,
            json: true,
            filter: Filter {
                from: Some(T0 + 2 * MIN),
                to: Some(T0 + 4 * MIN),
                ..Filter::default()
            },
            ..ReplayOptions::default()
        };
        let lines = replay_lines(&cfg, latest)?;
        let got: Vec<(String, i64, String)> = lines
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l)?;
                Ok((
                    v["decision_id"].as_str().unwrap_or("").to_string(),
                    v["version"].as_i64().unwrap_or(0),
                    v["status"].as_str().unwrap_or("").to_string(),
                ))
            })
            .collect::<Result<_, serde_json::Error>>()?;
        assert_eq!(
            got,
            vec![
                ("dec-b".into(), 3, "completed".into()),
                ("dec-c".into(), 1, "decided".into()),
                ("dec-d".into(), 2, "vetoed".into()),
            ]
        );
        // --latest cannot follow, nor print as read.
        for bad in [
            ReplayOptions {
                latest: true,
                follow: true,
                ..ReplayOptions::default()
            },
            ReplayOptions {
                latest: true,
                order: audit::ReplayOrder::Offset,
                ..ReplayOptions::default()
            },
        ] {
            assert!(matches!(
                audit::replay(&cfg, &bad, &mut Vec::new()),
                Err(AuditError::Usage(_))
            ));
        }

        // Explain: every version of dec-b, with its linked drift event.
        let versions = audit::decision_versions(&cfg, "dec-b")?;
        assert_eq!(
            versions.iter().map(|r| r.version).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let events = audit::drift_events(&cfg, &["drift-1".to_string()])?;
        let text = audit::explain_with_events(&versions, &events);
        for expected in [
            "Decision dec-b about model churn-v7",
            "3 versions on the audit topic",
            "drift event drift-1: covariate alert opened at 2024-06-01T00:00:00.000Z",
            "v2: approved by a human (operator command op-1): rollback dispatched",
            "v3: completed",
        ] {
            assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
        }
        // A unique prefix is enough; an ambiguous one or an unknown id is
        // an error that says so.
        assert_eq!(audit::decision_versions(&cfg, "dec-e")?.len(), 1);
        let err = audit::decision_versions(&cfg, "dec-");
        assert!(matches!(err, Err(AuditError::Ambiguous { .. })), "{err:?}");
        let err = audit::decision_versions(&cfg, "dec-zzz")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("decision `dec-zzz` not found on audit topic `audit-plain-")
                && err.ends_with("(9 records read)"),
            "{err}"
        );

        // The report of both topics.
        let out = dir_path.join("report.html");
        let data = jidoka::report::write_report(
            &cfg,
            &out,
            &jidoka::report::Selection::all(),
            T0 + 60 * MIN,
        )?;
        assert_eq!((data.drift_events, data.audit_records), (2, 9));
        assert_eq!(data.models.len(), 1);
        assert_eq!(data.models[0].decisions.len(), 5);
        assert_eq!(data.models[0].outcomes.len(), 1);
        let html = std::fs::read_to_string(&out)?;
        assert!(html.contains("<h2>Model churn-v7</h2>"));
        assert_eq!(html.matches("<svg").count(), 6);
        assert!(!html.contains("http://") && !html.contains("https://"));
        Ok(())
    })
    .await
    .map_err(|e| format!("join: {e}"))??;
    Ok(())
}
