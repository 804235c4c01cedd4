"""Build the demo image from real parts: a Debian minbase with python3, PyPI packages, an app.

The Debian layer takes about half a minute to bootstrap, so it is cached per suite in the cache
directory; the package and app layers are rebuilt each time (a few seconds) and deterministic.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from vexxy import settings
from vexxy.errors import VexxyError
from vexxy.oci.build import LayerBlob, RuntimeConfig, layer_from_directory, push_image
from vexxy.oci.image import Platform
from vexxy.oci.reference import ImageReference, parse_reference
from vexxy.oci.registry_client import RegistryClient

DEBIAN_SUITE = "bookworm"
SITE_PACKAGES = "usr/local/lib/python3.11/dist-packages"
APP_DIR = Path(__file__).parent / "app"

# Old releases with published advisories: Jinja2 is rendered by the app, PyYAML is never imported.
DEMO_PACKAGES = ("jinja2==2.11.2", "markupsafe==2.0.1", "pyyaml==5.3.1")


def cache_dir() -> Path:
    return settings.cache_dir()


def debian_python_layer(suite: str = DEBIAN_SUITE, *, log=print) -> LayerBlob:
    """A Debian `minbase` root filesystem with python3, bootstrapped once and cached."""
    cached = cache_dir() / "layers" / f"debian-{suite}-python3.tar.gz"
    layer = LayerBlob.load(cached)
    if layer:
        return layer
    if not shutil.which("debootstrap"):
        raise VexxyError(
            "debootstrap is not installed; it is needed to build the Debian base of the demo image.",
            hint="Install it with: apt-get install debootstrap (scripts/setup does this).",
        )
    log(f"Bootstrapping Debian {suite} with python3 (once; cached in {cached.parent}) ...")
    with tempfile.TemporaryDirectory(prefix="vexxy-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        command = ["debootstrap", "--variant=minbase", "--include=python3", suite, str(rootfs)]
        if settings.debian_mirror():
            command.append(settings.debian_mirror())
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise VexxyError(
                f"debootstrap of Debian {suite} failed (exit {result.returncode}): {result.stdout[-800:]}{result.stderr[-800:]}",
                hint="Check that the Debian package mirror is reachable (VEXXY_DEBIAN_MIRROR overrides it).",
            )
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (rootfs / leftover).glob("*"):
                if path.is_file():
                    path.unlink()
        layer = layer_from_directory(rootfs)
    layer.save(cached)
    return layer


def python_packages_layer(requirements: tuple[str, ...] | list[str], *, log=print) -> LayerBlob:
    """Real PyPI releases installed into the image's dist-packages, with their RECORD files."""
    with tempfile.TemporaryDirectory(prefix="vexxy-site-") as tmp:
        target = Path(tmp) / SITE_PACKAGES
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-compile",
            "--no-warn-script-location",
            "--target",
            str(target),
            *requirements,
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise VexxyError(
                f"Installing {', '.join(requirements)} for the image failed: {result.stderr[-1500:]}",
                hint="Check that the Python package index is reachable.",
            )
        # Byte-compile as the image's own path and with hash-checked .pyc files: reproducible layers.
        compiled = subprocess.run(
            [
                sys.executable,
                "-m",
                "compileall",
                "-q",
                "-d",
                f"/{SITE_PACKAGES}",
                "--invalidation-mode",
                "checked-hash",
                str(target),
            ],
            capture_output=True,
            text=True,
        )
        if compiled.returncode != 0:
            raise VexxyError(
                f"Byte-compiling the image's Python packages failed: {compiled.stdout[-800:]}{compiled.stderr[-800:]}"
            )
        log(f"Installed {', '.join(requirements)} into the image's {SITE_PACKAGES}")
        return layer_from_directory(Path(tmp))


def directory_layer(source: Path, destination: str) -> LayerBlob:
    """A layer holding `source`'s files under `destination` inside the image."""
    with tempfile.TemporaryDirectory(prefix="vexxy-app-") as tmp:
        shutil.copytree(source, Path(tmp) / destination.strip("/"), ignore=shutil.ignore_patterns("__pycache__"))
        return layer_from_directory(Path(tmp))


@dataclass(frozen=True)
class ImageRecipe:
    """What goes into a Python web-app image: PyPI packages, an app directory and how to run it."""

    repository: str
    tag: str
    packages: tuple[str, ...] = DEMO_PACKAGES
    app_dir: Path = APP_DIR
    runtime: RuntimeConfig = field(
        default_factory=lambda: RuntimeConfig(
            entrypoint=["python3", "/app/app.py"],
            env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PORT=8080"],
            user="65534:65534",
            working_dir="/app",
            exposed_ports=["8080/tcp"],
            labels={"org.opencontainers.image.title": "vexxy demo app"},
        )
    )


DEMO = ImageRecipe(repository="vexxy/demo", tag="1.0")


def build_layers(recipe: ImageRecipe, *, log=print) -> list[LayerBlob]:
    return [
        debian_python_layer(log=log),
        python_packages_layer(recipe.packages, log=log),
        directory_layer(recipe.app_dir, "/app"),
    ]


def build_and_push(
    recipe: ImageRecipe, registry: str, client: RegistryClient | None = None, *, platform: Platform = Platform(), log=print
) -> ImageReference:
    """Build `recipe` and push it to `registry`; returns the tag reference with its digest."""
    client = client or RegistryClient()
    layers = build_layers(recipe, log=log)
    ref = parse_reference(f"{registry}/{recipe.repository}:{recipe.tag}")
    digest, _ = push_image(client, ref, layers, recipe.runtime, platform=platform, tag=recipe.tag)
    log(f"Pushed {ref} ({digest})")
    return ref.with_digest(digest)
