"""A caller that reads vexxy's output through a pipe gets its end, however vexxy was launched.

Dagster mirrors a run's compute logs with `tail -F` children and stops them with SIGTERM. A launcher
that ignores SIGTERM (nohup-style supervisors, some CI runners) passes that on; the tails would then
outlive vexxy and hold the pipe open, and `$(vexxy db update)` would never return.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IGNORING_SIGTERM = "import os, signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"


def tails_of(home: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"tail") and any(str(home).encode() in a for a in argv):
                found.append(int(entry.name))
    return found


def test_a_piped_command_launched_ignoring_sigterm_ends_and_leaves_no_log_tail(tmp_path):
    environment = {**os.environ, "VEXXY_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "dagster")}
    environment.pop("DAGSTER_PG_URL", None)  # the embedded default: SQLite storage under DAGSTER_HOME
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", IGNORING_SIGTERM, sys.executable, "-m", "vexxy_pipelines.cli", "db", "update"],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        output, _ = process.communicate(timeout=300)  # returns only once every holder of the pipe has closed it
    finally:
        for pid in tails_of(tmp_path):
            os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output.decode(errors="replace")[-2000:]
    assert tails_of(tmp_path) == []
    print(f"vexxy db update under a launcher ignoring SIGTERM: {time.monotonic() - started:.1f} s")
