"""The donor report's own section: the gifts expected in the coming periods, and cohort loyalty.

Shown only for ``business: discrete`` clients (:class:`~clvreport.audiences.donors.DonorAnalysis`);
a shop's report has no such section.
"""

from __future__ import annotations

import pandas as pd

from clvreport import plots
from clvreport.donors import period_label
from clvreport.models.discrete import period_index
from clvreport.models.units import period_discount
from clvreport.report.context import ReportContext
from clvreport.report.markdown import (
    Markdown,
    figure,
    finding,
    heading,
    join,
    keep_together,
    literal,
    paragraph,
    table,
)

__all__ = ["donor_outlook"]

COHORT_AGE_LATE = 5
"""The later age the cohort caption names (or the oldest observed, if less)."""


def _next_labels(ctx: ReportContext, count: int) -> list[str]:
    """Calendar labels of the ``count`` periods after the report date (``2025`` ...)."""
    period = ctx.analysis.config.discrete.period
    now = int(period_index(pd.DatetimeIndex([pd.Timestamp(ctx.analysis.as_of)]), period)[0])
    return [period_label(now + s, period) for s in range(1, count + 1)]


def _income_blocks(ctx: ReportContext) -> list[str]:
    t, a = ctx.t, ctx.analysis
    donors = a.donors
    assert donors is not None and donors.income is not None
    period = a.config.discrete.period
    income = donors.income
    labels = _next_labels(ctx, len(income))
    columns = t.group("donors.columns")
    frame = pd.DataFrame(
        {
            columns["period"]: labels,
            columns["alive"]: [t.number(v) for v in income["alive"]],
            columns["giving"]: [t.number(v) for v in income["donors_giving"]],
            columns["income"]: [t.money(v) for v in income["income"]],
        }
    )
    discount = period_discount(period, len(income), a.config.discount_rate)
    present = float(income["income"].to_numpy() @ discount)
    caption = t(
        "donors.table_caption",
        donors=t.number(len(donors.summary)),
        period=t(f"donors.period.{period}"),
        total=t.money(float(income["income"].sum())),
        present=t.money(present),
    )
    return [
        finding(
            t(
                "donors.finding",
                first=labels[0],
                income=t.money(float(income["income"].iloc[0])),
                last=labels[-1],
                last_income=t.money(float(income["income"].iloc[-1])),
            )
        ),
        keep_together(
            paragraph(
                t("donors.intro", period=t(f"donors.period.{period}")),
                t("donors.last_year", revenue=t.money(a.revenue_last_year)),
            ),
            table(frame, caption=caption, id="tbl-donor-income", align="lrrr"),
        ),
    ]


def _active_sentence(ctx: ReportContext) -> str | None:
    t, a = ctx.t, ctx.analysis
    donors = a.donors
    if donors is None or donors.active_periods is None:
        return None
    period = a.config.discrete.period
    periods = len(donors.income) if donors.income is not None else 1
    active = donors.active_periods.merge(
        a.customers[["customer_id", "segment"]].astype({"customer_id": str}), on="customer_id"
    )
    by_segment = active.groupby(active["segment"].astype(str))["active_periods"].mean()
    top = by_segment.idxmax()
    label = a.rules.labels(t.language).get(top, top)
    return t(
        "donors.active",
        periods=t(f"donors.count.{period}", n=t.number(periods)),
        active=t(f"donors.count.{period}", n=t.number(active["active_periods"].mean(), digits=1)),
        label=literal(label),
        top=t(f"donors.count.{period}", n=t.number(by_segment.max(), digits=1)),
    )


def _cohort_blocks(ctx: ReportContext) -> list[str]:
    t, a = ctx.t, ctx.analysis
    donors = a.donors
    assert donors is not None
    cohorts = donors.cohorts
    if cohorts.empty:
        return []
    period = a.config.discrete.period
    oldest = cohorts["cohort"].iloc[0]
    rows = cohorts[cohorts["cohort"] == oldest].set_index("age")
    late = min(COHORT_AGE_LATE, int(rows.index.max()))
    ax = plots.plot_cohort_giving(
        cohorts,
        palette=ctx.palette,
        labels=t.group("donors.plot"),
        formatter=lambda v: t.percent(v, digits=0),
    )
    path = plots.save_figure(ax, ctx.figures_dir / "donor_cohorts.png")

    def share(value: float) -> str:
        return "–" if pd.isna(value) else t.percent(value, digits=0)

    caption = t(
        "donors.cohort_caption",
        cohort=literal(oldest),
        share=share(rows.loc[1, "share"]),
        expected=share(rows.loc[1, "expected"]),
        period=t(f"donors.period.{period}"),
        age=t(f"donors.count.{period}", n=t.number(late)),
        late_share=share(rows.loc[late, "share"]),
        late_expected=share(rows.loc[late, "expected"]),
    )
    return [
        heading(t("donors.cohort_heading"), level=2, id="sec-donor-cohorts"),
        paragraph(
            t(
                "donors.cohort_intro",
                period=t(f"donors.period.{period}"),
                periods=t(f"donors.periods.{period}"),
            ),
            _active_sentence(ctx) or "",
        ),
        figure(path, caption=caption, id="fig-donor-cohorts", base=ctx.output_dir),
    ]


def donor_outlook(ctx: ReportContext) -> Markdown:
    """Gifts expected from today's donors per coming period, and how loyal cohorts stay.

    Nothing for clients that are not ``business: discrete``, and only the
    cohort figure when the donor model could not be fitted.

    Examples
    --------
    >>> ctx = setup(client="goededoel")  # doctest: +SKIP
    >>> print(donor_outlook(ctx))  # doctest: +SKIP
    """
    donors = ctx.analysis.donors if ctx.analysis is not None else None
    if donors is None:
        return join()
    blocks = [heading(ctx.t("donors.heading"), id="sec-donors")]
    if donors.income is not None:
        blocks += _income_blocks(ctx)
    blocks += _cohort_blocks(ctx)
    return join(*blocks)
