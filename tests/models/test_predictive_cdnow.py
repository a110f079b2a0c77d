"""Predictive holdout intervals on CDNOW master (23,570 customers, 39-week holdout).

The published split: calibration 1997-01-01 .. 1997-09-30, holdout to 1998-06-30.
Target of the issue: the share of customers whose actual holdout purchases lie in
their 90% predictive interval is between 85% and 97%.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvreport.cli.fit  # noqa: F401  registers the command
from clvreport.cli._app import app
from clvreport.config import ColumnMapping, CsvOptions, DataPolicies
from clvreport.ingest import read_transactions
from clvreport.models import fit_clv_models
from clvreport.models.predictive import HOLDOUT_SCORE_COLUMNS, holdout_intervals, interval_check
from clvreport.rfm import rfm_summary

MASTER = Path(__file__).resolve().parents[2] / "data" / "cdnow" / "CDNOW_master.txt"
pytestmark = pytest.mark.skipif(not MASTER.exists(), reason="CDNOW master not available")


@pytest.fixture(scope="module")
def calibration() -> pd.DataFrame:
    # read as data/cdnow/client.yml says: header line, whitespace, keep duplicates and $0
    tx = read_transactions(
        [str(MASTER)],
        ColumnMapping(customer_id="customer_id", date="date", amount="dollar_value"),
        csv=CsvOptions(header=True, date_format="%Y%m%d", delimiter="whitespace"),
        policies=DataPolicies(zero_amounts="keep", duplicates="keep"),
    )
    try:
        return rfm_summary(
            tx, calibration_end="1997-09-30", observation_end="1998-06-30", time_unit="weeks"
        )
    finally:
        tx.close()


def test_every_candidate_covers_the_holdout_near_nominal(calibration) -> None:
    assert len(calibration) == 23_570
    fit = fit_clv_models(calibration, model="auto")
    for name, candidate in fit.candidates.items():
        assert candidate.model is not None, name
        scores, coverage = holdout_intervals(candidate.model, calibration, interval=0.9)
        assert 0.85 <= coverage <= 0.97, (name, coverage)
        # no frequency group is left far outside: the intervals are not right on average only
        inside = (scores["holdout_purchases_low"] <= scores["holdout_purchases"]) & (
            scores["holdout_purchases"] <= scores["holdout_purchases_high"]
        )
        by_frequency = inside.groupby(np.minimum(calibration["frequency"].to_numpy(), 7)).mean()
        assert by_frequency.min() > 0.85, (name, by_frequency.to_dict())


def test_misses_are_counted_above_and_below(calibration) -> None:
    """CDNOW's holdout misses are all above: nearly every customer has at least a 5%
    chance of buying nothing in 39 weeks, so the lower bound is 0 and cannot be missed."""
    fit = fit_clv_models(calibration, model="pnbd")
    scores, coverage = holdout_intervals(fit.candidates["pnbd"].model, calibration)
    check = interval_check(scores)
    assert 0.85 <= check.coverage <= 0.97
    assert check.above + check.below == pytest.approx(1 - coverage)
    assert check.lower_bound_zero > 0.99
    assert check.below <= 0.001 and check.expected_below <= 0.001
    # the model expects fewer misses above than happen: it forecasts the holdout too low
    assert fit.validation.total_error < 0
    assert check.expected_above < check.above < 0.08


def test_cli_writes_the_holdout_scores_and_the_coverage(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    args = [
        "fit",
        str(MASTER),
        "--customer-col",
        "customer_id",
        "--date-col",
        "date",
        "--amount-col",
        "dollar_value",
        "--date-format",
        "%Y%m%d",
        "--delimiter",
        "whitespace",
        "--zero-amounts",
        "keep",
        "--duplicates",
        "keep",
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        "--scores",
        str(out),
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    validation = payload["validation"]
    assert validation["interval"] == 0.9
    assert 0.85 <= validation["coverage"] <= 0.97
    scores = pd.read_csv(out, dtype={"customer_id": str})
    assert list(scores.columns) == HOLDOUT_SCORE_COLUMNS
    assert len(scores) == 23_570 and scores["customer_id"].is_unique
    inside = (scores["holdout_purchases_low"] <= scores["holdout_purchases"]) & (
        scores["holdout_purchases"] <= scores["holdout_purchases_high"]
    )
    assert inside.mean() == pytest.approx(validation["coverage"])
    assert scores["holdout_purchases"].sum() == validation["actual_total"]
