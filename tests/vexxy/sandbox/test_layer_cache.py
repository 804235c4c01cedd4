"""The layer cache under real sandboxes: bounded by its setting, shared, and never pulled from under a live run."""

import pytest
from sandbox_images import python_image

from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.local.sandbox import LocalSandbox
from vexxy.sandbox.local.settings import SandboxSettings
from vexxy.sandbox.runtime_spec import Limits
from vexxy.sandbox.sweep import leftovers

pytestmark = pytest.mark.slow


def sandbox(tmp_path, cache_bytes: int) -> LocalSandbox:
    settings = SandboxSettings(
        state_dir=tmp_path / "state",
        cache_dir=tmp_path / "cache",
        limits=Limits(memory_bytes=96 << 20, pids=32, writable_bytes=8 << 20),
        readiness_timeout=10,
        max_cache_bytes=cache_bytes,
    )
    return LocalSandbox(settings, RegistryClient())


def test_the_cache_stays_under_its_setting_while_analyses_run(registry, tmp_path):
    images = [
        python_image(registry, f"lru-{i}", f"import time\nprint('app {i}', flush=True)\ntime.sleep(60)\n") for i in range(3)
    ]
    first = sandbox(tmp_path, 1 << 40)
    with first.session(images[0]) as workload:
        assert workload.readiness.outcome == "ready"
    limit = first.images.layers.size()  # the base and one app layer: the cache holds one image
    base, app0 = first.images.diff_ids(images[0])
    bounded = sandbox(tmp_path, limit)
    layers = bounded.images.layers

    def cached() -> set[str]:
        return {f"sha256:{name}" for _, name, _ in layers.entries()}

    with bounded.session(images[1]) as one:
        _, app1 = bounded.images.diff_ids(images[1])
        assert layers.size() <= limit and cached() == {base, app1}  # the base is shared, app 0 made room
        with bounded.session(images[2]) as two:
            _, app2 = bounded.images.diff_ids(images[2])
            assert cached() == {base, app1, app2}  # over the setting only by layers live sandboxes use
            assert (one.rootfs / "app" / "main.py").read_text().startswith("import time")
            assert one.run.container.pid() is not None and two.run.container.pid() is not None
        assert layers.size() <= limit and cached() == {base, app1}
    assert layers.size() <= limit
    assert all(not v for v in leftovers(bounded.paths).values()), leftovers(bounded.paths)
