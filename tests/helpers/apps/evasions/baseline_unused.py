"""Baseline: PyYAML and Pillow are installed, and this app loads neither."""

import json

from serve import serve

serve(get=lambda: json.dumps({"status": "ok"}))
