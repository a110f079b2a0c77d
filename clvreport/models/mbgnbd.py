"""The MBG/NBD model: like BG/NBD, but customers can also drop out right after their first purchase.

This removes BG/NBD's assumption that every customer without repeat purchases
is still active: a one-time buyer's probability of being alive falls with time.
Purchase rates are ``Gamma(r, alpha)``, dropout probabilities ``Beta(a, b)``.

References
----------
.. [1] Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). Empirical
   validation and comparison of models for customer base analysis.
   International Journal of Research in Marketing 24(3), 201-209.
.. [2] Wagner, U. and Hoppe, D. (2008). Erratum on the MBG/NBD model.
   International Journal of Research in Marketing 25(3), 225-226.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from clvreport.models.base import Params, TransactionModel
from clvreport.models.bgnbd import (
    _log_ratio,
    beta_geometric_objective,
    expected_purchases_while_alive,
)
from clvreport.models.compression import RfmData
from clvreport.models.numeric import log_rising
from clvreport.models.optimise import Objective

__all__ = ["ModifiedBetaGeoModel"]


class ModifiedBetaGeoModel(TransactionModel):
    """MBG/NBD model (modified beta-geometric / NBD).

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
    .. [1] Batislam, Denizel and Filiztekin (2007), IJRM 24(3), 201-209.

    Examples
    --------
    >>> params = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
    >>> model = ModifiedBetaGeoModel.from_params(params)
    >>> bool(model.probability_alive(0, 0.0, 10.0) < 1)
    True
    """

    name = "mbgnbd"
    param_names = ("r", "alpha", "a", "b")

    def _objective(self, data: RfmData) -> Objective:
        return beta_geometric_objective(data, modified=True)

    def _start_params(self, rate: float, data: RfmData, scale: float) -> np.ndarray:
        return np.array([scale, scale / rate, scale, 2.0 * scale])

    @staticmethod
    def _log_likelihood(params: Params, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = params
        first = (
            log_rising(r, x)
            + log_rising(b, x + 1.0)
            - log_rising(a + b, x + 1.0)
            - r * np.log1p(T / alpha)
            - x * np.log(alpha + T)
        )
        g = np.log(a) - np.log(b + x) + (r + x) * _log_ratio(alpha, T, t_x)
        return first + np.logaddexp(0.0, g)

    @staticmethod
    def _probability_alive(params: Params, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = params
        g = np.log(a) - np.log(b + x) + (r + x) * _log_ratio(alpha, T, t_x)
        return expit(-g)

    @staticmethod
    def _alive_after_first_purchase(params: Params):
        _, _, a, b = params
        return b / (a + b)

    @staticmethod
    def _expected_purchases_if_alive(params: Params, t, x, T) -> np.ndarray:
        # Wagner and Hoppe (2008) conditional expectation divided by P(alive): alive
        # at T, the rate is Gamma(r + x, alpha + T), the dropout probability
        # Beta(a, b + x + 1) (the customer also survived the first purchase)
        r, alpha, a, b = params
        return expected_purchases_while_alive(a, b + x + 1.0, r + x, t / (alpha + T))

    @staticmethod
    def _probability_no_purchase_if_alive(params: Params, t, x, T) -> np.ndarray:
        r, alpha, _, _ = params
        return np.exp(-(r + x) * np.log1p(t / (alpha + T)))
