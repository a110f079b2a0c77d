"""Score customers and segments with a fitted :class:`~clvreport.models.fitting.ClvModelFit`.

Customers with identical ``(frequency, recency, T, monetary_value)`` (most
non-repeat buyers, for instance) are scored once; the rest is processed in
chunks (ordered so that customers sharing ``(x, T)`` fall in the same chunk)
so memory stays bounded on millions of customers.

Intervals
---------
* ``purchases_low``/``purchases_high``: 90% *predictive* intervals of the
  number of purchases over the horizon: the model's conditional distribution
  of the count (:mod:`clvreport.models.predictive`) mixed over the parameter
  draws of :mod:`clvreport.models.uncertainty`, so they include the purchase
  process and parameter uncertainty.
* ``clv_low``/``clv_high``: the purchase bounds valued like the expectation,
  ``margin x expected spend x average discount factor x purchases``, where the
  average discount factor is that of the customer's expected purchases
  (``clv / expected_purchases``). This is an approximation: the spend per
  purchase is taken as known (its Gamma-Gamma expectation; for one customer
  the count is by far the larger uncertainty) and the timing of the purchases
  within the horizon as that of the expected ones.
* ``expected_purchases_low``/``_high``: the parameter band of the *expected*
  purchases alone (how well the mean is known, not what a customer will do).
* Segments: given the parameters, a segment's purchases are a sum of
  independent customers' counts, approximately normal with the summed means
  and variances. The means are summed per parameter draw, the process
  variance is that at the point estimate (it varies little between draws);
  the interval is the quantiles of the resulting mixture of normals over the
  draws (:func:`~clvreport.models.predictive.normal_mixture_interval`). The
  segment CLV uses the same construction with each customer's count valued at
  its ``clv / expected_purchases``. For the total of all customers pass one
  label for everyone.

``clv = p_alive * clv_if_alive`` exactly, with ``clv_if_alive`` the discounted
margin of the purchases expected if the customer is still active.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from clvreport.errors import DataError, ModelError
from clvreport.models.clv import (
    AliveForecast,
    ClvSettings,
    PurchaseForecast,
    combine_forecast,
    forecast_if_alive,
)
from clvreport.models.compression import distinct_rows, factorize_pairs
from clvreport.models.draw_expansion import evaluate_over_draws
from clvreport.models.fitting import ClvModelFit
from clvreport.models.inputs import check_rfm, validate_summary
from clvreport.models.predictive import (
    normal_mixture_interval,
    predictive_interval,
    purchase_moments,
)
from clvreport.models.threads import in_order
from clvreport.models.uncertainty import (
    ParameterDraws,
    as_param_tuple,
    draw_fit_parameters,
    percentile_interval,
    value_draws,
)

_T = TypeVar("_T")

__all__ = [
    "SCORE_COLUMNS",
    "SEGMENT_COLUMNS",
    "clear_forecast_cache",
    "lifetime_values",
    "point_values",
    "score_customers",
    "score_customers_with_total",
    "score_segments",
]

SCORE_COLUMNS = [
    "customer_id",
    "p_alive",
    "p_silence",
    "expected_purchases",
    "purchases_low",
    "purchases_high",
    "prob_active",
    "expected_spend",
    "clv",
    "clv_if_alive",
    "clv_low",
    "clv_high",
    "expected_purchases_low",
    "expected_purchases_high",
]
SEGMENT_COLUMNS = [
    "segment",
    "customers",
    "expected_purchases",
    "purchases_low",
    "purchases_high",
    "expected_purchases_low",
    "expected_purchases_high",
    "clv",
    "clv_low",
    "clv_high",
]


def _require_usable(fit: ClvModelFit) -> None:
    if not fit.usable:
        raise ModelError(
            f"there is no usable CLV model (status {fit.status}, reason {fit.reason})",
            hint="check fit.status before scoring and report historic metrics instead",
        )


def _inputs(
    fit: ClvModelFit, summary: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    validate_summary(summary, ("frequency", "recency", "T", "monetary_value"))
    unit = summary.attrs.get("time_unit")
    if unit is not None and unit != fit.time_unit:
        raise ModelError(
            f"the summary is in {unit} but the model was fitted in {fit.time_unit}",
            hint="build the summary with the same time_unit as the fit",
        )
    # with a seasonal index the model runs on operational time, and so do its histories
    timed = fit.operational(summary)
    x, t_x, T = check_rfm(timed["frequency"], timed["recency"], timed["T"])
    m = fit.spend_input(summary)  # exceptional orders capped when the fit did
    m = np.where(x > 0, m, 0.0)
    return x, t_x, T, m


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


_ALIVE_CACHE: dict[bytes, AliveForecast] = {}
"""The last :func:`_alive_draws` forecast (one entry): :func:`score_customers` and
:func:`score_segments` of the same fit and summary share the same distinct ``(x, T)``
pairs and draws, so the second call reuses the first one's forecast."""


def clear_forecast_cache() -> None:
    """Forget the kept forecast of :func:`score_customers` (its draws x pairs arrays).

    Call it when no :func:`score_segments` of the same fit follows, so a large
    base does not keep that memory for the rest of a report.
    """
    _ALIVE_CACHE.clear()


def _alive_key(
    fit: ClvModelFit, params: tuple, px: np.ndarray, pT: np.ndarray, settings: ClvSettings
) -> bytes:
    import hashlib

    digest = hashlib.blake2b(digest_size=20)
    digest.update(repr((type(fit.model).__qualname__, settings)).encode())
    for values in (*params, px, pT):
        array = np.ascontiguousarray(np.asarray(values, dtype=float))
        digest.update(repr(array.shape).encode())
        digest.update(array.tobytes())
    return digest.digest()


def _alive_draws(
    fit: ClvModelFit, draws: ParameterDraws, x: np.ndarray, T: np.ndarray, settings: ClvSettings
) -> tuple[AliveForecast, np.ndarray]:
    """Forecasts for live customers under every draw, once per distinct ``(x, T)``.

    The pairs are put in sorted order, so the forecast depends only on the set of
    pairs and can be reused by the next call with the same fit, draws and pairs.
    """
    assert fit.model is not None and draws.transaction is not None
    codes, px, pT = factorize_pairs(x, T)
    order = np.lexsort((pT, px))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    codes, px, pT = rank[codes], px[order], pT[order]
    params = as_param_tuple(draws.transaction)
    key = _alive_key(fit, params, px, pT, settings)
    alive = _ALIVE_CACHE.get(key)
    if alive is None:
        _ALIVE_CACHE.clear()  # one entry: at most one forecast's memory is kept
        model = fit.model

        def evaluate(p: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
            forecast = forecast_if_alive(model, p, px, pT, settings)
            return forecast.horizon, forecast.discounted, forecast.no_purchase

        (horizon, discounted, no_purchase), _ = evaluate_over_draws(evaluate, draws.transaction)
        alive = AliveForecast(horizon, discounted, no_purchase)
        _ALIVE_CACHE[key] = alive
    return alive, codes


def _alive_chances(
    fit: ClvModelFit, draws: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(alive) of each history under every draw (:func:`evaluate_over_draws`)."""
    assert fit.model is not None
    model = fit.model

    def evaluate(p: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return (model._probability_alive_many(p, x, t_x, T),)

    (p_alive,), _ = evaluate_over_draws(evaluate, draws)
    return p_alive


@dataclass(frozen=True)
class _Point:
    """Point forecasts of the distinct customers."""

    forecast: PurchaseForecast
    spend: np.ndarray
    clv_if_alive: np.ndarray
    value_per_purchase: np.ndarray  # margin x spend x average discount factor

    @property
    def clv(self) -> np.ndarray:
        return self.forecast.p_alive * self.clv_if_alive


def _point(
    fit: ClvModelFit,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    m: np.ndarray,
    settings: ClvSettings,
) -> _Point:
    assert fit.model is not None
    params = fit.model._params()
    codes, px, pT = factorize_pairs(x, T)
    alive = forecast_if_alive(fit.model, params, px, pT, settings)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p_alive = fit.model._probability_alive_many(params, x, t_x, T)
        ratio = np.where(alive.horizon > 0, alive.discounted / alive.horizon, 1.0)
    forecast = combine_forecast(p_alive, alive, codes)
    spend = fit.expected_spend(x, m)
    margin_spend = settings.gross_margin * spend
    return _Point(
        forecast=forecast,
        spend=spend,
        clv_if_alive=margin_spend * alive.discounted[codes],
        value_per_purchase=margin_spend * ratio[codes],
    )


def _by_pair(x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """An order of the distinct customers that keeps each ``(x, T)`` pair together.

    Chunks then share few pairs, so the pair-level predictive work is done
    about once.
    """
    return np.lexsort((T, x))


def _settings(
    fit: ClvModelFit,
    horizon_months: int,
    discount_rate: float,
    gross_margin: float,
    summary: pd.DataFrame | None = None,
) -> ClvSettings:
    """The horizon's month grid: calendar months, or their operational time with an index.

    The forecast starts at the summary's date (``attrs["calibration_end"]``),
    by default the date the fit's seasonal index ends (the report date).
    """
    start = None if summary is None else summary.attrs.get("calibration_end")
    return fit.clv_settings(horizon_months, discount_rate, gross_margin, start)


@dataclass(frozen=True)
class _DrawChunk:
    """One chunk of distinct customers under every parameter draw."""

    part: np.ndarray  # indices of the distinct customers
    p_alive: np.ndarray  # (n_draws, chunk)
    clv: np.ndarray
    purchases: np.ndarray


def _draw_chunks(
    fit: ClvModelFit,
    draws: ParameterDraws,
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    settings: ClvSettings,
    chunk_size: int,
    then: Callable[[_DrawChunk], _T] | None = None,
) -> Iterator[tuple[_DrawChunk, _T | None]]:
    """P(alive), CLV and expected purchases of the distinct customers, chunk by chunk.

    The one evaluation per distinct history and draw that the customers' ranges
    and the segments' (or the base's) totals share; the pair-level forecasts are
    computed once for all chunks (:func:`_alive_draws`). Chunks are computed
    :data:`~clvreport.models.threads.THREADS` at a time and yielded in order, each
    with ``then`` of it (computed in the same thread; ``None`` without ``then``).
    """
    assert fit.model is not None and draws.transaction is not None
    ux, ut, uT, um = rows
    alive, pair_codes = _alive_draws(fit, draws, ux, uT, settings)
    order = _by_pair(ux, uT)

    def one(chunk: slice) -> tuple[_DrawChunk, _T | None]:
        part = order[chunk]
        p_alive = _alive_chances(fit, draws.transaction, ux[part], ut[part], uT[part])
        clv_draws, purchase_draws = value_draws(
            fit,
            draws,
            ux[part],
            ut[part],
            uT[part],
            um[part],
            settings,
            alive=alive,
            pair_codes=pair_codes[part],
            p_alive=p_alive,
        )
        result = _DrawChunk(part, p_alive, clv_draws, purchase_draws)
        return result, (then(result) if then is not None else None)

    yield from in_order(one, list(_chunks(ux.size, chunk_size)))


class _SegmentSums:
    """Segment totals under every draw, summed chunk by chunk (counts of distinct rows)."""

    def __init__(self, segment: np.ndarray, counts: np.ndarray, n_segments: int, n_draws: int):
        self.segment, self.counts, self.n_segments = segment, counts, n_segments
        self.clv = np.zeros((n_draws, n_segments))
        self.purchases = np.zeros_like(self.clv)

    def add(self, chunk: _DrawChunk) -> None:
        """Add a chunk's customers (each distinct row times its count) to their segments."""
        membership = np.zeros((chunk.part.size, self.n_segments))
        membership[np.arange(chunk.part.size), self.segment[chunk.part]] = self.counts[chunk.part]
        self.clv += chunk.clv @ membership
        self.purchases += chunk.purchases @ membership


def _customer_bounds(
    fit: ClvModelFit,
    draws: ParameterDraws,
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    point: _Point,
    settings: ClvSettings,
    interval: float,
    chunk_size: int,
    sums: _SegmentSums | None = None,
) -> dict[str, np.ndarray]:
    """The distinct customers' intervals (NaN without draws); ``sums`` collects totals too."""
    ux, ut, uT, _ = rows
    columns = ("clv_low", "clv_high", "ep_low", "ep_high", "purchases_low", "purchases_high")
    bounds = {k: np.full(ux.size, np.nan) for k in columns}
    if not draws.available:
        return bounds
    assert fit.model is not None and draws.transaction is not None
    params = as_param_tuple(draws.transaction)
    model = fit.model

    def ranges(chunk: _DrawChunk) -> tuple[tuple[np.ndarray, np.ndarray], Any]:
        part = chunk.part
        band = percentile_interval(chunk.purchases, interval)
        predicted = predictive_interval(
            model,
            params,
            settings.horizon,
            ux[part],
            ut[part],
            uT[part],
            interval=interval,
            p_alive=chunk.p_alive,
        )
        return band, predicted

    for chunk, done in _draw_chunks(fit, draws, rows, settings, chunk_size, then=ranges):
        assert done is not None
        part = chunk.part
        if sums is not None:
            sums.add(chunk)
        (bounds["ep_low"][part], bounds["ep_high"][part]), predicted = done
        bounds["purchases_low"][part] = predicted.low
        bounds["purchases_high"][part] = predicted.high
    bounds["clv_low"] = point.value_per_purchase * bounds["purchases_low"]
    bounds["clv_high"] = point.value_per_purchase * bounds["purchases_high"]
    return bounds


def score_customers(
    fit: ClvModelFit,
    summary: pd.DataFrame,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    gross_margin: float = 1.0,
    interval: float = 0.9,
    n_draws: int = 200,
    seed: int = 0,
    chunk_size: int = 20_000,
) -> pd.DataFrame:
    """Forecast every customer: P(alive), purchases, spend and CLV with an interval.

    Parameters
    ----------
    fit
        Result of :func:`~clvreport.models.fitting.fit_clv_models` (status not
        ``"failed"``).
    summary
        Summary to score (``customer_id, frequency, recency, T,
        monetary_value``) in ``fit.time_unit``, normally the full period.
    horizon_months
        Forecast horizon in months (365.25 / 12 days each).
    discount_rate
        Annual discount rate.
    gross_margin
        Share of revenue that is margin; CLV is revenue times this.
    interval
        Coverage of the intervals (0.9: 5th to 95th percentile).
    n_draws
        Parameter draws for the intervals.
    seed
        Seed for the draws (intervals are reproducible).
    chunk_size
        Distinct customers scored per chunk (bounds memory to about
        ``n_draws * chunk_size * 8`` bytes per array).

    Returns
    -------
    pandas.DataFrame
        One row per customer, columns :data:`SCORE_COLUMNS`: ``p_alive``,
        ``p_silence`` (the chance of a silence as long as the customer's at
        their own pace, :meth:`~clvreport.models.base.TransactionModel.probability_of_silence`),
        ``expected_purchases`` with its predictive interval
        ``purchases_low``/``purchases_high`` and ``prob_active`` (at least one
        purchase) over the horizon, ``expected_spend`` per purchase, ``clv``
        and ``clv_if_alive`` (``clv = p_alive * clv_if_alive``), the predictive
        CLV interval ``clv_low``/``clv_high`` (see the module docstring for the
        approximation) and the parameter band of the expected purchases
        ``expected_purchases_low``/``_high``. Intervals are NaN when the fit has
        no covariance matrix.

    Raises
    ------
    clvreport.errors.ModelError
        When the fit failed or the summary is in another time unit.
    clvreport.errors.DataError
        When the summary lacks columns or holds impossible values.

    Examples
    --------
    >>> from clvreport.models.fitting import fit_clv_models
    >>> from clvreport.models.simulate import simulate_summary
    >>> summary = simulate_summary("bgnbd", {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}, 2000,
    ...                            spend_params={"p": 6.0, "q": 4.0, "gamma": 15.0}, seed=1)
    >>> scores = score_customers(fit_clv_models(summary, model="bgnbd"), summary, n_draws=50)
    >>> bool((scores["clv_low"] <= scores["clv_high"]).all())
    True
    """
    _require_usable(fit)
    if "customer_id" not in summary.columns:
        raise DataError("summary table lacks column customer_id")
    settings = _settings(fit, horizon_months, discount_rate, gross_margin, summary)
    x, t_x, T, m = _inputs(fit, summary)
    codes, first = distinct_rows(x, t_x, T, m)
    ux, ut, uT, um = x[first], t_x[first], T[first], m[first]
    assert fit.model is not None
    point = _point(fit, ux, ut, uT, um, settings)
    draws = draw_fit_parameters(fit, n_draws, seed)
    rows = (ux, ut, uT, um)
    bounds = _customer_bounds(fit, draws, rows, point, settings, interval, chunk_size)
    return _score_table(fit, summary, rows, codes, point, bounds)


def _score_table(
    fit: ClvModelFit,
    summary: pd.DataFrame,
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    codes: np.ndarray,
    point: _Point,
    bounds: dict[str, np.ndarray],
) -> pd.DataFrame:
    """The per-customer table: the distinct rows' values expanded by ``codes``."""
    assert fit.model is not None
    ux, ut, uT, _ = rows
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        silence = fit.model._probability_of_silence(fit.model._params(), ux, ut, uT)
    out = pd.DataFrame(
        {
            "customer_id": summary["customer_id"].to_numpy(),
            "p_alive": point.forecast.p_alive[codes],
            "p_silence": silence[codes],
            "expected_purchases": point.forecast.expected_purchases[codes],
            "purchases_low": bounds["purchases_low"][codes],
            "purchases_high": bounds["purchases_high"][codes],
            "prob_active": point.forecast.prob_active[codes],
            "expected_spend": point.spend[codes],
            "clv": point.clv[codes],
            "clv_if_alive": point.clv_if_alive[codes],
            "clv_low": bounds["clv_low"][codes],
            "clv_high": bounds["clv_high"][codes],
            "expected_purchases_low": bounds["ep_low"][codes],
            "expected_purchases_high": bounds["ep_high"][codes],
        },
        index=summary.index,
    )
    return out[SCORE_COLUMNS]


def score_segments(
    fit: ClvModelFit,
    summary: pd.DataFrame,
    segments: pd.Series | str,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    gross_margin: float = 1.0,
    interval: float = 0.9,
    n_draws: int = 200,
    seed: int = 0,
    chunk_size: int = 20_000,
) -> pd.DataFrame:
    """Total CLV and expected purchases per segment, with intervals.

    Segment totals are summed per parameter draw, with the summed process
    variance, before taking quantiles (a normal mixture; see the module
    docstring), so the interval of a total is not the sum of the customers'
    intervals.

    Parameters
    ----------
    fit, summary
        As :func:`score_customers`.
    segments
        Segment label per summary row (a Series aligned with ``summary``), or
        the name of a column of ``summary`` holding it.
    horizon_months, discount_rate, gross_margin, interval, n_draws, seed, chunk_size
        As :func:`score_customers`.

    Returns
    -------
    pandas.DataFrame
        One row per segment, columns :data:`SEGMENT_COLUMNS`: totals of the
        expected purchases and CLV, the predictive intervals of the segment's
        purchases (``purchases_low``/``_high``) and CLV (``clv_low``/``_high``)
        and the parameter band of its expected purchases.

    Examples
    --------
    >>> from clvreport.models.fitting import fit_clv_models
    >>> from clvreport.models.simulate import simulate_summary
    >>> summary = simulate_summary("bgnbd", {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}, 2000,
    ...                            spend_params={"p": 6.0, "q": 4.0, "gamma": 15.0}, seed=1)
    >>> summary["segment"] = np.where(summary["frequency"] > 0, "repeat", "one-time")
    >>> table = score_segments(fit_clv_models(summary, model="bgnbd"), summary, "segment",
    ...                        n_draws=50)
    >>> sorted(table["segment"])
    ['one-time', 'repeat']
    """
    _require_usable(fit)
    labels = summary[segments] if isinstance(segments, str) else segments
    if len(labels) != len(summary):
        raise DataError("segments must have one label per summary row")
    settings = _settings(fit, horizon_months, discount_rate, gross_margin, summary)
    x, t_x, T, m = _inputs(fit, summary)
    segment_code, segment_names = pd.factorize(np.asarray(labels), use_na_sentinel=False)
    codes, first = distinct_rows(x, t_x, T, m, segment_code)
    counts = np.bincount(codes).astype(float)
    ux, ut, uT, um, us = x[first], t_x[first], T[first], m[first], segment_code[first]
    n_segments = len(segment_names)
    names = list(segment_names)
    assert fit.model is not None
    point = _point(fit, ux, ut, uT, um, settings)
    draws: ParameterDraws = draw_fit_parameters(fit, n_draws, seed)
    sums = None
    if draws.available:
        assert draws.transaction is not None
        sums = _SegmentSums(us, counts, n_segments, len(draws.transaction))
        for chunk, _ in _draw_chunks(fit, draws, (ux, ut, uT, um), settings, chunk_size):
            sums.add(chunk)
    return _segment_table(fit, (ux, ut, uT), us, counts, names, point, sums, settings, interval)


def _segment_table(
    fit: ClvModelFit,
    rows: tuple[np.ndarray, np.ndarray, np.ndarray],
    us: np.ndarray,
    counts: np.ndarray,
    segment_names: list,
    point: _Point,
    sums: _SegmentSums | None,
    settings: ClvSettings,
    interval: float,
) -> pd.DataFrame:
    """The segments' totals and intervals from the distinct rows, their counts and the sums."""
    assert fit.model is not None
    ux, ut, uT = rows
    n_segments = len(segment_names)

    def weights(values: np.ndarray) -> np.ndarray:
        return np.bincount(us, weights=counts * values, minlength=n_segments)

    table = pd.DataFrame(
        {
            "segment": list(segment_names),
            "customers": np.bincount(us, weights=counts, minlength=n_segments).astype(int),
            "expected_purchases": weights(point.forecast.expected_purchases),
            "clv": weights(point.clv),
        }
    )
    for column in ("expected_purchases", "clv", "purchases"):
        table[f"{column}_low"] = np.nan
        table[f"{column}_high"] = np.nan
    if sums is not None:
        clv_sums, purchase_sums = sums.clv, sums.purchases
        # process variance of the sums, at the point estimate
        _, variance = purchase_moments(
            fit.model,
            fit.model._params(),
            settings.horizon,
            ux,
            ut,
            uT,
            p_alive=point.forecast.p_alive,
        )
        purchase_variance = weights(variance)
        clv_variance = weights(variance * point.value_per_purchase**2)
        table["clv_low"], table["clv_high"] = normal_mixture_interval(
            clv_sums, clv_variance, interval
        )
        table["purchases_low"], table["purchases_high"] = normal_mixture_interval(
            purchase_sums, purchase_variance, interval
        )
        table["expected_purchases_low"], table["expected_purchases_high"] = percentile_interval(
            purchase_sums, interval
        )
    return table[SEGMENT_COLUMNS]


def score_customers_with_total(
    fit: ClvModelFit,
    summary: pd.DataFrame,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    gross_margin: float = 1.0,
    interval: float = 0.9,
    n_draws: int = 200,
    seed: int = 0,
    chunk_size: int = 20_000,
    label: str = "all",
) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`score_customers` and the whole base's total in one pass over the draws.

    The same values as ``score_customers(...)`` and ``score_segments(..., label
    for everyone).iloc[0]``: one set of parameter draws and one evaluation per
    distinct history and draw serve the customers' ranges and the interval of
    the total.

    Parameters
    ----------
    fit, summary, horizon_months, discount_rate, gross_margin, interval, n_draws, seed, chunk_size
        As :func:`score_customers`.
    label
        The total's ``segment``.

    Returns
    -------
    tuple
        ``(scores, total)``: the :func:`score_customers` table and the total as a
        row of :data:`SEGMENT_COLUMNS`.

    Examples
    --------
    >>> from clvreport.models.fitting import fit_clv_models
    >>> from clvreport.models.simulate import simulate_summary
    >>> summary = simulate_summary("bgnbd", {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}, 2000,
    ...                            spend_params={"p": 6.0, "q": 4.0, "gamma": 15.0}, seed=1)
    >>> fit = fit_clv_models(summary, model="bgnbd")
    >>> scores, total = score_customers_with_total(fit, summary, n_draws=50)
    >>> bool(abs(total["clv"] - scores["clv"].sum()) < 1e-6 * total["clv"])
    True
    """
    _require_usable(fit)
    if "customer_id" not in summary.columns:
        raise DataError("summary table lacks column customer_id")
    settings = _settings(fit, horizon_months, discount_rate, gross_margin, summary)
    x, t_x, T, m = _inputs(fit, summary)
    codes, first = distinct_rows(x, t_x, T, m)
    counts = np.bincount(codes).astype(float)
    rows = (x[first], t_x[first], T[first], m[first])
    point = _point(fit, *rows, settings)
    draws = draw_fit_parameters(fit, n_draws, seed)
    everyone = np.zeros(first.size, dtype=np.int64)
    sums = None
    if draws.available:
        assert draws.transaction is not None
        sums = _SegmentSums(everyone, counts, 1, len(draws.transaction))
    bounds = _customer_bounds(fit, draws, rows, point, settings, interval, chunk_size, sums)
    scores = _score_table(fit, summary, rows, codes, point, bounds)
    table = _segment_table(
        fit, rows[:3], everyone, counts, [label], point, sums, settings, interval
    )
    return scores, table.iloc[0]


def lifetime_values(
    fit: ClvModelFit,
    summary: pd.DataFrame,
    *,
    years: int = 5,
    discount_rate: float = 0.10,
    gross_margin: float = 1.0,
) -> pd.DataFrame:
    """Each customer's value over their expected remaining lifetime, capped at ``years``.

    The discounted margin of the purchases the model expects over the next
    ``years`` (its dropout ends a lifetime within them; ``years`` caps the
    rest), point estimates only.

    Parameters
    ----------
    fit, summary
        As :func:`score_customers`.
    years
        The cap, in years.
    discount_rate, gross_margin
        As :func:`score_customers`.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``clv_lifetime`` (``P(alive) ×`` the value if still
        active) and ``clv_if_alive_lifetime``, with ``summary``'s index.

    Examples
    --------
    >>> from clvreport.models.fitting import fit_clv_models
    >>> from clvreport.models.simulate import simulate_summary
    >>> summary = simulate_summary("bgnbd", {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}, 500,
    ...                            spend_params={"p": 6.0, "q": 4.0, "gamma": 15.0}, seed=1)
    >>> fit = fit_clv_models(summary, model="bgnbd")
    >>> one = lifetime_values(fit, summary, years=1)["clv_lifetime"]
    >>> bool((lifetime_values(fit, summary, years=5)["clv_lifetime"] >= one - 1e-9).all())
    True
    """
    values = point_values(
        fit,
        summary,
        horizon_months=int(years) * 12,
        discount_rate=discount_rate,
        gross_margin=gross_margin,
    )
    return values.rename(columns={"clv": "clv_lifetime", "clv_if_alive": "clv_if_alive_lifetime"})


def point_values(
    fit: ClvModelFit,
    summary: pd.DataFrame,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    gross_margin: float = 1.0,
) -> pd.DataFrame:
    """Each customer's CLV over ``horizon_months`` without intervals (point estimates).

    Parameters
    ----------
    fit, summary, horizon_months, discount_rate, gross_margin
        As :func:`score_customers`.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``clv`` and ``clv_if_alive``, with ``summary``'s index.

    Examples
    --------
    >>> from clvreport.models.fitting import fit_clv_models
    >>> from clvreport.models.simulate import simulate_summary
    >>> summary = simulate_summary("bgnbd", {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}, 500,
    ...                            spend_params={"p": 6.0, "q": 4.0, "gamma": 15.0}, seed=1)
    >>> fit = fit_clv_models(summary, model="bgnbd")
    >>> half = point_values(fit, summary, gross_margin=0.5)["clv"].sum()
    >>> bool(abs(point_values(fit, summary)["clv"].sum() - 2 * half) < 1e-6)
    True
    """
    _require_usable(fit)
    settings = _settings(fit, int(horizon_months), discount_rate, gross_margin, summary)
    x, t_x, T, m = _inputs(fit, summary)
    codes, first = distinct_rows(x, t_x, T, m)
    point = _point(fit, x[first], t_x[first], T[first], m[first], settings)
    return pd.DataFrame(
        {
            "customer_id": summary["customer_id"].to_numpy(),
            "clv": point.clv[codes],
            "clv_if_alive": point.clv_if_alive[codes],
        },
        index=summary.index,
    )
