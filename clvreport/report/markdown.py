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
    "paragraph",
    "table",
]


MAX_UNSPLIT_ROWS = 30
"""Tables with at most this many rows never split across pages."""


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


def _escape(text: str) -> str:
    """Escape characters that would otherwise start markdown syntax inside table cells/spans."""
    return re.sub(r"([\\`*_\[\]|<>#])", r"\\\1", str(text))


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
    |:---|:---|
    | a | 1 |
    | b | 2 |
    | **Totaal** | **3** |
    <BLANKLINE>
    : Twee groepen. {#tbl-x}
    :::
    """
    if align is None:
        align = ["r" if pd.api.types.is_numeric_dtype(dtype) else "l" for dtype in frame.dtypes]
    rule = {"l": ":---", "r": "---:", "c": ":---:"}
    header = "| " + " | ".join(_escape(column) for column in frame.columns) + " |"
    separator = "|" + "|".join(rule[a] for a in align) + "|"
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
