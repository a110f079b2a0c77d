"""The Gamma-Gamma model of spend per transaction.

Each transaction of a customer is worth ``Gamma(p, nu)``; the customer's scale
``nu`` varies as ``Gamma(q, gamma)`` across customers. Fitted on the mean
repeat spend ``m`` of customers with ``x >= 1`` repeat purchases, it shrinks a
customer's own average towards the population mean, more so the fewer
purchases there are. The model assumes spend per transaction does not depend on
how often a customer buys; :func:`spend_frequency_correlation` checks that.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV: Using
   Iso-Value Curves for Customer Base Analysis. Journal of Marketing Research
   42(4), 415-430.
.. [2] Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma Model of
   Monetary Value. http://www.brucehardie.com/notes/025/
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Self

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from clvreport.errors import DataError, ModelError
from clvreport.models.base import MaximumLikelihoodModel, _broadcast_out
from clvreport.models.inputs import ArrayLike, validate_summary
from clvreport.models.numeric import dot
from clvreport.models.optimise import Objective

__all__ = ["GammaGammaModel", "SpendData", "spend_frequency_correlation"]


@dataclass(frozen=True, eq=False)
class SpendData:
    """Repeat buyers' purchase counts ``x >= 1`` and mean spends ``m > 0`` with weights."""

    x: np.ndarray
    m: np.ndarray
    weight: np.ndarray
    n_excluded: int = 0

    @cached_property
    def n_customers(self) -> float:
        """Total weight."""
        return float(self.weight.sum())

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.x.size)

    def subsample(self, n_customers: float, rng: np.random.Generator) -> SpendData:
        """A random weighted subsample of about ``n_customers`` customers."""
        fraction = min(1.0, n_customers / self.n_customers)
        weight = rng.binomial(np.round(self.weight).astype(np.int64), fraction).astype(float)
        keep = weight > 0
        return SpendData(self.x[keep], self.m[keep], weight[keep])


def spend_data(
    frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None
) -> SpendData:
    """Keep customers with repeat purchases and a positive mean spend.

    Parameters
    ----------
    frequency
        Repeat purchases per customer.
    monetary_value
        Mean spend of the repeat purchases.
    weights
        Customers per row (default 1).

    Returns
    -------
    SpendData
        The usable rows; ``n_excluded`` counts repeat buyers without a positive spend.

    Examples
    --------
    >>> data = spend_data([0, 2, 3], [0.0, 10.0, -1.0])
    >>> data.n_rows, data.n_excluded
    (1, 1)
    """
    x = np.asarray(frequency, dtype=float).reshape(-1)
    m = np.asarray(monetary_value, dtype=float).reshape(-1)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).reshape(-1)
    if not (x.size == m.size == w.size):
        raise DataError("frequency, monetary_value and weights differ in length")
    if not (np.isfinite(x).all() and np.isfinite(m).all() and np.isfinite(w).all()):
        raise DataError("frequency or monetary_value has missing or infinite values")
    buyers = (x > 0) & (w > 0)
    keep = buyers & (m > 0)
    return SpendData(x[keep], m[keep], w[keep], n_excluded=round(w[buyers & ~keep].sum()))


def spend_frequency_correlation(frequency: ArrayLike, monetary_value: ArrayLike) -> float:
    """Pearson correlation between purchase count and mean spend among repeat buyers.

    Gamma-Gamma assumes spend per transaction is independent of purchase
    frequency; a strong correlation (say ``|rho| > 0.3``) means its spend
    predictions are biased.

    Parameters
    ----------
    frequency, monetary_value
        Summary columns.

    Returns
    -------
    float
        The correlation, or NaN with fewer than three repeat buyers or no variation.

    Examples
    --------
    >>> round(spend_frequency_correlation([1, 2, 3, 4], [10.0, 20.0, 30.0, 40.0]), 3)
    1.0
    """
    data = spend_data(frequency, monetary_value)
    if data.n_rows < 3 or np.ptp(data.x) == 0 or np.ptp(data.m) == 0:
        return float("nan")
    return float(np.corrcoef(data.x, data.m)[0, 1])


def _gamma_gamma_objective(data: SpendData) -> Objective:
    x, m, w = data.x, data.m, data.weight
    total = data.n_customers
    x_values, x_code = np.unique(x, return_inverse=True)
    w_by_x = np.bincount(x_code, weights=w, minlength=x_values.size)
    log_x = np.log(x_values)
    log_m = np.log(m)
    mx = m * x
    wx = w * x
    sum_w_log_m = dot(w, log_m)
    sum_wx_log_m = dot(wx, log_m)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, gamma = np.exp(theta)
        px = p * x_values
        log_scale = np.log(gamma + mx)
        inv_scale = 1.0 / (gamma + mx)
        ll = (
            dot(w_by_x, gammaln(px + q) - gammaln(px) + px * log_x)
            + total * (q * np.log(gamma) - gammaln(q))
            + p * sum_wx_log_m
            - sum_w_log_m
            - p * dot(wx, log_scale)
            - q * dot(w, log_scale)
        )
        psi_pxq = digamma(px + q)
        d_p = (
            dot(w_by_x * x_values, psi_pxq - digamma(px) + log_x)
            + sum_wx_log_m
            - dot(wx, log_scale)
        )
        d_q = dot(w_by_x, psi_pxq) - total * digamma(q) + total * np.log(gamma) - dot(w, log_scale)
        d_gamma = total * q / gamma - p * dot(wx, inv_scale) - q * dot(w, inv_scale)
        grad = np.array([d_p * p, d_q * q, d_gamma * gamma])
        return -ll / total, -grad / total

    return objective


class GammaGammaModel(MaximumLikelihoodModel):
    """Gamma-Gamma model of the mean spend per repeat purchase.

    Parameters
    ----------
    n_starts
        Number of optimiser starting points.
    seed
        Seed for the start search subsample on very large data.
    time_unit
        Recorded for completeness; spend does not depend on time.

    Attributes
    ----------
    params_ : dict[str, float]
        ``p`` (shape of each spend), ``q`` and ``gamma`` (shape and rate of the
        customers' scales).
    n_excluded_ : int
        Repeat buyers left out because their mean spend was not positive.

    References
    ----------
    .. [1] Fader and Hardie (2013), http://www.brucehardie.com/notes/025/

    Examples
    --------
    >>> model = GammaGammaModel.from_params({"p": 6.25, "q": 3.74, "gamma": 15.44})
    >>> round(model.mean_spend, 2)
    35.22
    """

    name = "gamma_gamma"
    param_names = ("p", "q", "gamma")

    def __init__(self, *, n_starts: int = 3, seed: int = 0, time_unit: Any = "weeks"):
        super().__init__(time_unit=time_unit, n_starts=n_starts, seed=seed)
        self.n_excluded_: int = 0

    def fit(
        self,
        data: pd.DataFrame | ArrayLike,
        monetary_value: ArrayLike | None = None,
        weights: ArrayLike | None = None,
    ) -> Self:
        """Fit on the repeat buyers' purchase counts and mean spends.

        Parameters
        ----------
        data
            A summary table with ``frequency`` and ``monetary_value`` columns, or
            the frequency array (then pass ``monetary_value``). Customers
            without repeat purchases are ignored.
        monetary_value
            Mean spend of the repeat purchases, when ``data`` is an array.
        weights
            Customers per row (default 1).

        Returns
        -------
        GammaGammaModel
            ``self``, fitted.

        Raises
        ------
        clvreport.errors.ModelError
            With fewer than two usable repeat buyers.
        """
        if isinstance(data, pd.DataFrame):
            validate_summary(data, ("frequency", "monetary_value"))
            frequency, monetary_value = data["frequency"], data["monetary_value"]
        else:
            if monetary_value is None:
                raise ModelError("pass a summary DataFrame, or frequency and monetary_value")
            frequency = data
        spend = spend_data(frequency, monetary_value, weights)
        if spend.n_customers < 2:
            raise ModelError(
                "cannot fit the Gamma-Gamma spend model: fewer than two repeat buyers "
                "with a positive spend"
            )
        self.n_excluded_ = spend.n_excluded
        return self._fit_data(spend)

    def _objective(self, data: SpendData) -> Objective:
        return _gamma_gamma_objective(data)

    def _starting_points(self, data: SpendData) -> list[np.ndarray]:
        mean = float(data.weight @ data.m) / data.n_customers
        shapes = [(1.0, 2.0), (5.0, 3.0), (2.0, 5.0), (10.0, 10.0)]
        return [np.log([p, q, mean * (q - 1.0) / p]) for p, q in shapes]

    @staticmethod
    def _log_likelihood(params, x, m) -> np.ndarray:
        p, q, gamma = params
        return (
            gammaln(p * x + q)
            - gammaln(p * x)
            - gammaln(q)
            + q * np.log(gamma)
            + (p * x - 1.0) * np.log(m)
            + p * x * np.log(x)
            - (p * x + q) * np.log(gamma + m * x)
        )

    @staticmethod
    def _expected_spend(params, x, m) -> np.ndarray:
        p, q, gamma = params
        return p * (gamma + x * m) / (p * x + q - 1.0)

    def log_likelihood(self, frequency: Any, monetary_value: Any) -> np.ndarray | float:
        """Log-likelihood of each repeat buyer's mean spend.

        Parameters
        ----------
        frequency, monetary_value
            Repeat purchases (``>= 1``) and their mean spend (``> 0``).

        Returns
        -------
        numpy.ndarray or float
            One value per customer.
        """
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        params = tuple(self.param_vector)
        return _broadcast_out(self._log_likelihood(params, x, m), x, m)

    @property
    def mean_spend(self) -> float:
        """Population mean spend per transaction, ``p * gamma / (q - 1)`` (NaN when ``q <= 1``)."""
        p, q, gamma = self.param_vector
        return float(p * gamma / (q - 1.0)) if q > 1 else float("nan")

    def expected_spend(self, frequency: Any, monetary_value: Any) -> np.ndarray | float:
        """Expected spend per future transaction given a customer's history.

        A weighted average of the population mean and the customer's own mean,
        the weight on the latter growing with the number of repeat purchases.
        Customers without repeat purchases get the population mean.

        Parameters
        ----------
        frequency
            Repeat purchases per customer.
        monetary_value
            Mean spend of those repeat purchases (ignored when frequency is 0).

        Returns
        -------
        numpy.ndarray or float
            Expected spend per transaction.

        Raises
        ------
        clvreport.errors.ModelError
            When ``q <= 1``: the model's mean spend is then infinite.
        """
        p, q, gamma = self.param_vector
        if q <= 1:
            raise ModelError(
                f"the Gamma-Gamma fit has q = {q:.3g} <= 1, so its mean spend is undefined",
                hint="use the customers' historic average spend instead",
            )
        x = np.asarray(frequency, dtype=float)
        m = np.where(x > 0, np.asarray(monetary_value, dtype=float), 0.0)
        return _broadcast_out(self._expected_spend((p, q, gamma), x, m), x, m)
