"""The seccomp profile refuses at least what Docker's default refuses, checked from inside a real sandbox."""

import os
import platform
import subprocess
from pathlib import Path

import pytest

from vexxy.oci.build import RuntimeConfig, file_entry, layer_from_entries, push_image
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox import seccomp
from vexxy.sandbox.local.sandbox import LocalSandbox
from vexxy.sandbox.local.settings import SandboxSettings
from vexxy.sandbox.runtime_spec import CAPABILITIES
from vexxy.sandbox.sweep import leftovers

PROBE_SOURCE = Path(__file__).resolve().parents[2] / "helpers" / "seccomp_probe.c"
EPERM, ENOSYS = 1, 38
NAMESPACES = ["NEWNS", "NEWUTS", "NEWIPC", "NEWUSER", "NEWPID", "NEWNET", "NEWCGROUP"]
REFUSED = {
    **{f"clone:{ns}": EPERM for ns in NAMESPACES},
    **{f"unshare:{ns}": EPERM for ns in [*NAMESPACES, "NEWTIME"]},
    "clone3": ENOSYS,
    **dict.fromkeys(
        "setns io_uring_setup io_uring_enter io_uring_register add_key keyctl request_key bpf perf_event_open "
        "userfaultfd personality:ADDR_NO_RANDOMIZE personality:READ_IMPLIES_EXEC personality:PER_BSD mount umount2 "
        "pivot_root open_tree move_mount fsopen fsconfig fsmount fspick mount_setattr chroot ptrace process_vm_readv "
        "process_vm_writev kcmp init_module finit_module delete_module kexec_file_load reboot swapoff acct "
        "sethostname setdomainname syslog settimeofday clock_settime fanotify_init name_to_handle_at "
        "open_by_handle_at quotactl mbind set_mempolicy move_pages vhangup socket:AF_VSOCK".split(),
        EPERM,
    ),
    **({"iopl": EPERM, "ioperm": EPERM} if platform.machine() == "x86_64" else {}),
}
ORDINARY = [
    "fork",
    "execve",
    "clone:plain",
    "pthread_create",
    "socket:inet",
    "socket:unix",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "personality:query",
    "personality:PER_LINUX",
]


def test_capability_groups_resolve_against_the_granted_capabilities():
    """None of the sandbox's capabilities unlocks a Docker capability group; CAP_SYS_ADMIN would."""
    allowed = set(seccomp.allowed_syscalls(CAPABILITIES))
    for group in seccomp.CAPABILITY_GROUPS.values():
        assert not allowed & set(group)
    with_admin = set(seccomp.allowed_syscalls([*CAPABILITIES, "CAP_SYS_ADMIN"]))
    assert {"mount", "unshare", "clone"} <= with_admin
    assert not {"io_uring_setup", "keyctl", "userfaultfd", "ptrace"} & with_admin  # never, whatever is granted


def test_profile_filters_clone_personality_and_socket_by_argument():
    profile = seccomp.profile(CAPABILITIES, "x86_64")
    assert (profile["defaultAction"], profile["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", EPERM)
    rules = {
        name: [r for r in profile["syscalls"] if name in r["names"]] for name in ("clone", "clone3", "personality", "socket")
    }
    (clone,) = rules["clone"]
    assert clone["args"] == [{"index": 0, "value": 0x7E020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]
    assert rules["clone3"] == [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS}]
    assert sorted(r["args"][0]["value"] for r in rules["personality"]) == [0, 8, 0x20000, 0x20008, 0xFFFFFFFF]
    assert rules["socket"][0]["args"] == [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]
    unconditional = set(profile["syscalls"][0]["names"])
    assert not {name.split(":")[0] for name in REFUSED} & unconditional
    assert {"arch_prctl", "epoll_wait", "execve", "fork", "openat", "rseq"} <= unconditional


@pytest.fixture(scope="module")
def probe_image(registry, tmp_path_factory):
    """An image holding only the probe, compiled static from tests/helpers/seccomp_probe.c."""
    binary = tmp_path_factory.mktemp("probe") / "probe"
    subprocess.run(["gcc", "-static", "-O1", "-o", str(binary), str(PROBE_SOURCE)], check=True)
    layer = layer_from_entries([file_entry("probe", binary.read_bytes(), 0o755)])
    client = RegistryClient()
    ref = parse_reference(f"{registry.address}/hostile/seccomp-probe:1")
    digest, _ = push_image(client, ref, [layer], RuntimeConfig(entrypoint=["/probe"]), tag="1")
    return client.resolve(ref.with_digest(digest))


@pytest.mark.slow
def test_probe_inside_the_sandbox(probe_image, tmp_path):
    settings = SandboxSettings(
        state_dir=tmp_path / "state",
        cache_dir=Path(os.environ["VEXXY_HOME"]) / "sandbox-cache",
        observation_seconds=5,
        quiet_seconds=2,
        readiness_timeout=10,
        max_restarts=0,
    )
    sandbox = LocalSandbox(settings, RegistryClient())
    with sandbox.session(probe_image) as workload:
        profile = sandbox.observe(workload)
    assert all(not found for found in leftovers(sandbox.paths).values()), leftovers(sandbox.paths)
    log = profile.workload_log_tail
    assert profile.readiness.outcome == "exited" and log.endswith("--- done"), log
    results = {}
    for line in log.splitlines():
        name, _, value = line.partition(" ")
        if value.lstrip("-").isdigit():
            results[name] = int(value)
    assert {name: results.get(name) for name in REFUSED} == REFUSED
    assert {name: results.get(name) for name in ORDINARY} == dict.fromkeys(ORDINARY, 0)
    assert "Seccomp:\t2" in log  # filter mode
