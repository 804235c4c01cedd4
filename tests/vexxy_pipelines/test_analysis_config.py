"""Analysis configurations end to end, on one image built here (the demo's Debian, Jinja2 and PyYAML layers and an
app that needs DATABASE_URL, loads a feature module importing Jinja2 only with FEATURE_X=1, and a nightly job,
`python3 -m tasks.cleanup`, importing PyYAML).

One analysis goes the customer's way (API submission with a secret, submission sensor, the run it requests) with
a web role and a nightly role; then the secret is searched for everywhere it must not be. Two sandbox-only runs
on the same partition show what is missing without the variable and without the flag.
"""

import json
import os
import uuid
from pathlib import Path

import pytest
from billing_helpers import JWT_KEY, make_organization, token
from dagster import AssetKey, DagsterEventType, build_sensor_context, execute_job, materialize, reconstructable
from fastapi.testclient import TestClient
from secrets_key import TEST_SECRETS_KEY
from sqlalchemy import MetaData, select
from stored_documents import latest_document_path

from appdb.models import AnalysisSecret, Submission
from submissions import lifecycle
from vexxy.demo.images import DEMO
from vexxy.evidence.documents import COMPONENT_USAGE, EXECUTION_PROFILE, OPENVEX
from vexxy.oci.build import RuntimeConfig, directory_entry, file_entry, layer_from_entries, push_image
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy_api.app import create_app
from vexxy_api.settings import ApiSettings
from vexxy_pipelines import definitions
from vexxy_pipelines.assets.filtered_sbom import filtered_sbom
from vexxy_pipelines.assets.sandbox import analysis_run_config, sandbox_session
from vexxy_pipelines.assets.vex import vex_document
from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.sensors.submission_intake import submission_sensor

pytestmark = pytest.mark.slow

APP = '''"""Needs DATABASE_URL; the feature module (it imports Jinja2) only with FEATURE_X=1."""
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

if not os.environ.get("DATABASE_URL"):
    sys.exit("DATABASE_URL is not set")
if os.environ.get("FEATURE_X") == "1":
    import feature  # noqa: F401
token = os.environ.get("API_TOKEN", "")
print("starting with token", token, flush=True)  # a careless app: its log must never carry the secret out
if token:
    open("/tmp/" + token, "w").close()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok"
        self.send_response(200 if self.path in ("/", "/healthz") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
'''
FEATURE = 'import jinja2\n\nTEMPLATE = jinja2.Template("{{ x }}")\n'
CLEANUP = 'import os\n\nimport yaml\n\nprint(yaml.safe_dump({"cleaned": 1}), os.environ.get("API_TOKEN"), flush=True)\n'
JINJA2, PYYAML = "pkg:pypi/jinja2@", "pkg:pypi/pyyaml@"


@pytest.fixture(scope="module")
def roles_image(registry, demo_layers):
    entries = [
        directory_entry("cfg"),
        file_entry("cfg/app.py", APP),
        file_entry("cfg/feature.py", FEATURE),
        directory_entry("cfg/tasks"),
        file_entry("cfg/tasks/__init__.py", ""),
        file_entry("cfg/tasks/cleanup.py", CLEANUP),
    ]
    ref = parse_reference(f"{registry.address}/vexxy/roles:1")
    runtime = RuntimeConfig(entrypoint=["python3", "/cfg/app.py"], exposed_ports=["8080/tcp"], working_dir="/cfg")
    layers = [*demo_layers[:2], layer_from_entries(entries)]
    digest, _ = push_image(RegistryClient(), ref, layers, runtime, tag="1")
    assert DEMO.packages  # the layers above hold Jinja2 2.11.2 and PyYAML 5.3.1, both with advisories
    return ref.with_digest(digest)


@pytest.fixture(scope="module")
def secret():
    return f"tok-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def secrets_key():
    # The API's and the sandbox step's: the session's key, which step processes already have.
    assert os.environ.get("VEXXY_SECRETS_KEY") == TEST_SECRETS_KEY
    return TEST_SECRETS_KEY


@pytest.fixture(scope="module")
def web_and_nightly(roles_image, secret, app_sessions, secrets_key):
    """The API submission, the sensor's run request and that run (every step but billing)."""
    from dagster import DagsterInstance

    from vexxy_pipelines.instance import ensure_dagster_home

    ensure_dagster_home()
    instance = DagsterInstance.get()
    if instance.get_latest_materialization_event(AssetKey("vulnerability_db")) is None:
        assert definitions.defs.resolve_job_def("refresh_vulnerability_db").execute_in_process(instance=instance).success
    organization = make_organization(app_sessions, tier="team")
    headers = {"Authorization": f"Bearer {token(organization, role='member')}"}
    config = {
        "fuzzing": False,
        "env": {"DATABASE_URL": "postgresql://db.internal/app"},
        "secret_env": {"API_TOKEN": secret},
        "observation_seconds": 10,
        "roles": [
            {"name": "web", "env": {"FEATURE_X": "1"}, "readiness": {"kind": "http", "path": "/healthz"}},
            {"name": "nightly", "command": ["python3", "-m", "tasks.cleanup"], "readiness": {"kind": "alive"}},
        ],
    }
    responses = []
    with TestClient(create_app(ApiSettings(database_url=os.environ["DATABASE_URL"], jwt_key=JWT_KEY))) as client:
        created = client.post("/api/v1/analyses", json={"image": roles_image.canonical(), "config": config}, headers=headers)
        assert created.status_code == 201, created.text
        submission_id = created.json()["id"]
        responses += [created, client.get(f"/api/v1/analyses/{submission_id}", headers=headers)]
        responses.append(client.get("/api/v1/analyses", headers=headers))
        with app_sessions() as session:
            seq = session.get(Submission, submission_id).seq
            assert session.get(AnalysisSecret, submission_id) is not None  # kept, encrypted, while it may run
        resources = {"app_db": resources_for()["app_db"], "registry": resources_for()["registry"]}
        result = submission_sensor(build_sensor_context(instance=instance, cursor=str(seq - 1), resources=resources))
        (request,) = [r for r in result.run_requests if r.run_key == submission_id]
        instance.add_dynamic_partitions("images", [request.partition_key])
        run = execute_job(
            reconstructable(definitions.reconstructable_analyze_image),
            instance=instance,
            tags={**request.tags, "dagster/partition": request.partition_key},
            run_config=request.run_config,
            asset_selection=[
                AssetKey(k)
                for k in (
                    "image",
                    "sbom",
                    "first_party_imports",
                    "execution_profile",
                    "fuzz_findings",
                    "filtered_sbom",
                    "vulnerabilities",
                    "vex_document",
                )
            ],
            raise_on_error=False,
        )
        with app_sessions.begin() as session:
            lifecycle.run_succeeded(session, submission_id, run.run_id)  # what the run status sensor does
        responses.append(client.get(f"/api/v1/analyses/{submission_id}", headers=headers))
        responses.append(client.get(f"/api/v1/analyses/{submission_id}/vex?format=openvex", headers=headers))
        responses.append(client.get(f"/api/v1/analyses/{submission_id}/vex?format=cyclonedx", headers=headers))
        responses.append(client.get(f"/api/v1/analyses/{submission_id}/results", headers=headers))
    return {
        "instance": instance,
        "run": run,
        "request": request,
        "submission": submission_id,
        "key": request.partition_key,
        "responses": responses,
    }


def statuses(openvex: dict, prefix: str) -> set[str]:
    return {s["status"] for s in openvex["statements"] if s["products"][0]["subcomponents"][0]["@id"].lower().startswith(prefix)}


def test_each_role_runs_its_way_and_the_vex_is_decided_on_their_union(web_and_nightly):
    instance, run, key = web_and_nightly["instance"], web_and_nightly["run"], web_and_nightly["key"]
    assert run.success
    profile = json.loads(latest_document_path(instance, EXECUTION_PROFILE, key).read_text())
    assert profile["complete"], profile["incomplete_reason"]
    assert [(r["name"], r["complete"], r["readiness"]) for r in profile["roles"]] == [
        ("web", True, "ready"),
        ("nightly", True, "ready"),
    ]
    by_role = {path: o["roles"] for path, o in profile["observations"]["opens"].items()}
    assert any("/jinja2/" in path and roles == ["web"] for path, roles in by_role.items())
    assert any("/yaml/" in path and roles == ["nightly"] for path, roles in by_role.items())
    openvex = json.loads(latest_document_path(instance, OPENVEX, key).read_text())
    assert statuses(openvex, JINJA2) == {"affected"}  # loaded by the web role, with FEATURE_X=1
    assert statuses(openvex, PYYAML) == {"affected"}  # loaded only by the nightly job
    config_hash = web_and_nightly["request"].tags["vexxy/config_hash"]
    assert openvex["tooling"].endswith(f"analysis configuration {config_hash}")
    assert profile["analysis_config"]["hash"] == config_hash
    metadata = instance.get_latest_materialization_event(AssetKey("execution_profile")).asset_materialization.metadata
    assert metadata["files_opened_nightly"].value >= 1 and "nightly" in metadata["roles"].value
    usage = json.loads(latest_document_path(instance, COMPONENT_USAGE, key).read_text())["packages_loaded_by_role"]
    assert any(p.startswith(PYYAML) for p in usage["nightly"]) and not any(p.startswith(PYYAML) for p in usage["web"])
    assert any(p.startswith(JINJA2) for p in usage["web"]) and not any(p.startswith(JINJA2) for p in usage["nightly"])


def test_the_secret_is_nowhere_it_must_not_be(web_and_nightly, secret, app_sessions):
    instance, run = web_and_nightly["instance"], web_and_nightly["run"]
    hits = []
    for response in web_and_nightly["responses"]:
        assert response.status_code == 200 or response.status_code == 201, response.text
        hits += ["API response"] if secret in response.text else []
    record = instance.get_run_by_id(run.run_id)
    hits += ["run tags"] if secret in json.dumps(record.tags) else []
    hits += ["run config"] if secret in json.dumps(record.run_config) else []
    events = instance.all_logs(run.run_id)
    hits += [f"event log: {e.dagster_event_type}" for e in events if secret in str(e)]
    # The evidence store, Dagster's home (compute logs included) and the sandbox's state: all of VEXXY_HOME.
    for root in {os.environ["VEXXY_HOME"], os.environ["VEXXY_EVIDENCE_DIR"], os.environ["DAGSTER_HOME"]}:
        for path in Path(root).rglob("*"):
            if path.is_file() and not path.is_symlink() and path.stat().st_size < 64 << 20:
                hits += [f"file {path}"] if secret.encode() in path.read_bytes() else []
    with app_sessions() as session:
        tables = MetaData()
        tables.reflect(bind=session.get_bind())
        for table in tables.sorted_tables:
            rows = session.execute(select(table)).all()
            hits += [f"database {table.name}" for row in rows if secret in repr(tuple(row))]
        assert session.get(AnalysisSecret, web_and_nightly["submission"]) is None  # deleted once the run finished
    assert hits == []
    # The careless app wrote its token to its log and named a file after it: both reached the profile redacted.
    profile = json.loads(latest_document_path(instance, EXECUTION_PROFILE, web_and_nightly["key"]).read_text())
    assert "starting with token [secret]" in profile["workload_log_tail"]
    assert "/tmp/[secret]" in profile["observations"]["opens"]
    assert any(e.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION for e in events)


def sandbox_only(instance, key, config: dict | None, with_vex: bool = False):
    """Run the sandbox (and, when asked, the steps after it) again on the partition; the image, SBOM and matches
    are the ones the first analysis recorded."""
    assets = [sandbox_session, filtered_sbom, vex_document] if with_vex else [sandbox_session]
    result = materialize(
        assets, partition_key=key, instance=instance, resources=resources_for(), run_config=analysis_run_config(config)
    )
    assert result.success
    return json.loads(latest_document_path(instance, EXECUTION_PROFILE, key).read_text())


def test_without_the_variable_the_profile_is_incomplete(web_and_nightly):
    profile = sandbox_only(web_and_nightly["instance"], web_and_nightly["key"], {"fuzzing": False})
    assert not profile["complete"] and profile["readiness"]["outcome"] in ("exited", "crash_loop")
    assert "DATABASE_URL is not set" in profile["workload_log_tail"]


def test_without_the_flag_or_the_job_role_their_packages_are_not_loaded(web_and_nightly):
    instance, key = web_and_nightly["instance"], web_and_nightly["key"]
    config = {"fuzzing": False, "env": {"DATABASE_URL": "postgresql://db.internal/app"}, "observation_seconds": 8}
    profile = sandbox_only(instance, key, config, with_vex=True)
    assert profile["complete"], profile["incomplete_reason"]
    assert not any("/jinja2/" in path or "/yaml/" in path for path in profile["observations"]["opens"])
    openvex = json.loads(latest_document_path(instance, OPENVEX, key).read_text())
    assert statuses(openvex, JINJA2) and "affected" not in statuses(openvex, JINJA2)
    # Without the nightly role, nothing loads PyYAML: its statements are no longer `affected` either.
    assert statuses(openvex, PYYAML) and "affected" not in statuses(openvex, PYYAML)
