"""The measured plan through the report's own steps, on simulated shops with a known true uplift.

Each seed is a shop whose customers buy at their own rate. The first report's
steps run on its log: the per-customer table (:func:`clvreport.rfm.rfm_summary`
on the ingested transactions), the action lists with their control groups
(:func:`clvreport.experiments.hold_out_controls`, stratified by value) and the
stored lists (``actions.parquet``, :func:`clvreport.outputs.write_action_groups`).
Half a year later the treated customers of one action buy a known amount more
(``reward``: € 11.25 per treated customer on average), the other action does
nothing (``win_back``), and the next report measures both
(:func:`clvreport.comparison.measure_previous_actions`). Over 200 seeds the 90%
interval of the reward's uplift holds the truth 85-95% of the time and the
do-nothing action is called effective in at most ~10%.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvreport.comparison import StoredReport, measure_previous_actions
from clvreport.config import ColumnMapping
from clvreport.engine import DuckDBEngine
from clvreport.experiments import CONTROL, TREATED, hold_out_controls
from clvreport.ingest import read_transactions
from clvreport.outputs import write_action_groups
from clvreport.rfm import rfm_summary

LIST_DATE = dt.date(2024, 6, 30)
NEXT_REPORT = dt.date(2024, 12, 31)
EXTRA_PURCHASES = 0.25
"""Extra purchases per treated reward customer (Poisson mean) between the reports."""
MEAN_AMOUNT = 45.0
TRUE_UPLIFT = EXTRA_PURCHASES * MEAN_AMOUNT
"""The reward's true effect: extra revenue per treated customer (€ 11.25)."""
SEEDS = 200


def _purchases(rng: np.random.Generator, ids: np.ndarray, counts: np.ndarray, start, days: int):
    """``counts[i]`` purchases of customer ``ids[i]`` on uniform days after ``start``."""
    who = np.repeat(ids, counts)
    offsets = rng.integers(1, days + 1, len(who))
    return pd.DataFrame(
        {
            "klant": who,
            "datum": pd.Timestamp(start) + pd.to_timedelta(offsets, unit="D"),
            # skewed amounts like a shop's: gamma with mean 45
            "bedrag": np.round(rng.gamma(3.0, MEAN_AMOUNT / 3.0, len(who)), 2),
        }
    )


def _shop(seed: int, n: int = 1500) -> tuple[pd.DataFrame, np.ndarray]:
    """A year of purchases before the list date; returns the log and each customer's rate."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"K{i:05d}" for i in range(n)])
    rate = rng.gamma(1.5, 2.0, n)  # purchases a year, heterogeneous (mean 3)
    first = pd.Timestamp(LIST_DATE) - pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    before = _purchases(
        rng, ids, rng.poisson(rate), pd.Timestamp(LIST_DATE) - pd.Timedelta(365, "D"), 365
    )
    # every customer's first purchase, so everyone is in the first report
    log = pd.concat(
        [pd.DataFrame({"klant": ids, "datum": first, "bedrag": 30.0}), before], ignore_index=True
    )
    return log[log["datum"] <= pd.Timestamp(LIST_DATE)], rate


def _two_reports(seed: int, folder: Path, engine: DuckDBEngine) -> pd.DataFrame:
    """The measurement of the second report for one simulated shop."""
    rng = np.random.default_rng(10_000 + seed)
    log, rate = _shop(seed)
    ids = np.array([f"K{i:05d}" for i in range(len(rate))])
    days = (NEXT_REPORT - LIST_DATE).days
    # the first report's lists: above-median customers are rewarded, the rest won back
    first = _summary(log, folder / "first.parquet", LIST_DATE, engine)
    per_customer = pd.DataFrame(
        {
            "customer_id": first["customer_id"],
            "action": np.where(first["revenue"] > first["revenue"].median(), "reward", "win_back"),
            "contact": True,
            "value_kept": first["revenue"],
        }
    )
    group = hold_out_controls(
        per_customer, {"reward", "win_back"}, client=f"sim{seed}", as_of=LIST_DATE
    )
    write_action_groups(per_customer.assign(group=group), LIST_DATE, folder / "actions.parquet")
    # half a year later: everyone buys at their rate, treated reward customers a bit more
    listed = per_customer.set_index("customer_id").reindex(ids)
    treated_reward = (listed["action"] == "reward").to_numpy() & (
        group.set_axis(per_customer["customer_id"]).reindex(ids) == TREATED
    ).to_numpy()
    counts = rng.poisson(rate * days / 365) + np.where(
        treated_reward, rng.poisson(EXTRA_PURCHASES, len(ids)), 0
    )
    after = _purchases(rng, ids, counts, LIST_DATE, days)
    second = _summary(pd.concat([log, after]), folder / "second.parquet", NEXT_REPORT, engine)
    previous = StoredReport(folder=folder, as_of=LIST_DATE, customers=first, model={})
    measured = measure_previous_actions(previous, second, NEXT_REPORT)
    assert measured is not None
    return measured.set_index("action")


def _summary(log: pd.DataFrame, path: Path, as_of: dt.date, engine: DuckDBEngine) -> pd.DataFrame:
    """The report's per-customer table of the log as of ``as_of``, through the ingest."""
    log.to_parquet(path, index=False)
    mapping = ColumnMapping(customer_id="klant", date="datum", amount="bedrag")
    tx = read_transactions(path, mapping, as_of=as_of, engine=engine)
    try:
        return rfm_summary(tx)
    finally:
        tx.close()


def test_the_report_steps_measure_a_known_uplift_and_rarely_call_nothing_effective(
    tmp_path: Path,
) -> None:
    covered, false_alarms, found = [], [], []
    with DuckDBEngine(threads=1) as engine:  # one small engine for every shop
        measured_all = []
        for seed in range(SEEDS):
            folder = tmp_path / str(seed)
            folder.mkdir()
            measured_all.append(_two_reports(seed, folder, engine))
    for measured in measured_all:
        reward, win_back = measured.loc["reward"], measured.loc["win_back"]
        assert reward["measurable"] and win_back["measurable"]
        covered.append(reward["uplift_low"] <= TRUE_UPLIFT <= reward["uplift_high"])
        false_alarms.append(win_back["uplift_low"] > 0)
        found.append(reward["uplift_low"] > 0)
    assert 0.85 <= np.mean(covered) <= 0.95
    assert np.mean(false_alarms) <= 0.10
    # the real effect is found more often than the false alarms (the test has power)
    assert np.mean(found) > 2 * max(np.mean(false_alarms), 0.05)


def test_the_stored_lists_hold_one_group_per_customer_and_reproduce(tmp_path: Path) -> None:
    with DuckDBEngine(threads=1) as engine:
        measured = _two_reports(7, tmp_path, engine)
        again = tmp_path / "again"
        again.mkdir()
        _two_reports(7, again, engine)
    actions = pd.read_parquet(tmp_path / "actions.parquet")
    assert actions["customer_id"].is_unique
    assert set(actions["group"]) == {TREATED, CONTROL}
    share = (actions["group"] == CONTROL).groupby(actions["action"]).mean()
    assert share.to_numpy() == pytest.approx([0.1, 0.1], abs=0.01)
    assert (measured["treated"] + measured["control"]).to_dict() == actions.groupby(
        "action"
    ).size().to_dict()
    pd.testing.assert_frame_equal(actions, pd.read_parquet(again / "actions.parquet"))
