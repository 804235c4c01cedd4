"""Re-evaluating a fleet after an advisory refresh, per image, against one full analysis.

Needs a vexxy home where the demo image has been analyzed (bench/time_to_vex.py leaves one).
It gives that instance a fleet of N analyzed partitions: one Dagster run copies the demo's
documents under N - 1 other digests and records their materializations, as N analyses would have.
Then it loads a different advisory snapshot, lets `vulnerability_db_refresh_sensor` request the
re-evaluation runs (ranges of partitions), and executes each in a process of its own, as the run
launcher does. Reported: wall time of the sensor ticks and all runs, runs, seconds per image.

    sudo .venv/bin/python bench/refresh.py --home DIR [--partitions 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UPSTREAM = ("image", "sbom", "execution_profile", "fuzz_findings", "filtered_sbom", "vulnerabilities", "vex_document")

FABRICATE = """
import hashlib, json, shutil, sys
from pathlib import Path
from dagster import AssetKey, AssetMaterialization, DagsterInstance, MetadataValue, job, op
from vexxy_pipelines.partitions import add_image_partition, digest_hex, image_for_partition, image_partitions

count, assets = int(sys.argv[1]), json.loads(sys.argv[2])
instance = DagsterInstance.get()
(demo,) = instance.get_dynamic_partitions(image_partitions.name)
demo_hex = digest_hex(instance, demo)
demo_ref = image_for_partition(instance, demo).ref
records = {a: instance.get_latest_materialization_event(AssetKey(a)) for a in assets}
fakes = [demo_ref.with_digest("sha256:" + hashlib.sha256(f"bench-{i}".encode()).hexdigest()) for i in range(count)]
keys = [add_image_partition(instance, ref) for ref in fakes]

@op
def copy_documents(context):
    for key in keys:
        fake_hex = digest_hex(instance, key)
        for asset, record in records.items():
            metadata = {}
            for name, value in record.asset_materialization.metadata.items():
                if name.endswith("_path"):
                    source = str(value.value)
                    target = source.replace(demo_hex, fake_hex).replace(record.run_id, context.run_id)
                    Path(target).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
                    value = MetadataValue.path(target)
                metadata[name] = value
            context.log_event(AssetMaterialization(asset_key=asset, partition=key, metadata=metadata))

@job
def fabricate_fleet():
    copy_documents()

assert fabricate_fleet.execute_in_process(instance=instance).success
print(len(keys))
"""

SENSOR = """
import json, sys
from dagster import build_sensor_context, RunRequest
from dagster import DagsterInstance
from vexxy_pipelines.definitions import defs
from vexxy_pipelines.sensors.vulnerability_db import vulnerability_db_refresh_sensor

instance = DagsterInstance.get()
cursor = sys.argv[1] or None
context = build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
result = vulnerability_db_refresh_sensor(context)
requests = [r.tags for r in (result if isinstance(result, list) else []) if isinstance(r, RunRequest)]
print(json.dumps({"cursor": context.cursor, "requests": requests, "done": json.loads(context.cursor).get("done")}))
"""

RUN = """
import json, sys
from dagster import DagsterInstance, execute_job, reconstructable
from vexxy_pipelines import definitions

result = execute_job(
    reconstructable(definitions.reconstructable_reevaluate_image), instance=DagsterInstance.get(), tags=json.loads(sys.argv[1])
)
sys.exit(0 if result.success else 1)
"""


def python(env: dict[str, str], code: str, *args: str) -> str:
    result = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"bench step failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def measure(partitions: int, env: dict[str, str], log=print) -> dict:
    """Make the instance of `env` hold `partitions` analyzed images, refresh the advisories, re-evaluate them all."""
    started = time.perf_counter()
    python(env, FABRICATE, str(partitions - 1), json.dumps(UPSTREAM))
    log(f"  {partitions - 1} more analyzed partitions recorded in {time.perf_counter() - started:.1f} s")
    cursor = json.loads(python(env, SENSOR, ""))["cursor"]  # the sensor starts tracking the current snapshot
    from vexxy import settings

    vexxy = str(Path(sys.executable).parent / "vexxy")
    subset = {**env, "VEXXY_OSV_SOURCE": str(settings.BUNDLED_OSV / "pypa" / "jinja2")}
    subprocess.run([vexxy, "db", "update"], env=subset, check=True, capture_output=True)
    started = time.perf_counter()
    runs = 0
    while True:
        tick = json.loads(python(env, SENSOR, cursor))
        cursor = tick["cursor"]
        for tags in tick["requests"]:
            python(env, RUN, json.dumps(tags))
            runs += 1
        if tick["done"]:
            break
    seconds = time.perf_counter() - started
    log(f"  re-evaluated {partitions} partitions in {runs} runs: {seconds:.1f} s")
    return {"partitions": partitions, "runs": runs, "seconds": seconds}


def main() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from time_to_vex import bench_environment

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="A vexxy home where the demo image was analyzed.")
    parser.add_argument("--partitions", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(measure(args.partitions, bench_environment(args.home, quick=False))))


if __name__ == "__main__":
    main()
