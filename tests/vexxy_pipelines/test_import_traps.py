"""End to end: packages the application imports on paths one run never reaches are `under_investigation`.

One image from real PyPI releases with advisories in the bundled database and four traps (a POST
handler nothing links to, an environment variable the image never sets, a function nothing calls,
a settings string), a package installed but imported by nothing, and one the app loads. One analysis.
"""

import json
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from vexxy.demo.images import debian_python_layer, directory_layer, python_packages_layer
from vexxy.oci.build import RuntimeConfig, push_image
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy.vex.validation import cyclonedx_errors, openvex_errors
from vexxy_pipelines.cli.main import main

pytestmark = pytest.mark.slow

APP = Path(__file__).parents[1] / "helpers" / "apps" / "import_traps"
PACKAGES = ("idna==3.6", "pyyaml==5.3.1", "redis==4.5.1", "requests==2.25.1", "loguru==0.5.1", "urllib3==1.26.4")
TRAPS = {  # package -> (importing file:line, how it is imported)
    "pyyaml": ("/app/app.py:41", "import (function do_POST)"),
    "redis": ("/app/app.py:17", "import (module)"),
    "requests": ("/app/app.py:23", "import (function fetch_exchange_rates)"),
    "loguru": ("/app/settings.py:5", "setting:INSTALLED_APPS (module)"),
}


@pytest.fixture(scope="module")
def traps(registry, tmp_path_factory):
    layers = [
        debian_python_layer(log=lambda message: None),
        python_packages_layer(PACKAGES, log=lambda message: None),
        directory_layer(APP, "/app"),
    ]
    runtime = RuntimeConfig(
        entrypoint=["python3", "/app/app.py"],
        env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PORT=8080"],
        user="65534:65534",
        working_dir="/app",
        exposed_ports=["8080/tcp"],
    )
    ref = parse_reference(f"{registry.address}/vexxy/import-traps:1")
    digest, _ = push_image(RegistryClient(), ref, layers, runtime, tag="1")
    out = tmp_path_factory.mktemp("import-traps")
    assert main(["analyze", f"{ref.with_digest(digest).canonical()}", "--out", str(out)]) == 0
    return out


def by_package(statements):
    found = {}
    for statement in statements:
        purl = statement["products"][0]["subcomponents"][0]["@id"]
        found.setdefault(purl.split("/")[1].split("@")[0], []).append(statement)
    return found


def test_each_trap_is_under_investigation_citing_the_importing_line(traps):
    openvex = json.loads((traps / "openvex.json").read_text())
    assert openvex_errors(openvex) == []
    statements = by_package(openvex["statements"])
    assert set(statements) == {"idna", "pyyaml", "redis", "requests", "loguru", "urllib3"}
    for package, (site, _) in TRAPS.items():
        for statement in statements[package]:
            assert statement["status"] == "under_investigation", (package, statement["status_notes"])
            assert statement["status_notes"].startswith(f"Imported by `{site}` but not loaded during a complete observation")
            assert statement["status_notes"].endswith("Confidence: medium (imported_not_loaded).")
    (idna,) = statements["idna"]
    assert idna["status"] == "affected" and idna["status_notes"].endswith("Confidence: high (loaded).")
    assert statements["urllib3"] and all(s["status"] == "not_affected" for s in statements["urllib3"])
    assert all(
        s["status_notes"].endswith("No first-party code imports it. Confidence: high (not_loaded_not_imported).")
        for s in statements["urllib3"]
    )


def test_cyclonedx_carries_the_same_confidence(traps):
    text = (traps / "cyclonedx-vex.json").read_text()
    assert cyclonedx_errors(text) == []
    for vulnerability in json.loads(text)["vulnerabilities"]:
        package = vulnerability["affects"][0]["ref"].split("/")[1].split("@")[0]
        properties = {p["name"]: p["value"] for p in vulnerability["properties"]}
        expected = {
            "idna": ("exploitable", "high", "loaded"),
            "urllib3": ("not_affected", "high", "not_loaded_not_imported"),
        }.get(package, ("in_triage", "medium", "imported_not_loaded"))
        assert (
            vulnerability["analysis"]["state"],
            properties["vexxy:confidence"],
            properties["vexxy:confidence_reason"],
        ) == expected
        assert f"Confidence: {expected[1]} ({expected[2]})." in vulnerability["analysis"]["detail"]


def test_import_evidence_is_stored_and_summarized(traps):
    imports = json.loads((traps / "imports.json").read_text())
    assert imports["checked"] and imports["first_party_files"] == ["/app/app.py", "/app/settings.py"]
    sites = {site for sites in imports["imported_by"].values() for site in sites}
    assert {site for site, _ in TRAPS.values()} | {"/app/app.py:14"} <= sites
    hows = {how for hows in imports["hows"].values() for how in hows}
    assert {how for _, how in TRAPS.values()} <= hows
    instance = DagsterInstance.get()
    vex = instance.get_latest_materialization_event(AssetKey("vex_document")).asset_materialization.metadata
    assert vex["components_imported_not_loaded"].value == 4 and vex["imports_checked"].value == "yes"
    assert vex["statements_imported_not_loaded"].value == vex["status_under_investigation"].value
    assert vex["confidence_high"].value == vex["status_affected"].value + vex["status_not_affected"].value
    table = vex["imported_not_loaded"].value
    for purl in ("pkg:pypi/pyyaml@5.3.1", "pkg:pypi/redis@4.5.1", "pkg:pypi/requests@2.25.1", "pkg:pypi/loguru@0.5.1"):
        assert purl in table
    assert "idna" not in table and "urllib3" not in table
    statements_table = vex["statements_table"].value
    assert "medium (imported\\_not\\_loaded)" in statements_table and "high (loaded)" in statements_table
    observation = instance.get_latest_materialization_event(AssetKey("vex_document")).run_id
    records = instance.get_records_for_run(observation, of_type=DagsterEventType.ASSET_OBSERVATION).records
    (profile,) = [
        r.event_log_entry.dagster_event.event_specific_data.asset_observation
        for r in records
        if r.event_log_entry.dagster_event.event_specific_data.asset_observation.asset_key == AssetKey("execution_profile")
    ]
    assert profile.metadata["imported_not_loaded"].value == 4
    imports_meta = instance.get_latest_materialization_event(AssetKey("first_party_imports")).asset_materialization.metadata
    assert imports_meta["first_party_files"].value == 2 and imports_meta["imports_checked"].value == "yes"


def test_the_share_that_stays_not_affected_before_and_after(traps, analyzed_demo):
    """The cost of not over-claiming: without the import evidence, every imported-but-not-loaded statement
    would have been `not_affected` (the rule only adds that check after the profile's own)."""
    shares = {}
    for name, out in (("demo", analyzed_demo), ("import-traps", traps)):
        notes = [s["status_notes"] for s in json.loads((out / "openvex.json").read_text())["statements"]]
        after = sum(1 for n in notes if n.endswith(("(not_loaded_not_imported).", "(not_loaded_imports_unchecked).")))
        held_back = sum(1 for n in notes if n.endswith("(imported_not_loaded)."))
        shares[name] = (len(notes), after + held_back, after)
        print(f"{name}: {len(notes)} statements, not_affected {after + held_back} without the import evidence, {after} with it")
    assert shares["demo"] == (2, 1, 1)  # PyYAML: installed, imported by nothing; Jinja2 loaded
    statements = by_package(json.loads((traps / "openvex.json").read_text())["statements"])
    total, before, after = shares["import-traps"]
    assert before == total - len(statements["idna"])
    assert after == len(statements["urllib3"]) and before - after == sum(len(statements[p]) for p in TRAPS)
