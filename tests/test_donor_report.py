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
