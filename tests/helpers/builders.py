"""One way to build each domain object a test needs by hand: sensible values, with keyword overrides for what tests
vary. A test states only what matters to it."""

from __future__ import annotations

from vexxy.matching.matcher import VulnerabilityMatch
from vexxy.oci.image import OCI_MANIFEST, ImageConfig, Layer, Platform, ResolvedImage

DEMO = "127.0.0.1:5000/vexxy/demo"
MANIFEST_DIGEST = "sha256:" + "1" * 64
CONFIG_DIGEST = "sha256:" + "3" * 64
LAYER = Layer("sha256:" + "4" * 64, 10, "x")


def resolved_image(
    name: str = DEMO,
    *,
    reference: str | None = None,
    digest: str = MANIFEST_DIGEST,
    config_digest: str = CONFIG_DIGEST,
    platform: Platform | None = None,
    layers: list[Layer] | None = None,
    index_digest: str | None = None,
    **config,
) -> ResolvedImage:
    """An image resolved to an OCI manifest: `name:1.0` unless `reference` says otherwise, one small layer unless
    `layers` does; `config` holds the ImageConfig fields (entrypoint, cmd, env, user, working_dir, ...)."""
    return ResolvedImage(
        reference=reference or f"{name}:1.0",
        name=name,
        manifest_digest=digest,
        media_type=OCI_MANIFEST,
        platform=platform or Platform(),
        config_digest=config_digest,
        config=ImageConfig(**config),
        layers=[LAYER] if layers is None else layers,
        index_digest=index_digest,
    )


def vulnerability_match(
    ref: str = "c1",
    name: str = "pyyaml",
    version: str = "5.3.1",
    *,
    purl: str | None = None,
    ecosystem: str = "PyPI",
    advisory: str = "PYSEC-1",
    aliases: tuple[str, ...] = (),
    vulnerability: str = "CVE-1",
    summary: str = "summary",
    matched: str = "ECOSYSTEM >= 0 < 9",
    introduced: str | None = "0",
    fixed: str | None = "9",
    last_affected: str | None = None,
    severity: tuple[dict[str, str], ...] = (),
    modified: str = "",
) -> VulnerabilityMatch:
    """One advisory matched to one component (`ref`, `name`, `version`; a PyPI purl unless `purl` says otherwise)."""
    return VulnerabilityMatch(
        component_ref=ref,
        component_name=name,
        component_version=version,
        purl=purl or f"pkg:pypi/{name}@{version}",
        ecosystem=ecosystem,
        advisory_id=advisory,
        aliases=aliases,
        vulnerability=vulnerability,
        summary=summary,
        matched=matched,
        introduced=introduced,
        fixed=fixed,
        last_affected=last_affected,
        severity=severity,
        modified=modified,
    )
