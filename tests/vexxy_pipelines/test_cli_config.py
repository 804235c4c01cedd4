"""`vexxy analyze`'s configuration: flags become the stored form and its hash; secret values are kept encrypted
for the run's sandbox step and forgotten when the command ends."""

from appdb.models import AnalysisSecret
from vexxy.config.secret_box import SecretBox
from vexxy_pipelines.cli.analyze import sealed_config
from vexxy_pipelines.cli.image_analysis import store_secrets
from vexxy_pipelines.cli.main import main
from vexxy_pipelines.cli.parser import build_parser
from vexxy_pipelines.resources.app_database import AppDatabaseResource

KEY = "cPz0xT3Jk8mJ4M0yq2cO8t0Jm3oB5c1t1U7uQpQf7yE="


def test_flags_become_a_sealed_configuration(monkeypatch):
    monkeypatch.setenv("VEXXY_SECRETS_KEY", KEY)
    monkeypatch.setenv("T", "s3cret")
    args = build_parser().parse_args(
        ["analyze", "r.example.com/a:1", "--env", "A=1", "--secret-env", "T", "--health", "/healthz", "--port", "8080"]
    )
    sealed = sealed_config(args)
    assert sealed.public["env"] == {"A": "1"} and sealed.public["readiness"]["path"] == "/healthz"
    assert "s3cret" not in str(sealed.public) and sealed.secrets is not None and sealed.hash.startswith("sha256:")
    assert sealed_config(build_parser().parse_args(["analyze", "r.example.com/a:1"])) is None


def test_secrets_are_kept_for_the_run_and_then_forgotten():
    sessions = AppDatabaseResource().sessions()
    store_secrets("cli-test-owner", b"ciphertext")
    with sessions() as session:
        assert bytes(session.get(AnalysisSecret, "cli-test-owner").ciphertext) == b"ciphertext"
    store_secrets("cli-test-owner", None)
    with sessions() as session:
        assert session.get(AnalysisSecret, "cli-test-owner") is None


def test_a_configuration_in_error_is_said_before_the_registry_is_contacted(capsys, tmp_path):
    missing = tmp_path / "[red]app.json"
    assert main(["analyze", "127.0.0.1:1/team/app:1", "--config", str(missing)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"Cannot read the configuration file {missing}" in err and "Resolving" not in err
    assert main(["analyze", "127.0.0.1:1/team/app:1", "--workdir", "relative"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "working_dir" in err and "Resolving" not in err


def test_an_out_path_that_cannot_be_a_directory_is_said_before_the_registry_is_contacted(capsys, tmp_path):
    (tmp_path / "results-file").write_text("a file, not a directory")
    out = tmp_path / "results-file" / "out"
    # Nothing listens on port 1: had the reference been resolved first, the error would be that the registry is unreachable.
    assert main(["analyze", "127.0.0.1:1/team/app:1", "--out", str(out)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"Cannot use {out} for the results" in err and "Resolving" not in err and "unreachable" not in err


def test_a_secret_value_on_the_command_line_is_refused_before_anything_else(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("VEXXY_SECRETS_KEY", KEY)
    assert main(["analyze", "127.0.0.1:1/team/app:1", "--secret-env", "API_TOKEN=s3cret-on-argv"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "visible to every user in `ps`" in err and "--secret-env NAME=@FILE" in err
    assert "s3cret-on-argv" not in err and "Traceback" not in err and "Resolving" not in err
    monkeypatch.delenv("API_TOKEN", raising=False)
    assert main(["analyze", "127.0.0.1:1/team/app:1", "--secret-env", "API_TOKEN"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "the environment variable API_TOKEN is not set" in err and "Traceback" not in err
    assert main(["analyze", "127.0.0.1:1/team/app:1", "--secret-env", f"API_TOKEN=@{tmp_path / 'absent'}"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"Cannot read --secret-env API_TOKEN's file {tmp_path / 'absent'}" in err and "Traceback" not in err


def test_a_secret_file_becomes_the_sealed_value(monkeypatch, tmp_path):
    monkeypatch.setenv("VEXXY_SECRETS_KEY", KEY)
    (tmp_path / "token").write_text("from-a-file\n")
    args = build_parser().parse_args(["analyze", "r.example.com/a:1", "--secret-env", f"T=@{tmp_path / 'token'}"])
    sealed = sealed_config(args)
    assert "from-a-file" not in str(sealed.public) and sealed.public["secret_env"]["T"].startswith("hmac-sha256:")
    assert SecretBox.from_env().open(sealed.secrets) == {"*": {"T": "from-a-file"}}


def test_the_help_names_both_forms():
    analyze = build_parser()._subparsers._group_actions[0].choices["analyze"]
    text = " ".join(analyze.format_help().split())
    assert "--secret-env NAME[=@FILE]" in text and "environment variable NAME" in text and "refused" in text
