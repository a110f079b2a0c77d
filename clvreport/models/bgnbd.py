"""The BG/NBD model: Poisson purchases, dropout after each repeat purchase.

While active, a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``;
after every repeat purchase they drop out with probability ``p ~ Beta(a, b)``.

The log-likelihood is evaluated once per distinct ``(x, t_x, T)`` row, with
every term that depends on ``x`` or ``T`` alone summed over distinct values
first, and comes with its analytic gradient.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your
   Customers" the Easy Way: An Alternative to the Pareto/NBD Model.
   Marketing Science 24(2), 275-284.
.. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2019). Implementing the
   BG/NBD Model for Customer Base Analysis in Excel.
   http://www.brucehardie.com/notes/004/
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, hyp2f1

from clvreport.models.base import Params, TransactionModel
from clvreport.models.compression import RfmData
from clvreport.models.numeric import digamma_rising, dot, log_rising
from clvreport.models.optimise import Objective

__all__ = ["BetaGeoModel"]


def _safe_a(a):
    """Nudge ``a`` off 1, where the expectation formula is 0/0 (its limit is smooth)."""
    return np.where(np.abs(a - 1.0) < 1e-8, 1.0 + 1e-8, a)


# Where SciPy's hyp2f1 is accurate for the closed form (checked against mpmath at
# 30 digits to better than 1e-7): outside it the positive series is used.
_FAST_MAX_A = 1e3
_FAST_MAX_B = 1e4
_FAST_MAX_K = 1e4
_FAST_MIN_U = 1e-3
_SERIES_BLOCK = 128
_SERIES_MAX_TERMS = 400_000
_EPS = float(np.finfo(float).eps)


def expected_purchases_while_alive(a, b, k, u) -> np.ndarray:
    r"""Expected purchases of a live BG/NBD-type customer: :math:`E_p[(1 - (1 + p u)^{-k}) / p]`.

    A customer alive now buys at rate ``lambda ~ Gamma(k, A)`` and drops out with
    probability ``p ~ Beta(a, b)`` after each purchase; the expected number of
    purchases in the next ``t`` time units is this function at ``u = t / A``
    (FHL 2005, eq. 10, divided by P(alive); for BG/NBD ``k = r + x``,
    ``A = alpha + T`` and ``b`` is ``b + x``, for MBG/NBD ``b + x + 1``).

    The closed form :math:`\frac{c}{a-1}\,[1 - (1-z)^{a-1}\,{}_2F_1(c-k, a-1; c; z)]`
    (``c = a + b - 1``, ``z = u / (1 + u)``) is used where SciPy's ``hyp2f1`` is
    accurate: moderate ``a``, ``b``, ``k`` and no cancellation (``u >= 1e-3``).
    Elsewhere -- and wherever it is not finite or breaks the bounds
    ``1 - (1+u)^{-k} <= E <= k u`` -- the value is the series of positive terms

    .. math:: E = \sum_{j \ge 1} \frac{(b)_{j-1}}{(a+b)_{j-1}} \, P(N \ge j),
              \quad N \sim \mathrm{NBD}(k, z),

    (the ``j``-th future purchase happens if there are ``j`` purchase events and
    the customer survived the ``j - 1`` before), summed until a bound on the rest
    is below ``1e-16`` of the total. It never forms ``0 * inf`` and has no
    cancellation, so it holds over the whole parameter range (``a, b`` up to 1e6
    and beyond).

    Parameters
    ----------
    a, b
        Beta parameters of the dropout probability of a live customer.
    k
        Shape of the purchase-rate gamma of a live customer.
    u
        Horizon divided by the rate's scale, ``t / (alpha + T)``.

    Returns
    -------
    numpy.ndarray
        The expectation, broadcast over the inputs (e.g. parameter draws of
        shape ``(n_draws, 1)`` against customers).

    Examples
    --------
    >>> # a ~ 2e4, b ~ 1.2e5: the closed form is 0 * inf here
    >>> round(float(expected_purchases_while_alive(2e4, 1.2e5, 3.0, 0.5)), 6)
    1.308742
    """
    a, b, k, u = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, k, u)))
    with np.errstate(all="ignore"):
        a_safe = _safe_a(a)
        c = a + b - 1.0
        z = u / (1.0 + u)
        tail = np.exp((a_safe - 1.0) * -np.log1p(u)) * hyp2f1(c - k, a_safe - 1.0, c, z)
        value = c / (a_safe - 1.0) * (1.0 - tail)
        lower = -np.expm1(-k * np.log1p(u))
        upper = k * u
    value = np.where(u == 0.0, 0.0, value)
    slow = ~(
        (np.isfinite(value) & (value >= lower * (1 - 1e-12)) & (value <= upper * (1 + 1e-12)))
        & (
            (u == 0.0)
            | (
                (a < _FAST_MAX_A)
                & (b < _FAST_MAX_B)
                & (k < _FAST_MAX_K)
                & (u >= _FAST_MIN_U)
                & (np.abs(a - 1.0) > 1e-3)  # 0/0 next to a = 1
            )
        )
    )
    if not np.any(slow):
        return value
    value = np.array(value, dtype=float)
    rows = np.stack([a[slow], b[slow], k[slow], u[slow]], axis=1)
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    series = _positive_series(*unique.T)
    value[slow] = series[inverse.reshape(-1)]
    return value


def _positive_series(a, b, k, u) -> np.ndarray:
    """The series of :func:`expected_purchases_while_alive`, vectorised in blocks of terms."""
    total = np.zeros(a.size)
    with np.errstate(all="ignore"):
        log_z = np.log(u) - np.log1p(u)
        z = np.exp(log_z)
        log_1mz = -np.log1p(u)
        s_first = -np.expm1(k * log_1mz)  # P(N >= 1)
        log_m = np.zeros(a.size)  # log of (b)_{j-1} / (a+b)_{j-1}
        survival = s_first.copy()  # P(N >= j)
        log_pmf = np.log(k) + log_z + k * log_1mz  # log P(N = j)
    active = np.flatnonzero((u > 0) & (s_first > 0))
    j0 = 1
    steps = np.arange(_SERIES_BLOCK, dtype=float)[:, None]
    while active.size and j0 < _SERIES_MAX_TERMS:
        A, B, K = a[active], b[active], k[active]
        j = j0 + steps
        with np.errstate(all="ignore"):
            step_m = np.log1p(-A / (A + B + j - 1.0))
            step_p = np.log((K + j) / (j + 1.0)) + log_z[active]
        lm = log_m[active] + np.cumsum(step_m, axis=0) - step_m
        lp = log_pmf[active] + np.cumsum(step_p, axis=0) - step_p
        pmf = np.exp(lp)
        s = np.maximum(survival[active] - (np.cumsum(pmf, axis=0) - pmf), 0.0)
        total[active] += np.einsum("ij,ij->j", np.exp(lm), s)
        log_m[active] = lm[-1] + step_m[-1]
        log_pmf[active] = lp[-1] + step_p[-1]
        j0 += _SERIES_BLOCK
        # below this the survival function is rounding noise of the recursion
        s_next = s[-1] - pmf[-1]
        s_next = np.where(s_next < 8.0 * j0 * _EPS * s_first[active], 0.0, s_next)
        survival[active] = s_next
        m_next = np.exp(log_m[active])
        # rest <= m_j0 * sum_{j >= j0} P(N >= j): geometric beyond the mode of N, or,
        # for a > 1, P(N >= j0) * sum_{j >= j0} m_j in closed form
        rho = z[active] * np.maximum((K + j0) / (j0 + 1.0), 1.0)
        with np.errstate(all="ignore"):
            rest_n = np.where(rho < 1.0, m_next * s_next / (1.0 - rho), np.inf)
            rest_p = np.where(A > 1.0, m_next * s_next * (A + B + j0 - 2.0) / (A - 1.0), np.inf)
        rest = np.where(s_next == 0.0, 0.0, np.minimum(rest_n, rest_p))
        active = active[rest > 1e-16 * total[active]]
    return total


def _log_ratio(alpha, T, t_x):
    """``log((alpha + T) / (alpha + t_x))`` without cancellation for large ``alpha``."""
    return np.log1p((T - t_x) / (alpha + t_x))


def beta_geometric_objective(data: RfmData, *, modified: bool) -> Objective:
    """Mean negative log-likelihood and analytic gradient on log-parameters.

    Shared by BG/NBD (``modified=False``) and MBG/NBD (``modified=True``), whose
    likelihoods differ only in whether a customer can drop out right after the
    first purchase.

    Parameters
    ----------
    data
        Compressed customer histories.
    modified
        ``True`` for MBG/NBD.

    Returns
    -------
    callable
        ``theta -> (value, gradient)`` with ``theta = log([r, alpha, a, b])``.
    """
    k = 1.0 if modified else 0.0
    x_code, x_values = data.x_codes
    T_code, T_values = data.T_codes
    t_code, t_values = data.t_x_codes
    w = data.weight
    total = data.n_customers
    w_by_x = np.bincount(x_code, weights=w, minlength=x_values.size)
    w_by_T = np.bincount(T_code, weights=w, minlength=T_values.size)
    wx_by_T = np.bincount(T_code, weights=w * data.x, minlength=T_values.size)
    # rows with a "dropped out after the last purchase" term
    rows = np.ones(data.n_rows, dtype=bool) if modified else data.x > 0
    xs, ws = data.x[rows], w[rows]
    xc, Tc, tc = x_code[rows], T_code[rows], t_code[rows]
    # dropout denominator b + x - 1 (+1 for MBG); x = 0 rows of BG/NBD never use it
    shift = np.maximum(x_values + k - 1.0, 0.0)
    n_values = x_values + k

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        # r log(alpha) - r log(alpha + T) is written -r log1p(T / alpha) and the
        # gamma-function differences as rising factorials, so nothing cancels when
        # r and alpha run to 1e8 together (no rate heterogeneity)
        r, alpha, a, b = np.exp(theta)
        log_alpha_T = np.log(alpha + T_values)
        log1p_T = np.log1p(T_values / alpha)
        # B(a, b + n) / B(a, b) = (b)_n / (a + b)_n with n = x (+1 for MBG): rising
        # factorials, so nothing cancels when a and b run to 1e8 together (no dropout
        # heterogeneity)
        constant = log_rising(r, x_values) + log_rising(b, n_values) - log_rising(a + b, n_values)
        ll = dot(w_by_x, constant) - r * dot(w_by_T, log1p_T) - dot(wx_by_T, log_alpha_T)
        dlog = np.log1p((T_values[Tc] - t_values[tc]) / (alpha + t_values[tc]))
        log_odds = np.log(a) - np.log(b + shift)
        g = log_odds[xc] + (r + xs) * dlog
        ll += dot(ws, np.logaddexp(0.0, g))
        sig = ws * expit(g)
        sig_by_x = np.bincount(xc, weights=sig, minlength=x_values.size)
        inv_T = 1.0 / (alpha + T_values)
        d_r = dot(w_by_x, digamma_rising(r, x_values)) - dot(w_by_T, log1p_T) + dot(sig, dlog)
        # alpha * d/dalpha
        d_alpha = (
            r * dot(w_by_T, T_values * inv_T)
            - alpha * dot(wx_by_T, inv_T)
            - alpha
            * dot(
                sig,
                (r + xs)
                * (T_values[Tc] - t_values[tc])
                / ((alpha + T_values[Tc]) * (alpha + t_values[tc])),
            )
        )
        rising_ab = digamma_rising(a + b, n_values)
        d_a = -dot(w_by_x, rising_ab) + sig_by_x.sum() / a
        d_b = dot(w_by_x, digamma_rising(b, n_values) - rising_ab) - dot(
            sig_by_x, 1.0 / (b + shift)
        )
        grad = np.array([d_r * r, d_alpha, d_a * a, d_b * b])
        return -ll / total, -grad / total

    return objective


class BetaGeoModel(TransactionModel):
    """BG/NBD model (beta-geometric / negative binomial distribution).

    Parameters
    ----------
    time_unit
        Unit of ``recency`` and ``T``: ``"days"``, ``"weeks"`` or ``"months"``.
    n_starts
        Number of optimiser starting points.
    seed
        Seed for the start search subsample on very large data.

    Attributes
    ----------
    params_ : dict[str, float]
        ``r, alpha`` (purchase-rate gamma) and ``a, b`` (dropout beta).

    References
    ----------
    .. [1] Fader, Hardie and Lee (2005), Marketing Science 24(2), 275-284.

    Examples
    --------
    >>> model = BetaGeoModel.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> round(model.probability_no_purchases(39.0), 3)
    0.574
    """

    name = "bgnbd"
    param_names = ("r", "alpha", "a", "b")

    def _objective(self, data: RfmData) -> Objective:
        return beta_geometric_objective(data, modified=False)

    def _start_params(self, rate: float, data: RfmData, scale: float) -> np.ndarray:
        return np.array([scale, scale / rate, scale, 2.0 * scale])

    @staticmethod
    def _log_likelihood(params: Params, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = params
        first = (
            log_rising(r, x)
            + log_rising(b, x)
            - log_rising(a + b, x)
            - r * np.log1p(T / alpha)
            - x * np.log(alpha + T)
        )
        g = np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * _log_ratio(alpha, T, t_x)
        return first + np.where(x > 0, np.logaddexp(0.0, g), 0.0)

    @staticmethod
    def _probability_alive(params: Params, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = params
        g = np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * _log_ratio(alpha, T, t_x)
        return np.where(x > 0, expit(-g), 1.0)

    @staticmethod
    def _expected_purchases_if_alive(params: Params, t, x, T) -> np.ndarray:
        # FHL (2005) eq. (10) divided by P(alive): alive at T, the rate is
        # Gamma(r + x, alpha + T) and the dropout probability Beta(a, b + x)
        r, alpha, a, b = params
        return expected_purchases_while_alive(a, b + x, r + x, t / (alpha + T))

    @staticmethod
    def _probability_no_purchase_if_alive(params: Params, t, x, T) -> np.ndarray:
        r, alpha, _, _ = params
        return np.exp(-(r + x) * np.log1p(t / (alpha + T)))
