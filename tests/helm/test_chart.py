"""helm/vexxy renders, lints and validates against Kubernetes' own schemas; bad values are refused."""

import os
from pathlib import Path

import helm_python
import kubernetes_validate
import pytest
import yaml
from fastapi.testclient import TestClient
from helm_python import Chart

from billing.pricing import TIERS
from vexxy_api.app import create_app
from vexxy_api.settings import ApiSettings

CHART = Path(__file__).resolve().parents[2] / "helm" / "vexxy"
DAGSTER_VALUES = CHART.parent / "dagster-values.yaml"
KUBERNETES_VERSION = "1.33.0"  # the oldest Kubernetes the chart is validated against

PRODUCTION = {
    "api": {
        "replicas": 3,
        "ingress": {"enabled": True, "className": "nginx", "host": "vexxy.example.org", "tlsSecretName": "vexxy-tls"},
        "env": {"VEXXY_JWT_ISSUER": "https://auth.example.org/"},
    },
    "zap": {"enabled": True},
    "secrets": {
        "database": {"name": "vexxy-db", "key": "url"},
        "jwt": {"name": "vexxy-jwt", "key": "key"},
        "stripe": {"name": "vexxy-stripe"},
        "analysisSecrets": {"name": "vexxy-analysis-secrets"},
    },
    "sandbox": {
        "namespace": "analysis",
        "imagePullSecretName": "customer-registry",
        "serviceAccounts": [{"name": "dagster", "namespace": "dagster"}, {"name": "vexxy-runs", "namespace": "dagster"}],
        "proberPodLabels": {"vexxy.dev/prober": "true"},
    },
}
MINIMAL = {
    "migration": {"enabled": False},
    "api": {
        "replicas": 1,
        "podDisruptionBudget": {"minAvailable": 0},
        "ingress": {"enabled": True, "registryNotifications": False},
    },
    "sandbox": {"createNamespace": False, "namespace": "sandbox", "kubescape": {"profileKinds": ["containerprofiles"]}},
}


def render(values: dict) -> list[dict]:
    rendered = Chart.load(str(CHART)).render(values, name="vexxy", namespace="vexxy")
    return [doc for text in rendered.values() for doc in yaml.safe_load_all(text) if doc]


def by_kind(manifests: list[dict], kind: str) -> list[dict]:
    return [m for m in manifests if m["kind"] == kind]


@pytest.mark.parametrize("values", [{}, PRODUCTION, MINIMAL], ids=["defaults", "production", "minimal"])
def test_every_rendered_manifest_is_valid_kubernetes(values):
    manifests = render(values)
    assert manifests
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_validator_refuses_what_kubernetes_would():
    (deployment,) = [d for d in render({}) if d["kind"] == "Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalaton"] = False
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("values", [{}, PRODUCTION, MINIMAL], ids=["defaults", "production", "minimal"])
def test_the_chart_lints_clean(values):
    result = helm_python.lint(str(CHART), values, strict=True, kube_version=KUBERNETES_VERSION)
    assert result["errors"] == []
    assert [m for m in result["messages"] if m["severity"] >= 2] == []


def test_defaults_render_the_api_the_migration_and_a_closed_sandbox_namespace():
    manifests = render({})
    kinds = sorted(m["kind"] for m in manifests)
    assert kinds == sorted(
        ["Deployment", "Service", "PodDisruptionBudget", "Job", "Namespace", "NetworkPolicy"] + ["Role", "RoleBinding"] * 2
    )
    (deny,) = by_kind(manifests, "NetworkPolicy")
    assert deny["metadata"]["namespace"] == "vexxy-sandbox"
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    (job,) = by_kind(manifests, "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["vexxy", "appdb", "upgrade"]


def test_rbac_reaches_only_the_sandbox_namespace():
    manifests = render(PRODUCTION)
    assert not by_kind(manifests, "ClusterRole") and not by_kind(manifests, "ClusterRoleBinding")
    roles = {r["metadata"]["namespace"]: r for r in by_kind(manifests, "Role")}
    assert set(roles) == {"analysis", "kubescape"}
    # In Kubescape's namespace: reading its node agent's configuration (the learning period), nothing else.
    assert roles["kubescape"]["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["node-agent"], "verbs": ["get"]}
    ]
    role = roles["analysis"]
    resources = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert resources == {
        ("", "pods"),
        ("", "services"),
        ("", "secrets"),
        ("", "pods/log"),
        ("networking.k8s.io", "networkpolicies"),
        ("spdx.softwarecomposition.kubescape.io", "applicationprofiles"),
        ("spdx.softwarecomposition.kubescape.io", "containerprofiles"),
    }
    kubescape_rule = next(r for r in role["rules"] if r["apiGroups"] == ["spdx.softwarecomposition.kubescape.io"])
    assert kubescape_rule["verbs"] == ["get", "list", "watch"]
    bindings = {b["metadata"]["namespace"]: b for b in by_kind(manifests, "RoleBinding")}
    assert set(bindings) == {"analysis", "kubescape"}
    for namespace, binding in bindings.items():
        assert binding["roleRef"]["name"] == roles[namespace]["metadata"]["name"]
        assert [s["name"] for s in binding["subjects"]] == ["dagster", "vexxy-runs"]
    # Without Kubescape's namespace nothing is granted there (the learning period is then only noted as unchecked).
    unread = render({"sandbox": {"kubescape": {"namespace": ""}}})
    assert {r["metadata"]["namespace"] for r in by_kind(unread, "Role") + by_kind(unread, "RoleBinding")} == {"vexxy-sandbox"}


def test_secrets_are_only_referenced_by_name():
    manifests = render(PRODUCTION)
    assert not by_kind(manifests, "Secret")
    for workload in by_kind(manifests, "Deployment") + by_kind(manifests, "Job"):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for variable in container.get("env", []):
                if variable["name"] in ("DATABASE_URL", "VEXXY_JWT_KEY", "STRIPE_API_KEY", "ZAP_API_KEY", "VEXXY_SECRETS_KEY"):
                    assert "value" not in variable and variable["valueFrom"]["secretKeyRef"]["name"]
    api = next(d for d in by_kind(manifests, "Deployment") if d["metadata"]["name"] == "vexxy-api")
    names = {v["name"]: v for v in api["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "VEXXY_REGISTRY_NOTIFICATION_SECRET" not in names  # each watched repository has its own inbox secret
    assert names["VEXXY_SECRETS_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "vexxy-analysis-secrets", "key": "secrets-key"}
    assert names["VEXXY_JWT_ISSUER"] == {"name": "VEXXY_JWT_ISSUER", "value": "https://auth.example.org/"}


def test_pods_are_hardened_probed_and_budgeted():
    manifests = render(PRODUCTION)
    for deployment in by_kind(manifests, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
            assert container["readinessProbe"] and container["livenessProbe"]
            assert container["resources"]["limits"]["memory"]
    budgets = {p["metadata"]["name"] for p in by_kind(manifests, "PodDisruptionBudget")}
    assert budgets == {"vexxy-api", "vexxy-zap"}
    (ingress,) = by_kind(manifests, "Ingress")
    paths = {p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    assert "/api/v1/registry/notifications" in paths and "/webhooks/stripe" in paths
    assert not paths & {"/healthz", "/readyz", "/metrics"}  # the cluster's, never routed from outside
    assert "/api/v1/registry/notifications" not in {
        p["path"] for rule in by_kind(render(MINIMAL), "Ingress")[0]["spec"]["rules"] for p in rule["http"]["paths"]
    }


@pytest.mark.parametrize(
    "values, where",
    [
        ({"api": {"replicas": "two"}}, "/api/replicas"),
        ({"sandbox": {"namespace": "Not_A_Namespace"}}, "/sandbox/namespace"),
        ({"secrets": {"database": {"name": "vexxy-db", "key": "url", "value": "postgresql://u:p@db/x"}}}, "/secrets/database"),
        ({"api": {"env": {"DATABASE_URL": "postgresql://u:p@db/x"}}}, "invalid propertyName 'DATABASE_URL'"),
        ({"zap": {"enabled": "yes"}}, "/zap/enabled"),
    ],
    ids=["replicas-not-a-number", "bad-namespace", "secret-value-in-values", "secret-as-plain-env", "bool-as-string"],
)
def test_a_wrong_value_is_refused_by_the_schema(values, where):
    with pytest.raises(helm_python.HelmValuesError) as refused:
        Chart.load(str(CHART)).render(values, name="vexxy", namespace="vexxy")
    assert where in str(refused.value)


def test_the_dagster_values_carry_the_launcher_monitoring_and_run_queue_limits():
    values = yaml.safe_load(DAGSTER_VALUES.read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runMonitoring"]["enabled"] is True
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "vexxy_pipelines.definitions"]
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert env["VEXXY_DEPLOYMENT"] == "production"
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    limits = {(entry["key"], entry["limit"]) for entry in queue["tagConcurrencyLimits"]}
    assert limits == {(f"vexxy/concurrency-{name}", tier.max_concurrency) for name, tier in TIERS.items()}
    assert all(entry["value"] == {"applyLimitPerUniqueValue": True} for entry in queue["tagConcurrencyLimits"])
    # Run and step pods are admitted by the sandbox NetworkPolicy as probers.
    chart_defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    labels = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]["podTemplateSpecMetadata"]["labels"]
    assert chart_defaults["sandbox"]["proberPodLabels"].items() <= labels.items()
    assert env["VEXXY_K8S_PROBER_LABELS"] == ",".join(f"{k}={v}" for k, v in labels.items())
    # The probers are Dagster's run and step pods and helm/vexxy's ZAP daemon: both namespaces are admitted, and
    # the ZAP pod carries the prober labels.
    prober_namespaces = set(env["VEXXY_K8S_PROBER_NAMESPACE"].split(","))
    zap_namespace = env["VEXXY_ZAP_URL"].removeprefix("http://").split(".")[1]
    assert prober_namespaces == {chart_defaults["sandbox"]["serviceAccounts"][0]["namespace"], zap_namespace}
    (zap,) = [d for d in by_kind(render({"zap": {"enabled": True}}), "Deployment") if d["metadata"]["name"] == "vexxy-zap"]
    assert labels.items() <= zap["spec"]["template"]["metadata"]["labels"].items()


def test_the_api_is_probed_on_its_health_endpoints():
    """Liveness asks whether the process answers (/healthz), readiness whether its database does (/readyz); both on
    the container's named port, which the API serves them on without authentication."""
    for values in ({}, PRODUCTION, MINIMAL):
        api = next(d for d in by_kind(render(values), "Deployment") if d["metadata"]["name"] == "vexxy-api")
        (container,) = api["spec"]["template"]["spec"]["containers"]
        assert [p["name"] for p in container["ports"]] == ["http"]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["readinessProbe"]["timeoutSeconds"] < container["readinessProbe"]["periodSeconds"]
    with TestClient(create_app(ApiSettings(database_url=os.environ["DATABASE_URL"]))) as api_client:
        assert api_client.get(container["livenessProbe"]["httpGet"]["path"]).status_code == 200
        assert api_client.get(container["readinessProbe"]["httpGet"]["path"]).status_code == 200
