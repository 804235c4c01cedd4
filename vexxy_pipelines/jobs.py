"""Jobs an operator (or a sensor) launches: analyze one image, refresh advisories, re-evaluate."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

from vexxy_pipelines.assets.attestation import vex_attestation
from vexxy_pipelines.assets.billing import billing_record
from vexxy_pipelines.assets.filtered_sbom import filtered_sbom
from vexxy_pipelines.assets.fleet import fleet_posture
from vexxy_pipelines.assets.image import image
from vexxy_pipelines.assets.imports import first_party_imports
from vexxy_pipelines.assets.sandbox import sandbox_session
from vexxy_pipelines.assets.sbom import sbom
from vexxy_pipelines.assets.vex import vex_document
from vexxy_pipelines.assets.vulnerabilities import vulnerabilities
from vexxy_pipelines.assets.vulnerability_db import vulnerability_db
from vexxy_pipelines.environment import analysis_executor_for

analyze_image_job = define_asset_job(
    "analyze_image",
    selection=AssetSelection.assets(
        image,
        sbom,
        sandbox_session,
        filtered_sbom,
        first_party_imports,
        vulnerabilities,
        vex_document,
        vex_attestation,
        billing_record,
    ),
    description="Resolve, inventory, run in the sandbox, match, write the evidence-backed VEX of one image, "
    "attach it signed when a key is configured, and bill it.",
    executor_def=analysis_executor_for(),
)

refresh_vulnerability_db_job = define_asset_job(
    "refresh_vulnerability_db",
    selection=AssetSelection.assets(vulnerability_db),
    description="Reload the OSV advisories; images are then re-evaluated without new sandbox runs.",
)

# Re-evaluation is three cheap steps over a range of images: they run in the run's own process
# (a step process or pod each would cost more than the work).
reevaluate_image_job = define_asset_job(
    "reevaluate_image",
    selection=AssetSelection.assets(vulnerabilities, vex_document, vex_attestation),
    description="Re-match images against the current advisories, rewrite their VEX and re-attach it signed "
    "(no new scan, no sandbox, no charge).",
    executor_def=in_process_executor,
)

refresh_fleet_posture_job = define_asset_job(
    "refresh_fleet_posture",
    selection=AssetSelection.assets(fleet_posture),
    description="Add up every analyzed image's latest VEX into the fleet's posture tables.",
    executor_def=in_process_executor,
)
