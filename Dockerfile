# syntax=docker/dockerfile:1
# berth in a small image: built from this repository's Cargo.lock in a Rust
# builder, run on Debian slim with CA certificates (TLS to AWS) and `sh`
# (a blue/green `verify` command runs in it).
#
#   docker build --build-arg BERTH_BUILD_COMMIT="$(git rev-parse --short HEAD)" -t berth .
#   docker run --rm -v "$PWD:/work" berth plan
#
# The build context has no .git (see .dockerignore): the commit `berth
# version` reports comes from the BERTH_BUILD_COMMIT build argument.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
ARG BERTH_BUILD_COMMIT=unknown
ENV BERTH_BUILD_COMMIT=${BERTH_BUILD_COMMIT}
# The release profile (fat LTO, stripped): about 10 minutes on 2 cores.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release -p berth \
    && install -m 0755 target/release/berth /usr/local/bin/berth

FROM debian:bookworm-slim
# ca-certificates is left unpinned: Debian's security updates replace it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/berth /usr/local/bin/berth
# Root by default, as CI runners (GitHub's container jobs, CodeBuild) expect;
# on a workstation: docker run --user "$(id -u):$(id -g)" ...
WORKDIR /work
ENTRYPOINT ["berth"]
