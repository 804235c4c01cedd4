"""A role's secret values in a real runc sandbox: the files holding them are owner-only from the start and gone
after teardown, and a value the workload logs across the log-tail cut reaches no report, not even in part."""

import json
import os
import stat
import uuid
from pathlib import Path

import pytest
from sandbox_images import python_image

from vexxy.config.launches import launch_of
from vexxy.config.model import parse
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.launch import Launch
from vexxy.sandbox.local.sandbox import LocalSandbox
from vexxy.sandbox.local.settings import SandboxSettings
from vexxy.sandbox.log_tail import TAIL_BYTES
from vexxy.sandbox.runtime_spec import Limits
from vexxy.sandbox.sweep import leftovers

pytestmark = pytest.mark.slow

# The secret ends 20 bytes into the kept tail (cutting first kept those 20 bytes), and the last line names it.
WORKLOAD = """
import os, sys, time
secret = os.environ["API_TOKEN"]
last = "fatal: the API refused token " + secret + "\\n"
filler = "y" * (int(os.environ["TAIL_BYTES"]) - 20 - len(last) - 1) + "\\n"
sys.stdout.write("x" * 3000 + secret + filler + last)
sys.stdout.flush()
if os.environ["MODE"] == "crash":
    sys.exit(1)
time.sleep(60)
"""


@pytest.fixture(scope="module")
def image(registry):
    return python_image(registry, "logs-its-secret", WORKLOAD)


@pytest.fixture
def secret():
    return f"tok-{uuid.uuid4().hex}"


@pytest.fixture
def sandbox(tmp_path):
    settings = SandboxSettings(
        state_dir=tmp_path / "state",
        cache_dir=Path(os.environ["VEXXY_HOME"]) / "sandbox-cache",
        limits=Limits(memory_bytes=128 << 20, pids=32, writable_bytes=16 << 20),
        observation_seconds=6,
        quiet_seconds=2,
        readiness_timeout=10,
        max_restarts=1,
    )
    box = LocalSandbox(settings, RegistryClient())
    yield box
    assert all(not found for found in leftovers(box.paths).values()), leftovers(box.paths)


def launch(secret: str, mode: str) -> Launch:
    config = {
        "env": {"MODE": mode, "TAIL_BYTES": str(TAIL_BYTES)},
        "secret_env": {"API_TOKEN": secret},
        "readiness": {"kind": "alive"},
    }
    return launch_of(parse(config).effective_roles()[0])


def leaked(text: str, secret: str) -> list[str]:
    """Every 6-character piece of the secret found in `text` (its random part is 32 hex digits)."""
    return [secret[i : i + 6] for i in range(len(secret) - 5) if secret[i : i + 6] in text]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def files_holding(root: Path, secret: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and not p.is_symlink() and secret.encode() in p.read_bytes()]


def test_the_run_directory_is_owner_only_while_it_runs_and_gone_after(sandbox, image, secret):
    state = sandbox.paths.root
    with sandbox.session(image, launch=launch(secret, "serve")) as workload:
        run_dir = workload.run.run_dir
        config, log = run_dir / "bundle" / "config.json", run_dir / "workload.log"
        assert f"API_TOKEN={secret}" in json.loads(config.read_text())["process"]["env"]  # the file that matters
        assert secret in log.read_text()  # the workload's own output, as written
        assert (mode(sandbox.paths.runs), mode(run_dir), mode(run_dir / "bundle")) == (0o700, 0o700, 0o700)
        assert (mode(config), mode(log)) == (0o600, 0o600)
        assert mode(sandbox.paths.runc_root) == 0o700  # runc keeps the config in its state there too
        assert (config.stat().st_uid, log.stat().st_uid, run_dir.stat().st_uid) == (0, 0, 0)
        assert workload.readiness.outcome == "ready", workload.readiness  # runc still reads its bind mounts
        profile = sandbox.observe(workload)
    assert not run_dir.exists()
    assert files_holding(state, secret) == []
    assert profile.workload_log_tail.endswith("fatal: the API refused token [secret]")
    assert leaked(json.dumps(profile.to_dict()), secret) == []


def test_a_secret_straddling_the_cut_reaches_neither_the_tail_nor_the_failure(sandbox, image, secret):
    with sandbox.session(image, launch=launch(secret, "crash")) as workload:
        profile = sandbox.observe(workload)
    assert profile.readiness.outcome == "crash_loop"
    assert profile.readiness.detail.endswith("fatal: the API refused token [secret]")  # the log's last line
    assert not profile.complete and "[secret]" in profile.incomplete_reason
    tail = profile.workload_log_tail
    assert len(tail.encode()) <= TAIL_BYTES and "x[secret]yyy" in tail  # the one across the cut: hidden whole, then cut
    assert leaked(json.dumps(profile.to_dict()), secret) == []
    assert files_holding(sandbox.paths.root, secret) == []
