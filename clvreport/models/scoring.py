"""Score customers and segments with a fitted :class:`~clvreport.models.fitting.ClvModelFit`.

What the transaction model says of a customer depends on their history
``(frequency, recency, T)`` alone, so it is computed once per distinct history
(most non-repeat buyers share a few): the point forecasts, and under every
parameter draw P(alive), the purchases and their ranges. The spend is the
customer's own; the totals under each draw sum the customers of a history
first (the Gamma-Gamma spend is linear in the mean spend). The histories are
processed in chunks (ordered so that histories sharing ``(x, T)`` fall in the
same chunk), so memory stays bounded on millions of customers.

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
from clvreport.models.compression import (
    clear_histories_cache,
    content_key,
    distinct_histories,
    distinct_rows,
    factorize_pairs,
)
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
    base does not keep that memory for the rest of a report. The kept distinct
    histories (:func:`~clvreport.models.compression.distinct_histories`) go too.
    """
    _ALIVE_CACHE.clear()
    clear_histories_cache()


def _alive_key(
    fit: ClvModelFit, params: tuple, px: np.ndarray, pT: np.ndarray, settings: ClvSettings
) -> bytes:
    label = repr((type(fit.model).__qualname__, settings))
    return content_key(*params, px, pT, label=label)


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
class _Histories:
    """The customers' distinct transaction histories ``(x, t_x, T)``.

    Everything a transaction model says of a customer (P(alive), the purchases
    and their ranges, under the point estimate and every parameter draw)
    depends on the history alone; only the spend depends on the customer's
    mean spend too. So the models' work is done once per history and the spend
    per customer: at 100M transactions 17.2M customers have 5.1M histories
    (and 15.8M distinct histories with their spend).
    """

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    codes: np.ndarray  # each customer's history

    @classmethod
    def of(cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> _Histories:
        codes, first = distinct_histories(x, t_x, T)
        return cls(x[first], t_x[first], T[first], codes)

    @property
    def size(self) -> int:
        return int(self.x.size)


@dataclass(frozen=True)
class _Point:
    """Point forecasts of every customer (their history's, with their own spend)."""

    forecast: PurchaseForecast
    spend: np.ndarray
    clv_if_alive: np.ndarray
    value_per_purchase: np.ndarray  # margin x spend x average discount factor
    history_p_alive: np.ndarray  # P(alive) of each history

    @property
    def clv(self) -> np.ndarray:
        return self.forecast.p_alive * self.clv_if_alive


def _point(
    fit: ClvModelFit,
    histories: _Histories,
    x: np.ndarray,
    m: np.ndarray,
    settings: ClvSettings,
) -> _Point:
    """Point forecasts: the models' once per history, the spend per customer (``x``, ``m``)."""
    assert fit.model is not None
    params = fit.model._params()
    hx, ht, hT = histories.x, histories.t_x, histories.T
    pairs, px, pT = factorize_pairs(hx, hT)
    alive = forecast_if_alive(fit.model, params, px, pT, settings)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p_alive = fit.model._probability_alive_many(params, hx, ht, hT)
        ratio = np.where(alive.horizon > 0, alive.discounted / alive.horizon, 1.0)
    own = combine_forecast(p_alive, alive, pairs)
    codes = histories.codes
    forecast = PurchaseForecast(
        p_alive=own.p_alive[codes],
        expected_purchases=own.expected_purchases[codes],
        discounted_purchases=own.discounted_purchases[codes],
        prob_active=own.prob_active[codes],
    )
    spend = fit.expected_spend(x, m)
    margin_spend = settings.gross_margin * spend
    return _Point(
        forecast=forecast,
        spend=spend,
        clv_if_alive=margin_spend * alive.discounted[pairs][codes],
        value_per_purchase=margin_spend * ratio[pairs][codes],
        history_p_alive=p_alive,
    )


def _by_pair(x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """An order of the histories that keeps each ``(x, T)`` pair together.

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
    """One chunk of histories under every parameter draw."""

    positions: slice  # the chunk's place in the order of :func:`_by_pair`
    part: np.ndarray  # indices of the histories
    p_alive: np.ndarray  # (n_draws, chunk)
    purchases: np.ndarray  # expected purchases over the horizon, (n_draws, chunk)
    alive: AliveForecast  # the forecasts if alive of every (x, T) pair
    pairs: np.ndarray  # each history's pair


def _draw_chunks(
    fit: ClvModelFit,
    draws: ParameterDraws,
    histories: _Histories,
    order: np.ndarray,
    settings: ClvSettings,
    chunk_size: int,
    then: Callable[[_DrawChunk], _T] | None = None,
) -> Iterator[tuple[_DrawChunk, _T | None]]:
    """P(alive) and the expected purchases of the histories under every draw, chunk by chunk.

    The one evaluation per history and draw that the customers' ranges and the
    segments' (or the base's) totals share; the pair-level forecasts are
    computed once for all chunks (:func:`_alive_draws`). The histories are taken
    in ``order`` (:func:`_by_pair`); chunks are computed
    :data:`~clvreport.models.threads.THREADS` at a time and yielded in order, each
    with ``then`` of it (computed in the same thread; ``None`` without ``then``).
    """
    assert fit.model is not None and draws.transaction is not None
    hx, ht, hT = histories.x, histories.t_x, histories.T
    alive, pair_codes = _alive_draws(fit, draws, hx, hT, settings)

    def one(positions: slice) -> tuple[_DrawChunk, _T | None]:
        part = order[positions]
        p_alive = _alive_chances(fit, draws.transaction, hx[part], ht[part], hT[part])
        pairs = pair_codes[part]
        purchases = p_alive * alive.horizon[..., pairs]
        result = _DrawChunk(positions, part, p_alive, purchases, alive, pairs)
        return result, (then(result) if then is not None else None)

    yield from in_order(one, list(_chunks(histories.size, chunk_size)))


class _SegmentSums:
    """Segment totals under every draw, summed chunk by chunk of histories.

    The customers of one history and segment are summed before the draws: their
    purchases are the history's times their number ``n``, and their spend under a
    draw of the Gamma-Gamma parameters is linear in the mean spend, so the sum of
    ``p (gamma + x m) / (p x + q - 1)`` over them is ``p (gamma n + x M) / (p x +
    q - 1)`` with ``M`` their summed mean spends (without spend draws: the sum of
    their spends). Each chunk's sums are computed where the chunk is
    (:meth:`of`, on the scoring threads) and added in order (:meth:`add`), so
    the totals do not depend on the threads.

    Parameters
    ----------
    fit, draws
        The fit and its parameter draws.
    histories
        The customers' histories.
    order
        The histories' order of the chunks (:func:`_by_pair`).
    segment
        Each customer's segment code (``0 .. n_segments - 1``).
    n_segments
        How many segments.
    x, m
        Each customer's repeat purchases and mean spend (as :func:`_inputs`).
    settings
        The margin.
    """

    def __init__(
        self,
        fit: ClvModelFit,
        draws: ParameterDraws,
        histories: _Histories,
        order: np.ndarray,
        segment: np.ndarray,
        n_segments: int,
        x: np.ndarray,
        m: np.ndarray,
        settings: ClvSettings,
    ):
        assert draws.transaction is not None
        group, first = distinct_rows(histories.codes, segment)
        customers = np.bincount(group).astype(float)
        position = np.empty_like(order)
        position[order] = np.arange(order.size)
        at = position[histories.codes[first]]  # each group's history's place in the order
        by_place = np.argsort(at, kind="stable")
        self.n_segments = n_segments
        self.place = at[by_place]
        self.segment = segment[first][by_place]
        self.customers = customers[by_place]
        self.spend_params = None if draws.spend is None else as_param_tuple(draws.spend)
        margin = settings.gross_margin
        if self.spend_params is not None:
            own = np.where(x > 0, np.maximum(m, 0.0), 0.0)
            self.x = x[first][by_place]
            self.margin_n = margin * self.customers
            self.margin_xm = margin * self.x * np.bincount(group, own)[by_place]
        else:
            spend = np.bincount(group, fit.expected_spend(x, m), minlength=customers.size)
            self.margin_spend = margin * spend[by_place]
        n_draws = len(draws.transaction)
        self.clv = np.zeros((n_draws, n_segments))
        self.purchases = np.zeros_like(self.clv)

    def of(self, chunk: _DrawChunk) -> tuple[np.ndarray, np.ndarray]:
        """The CLV and purchases of a chunk's customers per draw and segment.

        The chunk's groups are taken by segment and number of repeat purchases
        ``x`` (the spend's denominator depends on ``x`` alone), so each run of
        them is summed over by one matrix-vector product per draw set.
        """
        start, stop = chunk.positions.start, chunk.positions.stop
        lo, hi = np.searchsorted(self.place, [start, stop])
        segment = self.segment[lo:hi]
        clv = np.zeros((chunk.p_alive.shape[0], self.n_segments))
        purchases = np.zeros_like(clv)
        if hi == lo:
            return clv, purchases
        with_draws = self.spend_params is not None
        if with_draws:
            x_code, x_values = pd.factorize(self.x[lo:hi], sort=True)
            key = segment * len(x_values) + x_code
        else:
            key = segment
        by_run = np.argsort(key, kind="stable")
        key = key[by_run]
        local = self.place[lo:hi][by_run] - start
        customers = self.customers[lo:hi][by_run]
        discounted = chunk.p_alive[:, local] * chunk.alive.discounted[:, chunk.pairs[local]]
        bought = chunk.purchases[:, local]
        edges = np.flatnonzero(np.diff(key)) + 1
        runs = zip(np.r_[0, edges], np.r_[edges, key.size], strict=True)
        if with_draws:
            p, q, gamma = (values.reshape(-1) for values in self.spend_params)
            margin_n = self.margin_n[lo:hi][by_run]
            margin_xm = self.margin_xm[lo:hi][by_run]
        else:
            margin_spend = self.margin_spend[lo:hi][by_run]
        for a, b in runs:
            run = slice(a, b)
            s = segment[by_run[a]]
            purchases[:, s] += bought[:, run] @ customers[run]
            if with_draws:
                x = x_values[key[a] % len(x_values)]
                # sum of p (gamma n + x M) / (p x + q - 1) x discounted over the run
                spend = gamma * (discounted[:, run] @ margin_n[run])
                spend += discounted[:, run] @ margin_xm[run]
                clv[:, s] += p * spend / (p * x + q - 1.0)
            else:
                clv[:, s] += discounted[:, run] @ margin_spend[run]
        return clv, purchases

    def add(self, sums: tuple[np.ndarray, np.ndarray]) -> None:
        """Add a chunk's sums (:meth:`of`)."""
        clv, purchases = sums
        self.clv += clv
        self.purchases += purchases


def _customer_bounds(
    fit: ClvModelFit,
    draws: ParameterDraws,
    histories: _Histories,
    order: np.ndarray,
    point: _Point,
    settings: ClvSettings,
    interval: float,
    chunk_size: int,
    sums: _SegmentSums | None = None,
) -> dict[str, np.ndarray]:
    """Every customer's intervals (NaN without draws); ``sums`` collects totals too.

    The ranges of the purchases are their history's; the CLV range values them
    with the customer's own ``value_per_purchase``.
    """
    columns = ("clv_low", "clv_high", "ep_low", "ep_high", "purchases_low", "purchases_high")
    if not draws.available:
        return {k: np.full(histories.codes.size, np.nan) for k in columns}
    assert fit.model is not None and draws.transaction is not None
    hx, ht, hT = histories.x, histories.t_x, histories.T
    own = {k: np.full(histories.size, np.nan) for k in columns[2:]}
    params = as_param_tuple(draws.transaction)
    model = fit.model

    def ranges(chunk: _DrawChunk) -> tuple[tuple[np.ndarray, np.ndarray], Any, Any]:
        part = chunk.part
        band = percentile_interval(chunk.purchases, interval)
        predicted = predictive_interval(
            model,
            params,
            settings.horizon,
            hx[part],
            ht[part],
            hT[part],
            interval=interval,
            p_alive=chunk.p_alive,
        )
        return band, predicted, (None if sums is None else sums.of(chunk))

    chunks = _draw_chunks(fit, draws, histories, order, settings, chunk_size, then=ranges)
    for chunk, done in chunks:
        assert done is not None
        part = chunk.part
        (own["ep_low"][part], own["ep_high"][part]), predicted, totals = done
        if sums is not None:
            sums.add(totals)
        own["purchases_low"][part] = predicted.low
        own["purchases_high"][part] = predicted.high
    codes = histories.codes
    bounds = {k: values[codes] for k, values in own.items()}
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
    histories = _Histories.of(x, t_x, T)
    assert fit.model is not None
    point = _point(fit, histories, x, m, settings)
    draws = draw_fit_parameters(fit, n_draws, seed)
    order = _by_pair(histories.x, histories.T)
    bounds = _customer_bounds(fit, draws, histories, order, point, settings, interval, chunk_size)
    return _score_table(fit, summary, histories, point, bounds)


def _score_table(
    fit: ClvModelFit,
    summary: pd.DataFrame,
    histories: _Histories,
    point: _Point,
    bounds: dict[str, np.ndarray],
) -> pd.DataFrame:
    """The per-customer table (the chance of the silence is their history's)."""
    assert fit.model is not None
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        silence = fit.model._probability_of_silence(
            fit.model._params(), histories.x, histories.t_x, histories.T
        )
    out = pd.DataFrame(
        {
            "customer_id": summary["customer_id"].to_numpy(),
            "p_alive": point.forecast.p_alive,
            "p_silence": silence[histories.codes],
            "expected_purchases": point.forecast.expected_purchases,
            "purchases_low": bounds["purchases_low"],
            "purchases_high": bounds["purchases_high"],
            "prob_active": point.forecast.prob_active,
            "expected_spend": point.spend,
            "clv": point.clv,
            "clv_if_alive": point.clv_if_alive,
            "clv_low": bounds["clv_low"],
            "clv_high": bounds["clv_high"],
            "expected_purchases_low": bounds["ep_low"],
            "expected_purchases_high": bounds["ep_high"],
        },
        index=summary.index,
        copy=False,
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
    segment_code = segment_code.astype(np.int64, copy=False)
    histories = _Histories.of(x, t_x, T)
    names = list(segment_names)
    assert fit.model is not None
    point = _point(fit, histories, x, m, settings)
    draws: ParameterDraws = draw_fit_parameters(fit, n_draws, seed)
    sums = None
    if draws.available:
        order = _by_pair(histories.x, histories.T)
        sums = _SegmentSums(fit, draws, histories, order, segment_code, len(names), x, m, settings)
        chunks = _draw_chunks(fit, draws, histories, order, settings, chunk_size, then=sums.of)
        for _, totals in chunks:
            assert totals is not None
            sums.add(totals)
    return _segment_table(fit, histories, segment_code, names, point, sums, settings, interval)


def _segment_table(
    fit: ClvModelFit,
    histories: _Histories,
    segment: np.ndarray,
    segment_names: list,
    point: _Point,
    sums: _SegmentSums | None,
    settings: ClvSettings,
    interval: float,
) -> pd.DataFrame:
    """The segments' totals and intervals from the customers' values and the draws' sums."""
    assert fit.model is not None
    n_segments = len(segment_names)

    def weights(values: np.ndarray) -> np.ndarray:
        return np.bincount(segment, weights=values, minlength=n_segments)

    table = pd.DataFrame(
        {
            "segment": list(segment_names),
            "customers": np.bincount(segment, minlength=n_segments).astype(int),
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
            histories.x,
            histories.t_x,
            histories.T,
            p_alive=point.history_p_alive,
        )
        variance = variance[histories.codes]
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
    histories = _Histories.of(x, t_x, T)
    point = _point(fit, histories, x, m, settings)
    draws = draw_fit_parameters(fit, n_draws, seed)
    order = _by_pair(histories.x, histories.T)
    everyone = np.zeros(x.size, dtype=np.int64)
    sums = None
    if draws.available:
        sums = _SegmentSums(fit, draws, histories, order, everyone, 1, x, m, settings)
    bounds = _customer_bounds(
        fit, draws, histories, order, point, settings, interval, chunk_size, sums
    )
    scores = _score_table(fit, summary, histories, point, bounds)
    table = _segment_table(fit, histories, everyone, [label], point, sums, settings, interval)
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
    point = _point(fit, _Histories.of(x, t_x, T), x, m, settings)
    return pd.DataFrame(
        {
            "customer_id": summary["customer_id"].to_numpy(),
            "clv": point.clv,
            "clv_if_alive": point.clv_if_alive,
        },
        index=summary.index,
        copy=False,
    )
