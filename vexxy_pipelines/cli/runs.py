"""Running a Dagster job from the terminal and following its steps as they finish."""

from __future__ import annotations

import threading
import uuid

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
