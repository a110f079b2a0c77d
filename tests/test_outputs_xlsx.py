"""The action lists in customers.xlsx: translated headers, formats, caps, speed."""

import datetime as dt
import json
import re
from types import SimpleNamespace

import numpy as np
import openpyxl
import pandas as pd
import pytest

from clvreport.config import ClientConfig
from clvreport.i18n import Translator
from clvreport.outputs import customer_table, write_action_lists, write_outputs
from clvreport.segments import default_segment_rules

SNAKE_CASE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
HEADER_ROW = 3  # 1-based: title, note, header


@pytest.fixture
def customers():
    # 6 at-risk customers worth a call (value kept 0.2 × stake > €10), one that is not,
    # 2 lost customers whose e-mail does not pay, 1 champion.
    stakes = [900.0, 100.0, 500.0, 300.0, 700.0, 200.0, 20.0]
    n = len(stakes) + 3
    return pd.DataFrame(
        {
            "customer_id": [f"K{i:03d}" for i in range(n)],
            "segment": ["at_risk"] * 4 + ["cant_lose_them"] * 3 + ["lost", "lost", "champions"],
            "n_purchases": np.arange(1, n + 1),
            "revenue": np.linspace(100.0, 1000.0, n),
            "first_purchase": pd.to_datetime(["2022-03-15"] * n),
            "last_purchase": pd.to_datetime(["2024-06-30"] * n),
            "p_alive": np.linspace(0.1, 0.9, n),
            "expected_purchases": np.linspace(0.5, 3.0, n),
            "clv": [50.0] * 7 + [0.1, 0.1, 2000.0],
            "value_at_stake": [*stakes, 5.0, 5.0, 10.0],
            "email": [f"k{i}@voorbeeld.nl" for i in range(n)],
            "naam": [f"Klant {i}" for i in range(n)],
        }
    )


def _write(tmp_path, customers, language, **kwargs):
    path = tmp_path / f"customers_{language}.xlsx"
    plan = write_action_lists(
        path,
        customers,
        Translator(language, "EUR"),
        labels=default_segment_rules().labels(language),
        extra=["email", "naam"],
        **kwargs,
    )
    return openpyxl.load_workbook(path), plan


def _header(sheet):
    return [c.value for c in sheet[HEADER_ROW] if c.value is not None]


def _column(sheet, header):
    index = _header(sheet).index(header)
    return [row[index].value for row in sheet.iter_rows(min_row=HEADER_ROW + 1)]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", ["Klantnummer", "Segment", "Kans nog klant", "Waarde op het spel"]),
        ("en", ["Customer number", "Segment", "Chance still a customer", "Value at stake"]),
    ],
)
def test_headers_are_translated_and_not_identifiers(tmp_path, customers, language, expected):
    book, plan = _write(tmp_path, customers, language)
    summary_name = "Overzicht" if language == "nl" else "Summary"
    assert book.sheetnames[0] == summary_name
    for sheet in book.worksheets:
        headers = _header(sheet)
        assert headers
        assert not [h for h in headers if SNAKE_CASE.match(str(h))], sheet.title
    lists = book[plan.loc[0, "list_name"]]
    headers = _header(lists)
    for header in expected:
        assert header in headers
    assert headers[:3] == [expected[0], "email", "naam"]  # pass-through columns next to the id


def test_one_sheet_per_recommended_action_with_its_customers(tmp_path, customers):
    book, plan = _write(tmp_path, customers, "nl")
    listed = plan[plan["list_name"].notna()]
    assert book.sheetnames == ["Overzicht", *listed["list_name"]]
    assert all(len(name) <= 31 for name in book.sheetnames)
    # The e-mail to the lost customers does not pay: no list, "Niet rendabel" in the summary.
    assert "low_cost_reactivation" not in set(listed["action"])
    advice = _column(book["Overzicht"], "Advies")
    assert "Niet rendabel" in advice and "Aanbevolen" in advice
    sheet = book["Persoonlijk terugwinnen"]
    ids = _column(sheet, "Klantnummer")
    assert ids == ["K000", "K004", "K002", "K003", "K005", "K001"]  # by value at stake, K006 not
    stakes = _column(sheet, "Waarde op het spel")
    assert stakes == sorted(stakes, reverse=True)
    assert set(_column(sheet, "Segment")) == {"Risicoklanten", "Weggezakte topklanten"}  # labels
    action = _column(sheet, "Aanbevolen actie")[0]
    assert action.startswith("Neem persoonlijk contact op")
    assert sheet["A1"].value.startswith("Persoonlijk terugwinnen: Neem persoonlijk contact op")
    assert _column(sheet, "email")[0] == "k0@voorbeeld.nl"


def test_frozen_header_autofilter_and_number_formats(tmp_path, customers):
    book, plan = _write(tmp_path, customers, "nl")
    for sheet in book.worksheets:
        assert sheet.freeze_panes == f"B{HEADER_ROW + 1}"
        assert sheet.auto_filter.ref.startswith(f"A{HEADER_ROW}:")
    sheet = book[plan.loc[0, "list_name"]]
    first = {h: c for h, c in zip(_header(sheet), sheet[HEADER_ROW + 1], strict=False)}
    assert "€" in first["Waarde op het spel"].number_format
    assert "%" in first["Kans nog klant"].number_format
    assert first["Eerste aankoop"].value == dt.datetime(2022, 3, 15)
    assert first["Eerste aankoop"].number_format == "dd-mm-yyyy"
    assert first["Aantal aankopen"].number_format == "#,##0"
    summary = book["Overzicht"]
    cells = {h: c for h, c in zip(_header(summary), summary[HEADER_ROW + 1], strict=False)}
    assert "€" in cells["Netto opbrengst"].number_format
    assert cells["Slagingskans"].number_format == "0.0%"
    assert cells["Slagingskans"].value == pytest.approx(0.20)
    assert cells["Percentages"].value == "aanname"


def test_summary_lists_every_action_with_its_money_and_a_total(tmp_path, customers):
    book, plan = _write(tmp_path, customers, "en")
    summary = book["Summary"]
    assert _column(summary, "Action")[: len(plan)] == [
        "Personal win-back",
        "Reward and thank",
        "Low-cost reactivation",
    ]
    net = _column(summary, "Net return")
    assert net[: len(plan)] == pytest.approx(plan["net_return"].tolist())
    total_row = [c.value for c in summary[HEADER_ROW + 1 + len(plan)]]
    assert "Total of the recommended actions" in total_row
    advised = plan[plan["profitable"].astype(bool)]
    assert advised["net_return"].sum() == pytest.approx(net[len(plan)])


def test_long_lists_are_capped_with_a_note(tmp_path, customers):
    book, _ = _write(tmp_path, customers, "nl", max_rows=2)
    sheet = book["Persoonlijk terugwinnen"]
    assert _column(sheet, "Klantnummer") == ["K000", "K004"]
    assert sheet["A2"].value.startswith("6 klanten telefonisch; kosten €\xa060, ")
    assert sheet["A2"].value.endswith(
        "Deze lijst toont de 2 klanten met de meeste waarde op het spel; "
        "de overige 4 staan in customers.csv."
    )
    book, _ = _write(tmp_path, customers, "en", max_rows=2)
    assert "the other 4 are in customers.csv" in book["Personal win-back"]["A2"].value
    assert "customers.csv" not in book["Reward and thank"]["A2"].value  # one customer


def test_without_a_model_every_action_gets_a_list(tmp_path, customers):
    history = customers.drop(columns=["p_alive", "expected_purchases", "clv", "value_at_stake"])
    book, plan = _write(tmp_path, history, "nl")
    assert len(book.sheetnames) == 1 + len(plan)
    assert set(_column(book["Overzicht"], "Advies")[: len(plan)]) == {
        "Geen model; kosten en opbrengst onbekend"
    }
    headers = _header(book[plan.loc[0, "list_name"]])
    assert "Kans nog klant" not in headers


def test_a_million_customers_take_seconds(tmp_path):
    n = 1_000_000
    rng = np.random.default_rng(7)
    codes = np.array(default_segment_rules().codes)
    p_alive = rng.uniform(0, 1, n)
    if_alive = rng.gamma(2.0, 100.0, n)
    big = pd.DataFrame(
        {
            "customer_id": np.char.add("K", np.arange(n).astype(str)),
            "segment": codes[rng.integers(0, len(codes), n)],
            "n_purchases": rng.integers(1, 20, n),
            "revenue": rng.gamma(2.0, 200.0, n),
            "first_purchase": pd.Timestamp("2022-01-01")
            + pd.to_timedelta(rng.integers(0, 700, n), "D"),
            "last_purchase": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 365, n), "D"),
            "p_alive": p_alive,
            "expected_purchases": rng.uniform(0, 4, n),
            "clv": p_alive * if_alive,
            "value_at_stake": (1 - p_alive) * if_alive,
            "email": "klant@voorbeeld.nl",
        }
    )
    path = tmp_path / "big.xlsx"
    # how long it takes is measured in bench/bench_outputs.py, not asserted here
    plan = write_action_lists(path, big, Translator("nl", "EUR"), max_rows=5000, extra=["email"])
    assert plan["segment_customers"].sum() == n
    book = openpyxl.load_workbook(path, read_only=True)
    sheet = book[plan.loc[0, "list_name"]]
    assert sheet.max_row == HEADER_ROW + 5000


def test_write_outputs_writes_csv_parquet_xlsx_and_model(tmp_path, customers):
    config = ClientConfig.model_validate(
        {
            "name": "Voorbeeld B.V.",
            "data": {
                "sources": "orders.csv",
                "columns": {
                    "customer_id": "klant",
                    "date": "datum",
                    "amount": "bedrag",
                    "extra": ["email", "naam"],
                },
            },
            "xlsx_max_rows": 3,
        }
    )
    summary = pd.DataFrame(
        {
            "customer_id": customers["customer_id"],
            "frequency": 1.0,
            "recency": 2.0,
            "T": 3.0,
            "monetary_value": 4.0,
        }
    )
    analysis = SimpleNamespace(
        config=config,
        customers=customers,
        summary=summary,
        rules=default_segment_rules(),
        has_predictions=True,
        model=SimpleNamespace(to_dict=lambda: {"model_name": "bgnbd"}, spend_caps=None),
        calibration_end=None,
        as_of=dt.date(2024, 12, 31),
        figures=SimpleNamespace(as_dict=lambda: {}),
        holdout_coverage=None,
        holdout_intervals=None,
        base_value=None,
        revenue_last_year=1000.0,
    )
    written = write_outputs(analysis, tmp_path, Translator("nl", "EUR"))
    assert [p.name for p in written] == [
        "customers.csv",
        "customers.parquet",
        "customers.xlsx",
        "model.json",
    ]
    table = customer_table(analysis)
    assert table.columns[:4].tolist() == ["customer_id", "email", "naam", "segment"]
    assert table.set_index("customer_id").loc["K000", "action"] == "win_back_personal"
    csv = pd.read_csv(tmp_path / "customers.csv")
    parquet = pd.read_parquet(tmp_path / "customers.parquet")
    assert len(csv) == len(parquet) == len(customers)
    assert list(parquet.columns) == list(csv.columns)
    sheet = openpyxl.load_workbook(tmp_path / "customers.xlsx")["Persoonlijk terugwinnen"]
    assert len(_column(sheet, "Klantnummer")) == 3  # xlsx_max_rows
    assert "de overige 3 staan in customers.csv" in sheet["A2"].value
    # the key figures the next report compares with
    figures = json.loads((tmp_path / "model.json").read_text())["key_figures"]
    assert figures["customers"] == len(customers)
    assert figures["revenue_last_year"] == 1000.0


def test_extra_columns_pass_through_ingest_per_customer(tmp_path):
    from clvreport.config import ColumnMapping
    from clvreport.errors import DataError
    from clvreport.ingest import read_transactions

    path = tmp_path / "orders.csv"
    path.write_text(
        "klant;datum;bedrag;email;naam\n"
        "A;01-01-2024;10,50;a@x.nl;Anna\n"
        "A;05-02-2024;12,00;;Anna de Vries\n"  # latest order has no e-mail: keep a@x.nl
        "B;03-01-2024;8,00;b@x.nl;Bert\n"
        "B;04-01-2024;9,00;b2@x.nl;\n"
        "C;04-01-2024;9,00;;\n",
        encoding="utf-8",
    )
    columns = ColumnMapping(
        customer_id="klant", date="datum", amount="bedrag", extra=["email", "Naam"]
    )
    with read_transactions(path, columns) as tx:
        assert tx.extra == ("email", "Naam")
        attributes = tx.customer_attributes().sort_values("customer_id", ignore_index=True)
    assert attributes.columns.tolist() == ["customer_id", "email", "Naam"]
    assert attributes["email"].tolist()[:2] == ["a@x.nl", "b2@x.nl"]
    assert attributes["Naam"].tolist()[:2] == ["Anna de Vries", "Bert"]
    assert attributes.iloc[2].isna().tolist() == [False, True, True]
    plain = ColumnMapping(customer_id="klant", date="datum", amount="bedrag")
    with read_transactions(path, plain) as tx:
        assert tx.customer_attributes().columns.tolist() == ["customer_id"]
    wrong = ColumnMapping(customer_id="klant", date="datum", amount="bedrag", extra=["mail"])
    with pytest.raises(DataError, match=r"columns\.extra: 'mail' is not a column"):
        read_transactions(path, wrong)


def test_the_reports_own_actions_make_the_same_workbook(tmp_path, customers):
    """finish hands write_action_lists the report's per-customer actions (computed once)."""
    from clvreport.recommendations import PlanRules, customer_actions

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    fresh, fresh_plan = _write(tmp_path / "a", customers, "nl")
    given = customer_actions(customers, PlanRules.default())
    reused, reused_plan = _write(tmp_path / "b", customers, "nl", per_customer=given)
    pd.testing.assert_frame_equal(reused_plan, fresh_plan)
    assert fresh.sheetnames == reused.sheetnames and len(fresh.sheetnames) > 1
    for name in fresh.sheetnames:
        cells = [[c.value for c in row] for row in fresh[name].iter_rows()]
        assert [[c.value for c in row] for row in reused[name].iter_rows()] == cells
    # and it is what the lists are made from: drop one customer, and their list is shorter
    (tmp_path / "c").mkdir()
    fewer, _ = _write(tmp_path / "c", customers, "nl", per_customer=given.iloc[1:])
    rows = {name: fresh[name].max_row for name in fresh.sheetnames}
    assert sum(fewer[name].max_row for name in fewer.sheetnames) == sum(rows.values()) - 1
