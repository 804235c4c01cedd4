"""Tracer overhead: web apps in the sandbox under load, traced versus untraced.

Three apps on the demo's Debian + python3 + Jinja2 base: `demo` (renders an in-memory template:
no file opened per request), `files` (opens four templates and two static files per request) and
`exec` (runs a program per request). Each runs in the local sandbox twice per round, once with
the fanotify tracer and once without, driven by `wrk` from the host for a fixed time; the bench
prints requests/s for both and the traced/untraced ratio (target: >= 0.95).

    sudo .venv/bin/python bench/tracer_overhead.py [--apps demo,files,exec] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vexxy.demo.images import DEMO, ImageRecipe, build_and_push  # noqa: E402
from vexxy.demo.registry import LocalRegistry  # noqa: E402
from vexxy.imports.routes import rootfs_routes
from vexxy.oci.registry_client import RegistryClient  # noqa: E402
from vexxy.sandbox.local.sandbox import LocalSandbox  # noqa: E402
from vexxy.sandbox.local.settings import SandboxSettings  # noqa: E402
from vexxy.sandbox.runtime_spec import Limits  # noqa: E402

APPS = Path(__file__).resolve().parent / "apps"
DESCRIPTIONS = {
    "demo": "demo app (no file opened per request)",
    "files": "file-heavy app (6 files opened per request)",
    "exec": "exec-heavy app (a program run per request)",
}
RECIPES = {
    "demo": DEMO,
    "files": ImageRecipe(repository="vexxy/bench-files", tag="1.0", app_dir=APPS / "file_heavy"),
    "exec": ImageRecipe(repository="vexxy/bench-exec", tag="1.0", app_dir=APPS / "exec_heavy"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load(url: str, seconds: int, connections: int) -> float:
    """Requests per second that `wrk` sustained against `url` (bounded in time, loopback/sandbox only)."""
    output = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", url], capture_output=True, text=True, timeout=seconds + 30
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match:
        raise SystemExit(f"wrk printed no rate:\n{output}")
    return float(match.group(1))


def measure(sandbox_root: Path, cache: Path, image, traced: bool, seconds: int, connections: int) -> tuple[float, int]:
    settings = SandboxSettings(
        state_dir=sandbox_root, cache_dir=cache, trace=traced, limits=Limits(memory_bytes=1 << 30, cpus=1.0), readiness_timeout=30
    )
    sandbox = LocalSandbox(settings, RegistryClient(), read_routes=rootfs_routes)
    with sandbox.session(image) as workload:
        if workload.readiness.outcome != "ready":
            raise SystemExit(f"the app did not become ready: {workload.readiness}")
        url = f"http://{workload.address}:{workload.ports[0]}/?name=bench"
        load(url, 2, connections)  # warm-up
        rate = load(url, seconds, connections)
        seen = workload.tracer.snapshot_size()
    return rate, seen


def measure_apps(apps: list[str], seconds: int, rounds: int, connections: int, log=print) -> dict[str, tuple[float, float]]:
    """Median requests/s (untraced, traced) per app; the two modes alternate within each round."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="vexxy-bench-") as tmp:
        root = Path(tmp)
        registry = LocalRegistry(root / "registry", free_port()).start()
        try:
            for app in apps:
                ref = build_and_push(RECIPES[app], registry.address, log=lambda message: None)
                image = RegistryClient().resolve(ref)
                rates: dict[bool, list[float]] = {True: [], False: []}
                for round_number in range(1, rounds + 1):
                    for traced in (False, True):
                        rate, seen = measure(root / "state", root / "cache", image, traced, seconds, connections)
                        rates[traced].append(rate)
                        label = "traced  " if traced else "untraced"
                        log(
                            f"  {app:5} round {round_number}  {label}  {rate:9.1f} req/s"
                            + (f"  ({seen} paths recorded)" if traced else "")
                        )
                results[app] = (statistics.median(rates[False]), statistics.median(rates[True]))
        finally:
            registry.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default="demo,files,exec")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    results = measure_apps(args.apps.split(","), args.seconds, args.rounds, args.connections)
    print()
    for app, (untraced, traced) in results.items():
        print(
            f"{app:5}  untraced {untraced:9.1f} req/s  traced {traced:9.1f} req/s  "
            f"ratio {traced / untraced:.3f}  (target >= 0.95; medians of {args.rounds} x {args.seconds} s)"
        )


if __name__ == "__main__":
    main()
