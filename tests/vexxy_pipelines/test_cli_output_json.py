"""`vexxy analyze --format json --fail-on fixed`: the statements on stdout, and exit 0 when no statement has
the status the gate names (the demo image has no fixed statement). One real analysis, run in this process
with its output captured at the descriptors, as a caller's pipe would see it."""

import json

import pytest

from vexxy.vex.summary import FAIL_ON_EXIT_CODE
from vexxy_pipelines.cli.main import main

pytestmark = pytest.mark.slow


def test_json_on_stdout_parses_and_the_gate_passes_without_a_matching_statement(demo_image, capfd):
    status = main(["analyze", f"{demo_image.name}:1.0", "--format", "json", "--fail-on", "fixed"])
    captured = capfd.readouterr()
    statements = json.loads(captured.out)  # stdout is the statements and nothing else
    assert {s["vulnerability"] for s in statements} == {"CVE-2020-28493", "CVE-2020-14343"}
    assert [s for s in statements if s["status"] == "fixed"] == []
    assert status == 0, captured.err[-3000:]
    assert "STEP_WORKER_STARTED" not in captured.err and " - DEBUG - " not in captured.err
    assert "Dagster's log: " in captured.err and FAIL_ON_EXIT_CODE == 3
