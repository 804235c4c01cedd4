"""The document endpoints serve the documents of the analysis's own run, never another run's of the same image."""

import json
import uuid
from dataclasses import replace

import pytest
from billing_helpers import make_organization, token
from submission_rows import stored_submission

from vexxy.evidence.documents import FUZZ_FINDINGS, FUZZ_FINDINGS_SARIF, OPENVEX, VEX_STATEMENTS, run_location
from vexxy.evidence.store import DocumentStore

DIGEST = "sha256:" + uuid.uuid4().hex * 2


@pytest.fixture
def api_settings(api_settings, evidence):
    return replace(api_settings, evidence_dir=str(evidence.root))


def complete_analysis(app_sessions, organization: str, run_id: str) -> str:
    return stored_submission(
        app_sessions,
        organization,
        f"r.example.com/app@{DIGEST}",
        reserve=False,
        image_digest=DIGEST,
        status="complete",
        phase="complete",
        progress=100,
        run_id=run_id,
        correlation_id="c",
    )


def write_run(evidence: DocumentStore, run_id: str, fuzz_status: str, vex_version: int | None) -> None:
    evidence.put(run_location(VEX_STATEMENTS, DIGEST, run_id), json.dumps([{"status": "affected"}]).encode())
    evidence.put(run_location(FUZZ_FINDINGS, DIGEST, run_id), json.dumps({"status": fuzz_status, "by_risk": {}}).encode())
    evidence.put(run_location(FUZZ_FINDINGS_SARIF, DIGEST, run_id), json.dumps({"version": "2.1.0", "run": run_id}).encode())
    if vex_version is not None:
        evidence.put(run_location(OPENVEX, DIGEST, run_id), json.dumps({"version": vex_version}).encode())


def test_each_analysis_reads_its_own_runs_documents(client, app_sessions, evidence):
    fuzzed_org, plain_org = make_organization(app_sessions), make_organization(app_sessions)
    fuzzed_run, plain_run = str(uuid.uuid4()), str(uuid.uuid4())
    write_run(evidence, fuzzed_run, "completed", 1)
    write_run(evidence, plain_run, "skipped", None)  # written later, as a last writer would be
    fuzzed = complete_analysis(app_sessions, fuzzed_org, fuzzed_run)
    plain = complete_analysis(app_sessions, plain_org, plain_run)
    as_fuzzed = {"Authorization": f"Bearer {token(fuzzed_org, role='member')}"}
    as_plain = {"Authorization": f"Bearer {token(plain_org, role='member')}"}

    assert client.get(f"/api/v1/analyses/{fuzzed}/findings", headers=as_fuzzed).json()["status"] == "completed"
    assert client.get(f"/api/v1/analyses/{plain}/findings", headers=as_plain).json()["status"] == "skipped"
    assert client.get(f"/api/v1/analyses/{fuzzed}/results", headers=as_fuzzed).json()["summary"]["fuzzing"] == "completed"
    sarif = client.get(f"/api/v1/analyses/{plain}/findings?format=sarif", headers=as_plain)
    assert sarif.headers["content-type"] == "application/sarif+json" and sarif.json()["run"] == plain_run
    assert client.get(f"/api/v1/analyses/{fuzzed}/vex", headers=as_fuzzed).json() == {"version": 1}
    missing = client.get(f"/api/v1/analyses/{plain}/vex", headers=as_plain)  # its run wrote no OpenVEX
    assert missing.status_code == 404 and "vex.openvex.json" in missing.json()["error"]["message"]
    assert client.get(f"/api/v1/analyses/{fuzzed}/findings", headers=as_plain).status_code == 404
