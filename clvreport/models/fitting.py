"""Fit, compare and choose the CLV models for a report, without ever crashing on odd data.

:func:`fit_clv_models` fits the candidate transaction models (BG/NBD, MBG/NBD,
Pareto/NBD) on the calibration summary, chooses one by holdout error (or by
likelihood without a holdout), refits it and the Gamma-Gamma spend model on
the full-period summary, and returns a :class:`ClvModelFit` with a status:

``ok``
    Forecasts can be used as they are.
``degraded``
    Forecasts exist but come with a caveat the report should explain.
``failed``
    No usable model; the report falls back to historic metrics.

Reason codes (``ClvModelFit.reasons``; the first is ``reason``)
-------------------------------------------------------------
Failed: ``no_customers``, ``too_few_repeat_buyers``, ``not_converged``,
``invalid_predictions`` (every converged candidate predicts NaN or infinity for
some customer).
Degraded: ``few_repeat_buyers``, ``boundary_optimum`` (the likelihood is
highest at a limit of the model, e.g. no dropout or no rate heterogeneity: the
limiting model scores, see ``TransactionModel.boundary_``),
``full_refit_not_converged`` (the refit on
the full period did not converge or predicts NaN/infinity: the calibration fit
scores instead), ``standard_errors_unavailable``, ``poor_holdout_fit`` (holdout
verdict ``poor``, see :mod:`clvreport.models.validation`),
``spend_frequency_correlation``, ``spend_model_unavailable``,
``spend_model_infinite_mean``, ``no_monetary_value``.

How the model was chosen is in ``ClvModelFit.selection`` (``holdout``,
``likelihood`` or ``fixed``) and why in ``ClvModelFit.choice_note``: see
:mod:`clvreport.models.validation` (``best_holdout_fit``,
``bgnbd_fits_better``, ``bgnbd_only_candidate``, ``avoids_bgnbd_artefact``,
their ``_likelihood`` counterparts, or ``fixed``), or ``same_limit`` when every
candidate is the same limiting model (nobody drops out: BG/NBD, MBG/NBD and
Pareto/NBD all become the NBD model, so the choice between them means nothing).

Model choice at scale
---------------------
With more than twice :data:`SEARCH_SAMPLE` (200,000) calibration customers,
the candidates are fitted and compared on a seeded simple random sample of
:data:`SEARCH_SAMPLE` customers: their calibration histories with their own
holdout purchases, so the holdout comparison is that of the same sampled
customers. (Compressed to distinct ``(x, t_x, T)`` rows, the sample is the
weighted rows with hypergeometrically thinned counts: an unbiased sample of
the customers.) Only the chosen model is then refitted on all rows, of the
calibration and of the full period, starting from its optimum on the sample
(and the curvature there); the refit equals a fit on all rows from the usual
starting points. For the likelihood choice without a holdout the sample's
log-likelihoods are scaled to the whole base (``x N / n``), so the tolerance
keeps its meaning. The Gamma-Gamma spend model is always fitted on all repeat
buyers, and the validation of the chosen model (``ClvModelFit.validation``)
is always computed on all customers. ``ClvModelFit.search`` (``search`` in
``model.json``) states what was done: ``method`` (``subsample`` or ``all``),
``customers`` used of (``of``) the calibration customers and the ``seed``.
Why 200,000: on the benchmark's 1.4 million calibration customers the binned
holdout errors the choice compares vary between samples of 200,000 by 0.1-0.3
percentage points (50,000: up to 0.5 points, and the smallest error biased
up by half), well within the 1 point (or 20%) tolerance of
:func:`~clvreport.models.validation.fits_as_well`; smaller samples hardly
search faster (Pareto/NBD's start search runs on 20,000 customers whatever
the sample). Below twice the sample a search on all rows costs about as much
as one on the sample plus the refit of the chosen model.

Every fit is bounded
--------------------
Each candidate's fit may spend at most
:data:`~clvreport.models.optimise.MAX_EVALUATIONS` likelihood evaluations over
all rows (:class:`~clvreport.models.optimise.EvaluationBudget`). A candidate
that needs more (an optimiser wandering towards a boundary of its parameter
space) is skipped: its ``CandidateFit.error`` reads ``"skipped: too slow at
this boundary (...), chose <model>"`` and the others are compared as usual.

Only mistakes in the input (missing columns, an unknown model name or time
unit) raise a :class:`~clvreport.errors.ClvReportError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import wait
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd

from clvreport.dates import parse_date
from clvreport.errors import ModelError
from clvreport.models.base import MaximumLikelihoodModel, TransactionModel
from clvreport.models.bgnbd import BetaGeoModel
from clvreport.models.clv import ClvSettings
from clvreport.models.compression import RfmData, compress_rfm
from clvreport.models.gammagamma import GammaGammaModel, spend_frequency_correlation
from clvreport.models.inputs import validate_summary
from clvreport.models.mbgnbd import ModifiedBetaGeoModel
from clvreport.models.numeric import json_float
from clvreport.models.optimise import FitBudgetExceeded
from clvreport.models.paretonbd import ParetoNBDModel
from clvreport.models.season import Season
from clvreport.models.spend_caps import CAPPED_COLUMN, SpendCaps, revenue_check, spend_caps
from clvreport.models.threads import beside
from clvreport.models.units import TimeUnit, check_time_unit
from clvreport.models.validation import (
    HoldoutComparison,
    has_holdout,
    holdout_comparison,
    select_model,
    select_model_by_likelihood,
)

__all__ = [
    "MODELS",
    "SEARCH_SAMPLE",
    "SEARCH_SEED",
    "SKIPPED",
    "CandidateSearch",
    "ClvModelFit",
    "fit_clv_models",
]

Status = Literal["ok", "degraded", "failed"]

MODELS: dict[str, type[TransactionModel]] = {
    "bgnbd": BetaGeoModel,
    "mbgnbd": ModifiedBetaGeoModel,
    "pnbd": ParetoNBDModel,
}
MIN_REPEAT_BUYERS = 10  # fewer: no model
FEW_REPEAT_BUYERS = 50  # fewer: degraded
MAX_SPEND_CORRELATION = 0.3  # |corr(frequency, spend)| above this: Gamma-Gamma caveat
SEARCH_SAMPLE = 200_000  # candidates are compared on this many customers when there are 2x more
SEARCH_SEED = 0  # seed of that sample

SKIPPED = "skipped: too slow at this boundary"
"""How a candidate's error starts when its fit ran out of its evaluation budget."""

# numerical trouble a fit on odd data can raise; anything else is a bug and propagates
_FIT_ERRORS = (ModelError, ValueError, ArithmeticError, np.linalg.LinAlgError)


@dataclass(frozen=True)
class CandidateFit:
    """One candidate transaction model fitted on the calibration period.

    Attributes
    ----------
    name
        Model name.
    model
        The fitted model, or ``None`` when fitting failed.
    holdout
        Holdout comparison when a holdout exists and the fit converged.
    error
        Why fitting failed, if it did.
    """

    name: str
    model: TransactionModel | None
    holdout: HoldoutComparison | None = None
    error: str | None = None

    @property
    def usable(self) -> bool:
        """Fitted, converged and with a finite log-likelihood."""
        return (
            self.model is not None
            and bool(self.model.converged_)
            and self.model.log_likelihood_ is not None
            and math.isfinite(self.model.log_likelihood_)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        model = self.model
        return {
            "status": "ok" if self.usable else "failed",
            "error": self.error,
            "log_likelihood": None if model is None else json_float(model.log_likelihood_),
            "converged": None if model is None else model.converged_,
            "boundary": None if model is None or not model.boundary_ else list(model.boundary_),
            "n_customers": None if model is None else model.n_customers_,
            "params": None
            if model is None or model.params_ is None
            else {k: json_float(v) for k, v in model.params_.items()},
            "holdout": None if self.holdout is None else self.holdout.to_dict(),
        }


@dataclass(frozen=True)
class CandidateSearch:
    """How many customers the candidate models were fitted and compared on.

    Attributes
    ----------
    method
        ``"subsample"``: on a random sample of the calibration customers, the
        chosen model then refitted on all of them; ``"all"``: on all customers.
    customers
        Customers the candidates were fitted and compared on.
    of
        Customers in the calibration summary.
    seed
        Seed of the sample (``None`` for ``"all"``).
    note
        Why a planned sample was not used in the end, so that every candidate
        was fitted on all rows after all: ``"subsample_search_failed"`` (no
        candidate was usable on the sample) or ``"subsample_refit_failed"``
        (the chosen model did not converge, or predicts NaN, on all rows);
        else ``None``.
    sample_fit
        The chosen model's fit and holdout comparison on the sample
        (:meth:`CandidateFit.to_dict`), as it was compared; ``candidates``
        holds its refit on all rows.

    Examples
    --------
    >>> CandidateSearch("all", 2357, 2357).to_dict()["method"]
    'all'
    """

    method: Literal["subsample", "all"]
    customers: int
    of: int
    seed: int | None = None
    note: str | None = None
    sample_fit: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary: ``method, customers, of, seed, note, sample_fit``."""
        return {
            "method": self.method,
            "customers": self.customers,
            "of": self.of,
            "seed": self.seed,
            "note": self.note,
            "sample_fit": self.sample_fit,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CandidateSearch:
        """Rebuild from :meth:`to_dict` output."""
        seed = data.get("seed")
        return cls(
            method="subsample" if data.get("method") == "subsample" else "all",
            customers=int(data.get("customers") or 0),
            of=int(data.get("of") or 0),
            seed=None if seed is None else int(seed),
            note=data.get("note"),
            sample_fit=data.get("sample_fit"),
        )


@dataclass
class ClvModelFit:
    """Result of :func:`fit_clv_models`: the chosen models, diagnostics and a status.

    Attributes
    ----------
    status
        ``"ok"``, ``"degraded"`` or ``"failed"`` (see the module docstring).
    reasons
        Reason codes, most important first.
    time_unit
        Unit of the summaries and the models.
    model_name
        Chosen transaction model (``None`` when failed).
    model
        Chosen transaction model fitted for scoring (full period when given).
    spend_model
        Gamma-Gamma model, or ``None`` when it could not be used.
    spend_fallback
        Historic mean repeat spend, used per customer when there is no spend model.
    selection
        How the model was chosen: ``"holdout"``, ``"likelihood"`` or ``"fixed"``.
    choice_note
        Why (see the module docstring), e.g. ``"bgnbd_fits_better"``: a
        report built on BG/NBD can say why it uses a model whose P(alive) of
        one-time buyers is 1.
    validation
        Holdout comparison of the chosen model (calibration fit), with the
        revenue check (spend model fitted on the calibration period) and the
        holdout length against the horizon.
    candidates
        Every candidate's calibration fit. After a search on a sample
        (``search.method == "subsample"``) the others are fitted on the
        sample and the chosen model on all customers (its ``n_customers``
        says which; its fit on the sample is ``search.sample_fit``).
    search
        How many customers the candidates were compared on
        (:class:`CandidateSearch`; ``None`` when no candidate was fitted, or
        in a ``model.json`` written before it existed).
    spend_frequency_correlation
        Correlation between frequency and mean spend of repeat buyers.
    spend_caps
        What the spend model did with exceptional orders
        (:class:`~clvreport.models.spend_caps.SpendCaps`); ``None`` when the
        summary was built without the rule.
    n_customers, n_repeat_buyers
        Customers and repeat buyers in the scoring summary.
    season
        The seasonal index of the scoring summary's history
        (:class:`~clvreport.models.season.Season`): with one, the final model
        was fitted on histories in operational time and every forecast runs
        on it (:meth:`operational`, :meth:`clv_settings`); ``None`` or an
        inactive one (with the reason): the calendar.
    calibration_season
        The index of the calibration period, estimated without the holdout,
        that the candidates were fitted and checked with
        (:meth:`calibration_operational`).
    """

    status: Status
    reasons: tuple[str, ...]
    time_unit: TimeUnit
    model_name: str | None = None
    model: TransactionModel | None = None
    spend_model: GammaGammaModel | None = None
    spend_fallback: float | None = None
    selection: str | None = None
    choice_note: str | None = None
    validation: HoldoutComparison | None = None
    candidates: dict[str, CandidateFit] = field(default_factory=dict)
    search: CandidateSearch | None = None
    spend_frequency_correlation: float = float("nan")
    spend_caps: SpendCaps | None = None
    n_customers: int = 0
    n_repeat_buyers: int = 0
    season: Season | None = None
    calibration_season: Season | None = None
    _candidate_dicts: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def seasonal(self) -> bool:
        """Whether the forecasts follow a seasonal index."""
        return self.season is not None and self.season.active

    def operational(self, summary: pd.DataFrame, end: Any = None) -> pd.DataFrame:
        """``summary`` in the time the final model runs on (operational time with an index).

        Parameters
        ----------
        summary
            A calendar summary at the season's end (``attrs["calibration_end"]``
            or ``end``, by default :attr:`Season.end`).
        end
            The summary's date, when its ``attrs`` do not say.

        Returns
        -------
        pandas.DataFrame
            ``summary`` itself without an index.
        """
        if not self.seasonal:
            return summary
        assert self.season is not None
        return _in_unit(self.season, summary, self.time_unit, end)

    def calibration_operational(self, calibration: pd.DataFrame) -> pd.DataFrame:
        """The calibration summary in the time the candidates were fitted and checked on."""
        season = self.calibration_season
        if season is None or not season.active:
            return calibration
        return _in_unit(season, calibration, self.time_unit, None)

    def clv_settings(
        self,
        horizon_months: int = 12,
        discount_rate: float = 0.10,
        gross_margin: float = 1.0,
        start: Any = None,
    ) -> ClvSettings:
        """The horizon's month grid for forecasts from ``start`` (default: the season's end).

        Parameters
        ----------
        horizon_months, discount_rate, gross_margin
            As :class:`~clvreport.models.clv.ClvSettings`.
        start
            The forecast starts the day after (a date or ISO text); default
            :attr:`Season.end`, the date of the scoring summary.

        Returns
        -------
        ClvSettings
            With the operational month grid when the fit has an index.
        """
        grid = None
        if self.seasonal:
            assert self.season is not None
            origin = parse_date(start) or self.season.end
            if origin is not None:
                grid = tuple(
                    float(v)
                    for v in self.season.month_grid(origin, int(horizon_months), self.time_unit)
                )
        return ClvSettings(horizon_months, discount_rate, gross_margin, self.time_unit, grid)

    @property
    def holdout(self) -> None:
        """A period model's holdout check; the shop models' is :attr:`validation` (``None``)."""
        return None

    @property
    def reason(self) -> str | None:
        """The main reason code, or ``None`` when everything is fine."""
        return self.reasons[0] if self.reasons else None

    @property
    def usable(self) -> bool:
        """Whether there is a model to score customers with."""
        return self.status != "failed" and self.model is not None

    def expected_spend(
        self, frequency: Any, monetary_value: Any, params: tuple[Any, ...] | None = None
    ) -> np.ndarray:
        """Expected spend per future purchase: Gamma-Gamma, or the historic fallback.

        Parameters
        ----------
        frequency, monetary_value
            Summary columns.
        params
            Gamma-Gamma parameter tuple (e.g. draws of shape ``(n, 1)``);
            default the fitted values.

        Returns
        -------
        numpy.ndarray
            Spend per customer (shape follows ``params`` broadcasting).
        """
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        if self.spend_model is not None:
            params = tuple(self.spend_model.param_vector) if params is None else params
            own = np.where(x > 0, np.maximum(m, 0.0), 0.0)
            return GammaGammaModel._expected_spend(params, x, own)
        fallback = np.nan if self.spend_fallback is None else self.spend_fallback
        return np.where((x > 0) & (m > 0), m, fallback)

    def spend_input(self, summary: pd.DataFrame) -> np.ndarray:
        """The mean repeat spend per customer the spend model reads from ``summary``.

        ``monetary_value_capped`` when the fit capped exceptional orders
        (:attr:`spend_caps`) and the summary has it, else ``monetary_value``.

        Parameters
        ----------
        summary
            A customer summary.

        Returns
        -------
        numpy.ndarray
        """
        column = "monetary_value"
        if self.spend_caps is not None and self.spend_caps.applied and CAPPED_COLUMN in summary:
            column = CAPPED_COLUMN
        return summary[column].to_numpy(dtype=float)

    def to_dict(self) -> dict[str, Any]:
        """Everything ``model.json`` needs, JSON-friendly.

        Returns
        -------
        dict
            ``status, reason, reasons, time_unit, model, selection,
            choice_note, search, transaction_model, spend_model,
            spend_fallback, spend_frequency_correlation, spend_caps,
            validation, candidates, n_customers, n_repeat_buyers``.
        """
        candidates = {name: c.to_dict() for name, c in self.candidates.items()}
        candidates = {**self._candidate_dicts, **candidates}
        return {
            "status": self.status,
            "reason": self.reason,
            "reasons": list(self.reasons),
            "time_unit": self.time_unit,
            "model": self.model_name,
            "selection": self.selection,
            "choice_note": self.choice_note,
            "search": None if self.search is None else self.search.to_dict(),
            "transaction_model": None if self.model is None else self.model.to_dict(),
            "spend_model": None if self.spend_model is None else self.spend_model.to_dict(),
            "spend_fallback": json_float(self.spend_fallback),
            "spend_frequency_correlation": json_float(self.spend_frequency_correlation),
            "spend_caps": None if self.spend_caps is None else self.spend_caps.to_dict(),
            "validation": None if self.validation is None else self.validation.to_dict(),
            "candidates": candidates,
            "n_customers": self.n_customers,
            "n_repeat_buyers": self.n_repeat_buyers,
            "season": None if self.season is None else self.season.to_dict(),
            "calibration_season": (
                None if self.calibration_season is None else self.calibration_season.to_dict()
            ),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClvModelFit:
        """Rebuild a fit from :meth:`to_dict` output (e.g. a saved ``model.json``).

        Parameters
        ----------
        data
            The dictionary.

        Returns
        -------
        ClvModelFit
            Ready for :func:`~clvreport.models.scoring.score_customers`;
            candidate fits are kept as plain dictionaries.
        """
        transaction = data.get("transaction_model")
        spend = data.get("spend_model")
        validation = data.get("validation")
        correlation = data.get("spend_frequency_correlation")
        search = data.get("search")
        caps = data.get("spend_caps")
        return cls(
            status=data["status"],
            reasons=tuple(data.get("reasons") or ()),
            time_unit=check_time_unit(data.get("time_unit", "weeks")),
            model_name=data.get("model"),
            model=None if transaction is None else MaximumLikelihoodModel.from_dict(transaction),  # type: ignore[arg-type]
            spend_model=None if spend is None else MaximumLikelihoodModel.from_dict(spend),  # type: ignore[arg-type]
            spend_fallback=data.get("spend_fallback"),
            selection=data.get("selection"),
            choice_note=data.get("choice_note"),
            validation=None if validation is None else HoldoutComparison.from_dict(validation),
            search=None if search is None else CandidateSearch.from_dict(search),
            spend_frequency_correlation=float("nan") if correlation is None else correlation,
            spend_caps=None if caps is None else SpendCaps.from_dict(caps),
            n_customers=int(data.get("n_customers") or 0),
            n_repeat_buyers=int(data.get("n_repeat_buyers") or 0),
            season=Season.from_dict(data.get("season")),
            calibration_season=Season.from_dict(data.get("calibration_season")),
            _candidate_dicts=dict(data.get("candidates") or {}),
        )


def _in_unit(season: Season, summary: pd.DataFrame, time_unit: str, end: Any) -> pd.DataFrame:
    """``summary`` in operational time, its times read in ``time_unit``."""
    if summary.attrs.get("time_unit") is None:
        summary = summary.copy(deep=False)
        summary.attrs = {**summary.attrs, "time_unit": time_unit}
    return season.operational_summary(summary, parse_date(end))


def _fit_candidate(
    name: str, calibration: pd.DataFrame, time_unit: TimeUnit, n_starts: int, holdout: bool
) -> CandidateFit:
    try:
        model = MODELS[name](time_unit=time_unit, n_starts=n_starts).fit(calibration)
    except FitBudgetExceeded as exc:
        return CandidateFit(name, None, error=f"{SKIPPED} ({exc.args[0]})")
    except _FIT_ERRORS as exc:
        return CandidateFit(name, None, error=f"{type(exc).__name__}: {exc}")
    comparison = None
    if holdout and model.converged_:
        try:
            comparison = holdout_comparison(model, calibration)
        except _FIT_ERRORS as exc:
            return CandidateFit(name, model, error=f"holdout: {type(exc).__name__}: {exc}")
    return CandidateFit(name, model, comparison)


def _with_choice(candidates: dict[str, CandidateFit], chosen: str) -> dict[str, CandidateFit]:
    """The candidates, a skipped one's error naming the model chosen instead."""
    return {
        name: replace(c, error=f"{c.error}, chose {chosen}")
        if c.error is not None and c.error.startswith(SKIPPED)
        else c
        for name, c in candidates.items()
    }


def _same_limit(candidates: Mapping[str, CandidateFit]) -> bool:
    """Whether every candidate is the same limiting model (nobody drops out: the NBD model).

    BG/NBD, MBG/NBD and Pareto/NBD without dropout are one model, so their
    holdout errors are equal and the choice between them means nothing.
    """
    limits = {getattr(c.model, "boundary_", None) for c in candidates.values()}
    if len(candidates) < 2 or len(limits) != 1:
        return False
    only = next(iter(limits))
    return bool(only) and "no_dropout" in only


def _predictions_finite(candidate: CandidateFit, calibration: pd.DataFrame) -> bool:
    """Whether, without a holdout, the expected purchases are finite for every history."""
    if candidate.model is None:
        return False
    histories = calibration[["frequency", "recency", "T"]].drop_duplicates()
    try:
        predicted = candidate.model.expected_purchases(
            1.0, histories["frequency"], histories["recency"], histories["T"]
        )
    except _FIT_ERRORS:
        return False
    return bool(np.all(np.isfinite(predicted)))


def _calibration_spend(
    calibration: pd.DataFrame, n_starts: int, model: TransactionModel | None = None
) -> tuple[np.ndarray | None, dict[str, Any] | None]:
    """Expected spend per purchase from a spend model fitted on the calibration period.

    Gamma-Gamma where it can be used, else each repeat buyer's own mean and the
    mean of the repeat buyers for the others (as :meth:`ClvModelFit.expected_spend`).
    With exceptional orders capped in ``monetary_value_capped`` and the
    calibration ``model``, both spend models are fitted and the holdout
    revenue check decides (:func:`~clvreport.models.spend_caps.revenue_check`,
    returned second; ``None`` without it): the capped one's spend is returned
    unless the full amounts predict the holdout revenue better.
    """
    if "monetary_value" not in calibration.columns:
        return None, None
    x = calibration["frequency"].to_numpy(dtype=float)

    def expected(column: str) -> np.ndarray | None:
        spend, fallback, _ = _fit_spend(calibration, n_starts, [], column)
        m = calibration[column].to_numpy(dtype=float)
        if spend is not None:
            return np.asarray(spend.expected_spend(x, m), dtype=float)
        if fallback is None:
            return None
        return np.where((x > 0) & (m > 0), m, fallback)

    full = expected("monetary_value")
    if model is None or full is None or CAPPED_COLUMN not in calibration.columns:
        return full, None
    capped = expected(CAPPED_COLUMN)
    check = None if capped is None else revenue_check(model, calibration, capped=capped, full=full)
    if check is not None and check["capped_better"]:
        return capped, check
    return full, check


def _repeat_buyers(summary: pd.DataFrame) -> int:
    return int((pd.to_numeric(summary["frequency"], errors="coerce") > 0).sum())


def _fit_spend(
    summary: pd.DataFrame, n_starts: int, reasons: list[str], column: str = "monetary_value"
) -> tuple[GammaGammaModel | None, float | None, float]:
    """Gamma-Gamma on the repeat buyers, or ``None`` plus a fallback mean spend.

    ``column`` is the mean repeat spend to fit on: ``monetary_value``, or
    ``monetary_value_capped`` (exceptional orders counted as ordinary ones).
    """
    if "monetary_value" not in summary.columns:
        reasons.append("no_monetary_value")
        return None, None, float("nan")
    validate_summary(summary, ("frequency", column))
    x = summary["frequency"].to_numpy(dtype=float)
    m = summary[column].to_numpy(dtype=float)
    buyers = (x > 0) & (m > 0)
    fallback = float(m[buyers].mean()) if buyers.any() else None
    correlation = spend_frequency_correlation(x, m)
    if np.isfinite(correlation) and abs(correlation) > MAX_SPEND_CORRELATION:
        reasons.append("spend_frequency_correlation")
    if buyers.sum() < MIN_REPEAT_BUYERS:
        reasons.append("spend_model_unavailable")
        return None, fallback, correlation
    try:
        spend = GammaGammaModel(n_starts=n_starts).fit(x, m)
    except _FIT_ERRORS:
        spend = None
    if spend is None or not spend.converged_:
        reasons.append("spend_model_unavailable")
        return None, fallback, correlation
    if spend.params_ is not None and spend.params_["q"] <= 1:
        reasons.append("spend_model_infinite_mean")
        return None, fallback, correlation
    return spend, fallback, correlation


def _search_sample(
    calibration: pd.DataFrame, size: int | None, seed: int
) -> tuple[pd.DataFrame, CandidateSearch]:
    """The customers to fit and compare the candidates on, and how they were chosen.

    A seeded simple random sample of ``size`` customers (rows, in their
    original order) when there are more than twice as many, else all.
    """
    n = len(calibration)
    if size is None or n <= 2 * size:
        return calibration, CandidateSearch("all", n, n)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=size, replace=False))
    sample = calibration.iloc[rows]
    if _repeat_buyers(sample) < FEW_REPEAT_BUYERS:  # too few to compare models on
        return calibration, CandidateSearch("all", n, n)
    return sample, CandidateSearch("subsample", size, n, seed)


def _refit(
    name: str,
    summary: pd.DataFrame,
    *,
    time_unit: TimeUnit,
    n_starts: int,
    start: TransactionModel | None = None,
    search: RfmData | None = None,
) -> TransactionModel | None:
    """The model ``name`` fitted on all of ``summary``; ``None`` unless usable.

    With ``start`` (its fit on the search sample ``search``) the optimiser
    starts at that optimum, with the curvature of the sample's likelihood
    there, instead of searching from the usual starting points; should that
    fail, the usual fit is tried.
    """
    attempts: list[TransactionModel] = []
    if start is not None and search is not None and start.params_ is not None:
        warm = MODELS[name](time_unit=time_unit, n_starts=1)
        theta = np.log(start.param_vector)
        # maximise_likelihood runs the start search on the sample (already at its optimum,
        # so it stops at once and gives the curvature), then refines on all rows
        warm._starting_points = lambda data: [theta]  # type: ignore[method-assign]
        warm._subsample = lambda data, rng: search  # type: ignore[method-assign]
        attempts.append(warm)
    attempts.append(MODELS[name](time_unit=time_unit, n_starts=n_starts))
    for model in attempts:
        try:
            model.fit(summary)
        except _FIT_ERRORS:
            continue
        finally:
            # a plain model again (picklable, the class's own methods)
            vars(model).pop("_starting_points", None)
            vars(model).pop("_subsample", None)
        if model.converged_ and _predictions_finite(CandidateFit(name, model), summary):
            return model
    return None


def _calibration_fit(
    chosen: str,
    calibration: pd.DataFrame,
    validation: HoldoutComparison | None,
    *,
    time_unit: TimeUnit,
    n_starts: int,
    horizon_months: float | None,
    sample_model: TransactionModel,
    search: RfmData | None,
) -> tuple[TransactionModel, HoldoutComparison | None, dict[str, Any] | None] | str:
    """The chosen model on the whole calibration period and its holdout check.

    With a search sample (``search``) the model is refitted on all calibration
    rows from its optimum there; then the check is made again on all customers,
    with the revenue check of the spend and the horizon. Returns ``(model,
    validation, spend_check)``, or the note of a search to redo on all rows.
    """
    calibration_model = sample_model
    if search is not None:
        refit = _refit(
            chosen,
            calibration,
            time_unit=time_unit,
            n_starts=n_starts,
            start=sample_model,
            search=search,
        )
        if refit is None:
            return "subsample_refit_failed"
        calibration_model = refit
    spend_check = None
    if validation is not None:
        try:
            expected_spend, spend_check = _calibration_spend(
                calibration, n_starts, calibration_model
            )
            validation = holdout_comparison(
                calibration_model,
                calibration,
                expected_spend=expected_spend,
                horizon_months=horizon_months,
            )
        except _FIT_ERRORS:
            if search is not None:
                try:
                    validation = holdout_comparison(calibration_model, calibration)
                except _FIT_ERRORS:
                    return "subsample_refit_failed"
        if search is not None and not validation.valid:
            return "subsample_refit_failed"
    return calibration_model, validation, spend_check


def fit_clv_models(
    calibration: pd.DataFrame,
    full: pd.DataFrame | None = None,
    *,
    model: str = "auto",
    time_unit: TimeUnit = "weeks",
    n_starts: int = 3,
    horizon_months: float | None = None,
    search_sample: int | None = SEARCH_SAMPLE,
    search_seed: int = SEARCH_SEED,
    season: Season | None = None,
    calibration_season: Season | None = None,
) -> ClvModelFit:
    """Fit the candidate models, choose one and fit the spend model.

    Parameters
    ----------
    calibration
        Summary over the calibration period (``frequency, recency, T,
        monetary_value``), with ``frequency_holdout`` and ``duration_holdout``
        when a holdout period exists.
    full
        Summary over the whole period, used for the final fits that score the
        customers. Default: ``calibration``.
    model
        ``"auto"`` (choose among ``bgnbd``, ``mbgnbd`` and ``pnbd``) or one of them.
    time_unit
        Unit of ``recency``, ``T`` and ``duration_holdout`` in both summaries.
    n_starts
        Optimiser starting points per model.
    horizon_months
        Forecast horizon of the report, recorded in the validation to flag a
        holdout shorter than it (``validation.shorter_than_horizon``).
    search_sample
        With more than twice this many calibration customers (and ``model``
        ``"auto"``), the candidates are fitted and compared on a random sample
        of this many and only the chosen model is refitted on all rows (see
        the module docstring); ``None``: always on all rows.
    search_seed
        Seed of that sample.
    season
        The seasonal index of the scoring summary's history
        (:func:`~clvreport.models.season.estimate_season` up to its date):
        with an active one the final model is fitted on ``full`` in
        operational time (:mod:`clvreport.models.season`). Without ``full`` it
        applies to ``calibration``.
    calibration_season
        The index estimated on the calibration period alone (never on the
        holdout): the candidates are fitted and checked on ``calibration`` in
        its operational time. Default: none when ``full`` is given, else
        ``season``.

    Returns
    -------
    ClvModelFit
        Chosen models with a status and reason codes; never raises for
        degenerate data. ``search`` says how many customers the candidates
        were compared on.

    Raises
    ------
    clvreport.errors.ClvReportError
        For mistakes in the arguments: missing columns, unknown model or unit,
        a ``search_sample`` below 1.

    Examples
    --------
    >>> from clvreport.models.simulate import simulate_summary
    >>> summary = simulate_summary("bgnbd", {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}, 2000,
    ...                            spend_params={"p": 6.0, "q": 4.0, "gamma": 15.0}, seed=1)
    >>> fit = fit_clv_models(summary, model="bgnbd")
    >>> fit.status, fit.model_name
    ('ok', 'bgnbd')

    On many customers the candidates are compared on a sample (here 500 of 2,000):

    >>> fit = fit_clv_models(summary, search_sample=500)
    >>> fit.search.method, fit.search.customers, fit.search.of
    ('subsample', 500, 2000)
    >>> fit.model.n_customers_
    2000
    """
    time_unit = check_time_unit(time_unit)
    if model != "auto" and model not in MODELS:
        raise ModelError(
            f"unknown model {model!r}",
            hint=f"use auto or one of {', '.join(MODELS)}",
        )
    if search_sample is not None and search_sample < 1:
        raise ModelError(
            f"search_sample must be a positive number of customers, got {search_sample!r}",
            hint="pass None to compare the models on all customers",
        )
    validate_summary(calibration)
    if full is not None:
        validate_summary(full)
    for frame in (calibration, full if full is not None else calibration):
        unit = frame.attrs.get("time_unit")
        if unit is not None and unit != time_unit:
            raise ModelError(
                f"the summary is in {unit} but time_unit={time_unit!r} was requested",
                hint="pass the time_unit the summary was built with",
            )
    if full is None and calibration_season is None:
        calibration_season = season
    if calibration_season is not None and calibration_season.active:
        calibration = _in_unit(calibration_season, calibration, time_unit, None)
    if full is not None and season is not None and season.active:
        full = _in_unit(season, full, time_unit, None)
    scoring = calibration if full is None else full
    result = ClvModelFit(
        status="failed",
        reasons=(),
        time_unit=time_unit,
        n_customers=len(scoring),
        n_repeat_buyers=_repeat_buyers(scoring) if len(scoring) else 0,
        season=season,
        calibration_season=calibration_season,
    )
    if len(calibration) == 0 or len(scoring) == 0:
        result.reasons = ("no_customers",)
        return result
    repeat_buyers = _repeat_buyers(calibration)
    if repeat_buyers < MIN_REPEAT_BUYERS:
        result.reasons = ("too_few_repeat_buyers",)
        return result

    def on_all_rows(note: str) -> ClvModelFit:
        """The whole search again on all rows, when the sample's result cannot be used."""
        again = fit_clv_models(
            calibration,
            full,
            model=model,
            time_unit=time_unit,
            n_starts=n_starts,
            horizon_months=horizon_months,
            search_sample=None,
            season=season,
            calibration_season=calibration_season,
        )
        n = len(calibration)
        again.search = CandidateSearch("all", n, n, note=note)
        return again

    holdout = has_holdout(calibration)
    names = list(MODELS) if model == "auto" else [model]
    sample, search = _search_sample(
        calibration, search_sample if model == "auto" else None, search_seed
    )
    subsampled = search.method == "subsample"
    candidates = {
        name: _fit_candidate(name, sample, time_unit, n_starts, holdout) for name in names
    }
    result.candidates = candidates
    result.search = search
    # A candidate predicting NaN or infinity for anyone is as unusable as one that did not fit.
    converged = {name: c for name, c in candidates.items() if c.usable}
    usable = {
        name: c
        for name, c in converged.items()
        if (c.holdout.valid if c.holdout is not None else _predictions_finite(c, sample))
    }
    if not usable:
        if subsampled:
            return on_all_rows("subsample_search_failed")
        result.reasons = ("invalid_predictions",) if converged else ("not_converged",)
        return result

    reasons: list[str] = []
    # log-likelihoods of the whole base: a sample's scaled up, so the tolerance keeps its meaning
    scale = search.of / search.customers
    lls = {name: float(c.model.log_likelihood_) * scale for name, c in usable.items()}  # type: ignore[union-attr, arg-type]
    compared = {name: c.holdout for name, c in usable.items() if c.holdout is not None}
    if model != "auto":
        chosen, selection, choice_note = model, "fixed", "fixed"
    elif compared:
        choice = select_model(compared, lls)
        chosen, selection, choice_note = choice.name, "holdout", choice.note
    else:
        choice = select_model_by_likelihood(lls)
        chosen, selection, choice_note = choice.name, "likelihood", choice.note
    if model == "auto" and _same_limit(usable):
        choice_note = "same_limit"
    candidates = result.candidates = _with_choice(candidates, chosen)
    calibration_model = usable[chosen].model
    assert calibration_model is not None
    sample_model = calibration_model

    def sample_rows() -> RfmData | None:
        """The search sample's rows, for a refit to start from its optimum (one each)."""
        if not subsampled:
            return None
        return compress_rfm(sample["frequency"], sample["recency"], sample["T"])

    full_fit = None
    if full is not None:
        # The full history's fit needs nothing of the calibration period's: it runs on a
        # thread of its own while the calibration refit and the holdout check run here.
        full_fit = beside(
            partial(
                _refit,
                chosen,
                full,
                time_unit=time_unit,
                n_starts=n_starts,
                start=sample_model if subsampled else None,
                search=sample_rows(),
            )
        )
    try:
        validation = _calibration_fit(
            chosen,
            calibration,
            usable[chosen].holdout,
            time_unit=time_unit,
            n_starts=n_starts,
            horizon_months=horizon_months,
            sample_model=sample_model,
            search=sample_rows(),
        )
    finally:
        if full_fit is not None:
            wait([full_fit])  # not left running beside the search on all rows
    if isinstance(validation, str):
        return on_all_rows(validation)
    calibration_model, validation, spend_check = validation
    final: TransactionModel = calibration_model
    if full_fit is not None:
        refit = full_fit.result()
        if refit is not None:
            final = refit
        else:
            reasons.append("full_refit_not_converged")
    if getattr(final, "boundary_", None):
        reasons.append("boundary_optimum")

    if repeat_buyers < FEW_REPEAT_BUYERS:
        reasons.append("few_repeat_buyers")
    if subsampled:
        result.search = replace(search, sample_fit=candidates[chosen].to_dict())
        result.candidates = {
            **candidates,
            chosen: CandidateFit(chosen, calibration_model, validation),
        }
    if validation is not None and validation.verdict == "poor":
        reasons.append("poor_holdout_fit")
    errors = final.standard_errors_ or {}
    if final.covariance_log_ is None or not all(math.isfinite(v) for v in errors.values()):
        reasons.append("standard_errors_unavailable")

    caps = spend_caps(scoring, spend_check)
    spend_model, fallback, correlation = _fit_spend(
        scoring, n_starts, reasons, "monetary_value" if caps is None else caps.column
    )

    result.status = "degraded" if reasons else "ok"
    result.reasons = tuple(reasons)
    result.model_name = chosen
    result.model = final
    result.selection = selection
    result.choice_note = choice_note
    result.validation = validation
    result.spend_model = spend_model
    result.spend_fallback = fallback
    result.spend_frequency_correlation = correlation
    result.spend_caps = caps
    return result
