"""`vexxy analyze` flags as an analysis configuration: a JSON file (`--config`) with flags set over its top level."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from vexxy.analysis_config import AnalysisConfig, ConfigError, parse

MAX_FILE_BYTES = 256 << 10


def _read(path: str, what: str) -> str:
    file = Path(path)
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{what} {path} is larger than {MAX_FILE_BYTES >> 10} KiB.")
        return file.read_text()
    except OSError as exc:
        raise ConfigError(f"Cannot read {what} {path}: {exc.strerror}.") from None


def pairs(items: list[str], what: str) -> dict[str, str]:
    """`NAME=value` items (the value may be empty or hold `=`)."""
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"{what} {name[:40]!r} is not NAME=value.")
        values[name] = value
    return values


def env_file(path: str) -> dict[str, str]:
    """A dotenv-style file: NAME=value lines, blank lines and # comments skipped, `export ` and matching quotes removed."""
    values = {}
    for number, line in enumerate(_read(path, "the env file").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise ConfigError(f"Line {number} of {path} is not NAME=value.")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


def from_flags(
    *,
    config_file: str | None = None,
    env: list[str] | None = None,
    secret_env: list[str] | None = None,
    env_files: list[str] | None = None,
    command: str | None = None,
    workdir: str | None = None,
    ports: list[int] | None = None,
    health: str | None = None,
    observation_seconds: int | None = None,
    no_fuzzing: bool = False,
) -> AnalysisConfig:
    body: dict[str, Any] = {}
    if config_file:
        try:
            body = json.loads(_read(config_file, "the configuration file"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{config_file} is not JSON: {exc.msg} (line {exc.lineno}).") from None
        if not isinstance(body, dict):
            raise ConfigError(f"{config_file} must hold a JSON object.")
    plain = {**body.get("env", {})}
    for path in env_files or []:
        plain.update(env_file(path))
    plain.update(pairs(env or [], "--env"))
    secrets = {**body.get("secret_env", {}), **pairs(secret_env or [], "--secret-env")}
    for name in secrets:
        plain.pop(name, None)
    if plain:
        body["env"] = plain
    if secrets:
        body["secret_env"] = secrets
    if command:
        words = shlex.split(command)
        if not words:
            raise ConfigError("--command is empty.")
        body["command"], body["args"] = words, []
    if workdir:
        body["working_dir"] = workdir
    if ports:
        body["ports"] = sorted(set(body.get("ports", [])) | set(ports))
    if health:
        body["readiness"] = {"kind": "http", "path": health}
    if observation_seconds:
        body["observation_seconds"] = observation_seconds
    if no_fuzzing:
        body["fuzzing"] = False
    return parse(body)
