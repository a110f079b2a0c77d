"""User-facing errors.

Every mistake a user can make (a misspelled column, an unknown client, a broken
config) raises a subclass of :class:`ClvReportError`. The CLI prints its message
and exits non-zero without a traceback; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ClientNotFoundError",
    "ClvReportError",
    "ConfigError",
    "DataError",
    "ModelError",
    "RenderError",
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
        return text


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
