"""A setting the operator wrote wrong is one clear line and exit 2, never a traceback, even one the parser
would read before any command runs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vexxy.demo.images import DEMO
from vexxy.errors import VexxyError
from vexxy_pipelines import settings
from vexxy_pipelines.launchpad import demo_reference

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value", ["abc", "0", "70000", "-1"])
def test_a_bad_demo_registry_port_is_one_line(tmp_path, value):
    environment = {**os.environ, "VEXXY_HOME": str(tmp_path), "VEXXY_DEMO_REGISTRY_PORT": value, "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "vexxy_pipelines.cli", "registry", "stop"],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert f"VEXXY_DEMO_REGISTRY_PORT='{value}' is not a TCP port" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_still_answers_with_a_bad_port(tmp_path):
    environment = {**os.environ, "VEXXY_HOME": str(tmp_path), "VEXXY_DEMO_REGISTRY_PORT": "abc"}
    result = subprocess.run(
        [sys.executable, "-m", "vexxy_pipelines.cli", "demo", "--help"], env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0 and "VEXXY_DEMO_REGISTRY_PORT" in result.stdout


def test_the_port_setting(monkeypatch):
    monkeypatch.delenv("VEXXY_DEMO_REGISTRY_PORT", raising=False)
    assert settings.demo_registry_port() == 5000
    monkeypatch.setenv("VEXXY_DEMO_REGISTRY_PORT", " 5123 ")
    assert settings.demo_registry_port() == 5123
    monkeypatch.setenv("VEXXY_DEMO_REGISTRY_PORT", "5000x")
    with pytest.raises(VexxyError, match="is not a TCP port"):
        settings.demo_registry_port()


def test_the_launchpad_default_shows_its_placeholder_under_a_bad_port(tmp_path, monkeypatch):
    repository = tmp_path / "data/docker/registry/v2/repositories" / DEMO.repository
    tag = repository / "_manifests/tags" / DEMO.tag / "current/link"
    monkeypatch.setenv("VEXXY_DEMO_REGISTRY_PORT", "abc")
    tag.parent.mkdir(parents=True)
    tag.write_text("sha256:" + "0" * 64)
    assert demo_reference(tmp_path) is None
    monkeypatch.setenv("VEXXY_DEMO_REGISTRY_PORT", "5055")
    assert demo_reference(tmp_path) == f"127.0.0.1:5055/{DEMO.repository}:{DEMO.tag}"
