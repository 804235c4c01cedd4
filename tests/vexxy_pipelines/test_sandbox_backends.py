"""Which sandbox backend a deployment gets is decided in environment.py, by deployment or one setting."""

import pytest

from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.resources.sandbox import LocalSandboxResource
from vexxy_pipelines.resources.sandbox_kubernetes import KubernetesSandboxResource, parse_labels, parse_namespaces


def test_production_gets_the_kubernetes_backend_and_local_the_runc_one(monkeypatch):
    monkeypatch.delenv("VEXXY_SANDBOX_BACKEND", raising=False)
    monkeypatch.delenv("VEXXY_K8S_SANDBOX_NAMESPACE", raising=False)
    production = resources_for("production")["sandbox"]
    assert isinstance(production, KubernetesSandboxResource)
    assert production.settings().namespace == "vexxy-sandbox"
    assert isinstance(resources_for("local")["sandbox"], LocalSandboxResource)


def test_one_setting_selects_the_backend(monkeypatch):
    monkeypatch.setenv("VEXXY_SANDBOX_BACKEND", "kubernetes")
    assert isinstance(resources_for("local")["sandbox"], KubernetesSandboxResource)
    monkeypatch.setenv("VEXXY_SANDBOX_BACKEND", "local")
    assert isinstance(resources_for("production")["sandbox"], LocalSandboxResource)
    monkeypatch.setenv("VEXXY_SANDBOX_BACKEND", "docker")
    with pytest.raises(ValueError, match="VEXXY_SANDBOX_BACKEND='docker' is not one of local, kubernetes"):
        resources_for("local")


def test_prober_labels_are_parsed_strictly():
    assert parse_labels("vexxy.dev/prober=true, team=sec") == {"vexxy.dev/prober": "true", "team": "sec"}
    with pytest.raises(ValueError, match="not key=value"):
        parse_labels("vexxy.dev/prober")


def test_prober_namespaces_are_a_list_of_namespace_names():
    assert parse_namespaces("vexxy, dagster,dagster") == ("dagster", "vexxy")
    assert parse_namespaces("") == ()
    assert KubernetesSandboxResource(prober_namespace="dagster,vexxy").settings().prober_namespaces == ("dagster", "vexxy")
    with pytest.raises(ValueError, match="'Dagster' is not a Kubernetes namespace name"):
        parse_namespaces("Dagster")
