"""The layering, as import contracts (`[tool.importlinter]` in pyproject.toml): they hold on this tree, and a
copy of the tree with one forbidden import added breaks the contract that forbids it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("vexxy_pipelines", "vexxy_api", "submissions", "billing", "appdb", "vexxy")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(where: Path, *contracts: str) -> subprocess.CompletedProcess:
    selected = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", *selected],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory) -> Path:
    """The packages and pyproject.toml, without bytecode: what lint-imports reads."""
    copy = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


FORBIDDEN = [
    # (module that gains the import, the import, the contract it breaks)
    ("appdb/models.py", "import submissions.lifecycle", "floors"),
    ("billing/ledger.py", "import vexxy_api.auth", "floors"),
    ("vexxy/oci/reference.py", "import vexxy_pipelines.tags", "floors"),
    ("vexxy_api/app.py", "import vexxy_pipelines.tags", "floors"),
    ("vexxy/oci/reference.py", "import dagster", "domain-library"),
    ("vexxy/vex/statements.py", "import sqlalchemy", "domain-library"),
    ("vexxy/sandbox/workload.py", "import vexxy.imports.routes", "sandbox"),
    ("vexxy/osv/records.py", "import vexxy.matching.ranges", "advisories"),
    ("vexxy/oci/reference.py", "import vexxy.sbom", "no-cycles"),  # vexxy.sbom imports vexxy.oci
    ("vexxy_pipelines/cli/analyze.py", "import vexxy_pipelines.cli.audit", "cli-commands"),
]


@pytest.mark.parametrize(("module", "line", "contract"), FORBIDDEN, ids=[f"{c}:{m}" for m, _, c in FORBIDDEN])
def test_a_forbidden_import_breaks_its_contract(tree_copy, module, line, contract):
    target = tree_copy / module
    original = target.read_text()
    assert lint_imports(tree_copy, contract).returncode == 0, f"{contract} should hold before the import is added"
    try:
        target.write_text(original + f"\n{line}  # noqa\n")
        result = lint_imports(tree_copy, contract)
    finally:
        target.write_text(original)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout and line.split()[-1].rsplit(".", 1)[0] in result.stdout
