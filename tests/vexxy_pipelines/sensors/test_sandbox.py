"""The daemon's sandbox sweep: it removes this instance's sandboxes whose analysis or run ended, and no other."""

import os
import subprocess
import sys
import time

from dagster import DagsterRunStatus, SkipReason, build_sensor_context
from dagster._core.storage.dagster_run import DagsterRun

from vexxy.sandbox.state import SandboxPaths, SandboxState, process_start
from vexxy_pipelines.resources.sandbox import LocalSandboxResource
from vexxy_pipelines.sensors.sandbox import sandbox_sweep_sensor


def state(paths: SandboxPaths, owner: int, run_id: str, deadline: float = 0.0) -> str:
    sandbox_id = paths.new_sandbox_id()
    paths.run_dir(sandbox_id).mkdir(parents=True)
    now = time.time()
    paths.write_state(
        SandboxState(sandbox_id, owner, str(paths.run_dir(sandbox_id)), "img", now, process_start(owner), run_id, deadline)
    )
    return sandbox_id


def test_sweep_sensor_removes_sandboxes_whose_run_or_owner_ended(tmp_path, instance):
    paths, other = SandboxPaths(tmp_path / "a"), SandboxPaths(tmp_path / "b")
    running = instance.add_run(DagsterRun(job_name="analyze_image", status=DagsterRunStatus.STARTED))
    failed = instance.add_run(DagsterRun(job_name="analyze_image", status=DagsterRunStatus.FAILURE))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    me = os.getpid()
    live = state(paths, me, running.run_id)
    run_ended = state(paths, me, failed.run_id)
    owner_dead = state(paths, gone.pid, running.run_id)
    too_long = state(paths, me, running.run_id, deadline=time.time() - 1)
    unknown_run = state(paths, me, "no-such-run")
    untouched = state(other, gone.pid, failed.run_id)  # another instance's, however dead
    (paths.runs / f"{paths.instance}0000000000").mkdir()  # a run directory no state claims

    resource = LocalSandboxResource(state_dir=str(paths.root), cache_dir=str(tmp_path / "cache"))
    result = sandbox_sweep_sensor(build_sensor_context(instance=instance, resources={"sandbox": resource}))

    assert isinstance(result, SkipReason) and result.skip_message == "Removed 5 sandbox(es)."
    assert [s.sandbox_id for s in paths.read_states()] == [live]
    assert sorted(p.name for p in paths.runs.iterdir()) == [live]
    assert f"its run {failed.run_id} is no longer running" in paths.removal_reason(run_ended)
    assert "hard wall-clock limit" in paths.removal_reason(too_long)
    assert paths.removal_reason(unknown_run) and paths.removal_reason(owner_dead) is None  # no owner left to tell
    assert [s.sandbox_id for s in other.read_states()] == [untouched]
    again = sandbox_sweep_sensor(build_sensor_context(instance=instance, resources={"sandbox": resource}))
    assert again.skip_message == "No sandbox to remove."
