"""Run monitoring fails a run whose worker process is gone, on the instance vexxy's dagster.yaml generates."""

import logging
import subprocess
import sys
import time

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.events.log import EventLogEntry
from dagster._core.launcher import WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from vexxy_pipelines.instance import ensure_dagster_home
from vexxy_pipelines.run_launcher import LocalRunLauncher


def started_run(instance: DagsterInstance, worker_pid: int) -> DagsterRun:
    run = instance.add_run(DagsterRun(job_name="analyze_image", status=DagsterRunStatus.STARTED))
    instance.report_engine_event(f"Started process for run (pid: {worker_pid}).", run, EngineEventData.in_process(worker_pid))
    return run


def test_a_run_whose_worker_was_killed_is_marked_failed(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_PG_URL")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    ensure_dagster_home()
    with DagsterInstance.get() as instance:
        assert isinstance(instance.run_launcher, LocalRunLauncher)
        assert instance.run_monitoring_enabled and instance.run_monitoring_max_resume_run_attempts == 0
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            run = started_run(instance, worker.pid)
            assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
            monitor_started_run(instance, None, instance.get_run_record_by_id(run.run_id), logging.getLogger())
            assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED
        finally:
            worker.kill()
            worker.wait()
        health = instance.run_launcher.check_run_worker_health(run)
        assert health.status == WorkerStatus.FAILED and f"pid {worker.pid}" in health.msg
        monitor_started_run(instance, None, instance.get_run_record_by_id(run.run_id), logging.getLogger())
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE


def test_a_reused_pid_is_not_the_worker(tmp_path, monkeypatch):
    """A live process that started after the worker recorded that pid is someone else: the worker is gone."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_PG_URL")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    ensure_dagster_home()
    with DagsterInstance.get() as instance:
        run = instance.add_run(DagsterRun(job_name="analyze_image", status=DagsterRunStatus.STARTED))
        assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING  # nothing recorded yet
        newcomer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            event = DagsterEvent(
                event_type_value=DagsterEventType.ENGINE_EVENT.value,
                job_name=run.job_name,
                message=f"Started process for run (pid: {newcomer.pid}).",
                event_specific_data=EngineEventData.in_process(newcomer.pid),
            )
            an_hour_ago = time.time() - 3600
            instance.store_event(
                EventLogEntry(None, logging.INFO, "", run.run_id, an_hour_ago, dagster_event=event, job_name=run.job_name)
            )
            health = instance.run_launcher.check_run_worker_health(run)
            assert health.status == WorkerStatus.FAILED, health
        finally:
            newcomer.kill()
            newcomer.wait()
