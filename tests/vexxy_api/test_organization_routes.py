"""An organization's API keys and watched repositories: admins manage them, members read them,
secrets are shown once and stored hashed, other organizations' entries are 404."""

from billing_helpers import make_organization, token
from sqlalchemy import select

from appdb.models import ApiKey, WatchedRepository
from vexxy_api.auth import hash_secret


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


def test_api_keys_are_created_once_listed_without_secrets_and_revoked(client, app_sessions):
    organization = make_organization(app_sessions)
    admin, member = bearer(token(organization, role="admin", subject="alice")), bearer(token(organization, role="member"))
    assert client.post("/api/v1/api-keys", json={"name": "ci"}, headers=member).status_code == 403
    created = client.post("/api/v1/api-keys", json={"name": "ci", "role": "member"}, headers=admin)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("vxk_") and created.json()["created_by"] == "alice"
    with app_sessions() as session:
        stored = session.get(ApiKey, created.json()["id"])
    assert stored.secret_hash == hash_secret(key.split(".", 1)[1]) and key.split(".", 1)[1] not in str(vars(stored))

    listed = client.get("/api/v1/api-keys", headers=member).json()["api_keys"]
    assert [k["id"] for k in listed] == [created.json()["id"]] and "key" not in listed[0]
    assert client.post("/api/v1/analyses", json={"image": "r.example.com/a:1"}, headers=bearer(key)).status_code == 201

    other_admin = bearer(token(make_organization(app_sessions), role="admin"))
    assert client.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=other_admin).status_code == 404
    assert client.post("/api/v1/analyses", json={"image": "r.example.com/a:1"}, headers=bearer(key)).status_code == 201
    assert client.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=admin).status_code == 204
    assert client.post("/api/v1/analyses", json={"image": "r.example.com/a:1"}, headers=bearer(key)).status_code == 401
    assert client.get("/api/v1/api-keys", headers=admin).json()["api_keys"][0]["revoked_at"] is not None


def test_watching_a_repository(client, app_sessions):
    organization = make_organization(app_sessions)
    admin, member = bearer(token(organization, role="admin")), bearer(token(organization, role="member"))
    body = {"repository": "registry.example.com:5000/team/app", "mode": "poll"}
    assert client.post("/api/v1/watched-repositories", json=body, headers=member).status_code == 403
    created = client.post("/api/v1/watched-repositories", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["repository"] == "registry.example.com:5000/team/app" and created.json()["mode"] == "poll"
    with app_sessions() as session:
        row = session.get(WatchedRepository, created.json()["id"])
    assert (row.registry, row.repository, row.organization_id) == ("registry.example.com:5000", "team/app", organization)

    again = client.post("/api/v1/watched-repositories", json=body, headers=admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"
    for image in ("registry.example.com/team/app:1.0", f"registry.example.com/team/app@sha256:{'a' * 64}"):
        refused = client.post("/api/v1/watched-repositories", json={"repository": image}, headers=admin)
        assert refused.status_code == 422 and "not a repository" in refused.json()["error"]["message"]
    assert client.post("/api/v1/watched-repositories", json={"repository": "https://x/y"}, headers=admin).status_code == 422
    assert (
        client.post(
            "/api/v1/watched-repositories", json={"repository": "r.example.com/a", "mode": "push"}, headers=admin
        ).status_code
        == 422
    )

    assert [w["id"] for w in client.get("/api/v1/watched-repositories", headers=member).json()["watched_repositories"]] == [
        row.id
    ]
    other_admin = bearer(token(make_organization(app_sessions), role="admin"))
    assert client.get("/api/v1/watched-repositories", headers=other_admin).json()["watched_repositories"] == []
    assert client.delete(f"/api/v1/watched-repositories/{row.id}", headers=other_admin).status_code == 404
    assert client.delete(f"/api/v1/watched-repositories/{row.id}", headers=admin).status_code == 204
    with app_sessions() as session:
        assert session.scalar(select(WatchedRepository).where(WatchedRepository.id == row.id)) is None
