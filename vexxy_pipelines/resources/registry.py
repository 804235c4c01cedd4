"""The registry resource: resolve image references against any OCI/Docker v2 registry."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from vexxy.oci.egress import parse_allowed
from vexxy.oci.image import Platform, ResolvedImage
from vexxy.oci.reference import ImageReference
from vexxy.oci.registry_client import RegistryClient


class RegistryResource(ConfigurableResource):
    """Credentials and transport settings for the registries images are pulled from."""

    username: str | None = Field(default=None, description="Registry user (basic auth or token service login).")
    password: str | None = Field(default=None, description="Registry password or access token.")
    insecure_registries: str = Field(default="", description="Comma-separated registries to reach over plain HTTP.")
    platform: str = Field(default="linux/amd64", description="Platform chosen from multi-platform images.")
    allowed_registries: str = Field(
        default="",
        description="Comma-separated internal registries (loopback, private) customers' watched repositories may name.",
    )
    timeout_seconds: float = 30.0

    @property
    def allowed(self) -> frozenset[str]:
        return parse_allowed(self.allowed_registries)

    @property
    def insecure(self) -> tuple[str, ...]:
        return tuple(r.strip() for r in self.insecure_registries.split(",") if r.strip())

    def client(self) -> RegistryClient:
        return RegistryClient(
            username=self.username, password=self.password, insecure_registries=self.insecure, timeout=self.timeout_seconds
        )

    def resolve(self, ref: ImageReference, *, pinned: bool = False) -> ResolvedImage:
        """Resolve a reference; `pinned` accepts a single-platform manifest digest whatever its platform."""
        client = self.client()
        try:
            return client.resolve(ref, None if pinned else Platform.parse(self.platform), default=Platform.parse(self.platform))
        finally:
            client.close()
