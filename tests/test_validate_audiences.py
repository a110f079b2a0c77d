"""``clvreport validate`` says what the report then does, for shops, donors and subscribers.

Per shipped example the exact check lines and warnings of the command line; for
a subscription log in a workbook with a cover sheet, and for cases where the
report falls back (a plan without a model of its own, a holdout it cannot
check, a report date inside a giving year), that validate's words and the
analysis agree.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clvreport.analysis import run_analysis
from clvreport.cli import app
from clvreport.config import load_client
from clvreport.errors import DataError
from tests.subscription_exports import COVER, SHEET, write_xlsx_with_cover

DATA = Path(__file__).resolve().parents[1] / "data"


def validate(client: str, data_dir: Path = DATA, *extra: str):
    """Exit code, check lines ``{name: detail}`` and warnings of ``clvreport validate``."""
    result = CliRunner().invoke(
        app, ["validate", "--client", client, "--data-dir", str(data_dir), *extra]
    )
    items: list[list[str]] = []
    for line in result.output.splitlines():
        if line.startswith(("  ✓ ", "  ! ")):
            items.append([line[2], line[4:].strip()])
        elif items and line.strip() and not line.startswith(client):
            items[-1][1] += " " + line.strip()  # a line Rich wrapped
    checks = {}
    for mark, text in items:
        if mark == "✓":
            name, _, detail = text.partition(" ")
            checks[name] = detail.strip()
    warnings = [text for mark, text in items if mark == "!"]
    return result.exit_code, checks, warnings, " ".join(result.output.split())


SHOP_FLAGS = {
    "demo": [
        "1,047 rows excluded: missing customer id",
        "298 rows excluded: cancelled status",
        "3 rows excluded: duplicate",
        "134 rows excluded: fully returned customer",
        "67 flagged: customers whose purchases were all returned (the returns cancel the "
        "purchases); their rows are left out: they kept nothing, so they carry no value",
    ],
    "cdnow": [
        "1 flagged: orders far larger than both the customer's other orders and the client's "
        "median order (at least 10 times, more when order amounts vary widely: a robust z-score "
        "of 3.5 on the log scale) are kept in revenue, but the forecast of future spending "
        "counts each as an ordinary order of that customer unless the holdout check prefers "
        "the full amounts (model.json: spend_caps); check them in the export, or set "
        "data.policies.outliers: exclude to leave them out",
        "255 flagged: rows identical to another row are kept as separate purchases because no "
        "order id tells them apart: map columns.order_id, or set data.policies.duplicates: "
        "drop if they are export errors",
        "80 flagged: orders of 0 are counted as purchases; set data.policies.zero_amounts: "
        "drop if they are not real orders",
        "exceptional orders, largest first: customer 08830 on 1998-06-10: 1,286.01 (34 times "
        "their usual order of 37.92)",
        "the contact costs of the actions are euro amounts (clvreport/rules/recommendations.yml);"
        " set costs: in client.yml in USD, or the plan prices contacts as if in euros",
    ],
}


@pytest.mark.parametrize("client", ["demo", "cdnow"])
def test_shops_warn_as_before(client):
    code, checks, warnings, _ = validate(client)
    assert code == 0
    assert warnings == SHOP_FLAGS[client]
    assert "transactions" in checks and "holdout" not in checks


def test_donors_are_checked_as_donors():
    code, checks, warnings, _ = validate("goededoel")
    assert (code, warnings) == (0, [])
    assert checks["gifts"] == "22,248 of 22,248 rows used, 8,000 donors, 2017-01-01 – 2024-12-31"
    assert checks["model"] == (
        "BG/BB on yearly giving up to 2024-12-31 (7 opportunities after the first year): "
        "4,475 of 8,000 donors gave in more than one"
    )
    assert checks["holdout"] == (
        "the model is fitted up to 2022-12-31 and checked on the 2 year(s) after it"
    )


def test_subscriptions_are_checked_as_subscriptions():
    code, checks, warnings, output = validate("abonnement")
    # neither "no customer bought twice" nor "the as-of date is later than the last
    # transaction": a subscriber pays again by renewing, and the report date may follow
    # the last start
    assert (code, warnings) == (0, [])
    assert checks["subscriptions"] == (
        "8,804 of 8,804 rows used, 8,804 subscriptions of 8,804 subscribers, 2,122 running on "
        "2024-12-31; started 2021-01-01 – 2024-12-28"
    )
    assert checks["model"] == (
        "sBG on 6,682 cancellations at monthly renewals; one per plan: duobox, gezinsbox"
    )
    assert checks["holdout"] == (
        "the model is fitted up to 2024-06-30 and checked on the 6 month(s) after it"
    )
    assert "transactions" not in checks
    assert "abonnement is ready to report." in output


def test_the_subscription_numbers_are_the_reports(subscription_analysis):
    a = subscription_analysis
    contracts = a.subscribers.contracts
    assert (len(contracts), int(contracts["active"].sum())) == (8804, 2122)
    assert int((~contracts["active"]).sum()) == 6682
    assert sorted(p for p in a.model.models if p != "all") == ["duobox", "gezinsbox"]
    holdout = a.subscribers.holdout
    assert (holdout.calibration_end, holdout.holdout_periods) == (dt.date(2024, 6, 30), 6)


@pytest.fixture(scope="module")
def subscription_analysis():
    client_dir, config = load_client("abonnement", DATA)
    return run_analysis(config, client_dir)


def test_xlsx_log_with_a_cover_sheet_validates_and_reports(tmp_path):
    write_xlsx_with_cover(tmp_path / "omslag", n=800)
    code, checks, warnings, _ = validate("omslag", tmp_path)
    assert code == 0 and warnings == []
    assert checks["subscriptions"].startswith("800 of 800 rows used, 800 subscriptions")
    client_dir, config = load_client("omslag", tmp_path)
    analysis = run_analysis(config, client_dir)
    assert len(analysis.subscribers.contracts) == 800
    assert analysis.quality.files[0].path.name == "abonnementen.xlsx"
    running = int(analysis.subscribers.contracts["active"].sum())
    assert f", {running:,} running on 2024-12-31" in checks["subscriptions"]


def test_xlsx_log_with_a_cover_and_no_sheet_fails_alike(tmp_path):
    write_xlsx_with_cover(tmp_path / "omslag", n=100, sheet=None)
    code, _, _, output = validate("omslag", tmp_path)
    client_dir, config = load_client("omslag", tmp_path)
    with pytest.raises(DataError) as caught:
        run_analysis(config, client_dir)
    assert code != 0
    expected = f"the first sheet ('{COVER}') does not hold the mapped columns"
    assert expected in caught.value.message and expected in output
    assert f"set data.excel.sheet: '{SHEET}'" in output


def test_a_plan_with_few_cancellations_borrows_the_pooled_model(tmp_path):
    folder = tmp_path / "proef"
    folder.mkdir()
    lines = (DATA / "abonnement" / "abonnementen.csv").read_text().splitlines()[:1001]
    # five ended contracts move to a trial plan: too few cancellations for its own model
    ended = [i for i, line in enumerate(lines[1:], 1) if line.split(";")[3]][:5]
    for i in ended:
        fields = lines[i].split(";")
        fields[1] = "proefbox"
        lines[i] = ";".join(fields)
    (folder / "abonnementen.csv").write_text("\n".join(lines) + "\n")
    shutil.copy(DATA / "abonnement" / "client.yml", folder / "client.yml")
    code, checks, warnings, _ = validate("proef", tmp_path)
    assert code == 0
    assert warnings == [
        "plan 'proefbox': 5 subscriptions ended, too few for a model of its own (at least 10): "
        "the report uses the model of all plans"
    ]
    assert checks["model"].endswith("one per plan: duobox, gezinsbox")
    client_dir, config = load_client("proef", tmp_path)
    analysis = run_analysis(config, client_dir)
    assert "proefbox" not in analysis.model.models
    assert analysis.model.reasons == ("plan_pooled",)


def test_donor_warnings_match_the_report(tmp_path):
    folder = tmp_path / "halfjaar"
    shutil.copytree(DATA / "goededoel", folder)
    config = yaml.safe_load((folder / "client.yml").read_text())
    config.update(as_of="2024-06-30", holdout_months=6)
    (folder / "client.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    code, checks, warnings, _ = validate("halfjaar", tmp_path)
    assert code == 0
    assert warnings == [
        "2,171 rows excluded: after as of",
        "the report date 2024-06-30 is not the end of a year: the model counts the years up to "
        "2023-12-31; later gifts are in the history, not in the model",
        "holdout_months (6) is shorter than one year: the report cannot check the model on "
        "held-back data; hold back whole years",
    ]
    client_dir, loaded = load_client("halfjaar", tmp_path)
    analysis = run_analysis(loaded, client_dir)
    assert analysis.donors.holdout.reason == "shorter_than_period"
    assert analysis.donors.summary.attrs["last_period_end"] == "2023-12-31"
    assert checks["model"].startswith("BG/BB on yearly giving up to 2023-12-31")
