"""The client's season beside a forecast check: measured by hand, on the demo, and in words."""

from __future__ import annotations

import datetime as dt
import doctest
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import clvreport.revenue_profile
from clvreport.config import load_client
from clvreport.engine import DuckDBEngine
from clvreport.i18n import Translator
from clvreport.ingest import load_transactions
from clvreport.report.season import season_sentences
from clvreport.revenue_profile import (
    MIN_SEASON_MONTHS,
    SEASON_THRESHOLD,
    monthly_profile,
    monthly_revenue,
    season_check,
    seasonal_profile,
)

D = dt.date


def test_docstring_examples_run():
    assert doctest.testmod(clvreport.revenue_profile).failed == 0


def months(n: int, start: str = "2021-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="MS")


def test_monthly_revenue_keeps_complete_months_only():
    rows = pd.DataFrame(
        {
            "order_date": pd.to_datetime(["2024-01-15", "2024-02-03", "2024-02-29", "2024-04-30"]),
            "amount": [10.0, 5.0, 2.5, 1.0],
        }
    )
    with DuckDBEngine(memory_limit="256MB", threads=1) as engine:
        engine.register("r", rows)
        engine.execute(
            "CREATE TABLE tx AS SELECT CAST(order_date AS DATE) AS order_date, amount FROM r"
        )
        got = monthly_revenue(engine, "tx", D(2024, 1, 2), D(2024, 4, 30))
    # January is cut by the data's start; March had no revenue; April is complete.
    assert got.index.tolist() == [pd.Timestamp(f"2024-0{m}-01") for m in (2, 3, 4)]
    assert got.tolist() == [7.5, 0.0, 1.0]


def test_too_few_months_give_no_season():
    assert seasonal_profile(pd.Series(1.0, index=months(MIN_SEASON_MONTHS - 1))) is None
    assert seasonal_profile(pd.Series(1.0, index=months(MIN_SEASON_MONTHS))) is not None


def test_a_flat_or_merely_growing_year_has_no_season():
    flat = seasonal_profile(pd.Series(100.0, index=months(36)))
    np.testing.assert_allclose(flat.shares.to_numpy(), 1 / 12)
    # 3% growth a month (43% a year) is a trend, not a season: the moving average removes it
    growing = seasonal_profile(pd.Series(1.03 ** np.arange(36), index=months(36)))
    np.testing.assert_allclose(growing.shares.to_numpy(), 1 / 12, atol=0.002)
    check = season_check(growing, D(2024, 7, 1), D(2024, 12, 31))
    assert check.kind == "even" and check.explains(-0.3) is None


def test_a_december_peak_by_hand():
    # Every December brings three times an ordinary month: 3 / 14 of the year.
    revenue = pd.Series([3.0 if m.month == 12 else 1.0 for m in months(36)], index=months(36))
    profile = seasonal_profile(revenue)
    assert profile.busiest == (12, pytest.approx(3 / 14))
    assert profile.quietest[1] == pytest.approx(1 / 14)
    assert profile.ratios.min() >= 2  # every month seen twice in 36 months
    # July-December: 8 of 14 shares in 184 days of 365.25
    check = season_check(profile, D(2024, 7, 1), D(2024, 12, 31))
    assert check.share == pytest.approx(8 / 14)
    assert check.calendar_share == pytest.approx(184 / 365.25)
    assert check.kind == "busy"
    assert check.effect == pytest.approx((184 / 365.25) / (8 / 14) - 1)
    # a model without seasons predicts too little here: a miss "too low" is explained
    assert check.explains(-0.19) is True and check.explains(0.19) is False
    # January-June is quiet the other way round
    spring = season_check(profile, D(2024, 1, 1), D(2024, 6, 30))
    assert spring.kind == "quiet" and spring.explains(0.34) is True
    # a whole year has no season to speak of
    year = season_check(profile, D(2024, 1, 1), D(2024, 12, 31))
    assert year.whole_years and year.kind == "even"


def test_the_threshold_is_relative_to_the_calendar():
    revenue = pd.Series(
        [1.0 + 0.08 * (m.month >= 7) for m in months(36)], index=months(36)
    )  # the second half 8% busier: about 4% above its calendar share
    check = season_check(seasonal_profile(revenue), D(2024, 7, 1), D(2024, 12, 31))
    assert 0 < check.deviation < SEASON_THRESHOLD and check.kind == "even"
    stronger = season_check(
        seasonal_profile(revenue), D(2024, 7, 1), D(2024, 12, 31), threshold=0.01
    )
    assert stronger.kind == "busy"


def test_the_demo_shop_is_busy_in_the_second_half_and_quiet_in_the_first():
    """The June report's check (too high) and the December one's (too low) swing with it."""
    client_dir, config = load_client("demo")
    with load_transactions(config, client_dir) as tx:
        december = monthly_profile(tx.engine, tx.table, D(2022, 1, 1), D(2024, 12, 31))
        june = monthly_profile(tx.engine, tx.table, D(2022, 1, 1), D(2024, 6, 30))
    assert december.busiest[0] == 12
    late = season_check(december, D(2024, 7, 1), D(2024, 12, 31))
    early = season_check(june, D(2024, 1, 1), D(2024, 6, 30))
    assert late.kind == "busy" and late.explains(-0.19)
    assert early.kind == "quiet" and early.explains(0.34)


def _ctx(language: str, profile) -> SimpleNamespace:
    return SimpleNamespace(t=Translator(language, "EUR"), analysis=SimpleNamespace(season=profile))


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_verdict_says_the_season_may_explain_part_of_the_miss(language):
    revenue = pd.Series([3.0 if m.month == 12 else 1.0 for m in months(36)], index=months(36))
    ctx = _ctx(language, seasonal_profile(revenue))
    words = {
        "nl": (
            "december",
            "drukke tijd",
            "een deel van het verschil verklaren",
            "verklaart het verschil dus niet",
        ),
        "en": (
            "December",
            "busy time",
            "explain part of the difference",
            "does not explain the difference",
        ),
    }[language]
    text = " ".join(season_sentences(ctx, D(2024, 7, 1), D(2024, 12, 31), -0.19, what="check"))
    assert words[0] in text and words[1] in text and words[2] in text
    against = " ".join(season_sentences(ctx, D(2024, 7, 1), D(2024, 12, 31), 0.19, what="check"))
    assert words[3] in against
    assert season_sentences(ctx, D(2024, 1, 1), D(2024, 12, 31), -0.19, what="check") == []
    unknown = season_sentences(
        _ctx(language, None), D(2024, 7, 1), D(2024, 12, 31), -0.2, what="since"
    )
    assert len(unknown) == 1 and "24" in unknown[0]
