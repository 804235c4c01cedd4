"""The `dagster dev` the console and run-control tests drive."""

import os

import pytest
from servers import ROOT
from servers import dagster_dev as running_dagster_dev


@pytest.fixture(scope="module")
def dagster_dev_env() -> dict[str, str]:
    """What a module's `dagster dev` adds to the test environment; a module overrides this."""
    return {}


@pytest.fixture(scope="module")
def dagster_dev(request, dagster_dev_env):
    """`dagster dev` (webserver, daemon, code server) on the test instance, one per module; its URL. Its log is
    kept in test-artifacts/<module>/dagster-dev.log."""
    from vexxy_pipelines.instance import ensure_dagster_home

    ensure_dagster_home()
    name = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    with running_dagster_dev({**os.environ, **dagster_dev_env}, ROOT / "test-artifacts" / name / "dagster-dev.log") as url:
        yield url
