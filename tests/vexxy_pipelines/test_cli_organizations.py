"""`vexxy organization`: an operator creates an organization and a token, and the API serves that organization with it."""

import os

import pytest
from fastapi.testclient import TestClient

from vexxy_api.app import create_app
from vexxy_api.settings import ApiSettings
from vexxy_pipelines.cli.main import main

KEY = "organization-cli-test-key-0123456789abcdef"


def test_an_organization_created_on_the_command_line_is_served_with_the_token_it_prints(monkeypatch, capsys):
    monkeypatch.setenv("VEXXY_JWT_KEY", KEY)
    assert main(["organization", "create", "acme [red]labs", "--tier", "team"]) == 0
    organization = capsys.readouterr().out.strip()
    assert main(["organization", "token", organization, "--role", "admin", "--minutes", "5"]) == 0
    token = capsys.readouterr().out.strip()
    with TestClient(create_app(ApiSettings(database_url=os.environ["DATABASE_URL"], jwt_key=KEY))) as client:
        answer = client.get("/api/v1/billing", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json()["organization"] == {"id": organization, "name": "acme [red]labs", "status": "active"}
    assert answer.json()["tier"] == "team"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["organization", "create", "acme", "--tier", "platinum"], "There is no tier 'platinum'"),
        (["organization", "create", "x" * 201], "1 to 200 printable characters"),
        (["organization", "token", "no-such-organization"], "There is no organization 'no-such-organization'"),
    ],
)
def test_what_cannot_be_served_is_refused(monkeypatch, capsys, argv, message):
    monkeypatch.setenv("VEXXY_JWT_KEY", KEY)
    assert main(argv) == 2
    assert message in " ".join(capsys.readouterr().err.split())


def test_a_token_is_issued_only_with_a_shared_key(monkeypatch, capsys):
    monkeypatch.delenv("VEXXY_JWT_KEY", raising=False)
    assert main(["organization", "create", "acme"]) == 0
    organization = capsys.readouterr().out.strip()
    assert main(["organization", "token", organization]) == 2
    assert "needs VEXXY_JWT_KEY" in " ".join(capsys.readouterr().err.split())
    monkeypatch.setenv("VEXXY_JWT_KEY", KEY)
    monkeypatch.setenv("VEXXY_JWT_ALGORITHMS", "RS256")
    assert main(["organization", "token", organization]) == 2
    assert "identity provider" in " ".join(capsys.readouterr().err.split())
