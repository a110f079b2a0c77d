"""Step 1 of rendering: execute the report notebook with papermill."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from clvreport.errors import RenderError

__all__ = ["KERNEL_NAME", "execute_notebook", "kernel_name"]

KERNEL_NAME = "clvreport"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# User-facing errors raised inside the notebook keep their message, not a traceback.
_USER_ERRORS = {"ClvReportError", "ConfigError", "DataError", "ModelError", "ClientNotFoundError"}


def kernel_name() -> str:
    """The Jupyter kernel papermill runs: ``clvreport`` if registered, else ``python3``.

    ``make install`` registers the ``clvreport`` kernel inside the virtualenv;
    ``python3`` is ipykernel's built-in spec for the running interpreter.
    """
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL_NAME if KERNEL_NAME in KernelSpecManager().find_kernel_specs() else "python3"


def _cell_summary(source: str, limit: int = 6) -> str:
    lines = [line for line in source.splitlines() if line.strip() and not line.startswith("#|")]
    shown = "\n".join(f"    {line}" for line in lines[:limit])
    return shown + ("\n    ..." if len(lines) > limit else "")


def execute_notebook(
    notebook: Path, output: Path, parameters: dict[str, Any], *, cwd: Path
) -> Path:
    """Execute ``notebook`` with ``parameters`` into ``output``, running in ``cwd``.

    Parameters
    ----------
    notebook
        The parameterised report notebook.
    output
        Where the executed notebook is written.
    parameters
        Values for the notebook's ``parameters`` cell.
    cwd
        Working directory of the kernel; the notebook writes its figures and
        data files there.

    Returns
    -------
    Path
        ``output``.

    Raises
    ------
    RenderError
        If a cell fails. The message shows the failing cell and the exception,
        not the full traceback; a user error raised in the notebook (bad data,
        bad config) keeps its own message.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name=kernel_name(),
            cwd=str(cwd),
            progress_bar=False,
            log_output=False,
            # The kernel's own start-up warnings (e.g. about local TCP transport) are
            # noise for an analyst; cell errors still come back through papermill.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except PapermillExecutionError as exc:
        evalue = _ANSI.sub("", str(exc.evalue))
        if exc.ename in _USER_ERRORS:
            raise RenderError("execute notebook", evalue) from None
        raise RenderError(
            "execute notebook",
            f"cell {exc.cell_index} raised {exc.ename}: {evalue}\n"
            f"  the cell:\n{_cell_summary(exc.source)}",
        ) from None
    except FileNotFoundError as exc:
        raise RenderError("execute notebook", str(exc)) from None
    return output
