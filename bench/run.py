"""Every performance figure vexxy promises, in one table of ratios against its targets.

    sudo nice .venv/bin/python bench/run.py            # full scale (about 25 minutes on 2 cores)
    sudo nice .venv/bin/python bench/run.py --quick    # the same code paths at toy scale (a few minutes)

Parts (each also runs alone): time-to-VEX of the demo image against Syft alone and the sandbox
window alone, warm and cold (bench/time_to_vex.py); matching a 1 000-component SBOM against a
generated OSV corpus of 10k/100k/250k advisories (bench/advisory_index.py); re-evaluating 1 000
analyzed partitions after an advisory refresh against one full analysis (bench/refresh.py); the
tracer's overhead on a file-heavy and an exec-heavy app (bench/tracer_overhead.py). The table
is Markdown, ready for docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import advisory_index  # noqa: E402
import refresh  # noqa: E402
import time_to_vex  # noqa: E402
import tracer_overhead  # noqa: E402

FULL = {"sizes": [10_000, 100_000, 250_000], "partitions": 1000, "tracer_seconds": 8, "tracer_rounds": 2}
QUICK = {"sizes": [1_000, 4_000], "partitions": 12, "tracer_seconds": 2, "tracer_rounds": 1}


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def rows_for(results: dict) -> list[tuple[str, str, str, str, str]]:
    """(measure, figures, target, ratio, verdict) rows."""
    rows = []
    ttv = results["time_to_vex"]
    for label in ("warm", "cold"):
        run = ttv[label]
        slowest = max(ttv["syft_seconds"], run["sandbox_step_seconds"] or 0.0)
        rows.append(
            (
                f"time-to-VEX, demo image, {label} cache",
                f"{run['time_to_vex_seconds']:.1f} s; Syft alone {ttv['syft_seconds']:.1f} s, sandbox step "
                f"{run['sandbox_step_seconds']:.1f} s (window {run['observed_seconds']} s), sbom step "
                f"{run['sbom_step_seconds']:.1f} s",
                "≤ max(Syft, sandbox) + 3 s" + (" (warm)" if label == "warm" else " (informative)"),
                f"{run['time_to_vex_seconds'] / slowest:.2f}× max",
                verdict(run["time_to_vex_seconds"] <= slowest + 3) if label == "warm" else "—",
            )
        )
    index_rows = results["advisory_index"]
    for row in index_rows:
        rows.append(
            (
                f"1 000-component SBOM × {row['advisories']:,} advisories ({row['ecosystems']} ecosystems)",
                f"index build {row['build_seconds']:.1f} s, {row['build_rss_mb']:.0f} MB peak, {row['index_mb']:.0f} MB file; "
                f"checksum {row['verify_seconds']:.2f} s; matching {row['match_seconds']:.3f} s, "
                f"{row['match_rss_mb']:.0f} MB peak; {row['candidates']:,} candidate advisories, {row['matches']:,} matches",
                "matching ≤ 1 s, ≤ 300 MB",
                f"{row['match_seconds']:.2f} s, {row['match_rss_mb'] / 300:.2f}× of 300 MB",
                verdict(row["match_seconds"] <= 1 and row["match_rss_mb"] <= 300),
            )
        )
    first, last = index_rows[0], index_rows[-1]
    corpus_growth = last["advisories"] / first["advisories"]
    time_growth = last["match_seconds"] / first["match_seconds"]
    candidate_growth = last["candidates"] / max(first["candidates"], 1)
    rows.append(
        (
            "matching time growth with the corpus",
            f"{first['advisories']:,} → {last['advisories']:,} advisories (×{corpus_growth:.0f}): matching ×{time_growth:.2f}, "
            f"candidate advisories of the SBOM's packages ×{candidate_growth:.1f}",
            "sub-linear",
            f"{time_growth / corpus_growth:.3f} of linear",
            verdict(time_growth < corpus_growth),
        )
    )
    fleet = results["refresh"]
    per_image = fleet["seconds"] / fleet["partitions"]
    full = ttv["warm"]["time_to_vex_seconds"]
    rows.append(
        (
            f"refresh of {fleet['partitions']} analyzed partitions",
            f"{fleet['seconds']:.1f} s in {fleet['runs']} runs = {per_image:.3f} s per image; full analysis {full:.1f} s",
            "≥ 100× cheaper per image",
            f"{full / per_image:.0f}×",
            verdict(full / per_image >= 100),
        )
    )
    for app, (untraced, traced) in results["tracer"].items():
        rows.append(
            (
                f"tracer overhead, {tracer_overhead.DESCRIPTIONS[app]}",
                f"untraced {untraced:.0f} req/s, traced {traced:.0f} req/s",
                "≥ 0.95× untraced",
                f"{traced / untraced:.2f}×",
                verdict(traced / untraced >= 0.95),
            )
        )
    return rows


def table(rows: list[tuple[str, ...]]) -> str:
    lines = ["| measure | figures | target | ratio | |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def run(quick: bool, log=print, workdir: Path | None = None, corpora: Path | None = None) -> str:
    scale = QUICK if quick else FULL
    results: dict = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vexxy-bench-", dir=workdir) as tmp:
        log("time-to-VEX (demo image) ...")
        home = Path(tmp) / "home"
        results["time_to_vex"] = time_to_vex.measure(quick, home, log=log)
        log("advisory index ...")
        results["advisory_index"] = advisory_index.measure(scale["sizes"], Path(tmp), log=log, corpora=corpora)
        log(f"refresh of {scale['partitions']} analyzed partitions ...")
        results["refresh"] = refresh.measure(scale["partitions"], time_to_vex.bench_environment(home, quick), log=log)
        log("tracer overhead ...")
        results["tracer"] = tracer_overhead.measure_apps(
            ["files", "exec"], scale["tracer_seconds"], scale["tracer_rounds"], 8, log=log
        )
    log(f"(took {time.perf_counter() - started:.0f} s)")
    return table(rows_for(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Toy scale: the same code paths in a few minutes.")
    parser.add_argument("--corpora", type=Path, help="Keep (and reuse) the generated OSV corpora in this directory.")
    args = parser.parse_args()
    if args.corpora:
        args.corpora.mkdir(parents=True, exist_ok=True)
    print(run(args.quick, log=lambda message: print(message, file=sys.stderr, flush=True), corpora=args.corpora))


if __name__ == "__main__":
    main()
