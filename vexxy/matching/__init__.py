"""SBOM components x OSV advisories, with each ecosystem's own version ordering."""
