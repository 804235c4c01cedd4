"""End to end with real processes: the API (uvicorn), `dagster dev` (webserver + daemon), a
Distribution registry sending push notifications, PostgreSQL. A push to a watched repository
becomes a submission, a run, a complete analysis and a VEX; cancelling a running analysis through
the API terminates its run and its sandbox leaves nothing behind."""

import json
import os
import sys
import tempfile
import time
from hashlib import sha256
from pathlib import Path

import httpx
import pytest
from billing_helpers import JWT_KEY, gateway_for, give_card, make_organization, token
from ports import free_port
from servers import start_server, stop_server, wait_for
from sqlalchemy import select

from appdb.models import BillingEvent
from vexxy import settings
from vexxy.demo.images import DEMO
from vexxy.demo.registry import LocalRegistry
from vexxy.oci.build import push_image
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.state import SandboxPaths
from vexxy.sandbox.sweep import leftovers
from vexxy_pipelines import tags as run_tags

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def start(command, env, port, path):
    log = tempfile.NamedTemporaryFile(prefix="vexxy-e2e-", suffix=".log", delete=False)
    process = start_server(command, ROOT, env, log)
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return httpx.get(url + path, timeout=2).status_code < 500
        except httpx.HTTPError:
            return process.poll() is not None and pytest.fail(f"{command[0]} exited: {Path(log.name).read_text()[-2000:]}")

    wait_for(up, 120, f"{command[0]} on {url}")
    return process, url


@pytest.fixture(scope="module")
def stack(tmp_path_factory, instance_module, localstripe):
    env = {
        **os.environ,
        "VEXXY_JWT_KEY": JWT_KEY,
        "VEXXY_OBSERVATION_SECONDS": "20",
        "VEXXY_QUIET_SECONDS": "3",
        "VEXXY_FUZZER": "wapiti",
        "VEXXY_FUZZ_BUDGET_SECONDS": "8",
        "VEXXY_FUZZ_IDLE_SECONDS": "1",
        "STRIPE_API_KEY": "sk_test_vexxy",
        "STRIPE_API_BASE": localstripe.url,
    }
    api_port, ui_port = free_port(), free_port()
    api, api_url = start(
        [str(Path(sys.executable).parent / "uvicorn"), "vexxy_api.app:app", "--host", "127.0.0.1", "--port", str(api_port)],
        env,
        api_port,
        "/api/v1/openapi.json",
    )
    dagster, _ = start(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(ui_port)],
        env,
        ui_port,
        "/server_info",
    )
    registries = []

    def notifying_registry(port: int, inbox_secret: str) -> LocalRegistry:
        """A registry that notifies one watched repository's inbox (its secret comes from watching it)."""
        notifications = (
            "notifications:\n  endpoints:\n    - name: vexxy\n"
            f"      url: {api_url}/api/v1/registry/notifications\n"
            f"      headers:\n        Authorization: [Bearer {inbox_secret}]\n"
            "      timeout: 2s\n      threshold: 3\n      backoff: 1s\n"
        )
        registry = LocalRegistry(root=tmp_path_factory.mktemp("notifying-registry"), port=port, extra_config=notifications)
        registries.append(registry.start())
        return registry

    try:
        yield {"api": api_url, "notifying_registry": notifying_registry}
    finally:
        for registry in registries:
            registry.stop()
        for process in (api, dagster):
            stop_server(process)


@pytest.fixture(scope="module")
def instance_module():
    from dagster import DagsterInstance

    from vexxy_pipelines.instance import ensure_dagster_home

    ensure_dagster_home()
    return DagsterInstance.get()


def analyses(api, headers):
    return httpx.get(f"{api}/api/v1/analyses", headers=headers, timeout=10).json()["analyses"]


def test_push_to_a_watched_repository_ends_in_a_vex(stack, app_sessions, demo_layers, demo_image):
    api, port = stack["api"], free_port()
    organization = make_organization(app_sessions, tier="free")
    admin = {"Authorization": f"Bearer {token(organization, role='admin')}"}
    watched = httpx.post(
        f"{api}/api/v1/watched-repositories", json={"repository": f"127.0.0.1:{port}/watched/app"}, headers=admin
    )
    assert watched.status_code == 201 and watched.json()["mode"] == "notify", watched.text
    registry = stack["notifying_registry"](port, watched.json()["notification_secret"])
    headers = {"Authorization": f"Bearer {token(organization, role='member')}"}
    client, ref = RegistryClient(), parse_reference(f"{registry.address}/watched/app:v1")
    digest, _ = push_image(client, ref, demo_layers, DEMO.runtime, tag="v1")
    push_image(
        client, parse_reference(f"{registry.address}/watched/app:latest"), demo_layers, DEMO.runtime, tag="latest"
    )  # same digest, second tag

    submission = wait_for(lambda: analyses(api, headers), 120, "the push to become a submission")[0]
    assert submission["source"] == "registry_push" and submission["image"].endswith(digest)
    done = wait_for(
        lambda: (
            (a := httpx.get(f"{api}/api/v1/analyses/{submission['id']}", headers=headers).json())["status"]
            in ("complete", "failed")
            and a
        ),
        300,
        "the analysis to finish",
        2,
    )
    assert done["status"] == "complete", done.get("error")
    assert done["progress"] == 100 and done["image_digest"] == digest
    vex = httpx.get(f"{api}{done['links']['vex']}", headers=headers)
    assert vex.status_code == 200 and vex.json()["@context"] == "https://openvex.dev/ns/v0.2.0"
    assert {s["status"] for s in vex.json()["statements"]} == {"affected", "not_affected"}
    assert httpx.get(f"{api}{done['links']['findings_sarif']}", headers=headers).json()["version"] == "2.1.0"
    assert len(analyses(api, headers)) == 1  # the second tag of the same digest made no second submission


def test_cancelling_a_running_analysis_terminates_it_and_cleans_up(stack, app_sessions, registry):
    from sandbox_images import python_image

    busy = python_image(
        registry,
        "always-busy",
        "import itertools, time\nfor i in itertools.count():\n    open(f'/tmp/tick-{i}', 'w').close()\n    time.sleep(0.5)\n",
    )
    api = stack["api"]
    organization = make_organization(app_sessions, tier="team")
    headers = {"Authorization": f"Bearer {token(organization, role='member')}"}
    created = httpx.post(
        f"{api}/api/v1/analyses", json={"image": busy.canonical, "fuzzing": False, "observation_seconds": 300}, headers=headers
    )
    assert created.status_code == 201, created.text
    analysis = created.json()["id"]
    paths = SandboxPaths(settings.sandbox_state_dir())

    def observing():
        current = httpx.get(f"{api}/api/v1/analyses/{analysis}", headers=headers).json()
        return (
            current["phase"] == "sandbox_session"
            and leftovers(paths)["containers"]
            or (current["status"], current["phase"], current.get("error"))
        )

    deadline = time.monotonic() + 240
    while isinstance(state := observing(), tuple):
        assert time.monotonic() < deadline, f"the sandbox never started observing: {state}"
        time.sleep(1)
    assert httpx.post(f"{api}/api/v1/analyses/{analysis}/cancel", headers=headers).status_code == 202
    final = wait_for(
        lambda: (
            (a := httpx.get(f"{api}/api/v1/analyses/{analysis}", headers=headers).json())["status"]
            in ("cancelled", "failed", "complete")
            and a
        ),
        180,
        "the cancellation",
        1,
    )
    assert final["status"] == "cancelled"
    wait_for(lambda: all(not found for found in leftovers(paths).values()), 60, "a clean host")


def test_the_run_queue_holds_an_organizations_runs_beyond_its_tier(stack, app_sessions, registry, instance_module):
    """A free organization runs one analysis at a time: its second waits QUEUED in Dagster's run queue."""
    from dagster import DagsterEventType, DagsterRunStatus, RunsFilter
    from sandbox_images import python_image

    code = "import itertools, time\nfor i in itertools.count():\n    open(f'/tmp/{NAME}-{i}', 'w').close()\n    time.sleep(0.5)\n"
    first_image, second_image = (
        python_image(registry, f"busy-{name}", code.replace("{NAME}", name)) for name in ("first", "second")
    )
    api = stack["api"]
    organization = make_organization(app_sessions, tier="free")
    headers = {"Authorization": f"Bearer {token(organization, role='member')}"}
    ids = []
    for image in (first_image, second_image):
        created = httpx.post(
            f"{api}/api/v1/analyses",
            json={"image": image.canonical, "fuzzing": False, "observation_seconds": 60},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])

    def runs_of(submission_id):
        return instance_module.get_runs(filters=RunsFilter(tags={"vexxy/submission": submission_id}))

    def one_running_one_queued():
        runs = [runs_of(i) for i in ids]
        statuses = sorted(r[0].status.value for r in runs if r)
        return statuses == [DagsterRunStatus.QUEUED.value, DagsterRunStatus.STARTED.value] and statuses

    wait_for(one_running_one_queued, 180, "one run started and one held in the queue", 1)
    time.sleep(8)  # several daemon ticks later, the queue still holds the second run
    assert one_running_one_queued()
    held = next(runs_of(i)[0] for i in ids if runs_of(i)[0].status == DagsterRunStatus.QUEUED)
    for submission_id in sorted(
        ids, key=lambda i: i != held.tags["vexxy/submission"]
    ):  # the held one first, while the other holds the slot
        assert httpx.post(f"{api}/api/v1/analyses/{submission_id}/cancel", headers=headers).status_code == 202
    for submission_id in ids:
        wait_for(
            lambda submission_id=submission_id: (
                httpx.get(f"{api}/api/v1/analyses/{submission_id}", headers=headers).json()["status"] == "cancelled"
            ),
            180,
            "the cancellation",
            1,
        )
        wait_for(
            lambda submission_id=submission_id: runs_of(submission_id)[0].status == DagsterRunStatus.CANCELED,
            120,
            "the run to end cancelled",
            1,
        )
    assert not instance_module.get_records_for_run(held.run_id, of_type=DagsterEventType.RUN_START).records  # it never started
    wait_for(
        lambda: all(not found for found in leftovers(SandboxPaths(settings.sandbox_state_dir())).values()), 60, "a clean host"
    )


def test_two_organizations_analyzing_one_image_at_once_each_get_their_own_evidence_and_bill(
    stack, app_sessions, localstripe, demo_image, instance_module
):
    """Same digest, same time, different settings: each analysis is served and billed from its own run."""
    from dagster import DagsterEventType, RunsFilter

    api = stack["api"]
    settings_by_org = {}
    for fuzzing, observation in ((True, 30), (False, 12)):
        organization = make_organization(app_sessions, tier="team")
        give_card(app_sessions, gateway_for(localstripe), organization)
        headers = {"Authorization": f"Bearer {token(organization, role='member')}"}
        created = httpx.post(
            f"{api}/api/v1/analyses",
            json={"image": demo_image.canonical(), "fuzzing": fuzzing, "observation_seconds": observation},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        settings_by_org[organization] = (headers, created.json()["id"], fuzzing, observation)

    def finished(headers, analysis):
        current = httpx.get(f"{api}/api/v1/analyses/{analysis}", headers=headers).json()
        return current["status"] in ("complete", "failed", "cancelled") and current

    done = {
        organization: wait_for(lambda h=headers, a=analysis: finished(h, a), 900, f"analysis {analysis}", 2)
        for organization, (headers, analysis, _, _) in settings_by_org.items()
    }
    assert all(d["status"] == "complete" for d in done.values()), [d.get("error") for d in done.values()]
    run_ids = {
        organization: instance_module.get_runs(filters=RunsFilter(tags={run_tags.SUBMISSION: analysis}))[0].run_id
        for organization, (_, analysis, _, _) in settings_by_org.items()
    }
    runs = {organization: instance_module.get_run_record_by_id(run_id) for organization, run_id in run_ids.items()}
    first, second = runs.values()
    assert first.dagster_run.run_id != second.dagster_run.run_id
    assert first.start_time < second.end_time and second.start_time < first.end_time  # they ran at the same time

    observed = {}
    for organization, (headers, analysis, fuzzing, observation) in settings_by_org.items():
        recorded = {
            r.asset_key.to_user_string(): r.asset_materialization.metadata
            for r in instance_module.get_records_for_run(
                run_ids[organization], of_type=DagsterEventType.ASSET_MATERIALIZATION
            ).records
        }
        served_findings = httpx.get(f"{api}/api/v1/analyses/{analysis}/findings", headers=headers)
        findings = served_findings.json()
        summary = httpx.get(f"{api}/api/v1/analyses/{analysis}/results", headers=headers).json()["summary"]
        if fuzzing:
            assert findings["status"] in ("completed", "partial") and findings["tool"] == "wapiti", findings
        else:
            assert findings["status"] == "skipped" and "not requested" in findings["reason"], findings
        assert summary["fuzzing"] == findings["status"]
        vex = httpx.get(f"{api}/api/v1/analyses/{analysis}/vex", headers=headers)
        assert vex.status_code == 200 and {s["status"] for s in vex.json()["statements"]} == {"affected", "not_affected"}
        # The bytes served are the ones this organization's own run wrote and recorded.
        assert sha256(served_findings.content).hexdigest() == recorded["fuzz_findings"]["findings_sha256"].value
        assert sha256(vex.content).hexdigest() == recorded["vex_document"]["openvex_sha256"].value
        window = recorded["execution_profile"]["window"].value
        assert f" of {observation} s, ended by" in window, window
        profile = Path(recorded["execution_profile"]["profile_path"].value).read_bytes()
        assert sha256(profile).hexdigest() == recorded["execution_profile"]["profile_sha256"].value
        observed[organization] = json.loads(profile)["window"]["observed_seconds"]

    with app_sessions() as session:
        ledger = {
            organization: session.scalars(select(BillingEvent).where(BillingEvent.organization_id == organization)).one()
            for organization in settings_by_org
        }
    fuzzed, plain = (ledger[o] for o in settings_by_org)
    for organization, (_, analysis, fuzzing, _) in settings_by_org.items():
        row = ledger[organization]
        assert row.submission_id == analysis and row.status == "charged" and row.details["fuzzed"] is fuzzing
        assert 0 < row.details["sandbox_seconds"] <= settings_by_org[organization][3] + 1
        assert row.details["sandbox_seconds"] == observed[organization]  # its own run's observation, not the other's
    assert fuzzed.credits == plain.credits + 2  # fuzzing costs two credits; one sandbox minute each
    assert fuzzed.amount_cents == plain.amount_cents + 2 * 25
