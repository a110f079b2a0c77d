"""The example charity's report (business: discrete) reads as written for a fundraiser."""

import json
import re

import pandas as pd
import pytest
from pypdf import PdfReader

pytestmark = pytest.mark.slow

SHOP_WORDS = {
    "nl": r"\b(klant\w*|aankoop|aankopen|webwinkel\w*|bestelling\w*)\b",
    "en": r"\b(customers?|purchases?|shop\w*|orders?)\b",
}


@pytest.fixture(scope="module", params=["nl", "en"])
def report(request, example_report):
    # rendered once per session (tests/conftest.py), shared with the other modules
    folder = example_report("goededoel", request.param)
    text = " ".join(page.extract_text() for page in PdfReader(folder / "clv_report.pdf").pages)
    return request.param, folder, re.sub(r"\s+", " ", text)


def test_donor_headings_and_no_shop_words(report):
    language, _, text = report
    if language == "nl":
        assert "Donateurwaarde" in text and "Giften in de komende jaren" in text
        assert "Hoe trouw blijven nieuwe donateurs?" in text
    else:
        assert "Gifts in the coming years" in text and "How loyal do new donors stay?" in text
    words = re.sub(r"customers\.(xlsx|csv|parquet)", "", text)  # the files keep their names
    found = sorted(set(m.lower() for m in re.findall(SHOP_WORDS[language], words, re.I)))
    assert found == [], f"shop words in the donor report: {found}"
    assert "BG/BB" in text


def test_figures_agree_with_the_files(report):
    _, folder, _ = report
    model = json.loads((folder / "model.json").read_text())
    customers = pd.read_parquet(folder / "customers.parquet")
    assert model["model"] == "bgbb" and model["business"] == "discrete"
    assert model["transaction_model"]["model"] == "bgbb"
    assert model["base_value"]["clv"] == pytest.approx(customers["clv"].sum(), rel=1e-6)
    assert "n_periods" in customers and "T" not in customers
    assert model["key_figures"]["customers"] == len(customers) == 8000


def test_the_report_quotes_every_sheet_exactly_as_the_workbook_names_it(report):
    """One function names the sheets (recommendations.sheet_names); the report and
    customers.xlsx both use its names, so a quoted list is a tab that exists, never
    a truncated one ("Persoonlijk bedanken en betrekk")."""
    from openpyxl import load_workbook

    from clvreport.render.builtin import notebook_markdown

    language, folder, _ = report
    sheets = load_workbook(folder / "customers.xlsx", read_only=True).sheetnames
    markdown = re.sub(r"\\(.)", r"\1", notebook_markdown(folder / "clv_report.ipynb"))
    quoted = re.findall(r"(?:lijst|list) ‘(.+?)’", markdown)
    assert quoted and len(quoted) == len(set(quoted))
    assert sorted(quoted) == sorted(sheets[1:])  # every action sheet, as named
    long_name = {"nl": "Persoonlijk bedanken", "en": "Personal thanks"}[language]
    assert long_name in quoted  # the action "Persoonlijk bedanken en betrekken"


def test_next_gift_columns_and_their_holdout_check(report):
    """Each donor's chance of a gift in the next period and within the horizon, the risk
    label and the reason in donor language; model.json checks the chances on the holdout."""
    from openpyxl import load_workbook

    language, folder, _ = report
    customers = pd.read_csv(folder / "customers.csv", dtype={"customer_id": str})
    for column in ("p_purchase_next_period", "p_purchase_horizon", "next_gift_periods", "reason"):
        assert column in customers, column
    assert "p_purchase_90d" not in customers and "next_purchase_median" not in customers
    assert customers["p_purchase_next_period"].between(0, 1).all()
    assert (customers["p_purchase_next_period"] <= customers["p_purchase_horizon"] + 1e-9).all()
    assert set(customers["risk_label"]) <= {"low", "elevated", "high"}
    start = {"nl": "gaf ", "en": "gave "}[language]
    first = {"nl": "gaf voor het eerst", "en": "first gave"}[language]
    assert customers["reason"].str.startswith((start, first)).all()
    words = SHOP_WORDS[language]
    assert not any(re.search(words, text, re.I) for text in customers["reason"])
    book = load_workbook(folder / "customers.xlsx", read_only=True)
    header = set()
    for name in book.sheetnames[1:]:
        header |= {cell.value for cell in next(book[name].iter_rows(min_row=3, max_row=3))}
    wanted = {
        "nl": ("Kans op een gift in de volgende periode", "Risico", "Waarom"),
        "en": ("Chance of a gift in the next period", "Risk", "Why"),
    }[language]
    assert set(wanted) <= header, header
    validation = json.loads((folder / "model.json").read_text())["validation"]
    rows = validation["p_gift_next_period_calibration"]
    assert [r["decile"] for r in rows] == list(range(1, 11))
    assert max(abs(r["predicted"] - r["observed"]) for r in rows) < 0.05, rows
    risk = validation["next_gift"]["risk_labels"]
    assert risk["low"]["gave"] > risk["elevated"]["gave"] > risk["high"]["gave"]
