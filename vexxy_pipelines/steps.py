"""The steps of an analysis run and how far a run got: one reading of Dagster's step events for the
CLI's progress display, the progress sensor and the failure write-back."""

from __future__ import annotations

from dataclasses import dataclass

from dagster import DagsterEventType, DagsterInstance

ANALYSIS_STEPS = (
    "image",
    "sbom",
    "sandbox_session",
    "filtered_sbom",
    "first_party_imports",
    "vulnerabilities",
    "vex_document",
    "vex_attestation",
    "billing_record",
)
VULNERABILITY_DB_STEPS = ("vulnerability_db",)


@dataclass(frozen=True)
class StepProgress:
    done: tuple[str, ...]  # in the order they succeeded
    current: str | None  # the last step started and not yet done
    running: tuple[str, ...] = ()  # every step started and not yet done (`sbom` and the sandbox run together)

    def percent(self, steps: tuple[str, ...] = ANALYSIS_STEPS) -> int:
        return int(100 * len(set(self.done) & set(steps)) / len(steps))


def step_progress(instance: DagsterInstance, run_id: str) -> StepProgress:
    records = instance.get_records_for_run(run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}).records
    return progress_of(records)


def progress_of(records) -> StepProgress:
    """How far a run got after these step start/success records (in storage order)."""
    done: list[str] = []
    started: list[str] = []
    for record in records:
        event = record.event_log_entry.dagster_event
        if event.event_type == DagsterEventType.STEP_SUCCESS:
            if event.step_key not in done:
                done.append(event.step_key)
        else:
            started.append(event.step_key)
    running = tuple(step for step in started if step not in done)
    return StepProgress(tuple(done), running[-1] if running else None, running)


def failing_step(instance: DagsterInstance, run_id: str) -> tuple[str, str]:
    """(step, message) of a failed run: the step's own description when it gave one (`Failure`), else the
    first line of the error; never a traceback."""
    records = instance.get_records_for_run(run_id, of_type={DagsterEventType.STEP_FAILURE}).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            return event.step_key, data.user_failure_data.description
        if data.error:
            return event.step_key, data.error.message.strip().splitlines()[0][:1000]
    return "run", "the run failed before any step did (see the run's logs)"
