"""Checks of the model inputs: the summary columns and the ``(x, t_x, T)`` values.

Every model and scoring function runs these first, so bad input is one
:class:`~clvreport.errors.DataError` naming the column and the first bad row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from clvreport.errors import DataError

__all__ = [
    "ArrayLike",
    "as_column",
    "check_rfm",
    "validate_summary",
]


ArrayLike = np.ndarray | pd.Series | Sequence[float]


def validate_summary(
    summary: pd.DataFrame, columns: Sequence[str] = ("frequency", "recency", "T")
) -> None:
    """Check that a summary table has the columns a model reads, as finite numbers.

    Parameters
    ----------
    summary
        Customer summary table (one row per customer).
    columns
        Columns that must be present.

    Raises
    ------
    clvreport.errors.DataError
        Naming the missing or non-numeric column and the first bad row.

    Examples
    --------
    >>> validate_summary(pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [3.0]}))
    """
    if not isinstance(summary, pd.DataFrame):
        raise DataError(
            f"expected a summary DataFrame, got {type(summary).__name__}",
            hint="pass the table from clvreport.rfm.rfm_summary",
        )
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise DataError(
            f"summary table lacks column(s) {', '.join(missing)}",
            hint=f"the models need {', '.join(columns)}; build the table with rfm_summary",
        )
    for column in columns:
        values = pd.to_numeric(summary[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = summary.index[int(np.argmax(bad))]
            raise DataError(
                f"summary column {column!r} has a missing or non-numeric value at row {row!r}",
                hint="every customer needs a number in each summary column",
            )


def as_column(values: ArrayLike, name: str) -> np.ndarray:
    """``values`` as a 1-D float array; a missing or infinite value is a DataError naming ``name``.

    Examples
    --------
    >>> as_column([1, 2.5], "frequency").tolist()
    [1.0, 2.5]
    """
    array = np.asarray(values, dtype=float).reshape(-1)
    if not np.isfinite(array).all():
        row = int(np.argmax(~np.isfinite(array)))
        raise DataError(f"{name} has a missing or infinite value at position {row}")
    return array


def _first_bad(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def check_rfm(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check and convert frequency, recency and T arrays.

    Used by :func:`~clvreport.models.compression.compress_rfm` and the scoring functions.

    Parameters
    ----------
    frequency, recency, T
        Repeat purchases, time of the last purchase and age, per customer.

    Returns
    -------
    tuple of numpy.ndarray
        ``(x, t_x, T)`` as float arrays.

    Raises
    ------
    clvreport.errors.DataError
        When a value is impossible, naming the position and the rule.
    """
    x = as_column(frequency, "frequency")
    t_x = as_column(recency, "recency")
    age = as_column(T, "T")
    if not (x.size == t_x.size == age.size):
        raise DataError(
            f"frequency, recency and T differ in length ({x.size}, {t_x.size}, {age.size})"
        )
    checks = [
        ((x < 0) | (x != np.floor(x)), "frequency must be a whole number >= 0"),
        (age < 0, "T (customer age) must be >= 0"),
        (t_x < 0, "recency must be >= 0"),
        (t_x > age * (1 + 1e-9) + 1e-12, "recency (time of last purchase) must be <= T"),
        ((x == 0) & (t_x != 0), "recency must be 0 for customers without repeat purchases"),
    ]
    for bad, rule in checks:
        if bad.any():
            i = _first_bad(bad)
            raise DataError(
                f"impossible customer summary at position {i} "
                f"(frequency={x[i]:g}, recency={t_x[i]:g}, T={age[i]:g}): {rule}",
                hint="check that recency and T are measured in the same time unit from "
                "each customer's first purchase",
            )
    return x, np.minimum(t_x, age), age
