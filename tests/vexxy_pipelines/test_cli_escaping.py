"""What a user typed is printed as text: brackets in input or hints never become Rich markup."""

import pytest

from vexxy_pipelines.cli.main import main


def test_a_malformed_platform_is_reported_not_a_markup_error(monkeypatch, capsys):
    monkeypatch.setenv("VEXXY_PLATFORM", "linux/amd64")  # restored after the CLI sets it from --platform
    assert main(["analyze", "127.0.0.1:1/vexxy/demo:1.0", "--platform", "garbage"]) == 2
    err = capsys.readouterr().err
    assert "Platform 'garbage' is malformed." in err
    assert "os/architecture[/variant]" in err  # the hint's brackets, printed as written


@pytest.mark.parametrize("reference", ["127.0.0.1:1/vexxy/[demo:1.0", "127.0.0.1:1/vexxy/demo:[/red]1", "[bold]x[/bold]"])
def test_brackets_in_a_reference_are_printed_as_written(capsys, reference):
    assert main(["analyze", reference]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and reference in err.replace("\n", "")


def test_text_from_an_image_is_printed_with_its_control_characters_visible():
    from vexxy_pipelines.cli.audit import printable

    assert printable("/app/\x1b[2Jevil\n[bold]x[/bold].py") == "/app/\\x1b[2Jevil\\n\\[bold]x\\[/bold].py"
