"""The local parts: `vexxy registry`, `vexxy demo`, `vexxy demo-image`, `vexxy sandbox sweep` and `vexxy ui`."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from rich.markup import escape

from vexxy import settings
from vexxy.demo.images import DEMO, build_and_push
from vexxy.demo.registry import LocalRegistry
from vexxy.sandbox.state import SandboxPaths
from vexxy.sandbox.sweep import leftovers, sweep
from vexxy_pipelines import settings as pipeline_settings
from vexxy_pipelines.cli import image_analysis
from vexxy_pipelines.cli.common import console, dagster_instance, out


def _local_registry(args: argparse.Namespace) -> LocalRegistry:
    port = args.port or pipeline_settings.demo_registry_port()  # read here, where a bad value is said plainly
    return LocalRegistry(root=Path(args.registry_dir or settings.vexxy_home() / "registry"), port=port)


def cmd_registry(args: argparse.Namespace) -> int:
    registry = _local_registry(args)
    if args.action == "start":
        registry.start()
        out.print(f"Registry listening on {registry.address} (data in {escape(str(registry.root))})")
    else:
        registry.stop()
        out.print(f"Registry on {registry.address} stopped")
    return 0


def cmd_demo_build(args: argparse.Namespace) -> int:
    registry = _local_registry(args).start()
    ref = build_and_push(DEMO, registry.address, log=lambda msg: console.print(f"  {escape(msg)}"))
    out.print(escape(str(ref)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    registry = _local_registry(args).start()
    console.print(f"Local registry on {registry.address}")
    build_and_push(DEMO, registry.address, log=lambda msg: console.print(f"  {escape(msg)}"))
    reference = f"{registry.address}/{DEMO.repository}:{DEMO.tag}"
    # The demo analyzes the image as it is: `vexxy analyze`'s own defaults (its --port is a workload
    # port, the demo's the registry's).
    return image_analysis.analyze(
        reference, out_dir=args.out, platform=args.platform, output_format=args.format, fail_on=args.fail_on
    )


def cmd_sandbox_sweep(args: argparse.Namespace) -> int:
    paths = SandboxPaths(settings.sandbox_state_dir())
    removed = sweep(paths, only_orphans=not args.all, reason="removed by `vexxy sandbox sweep --all`")
    remaining = {kind: found for kind, found in leftovers(paths).items() if found}
    out.print(f"Removed {len(removed)} sandbox(es){': ' + ', '.join(removed) if removed else ''}")
    if remaining:
        out.print(f"Still present (owned by running analyses): {remaining}")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from appdb.engine import check_url_reachable

    dagster_instance()  # Dagster's storage and the application database (the sensors') answer, or the CLI says which does not
    check_url_reachable()
    workspace = Path(__file__).resolve().parents[2] / "workspace.yaml"
    beside = Path(sys.executable).parent / "dagster"
    command = [
        str(beside) if beside.exists() else shutil.which("dagster") or "dagster",
        "dev",
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    if workspace.exists():
        command += ["-w", str(workspace)]
    else:
        command += ["-m", "vexxy_pipelines.definitions"]
    os.execvp(command[0], command)
    return 0


def _registry_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, help="The registry's port (default: VEXXY_DEMO_REGISTRY_PORT, else 5000).")
    p.add_argument("--registry-dir", help="Where the local registry keeps its data (default ~/.vexxy/registry).")


def add_registry_commands(sub) -> None:
    """`registry`, `demo`, `demo-image` and `sandbox`."""
    registry = sub.add_parser("registry", help="The local Distribution registry used by the demo.")
    registry.add_argument("action", choices=["start", "stop"])
    _registry_options(registry)
    registry.set_defaults(func=cmd_registry)

    demo = sub.add_parser("demo", help="Build the demo image, push it to the local registry and analyze it.")
    _registry_options(demo)
    demo.add_argument("--out", default="out", help="Directory for the resulting documents (default ./out).")
    demo.add_argument("--platform", default=None)
    image_analysis.add_output_options(demo)
    demo.set_defaults(func=cmd_demo)
    demo_build = sub.add_parser("demo-image", help="Only build and push the demo image; prints its reference.")
    _registry_options(demo_build)
    demo_build.set_defaults(func=cmd_demo_build)

    sandbox = sub.add_parser("sandbox", help="The local sandbox.")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    sweep_parser = sandbox_sub.add_parser(
        "sweep", help="Remove what killed analyses left behind (containers, mounts, namespaces, cgroups)."
    )
    sweep_parser.add_argument("--all", action="store_true", help="Also stop sandboxes whose analysis is still running.")
    sweep_parser.set_defaults(func=cmd_sandbox_sweep)


def add_ui_command(sub) -> None:
    ui = sub.add_parser("ui", help="Start the Dagster UI (and daemon) on this instance.")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)
