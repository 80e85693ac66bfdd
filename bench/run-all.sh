#!/usr/bin/env bash
# `npm run bench`: every benchmark, each printing its own small table. Needs root (CRIU) and a
# build (`npm run compile`). Figures move with machine load: each bench prints the load average.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "== FTB publish -> callback latency";  node bench/ftb-latency.mjs
echo "== the same, agent and subscriber under SCHED_FIFO (the code's cost, not the machine's load)"
node bench/ftb-latency.mjs --rt
echo "== FTB sustained throughput";         node bench/ftb-throughput.mjs
echo "== FTB agent, one agent and a tree";  npm run -s bench:agent
echo "== checkpoint / restart (every measurement with the load average)"
CRFTB_BENCH_VERBOSE=${CRFTB_BENCH_VERBOSE:-1} node bench/checkpoint.js ${CRFTB_BENCH_MIB:-10 100 1024}
