"""The whole analysis of one client, in one call: ingest → metrics → models → segments.

:func:`run_analysis` is what the report notebook runs first; every number the
report shows is a field of the :class:`Analysis` it returns, computed by the
tested functions of the other modules.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from clvreport.acquisition import first_purchase_groups, group_value
from clvreport.cohorts import cohort_matrix, cohort_table
from clvreport.concentration import Concentration, concentration, lorenz_curve, tier_summary
from clvreport.config import ClientConfig, ColumnMapping
from clvreport.customer_groups import (
    AT_RISK_CANCEL_RENEWALS,
    RiskBasis,
    at_risk_mask,
    risk_basis,
    value_at_stake,
    valued_customers,
)
from clvreport.definitions import active_mask, year_start
from clvreport.donor_holdout import donor_holdout
from clvreport.donors import (
    DonorFit,
    cohort_giving,
    donation_log,
    donor_summary,
    expected_active_periods,
    fit_donor_model,
    income_forecast,
    score_donors,
)
from clvreport.engine import quote_identifier
from clvreport.errors import DataError
from clvreport.i18n import audience_for
from clvreport.ingest import DataQuality, load_transactions
from clvreport.ingest.exceptional import ExceptionalOrderRule
from clvreport.metrics import (
    BigSpenderComparison,
    ClvFigures,
    ObservationWindow,
    RepeatRates,
    big_spender_vs_regular,
    clv_figures,
    customer_metrics,
    observation_window,
    repeat_rates,
    years_table,
)
from clvreport.models import ClvModelFit, fit_clv_models, score_customers, score_segments
from clvreport.models.next_purchase import WindowCheck, chosen_window_check, next_purchase_table
from clvreport.models.predictive import IntervalCheck, holdout_intervals, interval_check
from clvreport.models.scoring import clear_forecast_cache, lifetime_values
from clvreport.models.season import daily_purchases, season_from_transactions
from clvreport.models.tracking import tracking_data
from clvreport.models.units import horizon_periods
from clvreport.period_holdout import PeriodHoldout
from clvreport.revenue_profile import SeasonProfile, monthly_profile
from clvreport.rfm import rfm_summary
from clvreport.segments import SegmentRules, load_segment_rules, rfm_segments, segment_summary
from clvreport.subscriber_holdout import subscriber_holdout
from clvreport.subscribers import (
    SubscriberFit,
    cohort_survival_table,
    contract_quality,
    fit_subscriber_model,
    payment_log,
    read_contracts,
    score_subscribers,
    subscriber_forecast,
)

__all__ = [
    "Analysis",
    "DonorAnalysis",
    "SubscriberAnalysis",
    "calibration_end_for",
    "check_holdout_has_data",
    "check_report_date",
    "join_columns",
    "run_analysis",
]

BIG_SPENDER_TOP_SHARE = 0.05
ACQUISITION_COLUMNS = ("channel", "country")


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
        frequency, customer value, retention, expected remaining years,
        customer years, historic CLV, lifespan, repeat rate), each computed by
        its definition in :mod:`clvreport.definitions`.
    customers
        One row per customer: history (``customer_metrics`` columns), RFM
        scores and ``segment``, value tier, model scores (``p_alive``,
        ``expected_purchases``, ``clv``, ``clv_low``, ``clv_high``) and
        ``value_at_stake`` when the model is usable.
    segments
        Per segment: customers, revenue, predicted CLV, value at stake, shares.
    rules
        The segment rules (labels and descriptions per language).
    concentration, lorenz, tiers
        The 20/80 check, Lorenz curve points and value tiers.
    retention
        Per year (twelve months back from the report date,
        :func:`~clvreport.metrics.years_table`): customers who bought, new and
        returning customers, retention (only between full years), revenue.
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
    revenue_last_year
        Net revenue of the twelve months up to the report date.
    acquisition
        Value per acquisition ``channel`` and ``country`` (the group of each
        customer's first purchase, :func:`~clvreport.acquisition.group_value`),
        for the columns the export has.
    tracking
        Weekly repeat purchases, actual against the calibration model's
        prediction, over calibration and holdout
        (:func:`~clvreport.models.tracking.tracking_data`); ``None`` without a
        holdout or a model.
    holdout_coverage
        Share of customers whose holdout purchases fell inside their 90%
        predictive interval from the calibration fit (``None`` without a holdout).
    holdout_intervals
        The same check side by side: the shares above the upper and below the
        lower bound, what the model expected on each side, and how many
        customers have a lower bound of 0
        (:class:`~clvreport.models.predictive.IntervalCheck`; ``None``
        without a holdout).
    repeat
        How often new and returning customers bought again within a year.
    risk_basis
        How at-risk customers were found (:func:`~clvreport.customer_groups.risk_basis`):
        ``"p_alive"``, or ``"silence"`` when the model finds (almost) no dropout
        and an overdue silence takes the place of a low P(alive).
    subscribers
        For a ``business: subscription`` client: the subscription model's own
        figures (:class:`SubscriberAnalysis`); ``None`` otherwise. The
        transaction figures of such a client are about its payments, one per
        paid period.
    donors
        For a ``business: discrete`` client: the donor model's own figures
        (:class:`DonorAnalysis`: income per coming period, giving per cohort);
        ``None`` otherwise.
    base_value
        Predicted CLV of the whole base over the horizon with its 90% interval
        (one row of :func:`~clvreport.models.score_segments`: ``clv``,
        ``clv_low``, ``clv_high``, ``expected_purchases`` ...), or ``None``
        without a model.
    exceptional_orders
        Orders far larger than both the customer's other orders and the
        client's median order, largest first
        (:attr:`~clvreport.ingest.Transactions.exceptional_orders`:
        ``customer_id, order_date, amount, usual, reference``); ``None``
        without the rule (too few orders, or ``outliers: exclude``).
    exceptional_rule
        The statistics that tell them
        (:class:`~clvreport.ingest.exceptional.ExceptionalOrderRule`), or ``None``.
    season
        The client's own season: each calendar month's share of an average year's
        revenue (:func:`~clvreport.revenue_profile.monthly_profile`), or ``None`` with fewer
        than two years of monthly revenue.
    next_purchase_check
        How the chosen model's next-purchase windows and 90-day chances held on
        the holdout (:func:`~clvreport.models.next_purchase.chosen_window_check`),
        ``None`` without a holdout or a shop model.
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
    revenue_last_year: float = float("nan")
    base_value: pd.Series | None = None
    repeat: RepeatRates | None = None
    acquisition: dict[str, pd.DataFrame] = field(default_factory=dict)
    tracking: pd.DataFrame | None = None
    holdout_coverage: float | None = None
    holdout_intervals: IntervalCheck | None = None
    donors: DonorAnalysis | None = None
    subscribers: SubscriberAnalysis | None = None
    risk_basis: RiskBasis = "p_alive"
    exceptional_orders: pd.DataFrame | None = None
    exceptional_rule: ExceptionalOrderRule | None = None
    season: SeasonProfile | None = None
    next_purchase_check: WindowCheck | None = None

    @property
    def active_customers(self) -> int:
        """Active customers (:func:`clvreport.definitions.active_mask`).

        A purchase in the twelve months up to the report date: the same year as
        the revenue of the last twelve months and the last row of the year
        table; for subscriptions, the running ones.
        """
        return int(active_mask(self.customers, self.as_of).sum())

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


MAX_DAYS_AFTER_DATA = 366
"""A report date more than a year after the last transaction is refused: every customer
would look gone for that long, which says more about the export than about the customers."""


def check_report_date(as_of: dt.date, last_transaction: dt.date) -> None:
    """Refuse a report date more than :data:`MAX_DAYS_AFTER_DATA` days after the data.

    Raises
    ------
    clvreport.errors.DataError
        Naming both dates and the fix.

    Examples
    --------
    >>> check_report_date(dt.date(2025, 3, 31), dt.date(2024, 12, 31))
    >>> check_report_date(dt.date(2030, 1, 1), dt.date(2024, 12, 31))
    Traceback (most recent call last):
    ...
    clvreport.errors.DataError: the report date 2030-01-01 is 1,827 days after the last ...
    """
    gap = (as_of - last_transaction).days
    if gap > MAX_DAYS_AFTER_DATA:
        raise DataError(
            f"the report date {as_of} is {gap:,} days after the last transaction "
            f"({last_transaction}): every customer would look gone for that long",
            hint="leave as_of (--as-of) out to report on the date of the last transaction, "
            "or add the missing exports to data.sources",
        )


def check_holdout_has_data(
    calibration_end: dt.date | None, last_purchase: dt.date, holdout_months: int
) -> None:
    """Refuse a holdout that lies wholly after the last transaction.

    With a report date months after the data, the held-back months hold no
    purchase: the check would call every forecast too high.

    Raises
    ------
    clvreport.errors.DataError
        When ``calibration_end`` is on or after ``last_purchase``.

    Examples
    --------
    >>> check_holdout_has_data(dt.date(2024, 6, 30), dt.date(2024, 12, 31), 6)
    >>> check_holdout_has_data(dt.date(2025, 4, 1), dt.date(2024, 12, 31), 6)
    Traceback (most recent call last):
    ...
    clvreport.errors.DataError: the 6 months held back to check the model (after 2025-04-01) ...
    """
    if calibration_end is None or calibration_end < last_purchase:
        return
    raise DataError(
        f"the {holdout_months} months held back to check the model (after {calibration_end}) "
        f"hold no transaction: the last one is of {last_purchase}",
        hint="leave as_of (--as-of) out to report on the date of the last transaction, "
        "or set holdout_months: 0 in client.yml",
    )


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


def _calibration_model(model: ClvModelFit):
    """The chosen model as fitted on the calibration period (``None`` without one)."""
    candidate = model.candidates.get(model.model_name or "")
    return candidate.model if model.usable and candidate is not None else None


def _tracking(
    transactions, model: ClvModelFit, calibration_end: dt.date | None, as_of: dt.date
) -> pd.DataFrame | None:
    """The tracking table of the chosen model's calibration fit (``None`` without a holdout)."""
    fitted = _calibration_model(model)
    if calibration_end is None or fitted is None:
        return None
    return tracking_data(
        transactions,
        fitted,
        calibration_end=calibration_end,
        observation_end=as_of,
        season=model.calibration_season,
    )


def _holdout_coverage(model: ClvModelFit, calibration: pd.DataFrame) -> IntervalCheck | None:
    """How the chosen model's 90% purchase intervals held on the holdout, above and below."""
    fitted = _calibration_model(model)
    if fitted is None:
        return None
    scores, _ = holdout_intervals(fitted, model.calibration_operational(calibration))
    return interval_check(scores)


def _revenue_last_year(engine, table: str, as_of: dt.date) -> float:
    """Net revenue of the twelve months up to and including ``as_of``."""
    window = ObservationWindow(year_start(as_of), as_of)  # year 0: the active customers' year
    frame = engine.query(
        f"SELECT {engine.dialect.exact_sum('amount')} AS revenue FROM {quote_identifier(table)} "
        f"WHERE {window.sql_filter(engine.dialect)}"
    )
    value = frame.iloc[0]["revenue"]
    return 0.0 if pd.isna(value) else float(value)


def _base_value(model: ClvModelFit, full: pd.DataFrame, config: ClientConfig) -> pd.Series:
    """Predicted value of the whole base with the interval of the total (not of the customers)."""
    table = score_segments(
        model,
        full,
        pd.Series("all", index=full.index),
        horizon_months=config.horizon_months,
        discount_rate=config.discount_rate,
        gross_margin=config.gross_margin,
    )
    return table.iloc[0]


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


def _donor_analysis(engine, table: str, config: ClientConfig, as_of: dt.date) -> DonorAnalysis:
    """BG/BB on the donors' giving periods, and the donor report's own figures."""
    period = config.discrete.period
    log = donation_log(engine, table)
    summary = donor_summary(log, period, as_of)
    fit = fit_donor_model(summary, period)
    cohorts = cohort_giving(log, fit, period, as_of=as_of)
    if not fit.usable:
        return DonorAnalysis(summary, fit, None, None, None, cohorts, None)
    fit.check(
        donor_holdout(
            log, period, as_of, config.holdout_months, horizon_months=config.horizon_months
        )
    )
    del log
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
    periods = horizon_periods(config.horizon_months, period)
    income = income_forecast(fit, summary, periods)  # the gifts themselves, not a margin
    active = pd.DataFrame(
        {
            "customer_id": summary["customer_id"].astype(str).to_numpy(),
            "active_periods": expected_active_periods(fit, summary, periods),
        }
    )
    return DonorAnalysis(summary, fit, scores, base, income, cohorts, active, fit.holdout)


@dataclass
class SubscriberAnalysis:
    """The subscription model and its own figures (``business: subscription``).

    Attributes
    ----------
    contracts
        One row per subscription (:func:`~clvreport.subscribers.read_contracts`).
    summary
        One row per subscriber: ``customer_id, frequency`` (renewals),
        ``recency`` (0), ``T`` (renewals), ``monetary_value`` (price per period).
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


def _subscription_analysis(
    contracts: pd.DataFrame, config: ClientConfig, as_of: dt.date
) -> SubscriberAnalysis:
    period = config.subscription.period
    fit = fit_subscriber_model(contracts, period)
    latest = contracts.sort_values(["customer_id", "start"]).groupby("customer_id").tail(1)
    summary = pd.DataFrame(
        {
            "customer_id": latest["customer_id"].astype(str).to_numpy(),
            "frequency": latest["renewals"].to_numpy(dtype=np.int64),
            "recency": latest["renewals"].to_numpy(dtype=float),
            "T": latest["renewals"].to_numpy(dtype=float),
            "monetary_value": latest["price"].to_numpy(dtype=float),
        }
    )
    cohorts = cohort_survival_table(contracts, fit if fit.usable else None, period)
    if not fit.usable:
        return SubscriberAnalysis(contracts, summary, fit, None, None, None, cohorts)
    first = pd.Timestamp(contracts["start"].min()).date()
    fit.check(
        subscriber_holdout(
            contracts,
            period,
            calibration_end_for(first, as_of, config.holdout_months),
            as_of,
            config.holdout_months,
            horizon_months=config.horizon_months,
        )
    )
    options = {
        "discount_rate": config.discount_rate,
        "gross_margin": config.gross_margin,
        "winback_half_life_months": config.subscription.winback_half_life_months,
        "winback_horizon_months": config.subscription.winback_horizon_months,
        "cancel_renewals": AT_RISK_CANCEL_RENEWALS,
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
    return SubscriberAnalysis(contracts, summary, fit, scores, base, forecast, cohorts, fit.holdout)


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
    with tempfile.TemporaryDirectory(prefix="clvreport-payments-") as scratch:
        subscribers = None
        if config.business == "subscription":
            subscribers, payments = _subscription_payments(config, client_dir, as_of, scratch)
            transactions = load_transactions(payments, client_dir, as_of=subscribers.as_of)
        else:
            transactions = load_transactions(config, client_dir, as_of=as_of or config.as_of)
        return _analyse(config, client_dir, transactions, subscribers)


def _subscription_payments(config: ClientConfig, client_dir: Path, as_of, scratch: str):
    """Read the subscription log; write one payment per paid period for the transaction sections.

    Returns the contracts (:func:`clvreport.subscribers.read_contracts`) and a
    configuration that reads the payments (``plan`` as the acquisition channel).
    """
    contracts = read_contracts(config, client_dir, as_of)
    path = Path(scratch) / "payments.parquet"
    payment_log(contracts, config.subscription.period).to_parquet(path, index=False)
    data = config.data.model_copy(
        update={
            "sources": (str(path),),
            "format": "parquet",
            "columns": ColumnMapping(
                customer_id="customer_id", date="order_date", amount="amount", channel="plan"
            ),
        }
    )
    report_date = dt.date.fromisoformat(contracts.attrs["as_of"])
    return _Contracts(contracts, report_date), config.model_copy(update={"data": data})


@dataclass
class _Contracts:
    frame: pd.DataFrame
    as_of: dt.date


def _analyse(config: ClientConfig, client_dir: Path, transactions, subscribers) -> Analysis:
    """The analysis of loaded transactions (for subscriptions: the payments)."""
    with transactions:
        engine, table = transactions.engine, transactions.table
        as_of = transactions.as_of
        check_report_date(as_of, transactions.last_date)
        window = observation_window(engine, table, end=as_of)
        unit = "order" if "order_id" in transactions.columns else "transaction"
        history = customer_metrics(engine, table, window, purchase_unit=unit)
        retention = years_table(engine, table, window)
        cohorts = cohort_matrix(cohort_table(engine, table, window, max_age=24))
        revenue_last_year = _revenue_last_year(engine, table, as_of)
        repeat = repeat_rates(engine, table, window)
        revenue_season = monthly_profile(engine, table, window.start, window.end)
        if config.business == "discrete":
            donors = _donor_analysis(engine, table, config, as_of)
            full, model, scores, base_value = donors.summary, donors.fit, donors.scores, donors.base
            calibration_end, tracking = donors.holdout.calibration_end, None
            subscription = None
        elif subscribers is not None:
            donors = None
            subscription = _subscription_analysis(subscribers.frame, config, as_of)
            model, scores, base_value = subscription.fit, subscription.scores, subscription.base
            full = subscription.summary
            calibration_end, tracking = subscription.holdout.calibration_end, None
        else:
            subscription = None
            calibration_end = calibration_end_for(window.start, as_of, config.holdout_months)
            check_holdout_has_data(calibration_end, transactions.last_date, config.holdout_months)
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
            # the seasonal index of the whole history scores; the calibration period's own
            # (estimated without the holdout) is what the holdout check uses
            enabled = config.season != "off"
            daily = daily_purchases(transactions, as_of)
            purchase_season = season_from_transactions(
                transactions, as_of, daily=daily, enabled=enabled
            )
            calibration_season = (
                season_from_transactions(
                    transactions, calibration_end, daily=daily, enabled=enabled
                )
                if calibration_end is not None
                else purchase_season
            )
            del daily
            model = fit_clv_models(
                calibration,
                full,
                time_unit=config.time_unit,
                horizon_months=config.horizon_months,
                season=purchase_season,
                calibration_season=calibration_season,
            )
            # Spark scores on its executors, so while its session is open; in-process
            # scoring waits until the engine is closed (below)
            on_spark = engine.dialect.name == "spark"
            scores = _score(model, full, config, engine) if model.usable and on_spark else None
            tracking = _tracking(transactions, model, calibration_end, as_of)
            donors = None
        attributes = transactions.customer_attributes() if transactions.extra else None
        exceptional = transactions.exceptional_orders
        exceptional_rule = transactions.exceptional_rule
        first_groups = {
            column: first_purchase_groups(engine, table, window, column)
            for column in ACQUISITION_COLUMNS
            if column in transactions.columns
        }
    # The engine is closed here: DuckDB's copy of the transactions no longer takes memory
    # while millions of customers are scored.
    period_model = donors if donors is not None else subscription
    period_check = None if period_model is None else period_model.holdout
    intervals = None if period_check is None else period_check.intervals
    coverage = None if intervals is None else intervals.coverage
    window_check = None
    if donors is None and subscription is None:
        intervals = _holdout_coverage(model, calibration) if calibration_end else None
        coverage = None if intervals is None else intervals.coverage
        window_check = chosen_window_check(model, calibration) if calibration_end else None
        del calibration
        if scores is None and model.usable:
            scores = _score(model, full, config, engine)
        if scores is not None:
            lifetime = lifetime_values(
                model,
                full,
                years=config.lifetime_years,
                discount_rate=config.discount_rate,
                gross_margin=config.gross_margin,
            )
            scores = join_columns(scores, lifetime.reset_index(drop=True))
            upcoming = next_purchase_table(model, full, horizon_months=config.horizon_months)
            scores = join_columns(scores, upcoming)
        base_value = _base_value(model, full, config) if model.usable else None
        clear_forecast_cache()  # the base's total was the last use of the kept forecast

    rules = load_segment_rules(config.segments, audience=audience_for(config.business))
    running = None
    if subscription is not None and scores is not None:
        running = (
            history["customer_id"]
            .astype(str)
            .map(scores.set_index("customer_id")["active"])
            .fillna(False)
        )
    figures = clv_figures(history, window)
    revenue_concentration = concentration(history["revenue"])
    lorenz = lorenz_curve(history["revenue"])
    big_spender = big_spender_vs_regular(history, window, top_share=BIG_SPENDER_TOP_SHARE)
    customers = rfm_segments(history, rules, active=running)
    del history  # its columns are in customers; one copy of millions of customers is enough
    if attributes is not None:
        customers = join_columns(customers, attributes)
    value_columns = ["revenue"]
    basis: RiskBasis = "p_alive"
    if scores is not None:
        customers = join_columns(customers, scores)
        del scores  # joined (its columns shared or copied once)
        basis = risk_basis(customers, model.model)
        customers["at_risk"] = at_risk_mask(customers, basis)
        customers["value_at_stake"] = value_at_stake(customers, basis)
        value_columns += ["clv", "value_at_stake"]
        if "clv_lifetime" in customers:
            customers["value_at_stake_lifetime"] = value_at_stake(
                customers, basis, clv="clv_lifetime", clv_if_alive="clv_if_alive_lifetime"
            )
    tier_value = "clv" if model.usable else "revenue"
    return Analysis(
        config=config,
        client_dir=client_dir,
        start=window.start,
        as_of=as_of,
        quality=(
            transactions.quality
            if subscribers is None
            else contract_quality(subscribers.frame, transactions.quality)
        ),
        figures=figures,
        customers=customers,
        segments=segment_summary(customers, rules, value_cols=value_columns),
        rules=rules,
        concentration=revenue_concentration,
        lorenz=lorenz,
        tiers=tier_summary(valued_customers(customers), tier_value),
        retention=retention,
        cohorts=cohorts,
        big_spender=big_spender,
        model=model,
        calibration_end=calibration_end,
        summary=full,
        revenue_last_year=revenue_last_year,
        base_value=base_value,
        repeat=repeat,
        tracking=tracking,
        holdout_coverage=coverage,
        holdout_intervals=intervals,
        acquisition={
            column: group_value(customers, groups) for column, groups in first_groups.items()
        },
        donors=donors,
        subscribers=subscription,
        risk_basis=basis,
        exceptional_orders=exceptional,
        exceptional_rule=exceptional_rule,
        season=revenue_season,
        next_purchase_check=window_check,
    )


def join_columns(frame: pd.DataFrame, other: pd.DataFrame, on: str = "customer_id") -> pd.DataFrame:
    """``frame`` with the other columns of ``other`` joined on ``on`` (a left join).

    Unlike :meth:`pandas.DataFrame.merge`, the columns of ``frame`` are not
    copied (copy-on-write keeps them shared) and ``other``'s are copied only
    when the rows are in another order, so joining the scores of millions of
    customers does not hold the customer table twice. Where merge would rename
    (a column in both), repeat rows (a key twice in ``other``) or refuse (ids of
    another type), it is merge.

    Examples
    --------
    >>> left = pd.DataFrame({"customer_id": ["a", "b", "c"], "revenue": [1.0, 2.0, 3.0]})
    >>> right = pd.DataFrame({"customer_id": ["c", "a"], "clv": [30.0, 10.0]})
    >>> join_columns(left, right)["clv"].tolist()
    [10.0, nan, 30.0]
    """
    keys = frame[on]
    added = [c for c in other.columns if c != on]
    unlike_keys = pd.api.types.is_numeric_dtype(keys) != pd.api.types.is_numeric_dtype(other[on])
    if set(added) & set(frame.columns) or not other[on].is_unique or unlike_keys:
        # shared column names (merge's _x/_y), repeated keys, ids of another type: merge's rules
        return frame.merge(other, on=on, how="left")
    if len(other) == len(frame) and other[on].equals(keys):
        values = {c: other[c].set_axis(frame.index) for c in added}
    else:
        position = pd.Index(other[on]).get_indexer(keys)
        found = position >= 0
        if not found.all():
            # the rows merge would leave empty: one empty row appended to take them from
            other = pd.concat([other, other.iloc[:0].reindex([len(other)])], ignore_index=True)
            position = np.where(found, position, len(other) - 1)
        else:
            other = other.reset_index(drop=True)
        values = {c: other[c].take(position).set_axis(frame.index) for c in added}
    joined = frame.copy(deep=False)
    for column, series in values.items():
        joined[column] = series
    return joined
