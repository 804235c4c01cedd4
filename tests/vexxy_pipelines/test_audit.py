"""`vexxy explain`, the audit report and VEX diffs on real analyses: the demo image, and a copy of it re-evaluated
against fewer advisories (a second materialization without a sandbox run)."""

import hashlib
import json
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize
from fleet import fleet_of
from stored_documents import latest_document_path

from vexxy import settings
from vexxy.evidence.documents import EXECUTION_PROFILE
from vexxy_pipelines.assets.vulnerability_db import vulnerability_db
from vexxy_pipelines.cli.audit import diff_images, explain_image
from vexxy_pipelines.cli.main import main
from vexxy_pipelines.definitions import defs
from vexxy_pipelines.lineage import latest_materialization
from vexxy_pipelines.partitions import add_image_partition
from vexxy_pipelines.resources.advisory_source import OsvSourceResource
from vexxy_pipelines.resources.evidence_store import EvidenceStore

pytestmark = pytest.mark.slow
SITE = "/usr/local/lib/python3.11/dist-packages"


@pytest.fixture(scope="module")
def evidence():
    return EvidenceStore(root=os.environ["VEXXY_EVIDENCE_DIR"])


@pytest.fixture(scope="module")
def refreshed(analyzed_demo, demo_image, evidence):
    """The demo and a second build of it in an instance of their own; the second re-evaluated without PyYAML's advisory."""
    from vexxy_pipelines.instance import ensure_dagster_home

    ensure_dagster_home()
    target = DagsterInstance.ephemeral()
    source = DagsterInstance.get()
    first, second = fleet_of(source, add_image_partition(source, demo_image), 1, target, label="audit")
    resources = {"osv": OsvSourceResource(source=str(settings.BUNDLED_OSV / "pypa" / "jinja2")), "evidence": evidence}
    assert materialize([vulnerability_db], resources=resources, instance=target).success
    result = defs.resolve_job_def("reevaluate_image").execute_in_process(instance=target, partition_key=second)
    assert result.success
    return target, first, second


def test_explain_an_affected_statement(analyzed_demo, demo_image, capsys):
    assert main(["explain", demo_image.canonical(), "CVE-2020-28493"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    # The latest analysis of the image is the one explained; statements cite its profile file's SHA-256.
    source = DagsterInstance.get()
    latest_profile = latest_document_path(source, EXECUTION_PROFILE, add_image_partition(source, demo_image))
    profile = "sha256:" + hashlib.sha256(latest_profile.read_bytes()).hexdigest()
    for expected in ("affected", "pkg:pypi/jinja2@2.11.2", "PYSEC-2021-66", f"{SITE}/jinja2/__init__.py at +", profile):
        assert expected in shown
    assert "complete" in shown and "Audit report:" in shown


def test_explain_a_not_affected_statement_as_json(analyzed_demo, demo_image, capsys):
    assert main(["explain", f"{demo_image.name}@{demo_image.digest}", "PYSEC-2021-142", "--json"]) == 0
    (answer,) = json.loads(capsys.readouterr().out)["statements"]
    assert answer["vulnerability"] == "CVE-2020-14343" and answer["status"] == "not_affected"
    assert answer["loaded"] == [] and answer["files_known"] > 10 and f"{SITE}/yaml/__init__.py" in answer["files"]
    assert answer["profile"]["complete"] is True and answer["profile"]["backend"] == "local-runc"
    provenance = answer["provenance"]
    assert provenance["job"] == "analyze_image" and provenance["vexxy_version"] == "0.1.0"
    assert {i["asset"] for i in provenance["inputs"]} >= {
        "image",
        "sbom",
        "execution_profile",
        "vulnerabilities",
        "vulnerability_db",
    }
    assert all(i["run_id"] == provenance["run_id"] for i in provenance["inputs"] if i["asset"] != "vulnerability_db")
    assert main(["explain", demo_image.canonical(), "CVE-2020-14343", "--run", provenance["run_id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["statements"][0]["provenance"]["run_id"] == provenance["run_id"]
    # The start of the id, as `vexxy analyze` prints it, names the run too.
    assert main(["explain", demo_image.canonical(), "CVE-2020-14343", "--run", provenance["run_id"][:8], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["statements"][0]["provenance"]["run_id"] == provenance["run_id"]
    assert main(["explain", demo_image.canonical(), "CVE-2020-14343", "--run", "no-such-run"]) == 2
    err = "".join(capsys.readouterr().err.split())
    assert "wrotenoVEX" in err and "Runsthatdid,latestfirst:" in err and provenance["run_id"] in err


def test_explain_refuses_what_it_cannot_answer(analyzed_demo, demo_image, capsys):
    assert main(["explain", demo_image.canonical(), "CVE-1999-0001"]) == 2
    assert "CVE-2020-14343, CVE-2020-28493" in capsys.readouterr().err
    assert main(["explain", demo_image.canonical(), "../../etc/passwd"]) == 2
    assert "is not a vulnerability id" in capsys.readouterr().err


class Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.chunks, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.chunks.append(data)


def report_text(record) -> tuple[str, list[str]]:
    path = Path(record.asset_materialization.metadata["audit_report_path"].value)
    assert path.parent.name == record.run_id
    parser = Text()
    parser.feed(path.read_text())
    return " ".join(" ".join(parser.chunks).split()), parser.tags


def test_the_audit_report_of_an_analysis(analyzed_demo, demo_image, instance):
    record = latest_materialization(instance, "vex_document", add_image_partition(instance, demo_image))
    text, tags = report_text(record)
    assert "script" not in tags and "CVE-2020-28493" in text and "CVE-2020-14343" in text
    assert f"{SITE}/jinja2/__init__.py at +" in text and "execution_profile.json:" in text


def test_a_reevaluation_diffs_against_the_previous_vex(refreshed, evidence):
    target, _first, second = refreshed
    record = latest_materialization(target, "vex_document", second)
    metadata = record.asset_materialization.metadata
    assert metadata["statements_removed"].value == 1 and metadata["statements_changed"].value == 0
    assert "CVE-2020-14343" in metadata["diff_table"].value and "1 removed, 1 unchanged" in metadata["diff_previous"].value
    text, _ = report_text(record)
    assert "Changes since the previous VEX" in text and "no longer matched" in text
    lineage = json.loads(Path(metadata["lineage_path"].value).read_text())
    profile_run = next(i["run_id"] for i in lineage["inputs"] if i["asset"] == "execution_profile")
    assert lineage["job"] == "reevaluate_image" and profile_run != record.run_id  # the earlier sandbox evidence decides

    diff = diff_images(target, evidence, second)  # its two materializations
    assert [(c.vulnerability, c.kind) for c in diff.changes] == [("CVE-2020-14343", "removed")]
    assert diff.after["run_id"] == record.run_id and diff.before["run_id"] == profile_run
    record, (answer,) = explain_image(target, evidence, second, "CVE-2020-28493")
    assert answer.status == "affected" and answer.provenance["job"] == "reevaluate_image"
    assert any(f.path == f"{SITE}/jinja2/__init__.py" for f in answer.loaded)


def test_a_diff_between_two_digests(refreshed, evidence):
    target, first, second = refreshed
    diff = diff_images(target, evidence, first, second)
    assert diff.before["partition"] == first and diff.after["partition"] == second
    assert diff.counts() == {"added": 0, "removed": 1, "changed": 0, "unchanged": 1}
    assert diff.before["vulnerability_db"] != diff.after["vulnerability_db"]


def test_a_vex_stored_before_lineage_documents_is_explained_from_the_event_log(evidence):
    """Its inputs are found as a step finds them (the materializations of its run), each checked against its hash."""
    from audit_documents import documents as small_analysis
    from dagster import AssetMaterialization, MetadataValue, job, op

    from vexxy.evidence import documents as catalogue
    from vexxy.evidence.documents import run_location
    from vexxy_pipelines.partitions import image_partitions

    digest = "sha256:" + "5" * 64
    key = f"127.0.0.1:5000/vexxy/old@{digest}"
    docs = small_analysis()
    written = {
        catalogue.SYFT_SBOM: docs.syft,
        catalogue.EXECUTION_PROFILE: docs.profile,
        catalogue.ROOTFS_SYMLINKS: docs.symlinks,
        catalogue.COMPONENT_USAGE: docs.usage,
        catalogue.VULNERABILITIES: docs.vulnerabilities,
        catalogue.VEX_STATEMENTS: docs.statements,
    }

    @op
    def record_old_analysis(context):
        by_asset: dict[str, dict] = {}
        for document, value in written.items():
            stored = evidence.documents().put(run_location(document, digest, context.run_id), json.dumps(value).encode())
            by_asset.setdefault(document.asset, {}).update(
                {f"{document.key}_path": MetadataValue.path(stored.path), f"{document.key}_sha256": stored.sha256}
            )
        for asset, metadata in by_asset.items():
            context.log_event(AssetMaterialization(asset_key=asset, partition=key, metadata=metadata))

    @job
    def old_analysis():
        record_old_analysis()

    target = DagsterInstance.ephemeral()
    target.add_dynamic_partitions(image_partitions.name, [key])
    run = old_analysis.execute_in_process(instance=target)
    record, (answer,) = explain_image(target, evidence, digest, "CVE-2020-28493")  # found by its digest
    assert record.partition_key == key and answer.status == "affected"
    assert [f.first_seen for f in answer.loaded] == [1.0, 1.25, 7.5]
    provenance = answer.provenance
    assert provenance["run_id"] == run.run_id and provenance["vexxy_version"] is None  # not recorded then, not invented
    assert {i["asset"] for i in provenance["inputs"]} == {"sbom", "execution_profile", "filtered_sbom", "vulnerabilities"}
    assert all(i["run_id"] == run.run_id and i["documents"] for i in provenance["inputs"])


def test_diff_on_the_command_line(analyzed_demo, demo_image, capsys):
    assert main(["diff", demo_image.canonical(), demo_image.canonical()]) == 0
    assert "no change (2 statements the same)" in capsys.readouterr().out
    assert main(["diff", demo_image.digest, demo_image.canonical(), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"added": 0, "removed": 0, "changed": 0, "unchanged": 2}
