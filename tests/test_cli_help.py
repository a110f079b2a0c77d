"""The CLI's help reads like a CLI: -h, plain metavars, no reStructuredText, honest defaults."""

import re

import pytest
from typer.testing import CliRunner

from clvreport.cli import app
from clvreport.config import DataPolicies

COMMANDS = ["report", "clients", "validate", "init", "summary", "fit", "compare"]
runner = CliRunner()


def help_text(*args: str) -> str:
    result = runner.invoke(app, [*args], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_dash_h_is_help(command):
    assert help_text(command, "-h") == help_text(command, "--help")
    assert "Usage: clvreport " + command in help_text(command, "-h")


def test_dash_h_on_the_app():
    assert "Usage: clvreport" in help_text("-h")


@pytest.mark.parametrize("command", COMMANDS)
def test_metavars_are_conventional_and_no_rst(command):
    text = help_text(command, "-h")
    assert not re.search(r"<(str|bool|int|float|path|list\[[^]]*\])>", text), text
    assert "``" not in text and ":func:" not in text and "::" not in text


def test_metavars_name_the_kind_of_value():
    text = help_text("summary", "-h")
    assert re.search(r"--customer-col\s+TEXT", text)
    assert re.search(r"--out\s+PATH", text)
    assert re.search(r"--zero-amounts\s+\[drop\|keep\]", text)
    flag = next(line for line in text.splitlines() if "--json" in line)
    assert "TEXT" not in flag and "bool" not in flag.lower().replace("json", "")
    assert "FILES..." in text


@pytest.mark.parametrize("command", ["summary", "fit"])
def test_row_policy_defaults_are_client_ymls(command):
    text = " ".join(help_text(command, "-h").split())
    defaults = DataPolicies()
    for option, value in (
        ("--zero-amounts", defaults.zero_amounts),
        ("--duplicates", defaults.duplicates),
        ("--returns", defaults.returns),
    ):
        # the option's own row ("--duplicates [auto|keep|drop] ... [default: auto]"), not an
        # example in the description that uses the option
        shown = re.search(re.escape(option) + r" \[[\w|]+\] .*?\[default: (\w+)\]", text)
        assert shown is not None and shown.group(1) == value, option
    assert (defaults.zero_amounts, defaults.duplicates) == ("keep", "auto")


def test_a_long_step_shows_its_name_and_time_on_a_terminal_only():
    import io
    import time

    from rich.console import Console

    from clvreport.cli.progress import running

    terminal = Console(file=io.StringIO(), force_terminal=True, width=80)
    with running("fitting the models", terminal):
        time.sleep(0.3)
    shown = terminal.file.getvalue()
    # the elapsed time is shown (its value depends on the machine: only its shape is asserted)
    assert "fitting the models" in shown and re.search(r"\d+:\d\d:\d\d", shown)
    piped = Console(file=io.StringIO(), force_terminal=False)
    with running("fitting the models", piped):
        pass
    assert piped.file.getvalue() == ""
