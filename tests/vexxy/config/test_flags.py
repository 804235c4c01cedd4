"""`vexxy analyze`'s configuration flags: a JSON file with flags set over it, dotenv files, errors named."""

import json

import pytest

from vexxy.config.flags import env_file, from_flags, pairs, secret_values
from vexxy.config.model import ConfigError


def test_flags_are_set_over_the_file(tmp_path):
    config = tmp_path / "app.json"
    config.write_text(json.dumps({"env": {"A": "file", "T": "plain"}, "roles": [{"name": "web"}, {"name": "job"}]}))
    dotenv = tmp_path / "prod.env"
    dotenv.write_text("# comment\n\nexport B=\"two words\"\nC='x=y'\nA=from-env-file\n")
    result = from_flags(
        config_file=str(config),
        env=["A=flag", "EMPTY="],
        secret_env=["T"],
        environ={"T": "s3cret"},
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


def test_a_secret_comes_from_the_environment_or_a_file_never_from_the_command_line(tmp_path):
    token = tmp_path / "token"
    token.write_text("from-a-file\n")  # as `echo ... > token` writes it
    found = secret_values(["API_TOKEN", f"DB_PASSWORD=@{token}"], {"API_TOKEN": "from-the-environment"})
    assert found == {"API_TOKEN": "from-the-environment", "DB_PASSWORD": "from-a-file"}
    config = from_flags(secret_env=["API_TOKEN"], env=["API_TOKEN=plain"], environ={"API_TOKEN": "s3cret"})
    assert config.secret_env == {"API_TOKEN": "s3cret"} and config.env == {}


@pytest.mark.parametrize("item", ["API_TOKEN=s3cret-on-argv", "API_TOKEN=", "API_TOKEN=@"])
def test_a_value_on_the_command_line_is_refused_naming_both_forms(item):
    with pytest.raises(ConfigError) as refused:
        secret_values([item], {"API_TOKEN": "ignored"})
    said = refused.value.message + refused.value.hint
    assert "visible to every user in `ps`" in said and "s3cret-on-argv" not in said
    assert "--secret-env NAME (the value of the environment variable NAME)" in said and "NAME=@FILE" in said


def test_a_missing_variable_or_an_unreadable_file_is_named(tmp_path):
    (tmp_path / "latin1").write_bytes(b"caf\xe9")
    (tmp_path / "empty").write_text("\n")
    cases = [
        (["API_TOKEN"], "--secret-env API_TOKEN: the environment variable API_TOKEN is not set"),
        (["EMPTY"], "--secret-env EMPTY: the environment variable EMPTY is empty"),
        ([f"T=@{tmp_path / 'absent'}"], f"Cannot read --secret-env T's file {tmp_path / 'absent'}: No such file"),
        ([f"T=@{tmp_path}"], f"Cannot read --secret-env T's file {tmp_path}: Is a directory"),
        ([f"T=@{tmp_path / 'latin1'}"], f"--secret-env T's file {tmp_path / 'latin1'} is not UTF-8 text"),
        ([f"T=@{tmp_path / 'empty'}"], f"--secret-env T: the file {tmp_path / 'empty'} is empty"),
    ]
    for items, message in cases:
        with pytest.raises(ConfigError) as refused:
            secret_values(items, {"EMPTY": ""})
        assert message in refused.value.message, refused.value.message
