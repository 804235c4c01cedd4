"""The entrypoints the import analysis starts from: the image's own, or each configured role's."""

import json

from builders import resolved_image

from vexxy.imports.sites import EntryPoint
from vexxy_pipelines.assets.imports import entrypoints

IMAGE = resolved_image(
    "127.0.0.1:5000/app",
    reference="127.0.0.1:5000/app:1",
    config_digest="sha256:" + "2" * 64,
    layers=[],
    entrypoint=["python3", "/app/app.py"],
    cmd=["--port", "8080"],
    working_dir="/app",
)


def configured(config: dict) -> dict:
    return {"ops": {"sandbox_session": {"config": {"analysis_config": json.dumps(config)}}}}


def test_the_image_as_it_says_to_run():
    assert entrypoints({}, IMAGE) == [EntryPoint(("python3", "/app/app.py", "--port", "8080"), "/app")]


def test_each_role_with_its_own_command_and_working_directory():
    roles = {
        "secret_env": {"TOKEN": "sha256:" + "3" * 64},
        "roles": [
            {"name": "web", "args": ["--port", "9000"]},
            {"name": "nightly", "command": ["python3", "-m", "jobs.nightly"], "working_dir": "/srv"},
        ],
    }
    assert entrypoints(configured(roles), IMAGE) == [
        EntryPoint(("python3", "/app/app.py", "--port", "9000"), "/app"),
        EntryPoint(("python3", "-m", "jobs.nightly"), "/srv"),
    ]
    assert entrypoints(configured({"working_dir": "/opt"}), IMAGE) == [
        EntryPoint(("python3", "/app/app.py", "--port", "8080"), "/opt")
    ]
