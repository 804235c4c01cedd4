"""The analysis configuration: validation with specific messages, roles inheriting the defaults,
the public form and its hash (secret values never in it), launches, redaction."""

import json

import pytest

from vexxy.config.launches import launch_of
from vexxy.config.model import ConfigError, parse
from vexxy.config.public_form import config_hash, from_public, public_form
from vexxy.config.secret_box import SecretBox, seal_config
from vexxy.oci.image import ImageConfig
from vexxy.sandbox.launch import launched_config
from vexxy.sandbox.redaction import redact

KEY = "ZmRhc2RmYXNkZmFzZGZhc2RmYXNkZmFzZGZhc2RmYXM="
WEB_AND_WORKER = {
    "env": {"DATABASE_URL": "postgresql://db/app", "LOG_LEVEL": "info"},
    "secret_env": {"API_TOKEN": "tok-3f9a1c77e2"},
    "ports": [8080],
    "readiness": {"kind": "http", "path": "/healthz"},
    "roles": [
        {"name": "web", "args": ["serve"]},
        {"name": "worker", "command": ["python3", "-m", "tasks.worker"], "env": {"LOG_LEVEL": "debug"}, "ports": []},
    ],
}


@pytest.mark.parametrize(
    "body, message",
    [
        ({"env": {"1BAD": "x"}}, "env: '1BAD' is not a variable name"),
        ({"env": {"A": "x\x00y"}}, "the value of A contains a NUL character"),
        ({"env": {"A": "1"}, "secret_env": {"A": "2"}}, "A is both in env and secret_env"),
        ({"secret_env": {"T": ""}}, "secret_env: T is empty"),
        ({"command": []}, "command may not be empty"),
        ({"working_dir": "app"}, "working_dir must be an absolute path"),
        ({"working_dir": "/app/../etc"}, "working_dir must be an absolute path"),
        ({"ports": [0]}, "port 0 is not between 1 and 65535"),
        ({"readiness": {"kind": "http"}}, "HTTP readiness needs a path"),
        ({"readiness": {"kind": "tcp", "path": "/x"}}, "a readiness path is only for kind http"),
        ({"readiness": {"kind": "http", "path": "healthz"}}, "the readiness path must start with /"),
        ({"scan": {"urls": ["http://evil.example/"]}}, "must be a path on the workload"),
        ({"roles": [{"name": "Web"}]}, "role name 'Web'"),
        ({"roles": [{"name": "web"}, {"name": "web"}]}, "role web is named twice"),
        ({"roles": [{"name": f"r{i}"} for i in range(9)]}, "at most 8 roles"),
        ({"unknown": 1}, "unknown: Extra inputs are not permitted"),
        ({"observation_seconds": 1}, "observation_seconds: Input should be greater than or equal to 5"),
    ],
)
def test_invalid_configurations_are_refused_naming_the_field(body, message):
    with pytest.raises(ConfigError) as refused:
        parse(body)
    assert message in refused.value.message


def test_errors_never_echo_a_value():
    with pytest.raises(ConfigError) as refused:
        parse({"secret_env": {"TOKEN": "s3cr3t\x00"}})
    assert "s3cr3t" not in str(refused.value)


def test_roles_inherit_the_defaults_and_override_them():
    config = parse(WEB_AND_WORKER)
    web, worker = config.effective_roles()
    assert web.name == "web" and web.args == ["serve"] and web.command is None and web.ports == [8080]
    assert web.env == {"DATABASE_URL": "postgresql://db/app", "LOG_LEVEL": "info"}
    assert web.secret_env == {"API_TOKEN": "tok-3f9a1c77e2"} and web.readiness.path == "/healthz"
    assert worker.command == ["python3", "-m", "tasks.worker"] and worker.ports == []
    assert worker.env["LOG_LEVEL"] == "debug" and worker.secret_env == {"API_TOKEN": "tok-3f9a1c77e2"}
    assert [r.name for r in parse({}).effective_roles()] == ["main"]


def test_a_role_can_make_a_secret_plain_and_a_plain_value_secret():
    config = parse(
        {"env": {"A": "1"}, "secret_env": {"B": "2"}, "roles": [{"name": "x", "env": {"B": "3"}, "secret_env": {"A": "4"}}]}
    )
    (role,) = config.effective_roles()
    assert role.env == {"B": "3"} and role.secret_env == {"A": "4"}


def test_the_public_form_holds_digests_not_values_and_its_hash_names_the_configuration():
    box = SecretBox(KEY)
    sealed = seal_config(parse(WEB_AND_WORKER), box)
    text = json.dumps(sealed.public)
    assert "tok-3f9a1c77e2" not in text and sealed.public["secret_env"]["API_TOKEN"].startswith("hmac-sha256:")
    assert sealed.hash == config_hash(sealed.public) and sealed.hash.startswith("sha256:")
    assert seal_config(parse(WEB_AND_WORKER), box).hash == sealed.hash  # the same configuration, the same hash
    other = json.loads(json.dumps(WEB_AND_WORKER))
    other["secret_env"]["API_TOKEN"] = "another"
    assert seal_config(parse(other), box).hash != sealed.hash
    other = json.loads(json.dumps(WEB_AND_WORKER))
    other["roles"][1]["env"]["FEATURE_X"] = "1"
    assert seal_config(parse(other), box).hash != sealed.hash
    assert box.open(sealed.secrets) == {"*": {"API_TOKEN": "tok-3f9a1c77e2"}}
    assert from_public(sealed.public, box.open(sealed.secrets)) == parse(WEB_AND_WORKER)


def test_secret_values_need_a_key(monkeypatch):
    monkeypatch.delenv("VEXXY_SECRETS_KEY", raising=False)
    with pytest.raises(ConfigError, match="Secret environment values need an encryption key"):
        seal_config(parse({"secret_env": {"T": "v"}}))
    assert seal_config(parse({"env": {"T": "v"}})).secrets is None
    with pytest.raises(ConfigError, match="not a list of Fernet keys"):
        SecretBox("not-a-key")


def test_a_token_sealed_under_another_key_is_refused():
    sealed = seal_config(parse({"secret_env": {"T": "v"}}), SecretBox(KEY))
    from cryptography.fernet import Fernet

    with pytest.raises(ConfigError, match="cannot be decrypted with the configured key"):
        SecretBox(Fernet.generate_key().decode()).open(sealed.secrets)
    rotated = SecretBox(Fernet.generate_key().decode() + "," + KEY)
    assert rotated.open(sealed.secrets) == {"*": {"T": "v"}}


def test_missing_secret_values_are_named():
    public = public_form(parse({"secret_env": {"T": "v"}}), SecretBox(KEY).digest)
    with pytest.raises(ConfigError, match="The secret value of T \\(every role\\) is no longer available"):
        from_public(public, {})


def test_launch_applies_the_role_to_the_image_config():
    image = ImageConfig(
        entrypoint=["/entry"], cmd=["web"], env=["PATH=/bin", "LOG_LEVEL=warn"], working_dir="/srv", exposed_ports=["80/tcp"]
    )
    web, worker = (launch_of(r) for r in parse(WEB_AND_WORKER).effective_roles())
    config = launched_config(image, web)
    assert config.entrypoint == ["/entry", "serve"] and config.cmd == []
    assert config.env == ["PATH=/bin", "API_TOKEN=tok-3f9a1c77e2", "DATABASE_URL=postgresql://db/app", "LOG_LEVEL=info"]
    assert config.exposed_ports == ["80/tcp", "8080/tcp"] and config.working_dir == "/srv"
    assert launched_config(image, worker).entrypoint == ["python3", "-m", "tasks.worker"]  # a new command drops CMD
    assert web.secret_values == ("tok-3f9a1c77e2",)
    assert launched_config(image, None) is image


def test_redact_reaches_text_inside_data():
    data = {"log": "token=abc123 ok", "args": ["--key", "abc123"], "abc123": 1, "n": 3}
    assert redact(data, ("abc123",)) == {"log": "token=[secret] ok", "args": ["--key", "[secret]"], "[secret]": 1, "n": 3}
    assert redact("nothing", ()) == "nothing"


def test_redact_reaches_a_secret_as_urls_and_json_escape_it():
    """A workload that puts its token in a redirect or a JSON answer hands the scanner an encoded copy of it."""
    secret = 'p@ss/w rd"+'
    found = {
        "url": "http://10.0.0.2:8080/cb?token=p%40ss%2Fw%20rd%22%2B&x=1",
        "form": "token=p%40ss%2Fw+rd%22%2B",
        "path": "/cb/p%40ss/w%20rd%22%2B",
        "evidence": '{"token": "p@ss/w rd\\"+"}',
    }
    redacted = redact(found, (secret,))
    assert redacted == {
        "url": "http://10.0.0.2:8080/cb?token=[secret]&x=1",
        "form": "token=[secret]",
        "path": "/cb/[secret]",
        "evidence": '{"token": "[secret]"}',
    }
