"""Installs the stand-in's SQL (schemas msar, __msar, mathesar_types) into a
user database. Every file is run, in name order, on the caller's connection:
the caller's transaction makes the whole install atomic."""
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent
SCHEMAS = ["msar", "__msar", "mathesar_types"]


def install_files():
    return sorted(p for p in SQL_DIR.glob("*.sql"))


def install(conn):
    """Drop and re-create every msar object (the first file drops them)."""
    for path in install_files():
        conn.execute(path.read_bytes())


def uninstall(conn, schemas_to_remove=SCHEMAS, strict=True):
    """Remove the schemas; with strict, a missing one is an error."""
    for name in schemas_to_remove:
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name]).fetchone()
        if exists is None:
            if strict:
                raise ValueError(f"schema {name} is not installed")
            continue
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')
