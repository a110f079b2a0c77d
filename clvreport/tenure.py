"""How long subscriptions last: measured in the data, and expected by the sBG model.

Two figures that must never share a word:

*Measured tenure* (:func:`measured_tenure`)
    The months a subscription has been paid for, start to end: ``(renewals + 1)``
    periods. For an ended subscription that is how long it lasted; a running one
    has lasted that long *so far* (it is right-censored: its tenure will be
    longer). The mean over all subscriptions mixes the two, so it understates how
    long subscriptions last; the tables keep ended and running apart.

*Expected remaining tenure* (:func:`expected_remaining_months`)
    The model's forecast of the further months a running subscription is paid
    for, ``Σ_{s=1..H} S(n + s) / S(n)`` periods for a subscriber after ``n``
    renewals, within a cap of ``H`` periods. Without a cap the mean is
    ``(β + n) / (α − 1)`` periods, infinite when ``α <= 1`` (a few subscribers
    then almost never cancel), which is why the report always states the cap.
    :func:`expected_new_months` is the same for a new subscriber,
    ``E[min(T, H)] = Σ_{t=0..H-1} S(t)``, which tends to
    ``E[T] = (α + β − 1) / (α − 1)`` as ``H`` grows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from clvreport.models.sbg import ShiftedBetaGeometricModel
from clvreport.models.units import MONTHS_PER_PERIOD

__all__ = [
    "ALL_PLANS_LABEL",
    "expected_new_months",
    "expected_remaining_months",
    "measured_tenure",
    "tenure_table",
]

ALL_PLANS_LABEL = "__all__"
"""The ``plan`` of the row of :func:`measured_tenure` that counts every subscription."""


def measured_tenure(contracts: pd.DataFrame, period: str) -> pd.DataFrame:
    """Measured tenure in months per plan and for all subscriptions, ended and running apart.

    Parameters
    ----------
    contracts
        One row per subscription with ``renewals``, ``active`` and optionally
        ``plan`` (:func:`clvreport.subscribers.read_contracts`).
    period
        The renewal period (``"month"``, ``"quarter"`` or ``"year"``).

    Returns
    -------
    pandas.DataFrame
        One row per plan (sorted) and a last row ``plan ==`` :data:`ALL_PLANS_LABEL`:
        ``ended``, ``ended_mean``, ``ended_median`` (months the ended
        subscriptions lasted), ``running``, ``running_mean`` (months the
        running ones have lasted so far), ``all_mean`` and ``all_median``
        (every subscription, the running ones counted so far: a lower bound).
        A mean over no subscription is NaN.

    Examples
    --------
    >>> contracts = pd.DataFrame({"renewals": [0, 2, 5, 11], "active": [False, False, True, True],
    ...                           "plan": ["a", "a", "a", "b"]})
    >>> t = measured_tenure(contracts, "month").set_index("plan")
    >>> t.loc["a", ["ended", "ended_mean", "running_mean"]].tolist()
    [2.0, 2.0, 6.0]
    >>> t.loc["__all__", ["all_mean", "all_median"]].tolist()
    [5.5, 4.5]
    """
    months = (contracts["renewals"].to_numpy(dtype=float) + 1.0) * MONTHS_PER_PERIOD[period]
    active = contracts["active"].to_numpy(dtype=bool)
    plans = (
        contracts["plan"].astype(str).to_numpy()
        if "plan" in contracts
        else np.full(len(contracts), ALL_PLANS_LABEL)
    )
    groups = [(p, plans == p) for p in sorted(set(plans)) if p != ALL_PLANS_LABEL]
    groups.append((ALL_PLANS_LABEL, np.ones(len(contracts), dtype=bool)))
    rows = []
    for plan, member in groups:
        ended, running = months[member & ~active], months[member & active]
        every = months[member]
        rows.append(
            {
                "plan": plan,
                "ended": float(ended.size),
                "ended_mean": _mean(ended),
                "ended_median": float(np.median(ended)) if ended.size else np.nan,
                "running": float(running.size),
                "running_mean": _mean(running),
                "all_mean": _mean(every),
                "all_median": float(np.median(every)) if every.size else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def expected_remaining_months(
    model: ShiftedBetaGeometricModel, renewals: np.ndarray | float, cap_periods: int, period: str
) -> np.ndarray:
    """The model's expected further months of running subscriptions, within a cap.

    Parameters
    ----------
    model
        The fitted sBG model of the subscriptions' plan.
    renewals
        Renewals made so far (``n``); the current period is paid.
    cap_periods
        Most periods counted (``H``): the forecast is ``E[min(K, H)]`` with
        ``K`` the further renewals.
    period
        The renewal period, for the conversion to months.

    Returns
    -------
    numpy.ndarray
        ``Σ_{s=1..H} S(n + s) / S(n)`` periods, in months.

    Examples
    --------
    >>> model = ShiftedBetaGeometricModel.from_params({"alpha": 3.0, "beta": 4.0},
    ...                                               time_unit="months")
    >>> # capped far out it is the uncapped mean (beta + n) / (alpha - 1)
    >>> expected_remaining_months(model, [0, 2], 100_000, "month").round(3).tolist()
    [2.0, 3.0]
    """
    n = np.atleast_1d(np.asarray(renewals, dtype=float))
    s = np.arange(1, int(cap_periods) + 1, dtype=float)[:, None]
    stay = np.asarray(model.survival(n[None, :] + s), dtype=float) / np.asarray(
        model.survival(n), dtype=float
    )
    return stay.sum(axis=0) * MONTHS_PER_PERIOD[period]


def expected_new_months(model: ShiftedBetaGeometricModel, cap_periods: int, period: str) -> float:
    """The model's expected months a new subscription is paid for, within a cap.

    ``E[min(T, H)] = Σ_{t=0..H-1} S(t)`` periods (``T >= 1`` the periods paid).

    Examples
    --------
    >>> model = ShiftedBetaGeometricModel.from_params({"alpha": 3.0, "beta": 4.0},
    ...                                               time_unit="months")
    >>> round(expected_new_months(model, 100_000, "month"), 3)  # (alpha + beta - 1) / (alpha - 1)
    3.0
    """
    t = np.arange(int(cap_periods), dtype=float)
    return float(np.asarray(model.survival(t), dtype=float).sum()) * MONTHS_PER_PERIOD[period]


def tenure_table(
    contracts: pd.DataFrame,
    model_for: Callable[[str], ShiftedBetaGeometricModel],
    period: str,
    cap_periods: int,
) -> pd.DataFrame:
    """Measured tenure with the model's forecast beside it, per plan and for all.

    Parameters
    ----------
    contracts
        As for :func:`measured_tenure` (with ``plan``).
    model_for
        The fitted model of a plan (:meth:`clvreport.subscribers.SubscriberFit.model_for`).
    period
        The renewal period.
    cap_periods
        The forecast's cap ``H`` in periods (the report's lifetime cap).

    Returns
    -------
    pandas.DataFrame
        :func:`measured_tenure`'s columns plus ``expected_remaining`` (mean of
        :func:`expected_remaining_months` over the running subscriptions),
        ``expected_new`` (:func:`expected_new_months`; for all plans: weighted by
        each plan's share of the subscriptions) and ``unbounded`` (the model's
        uncapped mean is infinite, ``alpha <= 1``).

    Examples
    --------
    >>> model = ShiftedBetaGeometricModel.from_params({"alpha": 3.0, "beta": 4.0},
    ...                                               time_unit="months")
    >>> contracts = pd.DataFrame({"renewals": [0, 2], "active": [False, True], "plan": ["a"] * 2})
    >>> t = tenure_table(contracts, lambda plan: model, "month", 100_000)
    >>> t[["plan", "expected_remaining", "expected_new", "unbounded"]].round(3).values.tolist()
    [['a', 3.0, 3.0, False], ['__all__', 3.0, 3.0, False]]
    """
    table = measured_tenure(contracts, period)
    plans = contracts["plan"].astype(str).to_numpy()
    active = contracts["active"].to_numpy(dtype=bool)
    renewals = contracts["renewals"].to_numpy(dtype=float)
    remaining = np.full(len(contracts), np.nan)
    new = np.full(len(contracts), np.nan)
    unbounded = np.zeros(len(contracts), dtype=bool)
    for plan in sorted(set(plans)):
        member = plans == plan
        model = model_for(plan)
        rows = member & active
        if rows.any():
            remaining[rows] = expected_remaining_months(model, renewals[rows], cap_periods, period)
        new[member] = expected_new_months(model, cap_periods, period)
        unbounded[member] = not np.isfinite(model.expected_lifetime())
    out = []
    for plan in table["plan"]:
        member = np.ones(len(plans), dtype=bool) if plan == ALL_PLANS_LABEL else plans == plan
        out.append(
            {
                "expected_remaining": _mean(remaining[member & active]),
                "expected_new": _mean(new[member]),
                "unbounded": bool(unbounded[member].any()),
            }
        )
    return pd.concat([table, pd.DataFrame(out)], axis=1)
