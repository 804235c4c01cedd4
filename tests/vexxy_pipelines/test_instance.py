"""Dagster storage: SQLite in DAGSTER_HOME by default, PostgreSQL when a URL is configured."""

import yaml

from vexxy_pipelines.instance import MANAGED_MARKER, ensure_dagster_home, postgres_url


def test_sqlite_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_PG_URL")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    ensure_dagster_home()
    config = yaml.safe_load((tmp_path / "dagster.yaml").read_text())
    assert "storage" not in config and config["telemetry"] == {"enabled": False}


def test_postgres_from_database_url(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_PG_URL")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://u:p@db:5432/app")
    ensure_dagster_home()
    config = yaml.safe_load((tmp_path / "dagster.yaml").read_text())
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}
    assert postgres_url() == "postgresql://u:p@db:5432/app"


def test_operator_written_config_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    ensure_dagster_home()
    text = (tmp_path / "dagster.yaml").read_text()
    assert not text.startswith(MANAGED_MARKER) and "enabled: true" in text


def test_run_queue_limits_each_organization_by_its_tier(tmp_path, monkeypatch):
    """The queue Dagster loads from the generated file limits runs per organization, per tier, on the sensor's tag keys."""
    import warnings

    from dagster import DagsterInstance

    from billing.pricing import TIERS
    from vexxy_pipelines.tags import concurrency as concurrency_tag

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_PG_URL")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    ensure_dagster_home()
    with DagsterInstance.get() as instance:
        limits = {limit["key"]: limit for limit in instance.run_coordinator.get_run_queue_config().tag_concurrency_limits}
    for name, plan in TIERS.items():
        assert limits[concurrency_tag(name)]["limit"] == plan.max_concurrency
        assert limits[concurrency_tag(name)]["value"] == {"applyLimitPerUniqueValue": True}
    with warnings.catch_warnings(record=True) as caught:  # Dagster deprecates tag keys outside its grammar
        warnings.simplefilter("always")
        from dagster._utils.tags import normalize_tags

        normalize_tags({concurrency_tag(name): "org" for name in TIERS})
    assert not [w for w in caught if "tag key" in str(w.message)]
