"""Running a Dagster job from the terminal and following its steps as they finish."""

from __future__ import annotations

import multiprocessing.forkserver
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vexxy.errors import VexxyError
from vexxy_pipelines import tags as run_tags
from vexxy_pipelines.cli.common import console


def run_job(
    instance,
    job_name: str,
    *,
    partition_key: str | None,
    tags: dict[str, str],
    steps: tuple[str, ...],
    extra_run_config: dict | None = None,
):
    """Execute a job from this process against `instance`, showing step progress; returns the result.

    `analyze_image` runs with its own executor (step processes, `sbom` beside the sandbox), so
    every step that is running at a moment is shown; other jobs run in this process.
    """
    from dagster import RunsFilter, execute_job, reconstructable

    from vexxy_pipelines import definitions
    from vexxy_pipelines.steps import step_progress

    invocation = uuid.uuid4().hex
    tags = {**tags, run_tags.INVOCATION: invocation}
    holder: dict = {}
    run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}, **(extra_run_config or {})}

    def work() -> None:
        try:
            if job_name == "analyze_image":
                holder["result"] = execute_job(
                    reconstructable(definitions.reconstructable_analyze_image),
                    instance=instance,
                    tags={**tags, **({run_tags.DAGSTER_PARTITION: partition_key} if partition_key else {})},
                    run_config=run_config,
                    raise_on_error=False,
                )
            else:
                holder["result"] = definitions.defs.resolve_job_def(job_name).execute_in_process(
                    instance=instance, partition_key=partition_key, tags=tags, raise_on_error=False, run_config=run_config
                )
        except BaseException as exc:  # surfaced in the main thread
            holder["error"] = exc

    thread = threading.Thread(target=work, name="vexxy-run", daemon=True)
    thread.start()
    shown = 0
    with console.status(f"[bold]{job_name}[/] starting ...") as status:
        while thread.is_alive():
            thread.join(0.5)
            runs = instance.get_run_records(RunsFilter(tags={run_tags.INVOCATION: invocation}), limit=1)
            if not runs:
                continue
            run_id = runs[0].dagster_run.run_id
            progress = step_progress(instance, run_id)
            for step in progress.done[shown:]:
                console.print(f"  [green]✓[/] {step}")
            shown = len(progress.done)
            status.update(progress_line(job_name, progress.running, shown, len(steps), run_id))
    if "error" in holder:
        raise holder["error"]
    return holder["result"]


def progress_line(job_name: str, running: tuple[str, ...], done: int, total: int, run_id: str) -> str:
    """Every step started and not finished is named: `sbom` and `sandbox_session` run together."""
    return f"[bold]{job_name}[/] {done}/{total} steps · running {', '.join(running) or '...'} (run {run_id[:8]})"


def failure_message(instance, result) -> str:
    from vexxy_pipelines.steps import failing_step

    step, message = failing_step(instance, result.run_id)
    return f"{step}: {message}"


def ensure_vulnerability_db(instance, force: bool = False) -> None:
    """Load the advisories when none are loaded yet (or `force`): an analysis needs them, `vexxy db update` reloads them."""
    from dagster import AssetKey

    from vexxy_pipelines.steps import VULNERABILITY_DB_STEPS

    if force or instance.get_latest_materialization_event(AssetKey("vulnerability_db")) is None:
        result = run_job(instance, "refresh_vulnerability_db", partition_key=None, tags={}, steps=VULNERABILITY_DB_STEPS)
        if not result.success:
            raise VexxyError(f"Loading the vulnerability database failed: {failure_message(instance, result)}")


def _stop_forkserver() -> None:
    """End the step processes' fork server, so the next run's starts with this process's output as it is now
    (a fork server keeps the descriptors it was started with, and its step processes inherit them)."""
    multiprocessing.forkserver._forkserver._stop()


@contextmanager
def output_to_log(path: Path) -> Iterator[Path]:
    """Send everything written to this process's stdout and stderr, and its children's, to the file `path`
    while the block runs; the CLI's own progress (`console`) still reaches the terminal.

    Dagster prints its event log lines (`DEBUG - STEP_WORKER_STARTED ...`) from the step processes and
    mirrors the steps' compute logs to the terminal: they would break the progress display, and with a
    machine format they would mix with the document on stdout. The file keeps them for when a run fails.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    previous_console_file, previous_streams = console._file, (sys.stdout, sys.stderr)
    saved = (os.dup(1), os.dup(2))
    try:
        real_stderr = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # a stand-in without a descriptor (a test's capture)
        real_stderr = False
    # The progress goes where stderr went: the saved descriptor when stderr is this process's fd 2.
    terminal = os.fdopen(os.dup(saved[1]), "w", buffering=1, errors="replace") if real_stderr else sys.stderr
    console.file = terminal
    _stop_forkserver()  # one started earlier holds the terminal
    with open(path, "a", buffering=1, errors="replace") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log
        try:
            yield path
        finally:
            log.flush()
            _stop_forkserver()  # it holds the log file
            sys.stdout, sys.stderr = previous_streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for descriptor in saved:
                os.close(descriptor)
            console.file = previous_console_file
            if terminal is not previous_streams[1]:
                terminal.close()
