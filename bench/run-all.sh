#!/usr/bin/env bash
# `npm run bench`: every benchmark, each printing its own small table with the load average.
# Needs root (CRIU) and a build (`npm run compile`). Comparisons run in the same run, interleaved:
# NATS when nats-server is installed (Debian: apt-get install nats-server; the `nats` client is a
# dev dependency), the real FTB 0.6.2 only when FTB_HOME names a build of it (bench/ftb-real.mjs,
# its agents only inside a network namespace the bench creates).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "== FTB publish -> callback latency";  node bench/ftb-latency.mjs
echo "== the same, agents and subscriber under SCHED_FIFO (the code's cost, not the machine's load)"
node bench/ftb-latency.mjs --rt
echo "== FTB sustained throughput";         node bench/ftb-throughput.mjs
echo "== against the real FTB 0.6.2";        node bench/ftb-real.mjs
echo "== FTB agent, one agent and a tree";  npm run -s bench:agent
echo "== checkpoint / restart (every measurement with the load average)"
CRFTB_BENCH_VERBOSE=${CRFTB_BENCH_VERBOSE:-1} node bench/checkpoint.js ${CRFTB_BENCH_MIB:-10 100 1024}
