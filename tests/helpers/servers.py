"""Server processes the tests start (dagster dev, the webserver, the API) and always stop.

A test runner started in the background inherits SIGINT ignored, and Dagster copies SIGINT's
disposition onto SIGTERM: a `dagster dev` started from there would ignore the stop signal. Each
server starts in its own session with the default dispositions, and a group that outlives its
grace period is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path


def _default_signals() -> None:
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)


def start_server(command: list[str], cwd: Path, env: dict[str, str], log) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=log, stderr=log, start_new_session=True, preexec_fn=_default_signals
    )


def stop_server(process: subprocess.Popen, grace_seconds: float = 30) -> None:
    """SIGTERM to the server's whole process group; SIGKILL for whatever is left after the grace period."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)
