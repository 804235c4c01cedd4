"""`GET .../statements/{vulnerability}` and `GET .../diff`: answered from the analysis's own stored documents,
to its own organization only, with ids bounded and validated before anything is read."""

import copy
import json
import uuid
from dataclasses import replace

import pytest
from audit_documents import documents
from billing_helpers import make_organization, token
from submission_rows import stored_submission

from appdb.models import Submission
from vexxy.evidence import documents as catalogue
from vexxy.evidence.documents import run_location

REPOSITORY = "r.example.com/team/app"


@pytest.fixture
def api_settings(api_settings, evidence):
    return replace(api_settings, evidence_dir=str(evidence.root))


def stored_analysis(app_sessions, evidence, organization, digest, statements=None, status="complete", lineage=False) -> str:
    """A finished analysis whose run wrote the documents of the small analysis in `audit_documents`."""
    run_id = str(uuid.uuid4())
    docs = documents()
    written = {
        catalogue.VEX_STATEMENTS: statements if statements is not None else docs.statements,
        catalogue.VULNERABILITIES: docs.vulnerabilities,
        catalogue.COMPONENT_USAGE: docs.usage,
        catalogue.SYFT_SBOM: docs.syft,
        catalogue.EXECUTION_PROFILE: docs.profile,
        catalogue.ROOTFS_SYMLINKS: docs.symlinks,
    }
    hashes = {d.name: evidence.put(run_location(d, digest, run_id), json.dumps(v).encode()).sha256 for d, v in written.items()}
    if lineage:  # the sandbox evidence named by its hash: a changed document is refused, not explained
        lineage_document = {
            "run_id": run_id,
            "job": "analyze_image",
            "vulnerability_db": "d" * 64,
            "previous": {"run_id": str(uuid.uuid4()), "materialized_at": "2026-11-30T21:00:00+00:00"},
            "inputs": [
                {"asset": d.asset, "run_id": run_id, "documents": {d.name: hashes[d.name]}}
                for d in written
                if d is not catalogue.VEX_STATEMENTS
            ],
            "documents": {"vex.statements.json": hashes["vex.statements.json"]},
        }
        evidence.put(run_location(catalogue.VEX_LINEAGE, digest, run_id), json.dumps(lineage_document).encode())
    return stored_submission(
        app_sessions,
        organization,
        f"{REPOSITORY}@{digest}",
        reserve=False,
        image_digest=digest,
        status=status,
        phase=status,
        progress=100,
        run_id=run_id,
        correlation_id="c",
    )


def digest() -> str:
    return "sha256:" + uuid.uuid4().hex * 2


def as_member(organization: str) -> dict:
    return {"Authorization": f"Bearer {token(organization, role='member')}"}


def test_each_status_is_explained(client, app_sessions, evidence):
    organization = make_organization(app_sessions)
    analysis = stored_analysis(app_sessions, evidence, organization, digest(), lineage=True)
    headers = as_member(organization)
    expected = {"CVE-2020-28493": "affected", "CVE-2020-14343": "not_affected", "CVE-2022-37434": "under_investigation"}
    for vulnerability, status in expected.items():
        answer = client.get(f"/api/v1/analyses/{analysis}/statements/{vulnerability}", headers=headers)
        assert answer.status_code == 200, answer.text
        (statement,) = answer.json()["statements"]
        assert statement["status"] == status and statement["provenance"]["job"] == "analyze_image"
        assert "previous" not in statement["provenance"]  # the image's earlier VEX may be another organization's
    jinja = client.get(f"/api/v1/analyses/{analysis}/statements/PYSEC-2021-66", headers=headers).json()["statements"][0]
    assert [f["first_seen"] for f in jinja["loaded"]] == [1.0, 1.25, 7.5]
    assert jinja["matched"][0]["matched"].startswith("introduced 0, fixed 9.9") and jinja["profile"]["complete"] is True
    assert client.get(f"/api/v1/analyses/{analysis}", headers=headers).json()["links"]["diff"].endswith("/diff")


def test_bad_ids_other_organizations_and_unfinished_analyses(client, app_sessions, evidence):
    organization, other = make_organization(app_sessions), make_organization(app_sessions)
    analysis = stored_analysis(app_sessions, evidence, organization, digest())
    running = stored_analysis(app_sessions, evidence, organization, digest(), status="running")
    base = f"/api/v1/analyses/{analysis}/statements"
    headers = as_member(organization)
    for bad in ("CVE 2020 1", "%2e%2e%2fvex.openvex.json", "CVE-2020-1;rm", "A" * 101):
        answer = client.get(f"{base}/{bad}", headers=headers)
        assert answer.status_code in (404, 422), bad  # never a document, whatever the id spells
    assert client.get(f"{base}/CVE 2020 1", headers=headers).json()["error"]["code"] == "invalid_vulnerability_id"
    missing = client.get(f"{base}/CVE-1999-0001", headers=headers)
    assert missing.status_code == 404 and "CVE-1999-0001" in missing.json()["error"]["message"]
    assert client.get(f"{base}/CVE-2020-28493", headers=as_member(other)).status_code == 404
    assert client.get(f"/api/v1/analyses/{running}/statements/CVE-2020-28493", headers=headers).status_code == 409


def test_a_changed_document_is_refused_not_explained(client, app_sessions, evidence):
    organization = make_organization(app_sessions)
    image = digest()
    analysis = stored_analysis(app_sessions, evidence, organization, image, lineage=True)
    with app_sessions() as session:
        run_id = session.get(Submission, analysis).run_id
    profile = evidence.path(run_location(catalogue.EXECUTION_PROFILE, image, run_id))
    profile.chmod(0o644)
    profile.write_text(json.dumps({"observations": {"opens": {}, "execs": {}}}))
    answer = client.get(f"/api/v1/analyses/{analysis}/statements/CVE-2020-28493", headers=as_member(organization))
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "evidence_corrupted"


def test_diff_between_two_analyses_of_one_image_and_two_builds(client, app_sessions, evidence):
    organization, other = make_organization(app_sessions), make_organization(app_sessions)
    headers = as_member(organization)
    image = digest()
    statements = documents().statements
    first = stored_analysis(app_sessions, evidence, organization, image)
    observed = copy.deepcopy(statements)
    observed[0].update(status="affected", justification=None)  # PyYAML (sorted first) loaded in a new observation
    second = stored_analysis(app_sessions, evidence, organization, image, statements=observed)

    again = client.get(f"/api/v1/analyses/{second}/diff", headers=headers)  # against the previous analysis of the image
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["kind"] == "same_image" and body["before"]["analysis"] == first and body["after"]["analysis"] == second
    assert body["counts"] == {"added": 0, "removed": 0, "changed": 1, "unchanged": 2}
    assert body["changes"][0]["what"][0] == "status: not_affected -> affected"

    rebuilt = copy.deepcopy(statements)
    jinja = next(s for s in rebuilt if s["vulnerability"] == "CVE-2020-28493")
    jinja["component_purl"] = "pkg:pypi/jinja2@2.11.3"
    build = stored_analysis(app_sessions, evidence, organization, digest(), statements=rebuilt)
    across = client.get(f"/api/v1/analyses/{build}/diff?against={first}", headers=headers).json()
    assert across["kind"] == "same_repository"
    assert [(c["package"], c["what"]) for c in across["changes"]] == [("pkg:pypi/jinja2", ["version: 2.11.2 -> 2.11.3"])]

    no_previous = client.get(f"/api/v1/analyses/{first}/diff", headers=headers)
    assert no_previous.status_code == 404 and "against=" in no_previous.json()["error"]["hint"]
    theirs = stored_analysis(app_sessions, evidence, other, image)
    assert client.get(f"/api/v1/analyses/{second}/diff?against={theirs}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/analyses/{theirs}/diff", headers=as_member(other)).status_code == 404  # never ours


def test_a_path_no_endpoint_answers_is_a_404_in_the_apis_own_error_form(client, app_sessions, evidence):
    """`%2F` in an id decodes to a `/` that no route matches: still the documented error body, not the framework's."""
    organization = make_organization(app_sessions)
    analysis = stored_analysis(app_sessions, evidence, organization, digest())
    for path in (f"/api/v1/analyses/{analysis}/statements/..%2F..%2Fvex.openvex.json", "/api/v1/nowhere"):
        answer = client.get(path, headers=as_member(organization))
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", path
        assert answer.json()["error"]["correlation_id"]
    wrong_method = client.put(f"/api/v1/analyses/{analysis}/diff", headers=as_member(organization))
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["allow"]
