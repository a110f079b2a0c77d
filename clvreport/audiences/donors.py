"""Donors (``business: discrete``): one giving opportunity per period, BG/BB with Gamma-Gamma.

The donor model is fitted on whole giving periods (:mod:`clvreport.donors`),
checked on the last ``holdout_months`` (:mod:`clvreport.donor_holdout`) and
scores every donor; :class:`DonorAnalysis` holds the donor section's own
figures (income per coming period, giving per cohort).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from clvreport.audiences.base import Audience, ModelStep
from clvreport.donors import DonorFit
from clvreport.period_holdout import PeriodHoldout

if TYPE_CHECKING:
    from clvreport.config import ClientConfig
    from clvreport.i18n import Translator
    from clvreport.ingest import Transactions
    from clvreport.metrics import ObservationWindow
    from clvreport.validate import ValidationResult

__all__ = ["DonorAnalysis", "DonorAudience", "fit_donors"]


@dataclass
class DonorAnalysis:
    """The donor model and its own figures (``business: discrete``).

    Attributes
    ----------
    summary
        The donors' BG/BB summary (``frequency, recency, n_periods, monetary_value``).
    fit
        The donor model (:class:`~clvreport.donors.DonorFit`).
    scores
        Per-donor scores (``None`` when the model failed).
    base
        The base total with its range (``None`` when the model failed).
    income
        Gifts and income expected from today's donors per coming period.
    cohorts
        Share of each acquisition cohort that gave in each later period, with the model's.
    active_periods
        Expected periods each donor stays a donor within the horizon (per donor, ``customer_id``).
    holdout
        The model's holdout check (:func:`~clvreport.donor_holdout.donor_holdout`),
        or why there is none.
    """

    summary: pd.DataFrame
    fit: DonorFit
    scores: pd.DataFrame | None
    base: pd.Series | None
    income: pd.DataFrame | None
    cohorts: pd.DataFrame
    active_periods: pd.DataFrame | None
    holdout: PeriodHoldout = field(default_factory=PeriodHoldout)


def fit_donors(
    engine: Any,
    table: str,
    period: str,
    as_of: dt.date,
    *,
    holdout_months: int,
    horizon_months: int,
) -> tuple[pd.DataFrame, pd.DataFrame, DonorFit]:
    """The donors' gifts, their BG/BB summary and the donor model with its holdout check.

    What the report and ``clvreport fit --model bgbb`` both fit: the gifts in
    ``table`` up to ``as_of`` in whole periods of ``period`` (``year``,
    ``quarter``, ``month``), checked on the last ``holdout_months`` (over
    ``horizon_months``) when the model could be fitted.

    Returns
    -------
    tuple
        The gifts (:func:`~clvreport.donors.donation_log`), the summary
        (:func:`~clvreport.donors.donor_summary`) and the fit.
    """
    from clvreport.donor_holdout import donor_holdout
    from clvreport.donors import donation_log, donor_summary, fit_donor_model

    log = donation_log(engine, table)
    summary = donor_summary(log, period, as_of)
    fit = fit_donor_model(summary, period)
    if fit.usable:
        fit.check(donor_holdout(log, period, as_of, holdout_months, horizon_months=horizon_months))
    return log, summary, fit


def donor_analysis(engine: Any, table: str, config: ClientConfig, as_of: dt.date) -> DonorAnalysis:
    """BG/BB on the donors' giving periods, and the donor report's own figures."""
    from clvreport.analysis import join_columns
    from clvreport.donors import (
        cohort_giving,
        expected_active_periods,
        income_forecast,
        next_gift_table,
        score_donors,
    )
    from clvreport.models.units import horizon_periods

    period = config.discrete.period
    log, summary, fit = fit_donors(
        engine,
        table,
        period,
        as_of,
        holdout_months=config.holdout_months,
        horizon_months=config.horizon_months,
    )
    cohorts = cohort_giving(log, fit, period, as_of=as_of)
    del log
    if not fit.usable:
        return DonorAnalysis(summary, fit, None, None, None, cohorts, None)
    scores, base = score_donors(
        fit,
        summary,
        horizon_months=config.horizon_months,
        discount_rate=config.discount_rate,
        gross_margin=config.gross_margin,
    )
    lifetime, _ = score_donors(
        fit,
        summary,
        horizon_months=config.lifetime_years * 12,
        discount_rate=config.discount_rate,
        gross_margin=config.gross_margin,
    )
    scores["clv_lifetime"] = lifetime["clv"].to_numpy()
    scores["clv_if_alive_lifetime"] = lifetime["clv_if_alive"].to_numpy()
    upcoming = next_gift_table(fit, summary, horizon_months=config.horizon_months)
    scores = join_columns(scores, upcoming)
    periods = horizon_periods(config.horizon_months, period)
    income = income_forecast(fit, summary, periods)  # the gifts themselves, not a margin
    active = pd.DataFrame(
        {
            "customer_id": summary["customer_id"].astype(str).to_numpy(),
            "active_periods": expected_active_periods(fit, summary, periods),
        }
    )
    holdout = fit.holdout if fit.holdout is not None else PeriodHoldout()
    return DonorAnalysis(summary, fit, scores, base, income, cohorts, active, holdout)


class DonorAudience(Audience):
    """Donors: one giving opportunity per period (see the module docstring)."""

    business: ClassVar[str] = "discrete"
    name: ClassVar[str] = "donors"
    monthly_cohorts: ClassVar[bool] = False

    def model_step(
        self,
        config: ClientConfig,
        transactions: Transactions,
        source: Any,
        window: ObservationWindow,
    ) -> ModelStep:
        """BG/BB on the donors' giving periods (:func:`donor_analysis`)."""
        donors = donor_analysis(transactions.engine, transactions.table, config, transactions.as_of)
        intervals = donors.holdout.intervals
        return ModelStep(
            summary=donors.summary,
            model=donors.fit,
            scores=donors.scores,
            base_value=donors.base,
            calibration_end=donors.holdout.calibration_end,
            intervals=intervals,
            donors=donors,
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
        """When each donor gives again (:func:`~clvreport.next_purchase_text.donor_reasons`)."""
        from clvreport.next_purchase_text import donor_reasons

        if "next_gift_periods" not in customers:
            return None
        period = config.discrete.period if config is not None else "year"
        return donor_reasons(customers, t, period=period, horizon_months=horizon_months)

    def validation_checks(
        self, config: ClientConfig, client_dir: Path, as_of: dt.date | None
    ) -> ValidationResult:
        """The gifts read and BG/BB fitted as the report does.

        See :func:`clvreport.donors.validation_checks`.
        """
        from clvreport.donors import validation_checks

        return validation_checks(config, client_dir, as_of)

    def rescore(
        self,
        analysis: Any,
        ids: pd.Index,
        *,
        horizon_months: int,
        discount_rate: float,
        gross_margin: float,
    ) -> pd.DataFrame:
        """Every donor's value (:func:`~clvreport.donors.score_donors`)."""
        from clvreport.donors import score_donors

        donors = analysis.donors
        scores, _ = score_donors(
            donors.fit,
            donors.summary,
            horizon_months=horizon_months,
            discount_rate=discount_rate,
            gross_margin=gross_margin,
        )
        return scores

    def fit_from_dict(self, data: Mapping[str, Any]) -> DonorFit:
        """The donor model of an earlier ``model.json``."""
        return DonorFit.from_dict(data)

    def period_forecast(
        self, fit: Any, old: pd.DataFrame, days: int, start: dt.date
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str] | None:
        """Gifts and income over the whole giving periods between the two reports."""
        from clvreport.donors import donor_period_forecast
        from clvreport.models.units import periods_between

        needed = ["frequency", "recency", "n_periods", "monetary_value"]
        if not set(needed) <= set(old.columns):
            return None
        scored = old[old[needed].notna().all(axis=1)]
        periods = periods_between(days, fit.period)
        if periods < 1:
            return None
        segments = donor_period_forecast(fit, scored, scored["segment"], periods)
        everyone = pd.Series("total", index=scored.index)
        total = donor_period_forecast(fit, scored, everyone, periods)
        return segments, total, scored, "frequency"
