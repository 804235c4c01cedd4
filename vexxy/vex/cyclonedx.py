"""CycloneDX 1.6 VEX: `vulnerabilities[].analysis` per statement, built with cyclonedx-python-lib.

With a provenance the metadata lists vexxy as the tool, the author, and the inputs as `vexxy:`
properties, and BOM-Links (`urn:cdx:<serial>/<version>#<bom-ref>`) tie the document, the image and
each component to the SBOM they came from (the document link carries the SBOM file's SHA-256).
"""

from __future__ import annotations

from datetime import datetime

from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.contact import OrganizationalContact
from cyclonedx.model.vulnerability import (
    BomTarget,
    ImpactAnalysisJustification,
    ImpactAnalysisResponse,
    ImpactAnalysisState,
    Vulnerability,
    VulnerabilityAnalysis,
    VulnerabilityReference,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from vexxy.oci.image import ResolvedImage
from vexxy.vex.confidence import label
from vexxy.vex.openvex import image_purl
from vexxy.vex.provenance import Provenance
from vexxy.vex.statements import NOT_IN_EXECUTE_PATH, Statement, Status

_STATE = {
    Status.NOT_AFFECTED: ImpactAnalysisState.NOT_AFFECTED,
    Status.AFFECTED: ImpactAnalysisState.EXPLOITABLE,
    Status.FIXED: ImpactAnalysisState.RESOLVED,
    Status.UNDER_INVESTIGATION: ImpactAnalysisState.IN_TRIAGE,
}
_JUSTIFICATION = {NOT_IN_EXECUTE_PATH: ImpactAnalysisJustification.CODE_NOT_REACHABLE}


def _source(identifier: str) -> VulnerabilitySource:
    if identifier.startswith("CVE-"):
        return VulnerabilitySource(name="NVD", url=XsUri(f"https://nvd.nist.gov/vuln/detail/{identifier}"))
    return VulnerabilitySource(name="OSV", url=XsUri(f"https://osv.dev/vulnerability/{identifier}"))


def _sbom_link(provenance: Provenance | None, ref: str | None, comment: str) -> list[ExternalReference]:
    link = provenance.sbom.bom_link(ref) if provenance and provenance.sbom else None
    if link is None or (ref is not None and not ref):
        return []
    return [ExternalReference(type=ExternalReferenceType.BOM, url=XsUri(link), comment=comment)]


def _with_provenance(bom: Bom, provenance: Provenance) -> None:
    bom.metadata.tools.components.add(Component(type=ComponentType.APPLICATION, name="vexxy", version=provenance.version))
    bom.metadata.authors.add(OrganizationalContact(name=provenance.author))
    bom.metadata.properties.update(Property(name=k, value=v) for k, v in provenance.properties().items())
    link = provenance.sbom.bom_link() if provenance.sbom else None
    if link:
        bom.external_references.add(
            ExternalReference(
                type=ExternalReferenceType.BOM,
                url=XsUri(link),
                comment=f"The SBOM these statements were derived from: {provenance.sbom.name}",
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content=provenance.sbom.sha256)],
            )
        )


def render_cyclonedx_vex(
    image: ResolvedImage,
    statements: list[Statement],
    config_hash: str | None = None,
    provenance: Provenance | None = None,
    statement_times: dict[tuple[str, str], datetime] | None = None,
    now: datetime | None = None,
) -> str:
    """A CycloneDX 1.6 JSON document whose `affects` point at the components' bom-refs (their purls); the analysis
    configuration's hash, when there is one, is the metadata property `vexxy:analysis_config_hash`.

    `statement_times`: when each (vulnerability, purl) statement was first made as it stands (its
    analysis's `firstIssued`; `lastUpdated` is `now`).
    """
    root = Component(
        name=image.name,
        version=image.manifest_digest,
        type=ComponentType.CONTAINER,
        bom_ref=image_purl(image.name, image.manifest_digest),
        purl=PackageURL.from_string(image_purl(image.name, image.manifest_digest)),
        external_references=_sbom_link(provenance, provenance.sbom.root_ref, "The image in the SBOM")
        if provenance and provenance.sbom
        else [],
    )
    bom = Bom()
    if now is not None:
        bom.metadata.timestamp = now
    bom.metadata.component = root
    if config_hash:
        bom.metadata.properties.add(Property(name="vexxy:analysis_config_hash", value=config_hash))
    if provenance:
        _with_provenance(bom, provenance)
    times = statement_times or {}
    components: dict[str, Component] = {}
    for statement in statements:
        if statement.component_purl not in components:
            purl = PackageURL.from_string(statement.component_purl)
            sbom_ref = provenance.sbom.refs.get(statement.component_ref) if provenance and provenance.sbom else None
            components[statement.component_purl] = Component(
                name=purl.name,
                version=purl.version,
                group=purl.namespace,
                purl=purl,
                bom_ref=statement.component_purl,
                external_references=_sbom_link(provenance, sbom_ref, "The component in the SBOM") if sbom_ref else [],
            )
            bom.components.add(components[statement.component_purl])
            bom.register_dependency(root, [components[statement.component_purl]])
    for statement in statements:
        analysis = VulnerabilityAnalysis(
            state=_STATE[statement.status],
            justification=_JUSTIFICATION.get(statement.justification or ""),
            responses=[ImpactAnalysisResponse.UPDATE]
            if statement.status is Status.AFFECTED and statement.fixed_versions
            else None,
            detail=f"{statement.status_notes} Confidence: {label(statement.confidence, statement.confidence_reason)}."
            + (f" {statement.action_statement}" if statement.action_statement else ""),
            first_issued=times.get((statement.vulnerability, statement.component_purl)),
            last_updated=bom.metadata.timestamp if (statement.vulnerability, statement.component_purl) in times else None,
        )
        bom.vulnerabilities.add(
            Vulnerability(
                bom_ref=f"{statement.vulnerability}|{statement.component_purl}",
                id=statement.vulnerability,
                source=_source(statement.vulnerability),
                references=[VulnerabilityReference(id=alias, source=_source(alias)) for alias in statement.aliases],
                description=statement.description or None,
                recommendation=statement.action_statement,
                analysis=analysis,
                affects=[BomTarget(ref=components[statement.component_purl].bom_ref.value)],
                properties=[
                    Property(name="vexxy:confidence", value=statement.confidence),
                    *(
                        [Property(name="vexxy:confidence_reason", value=statement.confidence_reason)]
                        if statement.confidence_reason
                        else []
                    ),
                ],
            )
        )
    return JsonV1Dot6(bom).output_as_string(indent=2)
