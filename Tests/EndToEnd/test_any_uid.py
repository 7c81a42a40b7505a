"""PID 1 as an arbitrary uid with no passwd entry and gid 0 (`docker run
--user 12345:0`, OpenShift's restricted policy), bundled PostgreSQL
included: PostgreSQL's programs still look their user up, and find the
entry mathesar-init gives them through nss_wrapper."""
import os
import pwd
import signal
from pathlib import Path

import pytest

from harness import INIT, Init, free_port

UID = 12345
PSQL = "/usr/lib/postgresql/15/bin/psql"
# The app: psql with exactly the POSTGRES_* it was given (the test venv's
# python lives under root's 0700 home, out of this uid's reach).
DB_APP = ["/bin/sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" exec ' + PSQL + ' -X -At -v ON_ERROR_STOP=1 '
          '-h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$SQL" && exec sleep "${SLEEP:-0}"']
WRAPPER = Path("/usr/lib/x86_64-linux-gnu/libnss_wrapper.so")


@pytest.fixture
def uid_volume(volume):
    # As OpenShift gives it: the volume root-owned, group 0 writable; the run dir likewise.
    with pytest.raises(KeyError):
        pwd.getpwuid(UID)
    for d in (volume.data, volume.run):
        d.mkdir()
        os.chown(d, 0, 0)
        os.chmod(d, 0o770)
    return volume


def boot(volume, port, *command, **extra):
    """PID 1 is mathesar-init itself: setpriv drops to the uid and execs it."""
    env = volume.env(POSTGRES_PORT=port, MATHESAR_RESTART="never", **extra)
    return Init([f"--reuid={UID}", "--regid=0", "--clear-groups", str(INIT), "run", "--", *(command or DB_APP)], env,
                binary="setpriv")


@pytest.mark.skipif(not WRAPPER.exists(), reason="libnss-wrapper is not installed (./dev setup installs it)")
def test_bundled_mode_as_a_uid_with_no_passwd_entry(uid_volume):
    volume, port = uid_volume, free_port()
    write = "CREATE TABLE t (v text); INSERT INTO t VALUES ('row-uid'); SELECT 'wrote ' || v FROM t"
    init = boot(volume, port, SQL=write, SLEEP="60")
    init.wait_for("wrote row-uid")
    assert f"uid {UID} has no passwd entry: PostgreSQL's programs get one from nss_wrapper" in init.output
    assert "created a PostgreSQL" in init.output
    # every process runs as the uid (nothing could switch), and postgres is among them
    procs = init.descendants()
    assert any(comm == "postgres" for _, _, comm in procs), procs
    for pid, _, comm in procs:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue  # a backend that just ended
        uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
        assert uids == [str(UID)] * 4, (pid, comm, uids)
    assert init.proc_status("Uid").split() == [str(UID)] * 4
    # PostgreSQL's check stayed on: the entry it found is the one written for it
    entry = (volume.run / "nss" / "passwd").read_text()
    assert entry.startswith(f"postgres:x:{UID}:0:")
    init.signal(signal.SIGTERM)
    assert init.wait() == 0, init.output
    assert volume.controldata_state() == "shut down"
    st = volume.pgdata.stat()
    assert (st.st_uid, st.st_gid) == (UID, 0)

    # a second boot (same volume, fresh run dir contents kept) reads what the first wrote
    second = boot(volume, port, SQL="SELECT 'rows=' || string_agg(v, ',') FROM t")
    assert second.wait(60) == 0, second.output
    assert "rows=row-uid" in second.output
