//! Client configurations. jidoka's own settings come first; the raw
//! librdkafka options of `[kafka.options]` are applied last, so a user can
//! override anything (security, timeouts, tuning). Option values are
//! [`Secret`](crate::config::Secret)s, resolved (`env:`, `file:`) when the
//! config was loaded; they are exposed only here, into the `ClientConfig`
//! (whose own `Debug` hides librdkafka's password properties).

use rdkafka::ClientConfig;

use crate::config::Config;

fn base(cfg: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.kafka.bootstrap_servers)
        .set("client.id", &cfg.kafka.client_id);
    c
}

fn with_options(mut c: ClientConfig, cfg: &Config) -> ClientConfig {
    for (k, v) in &cfg.kafka.options {
        c.set(k, v.expose());
    }
    c
}

/// Producers place keyed records with `kafka.partitioner`, so a model's
/// records of every topic keyed by model id share a partition number.
fn partitioned(mut c: ClientConfig, cfg: &Config) -> ClientConfig {
    c.set("partitioner", cfg.kafka.partitioner.as_str());
    c
}

/// The processor's group consumer: manual offset commits after outputs are
/// acknowledged and state is checkpointed; a partition without a committed
/// offset starts at `kafka.auto-offset-reset` (default `earliest`, so no
/// prediction is skipped); never creates a topic it subscribes to;
/// statistics (consumer lag) every `telemetry.statistics-interval`.
pub fn consumer_config(cfg: &Config) -> ClientConfig {
    let mut c = base(cfg);
    c.set("group.id", &cfg.kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", cfg.kafka.auto_offset_reset.as_str())
        .set("allow.auto.create.topics", "false")
        .set("enable.partition.eof", "false")
        .set(
            "statistics.interval.ms",
            cfg.telemetry.statistics_interval.as_millis().to_string(),
        );
    with_options(c, cfg)
}

/// The executor bridge's consumer of the actions topic: its own group
/// (`executor.group-id`), committed data only (`read_committed`: actions
/// are written in transactions), offsets stored by the bridge once a
/// command's delivery result is durable and committed in the background
/// every second (only stored offsets are committed); a new group starts at
/// the earliest offset (`executor.max-age` keeps old commands from being
/// sent); fetches wait at most 100 ms for new records (a broker that does
/// not answer a fetch as soon as records arrive delays each command by up
/// to this).
pub fn executor_consumer_config(cfg: &Config) -> ClientConfig {
    let mut c = base(cfg);
    c.set("group.id", &cfg.executor.group_id)
        .set("client.id", format!("{}-executor", cfg.kafka.client_id))
        .set("isolation.level", "read_committed")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("allow.auto.create.topics", "false")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", "100");
    with_options(c, cfg)
}

/// A group-less reader for CLI tools (audit replay), reading committed data.
pub fn reader_config(cfg: &Config) -> ClientConfig {
    let mut c = base(cfg);
    c.set("group.id", format!("{}-reader", cfg.kafka.group_id))
        .set("enable.auto.commit", "false")
        .set("allow.auto.create.topics", "false")
        .set("enable.partition.eof", "false");
    with_options(c, cfg)
}

/// The output producer: idempotent, every write acknowledged by all in-sync
/// replicas, bounded by `kafka.produce-timeout`, keyed records placed by
/// `kafka.partitioner` (the repartition topics' records among them), never
/// creating a topic on the fly; transactional with this instance's transactional id when
/// `kafka.transactions` is on.
pub fn producer_config(cfg: &Config) -> ClientConfig {
    let mut c = partitioned(base(cfg), cfg);
    if cfg.kafka.transactions {
        c.set("transactional.id", cfg.transactional_id());
    }
    c.set("acks", "all")
        .set("enable.idempotence", "true")
        .set("allow.auto.create.topics", "false")
        .set("linger.ms", "5")
        .set(
            "message.timeout.ms",
            cfg.kafka.produce_timeout.as_millis().to_string(),
        );
    with_options(c, cfg)
}

/// The producer of `jidoka operator`: idempotent, acknowledged by all
/// in-sync replicas, never transactional (the processor's transactional id
/// would fence the running instance), and never auto-creating the operator
/// topic (a broker-default topic would break the partition layout).
pub fn operator_producer_config(cfg: &Config) -> ClientConfig {
    tool_producer_config(cfg, "operator")
}

/// The producer of a one-shot command (`jidoka operator`, `jidoka outcome
/// report`), client id `<kafka.client-id>-<tool>`: idempotent, acknowledged
/// by all in-sync replicas, keyed records placed by `kafka.partitioner`,
/// never transactional and never auto-creating a topic (see
/// [`operator_producer_config`]).
pub fn tool_producer_config(cfg: &Config, tool: &str) -> ClientConfig {
    let mut c = partitioned(base(cfg), cfg);
    c.set("client.id", format!("{}-{tool}", cfg.kafka.client_id))
        .set("allow.auto.create.topics", "false")
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set(
            "message.timeout.ms",
            cfg.kafka.produce_timeout.as_millis().to_string(),
        );
    with_options(c, cfg)
}

/// The admin client.
pub fn admin_config(cfg: &Config) -> ClientConfig {
    with_options(base(cfg), cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn with(options: &[(&str, &str)]) -> Result<Config, crate::config::ConfigError> {
        let mut cfg = Config::defaults()?;
        for (k, v) in options {
            cfg.kafka.options.insert(k.to_string(), Secret::new(*v));
        }
        Ok(cfg)
    }

    /// The README's "Secured cluster" settings are accepted by this build's
    /// librdkafka (it needs OpenSSL for SASL_SSL, SCRAM and mTLS).
    #[test]
    fn secured_cluster_options_are_supported() -> Result<(), Box<dyn std::error::Error>> {
        let scram = with(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "jidoka"),
            ("sasl.password", "pa55word"),
            ("ssl.ca.location", "/etc/ssl/certs/ca.pem"),
        ])?;
        let mtls = with(&[
            ("security.protocol", "SSL"),
            ("ssl.ca.location", "/etc/ssl/certs/ca.pem"),
            ("ssl.certificate.location", "/etc/jidoka/client.pem"),
            ("ssl.key.location", "/etc/jidoka/client.key"),
            ("ssl.key.password", "key-pa55"),
        ])?;
        for cfg in [&scram, &mtls] {
            for client in [
                consumer_config(cfg),
                producer_config(cfg),
                reader_config(cfg),
                admin_config(cfg),
                operator_producer_config(cfg),
                executor_consumer_config(cfg),
            ] {
                client.create_native_config()?;
                assert!(!format!("{client:?}").contains("pa55"), "{client:?}");
            }
        }
        assert_eq!(
            producer_config(&scram).get("sasl.password"),
            Some("pa55word")
        );
        Ok(())
    }

    #[test]
    fn operator_producer_is_never_transactional() -> Result<(), Box<dyn std::error::Error>> {
        let mut cfg = Config::defaults()?;
        cfg.kafka.transactions = true;
        assert!(producer_config(&cfg).get("transactional.id").is_some());
        let c = operator_producer_config(&cfg);
        assert_eq!(c.get("transactional.id"), None);
        assert_eq!(c.get("acks"), Some("all"));
        assert_eq!(c.get("allow.auto.create.topics"), Some("false"));
        Ok(())
    }

    #[test]
    fn keyed_records_are_placed_alike_and_no_client_creates_topics(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let cfg = Config::defaults()?;
        for producer in [
            producer_config(&cfg),
            operator_producer_config(&cfg),
            tool_producer_config(&cfg, "outcome"),
        ] {
            assert_eq!(producer.get("partitioner"), Some("murmur2_random"));
        }
        for consumer in [
            producer_config(&cfg),
            consumer_config(&cfg),
            executor_consumer_config(&cfg),
            reader_config(&cfg),
        ] {
            assert_eq!(consumer.get("allow.auto.create.topics"), Some("false"));
        }
        assert_eq!(
            consumer_config(&cfg).get("auto.offset.reset"),
            Some("earliest")
        );
        let latest = Config::defaults_with(&[
            "kafka.auto-offset-reset = \"latest\"\nkafka.partitioner = \"consistent-random\"",
        ])?;
        assert_eq!(
            consumer_config(&latest).get("auto.offset.reset"),
            Some("latest")
        );
        assert_eq!(
            producer_config(&latest).get("partitioner"),
            Some("consistent_random")
        );
        Ok(())
    }
}
