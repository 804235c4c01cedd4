"""The local sandbox's readiness wait runs on the clock it is given: a test drives its timeouts, settling and
restart back-off with a fake clock, and nothing sleeps."""

import socket
import time

from vexxy.sandbox.clock import Clock
from vexxy.sandbox.local.readiness import ALIVE_SETTLE_SECONDS, Probe, Startup
from vexxy.sandbox.local.resource_events import ResourceEvents
from vexxy.sandbox.local.settings import SandboxSettings
from vexxy.sandbox.runtime_spec import Limits


class FakeClock:
    """Time moves only when the code under test sleeps."""

    def __init__(self):
        self.now, self.slept = 1000.0, []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> Clock:
        return Clock(monotonic=lambda: self.now, wall=lambda: 1_700_000_000 + self.now, sleep=self.sleep)


class FakeContainer:
    """A container whose process stays up (`exit_code` None) or exits at once with `exit_code`."""

    def __init__(self, exit_code: int | None = None, log: str = ""):
        self.exit_code, self.log, self.runs, self.deleted = exit_code, log, 0, 0

    def run(self) -> None:
        self.runs += 1

    def exited(self) -> int | None:
        return self.exit_code

    def wait(self) -> int:
        return self.exit_code

    def pid(self) -> int | None:
        return 4242 if self.exit_code is None else None

    def delete(self) -> None:
        self.deleted += 1

    def log_tail(self) -> str:
        return self.log


def closed_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def startup(container, probe: Probe, fake: FakeClock, tmp_path, ports: list[int], max_restarts: int = 2) -> Startup:
    events = ResourceEvents("no-such-sandbox", tmp_path / "no-scratch", Limits())
    return Startup(container, probe, "127.0.0.1", ports, max_restarts, False, [], events, fake.clock())


def test_readiness_times_out_after_the_configured_timeout_without_sleeping(tmp_path):
    fake, port = FakeClock(), closed_port()
    settings = SandboxSettings(state_dir=tmp_path, cache_dir=tmp_path, readiness_timeout=45.0)
    began = time.monotonic()
    readiness = startup(FakeContainer(), Probe.of(None, settings), fake, tmp_path, [port]).start_and_wait()
    assert time.monotonic() - began < 10  # 45 s of the fake clock, every port refusing at once
    assert (readiness.outcome, readiness.detail) == ("timeout", f"no connection to TCP {port} within 45 s")
    assert 45.0 <= readiness.seconds < 45.2 and readiness.restarts == 0
    assert set(fake.slept) == {0.1} and 45.0 <= sum(fake.slept) < 45.2


def test_a_process_without_ports_is_ready_once_it_stayed_up_long_enough(tmp_path):
    fake = FakeClock()
    probe = Probe("alive", None, "", 200, 30.0)
    readiness = startup(FakeContainer(), probe, fake, tmp_path, []).start_and_wait()
    assert (readiness.outcome, readiness.detail) == ("ready", "the process is running")
    assert ALIVE_SETTLE_SECONDS <= readiness.seconds < ALIVE_SETTLE_SECONDS + 0.2


def test_a_workload_exiting_before_it_is_ready_is_restarted_with_back_off_then_reported(tmp_path):
    fake, container = FakeClock(), FakeContainer(exit_code=3, log="starting\nno config found\n")
    readiness = startup(container, Probe("tcp", None, "", 200, 30.0), fake, tmp_path, [8080]).start_and_wait()
    assert (readiness.outcome, readiness.exit_code, readiness.restarts) == ("crash_loop", 3, 2)
    assert readiness.detail == "the workload exited with code 3 3 times in a row: no config found"
    assert (container.runs, container.deleted) == (3, 3)
    assert fake.slept == [0.5, 1.0] and readiness.seconds == 1.5  # the back-off between restarts, nothing else
