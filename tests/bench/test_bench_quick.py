"""The benchmark command, at toy scale, so it cannot rot: every part runs and the table is printed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_command_prints_its_table_of_ratios():
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=1500, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stderr[-4000:]
    table = result.stdout
    assert table.startswith("| measure | figures | target | ratio |")
    for measure in (
        "time-to-VEX, demo image, warm cache",
        "time-to-VEX, demo image, cold cache",
        "1 000-component SBOM × 1,000 advisories",
        "1 000-component SBOM × 4,000 advisories",
        "matching time growth with the corpus",
        "refresh of 12 analyzed partitions",
        "tracer overhead, file-heavy app",
        "tracer overhead, exec-heavy app",
    ):
        assert measure in table, table
    assert len(table.splitlines()) == 2 + 8
