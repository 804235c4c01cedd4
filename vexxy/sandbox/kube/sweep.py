"""Remove what killed runs left in the sandbox namespace: every object of this instance past its expiry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes.client import CoreV1Api, NetworkingV1Api
from kubernetes.client.exceptions import ApiException

from vexxy.sandbox.kube.manifests import EXPIRES_ANNOTATION, SANDBOX_LABEL, instance_selector


def _kinds(core: CoreV1Api, networking: NetworkingV1Api) -> list[tuple[Callable[..., Any], Callable[..., Any]]]:
    return [
        (core.list_namespaced_pod, core.delete_namespaced_pod),
        (core.list_namespaced_service, core.delete_namespaced_service),
        (networking.list_namespaced_network_policy, networking.delete_namespaced_network_policy),
        (core.list_namespaced_secret, core.delete_namespaced_secret),
    ]


def delete_quietly(delete: Callable[..., Any], name: str, namespace: str) -> None:
    try:
        delete(name, namespace, grace_period_seconds=0, propagation_policy="Background")
    except ApiException as exc:
        if exc.status != 404:
            raise


def sweep(core: CoreV1Api, networking: NetworkingV1Api, namespace: str, instance: str, now: float) -> list[str]:
    """Delete this instance's sandbox objects whose expiry passed; the swept sandbox ids."""
    swept: set[str] = set()
    failures: list[ApiException] = []
    for list_kind, delete in _kinds(core, networking):
        for item in list_kind(namespace, label_selector=instance_selector(instance)).items:
            annotations = item.metadata.annotations or {}
            try:
                expires = float(annotations.get(EXPIRES_ANNOTATION, "inf"))
            except ValueError:
                expires = 0.0  # an unreadable expiry is no reason to keep an object forever
            if expires < now:
                try:
                    delete_quietly(delete, item.metadata.name, namespace)
                except ApiException as exc:
                    failures.append(exc)  # the next sweep retries it; the other leftovers go now
                    continue
                swept.add((item.metadata.labels or {}).get(SANDBOX_LABEL, item.metadata.name))
    if failures:
        raise failures[0]
    return sorted(swept)


def delete_sandbox(core: CoreV1Api, networking: NetworkingV1Api, namespace: str, name: str) -> None:
    """The pod first (it stops the workload), then its Service, the policy that fenced it and its secret values.

    Every kind is attempted even when one delete fails (the API server answers 5xx, a webhook refuses), so one
    failure leaves one object for the expiry sweep rather than everything after it; the first failure is raised.
    """
    failures: list[ApiException] = []
    for _, delete in _kinds(core, networking):
        try:
            delete_quietly(delete, name, namespace)
        except ApiException as exc:
            failures.append(exc)
    if failures:
        raise failures[0]
