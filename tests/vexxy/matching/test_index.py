"""The SQLite advisory index answers exactly what the in-memory database answers, and is never trusted damaged."""

import json
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from vexxy import settings
from vexxy.matching.database import AdvisoryDatabase
from vexxy.matching.index import AdvisoryIndex, AdvisoryIndexError, build_index, file_sha256, open_verified
from vexxy.matching.matcher import match_components
from vexxy.osv.loader import LoadReport, iter_advisories, load_advisories
from vexxy.sbom.components import Component, components_from_syft


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """The bundled advisories, in memory and indexed on disk."""
    folder = tmp_path_factory.mktemp("index")
    report = LoadReport()
    built = build_index(iter_advisories(str(settings.BUNDLED_OSV), report), folder / "osv.sqlite", folder / "osv.jsonl.gz")
    database = AdvisoryDatabase(load_advisories(str(settings.BUNDLED_OSV)).advisories)
    index = AdvisoryIndex(folder / "osv.sqlite")
    yield folder, built, database, index
    index.close()


def every_advisory_version(database: AdvisoryDatabase) -> list[Component]:
    """A PyPI component for every package and every version any bundled advisory names, plus neighbours."""
    components = []
    for advisory in database.advisories:
        for affected in advisory.affected:
            versions = set(affected.versions) | {e.version for r in affected.ranges for e in r.events}
            versions |= {"0.0.1", "999.0"}
            for version in sorted(versions):
                name = affected.name if len(components) % 2 else affected.name.upper().replace("-", "_")
                ref = f"{len(components)}"
                purl = f"pkg:pypi/{name.lower()}@{version}"
                components.append(Component(ref, name, version, "python", purl, affected.ecosystem, name, version))
    return components


def test_index_and_snapshot_hash_like_the_in_memory_database(bundled):
    _folder, built, database, index = bundled
    assert built.content_hash == database.content_hash == index.content_hash
    assert built.advisories == len(database.advisories) == index.advisory_count >= 50
    assert index.ecosystems() == database.ecosystems()
    restored = AdvisoryDatabase.from_snapshot((_folder / "osv.jsonl.gz").read_bytes())
    assert restored.content_hash == database.content_hash


def test_index_matches_exactly_like_the_in_memory_database(bundled):
    """Every version of every package named in the bundled advisories: the same matches, in the same order."""
    _folder, _built, database, index = bundled
    components = every_advisory_version(database)
    assert len(components) > 2000
    expected, actual = match_components(components, database), match_components(components, index)
    assert actual.matches == expected.matches and len(expected.matches) > 5000
    assert actual.unorderable == expected.unorderable
    assert (actual.components_checked, actual.components_without_ecosystem) == (
        expected.components_checked,
        expected.components_without_ecosystem,
    )
    for advisory in database.advisories[:300]:
        for affected in advisory.affected:
            assert index.candidates(affected.ecosystem, affected.name) == database.candidates(affected.ecosystem, affected.name)
    assert index.candidates("PyPI", "no-such-package") == [] and index.candidates("npm", "pyyaml") == []


@pytest.mark.slow
def test_index_matches_every_component_of_the_test_images_like_the_in_memory_database(bundled, demo_syft_json, vulnerable_image):
    """The demo image (Debian, Jinja2, PyYAML) and the vulnerable app's image, as Syft inventories them."""
    from vexxy.sbom.syft import SyftScanner

    _folder, _built, database, index = bundled
    vulnerable = SyftScanner().scan_registry_image(vulnerable_image.canonical(), vulnerable_image.registry, "linux/amd64")
    for syft_json, expected_cves in (
        (demo_syft_json, {"CVE-2020-28493", "CVE-2020-14343"}),
        (json.loads(vulnerable.native), set()),
    ):
        components = components_from_syft(syft_json)
        assert len(components) > 50
        expected, actual = match_components(components, database), match_components(components, index)
        assert actual == expected
        assert {m.vulnerability for m in actual.matches} == expected_cves


def test_rebuilding_from_the_snapshot_reproduces_the_same_file(bundled, tmp_path):
    folder, built, _database, _index = bundled
    from vexxy.matching.index import rebuild_from_snapshot

    again = rebuild_from_snapshot(folder / "osv.jsonl.gz", tmp_path / "again.sqlite")
    assert again == built
    assert file_sha256(tmp_path / "again.sqlite") == file_sha256(folder / "osv.sqlite")


def test_load_order_and_file_layout_do_not_change_the_index(tmp_path):
    """A directory and an all.zip of the same records (in another order) give the same bytes."""
    source = settings.BUNDLED_OSV / "pypa"
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(source.rglob("*.yaml"), reverse=True):
            zf.writestr(path.stem + ".json", json.dumps(yaml.safe_load(path.read_text()), default=str))
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    one = build_index(iter_advisories(str(source), LoadReport()), tmp_path / "a" / "i", tmp_path / "a" / "s")
    two = build_index(iter_advisories(str(archive), LoadReport()), tmp_path / "b" / "i", tmp_path / "b" / "s")
    assert one == two
    assert file_sha256(tmp_path / "a" / "i") == file_sha256(tmp_path / "b" / "i")
    assert file_sha256(tmp_path / "a" / "s") == file_sha256(tmp_path / "b" / "s")


def damaged_copies(folder: Path, tmp_path: Path):
    """(what was done, path) for an index truncated, with a flipped byte, emptied and replaced by garbage."""
    original = (folder / "osv.sqlite").read_bytes()
    size = len(original)
    cases = {
        "truncated": original[: size // 2],
        "one byte flipped": original[: size // 3] + bytes([original[size // 3] ^ 0x01]) + original[size // 3 + 1 :],
        "last page dropped": original[:-4096],
        "empty": b"",
        "garbage": b"not a database" * 100,
    }
    for what, data in cases.items():
        target = tmp_path / what.replace(" ", "-") / "osv.sqlite"
        target.parent.mkdir()
        target.write_bytes(data)
        shutil.copy(folder / "osv.jsonl.gz", target.parent / "osv.jsonl.gz")
        yield what, target


def test_a_damaged_index_is_rebuilt_not_trusted(bundled, tmp_path):
    folder, built, database, _index = bundled
    sha, snapshot_sha = file_sha256(folder / "osv.sqlite"), file_sha256(folder / "osv.jsonl.gz")
    components = every_advisory_version(database)[:3000]
    expected = match_components(components, database)
    for what, path in damaged_copies(folder, tmp_path):
        notes: list[str] = []
        index, rebuilt = open_verified(
            path, sha, path.parent / "osv.jsonl.gz", snapshot_sha, built.content_hash, log=notes.append
        )
        assert rebuilt, what
        assert "not trusted" in notes[0] and "checksum" in notes[0], what
        assert file_sha256(path) == sha, what
        assert match_components(components, index) == expected, what
        index.close()
        again, rebuilt_again = open_verified(path, sha, path.parent / "osv.jsonl.gz", snapshot_sha, built.content_hash)
        assert not rebuilt_again
        again.close()
    missing = tmp_path / "missing" / "osv.sqlite"
    missing.parent.mkdir()
    shutil.copy(folder / "osv.jsonl.gz", missing.parent / "osv.jsonl.gz")
    index, rebuilt = open_verified(missing, sha, missing.parent / "osv.jsonl.gz", snapshot_sha, built.content_hash)
    assert rebuilt and file_sha256(missing) == sha
    index.close()


def test_an_index_of_another_snapshot_is_not_used(bundled, tmp_path):
    """A valid index whose checksum was recorded for other content (a stale pointer) is rebuilt from the snapshot."""
    folder, built, _database, _index = bundled
    other = tmp_path / "other"
    other.mkdir()
    small = build_index(
        iter_advisories(str(settings.BUNDLED_OSV / "pypa" / "jinja2"), LoadReport()), other / "osv.sqlite", other / "s.gz"
    )
    assert small.content_hash != built.content_hash
    shutil.copy(folder / "osv.jsonl.gz", other / "osv.jsonl.gz")
    index, rebuilt = open_verified(
        other / "osv.sqlite",
        file_sha256(other / "osv.sqlite"),
        other / "osv.jsonl.gz",
        file_sha256(other / "osv.jsonl.gz"),
        built.content_hash,
    )
    assert rebuilt and index.content_hash == built.content_hash
    index.close()


def test_a_damaged_index_with_a_damaged_snapshot_fails_clearly(bundled, tmp_path):
    folder, built, _database, _index = bundled
    sha, snapshot_sha = file_sha256(folder / "osv.sqlite"), file_sha256(folder / "osv.jsonl.gz")
    (tmp_path / "osv.sqlite").write_bytes((folder / "osv.sqlite").read_bytes()[:1000])
    (tmp_path / "osv.jsonl.gz").write_bytes((folder / "osv.jsonl.gz").read_bytes()[:-10])
    with pytest.raises(AdvisoryIndexError, match="its snapshot .* is too") as error:
        open_verified(tmp_path / "osv.sqlite", sha, tmp_path / "osv.jsonl.gz", snapshot_sha, built.content_hash)
    assert "vulnerability_db" in error.value.hint
    (tmp_path / "osv.jsonl.gz").unlink()
    with pytest.raises(AdvisoryIndexError, match="is missing"):
        open_verified(tmp_path / "osv.sqlite", sha, tmp_path / "osv.jsonl.gz", snapshot_sha, built.content_hash)
