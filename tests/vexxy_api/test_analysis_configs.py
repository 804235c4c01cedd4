"""Analysis configurations through the API, on PostgreSQL and SQLite: refused with the field named, tier limits,
secrets kept encrypted and only while the analysis may run, the hash telling configurations apart, watched
repositories' default configuration reaching their submissions, the sensor sharing runs only within one
configuration."""

import json
import uuid
from dataclasses import replace

import pytest
from billing_helpers import make_organization, token
from sqlalchemy import select

from appdb.models import AnalysisSecret, Submission, WatchedRepository
from submissions import lifecycle
from submissions.registry_watch import submit_digest
from vexxy_pipelines.sensors.submission_intake import plan_runs

KEY = "cPz0xT3Jk8mJ4M0yq2cO8t0Jm3oB5c1t1U7uQpQf7yE="
IMAGE = "r.example.com/team/app:1"


@pytest.fixture
def api_settings(api_settings, app_database, monkeypatch):
    monkeypatch.setenv("VEXXY_SECRETS_KEY", KEY)
    return replace(api_settings, database_url=app_database.url)


def headers(organization, role="member"):
    return {"Authorization": f"Bearer {token(organization, role=role)}"}


def submit(client, organization, config):
    return client.post(
        "/api/v1/analyses", json={"image": IMAGE, "fuzzing": False, "config": config}, headers=headers(organization)
    )


def test_configurations_are_validated_and_limited_by_tier(client, app_database):
    free = make_organization(app_database.sessions, tier="free")
    bad = submit(client, free, {"env": {"9X": "1"}})
    assert bad.status_code == 422 and "config.env" in bad.json()["error"]["message"]
    roles = submit(client, free, {"roles": [{"name": "a"}, {"name": "b"}, {"name": "c"}]})
    assert roles.status_code == 422 and roles.json()["error"]["code"] == "invalid_configuration"
    assert "The free tier analyzes at most 2 role(s)" in roles.json()["error"]["message"]
    window = submit(client, free, {"roles": [{"name": "web"}, {"name": "job", "observation_seconds": 600}]})
    assert "Role job asks for 600 s of observation" in window.json()["error"]["message"]
    assert submit(client, free, {"roles": [{"name": "web"}, {"name": "job"}]}).status_code == 201


def test_secrets_need_a_key(client, app_database, monkeypatch):
    monkeypatch.delenv("VEXXY_SECRETS_KEY")
    refused = submit(client, make_organization(app_database.sessions), {"secret_env": {"TOKEN": "v"}})
    assert refused.status_code == 422 and "need an encryption key" in refused.json()["error"]["message"]
    assert "VEXXY_SECRETS_KEY" in refused.json()["error"]["hint"]


def test_secrets_are_kept_encrypted_until_the_analysis_ends(client, app_database):
    organization = make_organization(app_database.sessions)
    secret = f"s-{uuid.uuid4().hex}"
    config = {"env": {"MODE": "prod"}, "secret_env": {"TOKEN": secret}}
    first, again, other = (
        submit(client, organization, config),
        submit(client, organization, config),
        submit(client, organization, {**config, "env": {"MODE": "staging"}}),
    )
    assert first.status_code == again.status_code == other.status_code == 201
    views = [first.json(), again.json(), other.json()]
    assert all(secret not in json.dumps(view) for view in views)
    assert views[0]["config"]["secret_env"]["TOKEN"].startswith("hmac-sha256:")
    assert views[0]["config_hash"] == views[1]["config_hash"] != views[2]["config_hash"]
    ids = [view["id"] for view in views]
    with app_database.sessions.begin() as session:
        stored = {row.owner_id: bytes(row.ciphertext) for row in session.scalars(select(AnalysisSecret)) if row.owner_id in ids}
        assert set(stored) == set(ids) and all(secret.encode() not in token for token in stored.values())
        lifecycle.run_requested(session, ids[0], "sha256:" + "a" * 64, "key")
        lifecycle.share_run(session, ids[1], "sha256:" + "a" * 64, "key", ids[0])  # follows the first's run
        lifecycle.cancel(session, session.get(Submission, ids[2]))
    with app_database.sessions() as session:
        assert {row.owner_id for row in session.scalars(select(AnalysisSecret)) if row.owner_id in ids} == {ids[0]}
    with app_database.sessions.begin() as session:
        lifecycle.run_failed(session, ids[0], "run-1", "sandbox_session", "boom")
    with app_database.sessions() as session:
        assert session.get(AnalysisSecret, ids[0]) is None


def test_a_watched_repository_gives_its_submissions_its_default_configuration(client, app_database):
    organization = make_organization(app_database.sessions)
    admin = headers(organization, role="admin")
    body = {"repository": f"r.example.com/team/app-{uuid.uuid4().hex[:6]}", "mode": "poll"}
    with_secret = client.post(
        "/api/v1/watched-repositories", json={**body, "default_config": {"secret_env": {"T": "v"}}}, headers=admin
    )
    assert with_secret.status_code == 422 and "cannot hold secret_env" in with_secret.json()["error"]["message"]
    created = client.post(
        "/api/v1/watched-repositories", json={**body, "default_config": {"env": {"DATABASE_URL": "x"}}}, headers=admin
    )
    assert created.status_code == 201 and created.json()["default_config"]["env"] == {"DATABASE_URL": "x"}
    with app_database.sessions.begin() as session:
        watched = session.get(WatchedRepository, created.json()["id"])
        submission = submit_digest(session, watched, "sha256:" + "b" * 64, "registry_poll")
        assert submission.config["env"] == {"DATABASE_URL": "x"} and submission.config_hash.startswith("sha256:")
    path = f"/api/v1/watched-repositories/{created.json()['id']}/default-config"
    assert client.put(path, json={"default_config": {"env": {"A": "1"}}}, headers=headers(organization)).status_code == 403
    other_admin = headers(make_organization(app_database.sessions), role="admin")
    assert client.put(path, json={"default_config": {"env": {"A": "1"}}}, headers=other_admin).status_code == 404
    changed = client.put(path, json={"default_config": {"env": {"FEATURE_X": "1"}}}, headers=admin)
    assert changed.status_code == 200 and changed.json()["default_config"]["env"] == {"FEATURE_X": "1"}
    assert client.put(path, json={"default_config": {"secret_env": {"T": "v"}}}, headers=admin).status_code == 422
    cleared = client.put(path, json={}, headers=admin)
    assert cleared.status_code == 200 and cleared.json()["default_config"] == {}


def test_the_sensor_shares_runs_only_within_one_configuration():
    organization, digest = str(uuid.uuid4()), "sha256:" + "c" * 64

    def queued(seq, config_hash):
        return Submission(
            id=str(uuid.uuid4()),
            seq=seq,
            organization_id=organization,
            image_reference=IMAGE,
            priority=0,
            correlation_id="c",
            observation_seconds=60,
            fuzzing=False,
            config={"env": {"A": config_hash or ""}} if config_hash else None,
            config_hash=config_hash,
        )

    batch = [queued(1, None), queued(2, "sha256:1"), queued(3, "sha256:1"), queued(4, None)]
    requests, requested, shared, failures = plan_runs(
        batch, lambda ref, organization: (digest, "team/app-" + digest[7:19]), {organization: "team"}, {}
    )
    assert set(requested) == {batch[0].id, batch[1].id} and not failures
    assert {k: v[2] for k, v in shared.items()} == {batch[2].id: batch[1].id, batch[3].id: batch[0].id}
    configured = next(r for r in requests if r.run_key == batch[1].id)
    assert configured.tags["vexxy/config_hash"] == "sha256:1" and configured.tags["vexxy/secrets"] == batch[1].id
    assert json.loads(configured.run_config["ops"]["sandbox_session"]["config"]["analysis_config"]) == {"env": {"A": "sha256:1"}}
    plain = next(r for r in requests if r.run_key == batch[0].id)
    assert "vexxy/config_hash" not in plain.tags and not plain.run_config
