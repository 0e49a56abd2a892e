# Builds the jidoka binary. Used by docker-compose.yml.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libclang-dev clang && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 libstdc++6 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/jidoka /usr/local/bin/jidoka
COPY configs /etc/jidoka
ENV JIDOKA_CONFIG=/etc/jidoka/jidoka.toml
VOLUME /var/lib/jidoka
ENV JIDOKA__STATE__DATA_DIR=/var/lib/jidoka
ENTRYPOINT ["jidoka"]
CMD ["run"]
