"""The PDF's layout where text length could break it (issue 24, item 8).

The forced page breaks (after the summary, before the appendix) never leave a page
that holds only a few spilled lines, checked on the Typst layout itself and the text
positions pypdf reports (widths from the shipped fonts' metrics).
"""

from __future__ import annotations

import io
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf._page import PageObject

from clvreport.brand import TEMPLATES_DIR

pytestmark = pytest.mark.slow

TYPST_TEMPLATE = TEMPLATES_DIR / "typst" / "typst-template.typ"
MM = 72 / 25.4
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 22 * MM, 27 * MM, 24 * MM  # typst-template.typ


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


# -- page breaks: no page with only a spill-over ---------------------------------------------

FILLER = " ".join(["Dit is een zin over klanten en hun waarde voor de winkel."] * 5)


def _typst_pdf(tmp_path: Path, body: str) -> PdfReader:
    """``body`` typeset with the report's layout (cover, contents, sections)."""
    import typst

    shutil.copy(TYPST_TEMPLATE, tmp_path / "typst-template.typ")
    (tmp_path / "main.typ").write_text(
        '#import "/typst-template.typ": *\n'
        "#show: doc => clv-report(title: [Titel], client: [Klant], "
        'toc-title: [Inhoud], lang: "nl", base-font: "Inter", doc)\n' + body,
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
