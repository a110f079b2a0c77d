"""The one reader of dates a user writes: ``as_of``, ``--as-of``, ``--holdout-end``, ...

A date is written year-month-day, ``YYYY-MM-DD`` (``2024-12-31``): the form
every client.yml, command-line option and comparison in clvreport takes, and
the one form nobody can read two ways (``01-02-2024`` is 1 February in
Amsterdam and 2 January in New York). Dates that are already dates (a
``datetime.date``, a ``datetime``, a pandas ``Timestamp``, a NumPy
``datetime64``: what YAML, the engine and pandas hand over) are taken as they
are, at day precision.

Dates inside a client's export are another matter: their format is detected
or configured per file (:mod:`clvreport.ingest`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, overload

import numpy as np
import pandas as pd

from clvreport.errors import ClvReportError, ConfigError

__all__ = ["ACCEPTED_FORMS", "parse_date"]

ACCEPTED_FORMS = "a date written YYYY-MM-DD (year-month-day)"
"""What :func:`parse_date` accepts, in the words of its error message."""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@overload
def parse_date(
    value: None, what: str = ..., *, error: type[ClvReportError] = ...
) -> None: ...  # pragma: no cover


@overload
def parse_date(
    value: dt.date | str | pd.Timestamp | np.datetime64,
    what: str = ...,
    *,
    error: type[ClvReportError] = ...,
) -> dt.date: ...  # pragma: no cover


def parse_date(
    value: Any, what: str = "date", *, error: type[ClvReportError] = ConfigError
) -> dt.date | None:
    """Read a date a user wrote, or a date object, at day precision.

    Parameters
    ----------
    value
        ``YYYY-MM-DD`` text (spaces around it are ignored), a
        ``datetime.date``/``datetime``/``pandas.Timestamp``/``numpy.datetime64``
        (its day), or ``None`` (returned as is).
    what
        What the date is, as the user wrote it: ``"--as-of"``,
        ``"as_of"``, ``"calibration end"``. An option (``--...``) is repeated
        in the example of the fix.
    error
        The error class to raise: :class:`~clvreport.errors.ConfigError`
        (a setting or option) by default; library functions that take the
        date as an argument of the data pass :class:`~clvreport.errors.DataError`.

    Returns
    -------
    datetime.date or None

    Raises
    ------
    ClvReportError
        Of class ``error``, naming ``what``, the value and the accepted form:
        ``--as-of '31-12-2024' is not a date: expected a date written
        YYYY-MM-DD (year-month-day)``, or for an impossible day such as
        ``2024-02-30`` the reason (``day is out of range for month``).

    Examples
    --------
    >>> parse_date("2024-12-31"), parse_date(pd.Timestamp("2024-12-31 10:30")), parse_date(None)
    (datetime.date(2024, 12, 31), datetime.date(2024, 12, 31), None)
    >>> parse_date("31-12-2024", "--as-of")
    Traceback (most recent call last):
    ...
    clvreport.errors.ConfigError: --as-of '31-12-2024' is not a date: expected a date \
written YYYY-MM-DD (year-month-day)
    Fix: write the date as year-month-day, e.g. --as-of 2024-12-31
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):  # pandas Timestamps too
        if pd.isna(value):
            raise _error(error, what, value, "it is missing")
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise _error(error, what, value, "it is missing")
        return pd.Timestamp(value).date()
    text = str(value).strip() if isinstance(value, str) else None
    if text is None or not _ISO_DATE.fullmatch(text):
        raise _error(error, what, value, f"expected {ACCEPTED_FORMS}")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise _error(error, what, value, str(exc)) from None


def _error(error: type[ClvReportError], what: str, value: Any, why: str) -> ClvReportError:
    example = f"{what} 2024-12-31" if what.startswith("--") else "2024-12-31"
    return error(
        f"{what} '{value}' is not a date: {why}",
        hint=f"write the date as year-month-day, e.g. {example}",
    )
