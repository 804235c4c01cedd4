"""Wapiti, the embedded scanner: the real `wapiti3` run as a subprocess, its JSON report normalized.

Wapiti pins exact versions of many libraries, so it lives in its own virtualenv (scripts/setup
puts it in `.tools/wapiti`), never in the project's. It runs inside the sandbox's scanner network
namespace, from which only the sandbox is reachable.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from vexxy.fuzzing.findings import Finding, FuzzReport, keep_in_scope, normalize_risk, parse_cwe
from vexxy.fuzzing.seeding import ScanSeeds
from vexxy.sandbox.workload import ScannerPlacement

# WASC threat classification ids, by Wapiti module.
WASC_BY_MODULE = {
    "xss": 8,
    "permanentxss": 8,
    "sql": 19,
    "timesql": 19,
    "exec": 31,
    "file": 33,
    "redirect": 38,
    "crlf": 24,
    "xxe": 43,
    "ssrf": 20,
}
PROJECT_TOOL = Path(__file__).resolve().parents[2] / ".tools" / "wapiti" / "bin" / "wapiti"


def find_wapiti(configured: str | None = None) -> str | None:
    for candidate in (configured, str(PROJECT_TOOL), shutil.which("wapiti")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def parse_report(report: dict, base_url: str) -> tuple[list[Finding], str]:
    """Wapiti's JSON report -> findings (vulnerabilities and anomalies), and Wapiti's version."""
    version = str((report.get("infos") or {}).get("version", "")).replace("Wapiti", "").strip()
    classifications = report.get("classifications") or {}
    origin = urlparse(base_url)
    findings = []
    for section, confidence in (("vulnerabilities", "medium"), ("anomalies", "low")):
        anomaly = section == "anomalies"
        for category, items in (report.get(section) or {}).items():
            info = classifications.get(category) or {}
            cwe = next((parse_cwe(key) for key in (info.get("ref") or {}) if key.upper().startswith("CWE-")), None)
            for item in items or []:
                request_line = (item.get("http_request") or "").split("\n", 1)[0]
                target = request_line.split(" ")[1] if request_line.count(" ") >= 2 else item.get("path", "")
                module = item.get("module") or category.lower().replace(" ", "_")
                findings.append(
                    Finding(
                        rule_id=f"wapiti.anomaly.{module}" if anomaly else f"wapiti.{module}",
                        name=category,
                        risk=normalize_risk(item.get("level", 0)),
                        confidence=confidence,
                        method=item.get("method", "GET"),
                        url=f"{origin.scheme}://{origin.netloc}{item.get('path', '/')}",
                        parameter=item.get("parameter") or "",
                        attack=target,
                        evidence=item.get("info") or "",
                        tool="wapiti",
                        tool_version=version,
                        cwe=cwe,
                        wasc=None if anomaly else WASC_BY_MODULE.get(module),
                        description=info.get("desc", ""),
                        solution=info.get("sol", ""),
                    )
                )
    return findings, version


@dataclass
class WapitiScanner:
    binary: str
    modules: str = "xss,sql,exec,file,redirect,crlf"
    grace_seconds: float = 20.0

    def scan(
        self,
        base_url: str,
        budget_seconds: float,
        placement: ScannerPlacement | None,
        allowed_hosts: set[str],
        seeds: ScanSeeds | None = None,
    ) -> FuzzReport:
        """Scan `base_url`; `placement` says where the process must run to reach the workload (None: here);
        declared routes in `seeds` reach Wapiti as an OpenAPI document (`--swagger`) served by `base_url`."""
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="vexxy-wapiti-") as tmp:
            output = Path(tmp) / "report.json"
            command = [
                self.binary,
                "-u",
                base_url,
                "--scope",
                "folder",
                "-m",
                self.modules,
                "-f",
                "json",
                "-o",
                str(output),
                "--flush-session",
                "--store-session",
                str(Path(tmp) / "session"),
                "--store-config",
                str(Path(tmp) / "config"),
                "--max-scan-time",
                str(max(5, int(budget_seconds))),
                "--max-attack-time",
                str(max(5, int(budget_seconds / 2))),
                "--tasks",
                "4",
                "--verify-ssl",
                "0",
            ]
            if seeds and seeds.routes:
                api = Path(tmp) / "declared-routes.json"
                api.write_text(json.dumps(seeds.openapi_document(base_url), default=str))
                command += ["--swagger", str(api)]
            if placement is not None:
                command = placement.wrap(command)
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
            )
            try:
                log, _ = process.communicate(timeout=budget_seconds + self.grace_seconds)
                overran = False
            except subprocess.TimeoutExpired:
                process.kill()
                log, _ = process.communicate()
                overran = True
            seconds = round(time.monotonic() - started, 1)
            if not output.exists():
                reason = (
                    f"Wapiti overran its {budget_seconds:.0f} s budget and was stopped before writing a report"
                    if overran
                    else f"Wapiti exited with code {process.returncode} without a report: {_last_line(log)}"
                )
                return FuzzReport(status="failed", reason=reason, tool="wapiti", targets=[base_url], seconds=seconds)
            findings, version = parse_report(json.loads(output.read_text()), base_url)
        kept, dropped = keep_in_scope(findings, allowed_hosts)
        status, reason = (
            ("partial", f"Wapiti overran its {budget_seconds:.0f} s budget and was stopped") if overran else ("completed", "")
        )
        return FuzzReport(status, reason, "wapiti", version, [base_url], kept, dropped, seconds)


def _last_line(log: str) -> str:
    lines = [line for line in (log or "").splitlines() if line.strip() and not re.match(r"^\s*$", line)]
    return lines[-1][:300] if lines else "no output"
