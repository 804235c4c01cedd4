"""Loads PyYAML from precompiled unchecked-hash .pyc files under the cache prefix `/pyc`.

The image sets the prefix (PYTHONPYCACHEPREFIX, or `-X pycache_prefix=/pyc`) and ships the .pyc
files there; an unchecked-hash .pyc is used without reading its source, so no file of the package's
own list is ever opened. The module is named by the image's configuration, not in the code.
"""

import importlib
import os
import sys

from serve import serve

assert sys.pycache_prefix == "/pyc", sys.pycache_prefix
codec = importlib.import_module(os.environ["CONFIG_FORMAT"])
assert codec.__spec__.cached.startswith("/pyc/"), codec.__spec__.cached
CONFIG = codec.safe_load("greeting: hello")

serve(get=lambda: codec.safe_dump(CONFIG))
