"""One enormous order cannot hijack a customer's expected spend (issue 22, item 3).

On a seeded simulated log (:mod:`whale_log`) a few customers placed one order
500 to 5000 times their usual one, and a few others consistently buy 100 times
as much as everybody else. The spend model (:mod:`clvreport.models.spend_caps`)
must not let the enormous orders make their customers valuable, the holdout
check must agree, and a log without them must come out as before.
Every expectation is a property of the simulation (the true spend, the clean
twin of the log), not a number the code printed once.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from whale_log import CALIBRATION_END, WhaleLog, whale_log

from clvreport.config import ColumnMapping, DataPolicies
from clvreport.ingest import Transactions, read_transactions
from clvreport.ingest.exceptional import EXCEPTIONAL_MIN_FACTOR
from clvreport.models import ClvModelFit, fit_clv_models, score_customers
from clvreport.models.spend_caps import CAPPED_COLUMN, SpendCaps
from clvreport.rfm import rfm_summary

COLUMNS = ColumnMapping(customer_id="klant", date="datum", amount="bedrag")
CAL = CALIBRATION_END.date()


def read(path: Path, policies: DataPolicies | None = None) -> Transactions:
    return read_transactions(path, COLUMNS, policies=policies)


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("klant,datum,bedrag\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def regular(n: int = 40) -> list[str]:
    """``n`` customers with two ordinary orders each (10..99)."""
    return [f"C{i},2024-01-{1 + i % 28:02d},{10 + (i * 37) % 90}" for i in range(n)] + [
        f"C{i},2024-03-{1 + i % 28:02d},{12 + (i * 13) % 80}" for i in range(n)
    ]


@pytest.fixture(scope="module", params=[7, 11])
def simulated(request, tmp_path_factory) -> tuple[WhaleLog, Path, Path]:
    log = whale_log(seed=request.param)
    folder = tmp_path_factory.mktemp(f"whales{request.param}")
    return log, log.write(folder / "log.csv"), log.write(folder / "clean.csv", clean=True)


def test_the_calibration_cap_knows_only_the_calibration_orders(tmp_path) -> None:
    # L bought 1,000 and 4,000 up to the calibration end (4 times: not exceptional), then
    # four orders of 3: over the whole period the 4,000 is 400 times their usual order.
    rows = [
        *regular(),
        "L,2024-01-02,1000",
        "L,2024-02-02,4000",
        *[f"L,2024-04-0{d},3" for d in range(1, 5)],
    ]
    with read(write(tmp_path / "a.csv", rows)) as tx:
        calibration = rfm_summary(tx, calibration_end="2024-02-29", observation_end=tx.as_of)
        full = rfm_summary(tx)
    assert CAPPED_COLUMN not in calibration
    assert calibration.attrs["spend_caps"]["orders"] == 0
    row = full.set_index("customer_id").loc["L"]
    assert row[CAPPED_COLUMN] < row["monetary_value"]
    assert full.attrs["spend_caps"]["orders"] == 1
    assert full.attrs["spend_caps"]["amount"] == 4000.0


@dataclasses.dataclass
class Fitted:
    fit: ClvModelFit
    full: pd.DataFrame
    scores: pd.DataFrame


def fitted(tx: Transactions) -> Fitted:
    calibration = rfm_summary(tx, calibration_end=CAL, observation_end=tx.as_of)
    full = rfm_summary(tx)
    fit = fit_clv_models(calibration, full, horizon_months=12)
    scores = score_customers(fit, full, horizon_months=12, n_draws=20).set_index("customer_id")
    return Fitted(fit, full, scores)


@pytest.fixture(scope="module")
def fits(simulated) -> dict[str, Fitted]:
    """The log capped (now), uncapped (as before) and its clean twin."""
    _, path, clean_path = simulated
    out = {}
    with read(path) as tx:
        out["capped"] = fitted(tx)
        out["uncapped"] = fitted(dataclasses.replace(tx, exceptional_rule=None))
    with read(clean_path) as tx:
        out["clean"] = fitted(tx)
    return out


def test_whales_expect_to_spend_about_what_their_ordinary_orders_say(simulated, fits) -> None:
    log, _, _ = simulated
    whales = list(log.whales)
    capped = fits["capped"].scores.loc[whales, "expected_spend"]
    clean = fits["clean"].scores.loc[whales, "expected_spend"]
    uncapped = fits["uncapped"].scores.loc[whales, "expected_spend"]
    ratio = capped / clean
    assert ratio.between(0.5, 2.0).all(), ratio.to_dict()
    assert (uncapped > 50 * clean).all()  # what the enormous order did before


def test_no_whale_is_a_top_customer_unless_their_ordinary_orders_make_them_one(
    simulated, fits
) -> None:
    log, _, _ = simulated
    top = set(fits["capped"].scores["clv"].nlargest(10).index)
    clean_top = set(fits["clean"].scores["clv"].nlargest(20).index)
    assert (top & set(log.whales)) <= clean_top
    assert set(fits["uncapped"].scores["clv"].nlargest(10).index) & set(log.whales)  # before
    # the customers who consistently buy big keep their place
    big = set(log.big_spenders)
    assert top & big == set(fits["clean"].scores["clv"].nlargest(10).index) & big


def test_the_holdout_decides_and_the_capped_spend_predicts_better(simulated, fits) -> None:
    log, _, _ = simulated
    caps = fits["capped"].fit.spend_caps
    assert caps is not None and caps.applied and caps.decision == "check_capped"
    check = caps.check
    assert check["customers"] == len(log.whales)
    assert check["split_error_capped"] <= check["split_error_full"]
    # the revenue check of the report is the capped one's, close to the clean log's
    capped = fits["capped"].fit.validation.revenue_error
    assert capped == pytest.approx(check["revenue_error_capped"])
    assert capped == pytest.approx(fits["clean"].fit.validation.revenue_error, abs=0.02)
    # and on the simulated truth the spend forecast of repeat buyers is closer
    truth = log.truth.set_index("customer_id")["mean_spend"]

    def error(name: str) -> float:
        f = fits[name]
        repeat = f.full.set_index("customer_id")["frequency"] > 0
        spend = f.scores.loc[repeat[repeat].index, "expected_spend"]
        return float(np.mean(np.abs(np.log(spend / truth.loc[spend.index]))))

    assert error("capped") < error("uncapped")
    assert error("capped") == pytest.approx(error("clean"), abs=0.005)


def test_without_cancelling_errors_the_total_revenue_error_is_not_worse(tmp_path) -> None:
    # No big spenders whose shrunk spend makes the model miss low: then the whales'
    # overestimate cannot hide a miss elsewhere and the plain total shows the gain too.
    log = whale_log(seed=5, big_spenders=0)
    with read(log.write(tmp_path / "log.csv")) as tx:
        capped = fitted(tx).fit
        uncapped = fitted(dataclasses.replace(tx, exceptional_rule=None)).fit
    assert abs(capped.validation.revenue_error) <= abs(uncapped.validation.revenue_error)
    assert capped.spend_caps.check["revenue_error_full"] == pytest.approx(
        uncapped.validation.revenue_error
    )


def test_model_json_says_what_was_capped(simulated, fits) -> None:
    log, _, _ = simulated
    data = fits["capped"].fit.to_dict()["spend_caps"]
    assert data["applied"] and data["orders"] == len(log.whale_orders)
    assert data["customers"] == len(log.whales)
    assert data["amount"] == pytest.approx(log.whale_orders["amount"].sum(), abs=0.01)
    assert 0 < data["counted_as"] < data["amount"] / 100
    assert data["rule"]["factor"] >= EXCEPTIONAL_MIN_FACTOR
    again = ClvModelFit.from_dict(fits["capped"].fit.to_dict())
    assert again.spend_caps == SpendCaps.from_dict(data)
    full = fits["capped"].full
    np.testing.assert_array_equal(again.spend_input(full), full[CAPPED_COLUMN].to_numpy())


def test_past_revenue_stays_what_customers_paid(simulated, fits) -> None:
    log, _, _ = simulated
    paid = log.log.groupby("customer_id")["amount"].sum()
    full = fits["capped"].full.set_index("customer_id")
    np.testing.assert_allclose(full["revenue"], paid.loc[full.index], rtol=1e-12)
    whales = list(log.whales)
    assert (full.loc[whales, "monetary_value"] > full.loc[whales, CAPPED_COLUMN]).all()


def test_a_log_without_enormous_orders_fits_as_before(simulated) -> None:
    _, _, clean_path = simulated
    with read(clean_path) as tx:
        now = fitted(tx)
        before = fitted(dataclasses.replace(tx, exceptional_rule=None))
    assert CAPPED_COLUMN not in now.full
    assert now.fit.spend_caps.decision == "nothing_to_cap" and not now.fit.spend_caps.applied
    assert now.fit.spend_model.params_ == before.fit.spend_model.params_
    pd.testing.assert_frame_equal(now.scores, before.scores)
    assert list(now.full.columns) == list(before.full.columns)
