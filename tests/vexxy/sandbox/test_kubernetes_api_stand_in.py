"""The API stand-in the Kubernetes backend's tests use answers the real `kubernetes` client as an API server does.

Those tests are only as good as the stand-in: here each verb the backend relies on goes through the real
client and gets the API server's answer (codes, reasons, resource versions, watch events).
"""

import threading

import pytest
from kube_api import KubeApiStandIn
from kube_cluster import api_client
from kubernetes import watch
from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException

NAMESPACE = "vexxy-sandbox"


@pytest.fixture
def core():
    server = KubeApiStandIn().start()
    api = api_client(server.url)
    yield CoreV1Api(api), server
    api.close()
    server.stop()


def pod(name: str, **labels: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "workload", "image": "registry.example/x@sha256:" + "ab" * 32}]},
    }


def test_create_get_delete_answer_with_the_api_servers_codes(core):
    api, _ = core
    created = api.create_namespaced_pod(NAMESPACE, pod("a"))
    assert created.metadata.uid and int(created.metadata.resource_version) > 0
    assert created.status.phase == "Pending"
    with pytest.raises(ApiException) as exists:
        api.create_namespaced_pod(NAMESPACE, pod("a"))
    assert exists.value.status == 409 and '"reason":"AlreadyExists"' in exists.value.body.replace(" ", "")
    with pytest.raises(ApiException) as missing:
        api.read_namespaced_pod("b", NAMESPACE)
    assert missing.value.status == 404
    api.delete_namespaced_pod("a", NAMESPACE)
    with pytest.raises(ApiException) as gone:
        api.delete_namespaced_pod("a", NAMESPACE)
    assert gone.value.status == 404


def test_lists_filter_by_labels_and_fields_and_carry_the_collections_version(core):
    api, _ = core
    api.create_namespaced_pod(NAMESPACE, pod("a", team="x"))
    api.create_namespaced_pod(NAMESPACE, pod("b", team="y"))
    api.create_namespaced_pod("elsewhere", pod("c", team="x"))
    listed = api.list_namespaced_pod(NAMESPACE, label_selector="team=x")
    assert [p.metadata.name for p in listed.items] == ["a"]
    assert [p.metadata.name for p in api.list_namespaced_pod(NAMESPACE, field_selector="metadata.name=b").items] == ["b"]
    assert int(listed.metadata.resource_version) >= 3


def test_the_status_subresource_changes_only_the_status_and_a_stale_replace_conflicts(core):
    api, _ = core
    created = api.create_namespaced_pod(NAMESPACE, pod("a", team="x"))
    patched = api.patch_namespaced_pod_status(
        "a", NAMESPACE, {"metadata": {"labels": {"team": "changed"}}, "status": {"phase": "Running"}}
    )
    assert patched.status.phase == "Running" and patched.metadata.labels == {"team": "x"}
    assert int(patched.metadata.resource_version) > int(created.metadata.resource_version)
    stale = api.api_client.sanitize_for_serialization(created)
    with pytest.raises(ApiException) as conflict:
        api.replace_namespaced_pod("a", NAMESPACE, stale)
    assert conflict.value.status == 409 and "Conflict" in conflict.value.body


def test_a_watch_resumes_from_a_resource_version_and_an_expired_one_is_410_gone(core):
    api, server = core
    version = api.create_namespaced_pod(NAMESPACE, pod("a")).metadata.resource_version
    api.patch_namespaced_pod_status("a", NAMESPACE, {"status": {"phase": "Running"}})
    api.create_namespaced_pod(NAMESPACE, pod("other"))

    def later() -> None:
        api.delete_namespaced_pod("a", NAMESPACE)

    timer = threading.Timer(0.3, later)
    timer.start()
    events = []
    for event in watch.Watch().stream(
        api.list_namespaced_pod, NAMESPACE, field_selector="metadata.name=a", resource_version=version, timeout_seconds=2
    ):
        events.append((event["type"], event["object"].status.phase))
        if event["type"] == "DELETED":
            break
    timer.join()
    # Only what happened after the version, only the selected object, in order: then a change made while watching.
    assert events == [("MODIFIED", "Running"), ("DELETED", "Running")]

    server.compact()
    with pytest.raises(ApiException) as expired:
        list(watch.Watch().stream(api.list_namespaced_pod, NAMESPACE, resource_version=version, timeout_seconds=1))
    assert expired.value.status == 410 and "Expired" in expired.value.reason
