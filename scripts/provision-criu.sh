#!/usr/bin/env bash
# Makes a working CRIU available to crftb on this machine, idempotently.
#
#   scripts/provision-criu.sh          provision (or confirm) and print the criu to use
#   scripts/provision-criu.sh --path   print the wrapper path only, provisioning if needed
#
# Keeps the system `criu` when `criu check` passes. Otherwise builds a private prefix of
# Debian forky's CRIU 4.2.1 (which runs on current kernels, unlike Debian 12's 3.17, and dumps
# TCP sockets on kernels >= 6.16, unlike Debian 13's 4.1.1: CRIU issue #2705) with that
# release's own loader and libraries, under $CRFTB_CRIU_CACHE when set (`crftb provision-criu`
# sets it to the stable cache an installed package looks in), else .cache/criu/ in the repo
# (git-ignored), and writes the wrapper <that>/bin/criu that crftb finds on its own. Needs root
# for `criu check`.
# Uses only the Debian registry the machine already trusts; see ../shared/criu/NOTES.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache="${CRFTB_CRIU_CACHE:-$repo/.cache/criu}"
prefix="$cache/prefix-4.2.1"
suite=forky
wrapper="$cache/bin/criu"
path_only=0
[ "${1:-}" = "--path" ] && path_only=1

say() { [ "$path_only" = 1 ] || echo "provision-criu: $*" >&2; }
die() { echo "provision-criu: error: $*" >&2; exit 1; }

criu_works() { "$1" check >/dev/null 2>&1; }

# The wrapper runs the prefix's criu with that release's own loader and libraries.
# CRIU_FAULT=130 (CRIU's FI_NO_BREAKPOINTS) makes CRIU stop a task after its parasite with
# PTRACE_SYSCALL instead of an x86 hardware breakpoint: on this project's VMs debug registers
# never fire, and every dump hangs at "Waiting for <pid> to trap" without it.
write_wrapper() {
  mkdir -p "$cache/bin"
  cat > "$wrapper.tmp" <<WRAP
#!/bin/sh
# crftb's private CRIU 4.2.1 (Debian forky build) with its own loader and libraries.
export CRIU_FAULT="\${CRIU_FAULT:-130}"
exec "$prefix/usr/lib64/ld-linux-x86-64.so.2" --library-path "$prefix/usr/lib/x86_64-linux-gnu" "$prefix/usr/sbin/criu" "\$@"
WRAP
  chmod 0755 "$wrapper.tmp"
  mv "$wrapper.tmp" "$wrapper"
}

if [ -x "$prefix/usr/sbin/criu" ]; then
  write_wrapper  # cheap, and upgrades wrappers written by older versions of this script
  if criu_works "$wrapper"; then
    say "using the provisioned CRIU ($("$wrapper" --version | head -1))"
    echo "$wrapper"; exit 0
  fi
fi
if command -v criu >/dev/null 2>&1 && criu_works criu; then
  say "the system criu passes 'criu check'; keeping it"
  command -v criu; exit 0
fi
[ "$(id -u)" = 0 ] || die "CRIU needs root (or CAP_CHECKPOINT_RESTORE); run this script as root"

packages=(criu libcompel1 libc6 libgnutls30t64 libnftables1 libnl-3-200 libprotobuf-c1 libbsd0
  libnet9 libuuid1 libmd0 libnftnl11 libmnl0 libjansson4 libxtables12 libgmp10 libhogweed6t64
  libnettle8t64 libidn2-0 libunistring5 libtasn1-6 libp11-kit0 libffi8 libbrotli1 libzstd1 libedit2
  libtinfo6 libcap2)

# Same mirror and keyring as the machine's own bookworm sources; only the suite differs.
mirror=$(grep -hoE 'https?://[^ ]+/debian/?$' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

apt_dir="$cache/apt"
mkdir -p "$apt_dir/sources" "$apt_dir/lists/partial" "$apt_dir/debs" "$apt_dir/cache/archives/partial"
rm -f "$apt_dir"/sources/*.sources
cat > "$apt_dir/sources/$suite.sources" <<SRC
Types: deb
URIs: $mirror
Suites: $suite
Components: main
Signed-By: $keyring
SRC
apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt_dir/sources"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Architecture=amd64")

say "fetching Debian $suite package lists from $mirror"
apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 \
  || die "could not download $suite package lists from $mirror (see $apt_dir/update.log); check network access to the Debian registry"
say "downloading ${#packages[@]} packages"
rm -f "$apt_dir"/debs/*.deb
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" -q download "${packages[@]}" >"$apt_dir/download.log" 2>&1) \
  || die "could not download the CRIU packages (see $apt_dir/download.log)"

rm -rf "$prefix.tmp"
mkdir -p "$prefix.tmp"
for deb in "$apt_dir"/debs/*.deb; do dpkg-deb -x "$deb" "$prefix.tmp"; done
rm -rf "$prefix"
mv "$prefix.tmp" "$prefix"

write_wrapper

"$wrapper" check >"$cache/check.log" 2>&1 || die "the provisioned CRIU fails 'criu check' (see $cache/check.log)"
say "provisioned $("$wrapper" --version | head -1) at $wrapper"
echo "$wrapper"
