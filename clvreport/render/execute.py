"""Step 1 of rendering: execute the report notebook with papermill."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from clvreport.errors import WRITE_ERRNOS, InterruptedRun, RenderError

__all__ = ["KERNEL_NAME", "execute_notebook", "kernel_name"]

KERNEL_NAME = "clvreport"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# User-facing errors raised inside the notebook keep their message, not a traceback.
_USER_ERRORS = {"ClvReportError", "ConfigError", "DataError", "ModelError", "ClientNotFoundError"}
_OS_ERRORS = {"OSError", "PermissionError", "FileExistsError", "NotADirectoryError"}
_ERRNO = re.compile(r"\[Errno (\d+)\] ([^:]+)(?::\s*'(.*)')?")
# Disk full and friends inside the kernel become an OSError here, explained by the caller.


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

    before = _children()
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name=kernel_name(),
            cwd=str(cwd),
            progress_bar=False,
            log_output=False,
            # The kernel's own log (start-up warnings about local TCP transport, and
            # "KeyboardInterrupt caught in kernel" when jupyter_client interrupts an
            # idle kernel before shutting it down) is noise for an analyst; cell
            # errors still come back through papermill.
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except KeyboardInterrupt:
        _stop_kernels(before)
        raise InterruptedRun() from None
    except PapermillExecutionError as exc:
        evalue = _ANSI.sub("", str(exc.evalue))
        if exc.ename == "KeyboardInterrupt":
            raise InterruptedRun() from None
        os_error = _os_error(exc.ename, evalue)
        if os_error is not None:
            raise os_error from None
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


def _os_error(ename: str, evalue: str) -> OSError | None:
    """A write error raised in the kernel (``[Errno 28] No space left on device: 'x'``)."""
    if ename not in _OS_ERRORS:
        return None
    match = _ERRNO.match(evalue)
    if match is None or int(match.group(1)) not in WRITE_ERRNOS:
        return None
    return OSError(int(match.group(1)), match.group(2).strip(), match.group(3))


def _children() -> set[int]:
    import psutil

    try:
        return {child.pid for child in psutil.Process().children(recursive=True)}
    except psutil.Error:  # pragma: no cover
        return set()


def _stop_kernels(before: set[int]) -> None:
    """Stop the kernel processes this execution started (after Ctrl-C papermill cannot)."""
    import psutil

    try:
        started = [c for c in psutil.Process().children(recursive=True) if c.pid not in before]
    except psutil.Error:  # pragma: no cover
        return
    for child in started:
        try:
            child.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(started, timeout=3)
