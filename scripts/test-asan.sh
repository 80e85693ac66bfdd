#!/usr/bin/env bash
# Runs the whole tap suite once against an AddressSanitizer + UndefinedBehaviorSanitizer build of
# the addon (`npm run test:asan`). Node itself is not instrumented, so the ASan runtime is
# preloaded; leak detection is off because Node does not free everything at exit, but any
# invalid access or undefined behaviour in the addon aborts the test that caused it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
CFLAGS="$sanitize" CXXFLAGS="$sanitize" LDFLAGS="-fsanitize=address,undefined" npx node-gyp rebuild >/dev/null
npm run build:ts >/dev/null

restore_build() { npx node-gyp rebuild >/dev/null 2>&1 || true; }
trap restore_build EXIT

asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
export LD_PRELOAD="$asan $ubsan"
export ASAN_OPTIONS="detect_leaks=0:verify_asan_link_order=0:abort_on_error=1:allow_user_segv_handler=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export CRFTB_SANITIZED=1
# The pack test rebuilds a prebuild without sanitizers; it proves packaging, not memory safety.
npx tap --exclude='test/package-prebuild.test.ts' "$@"
