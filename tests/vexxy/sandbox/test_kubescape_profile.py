"""Kubescape's profile objects read into vexxy's profile: shapes, statuses, durations, hostile content."""

import pytest

from vexxy.sandbox.kube.kubescape import (
    KubescapeError,
    check_learning_period,
    go_duration_seconds,
    incompleteness,
    learning_seconds,
    read_profile,
)


def obj(kind, spec, status="completed", completion="complete"):
    return {
        "apiVersion": "spdx.softwarecomposition.kubescape.io/v1beta1",
        "kind": kind,
        "metadata": {"name": "pod-x", "annotations": {"kubescape.io/status": status, "kubescape.io/completion": completion}},
        "spec": spec,
    }


def test_durations_are_read_the_way_go_writes_them():
    assert go_duration_seconds("24h") == 86400
    assert go_duration_seconds("1m30s") == 90
    assert go_duration_seconds("500ms") == 0.5
    assert go_duration_seconds("2h45m0s") == 9900
    for bad in ("10", "1d", "m5", "5 m"):
        with pytest.raises(ValueError):
            go_duration_seconds(bad)


def test_the_learning_period_comes_from_the_node_agents_config_map():
    assert learning_seconds({"config.json": '{"maxSniffingTimePerContainer": "2m"}'}) == 120
    assert learning_seconds({"config.json": "{}"}) is None
    assert learning_seconds({"config.json": "not json"}) is None
    assert learning_seconds({}) is None
    check_learning_period(60, 60)
    check_learning_period(None, 60)
    with pytest.raises(KubescapeError, match="120 s, longer than the 60 s"):
        check_learning_period(120, 60)


def test_an_application_profile_entry_is_found_by_container_name():
    spec = {
        "containers": [
            {"name": "sidecar", "opens": [{"path": "/sidecar", "flags": []}]},
            {
                "name": "workload",
                "execs": [{"path": "/bin/sh", "args": ["/bin/sh", "-c", "id"]}, {"path": "/bin/sh", "args": ["sh"]}],
                "opens": [{"path": "/etc/passwd", "flags": ["O_RDONLY"]}, {"path": "/etc/passwd", "flags": ["O_CLOEXEC"]}],
                "syscalls": ["read", "openat", "read"],
                "endpoints": [{"endpoint": ":80/", "methods": ["GET"], "headers": {"Cookie": ["secret"]}}],
            },
        ]
    }
    snapshot = read_profile(obj("ApplicationProfile", spec), "workload")
    assert [o["path"] for o in snapshot.opens] == ["/etc/passwd"]
    assert snapshot.opens[0]["flags"] == ["O_CLOEXEC", "O_RDONLY"]
    assert snapshot.execs == [{"path": "/bin/sh", "args": ["/bin/sh", "-c", "id"]}]
    assert snapshot.syscalls == ["openat", "read"]
    assert snapshot.endpoints == [{"endpoint": ":80/", "methods": ["GET"]}]  # request headers are not kept
    assert read_profile(obj("ApplicationProfile", spec), "missing") is None


def test_a_container_profile_is_one_container():
    spec = {"execs": [{"path": "/usr/bin/redis-server", "args": ["redis-server"]}], "opens": None}
    snapshot = read_profile(obj("ContainerProfile", spec, status="ready"), "workload")
    assert snapshot.execs[0]["path"] == "/usr/bin/redis-server" and snapshot.opens == []
    assert not snapshot.finished


def test_whatever_the_workload_wrote_is_kept_only_when_well_formed():
    spec = {
        "containers": [
            {
                "name": "workload",
                "execs": [{"path": 7}, "junk", {"path": "/bin/true", "args": ["x", 3, None]}],
                "opens": [{"path": ""}, {"path": "/a", "flags": "O_RDONLY"}, None],
                "syscalls": "read",
            }
        ]
    }
    snapshot = read_profile(obj("ApplicationProfile", spec), "workload")
    assert snapshot.execs == [{"path": "/bin/true", "args": ["x"]}]
    assert snapshot.opens == [{"path": "/a", "flags": []}]
    assert snapshot.syscalls == []


def test_incompleteness_reasons():
    complete = read_profile(obj("ContainerProfile", {"opens": [{"path": "/a"}]}), "w")
    assert incompleteness(complete, 30, 60) == ""
    partial = read_profile(obj("ContainerProfile", {}, completion="partial"), "w")
    assert "kubescape.io/completion: partial" in incompleteness(partial, 30, 60)
    learning = read_profile(obj("ContainerProfile", {}, status="learning"), "w")
    assert "nodeAgent.config.maxLearningPeriod" in incompleteness(learning, 90, 60)
    too_large = read_profile(obj("ContainerProfile", {}, status="too-large"), "w")
    assert "kubescape.io/status: too-large" in incompleteness(too_large, 30, 60)
    collapsed = read_profile(obj("ContainerProfile", {"opens": [{"path": "/usr/lib/python3/\u22ef"}]}), "w")
    assert "collapsed" in incompleteness(collapsed, 30, 60)
    assert "no profile" in incompleteness(None, 30, 60)
