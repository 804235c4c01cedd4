"""Documents read back for an explanation: from the run the lineage names, checked against its hash."""

import json

import pytest
from audit_documents import documents

from vexxy.audit.stored import digest_folder, load_documents
from vexxy.evidence import documents as catalogue
from vexxy.evidence.documents import run_location
from vexxy.evidence.store import DocumentStore, EvidenceCorrupted

DIGEST = "sha256:" + "7" * 64


def test_each_document_comes_from_the_run_its_lineage_names(tmp_path):
    store = DocumentStore(tmp_path)
    docs = documents()
    sandbox = store.put(run_location(catalogue.EXECUTION_PROFILE, DIGEST, "sandbox-run"), json.dumps(docs.profile).encode())
    statements = store.put(run_location(catalogue.VEX_STATEMENTS, DIGEST, "refresh-run"), json.dumps(docs.statements).encode())
    store.put(run_location(catalogue.EXECUTION_PROFILE, DIGEST, "refresh-run"), b'{"not": "this one"}')
    lineage = {
        "run_id": "refresh-run",
        "inputs": [
            {"asset": "execution_profile", "run_id": "sandbox-run", "documents": {"execution_profile.json": sandbox.sha256}}
        ],
        "documents": {"vex.statements.json": statements.sha256},
    }
    loaded = load_documents(store, DIGEST, "refresh-run", lineage)
    assert loaded.profile == docs.profile and loaded.statements == json.loads(json.dumps(docs.statements))
    assert loaded.usage is None and loaded.vulnerabilities == {}  # the lineage names no such input: none is guessed
    assert digest_folder(statements.path) == "7" * 64

    lineage["inputs"][0]["documents"]["execution_profile.json"] = "0" * 64
    with pytest.raises(EvidenceCorrupted):
        load_documents(store, DIGEST, "refresh-run", lineage)


@pytest.mark.parametrize("path", ["/e/abc/run/vex.statements.json", "vex.statements.json", "/e/" + "7" * 63 + "/r/x"])
def test_a_path_that_is_not_a_run_document_names_no_digest(path):
    with pytest.raises(ValueError):
        digest_folder(path)
