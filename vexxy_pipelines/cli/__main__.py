"""`python -m vexxy_pipelines.cli`: the `vexxy` command."""

import sys

from vexxy_pipelines.cli.main import main

sys.exit(main())
