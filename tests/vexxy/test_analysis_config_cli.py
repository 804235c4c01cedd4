"""`vexxy analyze`'s configuration flags: a JSON file with flags set over it, dotenv files, errors named."""

import json

import pytest

from vexxy.analysis_config import ConfigError
from vexxy.analysis_config_cli import env_file, from_flags, pairs


def test_flags_are_set_over_the_file(tmp_path):
    config = tmp_path / "app.json"
    config.write_text(json.dumps({"env": {"A": "file", "T": "plain"}, "roles": [{"name": "web"}, {"name": "job"}]}))
    dotenv = tmp_path / "prod.env"
    dotenv.write_text("# comment\n\nexport B=\"two words\"\nC='x=y'\nA=from-env-file\n")
    result = from_flags(
        config_file=str(config),
        env=["A=flag", "EMPTY="],
        secret_env=["T=s3cret"],
        env_files=[str(dotenv)],
        command="gunicorn 'app:create()' -b 0.0.0.0:8080",
        workdir="/srv",
        ports=[8080],
        health="/healthz",
        observation_seconds=30,
        no_fuzzing=True,
    )
    assert result.env == {"A": "flag", "B": "two words", "C": "x=y", "EMPTY": ""}
    assert result.secret_env == {"T": "s3cret"}  # a secret flag takes the name out of the plain env
    assert result.command == ["gunicorn", "app:create()", "-b", "0.0.0.0:8080"] and result.args == []
    assert result.readiness.kind == "http" and result.readiness.path == "/healthz" and result.ports == [8080]
    assert result.working_dir == "/srv" and result.observation_seconds == 30 and result.fuzzing is False
    assert [r.name for r in result.effective_roles()] == ["web", "job"]


def test_no_flags_no_configuration():
    assert from_flags() == from_flags(env=[], ports=[])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda tmp: pairs(["NOVALUE"], "--env"), "--env 'NOVALUE' is not NAME=value"),
        (lambda tmp: env_file(str(tmp / "absent.env")), "Cannot read the env file"),
        (lambda tmp: from_flags(command="  "), "--command is empty"),
        (lambda tmp: from_flags(env=["1A=x"]), "env: '1A' is not a variable name"),
    ],
)
def test_errors_name_the_input(tmp_path, call, message):
    with pytest.raises(ConfigError) as refused:
        call(tmp_path)
    assert message in refused.value.message


def test_a_bad_file_is_named(tmp_path):
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        from_flags(config_file=str(tmp_path / "bad.json"))
    (tmp_path / "line.env").write_text("JUSTANAME\n")
    with pytest.raises(ConfigError, match="Line 1 of"):
        env_file(str(tmp_path / "line.env"))
