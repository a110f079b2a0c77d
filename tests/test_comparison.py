"""A report compared with the previous one (demo: 2024-06-30, then 2024-12-31 in nl and en).

The comparison must mean what its labels say: the migration covers exactly the
first report's customers, "actual purchases" are a recount of the transactions
between the two dates, "predicted" is what the first report's stored model
said for exactly that period, and a first report has no such section.
"""

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from clvreport.cli import app
from clvreport.comparison import (
    MIGRATION_COLUMNS,
    KeyFigures,
    StoredReport,
    Unavailable,
    compare_reports,
    find_previous,
    key_figures,
    list_reports,
    load_report,
)
from clvreport.errors import ConfigError
from clvreport.i18n import Translator
from clvreport.models import ClvModelFit
from clvreport.models.units import convert_duration
from clvreport.render import render_report
from clvreport.report.changes import since_previous
from clvreport.report.context import ReportContext

pytestmark = pytest.mark.slow

DATA = Path(__file__).parents[1] / "data"
FIRST, SECOND = dt.date(2024, 6, 30), dt.date(2024, 12, 31)


def pdf_text(path: Path) -> str:
    return re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(path).pages))


@pytest.fixture(scope="module")
def reports(demo_reports):
    """The demo at two dates in one output root (see tests/conftest.py)."""
    return demo_reports


def test_first_report_has_no_comparison(reports):
    _, first, _ = reports
    names = {p.name for p in first.folder.iterdir()}
    assert "comparison.json" not in names and "migration.csv" not in names
    text = pdf_text(first.folder / "clv_report.pdf")
    assert "Sinds de vorige analyse" not in text
    # ...but it stores what the next report compares with
    model = json.loads((first.folder / "model.json").read_text())
    assert model["key_figures"]["as_of"] == FIRST.isoformat()
    assert model["key_figures"]["base_value"] == pytest.approx(model["base_value"]["clv"])


def test_second_report_has_the_section_in_both_languages(reports):
    _, _, second = reports
    nl = pdf_text(second["nl"].folder / "clv_report.pdf")
    en = pdf_text(second["en"].folder / "clv_report.pdf")
    assert "Sinds de vorige analyse (30 juni 2024)" in nl
    assert "Kwam de vorige voorspelling uit?" in nl and "Wie ging naar een ander segment" in nl
    assert "Since the previous report (30 June 2024)" in en
    assert "Did the previous forecast come true?" in en and "All reports so far" in en
    assert "compare." not in nl and "compare." not in en  # no untranslated keys


def test_migration_covers_the_first_reports_customers(reports):
    _, first, second = reports
    migration = pd.read_csv(second["nl"].folder / "migration.csv")
    assert list(migration.columns) == MIGRATION_COLUMNS
    before = pd.read_parquet(first.folder / "customers.parquet")
    now = pd.read_parquet(second["nl"].folder / "customers.parquet")
    assert migration["customers"].sum() == len(before)
    # per segment then, the counts are the first report's segment sizes
    sizes = before["segment"].astype(str).value_counts()
    from_sizes = migration.groupby("from_segment")["customers"].sum()
    pd.testing.assert_series_equal(from_sizes.sort_index(), sizes.sort_index(), check_names=False)
    # value then and now: the two reports' CLV of those customers
    assert migration["value_before"].sum() == pytest.approx(before["clv"].sum(), rel=1e-6)
    kept = now[now["customer_id"].isin(before["customer_id"])]
    assert migration["value"].sum() == pytest.approx(kept["clv"].sum(), rel=1e-6)
    assert not migration.duplicated(["from_segment", "to_segment"]).any()


def test_actual_purchases_are_a_recount_of_the_transactions(reports):
    from clvreport.config import load_client
    from clvreport.ingest import load_transactions

    _, first, second = reports
    before = pd.read_parquet(first.folder / "customers.parquet")
    ids = tuple(before["customer_id"].astype(str))
    client_dir, config = load_client("demo", DATA)
    with load_transactions(config, client_dir, as_of=SECOND) as tx:
        tx.engine.connection.register("first_ids", pd.DataFrame({"customer_id": ids}))
        days, revenue = tx.engine.connection.execute(
            f"""
            SELECT
              (SELECT count(*) FROM (SELECT DISTINCT customer_id, order_date FROM {tx.table}
                 WHERE NOT is_return
                   AND order_date > DATE '{FIRST}' AND order_date <= DATE '{SECOND}'
                   AND customer_id IN (SELECT customer_id FROM first_ids))),
              (SELECT sum(amount) FROM {tx.table}
                 WHERE order_date > DATE '{FIRST}' AND order_date <= DATE '{SECOND}'
                   AND customer_id IN (SELECT customer_id FROM first_ids))
            """
        ).fetchone()
    result = json.loads((second["nl"].folder / "comparison.json").read_text())
    assert result["previous_as_of"] == FIRST.isoformat()
    assert result["actual_purchases"] == days
    assert result["actual_revenue"] == pytest.approx(float(revenue), abs=0.01)
    assert result["customers"] == len(before)


def test_predicted_purchases_are_the_first_models_forecast_for_the_period(reports):
    _, first, second = reports
    model = json.loads((first.folder / "model.json").read_text())
    before = pd.read_parquet(first.folder / "customers.parquet")
    fit = ClvModelFit.from_dict(model)
    # the demo's December peak: the stored model runs on the first report's seasonal time,
    # its histories and the 184 days to the second report measured in it
    season = fit.season
    assert season is not None and season.active and season.end == FIRST
    days = float((SECOND - FIRST).days)
    t = convert_duration(float(season.elapsed(FIRST, days)), "days", fit.time_unit)
    assert t > convert_duration(days, "days", fit.time_unit)  # July to December: the peak
    before.attrs = {"time_unit": fit.time_unit, "calibration_end": FIRST.isoformat()}
    timed = season.operational_summary(before)
    expected = fit.model.expected_purchases(t, timed["frequency"], timed["recency"], timed["T"])
    spend = fit.expected_spend(before["frequency"], before["monetary_value"])
    result = json.loads((second["nl"].folder / "comparison.json").read_text())
    assert result["predicted_purchases"] == pytest.approx(float(np.sum(expected)), rel=1e-6)
    assert result["predicted_revenue"] == pytest.approx(float(np.sum(expected * spend)), rel=1e-6)
    assert result["purchases_low"] < result["predicted_purchases"] < result["purchases_high"]
    assert result["revenue_low"] < result["predicted_revenue"] < result["revenue_high"]
    # the segments add up to the total
    segments = result["segments"]
    for key in ("customers", "predicted_purchases", "actual_purchases", "actual_revenue"):
        assert sum(s[key] for s in segments.values()) == pytest.approx(result[key], rel=1e-9)
    # a 184-day forecast lies between the first report's 6- and 12-month forecasts' scale
    assert result["predicted_purchases"] < before["expected_purchases"].sum()


def test_newly_at_risk_list_in_the_workbook(reports):
    from openpyxl import load_workbook

    _, first, second = reports
    result = json.loads((second["nl"].folder / "comparison.json").read_text())
    book = load_workbook(second["nl"].folder / "customers.xlsx", read_only=True)
    assert "Nieuw met risico" in book.sheetnames
    rows = list(book["Nieuw met risico"].iter_rows(min_row=4, values_only=True))
    assert len([r for r in rows if r[0]]) == result["newly_at_risk"] > 0
    now = pd.read_parquet(second["nl"].folder / "customers.parquet")
    before = pd.read_parquet(first.folder / "customers.parquet")
    listed = {str(r[0]) for r in rows if r[0]}
    at_risk_now = now[(now["n_purchases"] >= 2) & (now["p_alive"] < 0.5)]
    at_risk_then = before[(before["n_purchases"] >= 2) & (before["p_alive"] < 0.5)]
    assert listed == set(at_risk_now["customer_id"]) - set(at_risk_then["customer_id"])


def test_key_figures_then_are_the_first_reports(reports):
    _, first, second = reports
    result = json.loads((second["nl"].folder / "comparison.json").read_text())
    stored = json.loads((first.folder / "model.json").read_text())["key_figures"]
    assert result["key_figures"]["then"] == stored
    now = result["key_figures"]["now"]
    # customers now: those of then still in the data, plus the new ones
    assert now["customers"] == (
        result["customers"] - result["missing_customers"] + result["new_customers"]
    )
    assert 0 <= now["active_customers"] <= now["customers"]
    assert 0 < now["top_share"] <= 1
    # the stored figures are the report's own: recomputed from its customers.parquet
    customers = pd.read_parquet(second["nl"].folder / "customers.parquet")
    risky = customers[(customers["n_purchases"] >= 2) & (customers["p_alive"] < 0.5)]
    assert now["at_risk_customers"] == len(risky)
    assert now["value_at_stake"] == pytest.approx(risky["value_at_stake"].sum(), rel=1e-9)


def test_cli_compare_prints_and_jsons(reports):
    out, _, second = reports
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "compare",
            "--client",
            "demo",
            "--out",
            str(out),
            "--from",
            FIRST.isoformat(),
            "--to",
            SECOND.isoformat(),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    stored = json.loads((second["nl"].folder / "comparison.json").read_text())
    assert data["previous_as_of"] == stored["previous_as_of"]
    for key in (
        "predicted_purchases",
        "actual_purchases",
        "predicted_revenue",
        "actual_revenue",
    ):
        assert data[key] == pytest.approx(stored[key], rel=1e-9)
    assert sum(row["customers"] for row in data["migration"]) == stored["customers"]
    text = runner.invoke(app, ["compare", "--client", "demo", "--out", str(out)])
    assert text.exit_code == 0 and "Forecast of 2024-06-30" in text.output
    missing = runner.invoke(
        app, ["compare", "--client", "demo", "--out", str(out), "--from", "2020-01-01"]
    )
    assert missing.exit_code == 2
    assert "no report of 2020-01-01" in missing.output and "Traceback" not in missing.output


def test_compare_to_must_name_an_earlier_report(reports, tmp_path):
    out, _, _ = reports
    with pytest.raises(ConfigError, match="no report of 2023-01-31"):
        render_report(
            "demo",
            data_dir=DATA,
            out_dir=out,
            as_of="2024-12-31",
            compare_to="2023-01-31",
            formats="pdf",
        )
    with pytest.raises(ConfigError, match="is not a date"):
        render_report("demo", data_dir=DATA, out_dir=out, compare_to="june", formats="pdf")
    runner = CliRunner()
    both = runner.invoke(
        app,
        [
            "report",
            "--client",
            "demo",
            "--data-dir",
            str(DATA),
            "--out",
            str(tmp_path),
            "--compare-to",
            "2024-06-30",
            "--no-compare",
        ],
    )
    assert both.exit_code == 2 and "contradict" in both.output


# -- unit level ----------------------------------------------------------------------


def _table(ids, segments, clv, p_alive, n, last, frequency, revenue):
    return pd.DataFrame(
        {
            "customer_id": ids,
            "segment": segments,
            "clv": clv,
            "p_alive": p_alive,
            "n_purchases": n,
            "revenue": revenue,
            "last_purchase": pd.to_datetime(last),
            "first_purchase": pd.to_datetime(["2023-01-01"] * len(ids)),
            "frequency": frequency,
            "value_at_stake": [1.0] * len(ids),
        }
    )


def test_compare_reports_small_case():
    old = _table(
        ["a", "b", "c"],
        ["top", "top", "low"],
        [10.0, 5.0, 1.0],
        [0.9, 0.8, 0.3],
        [3, 2, 2],
        ["2024-06-01"] * 3,
        [2, 1, 1],
        [30.0, 20.0, 10.0],
    )
    new = _table(
        ["a", "b", "d"],
        ["top", "low", "low"],
        [12.0, 2.0, 3.0],
        [0.9, 0.4, 0.2],
        [5, 2, 2],
        ["2024-12-01", "2024-06-01", "2024-11-01"],
        [4, 1, 1],
        [60.0, 20.0, 15.0],
    )
    previous = StoredReport(Path("x"), dt.date(2024, 6, 30), old, {"transaction_model": None})
    result = compare_reports(previous, new, dt.date(2024, 12, 31))
    moves = result.migration.set_index(["from_segment", "to_segment"])
    assert moves.loc[("top", "top"), "customers"] == 1
    assert moves.loc[("top", "low"), "value"] == 2.0
    assert moves.loc[("top", "low"), "value_before"] == 5.0
    assert moves.loc[("low", "missing"), "customers"] == 1  # c is not in the new data
    assert result.migration["customers"].sum() == 3
    assert result.new_customers == 1 and result.new_customer_revenue == 15.0
    assert result.missing_customers == 1
    assert result.forecast is None  # the old report had no model
    assert set(result.newly_at_risk) == {"b", "d"}  # c was at risk already, and is gone
    assert result.changed_history == 0


def test_changed_history_is_counted():
    old = _table(["a"], ["top"], [1.0], [0.9], [3], ["2024-06-01"], [2], [30.0])
    new = _table(["a"], ["top"], [1.0], [0.9], [3], ["2024-06-01"], [1], [30.0])
    previous = StoredReport(Path("x"), dt.date(2024, 6, 30), old, {})
    assert compare_reports(previous, new, dt.date(2024, 12, 31)).changed_history == 1


def test_key_figures_small_case():
    table = _table(
        ["a", "b"],
        ["top", "low"],
        [8.0, 2.0],
        [0.9, 0.2],
        [3, 2],
        ["2024-12-01", "2023-01-01"],
        [2, 1],
        [30.0, 70.0],
    )
    figures = key_figures(table, dt.date(2024, 12, 31), revenue_last_year=30.0)
    assert figures.customers == 2 and figures.active_customers == 1
    assert figures.base_value == 10.0 and figures.at_risk_customers == 1
    assert figures.value_at_stake == 1.0 and figures.top_share == 0.8
    assert KeyFigures.from_dict(figures.to_dict()) == figures


def test_an_earlier_report_with_the_old_column_name_still_compares(tmp_path):
    """Reports before the rename stored ``value_at_risk``; it is read as ``value_at_stake``."""
    old = _table(
        ["a", "b"],
        ["top", "low"],
        [8.0, 2.0],
        [0.9, 0.2],
        [3, 2],
        ["2024-06-01", "2023-01-01"],
        [2, 1],
        [30.0, 70.0],
    )
    old = old.rename(columns={"value_at_stake": "value_at_risk"}).assign(value_at_risk=[1.0, 4.0])
    folder = tmp_path / "2024-06-30"
    folder.mkdir()
    old.to_parquet(folder / "customers.parquet")
    (folder / "model.json").write_text("{}")
    previous = load_report(folder)
    assert isinstance(previous, StoredReport)
    assert "value_at_risk" not in previous.customers
    assert previous.customers["value_at_stake"].tolist() == [1.0, 4.0]
    assert previous.figures.value_at_stake == 4.0  # b is at risk
    new = _table(
        ["a", "b"],
        ["top", "low"],
        [8.0, 2.0],
        [0.9, 0.2],
        [4, 2],
        ["2024-12-01", "2023-01-01"],
        [3, 1],
        [40.0, 70.0],
    )
    result = compare_reports(previous, new, dt.date(2024, 12, 31))
    assert result.then.value_at_stake == 4.0
    assert list(result.newly_at_risk) == []


def test_finding_previous_reports(tmp_path):
    for name in ("2024-06-30", "2024-06-30-en", "2024-03-31", ".tmp-1", "notes", "2024-13-01"):
        (tmp_path / name).mkdir()
    (tmp_path / "2024-06-30" / "model.json").write_text("{}")
    assert [d.isoformat() for d, _ in list_reports(tmp_path)] == ["2024-03-31", "2024-06-30"]
    assert list_reports(tmp_path)[1][1].name == "2024-06-30"  # the default language's folder
    found = find_previous(tmp_path, dt.date(2024, 12, 31))
    assert isinstance(found, Unavailable) and found.missing == ("customers.parquet",)
    assert find_previous(tmp_path, dt.date(2024, 3, 31)) is None  # nothing before it
    assert find_previous(tmp_path, dt.date(2024, 12, 31), "none") is None
    assert isinstance(find_previous(tmp_path, dt.date(2024, 12, 31), "2024-03-31"), Unavailable)
    with pytest.raises(ConfigError, match="no report of 2024-01-31"):
        find_previous(tmp_path, dt.date(2024, 12, 31), "2024-01-31")
    with pytest.raises(ConfigError, match="not before"):
        find_previous(tmp_path, dt.date(2024, 6, 30), "2024-06-30")
    assert isinstance(load_report(tmp_path / "2024-03-31"), Unavailable)


@pytest.mark.parametrize("language", ["nl", "en"])
def test_section_says_why_a_comparison_is_missing(language):
    previous = Unavailable(Path("x"), dt.date(2024, 6, 30), ("customers.parquet",))
    ctx = ReportContext(
        client="demo",
        analysis=None,
        t=Translator(language, "EUR"),
        output_dir=Path("."),
        previous=previous,
    )
    text = str(since_previous(ctx))
    assert "customers.parquet" in text and "2024" in text
    empty = ReportContext(
        client="demo", analysis=None, t=Translator(language, "EUR"), output_dir=Path(".")
    )
    assert str(since_previous(empty)).strip() == ""


def test_the_section_says_why_the_holdout_check_differs(reports):
    """The previous report's forecast and the refit's holdout check cover about the same
    months with other numbers; the section says they are two checks."""
    _, _, second = reports
    model = json.loads((second["nl"].folder / "model.json").read_text())
    months = round(model["validation"]["holdout_months"])  # as the report prints it

    def text(path: Path) -> str:
        # words the PDF breaks at a line end ("previ- ous") joined again
        plain = " ".join(pdf_text(path).replace("\xad", "").split())
        return re.sub(r"(?<=[a-z])- (?=[a-z])", "", plain)

    nl = text(second["nl"].folder / "clv_report.pdf")
    en = text(second["en"].folder / "clv_report.pdf")
    assert "Deze vergelijking gebruikt het model van het vorige rapport." in nl
    assert f"op de {months} maanden daarna" in nl
    assert "This comparison uses the previous report’s model." in en.replace("'", "’")
    assert f"tests it on the {months} months after" in en


def test_the_lists_hold_back_reproducible_control_groups(reports):
    from openpyxl import load_workbook

    from clvreport.experiments import ACTION_COLUMNS

    _, first, _ = reports
    actions = pd.read_parquet(first.folder / "actions.parquet")
    assert list(actions.columns) == ACTION_COLUMNS
    assert set(actions["group"]) == {"treated", "control"}
    assert actions["customer_id"].is_unique  # one list, one group per customer
    assert (pd.to_datetime(actions["list_date"]).dt.date == FIRST).all()
    model = json.loads((first.folder / "model.json").read_text())
    for action, rows in actions.groupby("action"):
        control = int((rows["group"] == "control").sum())
        assert control == pytest.approx(0.1 * len(rows), abs=1.5)
        plan = model["plan"][action]
        assert plan["control"] == control and plan["customers"] == len(rows) - control
        assert plan["rate_source"] == "assumed"  # a first report has measured nothing
    # the customers file and the action sheets mark the same control customers
    customers = pd.read_parquet(first.folder / "customers.parquet")
    marked = set(customers.loc[customers["control_group"], "customer_id"].astype(str))
    assert marked == set(actions.loc[actions["group"] == "control", "customer_id"])
    book = load_workbook(first.folder / "customers.xlsx", read_only=True)
    sheet = book[model["plan"]["reward"]["list_name"]]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    header, body = rows[0], [r for r in rows[1:] if r[0]]
    assert header[1] == "Controlegroep — niet benaderen"
    flagged = {str(r[0]) for r in body if r[1]}
    reward = actions[(actions["action"] == "reward") & (actions["group"] == "control")]
    assert flagged == set(reward["customer_id"])
    assert all(r[1] for r in body[-len(flagged) :])  # the control group comes last


def test_what_worked_measures_the_first_reports_actions(reports):
    from clvreport.demo_campaign import EFFECTS

    out, first, second = reports
    stored = json.loads((second["nl"].folder / "comparison.json").read_text())
    measured = {row["action"]: row for row in stored["actions_measured"]}
    actions = pd.read_parquet(first.folder / "actions.parquet")
    for action, rows in actions.groupby("action"):
        row = measured[action]
        assert row["treated"] == int((rows["group"] == "treated").sum())
        assert row["control"] == int((rows["group"] == "control").sum())
        assert row["uplift_low"] <= row["uplift"] <= row["uplift_high"]
        assert row["total_uplift"] == pytest.approx(row["uplift"] * row["treated"])
    # the demo's campaign: a thank-you that works, a voucher that does nothing
    assert EFFECTS["reward"] > 0 and measured["reward"]["uplift_low"] > 0
    assert EFFECTS["second_purchase"] == 0
    assert (
        measured["second_purchase"]["uplift_low"] < 0 < measured["second_purchase"]["uplift_high"]
    )
    assert 0.85 <= measured["reward"]["reached"] <= 1 and stored["contacts_used"]
    # what was learned prices the new plan, and the plan says so
    model = json.loads((second["nl"].folder / "model.json").read_text())
    assert model["learned_rates"]["reward"]["source"] in ("measured", "partly_measured")
    assert model["plan"]["reward"]["rate_source"] == model["learned_rates"]["reward"]["source"]
    assert model["learned_rates"]["reward"]["ratio"] > 1  # it did more than assumed
    nl = pdf_text(second["nl"].folder / "clv_report.pdf")
    en = pdf_text(second["en"].folder / "clv_report.pdf")
    assert "Wat werkte er?" in nl and "Belonen en bedanken werkt" in nl
    assert "What worked?" in en and "Reward and thank works" in en
    assert "Het contactenbestand zegt wie echt bereikt is" in nl
    # the CLI measures the same (its margin is the later report's)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "compare",
            "--client",
            "demo",
            "--out",
            str(out),
            "--from",
            FIRST.isoformat(),
            "--to",
            SECOND.isoformat(),
            "--json",
        ],
    )
    cli = {row["action"]: row for row in json.loads(result.output)["actions_measured"]}
    for action, row in measured.items():
        assert cli[action]["uplift"] == pytest.approx(row["uplift"], rel=1e-9)
