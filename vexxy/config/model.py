"""The analysis configuration as customers write it: environment, command, ports, readiness, fuzzer seeds, roles.

One model for the API, the CLI, the UI launch config and watched repositories. The configuration is
part of what an analysis is: its hash (`vexxy.config.public_form`) tells analyses of one digest
apart and goes into the VEX's provenance; secret values never enter it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vexxy.errors import VexxyError
from vexxy.sandbox.launch import DEFAULT_ROLE

MAX_ROLES = 8
MAX_ENV = 128
MAX_ENV_BYTES = 32 << 10
MAX_ARGS = 64
MAX_ARG_CHARS = 4096
MAX_PORTS = 16
MAX_SEED_URLS = 50
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
ROLE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
URL_PATH = re.compile(r"^/[\x21-\x7e]{0,2047}$")


class ConfigError(VexxyError):
    """The analysis configuration is not acceptable (malformed, or beyond the tier's limits)."""


def _no_nul(values: list[str] | None, what: str) -> list[str] | None:
    if values is None:
        return None
    if len(values) > MAX_ARGS:
        raise ValueError(f"{what} has {len(values)} items; at most {MAX_ARGS}")
    for value in values:
        if "\x00" in value:
            raise ValueError(f"{what} contains a NUL character")
        if len(value) > MAX_ARG_CHARS:
            raise ValueError(f"an item of {what} is longer than {MAX_ARG_CHARS} characters")
    return values


def _env(values: dict[str, str], what: str) -> dict[str, str]:
    if len(values) > MAX_ENV:
        raise ValueError(f"{what} has {len(values)} variables; at most {MAX_ENV}")
    size = 0
    for name, value in values.items():
        if not ENV_NAME.match(name):
            raise ValueError(f"{what}: {name[:40]!r} is not a variable name (letters, digits and _, not starting with a digit)")
        if "\x00" in value:
            raise ValueError(f"{what}: the value of {name} contains a NUL character")
        size += len(name) + len(value.encode()) + 2
    if size > MAX_ENV_BYTES:
        raise ValueError(f"{what} is {size} bytes; at most {MAX_ENV_BYTES}")
    return values


class ReadinessConfig(BaseModel):
    """When the workload counts as ready: a TCP port accepts, an HTTP path answers a status, or it just runs."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["tcp", "http", "alive"] = "tcp"
    port: int | None = Field(default=None, ge=1, le=65535, description="default: the first port")
    path: str | None = Field(default=None, description="the HTTP path, e.g. /healthz (kind http)")
    expect_status: int = Field(default=200, ge=100, le=599)
    timeout_seconds: int | None = Field(default=None, ge=1, le=600)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not URL_PATH.match(value):
            raise ValueError("the readiness path must start with / and hold printable ASCII only (at most 2048)")
        return value

    @model_validator(mode="after")
    def _http_needs_path(self) -> ReadinessConfig:
        if self.kind == "http" and not self.path:
            raise ValueError("HTTP readiness needs a path, e.g. /healthz")
        if self.kind != "http" and self.path:
            raise ValueError(f"a readiness path is only for kind http, not {self.kind}")
        return self


class ScanSeeds(BaseModel):
    """Where the fuzzer starts besides the root: paths (or URLs on the workload) and an OpenAPI document's path."""

    model_config = ConfigDict(extra="forbid")
    urls: list[str] = Field(default_factory=list, description="paths like /api/items, crawled first")
    openapi_path: str | None = Field(default=None, description="path of the workload's OpenAPI document, e.g. /openapi.json")

    @field_validator("urls")
    @classmethod
    def _urls(cls, values: list[str]) -> list[str]:
        if len(values) > MAX_SEED_URLS:
            raise ValueError(f"at most {MAX_SEED_URLS} seed URLs")
        for value in values:
            if not URL_PATH.match(value):
                raise ValueError(f"seed {value[:60]!r} must be a path on the workload starting with / (printable ASCII)")
        return values

    @field_validator("openapi_path")
    @classmethod
    def _openapi(cls, value: str | None) -> str | None:
        if value is not None and not URL_PATH.match(value):
            raise ValueError("openapi_path must be a path on the workload starting with /")
        return value


class _RunSettings(BaseModel):
    """What one run of the image can set; the configuration's top level is the default for every role."""

    model_config = ConfigDict(extra="forbid")
    command: list[str] | None = Field(default=None, description="replaces the image's ENTRYPOINT")
    args: list[str] | None = Field(default=None, description="replaces the image's CMD")
    env: dict[str, str] = Field(default_factory=dict, description="added to the image's environment")
    secret_env: dict[str, str] = Field(default_factory=dict, description="like env, but never stored or shown")
    working_dir: str | None = None
    ports: list[int] = Field(default_factory=list, description="TCP ports to probe and scan besides the exposed ones")
    readiness: ReadinessConfig | None = None
    observation_seconds: int | None = Field(default=None, ge=5, le=3600)

    @field_validator("command")
    @classmethod
    def _command(cls, value):
        if value is not None and not value:
            raise ValueError("command may not be empty (leave it out to keep the image's ENTRYPOINT)")
        return _no_nul(value, "command")

    @field_validator("args")
    @classmethod
    def _args(cls, value):
        return _no_nul(value, "args")

    @field_validator("env")
    @classmethod
    def _env_values(cls, value):
        return _env(value, "env")

    @field_validator("secret_env")
    @classmethod
    def _secret_values(cls, value):
        for name, secret in value.items():
            if not secret:
                raise ValueError(f"secret_env: {name} is empty")
        return _env(value, "secret_env")

    @field_validator("working_dir")
    @classmethod
    def _workdir(cls, value):
        if value is None:
            return None
        if not value.startswith("/") or "\x00" in value or len(value) > 1024 or ".." in value.split("/"):
            raise ValueError("working_dir must be an absolute path without .. (at most 1024 characters)")
        return value

    @field_validator("ports")
    @classmethod
    def _ports(cls, value):
        if len(value) > MAX_PORTS:
            raise ValueError(f"at most {MAX_PORTS} ports")
        for port in value:
            if not 1 <= port <= 65535:
                raise ValueError(f"port {port} is not between 1 and 65535")
        return sorted(set(value))

    @model_validator(mode="after")
    def _env_or_secret(self):
        both = sorted(set(self.env) & set(self.secret_env))
        if both:
            raise ValueError(f"{', '.join(both)} is both in env and secret_env")
        return self


class RoleConfig(_RunSettings):
    """One way the image runs in production (web, worker, nightly job...), observed on its own."""

    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not ROLE_NAME.match(value):
            raise ValueError(f"role name {value[:40]!r}: lowercase letters, digits and -, at most 31")
        return value


class AnalysisConfig(_RunSettings):
    """The whole configuration: defaults for every role, the roles (none = one role, `main`), fuzzer seeds."""

    fuzzing: bool | None = None
    scan: ScanSeeds = Field(default_factory=ScanSeeds)
    roles: list[RoleConfig] = Field(default_factory=list)

    @field_validator("roles")
    @classmethod
    def _roles(cls, roles: list[RoleConfig]) -> list[RoleConfig]:
        if len(roles) > MAX_ROLES:
            raise ValueError(f"at most {MAX_ROLES} roles")
        names = [r.name for r in roles]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"role {duplicates[0]} is named twice")
        return roles

    def effective_roles(self) -> list[RoleConfig]:
        """Every role with the top level's defaults filled in (env merged, the role's own values winning)."""
        if not self.roles:
            return [RoleConfig(name=DEFAULT_ROLE, **self._settings())]
        merged = []
        for role in self.roles:
            own = role.model_dump(exclude_unset=True)
            values = {**self._settings(), **{k: v for k, v in own.items() if k not in ("env", "secret_env")}}
            env = {**self.env, **role.env}
            secret_env = {**self.secret_env, **role.secret_env}
            for name in role.env:
                secret_env.pop(name, None)
            for name in role.secret_env:
                env.pop(name, None)
            values.update(env=env, secret_env=secret_env)
            merged.append(RoleConfig(**values))
        return merged

    def _settings(self) -> dict[str, Any]:
        return _RunSettings.model_validate(self.model_dump(include=set(_RunSettings.model_fields))).model_dump()

    def has_secrets(self) -> bool:
        return any(role.secret_env for role in self.effective_roles())


def parse(data: dict[str, Any] | str | None) -> AnalysisConfig:
    """A configuration from JSON (text or decoded), with every problem named in one ConfigError."""
    if data is None or data == "":
        return AnalysisConfig()
    try:
        if isinstance(data, str):
            data = json.loads(data)
        return AnalysisConfig.model_validate(data)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"The analysis configuration is not JSON: {exc.msg} at position {exc.pos}.") from None
    except ValidationError as exc:
        raise ConfigError("The analysis configuration is not valid: " + describe(exc), hint=HINT) from None


HINT = "See docs/configuration.md ('Configuring an analysis') for the fields and their limits."


def describe(exc: ValidationError) -> str:
    """Pydantic's errors as `field.path: message` (never echoing input values: they may be secrets)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        location = ".".join(str(p) for p in error["loc"]) or "configuration"
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{location}: {message}")
    return "; ".join(parts[:10]) + (f" (and {len(parts) - 10} more)" if len(parts) > 10 else "")
