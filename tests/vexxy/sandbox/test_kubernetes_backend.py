"""The Kubernetes sandbox backend through the real `kubernetes` client against an API stand-in.

The stand-in (tests/helpers/kube_api.py) speaks the Kubernetes REST wire format; a simulated
kubelet and Kubescape node agent (tests/helpers/kube_cluster.py) move the pod through its
phases and write the profile. The workload's TCP port is a loopback server at the Service's
cluster IP. Each scenario ends with the right profile or a clear reason, and every object the
backend created is gone afterwards.
"""

import json
import random
import socket
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from builders import resolved_image
from fake_zap import FakeZap, FakeZapState
from kube_api import KubeApiStandIn
from kube_cluster import Scenario, SimulatedNode, api_client, running, waiting
from loopback_http import QuietHandler

from vexxy.config.launches import launch_of
from vexxy.config.model import parse
from vexxy.fuzzing.drive import drive
from vexxy.imports.routes import registry_routes
from vexxy.oci.image import ResolvedImage
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.kube.backend import KubernetesSandbox, KubernetesSandboxError, KubeSettings
from vexxy.sandbox.kube.kubescape import KubescapeError
from vexxy.sandbox.kube.manifests import EXPIRES_ANNOTATION, INSTANCE_LABEL, MANAGED_BY, SANDBOX_LABEL, PodLimits
from vexxy.sandbox.workload import Workload
from vexxy_pipelines.resources.fuzzer import ZapResource

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kubescape"
LEARNING = yaml.safe_load((FIXTURES / "webapp-learning.yaml").read_text())
COMPLETED = yaml.safe_load((FIXTURES / "webapp-completed.yaml").read_text())
NAMESPACE = "vexxy-sandbox"


class Web(QuietHandler):
    def do_GET(self):
        body = b"<html><a href='/hello?name=x'>hello</a></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def cluster_ip():
    return f"127.{random.randint(1, 250)}.{random.randint(1, 250)}.{random.randint(1, 250)}"


@pytest.fixture
def workload_port(cluster_ip):
    """The 'workload': an HTTP server at the Service's cluster IP (what the TCP probe and the scanner reach)."""
    server = ThreadingHTTPServer((cluster_ip, 0), Web)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def node_agent_config(learning: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "node-agent"},
        "data": {
            "config.json": json.dumps(
                {"applicationProfileServiceEnabled": True, "initialDelay": "1s", "maxSniffingTimePerContainer": learning}
            )
        },
    }


@pytest.fixture
def stand_in(cluster_ip):
    server = KubeApiStandIn(cluster_ip=cluster_ip).start()
    server.put("configmaps", "kubescape", node_agent_config("2s"))
    yield server
    server.stop()


def image(port: int, user: str = "65534:65534") -> ResolvedImage:
    return resolved_image(
        "registry.example/team/webapp",
        digest="sha256:" + "ab" * 32,
        config_digest="sha256:" + "cd" * 32,
        layers=[],
        entrypoint=["python3", "/app/app.py"],
        user=user,
        working_dir="/app",
        exposed_ports=[f"{port}/tcp"],
    )


def settings(**overrides) -> KubeSettings:
    base = dict(
        namespace=NAMESPACE,
        instance="test",
        prober_labels={"vexxy.dev/prober": "true"},
        image_pull_secret="customer-registry",
        prober_namespaces=("dagster", "vexxy"),
        limits=PodLimits(memory_mb=128, cpu_millicores=500, writable_mb=32),
        observation_seconds=3,
        readiness_timeout=3,
        completion_grace=3,
        poll_seconds=0.2,
    )
    return KubeSettings(**{**base, **overrides})


def sandbox(stand_in, **overrides) -> KubernetesSandbox:
    return KubernetesSandbox(settings(**overrides), api_client(stand_in.url), RegistryClient(), read_routes=registry_routes)


def normal(ready_after=0.2) -> Scenario:
    return Scenario(
        [
            (0.1, lambda node, pod: node.patch_status(pod, {"status": {"phase": "Pending", "conditions": []}})),
            (ready_after, lambda node, pod: node.patch_status(pod, running(pod, True, node.pod_ip))),
            (0.1, lambda node, pod: node.write_profile(pod, "ready", "complete", LEARNING)),
            (1.2, lambda node, pod: node.write_profile(pod, "completed", "complete", COMPLETED)),
        ]
    )


def assert_nothing_left(stand_in):
    created = {kind for kind, _, _ in stand_in.created}
    assert {"pods", "services", "networkpolicies"} <= created
    # Profiles belong to Kubescape (the backend may only read them); everything else is gone.
    assert [key for key in stand_in.leftovers() if not key[0].endswith("profiles")] == []


def test_a_normal_analysis_yields_kubescapes_profile_and_leaves_nothing(stand_in, workload_port):
    backend = sandbox(stand_in)
    with SimulatedNode(stand_in.url, NAMESPACE, normal()) as node:
        with backend.session(image(workload_port)) as workload:
            assert isinstance(workload, Workload)
            assert workload.readiness.outcome == "ready", workload.readiness
            assert str(workload_port) in workload.readiness.detail
            profile = workload.observe()
    assert node.errors == []
    assert profile.complete, profile.incomplete_reason
    assert profile.backend == "kubernetes-kubescape"
    body = profile.to_dict()
    assert body["annotations"] == {"kubescape.io/completion": "complete", "kubescape.io/status": "completed"}
    opens = {o["path"]: o["flags"] for o in body["container"]["opens"]}
    assert opens["/usr/local/lib/python3.11/dist-packages/jinja2/__init__.py"] == ["O_CLOEXEC", "O_RDONLY"]
    assert len(opens) == 6  # the repeated path merged
    execs = {e["path"]: e["args"] for e in body["container"]["execs"]}
    assert execs["/usr/bin/python3.11"] == ["/usr/bin/python3.11", "/app/app.py"]
    assert "recvfrom" in body["container"]["syscalls"] and body["container"]["capabilities"] == ["NET_BIND_SERVICE"]
    assert body["container"]["endpoints"][0]["endpoint"] == ":8080/"
    assert_nothing_left(stand_in)


def test_the_pod_service_and_policy_are_locked_down_and_labelled(stand_in, workload_port):
    backend = sandbox(stand_in)
    with SimulatedNode(stand_in.url, NAMESPACE, normal()), backend.session(image(workload_port)) as workload:
        workload.observe()
    bodies = {kind: body for (kind, _, _), body in stand_in.bodies.items()}
    pod, service, policy = bodies["pods"], bodies["services"], bodies["networkpolicies"]
    for obj in (pod, service, policy):
        labels = obj["metadata"]["labels"]
        assert labels[MANAGED_BY] == "vexxy" and labels[INSTANCE_LABEL] == "test" and labels[SANDBOX_LABEL]
        assert float(obj["metadata"]["annotations"][EXPIRES_ANNOTATION]) > 0
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["imagePullSecrets"] == [{"name": "customer-registry"}]
    (container,) = spec["containers"]
    assert container["image"] == "registry.example/team/webapp@sha256:" + "ab" * 32
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]} and context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert context["runAsNonRoot"] is True and context["runAsUser"] == 65534
    assert container["resources"]["limits"] == {"cpu": "500m", "memory": "128Mi", "ephemeral-storage": "32Mi"}
    assert spec["volumes"] == [{"name": "writable", "emptyDir": {"sizeLimit": "32Mi"}}]
    assert container["readinessProbe"] == {"tcpSocket": {"port": workload_port}, "periodSeconds": 2, "failureThreshold": 1}
    assert policy["spec"]["egress"] == [] and policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    (ingress,) = policy["spec"]["ingress"]
    assert ingress["from"] == [
        {
            # Dagster's step pods and the ZAP daemon (helm/vexxy's namespace) scan the workload.
            "namespaceSelector": {
                "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["dagster", "vexxy"]}]
            },
            "podSelector": {"matchLabels": {"vexxy.dev/prober": "true"}},
        }
    ]
    assert ingress["ports"] == [{"protocol": "TCP", "port": workload_port}]
    # The policy exists before the pod: the workload is never reachable unfenced.
    order = [kind for kind, _, _ in stand_in.created]
    assert order.index("networkpolicies") < order.index("pods")


def test_an_image_running_as_root_gets_no_run_as_non_root(stand_in, workload_port):
    backend = sandbox(stand_in)
    with SimulatedNode(stand_in.url, NAMESPACE, normal()), backend.session(image(workload_port, user="")) as workload:
        workload.observe()
    pod = next(body for (kind, _, _), body in stand_in.bodies.items() if kind == "pods")
    assert "runAsNonRoot" not in pod["spec"]["containers"][0]["securityContext"]


def test_fuzzing_through_the_protocol_splits_idle_and_fuzzing_paths(stand_in, workload_port):
    zap = FakeZap(FakeZapState(scan_step=100))
    fuzzer = ZapResource(api_url=zap.url, api_key="zap-key", budget_seconds=4, idle_seconds=1)
    scenario = Scenario(
        [
            (0.1, lambda node, pod: node.patch_status(pod, running(pod, True, node.pod_ip))),
            (0.1, lambda node, pod: node.write_profile(pod, "ready", "complete", LEARNING)),
            (4.0, lambda node, pod: node.write_profile(pod, "completed", "complete", COMPLETED)),
        ]
    )
    reports = []
    backend = sandbox(stand_in, observation_seconds=6, completion_grace=4)
    try:
        with SimulatedNode(stand_in.url, NAMESPACE, scenario), backend.session(image(workload_port)) as workload:
            profile = workload.observe(
                lambda w: reports.append(drive(w, fuzzer.scan, fuzzer.idle_seconds, fuzzer.budget_seconds))
            )
    finally:
        zap.close()
    (report,) = reports
    assert report.status == "completed", report.reason
    assert report.targets == [f"http://{stand_in.cluster_ip}:{workload_port}/"]
    assert report.route_coverage.notes[0].startswith("first-party code not read for routes")  # no such image anywhere
    phases = profile.to_dict()["observations"]["opens"]
    assert phases["/app/app.py"]["phase"] == "idle"
    assert phases["/usr/local/lib/python3.11/dist-packages/jinja2/__init__.py"]["phase"] == "fuzzing"
    assert profile.complete
    assert_nothing_left(stand_in)


def test_a_partial_profile_is_kept_and_said_to_be_incomplete(stand_in, workload_port):
    scenario = Scenario(
        [
            (0.1, lambda node, pod: node.patch_status(pod, running(pod, True, node.pod_ip))),
            (0.3, lambda node, pod: node.write_profile(pod, "completed", "partial", COMPLETED)),
        ]
    )
    with SimulatedNode(stand_in.url, NAMESPACE, scenario), sandbox(stand_in).session(image(workload_port)) as workload:
        profile = workload.observe()
    assert not profile.complete
    assert "kubescape.io/completion: partial" in profile.incomplete_reason
    assert profile.to_dict()["annotations"]["kubescape.io/completion"] == "partial"
    assert len(profile.opens) == 6  # a degraded profile, never none
    assert_nothing_left(stand_in)


def test_a_profile_still_learning_at_the_end_names_the_kubescape_setting(stand_in, workload_port):
    scenario = Scenario(
        [
            (0.1, lambda node, pod: node.patch_status(pod, running(pod, True, node.pod_ip))),
            (0.2, lambda node, pod: node.write_profile(pod, "ready", "complete", LEARNING)),
        ]
    )
    backend = sandbox(stand_in, observation_seconds=2, completion_grace=1)
    with SimulatedNode(stand_in.url, NAMESPACE, scenario), backend.session(image(workload_port)) as workload:
        profile = workload.observe()
    assert not profile.complete
    assert "still learning" in profile.incomplete_reason and "nodeAgent.config.maxLearningPeriod" in profile.incomplete_reason
    assert [o.path for o in profile.opens] == sorted(o["path"] for o in LEARNING["opens"])
    assert_nothing_left(stand_in)


def test_a_pod_that_never_becomes_ready_times_out_and_is_removed(stand_in, workload_port):
    scenario = Scenario([(0.1, lambda node, pod: node.patch_status(pod, running(pod, False, node.pod_ip)))])
    with SimulatedNode(stand_in.url, NAMESPACE, scenario), sandbox(stand_in).session(image(workload_port)) as workload:
        assert workload.readiness.outcome == "timeout"
        assert "not ready within 3 s" in workload.readiness.detail and "not Ready" in workload.readiness.detail
        profile = workload.observe()
    assert not profile.complete and "never became ready (timeout" in profile.incomplete_reason
    assert profile.opens == [] and profile.observed_seconds == 0.0
    assert_nothing_left(stand_in)


def test_an_image_that_cannot_be_pulled_fails_to_start_with_the_registrys_message(stand_in, workload_port):
    message = 'Back-off pulling image "registry.example/team/webapp@sha256:abab": 401 Unauthorized'
    scenario = Scenario([(0.1, lambda node, pod: node.patch_status(pod, waiting(pod, "ImagePullBackOff", message)))])
    with SimulatedNode(stand_in.url, NAMESPACE, scenario), sandbox(stand_in).session(image(workload_port)) as workload:
        assert workload.readiness.outcome == "failed_to_start"
        assert "could not be pulled (ImagePullBackOff)" in workload.readiness.detail and "401" in workload.readiness.detail
        profile = workload.observe()
    assert not profile.complete and "failed_to_start" in profile.incomplete_reason
    assert_nothing_left(stand_in)


def test_a_crash_loop_killed_for_memory_is_reported_like_the_local_backend(stand_in, workload_port):
    oom = {"exitCode": 137, "reason": "OOMKilled"}
    scenario = Scenario(
        [(0.1, lambda node, pod: node.patch_status(pod, waiting(pod, "CrashLoopBackOff", "back-off", restarts=3, last=oom)))]
    )
    with SimulatedNode(stand_in.url, NAMESPACE, scenario), sandbox(stand_in).session(image(workload_port)) as workload:
        assert workload.readiness.outcome == "crash_loop"
        assert workload.readiness.exit_code == 137 and "OOMKilled" in workload.readiness.detail
        profile = workload.observe()
    assert profile.resource_events == ["out of memory (limit 128 MiB): the kernel killed a process"]
    assert not profile.complete
    assert_nothing_left(stand_in)


def test_kubescape_missing_is_a_clear_failure_before_anything_is_created(cluster_ip, workload_port):
    stand_in = KubeApiStandIn(cluster_ip=cluster_ip, kubescape=False).start()
    try:
        with pytest.raises(KubescapeError) as failure, sandbox(stand_in).session(image(workload_port)):
            pass
    finally:
        stand_in.stop()
    assert "Kubescape is not installed" in str(failure.value)
    assert "capabilities.runtimeObservability=enable" in failure.value.hint
    assert stand_in.created == []


def test_kubescape_served_but_no_node_agent_writing_profiles_is_an_incomplete_profile_that_says_so(stand_in, workload_port):
    """Kubescape's storage answers, but no node agent profiles the workload's node: no profile, a reason, nothing left."""
    scenario = Scenario([(0.1, lambda node, pod: node.patch_status(pod, running(pod, True, node.pod_ip)))])
    backend = sandbox(stand_in, observation_seconds=2, completion_grace=1)
    with SimulatedNode(stand_in.url, NAMESPACE, scenario), backend.session(image(workload_port)) as workload:
        assert workload.readiness.outcome == "ready", workload.readiness
        profile = workload.observe()
    assert not profile.complete and profile.opens == [] and profile.execs == []
    assert "Kubescape wrote no profile" in profile.incomplete_reason
    assert "capabilities.runtimeObservability=enable" in profile.incomplete_reason
    assert_nothing_left(stand_in)


def test_a_learning_period_longer_than_the_window_is_refused_naming_the_chart_setting(stand_in, workload_port):
    stand_in.put("configmaps", "kubescape", node_agent_config("24h"))
    with pytest.raises(KubescapeError) as failure, sandbox(stand_in).session(image(workload_port)):
        pass
    assert "86400 s, longer than the 3 s observation window" in str(failure.value)
    assert "--set nodeAgent.config.maxLearningPeriod=3s" in failure.value.hint
    assert [key for key in stand_in.created if key[0] != "configmaps"] == []


def test_readiness_survives_a_compacted_watch(stand_in, workload_port):
    def compact(node, pod):
        stand_in.put("configmaps", "other", {"metadata": {"name": "bump"}, "data": {}})
        stand_in.compact()

    scenario = Scenario(
        [
            (1.5, compact),  # after the backend's first watch timed out and it resumes from its old version
            (1.0, lambda node, pod: node.patch_status(pod, running(pod, True, node.pod_ip))),
            (0.1, lambda node, pod: node.write_profile(pod, "completed", "complete", COMPLETED)),
        ]
    )
    backend = sandbox(stand_in, readiness_timeout=6)
    with SimulatedNode(stand_in.url, NAMESPACE, scenario), backend.session(image(workload_port)) as workload:
        assert workload.readiness.outcome == "ready", workload.readiness
        profile = workload.observe()
    assert stand_in.expired_watches >= 1
    assert profile.complete
    assert_nothing_left(stand_in)


def test_a_session_sweeps_expired_objects_of_its_own_instance_only(stand_in, workload_port):
    specs = {
        "pods": {"containers": [{"name": "workload", "image": "registry.example/x@sha256:" + "ef" * 32}]},
        "services": {"ports": [{"port": 8080}]},
        "networkpolicies": {"podSelector": {}},
    }

    def leftover(kind: str, name: str, instance: str, expires: float) -> dict:
        return {
            "metadata": {
                "name": name,
                "labels": {MANAGED_BY: "vexxy", INSTANCE_LABEL: instance, SANDBOX_LABEL: name.removeprefix("vexxy-")},
                "annotations": {EXPIRES_ANNOTATION: str(int(expires))},
            },
            "spec": specs[kind],
        }

    for kind in specs:
        stand_in.put(kind, NAMESPACE, leftover(kind, "vexxy-dead", "test", 1000))
        stand_in.put(kind, NAMESPACE, leftover(kind, "vexxy-other", "another-instance", 1000))
        stand_in.put(kind, NAMESPACE, leftover(kind, "vexxy-young", "test", 4_000_000_000))
    logged = []
    with (
        SimulatedNode(stand_in.url, NAMESPACE, normal()),
        sandbox(stand_in).session(image(workload_port), log=logged.append) as w,
    ):
        w.observe()
    names = {name for _, _, name in stand_in.live() if name.startswith("vexxy-")}
    assert names == {"vexxy-other", "vexxy-young"}
    assert any("Removed 1 sandbox(es) left behind by killed runs: dead" in line for line in logged)


def test_the_image_names_a_user_by_name_so_non_root_cannot_be_enforced(stand_in, workload_port):
    with SimulatedNode(stand_in.url, NAMESPACE, normal()), sandbox(stand_in).session(image(workload_port, user="app")) as w:
        w.observe()
        assert any("runAsNonRoot cannot be enforced" in note for note in w.notes())


def test_unreadable_node_agent_configuration_is_noted_not_fatal(stand_in, workload_port):
    stand_in.objects.pop(("configmaps", "kubescape", "node-agent"))
    with SimulatedNode(stand_in.url, NAMESPACE, normal()), sandbox(stand_in).session(image(workload_port)) as workload:
        profile = workload.observe()
        assert any("could not be read (404)" in note for note in workload.notes())
    assert profile.complete


def test_a_ready_pod_whose_port_refuses_the_prober_is_not_ready(stand_in, cluster_ip):
    """Ready by the kubelet's probe but unreachable from here (a policy or the app): a timeout that says so."""
    with socket.socket() as probe:
        probe.bind((cluster_ip, 0))
        closed = probe.getsockname()[1]
    scenario = Scenario([(0.1, lambda node, pod: node.patch_status(pod, running(pod, True, node.pod_ip)))])
    with SimulatedNode(stand_in.url, NAMESPACE, scenario), sandbox(stand_in).session(image(closed)) as workload:
        assert workload.readiness.outcome == "timeout"
        assert "Ready but a port refused connections" in workload.readiness.detail
        workload.observe()
    assert_nothing_left(stand_in)


def test_container_profiles_are_read_when_that_is_the_kind_kubescape_writes(stand_in, workload_port):
    scenario = Scenario(
        [
            (0.1, lambda node, pod: node.patch_status(pod, running(pod, True, node.pod_ip))),
            (0.2, lambda node, pod: node.write_container_profile(pod, "completed", "complete", COMPLETED)),
        ]
    )
    backend = sandbox(stand_in, profile_kind="containerprofiles")
    with SimulatedNode(stand_in.url, NAMESPACE, scenario), backend.session(image(workload_port)) as workload:
        profile = workload.observe()
    assert profile.complete, profile.incomplete_reason
    assert "/usr/local/lib/python3.11/dist-packages/jinja2/__init__.py" in {o.path for o in profile.opens}
    assert_nothing_left(stand_in)


def test_a_roles_secret_values_reach_the_pod_through_a_secret_removed_with_it(stand_in, workload_port):
    """Whoever may read pods in the sandbox namespace (Kubernetes' `view` role) never sees a secret value."""
    role = parse({"env": {"MODE": "web"}, "secret_env": {"API_TOKEN": "s3cr3t-value"}}).effective_roles()[0]
    backend = sandbox(stand_in)
    with SimulatedNode(stand_in.url, NAMESPACE, normal()), backend.session(image(workload_port), launch=launch_of(role)) as w:
        w.observe()
    bodies = {kind: body for (kind, _, _), body in stand_in.bodies.items()}
    assert "s3cr3t-value" not in json.dumps([body for kind, body in bodies.items() if kind != "secrets"])
    assert bodies["secrets"]["stringData"] == {"API_TOKEN": "s3cr3t-value"}
    assert bodies["secrets"]["metadata"]["labels"][INSTANCE_LABEL] == "test"  # swept like the rest if a run is killed
    order = [kind for kind, _, _ in stand_in.created]
    assert order.index("secrets") < order.index("pods")
    assert_nothing_left(stand_in)


def test_a_secret_the_workload_logs_across_the_tail_cut_is_hidden_whole(stand_in, workload_port):
    """The whole log is read and redacted before its tail is kept: a tail the API cut could start inside the value."""
    secret = "s3cr3t-" + "9f8e7d6c5b4a3928"
    role = parse({"secret_env": {"API_TOKEN": secret}}).effective_roles()[0]
    log = "x" * 5000 + secret + "y" * (2000 - 10 - len("\nserving\n")) + "\nserving\n"  # the cut: 10 bytes into it
    scenario = normal()
    scenario.steps.insert(0, (0.05, lambda node, pod: stand_in.logs.update({(NAMESPACE, pod["metadata"]["name"]): log})))
    with (
        SimulatedNode(stand_in.url, NAMESPACE, scenario),
        sandbox(stand_in).session(image(workload_port), launch=launch_of(role)) as w,
    ):
        profile = w.observe()
    tail = profile.workload_log_tail
    assert tail.endswith("serving") and "x[secret]y" in tail
    assert not any(secret[i : i + 6] in json.dumps(profile.to_dict()) for i in range(len(secret) - 5))
    assert_nothing_left(stand_in)


def test_a_failed_delete_leaves_only_that_object_for_the_expiry_sweep(stand_in, workload_port):
    stand_in.failing_deletes["pods"] = 1
    with (
        pytest.raises(KubernetesSandboxError, match=r"delete the sandbox objects .*: 500"),
        SimulatedNode(stand_in.url, NAMESPACE, normal()),
        sandbox(stand_in).session(image(workload_port)) as workload,
    ):
        workload.observe()
    # The Service, the NetworkPolicy and the rest went although the pod's delete failed first.
    assert [kind for kind, _, _ in stand_in.leftovers() if not kind.endswith("profiles")] == ["pods"]
    (pod,) = [name for kind, _, name in stand_in.leftovers() if kind == "pods"]
    # Past its expiry, the next session's sweep removes it.
    expired = stand_in.objects[("pods", NAMESPACE, pod)]
    expired["metadata"]["annotations"][EXPIRES_ANNOTATION] = "1000"
    with SimulatedNode(stand_in.url, NAMESPACE, normal()), sandbox(stand_in).session(image(workload_port)) as workload:
        workload.observe()
    assert_nothing_left(stand_in)


def test_a_failed_delete_after_a_failed_analysis_reports_the_analysis_failure(stand_in, workload_port):
    stand_in.failing_deletes["services"] = 1
    logged = []
    with (
        pytest.raises(RuntimeError, match="the analysis's own failure"),
        SimulatedNode(stand_in.url, NAMESPACE, normal()),
        sandbox(stand_in).session(image(workload_port), log=logged.append),
    ):
        raise RuntimeError("the analysis's own failure")
    assert any("Could not delete every object of sandbox" in line and "500" in line for line in logged)
    assert [kind for kind, _, _ in stand_in.leftovers() if not kind.endswith("profiles")] == ["services"]


def test_a_roles_readiness_timeout_holds_for_its_own_session_only(stand_in, workload_port):
    role = parse({"readiness": {"kind": "tcp", "timeout_seconds": 9}}).effective_roles()[0]
    backend = sandbox(stand_in)
    with SimulatedNode(stand_in.url, NAMESPACE, normal()), backend.session(image(workload_port), launch=launch_of(role)) as w:
        assert w.settings.readiness_timeout == 9
        w.observe()
    assert backend.settings.readiness_timeout == 3  # the next analysis on this resource waits as configured
