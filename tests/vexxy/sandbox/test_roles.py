"""Roles' profiles merge into one: union of what any role loaded, complete only if every role was, per-role
attribution and summaries, a digest over the whole."""

from vexxy.sandbox.profile import ExecutionProfile, Observation, Readiness, profile_digest
from vexxy.sandbox.roles import merge, restricted, role_names, role_paths


def profile(opens, complete=True, reason="", outcome="ready", ended_by="quiet"):
    return ExecutionProfile(
        image="r/app@sha256:" + "a" * 64,
        backend="local-runc",
        readiness=Readiness(outcome, "detail"),
        window_seconds=10,
        observed_seconds=4.5,
        ended_by=ended_by,
        complete=complete,
        incomplete_reason=reason,
        opens=[Observation(p, 0.5, 2, "idle", ["read"]) for p in opens],
        execs=[Observation("/usr/bin/python3.11", 0.1, 1, "idle", ["exec"], ["python3", "app.py"])],
        workload_log_tail="log",
    ).to_dict()


def test_union_with_attribution():
    web = profile(["/app/app.py", "/usr/lib/python3/dist-packages/jinja2/__init__.py"])
    job = profile(["/app/tasks/cleanup.py", "/usr/lib/python3/dist-packages/yaml/__init__.py"], ended_by="exited")
    merged = merge([("web", web), ("nightly", job)], {"hash": "sha256:" + "b" * 64})
    opens = merged["observations"]["opens"]
    assert opens["/usr/lib/python3/dist-packages/yaml/__init__.py"]["roles"] == ["nightly"]
    assert opens["/app/app.py"]["roles"] == ["web"]
    assert merged["observations"]["execs"]["/usr/bin/python3.11"] == {
        "first_seen": 0.1,
        "count": 2,
        "phase": "idle",
        "roles": ["web", "nightly"],
    }
    assert [o["path"] for o in merged["container"]["opens"]] == sorted(opens)
    assert merged["complete"] and merged["annotations"]["kubescape.io/completion"] == "complete"
    assert merged["window"] == {"configured_seconds": 20, "observed_seconds": 9.0, "ended_by": "web: quiet, nightly: exited"}
    assert [(r["name"], r["files_opened"]) for r in merged["roles"]] == [("web", 2), ("nightly", 2)]
    assert merged["analysis_config"]["hash"].endswith("b" * 64)
    assert merged["digest"] == profile_digest(merged)
    assert role_paths(merged)["nightly"] == {
        "/app/tasks/cleanup.py",
        "/usr/lib/python3/dist-packages/yaml/__init__.py",
        "/usr/bin/python3.11",
    }


def test_complete_only_if_every_role_was():
    web = profile(["/app/app.py"])
    worker = profile([], complete=False, reason="the workload exited with code 1 during observation", outcome="crash_loop")
    merged = merge([("web", web), ("worker", worker)])
    assert not merged["complete"] and merged["annotations"]["kubescape.io/completion"] == "partial"
    assert merged["incomplete_reason"] == "role worker: the workload exited with code 1 during observation"
    assert merged["readiness"]["outcome"] == "crash_loop" and merged["readiness"]["detail"] == "role worker: detail"
    assert "analysis_config" not in merged


def test_one_role_keeps_the_profile_as_it_was():
    alone = profile(["/app/app.py"], complete=False, reason="why")
    merged = merge([("main", alone)])
    assert merged["incomplete_reason"] == "why" and merged["window"]["ended_by"] == "quiet"
    assert merged["workload_log_tail"] == "log" and merged["readiness"] == alone["readiness"]


def test_a_role_alone():
    merged = merge([("web", profile(["/app/app.py"])), ("job", profile(["/app/job.py"]))])
    assert role_names(merged) == ["web", "job"]
    assert set(restricted(merged, "job")["observations"]["opens"]) == {"/app/job.py"}
    assert set(restricted(merged, "job")["observations"]["execs"]) == {"/usr/bin/python3.11"}
