"""Secret values hidden from whatever a run reports: logs, failures, profiles, scanner reports."""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass, replace
from typing import Any
from urllib.parse import quote, quote_plus


def _written_forms(secret: str) -> set[str]:
    """The secret as a workload or a scanner may write it: as is, percent-encoded in a URL or a form, JSON-escaped."""
    escaped = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), *escaped}


def written_forms(secrets: tuple[str, ...] | list[str]) -> list[str]:
    """Every written form of every secret value, longest first (what a redactor looks for)."""
    return sorted({form for s in secrets if s for form in _written_forms(s)}, key=len, reverse=True)


def redact(value: Any, secrets: tuple[str, ...] | list[str]) -> Any:
    """`value` (text, or JSON-like data) with every occurrence of a secret value (in any of its written forms,
    see `_written_forms`) replaced by [secret]."""
    needles = written_forms(secrets)
    return _redacted(value, needles) if needles else value


def _redacted(value: Any, needles: list[str]) -> Any:
    if isinstance(value, str):
        for needle in needles:
            value = value.replace(needle, "[secret]")
        return value
    if isinstance(value, dict):
        return {_redacted(k, needles): _redacted(v, needles) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redacted(v, needles) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: _redacted(getattr(value, f.name), needles) for f in fields(value) if f.init})
    return value
