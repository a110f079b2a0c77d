"""The seasonal index and its time change: properties on seeded simulated logs.

A log with a strong December peak (``simulate_transactions(month_factors=...)``,
four years of Pareto/NBD customers whose purchase rate follows the month) gets
an index close to the truth, and its holdout check over July to December is on
target where the calendar forecast misses the peak; a log without a season and
one that is too short get no index, with the reason, and the same forecasts as
before; a year of operational time is a year, so a twelve-month forecast keeps
its total. CDNOW (78 weeks) is too short for an index and keeps its published
parameters.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvreport.config import ColumnMapping
from clvreport.ingest import Transactions, read_transactions
from clvreport.models import ClvModelFit, fit_clv_models, score_customers
from clvreport.models.clv import ClvSettings
from clvreport.models.period import period_forecast
from clvreport.models.season import (
    SEASON_REASONS,
    Season,
    daily_purchases,
    estimate_season,
    season_from_transactions,
)
from clvreport.models.simulate import simulate_transactions
from clvreport.models.tracking import tracking_data
from clvreport.rfm import rfm_summary

DECEMBER_PEAK = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1.3, 1.8, 3.0]
MONTH_DAYS = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
START, END = "2020-01-01", "2024-12-31"
CALIBRATION_END, HOLDOUT_END = dt.date(2023, 6, 30), dt.date(2023, 12, 31)
COLUMNS = ColumnMapping(customer_id="customer_id", date="date", amount="amount")
# published BG/NBD estimates on CDNOW (Fader, Hardie and Lee 2005)
PUBLISHED = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}


def _log(path: Path, month_factors, *, start=START, end=END, n=4000, seed=1) -> Transactions:
    log = simulate_transactions(n, start=start, end=end, month_factors=month_factors, seed=seed)
    log.to_parquet(path)
    return read_transactions(str(path), COLUMNS)


@pytest.fixture(scope="module")
def seasonal(tmp_path_factory) -> Transactions:
    tx = _log(tmp_path_factory.mktemp("season") / "peak.parquet", DECEMBER_PEAK)
    yield tx
    tx.close()


@pytest.fixture(scope="module")
def flat(tmp_path_factory) -> Transactions:
    tx = _log(tmp_path_factory.mktemp("season") / "flat.parquet", None, seed=3)
    yield tx
    tx.close()


@pytest.fixture(scope="module")
def short(tmp_path_factory) -> Transactions:
    path = tmp_path_factory.mktemp("season") / "short.parquet"
    tx = _log(path, DECEMBER_PEAK, start="2022-07-01", end="2023-12-31", n=2000)
    yield tx
    tx.close()


def _check(
    tx: Transactions,
    calibration_end: dt.date,
    holdout_end: dt.date,
    *,
    season: bool,
    model: str = "auto",
) -> tuple[ClvModelFit, pd.DataFrame]:
    """The holdout check, with or without the index of the calibration period."""
    calibration = rfm_summary(tx, calibration_end=calibration_end, observation_end=holdout_end)
    index = season_from_transactions(tx, calibration_end, enabled=season)
    return fit_clv_models(calibration, None, model=model, season=index), calibration


def _truth() -> np.ndarray:
    factors = np.asarray(DECEMBER_PEAK, dtype=float)
    return factors / (np.sum(factors * MONTH_DAYS) / MONTH_DAYS.sum())


# ---------------------------------------------------------------------------
# the index
# ---------------------------------------------------------------------------


def test_the_index_finds_the_simulated_december_peak(seasonal) -> None:
    season = season_from_transactions(seasonal, CALIBRATION_END)
    assert season.reason == "seasonal" and season.active
    assert season.years == 3 and season.p_value < 1e-6
    factors = np.asarray(season.factors)
    # mean 1 weighted by the days of the month, close to the simulated pattern
    assert np.sum(factors * MONTH_DAYS) / MONTH_DAYS.sum() == pytest.approx(1.0)
    assert factors == pytest.approx(_truth(), rel=0.08)
    assert int(np.argmax(factors)) == 11
    # shrinkage moves the estimates towards 1, little on thousands of purchases
    estimates = np.log(season.estimates)
    assert np.all(np.abs(np.log(factors)) <= np.abs(estimates) + 1e-9)
    assert 0.9 < season.shrinkage <= 1.0


def test_the_index_uses_whole_years_of_complete_months(seasonal) -> None:
    season = season_from_transactions(seasonal, dt.date(2023, 6, 15))  # June not complete
    assert season.window == ("2020-06-01", "2023-05-31")
    assert season.years == 3


def test_thin_data_are_shrunk_harder_than_rich_data(seasonal) -> None:
    daily = daily_purchases(seasonal, HOLDOUT_END)
    rich = estimate_season(daily, HOLDOUT_END)
    thin = daily.assign(
        births=np.ceil(daily["births"] / 20),
        repeat_purchases=np.ceil(daily["repeat_purchases"] / 20),
    )
    thinned = estimate_season(thin, HOLDOUT_END)
    assert thinned.reason in {"seasonal", "flat"}
    if thinned.active:
        assert thinned.shrinkage < rich.shrinkage


def test_a_log_without_season_gets_no_index_and_the_same_forecasts(flat) -> None:
    full = rfm_summary(flat, calibration_end=HOLDOUT_END)
    season = season_from_transactions(flat, HOLDOUT_END)
    assert season.reason == "flat" and season.factors is None
    assert season.p_value > 0.01 and max(abs(np.log(season.estimates))) < 0.1
    with_index = fit_clv_models(full, None, model="pnbd", season=season)
    without = fit_clv_models(full, None, model="pnbd")
    assert with_index.model.params_ == without.model.params_
    pd.testing.assert_frame_equal(
        score_customers(with_index, full, n_draws=20), score_customers(without, full, n_draws=20)
    )
    assert with_index.to_dict()["season"]["reason"] == "flat"


def test_a_short_log_gets_no_index_and_says_why(short) -> None:
    season = season_from_transactions(short, HOLDOUT_END)
    assert season.reason == "too_short" and not season.active
    assert season.to_dict()["factors"] is None
    full = rfm_summary(short, calibration_end=HOLDOUT_END)
    with_index = fit_clv_models(full, None, model="bgnbd", season=season)
    without = fit_clv_models(full, None, model="bgnbd")
    assert with_index.model.params_ == without.model.params_
    assert with_index.season.reason == "too_short"


def test_switched_off_and_too_thin_have_their_reasons(seasonal) -> None:
    assert season_from_transactions(seasonal, HOLDOUT_END, enabled=False).reason == "off"
    days = pd.date_range("2020-01-01", "2023-12-31")
    few = pd.DataFrame({"date": days, "births": 0, "repeat_purchases": 0})
    few.loc[0, "births"] = 5
    few.loc[::30, "repeat_purchases"] = 1
    assert estimate_season(few, HOLDOUT_END).reason == "too_few_purchases"
    assert set(SEASON_REASONS) == {"seasonal", "flat", "too_short", "too_few_purchases", "off"}


# ---------------------------------------------------------------------------
# the holdout check
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calibration_end", "holdout_end", "flat_side"),
    [(CALIBRATION_END, HOLDOUT_END, -1), (dt.date(2022, 12, 31), dt.date(2023, 6, 30), 1)],
    ids=["july-december", "january-june"],
)
def test_the_seasonal_check_is_on_target_where_the_calendar_misses(
    seasonal, calibration_end, holdout_end, flat_side
) -> None:
    seasonal_fit, _ = _check(seasonal, calibration_end, holdout_end, season=True)
    flat_fit, _ = _check(seasonal, calibration_end, holdout_end, season=False)
    on_season, on_calendar = seasonal_fit.validation, flat_fit.validation
    assert abs(on_season.total_error) <= 0.10
    assert abs(on_calendar.total_error) > abs(on_season.total_error) + 0.05
    # the calendar forecast misses the peak the same way every time: low over the
    # second half year, high over the first (its history ends on the peak)
    assert np.sign(on_calendar.total_error) == flat_side
    assert on_season.binned_error < on_calendar.binned_error
    assert on_season.holdout_months == pytest.approx(on_calendar.holdout_months)
    assert seasonal_fit.calibration_season.active


def test_the_tracking_plot_expects_the_december_peak(seasonal) -> None:
    fit, _ = _check(seasonal, CALIBRATION_END, HOLDOUT_END, season=True)
    model = fit.candidates[fit.model_name].model
    table = tracking_data(
        seasonal,
        model,
        calibration_end=CALIBRATION_END,
        observation_end=HOLDOUT_END,
        season=fit.calibration_season,
    )
    assert table.attrs["seasonal"]
    month = pd.DatetimeIndex(table["period"]).month
    year = pd.DatetimeIndex(table["period"]).year
    late = table[(year == 2023) & table["days"].eq(7)]
    december = late[month[late.index] == 12]
    july = late[month[late.index] == 7]
    assert december["predicted"].mean() > 2 * july["predicted"].mean()
    # and the weekly prediction follows the actual one through the holdout
    holdout = table[~table["calibration"]]
    assert holdout["predicted"].sum() == pytest.approx(holdout["actual"].sum(), rel=0.12)


# ---------------------------------------------------------------------------
# forecasts in operational time
# ---------------------------------------------------------------------------


def test_a_year_of_operational_time_is_a_year() -> None:
    season = Season(tuple(_truth()), "seasonal", end=dt.date(2023, 12, 31))
    for start in pd.date_range("2023-01-15", "2024-12-15", freq="37D"):
        days = float(season.elapsed(start.date(), 365.25))
        assert days == pytest.approx(365.25, abs=1.5)
        grid = season.month_grid(start.date(), 12, "weeks")
        assert grid[-1] == pytest.approx(ClvSettings(12, time_unit="weeks").horizon, rel=5e-3)
    # a window over December is longer than the same days in July
    december = float(season.elapsed(dt.date(2023, 11, 30), 31))
    july = float(season.elapsed(dt.date(2023, 6, 30), 31))
    assert december / july == pytest.approx(3.0, rel=1e-9)
    # without an index the time is the calendar's
    assert float(Season.none("flat").elapsed(dt.date(2023, 1, 1), 17.5)) == 17.5


def test_the_yearly_total_of_a_twelve_month_forecast_changes_little(seasonal) -> None:
    """The time change moves purchases within the year, not between years.

    For one fitted model the twelve-month total is the same from any start. Refitted
    on the calendar instead, the total depends on where the history ends (on the
    peak it reads the last months as the customers' pace): over twelve-month
    holdouts from three report dates the seasonal forecast stays on target and
    the calendar one swings.
    """
    full = rfm_summary(seasonal, calibration_end=HOLDOUT_END)
    fit = fit_clv_models(
        full, None, model="pnbd", season=season_from_transactions(seasonal, HOLDOUT_END)
    )
    timed = fit.operational(full)
    model = fit.model
    assert model is not None
    x, t_x, T = (timed[c].to_numpy() for c in ("frequency", "recency", "T"))
    horizons = [
        fit.clv_settings(12, start=start).horizon
        for start in (dt.date(2024, 1, 31), dt.date(2024, 6, 30), dt.date(2024, 9, 30))
    ]
    totals = [float(np.sum(model.expected_purchases(h, x, t_x, T))) for h in horizons]
    assert max(totals) / min(totals) < 1.01

    errors: dict[bool, list[float]] = {True: [], False: []}
    for end in (dt.date(2023, 6, 30), dt.date(2023, 9, 30), dt.date(2023, 12, 31)):
        year_later = dt.date(end.year + 1, end.month, end.day)
        for season in (True, False):
            checked, _ = _check(seasonal, end, year_later, season=season, model="pnbd")
            errors[season].append(checked.validation.total_error)
    assert max(abs(e) for e in errors[True]) <= 0.08
    assert np.ptp(errors[False]) > 0.2 > 2 * np.ptp(errors[True])


def test_six_months_from_july_expect_more_than_from_january(seasonal) -> None:
    full = rfm_summary(seasonal, calibration_end=HOLDOUT_END)
    fit = fit_clv_models(
        full, None, model="bgnbd", season=season_from_transactions(seasonal, HOLDOUT_END)
    )
    weeks = 184 / 7
    # the same customers, the stored model, two calendar windows of the same length
    summer, _ = period_forecast(fit, full, "all", weeks, start=dt.date(2024, 6, 30), n_draws=0)
    winter, _ = period_forecast(fit, full, "all", 181 / 7, start=dt.date(2023, 12, 31), n_draws=0)
    assert summer["expected_purchases"].iloc[0] > 1.15 * winter["expected_purchases"].iloc[0]


def test_model_json_keeps_the_season_and_its_forecasts(seasonal) -> None:
    calibration = rfm_summary(
        seasonal, calibration_end=CALIBRATION_END, observation_end=HOLDOUT_END
    )
    full = rfm_summary(seasonal, calibration_end=HOLDOUT_END)
    fit = fit_clv_models(
        calibration,
        full,
        season=season_from_transactions(seasonal, HOLDOUT_END),
        calibration_season=season_from_transactions(seasonal, CALIBRATION_END),
    )
    stored = json.loads(json.dumps(fit.to_dict()))
    assert len(stored["season"]["factors"]) == 12
    assert stored["season"]["end"] == HOLDOUT_END.isoformat()
    assert stored["calibration_season"]["end"] == CALIBRATION_END.isoformat()
    again = ClvModelFit.from_dict(stored)
    assert again.season == fit.season and again.calibration_season == fit.calibration_season
    # a stored model forecasts the calendar summary it is given as the fit did
    first = score_customers(fit, full, n_draws=10)
    second = score_customers(again, full.copy(), n_draws=10)
    assert second["expected_purchases"].to_numpy() == pytest.approx(
        first["expected_purchases"].to_numpy(), rel=1e-6
    )


def test_operational_summary_keeps_order_and_bounds(seasonal) -> None:
    calibration = rfm_summary(
        seasonal, calibration_end=CALIBRATION_END, observation_end=HOLDOUT_END
    )
    season = season_from_transactions(seasonal, CALIBRATION_END)
    timed = season.operational_summary(calibration)
    assert timed.attrs["operational_time"] and season.operational_summary(timed) is timed
    assert (timed["recency"] <= timed["T"]).all() and (timed["recency"] >= 0).all()
    assert (timed.loc[calibration["frequency"] == 0, "recency"] == 0).all()
    # a later first purchase is a shorter operational age
    order = np.argsort(calibration["T"].to_numpy(), kind="stable")
    assert np.all(np.diff(timed["T"].to_numpy()[order]) >= -1e-12)
    # July to December of operational time is longer than its 26 calendar weeks
    assert timed["duration_holdout"].iloc[0] > calibration["duration_holdout"].iloc[0] * 1.15


# ---------------------------------------------------------------------------
# CDNOW: too short for a season, the published parameters
# ---------------------------------------------------------------------------


def test_cdnow_is_too_short_for_an_index_and_keeps_its_published_fit(cdnow_tx, cdnow) -> None:
    season = season_from_transactions(cdnow_tx, dt.date(1997, 9, 30))
    assert season.reason == "too_short"
    fit = fit_clv_models(cdnow, None, model="bgnbd", season=season)
    for name, value in PUBLISHED.items():
        assert fit.model.params_[name] == pytest.approx(value, rel=5e-5)
