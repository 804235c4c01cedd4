"""OCI images: references, registry access, and building images from a root filesystem."""
