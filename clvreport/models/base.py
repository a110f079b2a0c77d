"""Shared base of the maximum-likelihood CLV models.

The base owns what every model needs and no model should repeat: checking the
summary columns, compressing customers with identical ``(x, t_x, T)`` into
weighted rows, maximising the likelihood on log-parameters from several
starts, the convergence check, standard errors from the Hessian and
serialisation to and from JSON-friendly dictionaries. A model module owns its
log-likelihood (with gradient) and its predictions.

Fitting strategy
----------------
1. Customers are compressed into distinct rows with weights, so the cost grows
   with the number of distinct histories, not customers.
2. Several starting points are optimised with BFGS and analytic gradients.
   For very large data this search runs on a random weighted subsample
   (``search_customers``) and only the best point is refined on all data.
3. A few Newton steps with the finite-difference Hessian of the analytic
   gradient polish the optimum; the same Hessian gives the standard errors.
4. The fit counts as converged when the gradient is numerically zero and the
   Hessian is positive definite.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import digamma, gammaln

from clvreport.errors import DataError, ModelError
from clvreport.models.units import TimeUnit, check_time_unit

__all__ = [
    "FitDiagnostics",
    "MaximumLikelihoodModel",
    "RfmData",
    "compress_rfm",
    "digamma_rising",
    "distinct_rows",
    "dot",
    "factorize_pairs",
    "json_float",
    "log_rising",
    "validate_summary",
]

ArrayLike = np.ndarray | pd.Series | Sequence[float]
Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]

_GRADIENT_TOLERANCE = 1e-6  # max |d mean-log-likelihood / d log-parameter| at convergence
_SEARCH_TOLERANCE = 1e-5  # the start search stops here; Newton steps polish the best point
_HESSIAN_STEP = 1e-4  # step in log-parameters for the finite-difference Hessian
_MAX_LOG_PARAM = 25.0  # |log parameter| beyond this is treated as a runaway fit


def json_float(value: float | None) -> float | None:
    """Turn NaN/inf into ``None`` so a value survives ``json.dumps`` as valid JSON.

    Parameters
    ----------
    value
        A number or ``None``.

    Returns
    -------
    float or None
        ``float(value)``, or ``None`` when it is missing or not finite.

    Examples
    --------
    >>> json_float(float("nan")) is None
    True
    """
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Dot product of two vectors without BLAS.

    On a busy machine, starting BLAS threads for every one of the many small
    dot products in a likelihood evaluation costs milliseconds each; NumPy's
    own loop costs microseconds.

    Examples
    --------
    >>> dot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    11.0
    """
    return float(np.einsum("i,i->", a, b))


_RISING_ASYMPTOTIC = 1e5  # shape above which the rising-factorial logs use Stirling's series


def log_rising(r: Any, x: Any) -> Any:
    """``log Gamma(r + x) - log Gamma(r)`` without cancellation for large ``r``.

    For ``r`` beyond 1e5 the difference of two ``gammaln`` values (each about
    ``r log r``) loses ``r log r * 1e-16`` to rounding -- too much when ``r``
    runs to 1e8 at a boundary optimum -- so Stirling's series of the difference
    is used there.

    Parameters
    ----------
    r
        Positive shape(s).
    x
        Non-negative increment(s).

    Returns
    -------
    numpy.ndarray or float
        The log rising factorial, broadcast over the inputs.

    Examples
    --------
    >>> # log(1e9 * (1e9 + 1) * (1e9 + 2)), where gammaln(1e9 + 3) - gammaln(1e9) is off by ~1e-6
    >>> round(float(log_rising(1e9, 3.0)), 12)
    62.169797513839
    """
    r = np.asarray(r, dtype=float)
    x = np.asarray(x, dtype=float)
    with np.errstate(all="ignore"):
        big = np.maximum(r, _RISING_ASYMPTOTIC)
        q = big + x
        stirling = (
            x * np.log(big)
            + (q - 0.5) * np.log1p(x / big)
            - x
            - x / (12.0 * big * q)
            + (1.0 / q**3 - 1.0 / big**3) / -360.0
        )
        exact = gammaln(r + x) - gammaln(r)
    return np.where(r >= _RISING_ASYMPTOTIC, stirling, exact)


def digamma_rising(r: Any, x: Any) -> Any:
    """``digamma(r + x) - digamma(r)``, the derivative of :func:`log_rising` in ``r``.

    Parameters
    ----------
    r
        Positive shape(s).
    x
        Non-negative increment(s).

    Returns
    -------
    numpy.ndarray or float
        The difference, broadcast over the inputs.

    Examples
    --------
    >>> round(float(digamma_rising(1.0, 1.0)), 12)
    1.0
    """
    r = np.asarray(r, dtype=float)
    x = np.asarray(x, dtype=float)
    with np.errstate(all="ignore"):
        big = np.maximum(r, _RISING_ASYMPTOTIC)
        q = big + x
        stirling = (
            np.log1p(x / big)
            + x / (2.0 * big * q)
            + x * (2.0 * big + x) / (12.0 * big**2 * q**2)
            + (1.0 / q**4 - 1.0 / big**4) / 120.0
        )
        exact = digamma(r + x) - digamma(r)
    return np.where(r >= _RISING_ASYMPTOTIC, stirling, exact)


# ---------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------


def validate_summary(
    summary: pd.DataFrame, columns: Sequence[str] = ("frequency", "recency", "T")
) -> None:
    """Check that a summary table has the columns a model reads, as finite numbers.

    Parameters
    ----------
    summary
        Customer summary table (one row per customer).
    columns
        Columns that must be present.

    Raises
    ------
    clvreport.errors.DataError
        Naming the missing or non-numeric column and the first bad row.

    Examples
    --------
    >>> validate_summary(pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [3.0]}))
    """
    if not isinstance(summary, pd.DataFrame):
        raise DataError(
            f"expected a summary DataFrame, got {type(summary).__name__}",
            hint="pass the table from clvreport.summary.rfm_summary",
        )
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise DataError(
            f"summary table lacks column(s) {', '.join(missing)}",
            hint=f"the models need {', '.join(columns)}; build the table with rfm_summary",
        )
    for column in columns:
        values = pd.to_numeric(summary[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = summary.index[int(np.argmax(bad))]
            raise DataError(
                f"summary column {column!r} has a missing or non-numeric value at row {row!r}",
                hint="every customer needs a number in each summary column",
            )


def _column(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).reshape(-1)
    if not np.isfinite(array).all():
        row = int(np.argmax(~np.isfinite(array)))
        raise DataError(f"{name} has a missing or infinite value at position {row}")
    return array


def _first_bad(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def check_rfm(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check and convert frequency, recency and T arrays (see :func:`compress_rfm`).

    Parameters
    ----------
    frequency, recency, T
        Repeat purchases, time of the last purchase and age, per customer.

    Returns
    -------
    tuple of numpy.ndarray
        ``(x, t_x, T)`` as float arrays.

    Raises
    ------
    clvreport.errors.DataError
        When a value is impossible, naming the position and the rule.
    """
    x = _column(frequency, "frequency")
    t_x = _column(recency, "recency")
    age = _column(T, "T")
    if not (x.size == t_x.size == age.size):
        raise DataError(
            f"frequency, recency and T differ in length ({x.size}, {t_x.size}, {age.size})"
        )
    checks = [
        ((x < 0) | (x != np.floor(x)), "frequency must be a whole number >= 0"),
        (age < 0, "T (customer age) must be >= 0"),
        (t_x < 0, "recency must be >= 0"),
        (t_x > age * (1 + 1e-9) + 1e-12, "recency (time of last purchase) must be <= T"),
        ((x == 0) & (t_x != 0), "recency must be 0 for customers without repeat purchases"),
    ]
    for bad, rule in checks:
        if bad.any():
            i = _first_bad(bad)
            raise DataError(
                f"impossible customer summary at position {i} "
                f"(frequency={x[i]:g}, recency={t_x[i]:g}, T={age[i]:g}): {rule}",
                hint="check that recency and T are measured in the same time unit from "
                "each customer's first purchase",
            )
    return x, np.minimum(t_x, age), age


# ---------------------------------------------------------------------------
# compressed data
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RfmData:
    """Distinct ``(x, t_x, T)`` rows with the number of customers sharing each.

    Create it with :func:`compress_rfm`. Besides the rows it keeps the distinct
    values of ``x``, ``t_x`` and ``T`` with each row's index into them, so a
    model can evaluate expensive functions once per distinct value or pair.

    Attributes
    ----------
    x, t_x, T, weight
        One entry per distinct row.
    """

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weight: np.ndarray

    @property
    def n_rows(self) -> int:
        """Number of distinct rows."""
        return int(self.x.size)

    @cached_property
    def n_customers(self) -> float:
        """Total weight (number of customers)."""
        return float(self.weight.sum())

    @cached_property
    def x_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, values)``: each row's index into the distinct ``x`` values."""
        codes, values = pd.factorize(self.x, sort=True)
        return codes, np.asarray(values, dtype=float)

    @cached_property
    def t_x_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, values)`` for the distinct recencies."""
        codes, values = pd.factorize(self.t_x)
        return codes, np.asarray(values, dtype=float)

    @cached_property
    def T_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, values)`` for the distinct ages."""
        codes, values = pd.factorize(self.T)
        return codes, np.asarray(values, dtype=float)

    def pair_codes(self, which: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct ``(x, t)`` pairs for ``which`` in ``{"t_x", "T"}``.

        Returns
        -------
        tuple of numpy.ndarray
            ``(codes, x_values, t_values)``: each row's index into the pairs.
        """
        return self._pairs[which]

    @cached_property
    def _pairs(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        out = {}
        for which, (t_code, t_values) in (("t_x", self.t_x_codes), ("T", self.T_codes)):
            key = self.x.astype(np.int64) * np.int64(t_values.size) + t_code
            codes, uniques = pd.factorize(key)
            uniques = np.asarray(uniques, dtype=np.int64)
            out[which] = (
                codes,
                (uniques // t_values.size).astype(float),
                t_values[uniques % t_values.size],
            )
        return out

    def subsample(self, n_customers: float, rng: np.random.Generator) -> RfmData:
        """A random weighted subsample of about ``n_customers`` customers."""
        fraction = min(1.0, n_customers / self.n_customers)
        weight = rng.binomial(np.round(self.weight).astype(np.int64), fraction).astype(float)
        keep = weight > 0
        return RfmData(self.x[keep], self.t_x[keep], self.T[keep], weight[keep])


def compress_rfm(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
) -> RfmData:
    """Check the summary arrays and merge customers with identical ``(x, t_x, T)``.

    Parameters
    ----------
    frequency
        Number of repeat purchases ``x`` (whole numbers >= 0).
    recency
        Time from the first to the last purchase, ``t_x`` (0 when ``x == 0``).
    T
        Time from the first purchase to the end of the period.
    weights
        Number of customers each row stands for (default 1).

    Returns
    -------
    RfmData
        Distinct rows with summed weights.

    Raises
    ------
    clvreport.errors.DataError
        For impossible values (negative, recency > T, ...), naming the row.

    Examples
    --------
    >>> data = compress_rfm([0, 0, 2], [0.0, 0.0, 3.0], [5.0, 5.0, 5.0])
    >>> data.n_rows, data.n_customers
    (2, 3.0)
    """
    x, t_x, age = check_rfm(frequency, recency, T)
    if weights is None:
        w = None
    else:
        w = _column(weights, "weights")
        if w.size != x.size or (w < 0).any():
            raise DataError("weights must be one non-negative number per customer")
    t_code, t_values = pd.factorize(t_x)
    T_code, T_values = pd.factorize(age)
    span = np.int64(t_values.size) * np.int64(T_values.size)
    if (x.max(initial=0) + 1) * float(span) < 2**62:
        key = (x.astype(np.int64) * span + t_code.astype(np.int64) * T_values.size) + T_code
        codes, uniques = pd.factorize(key)
        uniques = np.asarray(uniques, dtype=np.int64)
        ux = (uniques // span).astype(float)
        rest = uniques % span
        ut = np.asarray(t_values, dtype=float)[rest // T_values.size]
        uT = np.asarray(T_values, dtype=float)[rest % T_values.size]
    else:  # pragma: no cover - astronomically many distinct values
        frame = pd.DataFrame({"x": x, "t": t_x, "T": age})
        codes, uniques_frame = pd.MultiIndex.from_frame(frame).factorize()
        ux, ut, uT = (np.asarray(uniques_frame.get_level_values(i), float) for i in range(3))
    counts = np.bincount(codes, weights=w, minlength=ux.size).astype(float)
    keep = counts > 0
    return RfmData(ux[keep], ut[keep], uT[keep], counts[keep])


def distinct_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of several equal-length columns, to compute once per distinct history.

    Returns
    -------
    tuple of numpy.ndarray
        ``(codes, first)``: each row's distinct-row index, and for each distinct
        row the index of its first occurrence (so ``column[first][codes] == column``).

    Examples
    --------
    >>> codes, first = distinct_rows(np.array([1, 1, 2, 1]), np.array([5, 5, 5, 6]))
    >>> codes.tolist(), first.tolist()
    ([0, 0, 1, 2], [0, 2, 3])
    """
    codes = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        column_codes, uniques = pd.factorize(column)
        codes, _ = pd.factorize(codes * np.int64(max(len(uniques), 1)) + column_codes)
        codes = codes.astype(np.int64)
    n_unique = int(codes.max()) + 1 if codes.size else 0
    first = np.full(n_unique, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(codes.size - 1, -1, -1)
    return codes, first


def factorize_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``(a, b)`` pairs of two equal-length arrays.

    Parameters
    ----------
    a, b
        1-D arrays.

    Returns
    -------
    tuple of numpy.ndarray
        ``(codes, a_values, b_values)`` with ``a == a_values[codes]`` and
        ``b == b_values[codes]``.

    Examples
    --------
    >>> codes, a, b = factorize_pairs(np.array([1.0, 1.0, 2.0]), np.array([3.0, 3.0, 3.0]))
    >>> codes.tolist(), a.tolist(), b.tolist()
    ([0, 0, 1], [1.0, 2.0], [3.0, 3.0])
    """
    a_code, a_values = pd.factorize(np.asarray(a, dtype=float))
    b_code, b_values = pd.factorize(np.asarray(b, dtype=float))
    key = a_code.astype(np.int64) * np.int64(max(len(b_values), 1)) + b_code
    codes, uniques = pd.factorize(key)
    uniques = np.asarray(uniques, dtype=np.int64)
    n_b = max(len(b_values), 1)
    return (
        codes,
        np.asarray(a_values, dtype=float)[uniques // n_b],
        np.asarray(b_values, dtype=float)[uniques % n_b],
    )


# ---------------------------------------------------------------------------
# optimisation
# ---------------------------------------------------------------------------


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
        Whether all successful starts reached the same log-likelihood.
    message
        Short explanation when something is off, else ``"ok"``.
    """

    converged: bool
    gradient_max: float
    hessian_positive_definite: bool
    n_starts: int
    starts_agree: bool
    message: str = "ok"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary."""
        out = asdict(self)
        out["gradient_max"] = json_float(self.gradient_max)
        return out


@dataclass
class _Optimum:
    log_params: np.ndarray
    neg_ll_mean: float
    hessian: np.ndarray | None
    diagnostics: FitDiagnostics
    extra: dict[str, Any] = field(default_factory=dict)


BOUNDARY_LOG = 20.0  # |log parameter| at which a limiting model's pinned parameters sit


@dataclass(frozen=True)
class _Face:
    """A limiting sub-model: ``theta = offset + jacobian @ phi`` with ``phi`` free."""

    limits: tuple[str, ...]
    offset: np.ndarray
    jacobian: np.ndarray
    start: np.ndarray


def _safe(objective: Objective) -> Objective:
    def wrapped(theta: np.ndarray) -> tuple[float, np.ndarray]:
        if not np.all(np.abs(theta) < _MAX_LOG_PARAM):
            return np.inf, np.zeros_like(theta)
        with np.errstate(all="ignore"):
            value, grad = objective(theta)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return np.inf, np.zeros_like(theta)
        return float(value), grad

    return wrapped


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


def maximise_likelihood(
    objective_for: Callable[[RfmData | Any], Objective],
    data: Any,
    starts: Sequence[np.ndarray],
    *,
    search_data: Any | None = None,
) -> _Optimum:
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

    Returns
    -------
    _Optimum
        Best point, its value, Hessian and diagnostics.
    """
    full = _safe(objective_for(data))
    search = full if search_data is None else _safe(objective_for(search_data))
    runs = []
    for start in starts:
        value, _ = search(np.asarray(start, dtype=float))
        if not np.isfinite(value):
            continue
        result = optimize.minimize(
            search,
            np.asarray(start, dtype=float),
            jac=True,
            method="BFGS",
            options={"gtol": _SEARCH_TOLERANCE, "maxiter": 1000},
        )
        if np.isfinite(result.fun):
            runs.append(result)
    if not runs:
        raise ModelError("the likelihood is not finite at any starting point")
    runs.sort(key=lambda r: r.fun)
    best = runs[0]
    scale = max(1.0, abs(best.fun))
    starts_agree = all(abs(r.fun - best.fun) <= 1e-7 * scale for r in runs)
    theta = best.x
    if search_data is not None:
        # refine on all data, starting from the curvature found on the subsample
        options: dict[str, Any] = {"gtol": _GRADIENT_TOLERANCE / 10, "maxiter": 1000}
        curvature = finite_difference_hessian(lambda th: search(th)[1], theta)
        if _is_positive_definite(curvature):
            inverse = np.linalg.inv(curvature)
            options["hess_inv0"] = (inverse + inverse.T) / 2
        theta = optimize.minimize(full, theta, jac=True, method="BFGS", options=options).x
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
        n_starts=len(starts),
        starts_agree=starts_agree,
        message=message,
    )
    return _Optimum(theta, float(value), hessian, diagnostics)


# ---------------------------------------------------------------------------
# model base class
# ---------------------------------------------------------------------------


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
        fit counts as converged. ``None`` for an interior optimum.
    """

    name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    search_customers: ClassVar[int] = 20_000
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
        optimum = maximise_likelihood(
            self._objective, data, starts, search_data=self._subsample(data, rng)
        )
        jacobian = np.eye(optimum.log_params.size)
        self.boundary_ = None
        if not optimum.diagnostics.converged:
            found = self._boundary_optimum(data, optimum)
            if found is not None:
                optimum, jacobian, self.boundary_ = found
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

    def _boundary_faces(self, theta: np.ndarray) -> list[_Face]:
        """Limiting sub-models worth trying when the fit ran towards ``theta`` (none by default)."""
        return []

    def _boundary_optimum(
        self, data: Any, optimum: _Optimum
    ) -> tuple[_Optimum, np.ndarray, tuple[str, ...]] | None:
        """The best converged limiting sub-model at least as likely as ``optimum``, if any.

        A likelihood that keeps rising towards the edge of the parameter space
        (e.g. ``r, alpha -> inf`` with ``r / alpha`` fixed when every customer
        buys at the same rate) has its supremum in a limiting model with fewer
        parameters. Each face pins some log-parameters at +-:data:`BOUNDARY_LOG`
        (far enough that the model equals its limit to rounding) and fits the rest.
        """
        faces = self._boundary_faces(optimum.log_params)
        if not faces:
            return None
        scale = max(1.0, abs(optimum.neg_ll_mean))
        tolerance = 1e-6 * scale + 1e-5 / max(data.n_customers, 1.0)
        found: list[tuple[float, int, _Optimum, np.ndarray, tuple[str, ...]]] = []
        for face in faces:

            def reduced(d: Any, face: _Face = face) -> Objective:
                full = self._objective(d)

                def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
                    value, grad = full(face.offset + face.jacobian @ phi)
                    return value, face.jacobian.T @ grad

                return objective

            try:
                sub = maximise_likelihood(reduced, data, [face.start])
            except (ModelError, ValueError, ArithmeticError, np.linalg.LinAlgError):
                continue
            if sub.diagnostics.converged and sub.neg_ll_mean <= optimum.neg_ll_mean + tolerance:
                found.append((sub.neg_ll_mean, face.jacobian.shape[1], sub, face, face.limits))
        if not found:
            return None
        best_value = min(f[0] for f in found)
        # among (nearly) equally likely limits, the simplest
        value, _, sub, face, limits = min(
            (f for f in found if f[0] <= best_value + tolerance), key=lambda f: (f[1], f[0])
        )
        theta = face.offset + face.jacobian @ sub.log_params
        hessian = sub.hessian
        diagnostics = FitDiagnostics(
            converged=True,
            gradient_max=sub.diagnostics.gradient_max,
            hessian_positive_definite=sub.diagnostics.hessian_positive_definite,
            n_starts=optimum.diagnostics.n_starts,
            starts_agree=optimum.diagnostics.starts_agree,
            message=f"boundary optimum: limiting model with {', '.join(limits)}",
        )
        return _Optimum(theta, value, hessian, diagnostics), face.jacobian, limits

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

    def _boundary_faces(self, theta: np.ndarray) -> list[_Face]:
        # theta = log of (rate shape, rate scale, dropout pair); a face per combination
        # of limits the unconverged fit was heading for
        rate = ["free"] + (["homogeneous"] if min(theta[0], theta[1]) > 2.0 else [])
        dropout = ["free"]
        if min(theta[2], theta[3]) > 2.0:
            dropout.append("homogeneous")
        if theta[2] < -4.0 or theta[3] - theta[2] > 8.0:
            dropout.append("none")
        unit = np.eye(4)
        faces = []
        for rate_mode in rate:
            for dropout_mode in dropout:
                if rate_mode == dropout_mode == "free":
                    continue
                offset = np.zeros(4)
                columns: list[np.ndarray] = []
                start: list[float] = []
                limits: list[str] = []
                if rate_mode == "free":
                    columns += [unit[0], unit[1]]
                    start += [theta[0], theta[1]]
                else:  # r = (r / alpha) * e^M, alpha = e^M
                    offset[:2] = BOUNDARY_LOG
                    columns.append(unit[0])
                    start.append(theta[0] - theta[1])
                    limits.append("no_rate_heterogeneity")
                if dropout_mode == "free":
                    columns += [unit[2], unit[3]]
                    start += [theta[2], theta[3]]
                elif dropout_mode == "homogeneous":
                    offset[2:] = BOUNDARY_LOG
                    columns.append(unit[2])
                    start.append(theta[2] - theta[3])
                    limits.append("no_dropout_heterogeneity")
                else:  # a (or s) = e^-M: nobody drops out
                    offset[2] = -BOUNDARY_LOG
                    limits.append("no_dropout")
                faces.append(
                    _Face(
                        tuple(limits),
                        offset,
                        np.column_stack(columns),
                        np.clip(np.array(start), -15.0, 15.0),
                    )
                )
        return faces

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
        rate = max(float(data.weight @ data.x) / max(float(data.weight @ data.T), 1e-12), 1e-6)
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
