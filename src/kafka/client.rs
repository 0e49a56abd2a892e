//! Client configurations. jidoka's own settings come first; the raw
//! librdkafka options of `[kafka.options]` are applied last, so a user can
//! override anything (security, timeouts, tuning).

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
        c.set(k, v);
    }
    c
}

/// The processor's group consumer: manual offset commits after outputs are
/// acknowledged and state is checkpointed; new groups start at the earliest
/// offset so no prediction is skipped; statistics (consumer lag) every
/// `telemetry.statistics-interval`.
pub fn consumer_config(cfg: &Config) -> ClientConfig {
    let mut c = base(cfg);
    c.set("group.id", &cfg.kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set(
            "statistics.interval.ms",
            cfg.telemetry.statistics_interval.as_millis().to_string(),
        );
    with_options(c, cfg)
}

/// A group-less reader for CLI tools (audit replay), reading committed data.
pub fn reader_config(cfg: &Config) -> ClientConfig {
    let mut c = base(cfg);
    c.set("group.id", format!("{}-reader", cfg.kafka.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    with_options(c, cfg)
}

/// The output producer: idempotent, every write acknowledged by all in-sync
/// replicas, bounded by `kafka.produce-timeout`; transactional with this
/// instance's transactional id when `kafka.transactions` is on.
pub fn producer_config(cfg: &Config) -> ClientConfig {
    let mut c = base(cfg);
    if cfg.kafka.transactions {
        c.set("transactional.id", cfg.transactional_id());
    }
    c.set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
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
