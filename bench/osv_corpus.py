"""Generate a full-scale OSV corpus shaped like the real one, as OSV publishes it: one all.zip per ecosystem.

Record shapes follow what osv.dev serves for each ecosystem: PyPI (PYSEC/GHSA ids, ECOSYSTEM ranges
plus the explicit `versions` list), npm and crates.io (GHSA, SEMVER ranges), Maven (`group:artifact`
names), Go (GO-YYYY-NNNN, SEMVER, `ecosystem_specific.imports`), Debian and Ubuntu (source package
names, release-qualified ecosystems, many records with only `introduced: 0`), Alpine (`-rN`
versions), with aliases, CVSS severities, references and details of real-like sizes. Package
popularity is skewed, so a few packages carry thousands of advisories (like `linux` in Debian).
The same seed and count give the same corpus; a smaller count is a prefix of a larger one.

    .venv/bin/python bench/osv_corpus.py --advisories 250000 --out /tmp/osv-corpus
"""

from __future__ import annotations

import argparse
import json
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path

# ecosystem folder -> (share of the corpus, package pool size, OSV ecosystem names)
ECOSYSTEMS: dict[str, tuple[float, int, tuple[str, ...]]] = {
    "Debian": (0.24, 6000, ("Debian:11", "Debian:12")),
    "Ubuntu": (0.18, 5000, ("Ubuntu:20.04:LTS", "Ubuntu:22.04:LTS", "Ubuntu:24.04:LTS")),
    "npm": (0.14, 30000, ("npm",)),
    "PyPI": (0.10, 12000, ("PyPI",)),
    "Maven": (0.10, 15000, ("Maven",)),
    "Go": (0.08, 8000, ("Go",)),
    "Alpine": (0.08, 3000, ("Alpine:v3.18", "Alpine:v3.19", "Alpine:v3.20")),
    "crates.io": (0.04, 4000, ("crates.io",)),
    "RubyGems": (0.04, 4000, ("RubyGems",)),
}
WORDS = (
    "buffer overflow in the parser allows remote attackers to cause a denial of service via crafted input "
    "improper validation of certificate chains leads to information disclosure when a malicious server "
    "use after free in the decoder may allow arbitrary code execution through a specially crafted file "
    "path traversal in archive extraction lets an attacker write files outside the target directory"
).split()


def package_name(folder: str, number: int) -> str:
    """A stable, ecosystem-shaped name for the `number`-th most popular package."""
    if folder == "Maven":
        return f"org.example{number % 97}:artifact-{number}"
    if folder == "Go":
        return f"github.com/example{number % 89}/module{number}"
    if folder == "npm" and number % 5 == 0:
        return f"@scope{number % 31}/package-{number}"
    if folder in ("Debian", "Ubuntu", "Alpine"):
        return "linux" if number == 0 else f"lib{folder.lower()}pkg{number}"
    return f"package-{number}"


def popular(rng: random.Random, pool: int) -> int:
    """Skewed popularity: package 0 (`linux` in the distributions) carries a few percent of its
    ecosystem's advisories, as the kernel does in Debian; the tail is long."""
    return min(int(pool * rng.random() ** 3), pool - 1)


def version(folder: str, rng: random.Random, major: int | None = None) -> str:
    a, b, c = major if major is not None else rng.randint(0, 9), rng.randint(0, 30), rng.randint(0, 20)
    if folder == "Debian":
        return f"{a}.{b}.{c}-{rng.randint(1, 9)}" + (f"+deb12u{rng.randint(1, 6)}" if rng.random() < 0.5 else "")
    if folder == "Ubuntu":
        return f"{a}.{b}.{c}-{rng.randint(1, 9)}ubuntu{rng.randint(0, 4)}.{rng.randint(1, 3)}"
    if folder == "Alpine":
        return f"{a}.{b}.{c}-r{rng.randint(0, 6)}"
    if folder == "Go":
        return f"{a}.{b}.{c}"
    return f"{a}.{b}.{c}"


def record(folder: str, index: int, rng: random.Random) -> dict:
    share, pool, ecosystems = ECOSYSTEMS[folder]
    year = 2005 + index % 20
    cve = f"CVE-{year}-{10000 + index}"
    ids = {
        "Debian": f"DEBIAN-{cve}",
        "Ubuntu": f"UBUNTU-{cve}",
        "Alpine": f"ALPINE-{cve}",
        "Go": f"GO-{year}-{index:06d}",
        "PyPI": f"PYSEC-{year}-{index}" if index % 2 else f"GHSA-{index:04x}-{year:04x}-{index % 9973:04x}",
    }
    advisory_id = ids.get(folder, f"GHSA-{index:04x}-{year:04x}-{index % 9973:04x}")
    number = popular(rng, pool)
    name = package_name(folder, number)
    affected = []
    for ecosystem in rng.sample(ecosystems, k=rng.randint(1, len(ecosystems))) if len(ecosystems) > 1 else ecosystems:
        major = rng.randint(0, 9)
        fixed = version(folder, rng, major)
        events: list[dict] = [{"introduced": "0" if rng.random() < 0.6 else version(folder, rng, max(major - 1, 0))}]
        if folder in ("Debian", "Ubuntu") and rng.random() < 0.35:
            pass  # an open issue in the release: no fix yet
        else:
            events.append({"fixed": fixed})
        entry: dict = {
            "package": {"ecosystem": ecosystem, "name": name},
            "ranges": [{"type": "SEMVER" if folder in ("npm", "Go", "crates.io") else "ECOSYSTEM", "events": events}],
        }
        if folder == "PyPI":
            entry["package"]["purl"] = f"pkg:pypi/{name}"
            entry["versions"] = [f"{major}.{b}.{c}" for b in range(rng.randint(0, 6)) for c in range(rng.randint(1, 8))]
        elif folder == "Debian":
            entry["package"]["purl"] = f"pkg:deb/debian/{name}?arch=source"
        elif folder == "Go":
            entry["ecosystem_specific"] = {"imports": [{"path": f"{name}/internal/p{k}", "symbols": ["Parse"]} for k in range(2)]}
        affected.append(entry)
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 250)))
    return {
        "schema_version": "1.6.0",
        "id": advisory_id,
        "modified": f"{year}-0{1 + index % 9}-1{index % 9}T12:00:00Z",
        "published": f"{year}-0{1 + index % 9}-0{1 + index % 9}T08:00:00Z",
        "aliases": [cve] if not advisory_id.startswith(("DEBIAN", "UBUNTU", "ALPINE")) else [],
        "upstream": [cve] if advisory_id.startswith(("DEBIAN", "UBUNTU", "ALPINE")) else [],
        "summary": " ".join(words.split()[:12]),
        "details": words,
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}] if rng.random() < 0.7 else [],
        "affected": affected,
        "references": [{"type": "ADVISORY", "url": f"https://nvd.nist.gov/vuln/detail/{cve}"}]
        + [{"type": "WEB", "url": f"https://example.org/{folder}/{index}/{k}"} for k in range(rng.randint(0, 4))],
        "database_specific": {"source": f"https://example.org/{folder}/{advisory_id}.json"},
    }


def records(count: int, seed: int = 15) -> Iterator[tuple[str, dict]]:
    """(ecosystem folder, record) for `count` advisories, spread by each ecosystem's share."""
    folders = list(ECOSYSTEMS)
    weights = [ECOSYSTEMS[f][0] for f in folders]
    rng = random.Random(seed)
    for index in range(count):
        folder = rng.choices(folders, weights)[0]
        yield folder, record(folder, index, random.Random(f"{seed}-{index}"))


def write_corpus(count: int, out: Path, seed: int = 15) -> dict[str, int]:
    """Write `<out>/<ecosystem>/all.zip` files holding `count` advisories; returns advisories per ecosystem."""
    out.mkdir(parents=True, exist_ok=True)
    archives: dict[str, zipfile.ZipFile] = {}
    counts: dict[str, int] = {}
    try:
        for folder, data in records(count, seed):
            if folder not in archives:
                (out / folder).mkdir(exist_ok=True)
                archives[folder] = zipfile.ZipFile(out / folder / "all.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1)
            archives[folder].writestr(f"{data['id']}.json", json.dumps(data))
            counts[folder] = counts.get(folder, 0) + 1
    finally:
        for archive in archives.values():
            archive.close()
    return dict(sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--advisories", type=int, default=250_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    counts = write_corpus(args.advisories, args.out, args.seed)
    for folder, count in counts.items():
        print(f"{folder:10} {count:8d}  {args.out / folder / 'all.zip'}")


if __name__ == "__main__":
    main()
