r"""The Pareto/NBD model: Poisson purchases during an exponential lifetime.

While alive, a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``;
lifetimes are exponential with rate ``mu ~ Gamma(s, beta)``.

Numerics
--------
The likelihood needs the integral over the unobserved time of death,

.. math:: J_x(t) = \int_t^\infty (\alpha + u)^{-(r+x)} (\beta + u)^{-(s+1)} du,

which Fader and Hardie (2005) write with the Gauss hypergeometric function
:math:`{}_2F_1(r+s+x, b; r+s+x+1; z)`, :math:`0 \le z < 1`. Euler's
transformation turns it into :math:`(1-z)^{1-b}\,{}_2F_1(1, m; r+s+x+1; z)`, a
series of positive terms bounded by :math:`(r+s+x)/\min(r+x, s)` that cannot
overflow however large ``x`` is; the difference :math:`J_x(t_x) - J_x(T)` is
taken in log space. ``J`` depends on a customer only through ``(x, t)`` pairs,
so it is evaluated once per distinct pair. Its derivatives in ``alpha`` and
``beta`` are again such integrals (with ``x + 1`` and ``s + 1``); those in ``r``
and ``s`` come from central differences of the cheap pair-level function. The
rest of the gradient is analytic.

References
----------
.. [1] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). Counting
   Your Customers: Who Are They and What Will They Do Next? Management
   Science 33(1), 1-24.
.. [2] Fader, P. S. and Hardie, B. G. S. (2005). A Note on Deriving the
   Pareto/NBD Model and Related Expressions.
   http://www.brucehardie.com/notes/009/
"""

from __future__ import annotations

import numpy as np
from scipy.special import hyp2f1, logsumexp

from clvreport.models.base import Params, TransactionModel
from clvreport.models.compression import RfmData, factorize_pairs
from clvreport.models.numeric import digamma_rising, dot, log_rising
from clvreport.models.optimise import Face, Objective

__all__ = ["ParetoNBDModel", "log_death_integral"]

_LN2 = float(np.log(2.0))
_Z_QUADRATURE = 0.99
_STEP = 1e-5  # central-difference step in log-parameters for the pair-level integral


def log_death_integral(r, alpha, s, beta, x, t):
    r"""Log of :math:`\int_t^\infty (\alpha+u)^{-(r+x)} (\beta+u)^{-(s+1)} du`.

    Computed as ``2F1(1, m; r+s+x+1; z)`` with ``z = |alpha - beta| / (max(alpha, beta) + t)``
    in ``[0, 1)``: a series of positive terms bounded by ``(r+s+x) / min(r+x, s)``, so it
    neither overflows nor cancels. For ``z > 0.99`` (alpha and beta orders of magnitude
    apart), where SciPy's ``hyp2f1`` can lose accuracy, and wherever it fails, the
    integral is computed by double-exponential quadrature instead.

    Parameters
    ----------
    r, alpha, s, beta
        Pareto/NBD parameters (broadcastable arrays).
    x
        Number of repeat purchases.
    t
        Lower limit of the integral.

    Returns
    -------
    numpy.ndarray
        The log-integral.

    References
    ----------
    .. [1] Fader and Hardie (2005), A Note on Deriving the Pareto/NBD Model,
       eqs. (19)-(20), here after Euler's transformation of their 2F1.

    Examples
    --------
    >>> # alpha == beta: the integral is (alpha + t)^-(r+s+x) / (r+s+x)
    >>> round(float(np.exp(log_death_integral(1.0, 2.0, 1.0, 2.0, 1.0, 0.0))), 6)
    0.041667
    """
    rsx = r + s + x
    low = np.minimum(alpha, beta)
    high = np.maximum(alpha, beta)
    alpha_low = alpha < beta
    m = np.where(alpha_low, s + 1.0, r + x)
    one_minus_b = np.where(alpha_low, 1.0 - r - x, -s)
    log_low = np.log(low + t)
    log_high = np.log(high + t)
    z = (high - low) / (high + t)
    with np.errstate(all="ignore"):
        g = hyp2f1(1.0, m, rsx + 1.0, z)
        out = np.log(g) + one_minus_b * (log_low - log_high) - rsx * log_high - np.log(rsx)
    # SciPy loses accuracy for z very close to 1 when c - a - b is (nearly) whole
    bad = ~np.isfinite(out) | (z > _Z_QUADRATURE)
    if np.any(bad):
        out = np.array(out, dtype=float)
        args = np.broadcast_arrays(r, alpha, s, beta, x, t)
        bad = np.broadcast_to(bad, out.shape)
        out[bad] = _log_death_integral_quadrature(*(a[bad] for a in args))
    return out


_DE_STEP = 0.05
_DE_NODES = np.arange(-4.5, 9.0, _DE_STEP)
_DE_LOG_WEIGHTS = np.log(np.pi / 2 * np.cosh(_DE_NODES) * _DE_STEP)


def _log_death_integral_quadrature(r, alpha, s, beta, x, t):
    """Fallback for :func:`log_death_integral`: exp-sinh quadrature in log space (vectorised)."""
    a, b = alpha + t, beta + t
    k, m = r + x, s + 1.0
    log_scale = -np.log(k / a + m / b)  # initial e-folding length of the integrand
    log_v = log_scale + np.pi / 2 * np.sinh(_DE_NODES)[:, None]
    log_f = -k * np.logaddexp(0.0, log_v - np.log(a)) - m * np.logaddexp(0.0, log_v - np.log(b))
    total = logsumexp(log_f + log_v + _DE_LOG_WEIGHTS[:, None], axis=0)
    return total - k * np.log(a) - m * np.log(b)


def _log_diff_exp(a, b):
    """``log(exp(a) - exp(b))`` for ``a >= b``; ``-inf`` when they are equal."""
    d = b - a
    with np.errstate(divide="ignore", invalid="ignore"):
        return a + np.where(d > -_LN2, np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


def _pareto_objective(data: RfmData) -> Objective:
    x_code, x_values = data.x_codes
    T_code, T_values = data.T_codes
    c1, x1, t1 = data.pair_codes("t_x")
    c2, x2, t2 = data.pair_codes("T")
    n1 = x1.size
    pair_x = np.concatenate([x1, x2])
    pair_t = np.concatenate([t1, t2])
    w = data.weight
    total = data.n_customers
    x = data.x
    w_by_x = np.bincount(x_code, weights=w, minlength=x_values.size)
    # variants of (r, s) for central differences; x + 1 and s + 1 give the alpha and
    # beta derivatives exactly: dJ/dalpha = -(r+x) J(x+1), dJ/dbeta = -(s+1) J(s+1)
    log_r_step = np.array([0, _STEP, -_STEP, 0, 0, 0, 0])[:, None]
    log_s_step = np.array([0, 0, 0, _STEP, -_STEP, 0, 0])[:, None]
    s_plus = np.array([0, 0, 0, 0, 0, 0, 1.0])[:, None]
    x_variants = pair_x[None, :] + np.array([0, 0, 0, 0, 0, 1.0, 0])[:, None]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, s, beta = np.exp(theta)
        # the death integral and its log-parameter derivatives, once per distinct pair
        log_j = log_death_integral(
            r * np.exp(log_r_step), alpha, s * np.exp(log_s_step) + s_plus, beta, x_variants, pair_t
        )
        d_log_j = np.stack(
            [
                (log_j[1] - log_j[2]) / (2 * _STEP),
                -alpha * (r + pair_x) * np.exp(log_j[5] - log_j[0]),
                (log_j[3] - log_j[4]) / (2 * _STEP),
                -beta * (s + 1.0) * np.exp(log_j[6] - log_j[0]),
            ]
        )
        l1, l2 = log_j[0, :n1][c1], log_j[0, n1:][c2]
        log_a = np.log(s) + _log_diff_exp(l1, l2)
        log_alpha_T = np.log(alpha + T_values)
        log_beta_T = np.log(beta + T_values)
        e = -(r + x) * log_alpha_T[T_code] - s * log_beta_T[T_code]
        inner = np.logaddexp(e, log_a)
        head = log_rising(r, x_values)
        ll = dot(w_by_x, head) + total * (r * np.log(alpha) + s * np.log(beta)) + dot(w, inner)
        # gradient (log-parameters)
        p_e = np.exp(e - inner)
        p_a = np.exp(log_a - inner)
        ratio = np.exp(l2 - l1)
        with np.errstate(divide="ignore", invalid="ignore"):
            u1 = np.where(p_a > 0, w * p_a / (1.0 - ratio), 0.0)
        u2 = u1 * ratio
        by_pair1 = np.bincount(c1, weights=u1, minlength=n1)
        by_pair2 = np.bincount(c2, weights=u2, minlength=x2.size)
        grad = np.einsum("ki,i->k", d_log_j[:, :n1], by_pair1) - np.einsum(
            "ki,i->k", d_log_j[:, n1:], by_pair2
        )
        we = w * p_e
        e_by_T = np.bincount(T_code, weights=we, minlength=T_values.size)
        ex_by_T = np.bincount(T_code, weights=we * x, minlength=T_values.size)
        grad += np.array(
            [
                r * (dot(w_by_x, digamma_rising(r, x_values)) + total * np.log(alpha))
                - r * dot(e_by_T, log_alpha_T),
                total * r - alpha * dot(r * e_by_T + ex_by_T, 1.0 / (alpha + T_values)),
                s * total * np.log(beta) - s * dot(e_by_T, log_beta_T) + dot(w, p_a),
                total * s - beta * s * dot(e_by_T, 1.0 / (beta + T_values)),
            ]
        )
        return -ll / total, -grad / total

    return objective


class ParetoNBDModel(TransactionModel):
    """Pareto/NBD model.

    Parameters
    ----------
    time_unit
        Unit of ``recency`` and ``T``: ``"days"``, ``"weeks"`` or ``"months"``.
    n_starts
        Number of optimiser starting points.
    seed
        Seed for the start search subsample on large data.

    Attributes
    ----------
    params_ : dict[str, float]
        ``r, alpha`` (purchase-rate gamma) and ``s, beta`` (dropout-rate gamma).

    References
    ----------
    .. [1] Schmittlein, Morrison and Colombo (1987), Management Science 33(1).
    .. [2] Fader and Hardie (2005), http://www.brucehardie.com/notes/009/

    Examples
    --------
    >>> model = ParetoNBDModel.from_params(
    ...     {"r": 0.55315, "alpha": 10.57633, "s": 0.60625, "beta": 11.67150})
    >>> round(model.probability_alive(26, 216 / 7, 31.0), 4)
    0.9979
    """

    name = "pnbd"
    param_names = ("r", "alpha", "s", "beta")
    search_customers = 10_000

    def _objective(self, data: RfmData) -> Objective:
        return _pareto_objective(data)

    def _boundary_faces(self, theta: np.ndarray) -> list[Face]:
        # The likelihood below is not yet free of cancellation at r, alpha ~ 1e8, so the
        # no-rate-heterogeneity limit is not offered (it would not pass the convergence
        # check, and costs a minute of failed search).
        faces = super()._boundary_faces(theta)
        return [f for f in faces if "no_rate_heterogeneity" not in f.limits]

    def _start_params(self, rate: float, data: RfmData, scale: float) -> np.ndarray:
        mean_age = max(float(data.weight @ data.T) / data.n_customers, 1e-6)
        return np.array([scale, scale / rate, scale, scale * mean_age])

    @staticmethod
    def _log_parts(params: Params, x, t_x, T):
        r, alpha, s, beta = params
        e = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        log_a = np.log(s) + _log_diff_exp(
            log_death_integral(r, alpha, s, beta, x, t_x),
            log_death_integral(r, alpha, s, beta, x, T),
        )
        return e, np.logaddexp(e, log_a)

    @staticmethod
    def _log_likelihood(params: Params, x, t_x, T) -> np.ndarray:
        r, alpha, s, beta = params
        _, inner = ParetoNBDModel._log_parts(params, x, t_x, T)
        return log_rising(r, x) + r * np.log(alpha) + s * np.log(beta) + inner

    @staticmethod
    def _probability_alive(params: Params, x, t_x, T) -> np.ndarray:
        e, inner = ParetoNBDModel._log_parts(params, x, t_x, T)
        return np.exp(e - inner)

    @classmethod
    def _probability_alive_many(cls, params: Params, x, t_x, T) -> np.ndarray:
        # the death integral once per distinct (x, t_x) and (x, T) pair
        r, alpha, s, beta = params
        c1, x1, t1 = factorize_pairs(x, t_x)
        c2, x2, T2 = factorize_pairs(x, T)
        l1 = log_death_integral(r, alpha, s, beta, x1, t1)[..., c1]
        l2 = log_death_integral(r, alpha, s, beta, x2, T2)[..., c2]
        e = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        log_a = np.log(s) + _log_diff_exp(l1, l2)
        return np.exp(e - np.logaddexp(e, log_a))

    @staticmethod
    def _expected_purchases_if_alive(params: Params, t, x, T) -> np.ndarray:
        # Fader and Hardie (2005) eq. (41) divided by P(alive); stable near s = 1
        r, alpha, s, beta = params
        horizon = np.log1p(t / (beta + T))
        u = (s - 1.0) * horizon
        small = np.abs(u) < 1e-10
        factor = np.where(small, horizon, -np.expm1(-u) / np.where(small, 1.0, s - 1.0))
        return (r + x) * (beta + T) / (alpha + T) * factor

    @staticmethod
    def _probability_no_purchase_if_alive(params: Params, t, x, T) -> np.ndarray:
        # alive at T: the rates are Gamma(r + x, alpha + T) and Gamma(s, beta + T)
        r, alpha, s, beta = params
        survive = np.exp(-(r + x) * np.log1p(t / (alpha + T)) - s * np.log1p(t / (beta + T)))
        log_die = _log_diff_exp(
            log_death_integral(r, alpha, s, beta, x, T),
            log_death_integral(r, alpha, s, beta, x, T + t),
        )
        die = s * np.exp(log_die + (r + x) * np.log(alpha + T) + s * np.log(beta + T))
        return survive + die
