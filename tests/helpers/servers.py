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
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from ports import free_port

ROOT = Path(__file__).resolve().parents[2]


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


def wait_for(predicate, timeout: float, what: str, interval: float = 1.0):
    """The predicate's first true value, polled; the test fails when none comes within the timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what} (last: {last})")


def graphql(url: str, query: str, variables: dict) -> dict:
    """A query to a Dagster webserver's GraphQL endpoint; its data, asserting no errors."""
    body = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=60).json()
    assert "errors" not in body, body
    return body["data"]


@contextmanager
def dagster_dev(env: dict[str, str], log_path: Path, startup_timeout: float = 180) -> Iterator[str]:
    """`dagster dev` (webserver, daemon, code server) on the project's workspace; its URL once it answers.
    The tail of its log is kept at `log_path`."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    url = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    process = start_server(command, ROOT, env, log)

    def up():
        try:
            return httpx.get(f"{url}/server_info", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, startup_timeout, "dagster dev")
        yield url
    finally:
        stop_server(process)
        log.seek(0)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_bytes(log.read()[-200_000:])
        log.close()
