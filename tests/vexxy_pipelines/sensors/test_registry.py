"""Polling a watched repository's tags: one page per tick behind a cursor, one submission per digest,
moved and new tags noticed on the next sweep, an unreachable registry skipped without losing its place;
notified pushes confirmed against the registry before they become submissions."""

import json
import os
import uuid

import pytest
from billing_helpers import JWT_KEY, make_organization, token
from dagster import SkipReason, build_sensor_context
from fastapi.testclient import TestClient
from ports import free_port
from sqlalchemy import select

from appdb.models import SeenDigest, Submission, WatchedRepository
from vexxy.oci.build import RuntimeConfig, file_entry, layer_from_entries, push_image
from vexxy.oci.image import OCI_MANIFEST as MANIFEST
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy_api.app import create_app
from vexxy_api.settings import ApiSettings
from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.sensors.registry import POLL_PAGE, registry_push_sensor

pytestmark = pytest.mark.slow


def push_tiny(registry, repository: str, content: str, tags: list[str]) -> str:
    """A one-file image under each of `tags` (the same digest for all of them)."""
    client = RegistryClient()
    layers = [layer_from_entries([file_entry("hello.txt", content)])]
    ref = parse_reference(f"{registry.address}/{repository}:{tags[0]}")
    digest, _ = push_image(client, ref, layers, RuntimeConfig(cmd=["/hello"]), tag=tags[0])
    raw, media_type, _ = client.get_manifest(ref.with_digest(digest))
    for tag in tags[1:]:
        client.push_manifest(ref, raw, media_type, tag=tag)
    client.close()
    return digest


def tick(cursor: str | None) -> tuple[str, str]:
    resources = {"app_db": resources_for()["app_db"], "registry": resources_for()["registry"]}
    context = build_sensor_context(cursor=cursor, resources=resources)
    result = registry_push_sensor(context)
    assert isinstance(result, SkipReason)
    return context.cursor, result.skip_message


def submissions_of(app_sessions, organization: str) -> list[Submission]:
    with app_sessions() as session:
        return list(
            session.scalars(select(Submission).where(Submission.organization_id == organization).order_by(Submission.seq))
        )


def test_polling_pages_through_tags_with_a_cursor(app_sessions, registry):
    organization = make_organization(app_sessions, tier="team")
    repository = "polled/app"
    with app_sessions.begin() as session:
        session.add(
            WatchedRepository(organization_id=organization, registry=registry.address, repository=repository, mode="poll")
        )
        session.flush()
        watched_id = str(session.scalar(select(WatchedRepository.id).where(WatchedRepository.organization_id == organization)))
    # Two and a half pages of tags: 119 tags (and "1.0") of one digest, and a second digest under the last tag.
    tags = ["1.0"] + [f"build-{i:03d}" for i in range(119)]
    first = push_tiny(registry, repository, "one", tags)
    second = push_tiny(registry, repository, "two", ["zz-release"])
    assert len(tags) + 1 > 2 * POLL_PAGE

    cursor, positions = None, []
    for _ in range(3):
        cursor, message = tick(cursor)
        positions.append(json.loads(cursor)["poll"].get(watched_id))
    assert positions == [tags[POLL_PAGE - 1], tags[2 * POLL_PAGE - 1], None]  # a page per tick; a finished sweep starts over
    assert [s.image_reference.rsplit("@", 1)[1] for s in submissions_of(app_sessions, organization)] == [first, second]
    assert all(s.source == "registry_poll" and s.status == "queued" for s in submissions_of(app_sessions, organization))

    again, _ = tick(None)  # a tick whose cursor was never stored is evaluated again: nothing submitted twice
    assert len(submissions_of(app_sessions, organization)) == 2 and json.loads(again)["poll"][watched_id] == tags[POLL_PAGE - 1]

    moved = push_tiny(registry, repository, "three", ["1.0"])  # a moved tag is a new digest on the next sweep
    cursor, _ = tick(cursor)
    assert [s.image_reference.rsplit("@", 1)[1] for s in submissions_of(app_sessions, organization)] == [first, second, moved]
    with app_sessions() as session:
        seen = session.scalars(select(SeenDigest.digest).where(SeenDigest.watched_repository_id == int(watched_id))).all()
    assert sorted(seen) == sorted([first, second, moved])


def test_an_unreachable_registry_keeps_its_place_and_others_go_on(app_sessions, registry):
    organization = make_organization(app_sessions, tier="team")
    down = f"127.0.0.1:{free_port()}"
    with app_sessions.begin() as session:
        gone = WatchedRepository(organization_id=organization, registry=down, repository="gone/app", mode="poll")
        alive = WatchedRepository(organization_id=organization, registry=registry.address, repository="alive/app", mode="poll")
        session.add_all([gone, alive])
        session.flush()
        gone_id, alive_id = str(gone.id), str(alive.id)
    digest = push_tiny(registry, "alive/app", "alive", ["v1"])
    cursor = json.dumps({"inbox": 0, "poll": {gone_id: "v7"}})
    cursor, _ = tick(cursor)
    assert json.loads(cursor)["poll"].get(gone_id) == "v7"  # retried from the same tag next tick
    assert alive_id not in json.loads(cursor)["poll"]  # one short page: its sweep is complete
    assert [s.image_reference for s in submissions_of(app_sessions, organization)] == [f"{registry.address}/alive/app@{digest}"]


def notify(client, secret: str, repository: str, digest: str) -> dict:
    envelope = {
        "events": [
            {
                "id": str(uuid.uuid4()),
                "action": "push",
                "target": {"mediaType": MANIFEST, "digest": digest, "repository": repository, "tag": "v1"},
                "request": {"host": "169.254.169.254"},  # what the envelope says about the registry is not used
            }
        ]
    }
    return client.post("/api/v1/registry/notifications", json=envelope, headers={"Authorization": f"Bearer {secret}"}).json()


def test_notified_pushes_are_confirmed_against_the_registry(app_sessions, registry):
    """Only a digest the watched registry serves (HEAD by digest) becomes a submission; a push whose registry
    is down waits for a later tick without holding up the rest of the inbox."""
    organization = make_organization(app_sessions, tier="team")
    admin = {"Authorization": f"Bearer {token(organization, role='admin')}"}
    down = f"127.0.0.1:{free_port()}"
    settings = ApiSettings(database_url=os.environ["DATABASE_URL"], jwt_key=JWT_KEY, allowed_registries=frozenset({"127.0.0.1"}))
    with TestClient(create_app(settings)) as client:
        cursor, _ = tick(None)  # the inbox as it was before this test
        before = json.loads(cursor)["inbox"]

        def own_retries(state: dict) -> list[int]:
            """Attempts of this test's events waiting for their registry (other tests' events may wait too)."""
            return [attempts for event_id, attempts in state["retry"].items() if int(event_id) > before]

        inbox = {}
        for name in (f"{registry.address}/notified/app", f"{down}/notified/app"):
            created = client.post("/api/v1/watched-repositories", json={"repository": name}, headers=admin)
            assert created.status_code == 201, created.text
            inbox[name] = created.json()["notification_secret"]
        pushed = push_tiny(registry, "notified/app", "notified", ["v1"])
        never_pushed = "sha256:" + "0" * 64
        secret = inbox[f"{registry.address}/notified/app"]
        for digest in (never_pushed, pushed):
            assert notify(client, secret, "notified/app", digest)["stored"] == 1
        assert notify(client, secret, "other/app", pushed) == {"stored": 0, "ignored": 1, "refused": []}
        cursor, message = tick(cursor)
        assert [s.image_reference for s in submissions_of(app_sessions, organization)] == [
            f"{registry.address}/notified/app@{pushed}"
        ]
        assert notify(client, inbox[f"{down}/notified/app"], "notified/app", pushed)["stored"] == 1
        waiting, _ = tick(cursor)
        state = json.loads(waiting)
        assert state["inbox"] > json.loads(cursor)["inbox"] and own_retries(state) == [1]  # it waits
        assert len(submissions_of(app_sessions, organization)) == 1

        second = push_tiny(registry, "notified/app", "second", ["v2"])  # not held up by the registry that is down
        assert notify(client, secret, "notified/app", second)["stored"] == 1
        later, _ = tick(waiting)
        assert [s.image_reference for s in submissions_of(app_sessions, organization)] == [
            f"{registry.address}/notified/app@{pushed}",
            f"{registry.address}/notified/app@{second}",
        ]
        assert own_retries(json.loads(later)) == [2]
