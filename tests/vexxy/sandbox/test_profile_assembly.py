"""Both backends decide a profile's completeness in one order: never ready, then what the backend saw go
wrong, then a process killed for memory."""

import pytest

from vexxy.sandbox.profile import Readiness
from vexxy.sandbox.profile_assembly import OUT_OF_MEMORY, assemble_profile, completeness

READY = Readiness("ready", "TCP 8080 accepted connections", 1.2)
CRASHED = Readiness("crash_loop", "the workload exited with code 1 3 times in a row", 4.0, 1, 2)
OOM = ["out of memory (limit 256 MiB): the kernel killed a process"]


@pytest.mark.parametrize(
    ("readiness", "backend_reason", "events", "expected"),
    [
        (READY, "", [], (True, "")),
        (READY, "", ["pids limit reached (64 processes): forks were refused"], (True, "")),
        (READY, "", OOM, (False, OUT_OF_MEMORY)),
        (READY, "the tracer's event queue overflowed", OOM, (False, "the tracer's event queue overflowed")),
        (
            CRASHED,
            "the workload exited with code 1 during observation",
            OOM,
            (False, "the workload never became ready (crash_loop: the workload exited with code 1 3 times in a row)"),
        ),
    ],
)
def test_completeness_names_the_first_reason(readiness, backend_reason, events, expected):
    assert completeness(readiness, backend_reason, events) == expected


def test_the_profile_carries_the_common_fields_and_a_copy_of_the_events():
    events = list(OOM)
    profile = assemble_profile(
        image="registry.example/app@sha256:" + "a" * 64,
        backend="local-runc",
        readiness=READY,
        window_seconds=60.0,
        observed_seconds=12.5,
        ended_by="quiet",
        backend_reason="",
        resource_events=events,
        opens=[],
        execs=[],
        capabilities=["CAP_NET_BIND_SERVICE"],
    )
    assert (profile.complete, profile.incomplete_reason, profile.ended_by) == (False, OUT_OF_MEMORY, "quiet")
    assert (profile.window_seconds, profile.observed_seconds, profile.capabilities) == (60.0, 12.5, ["CAP_NET_BIND_SERVICE"])
    events.append("writable space full (64 MiB)")
    assert profile.resource_events == OOM
