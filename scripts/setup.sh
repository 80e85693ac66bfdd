#!/usr/bin/env bash
# Everything a fresh Debian 12 machine needs before crftb's tests or demo can run:
# system packages, npm dependencies, the build, and a working CRIU. Idempotent. Run as root.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

# iproute2: network namespaces for multi-host tests. criu: Debian 12 puts libcriu.so.2 (the RPC
# client the addon dlopens) in this package; its own 3.17 binary fails on kernel 6.x, which is why
# provision-criu.sh may add a private newer CRIU. libcap2-bin: capability checks in `crftb doctor`.
# g++ brings gcc's libasan.so/libubsan.so (libgcc-12-dev -> libasan8, libubsan1) for test:asan.
# mpich + openmpi (compilers mpicc.mpich / mpicc.openmpi, launchers mpiexec.hydra / mpirun.openmpi):
# test/mpi-ring.test.ts checkpoints real MPI jobs under both; they share the mpicc alternative,
# so the tests name each MPI's own binaries.
# clang-format-14: `npm run lint`, which `npm test` runs first (the version is pinned: each formats differently).
# xxhash: xxhsum, against which test/common-xxh128.test.ts checks the manifest checksum's kernels.
apt_packages=(iproute2 criu libcap2-bin make g++ python3 procps mpich libmpich-dev openmpi-bin libopenmpi-dev clang-format-14 xxhash)
# clang + compiler-rt: the libFuzzer harnesses (npm run fuzz), only for long runs (CRFTB_LONG=1).
[ "${CRFTB_LONG:-}" = 1 ] && apt_packages+=(clang libclang-rt-14-dev)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
bash scripts/provision-criu.sh >/dev/null
npm run compile
