"""The stand-in answers where mathesar-init touches Mathesar the way Mathesar
does: its installer, its settings' defaults, uploads, "create new"."""
import filecmp
import re

import pytest

from standin import INTERNAL_PASSWORD, App, app_env, make_release, run_install, unique


def test_installer_applies_46_migrations_then_collects_static(pg, tmp):
    release = make_release(tmp / "app", 2)
    name = unique("fresh")
    pg.sql(f'CREATE DATABASE "{name}" OWNER mathesar')
    env = app_env(pg, name, password=INTERNAL_PASSWORD, SECRET_KEY="k")

    first = run_install(release, env)
    assert first.returncode == 0, first.stderr
    assert len(re.findall(r"^  Applying \S+\.\S+\.\.\. OK$", first.stdout, re.M)) == 46
    assert (release / "static" / "staticfiles.json").is_file()
    assert re.search(r"static files copied to '.*/static'", first.stdout)

    (release / "static" / "marker").write_text("left by a previous collect")
    again = run_install(release, {**env, "SKIP_STATIC_COLLECTION": "true"})
    assert again.returncode == 0, again.stderr
    assert "No migrations to apply." in again.stdout and "static files" not in again.stdout
    assert (release / "static" / "marker").exists()

    cleared = run_install(release, env)
    assert cleared.returncode == 0 and not (release / "static" / "marker").exists()


def test_root_redirects_to_login_without_any_database_and_hosts_are_checked(tmp):
    release = make_release(tmp / "app", 2)
    with App(release, app_env()) as app:  # no POSTGRES_*: Django has no database at all
        r = app.client().request("/")
        assert r.status == 302 and r.headers["Location"] == "/auth/login/?next=/"
        assert app.client().request("/", headers={"Host": "203.0.113.7:8000"}).status == 400
        assert app.client().request("/", headers={"Host": "mathesar.localhost"}).status == 302
    # No SECRET_KEY given: one was generated where Mathesar keeps it.
    assert len((release / ".secrets" / "secret_key.txt").read_text()) == 50

    with App(release, app_env(ALLOWED_HOSTS="203.0.113.7, example.org")) as app:
        assert app.client().request("/", headers={"Host": "203.0.113.7:8000"}).status == 302
        assert app.client().request("/").status == 400  # 127.0.0.1 is no longer listed


@pytest.mark.parametrize("media_root_set", [True, False])
def test_upload_lands_under_media_root(internal, tmp, media_root_set):
    release = make_release(tmp / "app", 2)
    media = tmp / "volume" / "media"
    env = internal(**({"MEDIA_ROOT": str(media)} if media_root_set else {}))
    expected_root = media if media_root_set else release / ".media"
    with App(release, env) as app:
        client = app.client()
        assert client.upload("x.csv", b"a\n").status == 403  # login first
        client.complete_installation("alice")
        r = client.upload("people.csv", b"name,age\nAda,36\n")
        assert r.status == 201, r.body
    assert r.json()["file"] == "alice/people.csv"
    assert (expected_root / "alice" / "people.csv").read_bytes() == b"name,age\nAda,36\n"


def test_create_new_stores_an_encrypted_password_and_installs_the_sql(pg, internal, tmp):
    release = make_release(tmp / "app", 2)
    env = internal()
    sales = unique("sales")
    with App(release, env) as app:
        client = app.client()
        assert client.rpc("databases.configured.list").status == 403  # no CSRF token: Django refuses
        client.request("/auth/login/")  # now with a CSRF cookie, but no session
        denied = client.rpc("databases.configured.list")
        assert denied.status == 403 and denied.json()["error"]["message"] == "login required"
        client.complete_installation()
        result = client.call("databases.setup.create_new", database=sales)
        listed = client.call("databases.configured.list")
        # The UI's "upgrade" button: re-installs as the stored owner of msar.
        assert client.call("databases.upgrade_sql", database_id=result["database"]["id"]) is None
    assert result["database"]["last_confirmed_sql_version"] == "0.11.0"
    assert result["configured_role"]["name"] == "mathesar"
    assert result["server"]["host"] == "127.0.0.1" and result["server"]["port"] == pg.port
    assert [(d["name"], d["needs_upgrade_attention"]) for d in listed] == [(sales, False)]

    stored = pg.sql("SELECT password FROM mathesar_configuredrole WHERE name = 'mathesar'", database=env["POSTGRES_DB"])
    assert stored and INTERNAL_PASSWORD not in stored and stored.startswith("gAAAA")  # a Fernet token
    assert pg.sql("SELECT msar.sql_version()", database=sales) == "0.11.0"
    assert pg.sql("SELECT count FROM __msar.install_count", database=sales) == "2"
    assert pg.sql("SELECT count(*) FROM pg_namespace WHERE nspname IN ('msar', '__msar', 'mathesar_types')",
                  database=sales) == "3"


def test_releases_differ_only_in_version_and_sql(tmp):
    one, two = make_release(tmp / "r1", 1), make_release(tmp / "r2", 2)
    files = lambda root: sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files(one) == files(two)
    differing = [f for f in files(one) if not filecmp.cmp(one / f, two / f, shallow=False)]
    assert differing == ["db/sql/05_msar.sql", "mathesar/__init__.py"]
    assert '__version__ = "0.10.0"' in (one / "mathesar/__init__.py").read_text()
    assert '__version__ = "0.11.0"' in (two / "mathesar/__init__.py").read_text()
