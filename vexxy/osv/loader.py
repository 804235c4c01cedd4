"""Load OSV records from a directory tree, OSV's per-ecosystem `all.zip` files, or a URL.

One bad record is reported and skipped; only a source that cannot be read at all is fatal.
Records are read one at a time (`iter_advisories`), so a corpus of any size can be streamed
into the index without holding it in memory.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from vexxy.errors import AdvisorySourceError
from vexxy.osv.records import Advisory, MalformedAdvisory, parse_osv

RECORD_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass
class LoadReport:
    advisories: list[Advisory] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (where, what is wrong)
    withdrawn: int = 0
    files_read: int = 0


def load_advisories(source: str) -> LoadReport:
    """Read every OSV record under `source` into memory (small sources and tests)."""
    report = LoadReport()
    report.advisories.extend(iter_advisories(source, report))
    return report


def iter_advisories(source: str, report: LoadReport) -> Iterator[Advisory]:
    """Yield every valid, live OSV record under `source` (paths or URLs, comma-separated), one at a time.

    Counts, withdrawn records and errors go to `report`; `report.advisories` is left alone.
    """
    for item in [s.strip() for s in source.split(",") if s.strip()]:
        if item.startswith(("http://", "https://")):
            records = _iter_url(item, report)
        else:
            path = Path(item).expanduser()
            if not path.exists():
                raise AdvisorySourceError(
                    f"The vulnerability database source {item!r} does not exist.",
                    hint="Set VEXXY_OSV_SOURCE to a directory of OSV records, an OSV all.zip file, or its URL.",
                )
            records = _iter_path(path, report)
        for origin, raw in records:
            advisory = _parse_one(origin, raw, report)
            if advisory is not None:
                yield advisory
    if report.files_read == 0:
        raise AdvisorySourceError(
            f"The vulnerability database source {source!r} holds no OSV records (*.json, *.yaml or all.zip).",
            hint="Point VEXXY_OSV_SOURCE at the directory or zip file that holds the records.",
        )


def _iter_path(path: Path, report: LoadReport) -> Iterator[tuple[str, bytes]]:
    if path.is_file():
        if path.suffix == ".zip":
            yield from _iter_zip(path, str(path), report)
        elif path.suffix in RECORD_SUFFIXES:
            yield str(path), path.read_bytes()
        return
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            file = Path(dirpath) / name
            if name.endswith(".zip"):
                yield from _iter_zip(file, str(file), report)
            elif name.endswith(RECORD_SUFFIXES) and not name.startswith("."):
                yield str(file), file.read_bytes()


def _iter_zip(source, label: str, report: LoadReport) -> Iterator[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(source) as archive:
            for member in archive.namelist():
                if member.endswith(RECORD_SUFFIXES):
                    yield f"{label}!{member}", archive.read(member)
    except zipfile.BadZipFile as exc:
        report.errors.append((label, f"not a readable zip file: {exc}"))


def _iter_url(url: str, report: LoadReport) -> Iterator[tuple[str, bytes]]:
    """Download to a temporary file (an all.zip can be hundreds of MB), then read it member by member."""
    with tempfile.TemporaryFile() as sink:
        try:
            with httpx.stream("GET", url, follow_redirects=True, timeout=120) as response:
                if response.status_code != 200:
                    raise AdvisorySourceError(
                        f"Downloading the vulnerability database from {url} failed with HTTP {response.status_code}.",
                        hint="Check the URL (OSV publishes one all.zip per ecosystem).",
                    )
                for chunk in response.iter_bytes(1 << 20):
                    sink.write(chunk)
        except httpx.HTTPError as exc:
            raise AdvisorySourceError(
                f"The vulnerability database URL {url} is unreachable: {exc}.",
                hint="Use a local copy instead: download the zip elsewhere and point VEXXY_OSV_SOURCE at it.",
            ) from exc
        sink.seek(0)
        if url.endswith(RECORD_SUFFIXES):
            yield url, sink.read()
        else:
            yield from _iter_zip(sink, url, report)


def _parse_one(origin: str, raw: bytes, report: LoadReport) -> Advisory | None:
    report.files_read += 1
    try:
        document = json.loads(raw) if origin.endswith(".json") else yaml.load(raw, Loader=_LOADER)
        advisory = parse_osv(document)
    except (ValueError, yaml.YAMLError, MalformedAdvisory) as exc:
        report.errors.append((origin, str(exc).splitlines()[0][:300]))
        return None
    if advisory.withdrawn:
        report.withdrawn += 1
        return None
    return advisory


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
