"""OSV advisories: parse records, load them from directories, zip files or URLs, index them."""
