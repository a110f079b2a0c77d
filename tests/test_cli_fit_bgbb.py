"""``clvreport fit --model bgbb``: a dated donation log → BG/BB parameters, JSON and failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import clvreport.cli.fit  # noqa: F401  registers the command
from clvreport.cli._app import app

runner = CliRunner()
END_2021 = ("--calibration-end", "2021-12-31", "--as-of", "2021-12-31")
PARAMS = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}


def donation_log(path: Path, n_donors: int = 3000, years: int = 6, seed: int = 0) -> Path:
    """Donors first giving in 2015, then BG/BB draws for 2016.. (1-2 gifts in a giving year)."""
    rng = np.random.default_rng(seed)
    p = rng.beta(PARAMS["alpha"], PARAMS["beta"], n_donors)
    theta = rng.beta(PARAMS["gamma"], PARAMS["delta"], n_donors)
    death = rng.geometric(theta)
    rows = ["donor;date;amount"]
    for i in range(n_donors):
        rows.append(f"d{i};2015-{rng.integers(1, 13):02d}-15;{rng.integers(10, 100)}")
        for t in range(1, years + 1):
            if t < death[i] and rng.random() < p[i]:
                for _ in range(rng.integers(1, 3)):
                    month, day = rng.integers(1, 13), rng.integers(1, 29)
                    rows.append(f"d{i};{2015 + t}-{month:02d}-{day:02d};{rng.integers(10, 100)}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


SPEND_REASONS = {"spend_model_unavailable", "spend_model_infinite_mean"}


def args(path: Path, *extra: str) -> list[str]:
    return [
        "fit",
        str(path),
        "--customer-col",
        "donor",
        "--date-col",
        "date",
        "--amount-col",
        "amount",
        "--model",
        "bgbb",
        *extra,
    ]


def test_json_holds_the_bgbb_parameters(tmp_path: Path) -> None:
    log = donation_log(tmp_path / "donations.csv")
    result = runner.invoke(app, [*args(log, *END_2021), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    # the donor report's model block: BG/BB, and the amounts' model (Gamma-Gamma, or the
    # mean amount when it cannot be fitted on these uniform amounts: degraded, not failed)
    assert payload["model"] == "bgbb" and payload["business"] == "discrete"
    assert payload["status"] == "ok" or set(payload["reasons"]) <= SPEND_REASONS
    assert payload["time_unit"] == "years" and payload["period"] == "year"
    assert payload["n_customers"] == 3000 and payload["choice_note"] == "discrete_business"
    assert payload["validation"] is None and payload["validation_note"] == "off"
    model = payload["transaction_model"]
    assert model["model"] == "bgbb" and model["converged"] is True
    assert set(model["params"]) == {"alpha", "beta", "gamma", "delta"}
    assert set(model["standard_errors"]) == set(model["params"])
    assert model["n_customers"] == 3000 and model["log_likelihood"] < 0
    for name, true in PARAMS.items():  # recovered within 4 standard errors
        assert abs(model["params"][name] - true) < 4 * model["standard_errors"][name], name
    assert payload["spend_fallback"] > 10


def test_text_output_and_quarterly_periods(tmp_path: Path) -> None:
    log = donation_log(tmp_path / "donations.csv", n_donors=1000)
    result = runner.invoke(app, args(log, "--calibration-end", "2021-06-30"))
    assert result.exit_code == 0, result.output
    assert "Status: failed" not in result.output and "BG/BB (discrete time)" in result.output
    assert "up to 5 years to 2020-12-31" in result.output  # 2021 has not ended
    for name in ("alpha", "beta", "gamma", "delta", "log-likelihood"):
        assert name in result.output
    quarterly = runner.invoke(app, [*args(log, *END_2021, "--time-unit", "quarters"), "--json"])
    assert quarterly.exit_code == 0, quarterly.output
    payload = json.loads(quarterly.stdout)
    assert payload["time_unit"] == "quarters" and payload["period"] == "quarter"
    assert payload["transaction_model"]["params"]["alpha"] > 0


def test_one_donor_is_a_clear_error(tmp_path: Path) -> None:
    log = tmp_path / "one.csv"
    log.write_text("donor;date;amount\nd1;2015-03-01;10\nd1;2016-03-01;20\n", encoding="utf-8")
    result = runner.invoke(app, args(log, "--calibration-end", "2016-12-31"))
    assert result.exit_code == 2
    assert "single customer" in result.output and "Traceback" not in result.output
    assert result.output.startswith("Error: ")


def test_too_few_repeat_donors_fail_with_exit_1(tmp_path: Path) -> None:
    log = tmp_path / "few.csv"
    rows = [f"d{i};2015-0{1 + i % 9}-01;10" for i in range(30)]
    rows += [f"d{i};2017-05-01;20" for i in range(3)]
    log.write_text("donor;date;amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    end = ("--calibration-end", "2018-12-31", "--as-of", "2018-12-31")
    result = runner.invoke(app, args(log, *end))
    assert result.exit_code == 1
    assert "Status: failed (too_few_repeat_buyers)" in result.output
    assert "only 3 customer(s) bought again" in result.output
    assert "Traceback" not in result.output
    as_json = runner.invoke(app, [*args(log, *end), "--json"])
    assert as_json.exit_code == 1
    payload = json.loads(as_json.stdout)
    assert payload["status"] == "failed" and payload["transaction_model"] is None
    assert payload["n_customers"] == 30 and payload["n_repeat_buyers"] == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--time-unit", "weeks"], "--time-unit weeks does not work with --model bgbb"),
        (["--holdout-end", "2022-12-31"], "--holdout-end is not supported with --model bgbb"),
        ([], "calibration end 2030-12-31 is after the as-of date 2016-03-01"),
    ],
)
def test_mistakes_are_one_message_and_exit_2(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    log = tmp_path / "d.csv"
    log.write_text("donor;date;amount\nd1;2015-03-01;10\nd2;2016-03-01;20\n", encoding="utf-8")
    end = "2030-12-31" if not extra else "2018-12-31"
    result = runner.invoke(app, [*args(log, "--calibration-end", end), *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ")
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_years_are_only_for_bgbb(tmp_path: Path) -> None:
    log = donation_log(tmp_path / "donations.csv", n_donors=50)
    result = runner.invoke(
        app,
        [
            "fit",
            str(log),
            "--customer-col",
            "donor",
            "--date-col",
            "date",
            "--amount-col",
            "amount",
            *END_2021,
            "--time-unit",
            "years",
        ],
    )
    assert result.exit_code == 2
    assert "--time-unit years is only for --model bgbb" in result.output.replace("\n", " ")
