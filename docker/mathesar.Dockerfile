# syntax=docker/dockerfile:1
#
# The real Mathesar with mathesar-init as PID 1: the official image's app layer
# (Django in /code, gunicorn on :8000, PostgreSQL and Python already inside),
# with its entrypoint script replaced by mathesar-init. Only the app layer
# differs from docker/Dockerfile, whose demo app follows the same contract.
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
# What changes for someone coming from the official image:
# - One volume at /var/lib/postgresql, the path the official image already
#   declares: the existing cluster in /var/lib/postgresql/mathesar (the
#   official PGDATA) is adopted as is; mathesar-init adds secrets/ (generated
#   SECRET_KEY and database password, unless given), media/ and its lock file
#   next to it.
# - POSTGRES_HOST set means an external server, and the bundled one is never
#   started; unset means the bundled server, reachable only inside the
#   container (Unix socket and 127.0.0.1), no longer on port 5432.
# - Migrations (`python -m mathesar.install --skip-confirm`) run at every boot
#   before gunicorn starts, as MATHESAR_MIGRATE_COMMAND.
# - STOPSIGNAL is SIGTERM (the official image used SIGINT for PostgreSQL):
#   mathesar-init stops gunicorn, then PostgreSQL with a fast shutdown,
#   within MATHESAR_STOP_TIMEOUT (9 s), under the runtime's default 10 s.
# - The app runs as the unprivileged user `mathesar` (the official image ran
#   it as root). Set MATHESAR_APP_USER= (empty) to keep running it as root.

ARG MATHESAR_IMAGE=mathesar/mathesar:latest
ARG MATHESAR_INIT_BINARIES=build
ARG SWIFT_IMAGE=swift:6.3.1-bookworm

# Same as docker/Dockerfile's build stage. The official image is Debian
# bookworm based, so a bookworm toolchain links against its libpq5 ABI.
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
RUN swift build -c release \
 && bin="$(swift build -c release --show-bin-path)" \
 && install -D -m 0755 "$bin/mathesar-init" /out/mathesar-init \
 && install -D -m 0755 "$bin/mathesar-init-db" /out/mathesar-init-db

FROM scratch AS prebuilt
ARG MATHESAR_INIT_BINDIR=.build/release
COPY ${MATHESAR_INIT_BINDIR}/mathesar-init ${MATHESAR_INIT_BINDIR}/mathesar-init-db /out/

FROM ${MATHESAR_INIT_BINARIES} AS binaries

FROM ${MATHESAR_IMAGE}
USER root

# libpq5 for mathesar-init-db (usually already there, pulled in by the
# image's PostgreSQL packages); an unprivileged user for the app, owning what
# Django writes at runtime under /code (the price: one copy of /code in this
# layer).
RUN set -eux; \
    if ! ldconfig -p | grep -q 'libpq\.so\.5 '; then \
        apt-get update -q; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libpq5; \
        rm -rf /var/lib/apt/lists/*; \
    fi; \
    id postgres; \
    if ! id mathesar >/dev/null 2>&1; then \
        useradd --system --user-group --create-home --home-dir /home/mathesar \
            --shell /usr/sbin/nologin mathesar; \
    fi; \
    chown -R mathesar:mathesar /code; \
    mkdir -p /run/mathesar

COPY --from=binaries /out/mathesar-init /out/mathesar-init-db /usr/local/bin/
RUN set -eux; \
    if ldd /usr/local/bin/mathesar-init-db | grep 'not found'; then exit 1; fi; \
    mathesar-init version

# The official image puts /usr/lib/postgresql/$PG_MAJOR/bin on PATH and sets
# PGDATA; mathesar-init takes the newest /usr/lib/postgresql/*/bin itself.
ENV MATHESAR_DATA_DIR=/var/lib/postgresql \
    PGDATA=/var/lib/postgresql/mathesar \
    MATHESAR_APP_USER=mathesar \
    MATHESAR_MIGRATE_COMMAND="/usr/local/bin/python -m mathesar.install --skip-confirm"
# MATHESAR_HEALTHCHECK_URL keeps its default, http://127.0.0.1:8000/, which
# Mathesar answers with a redirect to its login page when nobody is logged
# in: `healthcheck` must count a 3xx answer as a live app.

# Children run in this directory (mathesar.install and config.wsgi import
# from it).
WORKDIR /code
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["mathesar-init", "healthcheck"]
ENTRYPOINT ["mathesar-init"]
CMD ["/usr/local/bin/gunicorn", "config.wsgi", "-b", "0.0.0.0:8000"]
