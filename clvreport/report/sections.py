"""The report's sections. Each function returns the markdown of one section.

Every section opens with its conclusion in one plain sentence; numbers come
from :class:`~clvreport.analysis.Analysis`, text from the message catalogs.
"""

from __future__ import annotations

import pandas as pd

from clvreport import plots
from clvreport.recommendations import group_by_action, load_recommendation_rules, recommend
from clvreport.report.context import ReportContext
from clvreport.report.markdown import (
    KeyFigure,
    Markdown,
    figure,
    finding,
    heading,
    join,
    key_figures,
    paragraph,
    table,
)

__all__ = [
    "concentration",
    "data_quality",
    "executive_summary",
    "loyalty_and_retention",
    "methodology",
    "most_valuable_customers",
    "recommendations",
    "segments",
]

TOP_CUSTOMERS = 10


def _labels(ctx: ReportContext, plot: str) -> dict[str, str]:
    return ctx.t.group(f"plots.{plot}")


def _save(ctx: ReportContext, ax, name: str, caption_key: str, **values) -> str:
    path = plots.save_figure(ax, ctx.figures_dir / f"{name}.png")
    return figure(path, caption=ctx.t(caption_key, **values), id=f"fig-{name}", base=ctx.output_dir)


def _segment_labels(ctx: ReportContext) -> dict[str, str]:
    return ctx.analysis.rules.labels(ctx.t.language)


def _palette(ctx: ReportContext) -> plots.Palette:
    from clvreport.brand import load_brand

    brand = load_brand(ctx.analysis.client_dir, ctx.analysis.config.brand)
    return plots.Palette.from_brand(brand.primary, brand.secondary, brand.accent)


def executive_summary(ctx: ReportContext) -> Markdown:
    """Five key figures and the findings that matter most.

    Examples
    --------
    >>> ctx = setup(client="demo", language="en")  # doctest: +SKIP
    >>> print(executive_summary(ctx))  # doctest: +SKIP
    """
    t, a = ctx.t, ctx.analysis
    months = a.config.horizon_months
    figures = [
        KeyFigure(
            t.number(a.active_customers),
            t("key_figures.active_customers"),
            t("key_figures.active_customers_note", months=12),
        ),
        KeyFigure(
            t.money(a.figures.revenue),
            t("key_figures.revenue"),
            t("key_figures.revenue_note", start=t.date(a.start), end=t.date(a.as_of)),
        ),
        KeyFigure(
            t.money(a.figures.historic_clv),
            t("key_figures.historic_clv"),
            t("key_figures.historic_clv_note"),
        ),
    ]
    if a.has_predictions:
        figures.append(
            KeyFigure(
                t.money(a.customers["clv"].mean()),
                t("key_figures.predicted_clv", months=months),
                t(
                    "key_figures.predicted_clv_note_margin"
                    if a.config.gross_margin < 1
                    else "key_figures.predicted_clv_note"
                ),
            )
        )
    figures.append(
        KeyFigure(
            t.percent(a.concentration.top_value_share, digits=0),
            t("key_figures.top20_share"),
            t("key_figures.top20_share_note"),
        )
    )
    return join(
        heading(t("sections.summary"), id="sec-summary"),
        finding(_headline(ctx)),
        key_figures(figures),
        paragraph(
            t(
                "summary.historic_clv_formula",
                value=t.money(a.figures.avg_purchase_value, digits=2),
                frequency=t.number(a.figures.avg_purchase_frequency, digits=2),
                lifespan=t.number(a.figures.avg_lifespan_years, digits=2),
                clv=t.money(a.figures.historic_clv),
                per_customer=t.money(a.figures.revenue_per_customer),
            )
        ),
        heading(t("summary.findings"), 2),
        "\n".join(f"- {line}" for line in _findings(ctx)),
    )


def _headline(ctx: ReportContext) -> str:
    t, a = ctx.t, ctx.analysis
    return t(
        "summary.headline",
        customers=t.number(a.figures.n_customers),
        revenue=t.money(a.figures.revenue),
        share=t.percent(a.concentration.top_value_share, digits=0),
    )


def _findings(ctx: ReportContext) -> list[str]:
    """Three to five findings generated from the data."""
    t, a = ctx.t, ctx.analysis
    labels = _segment_labels(ctx)
    seg = a.segments.set_index("segment")
    lines = []
    champions = seg.loc["champions"] if "champions" in seg.index else None
    if champions is not None and champions["n_customers"] > 0:
        lines.append(
            t(
                "summary.finding_champions",
                count=t.number(champions["n_customers"]),
                label=labels["champions"],
                share=t.percent(champions["revenue_share"], digits=0),
            )
        )
    lines.append(
        t(
            "summary.finding_repeat",
            share=t.percent(a.figures.repeat_purchase_rate, digits=0),
        )
    )
    ratio = a.big_spender.regular_to_big_spender_revenue
    if ratio == ratio and ratio > 1:  # not NaN
        lines.append(t("summary.finding_regular", ratio=t.number(ratio, digits=1)))
    if a.has_predictions:
        actions = _grouped_actions(ctx)
        if len(actions):
            top = actions.iloc[0]
            lines.append(
                t(
                    "summary.finding_at_stake",
                    label=t.join([labels[s] for s in top["segments"]]),
                    count=t.number(top["customers"]),
                    amount=t.money(top["value_at_stake"]),
                )
            )
    else:
        lines.append(t("summary.finding_no_model"))
    return lines


def _grouped_actions(ctx: ReportContext) -> pd.DataFrame:
    """The recommendations, one per action, largest money at stake first."""
    a = ctx.analysis
    rules = load_recommendation_rules(a.config.recommendations)
    return group_by_action(recommend(a.segments, rules))


def most_valuable_customers(ctx: ReportContext) -> Markdown:
    """Value tiers, the loyal regular versus the one-off big spender, top customers.

    Examples
    --------
    >>> ctx = setup(client="demo", language="en")  # doctest: +SKIP
    >>> print(most_valuable_customers(ctx))  # doctest: +SKIP
    """
    t, a = ctx.t, ctx.analysis
    value_key = "clv" if a.has_predictions else "revenue"
    tiers = a.tiers.assign(
        tier_label=[t(f"tiers.{code}") for code in a.tiers["value_tier"]],
        revenue_share=a.tiers["value_share"],
    )
    top1 = tiers.iloc[0]
    ax = plots.plot_value_tiers(tiers, palette=_palette(ctx), labels=_labels(ctx, "tiers"))
    tier_figure = _save(ctx, ax, "tiers", "value.tiers_caption")
    tier_table = pd.DataFrame(
        {
            t("value.tier"): tiers["tier_label"],
            t("value.customers"): [t.number(v) for v in tiers["n_customers"]],
            t(f"value.{value_key}"): [t.money(v) for v in tiers["value"]],
            t("value.share"): [t.percent(v) for v in tiers["value_share"]],
        }
    )
    groups = a.big_spender.groups
    comparison = pd.DataFrame(
        {
            "group_label": [t("value.big_spender"), t("value.loyal_regular")],
            "avg_order_value": groups["avg_purchase_value"].to_numpy(),
            "orders": (groups["n_purchases"] / groups["n_customers"]).to_numpy(),
            "revenue_per_customer": groups["revenue_per_customer"].to_numpy(),
        }
    )
    ax = plots.plot_big_spender_vs_regular(
        comparison,
        palette=_palette(ctx),
        labels=_labels(ctx, "big_spender"),
        formatter=t.money,
        count_formatter=lambda v: t.number(v, digits=0 if float(v).is_integer() else 1),
    )
    comparison_figure = _save(ctx, ax, "big-spender", "value.big_spender_caption")
    top = a.customers.nlargest(TOP_CUSTOMERS, value_key)
    labels = _segment_labels(ctx)
    top_table = pd.DataFrame(
        {
            t("value.customer"): top["customer_id"].astype(str),
            t("value.segment"): [labels[s] for s in top["segment"]],
            t("value.orders"): [t.number(v) for v in top["n_purchases"]],
            t("value.revenue"): [t.money(v) for v in top["revenue"]],
            t(f"value.{value_key}"): [t.money(v) for v in top[value_key]],
        }
    )
    return join(
        heading(t("sections.value"), id="sec-value"),
        finding(
            t(
                "value.conclusion",
                share=t.percent(top1["value_share"], digits=0),
                customers=t.number(top1["n_customers"]),
            )
        ),
        paragraph(
            t(
                f"value.intro_{value_key}"
                + ("_margin" if value_key == "clv" and a.config.gross_margin < 1 else ""),
                months=a.config.horizon_months,
            )
        ),
        tier_figure,
        table(tier_table, caption=t("value.tiers_table"), id="tbl-tiers", align="lrrr"),
        heading(t("value.regular_heading"), 2),
        paragraph(
            t(
                "value.regular_text",
                threshold=t.money(a.big_spender.big_spender_threshold),
                orders=a.big_spender.min_purchases,
            )
        ),
        comparison_figure,
        heading(t("value.top_heading"), 2),
        table(top_table, caption=t("value.top_table"), id="tbl-top", align="llrrr"),
    )


def concentration(ctx: ReportContext) -> Markdown:
    """The Lorenz curve and the 20/80 check.

    Examples
    --------
    >>> ctx = setup(client="demo", language="en")  # doctest: +SKIP
    >>> print(concentration(ctx))  # doctest: +SKIP
    """
    t, a = ctx.t, ctx.analysis
    c = a.concentration
    labels = _labels(ctx, "lorenz") | {
        "top20": t("plots.lorenz.top20", share=t.percent(c.top_value_share, digits=0))
    }
    ax = plots.plot_lorenz(
        a.lorenz, palette=_palette(ctx), labels=labels, formatter=lambda v: t.percent(v, digits=0)
    )
    verdict = "concentration.claim_holds" if c.claim_holds else "concentration.claim_fails"
    return join(
        heading(t("sections.concentration"), id="sec-concentration"),
        finding(t(verdict, share=t.percent(c.top_value_share, digits=0))),
        paragraph(
            t(
                "concentration.text",
                customers=t.percent(c.customer_share_for_target, digits=0),
                gini=t.number(c.gini, digits=2),
            )
        ),
        _save(ctx, ax, "lorenz", "concentration.caption"),
    )


def loyalty_and_retention(ctx: ReportContext) -> Markdown:
    """Repeat purchases, retention per year, cohorts, lifespan and P(alive).

    Examples
    --------
    >>> ctx = setup(client="demo", language="en")  # doctest: +SKIP
    >>> print(loyalty_and_retention(ctx))  # doctest: +SKIP
    """
    t, a = ctx.t, ctx.analysis
    palette = _palette(ctx)
    retention = a.retention
    years = pd.DataFrame(
        {
            t("loyalty.year"): retention["period"],
            t("loyalty.active"): [t.number(v) for v in retention["active_customers"]],
            t("loyalty.new"): [t.number(v) for v in retention["new_customers"]],
            t("loyalty.retention"): [t.percent(v, digits=0) for v in retention["retention_rate"]],
            # In the first period everyone is new by definition: "–", not 0%.
            t("loyalty.returning_share"): [
                "–" if i == 0 else t.percent(v, digits=0)
                for i, v in enumerate(retention["returning_revenue_share"])
            ],
        }
    )
    ax = plots.plot_cohort_retention(
        a.cohorts,
        palette=palette,
        labels=_labels(ctx, "cohorts"),
        formatter=lambda v: t.percent(v, digits=0),
        date_formatter=lambda d: t.date(d, style="MMM yyyy"),
    )
    blocks = [
        heading(t("sections.loyalty"), id="sec-loyalty"),
        finding(
            t(
                "loyalty.conclusion",
                repeat=t.percent(a.figures.repeat_purchase_rate, digits=0),
                lifespan=t.number(a.figures.avg_lifespan_years, digits=1),
            )
        ),
        paragraph(t("loyalty.source_lesson")),
        table(years, caption=t("loyalty.years_table"), id="tbl-years", align="lrrrr"),
        _save(ctx, ax, "cohorts", "loyalty.cohorts_caption"),
    ]
    lifespan = a.customers.loc[a.customers["n_purchases"] > 1, "lifespan_years"]
    ax = plots.plot_distribution(
        lifespan.rename("lifespan"),
        palette=palette,
        labels=_labels(ctx, "lifespan"),
        formatter=lambda v: t.number(v, digits=1),
        count_formatter=t.number,
    )
    blocks.append(_save(ctx, ax, "lifespan", "loyalty.lifespan_caption"))
    if a.has_predictions:
        repeat_buyers = a.customers[a.customers["n_purchases"] > 1]
        drifting = repeat_buyers[repeat_buyers["p_alive"] < 0.5]
        ax = plots.plot_distribution(
            repeat_buyers["p_alive"].rename("p_alive"),
            palette=palette,
            labels=_labels(ctx, "p_alive"),
            formatter=lambda v: t.percent(v, digits=0),
            count_formatter=t.number,
        )
        blocks += [
            paragraph(
                t(
                    "loyalty.drifting",
                    count=t.number(len(drifting)),
                    revenue=t.money(drifting["revenue"].sum()),
                )
            ),
            _save(ctx, ax, "p-alive", "loyalty.p_alive_caption"),
        ]
    return join(*blocks)


def segments(ctx: ReportContext) -> Markdown:
    """The RFM segment map and table.

    Examples
    --------
    >>> ctx = setup(client="demo", language="en")  # doctest: +SKIP
    >>> print(segments(ctx))  # doctest: +SKIP
    """
    t, a = ctx.t, ctx.analysis
    labels = _segment_labels(ctx)
    seg = a.segments[a.segments["n_customers"] > 0]
    value_key = "clv" if a.has_predictions else "revenue"
    data = pd.DataFrame(
        {
            "segment_label": [labels[s] for s in seg["segment"]],
            "customers": seg["n_customers"].to_numpy(),
            "value": seg[value_key].to_numpy(),
        }
    )
    if a.has_predictions:
        data["value_at_risk"] = seg["value_at_risk"].to_numpy()
    ax = plots.plot_segment_map(
        data,
        palette=_palette(ctx),
        labels=_labels(ctx, "segments") | {"value": t(f"segments.{value_key}")},
        formatter=t.money,
        count_formatter=t.number,
    )
    columns = {
        t("segments.segment"): data["segment_label"],
        t("segments.customers"): [t.number(v) for v in seg["n_customers"]],
        t("segments.revenue_share"): [t.percent(v, digits=0) for v in seg["revenue_share"]],
    }
    if a.has_predictions:
        columns[t("segments.clv")] = [t.money(v) for v in seg["clv"]]
        columns[t("segments.value_at_risk")] = [t.money(v) for v in seg["value_at_risk"]]
    biggest = seg.loc[seg[value_key].idxmax()]
    descriptions = a.rules.descriptions(t.language)
    return join(
        heading(t("sections.segments"), id="sec-segments"),
        finding(
            t(
                f"segments.conclusion_{value_key}",
                label=labels[biggest["segment"]],
                share=t.percent(biggest[f"{value_key}_share"], digits=0),
                months=a.config.horizon_months,
            )
        ),
        paragraph(t("segments.intro")),
        _save(ctx, ax, "segments", "segments.caption"),
        table(
            pd.DataFrame(columns),
            caption=t("segments.table"),
            id="tbl-segments",
            align="l" + "r" * (len(columns) - 1),
        ),
        "\n".join(f"- **{labels[s]}**: {descriptions[s]}" for s in seg["segment"]),
    )


def recommendations(ctx: ReportContext) -> Markdown:
    """Retention actions per segment, ranked by the money at stake.

    Examples
    --------
    >>> ctx = setup(client="demo", language="en")  # doctest: +SKIP
    >>> print(recommendations(ctx))  # doctest: +SKIP
    """
    t, a = ctx.t, ctx.analysis
    labels = _segment_labels(ctx)
    actions = _grouped_actions(ctx)
    stake = "stake_risk" if a.has_predictions else "stake_revenue"
    items = [
        f"{i}. **{t.join([labels[s] for s in row.segments])}** ({t.number(row.customers)} "
        f"{t('recommendations.customers')}, {t(f'recommendations.{stake}')} "
        f"{t.money(row.value_at_stake)}): {t(f'recommendations.actions.{row.action}.what')} "
        f"*{t(f'recommendations.actions.{row.action}.why')}*"
        for i, row in enumerate(actions.itertuples(index=False), start=1)
    ]
    return join(
        heading(t("sections.recommendations"), id="sec-recommendations"),
        finding(t("recommendations.conclusion")),
        paragraph(t("recommendations.intro")),
        "\n".join(items),
        paragraph(t("recommendations.lists")),
    )


def methodology(ctx: ReportContext) -> Markdown:
    """Definitions, the model and its holdout check, assumptions.

    Examples
    --------
    >>> ctx = setup(client="demo", language="en")  # doctest: +SKIP
    >>> print(methodology(ctx))  # doctest: +SKIP
    """
    t, a = ctx.t, ctx.analysis
    f = a.figures
    blocks = [
        heading(t("sections.methodology"), id="sec-methodology"),
        paragraph(t("methodology.source")),
        "\n".join(
            [
                f"- {t('methodology.avg_value', value=t.money(f.avg_purchase_value, digits=2))}",
                "- "
                + t("methodology.frequency", value=t.number(f.avg_purchase_frequency, digits=2)),
                f"- {t('methodology.customer_value', value=t.money(f.customer_value, digits=2))}",
                f"- {t('methodology.lifespan', value=t.number(f.avg_lifespan_years, digits=2))}",
                f"- {t('methodology.historic_clv', value=t.money(f.historic_clv, digits=2))}",
            ]
        ),
        paragraph(
            t(
                "methodology.assumptions"
                if a.config.gross_margin < 1
                else "methodology.assumptions_revenue",
                months=a.config.horizon_months,
                discount=t.percent(a.config.discount_rate, digits=0),
                margin=t.percent(a.config.gross_margin, digits=0),
            )
        ),
    ]
    model = a.model
    if model.usable:
        blocks.append(paragraph(t("methodology.model", model=t(f"models.{model.model_name}"))))
        blocks.append(paragraph(t("methodology.value_at_risk")))
        if model.model_name == "bgnbd":
            blocks.append(paragraph(t("methodology.bgnbd_one_time")))
        if model.validation is not None:
            v = model.validation
            bins = v.by_frequency.rename(
                columns={"bin": "frequency_bin", "actual_total": "actual"}
            ).assign(predicted=v.by_frequency["predicted_total"])
            ax = plots.plot_holdout_check(
                bins, palette=_palette(ctx), labels=_labels(ctx, "holdout"), formatter=t.number
            )
            blocks += [
                paragraph(
                    t(
                        f"methodology.holdout_{v.verdict}",
                        actual=t.number(v.actual_total),
                        predicted=t.number(v.predicted_total),
                        difference=t(
                            f"methodology.difference_{v.direction}",
                            error=t.percent(abs(v.total_error), digits=0),
                        ),
                        start=t.date(a.calibration_end),
                    )
                ),
                _save(ctx, ax, "holdout", "methodology.holdout_caption"),
            ]
    else:
        blocks.append(paragraph(t("methodology.no_model")))
    return join(*blocks)


def data_quality(ctx: ReportContext) -> Markdown:
    """Rows read, kept and excluded by reason.

    Examples
    --------
    >>> ctx = setup(client="demo", language="en")  # doctest: +SKIP
    >>> print(data_quality(ctx))  # doctest: +SKIP
    """
    t, q = ctx.t, ctx.analysis.quality
    rows = [
        ("rows_read", q.rows_read),
        *[(r, n) for r, n in q.excluded if n],
        ("rows_kept", q.rows_kept),
    ]
    frame = pd.DataFrame(
        {
            t("data_quality.reason"): [t(f"data_quality.reasons.{code}") for code, _ in rows],
            t("data_quality.rows"): [t.number(n) for _, n in rows],
            t("data_quality.share"): [t.percent(n / max(q.rows_read, 1)) for _, n in rows],
        }
    )
    files = ", ".join(info.path.name for info in q.files) if q.files else "–"
    return join(
        heading(t("sections.data_quality"), id="sec-data-quality"),
        paragraph(
            t(
                "data_quality.intro",
                rows_read=t.number(q.rows_read),
                files=files,
                rows_kept=t.number(q.rows_kept),
            )
        ),
        table(frame, caption=t("data_quality.caption"), id="tbl-quality", align="lrr"),
    )
