"""The figures of the first page: who is worth most, who is at risk, what the base is worth.

Pure functions on the per-customer table of :class:`~clvreport.analysis.Analysis`
(one row per customer with ``segment``, ``revenue`` and, when a model could be
used, ``clv``, ``clv_if_alive``, ``p_alive`` and ``value_at_stake``). Each
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
    ``value_at_stake``: what they would still be worth over the horizon if they
    were active, times the chance that they are not. The same group is meant
    wherever the report says "at risk"; its segments show where they are.
    Without a model, the customers of :data:`AT_RISK_SEGMENTS` are used. For
    subscriptions (an ``active`` column) only running subscriptions can be at
    risk, and the sign is the next few renewals, not the horizon: a running
    subscriber who paid more than once is at risk when their chance to cancel
    within the next :data:`AT_RISK_CANCEL_RENEWALS` renewals (``p_cancel_soon``)
    is at least :data:`AT_RISK_P_CANCEL`.
At-risk customers when the model finds no dropout
    When the likelihood is highest for the model in which nobody leaves
    (``boundary`` ``no_dropout``), or the model expects hardly any repeat
    buyer to have left (:data:`NO_DROPOUT_SHARE`), P(alive) is (close to) 1
    for everyone and cannot point at anyone. The sign of lapsing is then the
    silence itself: a repeat buyer is at risk (*overdue*) when a customer
    buying at their own pace would have been silent this long with a chance
    below :data:`AT_RISK_P_SILENCE` (``p_silence``, see
    :meth:`~clvreport.models.base.TransactionModel.probability_of_silence`).
    Their value at stake is all of their predicted value: the model counts on
    it, and it is lost if the silence means they have left.
The risk basis
    :func:`risk_basis` says which of the two applies; the analysis computes
    the ``at_risk`` column once with it, and every figure reads that column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from clvreport.audiences.base import running
from clvreport.concentration import top_positions

__all__ = [
    "AT_RISK_CANCEL_RENEWALS",
    "AT_RISK_P_ALIVE",
    "AT_RISK_P_CANCEL",
    "AT_RISK_P_SILENCE",
    "AT_RISK_SEGMENTS",
    "NO_DROPOUT_SHARE",
    "AtRisk",
    "RiskBasis",
    "TopGroup",
    "at_risk",
    "at_risk_mask",
    "risk_basis",
    "top_group",
    "top_ranked",
    "value_at_stake",
    "valued_customers",
]

AT_RISK_P_ALIVE = 0.5
"""Below this chance of still being a customer, a repeat buyer counts as at risk."""

AT_RISK_CANCEL_RENEWALS = 3
"""Subscriptions: at risk is a chance to cancel within this many next renewals ..."""

AT_RISK_P_CANCEL = 0.25
"""... of at least this (``p_cancel_soon``): the next few renewals are where a subscription
manager can still act, whatever the horizon of the value forecast."""

AT_RISK_SEGMENTS: tuple[str, ...] = ("at_risk", "cant_lose_them")
"""Segments that stand for "at risk" when there is no model (no P(alive))."""


AT_RISK_P_SILENCE = 0.05
"""Without dropout in the model: below this chance of a silence as long as theirs, at
their own pace, a repeat buyer counts as at risk (overdue). A chance, so even where
nobody ever leaves about one repeat buyer in twenty is flagged: the usual 5% level."""

RiskBasis = Literal["p_alive", "silence"]


NO_DROPOUT_SHARE = 0.01
"""Below this expected share of repeat buyers who have left, the model finds (almost) no
dropout: P(alive) cannot show who is at risk and the silence is used instead."""


def risk_basis(customers: pd.DataFrame, model: Any = None) -> RiskBasis:
    """How at-risk customers are found: ``"p_alive"``, or ``"silence"`` without dropout.

    ``"silence"`` when the fitted ``model`` is the no-dropout limit
    (``has_dropout`` false), or when the model expects fewer than
    :data:`NO_DROPOUT_SHARE` of the repeat buyers to have left (the mean of
    ``1 - p_alive``): P(alive) is then close to 1 for everyone, wherever the
    optimum lies (a limit, or next to one). Subscriptions (an ``active``
    column) always use P(alive).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> customers = pd.DataFrame({"n_purchases": [3, 2], "p_alive": [0.999, 0.9995],
    ...                           "p_silence": [0.01, 0.5]})
    >>> risk_basis(customers), risk_basis(customers.assign(p_alive=[0.3, 0.9]))
    ('silence', 'p_alive')
    >>> risk_basis(customers.assign(p_alive=0.5), SimpleNamespace(has_dropout=False))
    'silence'
    """
    if "p_silence" not in customers or "p_alive" not in customers:
        return "p_alive"
    if running(customers) is not None:
        return "p_alive"
    if not getattr(model, "has_dropout", True):
        return "silence"
    repeat = customers["n_purchases"].to_numpy() >= 2
    if not repeat.any():
        return "p_alive"
    lost = 1.0 - float(np.nanmean(customers["p_alive"].to_numpy(dtype=float)[repeat]))
    return "silence" if lost < NO_DROPOUT_SHARE else "p_alive"


def at_risk_mask(customers: pd.DataFrame, basis: RiskBasis | None = None) -> pd.Series:
    """Which customers are at risk (see the module docstring).

    Parameters
    ----------
    customers
        Per-customer table. With an ``at_risk`` column (the analysis computes
        it once) and no ``basis``, that column is the answer.
    basis
        ``"p_alive"`` or ``"silence"`` (:func:`risk_basis`) to compute it.

    Examples
    --------
    >>> at_risk_mask(pd.DataFrame({"n_purchases": [1, 3, 3], "p_alive": [0.1, 0.2, 0.9],
    ...                            "segment": ["lost", "at_risk", "loyal"]})).tolist()
    [False, True, False]
    >>> at_risk_mask(pd.DataFrame({"n_purchases": [3, 3], "p_alive": [1.0, 1.0],
    ...                            "p_silence": [0.02, 0.6]}), "silence").tolist()
    [True, False]
    """
    if basis is None and "at_risk" in customers:
        return customers["at_risk"].astype("boolean").fillna(False).astype(bool)
    if basis == "silence" and "p_silence" in customers:
        return (customers["n_purchases"] >= 2) & (customers["p_silence"] < AT_RISK_P_SILENCE)
    if "p_cancel_soon" in customers:  # subscriptions: an ended one is lost, not at risk
        runs = running(customers)
        soon = customers["p_cancel_soon"].fillna(0.0) >= AT_RISK_P_CANCEL
        return (customers["n_purchases"] >= 2) & (True if runs is None else runs) & soon
    if "p_alive" in customers:
        mask = (customers["n_purchases"] >= 2) & (customers["p_alive"] < AT_RISK_P_ALIVE)
        runs = running(customers)
        if runs is not None:  # subscriptions: an ended one is lost, not at risk
            mask &= runs
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
    order = top_positions(customers[value].to_numpy(dtype=float), size)
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
        Sum of their ``value_at_stake`` (NaN without a model).
    value_if_active
        Sum of their ``clv_if_alive``: what they would be worth if all were still
        active (NaN without a model); never below ``value_at_stake``.
    past_revenue
        Their revenue so far.
    segments
        ``(segment, customers)`` pairs, largest first.
    value_at_stake_lifetime
        Their value at stake over their remaining lifetime (capped), NaN without it.
    """

    n_customers: int
    customer_share: float
    value_at_stake: float
    value_if_active: float
    past_revenue: float
    segments: tuple[tuple[str, int], ...]
    value_at_stake_lifetime: float = math.nan


def at_risk(customers: pd.DataFrame) -> AtRisk:
    """The at-risk customers (:func:`at_risk_mask`) and the value at stake.

    Parameters
    ----------
    customers
        Per-customer table with ``segment``, ``n_purchases`` and ``revenue``,
        and ``p_alive``, ``value_at_stake`` and ``clv_if_alive`` (or ``clv``)
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
    ...                           "value_at_stake": [40.0, 1.0, 60.0]})
    >>> r = at_risk(customers)
    >>> r.n_customers, r.value_at_stake, r.value_if_active, r.past_revenue
    (2, 100.0, 140.0, 400.0)
    """
    used = [
        "segment",
        "revenue",
        "value_at_stake",
        "clv_if_alive",
        "clv",
        "value_at_stake_lifetime",
    ]
    chosen = customers.loc[at_risk_mask(customers), [c for c in used if c in customers]]
    n = len(customers)
    stake = float(chosen["value_at_stake"].sum()) if "value_at_stake" in chosen else math.nan
    if "clv_if_alive" in chosen:
        if_active = float(chosen["clv_if_alive"].sum())
    elif "clv" in chosen and "value_at_stake" in chosen:
        if_active = float((chosen["clv"] + chosen["value_at_stake"]).sum())
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
        value_at_stake_lifetime=(
            float(chosen["value_at_stake_lifetime"].sum())
            if "value_at_stake_lifetime" in chosen
            else math.nan
        ),
    )


def value_at_stake(
    customers: pd.DataFrame,
    basis: RiskBasis = "p_alive",
    *,
    clv: str = "clv",
    clv_if_alive: str = "clv_if_alive",
) -> pd.Series:
    """The part of each customer's value that is lost if they have already left.

    With dropout in the model (``basis="p_alive"``): ``CLV if still active −
    CLV``, which is ``(1 − P(alive)) × CLV if still active`` for the purchase
    models (their CLV is ``P(alive) × CLV if still active``; for subscriptions
    it is what expected cancellations cost over the horizon): the CLV the
    customer would bring in over the horizon (same margin and discounting) if
    they were still active, times the chance that they are not. So ``clv +
    value_at_stake`` is exactly the CLV if still active, and no group's stake
    can exceed what it would be worth if all its customers were active. It is
    the most a retention action can win back.

    Without dropout (``basis="silence"``) the model counts on every customer
    staying, so nothing is at stake except for the overdue customers
    (:func:`at_risk_mask`): their whole predicted value, lost if their silence
    means they have left.

    Parameters
    ----------
    customers
        Needs ``p_alive`` and ``clv_if_alive``, or, for scores without it,
        ``clv`` (then ``clv_if_alive = clv / p_alive``); for ``"silence"``
        also ``n_purchases`` and ``p_silence``.
    basis
        :func:`risk_basis` of the model.
    clv, clv_if_alive
        The value columns: the horizon's (``clv``, ``clv_if_alive``) or the
        remaining lifetime's (``clv_lifetime``, ``clv_if_alive_lifetime``).

    Examples
    --------
    >>> value_at_stake(pd.DataFrame({"clv_if_alive": [100.0, 50.0], "p_alive": [0.9, 0.2]}))
    0    10.0
    1    40.0
    Name: value_at_stake, dtype: float64
    """
    p_alive = customers["p_alive"].to_numpy(dtype=float)
    if basis == "silence":
        if_alive = customers[clv_if_alive].to_numpy(dtype=float)
        stake = np.where(at_risk_mask(customers, "silence").to_numpy(), if_alive, 0.0)
        risk = pd.Series(stake, index=customers.index, name="value_at_stake")
        return risk.clip(lower=0).fillna(0.0).astype(np.float64)
    if clv_if_alive in customers and clv in customers:
        # the same as (1 - P(alive)) x CLV if alive where clv = P(alive) x CLV if alive; for
        # subscriptions (P(alive) = still subscribed at the horizon's end) what churn costs
        gap = customers[clv_if_alive].to_numpy(dtype=float) - customers[clv].to_numpy(float)
        risk = pd.Series(gap, index=customers.index, name="value_at_stake")
        return risk.clip(lower=0).fillna(0.0).astype(np.float64)
    if clv_if_alive in customers:
        if_alive = customers[clv_if_alive].to_numpy(dtype=float)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            if_alive = np.where(p_alive > 0, customers[clv].to_numpy(dtype=float) / p_alive, 0.0)
    risk = pd.Series((1.0 - p_alive) * if_alive, index=customers.index, name="value_at_stake")
    return risk.clip(lower=0).fillna(0.0).astype(np.float64)


@dataclass(frozen=True)
class TopRanked:
    """The first customers of a ranking, and how many tie with the last one shown.

    Attributes
    ----------
    rows
        The positions (``iloc``) of the customers shown, best first.
    tied
        Customers whose value (to the cent) equals that of the last one shown.
    tied_shown
        How many of those are shown; ``tied > tied_shown`` means the table had
        to choose among equals (by revenue, then tenure, then id).
    """

    rows: np.ndarray
    tied: int
    tied_shown: int


def _reaching(later: np.ndarray, key: np.ndarray, n: int) -> np.ndarray:
    """Positions whose ``(later, key)`` is at most the ``n``-th smallest, ties included.

    Examples
    --------
    >>> _reaching(np.array([False, False, True, False]), np.array([3.0, 1.0, 0.0, 1.0]), 1)
    array([1, 3])
    """
    if n <= 0 or n >= key.size:
        return np.arange(key.size)
    first = np.flatnonzero(~later)
    if first.size >= n:
        cut = np.partition(key[first], n - 1)[n - 1]
        return first[key[first] <= cut]
    rest = np.flatnonzero(later)
    cut = np.partition(key[rest], n - first.size - 1)[n - first.size - 1]
    return np.sort(np.concatenate([first, rest[key[rest] <= cut]]))


def top_ranked(
    customers: pd.DataFrame, value: str, n: int, *, last: np.ndarray | None = None
) -> TopRanked:
    """The ``n`` most valuable customers in a deterministic order, with the ties at the cut.

    Customers of equal ``value`` (rounded to the cent, as shown) are ordered by
    ``revenue`` (highest first), then ``tenure_days`` (longest first), then
    ``customer_id`` (as text, ascending), so the same data give the same table.

    Parameters
    ----------
    customers
        Per-customer table with ``customer_id`` and ``value`` (optionally
        ``revenue`` and ``tenure_days``).
    value
        The column ranked on.
    n
        How many to show.
    last
        Optional boolean mask of customers placed after all others (e.g. those
        known too briefly to trust their forecast).

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["b", "a", "c", "d"], "clv": [5.0, 5.0, 5.0, 9.0],
    ...                   "revenue": [1.0, 1.0, 2.0, 1.0]})
    >>> top = top_ranked(c, "clv", 3)
    >>> c["customer_id"].iloc[top.rows].tolist(), top.tied, top.tied_shown
    (['d', 'c', 'a'], 3, 2)
    """
    cents = np.round(customers[value].to_numpy(dtype=float) * 100.0)
    cents = np.nan_to_num(cents, nan=-np.inf)
    later = np.zeros(cents.size, dtype=bool) if last is None else np.asarray(last, dtype=bool)
    # only the customers that can reach the first n (the n-th's value and better) are
    # ordered in full: sorting millions of ids as text took half a minute
    candidates = _reaching(later, -cents, n)
    keys: list[np.ndarray] = [customers["customer_id"].iloc[candidates].astype(str).to_numpy()]
    for column in ("tenure_days", "revenue"):
        if column in customers:
            values = customers[column].to_numpy(dtype=float)[candidates]
            keys.append(-np.nan_to_num(values, nan=-np.inf))
    keys.append(-cents[candidates])
    keys.append(later[candidates])
    order = candidates[np.lexsort(tuple(keys))[:n]]
    if order.size == 0:
        return TopRanked(order, 0, 0)
    cut = cents[order[-1]]
    return TopRanked(order, int((cents == cut).sum()), int((cents[order] == cut).sum()))


def valued_customers(customers: pd.DataFrame) -> pd.DataFrame:
    """The customers whose future value a concentration figure is about.

    For subscriptions (an ``active`` column) the running subscriptions only:
    an ended one is worth 0 by definition, and counting it would make any
    "top 20%" take nearly all of the value. Otherwise everyone.

    Examples
    --------
    >>> c = pd.DataFrame({"active": [True, False, True], "clv": [5.0, 0.0, 1.0]})
    >>> len(valued_customers(c)), len(valued_customers(c.drop(columns="active")))
    (2, 3)
    """
    if "active" not in customers:
        return customers
    return customers[customers["active"].astype("boolean").fillna(False).to_numpy(dtype=bool)]
