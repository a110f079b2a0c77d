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
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from clvreport.models.base import Objective, Params, RfmData, TransactionModel, dot

__all__ = ["BetaGeoModel"]


def _safe_a(a):
    """Nudge ``a`` off 1, where the expectation formula is 0/0 (its limit is smooth)."""
    return np.where(np.abs(a - 1.0) < 1e-8, 1.0 + 1e-8, a)


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

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(theta)
        log_alpha_T = np.log(alpha + T_values)
        log_alpha_t = np.log(alpha + t_values)
        bx = b + x_values + k
        constant = (
            gammaln(r + x_values) - gammaln(r) + r * np.log(alpha) + betaln(a, bx) - betaln(a, b)
        )
        ll = dot(w_by_x, constant) - dot(r * w_by_T + wx_by_T, log_alpha_T)
        dlog = log_alpha_T[Tc] - log_alpha_t[tc]
        log_odds = np.log(a) - np.log(b + shift)
        g = log_odds[xc] + (r + xs) * dlog
        ll += dot(ws, np.logaddexp(0.0, g))
        sig = ws * expit(g)
        sig_by_x = np.bincount(xc, weights=sig, minlength=x_values.size)
        inv_T = 1.0 / (alpha + T_values)
        inv_t = 1.0 / (alpha + t_values)
        d_r = (
            dot(w_by_x, digamma(r + x_values) - digamma(r))
            + total * np.log(alpha)
            - dot(w_by_T, log_alpha_T)
            + dot(sig, dlog)
        )
        d_alpha = (
            total * r / alpha
            - dot(r * w_by_T + wx_by_T, inv_T)
            + dot(sig, (r + xs) * (inv_T[Tc] - inv_t[tc]))
        )
        psi_abx = digamma(a + bx)
        d_a = dot(w_by_x, digamma(a + b) - psi_abx) + sig_by_x.sum() / a
        d_b = dot(w_by_x, digamma(bx) - psi_abx - digamma(b) + digamma(a + b)) - dot(
            sig_by_x, 1.0 / (b + shift)
        )
        grad = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
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
            gammaln(r + x)
            - gammaln(r)
            + r * np.log(alpha)
            + betaln(a, b + x)
            - betaln(a, b)
            - (r + x) * np.log(alpha + T)
        )
        g = (
            np.log(a)
            - np.log(b + np.maximum(x, 1) - 1)
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        return first + np.where(x > 0, np.logaddexp(0.0, g), 0.0)

    @staticmethod
    def _probability_alive(params: Params, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = params
        g = (
            np.log(a)
            - np.log(b + np.maximum(x, 1) - 1)
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        return np.where(x > 0, expit(-g), 1.0)

    @staticmethod
    def _expected_purchases_if_alive(params: Params, t, x, T) -> np.ndarray:
        # FHL (2005) eq. (10) with Euler's transformation of 2F1, which keeps the
        # hypergeometric factor bounded for large x.
        r, alpha, a, b = params
        a = _safe_a(a)
        z = t / (alpha + T + t)
        c = a + b + x - 1.0
        tail = (1.0 - z) ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        return c / (a - 1.0) * (1.0 - tail)

    @staticmethod
    def _probability_no_purchase_if_alive(params: Params, t, x, T) -> np.ndarray:
        r, alpha, _, _ = params
        return np.exp(-(r + x) * np.log1p(t / (alpha + T)))
