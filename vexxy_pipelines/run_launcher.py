"""Dagster's default run launcher, plus the health check run monitoring needs.

With the default launcher a run whose worker process was SIGKILLed (with its code server, or by
the OOM killer) stays STARTED forever: nothing asks whether the worker still lives. This launcher
answers run monitoring's question from the worker's pid, which every run records in its "Started
process for run" engine event, and the process's start time (a reused pid is not the worker).
"""

from __future__ import annotations

from dagster import DagsterEventType
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun

from vexxy.sandbox.state import process_started_at

# The worker's pid is in one of a run's first engine events.
ENGINE_EVENTS_READ = 50


class LocalRunLauncher(DefaultRunLauncher):
    """Launches runs like DefaultRunLauncher; run monitoring fails a run whose worker process is gone."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def worker(self, run: DagsterRun) -> tuple[int, float] | None:
        """The run worker's pid and when that was recorded, if the run recorded one."""
        records = self._instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.ENGINE_EVENT, limit=ENGINE_EVENTS_READ
        ).records
        for record in records:
            entry = record.event_log_entry
            if not (entry.message or "").startswith("Started process for run"):
                continue
            pid = entry.dagster_event.engine_event_data.metadata.get("pid")
            if pid is not None and str(pid.value).isdigit():
                return int(pid.value), entry.timestamp
        return None

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        worker = self.worker(run)
        if worker is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no worker process recorded yet")
        pid, recorded_at = worker
        started = process_started_at(pid)
        if started is not None and started <= recorded_at + 2:  # boot time is whole seconds
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(WorkerStatus.FAILED, f"the run's worker process (pid {pid}) is gone")
