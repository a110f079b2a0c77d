"""The PDF's layout where client data or text length could break it (issue 24, item 8).

A client with UUID customer ids (36 characters; some 64-character hashes) and a
110-character name: the top-ten table's cells keep apart and the running header fits
beside the logo on every page, checked on the text positions pypdf reports (widths
from the shipped fonts' metrics).
And the forced page breaks (after the summary, before the appendix) never leave a
page that holds only a few spilled lines, checked on the Typst layout itself.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf._page import PageObject

from clvreport.brand import TEMPLATES_DIR
from clvreport.render import render_report
from clvreport.report.markdown import MAX_ID_CHARS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BRANDED = ROOT / "tests" / "fixtures" / "clients" / "branded"
TYPST_TEMPLATE = TEMPLATES_DIR / "typst" / "typst-template.typ"
MM = 72 / 25.4
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 22 * MM, 27 * MM, 24 * MM  # typst-template.typ
LONG_NAME = (
    "Stichting Vrienden van het Nederlands Openluchtmuseum, de Historische Tuinen "
    "en het Erfgoed van Gelderland e.o."
)


# -- text positions ------------------------------------------------------------------------


def _fonts() -> dict[str, TTFont]:
    """The shipped fonts by PostScript name (also without "-Regular")."""
    fonts: dict[str, TTFont] = {}
    for path in sorted((TEMPLATES_DIR / "fonts").rglob("*")):
        if path.suffix.lower() in (".otf", ".ttf"):
            font = TTFont(path, lazy=True)
            name = font["name"].getDebugName(6)
            fonts[name] = font
            fonts.setdefault(name.removesuffix("-Regular"), font)
    return fonts


FONTS = _fonts()


@dataclass(frozen=True)
class Run:
    """A piece of text on a page: where it starts and ends (points from the bottom left)."""

    x0: float
    x1: float
    y: float
    text: str
    size: float


def _width(text: str, base_font: str, size: float) -> float:
    name = re.sub(r"^[A-Z]{6}\+|-Identity-H$", "", base_font.lstrip("/"))
    font = FONTS.get(name)
    if font is None:  # Typst's own fallback fonts (list markers): an estimate is enough
        return 0.6 * size * len(text)
    cmap, advances = font.getBestCmap(), font["hmtx"].metrics
    units = font["head"].unitsPerEm
    return sum(advances[cmap[ord(c)]][0] if ord(c) in cmap else units / 2 for c in text) * (
        size / units
    )


def text_runs(page: PageObject) -> list[Run]:
    """Every piece of text on ``page`` with its horizontal extent and baseline."""
    runs: list[Run] = []

    def visit(text, cm, tm, font, size):
        shown = text.strip()
        if not shown or font is None:
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = abs(tm[0] * cm[0])
        width = _width(shown, font["/BaseFont"], size * scale)
        runs.append(Run(x, x + width, y, shown, size * scale))

    page.extract_text(visitor_text=visit)
    return runs


def drawing_extent(page: PageObject, bottom: float, top: float) -> tuple[float, float]:
    """Left and right end of what is drawn (paths) between ``bottom`` and ``top``."""
    xs: list[float] = []
    width = float(page.mediabox.right)

    def visit(operator, operands, cm, tm):
        if operator not in (b"m", b"l", b"c", b"re"):
            return
        numbers = [float(value) for value in operands]
        if operator == b"re":
            x, y, w, h = numbers
            numbers = [x, y, x + w, y + h]
        for x, y in zip(numbers[::2], numbers[1::2], strict=True):
            px, py = cm[0] * x + cm[2] * y + cm[4], cm[1] * x + cm[3] * y + cm[5]
            if bottom < py < top and 1 < px < width - 1:  # not the page's background
                xs.append(px)

    page.extract_text(visitor_operand_before=visit)
    return min(xs), max(xs)


def overlapping(runs: list[Run], tolerance: float = 0.5) -> list[tuple[str, str]]:
    return [
        (a.text, b.text)
        for i, a in enumerate(runs)
        for b in runs[i + 1 :]
        if a.x0 < b.x1 - tolerance and b.x0 < a.x1 - tolerance
    ]


# -- the client with long ids and a long name ---------------------------------------------


def long_id(customer: str) -> str:
    """A UUID (36 characters) for most customers, a SHA-256 hash (64, unbreakable) for some."""
    if int(hashlib.md5(customer.encode()).hexdigest(), 16) % 3:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"klant-{customer}"))
    return hashlib.sha256(customer.encode()).hexdigest()


@pytest.fixture(scope="module")
def long_client(tmp_path_factory):
    """The branded fixture client with UUID and hash customer ids and a 110-character name."""
    assert len(LONG_NAME) >= 110
    data = tmp_path_factory.mktemp("data")
    client = data / "stichting"
    shutil.copytree(BRANDED, client)
    config = (client / "client.yml").read_text("utf-8")
    config = re.sub(r"^name: .*$", f'name: "{LONG_NAME}"', config, count=1, flags=re.M)
    (client / "client.yml").write_text(config, "utf-8")
    orders = pd.read_csv(client / "transactions.csv", sep=";", dtype=str, keep_default_na=False)
    orders["klantnummer"] = [long_id(cid) if cid else "" for cid in orders["klantnummer"]]
    orders.to_csv(client / "transactions.csv", sep=";", index=False)
    result = render_report(
        "stichting",
        data_dir=data,
        out_dir=tmp_path_factory.mktemp("out"),
        formats="pdf",
        renderer="builtin",
    )
    return result.folder, PdfReader(result.folder / "clv_report.pdf")


def test_top_table_cells_do_not_overlap(long_client):
    folder, reader = long_client
    customers = pd.read_csv(folder / "customers.csv", dtype={"customer_id": str})
    assert set(customers["customer_id"].str.len()) == {36, 64}  # the files keep the full ids
    pages = [(page, text_runs(page)) for page in reader.pages]
    text = " ".join(run.text for _, runs in pages for run in runs)
    assert not any(cid in text for cid in customers["customer_id"])
    shortened = re.compile(r"^[0-9a-f]{8}…[0-9a-f]{7}\b")
    page, runs = next((p, r) for p, r in pages if any(shortened.match(run.text) for run in r))
    rows = sorted({round(run.y, 1) for run in runs if shortened.match(run.text)})
    assert len(rows) == 10  # the top-ten rows, each starting with a shortened id
    assert all(
        len(run.text.split()[0]) == MAX_ID_CHARS for run in runs if shortened.match(run.text)
    )
    right = float(page.mediabox.right) - MARGIN_X
    for y in rows:
        cells = [run for run in runs if abs(run.y - y) < 0.6]
        assert len(cells) >= 6, [c.text for c in cells]
        assert overlapping(cells) == [], y
        assert all(MARGIN_X - 0.5 <= c.x0 and c.x1 <= right + 0.5 for c in cells)
    assert "ingekort" in " ".join(run.text for run in runs)  # said once, under the table
    assert sum(text.count(word) for word in ("ingekort",)) == 1


def test_header_fits_beside_the_logo_and_the_cover_keeps_the_full_name(long_client):
    _, reader = long_client
    cover = re.sub(r"\s+", "", reader.pages[0].extract_text())
    assert re.sub(r"\s+", "", LONG_NAME.upper()) in cover
    for number, page in enumerate(reader.pages[1:], start=2):
        top, right = float(page.mediabox.top), float(page.mediabox.right) - MARGIN_X
        header = [run for run in text_runs(page) if run.y > top - MARGIN_TOP]
        assert header, number
        assert len({round(run.y, 1) for run in header}) == 1, number  # one line
        baseline = header[0].y  # the logo is centred on the text; the rule lies lower
        _, logo_right = drawing_extent(page, baseline - 6, top - 5)
        assert min(run.x0 for run in header) > logo_right + 2 * MM, number
        assert max(run.x1 for run in header) <= right + 0.5, number
        line = " ".join(run.text for run in header)
        assert "Klantwaarde-analyse" in line and line.endswith("…"), line
        shown = line.split("·")[-1].strip().removesuffix("…")
        assert LONG_NAME.startswith(shown) and len(shown) >= 20, shown


# -- page breaks: no page with only a spill-over ---------------------------------------------

FILLER = " ".join(["Dit is een zin over klanten en hun waarde voor de winkel."] * 5)


def _typst_pdf(tmp_path: Path, body: str) -> PdfReader:
    """``body`` typeset with the report's layout (cover, contents, sections)."""
    import typst

    shutil.copy(TYPST_TEMPLATE, tmp_path / "typst-template.typ")
    (tmp_path / "main.typ").write_text(
        '#import "/typst-template.typ": *\n'
        "#show: doc => clv-report(title: [Titel], client: [Klant], "
        'header-client: "Klant", toc-title: [Inhoud], lang: "nl", base-font: "Inter", doc)\n'
        + body,
        "utf-8",
    )
    pdf = typst.compile(
        str(tmp_path / "main.typ"),
        root=str(tmp_path),
        font_paths=[str(TEMPLATES_DIR / "fonts" / "inter")],
        ignore_system_fonts=True,
    )
    return PdfReader(io.BytesIO(pdf))


def _text_bottom(page: PageObject) -> float:
    """How far down the body text of ``page`` reaches: 0 at the top of the text area, 1 at
    its bottom (header and footer left out)."""
    top = float(page.mediabox.top)
    area = top - MARGIN_TOP - MARGIN_BOTTOM
    body = [run.y for run in text_runs(page) if MARGIN_BOTTOM < run.y < top - MARGIN_TOP]
    return (top - MARGIN_TOP - min(body)) / area if body else 0.0


def _pages_with(reader: PdfReader, text: str) -> list[int]:
    return [i + 1 for i, page in enumerate(reader.pages) if text in page.extract_text()]


def _spill_pages(reader: PdfReader) -> list[int]:
    """Pages (except the cover, the contents and the last) that hold only a spill-over:
    no heading starts on them and their text ends in their top third."""
    last = len(reader.pages)
    return [
        n
        for n in range(3, last)
        if _text_bottom(reader.pages[n - 1]) < 1 / 3
        and not any(run.size >= 12 for run in text_runs(reader.pages[n - 1]))
    ]


@pytest.mark.parametrize("paragraphs", range(9, 19))
def test_summary_never_leaves_a_page_with_only_a_spill_over(tmp_path, paragraphs):
    filler = "\n\n".join(f"Alinea {i}. {FILLER}" for i in range(paragraphs))
    reader = _typst_pdf(
        tmp_path,
        f"= Samenvatting\n{filler}\n\nLaatste alinea EINDE.\n\n"
        "= Volgende sectie\nTekst van de volgende sectie.\n",
    )
    assert _pages_with(reader, "Inhoud") == [2]  # the contents follow the cover
    assert "Samenvatting" in reader.pages[2].extract_text()
    end, after = _pages_with(reader, "EINDE"), _pages_with(reader, "Volgende sectie")[-1]
    if end == [3]:
        assert after == 4  # the summary fits its page: the next section starts a new one
    assert _spill_pages(reader) == []


def test_the_sweep_covers_a_small_spill(tmp_path):
    """At least one length of the sweep above spills a few lines onto the next page, and
    the section after the summary then follows those lines on that page."""
    followed = []
    for paragraphs in range(9, 19):
        filler = "\n\n".join(f"Alinea {i}. {FILLER}" for i in range(paragraphs))
        folder = tmp_path / str(paragraphs)
        folder.mkdir()
        reader = _typst_pdf(
            folder,
            f"= Samenvatting\n{filler}\n\nLaatste alinea EINDE.\n\n= Volgende sectie\nTekst.\n",
        )
        end = _pages_with(reader, "EINDE")
        if end == [4] and _pages_with(reader, "Volgende sectie")[-1] == 4:
            followed.append(paragraphs)
    assert followed


@pytest.mark.parametrize("paragraphs", range(9, 19, 2))
def test_appendix_never_leaves_a_page_with_only_a_spill_over(tmp_path, paragraphs):
    filler = "\n\n".join(f"Alinea {i}. {FILLER}" for i in range(paragraphs))
    reader = _typst_pdf(
        tmp_path,
        "= Samenvatting\nKort.\n\n= Volgende sectie\n"
        f"{filler}\n\nLaatste alinea EINDE.\n\n#show: clv-appendix\n= Methode\nTekst.\n",
    )
    assert _spill_pages(reader) == []
    last = text_runs(reader.pages[-1])
    assert any(run.text == "A" for run in last) and any(run.text == "Methode" for run in last)


# -- the example reports' tables ------------------------------------------------------------


def _page(reader: PdfReader, *texts: str) -> PageObject:
    """The first page that holds every one of ``texts`` (soft hyphens and breaks ignored)."""
    for page in reader.pages:
        plain = " ".join(page.extract_text().replace("\xad", "").split())
        if all(text in plain for text in texts):
            return page
    raise AssertionError(f"no page with {texts}")


def _rows(runs: list[Run], column: Run) -> list[list[Run]]:
    """The runs of each table row whose line has a cell under ``column`` (a header run)."""
    values = [r for r in runs if r.y < column.y - 1 and r.x0 >= column.x0 - 20 and "€" in r.text]
    return [sorted((r for r in runs if abs(r.y - v.y) < 1), key=lambda r: r.x0) for v in values]


def test_the_abonnement_top_table_lists_ten_different_profiles(example_report):
    """22 subscribers tie on every figure: one row says so, and the ten rows differ."""
    reader = PdfReader(example_report("abonnement", "nl") / "clv_report.pdf")
    page = _page(reader, "De tien waardevolste profielen staan voor")
    # the heading speaks of profiles too (in the contents and above the table)
    texts = [" ".join(p.extract_text().replace("\xad", "").split()) for p in reader.pages]
    assert sum("De waardevolste abonnees, in tien profielen" in text for text in texts) == 2
    assert not any("De tien meest waardevolle abonnees" in text for text in texts)
    runs = text_runs(page)
    header = next(r for r in runs if r.text == "Segment")
    value = max((r for r in runs if r.text.startswith("Verwachte")), key=lambda r: r.x0)
    notes = max(r.y for r in runs if r.y < header.y and len(r.text) > 40)  # the notes below
    rows = [row for row in _rows(runs, value) if row[0].y > notes]
    assert len(rows) == 10, [[r.text for r in row] for row in rows]
    figures = [tuple(r.text for r in row if r.x0 >= header.x0) for row in rows]
    assert len(set(figures)) == 10, figures
    first_column = " ".join(
        r.text.replace("\xad", "")
        for r in sorted(runs, key=lambda r: -r.y)
        if r.x1 < header.x0 and rows[-1][0].y - 40 < r.y < header.y
    )
    assert first_column.startswith("22 abonnees met dit profiel, o.a. 501940, 501944"), first_column
    # a start date, or a range of them, is never cut between day, month and year
    dates = [r.text for r in runs if re.search(r"\b(jan|feb|mrt|apr|mei|jun)\b", r.text)]
    assert dates and all(re.search(r"\d{1,2}\xa0\w{3}\xa0\d{4}", d) for d in dates), dates
    assert not [r.text for r in runs if re.fullmatch(r"\d{4}( –)?", r.text)]


def test_the_plan_total_fits_on_two_lines_and_dates_on_one(example_report):
    """The total "Netto: slecht – verwacht – goed" wrapped onto three lines; the dates of the
    top-customer table onto two ("10 apr / 2018")."""
    reader = PdfReader(example_report("demo", "nl") / "clv_report.pdf")
    runs = text_runs(_page(reader, "Netto: slecht"))
    total = next(r for r in runs if r.text == "Totaal")
    budget = next(r for r in runs if abs(r.y - total.y) < 1 and r.text.startswith("€"))
    lines = {
        round(r.y)
        for r in runs
        if r.x0 > budget.x1 and total.y - 4 * total.size < r.y < total.y + 1 and "€" in r.text
    }
    assert 1 <= len(lines) <= 2, lines
    runs = text_runs(_page(reader, "De tien waardevolste klanten"))
    month = r"(jan|feb|mrt|apr|mei|jun|jul|aug|sep|okt|nov|dec)"
    date = rf"\d{{1,2}}\s{month}(\s\d{{4}})?|{month}\s\d{{4}}"
    dated = [r.text for r in runs if re.fullmatch(date, r.text)]
    assert dated and not [r.text for r in runs if re.fullmatch(r"\d{4}", r.text)]
    assert all(" " not in d for d in dated), dated
