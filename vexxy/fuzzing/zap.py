"""OWASP ZAP (production): the `zaproxy` client against a configured ZAP daemon.

Per analysis: its own context (include regex = the sandbox's URL) and, optionally, its own
session; spider (and the AJAX spider when asked), then an active scan with the chosen policy,
polled until done or until the budget runs out (then stopped); alerts read page by page and
normalized; the context and its alerts removed at the end, whatever happened.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from zapv2 import ZAPv2

from vexxy.fuzzing.findings import Finding, FuzzReport, keep_in_scope, normalize_risk, parse_cwe
from vexxy.fuzzing.seeding import ScanSeeds


class ZapError(Exception):
    """The ZAP daemon refused or failed a call; the message says which and why."""


def _explain(exc: Exception, api_url: str) -> str:
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return (
            f"the ZAP daemon at {api_url} is unreachable ({exc.__class__.__name__}); check VEXXY_ZAP_URL and that ZAP is running"
        )
    text = str(exc)
    match = re.search(r"\{.*\}", text, re.S)
    if match:
        try:
            body = json.loads(match.group(0))
            if body.get("code") == "bad_api_key":
                return f"the ZAP daemon at {api_url} rejected the API key; check VEXXY_ZAP_API_KEY"
            return f"ZAP answered {body.get('code')}: {body.get('message')}" + (
                f" ({body['detail']})" if body.get("detail") else ""
            )
        except ValueError:
            pass
    return f"ZAP call failed: {text[:300]}"


@dataclass
class ZapScanner:
    api_url: str
    api_key: str | None = None
    scan_policy: str | None = None
    ajax_spider: bool = False
    session_per_analysis: bool = False
    poll_seconds: float = 1.0
    page_size: int = 100

    def _client(self) -> ZAPv2:
        return ZAPv2(apikey=self.api_key, proxies={"http": self.api_url, "https": self.api_url}, validate_status_code=True)

    def _call(self, what: str, function: Callable[..., Any], *args, **kwargs) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as exc:  # the client raises bare Exceptions for HTTP errors
            raise ZapError(f"{what}: {_explain(exc, self.api_url)}") from exc

    def _wait(self, what: str, status: Callable[[], Any], done: Callable[[Any], bool], deadline: float) -> bool:
        while time.monotonic() < deadline:
            if done(self._call(what, status)):
                return True
            time.sleep(self.poll_seconds)
        return False

    def scan(self, base_url: str, budget_seconds: float, allowed_hosts: set[str], seeds: ScanSeeds | None = None) -> FuzzReport:
        started = time.monotonic()
        deadline = started + budget_seconds
        zap = self._client()
        context = f"vexxy-{uuid.uuid4().hex[:12]}"
        report = FuzzReport(status="completed", tool="zap", targets=[base_url])
        context_created = False
        try:
            report.tool_version = str(self._call("reading ZAP's version", lambda: zap.core.version))
            if self.session_per_analysis:
                self._call("creating the analysis session", zap.core.new_session, name=context, overwrite=True)
            context_id = self._call("creating the analysis context", zap.context.new_context, context)
            context_created = True
            self._call("scoping the context", zap.context.include_in_context, context, re.escape(base_url.rstrip("/")) + ".*")
            if seeds and seeds.routes:
                self._seed(zap, seeds, base_url, report)
            spider_id = self._call("starting the spider", zap.spider.scan, url=base_url, contextname=context, subtreeonly=True)
            if not self._wait("polling the spider", lambda: zap.spider.status(spider_id), lambda s: int(s) >= 100, deadline):
                self._call("stopping the spider", zap.spider.stop, spider_id)
                report.status, report.reason = "partial", f"the spider overran the {budget_seconds:.0f} s budget and was stopped"
            if self.ajax_spider and report.status == "completed":
                self._call("starting the AJAX spider", zap.ajaxSpider.scan, url=base_url, contextname=context, subtreeonly=True)
                if not self._wait("polling the AJAX spider", lambda: zap.ajaxSpider.status, lambda s: s == "stopped", deadline):
                    self._call("stopping the AJAX spider", zap.ajaxSpider.stop)
                    report.status, report.reason = (
                        "partial",
                        f"the AJAX spider overran the {budget_seconds:.0f} s budget and was stopped",
                    )
            if report.status == "completed":
                scan_id = self._call(
                    "starting the active scan",
                    zap.ascan.scan,
                    url=base_url,
                    recurse=True,
                    scanpolicyname=self.scan_policy,
                    contextid=context_id,
                )
                if not self._wait(
                    "polling the active scan", lambda: zap.ascan.status(scan_id), lambda s: int(s) >= 100, deadline
                ):
                    self._call("stopping the active scan", zap.ascan.stop, scan_id)
                    report.status, report.reason = (
                        "partial",
                        f"the active scan overran its {budget_seconds:.0f} s budget and was stopped",
                    )
            alerts = self._alerts(zap, base_url)
            findings = [self._finding(alert, report.tool_version) for alert in alerts]
            report.findings, report.out_of_scope_dropped = keep_in_scope(findings, allowed_hosts)
        except ZapError as exc:
            report.status, report.reason = "failed", str(exc)
        finally:
            if context_created:
                for cleanup in (
                    lambda: zap.alert.delete_alerts(contextname=context),
                    lambda: zap.context.remove_context(context),
                ):
                    try:
                        cleanup()
                    except Exception:
                        pass
            report.seconds = round(time.monotonic() - started, 1)
        return report

    def _seed(self, zap: ZAPv2, seeds: ScanSeeds, base_url: str, report: FuzzReport) -> None:
        """Each declared route, as the bounded request already built for the workload, replayed through ZAP so its
        active scan covers it. The image's OpenAPI document itself is never given to ZAP: its add-on would fetch
        whatever servers and `$ref`s the document names."""
        requests, skipped = seeds.raw_requests(base_url)
        notes = [f"{skipped} declared routes with requests over 8 KiB were not given to ZAP"] if skipped else []
        try:
            for request in requests:
                self._call("replaying a declared route", zap.core.send_request, request, followredirects=False)
        except ZapError as exc:  # the scan still runs on what the spider finds
            notes.append(f"declared routes not all given to ZAP: {exc}")
        report.reason = "; ".join(notes)

    def _alerts(self, zap: ZAPv2, base_url: str) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = []
        start = 0
        while True:
            page = self._call("reading alerts", zap.alert.alerts, baseurl=base_url, start=start, count=self.page_size)
            alerts.extend(page)
            if len(page) < self.page_size:
                return alerts
            start += self.page_size

    @staticmethod
    def _finding(alert: dict[str, Any], version: str) -> Finding:
        return Finding(
            rule_id=f"zap.{alert.get('pluginId', 'unknown')}",
            name=alert.get("name") or alert.get("alert") or "ZAP alert",
            risk=normalize_risk(alert.get("risk", "")),
            confidence=str(alert.get("confidence", "unknown")).lower(),
            method=alert.get("method", "GET"),
            url=alert.get("url", ""),
            parameter=alert.get("param", ""),
            attack=alert.get("attack", ""),
            evidence=alert.get("evidence", ""),
            tool="zap",
            tool_version=version,
            cwe=parse_cwe(alert.get("cweid")),
            wasc=parse_cwe(alert.get("wascid")),
            description=alert.get("description", ""),
            solution=alert.get("solution", ""),
        )
