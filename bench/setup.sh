#!/usr/bin/env bash
# Idempotent setup for bench/: peers from Debian, PostgreSQL 15, a C compiler,
# the C helpers compiled into bench/out/, and matplotlib for the chart.
# Safe to run again: apt-get skips what is installed, gcc rebuilds only when
# the sources are newer than the binaries.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/out"

need=()
for pkg in tini dumb-init catatonit supervisor hyperfine postgresql-15 postgresql-client-15 gcc libc6-dev util-linux procps; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "setup: apt-get install ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
shopt -s nullglob
mkdir -p "$out"
for src in "$here"/helpers/*.c; do
    bin="$out/$(basename "$src" .c)"
    if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
        gcc -O2 -Wall -Wextra -o "$bin" "$src"
    fi
done

py="${PYTHON:-python3}"
if ! "$py" -c 'import matplotlib' 2>/dev/null; then
    "$py" -m pip install -q -r "$here/requirements.txt" || echo "setup: matplotlib not installed; the chart will be skipped" >&2
fi
echo "setup: ok"
