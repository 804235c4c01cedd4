"""The advisory database's snapshot: a round trip keeps its content hash and its candidates."""

from vexxy import settings
from vexxy.matching.database import AdvisoryDatabase
from vexxy.osv.loader import load_advisories

PYPA = settings.BUNDLED_OSV / "pypa"


def test_snapshot_round_trip_and_stable_hash():
    database = AdvisoryDatabase(load_advisories(str(PYPA)).advisories)
    restored = AdvisoryDatabase.from_snapshot(database.to_snapshot())
    assert restored.content_hash == database.content_hash
    assert AdvisoryDatabase(list(reversed(database.advisories))).content_hash == database.content_hash
    assert [a.id for a, _ in restored.candidates("PyPI", "PyYAML")] == [a.id for a, _ in database.candidates("PyPI", "pyyaml")]
