#!/usr/bin/env bash
# Runs every check and test of jidoka, doing all set-up a fresh machine needs:
# system packages (libclang for RocksDB's bindgen, OpenSSL headers for
# librdkafka's TLS and SCRAM, headless Chromium that renders the HTML report
# in tests/it/report_html.rs, python3 for the example webhook receiver,
# Prometheus for the `promtool` that checks deploy/prometheus and the
# dashboard's queries in tests/deploy.rs), the Python packages (PyPI)
# kubernetes-validate (the Helm chart's manifests) and pyarrow and duckdb
# (tests/it/export.rs reads the exports with them), the tansu broker the
# integration tests start (built once, cached under ~/.cache/jidoka, in the
# background while the checks and the test build run), the formatting and
# lint checks, the build, then the whole test suite. Every step prints the
# time since the start.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${JIDOKA_CACHE:-$HOME/.cache/jidoka}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
TANSU_ROOT="$CACHE/tansu"
export JIDOKA_TANSU="${JIDOKA_TANSU:-$TANSU_ROOT/bin/tansu}"
# Incremental compilation only pays when the same code is rebuilt after
# small edits; for this one build of everything it is extra work and disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step() { printf '\n== %s == (%dm%02ds)\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

step "system packages"
# What building needs (the same script as the quick start's demo command).
bash tests/setup.sh
updated=""
apt_install() {
  if [ -z "$updated" ]; then as_root apt-get update -qq; updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
# python3 (standard library only) runs the example webhook receiver in
# tests/it/executor.rs.
command -v python3 >/dev/null 2>&1 || apt_install --no-install-recommends python3
# Chromium without its recommends (printing, mDNS, desktop tools: ~400 MB
# a headless test never uses).
dpkg -s chromium >/dev/null 2>&1 || apt_install --no-install-recommends chromium
# promtool ships in Debian's prometheus package (its service is not started).
command -v promtool >/dev/null 2>&1 || apt_install --no-install-recommends prometheus
echo "ok"

# kubernetes-validate: the Kubernetes JSON schemas (offline) the Helm
# chart's manifests are validated against in tests/deploy/helm.rs; pyarrow
# and duckdb: tests/it/export.rs reads the exports back with them;
# confluent-kafka with its avro and schemaregistry extras (Confluent's
# client with librdkafka bundled, its SchemaRegistryClient, fastavro):
# tests/it/registry.rs produces and decodes through the registry with them,
# tests/it/json_input.rs produces the platform's JSON records.
step "python packages (kubernetes-validate, pyarrow, duckdb, confluent-kafka[avro,schemaregistry])"
python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
python_packages=(kubernetes-validate pyarrow duckdb "confluent-kafka[avro,schemaregistry]")
if ! python3 -c "import kubernetes_validate, pyarrow, duckdb, confluent_kafka.schema_registry.avro, fastavro" 2>/dev/null; then
  # A Debian system Python refuses pip installs (PEP 668) unless told to.
  python3 -m pip install --quiet "${python_packages[@]}" 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages "${python_packages[@]}"
fi
python3 -c "import kubernetes_validate, pyarrow, duckdb, confluent_kafka; print('pyarrow', pyarrow.__version__, 'duckdb', duckdb.__version__, 'confluent-kafka', confluent_kafka.version()[0])"

step "rust components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo --version

step "broker (tansu 0.6.0, SQLite storage)"
tansu_pid=""
tansu_log="$CACHE/tansu-build.log"
if [ ! -x "$JIDOKA_TANSU" ]; then
  mkdir -p "$CACHE"
  echo "building in the background (log: $tansu_log)"
  env -u CARGO_TARGET_DIR cargo install tansu --version 0.6.0 --locked --no-default-features \
    --features dynostore,libsql --root "$TANSU_ROOT" >"$tansu_log" 2>&1 &
  tansu_pid=$!
  trap 'if [ -n "$tansu_pid" ]; then kill "$tansu_pid" 2>/dev/null || true; fi' EXIT
else
  "$JIDOKA_TANSU" --version || true
fi

step "format"
cargo fmt --all -- --check

step "build and lint"
cargo clippy --all-targets --locked -- -D warnings

# One process per test binary (the integration tests are one binary,
# tests/it), tests inside it on as many threads as cores.
runner=(cargo test --all-targets --locked)

step "build tests"
"${runner[@]}" --no-run

if [ -n "$tansu_pid" ]; then
  step "broker: waiting for its build"
  if ! wait "$tansu_pid"; then
    tansu_pid=""
    tail -n 40 "$tansu_log"
    echo "building tansu failed; the whole log is $tansu_log" >&2
    exit 1
  fi
  tansu_pid=""
  "$JIDOKA_TANSU" --version || true
fi

step "tests"
# Every test runs even when an earlier one fails; any failure still makes
# the script exit non-zero.
"${runner[@]}" --no-fail-fast

step "done"
