"""A data directory and run directory for one test."""
import json
from pathlib import Path

from kit.env import clean_env
from kit.postgres import controldata_state


class Volume:
    """root/data (MATHESAR_DATA_DIR, the Docker volume), root/run (MATHESAR_RUN_DIR)."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.run = root / "run"
        self.pgdata = self.data / "postgres"

    def env(self, **extra):
        return clean_env(**{"MATHESAR_DATA_DIR": self.data, "MATHESAR_RUN_DIR": self.run, **extra})

    def status(self):
        try:
            return json.loads((self.run / "status.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def controldata_state(self):
        return controldata_state(self.pgdata)

    def snapshot(self):
        """Every path below the root with its size and mtime, to prove nothing changed."""
        result = {}
        for path in sorted(self.root.rglob("*")):
            st = path.lstat()
            result[str(path.relative_to(self.root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
        return result
