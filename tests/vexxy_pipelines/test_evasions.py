"""End to end: a workload that loads a vulnerable package by another path, name or form never gets
`not_affected` for it.

Each image is built from real parts (the Debian base with python3, PyYAML 5.3.1 and Pillow 9.3.0
from PyPI, both with advisories in the bundled database) and analyzed once through `vexxy analyze`,
without fuzzing. One image per evasion:

- `pycache_prefix_env`, `pycache_prefix_flag`: PyYAML loaded from unchecked-hash .pyc files the image
  ships under a cache prefix (PYTHONPYCACHEPREFIX, or `python3 -X pycache_prefix`); the .py files
  are never opened. The module is named by the image's configuration, not in the code.
- `rename`: the workload moves PyYAML's files one by one to another directory and imports them
  from there under another name.
- `copytree`: the same with a copy (shutil.copytree).
- `zipimport_copy`: a zipped copy imported through zipimport.
- `ctypes_copy`: a copy of the libwebp Pillow bundles loaded with ctypes; PIL is never imported.
- `hardlink_decoy`: the app layer holds the real `app/decoy.py`, then `app/main.py` as a hard link
  to it, then a harmless `app/decoy.py`: the entrypoint runs the real code, which imports PyYAML in
  a POST handler nothing links to.
- `computed_name`: `__import__` of a name computed at run time, in a POST handler nothing links to.
- `os_link`: the workload hard-links PyYAML's files to new names and loads them as another module
  through importlib.util.spec_from_file_location.
- `sourceless_pyc`: the image ships PyYAML compiled to sourceless .pyc files under another module
  name in another directory.

Two baselines keep today's answers: an app that loads neither package (`not_affected`) and one
that imports PyYAML plainly (`affected`).
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import io
import json
import py_compile
import re
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from vexxy.demo.images import SITE_PACKAGES, debian_python_layer, python_packages_layer
from vexxy.oci.build import (
    EPOCH,
    LayerBlob,
    RuntimeConfig,
    directory_entry,
    file_entry,
    layer_from_directory,
    layer_from_entries,
    push_image,
)
from vexxy.oci.reference import parse_reference
from vexxy.oci.registry_client import RegistryClient
from vexxy.vex.validation import openvex_errors
from vexxy_pipelines.cli.main import main

pytestmark = pytest.mark.slow

APPS = Path(__file__).parents[1] / "helpers" / "apps" / "evasions"
PACKAGES = ("pyyaml==5.3.1", "pillow==9.3.0")
SITE = f"/{SITE_PACKAGES}"
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PYC_PREFIX = "/pyc"
PLUGINS = "/opt/plugins/cfgfmt"
# Where each package's own files are, for the notes that cite them.
INSTALLED = {"pyyaml": (f"{SITE}/yaml/",), "pillow": (f"{SITE}/Pillow.libs/", f"{SITE}/PIL/")}


@dataclass(frozen=True)
class Trick:
    """One image: the app, the package it loads covertly, and where the workload loads it from."""

    app: str
    package: str
    loaded_from: str = ""  # a path the workload opens when the trick ran ("" when nothing is loaded)
    env: tuple[str, ...] = ()
    interpreter_options: tuple[str, ...] = ()


TRICKS = {
    "pycache_prefix_env": Trick(
        "pycache_prefix.py",
        "pyyaml",
        f"{PYC_PREFIX}{SITE}/yaml/__init__.cpython-311.pyc",
        env=(f"PYTHONPYCACHEPREFIX={PYC_PREFIX}", "CONFIG_FORMAT=yaml"),
    ),
    "pycache_prefix_flag": Trick(
        "pycache_prefix.py",
        "pyyaml",
        f"{PYC_PREFIX}{SITE}/yaml/__init__.cpython-311.pyc",
        env=("CONFIG_FORMAT=yaml",),
        interpreter_options=("-X", f"pycache_prefix={PYC_PREFIX}"),
    ),
    "rename": Trick("rename.py", "pyyaml", "/opt/vendor/cfgfmt/__init__.py"),
    "copytree": Trick("copytree.py", "pyyaml", "/opt/vendor/cfgfmt/__init__.py"),
    "zipimport_copy": Trick("zipimport_copy.py", "pyyaml", "/tmp/x.zip"),
    "ctypes_copy": Trick("ctypes_copy.py", "pillow", "/tmp/libother.so"),
    "hardlink_decoy": Trick("hardlink_decoy_real.py", "pyyaml"),
    "computed_name": Trick("computed_name.py", "pyyaml"),
    "os_link": Trick("os_link.py", "pyyaml", "/opt/links/cfgfmt/__init__.py"),
    "sourceless_pyc": Trick("sourceless_pyc.py", "pyyaml", f"{PLUGINS}/__init__.pyc"),
}
LOADING = [name for name, trick in TRICKS.items() if trick.loaded_from]


@dataclass(frozen=True)
class Analysis:
    name: str
    out: Path
    exit_code: int
    log: str
    seconds: float
    app_layer: tuple[str, str]  # (digest, diff_id) of the image's last layer

    def openvex(self) -> dict:
        return json.loads((self.out / "openvex.json").read_text())

    def statements(self, package: str) -> list[dict]:
        return by_package(self.openvex()["statements"]).get(package, [])

    def opened(self) -> set[str]:
        profile = json.loads((self.out / "execution_profile.json").read_text())
        return set(profile["observations"]["opens"]) | set(profile["observations"]["execs"])


def by_package(statements: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for statement in statements:
        purl = statement["products"][0]["subcomponents"][0]["@id"]
        found.setdefault(purl.split("/")[1].split("@")[0].lower(), []).append(statement)
    return found


def confidence(statement: dict) -> str:
    match = re.search(r"Confidence: (\w+) \((\w+)\)\.$", statement["status_notes"])
    return f"{match.group(1)} ({match.group(2)})" if match else "?"


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture(scope="module")
def base_layers():
    return [debian_python_layer(log=lambda message: None), python_packages_layer(PACKAGES, log=lambda message: None)]


@pytest.fixture(scope="module")
def yaml_sources(base_layers, tmp_path_factory) -> Path:
    """PyYAML's .py files exactly as the image holds them, and a check that the host's Python writes
    .pyc files the image's python3.11 reads (same magic number)."""
    assert sys.version_info[:2] == (3, 11)
    magic = None
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(base_layers[0].data)), mode="r|") as tar:
        for member in tar:
            if re.fullmatch(r"usr/lib/python3\.11/__pycache__/[^/]+\.cpython-311\.pyc", member.name) and member.isreg():
                magic = tar.extractfile(member).read(4)
                break
    assert magic == importlib.util.MAGIC_NUMBER, (magic, importlib.util.MAGIC_NUMBER)
    target = tmp_path_factory.mktemp("yaml-sources")
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(base_layers[1].data)), mode="r|") as tar:
        for member in tar:
            if re.fullmatch(rf"{SITE_PACKAGES}/yaml/[^/]+\.py", member.name) and member.isreg():
                (target / Path(member.name).name).write_bytes(tar.extractfile(member).read())
    assert (target / "__init__.py").is_file()
    return target


def compiled_layer(sources: Path, destination: str, name, mode: py_compile.PycInvalidationMode, source_dir: str) -> LayerBlob:
    """A layer holding `sources` compiled to `destination/name(stem)`: .pyc files only."""
    with tempfile.TemporaryDirectory(prefix="vexxy-pyc-") as tmp:
        for source in sorted(sources.glob("*.py")):
            cfile = Path(tmp) / destination.strip("/") / name(source.stem)
            py_compile.compile(
                str(source), cfile=str(cfile), dfile=f"{source_dir}/{source.name}", doraise=True, invalidation_mode=mode
            )
        return layer_from_directory(Path(tmp))


def hard_link_entry(path: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.type, info.linkname, info.mode, info.mtime = tarfile.LNKTYPE, target, 0o644, EPOCH
    return info


def app_layer(name: str):
    trick = TRICKS.get(name)
    app = (APPS / (trick.app if trick else f"{name}.py")).read_text()
    entries = [directory_entry("app"), file_entry("app/serve.py", (APPS / "serve.py").read_text())]
    if name == "hardlink_decoy":  # in stream order: the real code, the link to it, the decoy over it
        entries += [
            file_entry("app/decoy.py", app),
            hard_link_entry("app/main.py", "app/decoy.py"),
            file_entry("app/decoy.py", (APPS / "hardlink_decoy.py").read_text()),
        ]
    else:
        entries.append(file_entry("app/main.py", app))
    return layer_from_entries(entries)


def analyze(registry, layers, name: str, out: Path) -> Analysis:
    trick = TRICKS.get(name, Trick("", ""))
    runtime = RuntimeConfig(
        entrypoint=["python3", *trick.interpreter_options, "/app/main.py"],
        env=[PATH, "PORT=8080", *trick.env],
        working_dir="/app",
        exposed_ports=["8080/tcp"],
    )
    ref = parse_reference(f"{registry.address}/evasions/{name.replace('_', '-')}:1")
    digest, _ = push_image(RegistryClient(), ref, layers, runtime, tag="1")
    log = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        code = main(
            ["analyze", ref.with_digest(digest).canonical(), "--out", str(out), "--no-fuzzing", "--observation-seconds", "10"]
        )
    seconds = time.monotonic() - started
    analysis = Analysis(name, out, code, log.getvalue(), seconds, (layers[-1].digest, layers[-1].diff_id))
    (out / "evasion.json").write_text(
        json.dumps(
            {
                "image": name,
                "package": trick.package or "pyyaml",
                "loaded_from": trick.loaded_from,
                "exit_code": code,
                "seconds": round(seconds, 1),
            }
        )
    )
    (out / "analyze.log").write_text(analysis.log)
    print(f"\n{name}: exit {code} in {seconds:.0f} s, out {out}")
    return analysis


def image(name: str, extra=lambda sources: []):
    @pytest.fixture(scope="module")
    def analyzed(registry, base_layers, yaml_sources, tmp_path_factory) -> Analysis:
        layers = [*base_layers, *extra(yaml_sources), app_layer(name)]
        return analyze(registry, layers, name, tmp_path_factory.mktemp(name))

    return analyzed


def _prefix_pycs(sources: Path):
    return [
        compiled_layer(
            sources,
            f"{PYC_PREFIX}{SITE}/yaml",
            lambda stem: f"{stem}.cpython-311.pyc",
            py_compile.PycInvalidationMode.UNCHECKED_HASH,
            f"{SITE}/yaml",
        )
    ]


def _sourceless(sources: Path):
    return [compiled_layer(sources, PLUGINS, lambda stem: f"{stem}.pyc", py_compile.PycInvalidationMode.TIMESTAMP, PLUGINS)]


baseline_unused = image("baseline_unused")
baseline_plain = image("baseline_plain")
pycache_prefix_env = image("pycache_prefix_env", _prefix_pycs)
pycache_prefix_flag = image("pycache_prefix_flag", _prefix_pycs)
rename = image("rename")
copytree = image("copytree")
zipimport_copy = image("zipimport_copy")
ctypes_copy = image("ctypes_copy")
hardlink_decoy = image("hardlink_decoy")
computed_name = image("computed_name")
os_link = image("os_link")
sourceless_pyc = image("sourceless_pyc", _sourceless)
IMAGES = ["baseline_unused", "baseline_plain", *TRICKS]


def test_baseline_that_loads_neither_package_stays_not_affected(baseline_unused):
    assert baseline_unused.exit_code == 0, baseline_unused.log
    openvex = baseline_unused.openvex()
    assert openvex_errors(openvex) == []
    statements = by_package(openvex["statements"])
    assert set(statements) == {"pyyaml", "pillow"}
    for statement in statements["pyyaml"] + statements["pillow"]:
        assert statement["status"] == "not_affected", statement["status_notes"]
        assert statement["status_notes"].endswith("Confidence: high (not_loaded_not_imported).")


def test_baseline_plain_import_stays_affected(baseline_plain):
    assert baseline_plain.exit_code == 0, baseline_plain.log
    statements = baseline_plain.statements("pyyaml")
    assert statements
    for statement in statements:
        assert statement["status"] == "affected", statement["status_notes"]
        assert statement["status_notes"].endswith("Confidence: high (loaded).")
        assert f"{SITE}/yaml/__init__.py" in statement["status_notes"]
    assert all(s["status"] == "not_affected" for s in baseline_plain.statements("pillow"))


@pytest.mark.parametrize("name", LOADING)
def test_the_workload_loaded_the_package_by_the_trick(name, request):
    """The premise of each evasion, from the recorded profile: the trick ran and loaded the copy."""
    analysis = request.getfixturevalue(name)
    assert analysis.exit_code == 0, analysis.log
    opened = analysis.opened()
    assert TRICKS[name].loaded_from in opened, sorted(p for p in opened if p.startswith(("/opt", "/tmp", "/pyc")))
    if name.startswith("pycache_prefix"):
        assert not [p for p in opened if p.startswith(f"{SITE}/yaml/")], "the .py sources were opened"


@pytest.mark.parametrize("name", LOADING)
def test_a_package_loaded_by_a_trick_is_never_not_affected(name, request):
    analysis = request.getfixturevalue(name)
    assert analysis.exit_code == 0, analysis.log
    trick = TRICKS[name]
    statements = analysis.statements(trick.package)
    assert statements, f"no statement for {trick.package}"
    evidence = (*INSTALLED[trick.package], trick.loaded_from, trick.loaded_from.rsplit("/", 1)[0] + "/")
    for statement in statements:
        assert statement["status"] in ("affected", "under_investigation"), (statement["status"], statement["status_notes"])
        assert any(path in statement["status_notes"] for path in evidence), statement["status_notes"]


def test_hard_link_decoy_layer_is_read_as_the_sandbox_runs_it(hardlink_decoy):
    """The entrypoint runs the real code (the hard link keeps it); the import evidence must come from
    the same bytes, or the analysis must refuse the layer and say which."""
    real = (APPS / "hardlink_decoy_real.py").read_text()
    site = f"/app/main.py:{line_of(real, 'import yaml')}"
    if hardlink_decoy.exit_code != 0:
        print("hardlink_decoy: analysis refused")
        digest, diff_id = hardlink_decoy.app_layer
        named = {digest, diff_id, digest.split(":")[1][:12], diff_id.split(":")[1][:12]}
        assert "layer" in hardlink_decoy.log and any(n in hardlink_decoy.log for n in named), hardlink_decoy.log
        return
    print("hardlink_decoy: analyzed")
    statements = hardlink_decoy.statements("pyyaml")
    assert statements
    for statement in statements:
        assert statement["status"] == "under_investigation", statement["status_notes"]
        assert f"`{site}`" in statement["status_notes"], statement["status_notes"]


def test_computed_name_import_on_an_unreached_path_is_under_investigation(computed_name):
    assert computed_name.exit_code == 0, computed_name.log
    site = f"/app/main.py:{line_of((APPS / 'computed_name.py').read_text(), '__import__')}"
    statements = computed_name.statements("pyyaml")
    assert statements
    for statement in statements:
        assert statement["status"] == "under_investigation", statement["status_notes"]
        assert site in statement["status_notes"], statement["status_notes"]


def test_verdicts_table(request):
    """Each image's verdict for the package its trick hides, and the share of `not_affected` statements."""
    rows = ["| image | package | status | confidence | not_affected / statements | analysis |", "|---|---|---|---|---|---|"]
    for name in IMAGES:
        analysis = request.getfixturevalue(name)
        package = TRICKS[name].package if name in TRICKS else "pyyaml"
        if analysis.exit_code != 0:
            rows.append(f"| {name} | {package} | refused (exit {analysis.exit_code}) | | | {analysis.seconds:.0f} s |")
            continue
        statements = analysis.openvex()["statements"]
        mine = analysis.statements(package)
        status = ", ".join(sorted({s["status"] for s in mine})) or "none"
        level = ", ".join(sorted({confidence(s) for s in mine}))
        share = sum(s["status"] == "not_affected" for s in statements)
        rows.append(f"| {name} | {package} | {status} | {level} | {share}/{len(statements)} | {analysis.seconds:.0f} s |")
    print("\n" + "\n".join(rows))
