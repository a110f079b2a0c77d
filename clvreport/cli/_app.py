"""The typer application and the error handling every command shares."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from clvreport.errors import ClvReportError

app = typer.Typer(
    name="clvreport",
    help="Customer-lifetime-value reports from transaction exports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])


def user_errors(func: F) -> F:
    """Turn a :class:`ClvReportError` into a one-screen message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ClvReportError as exc:
            console.print(f"[bold red]Error:[/] {exc}", markup=True, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def main() -> None:
    """Run the CLI (entry point)."""
    app()
