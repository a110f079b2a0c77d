"""``clvreport fit`` on the CDNOW sample: text, JSON, a fixed model, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import clvreport.cli.fit  # noqa: F401  registers the command
from clvreport.cli._app import app

DATA = Path(__file__).resolve().parents[1] / "data" / "cdnow_sample.txt"
CDNOW_ARGS = [
    "fit",
    str(DATA),
    "--no-header",
    "--names",
    "id,sample,date,qty,amount",
    "--customer-col",
    "id",
    "--date-col",
    "date",
    "--amount-col",
    "amount",
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
]
runner = CliRunner()


def test_text_output_shows_model_parameters_and_holdout() -> None:
    result = runner.invoke(app, [*CDNOW_ARGS, "--holdout-end", "1998-06-30"])
    assert result.exit_code == 0, result.output
    assert "Status: ok" in result.output
    assert "Model: BG/NBD, chosen by smallest holdout error" in result.output
    assert "Gamma-Gamma (spend)" in result.output
    assert "actual 1,882 vs predicted 1,653.4" in result.output
    assert "-9,594.976" in result.output  # Pareto/NBD calibration log-likelihood


def test_json_is_one_object_with_model_json_content() -> None:
    result = runner.invoke(app, [*CDNOW_ARGS, "--holdout-end", "1998-06-30", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["status"] == "ok" and payload["model"] == "bgnbd"
    assert payload["validation"]["actual_total"] == 1882
    assert payload["candidates"]["bgnbd"]["params"]["r"] == pytest.approx(0.2425945, rel=1e-4)
    assert payload["spend_model"]["params"]["p"] > 0
    assert payload["calibration_end"] == "1997-09-30" and payload["holdout_end"] == "1998-06-30"


def test_fixed_model_without_holdout() -> None:
    result = runner.invoke(app, [*CDNOW_ARGS, "--model", "pnbd", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["model"] == "pnbd" and payload["selection"] == "fixed"
    assert payload["transaction_model"]["params"]["r"] == pytest.approx(0.55315, rel=3e-4)
    assert payload["validation"] is None


def test_failed_fit_exits_with_1(tmp_path: Path) -> None:
    csv = tmp_path / "tx.csv"
    rows = [f"c{i},2024-01-{1 + i % 20:02d},10.0" for i in range(30)]
    csv.write_text("customer,date,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    args = ["fit", str(csv), "--customer-col", "customer", "--date-col", "date"]
    result = runner.invoke(
        app, [*args, "--amount-col", "amount", "--calibration-end", "2024-01-20"]
    )
    assert result.exit_code == 1
    assert "Status: failed (too_few_repeat_buyers)" in result.output


def test_user_mistakes_exit_with_2() -> None:
    args = [*CDNOW_ARGS, "--holdout-end", "1997-09-01"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "holdout end 1997-09-01 is not after the calibration end" in result.output


def test_scores_file_has_one_row_per_customer_and_json_the_coverage(tmp_path: Path) -> None:
    out = tmp_path / "holdout" / "scores.csv"
    args = [*CDNOW_ARGS, "--holdout-end", "1998-06-30", "--scores", str(out), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    validation = json.loads(result.stdout)["validation"]
    assert validation["interval"] == 0.9
    assert 0.8 <= validation["coverage"] <= 1.0
    import pandas as pd

    scores = pd.read_csv(out, dtype={"customer_id": str})
    assert list(scores.columns) == [
        "customer_id",
        "holdout_purchases",
        "expected_holdout_purchases",
        "holdout_purchases_low",
        "holdout_purchases_high",
        "chance_below",
        "chance_above",
    ]
    assert len(scores) == 2357 and scores["customer_id"].is_unique
    assert scores["holdout_purchases"].sum() == validation["actual_total"] == 1882
    assert scores["expected_holdout_purchases"].sum() == pytest.approx(
        validation["predicted_total"], rel=1e-6
    )
    assert (scores["holdout_purchases_low"] <= scores["holdout_purchases_high"]).all()
    inside = (scores["holdout_purchases_low"] <= scores["holdout_purchases"]) & (
        scores["holdout_purchases"] <= scores["holdout_purchases_high"]
    )
    assert inside.mean() == pytest.approx(validation["coverage"])
    above = scores["holdout_purchases"] > scores["holdout_purchases_high"]
    below = scores["holdout_purchases"] < scores["holdout_purchases_low"]
    assert validation["above"] == pytest.approx(above.mean(), abs=1e-4)
    assert validation["below"] == pytest.approx(below.mean(), abs=1e-4)
    assert validation["above"] + validation["below"] == pytest.approx(
        1 - validation["coverage"], abs=1e-3
    )
    # 78 weeks of CDNOW: too short for a seasonal index
    assert json.loads(result.stdout)["season"]["reason"] == "too_short"


def test_text_output_states_the_coverage() -> None:
    result = runner.invoke(app, [*CDNOW_ARGS, "--holdout-end", "1998-06-30"])
    assert result.exit_code == 0, result.output
    assert "inside their 90% predictive interval" in result.output


def test_scores_without_holdout_end_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, [*CDNOW_ARGS, "--scores", str(tmp_path / "s.csv")])
    assert result.exit_code == 2
    assert "--scores needs a holdout period" in result.output
    assert "--holdout-end" in result.output and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert not (tmp_path / "s.csv").exists()
