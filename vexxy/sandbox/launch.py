"""A role's launch overrides applied to the image's own runtime config, the same way for every backend."""

from __future__ import annotations

from dataclasses import replace

from vexxy.analysis_config import Launch
from vexxy.oci.image import ImageConfig, ResolvedImage


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
