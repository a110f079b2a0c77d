"""The demo client's report, rendered in Dutch and English with the built-in renderer.

What a manager reads must match what the analysts' files say: every section
heading is in the PDF, the five key figures equal the values recomputed from
``model.json`` and ``customers.csv``, and no message key or placeholder leaks
into the text.
"""

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from clvreport.concentration import top_share
from clvreport.i18n import Translator, catalog_keys
from clvreport.render import render_report

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[1] / "data"


def pdf_text(path: Path) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    # Typst hyphenates and pypdf keeps soft line breaks: normalise both.
    text = text.replace("\xa0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", re.sub(r"-\n", "", text))


@pytest.fixture(scope="module", params=["nl", "en"])
def demo_report(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"demo-{request.param}")
    result = render_report(
        "demo", data_dir=DATA, out_dir=out, language=request.param, formats="pdf"
    )
    return request.param, result.folder


def expected_key_figures(folder: Path, t: Translator) -> dict[str, str]:
    model = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    customers = pd.read_csv(folder / "customers.csv", parse_dates=["last_purchase"])
    as_of = pd.Timestamp(dt.date.fromisoformat(model["as_of"]))
    active = int(((as_of - customers["last_purchase"]).dt.days <= 365.25).sum())
    return {
        "active customers": t.number(active),
        "revenue": t.money(model["historic"]["revenue"]),
        "historic CLV": t.money(model["historic"]["historic_clv"]),
        "predicted CLV": t.money(customers["clv"].mean()),
        "top 20% share": t.percent(top_share(customers["revenue"], 0.2), digits=0),
    }


def test_every_section_heading_is_in_the_pdf(demo_report):
    language, folder = demo_report
    t = Translator(language)
    text = pdf_text(folder / "clv_report.pdf")
    for heading in t.group("sections").values():
        assert heading in text, heading


def test_the_five_key_figures_match_model_json_and_customers_csv(demo_report):
    language, folder = demo_report
    t = Translator(language)
    text = pdf_text(folder / "clv_report.pdf")
    after_contents = text.index(t("sections.data_quality"))  # the last line of the contents
    summary = text[text.index(t("sections.summary"), after_contents) :]
    summary = summary[: summary.index(t("summary.findings"))]
    for name, value in expected_key_figures(folder, t).items():
        assert value.replace("\xa0", " ") in summary, (name, value)


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
    for key in ("sections.summary", "sections.recommendations", "summary.findings"):
        assert other(key) not in text
