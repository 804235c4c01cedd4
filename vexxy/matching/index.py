"""The advisory index: one SQLite file per snapshot, keyed by (ecosystem, package name).

Built by streaming records (never the whole corpus in memory), so all of OSV fits; matching reads
only the advisories of the SBOM's packages, and compares versions on each package's bounds sorted
once at build time (`vexxy.matching.ranks`). The file is a pure function of the snapshot (records
inserted in snapshot order, nothing time- or source-dependent inside), so its SHA-256 is a
checksum that a rebuild from the snapshot reproduces. A file that fails its checksum is never
queried: it is rebuilt from the snapshot, itself checked against its own SHA-256 and content hash.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sqlite3
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from itertools import groupby
from pathlib import Path

from vexxy.errors import VexxyError
from vexxy.matching.database import normalize_name
from vexxy.matching.ranks import RankedVersion, bounds, order_classes
from vexxy.osv.records import Advisory, AffectedPackage, AffectedRange, RangeEvent

SCHEMA_VERSION = "5"
_CHUNK = 1 << 20
_BATCH = 2000


class AdvisoryIndexError(VexxyError):
    """The index cannot be trusted and cannot be rebuilt from the snapshot either."""


@dataclass(frozen=True)
class BuiltIndex:
    content_hash: str
    advisories: int
    affected_packages: int
    ecosystems: dict[str, int]


def canonical_line(advisory: Advisory) -> bytes:
    """One advisory as the snapshot and the content hash see it."""
    return json.dumps(advisory.to_dict(), sort_keys=True, separators=(",", ":")).encode()


def file_sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def build_index(records: Iterable[Advisory], index_path: Path, snapshot_path: Path) -> BuiltIndex:
    """Index `records` (any order, any number) into `index_path` and write their sorted snapshot.

    Records are first staged on disk in arrival order, then read back sorted by id (ties in
    arrival order, as the in-memory database sorts) to write the snapshot and the final index.
    """
    with tempfile.TemporaryDirectory(dir=index_path.parent, prefix=".staging-") as workdir:
        staging = sqlite3.connect(Path(workdir) / "staging.sqlite")
        try:
            staging.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                "CREATE TABLE raw (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, record BLOB NOT NULL);"
            )
            batch: list[tuple[str, bytes]] = []
            for advisory in records:
                batch.append((advisory.id, canonical_line(advisory)))
                if len(batch) >= _BATCH:
                    staging.executemany("INSERT INTO raw (id, record) VALUES (?, ?)", batch)
                    batch.clear()
            staging.executemany("INSERT INTO raw (id, record) VALUES (?, ?)", batch)
            staging.execute("CREATE INDEX raw_order ON raw (id, seq)")
            staging.commit()
            sorted_lines = (row[0] for row in staging.execute("SELECT record FROM raw ORDER BY id, seq"))
            with open(snapshot_path, "wb") as raw_snapshot, gzip.GzipFile(fileobj=raw_snapshot, mode="wb", mtime=0) as snapshot:
                return _write_index(sorted_lines, index_path, on_line=lambda line: snapshot.write(line + b"\n"))
        finally:
            staging.close()


def snapshot_lines(snapshot_path: Path) -> Iterator[bytes]:
    with gzip.open(snapshot_path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield line.rstrip(b"\n")


def rebuild_from_snapshot(snapshot_path: Path, index_path: Path) -> BuiltIndex:
    """The same file `build_index` wrote, from the snapshot alone."""
    return _write_index(snapshot_lines(snapshot_path), index_path)


def _write_index(lines: Iterable[bytes], index_path: Path, on_line: Callable[[bytes], object] | None = None) -> BuiltIndex:
    """Write the index (to a temporary file renamed into place) from canonical lines in snapshot order."""
    fd, tmp = tempfile.mkstemp(dir=index_path.parent, prefix=f".{index_path.name}.")
    os.close(fd)
    try:
        db = sqlite3.connect(tmp)
        try:
            db.executescript(
                "PRAGMA page_size=4096; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-32768;"
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                "CREATE TABLE advisories (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, head TEXT NOT NULL, record BLOB NOT NULL);"
                "CREATE TABLE packages (ecosystem TEXT NOT NULL, name TEXT NOT NULL, seq INTEGER NOT NULL,"
                " position INTEGER NOT NULL, id TEXT NOT NULL, affected TEXT NOT NULL);"
                "CREATE TABLE orders (ecosystem TEXT NOT NULL, name TEXT NOT NULL, scale TEXT NOT NULL, classes TEXT NOT NULL,"
                " PRIMARY KEY (ecosystem, name, scale)) WITHOUT ROWID;"
                "CREATE TEMP TABLE bounds (ecosystem TEXT NOT NULL, name TEXT NOT NULL, scale TEXT NOT NULL,"
                " version TEXT NOT NULL);"
            )
            hasher = hashlib.sha256()
            ecosystems: Counter[str] = Counter()
            advisories = packages = 0
            rows: list[tuple[int, str, bytes]] = []
            keys: list[tuple[str, str, int, int]] = []
            versions: list[tuple[str, str, str, str]] = []
            for line in lines:
                hasher.update(line + b"\n")
                if on_line is not None:
                    on_line(line)
                advisory = Advisory.from_dict(json.loads(line))
                advisories += 1
                rows.append((advisories, advisory.id, _head(advisory), zlib.compress(line, 6)))
                for position, affected in enumerate(advisory.affected):
                    name = normalize_name(affected.ecosystem, affected.name)
                    compact = json.dumps(asdict(affected), separators=(",", ":"))
                    keys.append((affected.ecosystem, name, advisories, position, advisory.id, compact))
                    versions.extend((affected.ecosystem, name, scale, version) for scale, version in bounds(affected))
                ecosystems.update({a.ecosystem.split(":", 1)[0] for a in advisory.affected})
                if len(rows) >= _BATCH:
                    packages += _flush(db, rows, keys, versions)
            packages += _flush(db, rows, keys, versions)
            db.execute("CREATE INDEX packages_by_name ON packages (ecosystem, name, seq, position)")
            _write_orders(db)
            content_hash = hasher.hexdigest()
            meta = {
                "schema_version": SCHEMA_VERSION,
                "content_hash": content_hash,
                "advisories": str(advisories),
                "ecosystems": json.dumps(dict(sorted(ecosystems.items()))),
            }
            db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
            db.commit()
        finally:
            db.close()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, index_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return BuiltIndex(content_hash, advisories, packages, dict(sorted(ecosystems.items())))


def _flush(db: sqlite3.Connection, rows: list, keys: list, versions: list) -> int:
    db.executemany("INSERT INTO advisories VALUES (?, ?, ?, ?)", rows)
    db.executemany("INSERT INTO packages VALUES (?, ?, ?, ?, ?, ?)", keys)
    db.executemany("INSERT INTO temp.bounds VALUES (?, ?, ?, ?)", versions)
    count = len(keys)
    rows.clear()
    keys.clear()
    versions.clear()
    return count


def _write_orders(db: sqlite3.Connection) -> None:
    """Each package's distinct bounds, per ordering, sorted into classes of equal versions (one package in memory at a time)."""
    distinct = db.execute(
        "SELECT DISTINCT ecosystem, name, scale, version FROM temp.bounds ORDER BY ecosystem, name, scale, version"
    )
    batch = []
    for (ecosystem, name, scale), group in groupby(distinct, key=lambda row: row[:3]):
        classes = order_classes(ecosystem, scale, (row[3] for row in group))
        batch.append((ecosystem, name, scale, json.dumps(classes, separators=(",", ":"))))
        if len(batch) >= _BATCH:
            db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", batch)
            batch.clear()
    db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", batch)
    db.execute("DROP TABLE temp.bounds")


class AdvisoryIndex:
    """Read-only queries on one index file; answers `candidates` exactly like `AdvisoryDatabase`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        try:
            self.meta = dict(self._db.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise AdvisoryIndexError(f"The advisory index {self.path} cannot be read: {exc}") from exc
        self._advisory = lru_cache(maxsize=65536)(self._load_advisory)

    @property
    def content_hash(self) -> str:
        return self.meta.get("content_hash", "")

    @property
    def advisory_count(self) -> int:
        return int(self.meta.get("advisories", "0"))

    def ecosystems(self) -> dict[str, int]:
        return json.loads(self.meta.get("ecosystems", "{}"))

    def candidates(self, ecosystem: str, name: str) -> list[tuple[Advisory, AffectedPackage]]:
        """Each advisory comes as a stand-in holding its head undecoded, read in the same query (a match
        reports from it), that reads its whole record only when asked for more (most candidates do not
        match: only the package entry is needed to tell)."""
        rows = self._db.execute(
            "SELECT packages.seq, packages.id, packages.affected, advisories.head FROM packages"
            " JOIN advisories ON advisories.seq = packages.seq"
            " WHERE packages.ecosystem = ? AND packages.name = ? ORDER BY packages.seq, packages.position",
            (ecosystem, normalize_name(ecosystem, name)),
        ).fetchall()
        return [(_LazyAdvisory(advisory_id, seq, self, head), _affected(affected)) for seq, advisory_id, affected, head in rows]

    def evaluator(self, ecosystem: str, name: str, version: str) -> RankedVersion:
        """What `affected_by` answers for `version` of this package, on the package's pre-sorted bounds."""
        rows = self._db.execute(
            "SELECT scale, classes FROM orders WHERE ecosystem = ? AND name = ?", (ecosystem, normalize_name(ecosystem, name))
        )
        return RankedVersion(ecosystem, version, {scale: json.loads(classes) for scale, classes in rows})

    def _load_advisory(self, seq: int) -> Advisory:
        (record,) = self._db.execute("SELECT record FROM advisories WHERE seq = ?", (seq,)).fetchone()
        return Advisory.from_dict(json.loads(zlib.decompress(record)))

    def close(self) -> None:
        self._db.close()


# What a match reports about its advisory (its description is made from the summary or the details).
HEAD_FIELDS = ("aliases", "summary", "severity", "modified", "details")


def _head(advisory: Advisory) -> str:
    head = {
        "aliases": list(advisory.aliases),
        "summary": advisory.summary,
        "severity": [dict(s) for s in advisory.severity],
        "modified": advisory.modified,
        "details": advisory.details,
    }
    return json.dumps(head, separators=(",", ":"))


def _affected(text: str) -> AffectedPackage:
    data = json.loads(text)
    return AffectedPackage(
        ecosystem=data["ecosystem"],
        name=data["name"],
        purl=data["purl"],
        ranges=tuple(
            AffectedRange(r["type"], tuple(RangeEvent(e["kind"], e["version"]) for e in r["events"])) for r in data["ranges"]
        ),
        versions=tuple(data["versions"]),
    )


class _LazyAdvisory:
    """An `Advisory` read from the index on demand: what a match reports from the record's head, the rest
    from the whole record."""

    __slots__ = ("id", "_seq", "_index", "_head_text", "_head")

    def __init__(self, advisory_id: str, seq: int, index: AdvisoryIndex, head_text: str):
        self.id, self._seq, self._index, self._head_text, self._head = advisory_id, seq, index, head_text, None

    def __getattr__(self, name: str):
        if name in HEAD_FIELDS:
            if self._head is None:
                self._head = json.loads(self._head_text)
            if name in self._head:
                value = self._head[name]
                return tuple(value) if isinstance(value, list) else value
        return getattr(self._index._advisory(self._seq), name)

    def __eq__(self, other: object) -> bool:
        mine = self._index._advisory(self._seq)
        return mine == (other._index._advisory(other._seq) if isinstance(other, _LazyAdvisory) else other)

    def __hash__(self) -> int:
        return hash(self._index._advisory(self._seq))


def open_verified(
    index_path: Path,
    index_sha256: str,
    snapshot_path: Path,
    snapshot_sha256: str,
    content_hash: str,
    log: Callable[[str], object] = lambda _message: None,
) -> tuple[AdvisoryIndex, bool]:
    """Open the index only if its bytes are the ones recorded; otherwise rebuild it from the snapshot.

    Returns the index and whether it had to be rebuilt. The snapshot is checked against its own
    SHA-256 and the rebuilt records against the content hash (the data version) before use.
    """
    problem = _index_problem(index_path, index_sha256)
    if problem is None:
        index = AdvisoryIndex(index_path)
        if index.content_hash == content_hash and index.meta.get("schema_version") == SCHEMA_VERSION:
            return index, False
        index.close()
        problem = f"it holds snapshot {index.content_hash[:12] or '(none)'}, not {content_hash[:12]}"
    log(f"The advisory index {index_path} is not trusted ({problem}); rebuilding it from the snapshot.")
    if not snapshot_path.is_file():
        raise AdvisoryIndexError(
            f"The advisory index {index_path} is damaged ({problem}) and its snapshot {snapshot_path} is missing.",
            hint="Materialize `vulnerability_db` again (or run `vexxy db update`).",
        )
    actual = file_sha256(snapshot_path)
    if actual != snapshot_sha256:
        raise AdvisoryIndexError(
            f"The advisory index {index_path} is damaged ({problem}) and its snapshot {snapshot_path} is too "
            f"(recorded sha256:{snapshot_sha256}, stored sha256:{actual}).",
            hint="Materialize `vulnerability_db` again (or run `vexxy db update`).",
        )
    built = rebuild_from_snapshot(snapshot_path, index_path)
    if built.content_hash != content_hash:
        raise AdvisoryIndexError(
            f"The snapshot {snapshot_path} holds advisories {built.content_hash[:12]}, not {content_hash[:12]}.",
            hint="Materialize `vulnerability_db` again (or run `vexxy db update`).",
        )
    rebuilt_sha = file_sha256(index_path)
    if rebuilt_sha != index_sha256:
        log(f"The rebuilt index's checksum is sha256:{rebuilt_sha} (recorded sha256:{index_sha256}); its records were verified.")
    return AdvisoryIndex(index_path), True


def _index_problem(index_path: Path, index_sha256: str) -> str | None:
    if not index_path.is_file():
        return "it is missing"
    actual = file_sha256(index_path)
    if actual != index_sha256:
        return f"its checksum is sha256:{actual}, recorded sha256:{index_sha256}"
    return None
