"""Baseline: imports PyYAML plainly and uses it on every request."""

import yaml
from serve import serve

CONFIG = yaml.safe_load("greeting: hello")

serve(get=lambda: yaml.safe_dump(CONFIG))
