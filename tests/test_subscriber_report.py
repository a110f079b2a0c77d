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
    # ended subscriptions are worth nothing more unless won back, and are never "at risk"
    ended = customers[~customers["active"]]
    assert (ended["clv"] == 0).all() and (ended["value_at_risk"] > 0).all()
    assert model["key_figures"]["at_risk_customers"] <= int(customers["active"].sum())
