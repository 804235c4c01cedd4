"""Matching a 1 000-component SBOM against a generated full-scale OSV corpus through the SQLite index.

For each corpus size: index build time and peak RSS (streaming from the all.zip files), the
checksum verification a run does once when it opens the index, matching time and peak RSS of
the matching process. Each phase runs in its own process so its peak RSS is its own.

    .venv/bin/python bench/advisory_index.py --sizes 10000,100000,250000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import osv_corpus  # noqa: E402

SBOM_SIZE = 1000
# ecosystem folder -> (purl type, the OSV ecosystem a scanned package reports)
SCANNED = {
    "Debian": ("deb", "Debian:12"),
    "Ubuntu": ("deb", "Ubuntu:22.04:LTS"),
    "npm": ("npm", "npm"),
    "PyPI": ("pypi", "PyPI"),
    "Maven": ("maven", "Maven"),
    "Go": ("golang", "Go"),
    "Alpine": ("apk", "Alpine:v3.19"),
    "crates.io": ("cargo", "crates.io"),
    "RubyGems": ("gem", "RubyGems"),
}


def sbom_components(count: int = SBOM_SIZE, seed: int = 7):
    """`count` components over every ecosystem: most are popular packages (they have advisories), the rest are not."""
    from vexxy.sbom.components import Component

    rng = random.Random(seed)
    folders = list(osv_corpus.ECOSYSTEMS)
    components, seen = [], set()
    while len(components) < count:
        folder = folders[len(components) % len(folders)]
        pool = osv_corpus.ECOSYSTEMS[folder][1]
        package = osv_corpus.popular(rng, pool) if rng.random() < 0.7 else rng.randrange(pool)
        name = osv_corpus.package_name(folder, package)
        if (folder, name) in seen:
            continue  # an image holds one version of a package per ecosystem
        seen.add((folder, name))
        version = osv_corpus.version(folder, rng)
        purl_type, ecosystem = SCANNED[folder]
        number = len(components)
        components.append(
            Component(str(number), name, version, purl_type, f"pkg:{purl_type}/{name}@{version}", ecosystem, name, version)
        )
    return components


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM): unlike ru_maxrss, it does not carry over the parent's across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_build(source: str, out: Path) -> dict:
    from vexxy.matching.index import build_index, file_sha256
    from vexxy.osv.loader import LoadReport, iter_advisories

    started = time.perf_counter()
    report = LoadReport()
    built = build_index(iter_advisories(source, report), out / "osv.sqlite", out / "osv.jsonl.gz")
    seconds = time.perf_counter() - started
    return {
        "advisories": built.advisories,
        "ecosystems": len(built.ecosystems),
        "build_seconds": seconds,
        "build_rss_mb": _peak_rss_mb(),
        "index_mb": (out / "osv.sqlite").stat().st_size / 1e6,
        "index_sha256": file_sha256(out / "osv.sqlite"),
        "snapshot_sha256": file_sha256(out / "osv.jsonl.gz"),
        "content_hash": built.content_hash,
        "errors": len(report.errors),
    }


def phase_match(out: Path, built: dict) -> dict:
    from vexxy.matching.index import open_verified
    from vexxy.matching.matcher import match_components

    components = sbom_components()
    started = time.perf_counter()
    index, rebuilt = open_verified(
        out / "osv.sqlite", built["index_sha256"], out / "osv.jsonl.gz", built["snapshot_sha256"], built["content_hash"]
    )
    verified = time.perf_counter()
    report = match_components(components, index)
    finished = time.perf_counter()
    candidates = sum(len(index.candidates(c.ecosystem, c.osv_name)) for c in components)  # after timing
    return {
        "candidates": candidates,
        "verify_seconds": verified - started,
        "match_seconds": finished - verified,
        "match_rss_mb": _peak_rss_mb(),
        "matches": len(report.matches),
        "components_checked": report.components_checked,
        "rebuilt": rebuilt,
    }


def _child(*args: str) -> dict:
    output = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if output.returncode != 0:
        raise SystemExit(f"bench phase {args[:2]} failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def measure(sizes: list[int], workdir: Path, log=print, corpora: Path | None = None) -> list[dict]:
    """One row per corpus size (smaller corpora are prefixes of larger ones); corpora already in `corpora` are reused."""
    rows = []
    for size in sizes:
        corpus = (corpora or workdir) / f"corpus-{size}"
        if not corpus.exists():
            started = time.perf_counter()
            osv_corpus.write_corpus(size, corpus)
            log(f"  generated {size} advisories in {time.perf_counter() - started:.1f} s")
        out = workdir / f"index-{size}"
        out.mkdir(exist_ok=True)
        built = _child("--phase", "build", "--source", str(corpus), "--out", str(out))
        matched = _child("--phase", "match", "--out", str(out), "--built", json.dumps(built))
        rows.append({"size": size, **built, **matched})
        log(
            f"  {size:>7} advisories: build {built['build_seconds']:.1f} s ({built['build_rss_mb']:.0f} MB), "
            f"verify {matched['verify_seconds']:.2f} s, match {matched['match_seconds']:.3f} s "
            f"({matched['match_rss_mb']:.0f} MB), {matched['candidates']} candidates, {matched['matches']} matches"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,250000")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--phase", choices=["build", "match"])
    parser.add_argument("--source")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--built")
    args = parser.parse_args()
    if args.phase == "build":
        print(json.dumps(phase_build(args.source, args.out)))
        return
    if args.phase == "match":
        print(json.dumps(phase_match(args.out, json.loads(args.built))))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.workdir:
        measure(sizes, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="vexxy-bench-osv-") as tmp:
            measure(sizes, Path(tmp))


if __name__ == "__main__":
    main()
