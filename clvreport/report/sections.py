"""The report's sections. Each function returns the markdown of one section.

Every section opens with its conclusion in one plain sentence; numbers come
from :class:`~clvreport.analysis.Analysis`, text from the message catalogs.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from clvreport import plots
from clvreport.acquisition import MIN_GROUP_CUSTOMERS
from clvreport.audiences import audience, running
from clvreport.customer_groups import (
    AT_RISK_P_ALIVE,
    AT_RISK_P_SILENCE,
    TopRanked,
    at_risk_mask,
    top_ranked,
)
from clvreport.definitions import repeat_mask, repeat_rate
from clvreport.i18n import Translator
from clvreport.models.validation import ON_TARGET
from clvreport.report import terms
from clvreport.report.context import ReportContext
from clvreport.report.first_page import (
    learned_any,
    lifetime_beyond_horizon,
    plan_frame,
    rate_source_text,
)
from clvreport.report.markdown import (
    Markdown,
    figure,
    finding,
    heading,
    join,
    keep_together,
    literal,
    paragraph,
    short_ids,
    table,
)
from clvreport.report.next_purchase import (
    next_purchase_blocks,
    next_purchase_cells,
    shows_next_purchase,
)
from clvreport.report.season import season_sentences
from clvreport.report.sensitivity import sensitivity_blocks

__all__ = [
    "concentration",
    "data_quality",
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


def _regular_blocks(ctx: ReportContext) -> list[str]:
    """The loyal regular against the one-off big spender (not for subscriptions: none there)."""
    t, a = ctx.t, ctx.analysis
    if not audience(a.config.business).big_spender:
        return []
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
        palette=ctx.palette,
        labels=_labels(ctx, "big_spender"),
        formatter=t.money,
        count_formatter=lambda v: t.number(v, digits=0 if float(v).is_integer() else 1),
    )
    comparison_figure = _save(
        ctx,
        ax,
        "big-spender",
        "value.big_spender_caption",
        big=t.money(groups.loc["big_spender", "revenue_per_customer"]),
        regular=t.money(groups.loc["loyal_regular", "revenue_per_customer"]),
    )
    return [
        heading(t("value.regular_heading"), 2),
        keep_together(
            paragraph(
                t(
                    "value.regular_text",
                    threshold=t.money(a.big_spender.big_spender_threshold),
                    orders=a.big_spender.min_purchases,
                )
            ),
            comparison_figure,
        ),
    ]


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
    ax = plots.plot_value_tiers(tiers, palette=ctx.palette, labels=_labels(ctx, "tiers"))
    rest = tiers.iloc[-1]
    tier_figure = _save(
        ctx,
        ax,
        "tiers",
        "value.tiers_caption",
        top_share=t.percent(tiers.iloc[:3]["value_share"].sum(), digits=0),
        rest_share=t.percent(rest["value_share"], digits=0),
    )
    tier_table = pd.DataFrame(
        {
            t("value.tier"): tiers["tier_label"],
            t("value.customers"): [t.number(v) for v in tiers["n_customers"]],
            t(f"value.{value_key}"): [t.money(v) for v in tiers["value"]],
            t("value.share"): [t.percent(v) for v in tiers["value_share"]],
        }
    )
    top, pushed, ranked = _top_customers(ctx, value_key)
    shown, cells, represented = _top_profiles(ctx, value_key, top, ranked)
    columns = cells.columns
    horizon_days = a.config.horizon_months * 365.25 / 12
    short = shown["tenure_days"] < horizon_days
    top_table = cells
    top_note = (
        t(
            "value.top_short_history",
            count=int(represented["count"][short].sum()),
            months=a.config.horizon_months,
        )
        if short.any()
        else None
    )
    if pushed:
        pushed_note = t("value.top_pushed_down", count=pushed, weeks=a.config.min_history_weeks)
        top_note = f"{top_note} {pushed_note}" if top_note else pushed_note
    if (represented["count"] > 1).any():
        profile_note = t("value.top_profiles")
        top_note = f"{top_note} {profile_note}" if top_note else profile_note
    tied, tied_shown = _tied_at_cut(a.customers, value_key, shown, represented)
    if tied > tied_shown:
        ties_note = t(
            "value.top_ties",
            count=t.number(tied),
            shown=t.number(tied_shown),
            value=t.money(shown[value_key].iloc[-1]),
        )
        top_note = f"{top_note} {ties_note}" if top_note else ties_note
    if a.has_predictions and shows_next_purchase(shown):
        np_note = t("value.next_purchase_note", months=a.config.horizon_months)
        top_note = f"{top_note} {np_note}" if top_note else np_note
    one_order_note = _one_order_note(ctx, shown, _one_order(ctx, shown))
    regular_blocks = _regular_blocks(ctx)
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
        table(
            tier_table,
            caption=t(
                "value.tiers_table",
                total=t.money(tiers["value"].sum()),
                top=t.money(tiers.iloc[0]["value"]),
                count=t.number(tiers.iloc[0]["n_customers"]),
            ),
            id="tbl-tiers",
            align="lrrr",
            total=[
                t("overview.total"),
                t.number(tiers["n_customers"].sum()),
                t.money(tiers["value"].sum()),
                t.percent(1.0),
            ],
        ),
        *regular_blocks,
        # rows that stand for several identical customers: the heading says profiles
        heading(
            t(
                "value.top_heading_profiles"
                if (represented["count"] > 1).any()
                else "value.top_heading"
            ),
            2,
        ),
        keep_together(
            paragraph(t(f"value.top_intro_{value_key}", months=a.config.horizon_months)),
            table(
                top_table,
                caption=_top_caption(ctx, value_key, top, represented),
                id="tbl-top",
                align="ll" + "r" * (len(columns) - 2),
            ),
            paragraph(top_note) if top_note else None,
            paragraph(one_order_note) if one_order_note else None,
            _shortened_ids_note(ctx, shown),
        ),
        *_acquisition_blocks(ctx),
    )


PROFILE_IDS = 2
"""How many ids a row standing for several identical customers names."""

MAX_PROFILE_ROWS = 100_000
"""The most ranked customers looked at to find ten different profiles."""


def _date_cell(t: Translator, day: object) -> str:
    """A table's date on one line: day, month and year joined by non-breaking spaces."""
    return t.date(pd.Timestamp(day).date(), style="medium").replace(" ", "\xa0")


def _top_cells(ctx: ReportContext, top: pd.DataFrame, value_key: str) -> pd.DataFrame:
    """The top table's cells for the ranked customers ``top`` (one row each, ids with marks)."""
    t, a = ctx.t, ctx.analysis
    labels = _segment_labels(ctx)
    horizon_days = a.config.horizon_months * 365.25 / 12
    short = top["tenure_days"] < horizon_days
    one_order = _one_order(ctx, top)
    columns = {
        t("value.customer"): [
            f"{cid}{' (*)' if is_short else ''}{' (†)' if rests else ''}"
            for cid, is_short, rests in zip(top["shown_id"], short, one_order["rests"], strict=True)
        ],
        t("value.segment"): [labels[s] for s in top["segment"]],
        t("value.first_purchase"): [_date_cell(t, day) for day in top["first_purchase"]],
        t("value.orders"): [t.number(v) for v in top["n_purchases"]],
        t("value.revenue"): [t.money(v) for v in top["revenue"]],
    }
    if a.has_predictions:
        chance = _chance_column(ctx)
        columns[t(f"value.{chance}")] = [t.percent(v, digits=0) for v in top[chance]]
        if shows_next_purchase(top):
            columns[t("value.next_purchase")] = next_purchase_cells(
                t, top["next_purchase_median"], a.as_of
            )
    columns[t(f"value.{value_key}")] = [t.money(v) for v in top[value_key]]
    return pd.DataFrame(columns, index=top.index)


def collapse_profiles(
    cells: pd.DataFrame,
    *,
    ids: Sequence[str],
    marks: Sequence[str],
    dates: Sequence[object],
    n: int,
    label: Callable[[int, str], str],
    date: Callable[[object], str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first ``n`` different profiles of a ranked table, identical rows as one.

    A profile is a row's cells but its first column (the id) and the date
    column ``date`` formats: customers alike in segment and every figure shown.
    A profile of one customer keeps its row; one of several becomes one row whose
    first cell is ``label(count, first ids)`` (its first :data:`PROFILE_IDS` ids)
    and whose date cell spans the first and last date. Profiles keep the order of
    their first customer.

    Returns the rows (indexed like ``cells``' first row of each profile) and
    per row ``count`` and ``members`` (the positions in ``cells`` it stands for).

    Examples
    --------
    >>> cells = pd.DataFrame({"Id": ["a", "b", "c", "d"], "Seg": ["x", "x", "y", "x"],
    ...                       "Sinds": ["", "", "", ""], "Waarde": ["5", "5", "5", "4"]})
    >>> rows, counts = collapse_profiles(
    ...     cells, ids=["a", "b", "c", "d"], marks=["", "", "", ""],
    ...     dates=pd.to_datetime(["2020-01-01", "2020-01-03", "2020-01-02", "2020-01-01"]),
    ...     n=2, label=lambda k, ids: f"{k}: {ids}", date=lambda d: f"{d:%d-%m}")
    >>> rows["Id"].tolist(), rows["Sinds"].tolist(), counts["count"].tolist()
    (['2: a, b', 'c'], ['01-01 – 03-01', ''], [2, 1])
    """
    id_column, date_column = cells.columns[0], cells.columns[2]
    profile_columns = [c for c in cells.columns if c not in (id_column, date_column)]
    keys = [
        (mark, *row)
        for mark, row in zip(
            marks, cells[profile_columns].itertuples(index=False, name=None), strict=True
        )
    ]
    members: dict[tuple, list[int]] = {}
    for position, key in enumerate(keys):
        if key in members:
            members[key].append(position)
        elif len(members) < n:
            members[key] = [position]
    dates = list(dates)
    rows, counts = [], []
    for key, positions in members.items():
        row = cells.iloc[positions[0]].copy()
        if len(positions) > 1:
            first = ", ".join(ids[i] for i in positions[:PROFILE_IDS])
            row[id_column] = f"{label(len(positions), first)}{key[0]}"
            days = sorted(dates[i] for i in positions)
            if days[0] != days[-1]:
                row[date_column] = f"{date(days[0])} – {date(days[-1])}"
        rows.append(row)
        counts.append({"count": len(positions), "members": positions})
    frame = pd.DataFrame(rows, columns=cells.columns)
    return frame, pd.DataFrame(counts, index=frame.index, columns=["count", "members"])


def _top_profiles(
    ctx: ReportContext, value_key: str, top: pd.DataFrame, ranked: TopRanked
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The top table: ten different profiles, customers alike in every cell on one row.

    Without identical customers among the first ten (and no tie at the cut) the
    table is the ten most valuable customers. Otherwise more of the ranking is
    read, until ten profiles are complete. Returns each row's first customer,
    the table's cells and per row ``count`` (customers it stands for),
    ``members`` (their rows of the ranking) and ``value`` (theirs together).
    """
    t, a = ctx.t, ctx.analysis
    customers = a.customers
    k = len(top)
    longer: pd.DataFrame | None = None  # the ranking read further, once needed
    while True:
        if k > len(top):
            if longer is None:
                longer = _top_customers(ctx, value_key, MAX_PROFILE_ROWS)[0]
            ranking = longer.iloc[:k]
        else:
            ranking = top
        ranking = ranking.assign(shown_id=short_ids(ranking["customer_id"]))
        cells = _top_cells(ctx, ranking, value_key)
        id_column = cells.columns[0]
        marks = [
            cell[len(cid) :]
            for cell, cid in zip(cells[id_column], ranking["shown_id"], strict=True)
        ]
        rows, counts = collapse_profiles(
            cells,
            ids=list(ranking["shown_id"]),
            marks=marks,
            dates=list(ranking["first_purchase"]),
            n=TOP_CUSTOMERS,
            label=lambda count, ids: t("value.top_profile", count=t.number(count), ids=ids),
            date=lambda day: _date_cell(t, day),
        )
        complete = len(rows) == TOP_CUSTOMERS and ranked.tied == ranked.tied_shown
        if ranking.empty or (k == len(top) and complete and (counts["count"] == 1).all()):
            break
        last_value = cells.iloc[-1, -1]
        # the last profile is whole once the ranking reads past its (shown) value
        whole = len(rows) == TOP_CUSTOMERS and last_value != rows.iloc[-1, -1]
        if whole or k >= len(customers) or k >= MAX_PROFILE_ROWS:
            break
        k = min(4 * k, len(customers), MAX_PROFILE_ROWS)
    first = [positions[0] for positions in counts["members"]]
    shown = ranking.iloc[first]
    values = ranking[value_key].to_numpy(dtype=float)
    counts["value"] = [float(values[positions].sum()) for positions in counts["members"]]
    return shown, rows.reset_index(drop=True), counts.reset_index(drop=True).set_index(shown.index)


def _top_caption(
    ctx: ReportContext, value_key: str, top: pd.DataFrame, represented: pd.DataFrame
) -> str:
    """The top table's caption: the ten customers' value, or the ten profiles' customers."""
    t, a = ctx.t, ctx.analysis
    total = a.customers[value_key].sum()
    if (represented["count"] == 1).all():
        value = top[value_key].sum()
        return t("value.top_table", value=t.money(value), share=t.percent(value / total, digits=0))
    value = represented["value"].sum()
    return t(
        "value.top_table_profiles",
        customers=t.number(represented["count"].sum()),
        value=t.money(value),
        share=t.percent(value / total, digits=0),
    )


def _tied_at_cut(
    customers: pd.DataFrame, value_key: str, shown: pd.DataFrame, represented: pd.DataFrame
) -> tuple[int, int]:
    """Customers of the last row's value (to the cent), and how many of them the table holds."""
    if shown.empty:
        return 0, 0
    cents = np.round(customers[value_key].to_numpy(dtype=float) * 100.0)
    cut = round(float(shown[value_key].iloc[-1]) * 100.0)
    tied = int((cents == cut).sum())
    at_cut = np.round(shown[value_key].to_numpy(dtype=float) * 100.0) == cut
    return tied, int(represented["count"].to_numpy()[at_cut].sum())


ONE_ORDER_SHARE = 0.5
"""A customer's value rests mostly on one order when an exceptional order is more than this
share of their revenue."""


def _one_order(ctx: ReportContext, top: pd.DataFrame) -> pd.DataFrame:
    """For each top customer: whether their value rests mostly on one exceptional order.

    ``rests`` (bool), ``amount`` and ``reference`` of the customer's largest
    exceptional order (NaN without one), aligned with ``top``. It rests on it
    when that order is more than :data:`ONE_ORDER_SHARE` of the customer's revenue.
    """
    orders = getattr(ctx.analysis, "exceptional_orders", None)
    ids = top["customer_id"].astype(str)
    if orders is None or orders.empty:
        nothing = pd.Series(float("nan"), index=top.index)
        return pd.DataFrame({"rests": False, "amount": nothing, "reference": nothing})
    largest = orders.groupby("customer_id", sort=False)[["amount", "reference"]].first()
    amount = ids.map(largest["amount"]).astype(float)
    reference = ids.map(largest["reference"]).astype(float)
    rests = (amount > ONE_ORDER_SHARE * top["revenue"].astype(float)).fillna(False)
    return pd.DataFrame({"rests": rests.astype(bool), "amount": amount, "reference": reference})


def _one_order_note(ctx: ReportContext, top: pd.DataFrame, one_order: pd.DataFrame) -> str | None:
    """The sentences under the top table for the customers marked (†), or ``None``."""
    t, a = ctx.t, ctx.analysis
    marked = one_order[one_order["rests"]]
    if marked.empty:
        return None
    caps = a.model.spend_caps
    capped = a.has_predictions and caps is not None and caps.applied
    key = "value.top_one_order_capped" if capped else "value.top_one_order"
    return " ".join(
        t(
            key,
            customer=literal(top.loc[index, "shown_id"]),
            amount=t.money(row.amount),
            reference=t.money(row.reference),
        )
        for index, row in marked.iterrows()
    )


def _shortened_ids_note(ctx: ReportContext, top: pd.DataFrame) -> str | None:
    """The sentence under the top table when it shortened long customer ids, or ``None``."""
    if (top["shown_id"] == top["customer_id"].astype(str)).all():
        return None
    return paragraph(ctx.t("value.top_ids_shortened"))


def _acquisition_blocks(ctx: ReportContext) -> list[str]:
    """Per acquisition channel and country: customers, value per customer, repeat buyers."""
    t, a = ctx.t, ctx.analysis
    value_key = "clv" if a.has_predictions else "revenue"
    blocks = []
    for column, groups in a.acquisition.items():
        groups = groups[groups["group"] != ""]
        if len(groups) < 2:
            continue
        per_customer = f"{value_key}_per_customer"
        frame = pd.DataFrame(
            {
                t(f"acquisition.{column}"): [
                    f"{g}{' (*)' if small else ''}"
                    for g, small in zip(groups["group"], groups["small"], strict=True)
                ],
                t("value.customers"): [t.number(v) for v in groups["customers"]],
                t("acquisition.revenue_per_customer"): [
                    t.money(v) for v in groups["revenue_per_customer"]
                ],
                t("acquisition.repeat_rate"): [terms.percent(t, v) for v in groups["repeat_rate"]],
            }
        )
        customers = a.customers
        total = [
            t("overview.total"),
            t.number(groups["customers"].sum()),
            t.money(customers["revenue"].mean()),
            terms.percent(t, repeat_rate(customers)),
        ]
        if a.has_predictions:
            frame[t("acquisition.clv_per_customer", months=a.config.horizon_months)] = [
                t.money(v) for v in groups["clv_per_customer"]
            ]
            total.append(t.money(customers["clv"].mean()))
        best, worst = groups.iloc[0], groups.iloc[-1]
        caption = t(
            f"acquisition.caption_{column}_{value_key}",
            best=literal(best["group"]),
            best_value=t.money(best[per_customer]),
            worst=literal(worst["group"]),
            worst_value=t.money(worst[per_customer]),
        )
        blocks += [
            heading(t(f"acquisition.heading_{column}"), 2),
            table(
                frame,
                caption=caption,
                id=f"tbl-{column}",
                align="l" + "r" * (frame.shape[1] - 1),
                total=total,
            ),
        ]
        if groups["small"].any():
            blocks.append(paragraph(t("acquisition.small", count=MIN_GROUP_CUSTOMERS)))
    return blocks


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
        a.lorenz, palette=ctx.palette, labels=labels, formatter=lambda v: t.percent(v, digits=0)
    )
    verdict = "concentration.claim_holds" if c.claim_holds else "concentration.claim_fails"
    return join(
        heading(t("sections.concentration"), id="sec-concentration"),
        finding(t(verdict, share=t.percent(c.top_value_share, digits=0))),
        keep_together(
            paragraph(
                t(
                    "concentration.text",
                    customers=t.percent(c.customer_share_for_target, digits=0),
                    gini=t.number(c.gini, digits=2),
                )
            ),
            _save(
                ctx,
                ax,
                "lorenz",
                "concentration.caption",
                share=t.percent(c.top_value_share, digits=0),
                customers=t.percent(c.customer_share_for_target, digits=0),
            ),
        ),
    )


def _repeat_rule(ctx: ReportContext) -> list[str]:
    """The rule of thumb on returning customers, and apart from it this client's own figure.

    Two paragraphs: the rule of thumb, labelled, says what it compares (for a shop:
    sales attempts with existing customers and prospects, which the data do not
    hold, so it is not set beside the client's figures); the client's measured
    second and third purchases within a year follow as a figure of their own.
    """
    t, r = ctx.t, ctx.analysis.repeat
    blocks = [paragraph(t("loyalty.rule_of_thumb"))]
    if r is not None and r.new_customers and r.returning_customers:
        measured = t(
            "loyalty.measured_repeat",
            new=t.percent(r.new_repeat_rate, digits=0),
            returning=t.percent(r.returning_repeat_rate, digits=0),
            new_customers=t.number(r.new_customers),
            returning_customers=t.number(r.returning_customers),
        )
        blocks.append(paragraph(measured))
    return blocks


def _cohort_finding(ctx: ReportContext, age: int = 3) -> dict[str, str]:
    """Share still buying ``age`` months after the start: the oldest versus the newest cohorts."""
    t = ctx.t
    column = ctx.analysis.cohorts.get(age)
    known = column.dropna() if column is not None else pd.Series(dtype=float)
    if len(known) < 6:
        return {"share": t.percent(known.mean(), digits=0), "months": str(age), "few": "1"}
    early, late = known.iloc[: len(known) // 2], known.iloc[len(known) // 2 :]
    return {
        "early": t.percent(early.mean(), digits=0),
        "late": t.percent(late.mean(), digits=0),
        "early_start": t.date(early.index[0].date(), style="MMM yyyy"),
        "late_start": t.date(late.index[0].date(), style="MMM yyyy"),
        "months": str(age),
    }


def _cohort_figure(ctx: ReportContext, ax) -> str:
    values = _cohort_finding(ctx)
    key = "loyalty.cohorts_caption_few" if values.pop("few", None) else "loyalty.cohorts_caption"
    return _save(ctx, ax, "cohorts", key, **values)


def loyalty_and_retention(ctx: ReportContext) -> Markdown:
    """Repeat purchases, retention per year, cohorts, lifespan and P(alive).

    Examples
    --------
    >>> ctx = setup(client="demo", language="en")  # doctest: +SKIP
    >>> print(loyalty_and_retention(ctx))  # doctest: +SKIP
    """
    t, a = ctx.t, ctx.analysis
    palette = ctx.palette
    # Donors give once a period: their cohorts are in the donor section, by period, not by month.
    cohort_figure = None
    if audience(a.config.business).monthly_cohorts:
        ax = plots.plot_cohort_retention(
            a.cohorts,
            palette=palette,
            labels=_labels(ctx, "cohorts"),
            formatter=lambda v: t.percent(v, digits=0),
            date_formatter=lambda d: t.date(d, style="MMM yyyy"),
        )
        cohort_figure = _cohort_figure(ctx, ax)
    blocks = [
        heading(t("sections.loyalty"), id="sec-loyalty"),
        finding(terms.loyalty_finding(ctx)),
        *_repeat_rule(ctx),
        keep_together(terms.years_block(ctx)),
        cohort_figure,
    ]
    lifespan = a.customers.loc[repeat_mask(a.customers), "lifespan_years"]
    ax = plots.plot_distribution(
        lifespan.rename("lifespan"),
        palette=palette,
        labels=_labels(ctx, "lifespan"),
        formatter=lambda v: terms.years(t, v),
        count_formatter=t.number,
    )
    path = plots.save_figure(ax, ctx.figures_dir / "lifespan.png")
    blocks.append(
        figure(path, caption=terms.lifespan_caption(ctx), id="fig-lifespan", base=ctx.output_dir)
    )
    if a.has_predictions:
        # the columns used only: a copy of every column of millions of customers is not needed
        repeat = repeat_mask(a.customers).to_numpy()
        runs = running(a.customers)
        if runs is not None:  # subscriptions: the chance concerns running ones only
            repeat = repeat & runs.to_numpy()
        drifting = a.customers.loc[at_risk_mask(a.customers), "revenue"]  # as in the summary
        chance = _chance_column(ctx)
        silence = chance == "p_silence"
        values = a.customers.loc[repeat, chance].rename(chance)
        threshold = AT_RISK_P_SILENCE if silence else AT_RISK_P_ALIVE
        ax = plots.plot_distribution(
            values,
            palette=palette,
            labels=_labels(ctx, chance),
            formatter=lambda v: t.percent(v, digits=0),
            count_formatter=t.number,
        )
        blocks += [
            paragraph(
                t(
                    "loyalty.drifting_silence" if silence else "loyalty.drifting",
                    count=t.number(len(drifting)),
                    revenue=t.money(drifting.sum()),
                    threshold=t.percent(threshold, digits=0),
                )
            ),
            _save(
                ctx,
                ax,
                "p-alive",
                f"loyalty.{chance}_caption",
                share=t.percent((values >= threshold).mean(), digits=0),
                count=t.number(len(values)),
                threshold=t.percent(threshold, digits=0),
            ),
        ]
    return join(*blocks)


def _top_customers(
    ctx: ReportContext, value_key: str, n: int = TOP_CUSTOMERS
) -> tuple[pd.DataFrame, int, TopRanked]:
    """The most valuable customers, those known shorter than the minimum history last.

    Returns the table's rows, how many customers known shorter than
    ``min_history_weeks`` would have been among them by value alone, and the
    ranking (:func:`clvreport.customer_groups.top_ranked`: ties broken by revenue,
    tenure and id, with the number of customers tied at the cut).
    """
    a = ctx.analysis
    columns = a.customers
    weeks = a.config.min_history_weeks
    if not weeks or "tenure_days" not in columns:
        ranked = top_ranked(columns, value_key, n)
        return columns.iloc[ranked.rows], 0, ranked
    short = columns["tenure_days"].to_numpy(dtype=float) < 7 * weeks
    by_value = top_ranked(columns, value_key, n)
    ranked = top_ranked(columns, value_key, n, last=short)
    pushed = int(short[by_value.rows].sum())
    return columns.iloc[ranked.rows], pushed, ranked


def _chance_column(ctx: ReportContext) -> str:
    """The chance the report shows per customer: ``p_alive``, or ``p_silence`` without dropout."""
    return "p_silence" if ctx.analysis.risk_basis == "silence" else "p_alive"


def _discount_cost(ctx: ReportContext) -> str:
    """What a discount contact's cost is made of: share, redemption and sending (assumptions)."""
    t, discount = ctx.t, ctx.plan_rules.channels["discount"]
    return t(
        "recommendations.discount_cost",
        share=t.percent(discount.get("share", 0.0), digits=0),
        redemption=t.percent(discount.get("redemption", 0.0), digits=0),
        base=t.money(discount["cost_per_contact"], digits=2),
    )


def _segment_table_caption(ctx: ReportContext, seg: pd.DataFrame) -> str:
    t, a = ctx.t, ctx.analysis
    if not a.has_predictions:
        return t("segments.table")
    labels = _segment_labels(ctx)
    chance = _chance_column(ctx)
    p_alive = a.customers.groupby("segment")[chance].mean().reindex(seg["segment"])
    runs = running(a.customers)
    if runs is not None and runs.any():
        # subscriptions: a cancelled one's chance of staying is 0 by definition, so the
        # lowest chance is named among the segments with running subscriptions
        live = a.customers.loc[runs.to_numpy(), "segment"].unique()
        compared = p_alive[p_alive.index.isin(live)]
    else:
        compared = p_alive
    lowest = compared.idxmin()
    caption = t(
        f"segments.table_{chance}",
        label=literal(labels[lowest]),
        p=t.percent(compared[lowest], digits=0),
        highest=literal(labels[compared.idxmax()]),
        p_high=t.percent(compared.max(), digits=0),
    )
    # one purchase long ago can look more alive than a regular who stopped: say why
    once, lapsed = "lost", "cant_lose_them"
    if (
        chance == "p_alive"
        and once in p_alive.index
        and lapsed in p_alive.index
        and p_alive[once] > p_alive[lapsed]
    ):
        caption += " " + t(
            "segments.one_time_note",
            once=literal(labels[once]),
            lapsed=literal(labels[lapsed]),
            p_once=t.percent(p_alive[once], digits=0),
            p_lapsed=t.percent(p_alive[lapsed], digits=0),
        )
    return caption


def _segment_finding(ctx: ReportContext, seg: pd.DataFrame) -> dict[str, str]:
    t, a = ctx.t, ctx.analysis
    labels = _segment_labels(ctx)
    value_key = "clv" if a.has_predictions else "revenue"
    biggest = seg.loc[seg[value_key].idxmax()]
    values = {
        "label": literal(labels[biggest["segment"]]),
        "share": t.percent(biggest[f"{value_key}_share"], digits=0),
    }
    if a.has_predictions:
        risk = seg.loc[seg["value_at_stake"].idxmax()]
        values |= {
            "risk_label": literal(labels[risk["segment"]]),
            "risk": t.money(risk["value_at_stake"]),
        }
    return values


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
        data["value_at_stake"] = seg["value_at_stake"].to_numpy()
    ax = plots.plot_segment_map(
        data,
        palette=ctx.palette,
        labels=_labels(ctx, "segments") | {"value": t(f"segments.{value_key}")},
        formatter=t.money,
        count_formatter=t.number,
    )
    columns = {
        t("segments.segment"): data["segment_label"],
        t("segments.customers"): [t.number(v) for v in seg["n_customers"]],
        t("segments.revenue_share"): [t.percent(v, digits=1) for v in seg["revenue_share"]],
    }
    if a.has_predictions:
        chance = _chance_column(ctx)
        p_alive = a.customers.groupby("segment")[chance].mean()
        columns[t(f"segments.{chance}")] = [t.percent(p_alive[s], digits=0) for s in seg["segment"]]
        columns[t("segments.clv")] = [t.money(v) for v in seg["clv"]]
        columns[t("segments.value_at_stake")] = [t.money(v) for v in seg["value_at_stake"]]
    biggest = seg.loc[seg[value_key].idxmax()]
    descriptions = a.rules.descriptions(t.language)
    return join(
        heading(t("sections.segments"), id="sec-segments"),
        finding(
            t(
                f"segments.conclusion_{value_key}",
                label=literal(labels[biggest["segment"]]),
                share=t.percent(biggest[f"{value_key}_share"], digits=0),
                months=a.config.horizon_months,
            )
        ),
        keep_together(
            paragraph(t("segments.intro")),
            _save(
                ctx, ax, "segments", f"segments.caption_{value_key}", **_segment_finding(ctx, seg)
            ),
        ),
        table(
            pd.DataFrame(columns),
            caption=_segment_table_caption(ctx, seg),
            id="tbl-segments",
            align="l" + "r" * (len(columns) - 1),
            total=_segment_total(ctx, seg),
        ),
        _stake_note(ctx, seg),
        "\n".join(
            f"- **{literal(labels[s])}.** {literal(descriptions[s])}" for s in seg["segment"]
        ),
    )


def _stake_note(ctx: ReportContext, seg: pd.DataFrame) -> str | None:
    """The segment table's stake counts everyone; the summary's only the customers at risk."""
    a, t = ctx.analysis, ctx.t
    if not a.has_predictions or "value_at_stake" not in seg:
        return None
    risky = a.customers.loc[at_risk_mask(a.customers), "value_at_stake"]
    return paragraph(
        t(
            "segments.stake_note_silence" if a.risk_basis == "silence" else "segments.stake_note",
            total=t.money(float(seg["value_at_stake"].sum())),
            at_risk=t.money(float(risky.sum())),
        )
    )


def _segment_total(ctx: ReportContext, seg: pd.DataFrame) -> list[str]:
    t, a = ctx.t, ctx.analysis
    total = [t("overview.total"), t.number(seg["n_customers"].sum()), t.percent(1.0, digits=0)]
    if a.has_predictions:
        total += [
            t.percent(a.customers[_chance_column(ctx)].mean(), digits=0),
            t.money(seg["clv"].sum()),
            t.money(seg["value_at_stake"].sum()),
        ]
    return total


def recommendations(ctx: ReportContext) -> Markdown:
    """The action plan: per action who, cost, value kept and net return, best first.

    Actions that do not pay for themselves are listed apart as "not profitable"
    instead of being advised.

    Examples
    --------
    >>> ctx = setup(client="demo", language="en")  # doctest: +SKIP
    >>> print(recommendations(ctx))  # doctest: +SKIP
    """
    t, a = ctx.t, ctx.analysis
    labels = _segment_labels(ctx)
    plan = ctx.plan
    if not a.has_predictions:
        items = [
            f"{i}. **{t(f'recommendations.actions.{row.action}.name')}** "
            f"({t.join([literal(labels[s]) for s in row.segments])}, {t.number(row.customers)} "
            f"{t('recommendations.customers')}): "
            f"{t(f'recommendations.actions.{row.action}.what')}"
            for i, row in enumerate(plan.itertuples(index=False), start=1)
        ]
        return join(
            heading(t("sections.recommendations"), id="sec-recommendations"),
            finding(t("recommendations.conclusion_no_model")),
            "\n".join(items),
        )
    advised = plan[plan["profitable"].fillna(False).astype(bool)]
    rejected = plan[~plan["profitable"].fillna(False).astype(bool)]
    frame, total = plan_frame(
        ctx,
        advised,
        [
            (
                "recommendations.stake_lifetime"
                if lifetime_beyond_horizon(ctx)
                else "recommendations.stake",
                "value_at_stake",
                0,
                True,
            ),
            ("overview.cost", "cost", 0, True),
            ("overview.kept", "value_kept", 0, True),
            ("overview.net", "net_return", 0, True),
            ("recommendations.max_spend", "max_spend_per_customer", 2, False),
        ],
    )
    if a.config.gross_margin >= 1:  # revenue, not profit: from which margin does each pay?
        frame[t("recommendations.break_even")] = [
            t.percent(c / k, digits=0) if k else "–"
            for c, k in zip(advised["cost"], advised["value_kept"], strict=True)
        ]
        total.append("")
    cap = a.config.xlsx_max_rows
    items = [
        f"{i}. **{t(f'recommendations.actions.{row.action}.name')}** "
        f"({t('recommendations.list', name=literal(row.list_name))}"
        + (
            t("recommendations.capped", cap=t.number(cap), customers=t.number(row.customers))
            if row.customers > cap
            else ""
        )
        + f"). {t(f'recommendations.actions.{row.action}.what')} "
        + t(
            "recommendations.assumption",
            channel=t(f"economics.by_channel.{row.channel}"),
            cost=t.money(row.cost_per_contact, digits=2),
            success=t.percent(row.success_rate, digits=0),
            source=rate_source_text(t, getattr(row, "rate_source", None)),
        )
        + (" " + _discount_cost(ctx) if row.channel == "discount" else "")
        + (
            " "
            + t(
                "recommendations.uplift",
                uplift=t.percent(row.uplift, digits=0),
                source=rate_source_text(t, getattr(row, "rate_source", None)),
            )
            if row.uplift
            else ""
        )
        + f" *{t(f'recommendations.actions.{row.action}.why')}*"
        for i, row in enumerate(advised.itertuples(index=False), start=1)
    ]
    blocks = [
        heading(t("sections.recommendations"), id="sec-recommendations"),
        finding(
            t(
                "recommendations.conclusion_plan",
                count=len(advised),
                kept=t.money(advised["value_kept"].sum()),
                cost=t.money(advised["cost"].sum()),
                net=t.money(advised["net_return"].sum()),
            )
            if len(advised)
            else t("overview.no_profitable_action")
        ),
    ]
    intro = [
        paragraph(
            t(
                "recommendations.intro_plan_lifetime",
                months=a.config.horizon_months,
                years=a.config.lifetime_years,
            )
            if lifetime_beyond_horizon(ctx)
            else t("recommendations.intro_plan", months=a.config.horizon_months)
        ),
        paragraph(t("recommendations.rule_of_thumb")),
    ]
    if len(advised):
        blocks += [
            keep_together(
                *intro,
                table(
                    frame,
                    caption=t(
                        "recommendations.plan_caption",
                        action=t(f"recommendations.actions.{advised.iloc[0]['action']}.name"),
                        net=t.money(advised.iloc[0]["net_return"]),
                    ),
                    id="tbl-plan",
                    align="ll" + "r" * (frame.shape[1] - 2),
                    total=total,
                ),
            ),
            "\n".join(items),
        ]
    else:
        blocks += intro
    if len(rejected):
        blocks.append(
            paragraph(
                t("recommendations.not_profitable_intro")
                + " "
                + "; ".join(
                    t(
                        "recommendations.not_profitable_item",
                        action=t(f"recommendations.actions.{row.action}.name"),
                        segments=t.join([literal(labels[s]) for s in row.segments]),
                        customers=t.number(row.customers),
                        cost=t.money(row.cost),
                        kept=t.money(row.value_kept),
                    )
                    for row in rejected.itertuples(index=False)
                )
                + "."
            )
        )
    assumptions = "economics.assumptions_learned" if learned_any(ctx) else "economics.assumptions"
    blocks += [paragraph(t(assumptions)), _winback_note(ctx)]
    blocks += [paragraph(t("recommendations.lists"))]
    blocks += sensitivity_blocks(ctx)
    return join(*blocks)


def _winback_note(ctx: ReportContext) -> str | None:
    """Subscriptions: the win-back assumption (decay and horizon) and whom it leaves out."""
    a, t = ctx.analysis, ctx.t
    c = a.customers
    runs = running(c)
    if not audience(a.config.business).winback or "winback_value" not in c or runs is None:
        return None
    options = a.config.subscription
    ended = ~runs
    beyond = ended & (c["winback_value"].fillna(0.0) <= 0)
    return paragraph(
        t(
            "subscribers.winback_note",
            half_life=t.number(options.winback_half_life_months, digits=0),
            horizon=t.number(options.winback_horizon_months),
            within=t.number(int((ended & ~beyond).sum())),
            beyond=t.number(int(beyond.sum())),
            value=t.money(float(c.loc[ended, "winback_value"].sum())),
        )
    )


def methodology(ctx: ReportContext) -> Markdown:
    """Definitions, the model and its holdout check, assumptions.

    Examples
    --------
    >>> ctx = setup(client="demo", language="en")  # doctest: +SKIP
    >>> print(methodology(ctx))  # doctest: +SKIP
    """
    t, a = ctx.t, ctx.analysis
    blocks = [
        heading(t("sections.methodology"), id="sec-methodology"),
        paragraph(t("methodology.source")),
        "\n".join(f"- {item}" for item in terms.definition_items(ctx)),
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
        blocks.append(paragraph(_model_sentence(ctx)))
        note = model.choice_note
        if note and t.has(f"methodology.choice.{note}"):
            blocks.append(paragraph(t(f"methodology.choice.{note}")))
        limits = getattr(model.model, "boundary_", None) or ()
        if limits:
            blocks.append(paragraph(*(t(f"methodology.limit.{limit}") for limit in limits)))
        season = _season_sentence(ctx)
        if season is not None:
            blocks.append(paragraph(season))
        spend = _spend_caps_sentence(ctx)
        if spend is not None:
            blocks.append(paragraph(spend))
        search = model.search
        if search is not None and search.method == "subsample":
            blocks.append(
                paragraph(
                    t(
                        "methodology.search_subsample",
                        customers=t.number(search.customers),
                        total=t.number(search.of),
                    )
                )
            )
        blocks.append(
            paragraph(
                t(
                    "methodology.value_at_stake_silence"
                    if a.risk_basis == "silence"
                    else "methodology.value_at_stake",
                    months=a.config.horizon_months,
                    threshold=t.percent(AT_RISK_P_SILENCE, digits=0),
                )
            )
        )
        if "clv_lifetime" in a.customers and lifetime_beyond_horizon(ctx):
            blocks.append(
                paragraph(
                    t(
                        "methodology.lifetime",
                        years=a.config.lifetime_years,
                        months=a.config.horizon_months,
                    )
                )
            )
        if model.validation is not None:
            blocks.append(paragraph(t("methodology.intervals")))
            blocks += _holdout_blocks(ctx)
        else:
            blocks.append(paragraph(t("methodology.intervals_no_check"), _not_checked(ctx)))
    else:
        blocks.append(paragraph(t("methodology.no_model")))
    return join(*blocks)


def _not_checked(ctx: ReportContext) -> str:
    """Why the forecast was not checked on held-back months, in one sentence.

    The reason of a model on whole periods (donors, subscriptions:
    :data:`clvreport.period_holdout.NOT_CHECKED`); for the shop models
    ``off`` (``holdout_months: 0``) or ``too_little_history``.
    """
    a = ctx.analysis
    holdout = a.model.holdout
    reason = None if holdout is None else holdout.reason
    if reason is None:
        reason = "off" if a.config.holdout_months <= 0 else "too_little_history"
    return ctx.t(f"methodology.not_checked.{reason}", months=a.config.holdout_months)


def _season_sentence(ctx: ReportContext) -> str | None:
    """One sentence on the seasonal pattern the forecast follows, or why it follows none."""
    t = ctx.t
    season = ctx.analysis.model.season
    if season is None or not t.has(f"methodology.season.{season.reason}"):
        return None
    if not season.active:
        return t(f"methodology.season.{season.reason}", years=season.years)
    factors = list(season.factors)
    peak, low = int(np.argmax(factors)), int(np.argmin(factors))

    def month(index: int) -> str:
        return t.date(dt.date(2000, index + 1, 1), style="MMMM")

    return t(
        "methodology.season.seasonal",
        years=season.years,
        peak=month(peak),
        peak_factor=t.number(factors[peak], digits=1),
        low=month(low),
        low_factor=t.number(factors[low], digits=1),
    )


def _spend_caps_sentence(ctx: ReportContext) -> str | None:
    """One sentence on the exceptional orders the spend model capped (or counted in full)."""
    t = ctx.t
    caps = ctx.analysis.model.spend_caps
    if caps is None or caps.orders < 1 or not caps.rule or caps.decision == "nothing_to_cap":
        return None
    key = "spend_capped" if caps.applied else "spend_full"
    return t(
        f"methodology.{key}{'_one' if caps.orders == 1 else ''}",
        orders=t.number(caps.orders),
        amount=t.money(caps.amount),
        median=t.money(caps.rule["median_order"]),
        factor=t.number(caps.rule["factor"], digits=0),
    )


def _difference(t: Translator, error: float, *, judge: bool = False) -> str:
    """A forecast's miss in words, always with its direction: "4% te laag".

    ``error`` is (predicted - actual) / actual. With ``judge`` (a forecast the
    check calls good), a miss of at most 5% as shown is called close
    (:data:`clvreport.models.validation.ON_TARGET`): "4% te laag: vrijwel raak".
    A miss that rounds to 0% is "vrijwel precies goed".
    """
    if not math.isfinite(error):
        return t("methodology.difference_unknown")
    shown = round(abs(error) * 100)  # the percentage the sentence prints
    if shown == 0:
        return t("methodology.difference_on_target", error=t.percent(0.0, digits=0))
    side = "over" if error > 0 else "under"
    close = judge and shown <= round(ON_TARGET * 100)
    key = f"difference_close_{side}" if close else f"difference_{side}"
    return t(f"methodology.{key}", error=t.percent(shown / 100, digits=0))


def _holdout_blocks(ctx: ReportContext) -> list[str]:
    """The holdout check in words (total, worst group, revenue, length) and its figures."""
    t, a = ctx.t, ctx.analysis
    v = a.model.validation
    assert v is not None
    sentences = [
        t(
            f"methodology.holdout_{v.verdict}",
            actual=t.number(v.actual_total),
            predicted=t.number(v.predicted_total),
            difference=_difference(t, v.total_error, judge=v.verdict == "good")
            if v.direction != "unknown"
            else t("methodology.difference_unknown"),
            start=t.date(a.calibration_end),
        )
    ]
    if v.worst_bin is not None and v.worst_bin_error == v.worst_bin_error:
        row = v.by_frequency.set_index("bin").loc[v.worst_bin]
        sentences.append(
            t(
                "methodology.holdout_worst_bin_once"
                if str(v.worst_bin) == "0"
                else "methodology.holdout_worst_bin",
                bin=v.worst_bin,
                customers=t.number(row["customers"]),
                actual=t.number(row["actual_total"]),
                predicted=t.number(row["predicted_total"]),
                difference=_difference(t, v.worst_bin_error),
            )
        )
    if v.revenue_error == v.revenue_error:
        sentences.append(
            t(
                "methodology.holdout_revenue",
                actual=t.money(v.actual_revenue),
                predicted=t.money(v.predicted_revenue),
                difference=_difference(t, v.revenue_error, judge=v.verdict == "good"),
            )
        )
    sentences += _season_check_sentences(ctx)
    sentences += _coverage_sentences(ctx)
    if v.shorter_than_horizon:
        sentences.append(
            t(
                "methodology.holdout_shorter",
                holdout=t.number(v.holdout_months, digits=0),
                horizon=a.config.horizon_months,
            )
        )
    bins = v.by_frequency.rename(columns={"bin": "frequency_bin", "actual_total": "actual"}).assign(
        predicted=v.by_frequency["predicted_total"]
    )
    ax = plots.plot_holdout_check(
        bins, palette=ctx.palette, labels=_labels(ctx, "holdout"), formatter=t.number
    )
    season = []
    if a.calibration_end is not None:
        error = v.total_error if math.isfinite(v.total_error) else v.revenue_error
        start = a.calibration_end + dt.timedelta(days=1)
        checked = a.model.calibration_season
        season = season_sentences(
            ctx,
            start,
            a.as_of,
            error,
            what="check",
            forecast_seasonal=checked is not None and checked.active,
        )
    blocks = [
        keep_together(
            paragraph(*sentences),
            paragraph(*season) if season else None,
            _save(
                ctx,
                ax,
                "holdout",
                "methodology.holdout_caption",
                actual=t.number(v.actual_total),
                predicted=t.number(v.predicted_total),
            ),
        ),
    ]
    if a.tracking is not None and len(a.tracking):
        blocks += _tracking_figures(ctx, a.tracking)
    blocks += next_purchase_blocks(ctx)
    return blocks


def _season_check_sentences(ctx: ReportContext) -> list[str]:
    """Whether the check ran with the seasonal pattern (said only when the forecast has one)."""
    model = ctx.analysis.model
    season = model.season
    if season is None or not season.active:
        return []
    checked = model.calibration_season
    key = "holdout_season" if checked is not None and checked.active else "holdout_no_season"
    return [ctx.t(f"methodology.{key}")]


def _coverage_sentences(ctx: ReportContext) -> list[str]:
    """How the 90% ranges held: inside, above and below (with what the model expected)."""
    t, a = ctx.t, ctx.analysis
    if a.holdout_coverage is None:
        return []
    check = getattr(a, "holdout_intervals", None)
    if check is None or check.customers == 0:
        return [t("methodology.holdout_coverage", coverage=t.percent(a.holdout_coverage, digits=0))]

    def share(value: float) -> str:
        if 0 < value < 0.0005:  # would read 0.0%: say it is below a tenth of a percent
            return "<" + t.percent(0.001, digits=1)
        return t.percent(value, digits=1 if 0 < value < 0.1 else 0)

    sentences = [
        t(
            "methodology.holdout_coverage_sides",
            coverage=t.percent(check.coverage, digits=0),
            above=share(check.above),
            below=share(check.below),
            expected_above=share(check.expected_above),
            expected_below=share(check.expected_below),
        )
    ]
    if check.lower_bound_zero > 0:
        zero = check.lower_bound_zero
        # "100%" beside misses below would contradict itself: nearly all is ">99%"
        shown = ">" + t.percent(0.99, digits=0) if 0.995 <= zero < 1 else t.percent(zero, digits=0)
        sentences.append(t("methodology.holdout_lower_zero", share=shown))
    return sentences


def _tracking_figures(ctx: ReportContext, tracking: pd.DataFrame) -> list[str]:
    t = ctx.t
    labels = _labels(ctx, "tracking")
    dates = lambda d: t.date(pd.Timestamp(d).date(), style="MMM yyyy")  # noqa: E731
    last = tracking.iloc[-1]
    calibration = tracking[tracking["calibration"]]
    end_cal = calibration.iloc[-1] if len(calibration) else last
    ax = plots.plot_tracking(
        tracking, palette=ctx.palette, labels=labels, formatter=t.number, date_formatter=dates
    )
    cumulative = _save(
        ctx,
        ax,
        "tracking",
        "methodology.tracking_caption",
        actual=t.number(last["actual_cumulative"]),
        predicted=t.number(last["predicted_cumulative"]),
        cal_actual=t.number(end_cal["actual_cumulative"]),
        cal_predicted=t.number(end_cal["predicted_cumulative"]),
    )
    full_weeks = tracking[tracking["days"] >= 7]  # a partial first or last week is no dip
    ax = plots.plot_tracking_weekly(
        full_weeks, palette=ctx.palette, labels=labels, formatter=t.number, date_formatter=dates
    )
    holdout = full_weeks[~full_weeks["calibration"]]
    weekly = _save(
        ctx,
        ax,
        "tracking-weekly",
        "methodology.tracking_weekly_caption",
        actual=t.number(holdout["actual"].mean() if len(holdout) else float("nan")),
        predicted=t.number(holdout["predicted"].mean() if len(holdout) else float("nan")),
    )
    return [keep_together(paragraph(t("methodology.tracking_intro")), cumulative), weekly]


def _model_sentence(ctx: ReportContext) -> str:
    """The models used, as model.json has them: Gamma-Gamma, or the fallback amount."""
    t, a = ctx.t, ctx.analysis
    model = a.model
    name = t(f"models.{model.model_name}")
    fallback = model.spend_fallback
    if model.spend_model is not None or fallback is None:
        return t("methodology.model", model=name)
    reasons = model.reasons
    spend = [r for r in reasons if r in ("spend_model_unavailable", "spend_model_infinite_mean")]
    reason = spend[0] if spend else "spend_model_unavailable"
    amount = t.money(fallback, digits=2)
    return t("methodology.model_fallback", model=name, reason=reason, amount=amount)


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
    files = ", ".join(literal(info.path.name) for info in q.files) if q.files else "–"
    return join(
        heading(t("sections.data_quality"), id="sec-data-quality"),
        keep_together(
            paragraph(
                t(
                    "data_quality.intro",
                    rows_read=t.number(q.rows_read),
                    files=files,
                    rows_kept=t.number(q.rows_kept),
                )
            ),
            table(
                frame,
                caption=t(
                    "data_quality.caption",
                    kept=t.number(q.rows_kept),
                    read=t.number(q.rows_read),
                    share=t.percent(q.rows_kept / max(q.rows_read, 1), digits=0),
                ),
                id="tbl-quality",
                align="lrr",
            ),
        ),
        _one_off_block(ctx),
        _status_block(ctx),
        _flag_blocks(ctx),
    )


def _one_off_block(ctx: ReportContext) -> str | None:
    """Legacies and other one-off gifts: how many, how much, left out of the model."""
    t, q = ctx.t, ctx.analysis.quality
    one_off = getattr(q, "one_off", ()) or ()
    if not one_off:
        return None
    channels = "; ".join(
        f"{literal(value)}: {t.number(n)}, {t.money(amount)}" for value, n, amount in one_off
    )
    return paragraph(
        t(
            "data_quality.one_off_note",
            rows=t.number(sum(n for _, n, _ in one_off)),
            amount=t.money(sum(amount for _, _, amount in one_off)),
            channels=channels,
        )
    )


def _status_block(ctx: ReportContext) -> str | None:
    """Every order status in the export, its rows, and whether it counts as a purchase."""
    t, q = ctx.t, ctx.analysis.quality
    statuses = getattr(q, "statuses", ()) or ()
    if not statuses:
        return None
    frame = pd.DataFrame(
        {
            t("data_quality.status"): [
                literal(value) if value else t("data_quality.status_empty")
                for value, _, _ in statuses
            ],
            t("data_quality.rows"): [t.number(n) for _, n, _ in statuses],
            t("data_quality.status_counted"): [
                t("data_quality.status_no") if excluded else t("data_quality.status_yes")
                for _, _, excluded in statuses
            ],
        }
    )
    return keep_together(
        paragraph(t("data_quality.statuses_intro")),
        table(
            frame,
            caption=t("data_quality.statuses_caption", count=len(statuses)),
            id="tbl-statuses",
            align="lrl",
        ),
    )


def _flag_blocks(ctx: ReportContext) -> str | None:
    """What was kept but looks implausible: counted, listed, and said in words."""
    t, q = ctx.t, ctx.analysis.quality
    flagged = [(code, n) for code, n in getattr(q, "flagged", ()) if n]
    if not flagged:
        return None
    frame = pd.DataFrame(
        {
            t("data_quality.flag"): [t(f"data_quality.flags.{code}") for code, _ in flagged],
            t("data_quality.count"): [t.number(n) for _, n in flagged],
        }
    )
    rule = getattr(ctx.analysis, "exceptional_rule", None)
    note = None
    if rule is not None and dict(flagged).get("exceptional_order"):
        note = t(
            "data_quality.exceptional_note",
            factor=t.number(rule.factor, digits=0),
            median=t.money(rule.median_order),
        )
    return keep_together(
        paragraph(t("data_quality.flags_intro")),
        table(
            frame,
            caption=t(
                "data_quality.flags_caption_one"
                if len(flagged) == 1
                else "data_quality.flags_caption",
                count=len(flagged),
            ),
            id="tbl-flags",
            align="lr",
        ),
        paragraph(note) if note else None,
    )
