# syntax=docker/dockerfile:1.7
# Every Shutter service from one build. Pick a service with --target:
#   docker build --target post -t shutter/post .
# The dependency layer (cargo-chef) is rebuilt only when Cargo.toml/Cargo.lock change.

ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/* \
 && cargo install cargo-chef --locked --version 0.1.71
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is cached until the lock file changes.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked -p auth -p post -p media -p url-signer -p edge \
 && mkdir -p /out \
 && cp target/release/auth target/release/post target/release/media target/release/url-signer target/release/edge /out/

# Slim, non-root, nothing but the binary, CA roots, libssl and curl for the health check.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin shutter
ENV LOG_FORMAT=json
USER 10001:10001

FROM runtime AS auth
COPY --from=builder /out/auth /usr/local/bin/auth
ENV LISTEN_ADDR=0.0.0.0:8081
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD curl -fsS http://127.0.0.1:8081/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/auth"]

FROM runtime AS post
COPY --from=builder /out/post /usr/local/bin/post
ENV LISTEN_ADDR=0.0.0.0:8082
EXPOSE 8082
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD curl -fsS http://127.0.0.1:8082/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/post"]

FROM runtime AS media
COPY --from=builder /out/media /usr/local/bin/media
ENV LISTEN_ADDR=0.0.0.0:8083
EXPOSE 8083
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD curl -fsS http://127.0.0.1:8083/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/media"]

FROM runtime AS url-signer
COPY --from=builder /out/url-signer /usr/local/bin/url-signer
ENV LISTEN_ADDR=0.0.0.0:8084
EXPOSE 8084
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD curl -fsS http://127.0.0.1:8084/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/url-signer"]

FROM runtime AS edge
COPY --from=builder /out/edge /usr/local/bin/edge
ENV LISTEN_ADDR=0.0.0.0:8085
EXPOSE 8085
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD curl -fsS http://127.0.0.1:8085/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/edge"]
