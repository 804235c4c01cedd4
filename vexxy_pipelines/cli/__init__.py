"""`vexxy`: analyze an image through Dagster from a terminal, and manage the local demo parts.

One module per command family (`analyze`, `audit`, `local`, `admin`), each adding its subcommands
to the parser (`parser`); they share only the helpers in `common`, `runs` and `image_analysis`.
Dagster, SQLAlchemy and the API are imported inside the handlers that use them: `vexxy --help` and
the local commands start in a tenth of a second instead of the three the Dagster definitions take.
"""
