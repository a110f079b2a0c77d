"""User text never becomes markup (issue 13): hostile names, ids and labels in the report.

The fixture client ``tests/fixtures/clients/hostile`` puts markdown, HTML and Typst
syntax (``<script>``, ``@``, ``[/]``, ``*``, ``#``, ``$``, ``\\``, backticks, ``{}``)
in every user-supplied string that reaches the report: the client's name and
``prepared_by`` (client.yml), the brand's name (_brand.yml, the logo's alt text),
a segment label and description (segment overrides), customer ids and the
channel and country values (transactions.csv). The report must render, and show
each of them as text.
"""

from __future__ import annotations

import html
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from clvreport.brand import TEMPLATES_DIR, load_brand
from clvreport.render import render_report
from clvreport.render.base import ReportMeta
from clvreport.render.builtin import LUA_FILTER, report_metadata
from clvreport.report.markdown import KeyFigure, key_figures, literal, table

CLIENTS = Path(__file__).parent / "fixtures" / "clients"

CLIENT_NAME = r"Acme <script>alert(1)</script> @ref [/] *ster* #1 $5$ \x `code` {y} & -- ok"
PREPARED_BY = "Bureau @klant <i>schuin</i> $2$"
BRAND_NAME = 'Merk "><script>alert(4)</script> @merk [/] *x*'
SEGMENT = "Top <script>alert(2)</script> @seg [/]"
DESCRIPTION = r"Kopen *veel* met `code`, $3$, {z}, #tag en \pad @beschrijving."
CHANNELS = ["web<script>alert(3)</script>", "winkel @shop *1*"]
COUNTRIES = ["NL $1$ [/]", "BE `x` #2 {y}"]
# Ids of customers in the top-ten table (tests/fixtures/clients/hostile/transactions.csv).
CUSTOMER_IDS = ["@klant100061", "~100032~", "{100303}", "_100161_", "x--100163", "a&b100138"]

HOSTILE = [
    CLIENT_NAME,
    PREPARED_BY,
    BRAND_NAME,
    SEGMENT,
    DESCRIPTION,
    *CHANNELS,
    *COUNTRIES,
    *CUSTOMER_IDS,
    r"\100145\ `100003` *100363* #100012 $100010$ [/]100009",
    "[link](http://example.com) ![img](x.png) <!-- c --> &amp; &lt; ^sup^ ~~del~~ a|b",
    "x\\",
    "--- ... -- `` ` `` **",
    "@fig-tiers @sec-summary",
    "{#id .class}",
    "#set page(width: 1cm)",
]


# -- the escaping helper, without a render ---------------------------------------------


def _pandoc(args: list[str], text: str) -> str:
    import pypandoc

    result = subprocess.run(
        [pypandoc.get_pandoc_path(), *args],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def _html_text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def test_literal_text_reads_back_from_pandoc_unchanged():
    markdown = "\n\n".join(literal(text) for text in HOSTILE)
    body = _pandoc(["--from=markdown", "--to=html5"], markdown)
    assert "<script" not in body
    paragraphs = re.findall(r"<p>(.*?)</p>", body, flags=re.S)
    shown = [re.sub(r"\s+", " ", _html_text(p)) for p in paragraphs]
    assert shown == [re.sub(r"\s+", " ", text) for text in HOSTILE]


def test_literal_keeps_text_on_one_line():
    assert literal("a\nb\r\n  c") == "a b c"


def test_table_cells_and_key_figures_are_escaped():
    import pandas as pd

    frame = pd.DataFrame({"Klant": ["@klant", "<b>x</b>"], "Segment": ["a|b", "$1$"]})
    markdown = table(frame, caption="Klanten.", id="tbl-x") + "\n\n"
    markdown += key_figures([KeyFigure("$ 5", "@label", "<i>note</i> [/]")])
    body = _pandoc(["--from=markdown", "--to=html5"], markdown)
    text = _html_text(body)
    for expected in ["@klant", "<b>x</b>", "a|b", "$1$", "$ 5", "@label", "<i>note</i> [/]"]:
        assert expected in text, expected
    assert "<b>" not in body and "<i>" not in body and "<cite" not in body


def test_report_metadata_is_escaped_for_pandoc():
    meta = ReportMeta(
        title="Titel",
        subtitle="Sub",
        client_name=CLIENT_NAME,
        period=f"Gegevens 2024 · Opgesteld door {PREPARED_BY}",
        date="31 december 2024",
        language="nl",
        confidential="Vertrouwelijk",
        toc_title="Inhoud",
    )
    data = report_metadata(meta, load_brand(TEMPLATES_DIR), logo=None, header_logo=None)
    assert data["clv"]["client"] == literal(CLIENT_NAME)
    assert data["clv"]["pdf-author"] == literal(CLIENT_NAME)
    assert data["clv"]["period"] == literal(meta.period)
    assert data["lang"] == "nl"
    assert data["clv"]["primary"].startswith("#")  # colours stay as they are


def test_unknown_citation_is_shown_as_text_not_a_bibliography_reference():
    # Defence in depth: an "@word" that reached the markdown unescaped is not a citation.
    out = _pandoc(
        ["--from=markdown", "--to=typst", f"--lua-filter={LUA_FILTER}"],
        "Klant @klant kocht.\n",
    )
    assert "\\@klant" in out


# -- the hostile fixture client, rendered -----------------------------------------------


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    return render_report("hostile", data_dir=CLIENTS, out_dir=out, renderer="builtin")


def _normalise(text: str) -> str:
    """Text as extracted, without the line-breaking: whitespace as one space, soft
    hyphens dropped, hyphenated ("beschrij- ving") and slash ("</ script>") breaks joined."""
    text = re.sub(r"\s+", " ", text.replace("\xad", ""))
    return re.sub(r"(?<=\w)- (?=\w)|(?<=/) ", "", text)


class _Page(HTMLParser):
    """The text of an HTML page and its tags with attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        self.chunks.append(data)
        if self._in_title:
            self.title += data

    @property
    def text(self) -> str:
        return _normalise(" ".join(self.chunks))


@pytest.mark.slow
def test_hostile_report_renders_pdf_and_html(hostile_report):
    names = {path.name for path in hostile_report.files}
    assert {"clv_report.pdf", "clv_report.html"} <= names


@pytest.mark.slow
def test_pdf_shows_hostile_text_literally(hostile_report):
    reader = PdfReader(hostile_report.folder / "clv_report.pdf")
    text = _normalise("\n".join(page.extract_text() for page in reader.pages))
    # The cover (upper-cased client name) and the running header (as written).
    for expected in [
        CLIENT_NAME,
        PREPARED_BY,
        SEGMENT,
        DESCRIPTION,
        *CHANNELS,
        *COUNTRIES,
        *CUSTOMER_IDS,
    ]:
        assert _normalise(expected) in text, expected
    assert CLIENT_NAME.upper() in text.upper()
    assert reader.metadata.get("/Author") == CLIENT_NAME


@pytest.mark.slow
def test_html_has_no_injected_markup_and_shows_the_text(hostile_report):
    source = (hostile_report.folder / "clv_report.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(source)
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags
    assert not {"b", "i"} & set(tags)  # from an id "<b>...</b>" or prepared_by "<i>...</i>"
    assert not [attrs for _, attrs in page.tags if any(a.startswith("on") for a in attrs)]
    # Title, cover and footer: escaped, not raw.
    assert "<script>alert(1)" not in source
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source
    assert _normalise(CLIENT_NAME) in _normalise(page.title)
    for expected in [
        CLIENT_NAME,
        PREPARED_BY,
        SEGMENT,
        DESCRIPTION,
        *CHANNELS,
        *COUNTRIES,
        *CUSTOMER_IDS,
    ]:
        assert _normalise(expected) in page.text, expected
    assert page.text.count(_normalise(CLIENT_NAME)) >= 3  # cover, footer and more
    # Attribute values hold the text, quotes escaped (no breaking out of alt="...").
    author = [a for tag, a in page.tags if tag == "meta" and a.get("name") == "author"]
    assert author and author[0]["content"] == CLIENT_NAME
    logo = [a for tag, a in page.tags if tag == "img" and "logo" in (a.get("class") or "")]
    assert logo and logo[0]["alt"] == BRAND_NAME
