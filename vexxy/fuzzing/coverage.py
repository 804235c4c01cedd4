"""How much more of the workload ran because it was fuzzed: files first seen then, and packages first loaded then.

File counts need only the profile (the sandbox step has them); package counts need the SBOM's
file lists, so they come with the filtered SBOM, which maps the profile onto the packages.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from vexxy.evidence.mapping import UsageReport


@dataclass(frozen=True)
class CoverageGain:
    files_idle: int
    files_first_seen_fuzzing: int

    @property
    def file_gain_percent(self) -> float:
        return round(100.0 * self.files_first_seen_fuzzing / self.files_idle, 1) if self.files_idle else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "file_gain_percent": self.file_gain_percent}


@dataclass(frozen=True)
class PackageCoverageGain:
    packages_idle: int
    packages_first_loaded_fuzzing: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def coverage_gain(profile: dict[str, Any]) -> CoverageGain:
    observations = list(profile["observations"]["opens"].values()) + list(profile["observations"]["execs"].values())
    return CoverageGain(
        files_idle=sum(1 for o in observations if o.get("phase", "idle") == "idle"),
        files_first_seen_fuzzing=sum(1 for o in observations if o.get("phase") == "fuzzing"),
    )


def package_coverage_gain(usage: UsageReport) -> PackageCoverageGain:
    fuzzing_only = sorted(c.purl for c in usage.components if c.loaded_while_fuzzing_only)
    loaded = [c for c in usage.components if c.files_loaded]
    return PackageCoverageGain(packages_idle=len(loaded) - len(fuzzing_only), packages_first_loaded_fuzzing=fuzzing_only)
