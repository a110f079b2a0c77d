"""``clvreport fit`` keeps identical rows like a report does when no order id is mapped.

Without an order id, two rows with the same customer, day and amount are most
likely two invoices (a wholesaler: 39 of them, £15,805). The report path keeps
them (``duplicates: auto``); ``clvreport fit`` used to drop them by default.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvreport.cli.fit  # noqa: F401  registers the command
from clvreport.cli._app import app
from clvreport.config import ColumnMapping, DataPolicies
from clvreport.ingest import read_transactions
from clvreport.models import fit_clv_models
from clvreport.models.simulate import simulate_bgnbd_transactions
from clvreport.rfm import rfm_summary

COLUMNS = ColumnMapping(customer_id="klant", date="datum", amount="bedrag")
ARGS = [
    "--customer-col",
    "klant",
    "--date-col",
    "datum",
    "--amount-col",
    "bedrag",
    "--calibration-end",
    "2023-06-30",
    "--holdout-end",
    "2023-12-31",
    "--json",
]


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    log, _ = simulate_bgnbd_transactions(
        {"r": 0.6, "alpha": 5.0, "a": 0.6, "b": 4.0},
        {"p": 6.0, "q": 4.0, "gamma": 15.0},
        600,
        seed=4,
    )
    rng = np.random.default_rng(4)
    repeat = log[log.duplicated("customer_id")]  # not a first order
    twice = log.loc[rng.choice(repeat.index, 40, replace=False)]  # a second, identical invoice
    frame = (
        pd.concat([log, twice])
        .sort_values(["customer_id", "order_date"])
        .rename(columns={"customer_id": "klant", "order_date": "datum", "amount": "bedrag"})
    )
    path = tmp_path_factory.mktemp("export") / "orders.csv"
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


def fit_json(path, *options: str) -> dict:
    result = CliRunner().invoke(app, ["fit", str(path), *ARGS, *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def report_path_fit(path, policies: DataPolicies) -> dict:
    with read_transactions(path, COLUMNS, policies=policies) as tx:
        assert tx.quality.rows_read == tx.quality.rows_kept + tx.quality.excluded_rows
        calibration = rfm_summary(tx, calibration_end="2023-06-30", observation_end="2023-12-31")
        full = rfm_summary(tx, calibration_end="2023-12-31")
    return fit_clv_models(calibration, full).to_dict()


def test_fit_keeps_identical_invoices_like_the_report(export) -> None:
    report = report_path_fit(export, DataPolicies())  # the report's defaults: auto
    with read_transactions(export, COLUMNS, policies=DataPolicies()) as tx:
        assert dict(tx.quality.flagged)["possible_duplicate"] == 40
        assert dict(tx.quality.excluded)["duplicate"] == 0
    payload = fit_json(export)
    assert payload["spend_model"]["params"] == pytest.approx(report["spend_model"]["params"])
    assert payload["validation"]["actual_revenue"] == pytest.approx(
        report["validation"]["actual_revenue"]
    )
    dropped = fit_json(export, "--duplicates", "drop")
    assert dropped["spend_model"]["params"] != pytest.approx(payload["spend_model"]["params"])
    assert dropped == {**dropped, "n_customers": payload["n_customers"]}
