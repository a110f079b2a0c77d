"""The demo client's report, rendered in Dutch and English with the built-in renderer.

What a manager reads must match what the analysts' files say: every section
heading is in the PDF, the summary (page 3, after the cover and the contents)
answers the four questions with the values
recomputed from ``customers.csv``, the footer's page number is the PDF's, and
no message key or placeholder leaks into the text.
"""

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from clvreport.i18n import Translator, catalog_keys

pytestmark = pytest.mark.slow

SUMMARY_PAGE = 2
"""Index of the summary's page: after the cover and the contents."""


def pdf_text(path: Path) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    # Typst hyphenates and pypdf keeps soft line breaks: normalise both.
    text = text.replace("\xa0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", re.sub(r"-\n", "", text))


@pytest.fixture(scope="module", params=["nl", "en"])
def demo_report(request, example_report):
    # rendered once per session (tests/conftest.py), shared with the other modules
    return request.param, example_report("demo", request.param)


def page_texts(path: Path) -> list[str]:
    pages = []
    for page in PdfReader(path).pages:
        text = page.extract_text().replace("\xa0", " ").replace("\u202f", " ")
        text = re.sub("\xad\\s*", "", text)  # soft hyphens where Typst broke a word
        pages.append(re.sub(r"\s+", " ", re.sub(r"-\n", "", text)))
    return pages


def expected_page_two(folder: Path, t: Translator) -> dict[str, str]:
    """The four answers, recomputed from customers.csv and the summary sheet of customers.xlsx."""
    customers = pd.read_csv(folder / "customers.csv")
    top = customers.nlargest(-(-len(customers) // 5), "clv")  # the top 20%, rounded up
    risky = customers[(customers["n_purchases"] >= 2) & (customers["p_alive"] < 0.5)]
    return {
        "value of the base": t.money(customers["clv"].sum()),
        "future share of the top 20%": t.percent(
            top["clv"].sum() / customers["clv"].sum(), digits=0
        ),
        "customers at risk": t.number(len(risky)),
        "value at stake": t.money(risky["value_at_stake"].sum()),
    }


def test_every_section_heading_is_in_the_pdf(demo_report):
    language, folder = demo_report
    t = Translator(language)
    text = pdf_text(folder / "clv_report.pdf")
    for key, heading in t.group("sections").items():
        if key == "compare":  # only with an earlier report (tests/test_comparison.py)
            assert heading not in text
            continue
        assert heading in text, heading


def test_page_two_answers_the_four_questions(demo_report):
    language, folder = demo_report
    t = Translator(language)
    page = page_texts(folder / "clv_report.pdf")[SUMMARY_PAGE]
    assert t("sections.summary") in page
    for name, value in expected_page_two(folder, t).items():
        assert value.replace("\xa0", " ") in page, (name, value)
    # The three best actions, each with its cost and net return, as in customers.xlsx.
    plan = pd.read_excel(folder / "customers.xlsx", sheet_name=0, header=2)
    advised = plan[plan[t("xlsx.summary.advice")] == t("economics.profitable")].head(3)
    assert len(advised) == 3
    columns = t.group("xlsx.summary")
    for _, row in advised.iterrows():
        action, cost, net = row[columns["action"]], row[columns["cost"]], row[columns["net_return"]]
        assert action in page
        for amount in (t.money(cost), t.money(net)):
            assert amount.replace("\xa0", " ") in page, (action, amount)


def test_the_footer_page_number_is_the_pdf_page(demo_report):
    language, folder = demo_report
    word = {"nl": "Pagina", "en": "Page"}[language]
    pages = page_texts(folder / "clv_report.pdf")
    for number, page in enumerate(pages[1:], start=2):
        assert f"{word} {number} " in page, number


def test_no_message_key_or_placeholder_leaks_into_the_text(demo_report):
    language, folder = demo_report
    text = pdf_text(folder / "clv_report.pdf")
    leaked = [key for key in catalog_keys(language) if key in text]
    assert leaked == []
    assert not re.search(r"\{[a-z_]+\}", text)


def test_the_other_language_is_absent(demo_report):
    language, folder = demo_report
    text = pdf_text(folder / "clv_report.pdf")
    other = Translator("en" if language == "nl" else "nl")
    for key in ("sections.summary", "sections.recommendations", "overview.what_to_do"):
        assert other(key) not in text


def test_methodology_states_the_season_and_both_sides_of_the_ranges(demo_report):
    """The demo's December peak is the forecast's season; the ranges' misses on each side."""
    language, folder = demo_report
    t = Translator(language, "EUR")
    model = json.loads((folder / "model.json").read_text())
    season = model["season"]
    assert season["reason"] == "seasonal" and len(season["factors"]) == 12
    assert max(range(12), key=season["factors"].__getitem__) == 11  # December
    assert model["calibration_season"]["end"] == model["calibration_end"]
    validation = model["validation"]
    assert {"above", "below", "intervals"} <= set(validation)
    assert validation["intervals"]["lower_bound_zero"] > 0.5
    text = pdf_text(folder / "clv_report.pdf")
    december = t.date(dt.date(2024, 12, 1), style="MMMM")
    assert f"{december} " in text
    words = {
        "nl": ("seizoenspatroon", "bovengrens", "ondergrens"),
        "en": ("seasonal pattern", "upper bound", "lower bound"),
    }[language]
    assert all(word in text for word in words), words
