"""End to end: `clvreport report` on a small fixture client, built-in renderer.

The fixture client (tests/fixtures/clients/branded) has 400 customers and its
own brand; the test renders once per language and checks what a reader gets.
"""

import json
import re
from pathlib import Path

import nbformat
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from clvreport.cli import app
from clvreport.render import render_report

pytestmark = pytest.mark.slow

CLIENTS = Path(__file__).parent / "fixtures" / "clients"
CLIENT_NAME = "Koffiebranderij Noorderlicht B.V."


@pytest.fixture(scope="module")
def dutch_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    return render_report("branded", data_dir=CLIENTS, out_dir=out, renderer="builtin")


def pdf_text(path: Path) -> tuple[int, str]:
    reader = PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), re.sub(r"\s+", " ", text)


def key_figures(notebook: Path) -> list[str]:
    """The key-figure values the executed notebook printed."""
    nb = nbformat.read(notebook, as_version=4)
    markdown = "".join(
        "".join(output.get("data", {}).get("text/markdown", ""))
        for cell in nb.cells
        for output in cell.get("outputs", [])
    )
    return re.findall(r"\[([^\]]+)\]\{\.value\}", markdown)


def test_output_folder_has_every_file(dutch_report):
    names = sorted(p.name for p in dutch_report.folder.iterdir() if p.is_file())
    assert names == [
        "actions.parquet",
        "clv_report.html",
        "clv_report.ipynb",
        "clv_report.pdf",
        "customers.csv",
        "customers.parquet",
        "customers.xlsx",
        "model.json",
        "run.json",
    ]
    assert dutch_report.folder.name == "2024-12-31"  # as-of: the last transaction date


def test_pdf_is_a_dutch_report_with_the_printed_key_figures(dutch_report):
    pages, text = pdf_text(dutch_report.folder / "clv_report.pdf")
    assert pages >= 6
    assert CLIENT_NAME in text
    for heading in [
        "Samenvatting",
        "Welke klanten zijn het meest waard?",
        "Aanbevelingen",
        "Klantsegmenten",
        "Datakwaliteit",
        "VERTROUWELIJK",
    ]:
        assert heading in text, heading
    figures = key_figures(dutch_report.folder / "clv_report.ipynb")
    assert len(figures) == 4  # page one: worth, top 20%, at stake, net return of the actions
    for value in figures:
        assert value.replace("\xa0", " ") in text.replace("\xa0", " "), value


def test_html_is_self_contained_with_embedded_images(dutch_report):
    html = (dutch_report.folder / "clv_report.html").read_text(encoding="utf-8")
    assert CLIENT_NAME in html
    assert html.count("data:image/png;base64,") >= 5
    assert not re.search(r"""(src|href)=["']https?://""", html)


def test_model_json_and_customers_csv_agree_with_the_report(dutch_report):
    import pandas as pd

    model = json.loads((dutch_report.folder / "model.json").read_text())
    assert model["status"] in {"ok", "degraded"}
    assert model["horizon_months"] == 12
    # the seasonal index: twelve factors, or the reason there are none
    season = model["season"]
    assert season["reason"] in {"seasonal", "flat", "too_short", "too_few_purchases", "off"}
    assert (season["factors"] is None) == (season["reason"] != "seasonal")
    if model["validation"] is not None and model["validation"].get("coverage") is not None:
        validation = model["validation"]
        assert validation["above"] + validation["below"] == pytest.approx(
            1 - validation["coverage"], abs=1e-3
        )
    customers = pd.read_csv(dutch_report.folder / "customers.csv")
    assert customers["customer_id"].is_unique
    assert model["historic"]["n_customers"] == len(customers)
    assert {"segment", "p_alive", "clv", "clv_low", "clv_high"} <= set(customers.columns)
    # Predictive 90% intervals: the low end is never above the expected value; the high end
    # may lie below it for a customer who will most likely buy nothing at all.
    assert (customers["clv_low"] <= customers["clv"] + 1e-9).all()
    assert (customers["clv_low"] <= customers["clv_high"] + 1e-9).all()
    assert (customers["clv"] + customers["value_at_stake"]).to_numpy() == pytest.approx(
        customers["clv_if_alive"].to_numpy(),
        abs=2e-4,  # customers.csv keeps 4 decimals
    )


def test_english_report_via_cli(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--client",
            "branded",
            "--data-dir",
            str(CLIENTS),
            "--out",
            str(tmp_path),
            "--lang",
            "en",
            "--format",
            "pdf",
            "--renderer",
            "builtin",
        ],
    )
    assert result.exit_code == 0, result.output
    pdf = next(tmp_path.glob("branded/*-en/clv_report.pdf"))  # branded's default is nl
    _, text = pdf_text(pdf)
    for heading in ["Summary", "Which customers are worth the most?", "Recommendations"]:
        assert heading in text
    assert "Samenvatting" not in text
    assert not (pdf.parent / "clv_report.html").exists()


def test_cli_unknown_client_lists_known_ones(tmp_path):
    result = CliRunner().invoke(app, ["report", "--client", "nope", "--data-dir", str(CLIENTS)])
    assert result.exit_code == 2
    assert "unknown client 'nope'" in result.output
    assert "branded" in result.output


def test_executed_notebook_has_no_warnings_or_errors(dutch_report):
    nb = nbformat.read(dutch_report.folder / "clv_report.ipynb", as_version=4)
    noisy = [
        "".join(output.get("text", "")) or output.get("ename", "")
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if output.get("name") == "stderr" or output.get("output_type") == "error"
    ]
    assert noisy == []
