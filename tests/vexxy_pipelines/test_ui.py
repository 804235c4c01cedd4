"""The real Dagster webserver shows the analysis, seen through GraphQL and a real headless browser."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from ports import free_port
from servers import start_server, stop_server

from vexxy_pipelines.partitions import add_image_partition

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def webserver(analyzed_demo):
    port = free_port()
    log = tempfile.TemporaryFile()
    process = start_server(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        ROOT,
        os.environ.copy(),
        log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        stop_server(process, grace_seconds=0)
        log.seek(0)
        pytest.fail(f"dagster-webserver did not start: {log.read()[-2000:].decode(errors='replace')}")
    yield url
    stop_server(process)


def rendered(url: str, tmp_path: Path) -> str:
    """The DOM of `url` after Chromium has run the UI's JavaScript against the webserver."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is not installed (scripts/test installs it)"
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout


def test_graphql_lists_partition_metadata_and_checks(webserver, instance, demo_image):
    key = add_image_partition(instance, demo_image)
    query = """
    query ($key: String!) {
      assetOrError(assetKey: {path: ["vex_document"]}) {
        ... on Asset {
          assetMaterializations(partitions: [$key]) { partition metadataEntries { label } }
        }
      }
    }"""
    response = httpx.post(f"{webserver}/graphql", json={"query": query, "variables": {"key": key}}, timeout=60)
    body = response.json()
    assert "errors" not in body, body
    materializations = body["data"]["assetOrError"]["assetMaterializations"]
    assert materializations and materializations[0]["partition"] == key
    labels = {entry["label"] for entry in materializations[0]["metadataEntries"]}
    assert {"statements", "statements_table", "openvex_sha256", "vulnerability_db_version"} <= labels


def test_browser_shows_the_asset_its_metadata_and_partitions(webserver, instance, demo_image, tmp_path):
    key = add_image_partition(instance, demo_image)
    overview = rendered(f"{webserver}/assets/vex_document", tmp_path)
    assert "statements_table" in overview and "status_not_affected" in overview
    partitions = rendered(f"{webserver}/assets/vex_document?view=partitions", tmp_path)
    assert key in partitions
    selected = rendered(f"{webserver}/assets/vex_document?view=partitions&partition={quote(key, safe='')}", tmp_path)
    assert "CVE-2020-14343" in selected and "pkg:pypi/pyyaml@5.3.1" in selected
