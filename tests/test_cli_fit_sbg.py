"""`clvreport fit --model sbg`: a subscription log in, the sBG parameters out."""

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from clvreport.cli import app

SURVIVAL = Path(__file__).parent / "data" / "subscriptions" / "sbg_survival.csv"


def regular_log(path: Path) -> Path:
    """The 'regular' cohort of Fader & Hardie (2007) as a log: 1,000 contracts from 2000."""
    alive = pd.read_csv(SURVIVAL)["regular"].to_numpy()
    rows, number = [], 0
    for year in range(1, len(alive)):
        for _ in range(alive[year - 1] - alive[year]):  # did not renew at year `year`
            number += 1
            rows.append((f"K{number:04d}", "2000-01-01", f"{2000 + year}-01-01"))
    for _ in range(alive[-1]):
        number += 1
        rows.append((f"K{number:04d}", "2000-01-01", ""))
    pd.DataFrame(rows, columns=["klant", "start", "einde"]).to_csv(path, index=False)
    return path


def run(*args: str):
    return CliRunner().invoke(app, ["fit", *args])


def test_published_parameters_from_a_log(tmp_path):
    log = regular_log(tmp_path / "log.csv")
    result = run(
        str(log),
        "--model",
        "sbg",
        "--customer-col",
        "klant",
        "--start-col",
        "start",
        "--end-col",
        "einde",
        "--time-unit",
        "years",
        "--as-of",
        "2007-06-30",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    params = data["transaction_model"]["params"]
    # the subscription report's model block: 1,000 contracts, 631 renewed at least once
    assert data["model"] == "sbg" and data["n_customers"] == 1000 and data["n_repeat_buyers"] == 631
    assert data["business"] == "subscription" and data["period"] == "year"
    assert data["plans"] == {} and data["validation_note"] == "off"
    assert params["alpha"] == pytest.approx(0.704, abs=5e-4)
    assert params["beta"] == pytest.approx(1.182, abs=5e-4)
    assert data["transaction_model"]["log_likelihood"] == pytest.approx(-1680.27, abs=0.01)


def test_missing_columns_and_units_are_one_message(tmp_path):
    log = regular_log(tmp_path / "log.csv")
    no_end = run(str(log), "--model", "sbg", "--customer-col", "klant", "--start-col", "start")
    assert no_end.exit_code == 2 and "--end-col is required" in no_end.output
    weeks = run(
        str(log),
        "--model",
        "sbg",
        "--customer-col",
        "klant",
        "--start-col",
        "start",
        "--end-col",
        "einde",
        "--time-unit",
        "weeks",
    )
    assert weeks.exit_code == 2 and "does not work with --model sbg" in weeks.output
    wrong = run(
        str(log),
        "--model",
        "sbg",
        "--customer-col",
        "klant",
        "--start-col",
        "begin",
        "--end-col",
        "einde",
        "--time-unit",
        "years",
    )
    assert wrong.exit_code == 2 and "begin" in wrong.output and "Traceback" not in wrong.output
    other = run(str(log), "--customer-col", "klant", "--model", "bgnbd")
    assert other.exit_code == 2 and "--date-col is required" in other.output
