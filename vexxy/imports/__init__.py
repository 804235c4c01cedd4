"""What the application's own code imports, read statically from the image (never executed)."""
