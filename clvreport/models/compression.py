"""Customers with identical histories compressed into weighted distinct rows.

The likelihoods and predictions are computed once per distinct ``(x, t_x, T)``
(or distinct row of several columns), so their cost grows with the number of
distinct histories, not customers.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from clvreport.errors import DataError
from clvreport.models.inputs import ArrayLike, as_column, check_rfm

__all__ = [
    "RfmData",
    "clear_histories_cache",
    "compress_rfm",
    "content_key",
    "distinct_histories",
    "distinct_rows",
    "factorize_pairs",
]


@dataclass(frozen=True, eq=False)
class RfmData:
    """Distinct ``(x, t_x, T)`` rows with the number of customers sharing each.

    Create it with :func:`compress_rfm`. Besides the rows it keeps the distinct
    values of ``x``, ``t_x`` and ``T`` with each row's index into them, so a
    model can evaluate expensive functions once per distinct value or pair.

    Attributes
    ----------
    x, t_x, T, weight
        One entry per distinct row.
    """

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weight: np.ndarray

    @property
    def n_rows(self) -> int:
        """Number of distinct rows."""
        return int(self.x.size)

    @cached_property
    def n_customers(self) -> float:
        """Total weight (number of customers)."""
        return float(self.weight.sum())

    @cached_property
    def x_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, values)``: each row's index into the distinct ``x`` values."""
        codes, values = pd.factorize(self.x, sort=True)
        return codes, np.asarray(values, dtype=float)

    @cached_property
    def t_x_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, values)`` for the distinct recencies."""
        codes, values = pd.factorize(self.t_x)
        return codes, np.asarray(values, dtype=float)

    @cached_property
    def T_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, values)`` for the distinct ages."""
        codes, values = pd.factorize(self.T)
        return codes, np.asarray(values, dtype=float)

    def pair_codes(self, which: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct ``(x, t)`` pairs for ``which`` in ``{"t_x", "T"}``.

        Returns
        -------
        tuple of numpy.ndarray
            ``(codes, x_values, t_values)``: each row's index into the pairs.
        """
        return self._pairs[which]

    @cached_property
    def _pairs(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        out = {}
        for which, (t_code, t_values) in (("t_x", self.t_x_codes), ("T", self.T_codes)):
            key = self.x.astype(np.int64) * np.int64(t_values.size) + t_code
            codes, uniques = pd.factorize(key)
            uniques = np.asarray(uniques, dtype=np.int64)
            out[which] = (
                codes,
                (uniques // t_values.size).astype(float),
                t_values[uniques % t_values.size],
            )
        return out

    def subsample(self, n_customers: float, rng: np.random.Generator) -> RfmData:
        """A random weighted subsample of about ``n_customers`` customers."""
        fraction = min(1.0, n_customers / self.n_customers)
        weight = rng.binomial(np.round(self.weight).astype(np.int64), fraction).astype(float)
        keep = weight > 0
        return RfmData(self.x[keep], self.t_x[keep], self.T[keep], weight[keep])


def compress_rfm(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
) -> RfmData:
    """Check the summary arrays and merge customers with identical ``(x, t_x, T)``.

    Parameters
    ----------
    frequency
        Number of repeat purchases ``x`` (whole numbers >= 0).
    recency
        Time from the first to the last purchase, ``t_x`` (0 when ``x == 0``).
    T
        Time from the first purchase to the end of the period.
    weights
        Number of customers each row stands for (default 1).

    Returns
    -------
    RfmData
        Distinct rows with summed weights.

    Raises
    ------
    clvreport.errors.DataError
        For impossible values (negative, recency > T, ...), naming the row.

    Examples
    --------
    >>> data = compress_rfm([0, 0, 2], [0.0, 0.0, 3.0], [5.0, 5.0, 5.0])
    >>> data.n_rows, data.n_customers
    (2, 3.0)
    """
    x, t_x, age = check_rfm(frequency, recency, T)
    if weights is None:
        w = None
    else:
        w = as_column(weights, "weights")
        if w.size != x.size or (w < 0).any():
            raise DataError("weights must be one non-negative number per customer")
    t_code, t_values = pd.factorize(t_x)
    T_code, T_values = pd.factorize(age)
    span = np.int64(t_values.size) * np.int64(T_values.size)
    if (x.max(initial=0) + 1) * float(span) < 2**62:
        key = (x.astype(np.int64) * span + t_code.astype(np.int64) * T_values.size) + T_code
        codes, uniques = pd.factorize(key)
        uniques = np.asarray(uniques, dtype=np.int64)
        ux = (uniques // span).astype(float)
        rest = uniques % span
        ut = np.asarray(t_values, dtype=float)[rest // T_values.size]
        uT = np.asarray(T_values, dtype=float)[rest % T_values.size]
    else:  # pragma: no cover - astronomically many distinct values
        frame = pd.DataFrame({"x": x, "t": t_x, "T": age})
        codes, uniques_frame = pd.MultiIndex.from_frame(frame).factorize()
        ux, ut, uT = (np.asarray(uniques_frame.get_level_values(i), float) for i in range(3))
    counts = np.bincount(codes, weights=w, minlength=ux.size).astype(float)
    keep = counts > 0
    return RfmData(ux[keep], ut[keep], uT[keep], counts[keep])


_KEY_LIMIT = 2**62
"""Largest mixed-radix key :func:`distinct_rows` builds before compressing it."""


def distinct_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of several equal-length columns, to compute once per distinct history.

    Returns
    -------
    tuple of numpy.ndarray
        ``(codes, first)``: each row's distinct-row index, and for each distinct
        row the index of its first occurrence (so ``column[first][codes] == column``).

    Examples
    --------
    >>> codes, first = distinct_rows(np.array([1, 1, 2, 1]), np.array([5, 5, 5, 6]))
    >>> codes.tolist(), first.tolist()
    ([0, 0, 1, 2], [0, 2, 3])
    """
    # Each column's codes are digits of one mixed-radix key (a missing value is a value of
    # its own), compressed again only when the next column's digits would not fit: one
    # hash pass per column and one for the key, not two per column.
    key = np.zeros(len(columns[0]), dtype=np.int64)
    size = 1
    for column in columns:
        column_codes, uniques = pd.factorize(column, use_na_sentinel=False)
        base = max(len(uniques), 1)
        if size * base >= _KEY_LIMIT:
            key, kept = pd.factorize(key)
            size = max(len(kept), 1)
        key = key * np.int64(base) + column_codes
        size *= base
    codes, _ = pd.factorize(key)
    codes = codes.astype(np.int64, copy=False)
    n_unique = int(codes.max()) + 1 if codes.size else 0
    first = np.full(n_unique, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(codes.size - 1, -1, -1)
    return codes, first


def content_key(*arrays: ArrayLike, label: str = "") -> bytes:
    """A digest of ``label`` and the float values and shapes of ``arrays``, to key a cache by.

    Examples
    --------
    >>> content_key(np.array([1.0, 2.0])) == content_key([1, 2])
    True
    >>> content_key(np.array([1.0, 2.0])) == content_key(np.array([[1.0, 2.0]]))
    False
    """
    digest = hashlib.blake2b(digest_size=20)
    digest.update(label.encode())
    for values in arrays:
        array = np.ascontiguousarray(np.asarray(values, dtype=float))
        digest.update(repr(array.shape).encode())
        digest.update(array.data)
    return digest.digest()


_HISTORIES: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
_HISTORIES_LOCK = threading.Lock()
_HISTORIES_KEPT = 2  # the scoring summary's and the calibration summary's


def distinct_histories(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`distinct_rows` of the histories ``(x, t_x, T)``, found once for the same values.

    The scores, the lifetime values and the next-purchase windows of one summary
    each need its distinct histories (at 17 million customers seconds each to
    find, a fraction of that to recognise). The last two results are kept,
    by the bytes of the three columns, until :func:`clear_histories_cache`.
    The arrays returned are shared: read them, do not write to them.

    Examples
    --------
    >>> x, t = np.array([1.0, 1.0, 2.0]), np.array([3.0, 3.0, 4.0])
    >>> codes, first = distinct_histories(x, t, t)
    >>> codes.tolist(), first.tolist(), distinct_histories(x, t, t)[0] is codes
    ([0, 0, 1], [0, 2], True)
    """
    key = content_key(x, t_x, T)
    with _HISTORIES_LOCK:
        found = _HISTORIES.get(key)
    if found is None:
        found = distinct_rows(x, t_x, T)
        with _HISTORIES_LOCK:
            while len(_HISTORIES) >= _HISTORIES_KEPT:
                del _HISTORIES[next(iter(_HISTORIES))]
            _HISTORIES[key] = found
    return found


def clear_histories_cache() -> None:
    """Forget the kept :func:`distinct_histories` (their codes take 8 bytes a customer)."""
    with _HISTORIES_LOCK:
        _HISTORIES.clear()


def factorize_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``(a, b)`` pairs of two equal-length arrays.

    Parameters
    ----------
    a, b
        1-D arrays.

    Returns
    -------
    tuple of numpy.ndarray
        ``(codes, a_values, b_values)`` with ``a == a_values[codes]`` and
        ``b == b_values[codes]``.

    Examples
    --------
    >>> codes, a, b = factorize_pairs(np.array([1.0, 1.0, 2.0]), np.array([3.0, 3.0, 3.0]))
    >>> codes.tolist(), a.tolist(), b.tolist()
    ([0, 0, 1], [1.0, 2.0], [3.0, 3.0])
    """
    a_code, a_values = pd.factorize(np.asarray(a, dtype=float))
    b_code, b_values = pd.factorize(np.asarray(b, dtype=float))
    key = a_code.astype(np.int64) * np.int64(max(len(b_values), 1)) + b_code
    codes, uniques = pd.factorize(key)
    uniques = np.asarray(uniques, dtype=np.int64)
    n_b = max(len(b_values), 1)
    return (
        codes,
        np.asarray(a_values, dtype=float)[uniques // n_b],
        np.asarray(b_values, dtype=float)[uniques % n_b],
    )
