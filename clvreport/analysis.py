"""The whole analysis of one client, in one call: ingest → metrics → models → segments.

:func:`run_analysis` is what the report notebook runs first; every number the
report shows is a field of the :class:`Analysis` it returns, computed by the
tested functions of the other modules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clvreport.cohorts import cohort_matrix, cohort_table
from clvreport.concentration import Concentration, concentration, lorenz_curve, tier_summary
from clvreport.config import ClientConfig
from clvreport.ingest import DataQuality, load_transactions
from clvreport.metrics import (
    BigSpenderComparison,
    ClvFigures,
    big_spender_vs_regular,
    clv_figures,
    customer_metrics,
    observation_window,
    retention_by_period,
)
from clvreport.models import ClvModelFit, fit_clv_models, score_customers
from clvreport.segments import SegmentRules, load_segment_rules, rfm_segments, segment_summary
from clvreport.summary import rfm_summary

__all__ = ["Analysis", "calibration_end_for", "run_analysis"]

DAYS_PER_MONTH = 365.25 / 12
ACTIVE_MONTHS = 12
BIG_SPENDER_TOP_SHARE = 0.05


@dataclass
class Analysis:
    """Everything computed for one client's report.

    Attributes
    ----------
    config
        The client's configuration.
    client_dir
        The client folder.
    start, as_of
        First transaction date and report date.
    quality
        Rows read, kept and excluded by reason.
    figures
        The source's figures over all customers (average purchase value,
        frequency, lifespan, customer value, historic CLV).
    customers
        One row per customer: history (``customer_metrics`` columns), RFM
        scores and ``segment``, value tier, model scores (``p_alive``,
        ``expected_purchases``, ``clv``, ``clv_low``, ``clv_high``) and
        ``value_at_risk`` when the model is usable.
    segments
        Per segment: customers, revenue, predicted CLV, value at risk, shares.
    rules
        The segment rules (labels and descriptions per language).
    concentration, lorenz, tiers
        The 20/80 check, Lorenz curve points and value tiers.
    retention
        Per year: active, new and returning customers, retention, revenue.
    cohorts
        Monthly acquisition cohorts × months since first purchase (retention).
    big_spender
        The one-off big spender versus the loyal regular.
    model
        The fitted models with status and holdout check.
    calibration_end
        End of the period the models were checked on (``None``: no holdout).
    summary
        The full-period per-customer summary the models score (BTYD form).
    """

    config: ClientConfig
    client_dir: Path
    start: dt.date
    as_of: dt.date
    quality: DataQuality
    figures: ClvFigures
    customers: pd.DataFrame
    segments: pd.DataFrame
    rules: SegmentRules
    concentration: Concentration
    lorenz: pd.DataFrame
    tiers: pd.DataFrame
    retention: pd.DataFrame
    cohorts: pd.DataFrame
    big_spender: BigSpenderComparison
    model: ClvModelFit
    calibration_end: dt.date | None
    summary: pd.DataFrame

    @property
    def active_customers(self) -> int:
        """Customers with a purchase in the last twelve months before the report date."""
        return int((self.customers["recency_days"] <= ACTIVE_MONTHS * DAYS_PER_MONTH).sum())

    @property
    def has_predictions(self) -> bool:
        """Whether the probabilistic model could be used (else the report shows history only)."""
        return "clv" in self.customers


def calibration_end_for(start: dt.date, as_of: dt.date, holdout_months: int) -> dt.date | None:
    """End of the calibration period, or ``None`` when the history is too short for a holdout.

    The holdout is the last ``holdout_months`` calendar months up to ``as_of``
    (as of 31 December, six months hold back July to December). It is used
    only when the calibration period before it is at least 90% as long as the
    holdout, so the model is fitted on about as much history as it is checked
    on (CDNOW: 39 weeks each).

    Examples
    --------
    >>> calibration_end_for(dt.date(2022, 1, 1), dt.date(2024, 12, 31), 6)
    datetime.date(2024, 6, 30)
    >>> calibration_end_for(dt.date(1997, 1, 1), dt.date(1998, 6, 30), 9)
    datetime.date(1997, 9, 30)
    >>> calibration_end_for(dt.date(2024, 5, 1), dt.date(2024, 12, 31), 6) is None
    True
    """
    if holdout_months <= 0:
        return None
    end = (pd.Timestamp(as_of) - pd.DateOffset(months=holdout_months)).date()
    if as_of == (pd.Timestamp(as_of) + pd.offsets.MonthEnd(0)).date():
        end = (pd.Timestamp(end) + pd.offsets.MonthEnd(0)).date()  # month ends stay month ends
    calibration_days = (end - start).days + 1
    if calibration_days < 0.9 * (as_of - end).days:
        return None
    return end


def _score(model: ClvModelFit, full: pd.DataFrame, config: ClientConfig, engine) -> pd.DataFrame:
    """Score every customer: in this process, or on the Spark executors for ``engine: spark``."""
    options = {
        "horizon_months": config.horizon_months,
        "discount_rate": config.discount_rate,
        "gross_margin": config.gross_margin,
    }
    if engine.dialect.name != "spark":
        return score_customers(model, full, **options)
    from clvreport.spark import score_customers_spark

    path = engine.scratch_path("scores.parquet")
    score_customers_spark(engine, model, full, path, **options)
    scores = engine.session.read.parquet(path).toPandas()
    return scores.astype({"customer_id": full["customer_id"].dtype})


def run_analysis(
    config: ClientConfig, client_dir: Path | str, *, as_of: dt.date | None = None
) -> Analysis:
    """Read a client's transactions and compute every figure of the report.

    Parameters
    ----------
    config
        The client's validated configuration.
    client_dir
        The client folder (transaction paths are relative to it).
    as_of
        Report date; default ``config.as_of``, else the last transaction date.

    Returns
    -------
    Analysis
        All figures, tables, models and segments.

    Raises
    ------
    DataError
        When the transactions cannot be read (the message says where and why).

    Examples
    --------
    >>> client_dir, config = load_client("demo")  # doctest: +SKIP
    >>> analysis = run_analysis(config, client_dir)  # doctest: +SKIP
    >>> analysis.model.model_name  # doctest: +SKIP
    'bgnbd'
    """
    client_dir = Path(client_dir)
    transactions = load_transactions(config, client_dir, as_of=as_of or config.as_of)
    with transactions:
        engine, table = transactions.engine, transactions.table
        as_of = transactions.as_of
        window = observation_window(engine, table, end=as_of)
        unit = "order" if "order_id" in transactions.columns else "transaction"
        history = customer_metrics(engine, table, window, purchase_unit=unit)
        retention = retention_by_period(engine, table, window, period="year")
        cohorts = cohort_matrix(cohort_table(engine, table, window, max_age=24))
        calibration_end = calibration_end_for(window.start, as_of, config.holdout_months)
        full = rfm_summary(transactions, calibration_end=as_of, time_unit=config.time_unit)
        calibration = (
            rfm_summary(
                transactions,
                calibration_end=calibration_end,
                observation_end=as_of,
                time_unit=config.time_unit,
            )
            if calibration_end is not None
            else full
        )
        model = fit_clv_models(calibration, full, time_unit=config.time_unit)
        scores = _score(model, full, config, engine) if model.usable else None

    rules = load_segment_rules(config.segments)
    customers = rfm_segments(history, rules)
    value_columns = ["revenue"]
    if scores is not None:
        customers = customers.merge(scores, on="customer_id", how="left")
        customers["value_at_risk"] = value_at_risk(customers)
        value_columns += ["clv", "value_at_risk"]
    tier_value = "clv" if model.usable else "revenue"
    return Analysis(
        config=config,
        client_dir=client_dir,
        start=window.start,
        as_of=as_of,
        quality=transactions.quality,
        figures=clv_figures(history, window),
        customers=customers,
        segments=segment_summary(customers, rules, value_cols=value_columns),
        rules=rules,
        concentration=concentration(history["revenue"]),
        lorenz=lorenz_curve(history["revenue"]),
        tiers=tier_summary(customers, tier_value),
        retention=retention,
        cohorts=cohorts,
        big_spender=big_spender_vs_regular(history, window, top_share=BIG_SPENDER_TOP_SHARE),
        model=model,
        calibration_end=calibration_end,
        summary=full,
    )


def value_at_risk(customers: pd.DataFrame) -> pd.Series:
    """The part of each customer's value that is lost if they have already left.

    ``value at risk = (1 − P(alive)) × CLV if still active``: the CLV the
    customer would bring in over the horizon (same margin and discounting) if
    they were still active, times the chance that they are not. Because the
    predicted CLV is ``P(alive) × CLV if still active``, ``clv +
    value_at_risk`` is exactly the CLV if still active, and no group's stake
    can exceed what it would be worth if all its customers were active. It is
    the most a retention action can win back.

    Parameters
    ----------
    customers
        Needs ``p_alive`` and ``clv_if_alive``, or, for scores without it,
        ``clv`` (then ``clv_if_alive = clv / p_alive``).

    Examples
    --------
    >>> value_at_risk(pd.DataFrame({"clv_if_alive": [100.0, 50.0], "p_alive": [0.9, 0.2]}))
    0    10.0
    1    40.0
    Name: value_at_risk, dtype: float64
    """
    p_alive = customers["p_alive"].to_numpy(dtype=float)
    if "clv_if_alive" in customers:
        if_alive = customers["clv_if_alive"].to_numpy(dtype=float)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            if_alive = np.where(p_alive > 0, customers["clv"].to_numpy(dtype=float) / p_alive, 0.0)
    risk = pd.Series((1.0 - p_alive) * if_alive, index=customers.index, name="value_at_risk")
    return risk.clip(lower=0).fillna(0.0).astype(np.float64)
