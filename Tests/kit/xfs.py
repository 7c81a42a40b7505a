"""An XFS filesystem with reflinks (`mkfs.xfs -m reflink=1`) on a loop
device: where `pg_upgrade --clone` can work. Made from a sparse file, so it
costs little disk; mounted with `mount -o loop` (the loop device is freed at
the unmount). A machine that cannot make one fails the test that needs it,
with the reason: clone mode is never silently left untested."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


class XfsLoop:
    """mount: the mounted filesystem's root (0755, root's)."""

    def __init__(self, size_mib=1024):
        self.image = Path(tempfile.mkstemp(prefix="msi-xfs-", suffix=".img")[1])
        self.mount = Path(tempfile.mkdtemp(prefix="msi-xfs-"))
        self.mounted = False
        try:
            os.truncate(self.image, size_mib << 20)
            self._run(["mkfs.xfs", "-q", "-f", "-m", "reflink=1", str(self.image)], "mkfs.xfs -m reflink=1 (is xfsprogs installed? ./dev setup installs it)")
            self._run(["mount", "-o", "loop", str(self.image), str(self.mount)], "mount -o loop (needs root and a loop device: /dev/loop-control)")
            self.mounted = True
            os.chmod(self.mount, 0o755)
            (self.mount / "probe").write_bytes(b"x" * 65536)
            self._run(["cp", "--reflink=always", str(self.mount / "probe"), str(self.mount / "probe.clone")], "cp --reflink=always on the new XFS")
            (self.mount / "probe").unlink()
            (self.mount / "probe.clone").unlink()
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _run(cmd, what):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"cannot make an XFS with reflinks for clone mode: {what} failed (exit {r.returncode}): {r.stderr.strip()}")

    def close(self):
        if self.mounted:
            subprocess.run(["umount", str(self.mount)], check=False)
            self.mounted = False
        self.image.unlink(missing_ok=True)
        shutil.rmtree(self.mount, ignore_errors=True)
