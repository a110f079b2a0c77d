r"""Predictive distributions of future purchases and intervals at their nominal coverage.

The expected number of purchases says nothing about how many a customer will
actually make; a manager deciding on a range needs the distribution of the
count itself. This module gives

* :func:`purchase_pmf`: the conditional probability mass
  :math:`P(X(T, T+t) = k \mid x, t_x, T)` of the number of purchases in the
  next ``t`` time units for BG/NBD, MBG/NBD and Pareto/NBD, vectorised over
  customers (and parameter draws);
* :func:`predictive_interval`: per-customer predictive intervals that include
  the purchase process *and* parameter uncertainty (the pmf mixed over
  parameter draws from :mod:`clvreport.models.uncertainty`), together with
  each draw's predictive mean and variance, from which intervals of sums
  (segments, totals) follow with :func:`normal_mixture_interval`.

Closed forms
------------
Every model factorises as :math:`P(X = k) = (1 - p_{alive})\,[k = 0] + p_{alive}
\, P(X = k \mid \text{alive at } T)`, and given alive at ``T`` the posterior of
the purchase rate is :math:`\lambda \sim \Gamma(r + x, \alpha + T)`.

*BG/NBD and MBG/NBD* (Fader, Hardie and Lee 2005, eq. 8 applied to the
posterior). A customer alive at ``T`` drops out after each future purchase with
probability ``p``; given alive, :math:`p \sim Beta(a, B)` with ``B = b + x`` for
BG/NBD (``x`` purchases survived) and ``B = b + x + 1`` for MBG/NBD, where the
first purchase is a dropout opportunity too (as in
:mod:`clvreport.models.mbgnbd`). With :math:`NB_k` the negative binomial mass
of ``k`` purchases of an immortal customer and :math:`G_k = E[(1-p)^k] =
\prod_{j<k} (B+j)/(a+B+j)`,

.. math::

    P(X = k \mid \text{alive}) = G_k\, NB_k
      + [k \ge 1]\, G_{k-1} \frac{a}{a + B + k - 1}\, P(NB \ge k).

*Pareto/NBD* (Fader and Hardie 2006, "Deriving the conditional PMF of the
Pareto/NBD model"). Given alive, the death rate is :math:`\mu \sim \Gamma(s,
\beta + T)`, so the remaining lifetime ``tau`` is Lomax with survival
:math:`S(\tau) = (1 + \tau / (\beta + T))^{-s}`, and

.. math::

    P(X = k \mid \text{alive}) = S(t)\, NB_k(t) + \int_0^t NB_k(\tau)\, dF(\tau).

The integral is evaluated by Gauss-Legendre quadrature in the death
probability ``u = F(tau)`` (24 nodes, about 1e-9 absolute; 12 for the
intervals, about 1e-6): the weights sum to :math:`F(t)` exactly,
so the pmf sums to one and its mean equals the closed-form expectation to
rounding, and the integrand is smooth in ``u``. (Fader and Hardie write the
integral with Gauss hypergeometric functions, one per ``k``; the quadrature is
cheaper vectorised and cannot overflow.)

Everything is computed in logs with cumulative sums of log-ratios instead of
``gammaln`` differences, which stays exact for the very large ``a, b, alpha,
beta`` of boundary optima. The pmf is truncated at the first ``k`` where the
upper tail of the immortal customer's NBD (an upper bound for every model) is
below ``1e-12`` (``1e-6`` for the intervals, whose quantiles and moments do not
need more).

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your
   Customers" the Easy Way: An Alternative to the Pareto/NBD Model.
   Marketing Science 24(2), 275-284.
.. [2] Fader, P. S. and Hardie, B. G. S. (2006). Deriving the Conditional PMF
   of the Pareto/NBD Model. http://www.brucehardie.com/notes/013/
.. [3] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2007). Deriving the
   Conditional PMF of the BG/NBD Model. http://www.brucehardie.com/notes/023/
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, xlogy

from clvreport.errors import ModelError
from clvreport.models.base import Params, TransactionModel
from clvreport.models.compression import distinct_rows

__all__ = [
    "COUNT_CEILING",
    "HOLDOUT_SCORE_COLUMNS",
    "INTERVAL",
    "IntervalCheck",
    "PredictiveResult",
    "conditional_purchase_pmf",
    "holdout_intervals",
    "interval_check",
    "normal_mixture_interval",
    "predictive_interval",
    "purchase_cap",
    "purchase_moments",
    "purchase_pmf",
    "purchase_pmf_if_alive",
]

TAIL = 1e-6  # truncation for intervals: tail mass of the bounding NBD beyond the last k
TAIL_EXACT = 1e-12  # truncation of the public pmf functions
NODES = 24  # Gauss-Legendre nodes of the Pareto/NBD pmf (about 1e-9 absolute)
NODES_INTERVALS = 12  # enough for quantiles and moments (about 1e-6 absolute)
MIXTURE_DRAWS = 50  # parameter draws mixed into the predictive intervals
INTERVAL = 0.9
"""Coverage of every interval the reports show (the 5th to 95th percentile)."""
COUNT_CEILING = 10_000
"""Most purchases one customer is computed to make in one window. Only a parameter
draw far outside any data (a boundary fit's tail) reaches it; its distribution is cut
there instead of asking for gigabytes (the interval's upper end then reads 'at least')."""
_MAX_ELEMENTS = 2**21  # elements of one (draws, pairs, k) block; bounds memory
_HOLDOUT_BLOCK = 50_000  # distinct histories per block of holdout_intervals; bounds memory


def _kind(model: type[TransactionModel] | TransactionModel) -> str:
    name = getattr(model, "name", None)
    if name not in ("bgnbd", "mbgnbd", "pnbd"):
        raise ModelError(f"no predictive distribution for model {name!r}")
    return str(name)


def _cumsum0(steps: np.ndarray) -> np.ndarray:
    """Cumulative sums along the last axis with a leading 0."""
    return np.concatenate([np.zeros((*steps.shape[:-1], 1)), np.cumsum(steps, axis=-1)], axis=-1)


def _per_x(x: np.ndarray, values: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``values(x)`` computed once per distinct ``x`` of a 1-D array (last-but-one axis)."""
    if x.ndim != 1 or x.size < 2:
        return values(x)
    unique, inverse = np.unique(x, return_inverse=True)
    if unique.size == x.size:
        return values(x)
    return values(unique)[..., inverse, :]


def _log_nbd_coefficient(r: np.ndarray, x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``log C(R + k - 1, k)`` with ``R = r + x``, as sums of ``log((R + j) / (j + 1))``."""
    j = k[:-1].astype(float)

    def values(xs: np.ndarray) -> np.ndarray:
        R = (r + xs)[..., None]
        return _cumsum0(np.log(R + j) - np.log1p(j))

    return _per_x(x, values)


def _nbd_log_pmf(R: Any, A: Any, t: Any, k: np.ndarray, log_c: np.ndarray) -> np.ndarray:
    """Log NBD mass of ``k`` purchases in ``t`` for rates ``Gamma(R, A)`` (``k`` last axis)."""
    R = np.asarray(R, dtype=float)[..., None]
    A = np.asarray(A, dtype=float)[..., None]
    t = np.asarray(t, dtype=float)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_c - R * np.log1p(t / A) + xlogy(k, t / (A + t))


def _beta_geometric_alive_pmf(params: Params, t, x, T, k: np.ndarray, modified: bool) -> np.ndarray:
    r, alpha, a, b = (np.asarray(p, dtype=float) for p in params)
    R, A = r + x, alpha + T
    shift = 1.0 if modified else 0.0
    nb = np.exp(_nbd_log_pmf(R, A, t, k, _log_nbd_coefficient(r, x, k)))
    survive = np.clip(1.0 - np.cumsum(nb, axis=-1), 0.0, 1.0)  # P(NB > k)
    j = k[:-1].astype(float)

    def dropout(xs: np.ndarray) -> np.ndarray:
        # G_k = E[(1 - p)^k] = prod_{j<k} (1 - a / (a + B + j)) and the hazard a / (a + B + k - 1)
        a_, B_ = a[..., None], (b + xs + shift)[..., None]
        hazard = a_ / (a_ + B_ + j)
        g = np.exp(_cumsum0(np.log1p(-hazard)))
        return np.concatenate([g, hazard], axis=-1)

    both = _per_x(x, dropout)
    g, hazard = both[..., : k.size], both[..., k.size :]
    out = g * nb
    # dropping out at the k-th purchase: G_{k-1} * hazard_{k-1} * P(NB >= k)
    out[..., 1:] += g[..., :-1] * hazard * survive[..., :-1]
    return out


def _pareto_alive_pmf(params: Params, t, x, T, k: np.ndarray, nodes: int) -> np.ndarray:
    r, alpha, s, beta = (np.asarray(p, dtype=float) for p in params)
    R, A, Bp = r + x, alpha + T, beta + T
    t = np.asarray(t, dtype=float)
    log_c = _log_nbd_coefficient(r, x, k)
    log_survive = -s * np.log1p(t / Bp)  # log S(t), remaining lifetime beyond t
    dead = -np.expm1(log_survive)  # F(t)
    # nodes in u = F(tau) on [0, F(t)]: tau = Bp * ((1 - u)^(-1/s) - 1)
    points, weights = np.polynomial.legendre.leggauss(nodes)
    u = dead[..., None] * (points + 1.0) / 2.0
    w = dead[..., None] * weights / 2.0
    tau = Bp[..., None] * np.expm1(-np.log1p(-u) / s[..., None])
    # NB_k(tau) at every node: (..., nodes, k); C_k kept in the exponent (it can overflow)
    log_nb_nodes = _nbd_log_pmf(R[..., None], A[..., None], tau, k, log_c[..., None, :])
    integral = np.einsum("...n,...nk->...k", w, np.exp(log_nb_nodes))
    return np.exp(log_survive)[..., None] * np.exp(_nbd_log_pmf(R, A, t, k, log_c)) + integral


def purchase_pmf_if_alive(
    model: type[TransactionModel] | TransactionModel,
    params: Params,
    t: Any,
    x: Any,
    T: Any,
    n_max: int,
    *,
    nodes: int = NODES,
) -> np.ndarray:
    """``P(X(T, T + t) = k | alive at T, x, T)`` for ``k = 0..n_max``.

    Parameters
    ----------
    model
        Transaction model (class or instance; only its ``name`` is used).
    params
        Parameter tuple: scalars, or ``(n_draws, 1)`` arrays to evaluate many
        draws at once.
    t, x, T
        Horizon, repeat purchases and age (broadcastable arrays, e.g. one per
        distinct ``(x, T, t)``).
    n_max
        Largest count.
    nodes
        Gauss-Legendre nodes over the time of death (Pareto/NBD only).

    Returns
    -------
    numpy.ndarray
        Shape ``broadcast(params, t, x, T) + (n_max + 1,)``.

    Examples
    --------
    >>> from clvreport.models.bgnbd import BetaGeoModel
    >>> pmf = purchase_pmf_if_alive(BetaGeoModel, (0.243, 4.414, 0.793, 2.426), 39.0, 2.0,
    ...                             38.86, 60)
    >>> round(float(pmf.sum()), 8)
    1.0
    """
    kind = _kind(model)
    k = np.arange(int(n_max) + 1)
    x = np.asarray(x, dtype=float)
    T = np.asarray(T, dtype=float)
    t = np.asarray(t, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        if kind == "pnbd":
            return _pareto_alive_pmf(params, t, x, T, k, nodes)
        return _beta_geometric_alive_pmf(params, t, x, T, k, modified=kind == "mbgnbd")


def purchase_cap(params: Params, t: Any, x: Any, T: Any, tail: float = TAIL) -> np.ndarray:
    """Largest count worth computing: the ``1 - tail`` quantile of the bounding NBD.

    A customer alive at ``T`` who never dropped out would buy a negative
    binomial number of times; every model's count is stochastically smaller.
    The bound uses the largest ``r`` and smallest ``alpha`` among the draws.

    Parameters
    ----------
    params
        Parameter tuple (scalars or ``(n_draws, 1)`` arrays); ``r, alpha`` first.
    t, x, T
        Horizon, repeat purchases and age per distinct pair.
    tail
        Upper tail mass left out.

    Returns
    -------
    numpy.ndarray
        Whole numbers, one per pair, at most :data:`COUNT_CEILING`.
    """
    r_values, alpha_values = np.asarray(params[0], float), np.asarray(params[1], float)
    finite = np.isfinite(r_values) & np.isfinite(alpha_values) & (alpha_values > 0)
    if not finite.any():
        return np.zeros(np.broadcast(x, T, t).shape, dtype=np.int64)
    r = float(np.max(r_values[finite]))
    alpha = float(np.min(alpha_values[finite]))
    x, T, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, T, t)))
    p0 = (alpha + T) / (alpha + T + t)
    # a bound whose mean passes the ceiling is the ceiling (scipy's quantile search
    # would step through every count up to it)
    beyond = (r + x) * t / (alpha + T) >= COUNT_CEILING
    cap = np.full(x.shape, float(COUNT_CEILING))
    search = ~beyond & (t > 0)
    from scipy import stats  # here: scipy.stats costs ~1 s of start-up to import

    with np.errstate(invalid="ignore"):
        cap[search] = stats.nbinom.isf(tail, (r + x)[search], p0[search])
    cap = np.where(t > 0, cap, 0.0)
    cap = np.minimum(np.nan_to_num(cap, nan=0.0, posinf=COUNT_CEILING), COUNT_CEILING)
    return cap.astype(np.int64)


def purchase_pmf(
    model: type[TransactionModel] | TransactionModel,
    params: Params,
    t: Any,
    x: Any,
    t_x: Any,
    T: Any,
    n_max: int | None = None,
) -> np.ndarray:
    """Conditional pmf ``P(X(T, T + t) = k | x, t_x, T)`` for ``k = 0..n_max``.

    Parameters
    ----------
    model
        Transaction model class or instance (its formulas are used).
    params
        Parameter tuple: scalars or ``(n_draws, 1)`` arrays.
    t, x, t_x, T
        Horizon and customer histories (1-D arrays or scalars).
    n_max
        Largest count; by default where the bounding tail is below ``1e-12``.

    Returns
    -------
    numpy.ndarray
        Shape ``(..., n, n_max + 1)``; the mass above ``n_max`` is left out.

    Examples
    --------
    >>> from clvreport.models.paretonbd import ParetoNBDModel
    >>> params = (0.553, 10.58, 0.606, 11.67)
    >>> pmf = purchase_pmf(ParetoNBDModel, params, 39.0, [0.0, 4.0], [0.0, 30.0], [38.0, 38.0])
    >>> pmf.shape[0], bool(np.allclose(pmf.sum(axis=-1), 1.0, atol=1e-6))
    (2, True)
    """
    x, t_x, T, t = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (x, t_x, T, t))
    x, t_x, T, t = np.broadcast_arrays(x, t_x, T, t)
    if n_max is None:
        n_max = int(purchase_cap(params, t, x, T, TAIL_EXACT).max(initial=0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p_alive = model._probability_alive_many(params, x, t_x, T)
    pmf = p_alive[..., None] * purchase_pmf_if_alive(model, params, t, x, T, n_max)
    pmf[..., 0] += 1.0 - p_alive
    return pmf


def conditional_purchase_pmf(
    model: TransactionModel, t: Any, frequency: Any, recency: Any, T: Any, n_max: int | None = None
) -> np.ndarray:
    """``P(X(T, T + t) = k | history)`` under a fitted model's parameters.

    Parameters
    ----------
    model
        A fitted transaction model.
    t
        Horizon in the model's time unit.
    frequency, recency, T
        Customer histories.
    n_max
        Largest count (default: tail below ``1e-12``).

    Returns
    -------
    numpy.ndarray
        ``(n_customers, n_max + 1)``; ``pmf @ arange(n_max + 1)`` equals
        ``model.expected_purchases(t, ...)`` (to about ``1e-9``).

    Examples
    --------
    >>> from clvreport.models.bgnbd import BetaGeoModel
    >>> bg = BetaGeoModel.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> pmf = conditional_purchase_pmf(bg, 39.0, [2], [30.43], [38.86])
    >>> mean = pmf @ np.arange(pmf.shape[1])
    >>> bool(abs(mean[0] - bg.expected_purchases(39.0, 2, 30.43, 38.86)) < 1e-6)
    True
    """
    x, t_x, age = model._history(np.atleast_1d(frequency), np.atleast_1d(recency), np.atleast_1d(T))
    return purchase_pmf(model, model._params(), t, x, t_x, age, n_max)


# ---------------------------------------------------------------------------
# predictive intervals mixed over parameter draws
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PredictiveResult:
    """Predictive intervals of customers' purchase counts, and the counts' moments.

    Attributes
    ----------
    low, high
        Per customer: the ``(1 - interval) / 2`` and ``(1 + interval) / 2``
        quantiles of the purchase count mixed over the parameter draws.
    mean, variance
        Per customer: the count's mean and (process) variance under the point
        estimate, or ``None`` when no point estimate was given.
    below, above
        Per customer: the chance, under the same mixture, that the count falls
        below ``low`` or above ``high``. Each is at most ``(1 - interval) /
        2`` and usually less, because a count moves in whole purchases; below
        is 0 when ``low`` is 0 (the customer has at least that chance of not
        buying at all). Summed over customers they are the misses the model
        expects on each side.
    """

    low: np.ndarray
    high: np.ndarray
    mean: np.ndarray | None = None
    variance: np.ndarray | None = None
    below: np.ndarray | None = None
    above: np.ndarray | None = None


class _Pairs:
    """Distinct ``(x, T, t)`` of a set of customers, processed in blocks of bounded size."""

    def __init__(self, x: np.ndarray, T: np.ndarray, t: np.ndarray) -> None:
        self.codes, first = distinct_rows(x, T, t)
        self.x, self.T, self.t = x[first], T[first], t[first]
        self.by_pair = np.argsort(self.codes, kind="stable")
        self.starts = np.searchsorted(self.codes[self.by_pair], np.arange(first.size + 1))

    def blocks(self, cap: np.ndarray, budget: int) -> Iterator[tuple[np.ndarray, int]]:
        """Runs of pairs, by cap, with ``pairs * (largest cap + 1) <= budget``."""
        order = np.argsort(cap, kind="stable")
        width = cap[order] + 1.0
        start = 0
        while start < order.size:
            size = np.arange(1, order.size - start + 1) * width[start:]
            stop = start + max(1, int(np.searchsorted(size, budget, side="right")))
            pairs = order[start:stop]
            yield pairs, int(cap[pairs[-1]])
            start = stop

    def members(self, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The customers of ``pairs`` and each one's index into ``pairs``."""
        lengths = self.starts[pairs + 1] - self.starts[pairs]
        offsets = np.repeat(self.starts[pairs] - (np.cumsum(lengths) - lengths), lengths)
        members = self.by_pair[offsets + np.arange(int(lengths.sum()))]
        return members, np.repeat(np.arange(pairs.size), lengths)


def _budget(model: type[TransactionModel] | TransactionModel, n_draws: int) -> int:
    nodes = NODES_INTERVALS if _kind(model) == "pnbd" else 1
    return max(1, _MAX_ELEMENTS // (n_draws * nodes))


def purchase_moments(
    model: type[TransactionModel] | TransactionModel,
    params: Params,
    t: Any,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    *,
    p_alive: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of each customer's purchases in ``(T, T + t]`` under one parameter set.

    Parameters
    ----------
    model
        Transaction model class or instance.
    params
        Scalar parameter tuple.
    t, x, t_x, T
        Horizon and customer histories (1-D arrays; ``t`` may be a scalar).
    p_alive
        ``P(alive)`` per customer, when already computed.

    Returns
    -------
    tuple of numpy.ndarray
        ``(mean, variance)`` from the pmf (truncated where the tail is below
        ``1e-6``).

    Examples
    --------
    >>> from clvreport.models.bgnbd import BetaGeoModel
    >>> mean, var = purchase_moments(BetaGeoModel, (0.243, 4.414, 0.793, 2.426), 39.0,
    ...                              np.array([2.0]), np.array([30.43]), np.array([38.86]))
    >>> bool(var[0] > mean[0] > 0)
    True
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    t_x = np.asarray(t_x, dtype=float).reshape(-1)
    T = np.asarray(T, dtype=float).reshape(-1)
    t = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
    if p_alive is None:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            p_alive = model._probability_alive_many(params, x, t_x, T)
    p_alive = np.broadcast_to(np.asarray(p_alive, dtype=float), x.shape)
    pairs_of = _Pairs(x, T, t)
    mean = np.full(x.size, np.nan)
    second = np.full(x.size, np.nan)
    cap = purchase_cap(params, pairs_of.t, pairs_of.x, pairs_of.T)
    for pairs, k_max in pairs_of.blocks(cap, _budget(model, 1)):
        pmf = purchase_pmf_if_alive(
            model,
            params,
            pairs_of.t[pairs],
            pairs_of.x[pairs],
            pairs_of.T[pairs],
            k_max,
            nodes=NODES_INTERVALS,
        )
        k = np.arange(k_max + 1, dtype=float)
        members, local = pairs_of.members(pairs)
        mean[members] = (pmf @ k)[local]
        second[members] = (pmf @ (k * k))[local]
    mean = p_alive * mean
    return mean, np.maximum(p_alive * second - mean**2, 0.0)


def predictive_interval(
    model: type[TransactionModel] | TransactionModel,
    params: Params,
    t: Any,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    *,
    interval: float = INTERVAL,
    p_alive: np.ndarray | None = None,
    point: Params | None = None,
    mixture_draws: int | None = MIXTURE_DRAWS,
) -> PredictiveResult:
    """Predictive interval of each customer's purchases in ``(T, T + t]``, mixed over draws.

    The count's distribution given the parameters (:func:`purchase_pmf`) is
    averaged over the parameter draws, which adds the parameter uncertainty to
    the purchase process; the interval is the pair of quantiles of that
    mixture. For a count, ``low`` is the smallest ``k`` with ``P(X <= k) >=
    (1 - interval) / 2`` and ``high`` the smallest with ``P(X <= k) >= (1 +
    interval) / 2``, so ``P(low <= X <= high) >= interval`` under the model.

    The distribution given alive is computed once per distinct ``(x, T, t)``
    and draw, and only up to the upper quantile of the bounding NBD (beyond
    it the mixture's CDF has passed the upper level for sure); the mixture is
    taken per customer. Both run in blocks of bounded size.

    Parameters
    ----------
    model
        Transaction model class or instance.
    params
        Parameter draws as a tuple of ``(n_draws, 1)`` arrays
        (:func:`~clvreport.models.uncertainty.as_param_tuple`), or scalars for
        the point estimate only.
    t
        Horizon (scalar or one per customer).
    x, t_x, T
        Customer histories (1-D arrays).
    interval
        Nominal coverage (0.9: 5th to 95th percentile).
    p_alive
        ``P(alive)`` under each draw, ``(n_draws, n)``, when already computed.
    point
        Point-estimate parameters: when given, the result also holds each
        count's mean and variance under them (:func:`purchase_moments`).
    mixture_draws
        Use only the first this many draws (``None``: all). The draws are
        independent, so these are a random subset; 50 represent the
        parameter uncertainty of a quantile well (it is small next to the
        purchase process for one customer) at a quarter of the cost of 200.

    Returns
    -------
    PredictiveResult
        Intervals (and moments).

    Examples
    --------
    >>> from clvreport.models.bgnbd import BetaGeoModel
    >>> draws = (np.array([[0.24], [0.25]]), np.array([[4.4], [4.5]]),
    ...          np.array([[0.79], [0.8]]), np.array([[2.4], [2.5]]))
    >>> result = predictive_interval(BetaGeoModel, draws, 39.0, np.array([0.0, 5.0]),
    ...                              np.array([0.0, 35.0]), np.array([38.0, 38.0]))
    >>> result.low.tolist(), result.high.tolist()
    ([0.0, 0.0], [1.0, 9.0])
    """
    if not 0 < interval < 1:
        raise ValueError(f"interval must be between 0 and 1, not {interval}")
    x = np.asarray(x, dtype=float).reshape(-1)
    t_x = np.asarray(t_x, dtype=float).reshape(-1)
    T = np.asarray(T, dtype=float).reshape(-1)
    t = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
    params = tuple(np.asarray(p, dtype=float).reshape(-1, 1) for p in params)
    n_draws = params[0].shape[0]
    if p_alive is not None:
        p_alive = np.broadcast_to(p_alive, (n_draws, x.size))
    if mixture_draws is not None and n_draws > mixture_draws:
        n_draws = int(mixture_draws)
        params = tuple(p[:n_draws] for p in params)
        p_alive = None if p_alive is None else p_alive[:n_draws]
    if p_alive is None:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            p_alive = model._probability_alive_many(params, x, t_x, T)
    p_alive = np.broadcast_to(p_alive, (n_draws, x.size))
    lower_level = (1.0 - interval) / 2.0
    upper_level = 1.0 - lower_level

    pairs_of = _Pairs(x, T, t)
    # beyond the bounding NBD's upper quantile every draw's CDF has passed the level
    cap = purchase_cap(params, pairs_of.t, pairs_of.x, pairs_of.T, tail=lower_level / 2.0)
    low = np.full(x.size, np.nan)
    high = np.full(x.size, np.nan)
    below = np.full(x.size, np.nan)
    above = np.full(x.size, np.nan)
    for pairs, k_max in pairs_of.blocks(cap, _budget(model, n_draws)):
        pmf = purchase_pmf_if_alive(
            model,
            params,
            pairs_of.t[pairs],
            pairs_of.x[pairs],
            pairs_of.T[pairs],
            k_max,
            nodes=NODES_INTERVALS,
        )
        cdf = np.cumsum(pmf, axis=-1)
        ok = np.isfinite(cdf[..., -1])  # (draws, pairs)
        cdf = np.where(ok[..., None], cdf, 0.0)
        members, local = pairs_of.members(pairs)
        # mixture CDF: 1 - mean_d(p_d) + mean_d(p_d * cdf_d(k)) over the finite draws
        step = max(1, _MAX_ELEMENTS // (n_draws * (k_max + 1)))
        for i in range(0, members.size, step):
            who, where = members[i : i + step], local[i : i + step]
            p = p_alive[:, who]
            valid = np.isfinite(p) & ok[:, where]
            p = np.where(valid, p, 0.0)
            n_valid = valid.sum(axis=0)
            share = 1.0 / np.maximum(n_valid, 1)
            mix = np.einsum("dn,dnk->nk", p, cdf[:, where, :]) * share[:, None]
            mix += (1.0 - p.sum(axis=0) * share)[:, None]
            none = n_valid == 0
            lo = _first_at_least(mix, lower_level)
            hi = _first_at_least(mix, upper_level)
            rows = np.arange(mix.shape[0])
            # P(X < low) = F(low - 1), P(X > high) = 1 - F(high)
            under = np.where(lo > 0, mix[rows, np.maximum(lo.astype(int) - 1, 0)], 0.0)
            over = np.clip(1.0 - mix[rows, hi.astype(int)], 0.0, 1.0)
            low[who] = np.where(none, np.nan, lo)
            high[who] = np.where(none, np.nan, hi)
            below[who] = np.where(none, np.nan, under)
            above[who] = np.where(none, np.nan, over)
    if point is None:
        return PredictiveResult(low, high, below=below, above=above)
    mean, variance = purchase_moments(model, point, t, x, t_x, T)
    return PredictiveResult(low, high, mean, variance, below, above)


def _first_at_least(cdf: np.ndarray, level: float) -> np.ndarray:
    """Smallest ``k`` with ``cdf[:, k] >= level`` (the last ``k`` when none is)."""
    reached = cdf >= level - 1e-12
    index = np.argmax(reached, axis=1)
    index = np.where(reached.any(axis=1), index, cdf.shape[1] - 1)
    return index.astype(float)


def normal_mixture_interval(
    means: np.ndarray, variances: np.ndarray, interval: float = INTERVAL
) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of an equal-weight mixture of normals, one mixture per column.

    Used for sums over many customers: given the parameters, a segment's
    purchases are a sum of independent customers' counts, approximately
    normal with the summed means and variances; mixing over the parameter
    draws adds the (common, not averaging out) parameter uncertainty.

    Parameters
    ----------
    means, variances
        ``(n_draws, n_groups)`` (or broadcastable to it): each draw's mean and
        variance of each sum.
    interval
        Coverage.

    Returns
    -------
    tuple of numpy.ndarray
        ``(low, high)`` per group, clipped at 0.

    Examples
    --------
    >>> low, high = normal_mixture_interval(np.array([[100.0]]), np.array([[100.0]]), 0.9)
    >>> round(float(low[0]), 2), round(float(high[0]), 2)
    (83.55, 116.45)
    """
    means, variances = np.broadcast_arrays(
        np.asarray(means, dtype=float), np.asarray(variances, dtype=float)
    )
    sd = np.sqrt(np.maximum(variances, 0.0))
    finite = np.isfinite(means) & np.isfinite(sd)
    weight = finite / np.maximum(finite.sum(axis=0), 1)
    means = np.where(finite, means, 0.0)
    sd = np.where(finite, sd, 0.0)
    out = []
    for level in ((1.0 - interval) / 2.0, (1.0 + interval) / 2.0):
        lo = (means - 8.0 * sd).min(axis=0) - 1e-9
        hi = (means + 8.0 * sd).max(axis=0) + 1e-9
        for _ in range(60):
            mid = (lo + hi) / 2.0
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(sd > 0, (mid - means) / np.where(sd > 0, sd, 1.0), np.inf)
                z = np.where((sd == 0) & (mid < means), -np.inf, z)
            cdf = (weight * ndtr(z)).sum(axis=0)
            below = cdf < level
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        value = np.maximum((lo + hi) / 2.0, 0.0)
        value = np.where(finite.any(axis=0), value, np.nan)
        out.append(value)
    return out[0], out[1]


# ---------------------------------------------------------------------------
# holdout check of the intervals
# ---------------------------------------------------------------------------

HOLDOUT_SCORE_COLUMNS = [
    "customer_id",
    "holdout_purchases",
    "expected_holdout_purchases",
    "holdout_purchases_low",
    "holdout_purchases_high",
    "chance_below",
    "chance_above",
]
"""Columns of :func:`holdout_intervals`' scores: ``chance_below`` and
``chance_above`` are the model's chance that the customer falls below the
lower or above the upper bound (:attr:`PredictiveResult.below`)."""


@dataclass(frozen=True)
class IntervalCheck:
    """How the per-customer holdout intervals held, side by side with what the model expects.

    Attributes
    ----------
    customers
        Customers checked.
    coverage
        Share whose holdout purchases lie inside their interval.
    above, below
        Shares that bought more than the upper bound, or fewer than the lower.
    expected_above, expected_below
        The shares the model expects (the mean of each customer's chance).
        Misses fall "in proportion" when ``above`` is near ``expected_above``
        and ``below`` near ``expected_below``: a model that forecasts too
        little shows too many misses above, one that forecasts too much too
        many below.
    lower_bound_zero
        Share whose lower bound is 0: they have at least a 5% chance (for a
        90% interval) of not buying at all, so they cannot fall below it and
        every miss of theirs is above.
    interval
        Nominal coverage.

    Examples
    --------
    >>> scores = pd.DataFrame({"holdout_purchases": [0, 3, 9], "holdout_purchases_low": [0, 1, 2],
    ...     "holdout_purchases_high": [2, 5, 6], "chance_below": [0.0, 0.03, 0.04],
    ...     "chance_above": [0.02, 0.04, 0.03]})
    >>> check = interval_check(scores)
    >>> round(check.above, 3), check.below, round(check.lower_bound_zero, 3)
    (0.333, 0.0, 0.333)
    """

    customers: int
    coverage: float
    above: float
    below: float
    expected_above: float
    expected_below: float
    lower_bound_zero: float
    interval: float = INTERVAL

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: every attribute, rounded to 4 decimals."""
        return {
            "customers": self.customers,
            "coverage": _rounded(self.coverage),
            "above": _rounded(self.above),
            "below": _rounded(self.below),
            "expected_above": _rounded(self.expected_above),
            "expected_below": _rounded(self.expected_below),
            "lower_bound_zero": _rounded(self.lower_bound_zero),
            "interval": self.interval,
        }


def _rounded(value: float) -> float | None:
    return round(float(value), 4) if np.isfinite(value) else None


def interval_check(scores: pd.DataFrame, interval: float = INTERVAL) -> IntervalCheck:
    """Misses above and below the intervals of :func:`holdout_intervals`, and the expected ones.

    Parameters
    ----------
    scores
        :func:`holdout_intervals`' per-customer table.
    interval
        The intervals' nominal coverage (recorded only).

    Returns
    -------
    IntervalCheck
    """
    actual = scores["holdout_purchases"].to_numpy(dtype=float)
    low = scores["holdout_purchases_low"].to_numpy(dtype=float, na_value=np.nan)
    high = scores["holdout_purchases_high"].to_numpy(dtype=float, na_value=np.nan)
    known = np.isfinite(low) & np.isfinite(high)
    n = int(known.sum())
    if n == 0:
        nan = float("nan")
        return IntervalCheck(0, nan, nan, nan, nan, nan, nan, interval)
    a, lo, hi = actual[known], low[known], high[known]
    chance_below = scores["chance_below"].to_numpy(dtype=float)[known]
    chance_above = scores["chance_above"].to_numpy(dtype=float)[known]
    return IntervalCheck(
        customers=n,
        coverage=float(np.mean((lo <= a) & (a <= hi))),
        above=float(np.mean(a > hi)),
        below=float(np.mean(a < lo)),
        expected_above=float(np.nanmean(chance_above)),
        expected_below=float(np.nanmean(chance_below)),
        lower_bound_zero=float(np.mean(lo == 0)),
        interval=interval,
    )


def holdout_intervals(
    model: TransactionModel,
    calibration: pd.DataFrame,
    *,
    interval: float = INTERVAL,
    n_draws: int = 200,
    seed: int = 0,
) -> tuple[pd.DataFrame, float]:
    """Predictive intervals of the holdout purchases and the share of customers they cover.

    Each customer's holdout purchases are predicted from the model fitted on
    the calibration period, over that customer's holdout duration, with the
    purchase process and parameter uncertainty (:func:`predictive_interval`
    over draws from the estimates' sampling distribution; the point estimate
    alone when the model has no covariance matrix).

    Parameters
    ----------
    model
        Transaction model fitted on ``calibration``.
    calibration
        Calibration summary with ``customer_id, frequency, recency, T,
        frequency_holdout, duration_holdout`` in the model's time unit.
    interval
        Nominal coverage.
    n_draws, seed
        Parameter draws.

    Returns
    -------
    tuple
        ``(scores, coverage)``: one row per customer with
        :data:`HOLDOUT_SCORE_COLUMNS`, and the share of customers whose actual
        holdout purchases lie in ``[low, high]`` (NaN without customers).

    Examples
    --------
    >>> from clvreport.models.bgnbd import BetaGeoModel
    >>> bg = BetaGeoModel.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> calibration = pd.DataFrame({"customer_id": [1, 2], "frequency": [0, 2],
    ...     "recency": [0.0, 30.0], "T": [38.0, 38.0], "frequency_holdout": [0, 1],
    ...     "duration_holdout": [39.0, 39.0]})
    >>> scores, coverage = holdout_intervals(bg, calibration)
    >>> scores["holdout_purchases_high"].tolist(), coverage
    ([1, 4], 1.0)
    """
    # imported here: uncertainty imports the CLV module, which needs no predictions
    from clvreport.models.threads import in_order
    from clvreport.models.uncertainty import as_param_tuple, draw_parameters

    columns = ("customer_id", "frequency", "recency", "T", "frequency_holdout", "duration_holdout")
    missing = [c for c in columns if c not in calibration.columns]
    if missing:
        raise ModelError(
            f"the calibration summary lacks {', '.join(missing)}",
            hint="build it with a holdout period (observation_end / --holdout-end)",
        )
    x, t_x, T = model._history(
        calibration["frequency"].to_numpy(dtype=float),
        calibration["recency"].to_numpy(dtype=float),
        calibration["T"].to_numpy(dtype=float),
    )
    duration = calibration["duration_holdout"].to_numpy(dtype=float)
    actual = calibration["frequency_holdout"].to_numpy(dtype=float)
    draws = draw_parameters(model, n_draws, np.random.default_rng(seed))
    params = model._params() if draws is None else as_param_tuple(draws)
    low = np.full(x.size, np.nan)
    high = np.full(x.size, np.nan)
    below = np.full(x.size, np.nan)
    above = np.full(x.size, np.nan)
    codes, first = distinct_rows(x, t_x, T, duration)
    if first.size:
        # in blocks of distinct histories (each (x, T, duration) pair kept together):
        # the draws x histories arrays stay bounded whatever the base's size
        order = np.lexsort((duration[first], T[first], x[first]))
        distinct = {k: np.full(first.size, np.nan) for k in ("low", "high", "below", "above")}
        blocks = [order[s : s + _HOLDOUT_BLOCK] for s in range(0, order.size, _HOLDOUT_BLOCK)]

        def one(block: np.ndarray) -> PredictiveResult:
            rows = first[block]
            return predictive_interval(
                model, params, duration[rows], x[rows], t_x[rows], T[rows], interval=interval
            )

        for block, result in zip(blocks, in_order(one, blocks), strict=True):
            for key in distinct:
                distinct[key][block] = getattr(result, key)
        low, high = distinct["low"][codes], distinct["high"][codes]
        below, above = distinct["below"][codes], distinct["above"][codes]
    scores = pd.DataFrame(
        {
            "customer_id": calibration["customer_id"].to_numpy(),
            "holdout_purchases": actual.astype(np.int64),
            "expected_holdout_purchases": np.asarray(
                model.expected_purchases(duration, x, t_x, T), dtype=float
            ).reshape(-1),
            "holdout_purchases_low": pd.array(low, dtype="Float64").astype("Int64"),
            "holdout_purchases_high": pd.array(high, dtype="Float64").astype("Int64"),
            "chance_below": below,
            "chance_above": above,
        },
        index=calibration.index,
    )
    inside = (low <= actual) & (actual <= high)
    coverage = float(inside.mean()) if inside.size else float("nan")
    return scores[HOLDOUT_SCORE_COLUMNS], coverage
