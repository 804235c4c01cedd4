"""The `vexxy` argument parser, built from the command modules."""

from __future__ import annotations

import argparse

from vexxy_pipelines.cli import admin, analyze, audit, billing, local


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vexxy", description="Runtime-evidence VEX for container images.")
    sub = parser.add_subparsers(dest="command", required=True)
    # In the order `vexxy --help` lists them.
    analyze.add_commands(sub)  # analyze, db
    local.add_registry_commands(sub)  # registry, demo, demo-image, sandbox
    admin.add_partitions_commands(sub)  # partitions, appdb
    audit.add_commands(sub)  # explain, diff, attestation
    admin.add_organization_command(sub)
    billing.add_billing_commands(sub)
    local.add_ui_command(sub)
    return parser
