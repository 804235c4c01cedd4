"""What `./scripts/demo` runs, on the embedded defaults a new user has: a fresh VEXXY_HOME, no
DATABASE_URL, no DAGSTER_PG_URL, no DAGSTER_HOME, so Dagster's storage and the application database
are both SQLite files. It must end with the VEX path and exit 0, and the VEX must be right."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from ports import free_port

from appdb.migrate import MIGRATIONS, VERSION_TABLE
from vexxy.demo.registry import LocalRegistry

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SERVER_SETTINGS = ("DATABASE_URL", "DAGSTER_PG_URL", "DAGSTER_HOME", "VEXXY_EVIDENCE_DIR", "VEXXY_DEPLOYMENT", "VEXXY_OSV_SOURCE")


def test_demo_on_sqlite_defaults(tmp_path):
    home, out = tmp_path / "home", tmp_path / "out"
    environment = {k: v for k, v in os.environ.items() if k not in SERVER_SETTINGS}
    # The observation window is shortened as everywhere in the suite; nothing else differs from the demo.
    environment.update({"VEXXY_HOME": str(home), "VEXXY_OBSERVATION_SECONDS": "20", "VEXXY_QUIET_SECONDS": "4"})
    port = free_port()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "vexxy_pipelines.cli", "demo", "--port", str(port), "--out", str(out)],
            env=environment,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        LocalRegistry(root=home / "registry", port=port).stop()  # the demo leaves its registry up for the user
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == f"VEX: {out / 'openvex.json'}"
    assert "Traceback" not in result.stderr

    openvex = json.loads((out / "openvex.json").read_text())
    by_package = {s["products"][0]["subcomponents"][0]["@id"]: s for s in openvex["statements"]}
    jinja, pyyaml = by_package["pkg:pypi/jinja2@2.11.2"], by_package["pkg:pypi/pyyaml@5.3.1"]
    assert jinja["status"] == "affected"
    assert pyyaml["status"] == "not_affected" and pyyaml["justification"] == "vulnerable_code_not_in_execute_path"
    for name in ("cyclonedx-vex.json", "sbom.cdx.json", "sbom.filtered.cdx.json", "execution_profile.json"):
        assert (out / name).stat().st_size > 0

    # Both stores really were the SQLite defaults, and billing_record wrote its ledger row there.
    assert "postgres" not in (home / "dagster" / "dagster.yaml").read_text()
    assert (home / "dagster" / "history" / "runs.db").exists()
    with sqlite3.connect(home / "vexxy.db") as app_db:
        assert app_db.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall() == [
            (ScriptDirectory(str(MIGRATIONS)).get_current_head(),)
        ]
        assert app_db.execute("SELECT kind, status FROM billing_events").fetchall() == [("internal_analysis", "recorded")]
