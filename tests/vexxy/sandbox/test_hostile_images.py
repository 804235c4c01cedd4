"""Bad and hostile images, each run for real: a clear result, no harm to the host, nothing left behind."""

import os
import socket
from pathlib import Path

import pytest
from host_leaks import assert_nothing_left, snapshot
from sandbox_images import device_entry, push, python_image, symlink_entry

from vexxy.oci.build import RuntimeConfig, directory_entry, file_entry
from vexxy.oci.layers.entries import UnsafeLayer
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.local.sandbox import LocalSandbox
from vexxy.sandbox.local.settings import SandboxSettings
from vexxy.sandbox.runtime_spec import Limits
from vexxy.sandbox.sweep import leftovers

pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox(tmp_path_factory, registry):
    root = tmp_path_factory.mktemp("sandbox")
    state, cache = root / "state", Path(os.environ["VEXXY_HOME"]) / "sandbox-cache"
    before = snapshot(state, cache)  # the registry already runs: it is the session's, not the test's
    settings = SandboxSettings(
        state_dir=state,
        cache_dir=cache,
        limits=Limits(memory_bytes=96 << 20, pids=64, writable_bytes=32 << 20),
        observation_seconds=6,
        quiet_seconds=3,
        readiness_timeout=5,
        max_restarts=1,
    )
    box = LocalSandbox(settings, RegistryClient())
    yield box
    assert leftovers(box.paths) == {k: [] for k in leftovers(box.paths)}, "the sandbox left something behind"
    assert_nothing_left(before, state, cache, "the sandbox")


def run(sandbox, image):
    with sandbox.session(image) as workload:
        profile = sandbox.observe(workload)
    assert all(not v for v in leftovers(sandbox.paths).values()), leftovers(sandbox.paths)
    return profile


def host_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def test_fork_bomb_hits_the_pids_limit(sandbox, registry):
    image = python_image(
        registry,
        "fork-bomb",
        "import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)\n",
    )
    profile = run(sandbox, image)
    assert profile.readiness.outcome == "ready"
    assert any("pids limit reached (64 processes)" in e for e in profile.resource_events)


def test_memory_hog_is_killed_and_the_profile_says_so(sandbox, registry):
    image = python_image(registry, "memory-hog", "blocks = []\nwhile True:\n    blocks.append(bytearray(16 << 20))\n")
    profile = run(sandbox, image)
    assert any("out of memory (limit 96 MiB)" in e for e in profile.resource_events)
    assert not profile.complete


def test_filling_the_writable_space_stops_at_its_limit(sandbox, registry):
    image = python_image(
        registry,
        "disk-filler",
        "import time\ntry:\n    with open('/tmp/fill', 'wb') as f:\n        while True:\n            f.write(b'x' "
        "* (1 << 20))\nexcept OSError as e:\n    print('stopped:', e, flush=True)\ntime.sleep(60)\n",
    )
    profile = run(sandbox, image)
    assert any("writable space full (32 MiB)" in e for e in profile.resource_events)
    assert "No space left on device" in profile.workload_log_tail


def test_outbound_connections_are_refused_and_recorded(sandbox, registry):
    host = host_address()
    code = (
        "import socket, time\n"
        f"for target in [('1.1.1.1', 443), ('8.8.8.8', 53), ('{host}', 22), ('{host}', 5432)]:\n"
        "    s = socket.socket(); s.settimeout(2)\n"
        "    try:\n        s.connect(target); print('CONNECTED', target, flush=True)\n"
        "    except OSError as e:\n        print('refused', target, e, flush=True)\n"
        "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n    u.sendto(b'q', ('9.9.9.9', 53))\nexcept OSError as e:\n    print('udp refused', e, flush=True)\n"
        "try:\n    socket.getaddrinfo('example.com', 443)\nexcept OSError as e:\n    print('dns failed', e, flush=True)\n"
        "time.sleep(60)\n"
    )
    profile = run(sandbox, python_image(registry, "reach-out", code))
    attempted = {(a["address"], a["protocol"], a["port"]) for a in profile.outbound_attempts}
    assert {
        ("1.1.1.1", "tcp", 443),
        ("8.8.8.8", "tcp", 53),
        ("9.9.9.9", "udp", 53),
        (host, "tcp", 22),
        (host, "tcp", 5432),
    } <= attempted
    assert "CONNECTED" not in profile.workload_log_tail
    assert profile.workload_log_tail.count("refused") >= 5 and "dns failed" in profile.workload_log_tail


def test_missing_entrypoint(sandbox, registry):
    image = push(registry, "no-entrypoint", RuntimeConfig(entrypoint=["/no/such/binary"]))
    profile = run(sandbox, image)
    assert profile.readiness.outcome == "crash_loop"
    assert "/no/such/binary" in profile.readiness.detail and "no such file" in profile.readiness.detail.lower()
    assert not profile.complete


def test_crash_at_once(sandbox, registry):
    profile = run(sandbox, python_image(registry, "crasher", "raise SystemExit(3)\n"))
    assert profile.readiness.outcome == "crash_loop" and profile.readiness.exit_code == 3
    assert profile.readiness.restarts == 1
    assert "never became ready" in profile.incomplete_reason


def test_never_ready(sandbox, registry):
    profile = run(sandbox, python_image(registry, "never-ready", "import time\ntime.sleep(600)\n", ports=["8080/tcp"]))
    assert profile.readiness.outcome == "timeout" and "TCP 8080" in profile.readiness.detail
    assert not profile.complete


def test_dotdot_path_in_a_layer_is_refused(sandbox, registry, tmp_path):
    image = push(
        registry,
        "dotdot",
        RuntimeConfig(entrypoint=["true"]),
        extra_entries=[file_entry("../../../../tmp/vexxy-dotdot-escape", "pwned")],
    )
    with pytest.raises(UnsafeLayer, match=r"climbs out of the root filesystem"):
        run(sandbox, image)
    assert not Path("/tmp/vexxy-dotdot-escape").exists()


def test_absolute_paths_stay_inside_the_root(sandbox, registry):
    marker = "/tmp/vexxy-absolute-path-test"
    image = push(
        registry,
        "absolute",
        RuntimeConfig(entrypoint=["python3", "-c", f"print(open('{marker}').read(), flush=True)"]),
        extra_entries=[file_entry(marker, "inside the image")],
    )
    profile = run(sandbox, image)
    assert not Path(marker).exists()
    assert "inside the image" in profile.workload_log_tail


def test_a_write_through_a_symlink_out_of_the_root_is_refused(sandbox, registry):
    """Following the link or replacing it would give two filesystems: the layer is refused, the host untouched."""
    host_target = Path("/tmp/vexxy-symlink-target")
    host_target.mkdir(exist_ok=True)
    for name, link in (("absolute", str(host_target)), ("relative", "../../../../../../tmp/vexxy-symlink-target")):
        image = push(
            registry,
            f"symlink-escape-{name}",
            RuntimeConfig(entrypoint=["true"]),
            extra_entries=[symlink_entry(f"escape-{name}", link), file_entry(f"escape-{name}/pwned-{name}", "x")],
        )
        with pytest.raises(UnsafeLayer, match=rf"beneath '/escape-{name}', which the same layer made a symbolic link"):
            run(sandbox, image)
    assert list(host_target.iterdir()) == []


def test_symlinks_out_of_the_root_resolve_inside_it(sandbox, registry):
    host_target = Path("/tmp/vexxy-symlink-target")
    host_target.mkdir(exist_ok=True)
    image = push(
        registry,
        "symlink-inside",
        RuntimeConfig(
            entrypoint=[
                "python3",
                "-c",
                "import os\n"
                "for link in ('/escape-absolute', '/escape-relative'):\n"
                "    open(os.path.join(link, 'pwned'), 'w').close()\n"
                "print(sorted(os.listdir('/tmp/vexxy-symlink-target')), flush=True)",
            ],
            user="0:0",
        ),
        extra_entries=[
            directory_entry("tmp/vexxy-symlink-target"),
            symlink_entry("escape-absolute", str(host_target)),
            symlink_entry("escape-relative", "../../../../../../tmp/vexxy-symlink-target"),
            device_entry("dev/sneaky-mem"),
        ],
    )
    with sandbox.session(image) as workload:
        notes = workload.unpack
        profile = sandbox.observe(workload)
    assert list(host_target.iterdir()) == []
    assert "['pwned']" in profile.workload_log_tail  # both links led to the image's own directory
    assert any("escape-relative" in link for link in notes.clamped_links)
    assert notes.skipped_devices == ["/dev/sneaky-mem"]
