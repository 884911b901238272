#!/usr/bin/env bash
# berth against moto behind a 40 ms latency proxy (and, second, AWS's token
# buckets), for apps of N services: `bash crates/berth-bench/aws-bench.sh
# [N...]` (default 10 50 200; BENCH_MODES=latency|buckets for one mode). Installs moto like tests/run does, starts it
# on 127.0.0.1 on a free port, runs the benchmark (release build), stops it.
set -euo pipefail
cd "$(dirname "$0")/../.."

MOTO_VERSION=5.2.5
VENV="${BERTH_MOTO_VENV:-$PWD/target/moto-venv}"
if ! "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p target
MOTO_ECS_SERVICE_RUNNING=1000 "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" > target/moto-bench.log 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/moto-api/', timeout=1)" 2>/dev/null && break
  sleep 0.2
done
# The benchmark's own build skips the release profile's fat LTO (minutes on
# 2 cores; it changes the binary's size, not its round trips).
# BENCH_MODES=latency|buckets runs one of the two modes only.
BERTH_MOTO_ENDPOINT="http://127.0.0.1:$PORT" CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  cargo run --release --locked -q -p berth-bench --bin aws-bench -- "$@"
