"""Subscribers (``business: subscription``): contracts that renew until cancelled, sBG per plan.

The subscription log is read as contracts (:func:`~clvreport.subscribers.read_contracts`);
the report's transaction sections read one payment per paid period derived
from them. The sBG models (:mod:`clvreport.subscribers`) are checked on the
last ``holdout_months`` (:mod:`clvreport.subscriber_holdout`) and score every
subscriber, with a win-back value for ex-subscribers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from clvreport.audiences.base import Audience, ModelStep
from clvreport.period_holdout import PeriodHoldout
from clvreport.subscribers import SubscriberFit

if TYPE_CHECKING:
    from clvreport.config import ClientConfig
    from clvreport.i18n import Translator
    from clvreport.ingest import Transactions
    from clvreport.metrics import ObservationWindow
    from clvreport.validate import ValidationResult

__all__ = ["Contracts", "SubscriberAnalysis", "SubscriberAudience", "fit_subscribers"]


@dataclass
class SubscriberAnalysis:
    """The subscription model and its own figures (``business: subscription``).

    Attributes
    ----------
    contracts
        One row per subscription (:func:`~clvreport.subscribers.read_contracts`).
    summary
        One row per subscriber, of the latest subscription: ``customer_id``,
        ``renewals`` and ``price`` (per period).
    fit
        The sBG models (:class:`~clvreport.subscribers.SubscriberFit`).
    scores, base
        Per-subscriber scores and the base total (``None`` when the model failed).
    forecast
        Subscribers still paying and revenue per coming period (``None`` without a model).
    cohorts
        Share of each start year's subscriptions still running, with the model's.
    holdout
        The model's holdout check
        (:func:`~clvreport.subscriber_holdout.subscriber_holdout`), or why there is none.
    """

    contracts: pd.DataFrame
    summary: pd.DataFrame
    fit: SubscriberFit
    scores: pd.DataFrame | None
    base: pd.Series | None
    forecast: pd.DataFrame | None
    cohorts: pd.DataFrame
    holdout: PeriodHoldout = field(default_factory=PeriodHoldout)


@dataclass
class Contracts:
    """The subscription log as read (one row per subscription) and its report date."""

    frame: pd.DataFrame
    as_of: dt.date


def subscriber_summary(contracts: pd.DataFrame) -> pd.DataFrame:
    """One row per subscriber, of the latest subscription: ``customer_id, renewals, price``.

    Examples
    --------
    >>> contracts = pd.DataFrame({"customer_id": ["a", "a", "b"], "start": [1, 2, 1],
    ...                           "renewals": [4, 1, 0], "price": [10.0, 12.0, 9.0]})
    >>> subscriber_summary(contracts).values.tolist()
    [['a', 1, 12.0], ['b', 0, 9.0]]
    """
    latest = contracts.sort_values(["customer_id", "start"]).groupby("customer_id").tail(1)
    return pd.DataFrame(
        {
            "customer_id": latest["customer_id"].astype(str).to_numpy(),
            "renewals": latest["renewals"].to_numpy(dtype=np.int64),
            "price": latest["price"].to_numpy(dtype=float),
        }
    )


def fit_subscribers(
    contracts: pd.DataFrame,
    period: str,
    as_of: dt.date,
    *,
    holdout_months: int,
    horizon_months: int,
) -> SubscriberFit:
    """The sBG models with their holdout check: what the report and ``fit --model sbg`` fit.

    Renewals of ``period`` (``month``, ``quarter``, ``year``) per plan, checked
    on the last ``holdout_months`` (over ``horizon_months``) when the models
    could be fitted.
    """
    from clvreport.analysis import calibration_end_for
    from clvreport.subscriber_holdout import subscriber_holdout
    from clvreport.subscribers import fit_subscriber_model

    fit = fit_subscriber_model(contracts, period)
    if fit.usable:
        first = pd.Timestamp(contracts["start"].min()).date()
        fit.check(
            subscriber_holdout(
                contracts,
                period,
                calibration_end_for(first, as_of, holdout_months),
                as_of,
                holdout_months,
                horizon_months=horizon_months,
            )
        )
    return fit


def _score_options(config: ClientConfig) -> dict[str, Any]:
    from clvreport.customer_groups import AT_RISK_CANCEL_RENEWALS

    return {
        "winback_half_life_months": config.subscription.winback_half_life_months,
        "winback_horizon_months": config.subscription.winback_horizon_months,
        "cancel_renewals": AT_RISK_CANCEL_RENEWALS,
    }


def subscription_analysis(
    contracts: pd.DataFrame, config: ClientConfig, as_of: dt.date
) -> SubscriberAnalysis:
    """The sBG models, every subscriber's scores and the subscription section's figures."""
    from clvreport.analysis import join_columns
    from clvreport.models.units import horizon_periods
    from clvreport.subscribers import (
        cohort_survival_table,
        next_renewal_table,
        score_subscribers,
        subscriber_forecast,
    )

    period = config.subscription.period
    fit = fit_subscribers(
        contracts,
        period,
        as_of,
        holdout_months=config.holdout_months,
        horizon_months=config.horizon_months,
    )
    summary = subscriber_summary(contracts)
    cohorts = cohort_survival_table(contracts, fit if fit.usable else None, period)
    if not fit.usable:
        return SubscriberAnalysis(contracts, summary, fit, None, None, None, cohorts)
    options = {
        "discount_rate": config.discount_rate,
        "gross_margin": config.gross_margin,
        **_score_options(config),
    }
    scores, base = score_subscribers(
        fit, contracts, horizon_months=config.horizon_months, **options
    )
    lifetime, _ = score_subscribers(
        fit, contracts, horizon_months=config.lifetime_years * 12, **options
    )
    scores["clv_lifetime"] = lifetime["clv"].to_numpy()
    scores["clv_if_alive_lifetime"] = lifetime["clv_if_alive"].to_numpy()
    scores["winback_value_lifetime"] = lifetime["winback_value"].to_numpy()
    # revenue (not margin): the report shows it beside the revenue of the last 12 months
    periods = horizon_periods(config.horizon_months, period)
    forecast = subscriber_forecast(fit, contracts, periods)
    scores = scores.drop(columns=["renewals"])
    upcoming = next_renewal_table(fit, contracts, horizon_months=config.horizon_months)
    scores = join_columns(scores, upcoming)
    holdout = fit.holdout if fit.holdout is not None else PeriodHoldout()
    return SubscriberAnalysis(contracts, summary, fit, scores, base, forecast, cohorts, holdout)


class SubscriberAudience(Audience):
    """Subscribers: contracts that renew until cancelled (see the module docstring)."""

    business: ClassVar[str] = "subscription"
    name: ClassVar[str] = "subscribers"
    big_spender: ClassVar[bool] = False
    winback: ClassVar[bool] = True

    def check_config(self, config: ClientConfig) -> None:
        """A subscription log needs the columns of each contract's start and end date."""
        start, end = config.subscription.start, config.subscription.end
        missing = [
            f"subscription.{key}"
            for key, column in (("start", start), ("end", end))
            if column is None or not column.strip()
        ]
        if missing:
            raise ValueError(
                f"business: subscription needs {' and '.join(missing)}: the columns holding "
                "each contract's start date and end date (empty while active), e.g. "
                "subscription: {start: startdatum, end: einddatum}"
            )
        if str(start).strip().casefold() == str(end).strip().casefold():
            raise ValueError(
                f"subscription.start and subscription.end both name the column '{start}'; "
                "map the start date and the end date to their own columns"
            )

    def reasons(
        self,
        customers: pd.DataFrame,
        t: Translator,
        *,
        as_of: dt.date,
        horizon_months: int,
        config: ClientConfig | None = None,
    ) -> pd.Series | None:
        """The next renewal and the chance to cancel before it (``subscriber_reasons``).

        See :func:`~clvreport.next_purchase_text.subscriber_reasons`.
        """
        from clvreport.next_purchase_text import subscriber_reasons

        if "next_renewal" not in customers:
            return None
        return subscriber_reasons(customers, t)

    def load(
        self, config: ClientConfig, client_dir: Path, as_of: dt.date | None
    ) -> tuple[Transactions, Any]:
        """The payments derived from the subscription log, and the contracts.

        The log is read through the common ingest
        (:func:`~clvreport.subscription_log.load_subscriptions`): its data
        quality counts the client's own rows.
        """
        from clvreport.subscription_log import load_subscriptions

        contracts, payments = load_subscriptions(config, client_dir, as_of)
        return payments, Contracts(contracts, payments.as_of)

    def model_step(
        self,
        config: ClientConfig,
        transactions: Transactions,
        source: Any,
        window: ObservationWindow,
    ) -> ModelStep:
        """The sBG models per plan on the contracts (:func:`subscription_analysis`)."""
        subscription = subscription_analysis(source.frame, config, transactions.as_of)
        return ModelStep(
            summary=subscription.summary,
            model=subscription.fit,
            scores=subscription.scores,
            base_value=subscription.base,
            calibration_end=subscription.holdout.calibration_end,
            intervals=subscription.holdout.intervals,
            subscribers=subscription,
        )

    def running(self, customer_ids: pd.Series, scores: pd.DataFrame | None) -> pd.Series | None:
        """Whose subscription runs on the report date (from the scores' ``active``)."""
        if scores is None:
            return None
        return customer_ids.astype(str).map(scores.set_index("customer_id")["active"]).fillna(False)

    def model_inputs(self, summary: pd.DataFrame) -> pd.DataFrame:
        """The shop names ``customers.csv`` has always shown for a subscriber.

        ``frequency``, ``recency`` and ``T`` are the renewals (sBG counts
        renewals, one per period; there is no time of a last purchase),
        ``monetary_value`` the price per period.
        """
        renewals = summary["renewals"]
        return pd.DataFrame(
            {
                "customer_id": summary["customer_id"],
                "frequency": renewals,
                "recency": renewals.astype(float),
                "T": renewals.astype(float),
                "monetary_value": summary["price"],
            }
        )

    def rescore(
        self,
        analysis: Any,
        ids: pd.Index,
        *,
        horizon_months: int,
        discount_rate: float,
        gross_margin: float,
    ) -> pd.DataFrame:
        """Every subscriber's value and win-back value.

        See :func:`~clvreport.subscribers.score_subscribers`.
        """
        from clvreport.subscribers import score_subscribers

        subs = analysis.subscribers
        scores, _ = score_subscribers(
            subs.fit,
            subs.contracts,
            horizon_months=horizon_months,
            discount_rate=discount_rate,
            gross_margin=gross_margin,
            **_score_options(analysis.config),
        )
        return scores

    def fit_from_dict(self, data: Mapping[str, Any]) -> SubscriberFit:
        """The sBG models of an earlier ``model.json``."""
        return SubscriberFit.from_dict(data)

    def period_forecast(
        self, fit: Any, old: pd.DataFrame, days: int, start: dt.date
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str] | None:
        """Payments and revenue over the whole renewal periods between the two reports."""
        from clvreport.models.units import periods_between
        from clvreport.subscribers import subscriber_period_forecast

        periods = periods_between(days, fit.period)
        if periods < 1 or not {"frequency", "active", "monetary_value"} <= set(old.columns):
            return None
        segments = subscriber_period_forecast(fit, old, old["segment"], periods)
        everyone = pd.Series("total", index=old.index)
        total = subscriber_period_forecast(fit, old, everyone, periods)
        return segments, total, old, "n_purchases"

    def validation_checks(
        self, config: ClientConfig, client_dir: Path, as_of: dt.date | None
    ) -> ValidationResult:
        """The subscription log read as the report reads it.

        See :func:`clvreport.subscribers.validation_checks`.
        """
        from clvreport.subscribers import validation_checks

        return validation_checks(config, client_dir, as_of)
