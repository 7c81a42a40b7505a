"""Mathesar's own SQL in the user databases: the variables of the retired
schema bundle are ignored with a warning."""
from harness import Init


def test_retired_schema_bundle_variables_warn_and_boot_goes_on(external_env, tmp_path):
    marker = tmp_path / "ran"
    env = external_env(MATHESAR_RESTART="never", MATHESAR_SCHEMA_DIR="/nonexistent/schema",
                       MATHESAR_SCHEMA_DATABASES="sales,mysql://x/y")
    init = Init(["run", "--", "touch", str(marker)], env)
    assert init.wait() == 0, init.output
    assert marker.exists()
    for name in ("MATHESAR_SCHEMA_DIR", "MATHESAR_SCHEMA_DATABASES"):
        assert f"{name} is no longer used and is ignored" in init.output, init.output
    assert "did you mean" not in init.output
