"""A watchdog per sandbox that lives outside the analysis's process tree.

The analysis that starts a sandbox may die in ways that skip every `finally` (SIGKILL, the OOM
killer, its whole process group killed). The watchdog is double-forked into its own session, so
it is nobody's child and outlives all of that; it removes the sandbox as soon as its owner is gone
or its hard wall-clock limit passes, and leaves when the owner has torn the sandbox down itself.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from vexxy.sandbox.state import SandboxPaths, owner_alive
from vexxy.sandbox.sweep import remove, why_remove

POLL_SECONDS = 0.5


def spawn(paths: SandboxPaths, sandbox_id: str, runtime: str = "runc") -> int:
    """Start the watchdog of `sandbox_id` (its state file must exist); returns the watchdog's pid."""
    command = [sys.executable, "-m", "vexxy.sandbox.watchdog", str(paths.root), sandbox_id, "--runtime", runtime]
    # The intermediate process forks the watchdog and exits at once; the watchdog reports its pid.
    intermediate = subprocess.run(
        [*command, "--detach"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, cwd="/"
    )
    pid = intermediate.stdout.strip()
    if intermediate.returncode != 0 or not pid.isdigit():
        raise RuntimeError(f"the sandbox watchdog did not start: {intermediate.stderr.strip() or pid}")
    return int(pid)


def stop(pid: int, start: int, timeout: float = 5.0) -> None:
    """End the watchdog `pid` (started at `start`) once its sandbox is torn down, and wait until it is gone."""
    if not owner_alive(pid, start):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while owner_alive(pid, start) and time.monotonic() < deadline:
        time.sleep(0.02)


def watch(paths: SandboxPaths, sandbox_id: str, runtime: str = "runc", poll: float = POLL_SECONDS) -> str | None:
    """Wait until the sandbox is gone (returns None) or must go (removes it, returns why)."""
    while True:
        state = paths.read_state(sandbox_id)
        if state is None:
            return None
        reason = why_remove(state, time.time())
        if reason:
            remove(paths, sandbox_id, f"the sandbox watchdog removed it: {reason}", runtime)
            return reason
        time.sleep(poll)


def _detach() -> None:
    """Fork into a new session; the parent prints the child's pid and leaves."""
    read_end, write_end = os.pipe()
    if os.fork() > 0:
        os.close(write_end)
        print(os.read(read_end, 32).decode().strip(), flush=True)
        os._exit(0)
    os.close(read_end)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.write(write_end, str(os.getpid()).encode())
    os.close(write_end)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vexxy.sandbox.watchdog")
    parser.add_argument("state_dir", type=Path)
    parser.add_argument("sandbox_id")
    parser.add_argument("--runtime", default="runc")
    parser.add_argument("--detach", action="store_true")
    args = parser.parse_args(argv)
    if args.detach:
        _detach()
    watch(SandboxPaths(args.state_dir), args.sandbox_id, args.runtime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
