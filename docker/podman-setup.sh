#!/usr/bin/env bash
# Sourced by docker/test-image.sh: makes podman usable on a CI machine without
# a Docker engine or a reachable image registry, as root. Idempotent.
#
#  - installs podman, runc and debootstrap when missing;
#  - points podman at a containers.conf that uses runc with cgroupfs (the
#    kernel's cgroup layout trips the defaults) and sets no default ulimits
#    (raising RLIMIT_NOFILE is refused in this sandbox);
#  - builds debian:bookworm-slim locally with debootstrap from the Debian
#    mirror apt already uses (once per machine), so `--pull=never` finds the
#    Dockerfile's base image.
#
# Defines `pod` (podman with runc). Users with a normal Docker or podman
# setup need none of this.
set -euo pipefail

PODMAN_SETUP_DIR=${PODMAN_SETUP_DIR:-/var/tmp/mathesar-init-podman}
mkdir -p "$PODMAN_SETUP_DIR"

if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
fi

export CONTAINERS_CONF="$PODMAN_SETUP_DIR/containers.conf"
printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n' > "$CONTAINERS_CONF"

pod() { podman --runtime runc "$@"; }

if ! podman image exists docker.io/library/debian:bookworm-slim; then
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || { echo "podman-setup: no Debian mirror in the apt sources" >&2; return 1 2>/dev/null || exit 1; }
  rootfs="$PODMAN_SETUP_DIR/rootfs"
  rm -rf "$rootfs"
  echo "podman-setup: building debian:bookworm-slim with debootstrap (once per machine, about a minute)" >&2
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$PODMAN_SETUP_DIR/debootstrap.log" 2>&1
  tar -C "$rootfs" -c . | podman import - docker.io/library/debian:bookworm-slim >/dev/null
  podman tag docker.io/library/debian:bookworm-slim docker.io/library/debian:bookworm
  rm -rf "$rootfs"
fi
