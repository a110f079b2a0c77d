"""The section "Since the previous report": what changed, who moved, did the forecast come true.

Shown only when the client has an earlier report (see
:mod:`clvreport.comparison`); a first report has no such section at all.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from clvreport import plots
from clvreport.comparison import Comparison, Unavailable
from clvreport.i18n import Translator
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
from clvreport.report.season import season_sentences
from clvreport.report.worked import worked_blocks

__all__ = ["FLOWS_SHOWN", "HISTORY_MIN_REPORTS", "since_previous"]

FLOWS_SHOWN = 8
"""Moves between segments listed in the table (the rest are in ``migration.csv``)."""
FLOWS_NAMED = 2
"""Moves named in a sentence: the largest fall and the largest rise by value."""
HISTORY_MIN_REPORTS = 3
"""Reports (this one included) from which the chart across all reports is shown."""

_ROWS = (
    ("customers", "number"),
    ("active_customers", "number"),
    ("revenue_last_year", "money"),
    ("base_value", "money"),
    ("at_risk_customers", "number"),
    ("value_at_stake", "money"),
    ("top_share", "share"),
)


def _format(ctx: ReportContext, value: float | None, kind: str) -> str:
    t = ctx.t
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return t("compare.not_recorded")
    if kind == "money":
        return t.money(value)
    if kind == "share":
        return t.percent(value, digits=0)
    return t.number(value)


def _change(ctx: ReportContext, then: float | None, now: float | None, kind: str) -> str:
    """``+€ 31.674, +31%``, ``−12``, ``+1 pt``; "–" when either side is unknown."""
    t = ctx.t
    if then is None or now is None or not (math.isfinite(then) and math.isfinite(now)):
        return "–"
    delta = now - then
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    if kind == "share":
        points = abs(delta) * 100
        return f"{sign}{t.number(points, digits=0 if points >= 10 else 1)} pt"
    size = t.money(abs(delta)) if kind == "money" else t.number(abs(delta))
    if then:
        return f"{sign}{size}, {sign}{t.percent(abs(delta) / abs(then), digits=0)}"
    return f"{sign}{size}"


def _key_table(ctx: ReportContext, comparison: Comparison) -> str:
    t = ctx.t
    then, now = comparison.then, comparison.now
    rows = []
    for key, kind in _ROWS:
        before, after = getattr(then, key), getattr(now, key)
        if before is None and after is None:
            continue
        rows.append(
            {
                t("compare.figure"): t(f"compare.rows.{key}"),
                t.date(then.as_of, style="medium"): _format(ctx, before, kind),
                t.date(now.as_of, style="medium"): _format(ctx, after, kind),
                t("compare.change"): _change(ctx, before, after, kind),
            }
        )
    caption = t(
        "compare.key_caption",
        then=t.date(then.as_of),
        now=t.date(now.as_of),
        months=ctx.analysis.config.horizon_months,
    )
    return table(pd.DataFrame(rows), caption=caption, id="tbl-compare-key", align="lrrr")


def _finding(ctx: ReportContext, comparison: Comparison) -> str:
    t = ctx.t
    then, now = comparison.then, comparison.now
    date = t.date(comparison.previous_as_of)
    if then.base_value is not None and now.base_value is not None:
        return t(
            "compare.finding",
            date=date,
            new=t.number(comparison.new_customers),
            then=t.money(then.base_value),
            now=t.money(now.base_value),
            change=_change(ctx, then.base_value, now.base_value, "money"),
        )
    return t(
        "compare.finding_no_model",
        date=date,
        new=t.number(comparison.new_customers),
        then=t.number(then.active_customers),
        now=t.number(now.active_customers),
    )


def _split_sentences(ctx: ReportContext, comparison: Comparison) -> list[str]:
    """What the old customers did and what the new ones add; a change of model, if any."""
    t = ctx.t
    sentences = []
    then, now, new = (
        comparison.existing_value_then,
        comparison.existing_value_now,
        comparison.new_customer_value,
    )
    if then is not None and now is not None and new is not None:
        sentences.append(
            t(
                "compare.split",
                date=t.date(comparison.previous_as_of),
                now=t.money(now),
                then=t.money(then),
                change=_change(ctx, then, now, "money"),
                count=t.number(comparison.new_customers),
                new=t.money(new),
            )
        )
    before, after = comparison.model_then, comparison.model_now
    if before and after and before != after and t.has(f"models.{before}"):
        sentences.append(
            t("compare.model_changed", then=t(f"models.{before}"), now=t(f"models.{after}"))
        )
    return sentences


def _segment_rank(ctx: ReportContext) -> dict[str, float]:
    """Each segment's value per customer now: a move to a lower one is a fall."""
    customers = ctx.analysis.customers
    value = "clv" if "clv" in customers else "revenue"
    return (
        customers.groupby(customers["segment"].astype(str), observed=True)[value].mean().to_dict()
    )


def _flow_sentences(ctx: ReportContext, moves: pd.DataFrame) -> list[str]:
    """The largest fall and the largest rise between segments, by value then."""
    t = ctx.t
    labels = ctx.analysis.rules.labels(t.language)
    rank = _segment_rank(ctx)
    moved = moves[moves["from_segment"] != moves["to_segment"]]
    moved = moved[moved["to_segment"].isin(rank.keys()) & moved["from_segment"].isin(rank.keys())]
    if moved.empty or moved["value_before"].isna().all():
        return []
    down = moved["to_segment"].map(rank) < moved["from_segment"].map(rank)
    sentences = []
    for mask, key in ((down, "compare.flow_down"), (~down, "compare.flow_up")):
        chosen = moved[mask.to_numpy()]
        if chosen.empty:
            continue
        order = "value_before" if key.endswith("down") else "value"
        row = chosen.sort_values(order, ascending=False).iloc[0]
        sentences.append(
            t(
                key,
                count=t.number(row["customers"]),
                source=literal(labels.get(row["from_segment"], row["from_segment"])),
                target=literal(labels.get(row["to_segment"], row["to_segment"])),
                value=t.money(row["value"]),
                before=t.money(row["value_before"]),
            )
        )
    return sentences[:FLOWS_NAMED]


def _migration_blocks(ctx: ReportContext, comparison: Comparison) -> list[str]:
    t = ctx.t
    labels = ctx.analysis.rules.labels(t.language)
    moves = comparison.migration
    stayed = int(moves.loc[moves["from_segment"] == moves["to_segment"], "customers"].sum())
    present = set(moves["from_segment"]) | set(moves["to_segment"])
    order = [key for key in labels if key in present]
    missing_label = t("compare.not_recorded")
    shown = moves.assign(
        from_segment=moves["from_segment"].map(lambda s: labels.get(s, s)),
        to_segment=moves["to_segment"].map(lambda s: labels.get(s, missing_label)),
    )
    ax = plots.plot_migration(
        shown,
        order=[labels.get(s, s) for s in order],
        palette=ctx.palette,
        labels=t.group("compare.plot"),
        count_formatter=t.number,
    )
    then = t.date(comparison.previous_as_of)
    path = plots.save_figure(ax, ctx.figures_dir / "migration.png")
    blocks = [
        heading(t("compare.migration_heading"), level=2, id="sec-compare-migration"),
        paragraph(
            t(
                "compare.migration_intro",
                then=then,
                stayed=t.number(stayed),
                customers=t.number(int(moves["customers"].sum())),
            ),
            *_flow_sentences(ctx, moves),
        ),
        figure(
            path,
            caption=t("compare.migration_caption", then=then),
            id="fig-compare-migration",
            base=ctx.output_dir,
        ),
    ]
    if moves["value_before"].notna().any():
        moved = moves[moves["from_segment"] != moves["to_segment"]].head(FLOWS_SHOWN)
        frame = pd.DataFrame(
            {
                t("compare.columns.source"): moved["from_segment"].map(lambda s: labels.get(s, s)),
                t("compare.columns.target"): moved["to_segment"].map(
                    lambda s: labels.get(s, missing_label)
                ),
                t("compare.columns.customers"): [t.number(v) for v in moved["customers"]],
                t("compare.columns.value_before"): [t.money(v) for v in moved["value_before"]],
                t("compare.columns.value"): [t.money(v) for v in moved["value"]],
            }
        )
        blocks.append(
            table(frame, caption=t("compare.flows_caption"), id="tbl-compare-flows", align="llrrr")
        )
    return blocks


def _error(predicted: float, actual: float) -> float:
    return abs(actual - predicted) / predicted if predicted else math.nan


def _revenue_sentence(t: Translator, revenue: float, actual: float, inside: bool) -> str:
    """The previous forecast of revenue against what came in."""
    if inside and _error(revenue, actual) < 0.005:  # "0% higher" reads oddly
        return t("compare.revenue_exact")
    return t(
        "compare.revenue_inside" if inside else "compare.revenue_outside",
        error=t.percent(_error(revenue, actual), digits=0),
        direction=t("compare.higher" if actual >= revenue else "compare.lower"),
    )


def _other_check(ctx: ReportContext) -> str | None:
    """Why the methodology's holdout check gives another number for about the same months.

    The comparison checks the earlier report's own model; the holdout check refits
    today's model on the data up to the calibration end and checks it on the months
    after, so the two forecasts differ (``None`` without a holdout check).
    """
    a, t = ctx.analysis, ctx.t
    validation = getattr(a.model, "validation", None)
    if a.calibration_end is None or validation is None:
        return None
    return t(
        "compare.other_check",
        section=t("sections.methodology"),
        start=t.date(a.calibration_end),
        months=t.number(validation.holdout_months, digits=0),
    )


def _forecast_blocks(ctx: ReportContext, comparison: Comparison) -> list[str]:
    t = ctx.t
    date = t.date(comparison.previous_as_of)
    heading_block = heading(t("compare.forecast_heading"), level=2, id="sec-compare-forecast")
    total = comparison.total
    if total is None:
        return [heading_block, paragraph(t("compare.no_model", date=date))]
    predicted, actual = float(total["predicted_purchases"]), float(total["actual_purchases"])
    low, high = float(total["purchases_low"]), float(total["purchases_high"])
    sentences = [
        t(
            "compare.forecast_intro",
            date=date,
            customers=t.number(total["customers"]),
            days=t.number(comparison.days),
            predicted=t.number(predicted),
            low=t.number(low),
            high=t.number(high),
            revenue=t.money(total["predicted_revenue"]),
            actual=t.number(actual),
            actual_revenue=t.money(total["actual_revenue"]),
        )
    ]
    error = t.percent(_error(predicted, actual), digits=0)
    if np.isfinite(low) and actual < low:
        sentences.append(t("compare.verdict_low", error=error))
    elif np.isfinite(high) and actual > high:
        sentences.append(t("compare.verdict_high", error=error))
    else:
        sentences.append(t("compare.verdict_inside"))
    revenue, actual_revenue = float(total["predicted_revenue"]), float(total["actual_revenue"])
    inside = bool(total["revenue_low"] <= actual_revenue <= total["revenue_high"])
    revenue_sentence = _revenue_sentence(t, revenue, actual_revenue, inside)
    sentences.append(revenue_sentence)
    sentences += season_sentences(
        ctx,
        comparison.previous_as_of + dt.timedelta(days=1),
        ctx.analysis.as_of,
        (predicted - actual) / actual if actual else math.nan,
        what="since",
        forecast_seasonal=comparison.forecast_seasonal,
    )
    check = _other_check(ctx)
    if check is not None:
        sentences.append(check)
    labels = ctx.analysis.rules.labels(t.language)
    rows = comparison.forecast.iloc[:-1]
    rows = rows.sort_values("predicted_revenue", ascending=False)
    columns = t.group("compare.forecast_columns")

    def range_cell(row) -> str:
        if not (np.isfinite(row.purchases_low) and np.isfinite(row.purchases_high)):
            return "–"
        return f"{t.number(row.purchases_low)}–{t.number(row.purchases_high)}"

    frame = pd.DataFrame(
        {
            columns["segment"]: [labels.get(s, s) for s in rows["segment"]],
            columns["customers"]: [t.number(v) for v in rows["customers"]],
            columns["predicted"]: [t.number(v) for v in rows["predicted_purchases"]],
            columns["range"]: [range_cell(r) for r in rows.itertuples()],
            columns["actual"]: [t.number(v) for v in rows["actual_purchases"]],
            columns["predicted_revenue"]: [t.money(v) for v in rows["predicted_revenue"]],
            columns["actual_revenue"]: [t.money(v) for v in rows["actual_revenue"]],
        }
    )
    total_cells = [
        t("compare.total"),
        t.number(total["customers"]),
        t.number(predicted),
        range_cell(total),
        t.number(actual),
        t.money(revenue),
        t.money(actual_revenue),
    ]
    return [
        heading_block,
        paragraph(*sentences),
        table(
            frame,
            caption=t("compare.forecast_caption", date=date),
            id="tbl-compare-forecast",
            align="lrrrrrr",
            total=total_cells,
        ),
    ]


def _risk_and_notes(ctx: ReportContext, comparison: Comparison) -> str:
    t = ctx.t
    date = t.date(comparison.previous_as_of)
    customers = ctx.analysis.customers
    newly = comparison.newly_at_risk
    sentences = []
    if len(newly):
        chosen = customers["customer_id"].astype(str).isin(set(map(str, newly)))
        has_stake = "value_at_stake" in customers
        stake = float(customers.loc[chosen, "value_at_stake"].sum()) if has_stake else math.nan
        sentences.append(
            t(
                _one_or_many("compare.newly_at_risk", len(newly)),
                count=t.number(len(newly)),
                date=date,
                stake=t.money(stake),
                sheet=t("xlsx.newly_at_risk_sheet"),
            )
        )
    else:
        sentences.append(t("compare.newly_at_risk_none", date=date))
    for key, count in (
        ("compare.missing_customers", comparison.missing_customers),
        ("compare.changed_history", comparison.changed_history),
    ):
        if count:
            sentences.append(t(_one_or_many(key, count), count=t.number(count), date=date))
    return paragraph(*sentences)


def _one_or_many(key: str, count: int) -> str:
    """The message ``key`` for a count, its ``_one`` form for exactly one ("1 klant staat").

    Examples
    --------
    >>> _one_or_many("compare.missing_customers", 1), _one_or_many("compare.missing_customers", 2)
    ('compare.missing_customers_one', 'compare.missing_customers')
    """
    return f"{key}_one" if count == 1 else key


def _history_blocks(ctx: ReportContext) -> list[str]:
    frame = ctx.history
    if len(frame) < HISTORY_MIN_REPORTS:
        return []
    t = ctx.t
    labels = {**t.group("compare.rows"), **t.group("compare.plot")}
    fig = plots.plot_report_history(
        frame,
        palette=ctx.palette,
        labels=labels,
        money_formatter=t.money,
        count_formatter=t.number,
        date_formatter=lambda d: t.date(d, style="MMM yyyy"),
    )
    path = plots.save_figure(fig, ctx.figures_dir / "report_history.png")
    dates = pd.to_datetime(frame["as_of"])
    first, last = frame.iloc[0], frame.iloc[-1]
    values = [first.get("base_value"), last.get("base_value")]
    values += [first.get("value_at_stake"), last.get("value_at_stake")]
    dates_shown = {"first": t.date(dates.iloc[0].date()), "last": t.date(dates.iloc[-1].date())}
    if all(v is not None and pd.notna(v) for v in values):
        caption = t(
            "compare.history_caption_value",
            count=t.number(len(frame)),
            first_value=t.money(values[0]),
            last_value=t.money(values[1]),
            first_stake=t.money(values[2]),
            last_stake=t.money(values[3]),
            **dates_shown,
        )
    else:
        caption = t("compare.history_caption", count=t.number(len(frame)), **dates_shown)
    return [
        heading(t("compare.history_heading"), level=2, id="sec-compare-history"),
        figure(path, caption=caption, id="fig-compare-history", base=ctx.output_dir),
    ]


def _settings_note(ctx: ReportContext) -> str | None:
    """The settings that differ from the earlier report's (margin, horizon, discount rate)."""
    t = ctx.t
    previous = ctx.previous
    model = getattr(previous, "model", None) or {}
    config = ctx.analysis.config
    changes = []
    for key, label, kind in (
        ("gross_margin", "compare.setting_margin", "percent"),
        ("horizon_months", "compare.setting_horizon", "number"),
        ("discount_rate", "compare.setting_discount", "percent"),
    ):
        then = model.get(key)
        now = getattr(config, key)
        if not isinstance(then, int | float) or isinstance(then, bool):
            continue
        if abs(float(then) - float(now)) > 1e-9:
            fmt = (
                (lambda v: t.percent(v, digits=0)) if kind == "percent" else (lambda v: t.number(v))
            )
            changes.append(t(label, then=fmt(float(then)), now=fmt(float(now))))
    if not changes:
        return None
    return paragraph(t("compare.settings_changed", changes=t.join(changes)))


def since_previous(ctx: ReportContext) -> Markdown:
    """Compare with the previous report; nothing at all for a client's first report.

    Key figures then and now, who moved between segments (with the figure of
    all moves and a table of the largest), the previous forecast against what
    happened, the customers newly at risk and, from three reports on, the key
    figures across all of them. When the earlier report lacks the files a
    comparison needs, the section says so.

    Examples
    --------
    >>> ctx = setup(client="demo", reports_dir="output/demo")  # doctest: +SKIP
    >>> print(since_previous(ctx))  # doctest: +SKIP
    """
    t = ctx.t
    _ = ctx.comparison  # checks the earlier report first: a damaged one becomes unavailable
    previous = ctx.previous
    if previous is None:
        return join()
    if isinstance(previous, Unavailable):
        date = t.date(previous.as_of)
        return join(
            heading(t("compare.heading", date=date), id="sec-compare"),
            paragraph(
                t("compare.unavailable", date=date, missing=literal(", ".join(previous.missing)))
            ),
        )
    comparison = ctx.comparison
    assert comparison is not None
    date = t.date(comparison.previous_as_of)
    return join(
        heading(t("compare.heading", date=date), id="sec-compare"),
        finding(_finding(ctx, comparison)),
        keep_together(
            paragraph(
                t("compare.intro", date=date, days=t.number(comparison.days)),
                *_split_sentences(ctx, comparison),
            ),
            _key_table(ctx, comparison),
        ),
        _settings_note(ctx),
        *worked_blocks(ctx, comparison),
        *_forecast_blocks(ctx, comparison),
        *_migration_blocks(ctx, comparison),
        _risk_and_notes(ctx, comparison),
        *_history_blocks(ctx),
    )
