"""Imports PyYAML by a name computed at run time, in a POST handler nothing links to."""

from serve import serve


def export(body):
    codec = __import__("".join(["ya", "ml"]))
    return codec.safe_dump(codec.safe_load(body))


serve(post=export)
