"""SBOM components x OSV advisories, with each ecosystem's own version ordering, from the advisory database and index
matching owns."""
