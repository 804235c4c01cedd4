"""The Wapiti path for real: the vulnerable app in the sandbox, scanned from the scanner namespace."""

import os
import socket
import subprocess
from pathlib import Path

import pytest

from vexxy.fuzzing.drive import drive
from vexxy.fuzzing.sarif import sarif_errors, to_sarif
from vexxy.fuzzing.wapiti import WapitiScanner, find_wapiti
from vexxy.imports.routes import rootfs_routes
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.local.sandbox import LocalSandbox
from vexxy.sandbox.local.settings import SandboxSettings
from vexxy.sandbox.sweep import leftovers

pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox(tmp_path):
    settings = SandboxSettings(
        state_dir=tmp_path / "state",
        cache_dir=Path(os.environ["VEXXY_HOME"]) / "sandbox-cache",
        observation_seconds=60,
        quiet_seconds=3,
    )
    box = LocalSandbox(settings, RegistryClient(), read_routes=rootfs_routes)
    yield box
    assert all(not found for found in leftovers(box.paths).values()), leftovers(box.paths)


def wapiti_scan(workload, port, budget, seeds=None):
    placement = workload.scanner_placement()
    return WapitiScanner(find_wapiti()).scan(f"http://{placement.host}:{port}/", budget, placement, {placement.host}, seeds)


def test_wapiti_finds_xss_and_sql_injection_and_fuzzing_grows_the_profile(sandbox, vulnerable_image):
    image = RegistryClient().resolve(vulnerable_image)
    with sandbox.session(image) as workload:
        idle = sandbox.observe(workload)
    outcome = {}
    with sandbox.session(image) as workload:
        fuzzed = sandbox.observe(
            workload, lambda w: outcome.setdefault("report", drive(w, wapiti_scan, idle_seconds=2, budget_seconds=40))
        )
    report = outcome["report"]
    assert report.status == "completed" and report.tool == "wapiti" and report.tool_version == "3.2.3"
    by_cwe = {f.cwe: f for f in report.findings}
    assert (
        by_cwe[79].name == "Reflected Cross Site Scripting" and by_cwe[79].parameter == "q" and by_cwe[79].url.endswith("/search")
    )
    assert by_cwe[89].name == "SQL Injection" and by_cwe[89].parameter == "id" and by_cwe[89].risk == "high"
    assert by_cwe[79].wasc == 8 and by_cwe[89].wasc == 19
    scan_host = report.targets[0].split("/")[2].split(":")[0]
    assert all(f.url.split("/")[2].split(":")[0] == scan_host for f in report.findings)
    assert sarif_errors(to_sarif(report)) == []
    idle_paths = {o.path for o in idle.opens}
    fuzzed_paths = {o.path for o in fuzzed.opens}
    assert len(fuzzed_paths) > len(idle_paths)
    assert any("_sqlite3" in path for path in fuzzed_paths - idle_paths)  # only the fuzzed /item handler imports sqlite3
    assert all(o.phase == "fuzzing" for o in fuzzed.opens if "_sqlite3" in o.path)
    assert fuzzed.outbound_attempts == []  # the app's link to another host was never followed from inside


def test_the_scanner_namespace_reaches_only_the_sandbox(sandbox, vulnerable_image):
    image = RegistryClient().resolve(vulnerable_image)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # picks the host's outgoing address; sends nothing
        host = probe.getsockname()[0]
    with sandbox.session(image) as workload:
        placement = workload.scanner_placement()
        address = placement.host
        code = (
            "import socket, sys\n"
            "for host, port in [(sys.argv[1], 8080), ('1.1.1.1', 80), "
            "(sys.argv[2], 22), (sys.argv[3], 8080), ('127.0.0.1', 5432)]:\n"
            "    s = socket.socket(); s.settimeout(2)\n"
            "    try:\n        s.connect((host, port)); print('reached', host)\n"
            "    except OSError as e:\n        print('blocked', host, e.errno)\n"
        )
        result = subprocess.run(
            placement.wrap(["python3", "-c", code, address, host, workload.network.host_address]),
            capture_output=True,
            text=True,
            timeout=30,
        )
    lines = result.stdout.splitlines()
    assert lines[0] == f"reached {address}"
    assert all(line.startswith("blocked") for line in lines[1:]) and len(lines) == 5


def test_no_http_port_is_skipped_not_an_error(sandbox, registry):
    from sandbox_images import python_image

    banner = (
        "import socket\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('0.0.0.0', 2222)); s.listen()\nwhile True:\n    c, _ = "
        "s.accept(); c.sendall(b'SSH-2.0-not-http\\r\\n'); c.close()\n"
    )
    tcp_only = python_image(registry, "tcp-banner", banner, ports=["2222/tcp"])
    quiet = python_image(registry, "no-ports", "import time\ntime.sleep(600)\n")
    for image, reason in ((tcp_only, "TCP 2222 did not answer HTTP"), (quiet, "the image exposes no TCP port")):
        outcome = {}
        with sandbox.session(image) as workload:
            sandbox.observe(
                workload,
                lambda w, outcome=outcome: outcome.setdefault("report", drive(w, wapiti_scan, idle_seconds=0, budget_seconds=10)),
            )
        assert outcome["report"].status == "skipped" and reason in outcome["report"].reason
