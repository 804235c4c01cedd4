"""Load OSV records from a directory tree, OSV's per-ecosystem `all.zip` files, or a URL.

One bad record is reported and skipped; only a source that cannot be read at all is fatal.
"""

from __future__ import annotations

import io
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
    """Read every OSV record under `source`: paths or URLs, several separated by commas."""
    report = LoadReport()
    for item in [s.strip() for s in source.split(",") if s.strip()]:
        if item.startswith(("http://", "https://")):
            _load_url(item, report)
        else:
            path = Path(item).expanduser()
            if not path.exists():
                raise AdvisorySourceError(
                    f"The vulnerability database source {item!r} does not exist.",
                    hint="Set VEXXY_OSV_SOURCE to a directory of OSV records, an OSV all.zip file, or its URL.",
                )
            for origin, raw in _iter_path(path, report):
                _parse_one(origin, raw, report)
    if report.files_read == 0:
        raise AdvisorySourceError(
            f"The vulnerability database source {source!r} holds no OSV records (*.json, *.yaml or all.zip).",
            hint="Point VEXXY_OSV_SOURCE at the directory or zip file that holds the records.",
        )
    return report


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


def _load_url(url: str, report: LoadReport) -> None:
    try:
        with tempfile.TemporaryFile() as sink:
            with httpx.stream("GET", url, follow_redirects=True, timeout=120) as response:
                if response.status_code != 200:
                    raise AdvisorySourceError(
                        f"Downloading the vulnerability database from {url} failed with HTTP {response.status_code}.",
                        hint="Check the URL (OSV publishes one all.zip per ecosystem).",
                    )
                for chunk in response.iter_bytes(1 << 20):
                    sink.write(chunk)
            sink.seek(0)
            data = sink.read()
    except httpx.HTTPError as exc:
        raise AdvisorySourceError(
            f"The vulnerability database URL {url} is unreachable: {exc}.",
            hint="Use a local copy instead: download the zip elsewhere and point VEXXY_OSV_SOURCE at it.",
        ) from exc
    if url.endswith(RECORD_SUFFIXES):
        _parse_one(url, data, report)
    else:
        for origin, raw in _iter_zip(io.BytesIO(data), url, report):
            _parse_one(origin, raw, report)


def _parse_one(origin: str, raw: bytes, report: LoadReport) -> None:
    report.files_read += 1
    try:
        document = json.loads(raw) if origin.endswith(".json") else yaml.load(raw, Loader=_LOADER)
        advisory = parse_osv(document)
    except (ValueError, yaml.YAMLError, MalformedAdvisory) as exc:
        report.errors.append((origin, str(exc).splitlines()[0][:300]))
        return
    if advisory.withdrawn:
        report.withdrawn += 1
        return
    report.advisories.append(advisory)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
