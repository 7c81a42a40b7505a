#!/usr/bin/env bash
# Sourced by docker/test-image.sh: makes podman usable on a CI machine without
# a Docker engine or a reachable image registry, as root. Idempotent.
#
#  - installs podman, runc and debootstrap when missing;
#  - points podman at a containers.conf that uses runc with cgroupfs (the
#    kernel's cgroup layout trips the defaults) and sets no default ulimits
#    (raising RLIMIT_NOFILE is refused in this sandbox);
#  - builds the Dockerfile's base image, debian:trixie-slim, locally with
#    debootstrap from the Debian mirror apt already uses (once per machine),
#    so that `--pull=never` finds it. PODMAN_SETUP_SUITES="trixie bookworm"
#    builds debian:bookworm-slim as well (nothing in the tests needs it).
#
# Defines `pod` (podman with runc). Users with a normal Docker or podman
# setup need none of this.
set -euo pipefail

PODMAN_SETUP_DIR=${PODMAN_SETUP_DIR:-/var/tmp/mathesar-init-podman}
PODMAN_SETUP_SUITES=${PODMAN_SETUP_SUITES:-trixie}
mkdir -p "$PODMAN_SETUP_DIR"

if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
fi

export CONTAINERS_CONF="$PODMAN_SETUP_DIR/containers.conf"
printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n' > "$CONTAINERS_CONF"

pod() { podman --runtime runc "$@"; }

# The keyring debootstrap checks each suite's Release file with. Trixie's is
# signed by bookworm's archive key as well as trixie's own, so the keyring of
# a bookworm host (debian-archive-keyring 2023.3, any point release) verifies
# it; the package is installed only when the file is missing altogether.
PODMAN_SETUP_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# podman_setup_debian_base SUITE: debian:SUITE-slim (and debian:SUITE), a
# minbase debootstrap of SUITE whose apt uses this machine's mirror for the
# suite, its updates and its security archive, as Debian's own images do.
podman_setup_debian_base() {
  local suite=$1 mirror security rootfs
  podman image exists "docker.io/library/debian:$suite-slim" && return 0
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || { echo "podman-setup: no Debian mirror in the apt sources" >&2; return 1; }
  security=$(awk '/^URIs:/ && /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$security" ] || security=http://deb.debian.org/debian-security
  if [ ! -f "$PODMAN_SETUP_KEYRING" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debian-archive-keyring >/dev/null
  fi
  rootfs="$PODMAN_SETUP_DIR/rootfs-$suite"
  rm -rf "$rootfs"
  echo "podman-setup: building debian:$suite-slim with debootstrap (once per machine, about a minute)" >&2
  if ! debootstrap --variant=minbase --keyring="$PODMAN_SETUP_KEYRING" "$suite" "$rootfs" "$mirror" \
      >"$PODMAN_SETUP_DIR/debootstrap-$suite.log" 2>&1; then
    tail -n 20 "$PODMAN_SETUP_DIR/debootstrap-$suite.log" >&2
    echo "podman-setup: debootstrap $suite failed (log: $PODMAN_SETUP_DIR/debootstrap-$suite.log)" >&2
    rm -rf "$rootfs"
    return 1
  fi
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  # (called in an `||` list, so errexit is off in here: check each step)
  if ! tar -C "$rootfs" -c . | podman import - "docker.io/library/debian:$suite-slim" >/dev/null \
      || ! podman tag "docker.io/library/debian:$suite-slim" "docker.io/library/debian:$suite"; then
    echo "podman-setup: podman import of debian:$suite-slim failed" >&2
    rm -rf "$rootfs"
    return 1
  fi
  rm -rf "$rootfs"
}

for podman_setup_suite in $PODMAN_SETUP_SUITES; do
  podman_setup_debian_base "$podman_setup_suite" || return 1 2>/dev/null || exit 1
done
unset podman_setup_suite
