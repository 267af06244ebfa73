# syntax=docker/dockerfile:1.7
# Every Shutter service from one build; the last stage is one service's image
# (SERVICE, PORT build arguments). The dependency layer (cargo-chef) is
# rebuilt only when Cargo.toml/Cargo.lock change.

ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
# Debian's current packages of the pinned release, security fixes included:
# exact versions would break the build each time the mirror moves on.
# hadolint ignore=DL3008
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

# One service's image: slim, non-root, nothing but its binary, CA roots,
# libssl and curl for the health check. Pick the service with build arguments:
#   docker build --build-arg SERVICE=post --build-arg PORT=8082 -t shutter/post:0.1.0 .
FROM debian:bookworm-slim AS service
ARG SERVICE
ARG PORT
# (Unpinned apt packages: see the chef stage.)
# hadolint ignore=DL3008
RUN test -n "$SERVICE" && test -n "$PORT" \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin shutter
COPY --from=builder /out/${SERVICE} /usr/local/bin/${SERVICE}
# A fixed name for the entrypoint; the binary keeps its own for its CLI.
RUN ln -s /usr/local/bin/${SERVICE} /usr/local/bin/service
ENV LOG_FORMAT=json LISTEN_ADDR=0.0.0.0:${PORT} SERVICE_PORT=${PORT}
EXPOSE ${PORT}
USER 10001:10001
# Shell form: the port is the image's own, known only when it is built.
# hadolint ignore=DL3025
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD curl -fsS "http://127.0.0.1:${SERVICE_PORT}/healthz" || exit 1
ENTRYPOINT ["/usr/local/bin/service"]
