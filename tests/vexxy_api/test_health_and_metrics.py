"""The API as an operator runs it: /healthz and /readyz for the orchestrator (503 when the application database
does not answer), Prometheus metrics on /metrics, a hint in every error body, and JSON logs that carry the
correlation id."""

import json
import os
import sys
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from billing_helpers import JWT_KEY, make_organization, token
from fastapi.testclient import TestClient
from ports import closed_port, free_port
from prometheus_client.parser import text_string_to_metric_families
from servers import ROOT, start_server, stop_server, wait_for

from appdb.models import BillingEvent
from vexxy.errors import VexxyError
from vexxy_api.app import create_app
from vexxy_api.logs import JsonFormatter, current_correlation_id
from vexxy_api.settings import ApiSettings


@pytest.fixture
def api_settings(api_settings, app_database):
    return replace(api_settings, database_url=app_database.url, allowed_registries=frozenset())


def down_database_url(backend: str, tmp_path: Path) -> str:
    """A real database that does not answer: a PostgreSQL port nothing listens on, an SQLite file that cannot be opened."""
    if backend == "postgres":
        return f"postgresql://vexxy:s3cret-pw@127.0.0.1:{closed_port()}/vexxy"
    return f"sqlite:///{tmp_path / 'no-such-directory' / 'vexxy.db'}"


def samples(client: TestClient) -> dict[tuple[str, tuple], float]:
    """Every sample /metrics exposes, by name and sorted labels, read with Prometheus' own text parser."""
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def requests_counted(metrics: dict, method: str, route: str, status: int) -> float:
    return metrics.get(("vexxy_api_requests_total", (("method", method), ("route", route), ("status", str(status)))), 0)


def test_healthz_answers_without_a_token(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_answers_when_the_database_does(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["database"] == "ok"


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_readyz_is_a_503_with_a_hint_when_the_database_is_down(backend, tmp_path):
    settings = ApiSettings(database_url=down_database_url(backend, tmp_path), jwt_key=JWT_KEY)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200  # the process still answers: no restart for a database outage
        response = client.get("/readyz", headers={"X-Correlation-ID": "ready-1"})
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        error = response.json()["error"]
        assert error["code"] == "not_ready" and error["correlation_id"] == "ready-1"
        assert "DATABASE_URL" in error["hint"]
        assert "s3cret-pw" not in response.text and "Traceback" not in response.text
        metrics = samples(client)  # the scrape still works, and says the database is down
    assert metrics[("vexxy_app_database_up", ())] == 0
    assert not any(name == "vexxy_analyses" for name, _ in metrics)
    assert requests_counted(metrics, "GET", "/readyz", 503) == 1


def test_metrics_count_requests_by_route_template_and_read_analyses_and_charges(client, app_database):
    organization = make_organization(app_database.sessions, tier="team")
    member = {"Authorization": f"Bearer {token(organization, role='member')}"}
    before = samples(client)
    created = [client.post("/api/v1/analyses", json={"image": f"registry.example.com/app:{n}"}, headers=member) for n in (1, 2)]
    assert [r.status_code for r in created] == [201, 201]
    ids = [r.json()["id"] for r in created]
    for analysis in ids:
        assert client.get(f"/api/v1/analyses/{analysis}", headers=member).status_code == 200
    assert client.get("/api/v1/analyses/no-such-analysis", headers=member).status_code == 404
    assert client.get("/no/such/path").status_code == 404
    assert client.post(f"/api/v1/analyses/{ids[1]}/cancel", headers=member).json()["status"] == "cancelled"
    with app_database.sessions.begin() as session:
        for n, status in enumerate(("pending", "charged", "charged")):
            session.add(
                BillingEvent(
                    organization_id=organization,
                    kind="analysis_charge",
                    idempotency_key=f"metrics-{organization}-{n}",
                    submission_id=ids[0],
                    amount_cents=125,
                    status=status,
                )
            )
    after = samples(client)

    def grew(name: str, labels: tuple = ()) -> float:
        return after.get((name, labels), 0) - before.get((name, labels), 0)

    assert requests_counted(after, "POST", "/api/v1/analyses", 201) == 2
    assert requests_counted(after, "GET", "/api/v1/analyses/{analysis_id}", 200) == 2  # one series for both ids
    assert requests_counted(after, "GET", "/api/v1/analyses/{analysis_id}", 404) == 1
    assert requests_counted(after, "GET", "unmatched", 404) == 1
    assert requests_counted(after, "POST", "/api/v1/analyses/{analysis_id}/cancel", 202) == 1
    assert requests_counted(after, "GET", "/metrics", 200) == 1  # the first scrape, counted once answered
    routes = {dict(labels).get("route") for name, labels in after if name == "vexxy_api_requests_total"}
    assert not any(analysis in route for route in routes for analysis in ids) and "/no/such/path" not in routes
    count = after[("vexxy_api_request_duration_seconds_count", (("method", "POST"), ("route", "/api/v1/analyses")))]
    assert count == 2
    assert after[("vexxy_app_database_up", ())] == 1
    assert grew("vexxy_analyses", (("state", "queued"),)) == 1 and grew("vexxy_analyses", (("state", "cancelled"),)) == 1
    assert grew("vexxy_analysis_queue_depth") == 1
    assert grew("vexxy_charges", (("outcome", "pending"),)) == 1 and grew("vexxy_charges", (("outcome", "charged"),)) == 2


def test_each_application_counts_its_own_requests(api_settings):
    with TestClient(create_app(api_settings)) as first, TestClient(create_app(api_settings)) as second:
        for _ in range(3):
            first.get("/healthz")
        assert requests_counted(samples(first), "GET", "/healthz", 200) == 3
        assert requests_counted(samples(second), "GET", "/healthz", 200) == 0


def test_metrics_speak_openmetrics_to_a_scraper_that_asks(client):
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF") and "vexxy_analysis_queue_depth" in response.text


def test_every_kind_of_error_carries_a_hint(api_settings, app_database):
    member = {"Authorization": f"Bearer {token(make_organization(app_database.sessions), role='member')}"}
    with TestClient(create_app(api_settings), raise_server_exceptions=False) as client:
        answers = {
            "401 no token": client.get("/api/v1/analyses"),
            "401 bad token": client.get("/api/v1/analyses", headers={"Authorization": "Bearer not-a-jwt"}),
            "404 analysis": client.get("/api/v1/analyses/no-such-analysis", headers=member),
            "404 path": client.get("/no/such/path"),
            "405": client.put("/api/v1/analyses", headers=member),
            "413": client.post("/api/v1/analyses", content=b"{" + b" " * 70_000 + b"}", headers=member),
            "422 body": client.post("/api/v1/analyses", json={"image": "r.example.com/a:1", "priority": "high"}, headers=member),
            "422 query": client.get("/api/v1/analyses?page=0", headers=member),
        }
    with TestClient(create_app(replace(api_settings, jwt_key="")), raise_server_exceptions=False) as client:
        answers["503 no key"] = client.get("/api/v1/analyses", headers=member)
    down = replace(api_settings, database_url=f"postgresql://vexxy@127.0.0.1:{closed_port()}/vexxy")
    with TestClient(create_app(down), raise_server_exceptions=False) as client:
        answers["503 database"] = client.get("/api/v1/analyses", headers=member)
        answers["503 readyz"] = client.get("/readyz")
    for kind, response in answers.items():
        assert str(response.status_code) == kind.split()[0], (kind, response.text)
        error = response.json()["error"]
        assert error["code"] and error["message"] and error["correlation_id"], kind
        assert isinstance(error["hint"], str) and len(error["hint"]) > 10, (kind, error)


def test_an_unknown_log_format_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("VEXXY_LOG_FORMAT", "yaml")
    with pytest.raises(VexxyError, match="VEXXY_LOG_FORMAT='yaml'") as refused:
        ApiSettings()
    assert "text" in refused.value.hint and "json" in refused.value.hint
    monkeypatch.setenv("VEXXY_LOG_FORMAT", "JSON")
    assert ApiSettings().log_format == "json"


def test_a_json_line_names_the_time_in_utc_the_correlation_id_and_the_exception():
    import logging

    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("vexxy.api", logging.ERROR, __file__, 1, "it failed: %s", ("x",), sys.exc_info())
    token_ = current_correlation_id.set("corr-fmt")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        current_correlation_id.reset(token_)
    assert line["message"] == "it failed: x" and line["level"] == "ERROR" and line["logger"] == "vexxy.api"
    assert line["correlation_id"] == "corr-fmt" and "ValueError: boom" in line["exception"]
    assert line["time"].endswith("+00:00") and datetime.fromisoformat(line["time"]).utcoffset().total_seconds() == 0
    assert "correlation_id" not in json.loads(JsonFormatter().format(record))  # outside a request: none


def test_the_served_api_logs_one_json_object_per_line_with_the_correlation_id(app_database):
    """uvicorn serving the API with VEXXY_LOG_FORMAT=json: every line it writes (its own included) parses as JSON."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": app_database.url, "VEXXY_JWT_KEY": JWT_KEY, "VEXXY_LOG_FORMAT": "json"}
    uvicorn = Path(sys.executable).parent / "uvicorn"
    url = f"http://127.0.0.1:{port}"
    member = {"Authorization": f"Bearer {token(make_organization(app_database.sessions), role='member')}"}
    with tempfile.TemporaryFile() as log:
        process = start_server([str(uvicorn), "vexxy_api.app:app", "--host", "127.0.0.1", "--port", str(port)], ROOT, env, log)
        try:

            def ready():
                try:
                    return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_for(ready, 60, "the API", interval=0.2)
            listed = httpx.get(f"{url}/api/v1/analyses", headers={**member, "X-Correlation-ID": "json-log-1"})
            missing = httpx.get(f"{url}/api/v1/analyses/nothing-here", headers={**member, "X-Correlation-ID": "json-log-2"})
            assert (listed.status_code, missing.status_code) == (200, 404)
        finally:
            stop_server(process)
        log.seek(0)
        text = log.read().decode()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # a line that is not JSON fails here
    assert lines and all(line["time"].endswith("+00:00") and line["level"] and line["logger"] for line in lines)
    first = [line for line in lines if line.get("correlation_id") == "json-log-1"]
    assert {"event": "request", "path": "/api/v1/analyses", "status": 200}.items() <= first[0].items()
    assert any(line["logger"] == "uvicorn.access" for line in first)  # uvicorn's own line names the request too
    second = [line for line in lines if line.get("correlation_id") == "json-log-2"]
    assert {line.get("event") for line in second} >= {"api_error", "request"}
    assert any(line["logger"] == "uvicorn.error" and "Started server process" in line["message"] for line in lines)
