"""SBOMs: run Syft, and read its native JSON into components that know the files they own."""
