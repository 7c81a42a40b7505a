# syntax=docker/dockerfile:1
#
# The real Mathesar (0.11) with mathesar-init as PID 1: the official image's
# app layer (Django in /code, its BASE_DIR; Python 3.14 on Debian bookworm;
# PostgreSQL 17 from the PGDG repository, as the official image bundles) with
# its start script replaced by mathesar-init. The mathesar-init part is
# docker/Dockerfile's, which runs a stand-in app the same way and is tested.
#
# NOT BUILT OR TESTED on the project's machines (no image registry there);
# docker/test-image.sh tests docker/Dockerfile. Build from the repository root:
#
#   docker build -f docker/mathesar.Dockerfile -t mathesar:init .
#   # or, with binaries from `swift build -c release` on a bookworm host:
#   docker build -f docker/mathesar.Dockerfile --build-arg MATHESAR_INIT_BINARIES=prebuilt -t mathesar:init .
#
#   docker run -d --name mathesar -p 8000:8000 -v mathesar-data:/var/lib/postgresql mathesar:init
#
# With podman, add `--format docker`: the OCI image format has no HEALTHCHECK.
#
# What changes for someone coming from the official image:
# - One volume at /var/lib/postgresql, a path the official image declares:
#   mathesar-init keeps the bundled cluster in /var/lib/postgresql/mathesar
#   (the official PGDATA) and adds secrets/ (generated SECRET_KEY and database
#   password, unless given), media/ (uploads: MEDIA_ROOT points there) and its
#   lock file next to it.
# - An existing volume from the official image looks like this:
#     /var/lib/postgresql/mathesar      the cluster's data (pg_createcluster
#                                       17 mathesar), owned by its postgres
#     /etc/postgresql/17/mathesar       that cluster's postgresql.conf,
#                                       pg_hba.conf, pg_ident.conf: the image's
#                                       second VOLUME, anonymous unless it was
#                                       mounted (then recreating the container
#                                       lost it)
#     /code/.secrets/secret_key.txt     its SECRET_KEY, inside the container
#                                       unless /code/.secrets was mounted
#     /code/.media/                     uploads, likewise
#   Mount the same volumes at the same paths (`-v OLD:/var/lib/postgresql
#   -v OLD_ETC:/etc/postgresql -v OLD_SECRETS:/code/.secrets`): the cluster is
#   adopted, and the key is used and kept in secrets/ (the passwords Mathesar
#   stored are encrypted with it). Copy old uploads into the volume's media/.
# - POSTGRES_HOST set means an external server, and the bundled one is never
#   started; unset means the bundled server, reachable only inside the
#   container (Unix socket and 127.0.0.1), no longer on port 5432.
# - Migrations (`python -m mathesar.install`, which ignores any arguments) run
#   at boot before gunicorn starts, as MATHESAR_MIGRATE_COMMAND; then the
#   Mathesar SQL of every user database whose recorded version differs from
#   this release's is upgraded beside the running app, so nobody has to press
#   "upgrade" in the UI.
# - Static files are collected once, here at build time; boot skips it
#   (SKIP_STATIC_COLLECTION=true), instead of deleting and copying ~740 files
#   on every start.
# - The official image sets no STOPSIGNAL (the runtime's default SIGTERM) and
#   no init: here SIGTERM reaches mathesar-init, which stops gunicorn (its
#   master only, so that it stops its workers), then PostgreSQL with a fast
#   shutdown, within MATHESAR_STOP_TIMEOUT (9 s), under the runtime's default
#   10 s. If you raise MATHESAR_STOP_TIMEOUT, raise the runtime's timeout with it.
# - The app runs as the unprivileged user `mathesar` (uid/gid 1000; the
#   official image ran it as root) and cannot write to /code. Set
#   MATHESAR_APP_USER= (empty) to keep running it as root.

# Which stage provides /out/mathesar-init and /out/mathesar-init-db:
# `build` (compile here) or `prebuilt` (copy from the build context).
ARG MATHESAR_INIT_BINARIES=build
ARG SWIFT_IMAGE=swift:6.3.1-bookworm
ARG MATHESAR_IMAGE=mathesar/mathesar:0.11.0

# ---------------------------------------------------------------------------
# build: compile both executables with the Swift toolchain on Debian bookworm.
# The binaries run on a bookworm or a trixie runtime: mathesar-init is fully
# static, and mathesar-init-db links (besides glibc, libstdc++, libgcc_s) only
# libpq.so.5 and libcrypto.so.3, whose sonames and ABI trixie keeps (its libpq5
# is 17's; bookworm's glibc 2.36 symbols are all in trixie's 2.41). The
# runtime stage checks with ldd that every library resolves.
FROM ${SWIFT_IMAGE} AS build
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -q \
 && apt-get install -y -q --no-install-recommends libpq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
# the manifest declares the test target too: SwiftPM refuses a missing target dir
COPY Tests ./Tests
# Package.swift links mathesar-init with -static-executable and
# mathesar-init-db with -static-stdlib in release builds.
RUN swift build -c release \
 && bin="$(swift build -c release --show-bin-path)" \
 && install -D -m 0755 "$bin/mathesar-init" /out/mathesar-init \
 && install -D -m 0755 "$bin/mathesar-init-db" /out/mathesar-init-db

# ---------------------------------------------------------------------------
# prebuilt: binaries built on the host (`swift build -c release` at the repo
# root, on Debian bookworm or trixie, for the reasons above).
FROM scratch AS prebuilt
ARG MATHESAR_INIT_BINDIR=.build/release
COPY ${MATHESAR_INIT_BINDIR}/mathesar-init ${MATHESAR_INIT_BINDIR}/mathesar-init-db /out/

FROM ${MATHESAR_INIT_BINARIES} AS binaries

# ---------------------------------------------------------------------------
# runtime: the official image (Debian bookworm, the Swift stage's own system)
FROM ${MATHESAR_IMAGE} AS runtime
USER root

# The PostgreSQL major version the official image bundles.
ARG PG_MAJOR=17
# Fixed ID, so that a volume keeps its owners across image versions. The
# official image's `postgres` user stays as it is: mathesar-init gives the
# cluster to it at boot (ownership and mode 0700) when it runs as root.
ARG MATHESAR_UID=1000

# libpq5 for mathesar-init-db (already there with the image's PostgreSQL
# packages); the unprivileged app user with its fixed uid/gid.
RUN set -eux; \
    if ! ldconfig -p | grep -q 'libpq\.so\.5 '; then \
        apt-get update -q; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libpq5; \
        rm -rf /var/lib/apt/lists/*; \
    fi; \
    test -x "/usr/lib/postgresql/${PG_MAJOR}/bin/postgres"; \
    id postgres; \
    groupadd --gid "${MATHESAR_UID}" mathesar; \
    useradd --uid "${MATHESAR_UID}" --gid mathesar --create-home --home-dir /home/mathesar \
        --shell /usr/sbin/nologin --comment "Mathesar app" mathesar; \
    test "$(id -u mathesar):$(id -g mathesar)" = "${MATHESAR_UID}:${MATHESAR_UID}"; \
    mkdir -p /run/mathesar; \
    chmod 0755 /run/mathesar

# Static files into STATIC_ROOT (/code/static) once, at build time. The key
# given here exists only for this step (the settings want one, and would
# otherwise generate one into /code/.secrets, baking it into the image).
RUN set -eux; \
    cd /code; \
    SECRET_KEY=collectstatic-at-build-time-only DJANGO_SETTINGS_MODULE=config.settings.production \
        python manage.py collectstatic --noinput --clear --verbosity 0; \
    test -d /code/static; \
    test ! -e /code/.secrets/secret_key.txt

# The app-side Mathesar SQL upgrade (run by mathesar-init in the app's
# environment, with Mathesar's own models and installer).
COPY docker/app/mathesar_sql.py /usr/local/lib/mathesar-init/mathesar_sql.py

COPY --from=binaries /out/mathesar-init /out/mathesar-init-db /usr/local/bin/
# mathesar-init-db is dynamically linked to libpq5: fail the build, not the
# first boot, if anything it needs is missing or does not load.
RUN set -eux; \
    if ldd /usr/local/bin/mathesar-init-db | grep 'not found'; then exit 1; fi; \
    mathesar-init version; \
    mathesar-init-db version

# Only what differs from mathesar-init's defaults (see `mathesar-init config`).
# The official image puts /usr/lib/postgresql/$PG_MAJOR/bin on PATH and sets
# PGDATA; mathesar-init takes the newest /usr/lib/postgresql/*/bin itself.
# MEDIA_ROOT keeps mathesar-init's default, $MATHESAR_DATA_DIR/media/.
ENV MATHESAR_DATA_DIR=/var/lib/postgresql \
    PGDATA=/var/lib/postgresql/mathesar \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    SKIP_STATIC_COLLECTION=true \
    MATHESAR_APP_USER=mathesar \
    MATHESAR_MIGRATE_COMMAND="python -m mathesar.install" \
    MATHESAR_SQL_UPGRADE_COMMAND="python /usr/local/lib/mathesar-init/mathesar_sql.py"
# MATHESAR_HEALTHCHECK_URL keeps its default, http://127.0.0.1:8000/, which
# Mathesar answers with a redirect to its login page without touching the
# database: `healthcheck` counts a 3xx answer as a live app.

# Children run in this directory (mathesar.install and config.wsgi import
# from it).
WORKDIR /code

# The template cluster a first boot copies instead of running initdb and the
# migrate command (`mathesar-init prepare`: initdb with boot's settings, the
# role and internal database, the migrate command, a clean shutdown, then
# /usr/local/share/mathesar-init/template/{cluster,manifest.json}). It holds
# no secret: prepare's key and password are random and live only in this
# step's processes, and the template's role has no password at all (the
# first boot sets the generated one). MATHESAR_APP_FINGERPRINT_PATHS names
# the files that say the app changed: while they and the internal database's
# django_migrations are as the last successful run left them, boot skips the
# migrate command (MATHESAR_MIGRATE=changed).
ENV MATHESAR_APP_FINGERPRINT_PATHS=/code/mathesar/__init__.py:/code/mathesar/migrations
RUN set -eux; \
    mathesar-init prepare; \
    test -f /usr/local/share/mathesar-init/template/manifest.json; \
    test ! -e /usr/local/share/mathesar-init/template.prepare-incomplete
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["mathesar-init", "healthcheck"]
ENTRYPOINT ["mathesar-init"]
CMD ["gunicorn", "config.wsgi", "-b", "0.0.0.0:8000"]
