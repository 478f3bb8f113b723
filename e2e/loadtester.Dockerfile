# syntax=docker/dockerfile:1
#
# weir-loadtester for the e2e tests: the release binary on Debian slim with
# the tools the tests' webhooks run, as flagger-loadtester's image has them:
# bash (`type: bash` tasks), curl, and hey (load tests). Unlike
# deploy/Dockerfile's distroless runtime, webhook tasks need a shell.
# Build from the repository root with BuildKit (e2e/kind.sh does):
#
#   docker build -f e2e/loadtester.Dockerfile -t weir/loadtester:e2e .
#
# e2e/loadtester.Dockerfile.dockerignore keeps the context small.

# The toolchain deploy/Dockerfile builds with.
ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
# The whole workspace: cargo reads every member's manifest.
COPY . .
# The same cache mounts as deploy/Dockerfile: BuildKit keys them by path,
# so this build reuses the dependencies the controller's build compiled.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p weir-loadtester \
    && install -D -m 0755 target/release/weir-loadtester /out/weir-loadtester

# Debian 12, as the builder (the same glibc).
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        bash ca-certificates curl hey \
    && rm -rf /var/lib/apt/lists/*
COPY --from=builder /out/weir-loadtester /usr/local/bin/weir-loadtester
# flagger-loadtester's UID; e2e/manifests/loadtester.yaml asks for the same.
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/weir-loadtester"]
CMD ["-port=8080", "-log-level=info", "-timeout=1h"]
