"""One enormous order must not make a customer's expected spend: capping exceptional orders.

The Gamma-Gamma spend model takes a customer's mean repeat spend as the best
guess of their next orders, shrunk towards the mean of all customers. One
order of £168,469.60 beside one of £2.90 then makes the customer expect
£78,027 per purchase, one of the most valuable customers of the whole base.

The summary (:func:`clvreport.rfm.rfm_summary`) therefore also carries
``monetary_value_capped``: the same mean with every *exceptional* order
(:mod:`clvreport.ingest.exceptional`: far larger than both the customer's
other orders and the client's median order) counted as an ordinary order of
that customer, its reference: the larger of the customer's usual order (the
geometric mean of their other orders) and the client's median order. Only the
spend model's input changes: revenue, purchases and every figure of the past
keep the amounts as paid.

Why the reference and not the threshold
---------------------------------------
Winsorising at the flag threshold would still count the order as ``F`` (at
least 10) times the customer's usual order: a customer with two orders would
still expect about seven times their usual order per purchase. An exceptional
order says little about the next one, so it counts as an ordinary one.

Decided by the holdout
----------------------
With a holdout period, the spend model is fitted on the calibration period
twice, on the capped and on the full amounts, and the revenue check of
:mod:`clvreport.models.validation` (expected holdout purchases × expected
spend, against the actual holdout revenue) is run with both. The check is
split in two groups, the customers whose calibration spend was capped and all
others, and their absolute errors are added: an overestimate of the whales
could otherwise hide an underestimate of everybody else. The capped spend
model is used unless the full amounts predict the holdout revenue better; with
no holdout revenue to check (no holdout, nothing capped in the calibration
period, or nobody bought in the holdout) it is used as the robust default.
:class:`SpendCaps` (``spend_caps`` in ``model.json``) says what was done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from clvreport.models.base import TransactionModel
from clvreport.models.numeric import json_float

__all__ = [
    "CAPPED_COLUMN",
    "SUMMARY_ATTR",
    "SpendCaps",
    "capped_customers",
    "revenue_check",
    "spend_caps",
]

CAPPED_COLUMN = "monetary_value_capped"
"""The summary column with exceptional orders counted as ordinary ones."""
SUMMARY_ATTR = "spend_caps"
"""Key of a summary's ``attrs`` with the counts of the capped orders and the rule."""

Decision = Literal["nothing_to_cap", "no_check", "check_capped", "check_full"]


@dataclass(frozen=True)
class SpendCaps:
    """What the spend model did with exceptional orders.

    Attributes
    ----------
    applied
        Whether the spend model was fitted on, and scores, the capped amounts.
    decision
        ``nothing_to_cap`` (no exceptional repeat order), ``no_check`` (capped
        as the default: no holdout revenue to check), ``check_capped`` (the
        holdout check predicted revenue at least as well with the capped
        amounts) or ``check_full`` (it predicted better with the full
        amounts, which are used).
    orders
        Exceptional repeat orders in the summary the customers are scored on.
    customers
        Customers with at least one of them.
    amount
        What those orders amount to.
    counted_as
        What the capped input counts them as (the sum of their references).
    rule
        The statistics of :class:`~clvreport.ingest.exceptional.ExceptionalOrderRule`
        (``median_order``, ``factor``, ...).
    check
        The holdout revenue check of both spend models (:func:`revenue_check`),
        ``None`` without one.

    Examples
    --------
    >>> caps = SpendCaps(True, "no_check", 1, 1, 168469.6, 300.0)
    >>> caps.column, SpendCaps.from_dict(caps.to_dict()) == caps
    ('monetary_value_capped', True)
    """

    applied: bool
    decision: Decision
    orders: int = 0
    customers: int = 0
    amount: float = 0.0
    counted_as: float = 0.0
    rule: dict[str, Any] | None = None
    check: dict[str, Any] | None = None

    @property
    def column(self) -> str:
        """The summary column the spend model reads."""
        return CAPPED_COLUMN if self.applied else "monetary_value"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of every attribute."""
        return {
            "applied": self.applied,
            "decision": self.decision,
            "orders": self.orders,
            "customers": self.customers,
            "amount": json_float(self.amount),
            "counted_as": json_float(self.counted_as),
            "rule": self.rule,
            "check": self.check,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpendCaps:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            applied=bool(data.get("applied")),
            decision=data.get("decision") or "nothing_to_cap",
            orders=int(data.get("orders") or 0),
            customers=int(data.get("customers") or 0),
            amount=float(data.get("amount") or 0.0),
            counted_as=float(data.get("counted_as") or 0.0),
            rule=data.get("rule"),
            check=data.get("check"),
        )


def capped_customers(summary: pd.DataFrame) -> np.ndarray:
    """Which rows' spend input the capping lowered (all ``False`` without the column).

    Examples
    --------
    >>> capped_customers(pd.DataFrame({"monetary_value": [5.0, 900.0],
    ...                                "monetary_value_capped": [5.0, 30.0]})).tolist()
    [False, True]
    """
    if CAPPED_COLUMN not in summary:
        return np.zeros(len(summary), dtype=bool)
    full = summary["monetary_value"].to_numpy(dtype=float)
    return summary[CAPPED_COLUMN].to_numpy(dtype=float) < full


def revenue_check(
    model: TransactionModel,
    calibration: pd.DataFrame,
    *,
    capped: np.ndarray,
    full: np.ndarray,
) -> dict[str, Any] | None:
    """The holdout revenue check with the capped and with the full spend model.

    Parameters
    ----------
    model
        The transaction model fitted on the calibration period.
    calibration
        The calibration summary with holdout columns, ``revenue_holdout`` and
        :data:`CAPPED_COLUMN`.
    capped, full
        Expected spend per purchase of every customer from the spend model
        fitted on the capped and on the full amounts.

    Returns
    -------
    dict or None
        ``customers`` (with capped calibration spend), their ``actual``
        holdout revenue and what either model ``predicted_capped`` /
        ``predicted_full`` for them, the ``revenue_error_capped`` /
        ``_full`` of all customers (``(predicted - actual) / actual``), the
        ``split_error_capped`` / ``_full`` (absolute errors of the two groups
        added, relative to all actual revenue) and ``capped_better``
        (``split_error_capped <= split_error_full``). ``None`` when no
        calibration spend was capped or nobody bought in the holdout.
    """
    affected = capped_customers(calibration)
    if not affected.any() or "revenue_holdout" not in calibration:
        return None
    actual = calibration["revenue_holdout"].to_numpy(dtype=float)
    total = float(actual.sum())
    if not total > 0:
        return None
    purchases = np.asarray(
        model.expected_purchases(
            calibration["duration_holdout"].to_numpy(dtype=float),
            calibration["frequency"].to_numpy(dtype=float),
            calibration["recency"].to_numpy(dtype=float),
            calibration["T"].to_numpy(dtype=float),
        ),
        dtype=float,
    )
    result: dict[str, Any] = {
        "customers": int(affected.sum()),
        "actual": json_float(float(actual[affected].sum())),
    }
    split: dict[str, float] = {}
    for name, spend in (("capped", capped), ("full", full)):
        predicted = purchases * np.asarray(spend, dtype=float)
        if not np.all(np.isfinite(predicted)):
            return None
        group = float(predicted[affected].sum())
        others = float(predicted[~affected].sum())
        split[name] = (
            abs(group - float(actual[affected].sum()))
            + abs(others - float(actual[~affected].sum()))
        ) / total
        result[f"predicted_{name}"] = json_float(group)
        result[f"revenue_error_{name}"] = json_float((group + others - total) / total)
        result[f"split_error_{name}"] = json_float(split[name])
    result["capped_better"] = bool(split["capped"] <= split["full"])
    return result


def spend_caps(scoring: pd.DataFrame, check: dict[str, Any] | None) -> SpendCaps | None:
    """What to do with the exceptional orders of the summary the customers are scored on.

    Parameters
    ----------
    scoring
        The summary the final spend model is fitted on (from
        :func:`clvreport.rfm.rfm_summary`: its ``attrs`` hold the counts).
    check
        The holdout revenue check (:func:`revenue_check`), or ``None``.

    Returns
    -------
    SpendCaps or None
        ``None`` for a summary built without the rule (simulated, or by hand).

    Examples
    --------
    >>> summary = pd.DataFrame({"frequency": [1, 2], "monetary_value": [5.0, 900.0],
    ...                         "monetary_value_capped": [5.0, 30.0]})
    >>> spend_caps(summary, None).decision
    'no_check'
    """
    info = scoring.attrs.get(SUMMARY_ATTR)
    affected = capped_customers(scoring)
    if info is None and not affected.any():
        return None
    info = dict(info or {})
    counts = {
        "orders": int(info.get("orders", affected.sum())),
        "customers": int(affected.sum()),
        "amount": float(info.get("amount", float("nan"))),
        "counted_as": float(info.get("counted_as", float("nan"))),
        "rule": info.get("rule"),
    }
    if not affected.any():
        return SpendCaps(False, "nothing_to_cap", **{**counts, "orders": 0})
    if check is None:
        return SpendCaps(True, "no_check", **counts)
    applied = bool(check["capped_better"])
    return SpendCaps(applied, "check_capped" if applied else "check_full", **counts, check=check)
