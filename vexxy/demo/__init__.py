"""The embedded demo: a local Distribution registry and images built from Debian and PyPI parts."""
