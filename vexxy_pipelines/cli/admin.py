"""Administration: `vexxy partitions`, `vexxy appdb` (schema migrations) and `vexxy organization`."""

from __future__ import annotations

import argparse

from rich.markup import escape
from rich.table import Table

from vexxy.errors import VexxyError
from vexxy_pipelines.cli.common import dagster_instance, out


def cmd_partitions(args: argparse.Namespace) -> int:
    from vexxy_pipelines.partitions import image_for_partition, image_partitions, remove_image_partition

    instance = dagster_instance()
    if args.action == "remove":
        out.print(escape(remove_image_partition(instance, args.key, force=args.force)))
        return 0
    for key in instance.get_dynamic_partitions(image_partitions.name):  # one line each: `key  image`
        try:
            out.print(f"{escape(key)}  {escape(image_for_partition(instance, key).canonical)}", soft_wrap=True)
        except VexxyError as exc:
            out.print(f"{escape(key)}  [red]{escape(exc.message)}[/]", soft_wrap=True)
    return 0


def cmd_appdb(args: argparse.Namespace) -> int:
    from appdb.engine import database_url
    from appdb.errors import shown as where
    from appdb.migrate import downgrade, upgrade

    url = database_url()
    shown = where(url)
    if args.action == "upgrade":
        upgrade(url)
        out.print(f"Application database at {escape(shown)} is at the latest schema.")
    else:
        downgrade(url, args.revision)
        out.print(f"Application database at {escape(shown)} downgraded to {escape(args.revision)}.")
    return 0


def cmd_organization(args: argparse.Namespace) -> int:
    from submissions.organizations import create_organization, list_organizations, require_organization
    from vexxy_api.auth import issue_token
    from vexxy_api.settings import ApiSettings
    from vexxy_pipelines.resources.app_database import AppDatabaseResource

    sessions = AppDatabaseResource().sessions()
    if args.organization_command == "list":
        with sessions() as session:
            organizations = list_organizations(session)
        if not organizations:
            out.print("No organizations yet: create one with `vexxy organization create NAME --tier TIER`.", soft_wrap=True)
            return 0
        table = Table(title="Organizations, oldest first")
        table.add_column("id", no_wrap=True)
        table.add_column("name")
        table.add_column("tier", no_wrap=True)
        for organization in organizations:
            table.add_row(organization.id, escape(organization.name), organization.tier)
        out.print(table)
        return 0
    with sessions.begin() as session:
        if args.organization_command == "create":
            out.print(create_organization(session, args.name, args.tier))
            return 0
        require_organization(session, args.organization)
    out.print(issue_token(ApiSettings(), args.organization, args.subject, args.role, args.minutes * 60), soft_wrap=True)
    return 0


def add_partitions_commands(sub) -> None:
    """`partitions` and `appdb`."""
    partitions = sub.add_parser("partitions", help="Image partitions: list them with their images, remove one.")
    partitions_sub = partitions.add_subparsers(dest="action", required=True)
    partitions_sub.add_parser("list", help="Every image partition key and the image it stands for.").set_defaults(
        func=cmd_partitions
    )
    remove = partitions_sub.add_parser("remove", help="Remove a partition (one that names no image, or --force).")
    remove.add_argument("key", help="The partition key, exactly as listed.")
    remove.add_argument("--force", action="store_true", help="Also remove a partition with analyses (documents stay).")
    remove.set_defaults(func=cmd_partitions)

    appdb = sub.add_parser("appdb", help="The application database (organizations, billing): schema migrations.")
    appdb.add_argument("action", choices=["upgrade", "downgrade"])
    appdb.add_argument("--revision", default="base", help="Target of a downgrade (default: base, i.e. empty).")
    appdb.set_defaults(func=cmd_appdb)


def add_organization_command(sub) -> None:
    organization = sub.add_parser(
        "organization", help="Organizations the API serves: list them, create one, issue a token to try the API."
    )
    organization_sub = organization.add_subparsers(dest="organization_command", required=True)
    organization_sub.add_parser("list", help="Every organization: id, name and tier, oldest first.")
    create = organization_sub.add_parser("create", help="Create an organization on a tier (names are unique); prints its id.")
    create.add_argument("name")
    create.add_argument("--tier", default="free", help="free, team or enterprise (default free).")
    token = organization_sub.add_parser("token", help="Print a bearer token signed with VEXXY_JWT_KEY (a shared secret).")
    token.add_argument("organization", help="The organization's id.")
    token.add_argument("--subject", default="admin@localhost", help="The token's user (sub claim).")
    token.add_argument("--role", default="admin", choices=("admin", "member"))
    token.add_argument("--minutes", type=int, default=60, help="Lifetime (default 60).")
    organization.set_defaults(func=cmd_organization)
