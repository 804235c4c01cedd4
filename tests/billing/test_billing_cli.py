"""`vexxy billing pending` and `vexxy billing write-off`: an operator sees what Stripe has not taken and gives one up."""

import uuid

import pytest
from app_databases import open_app_database
from billing_helpers import make_organization

from appdb.models import BillingEvent
from billing.ledger import bill_analysis
from billing.pricing import AnalysisUsage
from vexxy_pipelines.cli.main import main

USAGE = AnalysisUsage(image_bytes=100 << 20, sandbox_seconds=45, fuzzed=True)  # 125 cents on team


@pytest.fixture
def database(app_database, monkeypatch):
    """The CLI's application database (DATABASE_URL): PostgreSQL, then SQLite."""
    monkeypatch.setenv("DATABASE_URL", app_database.url)
    return app_database.sessions


def pending_charge(sessions) -> int:
    """A charge left pending: billed in stripe mode while Stripe is not configured."""
    organization = make_organization(sessions, tier="team")
    billed = bill_analysis(
        sessions,
        None,
        "stripe",
        organization_id=organization,
        submission_id=f"sub-{uuid.uuid4().hex[:8]}",
        image_digest="sha256:" + uuid.uuid4().hex * 2,
        usage=USAGE,
    )
    assert billed.entry.status == "pending"
    return billed.entry.id


def listed_ids(text: str) -> set[int]:
    return {int(line.split()[0]) for line in text.splitlines() if line.strip() and line.split()[0].isdigit()}


def test_pending_lists_the_charge_and_write_off_ends_it(database, capsys):
    entry = pending_charge(database)
    assert main(["billing", "pending"]) == 0
    listing = capsys.readouterr().out
    (line,) = [line for line in listing.splitlines() if line.startswith(f"{entry}  ")]
    assert line.startswith(f"{entry}  1.25 USD  organization ") and "attempts 1" in line
    assert "last: Analysis for organization" in line and "Stripe is not configured" in line

    assert main(["billing", "write-off", str(entry), "--reason", "customer left during the trial"]) == 0
    assert capsys.readouterr().out.strip() == f"Ledger entry {entry} (1.25 USD) written off: it is never sent to Stripe."
    with database() as session:
        row = session.get(BillingEvent, entry)
        assert row.status == "written_off" and row.details["written_off"]["reason"] == "customer left during the trial"
    assert main(["billing", "pending"]) == 0
    assert entry not in listed_ids(capsys.readouterr().out)

    assert main(["billing", "write-off", str(entry), "--reason", "twice"]) == 2
    assert f"Ledger entry {entry} is already written off." in " ".join(capsys.readouterr().err.split())


def test_nothing_pending_says_so(tmp_path, monkeypatch, capsys):
    with open_app_database("sqlite", tmp_path) as fresh:  # a database of its own: nothing in it is pending
        monkeypatch.setenv("DATABASE_URL", fresh.url)
        assert main(["billing", "pending"]) == 0
        assert capsys.readouterr().out.strip() == "No pending charge."


def test_a_write_off_needs_a_reason_and_an_entry(database, capsys):
    with pytest.raises(SystemExit):
        main(["billing", "write-off", "1"])
    capsys.readouterr()
    assert main(["billing", "write-off", "987654321", "--reason", "gone"]) == 2
    assert "There is no ledger entry 987654321." in capsys.readouterr().err
