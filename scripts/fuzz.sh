#!/usr/bin/env bash
# Builds the libFuzzer harnesses in native/fuzz/ with clang (Debian: clang, libclang-rt-14-dev),
# ASan and UBSan, and runs each for N seconds (`npm run fuzz -- 60`, default 30). The corpus
# grows in .cache/fuzz/<harness>/ and is reused by the next run; crashes are written to
# .cache/fuzz/crashes/ and make the script fail. CRFTB_FUZZ_BUILD_ONLY=1 only builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-30}"
command -v clang++ >/dev/null || { echo "fuzz: clang++ missing (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

out=build/fuzz
mkdir -p "$out" .cache/fuzz/crashes
# No Node headers: the core the harnesses exercise is free of Node (common/failure.h).
flags=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Inative)
common=(native/common/failure.cc native/ftb/codes.cc native/ftb/names.cc native/ftb/identity.cc
        native/ftb/subscription.cc native/ftb/event_handle.cc)

declare -A sources=(
  [ftb_agent_router]="native/ftb/agent_router.cc"
  [ftb_client_decode]=""
  [ftb_compact_decode]="native/ftb/wire_compact.cc"
  [ftb_bootstrap_registry]="native/ftb/bootstrap_registry.cc native/ftb/bootstrap_limits.cc"
)
for harness in "${!sources[@]}"; do
  # shellcheck disable=SC2086
  clang++ "${flags[@]}" "native/fuzz/$harness.cc" ${sources[$harness]} "${common[@]}" -o "$out/$harness"
done
[ "${CRFTB_FUZZ_BUILD_ONLY:-}" = 1 ] && exit 0

for harness in "${!sources[@]}"; do
  corpus=.cache/fuzz/$harness
  mkdir -p "$corpus"
  echo "fuzz: $harness for ${seconds}s" >&2
  ASAN_OPTIONS=detect_leaks=1 "$out/$harness" "$corpus" -max_total_time="$seconds" -max_len=16384 \
    -rss_limit_mb=1024 -malloc_limit_mb=256 -timeout=5 -artifact_prefix=.cache/fuzz/crashes/"$harness"- \
    -print_final_stats=1 2>&1 | grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|.*crash-|.*timeout-|.*oom-)' >&2
  status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] || { echo "fuzz: $harness failed (exit $status); see .cache/fuzz/crashes/" >&2; exit 1; }
done
