"""Module names -> owning components: installed files, top_level.txt, namespaces, longest prefix."""

from vexxy.imports.image_files import ImageFiles
from vexxy.imports.owners import ModuleOwners
from vexxy.sbom.components import Component

SITE = "/usr/local/lib/python3.11/site-packages"
DEB_SITE = "/usr/lib/python3/dist-packages"


def component(ref, name, files, type_="python"):
    return Component(ref, name, "1.0", type_, f"pkg:pypi/{name}@1.0", "PyPI", name, "1.0", tuple(files))


def test_installed_files_name_their_modules():
    owners = ModuleOwners.from_components(
        [
            component(
                "y",
                "PyYAML",
                [
                    f"{SITE}/yaml/__init__.py",
                    f"{SITE}/yaml/loader.py",
                    f"{SITE}/_yaml.cpython-311-x86_64-linux-gnu.so",
                    f"{SITE}/PyYAML-5.3.1.dist-info/RECORD",
                ],
            ),
            component("s", "six", [f"{SITE}/six.py", f"{SITE}/__pycache__/six.cpython-311.pyc"]),
            component("d", "python3-markdown", [f"{DEB_SITE}/markdown/core.py", "/usr/bin/markdown_py"], "deb"),
            component("n", "nothing-known", []),
        ]
    )
    assert owners.owners_of("yaml") == {"y"}
    assert owners.owners_of("yaml.loader") == {"y"}
    assert owners.owners_of("yaml.loader.SafeLoader") == {"y"}  # an attribute after the module
    assert owners.owners_of("_yaml") == {"y"}
    assert owners.owners_of("six") == {"s"}
    assert owners.owners_of("markdown.core") == {"d"}
    assert owners.owners_of("PyYAML-5") == set()
    assert owners.owners_of("__pycache__") == set()
    assert owners.owners_of("os") == set()  # the standard library is the interpreter's
    assert owners.owners_of("yamlx") == set()


def test_namespace_packages_are_told_apart_by_the_longer_name():
    owners = ModuleOwners.from_components(
        [
            component("pb", "protobuf", [f"{SITE}/google/protobuf/message.py"]),
            component("gc", "google-cloud-core", [f"{SITE}/google/cloud/client.py"]),
        ]
    )
    assert owners.owners_of("google.protobuf.message") == {"pb"}
    assert owners.owners_of("google.cloud") == {"gc"}
    assert owners.owners_of("google") == {"pb", "gc"}


def test_top_level_txt_names_modules_the_files_do_not_show(tmp_path):
    dist_info = tmp_path / "usr/local/lib/python3.11/site-packages/Pillow-9.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "top_level.txt").write_text("PIL\nbad name\n\n")
    files = [f"{SITE}/Pillow-9.0.dist-info/top_level.txt"]
    image = ImageFiles(tmp_path)
    assert ModuleOwners.from_components([component("p", "Pillow", files)], image).owners_of("PIL.Image") == {"p"}
    assert ModuleOwners.from_components([component("p", "Pillow", files)]).owners_of("PIL") == set()


def test_a_top_level_txt_linking_out_of_the_image_is_not_read(tmp_path):
    outside = tmp_path / "host-secret.txt"
    outside.write_text("secretmodule\n")
    root = tmp_path / "root"
    dist_info = root / "usr/local/lib/python3.11/site-packages/evil-1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "top_level.txt").symlink_to(outside)
    files = [f"{SITE}/evil-1.dist-info/top_level.txt"]
    owners = ModuleOwners.from_components([component("e", "evil", files)], ImageFiles(root))
    assert owners.owners_of("secretmodule") == set()
