"""The example subscription service's report (business: subscription) reads as written for it."""

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
    folder = example_report("abonnement", request.param)
    text = " ".join(page.extract_text() for page in PdfReader(folder / "clv_report.pdf").pages)
    return request.param, folder, re.sub(r"\s+", " ", text)


def test_subscriber_headings_and_no_shop_words(report):
    language, _, text = report
    if language == "nl":
        assert (
            "Abonnees in de komende maanden" in text and "Wie blijft, zegt minder snel op" in text
        )
    else:
        assert "Subscribers in the coming months" in text and "Those who stay cancel less" in text
    words = re.sub(r"customers\.(xlsx|csv|parquet)", "", text)  # the files keep their names
    found = sorted(set(m.lower() for m in re.findall(SHOP_WORDS[language], words, re.I)))
    assert found == [], f"shop words in the subscription report: {found}"
    assert "sBG" in text


def test_figures_agree_with_the_files(report):
    _, folder, _ = report
    model = json.loads((folder / "model.json").read_text())
    customers = pd.read_parquet(folder / "customers.parquet")
    assert model["model"] == "sbg" and model["business"] == "subscription"
    assert set(model["plans"]) == {"duobox", "gezinsbox"}
    assert model["base_value"]["clv"] == pytest.approx(customers["clv"].sum(), rel=1e-6)
    assert model["key_figures"]["customers"] == len(customers)
    # ended subscriptions are worth nothing more and have nothing at stake (a win-back
    # value, apart, decays with the time since cancelling), and are never "at risk"
    ended = customers[~customers["active"]]
    assert (ended["clv"] == 0).all() and (ended["value_at_stake"] == 0).all()
    assert customers["value_at_stake"].sum() <= customers["clv_if_alive"].sum()
    assert model["key_figures"]["at_risk_customers"] <= int(customers["active"].sum())


def test_summary_states_measured_tenure_and_labels_the_forecast(report):
    """How long subscriptions last, from the files: ended ones' months paid (one a month)."""
    language, folder, text = report
    text = re.sub(r"(?<=[a-z])[-\xad] (?=[a-z])", "", text)  # words the layout hyphenated
    customers = pd.read_parquet(folder / "customers.parquet")
    ended = customers.loc[~customers["active"], "n_purchases"].mean()
    running = customers.loc[customers["active"], "n_purchases"].mean()
    if language == "nl":
        ended_text, running_text = (
            f"{ended:.1f}".replace(".", ","),
            f"{running:.1f}".replace(".", ","),
        )
        assert f"opgezegde abonnementen liepen gemiddeld {ended_text} maanden" in text
        assert f"lopen nu gemiddeld {running_text} maanden" in text
        assert "Voorspelling van het model: een lopend abonnement loopt naar verwachting" in text
    else:
        assert f"cancelled subscriptions lasted {ended:.1f} months on average" in text
        assert f"have lasted {running:.1f} months so far" in text
        assert re.search(r"The model.s forecast: a running subscription is expected to last", text)


def test_next_renewal_columns_for_running_subscriptions_only(report):
    """The next renewal date and the chance to cancel before it, with a risk label and a
    reason, for running subscriptions; empty for ended ones."""
    from openpyxl import load_workbook

    language, folder, _ = report
    customers = pd.read_parquet(folder / "customers.parquet")
    running = customers["active"].to_numpy(dtype=bool)
    for column in ("next_renewal", "p_cancel_before_renewal", "risk_label", "reason"):
        assert customers.loc[running, column].notna().all(), column
        assert customers.loc[~running, column].isna().all(), column
    as_of = pd.Timestamp(json.loads((folder / "model.json").read_text())["as_of"])
    renewal = pd.to_datetime(customers.loc[running, "next_renewal"])
    assert (renewal > as_of).all() and (renewal <= as_of + pd.DateOffset(months=1)).all()
    assert customers.loc[running, "p_cancel_before_renewal"].between(0, 1).all()
    start = {"nl": "abonnee sinds ", "en": "subscriber for "}[language]
    assert customers.loc[running, "reason"].str.startswith(start).all()
    book = load_workbook(folder / "customers.xlsx", read_only=True)
    headers = set()
    for name in book.sheetnames[1:]:
        headers |= {cell.value for cell in next(book[name].iter_rows(min_row=3, max_row=3))}
    wanted = {
        "nl": ("Volgende verlenging", "Kans op opzeggen voor de verlenging", "Waarom"),
        "en": ("Next renewal", "Chance of cancelling before the renewal", "Why"),
    }[language]
    assert set(wanted) <= headers, headers
