"""VEX: one statement per (vulnerability, component), rendered as OpenVEX 0.2.0 and CycloneDX 1.6."""
