"""Donors and members: BG/BB on giving opportunities, scored like customers for the report.

For a ``business: discrete`` client (a charity whose donors can give once per
year, quarter or month) the continuous-time models are the wrong tool: a
donor's chance to give comes once per period. This module fits BG/BB
(:class:`~clvreport.models.bgbb.BetaGeoBetaBinomModel`) on the donors'
``(x, t_x, n)`` histories (:func:`~clvreport.models.discrete.discrete_summary`)
and gives every donor the same columns the report reads for customers, with
the same meanings:

``p_alive``
    The chance the donor is still a donor at the next opportunity (has not
    lapsed): every future gift needs it, so ``clv = p_alive × clv_if_alive``
    exactly.
``p_silence``
    The chance that a donor giving at their own pace let as many
    opportunities pass since their last gift
    (:meth:`~clvreport.models.bgbb.BetaGeoBetaBinomModel.probability_of_silence`):
    the sign of lapsing when the model finds no dropout.
``expected_purchases``
    Expected gifts in the periods of the horizon (``horizon_months`` rounded
    to whole periods), with its 90% predictive range ``purchases_low/high``.
``expected_spend``
    Expected amount per giving period (Gamma-Gamma on the repeat periods'
    totals, or the donor's own mean and the overall mean without it).
``clv``
    ``gross_margin × expected_spend × Σ_s E[gifts in period s] / (1 + d)^years(s)``
    over the horizon's periods; ``clv_low/high`` value the purchase range the
    same way. ``value_at_stake = (1 − p_alive) × clv_if_alive``.

Other figures of the donor report: the income expected in each of the next
years from today's donors (:func:`income_forecast`), the share of each
acquisition cohort that gave in each later period against the model
(:func:`cohort_giving`), and the expected active years ahead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln

from clvreport.engine import quote_identifier
from clvreport.errors import ModelError
from clvreport.models.bgbb import BetaGeoBetaBinomModel
from clvreport.models.discrete import discrete_summary, period_index
from clvreport.models.fitting import MIN_REPEAT_BUYERS, _fit_spend
from clvreport.models.gammagamma import GammaGammaModel
from clvreport.models.numeric import json_float
from clvreport.models.predictive import INTERVAL, normal_mixture_interval
from clvreport.models.uncertainty import draw_parameters
from clvreport.models.units import (
    MONTHS_PER_PERIOD,
    PERIOD_UNIT,
    horizon_periods,
    period_discount,
)
from clvreport.period_fit import PeriodModelFit

__all__ = [
    "DonorFit",
    "cohort_giving",
    "donation_log",
    "donor_period_forecast",
    "donor_summary",
    "expected_active_periods",
    "fit_donor_model",
    "income_forecast",
    "next_gift_table",
    "period_label",
    "score_donors",
    "validation_checks",
]

N_DRAWS = 100


def donation_log(engine: Any, table: str) -> pd.DataFrame:
    """The clean donations (``customer_id, order_date, amount, is_return``) as a frame.

    Donor files are small (one or a few rows per donor and year), so the BG/BB
    summary is built in pandas.

    Examples
    --------
    >>> donation_log(transactions.engine, transactions.table)  # doctest: +SKIP
    """
    return engine.query(
        f"SELECT customer_id, order_date, amount, is_return FROM {quote_identifier(table)}"
    )


@dataclass(kw_only=True)
class DonorFit(PeriodModelFit):
    """The donor model: BG/BB for giving, Gamma-Gamma (or a mean) for the amounts.

    The attributes the report reads are those of
    :class:`~clvreport.models.fitting.ClvModelFit` (``status``, ``usable``,
    ``model_name``, ``choice_note``, ``validation`` ...; the shared ones in
    :class:`~clvreport.period_fit.PeriodModelFit`).

    Attributes
    ----------
    model
        The fitted BG/BB model (``None`` when failed).
    spend_model, spend_fallback
        Gamma-Gamma on the repeat periods' totals, and the mean total.
    """

    model: BetaGeoBetaBinomModel | None = None
    spend_model: GammaGammaModel | None = None
    spend_fallback: float | None = None
    model_name: str = "bgbb"
    choice_note: str | None = "discrete_business"

    @property
    def usable(self) -> bool:
        """Whether there is a model to score donors with."""
        return self.status != "failed" and self.model is not None

    def expected_spend(self, frequency: Any, monetary_value: Any) -> np.ndarray:
        """Expected amount per giving period (as ``ClvModelFit.expected_spend``)."""
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        if self.spend_model is not None:
            own = np.where(x > 0, np.maximum(m, 0.0), 0.0)
            return GammaGammaModel._expected_spend(tuple(self.spend_model.param_vector), x, own)
        fallback = np.nan if self.spend_fallback is None else self.spend_fallback
        return np.where((x > 0) & (m > 0), m, fallback)

    def to_dict(self) -> dict[str, Any]:
        """What ``model.json`` holds (``business: discrete`` marks a donor model)."""
        return {
            **self._dict("discrete", self.model_name, self.choice_note),
            "transaction_model": None if self.model is None else self.model.to_dict(),
            "spend_model": None if self.spend_model is None else self.spend_model.to_dict(),
            "spend_fallback": json_float(self.spend_fallback),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DonorFit:
        """Rebuild from :meth:`to_dict` (e.g. an earlier report's ``model.json``)."""
        from clvreport.models.base import MaximumLikelihoodModel

        transaction, spend = data.get("transaction_model"), data.get("spend_model")
        return cls(
            **cls._fields(data, "year"),
            model=None if transaction is None else MaximumLikelihoodModel.from_dict(transaction),  # type: ignore[arg-type]
            spend_model=None if spend is None else MaximumLikelihoodModel.from_dict(spend),  # type: ignore[arg-type]
            spend_fallback=data.get("spend_fallback"),
        )


def fit_donor_model(summary: pd.DataFrame, period: str, *, n_starts: int = 3) -> DonorFit:
    """Fit BG/BB and the amount model on the donors' discrete summary.

    Parameters
    ----------
    summary
        :func:`~clvreport.models.discrete.discrete_summary` output.
    period
        The opportunity length.
    n_starts
        Optimiser starting points.

    Returns
    -------
    DonorFit
        ``failed`` (reason ``too_few_repeat_buyers`` or ``fit_failed``) when
        fewer than :data:`~clvreport.models.fitting.MIN_REPEAT_BUYERS` donors
        gave again or the fit did not converge.

    Examples
    --------
    >>> fit = fit_donor_model(summary, "year")  # doctest: +SKIP
    >>> fit.model.params_  # doctest: +SKIP
    """
    reasons: list[str] = []
    x = summary["frequency"].to_numpy(dtype=float)
    repeat = int((x > 0).sum())
    base = {"period": period, "n_customers": len(summary), "n_repeat_buyers": repeat}
    if repeat < MIN_REPEAT_BUYERS:
        return DonorFit(status="failed", reasons=("too_few_repeat_buyers",), **base)
    try:
        model = BetaGeoBetaBinomModel(time_unit=PERIOD_UNIT[period], n_starts=n_starts).fit(
            summary["frequency"], summary["recency"], summary["n_periods"]
        )
    except (ModelError, ValueError, FloatingPointError):
        return DonorFit(status="failed", reasons=("fit_failed",), **base)
    if not model.converged_:
        reasons.append("not_converged")
    spend, fallback, _ = _fit_spend(summary, n_starts, reasons)
    status = "degraded" if reasons else "ok"
    return DonorFit(
        status=status,
        reasons=tuple(reasons),
        model=model,
        spend_model=spend,
        spend_fallback=fallback,
        **base,
    )


def _per_period(model: BetaGeoBetaBinomModel, periods: int, x, t_x, n) -> np.ndarray:
    """Expected gifts in each future period ``s = 1..periods``: shape ``(periods, donors)``."""
    cumulative = np.stack(
        [
            np.asarray(model.expected_purchases(s, x, t_x, n), dtype=float)
            for s in range(1, periods + 1)
        ]
    )
    return np.diff(cumulative, axis=0, prepend=0.0)


def score_donors(
    fit: DonorFit,
    summary: pd.DataFrame,
    *,
    horizon_months: int,
    discount_rate: float,
    gross_margin: float,
) -> tuple[pd.DataFrame, pd.Series]:
    """Score every donor (the columns of the module docstring) and the whole base.

    Parameters
    ----------
    fit
        A usable :class:`DonorFit`.
    summary
        The donors' discrete summary.
    horizon_months, discount_rate, gross_margin
        As for customers (``client.yml``).

    Returns
    -------
    tuple
        The per-donor scores, and the base total (``clv``, ``clv_low``,
        ``clv_high``, ``expected_purchases``, ``purchases_low``,
        ``purchases_high``) with the 90% range of the sum (parameter draws
        and the spread of the gifts themselves).

    Examples
    --------
    >>> scores, base = score_donors(fit, summary, horizon_months=60, discount_rate=0.1,
    ...                             gross_margin=1.0)  # doctest: +SKIP
    """
    if not fit.usable or fit.model is None:
        raise ModelError("the donor model could not be fitted")
    model = fit.model
    periods = horizon_periods(horizon_months, fit.period)
    frame = summary.reset_index(drop=True)
    x = frame["frequency"].to_numpy(dtype=float)
    t_x = frame["recency"].to_numpy(dtype=float)
    n = frame["n_periods"].to_numpy(dtype=float)
    # one evaluation per distinct history
    keys = pd.MultiIndex.from_arrays([x, t_x, n])
    codes, unique = pd.factorize(keys)
    ux, ut, un = (np.asarray(unique.get_level_values(i), dtype=float) for i in range(3))
    p_alive = np.asarray(model.probability_alive(ux, ut, un), dtype=float)
    silence = np.asarray(model.probability_of_silence(ux, ut, un), dtype=float)
    per_period = _per_period(model, periods, ux, ut, un)
    discount = period_discount(fit.period, periods, discount_rate)
    expected = per_period.sum(axis=0)
    factor = np.divide(
        discount @ per_period, expected, out=np.ones_like(expected), where=expected > 0
    )
    interval = model.predictive_interval(periods, ux, ut, un, interval=INTERVAL, n_draws=N_DRAWS)
    spend = np.nan_to_num(fit.expected_spend(x, frame["monetary_value"].to_numpy(dtype=float)))
    per_gift = gross_margin * spend * factor[codes]
    clv = per_gift * expected[codes]
    with np.errstate(divide="ignore", invalid="ignore"):
        if_alive = np.where(p_alive[codes] > 0, clv / p_alive[codes], 0.0)
    scores = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str).to_numpy(),
            "p_alive": p_alive[codes],
            "p_silence": silence[codes],
            "expected_purchases": expected[codes],
            "purchases_low": interval.low[codes],
            "purchases_high": interval.high[codes],
            "expected_spend": spend,
            "clv": clv,
            "clv_if_alive": if_alive,
            "clv_low": per_gift * interval.low[codes],
            "clv_high": per_gift * interval.high[codes],
        }
    )
    base = _base_total(fit, periods, ux, ut, un, codes, per_gift, interval.variance, discount)
    base["clv"] = float(clv.sum())
    base["expected_purchases"] = float(expected[codes].sum())
    return scores, pd.Series(base)


def _base_total(fit, periods, ux, ut, un, codes, per_gift, variance, discount) -> dict[str, float]:
    """The 90% range of the base's gifts and value: parameter draws plus the gifts' own spread."""
    counts = np.bincount(codes, minlength=ux.size).astype(float)
    value_sum = np.bincount(codes, weights=per_gift, minlength=ux.size)
    value_sq = np.bincount(codes, weights=per_gift**2, minlength=ux.size)
    draws = draw_parameters(fit.model, N_DRAWS, np.random.default_rng(0))
    out = {k: math.nan for k in ("clv_low", "clv_high", "purchases_low", "purchases_high")}
    if draws is None:
        return out
    names = fit.model.param_names
    purchase_sums, value_sums = [], []
    for row in np.atleast_2d(draws):
        drawn = BetaGeoBetaBinomModel.from_params(dict(zip(names, row, strict=True)))
        expected = _per_period(drawn, periods, ux, ut, un).sum(axis=0)
        purchase_sums.append(counts @ expected)
        value_sums.append(value_sum @ expected)
    purchase_var = float(counts @ np.nan_to_num(variance))
    value_var = float(value_sq @ np.nan_to_num(variance))
    low, high = normal_mixture_interval(np.array(purchase_sums)[:, None], np.array([purchase_var]))
    out["purchases_low"], out["purchases_high"] = float(low[0]), float(high[0])
    low, high = normal_mixture_interval(np.array(value_sums)[:, None], np.array([value_var]))
    out["clv_low"], out["clv_high"] = float(low[0]), float(high[0])
    return out


def income_forecast(
    fit: DonorFit, summary: pd.DataFrame, periods: int = 5, *, gross_margin: float = 1.0
) -> pd.DataFrame:
    """The gifts and income expected from today's donors in each of the next periods.

    Parameters
    ----------
    fit, summary
        The donor model and summary.
    periods
        How many periods ahead.
    gross_margin
        Share of the income counted (1.0 for a charity).

    Returns
    -------
    pandas.DataFrame
        ``period`` (1, 2, ...), ``donors_giving`` (expected donors who give
        in that period), ``income`` (expected amount, undiscounted) and
        ``alive`` (expected donors still donors at its start).

    Examples
    --------
    >>> income_forecast(fit, summary, 5)  # doctest: +SKIP
    """
    if not fit.usable or fit.model is None:
        raise ModelError("the donor model could not be fitted")
    x = summary["frequency"].to_numpy(dtype=float)
    t_x = summary["recency"].to_numpy(dtype=float)
    n = summary["n_periods"].to_numpy(dtype=float)
    spend = np.nan_to_num(fit.expected_spend(x, summary["monetary_value"].to_numpy(dtype=float)))
    per_period = _per_period(fit.model, periods, x, t_x, n)
    alive = np.stack([_alive_at(fit.model, s, x, t_x, n) for s in range(1, periods + 1)])
    return pd.DataFrame(
        {
            "period": np.arange(1, periods + 1),
            "donors_giving": per_period.sum(axis=1),
            "income": gross_margin * per_period @ spend,
            "alive": alive.sum(axis=1),
        }
    )


def _alive_at(model: BetaGeoBetaBinomModel, s: int, x, t_x, n) -> np.ndarray:
    """P(alive at opportunity n + s | history) = P(alive at n) × ∏ (1 − θ) over s more periods."""
    _, _, g, d = (model.params_[k] for k in model.param_names)
    alive_now = np.asarray(model.probability_alive(x, t_x, n, next_period=False), dtype=float)
    survive = np.exp(betaln(g, d + n + s) - betaln(g, d + n))
    return alive_now * survive


def expected_active_periods(fit: DonorFit, summary: pd.DataFrame, periods: int) -> np.ndarray:
    """Expected periods each donor is still a donor within the next ``periods``.

    Examples
    --------
    >>> expected_active_periods(fit, summary, 10)  # doctest: +SKIP
    """
    assert fit.model is not None
    x = summary["frequency"].to_numpy(dtype=float)
    t_x = summary["recency"].to_numpy(dtype=float)
    n = summary["n_periods"].to_numpy(dtype=float)
    return np.sum([_alive_at(fit.model, s, x, t_x, n) for s in range(1, periods + 1)], axis=0)


def cohort_giving(
    log: pd.DataFrame, fit: DonorFit | None, period: str, *, as_of: Any, max_age: int = 10
) -> pd.DataFrame:
    """The share of each acquisition cohort that gave in each later period, with the model's.

    Parameters
    ----------
    log
        :func:`donation_log` output.
    fit
        The donor model, for the expected share of a new donor (``None``: no model column).
    period
        The opportunity length.
    as_of
        The report date: only whole periods up to it count.
    max_age
        Most periods after the first shown.

    Returns
    -------
    pandas.DataFrame
        ``cohort`` (first period's label, e.g. ``"2019"``), ``age`` (periods
        since the first, 1..), ``donors`` (cohort size), ``share`` (share who
        gave in that period) and ``expected`` (BG/BB: the chance a new donor
        gives at opportunity ``age``, ``E[p] × E[(1 − θ)^age]``).

    Examples
    --------
    >>> cohort_giving(log, fit, "year", as_of="2024-12-31")  # doctest: +SKIP
    """
    gifts = log[~log["is_return"].astype(bool)]
    index = period_index(pd.to_datetime(gifts["order_date"]), period)
    last = int(period_index(pd.DatetimeIndex([pd.Timestamp(as_of)]), period)[0])
    frame = pd.DataFrame({"customer_id": gifts["customer_id"].to_numpy(), "index": index})
    frame = frame.drop_duplicates()
    first = frame.groupby("customer_id")["index"].transform("min")
    frame["age"] = frame["index"] - first
    frame["cohort"] = first
    sizes = frame.loc[frame["age"] == 0].groupby("cohort").size()
    later = frame[(frame["age"] >= 1) & (frame["age"] <= max_age) & (frame["index"] <= last)]
    counts = later.groupby(["cohort", "age"]).size().rename("givers").reset_index()
    rows = [
        (cohort, age)
        for cohort in sizes.index
        for age in range(1, max_age + 1)
        if cohort + age <= last
    ]
    table = pd.DataFrame(rows, columns=["cohort", "age"]).merge(
        counts, on=["cohort", "age"], how="left"
    )
    table["givers"] = table["givers"].fillna(0).astype(int)
    table["donors"] = table["cohort"].map(sizes).astype(int)
    table["share"] = table["givers"] / table["donors"]
    if fit is not None and fit.usable and fit.model is not None:
        a, b, g, d = (fit.model.params_[k] for k in fit.model.param_names)
        ages = table["age"].to_numpy(dtype=float)
        table["expected"] = a / (a + b) * np.exp(betaln(g, d + ages) - betaln(g, d))
    else:
        table["expected"] = np.nan
    table["cohort"] = [period_label(int(c), period) for c in table["cohort"]]
    return table[["cohort", "age", "donors", "givers", "share", "expected"]]


NEXT_GIFT_COLUMNS = [
    "customer_id",
    "p_purchase_next_period",
    "p_purchase_horizon",
    "next_gift_periods",
    "next_gift_low",
    "next_gift_high",
    "typical_interval_days",
    "overdue_ratio",
    "risk_label",
    "periods_given",
    "periods_seen",
    "last_gift_period",
]
"""Columns of :func:`next_gift_table`."""


def next_gift_table(fit: DonorFit, summary: pd.DataFrame, *, horizon_months: int) -> pd.DataFrame:
    """Per donor: the chance of a gift in the next period and within the horizon, and the risk.

    The period analogue of the shop models' next purchase
    (:func:`~clvreport.models.next_purchase.next_purchase_table`), from
    :func:`~clvreport.models.next_purchase.next_gift_probabilities` (dropout included):

    ``p_purchase_next_period``
        The chance of a gift in the coming giving period (the donors' analogue of
        ``p_purchase_90d``: a donor can give once a period, not on a given day).
    ``p_purchase_horizon``
        The chance of a gift within the horizon's whole periods
        (:func:`~clvreport.models.units.horizon_periods`, at least one).
    ``next_gift_periods``
        The fewest coming periods within which a gift is more likely than not
        (``P >= 0.5``); empty when not within the horizon. The analogue of
        ``next_purchase_median``.
    ``next_gift_low``, ``next_gift_high``
        The first and last period (labels such as ``2027`` or ``2027-Q2``) of the
        next gift's 80% window given a gift within the horizon
        (:func:`~clvreport.models.next_purchase.next_gift_window`); empty unless a
        gift within the horizon is more likely than not, as the shop models' window.
    ``typical_interval_days``, ``overdue_ratio``
        The donor's own rhythm, in days (periods between the first and the last
        gift over the gifts after the first, times the period's length), and the
        periods since the last gift over it; a one-time donor has the median
        rhythm of the repeat donors (as for shop customers).
    ``risk_label``
        :func:`~clvreport.models.next_purchase.risk_labels` of ``p_purchase_horizon``.
    ``periods_given``, ``periods_seen``, ``last_gift_period``
        The history the reason sentence cites: periods with a gift, periods since
        the first gift (both including the first) and the last one's label.

    Parameters
    ----------
    fit
        A usable :class:`DonorFit`.
    summary
        The donors' discrete summary (with ``attrs["last_period_end"]``).
    horizon_months
        The report's horizon.

    Returns
    -------
    pandas.DataFrame
        :data:`NEXT_GIFT_COLUMNS`, one row per donor of ``summary``.

    Examples
    --------
    >>> table = next_gift_table(fit, summary, horizon_months=12)  # doctest: +SKIP
    >>> table["risk_label"].value_counts()  # doctest: +SKIP
    """
    from clvreport.models.compression import distinct_rows
    from clvreport.models.next_purchase import (
        EXPECTED_SHARE,
        next_gift_probabilities,
        next_gift_window,
        risk_labels,
    )
    from clvreport.models.units import DAYS_PER_MONTH

    if not fit.usable or fit.model is None:
        raise ModelError("the donor model could not be fitted")
    periods = horizon_periods(horizon_months, fit.period)
    frame = summary.reset_index(drop=True)
    x, t_x, n = (frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "n_periods"))
    codes, first = distinct_rows(x, t_x, n)
    chances = next_gift_probabilities(fit.model, x[first], t_x[first], n[first], periods)
    cumulative = np.cumsum(chances, axis=1)
    reached = cumulative >= EXPECTED_SHARE
    within = np.where(reached.any(axis=1), reached.argmax(axis=1) + 1.0, np.nan)
    p_horizon = cumulative[:, -1][codes]
    period_days = MONTHS_PER_PERIOD[fit.period] * DAYS_PER_MONTH
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        own = t_x / x
    rhythm = np.where(repeat, own, np.median(own[repeat]) if repeat.any() else np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rhythm > 0, (n - t_x) / rhythm, np.nan)
    last_whole = int(
        period_index(pd.DatetimeIndex([summary.attrs["last_period_end"]]), fit.period)[0]
    )
    last_gift = (last_whole - (n - t_x)).astype(np.int64)
    indices, which = np.unique(last_gift, return_inverse=True)
    labels = np.array([period_label(int(i), fit.period) for i in indices], dtype=object)
    low, _, high = next_gift_window(chances)
    shown = cumulative[:, -1] >= EXPECTED_SHARE
    coming = {k: period_label(last_whole + k, fit.period) for k in range(1, periods + 1)}

    def window_label(values: np.ndarray) -> np.ndarray:
        text = [coming[int(v)] if ok else None for v, ok in zip(values, shown, strict=True)]
        return np.array(text, dtype=object)[codes]

    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str).to_numpy(),
            "p_purchase_next_period": chances[:, 0][codes],
            "p_purchase_horizon": p_horizon,
            "next_gift_periods": within[codes],
            "next_gift_low": window_label(low),
            "next_gift_high": window_label(high),
            "typical_interval_days": rhythm * period_days,
            "overdue_ratio": ratio,
            "risk_label": risk_labels(p_horizon),
            "periods_given": (x + 1).astype(np.int64),
            "periods_seen": (n + 1).astype(np.int64),
            "last_gift_period": labels[which.reshape(-1)],
        }
    )


def period_label(index: int, period: str) -> str:
    """``2019``, ``2019-Q2`` or ``2019-05`` for a period index of :func:`period_index`.

    Examples
    --------
    >>> period_label(2019 * 4 + 1, "quarter"), period_label(2019 * 12 + 4, "month")
    ('2019-Q2', '2019-05')
    """
    per_year = 12 // MONTHS_PER_PERIOD[period]
    year, part = divmod(index, per_year)
    if period == "year":
        return str(year)
    if period == "quarter":
        return f"{year}-Q{part + 1}"
    return f"{year}-{part + 1:02d}"


def donor_summary(log: pd.DataFrame, period: str, as_of: Any) -> pd.DataFrame:
    """The BG/BB summary of a donation log (:func:`~clvreport.models.discrete.discrete_summary`).

    Examples
    --------
    >>> donor_summary(log, "year", "2024-12-31")  # doctest: +SKIP
    """
    return discrete_summary(
        log,
        customer_col="customer_id",
        date_col="order_date",
        amount_col="amount",
        period=period,
        as_of=as_of,
        return_col="is_return",
    )


def donor_period_forecast(
    fit: DonorFit,
    summary: pd.DataFrame,
    groups: pd.Series,
    periods: int,
    *,
    interval: float = INTERVAL,
    n_draws: int = N_DRAWS,
) -> pd.DataFrame:
    """Gifts and income the donor model expects in the next ``periods``, per group.

    The donor counterpart of :func:`clvreport.models.period.period_forecast`
    (same columns, :data:`~clvreport.models.period.PERIOD_COLUMNS`), for the
    comparison with a later report: means from BG/BB, 90% ranges of each
    group's sum from parameter draws plus the spread of the donors' gifts.

    Examples
    --------
    >>> donor_period_forecast(fit, summary, summary["segment"], 1)  # doctest: +SKIP
    """
    if not fit.usable or fit.model is None:
        raise ModelError("the donor model could not be fitted")
    model = fit.model
    x = summary["frequency"].to_numpy(dtype=float)
    t_x = summary["recency"].to_numpy(dtype=float)
    n = summary["n_periods"].to_numpy(dtype=float)
    spend = np.nan_to_num(fit.expected_spend(x, summary["monetary_value"].to_numpy(dtype=float)))
    code, names = pd.factorize(np.asarray(groups), use_na_sentinel=False)
    k = len(names)
    mean = np.asarray(model.expected_purchases(periods, x, t_x, n), dtype=float)
    variance = np.nan_to_num(model.predictive_interval(periods, x, t_x, n, n_draws=10).variance)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(code, weights=values, minlength=k)

    table = pd.DataFrame(
        {
            "group": list(names),
            "customers": np.bincount(code, minlength=k),
            "expected_purchases": total(mean),
            "expected_revenue": total(mean * spend),
        }
    )
    for column in ("purchases", "revenue"):
        table[f"{column}_low"] = np.nan
        table[f"{column}_high"] = np.nan
    draws = draw_parameters(model, n_draws, np.random.default_rng(0))
    if draws is not None:
        purchase_sums, revenue_sums = [], []
        for row in np.atleast_2d(draws):
            drawn = BetaGeoBetaBinomModel.from_params(
                dict(zip(model.param_names, row, strict=True))
            )
            expected = np.asarray(drawn.expected_purchases(periods, x, t_x, n), dtype=float)
            purchase_sums.append(total(expected))
            revenue_sums.append(total(expected * spend))
        low, high = normal_mixture_interval(np.array(purchase_sums), total(variance), interval)
        table["purchases_low"], table["purchases_high"] = low, high
        low, high = normal_mixture_interval(
            np.array(revenue_sums), total(variance * spend**2), interval
        )
        table["revenue_low"], table["revenue_high"] = low, high
    return table


_PERIODLY = {"month": "monthly", "quarter": "quarterly", "year": "yearly"}


def validation_checks(config: Any, client_dir: Any, as_of: Any = None) -> Any:
    """What the donor report reads and fits, checked as the report does (``validate``).

    The gifts are read as the report reads them, the report date checked, the
    donors' giving periods summed up, BG/BB fitted and the holdout computed:
    a problem the report would stop on stops here, with the same message.

    Parameters
    ----------
    config, client_dir
        From :func:`clvreport.config.load_client` (``business: discrete``).
    as_of
        The report date given on the command line (``None``: ``config.as_of``).

    Returns
    -------
    clvreport.validate.ValidationResult
        A ``gifts`` line (rows used, donors, dates), a ``model`` line (the
        giving opportunities and the donors who gave in more than one) and a
        ``holdout`` line; warnings for excluded or flagged rows, a report date
        inside a period (its gifts are history, not model), a model that
        cannot be fitted and a holdout the report cannot check.

    Examples
    --------
    >>> validation_checks(config, "data/goededoel").checks[-1][0]  # doctest: +SKIP
    'holdout'
    """
    from clvreport.analysis import check_report_date
    from clvreport.donor_holdout import donor_holdout
    from clvreport.ingest import load_transactions
    from clvreport.models.fitting import MIN_REPEAT_BUYERS
    from clvreport.validate import holdout_line, ingest_checks

    with load_transactions(config, client_dir, as_of=as_of or config.as_of) as gifts:
        check_report_date(gifts.as_of, gifts.last_date)
        log = donation_log(gifts.engine, gifts.table)
    quality, report_date, period = gifts.quality, gifts.as_of, config.discrete.period
    line = (
        "gifts",
        f"{quality.rows_kept:,} of {quality.rows_read:,} rows used, {quality.customers:,} "
        f"donors, {gifts.first_date} – {report_date}",
    )
    # "no customer bought twice" is said below in the donors' terms: periods, not days
    result = ingest_checks(
        quality,
        line,
        transactions=gifts,
        outliers=config.data.policies.outliers,
        skip_warnings=("no_repeat_customers",),
    )
    result.customers = quality.customers
    summary = donor_summary(log, period, report_date)
    last_end = summary.attrs["last_period_end"]
    if last_end != report_date.isoformat():
        result.warnings.append(
            f"the report date {report_date} is not the end of a {period}: the model counts the "
            f"{period}s up to {last_end}; later gifts are in the history, not in the model"
        )
    repeat = int((summary["frequency"] > 0).sum())
    fit = fit_donor_model(summary, period)
    if not fit.usable:
        result.warnings.append(
            f"only {repeat:,} donors gave in two or more {period}s: the BG/BB model needs at "
            f"least {MIN_REPEAT_BUYERS}; the report shows the history without forecasts or values"
            if "too_few_repeat_buyers" in fit.reasons
            else "the BG/BB model cannot be fitted: the report shows the history without "
            "forecasts or values"
        )
        return result
    opportunities = int(summary["n_periods"].max())
    result.checks.append(
        (
            "model",
            f"BG/BB on {_PERIODLY[period]} giving up to {last_end} ({opportunities} "
            f"opportunities after the first {period}): {repeat:,} of {len(summary):,} donors "
            "gave in more than one",
        )
    )
    check = donor_holdout(
        log, period, report_date, config.holdout_months, horizon_months=config.horizon_months
    )
    said = holdout_line(check, config.holdout_months, period, "donors")
    if isinstance(said, tuple):
        result.checks.append(said)
    else:
        result.warnings.append(said)
    return result
