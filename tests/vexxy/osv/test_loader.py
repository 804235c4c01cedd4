"""Loading OSV records from directories, zip files and mixed JSON/YAML, with bad records skipped."""

import json
import shutil
import zipfile

import pytest

from vexxy import settings
from vexxy.errors import AdvisorySourceError
from vexxy.matching.database import AdvisoryDatabase
from vexxy.osv.loader import load_advisories

PYPA = settings.BUNDLED_OSV / "pypa"


def test_loads_the_bundled_pypa_advisories():
    report = load_advisories(str(PYPA))
    ids = {a.id for a in report.advisories}
    assert {"PYSEC-2021-142", "PYSEC-2019-217", "PYSEC-2021-66"} <= ids
    assert report.errors == []
    assert report.withdrawn >= 2  # loguru PYSEC-2022-15 and redis PYSEC-2023-73 are withdrawn
    assert "PYSEC-2022-15" not in ids
    pyyaml = next(a for a in report.advisories if a.id == "PYSEC-2021-142")
    assert pyyaml.cve_ids == ["CVE-2020-14343"]
    assert "GHSA-8q59-q68h-6hv4" in pyyaml.aliases


def test_one_bad_record_is_reported_and_skipped(tmp_path):
    shutil.copy(next(PYPA.glob("pyyaml/PYSEC-2021-142.yaml")), tmp_path / "good.yaml")
    (tmp_path / "broken.yaml").write_text("id: [unclosed\n")
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "no-id.json").write_text(json.dumps({"modified": "2024-01-01T00:00:00Z"}))
    (tmp_path / "bad-event.json").write_text(
        json.dumps(
            {
                "id": "BAD-1",
                "modified": "2024-01-01T00:00:00Z",
                "affected": [
                    {"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"fixd": "1"}]}]}
                ],
            }
        )
    )
    report = load_advisories(str(tmp_path))
    assert [a.id for a in report.advisories] == ["PYSEC-2021-142"]
    problems = dict(report.errors)
    assert set(problems) == {str(tmp_path / n) for n in ("broken.yaml", "broken.json", "no-id.json", "bad-event.json")}
    assert "has no 'id'" in problems[str(tmp_path / "no-id.json")]
    assert "fixd" in problems[str(tmp_path / "bad-event.json")]


def test_reads_osv_all_zip_files_and_json(tmp_path):
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in list(PYPA.glob("jinja2/*.yaml")):
            import yaml

            zf.writestr(path.stem + ".json", json.dumps(yaml.safe_load(path.read_text()), default=str))
    from_zip = load_advisories(str(archive))
    from_dir = load_advisories(str(PYPA / "jinja2"))
    assert sorted(a.id for a in from_zip.advisories) == sorted(a.id for a in from_dir.advisories)
    assert AdvisoryDatabase(from_zip.advisories).content_hash == AdvisoryDatabase(from_dir.advisories).content_hash


def test_several_sources_and_a_corrupt_zip(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    report = load_advisories(f"{PYPA / 'jinja2'},{tmp_path / 'bad.zip'}")
    assert len(report.advisories) == 5
    assert report.errors and "not a readable zip" in report.errors[0][1]


def test_missing_or_empty_source_is_fatal_with_a_hint(tmp_path):
    with pytest.raises(AdvisorySourceError, match="does not exist") as error:
        load_advisories(str(tmp_path / "nope"))
    assert "VEXXY_OSV_SOURCE" in error.value.hint
    with pytest.raises(AdvisorySourceError, match="holds no OSV records"):
        load_advisories(str(tmp_path))


def test_reads_an_all_zip_from_a_url(tmp_path):
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    import yaml

    with zipfile.ZipFile(tmp_path / "all.zip", "w") as zf:
        for path in PYPA.glob("pyyaml/*.yaml"):
            zf.writestr(path.stem + ".json", json.dumps(yaml.safe_load(path.read_text()), default=str))
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        report = load_advisories(f"{base}/all.zip")
        assert sorted(a.id for a in report.advisories) == sorted(p.stem for p in PYPA.glob("pyyaml/*.yaml"))
        with pytest.raises(AdvisorySourceError, match="HTTP 404"):
            load_advisories(f"{base}/missing.zip")
    finally:
        server.shutdown()
