"""Maximising a likelihood on log-parameters: several starts, Newton polish, the Hessian.

The optimiser behind :meth:`~clvreport.models.base.MaximumLikelihoodModel.fit`:
BFGS with analytic gradients from several starting points (optionally on a
weighted subsample, where a run stops on a ridge the subsample cannot
resolve), a few Newton steps with the finite-difference Hessian of
the gradient, and the convergence check (gradient numerically zero, Hessian
positive definite). A boundary optimum is fitted again on the faces of the
parameter space (:class:`Face`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import numpy as np
from scipy import linalg, optimize

from clvreport.errors import ModelError
from clvreport.models.compression import RfmData
from clvreport.models.numeric import json_float

__all__ = [
    "BOUNDARY_LOG",
    "MAX_EVALUATIONS",
    "EvaluationBudget",
    "Face",
    "FitBudgetExceeded",
    "FitDiagnostics",
    "Objective",
    "Optimum",
    "finite_difference_hessian",
    "maximise_likelihood",
]


Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]

_GRADIENT_TOLERANCE = 1e-6  # max |d mean-log-likelihood / d log-parameter| at convergence
_SEARCH_TOLERANCE = 1e-5  # the start search stops here; Newton steps polish the best point
_HESSIAN_STEP = 1e-4  # step in log-parameters for the finite-difference Hessian
_MAX_LOG_PARAM = 25.0  # |log parameter| beyond this is treated as a runaway fit
# the search on a subsample stops on a ridge it cannot resolve (see _RidgeStop): an iteration
# that moves a log-parameter this far and gains less than this in total log-likelihood ...
_RIDGE_STEP = 0.2
_RIDGE_GAIN = 0.1
# ... and runs stopped there agree with the best within one such gain (the rule's resolution)
_RIDGE_AGREEMENT = _RIDGE_GAIN


@dataclass(frozen=True)
class FitDiagnostics:
    """How the optimisation went.

    Attributes
    ----------
    converged
        Gradient numerically zero and Hessian positive definite.
    gradient_max
        Largest absolute gradient of the mean log-likelihood (log-parameters).
    hessian_positive_definite
        Whether the observed information matrix is positive definite.
    n_starts
        Number of starting points tried.
    starts_agree
        Whether all successful starts reached the same log-likelihood (on the
        start search's subsample, runs stopped on a ridge it cannot resolve:
        within that stopping rule's resolution).
    message
        Short explanation when something is off, else ``"ok"``.
    limits
        The log-likelihood of the interior optimum (``"interior"``) and of
        each limiting model tried (e.g. ``"no_dropout"``; ``None`` when its fit
        failed, or did not converge where it would have been chosen; on large
        data, for a limit far less likely than the interior on the start
        subsample, its log-likelihood at the subsample's optimum, a lower
        bound), from which the fit was decided (:mod:`clvreport.models.limits`);
        ``None`` for models without limits. Only the fit's own entry comes
        after the Newton steps; the others are where BFGS stopped, its gradient
        below 1e-7 (nearly the same).
    """

    converged: bool
    gradient_max: float
    hessian_positive_definite: bool
    n_starts: int
    starts_agree: bool
    message: str = "ok"
    limits: dict[str, float | None] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary."""
        out = asdict(self)
        out["gradient_max"] = json_float(self.gradient_max)
        if self.limits is not None:
            out["limits"] = {k: json_float(v) for k, v in self.limits.items()}
        return out


@dataclass
class Optimum:
    """The best point found: log-parameters, mean negative log-likelihood, Hessian, diagnostics."""

    log_params: np.ndarray
    neg_ll_mean: float
    hessian: np.ndarray | None
    diagnostics: FitDiagnostics
    extra: dict[str, Any] = field(default_factory=dict)


BOUNDARY_LOG = 20.0  # |log parameter| at which a limiting model's pinned parameters sit


@dataclass(frozen=True)
class Face:
    """A limiting sub-model: ``theta = offset + jacobian @ phi`` with ``phi`` free.

    Attributes
    ----------
    limits
        The limits it takes (see :mod:`clvreport.models.limits`).
    offset, jacobian
        The map from the free coordinates ``phi`` to the model's log-parameters.
    start
        Starting ``phi``.
    objective
        The limit's own closed-form objective on ``phi`` for a data set, when it
        has one; else the model's objective is restricted to the face.
    """

    limits: tuple[str, ...]
    offset: np.ndarray
    jacobian: np.ndarray
    start: np.ndarray
    objective: Callable[[Any], Objective] | None = None

    def to_theta(self, phi: np.ndarray) -> np.ndarray:
        """The model's log-parameters at the face's coordinates ``phi``."""
        return self.offset + self.jacobian @ phi


MAX_EVALUATIONS = 1500
"""Likelihood evaluations over all rows one model fit may spend (starts, limits and the
interior search from a limit together); a typical fit needs 50 to 300. Evaluations on
the start search's subsample count by their share of the rows."""


class FitBudgetExceeded(ModelError):
    """A fit needed more likelihood evaluations than its :class:`EvaluationBudget` allows."""


@dataclass
class EvaluationBudget:
    """The likelihood evaluations a fit may spend, in evaluations over all rows.

    Each evaluation costs about as much as the rows it runs over, so one on a
    subsample counts as its share of the full data's rows. The cost of a fit is
    then bounded by ``limit`` times that of one evaluation over all rows, which
    does not depend on the parameters (the Pareto/NBD quadrature has at most 64
    nodes per row).

    Attributes
    ----------
    limit
        Evaluations over all rows allowed (``None``: unbounded).
    used
        Evaluations spent so far.

    Examples
    --------
    >>> budget = EvaluationBudget(2)
    >>> budget.spend(1.5)
    >>> try:
    ...     budget.spend(1.0)
    ... except FitBudgetExceeded as exc:
    ...     print(exc.args[0])
    the fit needed more than 2 likelihood evaluations over all rows
    """

    limit: float | None = MAX_EVALUATIONS
    used: float = 0.0

    def spend(self, cost: float) -> None:
        """Count an evaluation of relative cost ``cost``; raise when the budget is exceeded."""
        self.used += cost
        if self.limit is not None and self.used > self.limit:
            raise FitBudgetExceeded(
                f"the fit needed more than {self.limit:g} likelihood evaluations over all rows"
            )


def _rows(data: Any) -> float | None:
    rows = getattr(data, "n_rows", None)
    return None if rows is None else float(rows)


_CACHED_POINTS = 8  # recent evaluations an optimisation remembers


def _safe(
    objective: Objective, budget: EvaluationBudget | None = None, cost: float = 1.0
) -> Objective:
    """``objective`` with runaway or non-finite points at ``inf``, charged to ``budget``.

    The last ``_CACHED_POINTS`` evaluations are remembered by their exact
    coordinates and answered again without a charge: the optimiser asks again for
    its starting point, the point it stopped at and the subsample's optimum the
    refinement starts from.
    """
    cache: dict[bytes, tuple[float, np.ndarray]] = {}

    def evaluate(theta: np.ndarray) -> tuple[float, np.ndarray]:
        if budget is not None:
            budget.spend(cost)
        if not np.all(np.abs(theta) < _MAX_LOG_PARAM):
            return np.inf, np.zeros_like(theta)
        with np.errstate(all="ignore"):
            value, grad = objective(theta)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return np.inf, np.zeros_like(theta)
        return float(value), grad

    def wrapped(theta: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.asarray(theta, dtype=float)
        key = theta.tobytes()
        if key not in cache:
            if len(cache) >= _CACHED_POINTS:
                del cache[next(iter(cache))]
            value, grad = evaluate(theta)
            cache[key] = (value, np.array(grad, dtype=float))
        value, grad = cache[key]
        return value, grad.copy()

    return wrapped


class _RidgeStop:
    """BFGS callback for the start search on a subsample: stop on a ridge it cannot resolve.

    Where the truth is a limit of the model (one common dropout rate: ``s, beta
    -> inf`` with ``s / beta`` fixed), the subsample's likelihood can rise
    towards the limit along a flat ridge while that of all rows peaks partway
    along it. The search then crawls out along the ridge for some 15 iterations
    on each start, and the refinement on all rows, which has the last word, has
    to walk all the way back (each evaluation several times the subsample's). An
    iteration that moves a log-parameter by more than ``_RIDGE_STEP`` and gains
    less than ``_RIDGE_GAIN`` in total log-likelihood on the subsample (a
    likelihood-ratio statistic of 0.2: the subsample cannot tell the two points
    apart) ends the run there. Near an ordinary optimum the steps are short
    when the gains are small, so the rule does not fire.

    Parameters
    ----------
    n_customers
        Customers in the search data (the mean log-likelihood times this is the total).
    value, theta
        The run's starting point and its objective value.
    """

    def __init__(self, n_customers: float, value: float, theta: np.ndarray) -> None:
        self.n_customers = n_customers
        self.last = (value, np.array(theta, dtype=float))
        self.stopped = False

    def __call__(self, intermediate_result: optimize.OptimizeResult) -> None:
        """Called by SciPy after each iteration; raises ``StopIteration`` on a ridge.

        (SciPy 1.11 and later pass the iterate as ``intermediate_result`` to a
        callback with that parameter name and end the run on ``StopIteration``.)
        """
        value, theta = float(intermediate_result.fun), np.array(intermediate_result.x, dtype=float)
        last_value, last_theta = self.last
        self.last = (value, theta)
        step = float(np.max(np.abs(theta - last_theta)))
        if step > _RIDGE_STEP and (last_value - value) * self.n_customers < _RIDGE_GAIN:
            self.stopped = True
            raise StopIteration


def _starts_agree(runs: list[tuple[Any, bool]], scale: float, n_search: float) -> bool:
    """Whether every run reached the best run's value (``runs`` best first).

    Within ``1e-7`` of ``scale``; a run stopped on a ridge (:class:`_RidgeStop`),
    or compared with a best run stopped there, within ``_RIDGE_AGREEMENT`` in
    total log-likelihood on the search data: such runs end where the ridge
    became too flat to follow, which the stopping rule resolves to about one
    iteration's gain (runs out along two different ridges end further apart).
    """
    best, best_stopped = runs[0]
    for run, stopped in runs:
        gap = abs(run.fun - best.fun)
        if gap <= 1e-7 * scale:
            continue
        if (stopped or best_stopped) and gap * n_search <= _RIDGE_AGREEMENT:
            continue
        return False
    return True


def finite_difference_hessian(
    gradient: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, step: float = _HESSIAN_STEP
) -> np.ndarray:
    """Symmetric Hessian from central differences of a gradient function.

    Parameters
    ----------
    gradient
        Function returning the gradient at a point.
    theta
        Point to differentiate at.
    step
        Difference step.

    Returns
    -------
    numpy.ndarray
        ``k x k`` Hessian.
    """
    k = theta.size
    hessian = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        hessian[i] = (gradient(theta + e) - gradient(theta - e)) / (2 * step)
    return (hessian + hessian.T) / 2


def _is_positive_definite(matrix: np.ndarray) -> bool:
    if not np.all(np.isfinite(matrix)):
        return False
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return False
    return True


def _accepted_by_bfgs(matrix: np.ndarray) -> bool:
    """Whether SciPy's BFGS takes ``matrix`` as ``hess_inv0`` (symmetric, Cholesky: its test)."""
    if not (np.all(np.isfinite(matrix)) and linalg.issymmetric(matrix)):
        return False
    try:
        linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return False
    return True


def _inverse_curvature(curvature: np.ndarray) -> np.ndarray | None:
    """The starting inverse Hessian for BFGS from a curvature, or ``None`` (the identity).

    The symmetrised inverse when the curvature is positive definite. Along a
    flat ridge (an optimum near a limit of the model) the curvature can be so
    nearly singular that its inverse fails SciPy's Cholesky test, which would
    stop the fit with an error: the inverse is then built from the eigenvalues,
    the smallest raised to 1e-12 of the largest.
    """
    if not _is_positive_definite(curvature):
        return None
    inverse = np.linalg.inv(curvature)
    inverse = (inverse + inverse.T) / 2
    if _accepted_by_bfgs(inverse):
        return inverse
    values, vectors = np.linalg.eigh(curvature)
    values = np.maximum(values, 1e-12 * values.max())
    inverse = (vectors / values) @ vectors.T
    inverse = (inverse + inverse.T) / 2
    return inverse if _accepted_by_bfgs(inverse) else None


def maximise_likelihood(
    objective_for: Callable[[RfmData | Any], Objective],
    data: Any,
    starts: Sequence[np.ndarray],
    *,
    search_data: Any | None = None,
    budget: EvaluationBudget | None = None,
    screen_above: float | None = None,
    polish: bool = True,
) -> Optimum:
    """Minimise a mean negative log-likelihood over log-parameters.

    Parameters
    ----------
    objective_for
        Returns, for a data set, a function ``theta -> (mean NLL, gradient)``.
    data
        Full data.
    starts
        Starting points (log-parameters).
    search_data
        Smaller data to run the multi-start search on (default: ``data``).
    budget
        Evaluations this optimisation may spend (shared with the other
        optimisations of the same fit); default unbounded.
    screen_above
        With ``search_data``: when the mean NLL over all rows at the search's
        optimum is above this, stop there (no refinement on all rows) and
        return that point, not converged, with ``extra["screened"]`` true. For
        limits that cannot compete with the interior optimum.
    polish
        Whether to finish with the Newton steps and the Hessian (``2 k``
        evaluations and more over all rows). Without, the point where BFGS
        stopped is returned, not converged, with ``extra["polish"]``: a function
        that finishes it exactly as ``polish=True`` would have (same
        evaluations, same result). For a candidate that a comparison may
        discard, such as an interior optimum a limit of the model beats.
        After a refinement on all rows, ``extra["newton_gain"]`` also estimates
        how much the Newton steps would lower the value (``g' C^-1 g / 2``, ``C``
        the subsample's curvature, floored as for the refinement's start).

    Returns
    -------
    Optimum
        Best point, its value, Hessian and diagnostics.

    Raises
    ------
    FitBudgetExceeded
        When ``budget`` runs out.
    """
    full = _safe(objective_for(data), budget)
    search = full
    if search_data is not None:
        rows, search_rows = _rows(data), _rows(search_data)
        share = 1.0 if not rows or search_rows is None else min(1.0, search_rows / rows)
        search = _safe(objective_for(search_data), budget, share)
    # on a subsample, runs stop on a ridge it cannot resolve (all rows decide there)
    n_search = float(getattr(search_data, "n_customers", 0.0) or 0.0)
    runs: list[tuple[Any, bool]] = []
    for start in starts:
        value, _ = search(np.asarray(start, dtype=float))
        if not np.isfinite(value):
            continue
        ridge = _RidgeStop(n_search, value, start) if n_search > 0 else None
        result = optimize.minimize(
            search,
            np.asarray(start, dtype=float),
            jac=True,
            method="BFGS",
            options={"gtol": _SEARCH_TOLERANCE, "maxiter": 1000},
            callback=ridge,
        )
        if np.isfinite(result.fun):
            runs.append((result, ridge is not None and ridge.stopped))
    if not runs:
        raise ModelError("the likelihood is not finite at any starting point")
    runs.sort(key=lambda r: r[0].fun)
    best = runs[0][0]
    scale = max(1.0, abs(best.fun))
    starts_agree = _starts_agree(runs, scale, n_search)
    theta = best.x
    if search_data is not None and screen_above is not None:
        value, _ = full(theta)
        if not value <= screen_above:
            diagnostics = FitDiagnostics(
                converged=False,
                gradient_max=math.inf,
                hessian_positive_definite=False,
                n_starts=len(starts),
                starts_agree=starts_agree,
                message="screened: far less likely than the bound at the sample's optimum",
            )
            return Optimum(theta, float(value), None, diagnostics, {"screened": True})
    inverse = None
    if search_data is not None:
        # refine on all data, starting from the curvature found on the subsample
        options: dict[str, Any] = {"gtol": _GRADIENT_TOLERANCE / 10, "maxiter": 1000}
        curvature = finite_difference_hessian(lambda th: search(th)[1], theta)
        inverse = _inverse_curvature(curvature)
        if inverse is not None:
            options["hess_inv0"] = inverse
        theta = optimize.minimize(full, theta, jac=True, method="BFGS", options=options).x
    n_starts = len(starts)
    if not polish:
        value, grad = full(theta)
        gradient_max = float(np.max(np.abs(grad))) if np.all(np.isfinite(grad)) else math.inf
        pending = FitDiagnostics(
            converged=False,
            gradient_max=gradient_max,
            hessian_positive_definite=False,
            n_starts=n_starts,
            starts_agree=starts_agree,
            message="not polished: Newton steps and Hessian pending",
        )
        finish = partial(_polish, full, theta, scale, n_starts, starts_agree)
        extra: dict[str, Any] = {"polish": finish}
        if search_data is not None and inverse is not None and np.all(np.isfinite(grad)):
            # what a Newton step would gain, by the subsample's curvature (for a caller
            # deciding whether the polish can change a comparison)
            extra["newton_gain"] = float(0.5 * grad @ inverse @ grad)
        return Optimum(theta, float(value), None, pending, extra)
    return _polish(full, theta, scale, n_starts, starts_agree)


def _polish(
    full: Objective, theta: np.ndarray, scale: float, n_starts: int, starts_agree: bool
) -> Optimum:
    """Newton steps from ``theta`` with the finite-difference Hessian, and the convergence check.

    The last part of :func:`maximise_likelihood`; ``scale`` is ``max(1, |best
    value of the search|)`` (the tolerance of a Newton step's value).
    """
    value, grad = full(theta)
    # Newton polish with the finite-difference Hessian of the gradient, which
    # also gives the standard errors
    hessian = finite_difference_hessian(lambda th: full(th)[1], theta)
    positive = _is_positive_definite(hessian)
    for _ in range(3 if positive else 0):
        step = np.linalg.solve(hessian, grad)
        if not np.all(np.isfinite(step)) or np.max(np.abs(step)) < 1e-12:
            break
        candidate = theta - step
        new_value, new_grad = full(candidate)
        if not new_value <= value + 1e-13 * scale:
            break
        theta, value, grad = candidate, new_value, new_grad
        if np.max(np.abs(step)) < 1e-9:
            break
    gradient_max = float(np.max(np.abs(grad))) if np.all(np.isfinite(grad)) else math.inf
    within = bool(np.all(np.abs(theta) < _MAX_LOG_PARAM - 1))
    converged = bool(np.isfinite(value) and gradient_max < _GRADIENT_TOLERANCE and positive)
    converged = converged and within
    if converged:
        message = "ok"
    elif not within:
        message = "a parameter ran off towards 0 or infinity"
    elif not positive:
        message = "the Hessian is not positive definite (flat or saddle point)"
    else:
        message = f"gradient not zero at the end (max |gradient| {gradient_max:.2g})"
    diagnostics = FitDiagnostics(
        converged=converged,
        gradient_max=gradient_max,
        hessian_positive_definite=positive,
        n_starts=n_starts,
        starts_agree=starts_agree,
        message=message,
    )
    return Optimum(theta, float(value), hessian, diagnostics)
