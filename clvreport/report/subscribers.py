"""The subscription report's own section: who keeps paying, per plan and per start year.

Shown only for ``business: subscription`` clients
(:class:`~clvreport.audiences.subscribers.SubscriberAnalysis`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clvreport import plots
from clvreport.models.units import MONTHS_PER_PERIOD
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
from clvreport.tenure import ALL_PLANS_LABEL, tenure_table

__all__ = ["subscriber_outlook", "tenure_blocks"]

MILESTONE_MONTHS = (1, 3, 6, 12, 24, 36, 60, 120)
"""Months ahead shown in the forecast table (those within the horizon)."""


def _after(ctx: ReportContext, periods: int) -> str:
    period = ctx.analysis.config.subscription.period
    unit = ctx.t(f"subscribers.{'period' if periods == 1 else 'periods'}.{period}")
    return ctx.t("subscribers.after", n=ctx.t.number(periods), unit=unit)


def _forecast_blocks(ctx: ReportContext) -> list[str]:
    t, a = ctx.t, ctx.analysis
    sub = a.subscribers
    assert sub is not None and sub.forecast is not None and sub.scores is not None
    period = a.config.subscription.period
    forecast = sub.forecast
    per = MONTHS_PER_PERIOD[period]
    shown = [m // per for m in MILESTONE_MONTHS if m % per == 0 and m // per <= len(forecast)]
    if len(forecast) not in shown:
        shown.append(len(forecast))
    rows = forecast.set_index("period").loc[shown]
    columns = t.group("subscribers.columns")
    columns["revenue"] = t("subscribers.columns.revenue", period=t(f"subscribers.period.{period}"))
    frame = pd.DataFrame(
        {
            columns["period"]: [_after(ctx, int(p)) for p in rows.index],
            columns["subscribers"]: [t.number(v) for v in rows["subscribers"]],
            columns["revenue"]: [t.money(v) for v in rows["revenue"]],
        }
    )
    active = int(sub.scores["active"].sum())
    left = float(forecast["subscribers"].iloc[-1])
    return [
        finding(
            t(
                "subscribers.finding",
                active=t.number(active),
                horizon=_after(ctx, len(forecast)),
                left=t.number(left),
                share=t.percent(left / active if active else np.nan, digits=0),
                revenue=t.money(float(forecast["revenue"].sum())),
            )
        ),
        keep_together(
            paragraph(t("subscribers.intro", period=t(f"subscribers.period.{period}"))),
            table(
                frame,
                caption=t(
                    "subscribers.table_caption",
                    period=t(f"subscribers.period.{period}"),
                    active=t.number(active),
                ),
                id="tbl-subscriber-forecast",
                align="lrr",
            ),
        ),
    ]


def _plan_blocks(ctx: ReportContext) -> list[str]:
    t, a = ctx.t, ctx.analysis
    sub = a.subscribers
    assert sub is not None and sub.scores is not None
    period = a.config.subscription.period
    year = max(1, 12 // MONTHS_PER_PERIOD[period])
    horizon = len(sub.forecast) if sub.forecast is not None else year
    latest = sub.contracts.sort_values(["customer_id", "start"]).groupby("customer_id").tail(1)
    plans = sorted(set(latest["plan"].astype(str)))
    scores = sub.scores.set_index("customer_id")
    tenure = _tenure(ctx).set_index("plan")
    rows, sentences = [], []
    for plan in plans:
        model = sub.fit.model_for(plan)
        members = latest.loc[latest["plan"].astype(str) == plan, "customer_id"].astype(str)
        running = scores.loc[members]
        running = running[running["active"]]
        first = float(model.churn_probability(1))
        later = 1.0 - float(model.retention_rate(year + 1))
        remaining = float(running["expected_purchases"].mean()) if len(running) else np.nan
        name = plan if plan != "all" else a.config.name
        measured = tenure.loc[plan]
        rows.append(
            {
                "plan": name,
                "active": t.number(len(running)),
                "first": t.percent(first, digits=0),
                "later": t.percent(later, digits=1),
                "ended": _months(ctx, measured["ended_mean"]),
                "running_so_far": _months(ctx, measured["running_mean"]),
                "remaining": "–" if np.isnan(remaining) else _after_float(ctx, remaining),
            }
        )
        sentences.append(
            t(
                "subscribers.plan_sentence",
                plan=literal(name),
                first=t.percent(first, digits=0),
                later=t.percent(later, digits=1),
                period=t(f"subscribers.period.{period}"),
            )
        )
    headers = t.group("subscribers.plan_columns")
    headers["remaining"] = t("subscribers.plan_columns.remaining", horizon=_after(ctx, horizon))
    frame = pd.DataFrame(rows).rename(columns=headers)
    return [
        heading(t("subscribers.plans_heading"), level=2, id="sec-subscriber-plans"),
        keep_together(
            paragraph(
                t("subscribers.plans_intro", periods=t(f"subscribers.periods.{period}")),
                *sentences,
            ),
            table(
                frame,
                caption=t("subscribers.plans_caption", period=t(f"subscribers.period.{period}")),
                id="tbl-subscriber-plans",
                align="lrrrrrr",
            ),
        ),
    ]


def _months(ctx: ReportContext, months: float) -> str:
    """``14,6 maanden`` (``–`` for no subscription)."""
    if pd.isna(months):
        return "–"
    unit = ctx.t("subscribers.periods.month")
    return ctx.t("subscribers.after", n=ctx.t.number(months, digits=1), unit=unit)


def _tenure(ctx: ReportContext) -> pd.DataFrame:
    """Measured tenure and the model's forecast per plan (:func:`clvreport.tenure.tenure_table`)."""
    a = ctx.analysis
    sub = a.subscribers
    assert sub is not None
    period = a.config.subscription.period
    cap = a.config.lifetime_years * 12 // MONTHS_PER_PERIOD[period]
    return tenure_table(sub.contracts, sub.fit.model_for, period, cap)


def tenure_blocks(ctx: ReportContext) -> tuple[str, str] | None:
    """How long subscriptions last: the headline sentence and the paragraph for the summary.

    The measured figures (ended subscriptions, running ones so far) and the
    model's forecast (within the lifetime cap), each named as what it is.
    ``None`` without a usable subscription model.

    Examples
    --------
    >>> ctx = setup(client="abonnement")  # doctest: +SKIP
    >>> headline, paragraph = tenure_blocks(ctx)  # doctest: +SKIP
    """
    a = ctx.analysis
    sub = a.subscribers if a is not None else None
    if sub is None or not sub.fit.usable:
        return None
    t = ctx.t
    table = _tenure(ctx).set_index("plan")
    total = table.loc[ALL_PLANS_LABEL]
    years = a.config.lifetime_years
    number = lambda v: t.number(v, digits=1)  # noqa: E731
    headline = t(
        "subscribers.tenure_headline",
        ended=number(total["ended_mean"]),
        running=t.number(total["running"]),
        running_mean=number(total["running_mean"]),
        remaining=number(total["expected_remaining"]),
        years=t.number(years),
    )
    plans = [
        t(
            "subscribers.tenure_plan",
            plan=literal(str(plan) if plan != "all" else a.config.name),
            ended_count=t.number(row["ended"]),
            ended=number(row["ended_mean"]),
            median=number(row["ended_median"]),
            running_count=t.number(row["running"]),
            running=number(row["running_mean"]),
        )
        for plan, row in table.drop(index=ALL_PLANS_LABEL).iterrows()
    ]
    parts = [
        t(
            "subscribers.tenure_plans",
            plans=t.join(plans),
            all_mean=number(total["all_mean"]),
            all_median=number(total["all_median"]),
        ),
        t(
            "subscribers.tenure_forecast",
            years=t.number(years),
            new=number(total["expected_new"]),
            remaining=number(total["expected_remaining"]),
        ),
    ]
    if total["unbounded"]:
        parts.append(t("subscribers.tenure_unbounded", years=t.number(years)))
    return headline, " ".join(parts)


def _after_float(ctx: ReportContext, periods: float) -> str:
    period = ctx.analysis.config.subscription.period
    unit = ctx.t(f"subscribers.periods.{period}")
    return ctx.t("subscribers.after", n=ctx.t.number(periods, digits=1), unit=unit)


def _cohort_blocks(ctx: ReportContext) -> list[str]:
    t, a = ctx.t, ctx.analysis
    sub = a.subscribers
    assert sub is not None
    cohorts = sub.cohorts
    if cohorts.empty:
        return []
    period = a.config.subscription.period
    ax = plots.plot_cohort_giving(
        cohorts,
        palette=ctx.palette,
        labels=t.group("subscribers.plot"),
        formatter=lambda v: t.percent(v, digits=0),
    )
    path = plots.save_figure(ax, ctx.figures_dir / "subscriber_cohorts.png")
    oldest = cohorts[cohorts["cohort"] == cohorts["cohort"].iloc[0]].set_index("age")
    age = int(oldest.index.max())
    caption = t(
        "subscribers.cohort_caption",
        cohort=literal(cohorts["cohort"].iloc[0]),
        age=_after(ctx, age),
        share=t.percent(oldest.loc[age, "share"], digits=0),
        expected="–"
        if pd.isna(oldest.loc[age, "expected"])
        else t.percent(oldest.loc[age, "expected"], digits=0),
    )
    return [
        heading(t("subscribers.cohort_heading"), level=2, id="sec-subscriber-cohorts"),
        paragraph(t("subscribers.cohort_intro", periods=t(f"subscribers.periods.{period}"))),
        figure(path, caption=caption, id="fig-subscriber-cohorts", base=ctx.output_dir),
    ]


def subscriber_outlook(ctx: ReportContext) -> Markdown:
    """Subscribers and revenue ahead, cancellation per plan, survival per start year.

    Nothing for clients that are not ``business: subscription``.

    Examples
    --------
    >>> ctx = setup(client="abonnement")  # doctest: +SKIP
    >>> print(subscriber_outlook(ctx))  # doctest: +SKIP
    """
    sub = ctx.analysis.subscribers if ctx.analysis is not None else None
    if sub is None:
        return join()
    blocks = [heading(ctx.t("subscribers.heading"), id="sec-subscribers")]
    if sub.forecast is not None:
        blocks += _forecast_blocks(ctx) + _plan_blocks(ctx)
    blocks += _cohort_blocks(ctx)
    return join(*blocks)
