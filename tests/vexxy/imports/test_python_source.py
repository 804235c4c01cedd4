"""First-party code found in a small image tree, its imports mapped to the SBOM's components."""

import os

import pytest
from import_trees import app_tree, component, write

from vexxy.imports.first_party import find_first_party
from vexxy.imports.image_files import ImageFiles
from vexxy.imports.python_source import PythonImports
from vexxy.imports.sites import EntryPoint, ImportSource

SITE = "usr/local/lib/python3.11/site-packages"


@pytest.fixture
def image(tmp_path):
    return app_tree(tmp_path)


def analyze(root, components, argv, working_dir="/", loaded=()):
    source: ImportSource = PythonImports(loaded_unowned=loaded)
    return source.analyze(ImageFiles(root), components, EntryPoint(tuple(argv), working_dir))


def test_first_party_files_are_the_unowned_ones_the_entrypoint_reaches(image):
    root, components = image
    analysis = analyze(root, components, ["python3", "-u", "/app/main.py"])
    assert analysis.first_party_files == (
        "/app/main.py",
        "/app/settings.py",
        "/app/web/__init__.py",
        "/app/web/helpers.py",
        "/app/web/views.py",
        "/usr/local/bin/manage",
    )
    assert analysis.unreadable == ()


def test_each_imported_component_carries_its_importing_file_and_line(image):
    root, components = image
    analysis = analyze(root, components, ["python3", "/app/main.py"])
    imported = {ref: [(s.where, s.how, s.scope) for s in c.sites] for ref, c in analysis.by_ref().items()}
    assert imported == {
        "flask": [("/app/main.py:2", "from", "module")],
        "pyyaml": [("/app/main.py:8", "import", "module")],
        "lxml": [("/app/web/views.py:4", "from", "function report")],
        "markdown": [("/app/web/helpers.py:2", "importlib", "module")],
        "celery": [("/app/settings.py:1", "setting:INSTALLED_APPS", "module"), ("/usr/local/bin/manage:2", "import", "module")],
    }
    # installed but imported by no first-party code (only by another distribution, or by skipped files)
    assert "requests" not in imported and "unused" not in imported and "jinja2" not in imported


def test_the_working_directory_and_module_arguments_are_first_party(image):
    root, components = image
    by_module = analyze(root, components, ["python3", "-m", "web.views"], working_dir="/app")
    assert "/app/web/views.py" in by_module.first_party_files and "/app/main.py" in by_module.first_party_files
    gunicorn = analyze(root, components, ["gunicorn", "--bind", ":8000", "web.views:app"], working_dir="/srv")
    assert gunicorn.first_party_files == ("/usr/local/bin/manage",)  # /srv does not exist: no module found
    served = analyze(root, components, ["gunicorn", "web.views:app"], working_dir="/app")
    assert "lxml" in served.by_ref()


def test_a_shell_entrypoint_and_python_dash_c_are_followed(image):
    root, components = image
    shell = analyze(root, components, ["sh", "-c", "cd /app && PORT=80 exec python3 main.py --port 80"])
    assert "/app/main.py" in shell.first_party_files and "flask" in shell.by_ref()
    piped = analyze(root, components, ["/bin/sh", "-c", "echo start; python3 -m web.views | cat"], working_dir="/app")
    assert "lxml" in piped.by_ref()
    unbalanced = analyze(root, components, ["sh", "-c", "python3 '/app/main.py"])
    assert unbalanced.first_party_files == ("/usr/local/bin/manage",)
    inline = analyze(root, components, ["python3", "-c", "import yaml; print(yaml)"])
    assert [s.where for s in inline.by_ref()["pyyaml"].sites] == ["<entrypoint -c>:1"]


def test_system_directories_are_never_walked_whole(image):
    root, components = image
    analysis = analyze(root, components, ["/usr/local/bin/gunicorn"], working_dir="/")
    assert analysis.first_party_files == ("/usr/local/bin/manage",)
    assert "/usr/local/lib/python3.11/json/__init__.py" not in analysis.first_party_files


def test_loaded_unowned_files_are_first_party_but_not_the_standard_library(image):
    root, components = image
    write(root, "opt/plugins/extra.py", "import requests\n")
    analysis = analyze(
        root,
        components,
        ["/usr/local/bin/gunicorn"],
        loaded=["/opt/plugins/extra.py", "/usr/local/lib/python3.11/json/__init__.py", f"/{SITE}/flask/__init__.py"],
    )
    assert analysis.first_party_files == ("/opt/plugins/extra.py", "/usr/local/bin/manage")
    assert [s.where for s in analysis.by_ref()["requests"].sites] == ["/opt/plugins/extra.py:1"]


def test_unparsable_first_party_files_are_reported_not_fatal(image):
    root, components = image
    write(root, "app/broken.py", "def broken(:\n")
    analysis = analyze(root, components, ["python3", "/app/main.py"])
    assert any(u.startswith("/app/broken.py: SyntaxError") for u in analysis.unreadable)
    assert "flask" in analysis.by_ref()


def test_links_leaving_the_image_are_not_followed(image, tmp_path):
    root, components = image
    host = tmp_path / "host"
    write(host, "secret.py", "import yaml\n")
    os.symlink(host, root / "app/linked")
    os.symlink(host / "secret.py", root / "app/secret.py")
    os.symlink("../../../../../../../../" + str(host / "secret.py").lstrip("/"), root / "app/relative.py")
    analysis = analyze(root, components, ["python3", "/app/secret.py"], working_dir="/app")
    assert not [f for f in analysis.first_party_files if "secret" in f or "linked" in f or "relative" in f]
    assert all(s.path != "/app/secret.py" for s in analysis.sites)


def test_an_oversized_first_party_file_is_reported(image):
    root, components = image
    write(root, "app/huge.py", "x = 1\n" * 400_000)
    analysis = analyze(root, components, ["python3", "/app/main.py"])
    assert any(u.startswith("/app/huge.py:") and "more than" in u for u in analysis.unreadable)


def test_relative_imports_map_inside_the_first_party_package(image):
    root, components = image
    found = find_first_party(ImageFiles(root), set(), EntryPoint(("python3", "/app/main.py"), "/app"))
    assert found.package_of("/app/web/views.py") == "web"
    assert found.package_of("/app/main.py") == ""


def test_a_tree_larger_than_the_limit_is_reported_as_cut_short(image):
    root, components = image
    for index in range(5):
        write(root, f"app/many/m{index}.py", "import requests\n")
    analysis = PythonImports(max_files=4).analyze(ImageFiles(root), components, EntryPoint(("python3", "/app/main.py"), "/"))
    assert analysis.unreadable == ("/app: more than 4 files, only the first 4 were read",)
    assert [f for f in analysis.first_party_files if f.startswith("/app/")] == [
        "/app/main.py",
        "/app/many/m0.py",
        "/app/many/m1.py",
        "/app/settings.py",
    ]
    whole = PythonImports(max_files=100).analyze(ImageFiles(root), components, EntryPoint(("python3", "/app/main.py"), "/"))
    assert whole.unreadable == () and "requests" in whole.by_ref()


def test_dynamic_loads_in_first_party_code_are_carried_with_their_sites(image):
    root, components = image
    write(root, "app/web/plugins.py", "import importlib\n\ndef load(name):\n    return importlib.import_module(name)\n")
    analysis = analyze(root, components, ["python3", "/app/main.py"])
    assert [(d.where, d.what) for d in analysis.dynamic] == [
        ("/app/web/plugins.py:4", "`importlib.import_module` with a computed name")
    ]
    assert analysis.unreadable == () and "markdown" in analysis.by_ref()  # the literal one stays an import
    inline = analyze(root, components, ["python3", "-c", "__import__(sys.argv[1])"])
    assert [d.where for d in inline.dynamic] == ["<entrypoint -c>:1"]


def test_bytecode_shipped_without_its_source_is_a_dynamic_load(image):
    root, components = image
    write(root, "app/web/compiled.pyc", "\x00bytecode")  # sourceless: imported as `web.compiled`
    write(root, "app/web/__pycache__/views.cpython-311.pyc", "\x00cache")  # the cache of views.py
    write(root, "app/web/__pycache__/gone.cpython-311.pyc", "\x00orphan")  # gone.py is not shipped
    write(root, f"{SITE}/yaml/_cyaml.pyc", "\x00owned")
    components = [*components, component("cyaml", "cyaml", [f"/{SITE}/yaml/_cyaml.pyc"])]
    analysis = analyze(root, components, ["python3", "/app/main.py"])
    assert [(d.where, d.what) for d in analysis.dynamic] == [("/app/web/compiled.pyc", "bytecode shipped without its source")]
    assert "/app/web/compiled.pyc" in analysis.first_party_files
    script = analyze(root, components, ["python3", "/app/web/__pycache__/gone.cpython-311.pyc"])
    assert "/app/web/__pycache__/gone.cpython-311.pyc" in [d.path for d in script.dynamic]
    loaded = analyze(
        root,
        components,
        ["/usr/local/bin/gunicorn"],
        loaded=["/app/web/__pycache__/views.cpython-311.pyc", "/app/web/__pycache__/gone.cpython-311.pyc"],
    )
    assert [d.path for d in loaded.dynamic] == ["/app/web/__pycache__/gone.cpython-311.pyc"]
