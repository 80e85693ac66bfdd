#!/usr/bin/env bash
# Runs the whole tap suite once against an AddressSanitizer + UndefinedBehaviorSanitizer build of
# the addon (`npm run test:asan`; .ci/run runs it after `npm test`). Node itself is not
# instrumented, so the ASan runtime is preloaded; leak detection is off because Node does not free
# everything at exit, but any invalid access or undefined behaviour in the addon aborts the test
# that caused it. The normal build is put back afterwards, whatever happens: a sanitized addon is
# never left in build/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# gcc's runtimes (libgcc-12-dev, pulled in by g++); without them -print-file-name echoes the name.
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
for lib in "$asan" "$ubsan"; do
  [ -e "$lib" ] || { echo "test:asan: $lib not found (install g++: scripts/setup.sh)" >&2; exit 1; }
done

# The normal build waits beside the tree and moves back at exit (a rebuild would cost minutes);
# with no normal build to keep, the normal addon is built again instead.
kept=build.unsanitized
rm -rf "$kept"
[ -d build ] && mv build "$kept"
restore_build() {
  local status=$?
  trap - EXIT INT TERM
  unset LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS CRFTB_SANITIZED
  rm -rf build
  if [ -d "$kept" ]; then
    mv "$kept" build
  elif ! npx node-gyp rebuild --jobs max >/dev/null 2>&1; then
    rm -rf build
    echo "test:asan: the normal addon could not be rebuilt (run npm run compile)" >&2
    status=1
  fi
  exit "$status"
}
trap restore_build EXIT
trap 'exit 130' INT TERM

sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
CRFTB_SANITIZE=1 CFLAGS="$sanitize" CXXFLAGS="$sanitize" LDFLAGS="-fsanitize=address,undefined" \
  npx node-gyp rebuild --jobs max >/dev/null
npm run build:ts >/dev/null

export LD_PRELOAD="$asan $ubsan"
export ASAN_OPTIONS="detect_leaks=0:verify_asan_link_order=0:abort_on_error=1:allow_user_segv_handler=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export CRFTB_SANITIZED=1
# The pack test rebuilds a prebuild without sanitizers; it proves packaging, not memory safety.
npx tap --exclude='test/package-prebuild.test.ts' "$@"
