"""A local Distribution registry (Debian's `docker-registry`) for the demo and the tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from vexxy.errors import VexxyError


@dataclass
class LocalRegistry:
    """One registry process serving plain HTTP on 127.0.0.1:`port`, storing blobs under `root`."""

    root: Path
    port: int = 5000
    htpasswd: Path | None = None
    extra_config: str = ""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.root / "registry.pid"

    def config_text(self) -> str:
        auth = f"auth:\n  htpasswd:\n    realm: vexxy-test\n    path: {self.htpasswd}\n" if self.htpasswd else ""
        return (
            "version: 0.1\n"
            "log:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.root / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.address}\n"
            f"{auth}{self.extra_config}"
        )

    def is_up(self) -> bool:
        try:
            return httpx.get(f"http://{self.address}/v2/", timeout=1).status_code in (200, 401)
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 20.0) -> LocalRegistry:
        """Start the registry in the background unless one already answers on the port."""
        if self.is_up():
            return self
        binary = shutil.which("docker-registry") or shutil.which("registry")
        if not binary:
            raise VexxyError(
                "The Distribution registry binary is not installed.",
                hint="Install it with: apt-get install docker-registry (scripts/setup does this).",
            )
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text(self.config_text())
        log = open(self.root / "registry.log", "ab")
        process = subprocess.Popen(
            [binary, "serve", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
        )
        self.pid_file.write_text(str(process.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise VexxyError(
                    f"The local registry exited at start (code {process.returncode}); see {self.root / 'registry.log'}."
                )
            if self.is_up():
                return self
            time.sleep(0.1)
        self.stop()
        raise VexxyError(f"The local registry did not answer on {self.address} within {timeout:.0f} s.")

    def stop(self) -> None:
        if not self.pid_file.exists():
            return
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                os.kill(pid, 0)
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
        finally:
            self.pid_file.unlink(missing_ok=True)
