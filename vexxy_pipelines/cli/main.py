"""`vexxy`'s entry point: the command the arguments name, its errors said plainly."""

from __future__ import annotations

import signal

from rich.markup import escape

from vexxy.errors import VexxyError
from vexxy_pipelines.cli.common import console
from vexxy_pipelines.cli.parser import build_parser


def _default_termination() -> None:
    """Let SIGTERM end the processes this command starts (Dagster's compute-log `tail -F`s among them).

    A launcher that ignores SIGTERM (nohup-style supervisors, some CI runners) passes that on to every
    child; Dagster stops its log tails with SIGTERM, so they would outlive the command and hold its
    output pipe open, and a caller reading that pipe (`$(vexxy db update)`) would wait forever."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    _default_termination()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except VexxyError as exc:
        console.print(f"[red]error:[/] {escape(exc.message)}")
        if exc.hint:
            console.print(f"[yellow]what to do:[/] {escape(exc.hint)}")
        return 2
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]")
        return 130
