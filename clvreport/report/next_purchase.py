"""The methodology's check of the next-purchase windows, chances and risk labels.

One paragraph (how often the first holdout purchase fell in the customer's 80%
window, and how many of each risk label bought) and the calibration figure of
P(purchase within 90 days) per decile, from
:attr:`~clvreport.analysis.Analysis.next_purchase_check`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from clvreport import plots
from clvreport.i18n import Translator
from clvreport.models.next_purchase import (
    CALIBRATION_TOLERANCE,
    EXPECTED_SHARE,
    RISK_HIGH,
    WINDOW,
    calibration_gap,
)
from clvreport.report.context import ReportContext
from clvreport.report.markdown import figure, keep_together, paragraph

__all__ = [
    "MAX_ID_CHARS_WITH_DATE",
    "next_purchase_blocks",
    "next_purchase_cells",
    "shows_next_purchase",
]

MAX_ID_CHARS_WITH_DATE = 12
"""The top-customer table has room for the expected date beside ids up to this long;
longer (shortened) ids would wrap, and the date is left to customers.csv/.xlsx."""


def shows_next_purchase(top: pd.DataFrame) -> bool:
    """Whether the top-customer table shows the expected next purchase.

    When the model gave one and the shown ids (``shown_id``) are short enough.

    Examples
    --------
    >>> rows = pd.DataFrame({"shown_id": ["100726"], "next_purchase_median": [pd.NaT]})
    >>> shows_next_purchase(rows), shows_next_purchase(rows.assign(shown_id="8dc16285…ab06816"))
    (True, False)
    """
    if "next_purchase_median" not in top or "shown_id" not in top:
        return False
    return int(top["shown_id"].astype(str).str.len().max()) <= MAX_ID_CHARS_WITH_DATE


def next_purchase_cells(t: Translator, median: pd.Series, as_of: dt.date) -> list[str]:
    r"""The top-customer table's column: the median date, or "not expected" without one.

    Day and month within a year of ``as_of`` (the year is then plain), month and
    year further out; joined by a non-breaking space, so a date never wraps.

    Examples
    --------
    >>> from clvreport.i18n import translator
    >>> days = pd.Series(pd.to_datetime(["2025-02-10", None, "2026-03-01"]))
    >>> next_purchase_cells(translator("nl"), days, dt.date(2024, 12, 31))
    ['10\xa0feb', 'niet verwacht', 'mrt\xa02026']
    """
    none = t("value.next_purchase_none")
    year_on = as_of + dt.timedelta(days=365)

    def cell(day: pd.Timestamp) -> str:
        if pd.isna(day):
            return none
        style = "d MMM" if day.date() < year_on else "MMM yyyy"
        return t.date(day.date(), style=style).replace(" ", "\xa0")

    return [cell(day) for day in median]


def next_purchase_blocks(ctx: ReportContext) -> list[str]:
    """The check in words and its figure (nothing without a holdout check).

    Examples
    --------
    >>> next_purchase_blocks(ctx)  # doctest: +SKIP
    ['::: {.keep-together} ...']
    """
    t, a = ctx.t, ctx.analysis
    check = getattr(a, "next_purchase_check", None)
    if check is None or check.buyers == 0 or a.calibration_end is None:
        return []
    risk = check.risk
    sentences = [
        t(
            "methodology.next_purchase_window",
            window=t.percent(WINDOW, digits=0),
            coverage=t.percent(check.coverage, digits=0),
            buyers=t.number(check.buyers),
            early=t.percent(check.early, digits=0),
            late=t.percent(check.late, digits=0),
        )
    ]
    if all(risk[label]["bought"] is not None for label in ("low", "elevated", "high")):
        sentences.append(
            t(
                "methodology.next_purchase_risk",
                expected=t.percent(EXPECTED_SHARE, digits=0),
                high_below=t.percent(RISK_HIGH, digits=0),
                low=t.percent(risk["low"]["bought"], digits=0),
                elevated=t.percent(risk["elevated"]["bought"], digits=0),
                high=t.percent(risk["high"]["bought"], digits=0),
            )
        )
    bias = _bias_sentence(t, check.calibration, getattr(a.model, "validation", None))
    blocks = [paragraph(*sentences)]
    if check.calibration:
        deciles = pd.DataFrame(check.calibration)
        gap = float((deciles["predicted"] - deciles["observed"]).abs().max())
        ax = plots.plot_purchase_calibration(
            deciles,
            palette=ctx.palette,
            labels=t.group("plots.purchase_calibration"),
            formatter=lambda v: t.percent(v, digits=0),
        )
        path = plots.save_figure(ax, ctx.figures_dir / "purchase-calibration.png")
        caption = t(
            "methodology.next_purchase_caption",
            start=t.date(a.calibration_end),
            gap=t.number(gap * 100, digits=0),
        )
        blocks.append(
            figure(path, caption=caption, id="fig-purchase-calibration", base=ctx.output_dir)
        )
        if bias:
            blocks.append(paragraph(bias))
    return [keep_together(*blocks)]


def _bias_sentence(t: Translator, rows: list, validation: object) -> str | None:
    """Why a decile is off by more than the tolerance, when the model's holdout count says so.

    The chances follow the model; when it expected fewer (more) holdout purchases
    than were made and a decile's chance is off by more than
    :data:`~clvreport.models.next_purchase.CALIBRATION_TOLERANCE` in that direction,
    the gap is the model's expectation, said with its total error.
    """
    gap = calibration_gap(rows)
    error = getattr(validation, "total_error", None)
    if gap is None or gap["largest"] <= CALIBRATION_TOLERANCE or error is None:
        return None
    worst = next(r for r in rows if r["decile"] == gap["decile"])
    low = worst["predicted"] < worst["observed"]
    if not (error == error) or (error < 0) != low or error == 0:
        return None
    return t(
        f"methodology.next_purchase_bias_{'low' if low else 'high'}",
        decile=gap["decile"],
        gap=t.number(gap["largest"] * 100, digits=1),
        error=t.percent(abs(error), digits=0),
    )
