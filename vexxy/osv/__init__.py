"""OSV advisories: parse records and load them from directories, zip files or URLs (matching indexes them)."""
