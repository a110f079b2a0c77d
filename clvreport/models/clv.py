r"""Customer lifetime value: discounted expected margin over a horizon in months.

The horizon is split into calendar months of 365.25 / 12 days, converted to
the model's time unit; purchases expected in month ``k`` are discounted by
``(1 + annual_rate) ** (-k / 12)``:

.. math::

    CLV = margin \cdot spend \cdot \sum_{k=1}^{H}
          \frac{E[Y(t_k)] - E[Y(t_{k-1})]}{(1 + d)^{k/12}}

Every conditional expectation factorises as ``P(alive) * E[Y(t) | alive]``,
and the second factor depends on a customer only through ``(x, T)``, so it is
computed once per distinct pair and month. The functions broadcast over
parameter draws (arrays of shape ``(n_draws, 1)``) as well as customers, which
is how :mod:`clvreport.models.uncertainty` gets intervals.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV: Using
   Iso-Value Curves for Customer Base Analysis. Journal of Marketing Research
   42(4), 415-430.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clvreport.errors import ModelError
from clvreport.models.base import Params, TransactionModel
from clvreport.models.compression import factorize_pairs
from clvreport.models.units import TimeUnit, check_time_unit, months_to_units

__all__ = [
    "AliveForecast",
    "ClvSettings",
    "PurchaseForecast",
    "combine_forecast",
    "customer_lifetime_value",
    "forecast_if_alive",
    "forecast_purchases",
]


@dataclass(frozen=True)
class ClvSettings:
    """Horizon, discounting and margin for CLV, plus the model's time unit.

    Parameters
    ----------
    horizon_months
        Months ahead to value (whole months, >= 1).
    discount_rate
        Annual discount rate (0.10 = 10% a year), applied monthly.
    gross_margin
        Share of revenue that is margin (1.0 values revenue).
    time_unit
        Time unit of the model and summary.
    grid
        The month boundaries ``t_0 = 0, ..., t_H`` in the model's time unit
        when they are not whole calendar months of 365.25 / 12 days: with a
        seasonal index, the operational time of each month's end
        (:meth:`clvreport.models.season.Season.month_grid`). ``None``: the
        calendar grid.

    Examples
    --------
    >>> settings = ClvSettings(horizon_months=12, time_unit="weeks")
    >>> round(float(settings.month_grid()[-1]), 4)
    52.1786
    """

    horizon_months: int = 12
    discount_rate: float = 0.10
    gross_margin: float = 1.0
    time_unit: TimeUnit = "weeks"
    grid: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        check_time_unit(self.time_unit)
        if int(self.horizon_months) != self.horizon_months or self.horizon_months < 1:
            raise ModelError(
                f"horizon_months must be a whole number >= 1, not {self.horizon_months}"
            )
        if not 0 <= self.discount_rate < 1:
            raise ModelError(f"discount_rate must be in [0, 1), not {self.discount_rate}")
        if not 0 < self.gross_margin <= 1:
            raise ModelError(f"gross_margin must be in (0, 1], not {self.gross_margin}")
        if self.grid is not None:
            grid = np.asarray(self.grid, dtype=float)
            if (
                grid.shape != (self.horizon_months + 1,)
                or grid[0] != 0
                or not np.all(np.diff(grid) > 0)
            ):
                raise ModelError("grid must hold horizon_months + 1 increasing values from 0")

    @property
    def horizon(self) -> float:
        """The horizon in the model's time unit (operational time with a seasonal grid)."""
        if self.grid is not None:
            return float(self.grid[-1])
        return float(months_to_units(float(self.horizon_months), self.time_unit))

    def month_grid(self) -> np.ndarray:
        """Month boundaries ``t_0 = 0, ..., t_H`` in the model's time unit."""
        if self.grid is not None:
            return np.asarray(self.grid, dtype=float)
        return months_to_units(np.arange(self.horizon_months + 1, dtype=float), self.time_unit)

    def discount_factors(self) -> np.ndarray:
        """Discount factor of each month ``k = 1..H``: ``(1 + rate) ** (-k / 12)``."""
        months = np.arange(1, self.horizon_months + 1, dtype=float)
        return (1.0 + self.discount_rate) ** (-months / 12.0)


@dataclass(frozen=True)
class PurchaseForecast:
    """Per-customer forecasts over the horizon (arrays of shape ``(n,)`` or ``(n_draws, n)``).

    Attributes
    ----------
    p_alive
        Probability the customer is still active now.
    expected_purchases
        Expected purchases over the horizon.
    discounted_purchases
        Expected purchases over the horizon, each discounted to today.
    prob_active
        Probability of at least one purchase over the horizon.
    """

    p_alive: np.ndarray
    expected_purchases: np.ndarray
    discounted_purchases: np.ndarray
    prob_active: np.ndarray


@dataclass(frozen=True)
class AliveForecast:
    """Forecasts for customers still alive, per distinct ``(x, T)`` pair.

    Attributes
    ----------
    horizon
        Expected purchases over the horizon.
    discounted
        The same, each month discounted.
    no_purchase
        Probability of no purchase over the horizon.
    """

    horizon: np.ndarray
    discounted: np.ndarray
    no_purchase: np.ndarray


def forecast_if_alive(
    model: type[TransactionModel] | TransactionModel,
    params: Params,
    x: np.ndarray,
    T: np.ndarray,
    settings: ClvSettings,
) -> AliveForecast:
    """Forecast purchases of customers who are still alive, month by month.

    Parameters
    ----------
    model
        The transaction model (class or instance); only its formulas are used.
    params
        Parameter tuple: scalars or ``(n_draws, 1)`` arrays.
    x, T
        Distinct ``(x, T)`` pairs (1-D arrays).
    settings
        Horizon and discounting.

    Returns
    -------
    AliveForecast
        Arrays of shape ``(n_pairs,)`` or ``(n_draws, n_pairs)``.
    """
    x = np.asarray(x, dtype=float)
    T = np.asarray(T, dtype=float)
    n_draws = max((np.size(p) for p in params), default=1)
    block = max(1, _BLOCK_ELEMENTS // n_draws)
    if x.ndim != 1 or x.size <= block:
        return _forecast_block(model, params, x, T, settings)
    # per block of pairs: the month-by-month temporaries stay bounded whatever the base's size
    out: AliveForecast | None = None
    for start in range(0, x.size, block):
        part = slice(start, min(start + block, x.size))
        piece = _forecast_block(model, params, x[part], T[part], settings)
        if out is None:  # (pairs,) for scalar parameters, (draws, pairs) for draws
            shape = (*np.shape(piece.horizon)[:-1], x.size)
            out = AliveForecast(np.empty(shape), np.empty(shape), np.empty(shape))
        for name in ("horizon", "discounted", "no_purchase"):
            target = getattr(out, name)[..., part]
            target[...] = np.broadcast_to(getattr(piece, name), target.shape)
    assert out is not None
    return out


_BLOCK_ELEMENTS = 2**21
"""Draws × pairs computed at once by :func:`forecast_if_alive` (bounds its temporaries)."""


def _forecast_block(
    model: type[TransactionModel] | TransactionModel,
    params: Params,
    x: np.ndarray,
    T: np.ndarray,
    settings: ClvSettings,
) -> AliveForecast:
    grid = settings.month_grid()
    factors = settings.discount_factors()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        previous = model._expected_purchases_if_alive(params, grid[0], x, T)
        discounted = np.zeros_like(previous)
        for k in range(1, grid.size):
            current = model._expected_purchases_if_alive(params, grid[k], x, T)
            discounted = discounted + factors[k - 1] * (current - previous)
            previous = current
        no_purchase = model._probability_no_purchase_if_alive(params, grid[-1], x, T)
    return AliveForecast(previous, discounted, no_purchase)


def combine_forecast(
    p_alive: np.ndarray, alive: AliveForecast, pair_codes: np.ndarray
) -> PurchaseForecast:
    """Weight the forecasts for live customers by each customer's P(alive).

    Parameters
    ----------
    p_alive
        P(alive) per customer, ``(n,)`` or ``(n_draws, n)``.
    alive
        Pair-level forecasts from :func:`forecast_if_alive`.
    pair_codes
        Each customer's index into the pairs.

    Returns
    -------
    PurchaseForecast
        Per-customer forecasts.
    """
    return PurchaseForecast(
        p_alive=p_alive,
        expected_purchases=p_alive * alive.horizon[..., pair_codes],
        discounted_purchases=p_alive * alive.discounted[..., pair_codes],
        prob_active=p_alive * (1.0 - alive.no_purchase[..., pair_codes]),
    )


def forecast_purchases(
    model: type[TransactionModel] | TransactionModel,
    params: Params,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    settings: ClvSettings,
) -> PurchaseForecast:
    """Forecast each customer's purchases over the horizon.

    Parameters
    ----------
    model
        The transaction model (class or instance); only its formulas are used.
    params
        Parameter tuple; scalars, or arrays of shape ``(n_draws, 1)`` to
        forecast under many parameter draws at once.
    x, t_x, T
        Customer histories (1-D arrays) in ``settings.time_unit``.
    settings
        Horizon and discounting.

    Returns
    -------
    PurchaseForecast
        Arrays of shape ``(n,)`` or ``(n_draws, n)``.

    Examples
    --------
    >>> from clvreport.models import BetaGeoModel  # doctest: +SKIP
    >>> params = (0.2426, 4.4136, 0.7929, 2.4259)  # BG/NBD on CDNOW, per week
    >>> forecast = forecast_purchases(  # doctest: +SKIP
    ...     BetaGeoModel, params, np.array([2.0]), np.array([30.43]), np.array([38.86]), settings)
    >>> forecast.p_alive  # doctest: +SKIP
    """
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    codes, px, pT = factorize_pairs(x, T)
    alive = forecast_if_alive(model, params, px, pT, settings)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p_alive = model._probability_alive_many(params, x, t_x, T)
    return combine_forecast(p_alive, alive, codes)


def customer_lifetime_value(
    model: TransactionModel,
    frequency: Any,
    recency: Any,
    T: Any,
    spend: Any,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    gross_margin: float = 1.0,
) -> np.ndarray:
    """Discounted CLV of each customer over a horizon in months.

    Parameters
    ----------
    model
        A fitted transaction model; its ``time_unit`` gives the unit of
        ``recency`` and ``T``.
    frequency, recency, T
        Customer histories.
    spend
        Expected spend per future purchase (e.g.
        :meth:`~clvreport.models.gammagamma.GammaGammaModel.expected_spend`).
    horizon_months
        Months ahead.
    discount_rate
        Annual discount rate.
    gross_margin
        Share of revenue that is margin.

    Returns
    -------
    numpy.ndarray
        CLV per customer, in the currency of ``spend``.

    References
    ----------
    .. [1] Fader, Hardie and Lee (2005), JMR 42(4), 415-430.

    Examples
    --------
    >>> from clvreport.models.bgnbd import BetaGeoModel
    >>> bg = BetaGeoModel.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> clv = customer_lifetime_value(bg, [2], [30.43], [38.86], [35.0], discount_rate=0.0)
    >>> bool(clv[0] > 0)
    True
    """
    settings = ClvSettings(horizon_months, discount_rate, gross_margin, model.time_unit)
    x, t_x, age = model._history(np.atleast_1d(frequency), np.atleast_1d(recency), np.atleast_1d(T))
    forecast = forecast_purchases(model, model._params(), x, t_x, age, settings)
    return gross_margin * np.asarray(spend, dtype=float) * forecast.discounted_purchases
