"""Web scanners that drive the sandboxed workload: Wapiti (embedded default) or a ZAP daemon.

`FuzzerResource` is the protocol; which one runs is one setting (`VEXXY_FUZZER`).
"""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from vexxy.fuzzing.findings import FuzzReport
from vexxy.fuzzing.seeding import ScanSeeds
from vexxy.fuzzing.wapiti import WapitiScanner, find_wapiti
from vexxy.fuzzing.zap import ZapScanner
from vexxy.sandbox.workload import Workload


class FuzzerResource(ConfigurableResource):
    """Scan `port` of the running workload within `budget_seconds`, given the routes it declares."""

    budget_seconds: int = Field(default=40, description="Time budget of one scan; it must fit in the observation window.")
    idle_seconds: int = Field(default=5, description="Observe the idle workload this long before scanning it.")

    @property
    def tool(self) -> str:
        return "none"

    def scan(self, workload: Workload, port: int, budget_seconds: float, seeds: ScanSeeds | None = None) -> FuzzReport:
        raise NotImplementedError


class NoFuzzerResource(FuzzerResource):
    def scan(self, workload, port, budget_seconds, seeds=None) -> FuzzReport:
        return FuzzReport.skipped("no web scanner is configured (VEXXY_FUZZER=none)")


class WapitiResource(FuzzerResource):
    """The real Wapiti, from its own virtualenv, started where the backend says it reaches the workload."""

    binary: str | None = Field(default=None, description="Path to wapiti; default: .tools/wapiti or PATH.")
    modules: str = "xss,sql,exec,file,redirect,crlf"

    @property
    def tool(self) -> str:
        return "wapiti"

    def scan(self, workload, port, budget_seconds, seeds=None) -> FuzzReport:
        binary = find_wapiti(self.binary)
        if binary is None:
            return FuzzReport(
                status="failed",
                tool="wapiti",
                reason="Wapiti is not installed; run scripts/setup (it installs it into .tools/wapiti)",
            )
        placement = workload.scanner_placement()
        return WapitiScanner(binary, self.modules).scan(
            f"http://{placement.host}:{port}/", budget_seconds, placement, allowed_hosts={placement.host}, seeds=seeds
        )


class ZapResource(FuzzerResource):
    """A ZAP daemon (URL + API key); a context (and optionally a session) per analysis."""

    api_url: str = Field(description="Where the ZAP daemon's API listens, e.g. http://zap:8080.")
    api_key: str | None = None
    scan_policy: str | None = None
    ajax_spider: bool = False
    session_per_analysis: bool = Field(default=False, description="Start a new ZAP session per analysis (a daemon per analysis).")

    @property
    def tool(self) -> str:
        return "zap"

    def scan(self, workload, port, budget_seconds, seeds=None) -> FuzzReport:
        scanner = ZapScanner(self.api_url, self.api_key, self.scan_policy, self.ajax_spider, self.session_per_analysis)
        return scanner.scan(f"http://{workload.address}:{port}/", budget_seconds, allowed_hosts={workload.address}, seeds=seeds)
