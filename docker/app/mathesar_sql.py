"""Upgrades Mathesar's own SQL (schemas msar, __msar, mathesar_types) in the
user databases Mathesar knows, through Mathesar's own models, so that nobody
has to press "upgrade" per database in the UI.

Run in the app's environment, with the app's directory (Mathesar's BASE_DIR,
/code in its image) as the working directory:

    python mathesar_sql.py upgrade [--database NAME]
    python mathesar_sql.py status
    python mathesar_sql.py uninstall --database NAME
    MSI_ROLE=... MSI_NEW_PASSWORD=... python mathesar_sql.py set-role-password

It uses only what Mathesar's `mathesar.models.base` provides (`Database` with
`last_confirmed_sql_version`, `install_sql()`, `uninstall_sql()`,
`ConfiguredRole`, `UserDatabaseRoleMap`) and `mathesar.__version__`.

Output: one JSON object per database (or per action) on stdout, one line
each, flushed as it happens. No password is ever printed. Exit status: 0 when
the internal database was usable (a user database that fails is reported in
its line, and the next one is tried), 1 with one line on stderr when the app
or its internal database is unusable, 2 for a usage error.
"""
import argparse
import json
import os
import re
import sys
import time

# Advisory lock key on the internal database: (this class, Database.id). The
# same key serialises replicas that boot at once and the UI's own upgrade.
LOCK_CLASS = 0x4D534152  # "MSAR"
# How long libpq may try to reach one user database before it counts as
# unreachable (libpq's own variable; a value already set wins).
DEFAULT_CONNECT_TIMEOUT = "10"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class Fatal(Exception):
    """The app or its internal database cannot be used: nothing can be done."""


def emit(record):
    print(json.dumps(record), flush=True)


def one_line(text):
    return re.sub(r"\s+", " ", str(text)).strip()


class Secrets:
    """Passwords that must never appear in what is printed."""

    def __init__(self):
        self.values = set()

    def add(self, value):
        if value and len(value) >= 3:
            self.values.add(value)

    def scrub(self, text):
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, "[password]")
        return text


def load_app():
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    os.environ.setdefault("PGCONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)
    try:
        import django
        django.setup()
        import mathesar
        from mathesar.models import base
    except Exception as e:
        raise Fatal(f"cannot load the app from {os.getcwd()} with DJANGO_SETTINGS_MODULE="
                    f"{os.environ['DJANGO_SETTINGS_MODULE']}: {type(e).__name__}: {one_line(e)}")
    return mathesar.__version__, base


class Internal:
    """The internal database, through Django's own connection (so that the
    advisory lock and the app's queries share one session)."""

    def __init__(self, secrets):
        from django.conf import settings
        from django.db import connection
        self.connection = connection
        self.settings = settings.DATABASES.get("default") or {}
        # Django stands in a "dummy" engine when the app configured none.
        if not self.settings.get("ENGINE", "").startswith("django.db.backends.postgresql"):
            raise Fatal("the app has no internal database: POSTGRES_DB, POSTGRES_USER and POSTGRES_HOST must all "
                        "be set in its environment")
        secrets.add(self.settings.get("PASSWORD"))
        self.secrets = secrets

    def query(self, statement, params=()):
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(statement, params)
                return cursor.fetchone()
        except Exception as e:
            raise Fatal(self.describe(e))

    def describe(self, e):
        s = self.settings
        where = f"database {s.get('NAME')} on {s.get('HOST')}:{s.get('PORT') or 5432} as {s.get('USER')}"
        return self.secrets.scrub(f"the internal database is unusable ({where}): {type(e).__name__}: {one_line(e)}")

    def check(self):
        self.query("SELECT 1")

    def lock(self, database_id):
        self.query("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, database_id))

    def unlock(self, database_id):
        self.query("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, database_id))


def failure_reason(base, database, exc, secrets):
    """Why an install failed, in one line. Mathesar's "no connection" errors
    carry no message, so then the stored connections are tried for the cause."""
    kind = type(exc).__name__
    text = one_line(exc)
    if not text and kind == "NoConnectionAvailable":
        text = "Mathesar has no stored connection to it"
        for role_map in base.UserDatabaseRoleMap.objects.filter(database=database).select_related("configured_role"):
            try:
                with role_map.connection as conn:
                    installed = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'msar'").fetchone()
            except Exception as e:
                text = f"as role {role_map.configured_role.name}: {one_line(e)}"
                break
            if installed is None:
                text = ("schema msar is not installed there, so the role to install it as is unknown; "
                        "install it from Mathesar's UI with a role's password")
                break
    elif not text and kind == "NoAdminConnectionAvailable":
        text = "Mathesar has no stored password for the role that owns schema msar"
    return secrets.scrub(f"{kind}: {text}" if text else kind)


def remember_stored_passwords(base, database, secrets):
    for role in base.ConfiguredRole.objects.filter(server=database.server):
        secrets.add(role.password)


def select(base, name):
    databases = base.Database.objects.select_related("server").order_by("id")
    if name is not None:
        databases = databases.filter(name=name)
        if not databases.exists():
            print(f"mathesar_sql: no database named {name!r} is configured in Mathesar "
                  f"(see `mathesar_sql.py status`)", file=sys.stderr)
            sys.exit(2)
    return list(databases)


def server_of(database):
    return f"{database.server.host}:{database.server.port or 5432}"


def upgrade(base, version, internal, secrets, name):
    for listed in select(base, name):
        line = {"database": listed.name, "id": listed.id, "server": server_of(listed),
                "from": listed.last_confirmed_sql_version, "to": version}
        if listed.last_confirmed_sql_version == version:
            emit({**line, "result": "current", "ms": 0})
            continue
        internal.lock(listed.id)
        start = time.monotonic()  # the install's own time, not the wait for the lock
        try:
            # Another replica may have upgraded it while this one waited.
            database = base.Database.objects.select_related("server").filter(id=listed.id).first()
            if database is None:
                emit({**line, "result": "failed", "ms": ms_since(start),
                      "error": "removed from Mathesar while waiting for the upgrade lock"})
                continue
            line["from"] = database.last_confirmed_sql_version
            if database.last_confirmed_sql_version == version:
                emit({**line, "result": "current", "ms": ms_since(start)})
                continue
            remember_stored_passwords(base, database, secrets)
            try:
                database.install_sql()
            except Exception as e:
                internal.check()
                emit({**line, "result": "failed", "ms": ms_since(start),
                      "error": failure_reason(base, database, e, secrets)})
                continue
            emit({**line, "result": "upgraded", "ms": ms_since(start)})
        finally:
            internal.unlock(listed.id)


def status(base, version):
    for database in select(base, None):
        emit({"database": database.name, "id": database.id, "server": server_of(database),
              "version": database.last_confirmed_sql_version, "app_version": version,
              "needs_upgrade": database.last_confirmed_sql_version != version})


def uninstall(base, internal, secrets, name):
    for listed in select(base, name):
        line = {"database": listed.name, "id": listed.id, "server": server_of(listed)}
        internal.lock(listed.id)
        start = time.monotonic()
        try:
            database = base.Database.objects.select_related("server").get(id=listed.id)
            remember_stored_passwords(base, database, secrets)
            try:
                database.uninstall_sql()
            except Exception as e:
                internal.check()
                emit({**line, "result": "failed", "ms": ms_since(start),
                      "error": failure_reason(base, database, e, secrets)})
                continue
            # The model's "never installed" value, so that status and the UI
            # say the SQL is missing rather than current.
            database.last_confirmed_sql_version = "0.0.0"
            database.save(update_fields=["last_confirmed_sql_version", "updated_at"])
            emit({**line, "result": "uninstalled", "ms": ms_since(start)})
        finally:
            internal.unlock(listed.id)


def set_role_password(base, internal, secrets):
    """Store a role's new password for every Server that is the internal one
    (the bundled server, reached over loopback or POSTGRES_HOST)."""
    role = os.environ.get("MSI_ROLE", "")
    password = os.environ.get("MSI_NEW_PASSWORD", "")
    missing = [n for n, v in (("MSI_ROLE", role), ("MSI_NEW_PASSWORD", password)) if not v]
    if missing:
        print(f"mathesar_sql: set-role-password needs {' and '.join(missing)} in the environment "
              f"(never on the command line)", file=sys.stderr)
        sys.exit(2)
    secrets.add(password)
    hosts = LOOPBACK_HOSTS | {internal.settings.get("HOST")}
    port = int(internal.settings.get("PORT") or 5432)
    updated = 0
    for stored in base.ConfiguredRole.objects.filter(name=role, server__host__in=hosts).select_related("server"):
        # A server stored without a port is reached on libpq's default 5432.
        if (stored.server.port or 5432) != port:
            continue
        stored.password = password
        stored.save(update_fields=["password", "updated_at"])
        updated += 1
    emit({"role": role, "updated": updated})


def ms_since(start):
    return round((time.monotonic() - start) * 1000)


def parse(argv):
    parser = argparse.ArgumentParser(prog="mathesar_sql.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("upgrade", help="install the app's SQL version where it differs")
    up.add_argument("--database", help="only this database (by name)")
    commands.add_parser("status", help="each database's recorded SQL version")
    rm = commands.add_parser("uninstall", help="remove the SQL from one database")
    rm.add_argument("--database", required=True, help="the database (by name)")
    commands.add_parser("set-role-password", help="store MSI_NEW_PASSWORD for role MSI_ROLE on the internal server")
    return parser.parse_args(argv)


def main(argv):
    args = parse(argv)
    secrets = Secrets()
    try:
        version, base = load_app()
        internal = Internal(secrets)
        internal.check()
        try:
            base.Database.objects.exists()
        except Exception as e:
            raise Fatal(internal.describe(e) + " (have the migrations run?)")
        if args.command == "upgrade":
            upgrade(base, version, internal, secrets, args.database)
        elif args.command == "status":
            status(base, version)
        elif args.command == "uninstall":
            uninstall(base, internal, secrets, args.database)
        else:
            set_role_password(base, internal, secrets)
    except Fatal as e:
        print(f"mathesar_sql: {secrets.scrub(str(e))}", file=sys.stderr)
        return 1
    except Exception as e:
        from django.db import DatabaseError
        if not isinstance(e, DatabaseError):
            raise
        # The app's own queries failed: the internal database went away.
        print(f"mathesar_sql: {internal.describe(e)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
