"""The same evidence through the local runc backend and the Kubernetes backend gives the same VEX.

The demo image really runs in the local sandbox; what the tracer saw is then what the simulated
Kubescape node agent reports for the pod the Kubernetes backend creates through the API
stand-in. Both runs go through their `SandboxResource`, so the image's symlinks come from the
unpacked root filesystem in one case and from the registry's layer headers in the other.
"""

import os
import random
import threading
from http.server import ThreadingHTTPServer

import pytest
from kube_api import KubeApiStandIn
from kube_cluster import Scenario, SimulatedNode, running
from loopback_http import QuietHandler

from vexxy import settings
from vexxy.evidence.mapping import ProfileEvidence, map_profile
from vexxy.imports.registry_layers import read_image_files
from vexxy.matching.database import AdvisoryDatabase
from vexxy.matching.matcher import match_components
from vexxy.oci.registry_client import RegistryClient
from vexxy.osv.loader import load_advisories
from vexxy.sbom.components import components_from_syft
from vexxy.vex.statements import build_statements
from vexxy_pipelines.resources.registry import RegistryResource
from vexxy_pipelines.resources.sandbox import LocalSandboxResource
from vexxy_pipelines.resources.sandbox_kubernetes import KubernetesSandboxResource

pytestmark = pytest.mark.slow
NAMESPACE = "vexxy-sandbox"


def statements(components, matches, run, image_code):
    usage = map_profile(components, run.profile, run.symlinks, image_code)
    return sorted(
        (s.vulnerability, s.component_purl, s.status.value, s.justification or "", s.confidence)
        for s in build_statements(matches, ProfileEvidence(usage))
    )


def test_the_same_evidence_through_both_backends_gives_the_same_vex(demo_image, demo_syft_json, tmp_path):
    resolved = RegistryClient().resolve(demo_image)
    registry = RegistryResource(allowed_registries=demo_image.registry)  # the loopback registry, as the deployment allows it
    local = LocalSandboxResource(
        state_dir=str(tmp_path / "state"),
        cache_dir=str(os.path.join(os.environ["VEXXY_HOME"], "sandbox-cache")),
        observation_seconds=15,
        quiet_seconds=3,
    ).run(resolved, registry, log=lambda message: None)
    assert local.profile["complete"], local.profile["incomplete_reason"]

    seen = local.profile["container"]
    entry = {
        "name": "workload",
        "execs": seen["execs"],
        "opens": [{"path": o["path"], "flags": ["O_RDONLY"]} for o in seen["opens"]],
        "syscalls": ["openat", "read"],
        "capabilities": [],
        "endpoints": None,
    }
    scenario = Scenario(
        [
            (0.1, lambda node, pod: node.patch_status(pod, running(pod, True, node.pod_ip))),
            (0.2, lambda node, pod: node.write_profile(pod, "completed", "complete", entry)),
        ]
    )
    cluster_ip = f"127.{random.randint(1, 250)}.{random.randint(1, 250)}.{random.randint(1, 250)}"
    app = ThreadingHTTPServer((cluster_ip, 8080), QuietHandler)  # the demo image exposes 8080/tcp
    threading.Thread(target=app.serve_forever, daemon=True).start()
    stand_in = KubeApiStandIn(cluster_ip=cluster_ip).start()
    try:
        with SimulatedNode(stand_in.url, NAMESPACE, scenario) as node:
            kubernetes = KubernetesSandboxResource(
                api_url=stand_in.url,
                namespace=NAMESPACE,
                instance="test",
                observation_seconds=3,
                readiness_timeout_seconds=5,
                completion_grace_seconds=3,
            ).run(resolved, registry, log=lambda message: None)
        assert node.errors == []
        assert [key for key in stand_in.leftovers() if key[0] != "applicationprofiles"] == []
    finally:
        stand_in.stop()
        app.shutdown()
        app.server_close()
    assert kubernetes.profile["complete"], kubernetes.profile["incomplete_reason"]
    assert kubernetes.profile["backend"] == "kubernetes-kubescape" and local.profile["backend"] == "local-runc"
    # The links read from the layers' tar headers are the links of the unpacked root filesystem.
    assert kubernetes.symlinks == local.symlinks

    components = components_from_syft(demo_syft_json)
    matches = match_components(components, AdvisoryDatabase(load_advisories(str(settings.BUNDLED_OSV)).advisories)).matches
    image_code = read_image_files(RegistryClient(), resolved).code_identities()  # as first_party_imports reads it
    local_vex = statements(components, matches, local, image_code)
    kubernetes_vex = statements(components, matches, kubernetes, image_code)
    assert local_vex == kubernetes_vex
    assert {status for _, _, status, _, _ in local_vex} == {"affected", "not_affected"}
