"""One execution profile from the profiles of an image's roles (web, worker, nightly job...).

Each role runs the same image its own way and is observed on its own; the analysis decides on the
union of what they did: a file is loaded if any role loaded it, and the profile is complete only if
every role's observation was. Every observation names the roles that saw it, and `roles` keeps
each role's own summary, so the evidence says which role loaded what.
"""

from __future__ import annotations

from typing import Any

from vexxy.sandbox.profile import COMPLETION, STATUS, profile_digest


def merge(role_profiles: list[tuple[str, dict[str, Any]]], config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The union of `(role name, profile dict)` in the order the roles ran; `config` is recorded as provenance
    (the configuration's hash and public form)."""
    if not role_profiles:
        raise ValueError("no role was observed")
    first = role_profiles[0][1]
    opens: dict[str, dict[str, Any]] = {}
    execs: dict[str, dict[str, Any]] = {}
    open_flags: dict[str, set[str]] = {}
    exec_args: dict[str, list[str]] = {}
    for role, profile in role_profiles:
        for kind, seen in (("opens", opens), ("execs", execs)):
            for path, observed in profile["observations"][kind].items():
                entry = seen.setdefault(path, {**observed, "count": 0, "roles": []})
                entry["count"] += observed["count"]
                entry["roles"].append(role)
                if observed.get("sha256"):  # every content any role opened at this path
                    entry["sha256"] = sorted(set(entry.get("sha256", [])) | set(observed["sha256"]))
        for entry in profile["container"]["opens"]:
            open_flags.setdefault(entry["path"], set()).update(entry["flags"])
        for entry in profile["container"]["execs"]:
            exec_args.setdefault(entry["path"], entry["args"])
    not_ready = [(role, p) for role, p in role_profiles if p["readiness"]["outcome"] != "ready"]
    readiness = dict(not_ready[0][1]["readiness"] if not_ready else first["readiness"])
    if len(role_profiles) > 1 and not_ready:
        readiness["detail"] = f"role {not_ready[0][0]}: {readiness['detail']}"
    incomplete = [(role, p["incomplete_reason"]) for role, p in role_profiles if not p["complete"]]
    single = len(role_profiles) == 1
    reason = (
        incomplete[0][1]
        if single and incomplete
        else "; ".join(f"role {role}: {why or 'incomplete'}" for role, why in incomplete)
    )
    body = {
        **first,
        "annotations": {
            COMPLETION: "partial" if incomplete else "complete",
            STATUS: "completed" if readiness["outcome"] == "ready" else readiness["outcome"],
        },
        "container": {
            **first["container"],
            "execs": [{"path": path, "args": exec_args.get(path, [])} for path in sorted(execs)],
            "opens": [{"path": path, "flags": sorted(open_flags.get(path, ()))} for path in sorted(opens)],
            "syscalls": sorted({s for _, p in role_profiles for s in p["container"].get("syscalls", [])}),
        },
        "observations": {"opens": dict(sorted(opens.items())), "execs": dict(sorted(execs.items()))},
        **(
            {"identities": dict(sorted(identities.items()))}
            if (identities := {sha: i for _, p in role_profiles for sha, i in p.get("identities", {}).items()})
            else {}
        ),
        "readiness": readiness,
        "window": {
            "configured_seconds": sum(p["window"]["configured_seconds"] for _, p in role_profiles),
            "observed_seconds": round(sum(p["window"]["observed_seconds"] for _, p in role_profiles), 2),
            "ended_by": first["window"]["ended_by"]
            if single
            else ", ".join(f"{role}: {p['window']['ended_by']}" for role, p in role_profiles),
        },
        "complete": not incomplete,
        "incomplete_reason": reason,
        "listening": [{**s, "role": role} for role, p in role_profiles for s in p["listening"]],
        "outbound_attempts": [{**a, "role": role} for role, p in role_profiles for a in p["outbound_attempts"]],
        "resource_events": [e if single else f"role {role}: {e}" for role, p in role_profiles for e in p["resource_events"]],
        "workload_log_tail": first["workload_log_tail"]
        if single
        else "\n".join(f"--- role {role}\n{p['workload_log_tail']}" for role, p in role_profiles),
        "roles": [summary(role, p) for role, p in role_profiles],
    }
    if config is not None:
        body["analysis_config"] = config
    body.pop("digest", None)
    body["digest"] = profile_digest(body)
    return body


def summary(role: str, profile: dict[str, Any]) -> dict[str, Any]:
    """What one role did, in a few figures (the union keeps the details)."""
    return {
        "name": role,
        "complete": profile["complete"],
        "incomplete_reason": profile["incomplete_reason"],
        "readiness": profile["readiness"]["outcome"],
        "observed_seconds": profile["window"]["observed_seconds"],
        "ended_by": profile["window"]["ended_by"],
        "files_opened": len(profile["observations"]["opens"]),
        "programs_executed": len(profile["observations"]["execs"]),
        "digest": profile["digest"],
    }


def role_paths(profile: dict[str, Any]) -> dict[str, set[str]]:
    """{role: paths it opened or executed}; a profile without roles is one role, `main`."""
    by_role: dict[str, set[str]] = {}
    for kind in ("opens", "execs"):
        for path, observed in profile["observations"][kind].items():
            for role in observed.get("roles", ["main"]):
                by_role.setdefault(role, set()).add(path)
    return by_role


def restricted(profile: dict[str, Any], role: str) -> dict[str, Any]:
    """`profile` with only what `role` opened and executed (to map one role's files to packages)."""
    observations = {
        kind: {path: o for path, o in profile["observations"][kind].items() if role in o.get("roles", [role])}
        for kind in ("opens", "execs")
    }
    return {**profile, "observations": observations}


def role_names(profile: dict[str, Any]) -> list[str]:
    return [r["name"] for r in profile.get("roles", [])]
