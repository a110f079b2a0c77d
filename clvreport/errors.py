"""User-facing errors.

Every mistake a user can make (a misspelled column, an unknown client, a broken
config) raises a subclass of :class:`ClvReportError`. The CLI prints its message
and exits non-zero without a traceback; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

__all__ = [
    "ClientNotFoundError",
    "ClvReportError",
    "ConfigError",
    "DataError",
    "InterruptedRun",
    "ModelError",
    "OutputError",
    "RenderError",
    "output_error",
]


class ClvReportError(Exception):
    """Base class for errors caused by input or configuration, not by a bug.

    Parameters
    ----------
    message
        What is wrong, in one or more plain sentences.
    path
        The file the problem is in, if there is one.
    hint
        How to fix it.
    """

    def __init__(self, message: str, *, path: Path | str | None = None, hint: str | None = None):
        self.message = message
        self.path = Path(path) if path is not None else None
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path is not None else self.message
        if self.hint:
            text += f"\nFix: {self.hint}"
        # a hostile value quoted in a message must not drive the analyst's terminal
        return _CONTROL.sub("", text)


_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x9b]")


class ConfigError(ClvReportError):
    """A ``client.yml`` or ``_brand.yml`` is missing, malformed or invalid."""


class ClientNotFoundError(ClvReportError):
    """The client name does not match a folder ``data/<client>/`` with a ``client.yml``."""


class DataError(ClvReportError):
    """The transaction data cannot be read or does not make sense."""


class ModelError(ClvReportError):
    """A model cannot be fitted or used on this data."""


class RenderError(ClvReportError):
    """A rendering step (notebook execution, Typst, pandoc, Quarto) failed.

    Parameters
    ----------
    step
        The pipeline step that failed, e.g. ``"execute notebook"``.
    message
        What went wrong.
    """

    def __init__(self, step: str, message: str, **kwargs):
        self.step = step
        super().__init__(f"step '{step}' failed: {message}", **kwargs)


class OutputError(ClvReportError):
    """An output file or folder cannot be written: no permission, disk full, a file in the way."""


class InterruptedRun(ClvReportError):
    """The user interrupted a run (Ctrl-C); nothing was published."""

    exit_code = 130

    def __init__(self, message: str = "interrupted, nothing published", **kwargs):
        super().__init__(message, **kwargs)


_NO_PERMISSION = {errno.EACCES, errno.EPERM}
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
WRITE_ERRNOS = frozenset(
    {*_NO_PERMISSION, *_DISK_FULL, errno.EROFS, errno.ENOTDIR, errno.EEXIST, errno.EISDIR}
)
"""``errno`` values :func:`output_error` explains: no permission, disk full, a file in the way."""


def output_error(
    exc: OSError, path: Path | str | None, what: str, *, option: str = "--out"
) -> OutputError:
    """Explain an :class:`OSError` met while writing ``what`` to ``path``.

    Parameters
    ----------
    exc
        The error from the file system.
    path
        The file or folder that was being written (default: the error's own file name).
    what
        What was being written, e.g. ``"the report"``.
    option
        The command-line option that chooses the location, named in the fix.

    Returns
    -------
    OutputError
        One message: what failed, where, and what to do.

    Examples
    --------
    >>> import errno
    >>> error = output_error(OSError(errno.ENOSPC, "No space left on device"), "out", "the report")
    >>> error.message
    'cannot write the report: the disk is full'
    >>> error.hint
    'free disk space, or choose a folder on another disk with --out'
    """
    target = Path(path) if path is not None else (Path(exc.filename) if exc.filename else None)
    code = exc.errno
    if code in _DISK_FULL:
        reason = "the disk is full"
        hint = f"free disk space, or choose a folder on another disk with {option}"
    elif code in _NO_PERMISSION:
        reason = "permission denied"
        hint = f"choose a folder you may write to with {option}, or ask for write access"
    elif code == errno.EROFS:
        reason = "the file system is read-only"
        hint = f"choose a writable folder with {option}"
    elif code in (errno.ENOTDIR, errno.EEXIST) or isinstance(
        exc, (NotADirectoryError, FileExistsError)
    ):
        blocker = _existing_file(target)
        where = f"'{blocker}' is a file, not a folder" if blocker else "a file is in the way"
        reason = where
        hint = f"choose a folder with {option}, or move that file away"
    elif code == errno.EISDIR or isinstance(exc, IsADirectoryError):
        reason = "that is a folder, not a file"
        hint = f"give {option} a file name"
    else:
        reason = exc.strerror or str(exc)
        hint = f"check the location, or choose another one with {option}"
    return OutputError(f"cannot write {what}: {reason}", path=target, hint=hint)


def _existing_file(path: Path | None) -> Path | None:
    """The first existing non-folder on the way to ``path`` (``path`` itself included)."""
    if path is None:
        return None
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None
