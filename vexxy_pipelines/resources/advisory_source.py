"""Where OSV advisories come from: directories, OSV's per-ecosystem all.zip files, or URLs."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from vexxy.matching.index import BuiltIndex, build_index
from vexxy.osv.loader import LoadReport, iter_advisories, load_advisories


class OsvSourceResource(ConfigurableResource):
    source: str = Field(description="Comma-separated directories, zip files or URLs of OSV records (JSON or YAML).")

    def load(self) -> LoadReport:
        return load_advisories(self.source)

    def build_index(self, index_path: Path, snapshot_path: Path) -> tuple[BuiltIndex, LoadReport]:
        """Stream every record of the source into an index and its sorted snapshot."""
        report = LoadReport()
        return build_index(iter_advisories(self.source, report), index_path, snapshot_path), report
