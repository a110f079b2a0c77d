"""The built-in renderer: nbconvert → pandoc → Typst (PDF) and self-contained HTML.

Needs only Python packages (``nbconvert``, ``pypandoc-binary``, ``typst``), so
it works wherever ``clvreport`` is installed. The executed notebook's cells are
hidden; its markdown outputs are the report. Steps, with every intermediate
file in ``<workdir>/_build/``:

1. ``markdown``: nbconvert's MarkdownExporter writes the markdown outputs
   (inputs, prompts, raw cells, streams and non-markdown outputs left out).
2. ``pandoc (pdf)``: pandoc turns it into Typst source with
   ``templates/typst/template.typ`` (layout partial ``typst-template.typ``,
   metadata partial ``typst-show.typ``) and the Lua filter
   ``templates/filters/clv.lua``; the brand reaches the template as metadata.
3. ``typst``: the ``typst`` package compiles the PDF, with the brand's fonts
   (shipped in ``templates/fonts/``) embedded.
4. ``pandoc (html)``: pandoc writes one HTML file with images, CSS and
   (subset) fonts embedded.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from clvreport.brand import BRAND_FILE, TEMPLATES_DIR, ReportBrand, load_brand
from clvreport.errors import RenderError
from clvreport.render.base import REPORT_NAME, ReportMeta, renderers

__all__ = [
    "BuiltinRenderer",
    "brand_css",
    "brand_for",
    "notebook_markdown",
    "report_metadata",
]

TYPST_TEMPLATE = TEMPLATES_DIR / "typst" / "template.typ"
HTML_TEMPLATE = TEMPLATES_DIR / "html" / "template.html"
HTML_CSS = TEMPLATES_DIR / "html" / "report.css"
LUA_FILTER = TEMPLATES_DIR / "filters" / "clv.lua"
BUILD_DIR = "_build"

# Characters kept in the fonts embedded in the HTML: Latin, Latin-1, Latin
# Extended-A, general punctuation, currency signs, arrows and a few math signs.
_HTML_FONT_UNICODES = [
    *range(0x20, 0x7F),
    *range(0xA0, 0x180),
    *range(0x2000, 0x2070),
    *range(0x20A0, 0x20C1),
    *range(0x2190, 0x2200),
    0x2212,
    0x2122,
    0x2248,
    0x2264,
    0x2265,
]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_QUARTO_OPTION = re.compile(r"^#\|\s*([\w-]+)\s*:\s*(.+?)\s*$")


# -- step 1: the notebook's markdown --------------------------------------------------


def _cell_options(source: str) -> dict[str, str]:
    """The ``#| key: value`` options at the top of a code cell (Quarto syntax)."""
    options = {}
    for line in source.splitlines():
        match = _QUARTO_OPTION.match(line)
        if match is None:
            if line.strip():
                break
            continue
        options[match.group(1)] = match.group(2).lower()
    return options


def _report_outputs(cell: Any) -> list[Any]:
    """The outputs of a code cell the reader sees: markdown displays only."""
    options = _cell_options(cell.source)
    if options.get("include") == "false" or options.get("output") == "false":
        return []
    kept = []
    for output in cell.get("outputs", []):
        if output.get("output_type") not in ("display_data", "execute_result"):
            continue  # streams (warnings, prints) and errors are not report content
        data = output.get("data", {})
        if "text/markdown" in data:
            output["data"] = {"text/markdown": data["text/markdown"]}
            output["metadata"] = {}
            kept.append(output)
    return kept


def notebook_markdown(notebook: Path) -> str:
    """The report's markdown: the executed notebook with inputs and everything else hidden.

    Parameters
    ----------
    notebook
        An executed report notebook.

    Returns
    -------
    str
        Pandoc markdown: the notebook's markdown cells and the ``text/markdown``
        outputs of its code cells, in order. Code, prompts, raw cells, streams
        (warnings, prints), errors and other output types are left out, as are
        outputs of cells marked ``#| include: false`` or ``#| output: false``.

    Examples
    --------
    >>> print(notebook_markdown(Path("clv_report.ipynb")))  # doctest: +SKIP
    # Samenvatting {#sec-summary}
    ...
    """
    import nbformat
    from nbconvert import MarkdownExporter

    try:
        nb = nbformat.read(notebook, as_version=4)
    except (OSError, ValueError) as exc:
        raise RenderError("markdown", f"cannot read {notebook}: {exc}") from None
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = _report_outputs(cell)
    exporter = MarkdownExporter(
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_raw=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    return body


# -- metadata for the templates ----------------------------------------------------


def brand_for(meta: ReportMeta) -> ReportBrand:
    """The resolved brand of the report described by ``meta`` (the default brand if none).

    ``meta.brand_file`` is the client's brand file (as given: absolute, or
    relative to the working directory); a missing ``_brand.yml`` means the
    default brand.
    """
    if meta.brand_file is None:
        return load_brand(Path(meta.client_dir or TEMPLATES_DIR).resolve(), BRAND_FILE)
    brand_file = Path(meta.brand_file).resolve()
    client_dir = Path(meta.client_dir).resolve() if meta.client_dir else brand_file.parent
    if brand_file == client_dir / BRAND_FILE:
        return load_brand(client_dir, BRAND_FILE)
    return load_brand(client_dir, str(brand_file))


def report_metadata(
    meta: ReportMeta,
    brand: ReportBrand,
    *,
    logo: str | None,
    header_logo: str | None,
) -> dict[str, Any]:
    r"""Pandoc metadata for the templates: the report's text and the brand's style.

    Parameters
    ----------
    meta
        Title-page text.
    brand
        The resolved brand.
    logo, header_logo
        How the template should refer to the logos (a path Typst or the browser
        can open), or ``None`` for no logo.

    Returns
    -------
    dict
        ``title``, ``subtitle``, ``date``, ``lang`` and a ``clv`` map with the
        client's name (``client``; ``header-client`` is the same name as plain
        text, which the PDF's running header shortens when it does not fit), period,
        confidentiality marking, contents title, the
        five brand colours (``#RRGGBB``), font families, heading weight, base
        size, leading and logo paths (see ``templates/typst/typst-show.typ``).

        Pandoc reads metadata strings as markdown, so every text value (the
        client's name, the brand's name and fonts, paths, the report text) is
        escaped with :func:`~clvreport.report.markdown.literal`: pandoc then shows
        it as it is and escapes it for Typst and HTML itself; the Lua filter
        turns the style values into raw strings. Only the colours (validated
        ``#RRGGBB``), numbers and the language code are left as they are.

    Examples
    --------
    >>> from clvreport.brand import load_brand
    >>> meta = ReportMeta("T", "S", "Acme <b> @ref", "P", "D", "nl", "C", "I")
    >>> data = report_metadata(meta, load_brand(TEMPLATES_DIR), logo=None, header_logo=None)
    >>> print(data["clv"]["client"])
    Acme \<b\> \@ref
    """
    clv: dict[str, Any] = {
        "client": _literal(meta.client_name),
        "header-client": _literal(meta.client_name),
        "pdf-author": _literal(meta.client_name),
        "period": _literal(meta.period),
        "confidential": _literal(meta.confidential),
        "toc-title": _literal(meta.toc_title),
        **brand.colors,
        "base-font": _literal(brand.base_font),
        "heading-font": _literal(brand.heading_font),
        "heading-weight": str(brand.heading_weight),
        "base-size": f"{brand.base_size_pt:g}pt",
        "leading": f"{max(brand.line_height - 0.85, 0.3):.2f}em",
        "logo-alt": _literal(brand.logo_alt),
    }
    if logo is not None:
        clv["logo"] = _literal(logo)
    if header_logo is not None:
        clv["header-logo"] = _literal(header_logo)
    return {
        "title": _literal(meta.title),
        "subtitle": _literal(meta.subtitle),
        "date": _literal(meta.date),
        "lang": meta.language,
        "toc-title": _literal(meta.toc_title),
        "clv": clv,
    }


def _literal(text: object) -> str:
    """:func:`clvreport.report.markdown.literal`, imported only when a report is rendered."""
    from clvreport.report.markdown import literal  # loads the analysis stack

    return literal(text)


def _write_metadata(path: Path, metadata: dict[str, Any]) -> Path:
    # JSON-compatible YAML with every value quoted: pandoc must not read "#1B3A5C"
    # as a comment, nor the title as markdown with surprises.
    path.write_text(yaml.safe_dump(metadata, allow_unicode=True, default_style='"'), "utf-8")
    return path


# -- the pandoc and typst calls ----------------------------------------------------


def _pandoc(step: str, args: list[str], cwd: Path) -> str:
    """Run pandoc; a failure becomes a RenderError with pandoc's message."""
    import pypandoc

    try:
        executable = pypandoc.get_pandoc_path()
    except OSError as exc:
        raise RenderError(step, f"pandoc is not available: {exc}") from None
    result = subprocess.run(
        [executable, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    stderr = _ANSI.sub("", result.stderr).strip()
    if result.returncode != 0:
        raise RenderError(step, _summarise(stderr) or f"pandoc exited with {result.returncode}")
    missing = re.findall(r"Could not fetch resource (\S+)", stderr)
    if missing:
        raise RenderError(
            step,
            f"file(s) referenced in the report not found: {', '.join(dict.fromkeys(missing))}",
            hint="the notebook must write every figure it references under figures/",
        )
    return stderr


def _summarise(message: str, limit: int = 12) -> str:
    lines = [line for line in message.splitlines() if line.strip()]
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append(f"... ({len(lines) - limit} more lines)")
    return "\n".join(shown)


def _typst_compile(source: Path, output: Path, root: Path, brand: ReportBrand) -> None:
    import typst

    try:
        _, warnings = typst.compile_with_warnings(
            str(source),
            output=str(output),
            root=str(root),
            font_paths=[str(d) for d in brand.font_dirs],
            ignore_system_fonts=not brand.system_fonts,
        )
    except typst.TypstError as exc:
        detail = _ANSI.sub("", getattr(exc, "diagnostic", "") or str(exc))
        hints = "; ".join(getattr(exc, "hints", []) or [])
        raise RenderError(
            "typst",
            f"{_summarise(detail, 20)}{f' (hint: {hints})' if hints else ''}",
            hint=f"the Typst source is {source}",
        ) from None
    unstable = [w.message for w in warnings if "converge" in w.message]
    if unstable:
        # Typst then writes the PDF anyway, with page numbers and references from an
        # unfinished layout: never hand that out
        raise RenderError(
            "typst",
            f"the layout did not settle ({'; '.join(unstable[:3])}): page numbers and "
            "references would be wrong",
            hint=f"the Typst source is {source}; report it with that file",
        )


def _copy_logo(logo: Path | None, build: Path, stem: str) -> Path | None:
    if logo is None:
        return None
    target = build / f"{stem}{logo.suffix.lower()}"
    shutil.copyfile(logo, target)
    return target


# -- HTML fonts and colours --------------------------------------------------------


def _subset_font(source: Path, target: Path) -> Path:
    """Write a WOFF copy of ``source`` holding only Latin text characters."""
    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_HTML_FONT_UNICODES)
    subsetter.subset(font)
    subset.save_font(font, str(target), options)
    return target


def brand_css(brand: ReportBrand, font_dir: Path | None = None) -> str:
    """CSS defining the brand as variables (and its fonts as ``@font-face``).

    Parameters
    ----------
    brand
        The resolved brand.
    font_dir
        Where to write the WOFF subsets of the brand's fonts; their ``url()``
        is relative to this folder's parent (where the CSS is written). ``None``
        leaves fonts out.

    Returns
    -------
    str
        CSS text for ``templates/html/report.css`` to use.

    Examples
    --------
    >>> from clvreport.brand import load_brand
    >>> "--clv-primary: #1B3A5C;" in brand_css(load_brand(TEMPLATES_DIR))
    True
    """
    rules = []
    if font_dir is not None:
        font_dir.mkdir(parents=True, exist_ok=True)
        for face in brand.fonts:
            if face.weight not in (400, 600, 700) or face.style not in ("normal", "italic"):
                continue
            slug = re.sub(r"[^a-z0-9]+", "-", face.family.lower()).strip("-")
            target = font_dir / f"{slug}-{face.weight}-{face.style}.woff"
            if not target.exists():
                _subset_font(face.path, target)
            rules.append(
                "@font-face {\n"
                f'  font-family: "{face.family}";\n'
                f"  font-weight: {face.weight};\n"
                f"  font-style: {face.style};\n"
                "  font-display: swap;\n"
                f'  src: url("{font_dir.name}/{target.name}") format("woff");\n'
                "}"
            )
    fallback = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
    variables = {
        "--clv-primary": brand.primary,
        "--clv-secondary": brand.secondary,
        "--clv-accent": brand.accent,
        "--clv-background": brand.background,
        "--clv-foreground": brand.foreground,
        "--clv-font-base": f'"{brand.base_font}", {fallback}',
        "--clv-font-heading": f'"{brand.heading_font}", "{brand.base_font}", {fallback}',
        "--clv-heading-weight": str(brand.heading_weight),
        "--clv-base-size": f"{brand.base_size_pt * 1.65:.1f}px",
        "--clv-line-height": f"{brand.line_height:g}",
    }
    body = "\n".join(f"  {name}: {value};" for name, value in variables.items())
    rules.append(f":root {{\n{body}\n}}")
    return (
        "/* Generated by clvreport from the brand file: do not edit. */\n" + "\n".join(rules) + "\n"
    )


# -- the renderer --------------------------------------------------------------------


class BuiltinRenderer:
    """pandoc → Typst for the PDF, pandoc for a self-contained HTML; no system tools needed."""

    name = "builtin"

    def available(self) -> bool:
        """Whether pandoc (from ``pypandoc-binary``) and ``typst`` are importable."""
        try:
            import pypandoc
            import typst  # noqa: F401

            return Path(pypandoc.get_pandoc_path()).is_file()
        except (ImportError, OSError):
            return False

    def render(self, workdir: Path, meta: ReportMeta, formats: Sequence[str]) -> list[Path]:
        """Render ``workdir/clv_report.ipynb`` into ``clv_report.pdf`` and/or ``.html``.

        Parameters
        ----------
        workdir
            Holds the executed notebook and its ``figures/``.
        meta
            Title-page text and the client's brand file.
        formats
            From ``"pdf"`` and ``"html"``.

        Returns
        -------
        list of Path
            The written documents.

        Raises
        ------
        ConfigError
            For an invalid brand file.
        RenderError
            Naming the step that failed (``markdown``, ``pandoc (pdf)``,
            ``typst``, ``pandoc (html)``) and the tool's message.
        """
        workdir = Path(workdir).resolve()
        build = workdir / BUILD_DIR
        build.mkdir(parents=True, exist_ok=True)
        brand = brand_for(meta)
        markdown = build / f"{REPORT_NAME}.md"
        markdown.write_text(notebook_markdown(workdir / f"{REPORT_NAME}.ipynb"), "utf-8")
        written = []
        if "pdf" in formats:
            written.append(self._pdf(workdir, build, markdown, meta, brand))
        if "html" in formats:
            written.append(self._html(workdir, build, markdown, meta, brand))
        return written

    def _pdf(
        self, workdir: Path, build: Path, markdown: Path, meta: ReportMeta, brand: ReportBrand
    ) -> Path:
        logo = _copy_logo(brand.logo, build, "logo")
        header_logo = _copy_logo(brand.header_logo, build, "header-logo")

        def root_path(path: Path | None) -> str | None:
            return None if path is None else "/" + path.relative_to(workdir).as_posix()

        metadata = _write_metadata(
            build / "metadata-pdf.yaml",
            report_metadata(meta, brand, logo=root_path(logo), header_logo=root_path(header_logo)),
        )
        source = build / f"{REPORT_NAME}.typ"
        _pandoc(
            "pandoc (pdf)",
            [
                str(markdown),
                "--from=markdown",
                "--to=typst",
                f"--template={TYPST_TEMPLATE}",
                f"--lua-filter={LUA_FILTER}",
                f"--metadata-file={metadata}",
                "--metadata=clv-image-root:/",
                f"--output={source}",
            ],
            cwd=workdir,
        )
        output = workdir / f"{REPORT_NAME}.pdf"
        _typst_compile(source, output, workdir, brand)
        return output

    def _html(
        self, workdir: Path, build: Path, markdown: Path, meta: ReportMeta, brand: ReportBrand
    ) -> Path:
        css = build / "brand.css"
        css.write_text(brand_css(brand, build / "fonts"), "utf-8")
        metadata = report_metadata(meta, brand, logo=None, header_logo=None)
        logo = _copy_logo(brand.logo, build, "logo")
        if logo is not None:
            # relative to pandoc's working folder: the client's or output folder's own path
            # (spaces, line breaks) never reaches the template
            metadata["clv"]["logo-src"] = _literal(logo.relative_to(workdir).as_posix())
        metadata_file = _write_metadata(build / "metadata-html.yaml", metadata)
        output = workdir / f"{REPORT_NAME}.html"
        _pandoc(
            "pandoc (html)",
            [
                str(markdown),
                "--from=markdown",
                "--to=html5",
                "--standalone",
                "--embed-resources",
                f"--template={HTML_TEMPLATE}",
                f"--lua-filter={LUA_FILTER}",
                f"--metadata-file={metadata_file}",
                f"--css={css}",
                f"--css={HTML_CSS}",
                "--toc",
                "--toc-depth=2",
                "--number-sections",
                "--section-divs",
                f"--resource-path={workdir}",
                f"--output={output}",
            ],
            cwd=workdir,
        )
        return output


renderers.register(BuiltinRenderer())
