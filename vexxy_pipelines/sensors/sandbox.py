"""The daemon's sweep of sandboxes: whatever an analysis could not remove itself is removed on a timer.

Each sandbox has a watchdog, but a watchdog can die with its host process tree too; this sweep
runs in the daemon and removes this instance's sandboxes whose analysis process is gone, whose
Dagster run is no longer running, or that ran past their hard wall-clock limit.
"""

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from vexxy_pipelines.resources.sandbox import SandboxResource

SWEEP_INTERVAL_SECONDS = 30


@sensor(minimum_interval_seconds=SWEEP_INTERVAL_SECONDS, default_status=DefaultSensorStatus.RUNNING)
def sandbox_sweep_sensor(context: SensorEvaluationContext, sandbox: SandboxResource):
    """Remove sandboxes whose analysis or run is gone (every 30 s)."""

    def run_alive(run_id: str) -> bool:
        run = context.instance.get_run_by_id(run_id)
        return run is not None and not run.is_finished

    removed = sandbox.sweep(run_alive)
    if removed:
        context.log.info(f"Removed {len(removed)} sandbox(es): {', '.join(removed)}")
    return SkipReason(f"Removed {len(removed)} sandbox(es)." if removed else "No sandbox to remove.")
