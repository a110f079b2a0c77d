"""Subscriptions: sBG on contract renewals, scored like customers for the report.

For a ``business: subscription`` client (contracts that renew every month,
quarter or year until cancelled) the question is not whether a customer will
buy again but how long they stay. This module reads the subscription log
(:mod:`clvreport.models.contract`), fits the shifted-beta-geometric model per
plan (:class:`~clvreport.models.sbg.ShiftedBetaGeometricModel`: each
subscriber has a constant chance to cancel at every renewal, varying between
subscribers, so the longer a subscriber stays the less likely they cancel),
and gives every subscriber the columns the report reads, with these meanings:

``active``
    Whether the subscription is running at the report date.
``p_alive``
    For an active subscriber: the chance they are still subscribed at the
    end of the horizon, ``S(n + H) / S(n)`` after ``n`` renewals; 0 for an
    ended subscription.
``expected_purchases``
    Expected payments (renewals) in the horizon, ``Σ_s S(n + s) / S(n)``,
    with its 90% range ``purchases_low/high`` (the count's own distribution).
``clv``
    ``gross_margin × price × Σ_s S(n + s) / S(n) / (1 + d)^years(s)``;
    ``clv_if_alive`` the same if they stayed the whole horizon, and
    ``value_at_stake = clv_if_alive − clv``: the margin lost if they cancel as
    expected, the most keeping them could win back. For an ended subscription
    ``clv``, ``clv_if_alive`` and so the value at stake are 0: it is gone.
``p_cancel_soon``
    For an active subscriber: the chance to cancel within the next few
    renewals, ``1 − S(n + k) / S(n)`` (NaN for an ended one). "At risk"
    (:func:`clvreport.customer_groups.at_risk_mask`) reads it; running subscriptions only.
``winback_value``
    For an ended subscription: what a new subscription of its plan would bring,
    times the assumed chance to win the subscriber back (:func:`winback_weight`:
    halving with the months since the cancellation, ``months_since_end``, and 0
    beyond the win-back horizon); 0 for a running one.

The log is read through the common ingest (:mod:`clvreport.subscription_log`);
the transaction sections of the report read one payment per paid period
(:func:`~clvreport.subscription_log.create_payments`), so revenue, segments and
loyalty are about payments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clvreport.errors import ModelError
from clvreport.models.base import MaximumLikelihoodModel
from clvreport.models.predictive import INTERVAL, normal_mixture_interval
from clvreport.models.sbg import ShiftedBetaGeometricModel
from clvreport.models.uncertainty import draw_parameters
from clvreport.models.units import (
    MONTHS_PER_PERIOD,
    PERIOD_UNIT,
    horizon_periods,
    period_discount,
)
from clvreport.period_fit import PeriodModelFit
from clvreport.subscription_log import ALL_PLANS, load_subscriptions, read_contracts

__all__ = [
    "SubscriberFit",
    "cohort_survival_table",
    "fit_subscriber_model",
    "load_subscriptions",
    "next_renewal_table",
    "read_contracts",
    "score_subscribers",
    "subscriber_forecast",
    "subscriber_period_forecast",
    "validation_checks",
    "winback_weight",
]

MIN_CHURNED = 10
N_DRAWS = 100


@dataclass(kw_only=True)
class SubscriberFit(PeriodModelFit):
    """The subscription model: sBG per plan (the attributes the report reads, as for customers).

    The shared attributes (``status``, ``reasons``, ``period``, the counts) are
    those of :class:`~clvreport.period_fit.PeriodModelFit`; ``period`` is the
    renewal period and ``n_repeat_buyers`` the subscribers who renewed at least once.

    Attributes
    ----------
    models
        Plan → fitted sBG model; ``"all"`` is every subscription pooled.
    """

    models: dict[str, ShiftedBetaGeometricModel] = field(default_factory=dict)
    model_name: str = "sbg"
    choice_note: str | None = "subscription_business"
    spend_model: None = None

    @property
    def usable(self) -> bool:
        """Whether there is a model to score subscribers with."""
        return self.status != "failed" and bool(self.models)

    @property
    def model(self) -> ShiftedBetaGeometricModel | None:
        """The pooled model (all plans)."""
        return self.models.get(ALL_PLANS)

    def model_for(self, plan: str) -> ShiftedBetaGeometricModel:
        """The plan's own model, or the pooled one when the plan has none."""
        return self.models.get(plan) or self.models[ALL_PLANS]

    def to_dict(self) -> dict[str, Any]:
        """What ``model.json`` holds (``business: subscription``, one model per plan)."""
        return {
            **self._dict("subscription", self.model_name, self.choice_note),
            "transaction_model": None if self.model is None else self.model.to_dict(),
            "plans": {plan: m.to_dict() for plan, m in self.models.items() if plan != ALL_PLANS},
            "spend_model": None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubscriberFit:
        """Rebuild from :meth:`to_dict` (an earlier report's ``model.json``)."""
        models = {
            plan: MaximumLikelihoodModel.from_dict(item)
            for plan, item in (data.get("plans") or {}).items()
        }
        if data.get("transaction_model"):
            models[ALL_PLANS] = MaximumLikelihoodModel.from_dict(data["transaction_model"])
        return cls(**cls._fields(data, "month"), models=models)  # type: ignore[arg-type]


def _fit_one(renewals: np.ndarray, active: np.ndarray, period: str) -> ShiftedBetaGeometricModel:
    return ShiftedBetaGeometricModel(time_unit=PERIOD_UNIT[period]).fit_customers(renewals, active)


def fit_subscriber_model(contracts: pd.DataFrame, period: str) -> SubscriberFit:
    """Fit sBG on all subscriptions and on each plan with enough cancellations.

    Parameters
    ----------
    contracts
        :func:`read_contracts` output (one row per subscription).
    period
        The renewal period.

    Returns
    -------
    SubscriberFit
        ``failed`` (``too_few_cancellations``) when fewer than 10 subscriptions
        ended, or the pooled fit failed; a plan that cannot be fitted alone uses
        the pooled model (reason ``plan_pooled``).

    Examples
    --------
    >>> fit = fit_subscriber_model(contracts, "month")  # doctest: +SKIP
    """
    renewals = contracts["renewals"].to_numpy(dtype=float)
    active = contracts["active"].to_numpy(dtype=bool)
    base = {
        "period": period,
        "n_customers": int(contracts["customer_id"].nunique()),
        "n_repeat_buyers": int((renewals > 0).sum()),
    }
    if (~active).sum() < MIN_CHURNED:
        return SubscriberFit(status="failed", reasons=("too_few_cancellations",), **base)
    try:
        models = {ALL_PLANS: _fit_one(renewals, active, period)}
    except (ModelError, ValueError, FloatingPointError):
        return SubscriberFit(status="failed", reasons=("fit_failed",), **base)
    reasons = []
    for plan, rows in contracts.groupby("plan", sort=True):
        if plan == ALL_PLANS:
            continue
        ended = int((~rows["active"].astype(bool)).sum())
        try:
            if ended < MIN_CHURNED:
                raise ModelError("too few cancellations")
            models[str(plan)] = _fit_one(
                rows["renewals"].to_numpy(dtype=float), rows["active"].to_numpy(bool), period
            )
        except (ModelError, ValueError, FloatingPointError):
            reasons.append("plan_pooled")
    return SubscriberFit(
        status="degraded" if reasons else "ok",
        reasons=tuple(dict.fromkeys(reasons)),
        models=models,
        **base,
    )


def _stay(model: ShiftedBetaGeometricModel, n: np.ndarray, periods: int) -> np.ndarray:
    """``S(n + s) / S(n)`` for ``s = 1..periods``: shape ``(periods, subscribers)``."""
    s = np.arange(1, periods + 1)[:, None]
    return np.asarray(model.survival(n[None, :] + s), dtype=float) / np.asarray(
        model.survival(n), dtype=float
    )


def _latest(contracts: pd.DataFrame) -> pd.DataFrame:
    """Each subscriber's latest subscription (a return after a gap replaces the old one)."""
    order = contracts.sort_values(["customer_id", "start"])
    return order.groupby("customer_id", sort=False).tail(1).reset_index(drop=True)


def winback_weight(
    months_since_end: np.ndarray, half_life_months: float, horizon_months: float
) -> np.ndarray:
    """Assumed share of a returning subscription's value a win-back can still reach.

    ``0.5 ** (months / half_life)``: the chance to win an ex-subscriber back
    halves every ``half_life_months`` after the cancellation, and is 0 beyond
    ``horizon_months`` (not worth trying). An assumption, not a measurement.

    Examples
    --------
    >>> winback_weight(np.array([0.0, 6.0, 12.0, 30.0]), 6.0, 24.0).tolist()
    [1.0, 0.5, 0.25, 0.0]
    """
    months = np.maximum(np.asarray(months_since_end, dtype=float), 0.0)
    weight = 0.5 ** (months / float(half_life_months))
    return np.where(months <= horizon_months, weight, 0.0)


def _months_between(start: pd.Series, end: pd.Timestamp) -> np.ndarray:
    return ((end - pd.to_datetime(start)).dt.days / (365.25 / 12)).to_numpy(dtype=float)


def score_subscribers(
    fit: SubscriberFit,
    contracts: pd.DataFrame,
    *,
    horizon_months: int,
    discount_rate: float,
    gross_margin: float,
    winback_half_life_months: float = 6.0,
    winback_horizon_months: float = 24.0,
    cancel_renewals: int = 3,
) -> tuple[pd.DataFrame, pd.Series]:
    """Score every subscriber (the columns of the module docstring) and the whole base.

    Parameters
    ----------
    fit, contracts
        The model and :func:`read_contracts` output.
    horizon_months, discount_rate, gross_margin
        The value forecast's horizon, annual discount rate and margin.
    winback_half_life_months, winback_horizon_months
        The win-back assumption of :func:`winback_weight`.
    cancel_renewals
        ``p_cancel_soon`` is the chance to cancel within this many next renewals.

    Returns
    -------
    tuple
        Per-subscriber scores and the base total (``clv``, ``clv_low``,
        ``clv_high``, ``expected_purchases``, ``purchases_low``,
        ``purchases_high``; the ranges of the sums, with parameter draws).

    Examples
    --------
    >>> scores, base = score_subscribers(fit, contracts, horizon_months=24, discount_rate=0.1,
    ...                                  gross_margin=0.3)  # doctest: +SKIP
    """
    if not fit.usable:
        raise ModelError("the subscription model could not be fitted")
    latest = _latest(contracts)
    periods = horizon_periods(horizon_months, fit.period)
    discount = period_discount(fit.period, periods, discount_rate)
    n = latest["renewals"].to_numpy(dtype=float)
    active = latest["active"].to_numpy(dtype=bool)
    price = latest["price"].to_numpy(dtype=float)
    stay = np.zeros((periods, len(latest)))
    soon = np.zeros(len(latest))
    low = np.zeros(len(latest))
    high = np.zeros(len(latest))
    variance = np.zeros(len(latest))
    for plan in pd.unique(latest["plan"]):
        rows = np.flatnonzero((latest["plan"].to_numpy() == plan) & active)
        if rows.size == 0:
            continue
        part = _stay(fit.model_for(str(plan)), n[rows], periods)
        stay[:, rows] = part
        soon[rows] = 1.0 - _stay(fit.model_for(str(plan)), n[rows], cancel_renewals)[-1]
        low[rows], high[rows], variance[rows] = _count_range(part)
    expected = stay.sum(axis=0)
    value = gross_margin * price
    clv = value * (discount @ stay)
    # an ended subscription has nothing at stake (it is gone); what a win-back could win is
    # a new subscription of the same plan, weighted by the assumed chance that decays with
    # the time since the cancellation (0 beyond the win-back horizon)
    comeback = np.zeros(len(latest))
    for plan in pd.unique(latest["plan"]):
        rows = np.flatnonzero((latest["plan"].to_numpy() == plan) & ~active)
        if rows.size:
            fresh = _stay(fit.model_for(str(plan)), np.zeros(1), periods)[:, 0]
            comeback[rows] = float(discount @ fresh)
    as_of = pd.Timestamp(contracts.attrs.get("as_of") or pd.to_datetime(latest["start"]).max())
    since = np.where(active, np.nan, _months_between(latest["end"], as_of))
    weight = np.where(
        active, 0.0, winback_weight(since, winback_half_life_months, winback_horizon_months)
    )
    if_alive = value * np.where(active, discount.sum(), 0.0)
    factor = np.divide(clv, value * expected, out=np.zeros_like(clv), where=expected > 0)
    scores = pd.DataFrame(
        {
            "customer_id": latest["customer_id"].astype(str).to_numpy(),
            "active": active,
            "p_alive": np.where(active, stay[-1], 0.0),
            "p_cancel_soon": np.where(active, soon, np.nan),
            "expected_purchases": expected,
            "purchases_low": low,
            "purchases_high": high,
            "expected_spend": price,
            "clv": clv,
            "clv_if_alive": if_alive,
            "clv_low": value * factor * low,
            "clv_high": value * factor * high,
            "months_since_end": since,
            "winback_value": value * comeback * weight,
            "renewals": n,
            "plan": latest["plan"].astype(str).to_numpy(),
        }
    )
    base = _base_total(fit, latest, periods, discount, value, variance, factor)
    base["clv"] = float(clv.sum())
    base["expected_purchases"] = float(expected.sum())
    return scores, pd.Series(base)


NEXT_RENEWAL_COLUMNS = [
    "customer_id",
    "next_renewal",
    "p_cancel_before_renewal",
    "risk_label",
    "tenure_months",
]
"""Columns of :func:`next_renewal_table`."""


def next_renewal_table(
    fit: SubscriberFit, contracts: pd.DataFrame, *, horizon_months: int
) -> pd.DataFrame:
    """Per subscriber: the next renewal date, the chance to cancel before it and the risk.

    A running subscription after ``n`` renewals renews next on ``start + (n + 1)``
    periods (the contract's anniversaries, month ends clipped as in
    :mod:`clvreport.models.contract`); sBG's chance that it is cancelled before then
    (does not make that renewal) is ``1 - S(n + 1) / S(n)`` of its plan's model
    (:meth:`~clvreport.models.sbg.ShiftedBetaGeometricModel.survival`).
    ``risk_label`` is :func:`~clvreport.models.next_purchase.risk_labels` of the
    chance to still be subscribed at the horizon's end (``p_alive``,
    ``S(n + H) / S(n)``): ``low`` from 50%, ``high`` below 20%, else ``elevated``
    (the same bands as a shop customer's chance to buy within the horizon).
    ``tenure_months``: whole months from the start to the report date. An ended
    subscription has all of them empty.

    Parameters
    ----------
    fit
        A usable :class:`SubscriberFit`.
    contracts
        :func:`read_contracts` output (with ``attrs["as_of"]``).
    horizon_months
        The report's horizon.

    Returns
    -------
    pandas.DataFrame
        :data:`NEXT_RENEWAL_COLUMNS`, one row per subscriber (their latest subscription).

    Examples
    --------
    >>> table = next_renewal_table(fit, contracts, horizon_months=12)  # doctest: +SKIP
    """
    from clvreport.models.contract import _whole_months
    from clvreport.models.next_purchase import risk_labels

    if not fit.usable:
        raise ModelError("the subscription model could not be fitted")
    latest = _latest(contracts)
    periods = horizon_periods(horizon_months, fit.period)
    n = latest["renewals"].to_numpy(dtype=float)
    active = latest["active"].to_numpy(dtype=bool)
    plans = latest["plan"].to_numpy()
    cancel = np.full(len(latest), np.nan)
    stays = np.full(len(latest), np.nan)
    for plan in pd.unique(plans):
        rows = np.flatnonzero((plans == plan) & active)
        if rows.size:
            stay = _stay(fit.model_for(str(plan)), n[rows], periods)
            cancel[rows] = 1.0 - stay[0]
            stays[rows] = stay[-1]
    start = pd.DatetimeIndex(pd.to_datetime(latest["start"]))
    months = MONTHS_PER_PERIOD[fit.period]
    offsets = (np.where(active, n, 0) + 1).astype(np.int64) * months
    years, month0 = np.divmod(start.month.to_numpy() - 1 + offsets, 12)
    target = pd.to_datetime({"year": start.year.to_numpy() + years, "month": month0 + 1, "day": 1})
    day = np.minimum(start.day.to_numpy(), target.dt.days_in_month.to_numpy())
    renewal = (target + pd.to_timedelta(day - 1, unit="D")).to_numpy(dtype="datetime64[ns]")
    as_of = pd.Timestamp(contracts.attrs.get("as_of") or start.max())
    tenure = _whole_months(start, pd.DatetimeIndex([as_of] * len(latest)))
    return pd.DataFrame(
        {
            "customer_id": latest["customer_id"].astype(str).to_numpy(),
            "next_renewal": np.where(active, renewal, np.datetime64("NaT")).astype(
                "datetime64[ns]"
            ),
            "p_cancel_before_renewal": cancel,
            "risk_label": risk_labels(stays),
            "tenure_months": np.where(active, tenure, np.nan),
        }
    )


def _count_range(stay: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """90% range and variance of the number of future payments K: ``P(K >= s) = stay[s-1]``."""
    at_least = np.vstack([np.ones(stay.shape[1]), stay])  # P(K >= 0..H)
    pmf = at_least - np.vstack([stay, np.zeros(stay.shape[1])])  # P(K = 0..H)
    cdf = np.cumsum(pmf, axis=0)
    k = np.arange(pmf.shape[0])[:, None]
    low = np.argmax(cdf >= (1 - INTERVAL) / 2 - 1e-12, axis=0).astype(float)
    high = np.argmax(cdf >= (1 + INTERVAL) / 2 - 1e-12, axis=0).astype(float)
    mean = (pmf * k).sum(axis=0)
    variance = np.maximum((pmf * k * k).sum(axis=0) - mean**2, 0.0)
    return low, high, variance


def _base_total(fit, latest, periods, discount, value, variance, factor) -> dict[str, float]:
    out = {k: math.nan for k in ("clv_low", "clv_high", "purchases_low", "purchases_high")}
    n = latest["renewals"].to_numpy(dtype=float)
    active = latest["active"].to_numpy(dtype=bool)
    plans = latest["plan"].astype(str).to_numpy()
    purchase_sums = np.zeros(N_DRAWS)
    value_sums = np.zeros(N_DRAWS)
    rng = np.random.default_rng(0)
    for plan in pd.unique(plans):
        rows = np.flatnonzero((plans == plan) & active)
        if rows.size == 0:
            continue
        model = fit.model_for(plan)
        draws = draw_parameters(model, N_DRAWS, rng)
        if draws is None:
            return out
        for i, row in enumerate(np.atleast_2d(draws)):
            drawn = ShiftedBetaGeometricModel.from_params(
                dict(zip(model.param_names, row, strict=True)), time_unit=model.time_unit
            )
            stay = _stay(drawn, n[rows], periods)
            purchase_sums[i] += stay.sum()
            value_sums[i] += float(value[rows] @ (discount @ stay))
    p_low, p_high = normal_mixture_interval(purchase_sums[:, None], np.array([variance.sum()]))
    value_var = float(((value * factor) ** 2 * variance).sum())
    v_low, v_high = normal_mixture_interval(value_sums[:, None], np.array([value_var]))
    out.update(
        purchases_low=float(p_low[0]),
        purchases_high=float(p_high[0]),
        clv_low=float(v_low[0]),
        clv_high=float(v_high[0]),
    )
    return out


def subscriber_forecast(
    fit: SubscriberFit, contracts: pd.DataFrame, periods: int, *, gross_margin: float = 1.0
) -> pd.DataFrame:
    """Subscribers still paying and the revenue expected in each of the next periods.

    Returns
    -------
    pandas.DataFrame
        ``period`` (1, 2, ...), ``subscribers`` (expected still paying, of
        today's active ones; new subscribers come on top) and ``revenue``
        (times ``gross_margin``, undiscounted).

    Examples
    --------
    >>> subscriber_forecast(fit, contracts, 24)  # doctest: +SKIP
    """
    latest = _latest(contracts)
    active = latest["active"].to_numpy(dtype=bool)
    n = latest["renewals"].to_numpy(dtype=float)
    price = latest["price"].to_numpy(dtype=float)
    plans = latest["plan"].astype(str).to_numpy()
    stay = np.zeros((periods, len(latest)))
    for plan in pd.unique(plans):
        rows = np.flatnonzero((plans == plan) & active)
        if rows.size:
            stay[:, rows] = _stay(fit.model_for(plan), n[rows], periods)
    return pd.DataFrame(
        {
            "period": np.arange(1, periods + 1),
            "subscribers": stay.sum(axis=1),
            "revenue": gross_margin * stay @ price,
        }
    )


def cohort_survival_table(
    contracts: pd.DataFrame, fit: SubscriberFit | None, period: str, *, max_age: int = 36
) -> pd.DataFrame:
    """Share of each start year's subscriptions still running after ``k`` periods, with the model.

    Parameters
    ----------
    contracts
        :func:`read_contracts` output.
    fit
        The model, for the expected share per plan mix (``None``: no model column).
    period
        The renewal period.
    max_age
        Most periods shown.

    Returns
    -------
    pandas.DataFrame
        ``cohort`` (start year), ``age`` (periods since the start, 1..),
        ``subscriptions`` (observed that long), ``share`` (still running) and
        ``expected`` (the model's ``S(age)``, weighted by the cohort's plans).

    Examples
    --------
    >>> cohort_survival_table(contracts, fit, "month")  # doctest: +SKIP
    """
    start = pd.to_datetime(contracts["start"])
    as_of = pd.Timestamp(contracts.attrs.get("as_of") or start.max())
    months = (as_of.year - start.dt.year) * 12 + (as_of.month - start.dt.month)
    months = months - (as_of.day < start.dt.day).astype(int)
    # whole periods each subscription could have been observed: a cohort shows an age only
    # when every subscription in it could have reached it (no censoring bias)
    frame = contracts.assign(
        year=start.dt.year.astype(str), potential=months // MONTHS_PER_PERIOD[period]
    )
    rows = []
    for year, group in frame.groupby("year", sort=True):
        for age in range(1, min(max_age, int(group["potential"].min())) + 1):
            running = float((group["renewals"] >= age).mean())
            expected = math.nan
            if fit is not None and fit.usable:
                weights = group["plan"].astype(str).value_counts(normalize=True)
                expected = float(
                    sum(w * float(fit.model_for(p).survival(age)) for p, w in weights.items())
                )
            rows.append((year, age, len(group), running, expected))
    return pd.DataFrame(rows, columns=["cohort", "age", "subscriptions", "share", "expected"])


def subscriber_period_forecast(
    fit: SubscriberFit,
    customers: pd.DataFrame,
    groups: pd.Series,
    periods: int,
    *,
    interval: float = INTERVAL,
    n_draws: int = N_DRAWS,
) -> pd.DataFrame:
    """Payments and revenue the subscription model expects in the next ``periods``, per group.

    The counterpart of :func:`clvreport.models.period.period_forecast` (same
    columns) for the comparison with a later report, from a report's
    per-subscriber table: ``frequency`` (renewals), ``active``, ``plan`` and
    ``monetary_value`` (price per period).

    Examples
    --------
    >>> subscriber_period_forecast(fit, customers, customers["segment"], 6)  # doctest: +SKIP
    """
    n = customers["frequency"].to_numpy(dtype=float)
    active = customers["active"].fillna(False).to_numpy(dtype=bool)
    price = customers["monetary_value"].to_numpy(dtype=float)
    plans = (
        customers["plan"].astype(str).to_numpy()
        if "plan" in customers
        else np.full(len(customers), ALL_PLANS)
    )
    code, names = pd.factorize(np.asarray(groups), use_na_sentinel=False)
    k = len(names)
    mean = np.zeros(len(customers))
    variance = np.zeros(len(customers))
    draws_p = np.zeros((n_draws, k))
    draws_r = np.zeros((n_draws, k))
    rng = np.random.default_rng(0)
    have_draws = True
    for plan in pd.unique(plans):
        rows = np.flatnonzero((plans == plan) & active)
        if rows.size == 0:
            continue
        model = fit.model_for(str(plan))
        stay = _stay(model, n[rows], periods)
        mean[rows] = stay.sum(axis=0)
        variance[rows] = _count_range(stay)[2]
        draws = draw_parameters(model, n_draws, rng)
        if draws is None:
            have_draws = False
            continue
        member = np.zeros((rows.size, k))
        member[np.arange(rows.size), code[rows]] = 1.0
        for i, row in enumerate(np.atleast_2d(draws)):
            drawn = ShiftedBetaGeometricModel.from_params(
                dict(zip(model.param_names, row, strict=True)), time_unit=model.time_unit
            )
            expected = _stay(drawn, n[rows], periods).sum(axis=0)
            draws_p[i] += expected @ member
            draws_r[i] += (expected * price[rows]) @ member

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(code, weights=values, minlength=k)

    table = pd.DataFrame(
        {
            "group": list(names),
            "customers": np.bincount(code, minlength=k),
            "expected_purchases": total(mean),
            "expected_revenue": total(mean * price),
            "purchases_low": np.nan,
            "purchases_high": np.nan,
            "revenue_low": np.nan,
            "revenue_high": np.nan,
        }
    )
    if have_draws:
        low, high = normal_mixture_interval(draws_p, total(variance), interval)
        table["purchases_low"], table["purchases_high"] = low, high
        low, high = normal_mixture_interval(draws_r, total(variance * price**2), interval)
        table["revenue_low"], table["revenue_high"] = low, high
    return table


_PERIODLY = {"month": "monthly", "quarter": "quarterly", "year": "yearly"}


def validation_checks(config: Any, client_dir: Any, as_of: Any = None) -> Any:
    """What the subscription report reads and fits, checked as the report does (``validate``).

    The log is read by :func:`load_subscriptions` (as the report reads it), the
    report date checked against the payments, the sBG models fitted and the
    holdout computed: a problem the report would stop on stops here, with the
    same message.

    Parameters
    ----------
    config, client_dir
        From :func:`clvreport.config.load_client` (``business: subscription``).
    as_of
        The report date given on the command line (``None``: ``config.as_of``).

    Returns
    -------
    clvreport.validate.ValidationResult
        A ``subscriptions`` line (rows used, subscriptions, subscribers,
        running ones, starts), a ``model`` line (cancellations, the plans with
        a model of their own) and a ``holdout`` line; warnings for excluded or
        flagged rows, plans that borrow the model of all plans, a model that
        cannot be fitted and a holdout the report cannot check.

    Examples
    --------
    >>> validation_checks(config, "data/abonnement").checks[0][0]  # doctest: +SKIP
    'subscriptions'
    """
    from clvreport.analysis import calibration_end_for, check_report_date
    from clvreport.subscriber_holdout import subscriber_holdout
    from clvreport.validate import holdout_line, ingest_checks

    contracts, payments = load_subscriptions(config, client_dir, as_of)
    with payments:
        check_report_date(payments.as_of, payments.last_date)
    quality, report_date = payments.quality, payments.as_of
    starts = pd.to_datetime(contracts["start"])
    line = (
        "subscriptions",
        f"{quality.rows_kept:,} of {quality.rows_read:,} rows used, {len(contracts):,} "
        f"subscriptions of {quality.customers:,} subscribers, "
        f"{int(contracts['active'].sum()):,} running on {report_date}; started "
        f"{starts.min().date()} – {starts.max().date()}",
    )
    result = ingest_checks(quality, line, outliers=config.data.policies.outliers)
    result.customers = quality.customers
    period = config.subscription.period
    fit = fit_subscriber_model(contracts, period)
    ended = ~contracts["active"].astype(bool)
    if not fit.usable:
        result.warnings.append(
            f"only {int(ended.sum()):,} subscriptions ended: the sBG model needs at least "
            f"{MIN_CHURNED} cancellations; the report shows the history without forecasts or values"
            if "too_few_cancellations" in fit.reasons
            else "the sBG model cannot be fitted: the report shows the history without "
            "forecasts or values"
        )
        return result
    plans = sorted(str(p) for p in pd.unique(contracts["plan"]) if p != ALL_PLANS)
    own = [p for p in plans if p in fit.models]
    detail = f"sBG on {int(ended.sum()):,} cancellations at {_PERIODLY[period]} renewals"
    result.checks.append(("model", detail + (f"; one per plan: {', '.join(own)}" if own else "")))
    per_plan = ended.groupby(contracts["plan"].astype(str)).sum()
    for plan in (p for p in plans if p not in fit.models):
        n = int(per_plan[plan])
        why = (
            f"{n:,} subscriptions ended, too few for a model of its own (at least {MIN_CHURNED})"
            if n < MIN_CHURNED
            else "its own model cannot be fitted"
        )
        result.warnings.append(f"plan '{plan}': {why}: the report uses the model of all plans")
    check = subscriber_holdout(
        contracts,
        period,
        calibration_end_for(starts.min().date(), report_date, config.holdout_months),
        report_date,
        config.holdout_months,
        horizon_months=config.horizon_months,
    )
    said = holdout_line(check, config.holdout_months, period, "subscriptions")
    if isinstance(said, tuple):
        result.checks.append(said)
    else:
        result.warnings.append(said)
    return result
