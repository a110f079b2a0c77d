"""The part "How sure are these figures?" of the recommendations: the tornado and the break-evens.

The figures are :func:`clvreport.sensitivity.sensitivity` (the base value and
the plan's net return with each input moved by half) and the break-even
success rate of each advised action (``break_even_success_rate`` of the plan).
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from clvreport import plots
from clvreport.report.context import ReportContext
from clvreport.report.first_page import rate_source_text
from clvreport.report.markdown import figure, heading, keep_together, paragraph

__all__ = ["sensitivity_blocks"]


def _frame(ctx: ReportContext, table: pd.DataFrame, figure_key: str) -> pd.DataFrame:
    t = ctx.t
    rows = []
    for row in table.itertuples(index=False):
        if row.input == "horizon_months":
            low, high = t.number(row.low), t.number(row.high)
        elif row.input == "success_rate":
            low, high = t.percent(row.low, digits=0), t.percent(row.high, digits=0)
        else:
            low, high = t.percent(row.low, digits=1), t.percent(row.high, digits=1)
        rows.append(
            {
                "label": t(f"plots.sensitivity.{row.input}", low=low, high=high),
                "base": getattr(row, figure_key),
                "low": getattr(row, f"{figure_key.split('_')[0]}_low"),
                "high": getattr(row, f"{figure_key.split('_')[0]}_high"),
            }
        )
    return pd.DataFrame(rows)


def _figure(ctx: ReportContext, table: pd.DataFrame) -> str:
    t = ctx.t
    fig = Figure(figsize=(plots.FIGURE_WIDTH_IN, 4.6), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    labels = t.group("plots.sensitivity")
    plots.plot_sensitivity(
        _frame(ctx, table, "base_value"),
        ax=top,
        palette=ctx.palette,
        labels={**labels, "x": labels.get("base_x", "")},
        formatter=t.money,
    )
    plots.plot_sensitivity(
        _frame(ctx, table, "net_return"),
        ax=bottom,
        palette=ctx.palette,
        labels={**labels, "x": labels.get("net_x", "")},
        formatter=t.money,
        legend=False,
    )
    path = plots.save_figure(fig, ctx.figures_dir / "sensitivity.png")
    biggest = table.assign(swing=(table["net_high"] - table["net_low"]).abs()).sort_values(
        "swing", ascending=False
    )
    first = biggest.iloc[0]
    caption = t(
        "recommendations.sensitivity_caption",
        input=t(f"recommendations.sensitivity_inputs.{first['input']}"),
        low=t.money(first["net_low"]),
        high=t.money(first["net_high"]),
    )
    return figure(path, caption=caption, id="fig-sensitivity", base=ctx.output_dir)


def _break_even(ctx: ReportContext) -> str | None:
    t = ctx.t
    plan = ctx.plan
    if "break_even_success_rate" not in plan:
        return None
    advised = plan[plan["profitable"].fillna(False).astype(bool)]
    items = []
    for row in advised.itertuples(index=False):
        rate = row.break_even_success_rate
        name = t(f"recommendations.actions.{row.action}.name")
        if rate is None or not math.isfinite(float(rate)) or float(rate) <= 0.0005:
            items.append(t("recommendations.break_even_growth", action=name))
        else:
            items.append(
                t(
                    "recommendations.break_even_item",
                    action=name,
                    rate=t.percent(float(rate), digits=1),
                    assumed=t.percent(float(row.success_rate), digits=0),
                    source=rate_source_text(t, getattr(row, "rate_source", None)),
                )
            )
    if not items:
        return None
    return paragraph(t("recommendations.break_even_intro"), "; ".join(items) + ".")


def sensitivity_blocks(ctx: ReportContext) -> list[str]:
    """The heading, figure and break-even sentence (empty without a model or a plan).

    Examples
    --------
    >>> sensitivity_blocks(ctx)  # doctest: +SKIP
    """
    table = ctx.sensitivity
    if table is None or table.empty:
        return []
    t = ctx.t
    return [
        heading(t("recommendations.sensitivity_heading"), level=2, id="sec-sensitivity"),
        keep_together(paragraph(t("recommendations.sensitivity_intro")), _figure(ctx, table)),
        _break_even(ctx) or "",
    ]
