"""Shared plumbing of the report figures: the palette, text sizes, axes set-up, saving."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

# Labels come from user text (segment names, channels): "$" is a dollar, not TeX math.
matplotlib.rcParams["text.parse_math"] = False

__all__ = [
    "FIGURE_WIDTH_IN",
    "DateFormatter",
    "Formatter",
    "Palette",
    "luminance",
    "save_figure",
]

Formatter = Callable[[float], str]
"""Turns a number into tick or bar-label text, e.g. ``lambda x: t.money(x)`` (Babel)."""
DateFormatter = Callable[[pd.Timestamp], str]
"""Turns a period start into a tick label, e.g. Babel's ``format_date(d, "MMM yyyy", ...)``."""

FIGURE_WIDTH_IN = 6.3
"""Default figure width in inches: 16 cm, the text width of an A4 page with margins.

Fonts are set in points for this width, so a figure placed at 16 cm prints its
text at the sizes below (9 pt ticks, 10 pt axis labels, 11 pt titles).
"""
TICK_PT = 9.0
LABEL_PT = 10.0
TITLE_PT = 11.0
NOTE_PT = 8.5
"""Size of direct labels on bars, bubbles and reference lines."""

_MIN_CONTRAST = 0.3
"""Least difference in relative luminance between two series (grey-scale safety)."""


# -- colours ---------------------------------------------------------------------------


def luminance(color: str | tuple[float, ...]) -> float:
    """Relative luminance of a colour (WCAG 2.x), from 0 (black) to 1 (white).

    What a colour turns into on a grey-scale printer; two series whose luminance
    differs by 0.3 or more stay apart in print.

    Parameters
    ----------
    color
        Any matplotlib colour (``"#1B3A5C"``, ``"navy"``, an RGB(A) tuple).

    Returns
    -------
    float
        ``0.2126 R + 0.7152 G + 0.0722 B`` of the linearised sRGB channels.

    References
    ----------
    .. [1] W3C, "Web Content Accessibility Guidelines 2.1", definition of
       relative luminance.

    Examples
    --------
    >>> round(luminance("#FFFFFF"), 3), round(luminance("#000000"), 3)
    (1.0, 0.0)
    """
    channels = np.asarray(to_rgb(color), dtype="float64")
    linear = np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    return float(np.dot([0.2126, 0.7152, 0.0722], linear))


def _mix(color: str, other: str, share: float) -> str:
    """``color`` moved ``share`` (0–1) of the way towards ``other``, as ``#rrggbb``."""
    a, b = np.asarray(to_rgb(color)), np.asarray(to_rgb(other))
    return to_hex(a + (b - a) * share)


def _away_from(base: str, color: str, *, min_contrast: float = _MIN_CONTRAST) -> str:
    """``color``, lightened (dark ``base``) or darkened (light ``base``) until it contrasts."""
    target = "#FFFFFF" if luminance(base) < 0.4 else "#000000"
    for share in np.linspace(0.0, 0.95, 20):
        candidate = _mix(color, target, float(share))
        if abs(luminance(candidate) - luminance(base)) >= min_contrast:
            return candidate
    return _mix(base, target, 0.8)


def _checked(name: str, value: str) -> str:
    try:
        return to_hex(value).upper()
    except ValueError:
        raise ValueError(
            f"Palette.{name}: {value!r} is not a colour (use a hex code such as '#1B3A5C')"
        ) from None


@dataclass(frozen=True)
class Palette:
    """The brand colours a figure draws with.

    The defaults are the default house style (``templates/_brand.yml``). Series
    are told apart by lightness, not by hue alone: :meth:`pair` returns two
    colours that stay distinct on a grey-scale printer, :meth:`sequential` a
    colour map whose lightness runs one way.

    Attributes
    ----------
    primary
        Main data colour (the series that matters most). Hex ``#RRGGBB``.
    secondary
        Second data colour; lightened or darkened where it would print as the
        same grey as ``primary``.
    accent
        Highlights: reference lines, the 20/80 marker.
    neutral
        Grid lines, reference diagonals, de-emphasised series.
    background
        Figure and axes background.
    foreground
        Text, tick labels and axis lines.

    Examples
    --------
    >>> Palette().primary
    '#1B3A5C'
    >>> Palette.from_brand("#3A2470", "#6D5C99", "#D9581A").accent
    '#D9581A'
    """

    primary: str = "#1B3A5C"
    secondary: str = "#5B7083"
    accent: str = "#E08E2B"
    neutral: str = "#9AA5B1"
    background: str = "#FFFFFF"
    foreground: str = "#1F2933"

    def __post_init__(self) -> None:
        for name in ("primary", "secondary", "accent", "neutral", "background", "foreground"):
            object.__setattr__(self, name, _checked(name, getattr(self, name)))

    @classmethod
    def from_brand(
        cls,
        primary: str,
        secondary: str | None = None,
        accent: str | None = None,
        *,
        neutral: str | None = None,
        background: str | None = None,
        foreground: str | None = None,
    ) -> Palette:
        """Build a palette from a brand's hex colours; colours left out keep the default.

        Parameters
        ----------
        primary, secondary, accent, neutral, background, foreground
            Hex colours (``"#3A2470"``) or matplotlib colour names. The keyword
            names match :attr:`clvreport.brand.ReportBrand.colors`, so
            ``Palette.from_brand(**brand.colors)`` works.

        Returns
        -------
        Palette

        Raises
        ------
        ValueError
            If a value is not a colour.

        Examples
        --------
        >>> Palette.from_brand("#3a2470").primary, Palette.from_brand("#3a2470").secondary
        ('#3A2470', '#5B7083')
        """
        given = {
            "primary": primary,
            "secondary": secondary,
            "accent": accent,
            "neutral": neutral,
            "background": background,
            "foreground": foreground,
        }
        return cls(**{name: value for name, value in given.items() if value is not None})

    def pair(self) -> tuple[str, str]:
        """Two series colours that differ in lightness: ``(primary, contrasting secondary)``.

        Returns
        -------
        tuple of str
            ``primary`` and ``secondary`` moved away from it in lightness until
            their luminance differs by at least 0.3.

        Examples
        --------
        >>> dark, light = Palette().pair()
        >>> luminance(light) - luminance(dark) >= 0.3
        True
        """
        return self.primary, _away_from(self.primary, self.secondary)

    def sequential(self, name: str = "brand") -> LinearSegmentedColormap:
        """A colour map from a pale tint of ``primary`` to ``primary`` itself.

        Lightness falls monotonically along the map, so it reads in grey-scale;
        it never reaches pure white, so empty (NaN) heatmap cells stay distinct.
        A light ``primary`` (yellow, light blue) is darkened at the deep end so the
        map keeps its range.

        Parameters
        ----------
        name
            The colour map's name.

        Returns
        -------
        matplotlib.colors.LinearSegmentedColormap

        Examples
        --------
        >>> cmap = Palette().sequential()
        >>> luminance(cmap(0.0)) > luminance(cmap(0.5)) > luminance(cmap(1.0))
        True
        """
        deep = self.primary
        if luminance(deep) > 0.12:  # a light brand colour: darken the end of the ramp
            deep = _mix(self.primary, "#000000", 0.45)
        pale = _mix(deep, "#FFFFFF", 0.94)
        middle = _mix(deep, "#FFFFFF", 0.5)
        return LinearSegmentedColormap.from_list(name, [pale, middle, deep])


# -- labels and numbers ------------------------------------------------------------------


def _label(labels: Mapping[str, str] | None, key: str) -> str:
    """The caller's translated text for ``key``; the neutral key itself when absent."""
    if labels is None:
        return key
    return str(labels.get(key, key))


def _optional(labels: Mapping[str, str] | None, key: str) -> str | None:
    """The caller's text for ``key`` or ``None`` (titles: no title rather than a key)."""
    if labels is None or key not in labels:
        return None
    return str(labels[key])


def _fmt(formatter: Formatter | None, value: float, default: str = "{:,.0f}") -> str:
    if formatter is not None:
        return formatter(value)
    return default.format(value)


def _percent(formatter: Formatter | None) -> Formatter:
    """``formatter``, or shares as whole percentages (``0.2`` → ``20%``)."""
    if formatter is not None:
        return formatter
    percent = PercentFormatter(1.0, decimals=0)
    return lambda value: percent.format_pct(value, 1.0)


def _tick_formatter(formatter: Formatter) -> FuncFormatter:
    return FuncFormatter(lambda value, _pos: formatter(value))


def _period_label(value: object, date_formatter: DateFormatter | None) -> str:
    """A tick label for a period: ``date_formatter`` if given, else an ISO-like text."""
    if isinstance(value, pd.Period):
        if date_formatter is not None:
            return date_formatter(value.start_time)
        return str(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "isoformat"):
        stamp = pd.Timestamp(value)
        if date_formatter is not None:
            return date_formatter(stamp)
        return stamp.strftime("%Y-%m") if stamp.day == 1 else stamp.strftime("%Y-%m-%d")
    return str(value)


def _require(
    data: pd.DataFrame,
    function: str,
    columns: Sequence[str],
    *,
    aliases: Mapping[str, str] | None = None,
    optional: Iterable[str] = (),
) -> pd.DataFrame:
    """``data`` with the ``columns`` (renamed from ``aliases``); clear error when missing."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{function} needs a pandas DataFrame, not {type(data).__name__}")
    renames = {
        alias: name
        for alias, name in (aliases or {}).items()
        if name not in data.columns and alias in data.columns
    }
    frame = data.rename(columns=renames) if renames else data
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ValueError(
            f"{function} needs the column(s) {', '.join(missing)}; "
            f"the data has: {', '.join(map(str, data.columns)) or 'no columns'}"
        )
    keep = list(columns) + [name for name in optional if name in frame.columns]
    return frame[keep]


# -- axes ------------------------------------------------------------------------------


def _root_figure(item: Axes | Figure) -> Figure:
    """The top-level figure an axes (or subfigure) sits on."""
    figure = item.figure if isinstance(item, Axes) else item
    while not isinstance(figure, Figure):  # an axes on a subfigure
        figure = figure.figure
    return figure


def _axes(ax: Axes | None, palette: Palette, height: float = 3.6) -> Axes:
    """``ax``, or one new axes on a new figure 16 cm wide (not registered with pyplot)."""
    if ax is not None:
        return ax
    figure = Figure(figsize=(FIGURE_WIDTH_IN, height), layout="constrained")
    FigureCanvasAgg(figure)
    figure.set_facecolor(palette.background)
    return figure.add_subplot()


def _style(
    ax: Axes,
    palette: Palette,
    *,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    grid: str | None = "y",
    left_spine: bool = True,
) -> None:
    """House style: readable fonts, no top/right frame, a light grid behind the data."""
    ax.set_facecolor(palette.background)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_visible(left_spine)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(palette.neutral)
        ax.spines[side].set_linewidth(0.8)
    ax.tick_params(
        labelsize=TICK_PT, colors=palette.foreground, length=3, width=0.8, color=palette.neutral
    )
    if not left_spine:
        ax.tick_params(axis="y", length=0)
    if grid:
        ax.grid(axis=grid, color=palette.neutral, alpha=0.35, linewidth=0.6)
        ax.set_axisbelow(True)
    else:
        ax.grid(False)
    if xlabel is not None:
        ax.set_xlabel(xlabel, fontsize=LABEL_PT, color=palette.foreground)
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=LABEL_PT, color=palette.foreground)
    if title is not None:
        ax.set_title(
            title, fontsize=TITLE_PT, color=palette.foreground, loc="left", fontweight="bold"
        )


def _paired_bars(
    ax: Axes,
    palette: Palette,
    frame: pd.DataFrame,
    category: str,
    pair: tuple[str, str],
    *,
    labels: Mapping[str, str] | None,
    ylabel: str,
    formatter: Formatter | None,
    **kwargs: Any,
) -> Axes:
    """Two bars per ``category`` value (``pair``: dark, then light), styled, legend above.

    What :func:`~clvreport.plots.plot_holdout_check` and
    :func:`~clvreport.plots.plot_purchase_calibration` share: the measured
    value beside the predicted one per group.
    """
    dark, light = palette.pair()
    positions = np.arange(len(frame), dtype="float64")
    width = kwargs.pop("width", 0.38)
    for column, color, offset in ((pair[0], dark, -width / 2), (pair[1], light, width / 2)):
        ax.bar(
            positions + offset,
            frame[column].to_numpy(dtype="float64"),
            width=width,
            color=color,
            edgecolor=dark,
            linewidth=0.6,
            label=_label(labels, column),
            **kwargs,
        )
    ax.set_xticks(positions, [str(v) for v in frame[category]])
    if formatter is not None:
        ax.yaxis.set_major_formatter(_tick_formatter(formatter))
    _style(
        ax,
        palette,
        xlabel=_label(labels, category),
        ylabel=_label(labels, ylabel),
        title=_optional(labels, "title"),
        grid="y",
    )
    ax.tick_params(axis="x", length=0)
    _legend_above(ax, palette)
    return ax


def _legend_above(ax: Axes, palette: Palette, *, ncols: int = 2) -> None:
    """A frameless legend in one row above the plot, clear of the data."""
    handles, texts = ax.get_legend_handles_labels()
    if not handles:
        return
    legend = ax.legend(
        handles,
        texts,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncols=ncols,
        frameon=False,
        fontsize=TICK_PT,
        handlelength=1.6,
        borderaxespad=0.3,
        labelcolor=palette.foreground,
    )
    legend.set_in_layout(True)
    if ax.get_title(loc="left"):  # lift the title above the legend
        ax.set_title(
            ax.get_title(loc="left"),
            loc="left",
            pad=24,
            fontsize=TITLE_PT,
            color=palette.foreground,
            fontweight="bold",
        )


def _period_ticks(
    ax: Axes,
    positions: Sequence[float],
    texts: Sequence[str],
    *,
    axis: str = "x",
) -> None:
    """Label every n-th position, n chosen so the labels do not touch.

    The room per label is estimated from the axes' width on a 16 cm figure and
    the longest label (about 0.6 em per character at the tick font size).
    """
    if not positions:
        return
    longest = max(len(text) for text in texts)
    if axis == "x":
        span_in = ax.get_position().width * _root_figure(ax).get_figwidth()
        need_in = (longest + 2.5) * 0.6 * TICK_PT / 72.0
    else:
        span_in = ax.get_position().height * _root_figure(ax).get_figheight()
        need_in = 2.0 * TICK_PT / 72.0
    fits = max(1, int(span_in // need_in))
    step = max(1, math.ceil(len(positions) / fits))
    chosen = list(range(0, len(positions), step))
    setter = ax.set_xticks if axis == "x" else ax.set_yticks
    setter([positions[i] for i in chosen], [texts[i] for i in chosen])


# -- saving ----------------------------------------------------------------------------


def save_figure(fig: Figure | Axes, path: str | Path, *, dpi: int = 200) -> Path:
    """Write a figure as PNG (tight bounding box) and close it.

    Parameters
    ----------
    fig
        The figure, or an axes on it (what the ``plot_*`` functions return).
    path
        Where to write; missing folders are created. A path without suffix
        gets ``.png``.
    dpi
        Resolution; 200 dpi at 16 cm is sharp in print and small on screen.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> from clvreport.plots import plot_at_risk
    >>> import pandas as pd
    >>> ax = plot_at_risk(pd.DataFrame({"segment_label": ["A"], "value_at_stake": [10.0]}))
    >>> save_figure(ax, "/tmp/at_risk.png").name  # doctest: +SKIP
    'at_risk.png'
    """
    figure = _root_figure(fig)
    target = Path(path)
    if not target.suffix:
        target = target.with_suffix(".png")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        figure.savefig(
            target,
            format="png",
            dpi=dpi,
            bbox_inches="tight",
            pad_inches=0.04,
            facecolor=figure.get_facecolor(),
            metadata={"Software": None},
        )
    finally:
        from matplotlib import pyplot

        pyplot.close(figure)  # a no-op for figures pyplot does not know
    return target
