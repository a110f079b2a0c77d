"""Intervals from parameter uncertainty: a vectorised parametric bootstrap.

The maximum-likelihood estimates are approximately normal on the log scale
with the inverse observed information as covariance. We draw parameter
vectors from that distribution (``n_draws``, by default 200), recompute every
customer's forecast under all draws at once (NumPy broadcasting over an extra
leading axis) and report percentiles. Transaction and spend parameters are
drawn independently, as they are fitted separately.

These intervals describe how well the *expected* values are known from the
data; they are not prediction intervals for what one customer will actually
buy, which is far more variable. The predictive intervals that include the
purchase process itself are in :mod:`clvreport.models.predictive`, which mixes
the purchase distribution over the same draws.

References
----------
.. [1] Efron, B. and Tibshirani, R. J. (1993). An Introduction to the
   Bootstrap, ch. 6 (parametric bootstrap). Chapman & Hall.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from clvreport.models.base import MaximumLikelihoodModel, Params
from clvreport.models.clv import AliveForecast, ClvSettings, forecast_if_alive
from clvreport.models.compression import factorize_pairs

if TYPE_CHECKING:
    from clvreport.models.fitting import ClvModelFit

__all__ = [
    "ParameterDraws",
    "as_param_tuple",
    "draw_fit_parameters",
    "draw_parameters",
    "percentile_interval",
    "value_draws",
]


def draw_parameters(
    model: MaximumLikelihoodModel,
    n_draws: int,
    rng: np.random.Generator,
    *,
    min_q: float | None = None,
) -> np.ndarray | None:
    """Draw parameter vectors from the estimates' log-normal sampling distribution.

    Parameters
    ----------
    model
        A fitted model with ``covariance_log_``.
    n_draws
        Number of draws.
    rng
        Random generator.
    min_q
        For Gamma-Gamma: keep only draws with ``q`` above this (the mean
        spend is infinite for ``q <= 1``).

    Returns
    -------
    numpy.ndarray or None
        Array ``(n_draws, n_params)``, or ``None`` without a covariance matrix.

    Examples
    --------
    >>> from clvreport.models.gammagamma import GammaGammaModel
    >>> gg = GammaGammaModel.from_params({"p": 6.0, "q": 4.0, "gamma": 15.0})
    >>> draw_parameters(gg, 10, np.random.default_rng(0)) is None
    True
    """
    covariance = model.covariance_log_
    if covariance is None or not np.all(np.isfinite(covariance)):
        return None
    mean = np.log(model.param_vector)
    accepted: list[np.ndarray] = []
    count = 0
    for _ in range(20):
        with np.errstate(over="ignore"):  # a draw far out in a flat direction overflows
            draws = np.exp(rng.multivariate_normal(mean, covariance, size=n_draws, method="eigh"))
        draws = draws[np.all(np.isfinite(draws) & (draws > 0), axis=1)]
        if min_q is not None:
            draws = draws[draws[:, model.param_names.index("q")] > min_q]
        accepted.append(draws)
        count += len(draws)
        if count >= n_draws:
            return np.concatenate(accepted)[:n_draws]
    return None


def as_param_tuple(draws: np.ndarray) -> Params:
    """Turn ``(n_draws, k)`` draws into a tuple of ``(n_draws, 1)`` columns for broadcasting."""
    return tuple(draws[:, [i]] for i in range(draws.shape[1]))


def percentile_interval(values: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    """Central percentile interval over the first axis (NaNs ignored).

    Parameters
    ----------
    values
        Draws, shape ``(n_draws, ...)``.
    interval
        Coverage, e.g. 0.9 for the 5th and 95th percentiles.

    Returns
    -------
    tuple of numpy.ndarray
        ``(low, high)``.

    Examples
    --------
    >>> low, high = percentile_interval(np.arange(101.0)[:, None], 0.9)
    >>> round(float(low[0]), 6), round(float(high[0]), 6)
    (5.0, 95.0)
    """
    if not 0 < interval < 1:
        raise ValueError(f"interval must be between 0 and 1, not {interval}")
    tail = (1.0 - interval) / 2.0
    values = np.asarray(values, dtype=float)
    low, high = np.quantile(values, [tail, 1.0 - tail], axis=0)
    missing = np.isnan(low) | np.isnan(high)
    if np.any(missing):  # a few draws gave NaN: ignore them, column by column
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
            low[missing], high[missing] = np.nanquantile(
                values[:, missing], [tail, 1.0 - tail], axis=0
            )
    return low, high


@dataclass(frozen=True)
class ParameterDraws:
    """Parameter draws for a :class:`~clvreport.models.fitting.ClvModelFit`.

    Attributes
    ----------
    transaction
        ``(n_draws, 4)`` transaction-model draws, or ``None`` when its
        covariance is unavailable (then intervals are NaN).
    spend
        ``(n_draws, 3)`` Gamma-Gamma draws, or ``None`` (spend then taken as known).
    """

    transaction: np.ndarray | None
    spend: np.ndarray | None

    @property
    def available(self) -> bool:
        """Whether intervals can be computed."""
        return self.transaction is not None


def draw_fit_parameters(fit: ClvModelFit, n_draws: int = 200, seed: int = 0) -> ParameterDraws:
    """Draw transaction and spend parameters for a fitted :class:`ClvModelFit`.

    Parameters
    ----------
    fit
        Result of :func:`~clvreport.models.fitting.fit_clv_models`.
    n_draws
        Number of draws.
    seed
        Seed, for reproducible intervals.

    Returns
    -------
    ParameterDraws
        The draws.
    """
    rng = np.random.default_rng(seed)
    transaction = None if fit.model is None else draw_parameters(fit.model, n_draws, rng)
    spend = None
    if fit.spend_model is not None:
        spend = draw_parameters(fit.spend_model, n_draws, rng, min_q=1.0)
    return ParameterDraws(transaction, spend)


def value_draws(
    fit: ClvModelFit,
    draws: ParameterDraws,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    m: np.ndarray,
    settings: ClvSettings,
    *,
    alive: AliveForecast | None = None,
    pair_codes: np.ndarray | None = None,
    p_alive: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """CLV and expected purchases of each customer under every parameter draw.

    Parameters
    ----------
    fit
        The fitted models.
    draws
        Parameter draws (``draws.available`` must be true).
    x, t_x, T, m
        Customer histories and mean repeat spends (1-D arrays).
    settings
        Horizon and discounting.
    alive, pair_codes
        Precomputed :func:`~clvreport.models.clv.forecast_if_alive` under the
        same draws and each customer's index into its pairs; computed here
        when not given. Sharing them across chunks saves most of the work.
    p_alive
        ``P(alive)`` of each customer under each draw, ``(n_draws, n)``, when
        already computed.

    Returns
    -------
    tuple of numpy.ndarray
        ``(clv, expected_purchases)``, each ``(n_draws, n)``.
    """
    assert fit.model is not None and draws.transaction is not None
    params = as_param_tuple(draws.transaction)
    if alive is None or pair_codes is None:
        pair_codes, px, pT = factorize_pairs(x, T)
        alive = forecast_if_alive(fit.model, params, px, pT, settings)
    if p_alive is None:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            p_alive = fit.model._probability_alive_many(params, x, t_x, T)
    if draws.spend is not None:
        # once per distinct (x, m): all one-time buyers share one spend per draw
        codes, ux, um = factorize_pairs(np.asarray(x, float), np.asarray(m, float))
        spend = fit.expected_spend(ux, um, as_param_tuple(draws.spend))[..., codes]
    else:
        spend = fit.expected_spend(x, m)
    # the two of combine_forecast's products used here (not the chance of a purchase)
    clv = settings.gross_margin * spend * (p_alive * alive.discounted[..., pair_codes])
    return clv, p_alive * alive.horizon[..., pair_codes]
