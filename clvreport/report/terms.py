"""The report's defined terms in words: each figure of :mod:`clvreport.definitions`, one way.

Every sentence, caption and table cell that names a defined term (year,
active customer, repeat buyer, lifespan, retention, expected remaining years,
customer years) is written here from the figures computed once in
:class:`~clvreport.metrics.ClvFigures` and :func:`~clvreport.metrics.years_table`,
with one number format per term, so a term never shows two numbers in one
report:

* retention rate and repeat rate: a whole percentage;
* lifespan, expected remaining years and customer years: years with one decimal.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from clvreport.definitions import year_start
from clvreport.i18n import Translator
from clvreport.report.context import ReportContext
from clvreport.report.markdown import paragraph, table

__all__ = [
    "definition_items",
    "historic_paragraph",
    "lifespan_caption",
    "loyalty_finding",
    "percent",
    "year_label",
    "years",
    "years_block",
]

YEARS_DIGITS = 1
"""Decimals of every figure in years (lifespan, expected remaining years, customer years)."""


def percent(t: Translator, share: float) -> str:
    """A rate (retention, repeat rate) as the report always prints it: ``46%``."""
    return t.percent(share, digits=0)


def years(t: Translator, value: float) -> str:
    """A figure in years as the report always prints it: ``0,7``."""
    return t.number(value, digits=YEARS_DIGITS)


def _calendar(end: dt.date) -> bool:
    """Whether the years counted back from ``end`` are calendar years (``end`` is 31 December)."""
    return (end.month, end.day) == (12, 31)


def year_label(t: Translator, start: dt.date, end: dt.date, *, full: bool = True) -> str:
    """A year of the report in words: ``2024``, or ``jul 2023 – jun 2024``.

    Parameters
    ----------
    t
        Translator.
    start, end
        First and last day of the year (for a partial oldest year, its start is
        where the data begin).
    full
        Whether the data cover the whole year; otherwise the label says from when.

    Returns
    -------
    str

    Examples
    --------
    >>> year_label(t, dt.date(2024, 1, 1), dt.date(2024, 12, 31))  # doctest: +SKIP
    '2024'
    """
    whole_start = year_start(end, 0)
    if _calendar(end):
        label = str(end.year)
    else:
        label = f"{t.date(whole_start, style='MMM yyyy')} – {t.date(end, style='MMM yyyy')}"
    if full:
        return label
    return t("loyalty.partial_year", year=label, start=t.date(start, style="d MMM yyyy"))


def _row_label(t: Translator, row: pd.Series) -> str:
    return year_label(
        t,
        pd.Timestamp(row["year_start"]).date(),
        pd.Timestamp(row["year_end"]).date(),
        full=bool(row["full"]),
    )


def _retention_years(ctx: ReportContext) -> dict[str, str]:
    """The two years the retention rate compares, in words."""
    t, r = ctx.t, ctx.analysis.figures.retention
    return {
        "base_year": year_label(t, r.base_start, r.base_end),
        "year": year_label(t, r.year_start, r.year_end),
    }


def _refusal(ctx: ReportContext) -> dict[str, str]:
    """Why there is no retention rate: where the data begin and how short the year before is."""
    t, r = ctx.t, ctx.analysis.figures.retention
    return {
        "start": t.date(r.data_start),
        "year_start": t.date(r.year_start),
        "days": t.number(r.base_days),
    }


def historic_paragraph(ctx: ReportContext) -> str:
    """The summary's rule of thumb: the historic CLV with its factors, or why it is not computed.

    Examples
    --------
    >>> print(historic_paragraph(ctx))  # doctest: +SKIP
    """
    t, f = ctx.t, ctx.analysis.figures
    if not f.retention.measured:
        return paragraph(
            t(
                "summary.historic_clv_refused",
                per_customer=t.money(f.revenue_per_customer),
                **_refusal(ctx),
            )
        )
    return paragraph(
        t(
            "summary.historic_clv_formula",
            value=t.money(f.avg_purchase_value, digits=2),
            frequency=t.number(f.avg_purchase_frequency, digits=2),
            customer_years=years(t, f.customer_years),
            clv=t.money(f.historic_clv),
            per_customer=t.money(f.revenue_per_customer),
            retention=percent(t, f.retention_rate),
            remaining=years(t, f.expected_remaining_years),
        )
    )


def loyalty_finding(ctx: ReportContext) -> str:
    """The loyalty section's conclusion: retention, repeat rate and active customers.

    Examples
    --------
    >>> print(loyalty_finding(ctx))  # doctest: +SKIP
    """
    t, a = ctx.t, ctx.analysis
    f = a.figures
    values = {
        "repeat": percent(t, f.repeat_purchase_rate),
        "active": t.number(ctx.key_figures.active_customers),
    }
    if not f.retention.measured:
        return t("loyalty.conclusion_refused", **values, start=t.date(f.retention.data_start))
    return t(
        "loyalty.conclusion",
        **values,
        retention=percent(t, f.retention_rate),
        **_retention_years(ctx),
    )


def _years_caption(ctx: ReportContext) -> str:
    """The trend in one sentence: the last year against the one before, both full years."""
    t = ctx.t
    rows = ctx.analysis.retention
    if len(rows) < 2 or not rows["full"].iloc[-2:].all():
        return t("loyalty.years_table")
    last, before = rows.iloc[-1], rows.iloc[-2]
    change = last["revenue"] / before["revenue"] - 1 if before["revenue"] else math.nan
    return t(
        "loyalty.years_caption",
        year=_row_label(t, last),
        before=_row_label(t, before),
        revenue=t.money(last["revenue"]),
        change=t.percent(abs(change), digits=0),
        direction=t("loyalty.more" if change >= 0 else "loyalty.less"),
        customers=t.number(last["customers"]),
        retention=percent(t, last["retention_rate"]),
    )


def years_block(ctx: ReportContext) -> str:
    """The table per year: customers who bought, new ones, revenue, retention, returning revenue.

    Examples
    --------
    >>> print(years_block(ctx))  # doctest: +SKIP
    """
    t = ctx.t
    rows = ctx.analysis.retention
    frame = pd.DataFrame(
        {
            t("loyalty.year"): [_row_label(t, row) for _, row in rows.iterrows()],
            t("loyalty.active"): [t.number(v) for v in rows["customers"]],
            t("loyalty.new"): [t.number(v) for v in rows["new_customers"]],
            t("loyalty.revenue"): [t.money(v) for v in rows["revenue"]],
            t("loyalty.retention"): [
                "–" if math.isnan(v) else percent(t, v) for v in rows["retention_rate"]
            ],
            # In the oldest year everyone is new by definition: "–", not 0%.
            t("loyalty.returning_share"): [
                "–" if i == 0 else t.percent(v, digits=0)
                for i, v in enumerate(rows["returning_revenue_share"])
            ],
        }
    )
    return table(frame, caption=_years_caption(ctx), id="tbl-years", align="lrrrrr")


def lifespan_caption(ctx: ReportContext) -> str:
    """The caption of the lifespan figure: the report's one lifespan number.

    Examples
    --------
    >>> print(lifespan_caption(ctx))  # doctest: +SKIP
    """
    t, f = ctx.t, ctx.analysis.figures
    return t(
        "loyalty.lifespan_caption",
        median=years(t, f.lifespan_years),
        count=t.number(f.n_repeat_customers),
    )


def definition_items(ctx: ReportContext) -> list[str]:
    """The methodology's definitions, each term once, with this client's figure.

    Examples
    --------
    >>> definition_items(ctx)[0]  # doctest: +SKIP
    """
    t, a = ctx.t, ctx.analysis
    f = a.figures
    r = f.retention
    items = [
        t("methodology.year", year_start=t.date(r.year_start), end=t.date(r.year_end)),
        t("methodology.active", active=t.number(ctx.key_figures.active_customers)),
        t("methodology.repeat", repeat=percent(t, f.repeat_purchase_rate)),
        t("methodology.lifespan", value=years(t, f.lifespan_years)),
        t("methodology.avg_value", value=t.money(f.avg_purchase_value, digits=2)),
        t("methodology.frequency", value=t.number(f.avg_purchase_frequency, digits=2)),
        t("methodology.customer_value", value=t.money(f.customer_value, digits=2)),
    ]
    if not r.measured:
        items.append(t("methodology.retention_refused", **_refusal(ctx)))
        return items
    share = f.n_bought_last_year / f.n_customers if f.n_customers else math.nan
    items += [
        t(
            "methodology.retention",
            base=t.number(r.base),
            retained=t.number(r.retained),
            retention=percent(t, r.rate),
            **_retention_years(ctx),
        ),
        t("methodology.remaining", remaining=years(t, f.expected_remaining_years)),
        t(
            "methodology.customer_years",
            observed=years(t, f.observed_active_years),
            share=t.percent(share, digits=0),
            customer_years=years(t, f.customer_years),
        ),
        t(
            "methodology.historic_clv",
            value=t.money(f.historic_clv, digits=2),
            per_customer=t.money(f.revenue_per_customer, digits=2),
        ),
    ]
    return items
