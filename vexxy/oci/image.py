"""What vexxy knows about an image once its reference is resolved: digest, platform, config, layers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vexxy.errors import InvalidReference

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)


@dataclass(frozen=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = [p for p in (text or "").strip().split("/")]
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidReference(
                f"Platform {text!r} is malformed.", hint="Write it as os/architecture[/variant], e.g. linux/amd64."
            )
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def matches(self, other: dict[str, Any]) -> bool:
        if other.get("os") != self.os or other.get("architecture") != self.architecture:
            return False
        return self.variant is None or other.get("variant") in (None, self.variant)

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True)
class Layer:
    digest: str
    size: int
    media_type: str


@dataclass(frozen=True)
class ImageConfig:
    """The runtime configuration an image carries; the sandbox runs the image exactly as this says."""

    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    user: str = ""
    working_dir: str = ""
    exposed_ports: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config_blob(cls, blob: dict[str, Any]) -> ImageConfig:
        cfg = blob.get("config") or {}
        return cls(
            entrypoint=list(cfg.get("Entrypoint") or []),
            cmd=list(cfg.get("Cmd") or []),
            env=list(cfg.get("Env") or []),
            user=cfg.get("User") or "",
            working_dir=cfg.get("WorkingDir") or "",
            exposed_ports=sorted((cfg.get("ExposedPorts") or {}).keys()),
            labels=dict(cfg.get("Labels") or {}),
        )


@dataclass(frozen=True)
class ResolvedImage:
    """An image pinned to content: the platform manifest's digest plus everything needed to run it."""

    reference: str
    name: str
    manifest_digest: str
    media_type: str
    platform: Platform
    config_digest: str
    config: ImageConfig
    layers: list[Layer]
    index_digest: str | None = None
    created: str | None = None

    @property
    def canonical(self) -> str:
        return f"{self.name}@{self.manifest_digest}"

    @property
    def total_size(self) -> int:
        return sum(layer.size for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["platform"] = str(self.platform)
        data["canonical"] = self.canonical
        data["total_size"] = self.total_size
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResolvedImage:
        return cls(
            reference=data["reference"],
            name=data["name"],
            manifest_digest=data["manifest_digest"],
            media_type=data["media_type"],
            platform=Platform.parse(data["platform"]),
            config_digest=data["config_digest"],
            config=ImageConfig(**data["config"]),
            layers=[Layer(**layer) for layer in data["layers"]],
            index_digest=data.get("index_digest"),
            created=data.get("created"),
        )
