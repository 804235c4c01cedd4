"""Moves PyYAML's files one by one (a rename opens nothing) to /opt/vendor/cfgfmt and imports them
from there, under that name. A directory rename on overlayfs may fail with EXDEV; files do not."""

import os
import sys

from serve import serve

SOURCE = "/usr/local/lib/python3.11/dist-packages/yaml"
TARGET = "/opt/vendor/cfgfmt"

os.makedirs(TARGET, exist_ok=True)
for name in sorted(os.listdir(SOURCE)):
    if name.endswith(".py"):
        os.rename(f"{SOURCE}/{name}", f"{TARGET}/{name}")
sys.path.insert(0, os.path.dirname(TARGET))

import cfgfmt  # noqa: E402

assert cfgfmt.__file__ == f"{TARGET}/__init__.py", cfgfmt.__file__
CONFIG = cfgfmt.safe_load("greeting: hello")

serve(get=lambda: cfgfmt.safe_dump(CONFIG))
