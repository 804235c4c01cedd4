"""A run killed with SIGKILL leaves a sandbox behind; the sweep finds it by its labels and removes it."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vexxy.sandbox.state import SandboxPaths
from vexxy.sandbox.sweep import leftovers, sweep

pytestmark = pytest.mark.slow

SCRIPT = """
import sys, time
from pathlib import Path
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.local import LocalSandbox, SandboxSettings
client = RegistryClient()
sandbox = LocalSandbox(SandboxSettings(state_dir=Path(sys.argv[1]), cache_dir=Path(sys.argv[2])), client)
with sandbox.session(client.resolve(parse_reference(sys.argv[3]))) as workload:
    print("observing", flush=True)
    time.sleep(600)
"""


def test_sweep_removes_what_a_killed_run_left(tmp_path, demo_image):
    paths = SandboxPaths(tmp_path / "state")
    cache = Path(os.environ["VEXXY_HOME"]) / "sandbox-cache"
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(paths.root), str(cache), demo_image.canonical()], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "observing"
    process.send_signal(signal.SIGKILL)
    process.wait()
    left = leftovers(paths)
    assert left["containers"] and left["netns"] and left["mounts"] and left["cgroups"] and left["processes"]
    assert len(sweep(paths)) == 1
    assert all(not found for found in leftovers(paths).values()), leftovers(paths)


def test_sweep_spares_sandboxes_whose_owner_is_alive(tmp_path, demo_image):
    paths = SandboxPaths(tmp_path / "state")
    cache = Path(os.environ["VEXXY_HOME"]) / "sandbox-cache"
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(paths.root), str(cache), demo_image.canonical()], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "observing"
        assert sweep(paths) == []
        assert leftovers(paths)["containers"]
    finally:
        process.send_signal(signal.SIGTERM)  # the session turns SIGTERM into a clean teardown
        process.wait(timeout=60)
    assert all(not found for found in leftovers(paths).values()), leftovers(paths)
