"""Validate our documents against the official schemas (vendored OpenVEX, CycloneDX's own)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


@lru_cache(maxsize=1)
def _openvex_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((resources.files("vexxy.vex") / "schemas" / "openvex-0.2.0.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def openvex_errors(document: dict[str, Any]) -> list[str]:
    """Schema violations of an OpenVEX 0.2.0 document, as `path: message` lines (empty = valid)."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(document)'}: {error.message}"
        for error in sorted(_openvex_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def cyclonedx_errors(document_json: str) -> list[str]:
    """Schema violations of a CycloneDX 1.6 JSON document (empty = valid)."""
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(document_json)
    return [str(error.data.message if hasattr(error.data, "message") else error)] if error else []
