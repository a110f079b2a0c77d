"""Pandoc-markdown building blocks for the report notebook's outputs.

The notebook's cells are hidden; what the reader sees is the markdown these
functions produce. Both renderers (built-in pandoc → Typst/HTML, and Quarto)
understand the same conventions:

- headings with ids: ``# Samenvatting {#sec-summary}``;
- figures: ``![Caption.](figures/x.png){#fig-x}`` alone in a paragraph;
- tables: pipe tables followed by ``: Caption. {#tbl-x}``;
- key figures: ``::: {.key-figures}`` holding ``::: {.key-figure}`` divs with
  ``.value``, ``.label`` and ``.note`` spans;
- a highlighted conclusion: ``::: {.finding}``;
- blocks that stay together on one page: ``::: {.keep}``.

Text that comes from the client (names, customer ids, segment labels and
descriptions from overrides, channel and country values, file names) is never
markup: pass it through :func:`literal` before putting it in a sentence,
caption, heading or list. Table cells and key figures are escaped by
:func:`table` and :func:`key_figures` themselves (so do *not* pass their cells
through :func:`literal`: they would show the backslashes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = [
    "KeyFigure",
    "Markdown",
    "figure",
    "finding",
    "heading",
    "join",
    "keep_together",
    "key_figures",
    "literal",
    "paragraph",
    "short_ids",
    "table",
]


MAX_UNSPLIT_ROWS = 30
"""Tables with at most this many rows never split across pages."""

MAX_ID_CHARS = 16
"""Customer ids longer than this are shortened in the report's tables and text."""


class Markdown(str):
    """A markdown string that Jupyter (and so papermill and Quarto) displays as markdown."""

    def _repr_markdown_(self) -> str:
        return str(self)


@dataclass(frozen=True)
class KeyFigure:
    """One number in a key-figure box: the formatted value, what it is, what it means."""

    value: str
    label: str
    note: str = ""


# Characters that can start pandoc-markdown syntax inside a line: escapes, code,
# emphasis, links/spans/footnotes, raw HTML and autolinks, headings, table pipes,
# citations (``@x``), TeX math (``$``), sub/superscript and strikeout (``~``, ``^``),
# attributes (``{}``), entity references (``&amp;``) and quotes (which would turn
# typographic, like "--" and "..."). Pandoc reads a backslash before any ASCII
# punctuation as that character.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|<>#@$~^{}&\"'])")
_TYPOGRAPHIC_RUN = re.compile(r"-{2,}|\.{3,}")


def literal(text: object) -> str:
    r"""``text`` escaped so that pandoc shows it as it is, never as markup.

    For every client-supplied string in the report's markdown (client name,
    customer ids, segment labels and descriptions, channel and country values,
    file names). Line breaks become spaces, so the text stays inline.

    Examples
    --------
    >>> print(literal("Acme <script> @ref [/] *x* $5$ {y} `z` #1"))
    Acme \<script\> \@ref \[/\] \*x\* \$5\$ \{y\} \`z\` \#1
    >>> print(literal("A--1..."))
    A\-\-1\.\.\.
    """
    flat = re.sub(r"\s*[\r\n]+\s*", " ", str(text))
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
    # "--" and "..." would become dashes and ellipses: an id must stay exact.
    return _TYPOGRAPHIC_RUN.sub(lambda m: "".join("\\" + c for c in m.group()), escaped)


def _escape(text: object) -> str:
    """Escape a table cell or span text (see :func:`literal`)."""
    return literal(text)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = limit // 2
    return f"{text[:head]}…{text[len(text) - (limit - 1 - head) :]}"


def short_ids(ids: Iterable[object], limit: int = MAX_ID_CHARS) -> list[str]:
    """Customer ids as the report shows them: long ones shortened with an ellipsis.

    An id of up to ``limit`` characters is shown as it is. A longer one (a UUID, a
    hash: common in shop exports) keeps its first and last characters around an
    ellipsis in the middle, ``limit`` characters in all, so it fits a table column
    and can still be found in ``customers.xlsx`` and ``customers.csv``, which
    keep every id in full. Ids that would look the same keep more characters,
    so distinct customers stay distinct.

    Parameters
    ----------
    ids
        The ids, in the order shown (any type; shown as text).
    limit
        Most characters of a shortened id.

    Returns
    -------
    list of str
        The ids as shown, in the same order: plain text, to escape like any other
        cell (:func:`table` does) or sentence (:func:`literal`).

    Examples
    --------
    >>> short_ids(["10042", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"])
    ['10042', '3f2504e0…82c3301']
    >>> short_ids(["abc-0001-xyz", "abc-0002-xyz"], limit=8)
    ['abc-0…1-xyz', 'abc-0…2-xyz']
    """
    texts = [str(value) for value in ids]
    distinct = len(set(texts))
    for width in range(max(limit, 2), max((len(text) for text in texts), default=0) + 1):
        shown = [_shorten(text, width) for text in texts]
        if len(set(shown)) == distinct:
            return shown
    return texts


def heading(text: str, level: int = 1, *, id: str | None = None) -> str:
    """A heading, optionally with an id for cross-references (``sec-...``)."""
    anchor = f" {{#{id}}}" if id else ""
    return f"{'#' * level} {text}{anchor}"


def paragraph(*sentences: str) -> str:
    """Sentences joined into one paragraph."""
    return " ".join(sentence.strip() for sentence in sentences if sentence and sentence.strip())


def finding(text: str) -> str:
    """A highlighted one-sentence conclusion."""
    return f"::: {{.finding}}\n{text}\n:::"


def keep_together(*blocks: str | None) -> str:
    """Blocks the PDF keeps on one page (a heading's paragraph with its figure or table).

    Examples
    --------
    >>> print(keep_together("Tekst.", "![Figuur.](a.png){#fig-a}"))
    ::: {.keep}
    Tekst.
    <BLANKLINE>
    ![Figuur.](a.png){#fig-a}
    :::
    """
    inner = "\n\n".join(block for block in blocks if block)
    return f"::: {{.keep}}\n{inner}\n:::"


def key_figures(figures: Iterable[KeyFigure]) -> str:
    """A row of key-figure boxes.

    Examples
    --------
    >>> print(key_figures([KeyFigure("€ 1.234", "Omzet", "Alle bestellingen.")]))
    ::: {.key-figures}
    ::: {.key-figure}
    [€ 1.234]{.value}
    <BLANKLINE>
    [Omzet]{.label}
    <BLANKLINE>
    [Alle bestellingen.]{.note}
    :::
    :::
    """
    boxes = []
    for item in figures:
        parts = [f"[{_escape(item.value)}]{{.value}}", f"[{_escape(item.label)}]{{.label}}"]
        if item.note:
            parts.append(f"[{_escape(item.note)}]{{.note}}")
        boxes.append("::: {.key-figure}\n" + "\n\n".join(parts) + "\n:::")
    return "::: {.key-figures}\n" + "\n".join(boxes) + "\n:::"


def _column_width(values: pd.Series, header: str) -> int:
    texts = [str(v) for v in values] + [header]
    # Split at ordinary spaces only: "€\xa01.234" is one unbreakable word.
    longest_word = max(len(word) for text in texts for word in re.split(r"[ \t\n]+", text))
    longest = max(len(str(v)) for v in values) if len(values) else 0
    return max(longest_word + 4, min(longest, 22), 6)


def table(
    frame: pd.DataFrame,
    *,
    caption: str,
    id: str,
    align: Sequence[str] | None = None,
    total: Sequence[str] | None = None,
) -> str:
    """A pipe table of already-formatted cells with a numbered caption.

    Parameters
    ----------
    frame
        The rows to show; values are written as they are (format numbers first).
    caption
        The caption, stating the finding.
    id
        Cross-reference id, starting with ``tbl-``.
    align
        One of ``"l"``, ``"r"``, ``"c"`` per column; default: right-aligned
        for numeric columns, left for the rest.
    total
        Formatted cells of a total row, shown in bold under the others
        (empty strings stay empty).

    Tables of up to :data:`MAX_UNSPLIT_ROWS` rows are kept on one page with
    their caption (:func:`keep_together`); longer ones may split.

    Examples
    --------
    >>> print(table(pd.DataFrame({"Groep": ["a", "b"], "Klanten": ["1", "2"]}),
    ...             caption="Twee groepen.", id="tbl-x", total=["Totaal", "3"]))
    ::: {.keep}
    | Groep | Klanten |
    |:---------|:-----------|
    | a | 1 |
    | b | 2 |
    | **Totaal** | **3** |
    <BLANKLINE>
    : Twee groepen. {#tbl-x}
    :::
    """
    if align is None:
        align = ["r" if pd.api.types.is_numeric_dtype(dtype) else "l" for dtype in frame.dtypes]
    # In a wide table pandoc sizes the columns by the dashes of this line: room for the
    # longest word of a column (an amount never breaks) plus padding, and for text that
    # wraps up to 22 characters.
    widths = [_column_width(frame[column], str(column)) for column in frame.columns]
    if total is not None:
        # the bold total is a column's widest word too (bold runs about a tenth wider)
        widths = [
            max(width, _column_width(pd.Series([str(value)]), "") + len(str(value)) // 10)
            for width, value in zip(widths, total, strict=True)
        ]
    rule = {"l": ":{}", "r": "{}:", "c": ":{}:"}
    header = "| " + " | ".join(_escape(column) for column in frame.columns) + " |"
    separator = (
        "|" + "|".join(rule[a].format("-" * w) for a, w in zip(align, widths, strict=True)) + "|"
    )
    rows = [
        "| " + " | ".join(_escape(value) for value in row) + " |"
        for row in frame.astype(str).itertuples(index=False)
    ]
    if total is not None:
        cells = [f"**{_escape(value)}**" if str(value) else "" for value in total]
        rows.append("| " + " | ".join(cells) + " |")
    text = "\n".join([header, separator, *rows, "", f": {caption} {{#{id}}}"])
    # A table that fits on a page stays whole with its caption; longer ones split
    # across pages with the header repeated.
    return keep_together(text) if len(rows) <= MAX_UNSPLIT_ROWS else text


def figure(path: Path | str, *, caption: str, id: str, base: Path | str | None = None) -> str:
    """A numbered figure: an image file with its caption.

    Parameters
    ----------
    path
        The image file (PNG).
    caption
        The caption, stating the finding.
    id
        Cross-reference id, starting with ``fig-``.
    base
        Folder the markdown is rendered from; ``path`` is written relative to it.
    """
    path = Path(path)
    if base is not None:
        path = path.relative_to(base)
    return f"![{caption}]({path.as_posix()}){{#{id}}}"


def join(*blocks: str | None) -> Markdown:
    """Blocks separated by blank lines, ready to display."""
    return Markdown("\n\n".join(block for block in blocks if block) + "\n")
