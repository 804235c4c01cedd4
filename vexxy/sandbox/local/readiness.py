"""Starting the workload and waiting until it is ready: restarts, and the http, tcp and alive probes."""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass

from vexxy.sandbox.clock import SYSTEM_CLOCK, Clock
from vexxy.sandbox.launch import Launch
from vexxy.sandbox.local.container import Container
from vexxy.sandbox.local.resource_events import ResourceEvents
from vexxy.sandbox.local.settings import SandboxSettings
from vexxy.sandbox.profile import Readiness

# A workload with no port to probe is ready once its process has stayed up this long: one that exits
# at once (however slowly its interpreter starts on a loaded host) is a crash, not a ready service.
ALIVE_SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class Probe:
    """How readiness is told: a role's own probe, else the settings' (tcp or alive)."""

    kind: str  # http | tcp | alive
    port: int | None
    path: str
    expect_status: int
    timeout: float

    @classmethod
    def of(cls, launch: Launch | None, settings: SandboxSettings) -> Probe:
        ready = launch.readiness if launch else None
        return cls(
            ready.kind if ready else settings.readiness_probe,
            ready.port if ready else None,
            ready.path if ready else "",
            ready.expect_status if ready else 200,
            (ready.timeout_seconds if ready else None) or settings.readiness_timeout,
        )


class Startup:
    """Start the workload; restart it (up to `max_restarts`) if it exits before it is ready.

    `is_role`: the workload runs as a configured role, which may be a job that only has to run to completion."""

    def __init__(
        self,
        container: Container,
        probe: Probe,
        address: str,
        ports: list[int],
        max_restarts: int,
        is_role: bool,
        exit_codes: list[int],
        resource_events: ResourceEvents,
        clock: Clock = SYSTEM_CLOCK,
    ):
        self.container, self.probe, self.address, self.ports = container, probe, address, ports
        self.max_restarts, self.is_role = max_restarts, is_role
        self.exit_codes, self.resource_events = exit_codes, resource_events
        self.clock = clock

    def start_and_wait(self) -> Readiness:
        ports = self.ports
        restarts = 0
        start = self.clock.monotonic()
        while True:
            self.container.run()
            outcome = self._wait_ready(ports, start)
            if outcome is not None:
                outcome.restarts = restarts
                return outcome
            code = self.container.wait()
            self.exit_codes.append(code)
            self.resource_events.note()
            self.container.delete()
            if code == 0 and self.is_role and (not ports or self.probe.kind == "alive"):
                # A configured role that only has to run (a job) and ran to completion was observed whole.
                return Readiness(
                    "ready", "the workload ran to completion (exit code 0)", round(self.clock.monotonic() - start, 2), 0, restarts
                )
            if code == 0 and not ports:
                return Readiness(
                    "exited",
                    "the workload ran to completion before the observation window",
                    round(self.clock.monotonic() - start, 2),
                    0,
                    restarts,
                )
            if restarts >= self.max_restarts:
                tail = self.container.log_tail()
                kind = "crash_loop" if restarts else "exited"
                detail = (
                    f"the workload exited with code {code}"
                    + (f" {restarts + 1} times in a row" if restarts else "")
                    + (f": {tail.splitlines()[-1]}" if tail else "")
                )
                return Readiness(kind, detail, round(self.clock.monotonic() - start, 2), code, restarts)
            restarts += 1
            self.clock.sleep(min(2.0, 0.5 * restarts))

    def _wait_ready(self, ports: list[int], start: float) -> Readiness | None:
        """The readiness once the probe passes or time is up; None if the workload exited first."""
        probe = self.probe
        deadline = start + probe.timeout
        if probe.port:
            ports = [probe.port]
        alive_since: float | None = None
        while self.clock.monotonic() < deadline:
            if self.container.exited() is not None:
                return None
            self.resource_events.note()
            alive = self.container.pid() is not None
            alive_since = (alive_since or self.clock.monotonic()) if alive else None
            if alive and probe.kind == "http" and ports:
                status = self._http_status(ports[0])
                if status == probe.expect_status:
                    return Readiness(
                        "ready", f"GET {probe.path} on TCP {ports[0]} answered {status}", round(self.clock.monotonic() - start, 2)
                    )
                self.clock.sleep(0.2)
                continue
            if alive and (probe.kind == "alive" or not ports):
                if alive_since is not None and self.clock.monotonic() - alive_since >= ALIVE_SETTLE_SECONDS:
                    return Readiness("ready", "the process is running", round(self.clock.monotonic() - start, 2))
                self.clock.sleep(0.1)
                continue
            if alive and all(self._port_open(port) for port in ports):
                return Readiness(
                    "ready", f"TCP {', '.join(map(str, ports))} accepted connections", round(self.clock.monotonic() - start, 2)
                )
            self.clock.sleep(0.1)
        if self.container.exited() is not None:
            return None
        return Readiness(
            "timeout",
            (
                f"GET {probe.path} on TCP {ports[0]} did not answer {probe.expect_status}"
                if probe.kind == "http"
                else f"no connection to TCP {', '.join(map(str, ports))}"
            )
            + f" within {probe.timeout:.0f} s"
            if ports
            else "the process did not start in time",
            round(self.clock.monotonic() - start, 2),
        )

    def _http_status(self, port: int) -> int | None:
        connection = http.client.HTTPConnection(self.address, port, timeout=1.0)
        try:
            connection.request("GET", self.probe.path, headers={"User-Agent": "vexxy-readiness"})
            return connection.getresponse().status
        except (OSError, http.client.HTTPException):
            return None
        finally:
            connection.close()

    def _port_open(self, port: int) -> bool:
        try:
            with socket.create_connection((self.address, port), timeout=0.5):
                return True
        except OSError:
            return False
