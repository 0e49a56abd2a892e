# syntax=docker/dockerfile:1
# jidoka in a container: `docker build -t jidoka .`, or `docker compose up`
# (docker-compose.yml). Two stages: a Rust builder with what RocksDB and
# librdkafka need to compile, then a slim Debian runtime as a non-root user.

FROM rust:1-bookworm AS build
# libclang/clang: RocksDB's bindgen; cmake, build-essential, pkg-config:
# the C/C++ builds of RocksDB, lz4 and librdkafka (zlib1g-dev: its zlib;
# libssl-dev: OpenSSL for TLS, SASL_SSL and mTLS).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libclang-dev clang cmake build-essential pkg-config zlib1g-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Registry and target caches survive between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin jidoka \
 && install -m 0755 target/release/jidoka /usr/local/bin/jidoka

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 libstdc++6 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 jidoka \
 && useradd --system --uid 10001 --gid jidoka --home-dir /var/lib/jidoka --shell /usr/sbin/nologin jidoka \
 && install -d -o jidoka -g jidoka -m 0750 /var/lib/jidoka
COPY --from=build /usr/local/bin/jidoka /usr/local/bin/jidoka
COPY configs /etc/jidoka
# Config file (overridable with --config), state on a volume, and the
# telemetry endpoint on every interface of the container.
ENV JIDOKA_CONFIG=/etc/jidoka/jidoka.toml \
    JIDOKA__STATE__DATA_DIR=/var/lib/jidoka \
    JIDOKA__TELEMETRY__HTTP_ADDRESS=0.0.0.0:9464
VOLUME /var/lib/jidoka
WORKDIR /var/lib/jidoka
EXPOSE 9464
USER jidoka:jidoka
ENTRYPOINT ["jidoka"]
CMD ["run"]
