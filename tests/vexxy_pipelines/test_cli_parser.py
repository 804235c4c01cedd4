"""Every command that analyzes an image takes the same output options: a pipeline can gate on `vexxy demo`
as on `vexxy analyze`."""

import pytest

from vexxy.vex.summary import FAIL_ON_CHOICES
from vexxy_pipelines.cli.image_analysis import FORMATS
from vexxy_pipelines.cli.parser import build_parser


@pytest.mark.parametrize("command", [["analyze", "registry.example/app:1"], ["demo"]])
def test_analyzing_commands_take_format_and_fail_on(command):
    args = build_parser().parse_args([*command, "--format", "sarif", "--fail-on", "high"])
    assert (args.format, args.fail_on) == ("sarif", "high")
    defaults = build_parser().parse_args(command)
    assert (defaults.format, defaults.fail_on) == ("table", None)


@pytest.mark.parametrize("command", [["analyze", "registry.example/app:1"], ["demo"]])
def test_unknown_values_are_refused_by_the_parser(command, capsys):
    for option, value in (("--format", "xml"), ("--fail-on", "severe")):
        with pytest.raises(SystemExit) as refused:
            build_parser().parse_args([*command, option, value])
        assert refused.value.code == 2
        assert "invalid choice" in capsys.readouterr().err
    assert "xml" not in FORMATS and "severe" not in FAIL_ON_CHOICES
