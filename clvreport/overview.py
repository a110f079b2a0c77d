"""The figures of the first page: who is worth most, who is at risk, what the base is worth.

Pure functions on the per-customer table of :class:`~clvreport.analysis.Analysis`
(one row per customer with ``segment``, ``revenue`` and, when a model could be
used, ``clv``, ``clv_if_alive``, ``p_alive`` and ``value_at_risk``). Each
figure has one definition, used wherever the report shows it.

Definitions
-----------
Top group
    The customers with the highest predicted CLV (or, without a model, revenue)
    making up ``share`` of all customers (the top 20% by default; ties broken by
    customer order). Its *future share* is its part of the predicted CLV of the
    whole base, its *past share* its part of the revenue so far.
At-risk customers
    Customers who bought more than once (so they were real customers) and
    whose chance of still being a customer is below one half
    (:data:`AT_RISK_P_ALIVE`). Their *value at stake* is the sum of their
    ``value_at_risk``: what they would still be worth over the horizon if they
    were active, times the chance that they are not. The same group is meant
    wherever the report says "at risk"; its segments show where they are.
    Without a model, the customers of :data:`AT_RISK_SEGMENTS` are used. For
    subscriptions (an ``active`` column) only running subscriptions can be at
    risk: P(alive) is then the chance of still subscribing at the horizon's end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "AT_RISK_P_ALIVE",
    "AT_RISK_SEGMENTS",
    "AtRisk",
    "TopGroup",
    "at_risk",
    "at_risk_mask",
    "top_group",
]

AT_RISK_P_ALIVE = 0.5
"""Below this chance of still being a customer, a repeat buyer counts as at risk."""

AT_RISK_SEGMENTS: tuple[str, ...] = ("at_risk", "cant_lose_them")
"""Segments that stand for "at risk" when there is no model (no P(alive))."""


def at_risk_mask(customers: pd.DataFrame) -> pd.Series:
    """Which customers are at risk (see the module docstring).

    Examples
    --------
    >>> at_risk_mask(pd.DataFrame({"n_purchases": [1, 3, 3], "p_alive": [0.1, 0.2, 0.9],
    ...                            "segment": ["lost", "at_risk", "loyal"]})).tolist()
    [False, True, False]
    """
    if "p_alive" in customers:
        mask = (customers["n_purchases"] >= 2) & (customers["p_alive"] < AT_RISK_P_ALIVE)
        if "active" in customers:  # subscriptions: an ended one is lost, not at risk
            mask &= customers["active"].fillna(False).astype(bool)
        return mask
    return customers["segment"].astype(str).isin(list(AT_RISK_SEGMENTS))


@dataclass(frozen=True)
class TopGroup:
    """The most valuable customers.

    Attributes
    ----------
    share
        Share of customers in the group (0.2: the top 20%).
    n_customers
        Customers in the group.
    value
        Their total value (predicted CLV, or revenue without a model).
    future_share
        Their part of the value of all customers.
    past_share
        Their part of the revenue so far.
    segments
        ``(segment, customers)`` pairs of the group, largest first.
    """

    share: float
    n_customers: int
    value: float
    future_share: float
    past_share: float
    segments: tuple[tuple[str, int], ...]


def top_group(customers: pd.DataFrame, *, share: float = 0.2, value: str = "clv") -> TopGroup:
    """The top ``share`` of customers by ``value``, with their shares of future and past value.

    Parameters
    ----------
    customers
        Per-customer table with ``segment``, ``revenue`` and ``value``.
    share
        Share of customers in the group, in (0, 1].
    value
        Column that ranks the customers (``"clv"``, or ``"revenue"`` without a model).

    Returns
    -------
    TopGroup

    Examples
    --------
    >>> customers = pd.DataFrame({"segment": ["a", "a", "b", "b", "b"],
    ...                           "revenue": [10.0, 50.0, 20.0, 10.0, 10.0],
    ...                           "clv": [80.0, 10.0, 5.0, 3.0, 2.0]})
    >>> g = top_group(customers, share=0.2)
    >>> g.n_customers, g.future_share, g.past_share, g.segments
    (1, 0.8, 0.1, (('a', 1),))
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must lie in (0, 1], not {share}")
    n = len(customers)
    # as many as value_tiers puts in its top 20%: the same customers wherever named
    size = max(1, math.floor(share * n + 1e-9)) if n else 0
    order = np.argsort(-customers[value].to_numpy(dtype=float), kind="stable")[:size]
    top = customers[list(dict.fromkeys([value, "revenue", "segment"]))].iloc[order]
    total_value = float(customers[value].sum())
    total_revenue = float(customers["revenue"].sum())
    counts = top["segment"].astype(str).value_counts(sort=True)
    return TopGroup(
        share=share,
        n_customers=size,
        value=float(top[value].sum()),
        future_share=float(top[value].sum()) / total_value if total_value else math.nan,
        past_share=float(top["revenue"].sum()) / total_revenue if total_revenue else math.nan,
        segments=tuple((str(s), int(c)) for s, c in counts.items()),
    )


@dataclass(frozen=True)
class AtRisk:
    """The at-risk customers and what is at stake.

    Attributes
    ----------
    n_customers
        At-risk customers.
    customer_share
        Their share of all customers.
    value_at_stake
        Sum of their ``value_at_risk`` (NaN without a model).
    value_if_active
        Sum of their ``clv_if_alive``: what they would be worth if all were still
        active (NaN without a model); never below ``value_at_stake``.
    past_revenue
        Their revenue so far.
    segments
        ``(segment, customers)`` pairs, largest first.
    """

    n_customers: int
    customer_share: float
    value_at_stake: float
    value_if_active: float
    past_revenue: float
    segments: tuple[tuple[str, int], ...]


def at_risk(customers: pd.DataFrame) -> AtRisk:
    """The at-risk customers (:func:`at_risk_mask`) and the value at stake.

    Parameters
    ----------
    customers
        Per-customer table with ``segment``, ``n_purchases`` and ``revenue``,
        and ``p_alive``, ``value_at_risk`` and ``clv_if_alive`` (or ``clv``)
        when a model was used.

    Returns
    -------
    AtRisk

    Examples
    --------
    >>> customers = pd.DataFrame({"segment": ["at_risk", "lost", "loyal"],
    ...                           "n_purchases": [4, 1, 6], "p_alive": [0.2, 0.1, 0.3],
    ...                           "revenue": [100.0, 5.0, 300.0],
    ...                           "clv_if_alive": [50.0, 1.0, 90.0],
    ...                           "value_at_risk": [40.0, 1.0, 60.0]})
    >>> r = at_risk(customers)
    >>> r.n_customers, r.value_at_stake, r.value_if_active, r.past_revenue
    (2, 100.0, 140.0, 400.0)
    """
    used = ["segment", "revenue", "value_at_risk", "clv_if_alive", "clv"]
    chosen = customers.loc[at_risk_mask(customers), [c for c in used if c in customers]]
    n = len(customers)
    stake = float(chosen["value_at_risk"].sum()) if "value_at_risk" in chosen else math.nan
    if "clv_if_alive" in chosen:
        if_active = float(chosen["clv_if_alive"].sum())
    elif "clv" in chosen and "value_at_risk" in chosen:
        if_active = float((chosen["clv"] + chosen["value_at_risk"]).sum())
    else:
        if_active = math.nan
    counts = chosen["segment"].astype(str).value_counts(sort=True)
    return AtRisk(
        n_customers=len(chosen),
        customer_share=len(chosen) / n if n else math.nan,
        value_at_stake=stake,
        value_if_active=if_active,
        past_revenue=float(chosen["revenue"].sum()),
        segments=tuple((str(s), int(c)) for s, c in counts.items()),
    )
