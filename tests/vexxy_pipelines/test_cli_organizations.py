"""`vexxy organization`: an operator creates an organization and a token, and the API serves that organization with it."""

import os
import uuid

import pytest
from fastapi.testclient import TestClient

from vexxy_api.app import create_app
from vexxy_api.settings import ApiSettings
from vexxy_pipelines.cli.main import main

KEY = "organization-cli-test-key-0123456789abcdef"


def unique(name: str) -> str:
    """Names are unique in the application database, which every test of a session shares."""
    return f"{name} {uuid.uuid4().hex[:6]}"


def test_an_organization_created_on_the_command_line_is_served_with_the_token_it_prints(monkeypatch, capsys):
    monkeypatch.setenv("VEXXY_JWT_KEY", KEY)
    name = unique("acme [red]labs")
    assert main(["organization", "create", name, "--tier", "team"]) == 0
    organization = capsys.readouterr().out.strip()
    assert main(["organization", "token", organization, "--role", "admin", "--minutes", "5"]) == 0
    token = capsys.readouterr().out.strip()
    with TestClient(create_app(ApiSettings(database_url=os.environ["DATABASE_URL"], jwt_key=KEY))) as client:
        answer = client.get("/api/v1/billing", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json()["organization"] == {"id": organization, "name": name, "status": "active"}
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
    assert main(["organization", "create", unique("acme")]) == 0
    organization = capsys.readouterr().out.strip()
    assert main(["organization", "token", organization]) == 2
    assert "needs VEXXY_JWT_KEY" in " ".join(capsys.readouterr().err.split())
    monkeypatch.setenv("VEXXY_JWT_KEY", KEY)
    monkeypatch.setenv("VEXXY_JWT_ALGORITHMS", "RS256")
    assert main(["organization", "token", organization]) == 2
    assert "identity provider" in " ".join(capsys.readouterr().err.split())


def test_the_list_shows_each_organization_with_its_tier_and_a_taken_name_is_one_line(capsys):
    names = {unique("list [bold]me"): "team", unique("list-free"): "free"}
    created = {}
    for name, tier in names.items():
        assert main(["organization", "create", name, "--tier", tier]) == 0
        created[name] = capsys.readouterr().out.strip()
    assert main(["organization", "list"]) == 0
    listed = capsys.readouterr().out
    rows = {line.split("│")[2].strip(): line for line in listed.splitlines() if line.count("│") == 4}
    for name, tier in names.items():
        assert created[name] in rows[name] and rows[name].split("│")[3].strip() == tier  # the markup shown as typed

    taken = next(iter(names))
    assert main(["organization", "create", taken]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0] == f"error: An organization named {taken!r} exists already ({created[taken]})."
    assert lines[1:] == ["what to do: Choose another name, or use that organization (`vexxy organization list`)."]
    assert "Traceback" not in captured.err
