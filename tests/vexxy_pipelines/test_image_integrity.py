"""No image can change another image's analysis: a config that borrows a victim's diff_ids is refused.

Both images are built here from real parts (the Debian base and PyPI's Jinja2 2.11.2 and PyYAML
5.3.1 of the demo); the victim's app imports PyYAML, so CVE-2020-14343 is `affected` for it. The
attacker's config lists the victim's diff_ids over its own app layer, which never imports PyYAML:
analyzed first, it must fail naming both digests, and the victim's VEX must still say `affected`.
"""

import json

import pytest

from vexxy.oci.build import LayerBlob, RuntimeConfig, directory_entry, file_entry, layer_from_entries, push_image
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy_pipelines.cli.main import main

pytestmark = pytest.mark.slow

RUNTIME = RuntimeConfig(entrypoint=["python3", "/app/main.py"])


def app_layer(code: str) -> LayerBlob:
    return layer_from_entries([directory_entry("app"), file_entry("app/main.py", code)])


def push(registry, repository: str, layers: list[LayerBlob]) -> str:
    ref = parse_reference(f"{registry.address}/{repository}:1")
    digest, _ = push_image(RegistryClient(), ref, layers, RUNTIME, tag="1")
    return ref.with_digest(digest).canonical()


def test_an_image_borrowing_a_victims_diff_ids_fails_and_the_victims_vex_is_unchanged(registry, demo_layers, tmp_path, capsys):
    base, packages = demo_layers[0], demo_layers[1]
    victim_app = app_layer("import time, yaml\nprint('victim loaded', yaml.__version__, flush=True)\ntime.sleep(120)\n")
    attacker_app = app_layer("import time\nprint('attacker rootfs', flush=True)\ntime.sleep(120)\n")
    victim = push(registry, "integrity/victim", [base, packages, victim_app])
    attacker = push(registry, "integrity/attacker", [base, packages, LayerBlob(attacker_app.data, victim_app.diff_id)])

    assert main(["analyze", attacker, "--out", str(tmp_path / "attacker")]) == 1
    failure = " ".join(capsys.readouterr().err.split())
    assert f"Analysis of {attacker} failed" in failure and "sandbox_session:" in failure
    assert f"Image {attacker}: layer 3 of 3 ({attacker_app.digest})" in failure
    assert f"unpacks to {attacker_app.diff_id}" in failure and f"diff_id is {victim_app.diff_id}" in failure
    assert "the image is refused" in failure
    assert not (tmp_path / "attacker" / "openvex.json").exists()

    assert main(["analyze", victim, "--out", str(tmp_path / "victim")]) == 0
    profile = json.loads((tmp_path / "victim" / "execution_profile.json").read_text())
    assert "victim loaded 5.3.1" in profile["workload_log_tail"] and "attacker" not in profile["workload_log_tail"]
    openvex = json.loads((tmp_path / "victim" / "openvex.json").read_text())
    by_cve = {s["vulnerability"]["name"]: s for s in openvex["statements"]}
    assert by_cve["CVE-2020-14343"]["status"] == "affected"  # PyYAML was loaded by the victim's own app
    assert by_cve["CVE-2020-28493"]["status"] == "not_affected"  # Jinja2 is present but never imported
