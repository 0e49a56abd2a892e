//! Shared helpers for the integration tests: a real Kafka-protocol broker
//! process per test (tansu with SQLite storage, or librdkafka's mock
//! cluster in the `jidoka-test-broker` process where tansu falls short),
//! unique topic and group names, a pipeline handle, and topic readers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod registry;

use jidoka::config::{Config, LoadedConfig};
use jidoka::pipeline::{self, PipelineError};
use jidoka::pipeline::{Output, Processor, SourcePos};
use jidoka::schema::{AuditRecord, AvroRecord, Codec, HealCommand, Prediction};
use jidoka::state::Store;
use jidoka::telemetry::Metrics;
use rand::Rng;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::sync::watch;

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A keyed raw record (value `None` is a tombstone).
pub type RawRecord = (String, Option<Vec<u8>>);

/// The tansu binary: `$JIDOKA_TANSU`, else `$HOME/.cache/jidoka/tansu/bin/tansu`
/// (installed by `tests/run.sh`).
pub fn tansu_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("JIDOKA_TANSU") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".cache/jidoka/tansu/bin/tansu")
}

/// A tansu broker process with SQLite storage in a temp dir; killed on drop.
pub struct Broker {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

fn free_port() -> Result<u16, BoxError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Broker {
    /// Starts a broker on a free loopback port and waits until it accepts connections.
    pub fn start() -> Result<Broker, BoxError> {
        let bin = tansu_bin();
        if !bin.exists() {
            return Err(format!(
                "tansu broker not found at {} (run tests/run.sh, which installs it, or set JIDOKA_TANSU)",
                bin.display()
            )
            .into());
        }
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let mut broker = Broker {
            child: spawn(&bin, &dir, port)?,
            port,
            dir,
        };
        broker.wait_ready()?;
        Ok(broker)
    }

    fn wait_ready(&mut self) -> Result<(), BoxError> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("tansu exited early: {status}").into());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("tansu did not start listening within 20 s".into())
    }

    /// `host:port` of the broker.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the broker process (data stays in its SQLite file).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the broker again on the same port and storage.
    pub fn restart(&mut self) -> Result<(), BoxError> {
        self.stop();
        self.child = spawn(&tansu_bin(), &self.dir, self.port)?;
        self.wait_ready()
    }
}

fn spawn(bin: &PathBuf, dir: &tempfile::TempDir, port: u16) -> Result<Child, BoxError> {
    let url = format!("tcp://127.0.0.1:{port}");
    Ok(Command::new(bin)
        .current_dir(dir.path())
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
            "--storage-engine",
            "sqlite://tansu.db?maintenance_interval=5s",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Anything tests can point a config at.
pub trait Bootstrap {
    /// `host:port` of the broker.
    fn bootstrap(&self) -> String;
}

impl Bootstrap for Broker {
    fn bootstrap(&self) -> String {
        Broker::bootstrap(self)
    }
}

/// librdkafka's mock cluster in its own process (`jidoka-test-broker`,
/// driven over stdin); killed on drop. It speaks the Kafka protocol over
/// TCP, evicts a group member that stops heartbeating after its session
/// timeout, and can go down and come back with its data; it is not a full
/// broker: no CreateTopics (use [`MockBroker::create_topics`]), no
/// DescribeConfigs, no compaction, memory only.
pub struct MockBroker {
    child: Child,
    bootstrap: String,
    control: Mutex<Control>,
}

struct Control {
    stdin: ChildStdin,
    replies: Receiver<String>,
}

/// Longest wait for the mock broker to answer a command.
const MOCK_REPLY: Duration = Duration::from_secs(20);

impl MockBroker {
    /// Starts the broker and waits for its bootstrap address.
    pub fn start() -> Result<MockBroker, BoxError> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_jidoka-test-broker"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err("jidoka-test-broker: no stdin/stdout pipe".into());
        };
        // Lines are read on a thread, so a silent broker is a timeout, not a hang.
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut broker = MockBroker {
            child,
            bootstrap: String::new(),
            control: Mutex::new(Control { stdin, replies }),
        };
        let first = broker.reply()?;
        broker.bootstrap = first
            .strip_prefix("bootstrap ")
            .ok_or_else(|| format!("jidoka-test-broker said {first:?}, not its bootstrap"))?
            .to_string();
        Ok(broker)
    }

    fn reply(&self) -> Result<String, BoxError> {
        let control = self
            .control
            .lock()
            .map_err(|_| "mock broker lock poisoned")?;
        Self::next_line(&control)
    }

    fn next_line(control: &Control) -> Result<String, BoxError> {
        match control.replies.recv_timeout(MOCK_REPLY) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => {
                Err(format!("jidoka-test-broker silent for {MOCK_REPLY:?}").into())
            }
            Err(RecvTimeoutError::Disconnected) => Err("jidoka-test-broker exited".into()),
        }
    }

    /// Sends one command and waits for its `ok`.
    pub fn command(&self, command: &str) -> TestResult {
        let mut control = self
            .control
            .lock()
            .map_err(|_| "mock broker lock poisoned")?;
        writeln!(control.stdin, "{command}")?;
        control.stdin.flush()?;
        match Self::next_line(&control)?.as_str() {
            "ok" => Ok(()),
            other => Err(format!("jidoka-test-broker: {command:?}: {other}").into()),
        }
    }

    /// `host:port` of the broker.
    pub fn bootstrap(&self) -> String {
        self.bootstrap.clone()
    }

    /// Creates every topic of the config (names and partitions of
    /// `jidoka::kafka::topic_specs`; the mock ignores topic configs).
    pub fn create_topics(&self, cfg: &Config) -> TestResult {
        for spec in jidoka::kafka::topic_specs(cfg) {
            self.command(&format!("topic {} {}", spec.name, spec.partitions))?;
        }
        Ok(())
    }

    /// The broker closes every connection and refuses new ones; data is kept.
    pub fn down(&self) -> TestResult {
        self.command("down")
    }

    /// The broker accepts connections again.
    pub fn up(&self) -> TestResult {
        self.command("up")
    }

    /// Every request is answered `rtt` late (a slow network or broker).
    pub fn round_trip_time(&self, rtt: Duration) -> TestResult {
        self.command(&format!("rtt {}", rtt.as_millis()))
    }

    /// The initial rebalance delay of new groups.
    pub fn rebalance_delay(&self, delay: Duration) -> TestResult {
        self.command(&format!("rebalance-delay {}", delay.as_millis()))
    }
}

impl Bootstrap for MockBroker {
    fn bootstrap(&self) -> String {
        MockBroker::bootstrap(self)
    }
}

impl Drop for MockBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    let n: u64 = rand::thread_rng().gen();
    format!("{prefix}-{n:016x}")
}

/// A configuration with unique topics and group on `broker`, state in `data_dir`,
/// and small windows so tests run fast.
pub fn test_config(
    broker: &impl Bootstrap,
    data_dir: &std::path::Path,
) -> Result<LoadedConfig, BoxError> {
    let mut c = Config::defaults()?;
    c.kafka.bootstrap_servers = broker.bootstrap();
    c.kafka.group_id = unique("group");
    c.kafka.produce_timeout = Duration::from_secs(10);
    let t = &mut c.topics;
    t.predictions = unique("predictions");
    t.labels = unique("labels");
    t.drift_events = unique("drift-events");
    t.actions = unique("actions");
    t.outcomes = unique("outcomes");
    t.operator = unique("operator");
    t.audit = unique("audit");
    t.dead_letter = unique("dead-letter");
    t.evaluations = unique("evaluations");
    t.partitions = 3;
    c.state.data_dir = data_dir.to_path_buf();
    c.state.sync_writes = false;
    c.detect.reference_size = 500;
    c.detect.window_size = 250;
    c.detect.evaluate_every = 125;
    with_version(c)
}

/// Wraps a config with its version.
pub fn with_version(config: Config) -> Result<LoadedConfig, BoxError> {
    let figment = figment::Figment::from(figment::providers::Serialized::defaults(&config));
    Ok(Config::from_figment(&figment)?)
}

/// Creates every topic of the config.
pub async fn create_topics(cfg: &Config) -> TestResult {
    jidoka::kafka::create_topics(cfg, Duration::from_secs(20)).await?;
    Ok(())
}

/// Creates `topic` (3 partitions) with the broker's default (delete)
/// cleanup policy, so every version of a key stays on it: for tests that
/// compare reads of a topic jidoka creates compacted (audit) and must not
/// race the broker's compaction.
pub async fn create_plain_topic(cfg: &Config, topic: &str) -> TestResult {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &cfg.kafka.bootstrap_servers)
        .create()?;
    let topic = NewTopic::new(topic, 3, TopicReplication::Fixed(1));
    for r in admin.create_topics([&topic], &AdminOptions::new()).await? {
        r.map_err(|(t, e)| format!("creating {t}: {e}"))?;
    }
    Ok(())
}

/// A pipeline running in this process.
pub struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), PipelineError>>,
    /// Its counters.
    pub metrics: Arc<Metrics>,
}

/// Starts the pipeline.
pub fn start_pipeline(loaded: &LoadedConfig) -> Running {
    let (stop, rx) = watch::channel(false);
    let metrics = Arc::new(Metrics::default());
    let loaded = loaded.clone();
    let m = metrics.clone();
    let task = tokio::spawn(async move { pipeline::run(&loaded, m, rx).await });
    Running {
        stop,
        task,
        metrics,
    }
}

impl Running {
    /// Records processed plus dead-lettered.
    pub fn done(&self) -> u64 {
        Metrics::get(&self.metrics.records_processed_total)
            + Metrics::get(&self.metrics.records_dead_lettered_total)
    }

    /// Waits until `n` records are processed or dead-lettered. Fails when
    /// the count has not moved for `stall` (a bound on progress, not on
    /// the whole run: more records or a slower machine take longer).
    pub async fn wait_done(&self, n: u64, stall: Duration) -> TestResult {
        let (mut last, mut moved) = (self.done(), Instant::now());
        while self.done() < n {
            if self.task.is_finished() {
                return Err("pipeline stopped early".into());
            }
            let done = self.done();
            if done != last {
                (last, moved) = (done, Instant::now());
            } else if moved.elapsed() > stall {
                return Err(format!("only {done} of {n} records done; none for {stall:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Whether the pipeline task ended (it should run until stopped).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Signals shutdown and waits (bounded) for the pipeline to end.
    pub async fn stop(self) -> Result<Arc<Metrics>, BoxError> {
        let _ = self.stop.send(true);
        match tokio::time::timeout(Duration::from_secs(30), self.task).await {
            Ok(joined) => joined??,
            Err(_) => return Err("pipeline did not stop within 30 s".into()),
        }
        Ok(self.metrics)
    }
}

/// Everything a pipeline test needs: a broker process (tansu unless said
/// otherwise), a config with unique topics and group (state in a temp dir),
/// the topics created, and a codec.
pub struct TestEnv<B = Broker> {
    /// The broker (killed on drop).
    pub broker: B,
    /// The state directory.
    pub dir: tempfile::TempDir,
    /// The config and its version.
    pub loaded: LoadedConfig,
    /// The codec of the config's schema ids.
    pub codec: Codec,
}

impl TestEnv {
    /// Starts a broker and creates the topics.
    pub async fn start() -> Result<TestEnv, BoxError> {
        let broker = Broker::start()?;
        let dir = tempfile::tempdir()?;
        let loaded = test_config(&broker, dir.path())?;
        create_topics(&loaded.config).await?;
        let codec = Codec::new(loaded.config.schemas.ids)?;
        Ok(TestEnv {
            broker,
            dir,
            loaded,
            codec,
        })
    }
}

impl TestEnv<MockBroker> {
    /// Starts a mock broker process and creates the topics on it. Clients
    /// retry a lost connection at least every second
    /// (`reconnect.backoff.max.ms`), so an outage ends for them soon after
    /// the broker is back. (The option is a secret, which serializes
    /// redacted: change other fields in place rather than through
    /// [`with_version`].)
    pub async fn start_mock() -> Result<TestEnv<MockBroker>, BoxError> {
        let broker = MockBroker::start()?;
        let dir = tempfile::tempdir()?;
        let mut loaded = test_config(&broker, dir.path())?;
        loaded.config.kafka.options.insert(
            "reconnect.backoff.max.ms".into(),
            jidoka::config::Secret::new("1000"),
        );
        broker.create_topics(&loaded.config)?;
        let codec = Codec::new(loaded.config.schemas.ids)?;
        Ok(TestEnv {
            broker,
            dir,
            loaded,
            codec,
        })
    }
}

impl<B> TestEnv<B> {
    /// The config.
    pub fn cfg(&self) -> &Config {
        &self.loaded.config
    }

    /// Starts the pipeline, produces `records` to the predictions topic,
    /// waits until as many records are processed or dead-lettered, and stops it.
    pub async fn run(&self, records: &[RawRecord]) -> Result<Arc<Metrics>, BoxError> {
        let running = start_pipeline(&self.loaded);
        produce_raw(
            &producer(self.cfg())?,
            &self.cfg().topics.predictions,
            records,
        )
        .await?;
        running
            .wait_done(records.len() as u64, Duration::from_secs(120))
            .await?;
        running.stop().await
    }
}

/// Writes `configs/jidoka.toml` under `cwd` (where [`jidoka_command`]
/// finds it) with a short consumer session: a SIGKILLed member holds its
/// partitions until its session times out, so a restarted or surviving
/// process gets them back within seconds.
pub fn write_short_session_config(cwd: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(cwd.join("configs"))?;
    std::fs::write(
        cwd.join("configs/jidoka.toml"),
        "[kafka.options]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"1000\"\n",
    )
}

/// The `jidoka` binary with `cfg`'s connection, group, topics and state
/// directory passed as `JIDOKA__…` environment variables, run in `cwd`.
pub fn jidoka_command(cfg: &Config, cwd: &std::path::Path) -> Command {
    let t = &cfg.topics;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jidoka"));
    cmd.current_dir(cwd)
        .env(
            "JIDOKA__KAFKA__BOOTSTRAP_SERVERS",
            &cfg.kafka.bootstrap_servers,
        )
        .env("JIDOKA__KAFKA__GROUP_ID", &cfg.kafka.group_id)
        .env("JIDOKA__TOPICS__PREDICTIONS", &t.predictions)
        .env("JIDOKA__TOPICS__LABELS", &t.labels)
        .env("JIDOKA__TOPICS__DRIFT_EVENTS", &t.drift_events)
        .env("JIDOKA__TOPICS__ACTIONS", &t.actions)
        .env("JIDOKA__TOPICS__OUTCOMES", &t.outcomes)
        .env("JIDOKA__TOPICS__OPERATOR", &t.operator)
        .env("JIDOKA__TOPICS__AUDIT", &t.audit)
        .env("JIDOKA__TOPICS__DEAD_LETTER", &t.dead_letter)
        .env("JIDOKA__TOPICS__EVALUATIONS", &t.evaluations)
        .env("JIDOKA__STATE__DATA_DIR", &cfg.state.data_dir)
        .env(
            "JIDOKA__DETECT__REFERENCE_SIZE",
            cfg.detect.reference_size.to_string(),
        )
        .env(
            "JIDOKA__DETECT__WINDOW_SIZE",
            cfg.detect.window_size.to_string(),
        )
        .env(
            "JIDOKA__DETECT__EVALUATE_EVERY",
            cfg.detect.evaluate_every.to_string(),
        )
        .env("RUST_LOG", "warn");
    cmd
}

/// A producer for test input, placing keyed records as the platform's
/// producers must (`kafka.partitioner`, murmur2 like Java's clients).
pub fn producer(cfg: &Config) -> Result<FutureProducer, BoxError> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", &cfg.kafka.bootstrap_servers)
        .set("partitioner", cfg.kafka.partitioner.as_str())
        .set("linger.ms", "5")
        .create()?)
}

/// Produces raw values (None = tombstone) with keys, waiting for every ack.
pub async fn produce_raw(
    producer: &FutureProducer,
    topic: &str,
    records: &[RawRecord],
) -> TestResult {
    for chunk in records.chunks(1000) {
        let sends = chunk.iter().map(|(key, value)| {
            let mut r = FutureRecord::to(topic).key(key.as_bytes());
            if let Some(v) = value {
                r = r.payload(v);
            }
            producer.send(r, Timeout::After(Duration::from_secs(30)))
        });
        for res in futures::future::join_all(sends).await {
            res.map_err(|(e, _)| e)?;
        }
    }
    Ok(())
}

/// Encodes predictions and keys them by model id.
pub fn encode_predictions(codec: &Codec, preds: &[Prediction]) -> Result<Vec<RawRecord>, BoxError> {
    preds
        .iter()
        .map(|p| Ok((p.model_id.clone(), Some(codec.encode(p)?))))
        .collect()
}

/// One record read back from a topic.
#[derive(Debug, Clone)]
pub struct Read<T> {
    /// Key as text.
    pub key: Option<String>,
    /// Decoded value.
    pub value: T,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// How long a topic reader waits for its next record or end of partition
/// before it gives up. A bound on progress, not on the whole read: a big
/// topic on a slow machine takes longer instead of failing.
pub const READ_STALL: Duration = Duration::from_secs(30);

/// Reads every record currently on `topic` (all partitions, from the start
/// to the high watermark sampled when the read starts), undecoded.
///
/// A partition is done when its end-of-partition event arrives, or when the
/// record at `high - 1` arrives or the consumer's position reaches `high`
/// (an offset below the watermark may hold no record, e.g. a control
/// record). Fails only after [`READ_STALL`] without a record or an end,
/// naming the partitions left and how far each got.
pub fn read_raw(cfg: &Config, topic: &str) -> Result<Vec<Read<Option<Vec<u8>>>>, BoxError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &cfg.kafka.bootstrap_servers)
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        // tansu fills each fetch response up to this (at most 5 MiB), across
        // partitions; a smaller response arrives sooner on a loaded machine,
        // so progress shows well within READ_STALL.
        .set("fetch.max.bytes", "1048576")
        .create()?;
    let timeout = Duration::from_secs(10);
    let md = consumer.fetch_metadata(Some(topic), timeout)?;
    let mut tpl = TopicPartitionList::new();
    // Partition → (high watermark at the start, next offset to read).
    let mut left: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    for t in md.topics().iter().filter(|t| t.name() == topic) {
        for p in t.partitions() {
            let (low, high) = consumer.fetch_watermarks(topic, p.id(), timeout)?;
            tpl.add_partition_offset(topic, p.id(), Offset::Beginning)?;
            if high > low {
                left.insert(p.id(), (high, low));
            }
        }
    }
    let mut out = Vec::new();
    if left.is_empty() {
        return Ok(out);
    }
    consumer.assign(&tpl)?;
    let mut progress = Instant::now();
    while !left.is_empty() {
        match consumer.poll(Duration::from_millis(200)) {
            None => {
                // A partition whose last offsets hold no record ends by position.
                for e in consumer.position()?.elements_for_topic(topic) {
                    if let (Offset::Offset(pos), Some((end, _))) =
                        (e.offset(), left.get(&e.partition()))
                    {
                        if pos >= *end {
                            left.remove(&e.partition());
                        }
                    }
                }
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                left.remove(&p);
                progress = Instant::now();
            }
            Some(Err(e)) => return Err(format!("reading {topic}: {e}").into()),
            Some(Ok(msg)) => {
                let (p, o) = (msg.partition(), msg.offset());
                if let Some((end, next)) = left.get_mut(&p) {
                    *next = o + 1;
                    if *next >= *end {
                        left.remove(&p);
                    }
                }
                progress = Instant::now();
                out.push(Read {
                    key: msg.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                    value: msg.payload().map(<[u8]>::to_vec),
                    partition: p,
                    offset: o,
                });
            }
        }
        if progress.elapsed() > READ_STALL {
            let left: Vec<String> = left
                .iter()
                .map(|(p, (end, next))| format!("partition {p}: next offset {next}, end {end}"))
                .collect();
            return Err(format!(
                "reading {topic}: nothing new for {READ_STALL:?} after {} records; still to read: {}",
                out.len(),
                left.join(", ")
            )
            .into());
        }
    }
    Ok(out)
}

/// Reads every record currently on `topic` and decodes it.
pub fn read_all<T: AvroRecord>(
    cfg: &Config,
    codec: &Codec,
    topic: &str,
) -> Result<Vec<Read<T>>, BoxError> {
    read_raw(cfg, topic)?
        .into_iter()
        .map(|r| {
            Ok(Read {
                value: codec.decode::<T>(r.value.as_deref())?,
                key: r.key,
                partition: r.partition,
                offset: r.offset,
            })
        })
        .collect()
}

/// Commits `offset` on every partition of `topic` for `group` (the group must
/// have no active member), as a crash between checkpoint and commit would
/// leave it.
pub fn reset_offsets(
    cfg: &Config,
    group: &str,
    topic: &str,
    partitions: i32,
    offset: i64,
) -> TestResult {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &cfg.kafka.bootstrap_servers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Offset(offset))?;
    }
    consumer.commit(&tpl, rdkafka::consumer::CommitMode::Sync)?;
    Ok(())
}

/// Committed offsets of `group` on `topic` (sum over partitions), read through
/// a separate, unsubscribed consumer.
pub fn committed_total(
    cfg: &Config,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Result<i64, BoxError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &cfg.kafka.bootstrap_servers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let committed = consumer.committed_offsets(tpl, Duration::from_secs(10))?;
    Ok(committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        })
        .sum())
}

/// The commands and decision ids an uninterrupted processor produces for
/// the predictions now on the topic, at their real positions.
pub fn reference_run(
    loaded: &LoadedConfig,
    codec: &Codec,
) -> Result<(Vec<HealCommand>, Vec<String>), BoxError> {
    let (commands, audits) = reference_outputs(loaded, codec)?;
    let mut ids: Vec<String> = audits.into_iter().map(|a| a.decision_id).collect();
    ids.sort();
    Ok((commands, ids))
}

/// The heal commands and audit records of a single processor over the
/// predictions topic, partition by partition.
pub fn reference_outputs(
    loaded: &LoadedConfig,
    codec: &Codec,
) -> Result<(Vec<HealCommand>, Vec<AuditRecord>), BoxError> {
    let cfg = &loaded.config;
    let dir = tempfile::tempdir()?;
    let mut reference = Processor::new(cfg, &loaded.version, Store::open(dir.path(), false)?);
    let mut commands = Vec::new();
    let mut audits = Vec::new();
    let mut records = read_all::<Prediction>(cfg, codec, &cfg.topics.predictions)?;
    records.sort_by_key(|r| (r.partition, r.offset));
    for r in records {
        let pos = SourcePos {
            topic: cfg.topics.predictions.clone(),
            partition: r.partition,
            offset: r.offset,
        };
        for out in reference.process(&pos, &r.value)? {
            match out {
                Output::Command(c) => commands.push(c),
                Output::Audit(a) => audits.push(a),
                Output::Drift(_) | Output::Evaluation(_) | Output::Lesson(_) => {}
            }
        }
    }
    Ok((commands, audits))
}

pub fn published(
    loaded: &LoadedConfig,
    codec: &Codec,
) -> Result<(Vec<HealCommand>, Vec<String>), BoxError> {
    let cfg = &loaded.config;
    let commands = read_all::<HealCommand>(cfg, codec, &cfg.topics.actions)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    let mut audits: Vec<String> = read_all::<AuditRecord>(cfg, codec, &cfg.topics.audit)?
        .into_iter()
        .map(|r| r.value.decision_id)
        .collect();
    audits.sort();
    Ok((commands, audits))
}

/// A free loopback address for a telemetry endpoint.
pub fn free_addr() -> Result<std::net::SocketAddr, BoxError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// `GET path` over a plain TCP connection (bounded to 10 s): (status, body).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> Result<(u16, String), BoxError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(request.as_bytes()).await?;
        let mut response = String::new();
        s.read_to_string(&mut response).await?;
        Ok::<String, std::io::Error>(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(10), exchange).await??;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status line in {response:?}"))?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_string()))
}

/// Asserts that the heal commands and audit decisions on `env`'s output
/// topics, by id, equal an uninterrupted reference run's; that every raw
/// duplicate (a replay after a crash, kill or outage) is an exact copy,
/// for commands and for each position of a model's audit chain; and that
/// every chain verifies. Prints the raw and unique counts under `tag`.
pub fn outputs_match_reference<B>(env: &TestEnv<B>, tag: &str) -> TestResult {
    use std::collections::BTreeSet;
    let cfg = env.cfg();
    let (expected_commands, reference_audits) = reference_outputs(&env.loaded, &env.codec)?;
    let mut expected_audits: Vec<String> = reference_audits
        .iter()
        .map(|a| a.decision_id.clone())
        .collect();
    expected_audits.sort();
    let raw_commands = read_all::<HealCommand>(cfg, &env.codec, &cfg.topics.actions)?;
    let raw_audits = read_all::<AuditRecord>(cfg, &env.codec, &cfg.topics.audit)?;
    let commands: BTreeSet<String> = raw_commands
        .iter()
        .map(|r| r.value.command_id.clone())
        .collect();
    let audits: BTreeSet<String> = raw_audits
        .iter()
        .map(|r| r.value.decision_id.clone())
        .collect();
    // Each position of a model's audit chain once; more copies are replays.
    let mut positions: BTreeMap<(String, i64), Vec<&AuditRecord>> = BTreeMap::new();
    for r in &raw_audits {
        positions
            .entry((r.value.model_id.clone(), r.value.sequence))
            .or_default()
            .push(&r.value);
    }
    println!(
        "{tag}: raw commands {} (unique {}), raw audit records {} (unique decisions {}, \
         chain positions {}, duplicates {})",
        raw_commands.len(),
        commands.len(),
        raw_audits.len(),
        audits.len(),
        positions.len(),
        raw_audits.len() - positions.len()
    );
    let mut copies: BTreeMap<&str, Vec<(i32, i64)>> = BTreeMap::new();
    for r in &raw_commands {
        copies
            .entry(r.value.command_id.as_str())
            .or_default()
            .push((r.partition, r.offset));
    }
    copies.retain(|_, at| at.len() > 1);
    if !copies.is_empty() {
        println!("{tag}: commands written more than once (partition, offset): {copies:?}");
    }
    let expected: BTreeSet<String> = expected_commands
        .iter()
        .map(|c| c.command_id.clone())
        .collect();
    assert!(!expected.is_empty(), "the reference run issued no command");
    if commands != expected {
        explain_difference(&raw_audits, &reference_audits, &commands, &expected);
    }
    assert_eq!(commands, expected, "heal commands by id");
    assert_eq!(
        audits,
        expected_audits.into_iter().collect::<BTreeSet<_>>(),
        "audit records by id"
    );
    // Duplicates are byte-for-byte replays, never variants.
    for r in &raw_commands {
        let same = expected_commands
            .iter()
            .find(|c| c.command_id == r.value.command_id);
        assert_eq!(same, Some(&r.value));
    }
    for copies in positions.values() {
        assert!(copies.iter().all(|c| c == &copies[0]), "{copies:#?}");
    }
    let reports = jidoka::audit::verify(raw_audits.into_iter().map(|r| r.value));
    assert!(reports.iter().all(|r| r.is_intact()), "{reports:?}");
    Ok(())
}

/// Runs a Python script of the tests with `args` and returns its stdout;
/// fails with its output when it fails, and says what to install when
/// Python is missing.
pub async fn run_python(script: &std::path::Path, args: &[&str]) -> Result<String, BoxError> {
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .await
        .map_err(|e| {
            format!(
                "cannot run python3 ({e}): {} needs Python 3 with confluent-kafka[avro,schemaregistry] (tests/run.sh installs it)",
                script.display()
            )
        })?;
    if !out.status.success() {
        return Err(format!(
            "{} {} failed: {}{}",
            script.display(),
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Prints, for a test failure, the audit records (published and
/// reference) of every decision whose command differs.
fn explain_difference(
    published: &[Read<AuditRecord>],
    reference: &[AuditRecord],
    commands: &std::collections::BTreeSet<String>,
    expected: &std::collections::BTreeSet<String>,
) {
    let differing: Vec<&String> = commands.symmetric_difference(expected).collect();
    let mut decisions = std::collections::BTreeSet::new();
    for a in published.iter().map(|r| &r.value).chain(reference) {
        if a.command_id
            .as_ref()
            .is_some_and(|c| differing.contains(&c))
        {
            decisions.insert(a.decision_id.clone());
        }
    }
    for id in decisions {
        for (side, a) in published
            .iter()
            .map(|r| ("published", &r.value))
            .chain(reference.iter().map(|a| ("reference", a)))
            .filter(|(_, a)| a.decision_id == id)
        {
            println!(
                "{side} {id} model {} seq {} action {} proposed {} by {} gate {:?} cooldown {:?} context {:?} bandit {:?}",
                a.model_id,
                a.sequence,
                a.action,
                a.proposed_action,
                a.decided_by,
                a.gate_reason,
                a.cooldown,
                a.context,
                a.bandit
            );
        }
    }
}
