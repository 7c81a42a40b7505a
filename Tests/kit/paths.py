"""Where the things under test are."""
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The release build by default; MSI_BIN_DIR points the tests at other binaries.
BIN_DIR = Path(os.environ.get("MSI_BIN_DIR", REPO / ".build" / "release"))
INIT = BIN_DIR / "mathesar-init"
HELPER = BIN_DIR / "mathesar-init-db"
# The interpreter running the tests (the test venv's): the apps the tests start run with it too.
PYTHON = sys.executable
