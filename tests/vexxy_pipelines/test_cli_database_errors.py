"""The CLI with a database that does not answer: it says which variable points where and what to do,
exits 2, and prints no traceback (nor the password in the URL)."""

import os
import subprocess
import sys
from pathlib import Path

from ports import closed_port

ROOT = Path(__file__).resolve().parents[2]


def vexxy(tmp_path, *argv, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DAGSTER_PG_URL")}
    environment.update({"VEXXY_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "dagster"), "COLUMNS": "200", **env})
    return subprocess.run(
        [sys.executable, "-m", "vexxy_pipelines.cli", *argv],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_clear(result, variable: str, where: str, what: str):
    assert result.returncode == 2, result.stderr
    err = " ".join(result.stderr.split())
    assert f"{what} at {where} ({variable}) is not reachable" in err, err
    assert "what to do:" in err and variable in err.split("what to do:", 1)[1]
    assert "Traceback" not in result.stderr and "s3cret-pw" not in result.stderr


def test_application_database_down(tmp_path):
    port = closed_port()
    result = vexxy(tmp_path, "appdb", "upgrade", DATABASE_URL=f"postgresql://vexxy:s3cret-pw@127.0.0.1:{port}/vexxy")
    assert_clear(result, "DATABASE_URL", f"127.0.0.1:{port}/vexxy", "The application database")


def test_dagster_storage_down(tmp_path):
    port = closed_port()
    result = vexxy(tmp_path, "db", "update", DAGSTER_PG_URL=f"postgresql://dagster:s3cret-pw@127.0.0.1:{port}/dagster")
    assert_clear(result, "DAGSTER_PG_URL", f"127.0.0.1:{port}/dagster", "Dagster's storage")


def test_dagster_storage_down_through_database_url(tmp_path):
    """Without DAGSTER_PG_URL, Dagster's storage follows DATABASE_URL: that is the variable named."""
    port = closed_port()
    result = vexxy(tmp_path, "db", "update", DATABASE_URL=f"postgresql://vexxy:s3cret-pw@127.0.0.1:{port}/vexxy")
    assert_clear(result, "DATABASE_URL", f"127.0.0.1:{port}/vexxy", "Dagster's storage")


def test_analyze_checks_the_application_database_before_it_starts(tmp_path):
    """billing_record writes the ledger at the end: a database that is down is said before any work."""
    port = closed_port()
    result = vexxy(
        tmp_path, "analyze", "registry.example/team/app:1", DATABASE_URL=f"postgresql://vexxy:s3cret-pw@127.0.0.1:{port}/vexxy"
    )
    assert_clear(result, "DATABASE_URL", f"127.0.0.1:{port}/vexxy", "The application database")
    assert "Resolving" not in result.stderr


def test_ui_does_not_start_on_a_storage_that_is_down(tmp_path):
    port = closed_port()
    result = vexxy(
        tmp_path, "ui", "--port", str(closed_port()), DAGSTER_PG_URL=f"postgresql://dagster:s3cret-pw@127.0.0.1:{port}/dagster"
    )
    assert_clear(result, "DAGSTER_PG_URL", f"127.0.0.1:{port}/dagster", "Dagster's storage")
