"""Sandboxes belong to one instance and are never forgotten: a killed run's sandbox is removed by its
watchdog (or, failing that, by the sweep), another instance's sweep leaves a live sandbox alone, and
a sandbox removed from outside fails its observation with the reason."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from host_leaks import assert_nothing_left, snapshot

from vexxy.sandbox.state import SandboxPaths, owner_alive
from vexxy.sandbox.sweep import leftovers, sweep

pytestmark = pytest.mark.slow

SCRIPT = """
import sys, time
from pathlib import Path
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.local.errors import SandboxRemoved
from vexxy.sandbox.local.sandbox import LocalSandbox
from vexxy.sandbox.local.settings import SandboxSettings
client = RegistryClient()
settings = SandboxSettings(
    state_dir=Path(sys.argv[1]), cache_dir=Path(sys.argv[2]), observation_seconds=120, quiet_seconds=120,
    hard_limit_seconds=float(sys.argv[4]),
)
sandbox = LocalSandbox(settings, client)
try:
    with sandbox.session(client.resolve(parse_reference(sys.argv[3]))) as workload:
        print("observing", flush=True)
        sandbox.observe(workload)
    print("completed", flush=True)
except SandboxRemoved as exc:
    print("removed:", exc, flush=True)
"""


def cache_dir() -> Path:
    return Path(os.environ["VEXXY_HOME"]) / "sandbox-cache"


def start(paths: SandboxPaths, image, hard_limit: float = 0) -> subprocess.Popen:
    cache = cache_dir()
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(paths.root), str(cache), image.canonical(), str(hard_limit)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "observing"
    return process


def clean(paths: SandboxPaths) -> bool:
    return all(not found for found in leftovers(paths).values())


def host(paths: SandboxPaths):
    """The whole host now, to compare with after the test."""
    return snapshot(paths.root, cache_dir())


def nothing_left(before, paths: SandboxPaths, what: str) -> None:
    assert_nothing_left(before, paths.root, cache_dir(), what)


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_watchdog_removes_the_sandbox_of_a_killed_run(tmp_path, demo_image):
    paths = SandboxPaths(tmp_path / "state")
    host_before = host(paths)
    process = start(paths, demo_image)
    (state,) = paths.read_states()
    assert state.watchdog_pid and owner_alive(state.watchdog_pid)
    assert os.getsid(state.watchdog_pid) != os.getsid(process.pid)  # not in the analysis's session
    assert Path(f"/proc/{state.watchdog_pid}/stat").read_text().rsplit(")", 1)[1].split()[1] != str(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert wait_for(lambda: clean(paths), 15), leftovers(paths)
    assert wait_for(lambda: not owner_alive(state.watchdog_pid), 5)
    nothing_left(host_before, paths, "the watchdog")


def test_sweep_removes_what_a_killed_run_left(tmp_path, demo_image):
    """With the watchdog gone too (killed with the run), the next sweep finds everything by its labels."""
    paths = SandboxPaths(tmp_path / "state")
    host_before = host(paths)
    process = start(paths, demo_image)
    (state,) = paths.read_states()
    os.kill(state.watchdog_pid, signal.SIGKILL)
    process.send_signal(signal.SIGKILL)
    process.wait()
    left = leftovers(paths)
    assert left["containers"] and left["netns"] and left["veths"] and left["mounts"] and left["cgroups"] and left["processes"]
    assert sweep(paths) == [state.sandbox_id]
    assert clean(paths), leftovers(paths)
    nothing_left(host_before, paths, "the sweep")


def test_sweep_spares_sandboxes_whose_owner_is_alive(tmp_path, demo_image):
    paths = SandboxPaths(tmp_path / "state")
    host_before = host(paths)
    process = start(paths, demo_image)
    try:
        assert sweep(paths) == []
        assert leftovers(paths)["containers"]
    finally:
        process.send_signal(signal.SIGTERM)  # the session turns SIGTERM into a clean teardown
        process.wait(timeout=60)
    assert clean(paths), leftovers(paths)
    nothing_left(host_before, paths, "the terminated session")


def test_another_instance_leaves_a_live_sandbox_alone(tmp_path, demo_image):
    """Even `vexxy sandbox sweep --all` from a second home touches nothing of the first."""
    mine, other = SandboxPaths(tmp_path / "home-a" / "sandbox"), SandboxPaths(tmp_path / "home-b" / "sandbox")
    assert mine.instance != other.instance
    host_before = host(mine)
    process = start(mine, demo_image)
    try:
        before = leftovers(mine)
        assert before["containers"] and before["processes"] and before["netns"] and before["veths"]
        assert clean(other)
        assert sweep(other) == [] and sweep(other, only_orphans=False) == []
        assert leftovers(mine) == before
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert process.stdout.read().strip() == ""  # interrupted by SIGTERM, never "removed"
    assert clean(mine), leftovers(mine)
    nothing_left(host_before, mine, "the session beside another instance")


def test_a_sandbox_removed_from_outside_fails_the_observation(tmp_path, demo_image):
    paths = SandboxPaths(tmp_path / "state")
    host_before = host(paths)
    process = start(paths, demo_image)
    time.sleep(1)
    assert len(sweep(paths, only_orphans=False)) == 1  # `vexxy sandbox sweep --all`, from another process
    output, _ = process.communicate(timeout=60)
    assert output.startswith("removed: The sandbox of ") and "removed from outside" in output, output
    assert "removed by a sweep of every sandbox" in output and "completed" not in output
    assert clean(paths) and not list(paths.states.iterdir()), leftovers(paths)
    nothing_left(host_before, paths, "the sandbox removed from outside")


def test_the_watchdog_enforces_the_hard_wall_clock_limit(tmp_path, demo_image):
    paths = SandboxPaths(tmp_path / "state")
    host_before = host(paths)
    started = time.monotonic()
    process = start(paths, demo_image, hard_limit=8)
    output, _ = process.communicate(timeout=60)
    assert "the sandbox watchdog removed it: it ran past its hard wall-clock limit (8 s)" in output, output
    assert time.monotonic() - started < 30
    assert clean(paths) and not list(paths.states.iterdir()), leftovers(paths)
    nothing_left(host_before, paths, "the watchdog at the hard limit")
