"""Every input is bounded before it reaches a parser or the database: body sizes, NUL characters,
correlation ids, token claims, page numbers; malformed signed Stripe events and malformed registry
envelopes are 400s; a token naming an unknown organization is a 403 everywhere."""

import hashlib
import hmac
import json
import time
from dataclasses import replace

import pytest
from billing_helpers import make_organization, token
from sqlalchemy import func, select

from appdb.models import ApiKey, Submission, WatchedRepository
from vexxy_api.limits import MAX_JSON_BODY

STRIPE_SECRET = "whsec_bounds"


@pytest.fixture
def api_settings(api_settings, app_database):
    return replace(
        api_settings, database_url=app_database.url, stripe_webhook_secret=STRIPE_SECRET, allowed_registries=frozenset()
    )


@pytest.fixture
def admin(app_database):
    return {"Authorization": f"Bearer {token(make_organization(app_database.sessions, tier='team'), role='admin')}"}


def error_code(response) -> str:
    return response.json()["error"]["code"]


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_body_over_64_kib_is_refused_before_parsing_and_auth(client, admin, app_database):
    before = count(app_database.sessions, Submission)
    body = json.dumps({"image": "registry.example.com/a:1", "padding": "x" * MAX_JSON_BODY}).encode()
    declared = client.post("/api/v1/analyses", content=body, headers={**admin, "Content-Type": "application/json"})
    assert declared.status_code == 413 and error_code(declared) == "body_too_large"
    assert "64 KiB" in declared.json()["error"]["message"] and declared.json()["error"]["correlation_id"]
    anonymous = client.post("/api/v1/analyses", content=body, headers={"Content-Type": "application/json"})
    assert anonymous.status_code == 413  # not 401: refused before authentication

    def chunks():  # no Content-Length: counted while it streams
        for _ in range(20):
            yield b" " * 8192

    streamed = client.post("/api/v1/analyses", content=chunks(), headers={**admin, "Content-Type": "application/json"})
    assert streamed.status_code == 413 and error_code(streamed) == "body_too_large"
    assert count(app_database.sessions, Submission) == before
    fits = client.post("/api/v1/analyses", json={"image": "registry.example.com/a:1"}, headers=admin)
    assert fits.status_code == 201


@pytest.mark.parametrize(
    "path",
    ["/api/v1/analyses?image=a%00b", "/api/v1/analyses/a%00b", "/api/v1/api-keys/%00", "/api/v1/analyses?status=%00"],
)
def test_nul_in_the_url_is_a_400(client, admin, path):
    response = client.get(path, headers=admin)
    assert response.status_code == 400 and error_code(response) == "nul_in_url"


def test_nul_in_json_strings_is_a_422_and_nothing_is_written(client, admin, app_database):
    keys = count(app_database.sessions, ApiKey)
    for path, body in (
        ("/api/v1/api-keys", {"name": "ci\u0000"}),
        ("/api/v1/analyses", {"image": "registry.example.com/a:1\u0000"}),
        ("/api/v1/watched-repositories", {"repository": "registry.example.com/a\u0000"}),
        ("/api/v1/billing/checkout", {"tier": "team\u0000"}),
    ):
        response = client.post(path, json=body, headers=admin)
        assert response.status_code == 422, (path, response.text)
    assert count(app_database.sessions, ApiKey) == keys


@pytest.mark.parametrize("value", ["x" * 65, "has space", "semi;colon", "\u00e9t\u00e9"])
def test_a_correlation_id_the_logs_and_tags_cannot_keep_is_a_400(client, admin, value):
    response = client.get("/api/v1/analyses", headers={**admin, "X-Correlation-ID": value.encode()})
    assert response.status_code == 400 and error_code(response) == "bad_correlation_id"
    ok = client.get("/api/v1/analyses", headers={**admin, "X-Correlation-ID": "a" * 64})
    assert ok.status_code == 200 and ok.headers["X-Correlation-ID"] == "a" * 64


def test_token_claims_are_bounded_by_their_columns(client, app_database):
    organization = make_organization(app_database.sessions)
    for claims in ({"subject": "u" * 101}, {"subject": "a\u0000b"}, {"subject": "tab\there"}):
        response = client.get("/api/v1/analyses", headers={"Authorization": f"Bearer {token(organization, **claims)}"})
        assert response.status_code == 401 and error_code(response) == "invalid_token", claims
    for organization_claim in ("o" * 37, 42, ["a"]):
        response = client.get(
            "/api/v1/analyses", headers={"Authorization": f"Bearer {token(organization, org=organization_claim)}"}
        )
        assert response.status_code == 401 and error_code(response) == "invalid_token", organization_claim
    ok = client.post(
        "/api/v1/analyses",
        json={"image": "registry.example.com/a:1"},
        headers={"Authorization": f"Bearer {token(organization, subject='u' * 100)}"},
    )
    assert ok.status_code == 201


def test_repository_names_are_bounded_by_their_columns(client, admin):
    for name in ("r" * 250 + ".example.com/a", "registry.example.com/" + "/".join(["abcdefgh"] * 30)):
        response = client.post("/api/v1/watched-repositories", json={"repository": name}, headers=admin)
        assert response.status_code == 422 and error_code(response) == "invalid_repository", response.text
    fits = client.post("/api/v1/watched-repositories", json={"repository": "registry.example.com/" + "a" * 255}, headers=admin)
    assert fits.status_code == 201, fits.text


def test_page_numbers_and_sizes_are_bounded(client, admin):
    for path in (
        "/api/v1/analyses?page=10001",
        "/api/v1/analyses?page=99999999999999999999",
        "/api/v1/analyses?page_size=201",
        "/api/v1/analyses?page=0",
        "/api/v1/billing/ledger?page=10001",
    ):
        assert client.get(path, headers=admin).status_code == 422, path
    assert client.get("/api/v1/analyses?page=10000", headers=admin).json()["analyses"] == []
    assert client.delete("/api/v1/watched-repositories/99999999999", headers=admin).status_code == 422
    assert client.get("/api/v1/analyses/" + "a" * 37, headers=admin).status_code == 422


def test_times_out_of_the_databases_range_are_refused_or_normalized(client, admin):
    assert client.get("/api/v1/analyses?since=2000-01-01T00:00:00%2B16:50", headers=admin).status_code == 200
    assert client.get("/api/v1/analyses?until=0001-01-01T00:00:00%2B01:00", headers=admin).status_code == 422


def test_a_token_naming_an_unknown_organization_is_a_403_everywhere(client, app_database):
    unknown = {"Authorization": f"Bearer {token('no-such-organization', role='admin')}"}
    keys, watched = count(app_database.sessions, ApiKey), count(app_database.sessions, WatchedRepository)
    for method, path, body in (
        ("POST", "/api/v1/api-keys", {"name": "ci"}),
        ("POST", "/api/v1/watched-repositories", {"repository": "registry.example.com/a"}),
        ("POST", "/api/v1/analyses", {"image": "registry.example.com/a:1"}),
        ("GET", "/api/v1/analyses", None),
        ("GET", "/api/v1/api-keys", None),
        ("GET", "/api/v1/billing", None),
    ):
        response = client.request(method, path, json=body, headers=unknown)
        assert response.status_code == 403, (path, response.text)
        assert error_code(response) == "unknown_organization" and "no-such-organization" in response.json()["error"]["message"]
    assert (count(app_database.sessions, ApiKey), count(app_database.sessions, WatchedRepository)) == (keys, watched)


def signed(payload: bytes) -> dict:
    stamp = int(time.time())
    signature = hmac.new(STRIPE_SECRET.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={signature}", "Content-Type": "application/json"}


@pytest.mark.parametrize(
    "event",
    [
        [],
        "event",
        {"type": "invoice.paid", "data": {"object": {}}},  # no id
        {"id": "evt_1", "type": "invoice.paid", "data": []},
        {"id": "evt_1", "type": "invoice.paid", "data": {"object": "cus_1"}},
        {"id": "evt_1", "type": "invoice.paid", "data": {"object": []}},
        {"id": "evt_1", "type": "invoice.paid", "created": "yesterday", "data": {"object": {}}},
        {"id": "evt_1", "type": "invoice.paid", "data": {"object": {"customer": 12}}},
        {"id": "evt_1", "type": 7, "data": {"object": {}}},
        {"id": "e" * 101, "type": "invoice.paid", "data": {"object": {}}},
        {"id": "evt_\u0000", "type": "invoice.paid", "data": {"object": {}}},
        {"id": "evt_1", "type": "customer.subscription.updated", "data": {"object": {"items": {"data": "x"}}}},
        {"id": "evt_1", "type": "customer.subscription.updated", "data": {"object": {"current_period_end": "soon"}}},
    ],
)
def test_a_malformed_but_correctly_signed_stripe_event_is_a_400(client, event):
    payload = json.dumps(event).encode()
    response = client.post("/webhooks/stripe", content=payload, headers=signed(payload))
    assert response.status_code == 400 and error_code(response) == "malformed_event", response.text


def test_a_signed_body_that_is_not_json_is_a_400(client):
    for payload in (b"{not json", b"\xff\xfe"):
        response = client.post("/webhooks/stripe", content=payload, headers=signed(payload))
        assert response.status_code == 400 and error_code(response) == "bad_payload"


@pytest.mark.parametrize(
    "envelope",
    [
        [],
        {"events": "push"},
        {"events": ["push"]},
        {"events": [{"id": 5, "action": "push"}]},
        {"events": [{"id": "e" * 65, "action": "push"}]},
        {"events": [{"id": "e1", "action": "push", "target": "x"}]},
        {
            "events": [
                {
                    "id": "e1",
                    "action": "push",
                    "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "repository": ["a"]},
                }
            ]
        },
        {"events": [{"id": str(i), "action": "pull"} for i in range(101)]},
    ],
)
def test_a_malformed_registry_envelope_is_a_400(client, admin, envelope):
    created = client.post("/api/v1/watched-repositories", json={"repository": "registry.example.com/env/app"}, headers=admin)
    inbox = {"Authorization": f"Bearer {created.json()['notification_secret']}"}
    response = client.post("/api/v1/registry/notifications", json=envelope, headers=inbox)
    assert response.status_code == 400 and error_code(response) == "malformed_notification", response.text
    not_json = client.post("/api/v1/registry/notifications", content=b"{", headers=inbox)
    assert not_json.status_code == 400 and error_code(not_json) == "bad_payload"
