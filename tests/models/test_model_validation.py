"""Holdout validation: Fader-Hardie's CDNOW holdout numbers, verdicts, model choice."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clvreport.models import HoldoutComparison, choose_model, holdout_comparison
from clvreport.models.validation import has_holdout, holdout_verdict


def test_cdnow_holdout_totals(cdnow, bgnbd, paretonbd) -> None:
    assert cdnow["frequency_holdout"].sum() == 1882
    bg = holdout_comparison(bgnbd, cdnow)
    pnbd = holdout_comparison(paretonbd, cdnow)
    assert bg.actual_total == 1882
    assert bg.predicted_total == pytest.approx(1653, abs=1)
    assert pnbd.predicted_total == pytest.approx(1665, abs=1)
    assert bg.total_error == pytest.approx(1653.4 / 1882 - 1, abs=1e-3)
    assert (bg.verdict, bg.direction) == ("good", "under")


def test_bins_add_up(cdnow, bgnbd) -> None:
    comparison = holdout_comparison(bgnbd, cdnow)
    bins = comparison.by_frequency
    assert bins["bin"].tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert bins["customers"].sum() == 2357
    assert bins.loc[0, "customers"] == 2357 - 946
    assert bins["actual_total"].sum() == 1882
    assert bins["predicted_total"].sum() == pytest.approx(comparison.predicted_total)
    np.testing.assert_allclose(bins["actual_mean"] * bins["customers"], bins["actual_total"])
    expected_bin_mae = (
        bins["customers"] * (bins["actual_mean"] - bins["predicted_mean"]).abs()
    ).sum() / 2357
    assert comparison.bin_mae == pytest.approx(expected_bin_mae)
    assert comparison.mae > comparison.bin_mae  # individual noise dominates


def test_round_trip(cdnow, bgnbd) -> None:
    comparison = holdout_comparison(bgnbd, cdnow)
    restored = HoldoutComparison.from_dict(json.loads(json.dumps(comparison.to_dict())))
    assert restored.predicted_total == comparison.predicted_total
    assert restored.verdict == comparison.verdict
    pd.testing.assert_frame_equal(restored.by_frequency, comparison.by_frequency, check_dtype=False)


@pytest.mark.parametrize(
    ("total", "binned", "expected"),
    [
        (0.02, 0.05, ("good", "on_target")),
        (-0.14, 0.10, ("good", "under")),
        (0.20, 0.10, ("fair", "over")),
        (0.05, 0.40, ("poor", "on_target")),
        (-0.50, 0.40, ("poor", "under")),
        (float("nan"), float("nan"), ("no_holdout_purchases", "on_target")),
    ],
)
def test_verdicts(total, binned, expected) -> None:
    assert holdout_verdict(total, binned) == expected


def test_choice_prefers_smaller_binned_error_then_likelihood() -> None:
    def comparison(name: str, bin_mae: float) -> HoldoutComparison:
        return HoldoutComparison(
            name, pd.DataFrame(), 10, 10, 0, 1, 1, bin_mae, 0.1, "good", "on_target"
        )

    assert choose_model({"a": comparison("a", 0.2), "b": comparison("b", 0.1)}) == "b"
    tie = {"a": comparison("a", 0.1), "b": comparison("b", 0.1)}
    assert choose_model(tie, {"a": -10.0, "b": -5.0}) == "b"
    with pytest.raises(ValueError):
        choose_model({})


def test_has_holdout(cdnow, cdnow_full) -> None:
    assert has_holdout(cdnow)
    assert not has_holdout(cdnow_full)
    assert not has_holdout(cdnow.assign(duration_holdout=0.0))


def test_nobody_buying_in_the_holdout_gives_a_clear_code(cdnow, bgnbd) -> None:
    comparison = holdout_comparison(bgnbd, cdnow.assign(frequency_holdout=0))
    assert comparison.verdict == "no_holdout_purchases"
    assert np.isnan(comparison.total_error)
    json.dumps(comparison.to_dict(), allow_nan=False)
