"""An indexed, content-hashed snapshot of OSV advisories, stored as gzipped JSON lines."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from vexxy.matching.ranges import RangeHit, affected_by
from vexxy.osv.records import Advisory, AffectedPackage


def normalize_name(ecosystem: str, name: str) -> str:
    """Names as the ecosystem compares them: PEP 503 for PyPI, case-insensitive where registries are."""
    base = ecosystem.split(":", 1)[0]
    if base == "PyPI":
        return re.sub(r"[-_.]+", "-", name).lower()
    if base in ("npm", "Debian", "Alpine", "NuGet", "Packagist", "Hex", "Pub"):
        return name.lower()
    return name


@dataclass
class AdvisoryDatabase:
    advisories: list[Advisory]
    _index: dict[tuple[str, str], list[tuple[Advisory, AffectedPackage]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.advisories = sorted(self.advisories, key=lambda a: a.id)
        index: dict[tuple[str, str], list] = defaultdict(list)
        for advisory in self.advisories:
            for affected in advisory.affected:
                index[(affected.ecosystem, normalize_name(affected.ecosystem, affected.name))].append((advisory, affected))
        self._index = dict(index)

    def candidates(self, ecosystem: str, name: str) -> list[tuple[Advisory, AffectedPackage]]:
        return self._index.get((ecosystem, normalize_name(ecosystem, name)), [])

    def evaluator(self, ecosystem: str, name: str, version: str) -> Callable[[AffectedPackage], RangeHit | None]:
        """Each entry's ranges evaluated on parsed versions: the reference the index's pre-sorted bounds agree with."""
        return partial(affected_by, ecosystem, version)

    def ecosystems(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for advisory in self.advisories:
            for ecosystem in {a.ecosystem.split(":", 1)[0] for a in advisory.affected}:
                counts[ecosystem] += 1
        return dict(sorted(counts.items()))

    def to_snapshot(self) -> bytes:
        lines = "".join(json.dumps(a.to_dict(), sort_keys=True, separators=(",", ":")) + "\n" for a in self.advisories)
        return gzip.compress(lines.encode(), mtime=0)

    @property
    def content_hash(self) -> str:
        """Stable across load order and file layout: the hash of the sorted canonical records."""
        hasher = hashlib.sha256()
        for advisory in self.advisories:
            hasher.update(json.dumps(advisory.to_dict(), sort_keys=True, separators=(",", ":")).encode())
            hasher.update(b"\n")
        return hasher.hexdigest()

    @classmethod
    def from_snapshot(cls, data: bytes) -> AdvisoryDatabase:
        return cls([Advisory.from_dict(json.loads(line)) for line in gzip.decompress(data).splitlines() if line])
