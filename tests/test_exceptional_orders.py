"""Exceptional orders: one order far larger than both the customer's others and the client's.

On a seeded simulated log (:mod:`whale_log`) a few customers placed one order
500 to 5000 times their usual one, and a few others consistently buy 100 times
as much as everybody else: the rule of :mod:`clvreport.ingest.exceptional`
must flag exactly the enormous orders, under every outlier policy as
documented, and nothing in the log without them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from whale_log import CALIBRATION_END, WhaleLog, whale_log

from clvreport.config import ColumnMapping, DataPolicies
from clvreport.engine import DUCKDB
from clvreport.ingest import Transactions, read_transactions
from clvreport.ingest.exceptional import (
    EXCEPTIONAL_MAX_FACTOR,
    EXCEPTIONAL_MIN_FACTOR,
    EXCEPTIONAL_Z,
    ExceptionalOrderRule,
)

COLUMNS = ColumnMapping(customer_id="klant", date="datum", amount="bedrag")
CAL = CALIBRATION_END.date()


def read(path: Path, policies: DataPolicies | None = None) -> Transactions:
    return read_transactions(path, COLUMNS, policies=policies)


def keyed(frame: pd.DataFrame) -> set[tuple[str, pd.Timestamp, float]]:
    return {
        (str(c), pd.Timestamp(d), round(float(a), 2))
        for c, d, a in zip(frame["customer_id"], frame["order_date"], frame["amount"], strict=True)
    }


# --- the rule -----------------------------------------------------------------------------


def test_factor_follows_the_spread_of_the_log_amounts_within_its_bounds() -> None:
    narrow = ExceptionalOrderRule.from_log_amounts(np.log([20.0, 21.0, 22.0] * 10))
    assert narrow.factor == EXCEPTIONAL_MIN_FACTOR  # 3.5 robust SDs would be under 10 times
    rng = np.random.default_rng(0)
    for sd in (0.8, 1.2, 1.6):
        logs = rng.normal(3.0, sd, 20_000)
        rule = ExceptionalOrderRule.from_log_amounts(logs)
        assert rule.spread == pytest.approx(sd, rel=0.05)  # 1.4826 MAD estimates the SD
        assert rule.factor == pytest.approx(np.exp(EXCEPTIONAL_Z * rule.spread), rel=1e-4)
        assert rule.median_order == pytest.approx(np.exp(3.0), rel=0.05)
    wide = ExceptionalOrderRule.from_log_amounts(rng.normal(3.0, 4.0, 1000))
    assert wide.factor == EXCEPTIONAL_MAX_FACTOR


def test_histogram_statistics_equal_the_exact_ones_within_a_bin() -> None:
    rng = np.random.default_rng(1)
    logs = rng.normal(3.3, 0.9, 5000)
    exact = ExceptionalOrderRule.from_log_amounts(logs)
    bins = np.round(logs / 0.001)
    centres, counts = np.unique(bins, return_counts=True)
    binned = ExceptionalOrderRule.from_log_amounts(centres * 0.001, counts)
    assert np.log(binned.median_order) == pytest.approx(np.log(exact.median_order), abs=0.002)
    assert binned.spread == pytest.approx(exact.spread, abs=1.4826 * 0.002)


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("klant,datum,bedrag\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def regular(n: int = 40) -> list[str]:
    """``n`` customers with two ordinary orders each (10..99)."""
    return [f"C{i},2024-01-{1 + i % 28:02d},{10 + (i * 37) % 90}" for i in range(n)] + [
        f"C{i},2024-03-{1 + i % 28:02d},{12 + (i * 13) % 80}" for i in range(n)
    ]


# W: usual orders of 3, one of 3000 (1000 times, but only 50 times the median order:
# not an implausible amount); B: always about 6000 (a big spender, not exceptional).
SMALL_ROWS = [
    *regular(),
    "W,2024-01-05,3.00",
    "W,2024-02-05,3.10",
    "W,2024-05-05,3000",
    "B,2024-01-05,5000",
    "B,2024-05-05,7000",
]


def test_one_enormous_order_is_flagged_and_kept(tmp_path) -> None:
    with read(write(tmp_path / "a.csv", SMALL_ROWS)) as tx:
        flagged = dict(tx.quality.flagged)
        assert flagged == {"exceptional_order": 1}
        orders = tx.exceptional_orders
        assert orders[["customer_id", "amount"]].values.tolist() == [["W", 3000.0]]
        assert orders["usual"].iloc[0] == pytest.approx(np.sqrt(3.0 * 3.1), rel=1e-5)
        assert orders["reference"].iloc[0] == tx.exceptional_rule.median_order  # > usual
        revenue = tx.query(f"SELECT sum(amount) AS r FROM {tx.table} WHERE customer_id = 'W'")
        assert revenue["r"].item() == pytest.approx(3006.1)  # what the customer paid
        assert tx.quality.rows_kept == tx.quality.rows_read


def test_exclude_leaves_them_out_and_counts_them(tmp_path) -> None:
    policies = DataPolicies(outliers="exclude")
    with read(write(tmp_path / "a.csv", SMALL_ROWS), policies) as tx:
        q = tx.quality
        assert dict(q.excluded)["exceptional_order"] == 1
        assert q.rows_kept == q.rows_read - 1 == q.rows_read - q.excluded_rows
        assert "exceptional_order" not in dict(q.flagged)
        assert tx.exceptional_rule is None  # nothing left to cap in the spend model
        left = tx.query(f"SELECT max(amount) AS m FROM {tx.table} WHERE customer_id = 'W'")
        assert left["m"].item() == pytest.approx(3.1)


def test_keep_is_silent_but_the_forecast_is_still_protected(tmp_path) -> None:
    with read(write(tmp_path / "a.csv", SMALL_ROWS), DataPolicies(outliers="keep")) as tx:
        assert tx.quality.flagged == ()
        assert tx.exceptional_count == 1 and tx.exceptional_rule is not None


def test_an_implausible_amount_is_counted_once(tmp_path) -> None:
    rows = [*regular(), "W,2024-01-05,3.00", "W,2024-05-05,1000000000"]
    with read(write(tmp_path / "a.csv", rows)) as tx:
        assert dict(tx.quality.flagged) == {"outlier": 1}  # as before this rule existed
        assert tx.exceptional_count == 1  # but its customer's spend is protected too


def test_a_customers_only_order_is_never_exceptional(tmp_path) -> None:
    rows = [*regular(), "W,2024-05-05,3000"]
    with read(write(tmp_path / "a.csv", rows)) as tx:
        assert tx.exceptional_count == 0 and tx.quality.flagged == ()


# --- the simulated log ----------------------------------------------------------------------


@pytest.fixture(scope="module", params=[7, 11])
def simulated(request, tmp_path_factory) -> tuple[WhaleLog, Path, Path]:
    log = whale_log(seed=request.param)
    folder = tmp_path_factory.mktemp(f"whales{request.param}")
    return log, log.write(folder / "log.csv"), log.write(folder / "clean.csv", clean=True)


def test_the_rule_flags_exactly_the_enormous_orders(simulated) -> None:
    log, path, clean_path = simulated
    with read(path) as tx:
        assert keyed(tx.exceptional_orders) == keyed(log.whale_orders)
        assert tx.exceptional_count == len(log.whale_orders)
        flagged = dict(tx.quality.flagged)
        # each enormous order is listed once: as an implausible amount or as exceptional
        assert flagged.get("outlier", 0) + flagged.get("exceptional_order", 0) == len(
            log.whale_orders
        )
        assert not set(log.big_spenders) & set(tx.exceptional_orders["customer_id"])
    with read(clean_path) as tx:
        assert tx.exceptional_count == 0
        assert "exceptional_order" not in dict(tx.quality.flagged)


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_customers_whose_orders_vary_more_are_not_flagged(tmp_path, p, monkeypatch) -> None:
    # with a smaller Gamma shape one customer's orders vary more: the factor grows with it
    import whale_log as module

    monkeypatch.setattr(module, "SPEND", {**module.SPEND, "p": p})
    log = whale_log(seed=3)
    with read(log.write(tmp_path / "log.csv")) as tx:
        assert tx.exceptional_rule.factor > EXCEPTIONAL_MIN_FACTOR
        assert keyed(tx.exceptional_orders) == keyed(log.whale_orders)


def test_the_summary_sql_is_one_query_for_both_engines() -> None:
    rule = ExceptionalOrderRule(20.0, 0.5, 10.0, 100)
    sql = rule.exceptional_sql("tx", "order_date <= DATE '2024-01-01'", DUCKDB)
    assert "percentile" not in sql and "quantile" not in sql  # no engine-specific statistics
    assert "DECIMAL(38, 6)" in sql  # exact log sums: the same usual order on every engine
