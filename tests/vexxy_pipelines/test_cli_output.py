"""`vexxy analyze` in a pipeline: its progress without Dagster's log lines (they go to a log file it names),
SARIF on stdout that validates, `--fail-on` gating with its own exit status, `--out` holding every document
the run wrote, and settings in error said in one line before anything runs.

One real analysis of the demo image, as a pipeline step runs it: a separate process whose stdout and stderr
are captured."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vexxy.evidence import documents
from vexxy.fuzzing.sarif import sarif_errors
from vexxy.vex.summary import FAIL_ON_EXIT_CODE
from vexxy_pipelines.cli.image_analysis import LOG_NAME, out_files
from vexxy_pipelines.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
DAGSTER_LINES = ("STEP_WORKER_STARTED", "STEP_START", " - DEBUG - ", " - INFO - ", "dagster - ")


def vexxy(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vexxy_pipelines.cli", *args],
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def sarif_run(demo_image, tmp_path_factory):
    """`vexxy analyze IMAGE --format sarif --fail-on affected --out DIR`: (the finished process, DIR)."""
    out = tmp_path_factory.mktemp("sarif-run")
    return vexxy("analyze", f"{demo_image.name}:1.0", "--format", "sarif", "--fail-on", "affected", "--out", str(out)), out


@pytest.mark.slow
def test_sarif_on_stdout_validates_and_holds_the_affected_statements(sarif_run):
    process, out = sarif_run
    assert process.returncode in (0, FAIL_ON_EXIT_CODE), process.stderr[-3000:]
    sarif = json.loads(process.stdout)  # stdout is the document and nothing else
    assert sarif_errors(sarif) == []
    statements = json.loads((out / "vex.statements.json").read_text())
    open_ones = {
        (s["vulnerability"], s["component_purl"]) for s in statements if s["status"] in ("affected", "under_investigation")
    }
    results = sarif["runs"][0]["results"]
    assert {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in results} == open_ones
    assert ("CVE-2020-28493", "pkg:pypi/jinja2@2.11.2") in open_ones  # the demo's Jinja2 is loaded: affected
    assert {r["level"] for r in results if r["properties"]["status"] == "affected"} == {"error"}


@pytest.mark.slow
def test_fail_on_affected_exits_with_its_status_exactly_when_a_statement_is_affected(sarif_run):
    process, out = sarif_run
    affected = [s for s in json.loads((out / "vex.statements.json").read_text()) if s["status"] == "affected"]
    assert affected  # the demo always has one; the other half of "exactly" is test_cli_output_json's
    assert process.returncode == FAIL_ON_EXIT_CODE, process.stderr[-3000:]
    err = " ".join(process.stderr.split())
    assert f"--fail-on affected: {len(affected)} statement(s)" in err and "CVE-2020-28493" in err


@pytest.mark.slow
def test_progress_has_no_dagster_log_line_and_names_the_log_file(sarif_run):
    process, out = sarif_run
    for line in DAGSTER_LINES:
        assert line not in process.stdout and line not in process.stderr, line
    assert "Traceback" not in process.stderr
    log = out / LOG_NAME
    assert f"Dagster's log: {log}" in " ".join(process.stderr.split())
    assert "STEP_WORKER_STARTED" in log.read_text()  # where Dagster's lines went
    assert "✓ vex_document" in process.stderr  # the CLI's own progress still reached the terminal
    assert "VEX statements" in process.stderr and "jinja2@2.11.2" in process.stderr  # the summary, beside stdout


@pytest.mark.slow
def test_out_holds_every_document_the_run_wrote(sarif_run):
    process, out = sarif_run
    written = {p.name for p in out.iterdir()} - {LOG_NAME}
    names = {name for name, document in out_files().items()}
    assert written <= names
    for document in (documents.AUDIT_REPORT, documents.VEX_LINEAGE, documents.VEX_STATEMENTS, documents.IMAGE):
        assert document.name in written, document.name
    for name in ("openvex.json", "cyclonedx-vex.json", "sbom.cdx.json", "vulnerabilities.json", "execution_profile.json"):
        assert name in written
    assert "<html" in (out / "audit_report.html").read_text().lower()
    assert f"{len(written)} in {out}" in " ".join(process.stderr.split())


def test_out_names_cover_every_document_of_a_run():
    names = out_files()
    assert set(names.values()) == {d for d in documents.CATALOGUE if d.scope is documents.Scope.RUN}
    assert len(set(names)) == len(names) and names["openvex.json"] is documents.OPENVEX


def test_an_observation_window_that_is_not_a_number_is_one_line_and_no_trace():
    process = vexxy("analyze", "127.0.0.1:1/team/app:1", env={"VEXXY_OBSERVATION_SECONDS": "abc"}, timeout=120)
    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == [
        "error: VEXXY_OBSERVATION_SECONDS='abc' is not a whole number: set it to one, or unset it for the default."
    ]
    assert process.stdout == ""


def test_a_missing_advisory_source_is_said_before_anything_runs(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("VEXXY_OSV_SOURCE", str(tmp_path / "absent"))
    for command in (["analyze", "127.0.0.1:1/team/app:1"], ["db", "update"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert f"VEXXY_OSV_SOURCE names {tmp_path / 'absent'}, which does not exist" in err and "Resolving" not in err


def test_an_unknown_fuzzer_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("VEXXY_FUZZER", "burp")
    assert main(["analyze", "127.0.0.1:1/team/app:1"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "error: VEXXY_FUZZER='burp' is not one of wapiti, zap, none: correct it, or unset it for the default."
    ]
