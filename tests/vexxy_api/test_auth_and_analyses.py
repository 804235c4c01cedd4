"""The customer API: the auth matrix, organization scoping, quota at submit, and the analysis lifecycle."""

import base64
import json
import time
from datetime import UTC, datetime

import jwt
from billing_helpers import AUDIENCE, ISSUER, JWT_KEY, make_organization, token
from sqlalchemy import func, select

from appdb.models import ApiKey, Submission, User
from billing.pricing import TIERS
from vexxy_api.auth import new_api_key


def submissions(app_sessions) -> int:
    with app_sessions() as session:
        return session.scalar(select(func.count()).select_from(Submission))


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


def tampered(valid: str) -> str:
    header, payload, signature = valid.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    claims["org"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_auth_matrix_rejects_and_writes_nothing(client, app_sessions):
    organization = make_organization(app_sessions, tier="team")
    now = int(time.time())
    claims = {"sub": "u", "org": organization, "role": "member", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600}
    cases = {
        "no token": {},
        "malformed token": bearer("not-a-jwt"),
        "alg none": bearer(jwt.encode(claims, None, algorithm="none")),
        "wrong key": bearer(jwt.encode(claims, "another-key-entirely-0123456789abcdef", algorithm="HS256")),
        "wrong audience": bearer(jwt.encode({**claims, "aud": "someone-else"}, JWT_KEY, algorithm="HS256")),
        "wrong issuer": bearer(jwt.encode({**claims, "iss": "https://evil.example/"}, JWT_KEY, algorithm="HS256")),
        "expired": bearer(jwt.encode({**claims, "exp": now - 5}, JWT_KEY, algorithm="HS256")),
        "tampered claims": bearer(tampered(jwt.encode(claims, JWT_KEY, algorithm="HS256"))),
        "unknown api key": bearer("vxk_000000000000.secret"),
    }
    before = submissions(app_sessions)
    for name, headers in cases.items():
        response = client.post("/api/v1/analyses", json={"image": "registry.example.com/app:1"}, headers=headers)
        assert response.status_code == 401, (name, response.text)
        assert response.json()["error"]["correlation_id"], name
    assert submissions(app_sessions) == before


def test_other_organizations_analysis_is_404(client, app_sessions):
    mine, theirs = make_organization(app_sessions), make_organization(app_sessions)
    created = client.post(
        "/api/v1/analyses", json={"image": "registry.example.com/app:1"}, headers=bearer(token(theirs, role="member"))
    )
    assert created.status_code == 201
    analysis = created.json()["id"]
    stranger = bearer(token(mine, role="member"))
    for method, path in (("get", ""), ("get", "/results"), ("get", "/vex"), ("post", "/cancel"), ("delete", "")):
        response = getattr(client, method)(f"/api/v1/analyses/{analysis}{path}", headers=stranger)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", (method, path)
    assert client.get("/api/v1/analyses", headers=stranger).json()["total"] == 0
    with app_sessions() as session:
        assert session.get(Submission, analysis).status == "queued" and not session.get(Submission, analysis).cancel_requested


def test_submit_validate_list_cancel_delete(client, app_sessions):
    organization = make_organization(app_sessions, tier="team")
    member = bearer(token(organization, role="member"))
    bad = client.post("/api/v1/analyses", json={"image": "Not A Reference"}, headers=member)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_image_reference"
    too_long = client.post("/api/v1/analyses", json={"image": "r.example.com/a:1", "observation_seconds": 3000}, headers=member)
    assert too_long.status_code == 422 and "at most 300 s" in too_long.json()["error"]["message"]
    created = client.post(
        "/api/v1/analyses", json={"image": "r.example.com/a:1", "priority": 3}, headers={**member, "X-Correlation-ID": "corr-123"}
    )
    assert created.status_code == 201 and created.headers["Location"].endswith(created.json()["id"])
    body = created.json()
    assert body["status"] == "queued" and body["priority"] == TIERS["team"].priority_band[0] + 3 and body["fuzzing"] is True
    with app_sessions() as session:
        assert session.get(Submission, body["id"]).correlation_id == "corr-123"
    listed = client.get("/api/v1/analyses?status=queued&image=r.example.com", headers=member).json()
    assert listed["total"] == 1 and listed["analyses"][0]["id"] == body["id"]
    assert client.get(f"/api/v1/analyses/{body['id']}/vex", headers=member).status_code == 409
    assert client.delete(f"/api/v1/analyses/{body['id']}", headers=member).status_code == 409
    assert client.post(f"/api/v1/analyses/{body['id']}/cancel", headers=member).json()["status"] == "cancelled"
    assert client.post(f"/api/v1/analyses/{body['id']}/cancel", headers=member).status_code == 409
    assert client.delete(f"/api/v1/analyses/{body['id']}", headers=member).status_code == 204
    assert client.get(f"/api/v1/analyses/{body['id']}", headers=member).status_code == 404


def test_cancelling_a_submission_that_shares_a_run_leaves_the_run_alone(client, app_sessions):
    """Cancelling the second submission of a digest detaches it at once; the first one's run goes on."""
    from appdb.models import QuotaReservation

    organization = make_organization(app_sessions, tier="team")
    member = bearer(token(organization, role="member"))
    first, second = (
        client.post("/api/v1/analyses", json={"image": "r.example.com/a:1"}, headers=member).json()["id"] for _ in range(2)
    )
    with app_sessions.begin() as session:
        for submission_id, shared in ((first, None), (second, first)):
            row = session.get(Submission, submission_id)
            row.status, row.run_id, row.shared_with = "running", "run-of-first", shared
    assert client.post(f"/api/v1/analyses/{second}/cancel", headers=member).json()["status"] == "cancelled"
    with app_sessions() as session:
        assert session.get(Submission, first).status == "running" and not session.get(Submission, first).cancel_requested
        reservation = session.scalar(select(QuotaReservation).where(QuotaReservation.submission_id == second))
    assert reservation.status == "released"
    assert (
        client.post(f"/api/v1/analyses/{first}/cancel", headers=member).json()["status"] == "running"
    )  # its run is terminated by the sensor
    with app_sessions() as session:
        assert session.get(Submission, first).cancel_requested


def test_quota_429_and_past_due_402(client, app_sessions):
    organization = make_organization(app_sessions, tier="free")
    member = bearer(token(organization, role="member"))
    codes = [
        client.post("/api/v1/analyses", json={"image": f"r.example.com/a:{i}", "fuzzing": False}, headers=member).status_code
        for i in range(11)
    ]
    assert codes == [201] * 10 + [429]
    refused = client.post("/api/v1/analyses", json={"image": "r.example.com/a:x", "fuzzing": False}, headers=member)
    error = refused.json()["error"]
    assert (error["tier"], error["limit"]) == ("free", 10) and error["resets_at"] and int(refused.headers["Retry-After"]) > 0
    fuzz = client.post(
        "/api/v1/analyses",
        json={"image": "r.example.com/a:y", "fuzzing": True},
        headers=bearer(token(make_organization(app_sessions, tier="free"), role="member")),
    )
    assert fuzz.status_code == 422 and fuzz.json()["error"]["code"] == "fuzzing_not_included"
    late = make_organization(app_sessions, status="past_due")
    response = client.post("/api/v1/analyses", json={"image": "r.example.com/a:1"}, headers=bearer(token(late)))
    assert response.status_code == 402 and response.json()["error"]["code"] == "payment_required"


def test_api_keys_are_stored_hashed_and_can_be_revoked(client, app_sessions):
    organization = make_organization(app_sessions, tier="team")
    key, prefix, secret_hash = new_api_key()
    with app_sessions.begin() as session:
        admin = session.scalar(select(User).where(User.organization_id == organization))
        session.add(ApiKey(organization_id=organization, user_id=admin.id, name="ci", prefix=prefix, secret_hash=secret_hash))
    assert key.split(".", 1)[1] not in secret_hash
    assert client.post("/api/v1/analyses", json={"image": "r.example.com/a:1"}, headers=bearer(key)).status_code == 201
    with app_sessions.begin() as session:
        session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)).revoked_at = datetime.now(UTC)
    assert client.post("/api/v1/analyses", json={"image": "r.example.com/a:1"}, headers=bearer(key)).status_code == 401
