"""CycloneDX 1.6 VEX: `vulnerabilities[].analysis` per statement, built with cyclonedx-python-lib."""

from __future__ import annotations

from cyclonedx.model import Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
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


def render_cyclonedx_vex(image: ResolvedImage, statements: list[Statement], config_hash: str | None = None) -> str:
    """A CycloneDX 1.6 JSON document whose `affects` point at the components' bom-refs (their purls); the analysis
    configuration's hash, when there is one, is the metadata property `vexxy:analysis_config_hash`."""
    root = Component(
        name=image.name,
        version=image.manifest_digest,
        type=ComponentType.CONTAINER,
        bom_ref=image_purl(image.name, image.manifest_digest),
        purl=PackageURL.from_string(image_purl(image.name, image.manifest_digest)),
    )
    bom = Bom()
    bom.metadata.component = root
    if config_hash:
        bom.metadata.properties.add(Property(name="vexxy:analysis_config_hash", value=config_hash))
    components: dict[str, Component] = {}
    for statement in statements:
        if statement.component_purl not in components:
            purl = PackageURL.from_string(statement.component_purl)
            components[statement.component_purl] = Component(
                name=purl.name, version=purl.version, group=purl.namespace, purl=purl, bom_ref=statement.component_purl
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
