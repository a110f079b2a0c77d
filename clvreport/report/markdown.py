"""Pandoc-markdown building blocks for the report notebook's outputs.

The notebook's cells are hidden; what the reader sees is the markdown these
functions produce. Both renderers (built-in pandoc → Typst/HTML, and Quarto)
understand the same conventions:

- headings with ids: ``# Samenvatting {#sec-summary}``;
- figures: ``![Caption.](figures/x.png){#fig-x}`` alone in a paragraph;
- tables: pipe tables followed by ``: Caption. {#tbl-x}``;
- key figures: ``::: {.key-figures}`` holding ``::: {.key-figure}`` divs with
  ``.value``, ``.label`` and ``.note`` spans;
- a highlighted conclusion: ``::: {.finding}``.
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
    "key_figures",
    "paragraph",
    "table",
]


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
    return "\n".join([header, separator, *rows, "", f": {caption} {{#{id}}}"])


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
