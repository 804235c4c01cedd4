"""The OCI runtime spec (config.json) a sandboxed workload runs under.

It runs the image as the image says (entrypoint, cmd, env, user, working dir) with: resource
limits (memory, pids, CPU), no new privileges, a minimal capability set, a seccomp allow-list at least
as strict as Docker's default (see seccomp.py), masked and read-only kernel paths, its own PID,
IPC, UTS, mount, cgroup and network namespaces, a user namespace (container root is host uid
100000, see userns.py), and an empty resolv.conf (no DNS). /sys is an empty read-only tmpfs: sysfs
cannot be mounted from a user namespace that does not own the network namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vexxy.errors import VexxyError
from vexxy.oci.image import ImageConfig
from vexxy.sandbox import seccomp
from vexxy.sandbox.userns import ID_RANGE, ID_SHIFT

SANDBOX_ANNOTATION = "dev.vexxy.sandbox"

# Enough for ordinary services (bind low ports, drop to a user, own their files); nothing that
# administers the kernel, the network or other processes' memory.
CAPABILITIES = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_NET_BIND_SERVICE",
]

MASKED_PATHS = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 512 << 20
    pids: int = 256
    cpus: float = 1.0
    writable_bytes: int = 256 << 20
    open_files: int = 4096


def _lookup(rootfs: Path, table: str, name: str) -> tuple[int, int] | None:
    try:
        for line in (rootfs / "etc" / table).read_text(errors="replace").splitlines():
            fields = line.split(":")
            if len(fields) >= 4 and fields[0] == name:
                return int(fields[2]), int(fields[3] if table == "passwd" else fields[2])
    except (OSError, ValueError):
        return None
    return None


def resolve_user(rootfs: Path, user: str) -> tuple[int, int]:
    """`user`, `uid`, `user:group` or `uid:gid` as the image says, resolved against its /etc files."""
    if not user:
        return 0, 0
    name, _, group = user.partition(":")
    if name.isdigit():
        uid, gid = int(name), int(name)
        found = None
    else:
        found = _lookup(rootfs, "passwd", name)
        if found is None:
            raise VexxyError(
                f"The image's user {name!r} does not exist in its /etc/passwd.", hint="Fix the image's USER instruction."
            )
        uid, gid = found
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            group_found = _lookup(rootfs, "group", group)
            if group_found is None:
                raise VexxyError(
                    f"The image's group {group!r} does not exist in its /etc/group.", hint="Fix the image's USER instruction."
                )
            gid = group_found[0]
    return uid, gid


def process_args(config: ImageConfig) -> list[str]:
    args = list(config.entrypoint) + list(config.cmd)
    if not args:
        raise VexxyError(
            "The image has neither an entrypoint nor a command: there is nothing to run.",
            hint="Set ENTRYPOINT or CMD in the image.",
        )
    return args


def build_spec(
    *, sandbox_id: str, rootfs: Path, config: ImageConfig, netns_path: str, resolv_conf: Path, hosts: Path, limits: Limits
) -> dict:
    uid, gid = resolve_user(rootfs, config.user)
    env = list(config.env)
    if not any(e.startswith("PATH=") for e in env):
        env.append("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env.append("HOSTNAME=sandbox")
    period = 100_000
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": uid, "gid": gid},
            "args": process_args(config),
            "env": env,
            "cwd": config.working_dir or "/",
            "capabilities": {key: CAPABILITIES for key in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": limits.open_files, "soft": limits.open_files}],
            "noNewPrivileges": True,
        },
        "root": {"path": str(rootfs), "readonly": False},
        "hostname": "sandbox",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {
                "destination": "/dev",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            },
            {
                "destination": "/dev/pts",
                "type": "devpts",
                "source": "devpts",
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
            },
            {
                "destination": "/dev/shm",
                "type": "tmpfs",
                "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            },
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "tmpfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro", "size=0"]},
            {"destination": "/etc/resolv.conf", "type": "bind", "source": str(resolv_conf), "options": ["rbind", "ro"]},
            {"destination": "/etc/hosts", "type": "bind", "source": str(hosts), "options": ["rbind", "ro"]},
        ],
        "linux": {
            "resources": {
                "devices": [{"allow": False, "access": "rwm"}],
                "memory": {"limit": limits.memory_bytes},
                "pids": {"limit": limits.pids},
                "cpu": {"quota": int(limits.cpus * period), "period": period},
            },
            "cgroupsPath": f"/vexxy/{sandbox_id}",
            "namespaces": [
                {"type": "pid"},
                {"type": "ipc"},
                {"type": "uts"},
                {"type": "mount"},
                {"type": "user"},
                {"type": "cgroup"},  # the workload sees its own cgroup as /, not where the host keeps it
                {"type": "network", "path": netns_path},
            ],
            "uidMappings": [{"containerID": 0, "hostID": ID_SHIFT, "size": ID_RANGE}],
            "gidMappings": [{"containerID": 0, "hostID": ID_SHIFT, "size": ID_RANGE}],
            "maskedPaths": MASKED_PATHS,
            "readonlyPaths": READONLY_PATHS,
            "seccomp": seccomp.profile(CAPABILITIES),
        },
        "annotations": {SANDBOX_ANNOTATION: sandbox_id},
    }
