"""Where OSV advisories come from: directories, OSV's per-ecosystem all.zip files, or URLs."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from vexxy.osv.loader import LoadReport, load_advisories


class OsvSourceResource(ConfigurableResource):
    source: str = Field(description="Comma-separated directories, zip files or URLs of OSV records (JSON or YAML).")

    def load(self) -> LoadReport:
        return load_advisories(self.source)
