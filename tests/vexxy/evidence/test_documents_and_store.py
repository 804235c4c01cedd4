"""The document catalogue and the write-once store: one layout, per-run folders, nothing overwritten."""

import os
import threading
from collections import Counter
from pathlib import PurePosixPath

import pytest

from vexxy.evidence import documents
from vexxy.evidence.documents import CATALOGUE, OPENVEX, Scope, produced_by, run_location, snapshot_location
from vexxy.evidence.store import DocumentStore, EvidenceConflict, EvidenceCorrupted, EvidenceMissing

DIGEST = "sha256:" + "ab" * 32
RUN_A, RUN_B = "0f6b1c2e-aaaa-4bbb-8ccc-000000000001", "0f6b1c2e-aaaa-4bbb-8ccc-000000000002"


def test_the_catalogue_names_each_document_once():
    assert len({d.name for d in CATALOGUE}) == len(CATALOGUE)
    assert all(count == 1 for count in Counter((d.asset, d.key) for d in CATALOGUE).values())
    assert {d.name for d in produced_by("vex_document")} == {
        "vex.statements.json",
        "vex.openvex.json",
        "vex.cdx.json",
        "vex.lineage.json",
        "audit_report.html",
    }
    assert documents.FUZZ_FINDINGS_SARIF.media_type == "application/sarif+json"
    assert [d for d in CATALOGUE if d.scope is Scope.SNAPSHOT] == [documents.ADVISORY_SNAPSHOT, documents.ADVISORY_INDEX]


def test_documents_live_in_their_runs_folder():
    assert run_location(OPENVEX, DIGEST, RUN_A) == PurePosixPath("ab" * 32, RUN_A, "vex.openvex.json")
    assert run_location(OPENVEX, "ab" * 32, RUN_B) != run_location(OPENVEX, DIGEST, RUN_A)
    assert snapshot_location(documents.ADVISORY_SNAPSHOT, "cd" * 32) == PurePosixPath(
        "vulnerability-db", "cd" * 32, "osv.jsonl.gz"
    )


@pytest.mark.parametrize(
    "digest, run_id",
    [("sha256:../../etc", RUN_A), (DIGEST, "../other"), (DIGEST, "a/b"), (DIGEST, ""), ("md5:" + "ab" * 32, RUN_A)],
)
def test_a_location_is_never_built_from_a_bad_digest_or_run_id(digest, run_id):
    with pytest.raises(ValueError):
        run_location(OPENVEX, digest, run_id)


def test_scopes_are_not_mixed():
    with pytest.raises(ValueError):
        run_location(documents.ADVISORY_SNAPSHOT, DIGEST, RUN_A)
    with pytest.raises(ValueError):
        snapshot_location(OPENVEX, "cd" * 32)


def test_a_stored_document_is_never_replaced(tmp_path):
    store = DocumentStore(tmp_path)
    location = run_location(OPENVEX, DIGEST, RUN_A)
    first = store.put(location, b'{"version": 1}')
    assert store.put(location, b'{"version": 1}') == first  # the same bytes again: a retried step
    with pytest.raises(EvidenceConflict, match="already exists with other content") as refused:
        store.put(location, b'{"version": 2}')
    assert first.sha256 in refused.value.message
    assert store.get(location, first.sha256) == b'{"version": 1}'
    assert not os.stat(first.path).st_mode & 0o222  # read-only on disk too
    assert sorted(p.name for p in (tmp_path / ("ab" * 32) / RUN_A).iterdir()) == ["vex.openvex.json"]  # no temp left


def test_two_runs_write_the_same_document_side_by_side(tmp_path):
    store = DocumentStore(tmp_path)
    a = store.put(run_location(OPENVEX, DIGEST, RUN_A), b"A")
    b = store.put(run_location(OPENVEX, DIGEST, RUN_B), b"B")
    assert (store.get(run_location(OPENVEX, DIGEST, RUN_A)), store.get(run_location(OPENVEX, DIGEST, RUN_B))) == (b"A", b"B")
    assert a.path != b.path


def test_racing_writers_of_one_location_one_wins_whole(tmp_path):
    store, location = DocumentStore(tmp_path), run_location(OPENVEX, DIGEST, RUN_A)
    payloads = [bytes([65 + i]) * 200_000 for i in range(8)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(payloads))

    def write(data: bytes) -> None:
        barrier.wait()
        try:
            store.put(location, data)
            outcomes.append("stored")
        except EvidenceConflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["stored"]
    assert store.get(location) in payloads


def test_reads_are_checked_against_the_recorded_digest(tmp_path):
    store, location = DocumentStore(tmp_path), run_location(OPENVEX, DIGEST, RUN_A)
    stored = store.put(location, b"original")
    os.chmod(stored.path, 0o644)
    with open(stored.path, "wb") as handle:
        handle.write(b"tampered")
    with pytest.raises(EvidenceCorrupted, match=stored.sha256):
        store.get(location, stored.sha256)
    with pytest.raises(EvidenceMissing):
        store.get(run_location(OPENVEX, DIGEST, RUN_B))


@pytest.mark.parametrize("location", ["/etc/passwd", "../outside", "a/../../b", ""])
def test_the_store_never_leaves_its_root(tmp_path, location):
    with pytest.raises(ValueError):
        DocumentStore(tmp_path / "root").put(PurePosixPath(location), b"x")
    assert not (tmp_path / "outside").exists()
