"""A progress line for long steps: what runs and for how long, on a terminal only.

``with running("fitting the models"):`` shows ``⠋ fitting the models 0:00:12`` on
standard error while the step runs and removes it after; piped or redirected output
(and ``--json``) stays exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

__all__ = ["running"]


@contextmanager
def running(step: str, console: Console | None = None) -> Iterator[None]:
    """Show ``step`` with its elapsed time while the block runs, when on a terminal."""
    if console is None:
        from clvreport.cli._app import console as shared

        console = shared
    if not console.is_terminal:
        yield
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        progress.add_task(step, total=None)
        yield
