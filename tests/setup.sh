#!/usr/bin/env bash
# What building jidoka needs on a Debian (or Ubuntu) machine, installed if
# missing: a C/C++ toolchain, clang and libclang (RocksDB's bindings are
# generated with bindgen), pkg-config and the OpenSSL headers (librdkafka is
# built with TLS and SCRAM). Checks that cargo is there and new enough.
# Idempotent: a machine that has everything gets no apt call. Run by the
# quick start's demo command (`bash tests/setup.sh && cargo run --release
# -- demo`) and by tests/run.sh.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for pkg in libclang-dev clang build-essential pkg-config libssl-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "jidoka setup: installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The Rust toolchain comes from rustup (https://rustup.rs), not apt:
# Debian's rustc is older than the rust-version in Cargo.toml.
need="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' "$(dirname "$0")/../Cargo.toml")"
if ! command -v cargo >/dev/null 2>&1; then
  echo "jidoka setup: cargo not found; install Rust $need or newer with rustup (https://rustup.rs)" >&2
  exit 1
fi
have="$(rustc --version | awk '{print $2}')"
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)" != "$need" ]; then
  echo "jidoka setup: rustc $have is older than $need (Cargo.toml's rust-version); run \`rustup update\`" >&2
  exit 1
fi
echo "jidoka setup: build prerequisites present (rustc $have)"
