"""The operator's console: `dagster dev` (webserver and daemon) driven in a real headless Chromium.

One analysis: the demo image by tag, launched from `analyze_reference`'s Launchpad, taken up by the
submission sensor and run by the daemon. Screenshots are kept in `test-artifacts/ui/`.
"""

import json
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from billing_helpers import gateway_for, give_card, make_organization
from browser import Browser
from servers import graphql, wait_for
from sqlalchemy import select
from stored_documents import latest_document_path

from appdb.models import Submission
from vexxy.evidence.documents import VEX_STATEMENTS
from vexxy.oci.partition_key import default_key
from vexxy_pipelines.partitions import image_partitions

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
ANALYSIS_TIMEOUT = 900  # a bound for a hung deployment, not a performance assertion


@pytest.fixture(scope="module")
def dagster_dev_env(localstripe):
    """Stripe is the session's Stripe-compatible test server."""
    return {"STRIPE_API_KEY": "sk_test_vexxy", "STRIPE_API_BASE": localstripe.url}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Browser(tmp_path_factory.mktemp("chromium") / "profile", ARTIFACTS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def launched(dagster_dev, browser, demo_image, app_sessions, localstripe):
    """The demo image analyzed by tag from the Launchpad, as an operator does it: edit the example, launch."""
    from dagster import DagsterInstance

    instance = DagsterInstance.get()
    organization = make_organization(app_sessions, tier="team")
    give_card(app_sessions, gateway_for(localstripe), organization)
    typed = f"{demo_image.name}:typed-by-hand"  # what Dagster's own "Add partition" lets an operator type
    instance.add_dynamic_partitions(image_partitions.name, [typed])
    browser.goto(f"{dagster_dev}/locations/vexxy/jobs/analyze_reference/playground")
    browser.wait_for("!!document.querySelector('.CodeMirror')", 90, "the Launchpad's config editor")
    example = browser.wait_for("document.querySelector('.CodeMirror').CodeMirror.getValue()", 30, "the example config")
    browser.screenshot("1-launchpad-example")
    reference = f"{demo_image.name}:1.0"
    config = {
        "ops": {
            "submit_analysis": {
                "config": {"reference": reference, "organization": organization, "fuzzing": False, "observation_seconds": 10}
            }
        }
    }
    browser.evaluate(f"document.querySelector('.CodeMirror').CodeMirror.setValue({json.dumps(json.dumps(config, indent=2))})")
    browser.wait_for_text(organization, 30)
    browser.screenshot("2-launchpad-filled")
    browser.wait_for(
        "[...document.querySelectorAll('button')].some(b => b.innerText.trim() === 'Launch Run' && !b.disabled)",
        60,
        "the Launch Run button to accept the config",
    )
    browser.click_button("Launch Run")
    run_id = browser.wait_for(
        "location.pathname.startsWith('/runs/') && location.pathname.split('/')[2]", 60, "the launched run's page"
    )
    submit_run = wait_for(lambda: (r := instance.get_run_by_id(run_id)) and r.is_finished and r, 300, "analyze_reference")
    assert submit_run.is_success, f"analyze_reference ended {submit_run.status}"

    def submission():
        with app_sessions() as session:
            return session.scalar(select(Submission).where(Submission.correlation_id == f"launchpad:{run_id}"))

    queued = wait_for(submission, 30, "the submission")

    def analysis_finished():
        found = submission()
        run = instance.get_run_by_id(found.run_id) if found.run_id else None
        return run if run is not None and run.is_finished else None

    analysis = wait_for(analysis_finished, ANALYSIS_TIMEOUT, "the analysis the submission sensor starts")
    browser.goto(f"{dagster_dev}/runs/{analysis.run_id}")
    browser.wait_for_text("vex_document", 60)
    browser.screenshot("3-analysis-run")
    assert analysis.is_success, f"analyze_image ended {analysis.status}"
    materializations = [
        e.asset_materialization
        for e in instance.all_logs(analysis.run_id)
        if e.dagster_event and e.dagster_event.is_step_materialization
    ]
    return SimpleNamespace(
        typed=typed,
        materializations=materializations,
        example=example,
        key=default_key(demo_image),
        reference=reference,
        submission=queued,
        run=analysis,
        organization=organization,
    )


def test_the_launchpad_offers_a_ready_example(launched):
    assert "reference:" in launched.example and "/vexxy/demo:1.0" in launched.example
    assert "organization:" in launched.example


def test_a_launchpad_analysis_is_a_submission_like_the_apis(launched, app_sessions):
    assert launched.submission.source == "launchpad" and launched.submission.organization_id == launched.organization
    assert launched.run.tags["vexxy/organization"] == launched.organization
    assert launched.run.tags["vexxy/reference"] == launched.reference
    assert launched.run.tags["dagster/partition"] == launched.key and launched.run.job_name == "analyze_image"
    assert int(launched.run.tags["dagster/priority"]) >= 10  # the team tier's band

    def status():
        with app_sessions() as session:
            return session.get(Submission, launched.submission.id).status

    wait_for(lambda: status() == "complete", 120, "the run status sensor to mark the submission complete")
    billing = [e for e in launched.materializations if e.asset_key.to_user_string() == "billing_record"]
    assert billing and billing[0].metadata["status"].value == "charged"
    assert billing[0].metadata["organization"].value == launched.organization


def test_the_partition_list_shows_the_repository_name(launched, browser, dagster_dev):
    browser.goto(f"{dagster_dev}/assets/vex_document?view=partitions")
    browser.wait_for_text(launched.key)
    # What is on screen: the text of visible elements (the list shortens long keys in the middle with an ellipsis).
    visible = browser.wait_for(
        """(() => [...document.querySelectorAll('body *')]
              .filter(e => e.children.length === 0 && e.getClientRects().length && (e.innerText || '').includes('@'))
              .map(e => e.innerText.trim()))()""",
        30,
        "the partition list",
    )
    browser.screenshot("4-partitions")
    assert launched.key in visible, visible  # whole, the repository's name first
    assert launched.key.startswith("vexxy/demo@") and len(launched.key) <= 60


def test_vex_document_leads_with_counts_by_status(launched, browser, dagster_dev, instance):
    browser.goto(f"{dagster_dev}/assets/vex_document?view=partitions&partition={quote(launched.key, safe='')}")
    shown = browser.wait_for_text("status_not_affected")
    browser.screenshot("5-vex-document-partition")
    assert "status_affected" in shown and "status_under_investigation" in shown
    page = browser.evaluate("document.documentElement.outerHTML")  # the statements table, also where folded away
    assert "CVE-2020-14343" in page and "pkg:pypi/pyyaml@5.3.1" in page
    statements = json.loads(latest_document_path(instance, VEX_STATEMENTS, launched.key).read_text())
    query = """
    query ($key: String!) {
      assetOrError(assetKey: {path: ["vex_document"]}) {
        ... on Asset {
          assetMaterializations(partitions: [$key], limit: 1) {
            runId metadataEntries { label ... on IntMetadataEntry { intValue } }
          }
        }
      }
    }"""
    (materialization,) = graphql(dagster_dev, query, {"key": launched.key})["assetOrError"]["assetMaterializations"]
    assert materialization["runId"] == launched.run.run_id
    counts = {e["label"]: e.get("intValue") for e in materialization["metadataEntries"] if e["label"].startswith("status_")}
    for status in ("affected", "not_affected", "under_investigation"):
        assert counts[f"status_{status}"] == sum(1 for s in statements if s["status"] == status)
    assert counts["status_affected"] >= 1 and counts["status_not_affected"] >= 1


def test_a_key_typed_into_add_partition_is_removed(launched, browser, dagster_dev):
    from dagster import DagsterInstance

    instance = DagsterInstance.get()
    wait_for(
        lambda: not instance.has_dynamic_partition(image_partitions.name, launched.typed),
        60,
        "partition_guard_sensor to remove it",
    )
    browser.goto(f"{dagster_dev}/overview/automation")
    browser.wait_for_text("partition_guard_sensor", 60)
    browser.screenshot("6-sensors")


def test_check_results_are_tied_to_the_image_partition(launched, browser, dagster_dev):
    from dagster import DagsterEventType, DagsterInstance

    records = (
        DagsterInstance.get().get_records_for_run(launched.run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    )
    evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records]
    openvex = [e for e in evaluations if (e.asset_key.to_user_string(), e.check_name) == ("vex_document", "openvex_schema_valid")]
    assert openvex and openvex[0].partition == launched.key and openvex[0].passed
    browser.goto(f"{dagster_dev}/assets/vex_document?view=checks")
    browser.wait_for_text("openvex_schema_valid", 60)
    browser.screenshot("7-vex-document-checks")


def test_the_fleet_table_adds_up_the_analysis(launched, browser, dagster_dev):
    from dagster import AssetKey, DagsterInstance

    instance = DagsterInstance.get()
    finished = instance.get_run_record_by_id(launched.run.run_id).end_time

    def refreshed():
        event = instance.get_latest_materialization_event(AssetKey("fleet_posture"))
        return event if event is not None and event.timestamp > finished else None

    event = wait_for(refreshed, 180, "fleet_posture_sensor to refresh the fleet after the analysis")
    table = event.asset_materialization.metadata["images_table"].value
    assert launched.reference in table
    browser.goto(f"{dagster_dev}/assets/fleet_posture")
    browser.wait_for_text("images_table", 60)
    page = browser.evaluate("document.documentElement.outerHTML")
    assert "vulnerabilities_table" in page and "noise_reduction" in page
    # The tables themselves, as the webserver serves them to the page (a long Markdown table is folded
    # away in the page, and the suite's other images come first in it).
    query = """
    {
      assetOrError(assetKey: {path: ["fleet_posture"]}) {
        ... on Asset {
          assetMaterializations(limit: 1) { runId metadataEntries { label ... on MarkdownMetadataEntry { mdStr } } }
        }
      }
    }"""
    (served,) = graphql(dagster_dev, query, {})["assetOrError"]["assetMaterializations"]
    tables = {e["label"]: e.get("mdStr") for e in served["metadataEntries"]}
    assert served["runId"] == event.run_id and launched.reference in tables["images_table"]
    assert tables["vulnerabilities_table"].startswith("| vulnerability |")
    browser.screenshot("8-fleet-posture")


def test_a_failed_check_blocks_billing_record(launched, browser, dagster_dev):
    """An image whose OpenVEX fails its schema, materialized in the same instance: the UI shows the failed check
    on its partition, and `billing_record` never ran for it."""
    import secrets

    from dagster import AssetKey, DagsterInstance, materialize
    from invalid_vex import NAME, image_documents, vulnerability_documents

    from vexxy.oci.reference import ImageReference, parse_reference
    from vexxy_pipelines.assets.billing import billing_record
    from vexxy_pipelines.assets.vex import vex_document
    from vexxy_pipelines.environment import resources_for
    from vexxy_pipelines.partitions import add_image_partition

    instance = DagsterInstance.get()
    name = parse_reference(NAME)
    key = add_image_partition(instance, ImageReference(name.registry, name.repository, None, f"sha256:{secrets.token_hex(32)}"))
    result = materialize(
        [image_documents, vulnerability_documents, vex_document, billing_record],
        partition_key=key,
        instance=instance,
        resources=resources_for(),
        raise_on_error=False,
    )
    assert not result.success and result.is_node_untouched("billing_record")
    assert key not in instance.get_materialized_partitions(AssetKey("billing_record"))
    browser.goto(f"{dagster_dev}/assets/vex_document?view=partitions&partition={quote(key, safe='')}")
    browser.wait_for_text(key, 60)
    browser.screenshot("9-invalid-vex-partition")
    browser.goto(f"{dagster_dev}/assets/vex_document?view=checks")
    browser.wait_for_text("openvex_schema_valid", 60)
    browser.wait_for_text("Failed", 60)
    browser.wait_for_text(key, 60)  # the latest check execution names the image partition it judged
    browser.screenshot("10-failed-check")
    browser.goto(f"{dagster_dev}/assets/billing_record?view=partitions&partition={quote(key, safe='')}")
    browser.wait_for_text(key, 60)
    browser.screenshot("11-billing-record-not-run")
