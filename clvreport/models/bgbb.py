r"""The BG/BB model: discrete purchase opportunities, dropout between them.

Customers have one purchase opportunity per period (a yearly appeal, an
annual event). While alive, a customer buys at each opportunity with
probability ``p ~ Beta(alpha, beta)``; before each opportunity a live customer
drops out for good with probability ``theta ~ Beta(gamma, delta)``. The data
are ``(x, t_x, n)`` per customer from :func:`clvreport.models.discrete.discrete_summary`:
repeat purchase periods, the last of them, and opportunities observed.

Likelihood
----------
Fader, Hardie and Shang (2010), eq. (5):

.. math::

    L(\alpha, \beta, \gamma, \delta \mid x, t_x, n) =
    \frac{B(\alpha+x, \beta+n-x)}{B(\alpha,\beta)} \frac{B(\gamma, \delta+n)}{B(\gamma,\delta)}
    + \sum_{i=0}^{n-t_x-1} \frac{B(\alpha+x, \beta+t_x-x+i)}{B(\alpha,\beta)}
      \frac{B(\gamma+1, \delta+t_x+i)}{B(\gamma,\delta)}.

The first term is "alive at ``n``", the others "dropped out before
opportunity ``t_x + i + 1``". Every beta-function ratio is a ratio of rising
factorials, ``B(a+k, b+j) / B(a, b) = (a)_k (b)_j / (a+b)_{k+j}``, whose logs
(:func:`~clvreport.models.numeric.log_rising`) are tabulated once per evaluation
for the integers ``0..max n``; the ``n - t_x + 1`` terms of each distinct row
are then table look-ups, summed in logs (log-sum-exp), and the analytic
gradient is the softmax-weighted sum of the terms' gradients (digamma
differences, :func:`~clvreport.models.numeric.digamma_rising`).

Predictions
-----------
Given the history, the customer is alive at ``n`` with probability
:math:`\pi_n = A / L` (``A`` the first term) and then, by Bayes,
``p ~ Beta(alpha + x, beta + n - x)`` and ``theta ~ Beta(gamma, delta + n)``.
With :math:`r_s = E[(1-\theta)^s] = (\delta+n)_s / (\gamma+\delta+n)_s` the
probability of surviving ``s`` more opportunities,

* P(alive at opportunity ``n + 1``) :math:`= \pi_n\, r_1` (eq. 11);
* expected purchases in the next ``n*`` opportunities
  :math:`= \pi_n \frac{\alpha+x}{\alpha+\beta+n} \sum_{s=1}^{n^*} r_s` (eq. 13, whose
  closed form is this finite sum, evaluated as positive terms so that
  nothing cancels for ``gamma`` near 1);
* DERT, the discounted expected residual transactions
  :math:`= \pi_n \frac{\alpha+x}{\alpha+\beta+n} \sum_{s \ge 1} r_s (1+d)^{-s}`
  (eq. 14, there written with :math:`{}_2F_1(1, \delta+n+1; \gamma+\delta+n+1; 1/(1+d))`),
  summed until bounds on the rest (the ratio :math:`r_{s+1}/r_s` increases
  towards 1) are within ``1e-15`` of the total;
* the number of purchases ``X`` in the next ``n*`` opportunities: with ``S``
  the opportunities a live customer survives (``P(S = s) = r_s \gamma /
  (\gamma+\delta+n+s)`` for ``s < n*``, ``P(S = n*) = r_{n*}``) and, given
  ``S = s``, a beta-binomial ``BB(s, alpha + x, beta + n - x)`` count,

  .. math::

      P(X = k) = (1 - \pi_n) [k = 0] + \pi_n \sum_{s} P(S = s)\, BB(k; s).

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). Customer-Base
   Analysis in a Discrete-Time Noncontractual Setting. Marketing Science
   29(6), 1086-1108.
.. [2] Fader, P. S. and Hardie, B. G. S. (2011). Implementing the BG/BB Model
   for Customer-Base Analysis in Excel. http://www.brucehardie.com/notes/010/
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy.special import gammaln

from clvreport.errors import ModelError
from clvreport.models.base import MaximumLikelihoodModel, Params
from clvreport.models.compression import RfmData, distinct_rows
from clvreport.models.discrete import check_discrete, compress_discrete
from clvreport.models.limits import pair_faces
from clvreport.models.numeric import digamma_rising, dot, log_rising
from clvreport.models.optimise import Face, Objective
from clvreport.models.predictive import PredictiveResult

__all__ = ["PERIOD_UNITS", "BetaGeoBetaBinomModel", "simulate_bgbb"]

PERIOD_UNITS = ("years", "quarters", "months")
MIXTURE_DRAWS = 50  # parameter draws mixed into the predictive intervals
_MAX_ELEMENTS = 2**22  # elements of one (draws, rows, s, k) block of the pmf
_DERT_MAX_TERMS = 2**23  # future periods summed for DERT at most (discount rates >~ 1e-5)
_DERT_TOLERANCE = 1e-15


# ---------------------------------------------------------------------------
# likelihood
# ---------------------------------------------------------------------------


def _terms(x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, ...]:
    """Flattened likelihood terms of rows ``(x, t_x, n)``.

    Row ``r`` has ``n - t_x + 1`` terms: first the "alive at n" term, then one
    per dropout opportunity ``m = t_x .. n - 1``. Each term is
    ``log (beta)_y - log (alpha+beta)_m + log (delta)_m - log (gamma+delta)_gd``
    (+ ``log gamma`` for dropout terms), plus the row's ``log (alpha)_x``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(row, starts, alive, m, y, gd)``: each term's row, each row's first
        term, whether a term is the alive term, and its three table indices.
    """
    xi = x.astype(np.int64)
    ti = t_x.astype(np.int64)
    ni = n.astype(np.int64)
    lengths = ni - ti + 1
    starts = np.cumsum(lengths) - lengths
    row = np.repeat(np.arange(x.size), lengths)
    j = np.arange(int(lengths.sum())) - starts[row]
    alive = j == 0
    m = np.where(alive, ni[row], ti[row] + j - 1)
    y = m - xi[row]
    gd = m + (~alive)
    return row, starts, alive, m, y, gd


def bgbb_objective(data: RfmData) -> Objective:
    """Mean negative log-likelihood of BG/BB and its analytic gradient on log-parameters.

    Parameters
    ----------
    data
        Compressed histories (:func:`~clvreport.models.discrete.compress_discrete`;
        the ``T`` field holds ``n``).

    Returns
    -------
    callable
        ``theta -> (value, gradient)`` with ``theta = log([alpha, beta, gamma, delta])``.

    Examples
    --------
    >>> from clvreport.models.discrete import compress_discrete
    >>> objective = bgbb_objective(compress_discrete([0, 2, 1], [0, 3, 1], [4, 4, 4]))
    >>> value, gradient = objective(np.zeros(4))
    >>> round(value, 6), gradient.shape
    (2.376638, (4,))
    """
    x, t_x, n, w = data.x, data.t_x, data.T, data.weight
    row, starts, alive, m, y, gd = _terms(x, t_x, n)
    dead = ~alive
    size = int(n.max(initial=0)) + 2
    k = np.arange(size, dtype=float)
    total = data.n_customers
    w_by_x = np.bincount(x.astype(np.int64), weights=w, minlength=size)
    w_row = w[row]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, b, g, d = np.exp(theta)
        la, lb, lab = log_rising(a, k), log_rising(b, k), log_rising(a + b, k)
        ld, lgd = log_rising(d, k), log_rising(g + d, k)
        v = lb[y] - lab[m] + ld[m] - lgd[gd] + np.where(dead, math.log(g), 0.0)
        top = np.maximum.reduceat(v, starts)
        e = np.exp(v - top[row])
        s = np.add.reduceat(e, starts)
        ll = dot(w_by_x, la) + dot(w, top + np.log(s))
        omega = w_row * e / s[row]  # each term's share of its row, times the row's weight
        by_m = np.bincount(m, weights=omega, minlength=size)
        by_y = np.bincount(y, weights=omega, minlength=size)
        by_gd = np.bincount(gd, weights=omega, minlength=size)
        dab, dgd = digamma_rising(a + b, k), digamma_rising(g + d, k)
        d_a = dot(w_by_x, digamma_rising(a, k)) - dot(by_m, dab)
        d_b = dot(by_y, digamma_rising(b, k)) - dot(by_m, dab)
        d_g = float(omega[dead].sum()) / g - dot(by_gd, dgd)
        d_d = dot(by_m, digamma_rising(d, k)) - dot(by_gd, dgd)
        grad = np.array([a * d_a, b * d_b, g * d_g, d * d_d])
        return -ll / total, -grad / total

    return objective


def _columns(params: Params) -> tuple[np.ndarray, ...]:
    """Parameters as ``(D, 1)`` columns (``D = 1`` for a point estimate)."""
    return tuple(np.asarray(p, dtype=float).reshape(-1, 1) for p in params)


def _log_likelihood_rows(
    params: Params, x: np.ndarray, t_x: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood and log of the "alive at n" term, ``(D, rows)``, for distinct rows."""
    a, b, g, d = _columns(params)
    if x.size == 0:
        empty = np.zeros((a.shape[0], 0))
        return empty, empty
    row, starts, alive, m, y, gd = _terms(x, t_x, n)
    k = np.arange(int(n.max()) + 2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        la, lb, lab = log_rising(a, k), log_rising(b, k), log_rising(a + b, k)
        ld, lgd = log_rising(d, k), log_rising(g + d, k)
        v = lb[:, y] - lab[:, m] + ld[:, m] - lgd[:, gd] + np.where(alive, 0.0, np.log(g))
        top = np.maximum.reduceat(v, starts, axis=1)
        s = np.add.reduceat(np.exp(v - top[:, row]), starts, axis=1)
        lax = la[:, x.astype(np.int64)]
        return lax + top + np.log(s), lax + v[:, starts]


# ---------------------------------------------------------------------------
# survival sums
# ---------------------------------------------------------------------------


def _log_survival(g: np.ndarray, dn: np.ndarray, m: int) -> np.ndarray:
    """``log r_s`` for ``s = 0..m``, ``r_s = (dn)_s / (g + dn)_s``, on a new last axis."""
    j = np.arange(m, dtype=float)
    steps = np.log1p(-g[..., None] / (g[..., None] + dn[..., None] + j))
    zero = np.zeros((*np.broadcast_shapes(g.shape, dn.shape), 1))
    return np.concatenate([zero, np.cumsum(steps, axis=-1)], axis=-1)


def _alive_periods_table(g: np.ndarray, dn: np.ndarray, m: int) -> np.ndarray:
    """``sum_{s=1}^{h} r_s`` for ``h = 0..m`` on a new last axis (expected future alive periods)."""
    r = np.exp(_log_survival(g, dn, m))
    r[..., 0] = 0.0
    return np.cumsum(r, axis=-1)


def _discounted_alive_periods(g: np.ndarray, dn: np.ndarray, z: float) -> np.ndarray:
    """``sum_{s>=1} r_s z^s``, summed until bounds on the rest agree (see the module docstring).

    After the terms up to ``S`` the rest lies between ``r_S rho z / (1 - rho z)``
    (the ratios ``r_{s+1} / r_s`` are at least ``rho = r_{S+1} / r_S``) and
    ``r_S z / (1 - z)`` (they are below 1); the midpoint is added.
    """
    g, dn = np.broadcast_arrays(np.asarray(g, dtype=float), np.asarray(dn, dtype=float))
    if z >= 1.0:  # undiscounted: (dn / (g - 1)) for g > 1, else infinite
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(g > 1.0, dn / (g - 1.0), np.inf)
    shape = g.shape
    g, dn = g.reshape(-1), dn.reshape(-1)
    total = np.zeros(g.size)
    log_r = np.zeros(g.size)  # log r_S after the terms summed so far
    done = 0  # S
    log_z = math.log(z)
    active = np.arange(g.size)
    block = 256
    while active.size:
        j = np.arange(block, dtype=float)
        G, D = g[active, None], dn[active, None]
        steps = np.log1p(-G / (G + D + done + j))  # log(r_{S+1+j} / r_{S+j})
        lr = log_r[active, None] + np.cumsum(steps, axis=1)
        total[active] += np.exp(lr + (done + 1.0 + j) * log_z).sum(axis=1)
        log_r[active] = lr[:, -1]
        done += block
        rho = 1.0 - g[active] / (g[active] + dn[active] + done)
        r_z = np.exp(log_r[active] + (done + 1.0) * log_z)  # r_S z^(S+1)
        upper = r_z / (1.0 - z)
        lower = r_z * rho / (1.0 - rho * z)
        converged = upper - lower <= _DERT_TOLERANCE * (total[active] + lower)
        if done >= _DERT_MAX_TERMS:
            converged[:] = True
        total[active[converged]] += 0.5 * (upper + lower)[converged]
        active = active[~converged]
        block = min(2 * block, 2**16)
    return total.reshape(shape)


# ---------------------------------------------------------------------------
# purchase distribution
# ---------------------------------------------------------------------------


def _log_rising_table(base: np.ndarray, m: int) -> np.ndarray:
    """``log (base)_k`` for ``k = 0..m`` on a new last axis, as sums of logs (no cancellation)."""
    steps = np.log(base[..., None] + np.arange(m, dtype=float))
    return np.concatenate([np.zeros((*base.shape, 1)), np.cumsum(steps, axis=-1)], axis=-1)


def _alive_pmf(params: Params, x: np.ndarray, n: np.ndarray, m: int) -> np.ndarray:
    """``P(X = k | alive at n)`` for ``k = 0..m`` purchases in ``m`` opportunities.

    Returns ``(D, rows, m + 1)`` for distinct ``(x, n)`` rows; blocks of rows
    bound the ``(D, rows, s, k)`` intermediate.
    """
    a, b, g, d = _columns(params)
    n_draws = a.shape[0]
    out = np.empty((n_draws, x.size, m + 1))
    s = np.arange(m + 1, dtype=float)
    with np.errstate(divide="ignore"):
        log_choose = gammaln(s[:, None] + 1) - gammaln(s[None, :] + 1) - gammaln(s[:, None] - s + 1)
    upper = s[None, :] <= s[:, None]  # k <= s
    log_choose = np.where(upper, log_choose, -np.inf)
    diff = np.clip(s[:, None] - s[None, :], 0, m).astype(np.int64)  # s - k
    step = max(1, _MAX_ELEMENTS // (n_draws * (m + 1) ** 2))
    for lo in range(0, x.size, step):
        xs, ns = x[lo : lo + step], n[lo : lo + step]
        A = a + xs  # (D, R)
        B = b + ns - xs
        dn = d + ns
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_r = _log_survival(g, dn, m)  # (D, R, m + 1)
            hazard = g[..., None] / (g[..., None] + dn[..., None] + s)
            log_ps = log_r + np.log(np.where(s < m, hazard, 1.0))  # log P(S = s)
            la, lb, lab = (_log_rising_table(v, m) for v in (A, B, A + B))  # (D, R, m + 1)
            log_bb = (
                log_choose + la[..., None, :] + lb[..., diff] - lab[..., :, None]  # (D, R, s, k)
            )
            out[:, lo : lo + step] = np.einsum(
                "drs,drsk->drk", np.exp(log_ps), np.exp(np.where(upper, log_bb, -np.inf))
            )
    return out


class _Rows:
    """Distinct rows of broadcast customer arrays and their codes."""

    def __init__(self, *columns: np.ndarray) -> None:
        self.codes, first = distinct_rows(*columns)
        self.values = tuple(c[first] for c in columns)


# ---------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------


class BetaGeoBetaBinomModel(MaximumLikelihoodModel):
    """BG/BB model (beta-geometric / beta-binomial) for discrete purchase opportunities.

    Parameters
    ----------
    time_unit
        Length of one opportunity: ``"years"``, ``"quarters"`` or ``"months"``.
        It only labels the model (``n_periods`` counts opportunities).
    n_starts
        Number of optimiser starting points.
    seed
        Seed for the start-search subsample on data with very many distinct rows.

    Attributes
    ----------
    params_ : dict[str, float]
        ``alpha, beta`` (purchase probability beta) and ``gamma, delta``
        (dropout probability beta).

    Notes
    -----
    On the edge of the parameter space the fit reports the limiting model as
    the continuous models do (``boundary_``): ``"no_rate_heterogeneity"``
    means every customer has the same purchase probability (``alpha, beta ->
    inf``), ``"no_dropout_heterogeneity"`` the same dropout probability, and
    ``"no_dropout"`` that nobody drops out (``gamma -> 0``).

    References
    ----------
    .. [1] Fader, Hardie and Shang (2010), Marketing Science 29(6), 1086-1108.

    Examples
    --------
    >>> model = BetaGeoBetaBinomModel.from_params(
    ...     {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783})
    >>> round(model.probability_alive(3, 6, 6), 4)
    0.9304
    >>> round(model.expected_purchases(5, 3, 6, 6), 4)
    2.1896
    """

    name = "bgbb"
    param_names = ("alpha", "beta", "gamma", "delta")
    search_rows: ClassVar[int] = 5_000  # up to this many distinct rows the search uses all

    def __init__(self, *, time_unit: str = "years", n_starts: int = 3, seed: int = 0):
        if time_unit not in PERIOD_UNITS:
            raise ModelError(
                f"unknown period {time_unit!r} for the BG/BB model",
                hint=f"use one of {', '.join(PERIOD_UNITS)}",
            )
        super().__init__(n_starts=n_starts, seed=seed)
        self.time_unit = time_unit  # type: ignore[assignment]

    @classmethod
    def from_params(cls, params: Mapping[str, float], *, time_unit: str = "years") -> Self:
        """A model with known parameters (e.g. the published donor estimates), ready to predict.

        Parameters
        ----------
        params
            Positive ``alpha, beta, gamma, delta``.
        time_unit
            Length of one opportunity.

        Returns
        -------
        BetaGeoBetaBinomModel
            A model without standard errors or log-likelihood.

        Examples
        --------
        >>> BetaGeoBetaBinomModel.from_params(
        ...     {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}).time_unit
        'years'
        """
        return super().from_params(params, time_unit=time_unit)  # type: ignore[arg-type]

    # -- fitting --------------------------------------------------------------

    def fit(
        self,
        data: pd.DataFrame | Any,
        recency: Any | None = None,
        n_periods: Any | None = None,
        weights: Any | str | None = None,
    ) -> Self:
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        data
            A summary table with ``frequency``, ``recency`` and ``n_periods``
            (or ``periods``) columns, or the frequency array itself.
        recency, n_periods
            Arrays, when ``data`` is the frequency array.
        weights
            Customers per row: an array or, with a table, a column name such as
            ``"donors"``. Default 1.

        Returns
        -------
        BetaGeoBetaBinomModel
            ``self``, with ``params_``, ``standard_errors_``,
            ``log_likelihood_`` and ``converged_`` set.

        Raises
        ------
        clvreport.errors.DataError
            For impossible rows (e.g. ``recency > n_periods``).
        clvreport.errors.ModelError
            When no customer had a purchase opportunity.

        Examples
        --------
        >>> table = pd.DataFrame({"frequency": [0, 1, 1, 2, 2, 3], "recency": [0, 1, 3, 2, 3, 3],
        ...                       "n_periods": [3] * 6, "donors": [50, 20, 10, 10, 15, 20]})
        >>> model = BetaGeoBetaBinomModel().fit(table, weights="donors")
        >>> model.n_customers_, model.converged_
        (125, True)
        """
        compressed = compress_discrete(data, recency, n_periods, weights)
        if compressed.n_customers > 0 and float(compressed.weight @ compressed.T) <= 0:
            raise ModelError(
                "cannot fit bgbb: no customer has had a purchase opportunity yet "
                "(n_periods is 0 for all)",
                hint="use a later report date or shorter periods",
            )
        return self._fit_data(compressed)

    def _objective(self, data: RfmData) -> Objective:
        return bgbb_objective(data)

    def _starting_points(self, data: RfmData) -> list[np.ndarray]:
        rate = float(data.weight @ data.x) / max(float(data.weight @ data.T), 1e-12)
        rate = min(max(rate, 1e-3), 0.999)
        return [
            np.log([scale, scale * (1.0 - rate) / rate, scale, 2.0 * scale])
            for scale in (1.0, 0.5, 2.0, 0.25)
        ]

    def _subsample(self, data: RfmData, rng: np.random.Generator) -> RfmData | None:
        # the cost grows with the distinct rows (few in discrete data), not the customers
        if data.n_rows <= self.search_rows:
            return None
        return super()._subsample(data, rng)

    def _boundary_faces(self, theta: np.ndarray) -> list[Face]:
        # the same limits as the continuous models: (alpha, beta) and (gamma, delta)
        # are the two pairs whose joint runaway means no heterogeneity; nobody dropping
        # out (gamma -> 0) is the beta-binomial model, BG/BB's own formulas at gamma = e^-M
        return pair_faces(theta)

    # -- predictions ----------------------------------------------------------

    def _params(self) -> Params:
        return tuple(self.param_vector)

    @staticmethod
    def _history(*columns: Any) -> tuple[tuple[np.ndarray, ...], tuple[int, ...]]:
        """Broadcast ``(..., x, t_x, n)``, check the histories; flat arrays and the shape."""
        arrays = np.broadcast_arrays(*(np.asarray(c, dtype=float) for c in columns))
        shape = arrays[0].shape
        flat = [a.reshape(-1) for a in arrays]
        x, t_x, n = check_discrete(*flat[-3:])
        return (*flat[:-3], x, t_x, n), shape

    @staticmethod
    def _out(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | float:
        values = np.asarray(values, dtype=float)
        return float(values[0]) if shape == () else values.reshape(shape)

    def log_likelihood(self, frequency: Any, recency: Any, n_periods: Any) -> np.ndarray | float:
        """Log-likelihood of each customer's history under the fitted parameters (eq. 5).

        Parameters
        ----------
        frequency, recency, n_periods
            ``x``, ``t_x`` and ``n`` (arrays or scalars, broadcast together).

        Returns
        -------
        numpy.ndarray or float
            One value per customer.

        Examples
        --------
        >>> model = BetaGeoBetaBinomModel.from_params(
        ...     {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783})
        >>> round(model.log_likelihood(0, 0, 6), 4)
        -1.1673
        """
        (x, t_x, n), shape = self._history(frequency, recency, n_periods)
        rows = _Rows(x, t_x, n)
        ll, _ = _log_likelihood_rows(self._params(), *rows.values)
        return self._out(ll[0, rows.codes], shape)

    def _log_alive_now(self, params: Params, rows: _Rows) -> np.ndarray:
        ll, log_a = _log_likelihood_rows(params, *rows.values)
        return np.minimum(log_a - ll, 0.0)

    def probability_alive(
        self, frequency: Any, recency: Any, n_periods: Any, *, next_period: bool = True
    ) -> np.ndarray | float:
        """Probability that each customer is alive at the next opportunity ``n + 1`` (eq. 11).

        Parameters
        ----------
        frequency, recency, n_periods
            ``x``, ``t_x`` and ``n`` (arrays or scalars, broadcast together).
        next_period
            ``True`` (default): alive at opportunity ``n + 1``, as in the
            paper; ``False``: alive at the last observed opportunity ``n``
            (1 for a purchase at ``n``).

        Returns
        -------
        numpy.ndarray or float
            P(alive) per customer.

        Examples
        --------
        >>> model = BetaGeoBetaBinomModel.from_params(
        ...     {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783})
        >>> round(model.probability_alive(3, 4, 6), 4)
        0.4395
        >>> model.probability_alive(3, 6, 6, next_period=False)
        1.0
        """
        (x, t_x, n), shape = self._history(frequency, recency, n_periods)
        rows = _Rows(x, t_x, n)
        _, _, g, d = self._params()
        log_p = self._log_alive_now(self._params(), rows)[0]
        if next_period:
            un = rows.values[2]
            log_p = log_p + np.log1p(-g / (g + d + un))
        return self._out(np.exp(log_p)[rows.codes], shape)

    def probability_of_silence(
        self, frequency: Any, recency: Any, n_periods: Any
    ) -> np.ndarray | float:
        """Chance that a customer giving at their own pace let as many opportunities pass.

        Given ``x`` purchases in the first ``t_x`` opportunities (while surely
        active) the purchase probability is ``Beta(alpha + x, beta + t_x - x)``;
        the chance of no purchase at the ``n - t_x`` opportunities since is then
        ``(beta + t_x - x)_g / (alpha + beta + t_x)_g`` with ``g = n - t_x``.
        Dropout is ignored on purpose, as in
        :meth:`clvreport.models.base.TransactionModel.probability_of_silence`.

        Parameters
        ----------
        frequency, recency, n_periods
            ``x``, ``t_x`` and ``n``.

        Returns
        -------
        numpy.ndarray or float
            The chance per customer (1 when they gave at the last opportunity).

        Examples
        --------
        >>> model = BetaGeoBetaBinomModel.from_params(
        ...     {"alpha": 1.0, "beta": 1.0, "gamma": 0.5, "delta": 2.0})
        >>> round(float(model.probability_of_silence(2, 3, 5)), 4)  # (2 * 3) / (5 * 6)
        0.2
        """
        (x, t_x, n), shape = self._history(frequency, recency, n_periods)
        a, b, _, _ = self._params()
        gap = n - t_x
        log_p = log_rising(b + t_x - x, gap) - log_rising(a + b + t_x, gap)
        return self._out(np.exp(log_p), shape)

    @property
    def has_dropout(self) -> bool:
        """False for the no-dropout limit (``gamma -> 0``: everyone stays a donor)."""
        return not (self.boundary_ and "no_dropout" in self.boundary_)

    def expected_purchases(
        self, n_future: Any, frequency: Any, recency: Any, n_periods: Any
    ) -> np.ndarray | float:
        """Expected purchases in the next ``n_future`` opportunities, given the history (eq. 13).

        Parameters
        ----------
        n_future
            Number of future opportunities ``n*`` (whole number, scalar or per customer).
        frequency, recency, n_periods
            ``x``, ``t_x`` and ``n``.

        Returns
        -------
        numpy.ndarray or float
            ``E[X(n, n + n*) | x, t_x, n]`` per customer.

        Examples
        --------
        >>> model = BetaGeoBetaBinomModel.from_params(
        ...     {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783})
        >>> model.expected_purchases(5, [0, 6], [0, 6], 6).round(4).tolist()
        [0.0728, 3.7521]
        """
        (h, x, t_x, n), shape = self._history(n_future, frequency, recency, n_periods)
        _check_horizon(h)
        a, b, g, d = self._params()
        rows = _Rows(x, t_x, n)
        log_pi = self._log_alive_now(self._params(), rows)[0]
        ux, _, un = rows.values
        mean_p = (a + ux) / (a + b + un)
        pairs = _Rows(n, h)
        pn, ph = pairs.values
        n_values, n_code = np.unique(pn, return_inverse=True)
        table = _alive_periods_table(np.asarray(g), d + n_values, int(ph.max(initial=0)))
        periods = table[n_code, ph.astype(np.int64)][pairs.codes]
        value = (np.exp(log_pi) * mean_p)[rows.codes] * periods
        return self._out(value, shape)

    def expected_purchases_new_customer(self, n: Any) -> np.ndarray | float:
        """Expected repeat purchases of a new customer in the first ``n`` opportunities (eq. 7).

        Parameters
        ----------
        n
            Number of opportunities after the first purchase (whole numbers).

        Returns
        -------
        numpy.ndarray or float
            ``E[X(n)] = alpha / (alpha + beta) * sum_{s=1}^{n} (delta)_s / (gamma + delta)_s``.

        Examples
        --------
        >>> model = BetaGeoBetaBinomModel.from_params(
        ...     {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783})
        >>> round(model.expected_purchases_new_customer(6), 4)
        2.2196
        """
        horizon = np.asarray(n, dtype=float)
        _check_horizon(horizon.reshape(-1))
        a, b, g, d = self._params()
        table = _alive_periods_table(np.asarray(g), np.asarray(d), int(horizon.max(initial=0)))
        value = a / (a + b) * table[horizon.astype(np.int64)]
        return float(value) if value.ndim == 0 else value

    def discounted_expected_transactions(
        self, frequency: Any, recency: Any, n_periods: Any, discount_rate: float
    ) -> np.ndarray | float:
        """Discounted expected residual transactions, DERT (eq. 14).

        The expected purchases at every future opportunity ``n + s``, each
        discounted by ``(1 + d)^-s``, summed over all ``s >= 1``. Multiplied by
        the margin per purchase this is a customer's residual lifetime value.

        Parameters
        ----------
        frequency, recency, n_periods
            ``x``, ``t_x`` and ``n``.
        discount_rate
            Discount rate ``d >= 0`` per period (0.1 for 10% a year with yearly
            opportunities). At 0 the sum is finite only for ``gamma > 1``.

        Returns
        -------
        numpy.ndarray or float
            DERT per customer.

        Notes
        -----
        The sum over future periods runs until bounds on its rest are within
        ``1e-15`` of the total, at most 2^23 periods (about ``40 / d`` are
        needed: full precision for ``d >~ 1e-5``).

        Examples
        --------
        >>> model = BetaGeoBetaBinomModel.from_params(
        ...     {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783})
        >>> round(model.discounted_expected_transactions(6, 6, 6, 0.1), 4)
        5.9087
        """
        rate = float(discount_rate)
        if not (math.isfinite(rate) and rate >= 0):
            raise ModelError(f"the discount rate must be a number >= 0, not {discount_rate!r}")
        (x, t_x, n), shape = self._history(frequency, recency, n_periods)
        a, b, g, d = self._params()
        rows = _Rows(x, t_x, n)
        log_pi = self._log_alive_now(self._params(), rows)[0]
        ux, _, un = rows.values
        n_values, n_code = np.unique(un, return_inverse=True)
        series = _discounted_alive_periods(np.full(n_values.size, g), d + n_values, 1 / (1 + rate))
        value = np.exp(log_pi) * (a + ux) / (a + b + un) * series[n_code]
        return self._out(value[rows.codes], shape)

    def _pmf_groups(
        self, params: Params, h: np.ndarray, x: np.ndarray, t_x: np.ndarray, n: np.ndarray
    ) -> tuple[_Rows, list[tuple[np.ndarray, np.ndarray]]]:
        """The distinct ``(n*, x, t_x, n)`` rows and, per horizon, their pmfs under each draw.

        Returns
        -------
        tuple
            ``(rows, groups)``: ``groups`` holds one ``(members, pmf)`` per
            distinct horizon ``m``, ``members`` indexing the distinct rows and
            ``pmf`` of shape ``(D, members, m + 1)`` including the dead state.
        """
        rows = _Rows(h, x, t_x, n)
        rh, rx, rt, rn = rows.values
        history = _Rows(rx, rt, rn)
        pi = np.exp(self._log_alive_now(params, history))[:, history.codes]  # (D, rows)
        groups = []
        for m in np.unique(rh).astype(np.int64):
            members = np.flatnonzero(rh == m)
            pairs = _Rows(rx[members], rn[members])
            alive = _alive_pmf(params, *pairs.values, int(m))[:, pairs.codes]
            p = pi[:, members, None]
            pmf = p * alive
            pmf[..., 0] += 1.0 - p[..., 0]
            groups.append((members, pmf))
        return rows, groups

    def purchase_pmf(
        self, k: Any, n_future: Any, frequency: Any, recency: Any, n_periods: Any
    ) -> np.ndarray | float:
        """Probability of exactly ``k`` purchases in the next ``n_future`` opportunities.

        ``P(X(n, n + n*) = k | x, t_x, n)``: with probability ``1 - pi_n`` the
        customer is already gone (``k = 0``); otherwise the number of
        opportunities they survive is beta-geometric and, given it, the count
        beta-binomial under the posterior of ``p`` (see the module docstring).

        Parameters
        ----------
        k
            Number of purchases (whole numbers; broadcast with the rest).
        n_future
            Number of future opportunities ``n*``.
        frequency, recency, n_periods
            ``x``, ``t_x`` and ``n``.

        Returns
        -------
        numpy.ndarray or float
            The probability per entry (0 for ``k`` outside ``0..n*``).

        Examples
        --------
        >>> model = BetaGeoBetaBinomModel.from_params(
        ...     {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783})
        >>> pmf = model.purchase_pmf(np.arange(6), 5, 3, 4, 6)
        >>> round(float(pmf.sum()), 12), round(float(pmf @ np.arange(6)), 4)
        (1.0, 1.0342)
        """
        (kk, h, x, t_x, n), shape = self._history(k, n_future, frequency, recency, n_periods)
        _check_horizon(h)
        rows, groups = self._pmf_groups(self._params(), h, x, t_x, n)
        group_of = np.empty(len(rows.values[0]), dtype=np.int64)
        local_of = np.empty(len(rows.values[0]), dtype=np.int64)
        for i, (members, _) in enumerate(groups):
            group_of[members] = i
            local_of[members] = np.arange(members.size)
        out = np.zeros(kk.size)
        entry_group = group_of[rows.codes]
        for i, (_, pmf) in enumerate(groups):
            who = np.flatnonzero(entry_group == i)
            kw = kk[who]
            m = pmf.shape[-1] - 1
            inside = (kw >= 0) & (kw <= m) & (kw == np.floor(kw))
            index = np.clip(np.nan_to_num(kw), 0, m).astype(np.int64)
            out[who] = np.where(inside, pmf[0, local_of[rows.codes[who]], index], 0.0)
        return self._out(out, shape)

    def predictive_interval(
        self,
        n_future: Any,
        frequency: Any,
        recency: Any,
        n_periods: Any,
        *,
        interval: float = 0.9,
        n_draws: int = 200,
        mixture_draws: int | None = MIXTURE_DRAWS,
        seed: int = 0,
    ) -> PredictiveResult:
        """Predictive interval of each customer's purchases in the next ``n_future`` opportunities.

        As for the continuous models
        (:func:`clvreport.models.predictive.predictive_interval`), the count's
        distribution (:meth:`purchase_pmf`) is mixed over parameter draws
        from the estimates' sampling distribution
        (:func:`clvreport.models.uncertainty.draw_parameters`), so the
        interval includes the parameter uncertainty. ``low`` is the smallest
        ``k`` with ``P(X <= k) >= (1 - interval) / 2`` and ``high`` the
        smallest with ``P(X <= k) >= (1 + interval) / 2``, so ``P(low <= X <=
        high) >= interval`` under the model (more for small counts). Without a
        covariance matrix (a model built with :meth:`from_params`, or a
        singular Hessian) the point estimate's pmf is used alone.

        Parameters
        ----------
        n_future
            Number of future opportunities (scalar or per customer).
        frequency, recency, n_periods
            ``x``, ``t_x`` and ``n``.
        interval
            Nominal coverage (0.9: 5th to 95th percentile).
        n_draws, seed
            Parameter draws.
        mixture_draws
            Mix only the first this many draws (``None``: all).

        Returns
        -------
        clvreport.models.predictive.PredictiveResult
            ``low, high``, the count's ``mean, variance`` under the point
            estimate, and the mixture's chance ``below`` low and ``above``
            high, per customer (1-D).

        Examples
        --------
        >>> model = BetaGeoBetaBinomModel.from_params(
        ...     {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783})
        >>> result = model.predictive_interval(5, [0, 3, 6], [0, 4, 6], 6)
        >>> result.low.tolist(), result.high.tolist()
        ([0.0, 0.0, 0.0], [0.0, 4.0, 5.0])
        """
        if not 0 < interval < 1:
            raise ValueError(f"interval must be between 0 and 1, not {interval}")
        # imported here: uncertainty imports the CLV module of the continuous models
        from clvreport.models.uncertainty import as_param_tuple, draw_parameters

        (h, x, t_x, n), _ = self._history(n_future, frequency, recency, n_periods)
        _check_horizon(h)
        draws = draw_parameters(self, n_draws, np.random.default_rng(seed))
        if draws is not None and mixture_draws is not None:
            draws = draws[: int(mixture_draws)]
        params = self._params() if draws is None else as_param_tuple(draws)
        lower_level = (1.0 - interval) / 2.0
        upper_level = 1.0 - lower_level
        rows, groups = self._pmf_groups(params, h, x, t_x, n)
        point_groups = groups
        if draws is not None:
            point_groups = self._pmf_groups(self._params(), h, x, t_x, n)[1]
        n_rows = len(rows.values[0])
        low, high = np.full(n_rows, np.nan), np.full(n_rows, np.nan)
        mean, variance = np.full(n_rows, np.nan), np.full(n_rows, np.nan)
        below, above = np.full(n_rows, np.nan), np.full(n_rows, np.nan)
        for (members, pmf), (_, point) in zip(groups, point_groups, strict=True):
            ok = np.isfinite(pmf).all(axis=-1)  # (D, R)
            counts = np.maximum(ok.sum(axis=0), 1)
            mix = np.where(ok[..., None], pmf, 0.0).sum(axis=0) / counts[:, None]
            cdf = np.cumsum(mix, axis=-1)
            low[members] = _first_at_least(cdf, lower_level)
            high[members] = _first_at_least(cdf, upper_level)
            # the mixture's chance of falling below low and above high
            at = np.arange(cdf.shape[0])
            lo_index = low[members].astype(np.int64)
            below[members] = np.where(lo_index > 0, cdf[at, np.maximum(lo_index - 1, 0)], 0.0)
            above[members] = np.clip(1.0 - cdf[at, high[members].astype(np.int64)], 0.0, 1.0)
            none = ~ok.any(axis=0)
            low[members[none]] = high[members[none]] = np.nan
            below[members[none]] = above[members[none]] = np.nan
            k = np.arange(point.shape[-1], dtype=float)
            mean[members] = point[0] @ k
            variance[members] = np.maximum(point[0] @ (k * k) - mean[members] ** 2, 0.0)
        codes = rows.codes
        return PredictiveResult(
            low[codes], high[codes], mean[codes], variance[codes], below[codes], above[codes]
        )


def _first_at_least(cdf: np.ndarray, level: float) -> np.ndarray:
    """Smallest ``k`` with ``cdf[:, k] >= level`` (the last ``k`` when none is)."""
    reached = cdf >= level - 1e-12
    index = np.where(reached.any(axis=1), np.argmax(reached, axis=1), cdf.shape[1] - 1)
    return index.astype(float)


def _check_horizon(h: np.ndarray) -> None:
    h = np.asarray(h, dtype=float)
    if h.size and not (np.isfinite(h).all() and (h >= 0).all() and (h == np.floor(h)).all()):
        raise ModelError("the number of future opportunities must be a whole number >= 0")


# ---------------------------------------------------------------------------
# simulation
# ---------------------------------------------------------------------------


def simulate_bgbb(
    params: Mapping[str, float],
    n_customers: int,
    n_periods: int | np.ndarray,
    *,
    n_holdout: int = 0,
    seed: int = 0,
    latent: bool = False,
) -> pd.DataFrame:
    """Simulate BG/BB customers: ``p ~ Beta(alpha, beta)``, ``theta ~ Beta(gamma, delta)``.

    Each customer is alive at opportunity ``t`` with probability ``(1 -
    theta)^t`` (a geometric lifetime) and buys at each opportunity while alive
    with probability ``p``.

    Parameters
    ----------
    params
        ``alpha, beta, gamma, delta``.
    n_customers
        Number of customers.
    n_periods
        Opportunities observed (``n``), one number or one per customer.
    n_holdout
        Further opportunities whose purchases are counted in ``frequency_holdout``.
    seed
        Random seed.
    latent
        Also return each customer's ``p``, ``theta`` and ``alive_next``
        (whether alive at opportunity ``n + 1``).

    Returns
    -------
    pandas.DataFrame
        ``frequency, recency, n_periods`` (and ``frequency_holdout`` with a
        holdout; the latent columns on request).

    Examples
    --------
    >>> sim = simulate_bgbb({"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}, 1000, 6)
    >>> len(sim), int(sim["n_periods"].max()), bool((sim["frequency"] <= sim["recency"]).all())
    (1000, 6, True)
    """
    rng = np.random.default_rng(seed)
    n = np.broadcast_to(np.asarray(n_periods, dtype=np.int64), (n_customers,))
    h = int(n_holdout)
    p = rng.beta(params["alpha"], params["beta"], size=n_customers)
    theta = rng.beta(params["gamma"], params["delta"], size=n_customers)
    # first opportunity at which the customer is gone: alive at t iff t < death
    death = rng.geometric(np.clip(theta, 1e-300, 1.0))
    x = np.zeros(n_customers, dtype=np.int64)
    t_x = np.zeros(n_customers, dtype=np.int64)
    holdout = np.zeros(n_customers, dtype=np.int64)
    width = int(n.max(initial=0)) + h
    t = np.arange(1, width + 1)
    chunk = max(1, 2**22 // max(width, 1))
    for lo in range(0, n_customers, chunk):
        sl = slice(lo, lo + chunk)
        buy = (rng.random((len(x[sl]), width)) < p[sl, None]) & (t < death[sl, None])
        in_cal = t <= n[sl, None]
        cal = buy & in_cal
        x[sl] = cal.sum(axis=1)
        t_x[sl] = (cal * t).max(axis=1, initial=0)
        holdout[sl] = (buy & ~in_cal & (t <= n[sl, None] + h)).sum(axis=1)
    out = pd.DataFrame({"frequency": x, "recency": t_x, "n_periods": n.copy()})
    if h:
        out["frequency_holdout"] = holdout
    if latent:
        out["p"] = p
        out["theta"] = theta
        out["alive_next"] = death > n + 1
    return out
