"""Time units of the models: days, weeks or months, never mixed.

A summary table and the model fitted on it share one time unit: ``recency``
and ``T`` are measured in it and the fitted rate parameters (``alpha``,
``beta``) are per unit. Horizons are given in months and converted here, with a
month of 365.25 / 12 days (not 30).

Examples
--------
>>> months_to_units(12, "weeks")
52.17857142857143
>>> convert_duration(7.0, "days", "weeks")
1.0
"""

from __future__ import annotations

from typing import Literal, TypeVar, get_args

import numpy as np

from clvreport.errors import ModelError

__all__ = [
    "DAYS_PER_MONTH",
    "DAYS_PER_UNIT",
    "MONTHS_PER_PERIOD",
    "PERIODS_PER_YEAR",
    "PERIOD_UNIT",
    "TimeUnit",
    "check_time_unit",
    "convert_duration",
    "horizon_periods",
    "months_to_units",
    "period_discount",
    "periods_between",
]

TimeUnit = Literal["days", "weeks", "months"]
DAYS_PER_MONTH = 365.25 / 12
DAYS_PER_UNIT: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": DAYS_PER_MONTH}

MONTHS_PER_PERIOD = {"year": 12, "quarter": 3, "month": 1}
"""Months in one period of the discrete models (a giving opportunity, a renewal)."""
PERIODS_PER_YEAR = {period: 12 // months for period, months in MONTHS_PER_PERIOD.items()}
"""Giving or payment periods in a year: 1 a year, 4 a year, 12 a year."""
PERIOD_UNIT = {"year": "years", "quarter": "quarters", "month": "months"}
"""The time unit of a discrete model fitted on those periods."""

_Number = TypeVar("_Number", float, np.ndarray)


def horizon_periods(horizon_months: int, period: str) -> int:
    """Whole periods in a horizon of ``horizon_months`` (at least one).

    Examples
    --------
    >>> horizon_periods(60, "year"), horizon_periods(24, "month"), horizon_periods(6, "year")
    (5, 24, 1)
    """
    return max(1, round(horizon_months / MONTHS_PER_PERIOD[period]))


def periods_between(days: float, period: str) -> int:
    """Whole periods in ``days`` (a period of a year is 365.25 days).

    Examples
    --------
    >>> periods_between(366, "year"), periods_between(184, "month")
    (1, 6)
    """
    return round(days / (MONTHS_PER_PERIOD[period] * DAYS_PER_MONTH))


def period_discount(period: str, periods: int, rate: float) -> np.ndarray:
    """Discount factor of each coming period ``1..periods``, at a yearly ``rate``, at its end.

    Examples
    --------
    >>> period_discount("year", 2, 0.1).round(4).tolist()
    [0.9091, 0.8264]
    """
    years = np.arange(1, periods + 1) * MONTHS_PER_PERIOD[period] / 12
    return (1 + rate) ** -years


def check_time_unit(unit: str) -> TimeUnit:
    """Return ``unit`` if it is a known time unit, else raise :class:`~clvreport.errors.ModelError`.

    Parameters
    ----------
    unit
        ``"days"``, ``"weeks"`` or ``"months"``.

    Returns
    -------
    str
        The same unit.

    Examples
    --------
    >>> check_time_unit("weeks")
    'weeks'
    """
    if unit not in get_args(TimeUnit):
        raise ModelError(
            f"unknown time unit {unit!r}",
            hint=f"use one of {', '.join(get_args(TimeUnit))}",
        )
    return unit  # type: ignore[return-value]


def convert_duration(value: _Number, from_unit: str, to_unit: str) -> _Number:
    """Convert a duration between time units.

    Parameters
    ----------
    value
        Duration(s) in ``from_unit``.
    from_unit, to_unit
        ``"days"``, ``"weeks"`` or ``"months"``.

    Returns
    -------
    float or numpy.ndarray
        The duration in ``to_unit``.

    Examples
    --------
    >>> round(convert_duration(1.0, "months", "days"), 4)
    30.4375
    """
    factor = DAYS_PER_UNIT[check_time_unit(from_unit)] / DAYS_PER_UNIT[check_time_unit(to_unit)]
    return value * factor


def months_to_units(months: _Number, unit: str) -> _Number:
    """Convert months (of 365.25 / 12 days) to the model's time unit.

    Parameters
    ----------
    months
        Number of months.
    unit
        Target time unit.

    Returns
    -------
    float or numpy.ndarray
        The same duration in ``unit``.

    Examples
    --------
    >>> months_to_units(1, "days")
    30.4375
    """
    return convert_duration(months, "months", unit)
