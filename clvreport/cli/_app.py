"""The typer application and the error handling every command shares."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import typer
import typer.core
from rich.console import Console
from rich.markup import escape as _markup_escape

from clvreport.errors import WRITE_ERRNOS, ClvReportError, InterruptedRun, output_error
from clvreport.safe_files import printable

_TYPE_NAMES = {str: "TEXT", int: "INTEGER", float: "FLOAT", Path: "PATH"}


def _plain_metavar(self: Any, ctx: Any) -> str | None:
    """The conventional metavar: ``TEXT``, ``PATH``, ``INTEGER``, ``[drop|keep]``; none for a flag.

    Typer's own (``<str>``, ``<bool>``, ``<list[str]>``) reads like Python, not like a CLI.
    """
    if getattr(self, "is_flag", False) or getattr(self, "is_bool_flag", False):
        return None
    if self.metavar is not None:
        return self.metavar
    desc = self.type_descriptor
    if desc.is_choice:
        metavar = "[" + "|".join(str(getattr(c, "value", c)) for c in desc.choices or ()) + "]"
    elif desc.is_path:
        metavar = "PATH"
    elif desc.is_datetime:
        metavar = "DATE"
    else:
        annotation = desc.annotation
        args = get_args(annotation) if get_origin(annotation) in (list, tuple) else ()
        element = args[0] if args else annotation
        metavar = _TYPE_NAMES.get(element, "TEXT")
    return metavar + ("..." if self.nargs != 1 else "")


def _usage_name(self: Any) -> str:
    """An argument in the usage line as click writes it: ``FILES...``, ``[CLIENT]``."""
    name = (self.metavar or self.name or "").upper()
    name = name if self.required else f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


typer.core.TyperOption.display_type_rich = _plain_metavar  # type: ignore[method-assign]
typer.core.TyperArgument.display_type_rich = _plain_metavar  # type: ignore[method-assign]
typer.core.TyperArgument._usage_display_name = _usage_name  # type: ignore[method-assign]

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
"""``-h`` is ``--help``, on the app and on every command."""

app = typer.Typer(
    name="clvreport",
    help="Customer-lifetime-value reports from transaction exports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=HELP_OPTIONS,
)
console = Console(stderr=True, highlight=False)


def _print_version(value: bool) -> None:
    if value:
        from clvreport import __version__

        typer.echo(f"clvreport {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the clvreport version and exit.",
        callback=_print_version,
        is_eager=True,
    ),
) -> None:
    """Customer-lifetime-value reports from transaction exports."""


F = TypeVar("F", bound=Callable[..., Any])

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

__all__ = ["app", "console", "escape", "main", "print_error", "user_errors"]


def escape(text: object) -> str:
    """Text for the console: rich markup escaped, terminal control codes removed.

    Everything the CLI prints of a client folder (names, headers, values) goes
    through here, so a hostile export cannot clear or recolour the terminal.
    """
    return _markup_escape(printable(text))


def print_error(exc: ClvReportError) -> None:
    """Print ``exc`` as one message; its text is user data, never rich markup."""
    console.print(f"[bold red]Error:[/] {escape(str(exc))}", soft_wrap=True)


def user_errors(func: F) -> F:
    """Turn a user-facing failure into a one-screen message and a non-zero exit code.

    * :class:`ClvReportError` (bad input, config, data): its message, exit code 2.
    * :class:`OSError` that reached the CLI (a file that cannot be written or
      read): what, which path and what to do, exit code 2.
    * Ctrl-C: "interrupted, nothing published", exit code 130.

    Anything else is a bug and keeps its traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (KeyboardInterrupt, InterruptedRun):
            console.print(f"[bold red]{escape(InterruptedRun().message)}[/]", soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except ClvReportError as exc:
            print_error(exc)
            raise typer.Exit(EXIT_USER_ERROR) from None
        except OSError as exc:
            if exc.errno in WRITE_ERRNOS:
                print_error(output_error(exc, None, "a file"))
            else:
                print_error(
                    ClvReportError(
                        exc.strerror or str(exc),
                        path=exc.filename,
                        hint="check that the file exists and that you may read it",
                    )
                )
            raise typer.Exit(EXIT_USER_ERROR) from None

    return wrapper  # type: ignore[return-value]


def main() -> None:
    """Run the CLI (entry point)."""
    app()
