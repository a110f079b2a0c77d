"""Brand fonts for the figures, so charts use the same typeface as the report text."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib
from matplotlib import font_manager

FALLBACK_FAMILY = "DejaVu Sans"
"""Matplotlib's bundled font: used for glyphs the brand font lacks."""


def use_fonts(files: Iterable[Path | str], family: str) -> str:
    """Register font files with Matplotlib and make ``family`` the default of new figures.

    Parameters
    ----------
    files
        Font files (``.ttf``/``.otf``) to register, e.g. the brand's shipped
        fonts; families installed on the system need no files.
    family
        The family name to draw text in (the brand's base font).

    Returns
    -------
    str
        The family now in use: ``family``, or Matplotlib's fallback when
        ``family`` is neither among ``files`` nor installed.

    Examples
    --------
    >>> from clvreport.brand import FONTS_DIR
    >>> use_fonts(sorted((FONTS_DIR / "inter").glob("*.otf")), "Inter")
    'Inter'
    >>> use_fonts([], "No Such Font")
    'DejaVu Sans'
    """
    for path in files:
        font_manager.fontManager.addfont(str(path))
    known = {entry.name.casefold() for entry in font_manager.fontManager.ttflist}
    chosen = family if family.casefold() in known else FALLBACK_FAMILY
    matplotlib.rcParams["font.family"] = [chosen, FALLBACK_FAMILY]
    return chosen
