"""How a backend starts one role of the image, and those overrides applied to the image's own runtime config
(the same way for every backend)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from vexxy.oci.image import ImageConfig, ResolvedImage

DEFAULT_ROLE = "main"  # the one role of an analysis that names none


@dataclass(frozen=True)
class ReadinessProbe:
    """A role's readiness probe as a backend applies it."""

    kind: str = "tcp"  # tcp | http | alive
    port: int | None = None
    path: str = ""
    expect_status: int = 200
    timeout_seconds: float | None = None


@dataclass(frozen=True)
class Launch:
    """How a backend starts one role of the image: overrides of the image's own runtime config."""

    role: str = DEFAULT_ROLE
    command: tuple[str, ...] | None = None
    args: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    ports: tuple[int, ...] = ()
    readiness: ReadinessProbe | None = None
    observation_seconds: int | None = None
    secret_values: tuple[str, ...] = ()  # values to redact from anything the run reports
    secret_names: tuple[str, ...] = ()  # the variables of `env` whose values are secret

    def process(self, entrypoint: list[str], cmd: list[str]) -> list[str]:
        """Docker's rule: a new entrypoint drops the image's CMD unless args are given too."""
        if self.command is not None:
            return [*self.command, *(self.args or ())]
        return [*entrypoint, *(cmd if self.args is None else self.args)]

    def environment(self, image_env: list[str]) -> list[str]:
        """The image's KEY=VALUE list with this role's variables set (replacing the image's own)."""
        names = set(self.env)
        kept = [entry for entry in image_env if entry.partition("=")[0] not in names]
        return kept + [f"{name}={value}" for name, value in sorted(self.env.items())]


def launched_config(config: ImageConfig, launch: Launch | None) -> ImageConfig:
    """The runtime config the role runs with: command and args, environment, working dir, extra ports."""
    if launch is None:
        return config
    ports = sorted(set(config.exposed_ports) | {f"{port}/tcp" for port in launch.ports})
    return replace(
        config,
        entrypoint=launch.process(config.entrypoint, config.cmd),
        cmd=[],
        env=launch.environment(config.env),
        working_dir=launch.working_dir or config.working_dir,
        exposed_ports=ports,
    )


def launched(image: ResolvedImage, launch: Launch | None) -> ResolvedImage:
    """`image` as the role runs it (same content, same digest)."""
    return image if launch is None else replace(image, config=launched_config(image.config, launch))
