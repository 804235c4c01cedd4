"""Time-to-VEX of the demo image against its two slow parts, Syft alone and the sandbox window alone.

Builds the demo image, pushes it to a local registry and, in a throw-away vexxy home (SQLite
Dagster instance, its own sandbox cache), times: Syft scanning the image on its own, then
`vexxy analyze` twice, cold (empty sandbox cache, fresh instance) and warm (everything cached).
For each analysis it reads the run's step events to report how long `sbom` and `sandbox_session`
took inside it, and the observation window the profile records. Target (warm):
time-to-VEX <= max(Syft, sandbox step) + 3 s.

    sudo .venv/bin/python bench/time_to_vex.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUICK = {
    "VEXXY_OBSERVATION_SECONDS": "10",
    "VEXXY_QUIET_SECONDS": "3",
    "VEXXY_FUZZ_BUDGET_SECONDS": "4",
    "VEXXY_FUZZ_IDLE_SECONDS": "1",
}


def bench_environment(home: Path, quick: bool) -> dict[str, str]:
    """A vexxy home of its own: SQLite instance, evidence, sandbox state and cache (no shared database)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_PG_URL", "DATABASE_URL", "VEXXY_OSV_SOURCE")}
    env.update(
        {
            "VEXXY_HOME": str(home),
            "DAGSTER_HOME": str(home / "dagster"),
            "VEXXY_EVIDENCE_DIR": str(home / "evidence"),
            "VEXXY_SANDBOX_STATE_DIR": str(home / "sandbox"),
            "VEXXY_SANDBOX_CACHE_DIR": str(home / "cache"),
            "SYFT_CHECK_FOR_APP_UPDATE": "false",
            **(QUICK if quick else {}),
        }
    )
    return env


def vexxy(env: dict[str, str], *args: str) -> float:
    """Run the `vexxy` command; returns its wall time."""
    started = time.perf_counter()
    result = subprocess.run([str(Path(sys.executable).parent / "vexxy"), *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"vexxy {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def step_seconds(env: dict[str, str]) -> dict:
    """Durations of the latest analysis run's steps and its observation window, read in a child with `env`."""
    code = """
import json
from dagster import AssetKey, DagsterEventType, DagsterInstance
instance = DagsterInstance.get()
run_id = instance.get_latest_materialization_event(AssetKey("vex_document")).run_id
records = instance.get_records_for_run(run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}).records
at = {}
for r in records:
    at.setdefault(r.event_log_entry.step_key, []).append(r.timestamp)
print(json.dumps({step: max(t) - min(t) for step, t in at.items()}))
"""
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(quick: bool, home: Path, log=print) -> dict:
    """Figures of the demo image analyzed in a new vexxy home `home` (left analyzed, for bench/refresh.py)."""
    from vexxy.demo.images import DEMO, build_and_push
    from vexxy.demo.registry import LocalRegistry
    from vexxy.sbom.syft import SyftScanner

    sys.path.insert(0, str(ROOT / "bench"))
    from tracer_overhead import free_port

    with tempfile.TemporaryDirectory(prefix="vexxy-bench-ttv-") as tmp:
        root = Path(tmp)
        registry = LocalRegistry(root / "registry", free_port()).start()
        try:
            ref = build_and_push(DEMO, registry.address, log=lambda message: None)
            env = bench_environment(home, quick)
            os.environ["SYFT_CHECK_FOR_APP_UPDATE"] = "false"
            started = time.perf_counter()
            SyftScanner().scan_registry_image(ref.canonical(), registry.address, "linux/amd64")
            syft = time.perf_counter() - started
            log(f"  Syft alone: {syft:.1f} s")
            vexxy(env, "appdb", "upgrade")
            vexxy(env, "db", "update")
            results = {"syft_seconds": syft}
            for label in ("cold", "warm"):
                wall = vexxy(env, "analyze", f"{registry.address}/{DEMO.repository}:{DEMO.tag}", "--out", str(root / label))
                steps = step_seconds(env)
                profile = json.loads((root / label / "execution_profile.json").read_text())
                results[label] = {
                    "time_to_vex_seconds": wall,
                    "sbom_step_seconds": steps.get("sbom"),
                    "sandbox_step_seconds": steps.get("sandbox_session"),
                    "observed_seconds": profile["window"]["observed_seconds"],
                    "steps": steps,
                }
                log(
                    f"  {label}: time-to-VEX {wall:.1f} s; in the run: sbom {steps.get('sbom', 0):.1f} s, "
                    f"sandbox_session {steps.get('sandbox_session', 0):.1f} s "
                    f"(window {profile['window']['observed_seconds']} s)"
                )
            return results
        finally:
            registry.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="A short observation window and fuzzing budget.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vexxy-bench-home-") as home:
        print(json.dumps(measure(args.quick, Path(home)), indent=2))


if __name__ == "__main__":
    main()
