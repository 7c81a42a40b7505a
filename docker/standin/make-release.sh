#!/bin/sh
# Lays out release 1 or 2 of the stand-in in DEST (which must not exist yet,
# or be empty): release 2 is this directory as it is; release 1 is the same
# with docker/standin-release1/ copied over it (its version and SQL files).
# Files the stand-in makes when run in place (static/, .media/, .secrets/,
# __pycache__) are not copied.
#   usage: make-release.sh DEST 1|2
set -eu
if [ $# -ne 2 ] || { [ "$2" != 1 ] && [ "$2" != 2 ]; }; then
    echo "usage: $0 DEST 1|2" >&2
    exit 2
fi
dest=$1
release=$2
here=$(cd "$(dirname "$0")" && pwd)
if [ -e "$dest" ] && [ -n "$(ls -A "$dest")" ]; then
    echo "$0: $dest exists and is not empty; give a new directory" >&2
    exit 1
fi
mkdir -p "$dest"
tar -C "$here" --exclude=./static --exclude=./.media --exclude=./.secrets --exclude=__pycache__ \
    --exclude=./make-release.sh -cf - . | tar -C "$dest" -xf -
if [ "$release" = 1 ]; then
    tar -C "$here/../standin-release1" --exclude=__pycache__ -cf - . | tar -C "$dest" -xf -
fi
