"""A configured role as the launch a sandbox backend applies (the backends never see the configuration model)."""

from __future__ import annotations

from vexxy.config.model import RoleConfig
from vexxy.sandbox.launch import Launch, ReadinessProbe


def launch_of(role: RoleConfig) -> Launch:
    ready = role.readiness
    return Launch(
        role=role.name,
        command=tuple(role.command) if role.command is not None else None,
        args=tuple(role.args) if role.args is not None else None,
        env={**role.env, **role.secret_env},
        working_dir=role.working_dir,
        ports=tuple(role.ports),
        readiness=ReadinessProbe(ready.kind, ready.port, ready.path or "", ready.expect_status, ready.timeout_seconds)
        if ready
        else None,
        observation_seconds=role.observation_seconds,
        secret_values=tuple(sorted(set(role.secret_env.values()))),
        secret_names=tuple(sorted(role.secret_env)),
    )
