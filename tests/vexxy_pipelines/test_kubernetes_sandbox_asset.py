"""The `sandbox_session` asset on the Kubernetes backend: the same asset, a different resource.

Dagster materializes image -> sbom -> sandbox_session (then first_party_imports) for the demo image with the sandbox
resource that production gets, pointed at the Kubernetes API stand-in; a simulated node agent
reports Jinja2 loaded, the fake ZAP daemon's spider really fetches the workload's port.
"""

import random
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from dagster import materialize
from fake_zap import FakeZap, FakeZapState
from kube_api import KubeApiStandIn
from kube_cluster import Scenario, SimulatedNode, running
from loopback_http import QuietHandler

from vexxy_pipelines.assets.filtered_sbom import filtered_sbom
from vexxy_pipelines.assets.image import image
from vexxy_pipelines.assets.imports import first_party_imports
from vexxy_pipelines.assets.sandbox import sandbox_session
from vexxy_pipelines.assets.sbom import sbom
from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.partitions import add_image_partition
from vexxy_pipelines.resources.fuzzer import ZapResource
from vexxy_pipelines.resources.sandbox_kubernetes import KubernetesSandboxResource

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kubescape"
NAMESPACE = "vexxy-sandbox"


class Page(QuietHandler):
    def do_GET(self):
        body = b"<html><body>hello</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_the_sandbox_step_runs_on_the_kubernetes_backend(instance, demo_image):
    learning = yaml.safe_load((FIXTURES / "webapp-learning.yaml").read_text())
    completed = yaml.safe_load((FIXTURES / "webapp-completed.yaml").read_text())
    zap = FakeZap(FakeZapState(scan_step=100))

    def once_fuzzing_started(node, pod):
        """The files the scan makes the workload open reach the profile after the scan began, however slow the step is."""
        deadline = time.monotonic() + 120
        while not any(call.startswith(("spider/", "ascan/")) for call in zap.state.calls) and time.monotonic() < deadline:
            time.sleep(0.1)
        node.write_profile(pod, "completed", "complete", completed)

    scenario = Scenario(
        [
            (0.1, lambda node, pod: node.patch_status(pod, running(pod, True, node.pod_ip))),
            (0.1, lambda node, pod: node.write_profile(pod, "ready", "complete", learning)),
            (0.5, once_fuzzing_started),
        ]
    )
    cluster_ip = f"127.{random.randint(1, 250)}.{random.randint(1, 250)}.{random.randint(1, 250)}"
    app = ThreadingHTTPServer((cluster_ip, 8080), Page)  # the demo image exposes 8080/tcp
    app.daemon_threads = True
    threading.Thread(target=app.serve_forever, daemon=True).start()
    stand_in = KubeApiStandIn(cluster_ip=cluster_ip).start()
    key = add_image_partition(instance, demo_image)
    resources = {
        **resources_for("test"),
        "sandbox": KubernetesSandboxResource(
            api_url=stand_in.url,
            namespace=NAMESPACE,
            instance="test",
            observation_seconds=8,
            readiness_timeout_seconds=10,
            completion_grace_seconds=5,
        ),
        "fuzzer": ZapResource(api_url=zap.url, api_key="zap-key", idle_seconds=1, budget_seconds=4),
    }
    try:
        with SimulatedNode(stand_in.url, NAMESPACE, scenario) as node:
            result = materialize(
                [image, sbom, first_party_imports, sandbox_session, filtered_sbom],
                partition_key=key,
                instance=instance,
                resources=resources,
            )
        assert node.errors == []
        assert [k for k in stand_in.leftovers() if k[0] != "applicationprofiles"] == []
        assert {"pods", "services", "networkpolicies"} <= {kind for kind, _, _ in stand_in.created}
    finally:
        stand_in.stop()
        zap.close()
        app.shutdown()
        app.server_close()
    assert result.success
    by_key = {m.asset_key.to_user_string(): m.metadata for m in result.asset_materializations_for_node("sandbox_session")}
    profile = by_key["execution_profile"]
    assert profile["completion"].value == "complete"
    assert profile["readiness"].value.startswith("ready: Ready, TCP 8080 accepted connections")
    # Which packages those files belong to is decided downstream, from the profile and the SBOM.
    (packages,) = [m.metadata for m in result.asset_materializations_for_node("filtered_sbom")]
    assert packages["components_loaded"].value >= 1 and "pkg:pypi/jinja2" in packages["files_per_package"].value.lower()
    # The import analysis reads the image from the registry, not from a node: the same on this backend.
    imported = materialize([first_party_imports], partition_key=key, instance=instance, resources=resources)
    (imports,) = [m.metadata for m in imported.asset_materializations_for_node("first_party_imports")]
    assert imports["first_party_files"].value == 1 and imports["imports_checked"].value == "yes"
    assert "pkg:pypi/jinja2@2.11.2" in imports["imported"].value and "pyyaml" not in imports["imported"].value
    findings = by_key["fuzz_findings"]
    assert findings["status"].value == "completed" and findings["tool"].value.startswith("zap")
    assert findings["files_first_seen_while_fuzzing"].value >= 1
