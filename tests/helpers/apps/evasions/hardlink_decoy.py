"""A harmless decoy: what `app/decoy.py` holds at the end of the layer."""

from serve import serve

serve()
