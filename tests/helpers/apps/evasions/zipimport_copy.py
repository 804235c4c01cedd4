"""Zips a copy of PyYAML's package to /tmp/x.zip (as package `cfgfmt`) and imports it from the zip."""

import os
import sys
import zipfile

from serve import serve

SOURCE = "/usr/local/lib/python3.11/dist-packages/yaml"
ARCHIVE = "/tmp/x.zip"

with zipfile.ZipFile(ARCHIVE, "w") as archive:
    for name in sorted(os.listdir(SOURCE)):
        if name.endswith(".py"):
            archive.write(f"{SOURCE}/{name}", f"cfgfmt/{name}")
sys.path.insert(0, ARCHIVE)

import cfgfmt  # noqa: E402

assert type(cfgfmt.__loader__).__name__ == "zipimporter", cfgfmt.__loader__
CONFIG = cfgfmt.safe_load("greeting: hello")

serve(get=lambda: cfgfmt.safe_dump(CONFIG))
