"""The part "What worked?" of the comparison: each earlier action against its control group.

Shown when the earlier report stored its action lists with control groups
(``actions.parquet``); the measurement is
:func:`clvreport.comparison.measure_previous_actions`, the learned rates
:func:`clvreport.experiments.learn_rates`.
"""

from __future__ import annotations

import math

import pandas as pd

from clvreport.comparison import Comparison
from clvreport.report.context import ReportContext
from clvreport.report.markdown import heading, keep_together, paragraph, table

__all__ = ["verdict", "worked_blocks"]


def verdict(row: pd.Series) -> str:
    """How one action came out: ``unmeasurable``, ``works``, ``harms`` or ``unclear``.

    ``works`` when the 90% interval of the uplift lies above 0, ``harms`` when
    it lies below, ``unclear`` when it holds 0, ``unmeasurable`` when the
    control group was too small.

    Examples
    --------
    >>> verdict(pd.Series({"measurable": True, "uplift_low": 1.0, "uplift_high": 5.0}))
    'works'
    """
    low, high = float(row["uplift_low"]), float(row["uplift_high"])
    if not bool(row["measurable"]) or not (math.isfinite(low) and math.isfinite(high)):
        return "unmeasurable"
    if low > 0:
        return "works"
    if high < 0:
        return "harms"
    return "unclear"


def _sentence(ctx: ReportContext, row: pd.Series) -> str:
    t = ctx.t
    name = t(f"recommendations.actions.{row['action']}.name")
    kind = verdict(row)
    values = {
        "action": name,
        "treated": t.number(row["treated"]),
        "control": t.number(row["control"]),
        "uplift": t.money(row["uplift"], digits=2),
        "low": t.money(row["uplift_low"], digits=2),
        "high": t.money(row["uplift_high"], digits=2),
        "total": t.money(row["total_uplift"]),
        "bought_treated": t.percent(row["bought_treated"], digits=0),
        "bought_control": t.percent(row["bought_control"], digits=0),
        "minimum": t.number(ctx.analysis.config.control_groups.min_size),
    }
    if kind in ("harms", "unclear") and float(row["uplift"]) < 0:
        values["uplift"] = t.money(-float(row["uplift"]), digits=2)
        kind_key = "harms" if kind == "harms" else "unclear_less"
    else:
        kind_key = kind
    sentence = t(f"compare.worked.{kind_key}", **values)
    promised = float(row.get("promised", math.nan))
    if kind != "unmeasurable" and math.isfinite(promised):
        sentence += " " + t(
            "compare.worked.promised",
            promised=t.money(promised, digits=2),
            uplift=t.money(row["uplift"], digits=2),
        )
    reached = float(row.get("reached", math.nan))
    if math.isfinite(reached):
        sentence += " " + t("compare.worked.reached", share=t.percent(reached, digits=0))
        reached_uplift = float(row.get("uplift_reached", math.nan))
        if kind in ("works", "harms") and math.isfinite(reached_uplift):
            sentence += " " + t(
                "compare.worked.reached_effect", uplift=t.money(reached_uplift, digits=2)
            )
    return sentence


def _table(ctx: ReportContext, measured: pd.DataFrame) -> str:
    t = ctx.t
    frame = pd.DataFrame(
        {
            t("compare.worked.action"): [
                t(f"recommendations.actions.{a}.name") for a in measured["action"]
            ],
            t("compare.worked.treated"): [t.number(v) for v in measured["treated"]],
            t("compare.worked.control"): [t.number(v) for v in measured["control"]],
            t("compare.worked.bought"): [
                f"{t.percent(a, digits=0)} / {t.percent(b, digits=0)}"
                for a, b in zip(measured["bought_treated"], measured["bought_control"], strict=True)
            ],
            t("compare.worked.uplift"): [
                t("compare.worked.range", low=t.money(low, digits=2), high=t.money(high, digits=2))
                if math.isfinite(low) and math.isfinite(high)
                else "–"
                for low, high in zip(measured["uplift_low"], measured["uplift_high"], strict=True)
            ],
            t("compare.worked.verdict"): [
                t(f"compare.worked.verdicts.{verdict(row)}") for _, row in measured.iterrows()
            ],
        }
    )
    return table(
        frame,
        caption=t("compare.worked.caption"),
        id="tbl-compare-worked",
        align="lrrrrl",
    )


def _learned_sentence(ctx: ReportContext) -> str | None:
    t = ctx.t
    learned = {a: r for a, r in ctx.learned.items() if r.source != "assumed"}
    if not learned:
        return None
    items = [
        t(
            "compare.worked.learned_item",
            action=t(f"recommendations.actions.{action}.name"),
            source=t(f"recommendations.rate_source.{rate.source}"),
            ratio=t.percent(rate.ratio, digits=0),
        )
        for action, rate in learned.items()
    ]
    return t("compare.worked.learned", items="; ".join(items))


def worked_blocks(ctx: ReportContext, comparison: Comparison) -> list[str]:
    """The "What worked?" heading, table and one sentence per action (empty without lists).

    Examples
    --------
    >>> worked_blocks(ctx, ctx.comparison)  # doctest: +SKIP
    """
    measured = comparison.actions_measured
    if measured is None:
        return []
    t = ctx.t
    date = t.date(comparison.previous_as_of)
    blocks = [heading(t("compare.worked.heading"), level=2, id="sec-compare-worked")]
    if measured.empty:
        return [*blocks, paragraph(t("compare.worked.none", date=date))]
    intro = [
        t("compare.worked.intro", date=date, days=t.number(comparison.days)),
        t("compare.worked.contacts" if comparison.contacts_used else "compare.worked.no_contacts"),
    ]
    sentences = [_sentence(ctx, row) for _, row in measured.iterrows()]
    blocks += [
        keep_together(paragraph(*intro), _table(ctx, measured)),
        "\n".join(f"- {sentence}" for sentence in sentences),
    ]
    learned = _learned_sentence(ctx)
    if learned is not None:
        blocks.append(paragraph(learned))
    return blocks
