"""How sure a VEX statement is, and why: one small scale, the same in every format.

Each statement carries a level (`high`, `medium`, `low`) and the reason that sets it:

| reason | level | status | the evidence |
|---|---|---|---|
| `loaded` | high | affected | a file of the component, or a copy of one (same content), was opened or executed |
| `not_loaded_not_imported` | high | not_affected | files known, none loaded in a complete observation, not imported |
| `not_loaded_imports_unchecked` | medium | not_affected | as above, but the first-party imports were not (all) read |
| `imported_not_loaded` | medium | under_investigation | first-party code imports it, none of its files was loaded |
| `dynamic_import_not_loaded` | medium | under_investigation | first-party code loads code by a name vexxy cannot read |
| `lookalike_loaded` | medium | under_investigation | unowned code whose module path ends like the component's was loaded |
| `unattributed_code_loaded` | medium | under_investigation | code written or changed at run time, owned by nothing, was loaded |
| `incomplete_profile` | medium | under_investigation | nothing loaded, but the observation was not complete |
| `unknown_files` | low | under_investigation | the SBOM lists no files for the component |
| `no_runtime_evidence` | low | under_investigation | the image has not been observed |
"""

from __future__ import annotations

from enum import Enum


class Reason(str, Enum):
    LOADED = "loaded"
    NOT_LOADED_NOT_IMPORTED = "not_loaded_not_imported"
    NOT_LOADED_IMPORTS_UNCHECKED = "not_loaded_imports_unchecked"
    IMPORTED_NOT_LOADED = "imported_not_loaded"
    DYNAMIC_IMPORT_NOT_LOADED = "dynamic_import_not_loaded"
    LOOKALIKE_LOADED = "lookalike_loaded"
    UNATTRIBUTED_CODE_LOADED = "unattributed_code_loaded"
    INCOMPLETE_PROFILE = "incomplete_profile"
    UNKNOWN_FILES = "unknown_files"
    NO_RUNTIME_EVIDENCE = "no_runtime_evidence"


LEVEL: dict[Reason, str] = {
    Reason.LOADED: "high",
    Reason.NOT_LOADED_NOT_IMPORTED: "high",
    Reason.NOT_LOADED_IMPORTS_UNCHECKED: "medium",
    Reason.IMPORTED_NOT_LOADED: "medium",
    Reason.DYNAMIC_IMPORT_NOT_LOADED: "medium",
    Reason.LOOKALIKE_LOADED: "medium",
    Reason.UNATTRIBUTED_CODE_LOADED: "medium",
    Reason.INCOMPLETE_PROFILE: "medium",
    Reason.UNKNOWN_FILES: "low",
    Reason.NO_RUNTIME_EVIDENCE: "low",
}


def label(level: str, reason: str) -> str:
    """`high (loaded)`: how the confidence reads in status notes, details and tables."""
    return f"{level} ({reason})" if reason else level
