"""Shared base of the maximum-likelihood CLV models.

The base classes own what every model needs and no model should repeat:
fitting on log-parameters (the optimiser in :mod:`clvreport.models.optimise`)
from several starts on the compressed data (:mod:`clvreport.models.compression`)
after the input checks (:mod:`clvreport.models.inputs`), the convergence check,
standard errors from the Hessian and serialisation to and from JSON-friendly
dictionaries. A model module owns its log-likelihood (with gradient) and its
predictions; the numeric helpers of the likelihoods are in
:mod:`clvreport.models.numeric`.

Fitting strategy
----------------
1. Customers are compressed into distinct rows with weights, so the cost grows
   with the number of distinct histories, not customers.
2. Several starting points are optimised with BFGS and analytic gradients.
   For very large data this search runs on a random weighted subsample
   (``search_customers``), a run stops on a ridge the subsample cannot
   resolve, and only the best point is refined on all data.
3. A few Newton steps with the finite-difference Hessian of the analytic
   gradient polish the optimum; the same Hessian gives the standard errors.
   For the interior optimum of a model with limits this waits until the
   comparison with the limits has chosen it (a limit that wins makes them
   moot), and a limit is polished only if it could win.
4. The fit counts as converged when the gradient is numerically zero and the
   Hessian is positive definite.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from clvreport.errors import ModelError
from clvreport.models.compression import RfmData, compress_rfm
from clvreport.models.inputs import ArrayLike, validate_summary
from clvreport.models.limits import (
    interior_starts,
    nbd_objective,
    pair_faces,
    prefer_limit,
    simplest,
    tie_tolerance,
)
from clvreport.models.numeric import dot, json_float
from clvreport.models.optimise import (
    MAX_EVALUATIONS,
    EvaluationBudget,
    Face,
    FitBudgetExceeded,
    FitDiagnostics,
    Objective,
    Optimum,
    maximise_likelihood,
)
from clvreport.models.units import TimeUnit, check_time_unit

__all__ = [
    "MaximumLikelihoodModel",
    "Params",
    "TransactionModel",
]


# ---------------------------------------------------------------------------
# model base class
# ---------------------------------------------------------------------------


def _screen_margin(optimum: Optimum, n: float, search: Any) -> float:
    """How much less likely (total log-likelihood) a limit may look and still be refined.

    At the subsample's optimum a limit's log-likelihood on all rows is below its
    maximum by about half a chi-square with as many degrees of freedom as free
    parameters, times ``n / n_search``; 100 times that, and at least 1e-3 of
    the interior's log-likelihood, keeps every limit that could tie with the
    interior optimum.
    """
    n_search = max(float(getattr(search, "n_customers", n)), 1.0)
    return max(1e-3 * abs(optimum.neg_ll_mean) * n, 100.0 * optimum.log_params.size * n / n_search)


# how many times its estimated Newton gain a limit must lose by to skip its polish
_NEWTON_GAIN_SAFETY = 100.0


def _loses_anyway(value: float, sub: Optimum, interior_value: float, tolerance: float) -> bool:
    """Whether a limit, unpolished at mean NLL ``value``, loses to the interior however polished.

    Its Newton steps could lower ``value`` by about ``extra["newton_gain"]``
    (:func:`~clvreport.models.optimise.maximise_likelihood`; taken 100 times
    over), the interior's own steps raise its value by at most ``1e-13`` of it
    each (three at most). Without the estimate (no refinement on a subsample,
    where the polish costs little) the limit is not ruled out.
    """
    gain = sub.extra.get("newton_gain")
    if gain is None or "polish" not in sub.extra or not np.isfinite(gain):
        return False
    slack = 3e-13 * max(1.0, abs(interior_value))
    return not prefer_limit(interior_value + slack, value - _NEWTON_GAIN_SAFETY * gain, tolerance)


# numerical trouble a fit on odd data can raise (anything else is a bug and propagates)
_FIT_ERRORS = (ModelError, ValueError, ArithmeticError, np.linalg.LinAlgError)


def _polished(optimum: Optimum) -> Optimum:
    """``optimum`` with its pending Newton steps and Hessian done (see ``maximise_likelihood``)."""
    finish = optimum.extra.get("polish")
    return optimum if finish is None else finish()


class MaximumLikelihoodModel(ABC):
    """Base class: fitting on log-parameters, standard errors, (de)serialisation.

    Subclasses set :attr:`name` and :attr:`param_names` and implement
    :meth:`_objective` and :meth:`_starting_points`.

    Parameters
    ----------
    time_unit
        Unit of ``recency`` and ``T`` (and of the rate parameters).
    n_starts
        Number of starting points for the optimiser.
    seed
        Seed for the subsample used to search starts on large data.

    Attributes
    ----------
    params_ : dict[str, float]
        Fitted parameters.
    standard_errors_ : dict[str, float]
        Standard errors from the inverse observed information (NaN when the
        Hessian is singular).
    log_likelihood_ : float
        Maximised log-likelihood (sum over customers).
    converged_ : bool
        Whether the optimum passed the convergence check.
    covariance_log_ : numpy.ndarray or None
        Covariance matrix of the log-parameters (for intervals).
    n_customers_ : int
        Number of customers the model was fitted on.
    diagnostics_ : FitDiagnostics
        Details of the optimisation.
    boundary_ : tuple of str or None
        When the likelihood's supremum is a limiting model on the edge of the
        parameter space, the limits it takes (``"no_rate_heterogeneity"``:
        ``r, alpha -> inf`` with ``r / alpha`` fixed; ``"no_dropout_heterogeneity"``:
        the dropout pair -> inf with its mean fixed; ``"no_dropout"``: ``a`` or ``s``
        -> 0). The limit is represented by parameters pinned at
        ``exp(+-BOUNDARY_LOG)``, where the predictions equal the limit's, and the
        fit counts as converged. ``None`` for an interior optimum. Decided by
        likelihood, not by where the optimiser stopped (:mod:`clvreport.models.limits`).
    evaluations_ : float
        Likelihood evaluations the fit spent, counted over all rows (evaluations
        on the start search's subsample by their share of the rows); at most
        :attr:`max_evaluations`.
    max_evaluations : float or None
        The fit's evaluation budget
        (:class:`~clvreport.models.optimise.EvaluationBudget`): beyond it the fit
        raises :class:`~clvreport.models.optimise.FitBudgetExceeded` instead of
        wandering on towards a boundary. ``None``: unbounded.
    """

    name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    search_customers: ClassVar[int] = 20_000
    max_evaluations: float | None = MAX_EVALUATIONS
    _registry: ClassVar[dict[str, type[MaximumLikelihoodModel]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            MaximumLikelihoodModel._registry[cls.name] = cls

    def __init__(self, *, time_unit: TimeUnit = "weeks", n_starts: int = 3, seed: int = 0):
        self.time_unit: TimeUnit = check_time_unit(time_unit)
        self.n_starts = int(n_starts)
        self.seed = seed
        self.params_: dict[str, float] | None = None
        self.standard_errors_: dict[str, float] | None = None
        self.log_likelihood_: float | None = None
        self.converged_: bool | None = None
        self.covariance_log_: np.ndarray | None = None
        self.n_customers_: int | None = None
        self.diagnostics_: FitDiagnostics | None = None
        self.boundary_: tuple[str, ...] | None = None
        self.evaluations_: float | None = None

    def __repr__(self) -> str:
        if self.params_ is None:
            return f"{type(self).__name__}(time_unit={self.time_unit!r}, unfitted)"
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({params}, time_unit={self.time_unit!r})"

    # -- to implement -------------------------------------------------------

    @abstractmethod
    def _objective(self, data: Any) -> Objective:
        """Function ``log_params -> (mean negative log-likelihood, gradient)`` for ``data``."""

    @abstractmethod
    def _starting_points(self, data: Any) -> list[np.ndarray]:
        """Starting log-parameters, best guess first."""

    def _subsample(self, data: Any, rng: np.random.Generator) -> Any | None:
        """A smaller data set for the start search, or ``None`` to search on all data."""
        if data.n_customers <= 2 * self.search_customers:
            return None
        return data.subsample(self.search_customers, rng)

    # -- fitting --------------------------------------------------------------

    def _fit_data(self, data: Any) -> Self:
        if data.n_customers <= 0:
            raise ModelError(f"cannot fit {self.name}: no customers")
        rng = np.random.default_rng(self.seed)
        starts = self._starting_points(data)[: max(1, self.n_starts)]
        search = self._subsample(data, rng)
        budget = EvaluationBudget(self.max_evaluations)
        # the Newton steps and the Hessian only once the interior optimum is the fit
        optimum = maximise_likelihood(
            self._objective, data, starts, search_data=search, budget=budget, polish=False
        )
        optimum, jacobian, self.boundary_ = self._decide_limit(data, optimum, search, budget)
        self.evaluations_ = budget.used
        theta = optimum.log_params
        params = np.exp(theta)
        self.params_ = dict(zip(self.param_names, map(float, params), strict=True))
        self.log_likelihood_ = -optimum.neg_ll_mean * data.n_customers
        self.n_customers_ = round(data.n_customers)
        self.diagnostics_ = optimum.diagnostics
        self.converged_ = optimum.diagnostics.converged
        self.covariance_log_ = None
        errors = np.full(params.size, np.nan)
        if optimum.diagnostics.hessian_positive_definite and optimum.hessian is not None:
            covariance = np.linalg.inv(optimum.hessian * data.n_customers)
            # at a boundary optimum the parameters pinned at their limit do not vary
            covariance = jacobian @ covariance @ jacobian.T
            covariance = (covariance + covariance.T) / 2
            self.covariance_log_ = covariance
            errors = params * np.sqrt(np.clip(np.diag(covariance), 0, None))
        self.standard_errors_ = dict(zip(self.param_names, map(float, errors), strict=True))
        return self

    def _boundary_faces(self, theta: np.ndarray) -> list[Face]:
        """Every limiting sub-model of the model, free coordinates starting from ``theta``.

        None by default; see :mod:`clvreport.models.limits`. The list does not
        depend on where the fit stopped: every limit is fitted and compared.
        """
        return []

    def _fit_face(
        self,
        data: Any,
        face: Face,
        search: Any | None = None,
        budget: EvaluationBudget | None = None,
        screen_above: float | None = None,
    ) -> Optimum | None:
        """The limit ``face`` fitted on ``data``, unpolished; ``None`` if the optimiser failed.

        With ``search`` (the start search's subsample) the optimiser first runs on
        it and then refines on ``data``, as the unrestricted fit does; a limit whose
        mean NLL on ``data`` at the subsample's optimum is above ``screen_above`` is
        not refined (the point is returned with ``extra["screened"]``). The Newton
        steps, the Hessian and the convergence check wait in ``extra["polish"]``
        until the limit is chosen (:meth:`_choose_limit`).
        """

        def reduced(d: Any) -> Objective:
            if face.objective is not None:
                return face.objective(d)
            full = self._objective(d)

            def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
                value, grad = full(face.to_theta(phi))
                return value, face.jacobian.T @ grad

            return objective

        try:
            sub = maximise_likelihood(
                reduced,
                data,
                [face.start],
                search_data=search,
                budget=budget,
                screen_above=screen_above,
                polish=False,
            )
        except FitBudgetExceeded:
            raise
        except _FIT_ERRORS:
            return None
        return sub

    def _choose_limit(
        self,
        fitted: list[tuple[float, Face, Optimum]],
        tolerance: float,
        record: dict[str, float | None],
        n: float,
    ) -> tuple[float, Face, Optimum] | None:
        """The simplest of the (nearly) most likely limits that converges, or ``None``.

        The limits come unpolished from :meth:`_fit_face`; only the one that would
        be chosen gets its Newton steps and Hessian (and is dropped, its record
        ``None``, unless it then converges), so the limits that lose cost no
        Hessian. Its record then holds the polished log-likelihood.
        """
        candidates = list(fitted)
        while candidates:
            value, face, sub = simplest(candidates, tolerance)
            finish = sub.extra.get("polish")
            if finish is None:
                return value, face, sub
            try:
                sub = finish()
            except FitBudgetExceeded:
                raise
            except _FIT_ERRORS:
                sub = None
            key = "+".join(face.limits)
            rest = [c for c in candidates if c[1] is not face]
            if sub is None or not sub.diagnostics.converged:
                record[key] = None
                candidates = rest
            else:
                record[key] = -sub.neg_ll_mean * n
                candidates = [*rest, (sub.neg_ll_mean, face, sub)]
        return None

    def _decide_limit(
        self,
        data: Any,
        optimum: Optimum,
        search: Any | None = None,
        budget: EvaluationBudget | None = None,
    ) -> tuple[Optimum, np.ndarray, tuple[str, ...] | None]:
        """The fit: the interior optimum, or the limit where the likelihood's supremum lies.

        Every limit (:meth:`_boundary_faces`) is fitted and compared with the
        interior optimum by log-likelihood (:func:`~clvreport.models.limits.prefer_limit`).
        When a limit is as likely, the optimiser first starts again from points
        off it (:func:`~clvreport.models.limits.interior_starts`): an interior
        optimum more likely than the limit wins. Otherwise the simplest of the
        equally likely limits is the fit, with its parameters pinned at
        ``exp(+-BOUNDARY_LOG)`` where the predictions equal the limit's. On
        large data (``search``, the start search's subsample) each of these fits
        searches on the subsample and refines on all rows, so their cost does
        not grow with the number of customers beyond a few full evaluations; a
        limit that at its subsample optimum is less likely on all rows than the
        interior optimum by more than :func:`_screen_margin` cannot be the fit and
        is not refined (its ``limits`` record is then that point's log-likelihood,
        a lower bound of the limit's). ``optimum`` (and the interior found from a
        limit) may come unpolished (``maximise_likelihood(..., polish=False)``):
        its Newton steps and Hessian are done only if it is the fit, so a
        limit's record of the interior is the value where BFGS stopped. Nor is a
        limit polished when every limit loses to the interior by more than its
        Newton steps could make up (:func:`_loses_anyway`).

        Returns
        -------
        tuple
            ``(optimum, jacobian, limits)``: the jacobian maps the optimum's
            free coordinates to the log-parameters (identity inside), ``limits``
            is ``None`` for an interior optimum.
        """
        identity = np.eye(optimum.log_params.size)
        faces = self._boundary_faces(optimum.log_params)
        if not faces:
            return _polished(optimum), identity, None
        tolerance = tie_tolerance(optimum.neg_ll_mean, data.n_customers)
        n = data.n_customers
        fitted: list[tuple[float, Face, Optimum]] = []
        record: dict[str, float | None] = {"interior": -optimum.neg_ll_mean * n}
        screen_above = None
        if search is not None and np.isfinite(optimum.neg_ll_mean):
            screen_above = optimum.neg_ll_mean + _screen_margin(optimum, n, search) / n
        for face in faces:
            sub = self._fit_face(data, face, search, budget, screen_above)
            record["+".join(face.limits)] = None if sub is None else -sub.neg_ll_mean * n
            if sub is not None and not sub.extra.get("screened"):
                fitted.append((sub.neg_ll_mean, face, sub))
        interior = optimum
        # when no limit can beat the interior, whatever its Newton steps do, none is
        # polished (each costs a Hessian over all rows): the interior is the fit either way
        hopeless = all(
            _loses_anyway(value, sub, interior.neg_ll_mean, tolerance) for value, _, sub in fitted
        )
        chosen = None if hopeless else self._choose_limit(fitted, tolerance, record, n)
        if chosen is not None:
            value, face, sub = chosen
            if prefer_limit(interior.neg_ll_mean, value, tolerance):
                # the edge is as likely as the interior found so far: look inside from the limit
                inside = maximise_likelihood(
                    self._objective,
                    data,
                    interior_starts(face, sub.log_params),
                    search_data=search,
                    budget=budget,
                    polish=False,
                )
                record["interior_from_limit"] = -inside.neg_ll_mean * n
                if not prefer_limit(inside.neg_ll_mean, value, tolerance):
                    interior = inside = _polished(inside)
                    record["interior_from_limit"] = -inside.neg_ll_mean * n
                else:
                    diagnostics = replace(
                        sub.diagnostics,
                        n_starts=optimum.diagnostics.n_starts,
                        starts_agree=optimum.diagnostics.starts_agree,
                        message=f"boundary optimum: limiting model with {', '.join(face.limits)}",
                        limits=record,
                    )
                    limit = Optimum(face.to_theta(sub.log_params), value, sub.hessian, diagnostics)
                    return limit, face.jacobian, face.limits
        if interior is optimum:
            interior = _polished(optimum)
            record["interior"] = -interior.neg_ll_mean * n
        diagnostics = replace(interior.diagnostics, limits=record)
        return replace(interior, diagnostics=diagnostics), identity, None

    # -- fitted state ---------------------------------------------------------

    @property
    def is_fitted(self) -> bool:
        """Whether parameters are available."""
        return self.params_ is not None

    def _require_fitted(self) -> dict[str, float]:
        if self.params_ is None:
            raise ModelError(
                f"the {type(self).__name__} has not been fitted",
                hint="call .fit(summary) first or build it with from_params",
            )
        return self.params_

    @property
    def param_vector(self) -> np.ndarray:
        """Fitted parameters as an array in :attr:`param_names` order."""
        params = self._require_fitted()
        return np.array([params[k] for k in self.param_names])

    @classmethod
    def from_params(cls, params: Mapping[str, float], *, time_unit: TimeUnit = "weeks") -> Self:
        """A model with known parameters (e.g. published values), ready to predict.

        Parameters
        ----------
        params
            One positive value per name in :attr:`param_names`.
        time_unit
            Time unit the parameters refer to.

        Returns
        -------
        MaximumLikelihoodModel
            A model without standard errors or log-likelihood.
        """
        missing = [k for k in cls.param_names if k not in params]
        if missing:
            raise ModelError(f"{cls.__name__} needs parameter(s) {', '.join(missing)}")
        values = {k: float(params[k]) for k in cls.param_names}
        if not all(math.isfinite(v) and v > 0 for v in values.values()):
            raise ModelError(f"{cls.__name__} parameters must be positive numbers: {values}")
        model = cls(time_unit=time_unit)
        model.params_ = values
        return model

    # -- serialisation --------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly description of the fitted model.

        Returns
        -------
        dict
            ``model, time_unit, params, standard_errors, log_likelihood,
            converged, n_customers, covariance_log, diagnostics, boundary``
            (``boundary``: the limits of a boundary optimum, or ``None``).
        """
        params = self._require_fitted()
        errors = self.standard_errors_ or {}
        return {
            "model": self.name,
            "time_unit": self.time_unit,
            "params": {k: json_float(v) for k, v in params.items()},
            "standard_errors": {k: json_float(errors.get(k)) for k in self.param_names},
            "log_likelihood": json_float(self.log_likelihood_),
            "converged": self.converged_,
            "n_customers": self.n_customers_,
            "covariance_log": (
                None
                if self.covariance_log_ is None
                else [[json_float(v) for v in row] for row in self.covariance_log_]
            ),
            "diagnostics": None if self.diagnostics_ is None else self.diagnostics_.to_dict(),
            "boundary": None if not self.boundary_ else list(self.boundary_),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MaximumLikelihoodModel:
        """Rebuild a model written by :meth:`to_dict`.

        Parameters
        ----------
        data
            Dictionary from :meth:`to_dict` (e.g. read back from ``model.json``).

        Returns
        -------
        MaximumLikelihoodModel
            Instance of the class named in ``data["model"]``.
        """
        name = data.get("model")
        target = MaximumLikelihoodModel._registry.get(str(name))
        if target is None or (cls is not MaximumLikelihoodModel and not issubclass(target, cls)):
            raise ModelError(
                f"unknown model {name!r} in saved model",
                hint=f"expected one of {', '.join(sorted(MaximumLikelihoodModel._registry))}",
            )
        model = target.from_params(data["params"], time_unit=data.get("time_unit", "weeks"))
        errors = data.get("standard_errors") or {}
        model.standard_errors_ = {
            k: (math.nan if errors.get(k) is None else float(errors[k])) for k in target.param_names
        }
        ll = data.get("log_likelihood")
        model.log_likelihood_ = None if ll is None else float(ll)
        model.converged_ = data.get("converged")
        model.n_customers_ = data.get("n_customers")
        covariance = data.get("covariance_log")
        if covariance is not None:
            matrix = np.array(
                [[math.nan if v is None else v for v in row] for row in covariance], dtype=float
            )
            model.covariance_log_ = matrix if np.isfinite(matrix).all() else None
        boundary = data.get("boundary")
        model.boundary_ = tuple(boundary) if boundary else None
        diagnostics = data.get("diagnostics")
        if diagnostics:
            model.diagnostics_ = FitDiagnostics(
                **{
                    **diagnostics,
                    "gradient_max": (
                        math.inf
                        if diagnostics.get("gradient_max") is None
                        else diagnostics["gradient_max"]
                    ),
                }
            )
        return model


# ---------------------------------------------------------------------------
# transaction (purchase-count) models
# ---------------------------------------------------------------------------

Params = tuple[Any, ...]


def _broadcast_out(value: np.ndarray, *inputs: Any) -> np.ndarray | float:
    if all(np.ndim(v) == 0 for v in inputs):
        return float(value)
    return np.asarray(value, dtype=float)


class TransactionModel(MaximumLikelihoodModel):
    """Base of the purchase-count models (BG/NBD, MBG/NBD, Pareto/NBD).

    A subclass implements its log-likelihood and three building blocks, written
    as static functions of a parameter tuple so they broadcast over parameter
    draws (shape ``(n_draws, 1)``) as well as customers:

    * ``_probability_alive(params, x, t_x, T)``,
    * ``_expected_purchases_if_alive(params, t, x, T)``: expected purchases in
      ``(T, T + t]`` for a customer still alive at ``T``,
    * ``_probability_no_purchase_if_alive(params, t, x, T)``.

    Every conditional prediction is built from these: for example the expected
    purchases are ``P(alive) * E[purchases | alive]``.
    """

    # -- to implement ---------------------------------------------------------

    @staticmethod
    @abstractmethod
    def _log_likelihood(params: Params, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """Log-likelihood of each customer."""

    @staticmethod
    @abstractmethod
    def _probability_alive(params: Params, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T)."""

    @staticmethod
    @abstractmethod
    def _expected_purchases_if_alive(params: Params, t: Any, x: Any, T: Any) -> np.ndarray:
        """E[purchases in (T, T + t] | alive at T, x, T]."""

    @staticmethod
    @abstractmethod
    def _probability_no_purchase_if_alive(params: Params, t: Any, x: Any, T: Any) -> np.ndarray:
        """P(no purchase in (T, T + t] | alive at T, x, T)."""

    @classmethod
    def _probability_alive_many(cls, params: Params, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(alive) for many customers at once (models override to share costly terms)."""
        return cls._probability_alive(params, x, t_x, T)

    @staticmethod
    def _alive_after_first_purchase(params: Params) -> Any:
        """Share of new customers still alive right after their first purchase."""
        return 1.0

    def _boundary_faces(self, theta: np.ndarray) -> list[Face]:
        # theta = log of (rate shape, rate scale, dropout pair); nobody dropping out is the
        # NBD model, fitted with its own closed form
        return pair_faces(theta, closed_forms={("no_dropout",): nbd_objective})

    # -- fitting --------------------------------------------------------------

    def fit(
        self,
        data: pd.DataFrame | ArrayLike,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
        weights: ArrayLike | None = None,
    ) -> Self:
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        data
            A summary table with ``frequency``, ``recency`` and ``T`` columns,
            or the frequency array itself (then pass ``recency`` and ``T``).
        recency, T
            Arrays, when ``data`` is the frequency array.
        weights
            Number of customers per row (default 1).

        Returns
        -------
        TransactionModel
            ``self``, with ``params_``, ``standard_errors_``,
            ``log_likelihood_`` and ``converged_`` set.
        """
        if isinstance(data, pd.DataFrame):
            validate_summary(data)
            frequency, recency, T = data["frequency"], data["recency"], data["T"]
        else:
            if recency is None or T is None:
                raise ModelError("pass a summary DataFrame, or frequency, recency and T arrays")
            frequency = data
        return self._fit_data(compress_rfm(frequency, recency, T, weights))

    def _starting_points(self, data: RfmData) -> list[np.ndarray]:
        # numeric.dot, not @: BLAS wakes its threads for long vectors (milliseconds when busy)
        rate = max(dot(data.weight, data.x) / max(dot(data.weight, data.T), 1e-12), 1e-6)
        return [np.log(self._start_params(rate, data, scale)) for scale in (1.0, 0.5, 2.0, 0.25)]

    @abstractmethod
    def _start_params(self, rate: float, data: RfmData, scale: float) -> np.ndarray:
        """A starting point given the mean purchase rate; ``scale`` varies the shapes."""

    # -- predictions ----------------------------------------------------------

    def _params(self) -> Params:
        return tuple(self.param_vector)

    @staticmethod
    def _history(frequency: Any, recency: Any, T: Any) -> tuple[Any, Any, Any]:
        x = np.asarray(frequency, dtype=float)
        t_x = np.asarray(recency, dtype=float)
        age = np.asarray(T, dtype=float)
        if np.any(t_x > age * (1 + 1e-9) + 1e-12) or np.any(x < 0):
            raise ModelError("recency must be <= T and frequency >= 0 for every customer")
        return x, np.minimum(t_x, age), age

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray | float:
        """Log-likelihood of each customer's history under the fitted parameters.

        Parameters
        ----------
        frequency, recency, T
            Customer histories (arrays or scalars) in the model's time unit.

        Returns
        -------
        numpy.ndarray or float
            One value per customer.
        """
        x, t_x, age = self._history(frequency, recency, T)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _broadcast_out(self._log_likelihood(self._params(), x, t_x, age), x, t_x, age)

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray | float:
        """Probability that each customer is still active at the end of the period.

        Parameters
        ----------
        frequency, recency, T
            Customer histories (arrays or scalars) in the model's time unit.

        Returns
        -------
        numpy.ndarray or float
            P(alive) per customer.
        """
        x, t_x, age = self._history(frequency, recency, T)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            p = self._probability_alive(self._params(), x, t_x, age)
        return _broadcast_out(p, x, t_x, age)

    @staticmethod
    def _probability_of_silence(params: Params, x: Any, t_x: Any, T: Any) -> np.ndarray:
        # the rate given x purchases in (0, t_x] while alive is Gamma(r + x, alpha + t_x)
        # in every model here; E[exp(-lambda (T - t_x))] under it
        r, alpha = params[0], params[1]
        return np.exp(-(r + x) * np.log1p((T - t_x) / (alpha + t_x)))

    def probability_of_silence(self, frequency: Any, recency: Any, T: Any) -> np.ndarray | float:
        """Chance that a customer buying at their own pace is silent as long as this one has been.

        The customer's purchase rate given their ``x`` repeat purchases over
        ``t_x`` (while they were surely active) is ``Gamma(r + x, alpha + t_x)``;
        the chance of no purchase in the ``T - t_x`` since the last one is then
        ``((alpha + t_x) / (alpha + T))^(r + x)``. It ignores dropout on
        purpose: a small value says the silence is long for this customer's
        rhythm ("overdue"), which is the sign of lapsing a model without dropout
        (``boundary_`` ``"no_dropout"``, where P(alive) is 1 for everyone) still
        gives.

        Parameters
        ----------
        frequency, recency, T
            Customer histories in the model's time unit.

        Returns
        -------
        numpy.ndarray or float
            The chance per customer (1 for a purchase today).

        Examples
        --------
        >>> from clvreport.models import BetaGeoModel
        >>> model = BetaGeoModel.from_params({"r": 2.0, "alpha": 10.0, "a": 1.0, "b": 3.0})
        >>> round(model.probability_of_silence(4, 30.0, 50.0), 4)  # (40 / 60) ** 6
        0.0878
        """
        x, t_x, age = self._history(frequency, recency, T)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            value = self._probability_of_silence(self._params(), x, t_x, age)
        return _broadcast_out(value, x, t_x, age)

    @property
    def has_dropout(self) -> bool:
        """False for the no-dropout limit (everyone stays a customer: P(alive) is 1)."""
        return not (self.boundary_ and "no_dropout" in self.boundary_)

    def expected_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray | float:
        """Expected number of purchases in the next ``t`` time units, given the history.

        Parameters
        ----------
        t
            Horizon in the model's time unit (scalar or per customer).
        frequency, recency, T
            Customer histories in the model's time unit.

        Returns
        -------
        numpy.ndarray or float
            Conditional expected purchases per customer.
        """
        x, t_x, age = self._history(frequency, recency, T)
        t = np.asarray(t, dtype=float)
        params = self._params()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            value = self._probability_alive(params, x, t_x, age) * (
                self._expected_purchases_if_alive(params, t, x, age)
            )
        return _broadcast_out(value, t, x, t_x, age)

    def probability_of_purchase(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray | float:
        """Probability of at least one purchase in the next ``t`` time units, given the history.

        Parameters
        ----------
        t
            Horizon in the model's time unit.
        frequency, recency, T
            Customer histories in the model's time unit.

        Returns
        -------
        numpy.ndarray or float
            P(at least one purchase in ``(T, T + t]``) per customer.
        """
        x, t_x, age = self._history(frequency, recency, T)
        t = np.asarray(t, dtype=float)
        params = self._params()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            value = self._probability_alive(params, x, t_x, age) * (
                1.0 - self._probability_no_purchase_if_alive(params, t, x, age)
            )
        return _broadcast_out(value, t, x, t_x, age)

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray | float:
        """Expected repeat purchases in the first ``t`` time units of a new customer.

        Parameters
        ----------
        t
            Time since the first purchase, in the model's time unit.

        Returns
        -------
        numpy.ndarray or float
            ``E[X(t)]``.
        """
        t = np.asarray(t, dtype=float)
        params = self._params()
        zero = np.zeros_like(t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            value = self._alive_after_first_purchase(params) * (
                self._expected_purchases_if_alive(params, t, zero, zero)
            )
        return _broadcast_out(value, t)

    def probability_no_purchases(self, t: Any) -> np.ndarray | float:
        """Probability that a new customer makes no repeat purchase in the first ``t`` time units.

        Parameters
        ----------
        t
            Time since the first purchase, in the model's time unit.

        Returns
        -------
        numpy.ndarray or float
            ``P(X(t) = 0)``.
        """
        t = np.asarray(t, dtype=float)
        params = self._params()
        zero = np.zeros_like(t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            alive = self._alive_after_first_purchase(params)
            value = 1.0 - alive * (
                1.0 - self._probability_no_purchase_if_alive(params, t, zero, zero)
            )
        return _broadcast_out(value, t)
