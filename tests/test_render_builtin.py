"""The built-in renderer (nbconvert → pandoc → Typst/HTML) and the Quarto format staging."""

import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from clvreport.brand import load_brand
from clvreport.errors import RenderError
from clvreport.render.base import ReportMeta, renderers
from clvreport.render.builtin import BuiltinRenderer, brand_css, notebook_markdown
from clvreport.render.quarto import QuartoRenderer, find_quarto
from clvreport.report.markdown import table as markdown_table

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "tests" / "fixtures" / "notebooks" / "executed"
BRANDED = ROOT / "tests" / "fixtures" / "clients" / "branded"
DEMO = ROOT / "data" / "demo"

pytestmark = pytest.mark.slow


def meta_for(client_dir: Path | None, language: str = "nl") -> ReportMeta:
    return ReportMeta(
        title="Klantwaarde-analyse",
        subtitle="Klantwaarde (CLV) en klantbehoud, 1 januari 2022 – 31 december 2024",
        client_name="Webwinkel De Zonnebloem B.V.",
        period="1 januari 2022 – 31 december 2024",
        date="31 december 2024",
        language=language,
        confidential="Vertrouwelijk",
        toc_title="Inhoud",
        brand_file=None if client_dir is None else client_dir / "_brand.yml",
        client_dir=client_dir,
    )


def workdir_from_fixture(tmp: Path) -> Path:
    workdir = tmp / "work"
    shutil.copytree(EXECUTED, workdir, ignore=shutil.ignore_patterns("*.py"))
    return workdir


@pytest.fixture(scope="module")
def default_render(tmp_path_factory):
    """The fixture notebook rendered with the demo client's brand (default colours/fonts)."""
    workdir = workdir_from_fixture(tmp_path_factory.mktemp("default"))
    files = BuiltinRenderer().render(workdir, meta_for(DEMO), ["pdf", "html"])
    return workdir, files


@pytest.fixture(scope="module")
def branded_render(tmp_path_factory):
    workdir = workdir_from_fixture(tmp_path_factory.mktemp("branded"))
    files = BuiltinRenderer().render(workdir, meta_for(BRANDED), ["pdf", "html"])
    return workdir, files


def pdf_text(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def pdf_fonts(path: Path) -> set[str]:
    names = set()
    for page in PdfReader(path).pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for font in fonts.values():
            base = str(font.get_object()["/BaseFont"]).lstrip("/")
            names.add(base.split("+", 1)[-1])  # drop the subset tag "ABCDEF+"
    return names


# -- registry ------------------------------------------------------------------------


def test_renderers_are_registered_quarto_first():
    names = renderers.names()
    assert names.index("quarto") < names.index("builtin")
    assert isinstance(renderers.get("builtin"), BuiltinRenderer)
    assert BuiltinRenderer().available()


# -- markdown extraction -------------------------------------------------------------


def test_notebook_markdown_keeps_only_report_content():
    text = notebook_markdown(EXECUTED / "clv_report.ipynb")
    assert text.lstrip().startswith("# Samenvatting {#sec-summary}")
    assert "::: {.key-figures}" in text and "[€ 1.234.567]{.value}" in text
    assert "![De beste 20%" in text and "{#tbl-cohorts}" in text
    for hidden in ("report.setup", "RuntimeWarning", "ReportContext", "execute:", "#|"):
        assert hidden not in text


# -- PDF -----------------------------------------------------------------------------


def test_pdf_has_title_page_contents_and_text(default_render):
    workdir, files = default_render
    assert files == [workdir / "clv_report.pdf", workdir / "clv_report.html"]
    pages = pdf_text(workdir / "clv_report.pdf")
    assert len(pages) >= 6
    # The contents follow the cover; the summary follows the contents.
    cover, contents, summary = pages[0], pages[1], pages[2]
    assert "WEBWINKEL DE ZONNEBLOEM B.V." in cover and "Klantwaarde-analyse" in cover
    assert "31 december 2024" in cover and "VERTROUWELIJK" in cover
    assert "Samenvatting" in summary
    assert "Inhoud" in contents and "Welke klanten zijn het meest waard?" in contents
    assert "A Methode" in contents  # appendix lettered
    text = "\n".join(pages)
    for expected in ("Samenvatting", "Aanbevelingen", "Datakwaliteit", "€ 1.234.567", "4.812"):
        assert expected in text
    assert "OMZET" in text  # key-figure label
    assert "Figuur 1" in text and "Tabel 2" in text  # numbered captions (Dutch)
    for number, page in enumerate(pages[1:], start=2):  # the footer's page is the PDF's
        assert f"Pagina {number} van {len(pages)}" in page
    assert "RuntimeWarning" not in text


def test_pdf_contents_page_comes_right_after_the_cover(default_render):
    pages = pdf_text(default_render[0] / "clv_report.pdf")
    contents = pages[1]
    assert "Inhoud" in contents and "Samenvatting" in contents
    assert "€ 1.234.567" not in contents  # the contents page holds only the contents
    assert all("Inhoud" not in page for page in pages[2:])
    # Each entry points at the page where its section starts, the summary on page 3.
    assert re.search(r"Samenvatting\W*3\b", contents)
    assert "Samenvatting" in pages[2] and "€ 1.234.567" in pages[2]


def test_pdf_long_table_repeats_its_header_on_the_next_page(default_render):
    workdir, _ = default_render
    pages = pdf_text(workdir / "clv_report.pdf")
    first = next(i for i, page in enumerate(pages) if "jan 2022" in page)
    last = next(i for i, page in enumerate(pages) if "dec 2026" in page)
    assert first < last <= first + 2  # the 60-row table continues on the next page(s) ...
    assert "Actief na 12 mnd" in pages[last]  # ... under a repeated header row


def test_pdf_embeds_the_brand_fonts(default_render, branded_render):
    default_fonts = pdf_fonts(default_render[0] / "clv_report.pdf")
    branded_fonts = pdf_fonts(branded_render[0] / "clv_report.pdf")
    assert any(name.startswith("Inter") for name in default_fonts)
    assert any(name.startswith("OpenSans") for name in branded_fonts)
    assert any(name.startswith("RobotoSlab") for name in branded_fonts)
    assert not any(name.startswith("Inter") for name in branded_fonts)


def test_typst_source_carries_brand_colours_and_components(default_render, branded_render):
    default = (default_render[0] / "_build" / "clv_report.typ").read_text()
    branded = (branded_render[0] / "_build" / "clv_report.typ").read_text()
    assert 'primary: "#1B3A5C"' in default and 'accent: "#E08E2B"' in default
    assert 'primary: "#00565B"' in branded and 'accent: "#C8553D"' in branded
    assert 'heading-font: "Roboto Slab"' in branded and 'base-font: "Open Sans"' in branded
    assert "#1B3A5C" not in branded
    assert "#key-figures((" in default and "value: [€ 1.234.567]" in default
    assert "#finding[" in default and "#show: clv-appendix" in default
    assert 'image("/figures/lorenz.png")' in default
    assert 'lang: "nl"' in default


def test_english_report_uses_english_words(tmp_path):
    workdir = workdir_from_fixture(tmp_path)
    BuiltinRenderer().render(workdir, meta_for(DEMO, language="en"), ["pdf"])
    text = "\n".join(pdf_text(workdir / "clv_report.pdf"))
    assert "Figure 1" in text and "Page 2 of" in text
    assert not (workdir / "clv_report.html").exists()


# -- HTML ----------------------------------------------------------------------------


def test_html_is_self_contained_and_branded(default_render):
    html = (default_render[0] / "clv_report.html").read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?https?:""", html)
    assert not re.search(r"url\(\s*['\"]?https?:", html)
    assert "data:image/png;base64," in html  # the figure
    assert "data:image/svg+xml;base64," in html  # the logo
    assert "data:font/woff;base64," in html or "data:application/font-woff" in html
    assert "--clv-primary: #1B3A5C;" in html and '--clv-font-base: "Inter"' in html
    assert 'class="key-figures"' in html and "€ 1.234.567" in html
    assert '<span class="caption-label">Figuur 1</span>' in html
    assert '<nav id="TOC"' in html and 'href="#sec-data-quality"' in html
    assert 'class="table-scroll"' in html
    assert "RuntimeWarning" not in html and "report.setup" not in html


def test_a_client_folder_with_spaces_and_a_line_break_keeps_its_logo(tmp_path):
    """The logo reaches the HTML from the build folder, not by the client folder's own path."""
    client = tmp_path / "my  clients\nfolder" / "demo"
    shutil.copytree(DEMO, client, ignore=shutil.ignore_patterns("*.csv"))
    workdir = workdir_from_fixture(tmp_path / "out  put")
    BuiltinRenderer().render(workdir, meta_for(client), ["html"])
    html = (workdir / "clv_report.html").read_text()
    assert "data:image/svg+xml;base64," in html


def test_branded_html_differs(default_render, branded_render):
    default = (default_render[0] / "clv_report.html").read_text()
    branded = (branded_render[0] / "clv_report.html").read_text()
    assert "--clv-primary: #00565B;" in branded and "--clv-background: #FFFDF8;" in branded
    assert '--clv-font-heading: "Roboto Slab"' in branded
    assert "#1B3A5C" not in branded and "#00565B" not in default


def test_brand_css_defines_every_variable():
    css = brand_css(load_brand(BRANDED))
    for name in ("primary", "secondary", "accent", "background", "foreground"):
        assert f"--clv-{name}: #" in css
    assert "@font-face" not in css  # no font folder given


# -- errors ----------------------------------------------------------------------------


def replace_in_notebook(workdir: Path, old: str, new: str) -> None:
    notebook = workdir / "clv_report.ipynb"
    text = notebook.read_text()
    assert old in text
    notebook.write_text(text.replace(old, new))


def test_typst_error_names_the_step_and_line(tmp_path):
    workdir = workdir_from_fixture(tmp_path)
    replace_in_notebook(
        workdir, "# Aanbevelingen", "```{=typst}\\n#foo(\\n```\\n\\n# Aanbevelingen"
    )
    with pytest.raises(RenderError) as info:
        BuiltinRenderer().render(workdir, meta_for(DEMO), ["pdf"])
    message = str(info.value)
    assert message.startswith("step 'typst' failed")
    assert re.search(r"clv_report\.typ:\d+:\d+", message)


def test_missing_figure_is_an_error(tmp_path):
    workdir = workdir_from_fixture(tmp_path)
    (workdir / "figures" / "lorenz.png").unlink()
    with pytest.raises(RenderError, match=r"step 'pandoc \(html\)' failed: .*figures/lorenz\.png"):
        BuiltinRenderer().render(workdir, meta_for(DEMO), ["html"])
    with pytest.raises(RenderError, match=r"step 'typst' failed: .*(not found|lorenz\.png)"):
        BuiltinRenderer().render(workdir, meta_for(DEMO), ["pdf"])


# -- the browser's view ------------------------------------------------------------------


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    chromium() is None, reason="chromium is not installed (Debian: apt-get install chromium)"
)
@pytest.mark.parametrize("width", [1400, 390])
def test_html_screenshot_in_headless_chromium(default_render, tmp_path, width):
    from PIL import Image

    html = default_render[0] / "clv_report.html"
    shot = tmp_path / f"report-{width}.png"
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            f"--window-size={width},1000",
            html.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    assert image.size[0] == width
    pixels = list(image.get_flattened_data())
    primary = (0x1B, 0x3A, 0x5C)
    near = sum(1 for p in pixels if sum(abs(a - b) for a, b in zip(p, primary, strict=True)) < 30)
    assert near > 5000  # the cover band in the brand colour
    text_column = image.crop((0, 480, width, 1000)) if width == 1400 else image
    assert sum(1 for p in text_column.get_flattened_data() if sum(p) < 300) > 1000
    if width == 1400:
        # The contents sidebar sits left of the text (dark link text in the left column).
        sidebar = image.crop((140, 460, 420, 760))
        assert sum(1 for p in sidebar.get_flattened_data() if sum(p) < 300) > 300


# A table as wide as the recommendations table of a real report: eight columns, long
# headers and groups, amounts that never wrap.
WIDE_TABLE = pd.DataFrame(
    {
        "Actie": ["Persoonlijke aandacht", "Persoonlijk terugwinnen", "Volgende aankoop"],
        "Wie (klanten)": [
            "Trouwe klanten (1.042 van 4.370)",
            "Risicoklanten en Weggezakte topklanten (76 van 1.711)",
            "Potentiële vaste klanten (1.454 van 1.461)",
        ],
        "Op het spel": ["US$ 115.818", "US$ 7.243", "US$ 10.058"],
        "Kosten": ["US$ 10.420", "US$ 760", "US$ 1.455"],
        "Opbrengst": ["US$ 24.022", "US$ 1.449", "US$ 2.591"],
        "Netto": ["US$ 13.602", "US$ 689", "US$ 1.136"],
        "Max. per klant": ["US$ 23,05", "US$ 19,06", "US$ 1,78"],
        "Loont vanaf marge": ["43%", "52%", "56%"],
        "Kans nog klant (gem.)": ["45%", "21%", "68%"],
    }
)

# Runs in the page once the report (in an iframe of the tested width) has loaded: the
# width of every table against the visible width of its scroll box, and every image's
# extent against the report's viewport.
_PROBE = """(() => {
  const doc = document.getElementById('report').contentDocument;
  const out = {viewport: doc.documentElement.clientWidth,
               page: doc.documentElement.scrollWidth, tables: [], images: []};
  for (const table of doc.querySelectorAll('table')) {
    const box = table.closest('.table-scroll') || table.parentElement;
    out.tables.push({table: table.scrollWidth, visible: box.clientWidth,
                     text: table.textContent.trim().slice(0, 30)});
  }
  for (const image of doc.querySelectorAll('img')) {
    const r = image.getBoundingClientRect();
    out.images.push({left: r.left, right: r.right, natural: image.naturalWidth});
  }
  const pre = document.createElement('pre');
  pre.id = 'clv-measure';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})()"""


def browser_layout(page: Path, width: int, tmp_path: Path) -> dict:
    """Tables and images of ``page`` as headless chromium lays them out ``width`` px wide.

    The report is shown in an iframe of that width (a headless window has a minimum
    width, an iframe does not; media queries follow the iframe), and a script writes
    the measurements into the DOM that ``--dump-dom`` prints.
    """
    probe = tmp_path / f"probe-{width}.html"
    probe.write_text(
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe id="report" style="border:0;width:{width}px;height:1000px" '
        f'srcdoc="{html.escape(page.read_text(), quote=True)}" '
        f'onload="{html.escape(_PROBE, quote=True)}"></iframe></body></html>',
        "utf-8",
    )
    result = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / f'profile-{width}'}",
            f"--window-size={max(width, 800)},1000",
            "--virtual-time-budget=10000",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    found = re.search(r'<pre id="clv-measure">(.*?)</pre>', result.stdout, re.S)
    assert found, f"chromium measured nothing: {result.stderr[-500:]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def wide_table_render(tmp_path_factory):
    """The fixture report with a wide eight-column table added, as HTML."""
    import nbformat

    workdir = workdir_from_fixture(tmp_path_factory.mktemp("wide"))
    notebook = workdir / "clv_report.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    wide = markdown_table(WIDE_TABLE, caption="Acht kolommen.", id="tbl-wide")
    nb.cells.insert(4, nbformat.v4.new_markdown_cell(wide))
    nbformat.write(nb, notebook)
    BuiltinRenderer().render(workdir, meta_for(DEMO), ["html"])
    return workdir / "clv_report.html"


@pytest.mark.skipif(
    chromium() is None, reason="chromium is not installed (Debian: apt-get install chromium)"
)
def test_html_wide_tables_use_the_page_and_charts_fit_a_phone(wide_table_render, tmp_path):
    wide = browser_layout(wide_table_render, 1400, tmp_path)
    assert wide["viewport"] == 1400 and wide["page"] <= 1400
    assert any(t["text"].startswith("Actie") for t in wide["tables"])
    for table in wide["tables"]:
        # No column is clipped: the table fits the visible part of its scroll box.
        assert table["table"] <= table["visible"] + 1, table
    phone = browser_layout(wide_table_render, 390, tmp_path)
    assert phone["viewport"] == 390 and phone["page"] <= 390  # nothing widens the page
    charts = [image for image in phone["images"] if image["natural"] > 300]
    assert charts
    for image in phone["images"]:
        assert image["left"] >= 0 and image["right"] <= 390, image
    for table in phone["tables"]:
        assert table["table"] <= table["visible"] + 1, table


def test_html_contents_are_sticky_on_wide_screens_and_tables_scroll():
    css = (ROOT / "templates" / "html" / "report.css").read_text()
    wide = css[css.index("@media (min-width: 1100px)") :]
    assert "position: sticky" in wide[: wide.index("}\n}")]
    assert "overflow-x: auto" in css[css.index(".table-scroll") :]


# -- Quarto ------------------------------------------------------------------------------


def test_quarto_stage_shares_templates_and_brand(tmp_path):
    import yaml

    workdir = workdir_from_fixture(tmp_path)
    stage = QuartoRenderer().stage(workdir, meta_for(BRANDED))
    extension = stage / "_extensions" / "clvreport"
    for name in ("typst-template.typ", "typst-show.typ", "clv.lua", "report.css", "brand.css"):
        assert (extension / name).is_file()
    assert (extension / "typst-template.typ").read_text() == (
        ROOT / "templates" / "typst" / "typst-template.typ"
    ).read_text()
    project = yaml.safe_load((stage / "_quarto.yml").read_text())
    assert project["clv"]["primary"] == "#00565B"
    assert project["clv"]["heading-font"] == "Roboto Slab"
    assert project["lang"] == "nl" and project["brand"] is False
    assert (stage / "figures" / "lorenz.png").is_file() and (stage / "logo.svg").is_file()
    manifest = yaml.safe_load((extension / "_extension.yml").read_text())
    typst = manifest["contributes"]["formats"]["typst"]
    assert typst["template-partials"] == ["typst-template.typ", "typst-show.typ"]


@pytest.mark.skipif(
    find_quarto() is None,
    reason="quarto is not installed (pip install 'clvreport[quarto]' or quarto.org): "
    "the Quarto renderer is not tested",
)
def test_quarto_renders_pdf_and_html(tmp_path):
    workdir = workdir_from_fixture(tmp_path)
    files = QuartoRenderer().render(workdir, meta_for(BRANDED), ["pdf", "html"])
    assert files == [workdir / "clv_report.pdf", workdir / "clv_report.html"]
    text = "\n".join(pdf_text(workdir / "clv_report.pdf"))
    assert "Samenvatting" in text and "€ 1.234.567" in text
    assert any(name.startswith("RobotoSlab") for name in pdf_fonts(workdir / "clv_report.pdf"))
    assert "#00565B" in (workdir / "clv_report.html").read_text()


def test_a_layout_that_does_not_settle_is_an_error_not_a_pdf(tmp_path):
    """Typst writes a PDF with wrong page numbers when its layout does not converge."""
    from types import SimpleNamespace

    from clvreport.render.builtin import _typst_compile

    source = tmp_path / "grow.typ"
    # every attempt adds a page: the page count never settles
    source.write_text("#context for _ in range(counter(page).final().first()) { pagebreak() }\n")
    brand = SimpleNamespace(font_dirs=[], system_fonts=True)
    with pytest.raises(RenderError, match="did not settle"):
        _typst_compile(source, tmp_path / "out.pdf", tmp_path, brand)


def test_a_client_without_a_brand_gets_a_plain_cover_with_its_own_name(tmp_path):
    """No _brand.yml (as after `clvreport init`): no logo, not the tool's wordmark."""
    plain = tmp_path / "plain"
    plain.mkdir()
    workdir = workdir_from_fixture(tmp_path)
    BuiltinRenderer().render(workdir, meta_for(plain), ["pdf"])
    source = (workdir / "_build" / "clv_report.typ").read_text()
    assert "logo.svg" not in source and "header-logo" not in source.split("clv-report(")[-1]
    assert not list((workdir / "_build").glob("logo.*"))
    cover = pdf_text(workdir / "clv_report.pdf")[0]
    assert "WEBWINKEL DE ZONNEBLOEM" in cover.upper() and "clvreport" not in cover.lower()
