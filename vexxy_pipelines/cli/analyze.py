"""`vexxy analyze` and `vexxy db update`: an image analyzed, the vulnerability database reloaded."""

from __future__ import annotations

import argparse

from rich.markup import escape

from vexxy.config.flags import from_flags
from vexxy.config.model import AnalysisConfig
from vexxy.config.secret_box import seal_config
from vexxy_pipelines import settings
from vexxy_pipelines.cli import image_analysis
from vexxy_pipelines.cli.common import dagster_instance, out
from vexxy_pipelines.cli.runs import ensure_vulnerability_db


def sealed_config(args: argparse.Namespace):
    """The configuration the flags describe, split for storage; None when they describe none."""
    config = from_flags(
        config_file=args.config,
        env=args.env,
        secret_env=args.secret_env,
        env_files=args.env_file,
        command=args.command_override,
        workdir=args.workdir,
        ports=args.port,
        health=args.health,
        observation_seconds=args.observation_seconds,
        no_fuzzing=args.no_fuzzing,
    )
    return None if config == AnalysisConfig() else seal_config(config)


def cmd_analyze(args: argparse.Namespace) -> int:
    return image_analysis.analyze(
        args.reference,
        out_dir=args.out,
        platform=args.platform,
        configuration=lambda: sealed_config(args),
        output_format=args.format,
        fail_on=args.fail_on,
    )


def cmd_db_update(args: argparse.Namespace) -> int:
    from dagster import AssetKey

    settings.check_osv_source()
    instance = dagster_instance()
    ensure_vulnerability_db(instance, force=True)
    event = instance.get_latest_materialization_event(AssetKey("vulnerability_db"))
    metadata = event.asset_materialization.metadata
    out.print(
        f"Vulnerability database {metadata['content_hash'].value[:16]}: {metadata['advisories'].value} advisories "
        f"({metadata['malformed_skipped'].value} malformed and {metadata['withdrawn_skipped'].value} withdrawn skipped) "
        f"from {escape(str(metadata['source'].value))}"
    )
    return 0


def add_commands(sub) -> None:
    analyze = sub.add_parser("analyze", help="Analyze an image: SBOM, vulnerabilities and VEX, as Dagster assets.")
    analyze.add_argument("reference", help="registry/repository:tag or registry/repository@sha256:<digest>")
    analyze.add_argument(
        "--out", help="Directory to copy every document the run wrote into (VEX, SBOMs, audit report, ...) and its log."
    )
    analyze.add_argument("--platform", help="Platform of a multi-platform image (default linux/amd64).")
    image_analysis.add_output_options(analyze)
    configuration = analyze.add_argument_group("analysis configuration, see docs/configuration.md ('Configuring an analysis')")
    configuration.add_argument("--config", help="JSON file: env, secret_env, command, args, ports, readiness, roles ...")
    configuration.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="Set a variable.")
    configuration.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="NAME[=@FILE]",
        help="Set a secret variable (never stored) from the environment variable NAME, or from FILE's content "
        "(one trailing newline dropped). NAME=value is refused: a value on the command line shows in `ps`.",
    )
    configuration.add_argument("--env-file", action="append", default=[], metavar="FILE", help="NAME=value lines.")
    configuration.add_argument("--command", dest="command_override", help="Replace the image's ENTRYPOINT and CMD.")
    configuration.add_argument("--workdir", help="Working directory of the process.")
    configuration.add_argument("--port", action="append", type=int, default=[], help="A TCP port to probe and scan.")
    configuration.add_argument("--health", metavar="PATH", help="Ready when GET PATH answers 200 (e.g. /healthz).")
    configuration.add_argument("--observation-seconds", type=int, help="Observation window of each role.")
    configuration.add_argument("--no-fuzzing", action="store_true", help="Do not drive the workload with a scanner.")
    analyze.set_defaults(func=cmd_analyze)

    db = sub.add_parser("db", help="The vulnerability database.")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("update", help="Reload OSV advisories from VEXXY_OSV_SOURCE.").set_defaults(func=cmd_db_update)
