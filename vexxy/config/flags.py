"""`vexxy analyze` flags as an analysis configuration: a JSON file (`--config`) with flags set over its top level."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vexxy.config.model import AnalysisConfig, ConfigError, parse

MAX_FILE_BYTES = 256 << 10


def _read(path: str, what: str) -> str:
    file = Path(path)
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{what} {path} is larger than {MAX_FILE_BYTES >> 10} KiB.")
        return file.read_text()
    except OSError as exc:
        raise ConfigError(f"Cannot read {what} {path}: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what[0].upper()}{what[1:]} {path} is not UTF-8 text.") from None


def pairs(items: list[str], what: str) -> dict[str, str]:
    """`NAME=value` items (the value may be empty or hold `=`)."""
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"{what} {name[:40]!r} is not NAME=value.")
        values[name] = value
    return values


SECRET_FORMS = "--secret-env NAME (the value of the environment variable NAME) or --secret-env NAME=@FILE (the file's content)"


def secret_values(items: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """`--secret-env` items: NAME takes the value of the environment variable NAME, NAME=@FILE the file's content
    (one trailing newline dropped). A value written on the command line is refused: any user can read it in `ps`."""
    values = {}
    for item in items:
        name, sep, source = item.partition("=")
        if not sep:
            if name not in environ:
                raise ConfigError(
                    f"--secret-env {name[:40]}: the environment variable {name[:40]} is not set.",
                    hint=f"Export it before running the command, or use a file: {SECRET_FORMS}.",
                )
            value = environ[name]
            where = f"the environment variable {name}"
        elif source.startswith("@") and len(source) > 1:
            value = _read(source[1:], f"--secret-env {name[:40]}'s file")
            value = value.removesuffix("\n").removesuffix("\r")
            where = f"the file {source[1:]}"
        else:
            raise ConfigError(
                f"--secret-env {name[:40]}=...: a secret value on the command line is visible to every user in `ps`, "
                "so it is refused (the value was not used).",
                hint=f"Use {SECRET_FORMS}.",
            )
        if not value:
            raise ConfigError(f"--secret-env {name[:40]}: {where} is empty.")
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
    environ: Mapping[str, str] | None = None,
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
    secrets = {**body.get("secret_env", {}), **secret_values(secret_env or [], os.environ if environ is None else environ)}
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
