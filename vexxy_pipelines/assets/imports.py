"""The `first_party_imports` asset: what the application's own code imports, and what each code file of
the image is by content, read from the image's layers."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from vexxy.config.launches import launch_of
from vexxy.config.model import parse
from vexxy.evidence.documents import IMAGE, IMAGE_CODE, IMPORT_EVIDENCE, SYFT_SBOM
from vexxy.imports.evidence import NotLoaded, import_evidence
from vexxy.imports.first_party import MAX_FILES
from vexxy.imports.python_source import PythonImports
from vexxy.imports.registry_layers import read_image_files
from vexxy.imports.sites import DynamicLoad, EntryPoint, ImportAnalysis, merged
from vexxy.oci.image import ResolvedImage
from vexxy.oci.layers.merged import LayerLimitExceeded
from vexxy.sandbox.launch import launched_config
from vexxy.sbom.components import components_from_syft
from vexxy_pipelines.assets.image import image
from vexxy_pipelines.assets.sbom import sbom
from vexxy_pipelines.failures import fail_clearly
from vexxy_pipelines.metadata import md_table
from vexxy_pipelines.partitions import image_partitions
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.resources.registry import RegistryResource, for_run
from vexxy_pipelines.step_resources import IMPORTS_STEP

NONE = ImportAnalysis((), (), (), ())


def not_loaded_table(not_loaded: tuple[NotLoaded, ...]) -> MetadataValue:
    return md_table(
        ["component", "imported by", "how"],
        [(n.purl, ", ".join(n.sites[:3]) + (" …" if len(n.sites) > 3 else ""), "; ".join(n.hows[:2])) for n in not_loaded],
    )


def dynamic_loads_table(loads: tuple[DynamicLoad, ...]) -> MetadataValue:
    """Where first-party code loads code by a name vexxy cannot read (the first 50)."""
    return md_table(["site", "construct", "can load"], [(d.where, d.what, d.loads) for d in loads[:50]])


def entrypoints(run_config: dict, resolved: ResolvedImage) -> list[EntryPoint]:
    """How the sandbox starts the image: as it says, or as each role of the run's analysis configuration
    says (command or args, working directory). The sandbox step checks the configuration itself."""
    text = ((run_config.get("ops") or {}).get("sandbox_session") or {}).get("config", {}).get("analysis_config") or ""
    launches = [launch_of(role) for role in parse(text).effective_roles()] if text else [None]
    configs = [launched_config(resolved.config, launch) for launch in launches]
    return [EntryPoint(tuple(c.entrypoint + c.cmd), c.working_dir or "/") for c in configs]


@asset(partitions_def=image_partitions, group_name="analysis", deps=[image, sbom], kinds={"python"}, op_tags=IMPORTS_STEP)
def first_party_imports(context: AssetExecutionContext, registry: RegistryResource, evidence: EvidenceStore) -> MaterializeResult:
    """What the application's own code imports, read statically from the image's layers (it never runs here)."""
    resolved = ResolvedImage.from_dict(evidence.read_json(context, IMAGE))
    components = components_from_syft(evidence.read_json(context, SYFT_SBOM))
    with fail_clearly(context.partition_key):
        entries = entrypoints(context.run.run_config if context.run else {}, resolved)
    source = PythonImports()
    client = for_run(registry, context).client()
    try:
        with fail_clearly(context.partition_key):
            files = read_image_files(client, resolved)
        analysis = merged([source.analyze(files, components, entry) for entry in entries])
        owned = {files.canonical(f) for c in components for f in c.files}
        others = [p for p in files.kept_python_files() if p not in owned and p not in set(analysis.first_party_files)]
        loose = source.analyze_files(files, components, others[:MAX_FILES])
        unreadable = tuple(files.incomplete) + (
            (f"{len(others) - MAX_FILES} other unowned Python files not read (more than {MAX_FILES})",)
            if len(others) > MAX_FILES
            else ()
        )
        code = {"complete": True, "files": {path: i.to_dict() for path, i in files.code_identities().items()}}
    except LayerLimitExceeded as exc:
        analysis, loose, unreadable = NONE, NONE, (f"the image's layers were not read: {exc}",)
        code = {"complete": False, "reason": f"the image's layers were not read: {exc}", "files": {}}
    finally:
        client.close()
    found = import_evidence(analysis, entries, source.language, loose, unreadable, components)
    stored = evidence.write_json(context, IMPORT_EVIDENCE, found.to_dict())
    code_stored = evidence.write_json(context, IMAGE_CODE, code)
    by_ref = {c.ref: c for c in components}
    return MaterializeResult(
        metadata={
            "first_party_files": MetadataValue.int(len(found.first_party_files)),
            "import_sites": MetadataValue.int(found.import_sites),
            "components_imported": MetadataValue.int(len(found.imported_by)),
            "imports_checked": "yes" if found.checked else f"no: {found.note}",
            "imported": md_table(
                ["component", "imported by", "how"],
                [
                    (
                        by_ref[ref].purl_without_qualifiers if ref in by_ref else ref,
                        ", ".join(sites[:3]),
                        "; ".join(found.hows[ref][:2]),
                    )
                    for ref, sites in sorted(found.imported_by.items())
                ],
            ),
            "dynamic_load_sites": MetadataValue.int(len(found.dynamic_loads)),
            **({"dynamic_loads": dynamic_loads_table(found.dynamic_loads)} if found.dynamic_loads else {}),
            **({"unreadable": MetadataValue.text("\n".join(found.unreadable[:20]))} if found.unreadable else {}),
            "code_files_identified": MetadataValue.int(len(code["files"])),
            **stored.metadata(),
            **code_stored.metadata(),
        }
    )
