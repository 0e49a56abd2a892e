#!/usr/bin/env bash
# Runs every check and test of jidoka, doing all set-up a fresh machine needs:
# system packages (libclang for RocksDB's bindgen, OpenSSL headers for
# librdkafka's TLS and SCRAM, headless Chromium that renders the HTML report
# in tests/report_html.rs), the tansu broker the
# integration tests start (built once, cached under ~/.cache/jidoka), the build,
# formatting and lint checks, then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${JIDOKA_CACHE:-$HOME/.cache/jidoka}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
TANSU_ROOT="$CACHE/tansu"
export JIDOKA_TANSU="${JIDOKA_TANSU:-$TANSU_ROOT/bin/tansu}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step() { printf '\n== %s ==\n' "$*"; }

step "system packages"
missing=()
for pkg in libclang-dev clang build-essential pkg-config libssl-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Chromium without its recommends (printing, mDNS, desktop tools: ~400 MB
# a headless test never uses).
if ! dpkg -s chromium >/dev/null 2>&1; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
echo "ok"

step "rust components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo --version

step "broker (tansu 0.6.0, SQLite storage)"
if [ ! -x "$JIDOKA_TANSU" ]; then
  env -u CARGO_TARGET_DIR cargo install tansu --version 0.6.0 --locked --no-default-features \
    --features dynostore,libsql --root "$TANSU_ROOT"
fi
"$JIDOKA_TANSU" --version || true

step "format"
cargo fmt --all -- --check

step "build and lint"
cargo clippy --all-targets --locked -- -D warnings

step "tests"
# Every test file runs even when an earlier one fails; any failure still
# makes the script exit non-zero.
cargo test --all-targets --locked --no-fail-fast
