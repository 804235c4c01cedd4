"""Hard-links PyYAML's files (a link opens nothing) into /opt/links/cfgfmt and loads them as module
`cfgfmt` through importlib.util.spec_from_file_location."""

import importlib.util
import os
import sys

from serve import serve

SOURCE = "/usr/local/lib/python3.11/dist-packages/yaml"
TARGET = "/opt/links/cfgfmt"

os.makedirs(TARGET, exist_ok=True)
for name in sorted(os.listdir(SOURCE)):
    if name.endswith(".py") and not os.path.exists(f"{TARGET}/{name}"):
        os.link(f"{SOURCE}/{name}", f"{TARGET}/{name}")
spec = importlib.util.spec_from_file_location("cfgfmt", f"{TARGET}/__init__.py", submodule_search_locations=[TARGET])
codec = importlib.util.module_from_spec(spec)
sys.modules["cfgfmt"] = codec
spec.loader.exec_module(codec)
CONFIG = codec.safe_load("greeting: hello")

serve(get=lambda: codec.safe_dump(CONFIG))
