"""What the CLI tests of careless and hostile input share: run a command, check it ended cleanly.

``invoke`` runs ``clvreport`` in-process; ``clean`` asserts the exit code, that
no traceback (or uncaught exception) leaked and that every expected text is in
the output; ``copy_branded`` puts the ``acme`` fixture client in a data folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner, Result

from clvreport.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
BRANDED = FIXTURES / "clients" / "branded"
"""A valid client with its own brand, copied as ``acme`` into each test's data folder."""


def invoke(*args: object) -> Result:
    """Run ``clvreport`` with ``args`` (turned into strings) in this process."""
    return CliRunner().invoke(app, [str(a) for a in args])


def clean(result: Result, code: int, *texts: str, squash: bool = False, plain: bool = False) -> str:
    """The run ended with ``code``, cleanly, and says every one of ``texts``.

    ``squash`` compares against the output with runs of white space made one
    space (rich wraps long messages); ``plain`` also asserts no terminal colour
    codes reached the output.
    """
    output = " ".join(result.output.split()) if squash else result.output
    assert result.exit_code == code, result.output
    # CliRunner swallows uncaught exceptions: only SystemExit (typer.Exit) may end a run.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in output
    if plain:
        assert "\x1b" not in output
    for text in texts:
        assert text in output, f"{text!r} not in:\n{output}"
    return output


def copy_branded(tmp_path: Path) -> Path:
    """A data folder under ``tmp_path`` holding the branded fixture as client ``acme``."""
    data = tmp_path / "data"
    shutil.copytree(BRANDED, data / "acme")
    return data
