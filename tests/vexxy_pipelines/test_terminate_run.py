"""Terminating a Dagster run mid-observation (the UI's Terminate) leaves nothing behind; so does
killing the analysis outright (SIGKILL), and the run is then FAILED, not left STARTED."""

import os
import signal
import time

import pytest
from dagster import AssetKey, DagsterEventType, DagsterRunStatus
from servers import graphql, wait_for

from vexxy import settings
from vexxy.sandbox.state import SandboxPaths, owner_alive
from vexxy.sandbox.sweep import leftovers
from vexxy_pipelines.partitions import add_image_partition
from vexxy_pipelines.sensors.sandbox import SWEEP_INTERVAL_SECONDS

pytestmark = pytest.mark.slow

LAUNCH = """
mutation ($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
TERMINATE = """
mutation ($runId: String!) {
  terminateRun(runId: $runId) { __typename ... on TerminateRunFailure { message } ... on PythonError { message } }
}"""


@pytest.fixture(scope="module")
def dagster_dev_env(analyzed_demo):
    """Observing for minutes, on the instance where the demo image was analyzed once already."""
    return {"VEXXY_OBSERVATION_SECONDS": "300", "VEXXY_QUIET_SECONDS": "300"}


def test_terminating_a_run_mid_observation_cleans_up(dagster_dev, instance, demo_image):
    paths = SandboxPaths(settings.sandbox_state_dir())
    key = add_image_partition(instance, demo_image)
    before = instance.get_latest_materialization_event(AssetKey("execution_profile"))
    params = {
        "selector": {"repositoryLocationName": "vexxy", "repositoryName": "__repository__", "jobName": "analyze_image"},
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": key}]},
    }
    launched = graphql(dagster_dev, LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    wait_for(lambda: leftovers(paths)["containers"], 180, "the sandbox to start observing")
    time.sleep(2)
    assert graphql(dagster_dev, TERMINATE, {"runId": run_id})["terminateRun"]["__typename"] == "TerminateRunSuccess"

    run = wait_for(lambda: (r := instance.get_run_by_id(run_id)) and r.is_finished and r, 120, "the run to finish")
    assert run.status == DagsterRunStatus.CANCELED
    wait_for(lambda: all(not found for found in leftovers(paths).values()), 30, f"a clean host, still {leftovers(paths)}")

    failures = [
        record.event_log_entry
        for record in instance.get_records_for_run(
            run_id, of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_CANCELED}
        ).records
    ]
    assert any(e.dagster_event.event_type == DagsterEventType.RUN_CANCELED for e in failures)
    after = instance.get_latest_materialization_event(AssetKey("execution_profile"))
    assert (after.run_id, after.timestamp) == (before.run_id, before.timestamp)  # nothing half-written


def launch_analysis(url: str, key: str) -> str:
    params = {
        "selector": {"repositoryLocationName": "vexxy", "repositoryName": "__repository__", "jobName": "analyze_image"},
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": key}]},
    }
    launched = graphql(url, LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def test_sigkilled_analysis_is_swept_by_the_daemon_and_its_run_failed(dagster_dev, instance, demo_image):
    """The step process, its run worker and the sandbox's watchdog all SIGKILLed: no `finally` runs and
    no watchdog is left, so the daemon's sweep removes the sandbox within its interval, and the run is
    marked FAILED."""
    paths = SandboxPaths(settings.sandbox_state_dir())
    run_id = launch_analysis(dagster_dev, add_image_partition(instance, demo_image))
    wait_for(lambda: leftovers(paths)["containers"], 180, "the sandbox to start observing")
    (state,) = [s for s in paths.read_states() if s.run_id == run_id]
    worker = instance.run_launcher.worker(instance.get_run_by_id(run_id))
    assert worker is not None
    for pid in (state.watchdog_pid, state.owner_pid, worker[0]):
        os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: not owner_alive(state.owner_pid, state.owner_start), 10, "the step process to die")
    assert leftovers(paths)["containers"]  # nothing of the analysis is left to clean up: only the daemon can

    wait_for(
        lambda: all(not found for found in leftovers(paths).values()),
        SWEEP_INTERVAL_SECONDS + 60,
        f"the daemon's sweep, still {leftovers(paths)}",
    )
    swept_after = time.monotonic() - killed
    run = wait_for(lambda: (r := instance.get_run_by_id(run_id)) and r.is_finished and r, 120, "the run to finish")
    assert run.status == DagsterRunStatus.FAILURE
    print(f"sandbox swept {swept_after:.1f} s after SIGKILL (sweep interval {SWEEP_INTERVAL_SECONDS} s)")
