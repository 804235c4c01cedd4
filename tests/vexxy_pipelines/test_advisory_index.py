"""`vulnerability_db` stores the SQLite index as evidence with its checksum; `vulnerabilities` never trusts a damaged one."""

import pytest
from dagster import DagsterInstance, Failure, materialize

from vexxy import settings
from vexxy.evidence.documents import ADVISORY_INDEX, ADVISORY_SNAPSHOT
from vexxy.matching.database import AdvisoryDatabase
from vexxy.matching.index import AdvisoryIndex, file_sha256
from vexxy.osv.loader import load_advisories
from vexxy_pipelines.assets import vulnerabilities as vulnerabilities_module
from vexxy_pipelines.assets.vulnerabilities import open_index
from vexxy_pipelines.assets.vulnerability_db import vulnerability_db
from vexxy_pipelines.resources.advisory_source import OsvSourceResource
from vexxy_pipelines.resources.evidence_store import EvidenceStore


def load(evidence: EvidenceStore):
    resources = {"osv": OsvSourceResource(source=str(settings.BUNDLED_OSV)), "evidence": evidence}
    result = materialize([vulnerability_db], resources=resources, instance=DagsterInstance.ephemeral())
    assert result.success
    return result.asset_materializations_for_node("vulnerability_db")[0].metadata


@pytest.fixture
def store(tmp_path):
    evidence = EvidenceStore(root=str(tmp_path / "evidence"))
    vulnerabilities_module._OPEN.clear()
    metadata = load(evidence)
    content_hash = metadata["content_hash"].value
    yield evidence, metadata, content_hash, metadata["index_sha256"].value, metadata["snapshot_sha256"].value
    vulnerabilities_module._OPEN.clear()


def damage(path, data: bytes) -> None:
    path.chmod(0o644)
    path.write_bytes(data)


def test_the_index_is_a_content_addressed_document_with_its_checksum(store):
    evidence, metadata, content_hash, index_sha, snapshot_sha = store
    index_path = evidence.snapshot_path(ADVISORY_INDEX, content_hash)
    assert index_path.parent.name == content_hash and index_path.name == "osv.sqlite"
    assert metadata["index_path"].value == str(index_path) and index_sha == file_sha256(index_path)
    assert metadata["index_bytes"].value == index_path.stat().st_size
    assert snapshot_sha == file_sha256(evidence.snapshot_path(ADVISORY_SNAPSHOT, content_hash))
    assert metadata["advisories"].value == AdvisoryIndex(index_path).advisory_count >= 50
    assert AdvisoryIndex(index_path).content_hash == content_hash
    assert open_index(evidence, content_hash, index_sha, snapshot_sha, print).candidates("PyPI", "pyyaml")
    assert load(evidence)["index_sha256"].value == index_sha  # the same advisories, the same bytes: a no-op


def test_a_truncated_index_in_the_store_is_rebuilt_before_matching(store):
    evidence, _metadata, content_hash, index_sha, snapshot_sha = store
    index_path = evidence.snapshot_path(ADVISORY_INDEX, content_hash)
    damage(index_path, index_path.read_bytes()[:8192])
    warnings: list[str] = []
    index = open_index(evidence, content_hash, index_sha, snapshot_sha, warnings.append)
    assert warnings and "not trusted" in warnings[0]
    assert file_sha256(index_path) == index_sha
    database = AdvisoryDatabase(load_advisories(str(settings.BUNDLED_OSV)).advisories)
    assert database.content_hash == content_hash
    assert index.candidates("PyPI", "PyYAML") == database.candidates("PyPI", "pyyaml") != []


def test_an_index_damaged_after_it_was_opened_is_checked_again(store):
    evidence, _metadata, content_hash, index_sha, snapshot_sha = store
    open_index(evidence, content_hash, index_sha, snapshot_sha, print)
    index_path = evidence.snapshot_path(ADVISORY_INDEX, content_hash)
    damage(index_path, b"\0" * 4096 + index_path.read_bytes()[4096:])
    warnings: list[str] = []
    open_index(evidence, content_hash, index_sha, snapshot_sha, warnings.append)
    assert warnings and file_sha256(index_path) == index_sha


def test_reloading_the_same_advisories_repairs_a_damaged_stored_index(store):
    evidence, _metadata, content_hash, index_sha, _snapshot_sha = store
    index_path = evidence.snapshot_path(ADVISORY_INDEX, content_hash)
    damage(index_path, index_path.read_bytes()[:-4096])
    assert load(evidence)["index_sha256"].value == index_sha == file_sha256(index_path)


def test_a_damaged_index_and_snapshot_fail_the_step_clearly(store):
    evidence, _metadata, content_hash, index_sha, snapshot_sha = store
    for document in (ADVISORY_INDEX, ADVISORY_SNAPSHOT):
        path = evidence.snapshot_path(document, content_hash)
        damage(path, path.read_bytes()[:-100])
    with pytest.raises(Failure, match="is damaged") as failure:
        open_index(evidence, content_hash, index_sha, snapshot_sha, print)
    assert "vulnerability_db" in failure.value.metadata["what_to_do"].text
