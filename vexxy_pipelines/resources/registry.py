"""The registry resource: resolve image references against any OCI/Docker v2 registry."""

from __future__ import annotations

from dagster import AssetExecutionContext, ConfigurableResource
from pydantic import Field, PrivateAttr

from vexxy.errors import VexxyError
from vexxy.oci.credentials import login_serves, parse_organizations
from vexxy.oci.egress import parse_allowed
from vexxy.oci.image import Platform, ResolvedImage
from vexxy.oci.reference import ImageReference
from vexxy.oci.registry_client import RegistryClient
from vexxy_pipelines import tags


class RegistryConfigurationError(VexxyError):
    """The registry settings cannot be used as they are."""


class RegistryResource(ConfigurableResource):
    """Credentials and transport settings for the registries images are pulled from."""

    username: str | None = Field(default=None, description="Registry user (basic auth or token service login).")
    password: str | None = Field(default=None, description="Registry password or access token.")
    credentials_for: str = Field(
        default="",
        description="Comma-separated registries (host[:port]) the login belongs to; it is never sent to any other.",
    )
    credentials_organizations: str = Field(
        default="",
        description="Comma-separated organization ids whose analyses may use the login (`*`: every organization); "
        "the operator's own analyses always may. Any other organization's analysis is pulled anonymously.",
    )
    insecure_registries: str = Field(default="", description="Comma-separated registries to reach over plain HTTP.")
    platform: str = Field(default="linux/amd64", description="Platform chosen from multi-platform images.")
    allowed_registries: str = Field(
        default="",
        description="Comma-separated internal registries (loopback, private) customers' watched repositories may name.",
    )
    timeout_seconds: float = 30.0
    _withheld_from: str | None = PrivateAttr(default=None)  # the organization this copy's login was withheld from

    @property
    def allowed(self) -> frozenset[str]:
        return parse_allowed(self.allowed_registries)

    @property
    def insecure(self) -> tuple[str, ...]:
        return tuple(r.strip() for r in self.insecure_registries.split(",") if r.strip())

    @property
    def login_registries(self) -> frozenset[str]:
        """Where the login may go; a login without them would go to whatever registry a customer names."""
        registries = parse_allowed(self.credentials_for)
        if self.username and not registries:
            raise RegistryConfigurationError(
                "A registry login is configured (VEXXY_REGISTRY_USERNAME) but not which registries it is for.",
                hint="Set VEXXY_REGISTRY_CREDENTIALS_FOR to the registries (host[:port], comma-separated) the login belongs to.",
            )
        return registries

    def serves(self, organization: str | None) -> bool:
        """Whether `organization`'s analyses (None: the operator's own) may use the login."""
        return login_serves(organization, parse_organizations(self.credentials_organizations))

    def for_organization(self, organization: str | None) -> RegistryResource:
        """This registry access for an analysis of `organization` (None: the operator's own): without the login
        unless it serves them."""
        if not self.username or self.serves(organization):
            return self
        anonymous = self.model_copy(update={"username": None, "password": None})
        anonymous._withheld_from = organization
        return anonymous

    def client(self) -> RegistryClient:
        withheld = (
            f"The registry login is not used for organization {self._withheld_from}'s analyses "
            "(VEXXY_REGISTRY_CREDENTIALS_ORGANIZATIONS): the registry answers as it does to anyone. "
            "Ask the operator to add the organization, or make the image readable anonymously."
            if self._withheld_from is not None
            else None
        )
        return RegistryClient(
            username=self.username,
            password=self.password,
            insecure_registries=self.insecure,
            timeout=self.timeout_seconds,
            credential_registries=self.login_registries,
            allowed_hosts=self.allowed,
            login_hint=withheld,
        )

    def resolve(self, ref: ImageReference, *, pinned: bool = False) -> ResolvedImage:
        """Resolve a reference; `pinned` accepts a single-platform manifest digest whatever its platform."""
        client = self.client()
        try:
            return client.resolve(ref, None if pinned else Platform.parse(self.platform), default=Platform.parse(self.platform))
        finally:
            client.close()


def for_run(registry: RegistryResource, context: AssetExecutionContext) -> RegistryResource:
    """The registry access of the organization the run analyzes for (its tag; none: the operator's own)."""
    return registry.for_organization(context.run.tags.get(tags.ORGANIZATION) if context.run else None)
