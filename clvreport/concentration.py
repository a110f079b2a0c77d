"""How concentrated customer value is: the 20/80 check, Lorenz curve, Gini and value tiers.

All functions take one value per customer (historic revenue, predicted CLV,
...) as a pandas Series, DataFrame column or array; per-customer tables are
small enough for pandas.

Definitions
-----------
Negative values (customers whose returns exceed their purchases) count as 0:
a customer cannot hold a negative share of the revenue.

Lorenz curve
    Customers sorted from lowest to highest value; point ``k`` is
    ``(k / n, value of the k lowest / total)``, from ``(0, 0)`` to ``(1, 1)``,
    joined by straight lines.
Top share
    The share of the total held by the top ``q`` of customers is
    ``1 − L(1 − q)`` on that curve; when ``q·n`` is not a whole number the
    boundary customer counts pro rata.
Gini coefficient
    One minus twice the area under the Lorenz curve:
    ``G = 2 Σ i·x_(i) / (n Σ x) − (n + 1) / n`` with ``x_(1) ≤ … ≤ x_(n)``;
    0 when everyone is worth the same, ``(n − 1) / n`` when one customer holds everything.
Value tiers
    Customers ranked from highest value down; ties share the best position of
    their group (``rank(method="min")``). A customer is in the top ``q`` when
    that position is at most ``q·n``. Tiers are disjoint: ``top1`` (top 1%),
    ``top5`` (the next customers up to 5%), ``top20`` (up to 20%) and ``rest``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "Concentration",
    "concentration",
    "gini",
    "lorenz_curve",
    "tier_summary",
    "top_positions",
    "top_share",
    "value_tiers",
]

DEFAULT_TIER_CUTS = (0.01, 0.05, 0.20)


def _clean_values(values: pd.Series | np.ndarray | Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype="float64")
    if array.ndim != 1:
        raise ValueError("give one value per customer (a 1-D array or Series)")
    if np.isnan(array).any():
        raise ValueError("values contain NaN; fill or drop those customers first")
    return np.clip(array, 0.0, None)


def top_positions(values: np.ndarray, size: int) -> np.ndarray:
    """The positions of the ``size`` largest values, largest first, ties in position order.

    The same as ``np.argsort(-values, kind="stable")[:size]`` (NaN last), but
    only the top is sorted: the rest is set apart by one partition (a stable
    sort of 17 million values took 9 s, the partition a fraction of that).

    Examples
    --------
    >>> top_positions(np.array([3.0, 9.0, 3.0, 1.0, 9.0]), 3).tolist()
    [1, 4, 0]
    """
    key = -np.asarray(values, dtype="float64")
    size = max(0, min(int(size), key.size))
    if size == 0:
        return np.empty(0, dtype=np.intp)
    if size == key.size:
        return np.argsort(key, kind="stable")
    cut = np.partition(key, size - 1)[size - 1]  # the size-th smallest key
    if np.isnan(cut):  # the top reaches the NaN values: they come last, in order
        return np.argsort(key, kind="stable")[:size]
    better = np.flatnonzero(key < cut)
    chosen = np.concatenate([better, np.flatnonzero(key == cut)[: size - better.size]])
    # positions ascending within each part, and every key of the first below the cut:
    # a stable sort of the keys breaks the ties by position
    return chosen[np.argsort(key[chosen], kind="stable")]


def _lorenz_points(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ordered = np.sort(values)
    total = ordered.sum()
    customer_share = np.arange(ordered.size + 1) / ordered.size
    cumulative = np.concatenate([[0.0], np.cumsum(ordered)])
    return customer_share, cumulative / total


def lorenz_curve(
    values: pd.Series | np.ndarray | Sequence[float], *, max_points: int = 300
) -> pd.DataFrame:
    """Points of the Lorenz curve, thinned out for plotting.

    Parameters
    ----------
    values
        One value per customer.
    max_points
        At most this many points are returned (evenly spaced over the
        customers, always including both ends); every point lies exactly on the curve.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_share`` (share of customers, lowest value first) and
        ``value_share`` (their share of the total), both from 0 to 1 and
        non-decreasing. Empty if there are no customers or the total is 0.

    Examples
    --------
    >>> lorenz_curve([80, 200, 200, 270])
       customer_share  value_share
    0            0.00     0.000000
    1            0.25     0.106667
    2            0.50     0.373333
    3            0.75     0.640000
    4            1.00     1.000000
    """
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, not {max_points}")
    array = _clean_values(values)
    if array.size == 0 or array.sum() == 0:
        return pd.DataFrame({"customer_share": [], "value_share": []}, dtype="float64")
    customer_share, value_share = _lorenz_points(array)
    if customer_share.size > max_points:
        keep = np.unique(np.round(np.linspace(0, array.size, max_points)).astype("int64"))
        customer_share, value_share = customer_share[keep], value_share[keep]
    return pd.DataFrame({"customer_share": customer_share, "value_share": value_share})


def gini(values: pd.Series | np.ndarray | Sequence[float]) -> float:
    """Gini coefficient of customer value (0 = all equal; towards 1 = concentrated).

    Parameters
    ----------
    values
        One value per customer.

    Returns
    -------
    float
        In ``[0, (n − 1) / n]``; NaN without customers or when the total is 0.

    Examples
    --------
    >>> round(gini([80, 200, 200, 270]), 10)  # 2·2160 / (4·750) − 5/4
    0.19
    """
    array = np.sort(_clean_values(values))
    n, total = array.size, array.sum()
    if n == 0 or total == 0:
        return math.nan
    ranks = np.arange(1, n + 1)
    # Clipped at 0: equal values can give −1e-16 in floating point.
    return max(0.0, float(2.0 * np.dot(ranks, array) / (n * total) - (n + 1) / n))


def top_share(values: pd.Series | np.ndarray | Sequence[float], share: float = 0.2) -> float:
    """Share of the total held by the top ``share`` of customers.

    Parameters
    ----------
    values
        One value per customer.
    share
        Share of customers, in ``[0, 1]``; 0.2 for the 20/80 check.

    Returns
    -------
    float
        ``1 − L(1 − share)`` on the Lorenz curve; NaN without customers or value.

    Examples
    --------
    >>> round(top_share([80, 200, 200, 270], 0.2), 10)  # 0.8 of the top customer: 0.8·270/750
    0.288
    """
    if not 0 <= share <= 1:
        raise ValueError(f"share must lie between 0 and 1, not {share}")
    array = _clean_values(values)
    if array.size == 0 or array.sum() == 0:
        return math.nan
    customer_share, value_share = _lorenz_points(array)
    return float(1.0 - np.interp(1.0 - share, customer_share, value_share))


def _customer_share_for(array: np.ndarray, target: float) -> float:
    # Smallest share of (top) customers holding `target` of the total.
    customer_share, value_share = _lorenz_points(array)
    # L is non-decreasing; find the largest p with L(p) <= 1 - target by interpolation.
    level = 1.0 - target
    k = int(np.searchsorted(value_share, level, side="right"))  # first point above level
    if k >= value_share.size:
        return 0.0
    lo, hi = value_share[k - 1], value_share[k]
    p = customer_share[k - 1] + (level - lo) / (hi - lo) * (
        customer_share[k] - customer_share[k - 1]
    )
    return float(1.0 - p)


@dataclass(frozen=True)
class Concentration:
    """The 20/80 check and the Gini coefficient.

    Attributes
    ----------
    n_customers
        Customers counted.
    total
        Sum of their values (negatives counted as 0).
    top_customer_share
        The share of customers checked (0.2).
    top_value_share
        Share of the total held by that top share of customers (the claim says 0.8).
    target_value_share
        The value share of the claim (0.8).
    customer_share_for_target
        Smallest share of (top) customers that together hold ``target_value_share``.
    gini
        Gini coefficient.
    claim_holds
        Whether the top customers hold at least the claimed share.
    """

    n_customers: int
    total: float
    top_customer_share: float
    top_value_share: float
    target_value_share: float
    customer_share_for_target: float
    gini: float
    claim_holds: bool

    def as_dict(self) -> dict[str, float | int | bool]:
        """The figures as a plain dict (for JSON and the report)."""
        return dict(self.__dict__)


def concentration(
    values: pd.Series | np.ndarray | Sequence[float],
    *,
    top: float = 0.2,
    target: float = 0.8,
) -> Concentration:
    """Check the 20/80 claim ("20% of customers bring 80% of revenue") on the data.

    Parameters
    ----------
    values
        One value per customer, e.g. ``customer_metrics(...)["revenue"]``.
    top
        Share of customers to check.
    target
        Value share the claim attributes to them.

    Returns
    -------
    Concentration

    Examples
    --------
    >>> c = concentration([80, 200, 200, 270])
    >>> round(c.top_value_share, 10), round(c.customer_share_for_target, 10), c.claim_holds
    (0.288, 0.6625, False)
    """
    if not 0 < target <= 1:
        raise ValueError(f"target must lie in (0, 1], not {target}")
    array = _clean_values(values)
    empty = array.size == 0 or array.sum() == 0
    share = top_share(array, top)
    return Concentration(
        n_customers=int(array.size),
        total=float(array.sum()),
        top_customer_share=top,
        top_value_share=share,
        target_value_share=target,
        customer_share_for_target=math.nan if empty else _customer_share_for(array, target),
        gini=gini(array),
        claim_holds=bool(not empty and share >= target - 1e-12),
    )


def _tier_codes(cuts: Sequence[float]) -> list[str]:
    return [f"top{100 * cut:g}" for cut in cuts] + ["rest"]


def value_tiers(
    customers: pd.DataFrame,
    value_col: str,
    *,
    cuts: Sequence[float] = DEFAULT_TIER_CUTS,
) -> pd.Series:
    """Put each customer in a value tier: top 1%, next up to 5%, next up to 20%, rest.

    Parameters
    ----------
    customers
        One row per customer.
    value_col
        Column to rank by, e.g. ``"revenue"`` or a predicted CLV column.
    cuts
        Increasing cumulative customer shares of the tiers; the default
        ``(0.01, 0.05, 0.20)`` gives tiers ``top1``, ``top5``, ``top20``, ``rest``.

    Returns
    -------
    pandas.Series
        Ordered categorical named ``value_tier``, aligned with ``customers``;
        categories best first.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"revenue": range(1, 101)})
    >>> value_tiers(customers, "revenue").value_counts(sort=False).tolist()
    [1, 4, 15, 80]
    """
    cuts = tuple(float(cut) for cut in cuts)
    if not cuts or any(b <= a for a, b in itertools.pairwise(cuts)):
        raise ValueError(f"cuts must be increasing shares, got {cuts}")
    if cuts[0] <= 0 or cuts[-1] >= 1:
        raise ValueError(f"cuts must lie strictly between 0 and 1, got {cuts}")
    values = customers[value_col].astype("float64")
    if values.isna().any():
        raise ValueError(f"column {value_col!r} contains NaN")
    # Ties are broken by order, as in :func:`clvreport.customer_groups.top_group`, so "the best
    # 20%" is the same customers (and as many) wherever the report names them.
    n = len(values)
    sizes = [math.floor(cut * n + 1e-9) for cut in cuts]
    order = top_positions(values.to_numpy(), sizes[-1])  # only the top tiers need an order
    codes = _tier_codes(cuts)
    tier = np.full(n, len(cuts), dtype="int64")
    for i in reversed(range(len(cuts))):
        tier[order[: sizes[i]]] = i
    categories = pd.CategoricalDtype(codes, ordered=True)
    return pd.Series(
        pd.Categorical.from_codes(tier, dtype=categories), index=customers.index, name="value_tier"
    )


def tier_summary(
    customers: pd.DataFrame,
    value_col: str,
    *,
    cuts: Sequence[float] = DEFAULT_TIER_CUTS,
) -> pd.DataFrame:
    """Customers and value per tier (see :func:`value_tiers`).

    Parameters
    ----------
    customers
        One row per customer.
    value_col
        Column to rank and sum.
    cuts
        Tier cuts, as in :func:`value_tiers`.

    Returns
    -------
    pandas.DataFrame
        One row per tier, best first (empty tiers included), with columns
        ``value_tier``, ``n_customers``, ``customer_share``, ``value``,
        ``value_share`` (of the total of ``value_col``), ``mean_value`` and
        ``min_value`` (NaN for an empty tier). Shares sum to 1.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"revenue": range(1, 101)})
    >>> tier_summary(customers, "revenue")["value"].tolist()
    [100.0, 390.0, 1320.0, 3240.0]
    """
    tiers = value_tiers(customers, value_col, cuts=cuts)
    values = customers[value_col].astype("float64")
    grouped = values.groupby(tiers, observed=False)
    total, n = float(values.sum()), len(values)
    out = pd.DataFrame(
        {
            "n_customers": grouped.size().astype("int64"),
            "value": grouped.sum().astype("float64"),
            "mean_value": grouped.mean(),
            "min_value": grouped.min(),
        }
    )
    out.insert(1, "customer_share", out["n_customers"] / n if n else math.nan)
    out.insert(3, "value_share", out["value"] / total if total else math.nan)
    out.index = out.index.astype(str)
    return out.rename_axis("value_tier").reset_index()
