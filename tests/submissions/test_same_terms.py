"""One request, three ways in (the API, the Launchpad, a polled watched repository): the same terms, decided once by
the submission service under the organization's tier, and the same refusal when the tier does not include it."""

import json
import uuid

import pytest
from billing_helpers import make_organization, token
from dagster import build_sensor_context
from sqlalchemy import select

from appdb.models import Submission
from vexxy.oci.build import RuntimeConfig, file_entry, layer_from_entries, push_image
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy_pipelines.definitions import defs
from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.sensors.registry import registry_push_sensor

CONFIG = {"env": {"MODE": "demo"}, "roles": [{"name": "web"}, {"name": "job", "observation_seconds": 30}]}
TOO_MANY_ROLES = {"roles": [{"name": f"r{i}"} for i in range(3)]}  # the free tier analyzes 2 roles at most
TERMS = {"free": (60, False, 0), "team": (60, True, 10)}  # observation seconds, fuzzing, priority


def push_tiny(registry, repository: str) -> str:
    """A one-file image of its own; its reference by digest."""
    client = RegistryClient()
    ref = parse_reference(f"{registry.address}/{repository}:v1")
    layers = [layer_from_entries([file_entry("hello.txt", repository)])]
    digest, _ = push_image(client, ref, layers, RuntimeConfig(cmd=["/hello"]), tag="v1")
    client.close()
    return f"{registry.address}/{repository}@{digest}"


def through_the_api(client, organization: str, image: str, config: dict):
    headers = {"Authorization": f"Bearer {token(organization, role='member')}"}
    return client.post("/api/v1/analyses", json={"image": image, "config": config}, headers=headers)


def through_the_launchpad(instance, organization: str, image: str, config: dict):
    op_config = {"reference": image, "organization": organization, "configuration": config}
    return defs.resolve_job_def("analyze_reference").execute_in_process(
        instance=instance, run_config={"ops": {"submit_analysis": {"config": op_config}}}, raise_on_error=False
    )


def through_the_registry_watch(client, organization: str, image: str, config: dict) -> None:
    """The organization's admin watches the repository with `config` as its default; one poll submits its digest."""
    admin = {"Authorization": f"Bearer {token(organization, role='admin')}"}
    repository = image.split("@")[0]
    watched = client.post(
        "/api/v1/watched-repositories",
        json={"repository": repository, "mode": "poll", "default_config": config},
        headers=admin,
    )
    assert watched.status_code == 201, watched.text
    resources = {"app_db": resources_for()["app_db"], "registry": resources_for()["registry"]}
    registry_push_sensor(build_sensor_context(cursor=None, resources=resources))


def submissions_of(sessions, organization: str) -> dict[str, Submission]:
    with sessions() as session:
        rows = session.scalars(select(Submission).where(Submission.organization_id == organization)).all()
    return {row.source: row for row in rows}


def forget(sessions, rows) -> None:
    """Leave nothing queued for other tests."""
    with sessions.begin() as session:
        for row in rows:
            session.get(Submission, row.id).status = "cancelled"


@pytest.mark.parametrize("tier", ["free", "team"])
def test_the_api_the_launchpad_and_the_registry_watch_submit_on_the_same_terms(
    tier, client, instance, registry, postgres_sessions
):
    organization = make_organization(postgres_sessions, tier=tier)
    image = push_tiny(registry, f"same-terms/{tier}-{uuid.uuid4().hex[:8]}")

    assert through_the_api(client, organization, image, CONFIG).status_code == 201
    assert through_the_launchpad(instance, organization, image, CONFIG).success
    through_the_registry_watch(client, organization, image, CONFIG)

    made = submissions_of(postgres_sessions, organization)
    forget(postgres_sessions, made.values())
    assert set(made) == {"api", "launchpad", "registry_poll"}
    terms = {
        source: (row.observation_seconds, row.fuzzing, row.priority, row.config_hash, json.dumps(row.config, sort_keys=True))
        for source, row in made.items()
    }
    assert len(set(terms.values())) == 1, terms
    assert terms["api"][:3] == TERMS[tier]  # the tier's limits applied: its window, its fuzzing, its priority band
    assert made["api"].config["roles"][1]["observation_seconds"] == 30
    assert all(row.image_reference.endswith(image.split("/", 1)[1]) for row in made.values())
    assert all(row.status == "queued" for row in made.values())


def test_what_the_tier_does_not_include_is_refused_the_same_way(client, instance, registry, postgres_sessions):
    organization = make_organization(postgres_sessions, tier="free")
    image = push_tiny(registry, f"same-terms/refused-{uuid.uuid4().hex[:8]}")
    message = "The free tier analyzes at most 2 role(s) per analysis; this one has 3."

    refused = through_the_api(client, organization, image, TOO_MANY_ROLES)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_configuration"
    assert message in refused.json()["error"]["message"]
    launched = through_the_launchpad(instance, organization, image, TOO_MANY_ROLES)
    (failure,) = [event for event in launched.all_events if event.is_step_failure]
    assert not launched.success and message in failure.step_failure_data.user_failure_data.description
    assert submissions_of(postgres_sessions, organization) == {}  # refused: nothing written

    through_the_registry_watch(client, organization, image, TOO_MANY_ROLES)  # nobody waits on it: recorded as failed
    (watched,) = submissions_of(postgres_sessions, organization).values()
    assert (watched.source, watched.status, watched.error_step) == ("registry_poll", "failed", "submission")
    assert message in watched.error_message
