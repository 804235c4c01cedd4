"""Container root is not host root: the workload runs in a user namespace, and the tracer still sees it all."""

import os
import time
from pathlib import Path

import pytest
from sandbox_images import python_image

from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.local.sandbox import LocalSandbox
from vexxy.sandbox.local.settings import SandboxSettings
from vexxy.sandbox.runtime_spec import Limits
from vexxy.sandbox.sweep import leftovers

pytestmark = pytest.mark.slow

WORKLOAD = """
import os, subprocess, time
print("uid", os.getuid(), "map", open("/proc/self/uid_map").read().split(), flush=True)
print("cgroups", sorted({line.split(":", 2)[2] for line in open("/proc/self/cgroup").read().split()}), flush=True)
with open("/tmp/made-by-root", "w") as handle:
    handle.write("x")
os.chown("/tmp/made-by-root", 1000, 1000)
open("/etc/os-release").read()
subprocess.run(["/bin/true"], check=True)
time.sleep(60)
"""


def test_uid_0_inside_is_an_unprivileged_host_uid_and_is_still_traced(registry, tmp_path):
    image = python_image(registry, "userns", WORKLOAD)
    settings = SandboxSettings(
        state_dir=tmp_path / "state",
        cache_dir=Path(os.environ["VEXXY_HOME"]) / "sandbox-cache",
        limits=Limits(memory_bytes=128 << 20, pids=32, writable_bytes=16 << 20),
        observation_seconds=8,
        quiet_seconds=3,
        readiness_timeout=10,
    )
    sandbox = LocalSandbox(settings, RegistryClient())
    with sandbox.session(image) as workload:
        run = workload.run
        pid = run.container.pid()
        assert pid is not None
        assert Path(f"/proc/{pid}/uid_map").read_text().split() == ["0", "100000", "65536"]
        assert Path(f"/proc/{pid}/gid_map").read_text().split() == ["0", "100000", "65536"]
        host_uid = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Uid:"))
        assert host_uid.split()[1:] == ["100000"] * 4  # real, effective, saved, filesystem: all unprivileged
        for kind in ("user", "cgroup", "pid", "mnt", "net"):
            assert os.readlink(f"/proc/{pid}/ns/{kind}") != os.readlink(f"/proc/self/ns/{kind}"), kind
        created = run.run_dir / "scratch" / "upper" / "tmp" / "made-by-root"
        deadline = time.monotonic() + 10
        while not created.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (created.stat().st_uid, created.stat().st_gid) == (101000, 101000)  # chown inside stays in the range
        profile = sandbox.observe(workload)
    assert "uid 0 map ['0', '100000', '65536']" in profile.workload_log_tail
    assert "cgroups ['/']" in profile.workload_log_tail.splitlines()  # its cgroups are its root: the host's paths are hidden
    opens = {o.path for o in profile.opens}
    execs = {e.path for e in profile.execs}
    assert {"/usr/lib/os-release", "/app/main.py"} <= opens  # /etc/os-release links there
    assert any(path.endswith("/true") for path in execs) and any("python3" in path for path in execs)
    assert all(not v for v in leftovers(sandbox.paths).values()), leftovers(sandbox.paths)
