"""The interface every audience (shop customers, donors, subscribers) implements.

An audience is who a client's ``business`` (``client.yml``) speaks of: the
customers of a shop (``transactions``), donors (``discrete``) or subscribers
(``subscription``). The pipeline, the comparison with an earlier report, the
sensitivity table, ``clvreport fit`` and the report sections ask the
audience (:func:`clvreport.audiences.audience`) instead of branching on the
business; each audience owns:

- reading its source (:meth:`Audience.load`) and the analysis step that fits
  and scores its model (:meth:`Audience.model_step`, :meth:`Audience.complete`);
- its summary in its own shape, and the model inputs ``customers.csv`` shows
  (:meth:`Audience.model_inputs`), and each customer's reason sentence
  (:meth:`Audience.reasons`);
- scoring again under other assumptions (:meth:`Audience.rescore`, for the
  sensitivity table) and the forecast of a period checked by the next report
  (:meth:`Audience.period_forecast`);
- its ``model.json`` block (:meth:`Audience.model_block`) and rebuilding the
  fit from it (:meth:`Audience.fit_from_dict`);
- which report sections it has (:attr:`Audience.big_spender`,
  :attr:`Audience.monthly_cohorts`, :attr:`Audience.winback`);
- its checks for ``clvreport validate`` (:meth:`Audience.validation_checks`).

The :class:`Fit` protocol is what every fitted model offers
(:class:`~clvreport.models.fitting.ClvModelFit`,
:class:`~clvreport.donors.DonorFit`, :class:`~clvreport.subscribers.SubscriberFit`).
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import pandas as pd

if TYPE_CHECKING:
    from clvreport.config import ClientConfig
    from clvreport.i18n import Translator
    from clvreport.ingest import DataQuality, Transactions
    from clvreport.metrics import ObservationWindow
    from clvreport.models.predictive import IntervalCheck
    from clvreport.validate import ValidationResult

__all__ = ["Audience", "Fit", "ModelStep", "running"]


@runtime_checkable
class Fit(Protocol):
    """What every fitted model offers the report, ``model.json`` and the comparison.

    Shop models (:class:`~clvreport.models.fitting.ClvModelFit`), donor models
    (:class:`~clvreport.donors.DonorFit`) and subscription models
    (:class:`~clvreport.subscribers.SubscriberFit`) all have these members;
    the members are read-only here, so each fit may narrow their types.
    """

    @property
    def model_name(self) -> str | None:
        """The chosen model's key (``bgnbd``, ``pnbd``, ``bgbb``, ``sbg`` ...), if any."""

    @property
    def status(self) -> str:
        """``"ok"``, ``"degraded"`` or ``"failed"``."""

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the status is what it is (reason codes)."""

    @property
    def reason(self) -> str | None:
        """The main reason code, or ``None``."""

    @property
    def usable(self) -> bool:
        """Whether there is a model to score with."""

    @property
    def model(self) -> Any:
        """The fitted transaction (giving, renewal) model, or ``None``."""

    @property
    def time_unit(self) -> str:
        """The model's time unit (``weeks``, ``years``, ``months`` ...)."""

    @property
    def choice_note(self) -> str | None:
        """Why this model (a message key), or ``None``."""

    @property
    def spend_model(self) -> Any:
        """The spend model (Gamma-Gamma), or ``None`` without one."""

    @property
    def spend_fallback(self) -> float | None:
        """The amount used without a spend model (``None``: not needed)."""

    @property
    def spend_caps(self) -> Any:
        """Caps on exceptional orders in the spend model's input (``None``: none)."""

    @property
    def season(self) -> Any:
        """The seasonal index the forecast follows (``None``: calendar time)."""

    @property
    def calibration_season(self) -> Any:
        """The seasonal index of the calibration fit (``None``: calendar time)."""

    @property
    def search(self) -> Any:
        """How the candidate models were searched (a subsample, ...), or ``None``."""

    @property
    def holdout(self) -> Any:
        """The period models' holdout check (or why there is none); ``None`` for shops."""

    @property
    def n_customers(self) -> int:
        """Customers (donors, subscribers) the model was fitted on."""

    @property
    def n_repeat_buyers(self) -> int:
        """Of those, who bought (gave, renewed) again."""

    def to_dict(self) -> dict[str, Any]:
        """The fit as ``model.json`` holds it."""


@dataclass
class ModelStep:
    """What an audience's analysis step gives the common pipeline.

    Attributes
    ----------
    summary
        The per-customer summary the model scores, in the audience's own shape
        (shop: ``frequency, recency, T, monetary_value``; donors:
        ``frequency, recency, n_periods, monetary_value``; subscribers:
        ``renewals, price``).
    model
        The fitted model.
    scores
        Per-customer scores (``None``: not (yet) scored, or no usable model).
    base_value
        The whole base's value with its range (``None`` without a model).
    calibration_end
        End of the period the model was checked on (``None``: no holdout).
    tracking
        Weekly repeat purchases against the calibration model (shops only).
    intervals
        How the 90% intervals held on the holdout (``None`` without a check).
    donors, subscribers
        The donor or subscription report's own figures, else ``None``.
    calibration
        Shops: the calibration summary, kept until :meth:`Audience.complete`.
    next_purchase_check
        Shops: how the next-purchase windows held on the holdout
        (:func:`~clvreport.models.next_purchase.chosen_window_check`).
    """

    summary: pd.DataFrame
    model: Fit
    scores: pd.DataFrame | None
    base_value: pd.Series | None
    calibration_end: dt.date | None
    tracking: pd.DataFrame | None = None
    intervals: IntervalCheck | None = None
    donors: Any = None
    subscribers: Any = None
    calibration: pd.DataFrame | None = None
    next_purchase_check: Any = None


def running(customers: pd.DataFrame) -> pd.Series | None:
    """Whose relationship still runs, when the customer table says so (``None``: it does not).

    A subscription audience's customer table has an ``active`` column (the
    contract runs on the report date); a shop's or donors' has none, and
    whether they are still customers is a probability. Stored tables (an
    earlier report's ``customers.parquet``) carry no ``business``: their
    columns say which audience they are of.

    Examples
    --------
    >>> running(pd.DataFrame({"active": [True, None]})).tolist()
    [True, False]
    >>> running(pd.DataFrame({"p_alive": [0.5]})) is None
    True
    """
    if "active" not in customers:
        return None
    return customers["active"].fillna(False).astype(bool)


class Audience(ABC):
    """One audience of the report (see the module docstring).

    Attributes
    ----------
    business
        The ``business`` of ``client.yml`` this audience serves.
    name
        The audience of the report texts (``customers``, ``donors``,
        ``subscribers``).
    big_spender
        Whether the report compares the one-off big spender with the loyal
        regular (subscribers pay a price per period: there is none).
    monthly_cohorts
        Whether the loyalty section shows monthly cohorts (donors give once a
        period: their cohorts are in the donor section).
    winback
        Whether ex-customers have a win-back value (subscribers).
    """

    business: ClassVar[str]
    name: ClassVar[str]
    big_spender: ClassVar[bool] = True
    monthly_cohorts: ClassVar[bool] = True
    winback: ClassVar[bool] = False

    def check_config(self, config: ClientConfig) -> None:
        """Refuse settings this audience cannot work with (default: any will do).

        Raises
        ------
        ValueError
            Saying which key to set and how (pydantic reports it at the key).
        """
        return None

    def load(
        self, config: ClientConfig, client_dir: Path, as_of: dt.date | None
    ) -> tuple[Transactions, Any]:
        """Read the client's source through the common ingest.

        Returns the transactions the shared sections use and the audience's own
        source (``None`` for shops and donors; the contracts for subscribers).
        """
        from clvreport.ingest import load_transactions

        return load_transactions(config, client_dir, as_of=as_of or config.as_of), None

    def quality(self, transactions: Transactions, source: Any) -> DataQuality:
        """The data-quality figures of the client's file."""
        return transactions.quality

    @abstractmethod
    def model_step(
        self,
        config: ClientConfig,
        transactions: Transactions,
        source: Any,
        window: ObservationWindow,
    ) -> ModelStep:
        """Fit (and where possible score) the audience's model, while the engine is open."""

    def complete(self, step: ModelStep, config: ClientConfig, engine: Any) -> ModelStep:
        """Finish the step after the engine closed (shops score here); default: as is."""
        return step

    def running(self, customer_ids: pd.Series, scores: pd.DataFrame | None) -> pd.Series | None:
        """Whose relationship runs, aligned with ``customer_ids`` (``None``: not known)."""
        return None

    def reasons(
        self,
        customers: pd.DataFrame,
        t: Translator,
        *,
        as_of: dt.date,
        horizon_months: int,
        config: ClientConfig | None = None,
    ) -> pd.Series | None:
        """Each customer's reason sentence in the report language (``None``: no figures).

        Shops: when the next purchase is due (:func:`~clvreport.next_purchase_text.reasons`).
        """
        from clvreport.next_purchase_text import reasons

        if "next_purchase_median" not in customers:
            return None
        return reasons(customers, as_of, t, horizon_months)

    def model_inputs(self, summary: pd.DataFrame) -> pd.DataFrame:
        """The model inputs ``customers.csv`` shows, by their shop names, with ``customer_id``."""
        return summary

    @abstractmethod
    def rescore(
        self,
        analysis: Any,
        ids: pd.Index,
        *,
        horizon_months: int,
        discount_rate: float,
        gross_margin: float,
    ) -> pd.DataFrame:
        """Each customer's value under other assumptions (``clv``, ``clv_if_alive`` ...)."""

    @abstractmethod
    def fit_from_dict(self, data: Mapping[str, Any]) -> Fit:
        """The fit stored in an earlier report's ``model.json``."""

    @abstractmethod
    def period_forecast(
        self, fit: Any, old: pd.DataFrame, days: int, start: dt.date
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str] | None:
        """An earlier report's forecast of the ``days`` since, per segment and in total.

        Returns the segments' forecast, the total, the customers it covers and
        the cumulative count whose growth is the actual (``None``: cannot be checked).
        """

    def model_block(self, fit: Fit, intervals: IntervalCheck | None = None) -> dict[str, Any]:
        """The model block of ``model.json``: what ``clvreport fit --json`` prints.

        The fit's :meth:`~Fit.to_dict` with its ``business`` and, when the model
        was checked on a holdout, how its 90% intervals held there
        (``intervals``: ``validation.coverage``, ``interval``, ``intervals``,
        ``above``, ``below``). The report adds its own keys (currency, key
        figures, plan ...) after it.
        """
        from clvreport.models.predictive import INTERVAL

        block = fit.to_dict()
        block["business"] = block.get("business") or self.business
        validation = block.get("validation")
        if validation is not None and intervals is not None:
            validation["coverage"] = intervals.coverage
            validation["interval"] = INTERVAL
            # the misses on each side, and what the model expected there
            check = intervals.to_dict()
            validation["intervals"] = check
            validation["above"] = check["above"]
            validation["below"] = check["below"]
        return block

    def validation_checks(
        self, config: ClientConfig, client_dir: Path, as_of: dt.date | None
    ) -> ValidationResult:
        """What ``clvreport validate`` says of the data: read and checked as the report will.

        The default reads transactions as a shop's report does
        (:func:`clvreport.validate.shop_checks`); donors and subscribers read
        their own data (:func:`clvreport.donors.validation_checks`,
        :func:`clvreport.subscribers.validation_checks`).

        Raises
        ------
        ClvReportError
            A problem that stops the report (as the report would raise it).
        """
        from clvreport.validate import shop_checks

        return shop_checks(config, client_dir, as_of)
