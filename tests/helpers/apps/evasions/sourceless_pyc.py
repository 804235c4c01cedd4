"""Imports `cfgfmt` from /opt/plugins: PyYAML compiled to sourceless .pyc files the image ships there."""

import sys

from serve import serve

sys.path.insert(0, "/opt/plugins")

import cfgfmt  # noqa: E402

assert type(cfgfmt.__loader__).__name__ == "SourcelessFileLoader", cfgfmt.__loader__
CONFIG = cfgfmt.safe_load("greeting: hello")

serve(get=lambda: cfgfmt.safe_dump(CONFIG))
