"""``clvreport fit --model bgbb|sbg --json`` prints exactly the report's model.json model block."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clvreport.cli import app
from clvreport.config import load_client

DATA = Path(__file__).resolve().parents[1] / "data"
CSV = ("--delimiter", ";", "--decimal", ",", "--date-format", "%d-%m-%Y")

COMMANDS = {
    "goededoel": [
        str(DATA / "goededoel" / "donaties.csv"),
        "--model",
        "bgbb",
        "--customer-col",
        "donateurnummer",
        "--date-col",
        "datum",
        "--amount-col",
        "bedrag",
        *CSV,
        "--calibration-end",
        "2024-12-31",
        "--as-of",
        "2024-12-31",
        "--time-unit",
        "years",
        "--holdout-months",
        "24",
        "--horizon-months",
        "60",
    ],
    "abonnement": [
        str(DATA / "abonnement" / "abonnementen.csv"),
        "--model",
        "sbg",
        "--customer-col",
        "klantnummer",
        "--start-col",
        "startdatum",
        "--end-col",
        "einddatum",
        "--plan-col",
        "abonnement",
        "--amount-col",
        "prijs_per_periode",
        *CSV,
        "--as-of",
        "2024-12-31",
        "--time-unit",
        "months",
        "--holdout-months",
        "6",
        "--horizon-months",
        "24",
    ],
}
"""The examples' client.yml settings as ``clvreport fit`` options."""


@pytest.mark.parametrize("client", sorted(COMMANDS))
def test_fit_json_is_the_reports_model_block(client: str, example_report) -> None:
    """The CLI's JSON is the block model.json starts with (the report adds its own keys after)."""
    _, config = load_client(client, DATA)
    stored = json.loads((example_report(client, "nl") / "model.json").read_text(encoding="utf-8"))
    result = CliRunner().invoke(app, ["fit", *COMMANDS[client], "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert {"transaction_model", "validation", "business", "period"} <= set(printed)
    assert {key: stored.get(key) for key in printed} == printed
    assert printed["business"] == config.business and printed["status"] == "ok"
    assert printed["validation"] is not None and 0 <= printed["validation"]["coverage"] <= 1
    assert printed["period"] == {"goededoel": "year", "abonnement": "month"}[client]
    assert printed["choice_note"] in ("discrete_business", "subscription_business")
