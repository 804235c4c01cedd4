"""What API tests that serve stored documents share."""

import pytest


@pytest.fixture
def evidence(tmp_path):
    """A document store of the test's own; a module serving it names its root in its `api_settings`."""
    from vexxy.evidence.store import DocumentStore

    return DocumentStore(tmp_path / "evidence")
