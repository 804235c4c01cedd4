"""The application database not answering: every kind of request gets a 503 in the documented error
shape (no traceback, no URL or password), and a Retry-After."""

from dataclasses import replace

import pytest
from billing_helpers import token
from fastapi.testclient import TestClient
from ports import closed_port

from vexxy_api.app import create_app

REQUESTS = [
    ("GET", "/api/v1/analyses", None),
    ("POST", "/api/v1/analyses", {"image": "registry.example/team/app:1"}),
    ("GET", "/api/v1/analyses/00000000-0000-0000-0000-000000000000", None),
    ("GET", "/api/v1/billing", None),
    ("GET", "/api/v1/api-keys", None),
    ("POST", "/api/v1/api-keys", {"name": "ci", "role": "member"}),
    ("GET", "/api/v1/watched-repositories", None),
]


@pytest.fixture
def client_without_database(api_settings):
    settings = replace(api_settings, database_url=f"postgresql://vexxy:s3cret-pw@127.0.0.1:{closed_port()}/vexxy")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("method,path,body", REQUESTS)
def test_database_down_is_a_503_in_the_error_shape(client_without_database, method, path, body):
    headers = {"Authorization": f"Bearer {token('00000000-0000-0000-0000-00000000000a')}", "X-Correlation-ID": "db-down-1"}
    response = client_without_database.request(method, path, json=body, headers=headers)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"
    error = response.json()["error"]
    assert error["code"] == "database_unavailable" and error["correlation_id"] == "db-down-1"
    assert error["message"] and error["hint"]
    assert "s3cret-pw" not in response.text and "Traceback" not in response.text and "127.0.0.1" not in response.text


def test_an_api_key_checked_against_a_database_that_is_down_is_a_503(client_without_database):
    response = client_without_database.get("/api/v1/analyses", headers={"Authorization": "Bearer vxk_abcdef12.secretsecret"})
    assert response.status_code == 503 and response.json()["error"]["code"] == "database_unavailable"
