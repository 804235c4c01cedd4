"""Registry notifications authenticate per watched repository (a secret shown once, stored hashed), only
store well-formed digests of that repository, and customers cannot point vexxy at internal registries."""

import socket
import uuid
from dataclasses import replace

import pytest
from billing_helpers import make_organization, token
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from appdb.models import RegistryEvent, Submission, WatchedRepository
from vexxy_api.app import create_app
from vexxy_api.auth import hash_secret

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def api_settings(api_settings, app_database):
    return replace(api_settings, database_url=app_database.url, allowed_registries=frozenset())


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


def push(repository: str, digest: str = DIGEST, event_id: str | None = None, host: str = "10.0.0.1") -> dict:
    return {
        "id": event_id or str(uuid.uuid4()),
        "action": "push",
        "target": {"mediaType": MANIFEST, "digest": digest, "repository": repository, "tag": "1"},
        "request": {"host": host},
    }


def events_of(app_database, watched_id: int) -> list[RegistryEvent]:
    with app_database.sessions() as session:
        return list(
            session.scalars(
                select(RegistryEvent).where(RegistryEvent.watched_repository_id == watched_id).order_by(RegistryEvent.id)
            )
        )


def test_each_watched_repository_has_its_own_inbox_secret(client, app_database):
    organization = make_organization(app_database.sessions)
    admin = bearer(token(organization, role="admin"))
    first = client.post("/api/v1/watched-repositories", json={"repository": "registry.example.com/team/a"}, headers=admin)
    second = client.post("/api/v1/watched-repositories", json={"repository": "registry.example.com/team/b"}, headers=admin)
    polled = client.post(
        "/api/v1/watched-repositories", json={"repository": "registry.example.com/team/c", "mode": "poll"}, headers=admin
    )
    assert first.status_code == second.status_code == polled.status_code == 201
    secret_a, secret_b = first.json()["notification_secret"], second.json()["notification_secret"]
    assert secret_a.startswith("vxn_") and secret_a != secret_b and "notification_secret" not in polled.json()
    assert first.json()["notification_url"].endswith("/api/v1/registry/notifications")
    with app_database.sessions() as session:
        stored = session.get(WatchedRepository, first.json()["id"])
    assert stored.inbox_secret_hash == hash_secret(secret_a.split(".", 1)[1]) and secret_a.split(".", 1)[1] not in str(
        vars(stored)
    )
    listed = client.get("/api/v1/watched-repositories", headers=admin).json()["watched_repositories"]
    assert all("notification_secret" not in row for row in listed)  # shown once

    envelope = {"events": [push("team/a"), push("team/b")]}
    assert client.post("/api/v1/registry/notifications", json=envelope).status_code == 401
    assert client.post("/api/v1/registry/notifications", json=envelope, headers=bearer("wrong")).status_code == 401
    assert client.post("/api/v1/registry/notifications", json=envelope, headers=bearer(secret_a + "x")).status_code == 401
    stored_a = client.post("/api/v1/registry/notifications", json=envelope, headers=bearer(secret_a))
    assert stored_a.json() == {"stored": 1, "ignored": 1, "refused": []}  # team/b is not what this secret is for
    (event,) = events_of(app_database, first.json()["id"])
    assert (event.registry, event.repository, event.digest) == ("registry.example.com", "team/a", DIGEST)  # not 10.0.0.1
    assert events_of(app_database, second.json()["id"]) == []
    again = client.post("/api/v1/registry/notifications", json=envelope, headers=bearer(secret_a))
    assert again.json()["stored"] == 0  # redelivered: stored once
    assert client.post("/api/v1/registry/notifications", json=envelope, headers=bearer(secret_b)).json()["stored"] == 1

    rotated = client.post(f"/api/v1/watched-repositories/{first.json()['id']}/notification-secret", headers=admin)
    assert rotated.status_code == 201 and rotated.json()["notification_secret"] != secret_a
    assert client.post("/api/v1/registry/notifications", json=envelope, headers=bearer(secret_a)).status_code == 401
    assert client.post(
        "/api/v1/registry/notifications", json=envelope, headers=bearer(rotated.json()["notification_secret"])
    ).json() == {"stored": 0, "ignored": 1, "refused": []}
    other_admin = bearer(token(make_organization(app_database.sessions), role="admin"))
    assert (
        client.post(f"/api/v1/watched-repositories/{second.json()['id']}/notification-secret", headers=other_admin).status_code
        == 404
    )
    assert (
        client.post(f"/api/v1/watched-repositories/{polled.json()['id']}/notification-secret", headers=admin).status_code == 409
    )


def test_two_organizations_watching_one_repository_each_get_the_event(client, app_database):
    secrets = []
    for _ in range(2):
        admin = bearer(token(make_organization(app_database.sessions), role="admin"))
        created = client.post(
            "/api/v1/watched-repositories", json={"repository": "registry.example.com/shared/app"}, headers=admin
        )
        secrets.append((created.json()["id"], created.json()["notification_secret"]))
    envelope = {"events": [push("shared/app", event_id="one-registry-event")]}
    for watched_id, secret in secrets:
        assert client.post("/api/v1/registry/notifications", json=envelope, headers=bearer(secret)).json()["stored"] == 1
        assert len(events_of(app_database, watched_id)) == 1


@pytest.mark.parametrize(
    "digest", ["sha256:" + "A" * 64, "sha256:" + "a" * 63, "sha512:" + "a" * 128, "a" * 64, "sha256:../../etc", None, 7]
)
def test_a_notified_digest_must_be_sha256_hex(client, app_database, digest):
    admin = bearer(token(make_organization(app_database.sessions), role="admin"))
    created = client.post("/api/v1/watched-repositories", json={"repository": "registry.example.com/d/app"}, headers=admin)
    bad = push("d/app", event_id="bad-digest")
    bad["target"]["digest"] = digest
    response = client.post(
        "/api/v1/registry/notifications",
        json={"events": [bad, push("d/app")]},
        headers=bearer(created.json()["notification_secret"]),
    )
    assert response.status_code == 200
    assert response.json()["stored"] == 1 and response.json()["refused"] == [
        {"id": "bad-digest", "reason": "digest is not sha256:<64 hex>"}
    ]
    assert [e.digest for e in events_of(app_database, created.json()["id"])] == [DIGEST]


INTERNAL = [
    "127.0.0.1:5000",
    "localhost:5000",
    "169.254.169.254",
    "metadata.google.internal",
    "10.1.2.3:5000",
    "192.168.0.9",
    "[::1]:5000",
    f"{socket.gethostname()}:5000",  # a name that resolves to loopback here
]


@pytest.mark.parametrize("registry", INTERNAL)
def test_customers_cannot_name_internal_registries(client, app_database, registry):
    organization = make_organization(app_database.sessions, tier="team")
    admin = bearer(token(organization, role="admin"))
    submitted = client.post("/api/v1/analyses", json={"image": f"{registry}/team/app:1"}, headers=admin)
    assert submitted.status_code == 422 and submitted.json()["error"]["code"] == "registry_not_allowed", submitted.text
    assert "VEXXY_ALLOWED_REGISTRIES" in submitted.json()["error"]["hint"]
    watched = client.post("/api/v1/watched-repositories", json={"repository": f"{registry}/team/app"}, headers=admin)
    assert watched.status_code == 422 and watched.json()["error"]["code"] == "registry_not_allowed"
    with app_database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Submission).where(Submission.organization_id == organization)) == 0
        assert session.scalar(select(WatchedRepository).where(WatchedRepository.organization_id == organization)) is None


def test_an_allowed_internal_registry_is_accepted(app_database, api_settings):
    admin = bearer(token(make_organization(app_database.sessions, tier="team"), role="admin"))
    with TestClient(create_app(replace(api_settings, allowed_registries=frozenset({"127.0.0.1:5000"})))) as client:
        assert client.post("/api/v1/analyses", json={"image": "127.0.0.1:5000/team/app:1"}, headers=admin).status_code == 201
        assert client.post("/api/v1/analyses", json={"image": "127.0.0.1:5001/team/app:1"}, headers=admin).status_code == 422
        watched = client.post("/api/v1/watched-repositories", json={"repository": "127.0.0.1:5000/team/app"}, headers=admin)
        assert watched.status_code == 201
