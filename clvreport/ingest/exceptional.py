"""Exceptional orders: one order far larger than both the customer's other orders and the client's.

A real log can hold one order that dwarfs everything else the customer ever
bought: a wholesale customer with orders of £2.90 and £168,469.60. The
1000 × median rule of :mod:`clvreport.ingest.transactions` does not catch it
(the amount is large, not absurd), yet the spend model takes it as the
customer's typical order and makes them one of the most valuable customers.
This module finds such orders, in SQL that DuckDB and Spark both run.

The rule
--------
On the natural logarithm of the positive order amounts (rows) of the client:

* ``M``: the median order amount, and ``s = 1.4826 × MAD`` the robust standard
  deviation of the log amounts (MAD: median absolute deviation from the median
  log amount);
* ``F = exp(3.5 × s)``, kept between 10 and 1000: an amount ``F`` times the
  median has a robust z-score of 3.5 (the usual cut-off for an outlier of a
  modified z-score, Iglewicz & Hoaglin 1993), but never less than ten times,
  nor more than the 1000 times of the implausible-amount rule;
* the customer's **usual order** for one of their orders: the geometric mean
  of their *other* positive orders (the mean on the log scale, so one enormous
  order hardly moves it); a customer's only order has none;
* the order's **reference**: the larger of the usual order and ``M``.

An order is **exceptional** when its amount is above ``F × reference``: at
least ``F`` times the customer's other orders *and* ``F`` times the client's
median order (a robust z-score of at least 3.5 on the log scale). Both must
hold: a customer who always buys big is not flagged (their other orders are as
big), nor is a small customer's one ordinary order (it is not far above the
client's median). ``F`` follows the spread of the client's order amounts: on a
webshop with amounts between €10 and €100 it is 10, on a wholesaler whose
orders span pennies to thousands it is larger.

In the forecast of future spending an exceptional order counts as its
reference, an ordinary order of that customer (see
:mod:`clvreport.models.spend_caps`); what customers paid stays as it was.

The statistics come from a histogram of the log amounts in bins of 0.001
(0.1% of an amount), the same SQL on both engines, deterministic and in
constant memory also at 100 million rows. Only orders above ``F × M`` can be
exceptional, so the usual order is computed for their customers only (one
scan finds them, one more sums their log amounts); the log sums are exact
decimal sums, so both engines flag the same rows.

References
----------
.. [1] Iglewicz, B. and Hoaglin, D. C. (1993). *How to Detect and Handle
   Outliers*. ASQC Quality Press (the modified z-score and its 3.5 cut-off).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clvreport.engine import Dialect, Engine

__all__ = [
    "EXCEPTIONAL_MAX_FACTOR",
    "EXCEPTIONAL_MIN_FACTOR",
    "EXCEPTIONAL_MIN_ORDERS",
    "EXCEPTIONAL_Z",
    "ExceptionalOrderRule",
]

EXCEPTIONAL_Z = 3.5
"""Robust z-score (on the log scale) from which an order is far outside the client's orders."""
EXCEPTIONAL_MIN_FACTOR = 10.0
"""An exceptional order is at least this many times the customer's usual and the median order."""
EXCEPTIONAL_MAX_FACTOR = 1000.0
"""... and never needs to be more than this many times (the implausible-amount rule's factor)."""
EXCEPTIONAL_MIN_ORDERS = 20
"""With fewer positive orders there are no statistics and no order is exceptional."""
MAD_TO_SD = 1.4826
"""MAD × this estimates the standard deviation of normally distributed values."""
HISTOGRAM_STEP = 0.001
"""Bin width of the log-amount histogram (0.1% of an amount)."""


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The smallest value with at least half of the weight at or below it."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, 0.5 * cumulative[-1]))
    return float(values[order][min(index, len(order) - 1)])


@dataclass(frozen=True)
class ExceptionalOrderRule:
    """The client's statistics that decide which orders are exceptional.

    Attributes
    ----------
    median_order
        ``M``: the median positive order amount (to the cent).
    spread
        ``s``: 1.4826 × the median absolute deviation of the natural log of
        the positive order amounts.
    factor
        ``F = exp(3.5 × s)`` kept between 10 and 1000.
    orders
        Positive orders the statistics were computed from.

    Examples
    --------
    Orders of 20, 21 and 22 vary little: an order is exceptional from ten times
    the reference. Orders of 10, 20 and 40 vary more: from 36 times.

    >>> rule = ExceptionalOrderRule.from_log_amounts(np.log([20.0, 21.0, 22.0] * 10))
    >>> rule.median_order, rule.factor
    (21.0, 10.0)
    >>> ExceptionalOrderRule.from_log_amounts(np.log([10.0, 20.0, 40.0] * 10)).factor
    36.4817
    """

    median_order: float
    spread: float
    factor: float
    orders: int

    @classmethod
    def from_log_amounts(
        cls, centres: np.ndarray, counts: np.ndarray | None = None
    ) -> ExceptionalOrderRule:
        """The rule from log amounts, or from a histogram of them (bin centres and counts).

        Parameters
        ----------
        centres
            Natural logs of positive amounts (or histogram bin centres).
        counts
            How many amounts each centre stands for (default: one each).

        Returns
        -------
        ExceptionalOrderRule
        """
        centres = np.asarray(centres, dtype=float)
        weights = np.ones_like(centres) if counts is None else np.asarray(counts, dtype=float)
        median = _weighted_median(centres, weights)
        spread = MAD_TO_SD * _weighted_median(np.abs(centres - median), weights)
        factor = float(
            np.clip(np.exp(EXCEPTIONAL_Z * spread), EXCEPTIONAL_MIN_FACTOR, EXCEPTIONAL_MAX_FACTOR)
        )
        return cls(
            median_order=round(float(np.exp(median)), 2),
            spread=round(spread, 6),
            factor=round(factor, 4),
            orders=int(weights.sum()),
        )

    @classmethod
    def of(cls, engine: Engine, table: str, where: str = "TRUE") -> ExceptionalOrderRule | None:
        """The rule of the positive amounts of ``table``'s rows where ``where`` holds.

        Parameters
        ----------
        engine
            The engine holding ``table`` (``customer_id``, ``amount``).
        table
            The transactions.
        where
            SQL condition selecting the rows that count.

        Returns
        -------
        ExceptionalOrderRule or None
            ``None`` with fewer than :data:`EXCEPTIONAL_MIN_ORDERS` positive orders.
        """
        step = HISTOGRAM_STEP
        bins = engine.query(
            f"SELECT round(ln(amount) / {step!r}) AS b, count(*) AS n FROM {table} "
            f"WHERE ({where}) AND amount > 0 GROUP BY round(ln(amount) / {step!r})"
        )
        counts = bins["n"].to_numpy(dtype=float)
        if counts.sum() < EXCEPTIONAL_MIN_ORDERS:
            return None
        return cls.from_log_amounts(bins["b"].to_numpy(dtype=float) * step, counts)

    def candidate_condition(self, where: str = "TRUE") -> str:
        """SQL condition of the rows that can be exceptional: above ``F × M`` (and ``where``).

        Examples
        --------
        >>> ExceptionalOrderRule(20.0, 0.5, 10.0, 100).candidate_condition()
        '(TRUE) AND amount > CAST(10.0 AS DOUBLE) * CAST(20.0 AS DOUBLE)'
        """
        median = f"CAST({self.median_order!r} AS DOUBLE)"
        factor = f"CAST({self.factor!r} AS DOUBLE)"
        return f"({where}) AND amount > {factor} * {median}"

    def exceptional_sql(self, table: str, where: str, dialect: Dialect) -> str:
        """The exceptional orders among ``table``'s rows where ``where`` holds.

        Only an order above ``F × M`` can be exceptional (its reference is at
        least ``M``), and only its customer's rows are needed for the usual
        order: the query reads those few rows, not every row joined to every
        customer, so it costs about two scans of the table.

        Parameters
        ----------
        table
            Transactions with ``customer_id`` and ``amount``.
        where
            SQL condition on ``table``'s rows (the period, the kept rows); the
            usual order is computed from these rows too.
        dialect
            The engine's dialect.

        Returns
        -------
        str
            A query over ``table``'s columns plus ``_usual`` (the geometric
            mean of the customer's other positive orders) and ``_cap`` (the
            order's reference, ``max(usual, M)`` to the cent: what the spend
            model counts it as), one row per exceptional order.

        Examples
        --------
        >>> from clvreport.engine import DuckDBEngine
        >>> engine = DuckDBEngine()
        >>> engine.execute("CREATE TABLE tx AS SELECT * FROM (VALUES ('a', 3.0), ('a', 3.1), "
        ...                "('a', 3000.0), ('b', 50.0), ('b', 60.0)) t(customer_id, amount)")
        >>> rule = ExceptionalOrderRule(median_order=20.0, spread=0.5, factor=10.0, orders=5)
        >>> engine.query(rule.exceptional_sql("tx", "TRUE", engine.dialect))[
        ...     ["customer_id", "amount", "_cap"]].values.tolist()
        [['a', 3000.0, 20.0]]
        >>> engine.close()
        """
        median = f"CAST({self.median_order!r} AS DOUBLE)"
        factor = f"CAST({self.factor!r} AS DOUBLE)"
        candidates = self.candidate_condition(where)
        log = "ln(CASE WHEN amount > 0 THEN amount END)"
        sums = (
            f"SELECT customer_id AS _customer, {dialect.exact_sum(log)} AS _log_sum, "
            f"count(*) AS _orders FROM {table} WHERE ({where}) AND amount > 0 "
            f"AND customer_id IN (SELECT customer_id FROM {table} WHERE {candidates}) "
            "GROUP BY customer_id"
        )
        usual = "exp((s._log_sum - ln(CASE WHEN c.amount > 0 THEN c.amount END)) / (s._orders - 1))"
        rows = (
            f"SELECT c.*, {usual} AS _usual FROM (SELECT * FROM {table} WHERE {candidates}) c "
            f"JOIN ({sums}) s ON c.customer_id = s._customer WHERE s._orders > 1"
        )
        reference = f"round(greatest({median}, _usual), 2)"
        return (
            f"SELECT * FROM (SELECT *, {reference} AS _cap FROM ({rows})) "
            f"WHERE amount > {factor} * _cap"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``median_order, spread, factor, orders`` and the fixed ``z``.

        Examples
        --------
        >>> ExceptionalOrderRule(20.0, 0.5, 10.0, 100).to_dict()["z"]
        3.5
        """
        return {
            "median_order": self.median_order,
            "spread": self.spread,
            "factor": self.factor,
            "z": EXCEPTIONAL_Z,
            "min_factor": EXCEPTIONAL_MIN_FACTOR,
            "max_factor": EXCEPTIONAL_MAX_FACTOR,
            "orders": self.orders,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExceptionalOrderRule:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            median_order=float(data["median_order"]),
            spread=float(data["spread"]),
            factor=float(data["factor"]),
            orders=int(data["orders"]),
        )
