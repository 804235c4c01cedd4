"""10 000 queued submissions become run requests within the sensor's tick limits: none lost, none duplicated."""

import time
import uuid

import pytest
from dagster import AssetKey, DagsterInstance, RunRequest, SkipReason, build_sensor_context
from sqlalchemy import insert, select, update
from submission_rows import stored_submission

from appdb.models import Organization, Submission, Subscription
from vexxy.oci.partition_key import default_key
from vexxy_pipelines.definitions import defs
from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.sensors.submission_intake import BATCH, submission_sensor
from vexxy_pipelines.tags import concurrency as concurrency_tag

pytestmark = pytest.mark.slow
TICK_LIMIT_SECONDS = 60


def queue(app_sessions, reference: str, count: int, organizations: int) -> tuple[list[str], list[str]]:
    orgs = [str(uuid.uuid4()) for _ in range(organizations)]
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with app_sessions.begin() as session:
        session.execute(
            insert(Organization),
            [{"id": o, "name": f"load-{o}", "status": "active", "status_changed_at": 0} for o in orgs],
        )
        session.execute(
            insert(Subscription),
            [
                {"id": str(uuid.uuid4()), "organization_id": o, "tier": "team", "status": "active", "last_event_at": 0}
                for o in orgs
            ],
        )
        session.execute(
            insert(Submission),
            [
                {
                    "id": s,
                    "organization_id": orgs[i % organizations],
                    "image_reference": reference,
                    "priority": i % 3,
                    "fuzzing": False,
                    "observation_seconds": 60,
                    "status": "queued",
                    "phase": "queued",
                    "progress": 0,
                    "correlation_id": s,
                    "source": "api",
                    "cancel_requested": False,
                    "deleted": False,
                }
                for i, s in enumerate(ids)
            ],
        )
    return ids, orgs


@pytest.fixture
def advisories_loaded(instance):
    """The advisory snapshot the sensor waits for, loaded by the job the sensor itself requests on a fresh deployment."""
    if instance.get_latest_materialization_event(AssetKey("vulnerability_db")) is None:
        assert defs.resolve_job_def("refresh_vulnerability_db").execute_in_process(instance=instance).success
    return instance


def test_a_fresh_deployment_loads_advisories_before_taking_submissions(app_sessions):
    resources = {"app_db": resources_for()["app_db"], "registry": resources_for()["registry"]}
    with DagsterInstance.ephemeral() as fresh:
        result = submission_sensor(build_sensor_context(instance=fresh, cursor="41", resources=resources))
    assert [(r.run_key, r.job_name) for r in result.run_requests] == [("initial-vulnerability-db", "refresh_vulnerability_db")]
    assert result.cursor is None  # submissions wait where they are


def test_ten_thousand_submissions_become_run_requests(advisories_loaded, app_sessions, demo_image, capsys):
    instance = advisories_loaded
    with app_sessions() as session:  # start after whatever other tests queued
        cursor = str(session.scalar(select(Submission.seq).order_by(Submission.seq.desc()).limit(1)) or 0)
        session.execute(update(Submission).where(Submission.status == "queued").values(status="cancelled"))
        session.commit()
    ids, orgs = queue(app_sessions, f"{demo_image.name}:1.0", 10_000, organizations=10_000)
    resources = {"app_db": resources_for()["app_db"], "registry": resources_for()["registry"]}
    requested: list[RunRequest] = []
    ticks: list[float] = []
    replayed = None
    for _ in range(10_000 // BATCH + 2):  # bounded: a sensor that never drains fails the test instead of hanging it
        context = build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        started = time.monotonic()
        result = submission_sensor(context)
        ticks.append(time.monotonic() - started)
        if isinstance(result, SkipReason):
            break
        if replayed is None:  # a tick whose cursor was never stored is evaluated again: the same run keys
            again = submission_sensor(build_sensor_context(instance=instance, cursor=cursor, resources=resources))
            replayed = [r.run_key for r in again.run_requests] == [r.run_key for r in result.run_requests]
        requested += result.run_requests
        cursor = result.cursor
    keys = [r.run_key for r in requested]
    assert len(keys) == 10_000 and set(keys) == set(ids)  # none lost, none duplicated
    assert replayed is True
    assert max(ticks) < TICK_LIMIT_SECONDS and len(ticks) == 10_000 // BATCH + 1
    first = requested[0]
    assert first.tags["vexxy/submission"] == first.run_key and first.tags[concurrency_tag("team")] in orgs
    assert first.partition_key == default_key(demo_image) and first.tags["dagster/priority"] == "2"  # highest priority first
    with capsys.disabled():
        print(
            f"\nsubmission sensor: 10000 queued -> {len(keys)} run requests, "
            f"{len(set(keys))} unique, lost={10_000 - len(set(keys) & set(ids))}, "
            f"duplicated={len(keys) - len(set(keys))}; {len(ticks) - 1} ticks of <= {BATCH}, slowest tick {max(ticks):.2f} s "
            f"(limit {TICK_LIMIT_SECONDS} s), total {sum(ticks):.1f} s"
        )
    with app_sessions.begin() as session:  # leave no load behind for other tests
        session.execute(update(Submission).where(Submission.id.in_(ids)).values(status="cancelled"))


def submission(app_sessions, organization: str, reference: str, fuzzing: bool, observation_seconds: int = 60) -> str:
    submission_id = str(uuid.uuid4())
    return stored_submission(
        app_sessions,
        organization,
        reference,
        reserve=False,
        id=submission_id,
        fuzzing=fuzzing,
        observation_seconds=observation_seconds,
        correlation_id=submission_id,
    )


def test_a_submission_shares_a_live_run_only_on_the_same_terms(advisories_loaded, app_sessions, demo_image):
    """Fuzzing, or another observation window, is other evidence: such a submission gets a run of its own."""
    instance = advisories_loaded
    with app_sessions() as session:  # start after whatever other tests queued
        cursor = str(session.scalar(select(Submission.seq).order_by(Submission.seq.desc()).limit(1)) or 0)
        session.execute(update(Submission).where(Submission.status == "queued").values(status="cancelled"))
        session.commit()
    placeholder, (organization,) = queue(app_sessions, f"{demo_image.name}:1.0", 1, organizations=1)
    with app_sessions.begin() as session:  # an organization and its subscription, with nothing queued
        session.execute(update(Submission).where(Submission.id.in_(placeholder)).values(status="cancelled"))
    resources = {"app_db": resources_for()["app_db"], "registry": resources_for()["registry"]}
    reference = f"{demo_image.name}:1.0"
    without_fuzzing = submission(app_sessions, organization, reference, fuzzing=False)
    first = submission_sensor(build_sensor_context(instance=instance, cursor=cursor, resources=resources))
    assert [r.run_key for r in first.run_requests] == [without_fuzzing]

    fuzzing = submission(app_sessions, organization, reference, fuzzing=True)
    longer = submission(app_sessions, organization, reference, fuzzing=False, observation_seconds=120)
    same = submission(app_sessions, organization, reference, fuzzing=False)
    second = submission_sensor(build_sensor_context(instance=instance, cursor=first.cursor, resources=resources))
    assert sorted(r.run_key for r in second.run_requests) == sorted([fuzzing, longer])
    assert {r.run_key: r.tags["vexxy/fuzzing"] for r in second.run_requests}[fuzzing] == "true"
    with app_sessions() as session:
        mine = session.scalars(select(Submission).where(Submission.organization_id == organization))
        shared = {s.id: s.shared_with for s in mine if s.id not in placeholder}
    assert shared == {without_fuzzing: None, fuzzing: None, longer: None, same: without_fuzzing}
    with app_sessions.begin() as session:  # leave nothing live behind for other tests
        session.execute(update(Submission).where(Submission.organization_id == organization).values(status="cancelled"))
