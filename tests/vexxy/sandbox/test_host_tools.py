"""Every host program the local sandbox runs is one scripts/setup installs when it is missing, so a fresh
machine gets it from the one command the README gives (a minimal Debian image has no `sysctl`)."""

import dataclasses
import re
from pathlib import Path

from vexxy.sandbox.local.sandbox import HOST_TOOLS
from vexxy.sandbox.local.settings import SandboxSettings

SETUP = Path(__file__).resolve().parents[3] / "scripts" / "setup"


def test_setup_installs_every_tool_the_sandbox_runs():
    checked = set(re.findall(r"command -v ([\w.-]+) >/dev/null", SETUP.read_text()))
    runtime = {f.name: f.default for f in dataclasses.fields(SandboxSettings)}["runtime"]
    assert {runtime, *HOST_TOOLS} <= checked, sorted({runtime, *HOST_TOOLS} - checked)
