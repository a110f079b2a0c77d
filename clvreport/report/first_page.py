"""The report's first page: the four answers a manager decides on.

1. What is the customer base worth? The predicted value of all customers over
   the horizon, with its range, beside last year's revenue.
2. Which customers are worth the most? The top 20% by predicted value: their
   share of the future value next to their share of past revenue, and who
   they are.
3. Who is at risk? The customers of the at-risk segments and the value at
   stake (:mod:`clvreport.customer_groups`: one definition for the whole report).
4. What to do? The three best actions of the plan
   (:func:`clvreport.recommendations.action_plan`), each with who, what, the
   list in ``customers.xlsx``, cost, value kept and net return.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from clvreport.customer_groups import (
    AT_RISK_P_SILENCE,
    AtRisk,
    TopGroup,
    at_risk,
    at_risk_mask,
    top_group,
    valued_customers,
)
from clvreport.i18n import Translator
from clvreport.report.context import ReportContext
from clvreport.report.markdown import (
    KeyFigure,
    Markdown,
    finding,
    heading,
    join,
    key_figures,
    literal,
    paragraph,
    table,
)
from clvreport.report.subscribers import tenure_blocks
from clvreport.report.terms import historic_paragraph

__all__ = [
    "CHECK_MONTHS",
    "check_months",
    "executive_summary",
    "learned_any",
    "lifetime_beyond_horizon",
    "rate_source_text",
    "top_actions",
]

TOP_ACTIONS = 3


def top_actions(ctx: ReportContext, n: int = TOP_ACTIONS) -> pd.DataFrame:
    """The ``n`` actions with the highest net return that pay for themselves.

    Examples
    --------
    >>> top_actions(ctx)["profitable"].all()  # doctest: +SKIP
    True
    """
    actions = ctx.plan
    return actions[actions["profitable"].fillna(False).astype(bool)].head(n)


def _segment_list(
    ctx: ReportContext, pairs: tuple[tuple[str, int], ...], n: int = 2, *, counted: bool = False
) -> str:
    """``Topklanten (544) en Trouwe klanten (350)``, or ``544 Topklanten en 350 Trouwe klanten``."""
    labels = ctx.analysis.rules.labels(ctx.t.language)
    if counted:
        return ctx.t.join([f"{ctx.t.number(c)} {labels[s]}" for s, c in pairs[:n]])
    return ctx.t.join([f"{labels[s]} ({ctx.t.number(c)})" for s, c in pairs[:n]])


def _worth_figure(ctx: ReportContext) -> KeyFigure:
    t, a = ctx.t, ctx.analysis
    base = a.base_value
    margin = a.config.gross_margin < 1
    assert base is not None
    return KeyFigure(
        t.money(base["clv"]),
        t("overview.worth_label", months=a.config.horizon_months),
        t(
            "overview.worth_note_margin" if margin else "overview.worth_note",
            low=t.money(base["clv_low"]),
            high=t.money(base["clv_high"]),
            revenue=t.money(a.revenue_last_year),
            margin=t.money(a.revenue_last_year * a.config.gross_margin),
        ),
    )


def _top_figure(ctx: ReportContext, top: TopGroup) -> KeyFigure:
    t = ctx.t
    past = t.percent(top.past_share, digits=0)
    if len(top.segments) == 1 and top.segments[0][1] == top.n_customers:
        # one segment is the whole group: not "424 subscribers, among them 424 ..."
        labels = ctx.analysis.rules.labels(t.language)
        note = t(
            "overview.top_note_all",
            customers=t.number(top.n_customers),
            segment=labels[top.segments[0][0]],
            past=past,
        )
    else:
        note = t(
            "overview.top_note",
            customers=t.number(top.n_customers),
            segments=_segment_list(ctx, top.segments, counted=True),
            past=past,
        )
    return KeyFigure(t.percent(top.future_share, digits=0), t("overview.top_label"), note)


def lifetime_beyond_horizon(ctx: ReportContext) -> bool:
    """Whether the value over the relationship (``*_lifetime``) reaches past the horizon.

    The plan is priced on the value at stake over the rest of the relationship,
    at most ``lifetime_years``. When that is exactly the horizon (a donor
    client's 60 months and 5 years) both values are the same, and the texts
    that set one against the other ("over the rest of their relationship ...
    the segment table counts only the next 60 months") would name one number
    twice as if it were two.
    """
    a = ctx.analysis
    if "value_at_stake_lifetime" not in a.customers:
        return False
    return a.config.lifetime_years * 12 != a.config.horizon_months


def _risk_figure(ctx: ReportContext, risk: AtRisk) -> KeyFigure:
    t = ctx.t
    silence = ctx.analysis.risk_basis == "silence"
    if risk.n_customers == 0:
        note = t("overview.risk_note_none_silence" if silence else "overview.risk_note_none")
    else:
        note = t(
            "overview.risk_note_silence" if silence else "overview.risk_note",
            segments=_segment_list(ctx, risk.segments),
            if_active=t.money(risk.value_if_active),
            threshold=t.percent(AT_RISK_P_SILENCE, digits=0),
        )
    if (
        risk.n_customers
        and math.isfinite(risk.value_at_stake_lifetime)
        and lifetime_beyond_horizon(ctx)
    ):
        note += " " + t(
            "overview.risk_lifetime",
            years=ctx.analysis.config.lifetime_years,
            lifetime=t.money(risk.value_at_stake_lifetime),
        )
    return KeyFigure(
        t.money(risk.value_at_stake),
        t("overview.risk_label", customers=t.number(risk.n_customers)),
        note,
    )


def _action_figure(ctx: ReportContext, actions: pd.DataFrame) -> KeyFigure:
    t = ctx.t
    return KeyFigure(
        t.money(actions["net_return"].sum()),
        t("overview.actions_label", count=len(actions)),
        t(
            "overview.actions_note",
            cost=t.money(actions["cost"].sum()),
            kept=t.money(actions["value_kept"].sum()),
        )
        + (
            " " + t("overview.actions_note_revenue")
            if ctx.analysis.config.gross_margin >= 1
            else ""
        ),
    )


def who_cell(ctx: ReportContext, segments: tuple[str, ...], customers: int, of: int) -> str:
    """``Topklanten (613)``, or ``Risicoklanten (22 van 775)`` when only some are contacted."""
    t = ctx.t
    labels = ctx.analysis.rules.labels(t.language)
    names = t.join([labels[s] for s in segments])
    if customers < of:
        return f"{names} ({t('overview.some_of', customers=t.number(customers), of=t.number(of))})"
    return f"{names} ({t.number(customers)})"


MoneyColumn = tuple[str, str, int, bool]
"""``(message key of the header, plan column, decimals, summed in the total row)``."""


def plan_frame(
    ctx: ReportContext, actions: pd.DataFrame, money: list[MoneyColumn]
) -> tuple[pd.DataFrame, list[str]]:
    """The action, who and the given money columns of a plan, with its total row.

    Used by page one (three actions) and the recommendations (all advised ones).

    Examples
    --------
    >>> money = [("overview.cost", "cost", 0, True)]
    >>> frame, total = plan_frame(ctx, ctx.plan, money)  # doctest: +SKIP
    """
    t = ctx.t
    columns = {
        t("overview.action"): [t(f"recommendations.actions.{a}.name") for a in actions["action"]],
        t("overview.who"): [
            who_cell(ctx, segs, n, of)
            for segs, n, of in zip(
                actions["segments"], actions["customers"], actions["segment_customers"], strict=True
            )
        ],
    }
    total = [t("overview.total"), t.number(actions["customers"].sum())]
    for key, column, digits, summed in money:
        columns[t(key)] = [t.money(v, digits=digits) for v in actions[column]]
        total.append(t.money(actions[column].sum(), digits=digits) if summed else "")
    return pd.DataFrame(columns), total


SPREAD = 0.5
"""The pessimistic and optimistic results of the summary: the success rates and uplifts half as
large and half as large again (the range :mod:`clvreport.sensitivity` moves them by)."""


def _outcomes(actions: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Net return if the actions keep half as much, and half as much again (value kept ∝ rates)."""
    kept, cost = actions["value_kept"], actions["cost"]
    return kept * (1 - SPREAD) - cost, kept * (1 + SPREAD) - cost


def two_lines(text: str) -> str:
    """``text`` breakable at its last space only: a range wraps onto two lines at most.

    The amounts keep their own non-breaking space; the other spaces but the last
    become non-breaking, so "low – likely –" stays on one line and "high" may
    follow on the next (the table makes the column as wide as that first part).

    Examples
    --------
    >>> [part.replace(NBSP, "_") for part in two_lines("€1 – €2 – €3").split(" ")]
    ['€1_–_€2_–', '€3']
    """
    head, space, tail = text.rpartition(" ")
    return f"{head.replace(' ', NBSP)}{space}{tail}" if space else text


NBSP = "\xa0"


def _action_table(ctx: ReportContext, actions: pd.DataFrame) -> str:
    """The summary's decision memo: who, when, budget and the expected result as a range."""
    t = ctx.t
    frame, total = plan_frame(ctx, actions, [("overview.budget", "cost", 0, True)])
    low, high = _outcomes(actions)
    frame.insert(
        2, t("overview.when"), [t("overview.week", week=i) for i in range(1, len(actions) + 1)]
    )
    total.insert(2, "")
    frame[t("overview.result")] = [
        two_lines(
            t("overview.result_range", low=t.money(lo), likely=t.money(mid), high=t.money(hi))
        )
        for lo, mid, hi in zip(low, actions["net_return"], high, strict=True)
    ]
    total.append(
        two_lines(
            t(
                "overview.result_range",
                low=t.money(low.sum()),
                likely=t.money(actions["net_return"].sum()),
                high=t.money(high.sum()),
            )
        )
    )
    return table(
        frame,
        caption=t(
            "overview.actions_caption",
            count=len(actions),
            net=t.money(actions["net_return"].sum()),
            cost=t.money(actions["cost"].sum()),
        ),
        id="tbl-actions-top",
        align="lllrr",
        total=total,
    )


CHECK_MONTHS = (3, 12)
"""Fewest and most months between the lists and the report that measures them."""


def check_months(config: Any) -> int:
    """Months until the next report measures the actions against their control groups.

    As long as the holdout the model was checked on (time enough for the customers'
    own pace to show), but at least three months and at most a year: a budget is
    checked within the year it is spent.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> [check_months(SimpleNamespace(holdout_months=m)) for m in (0, 6, 9, 24)]
    [3, 6, 9, 12]
    """
    low, high = CHECK_MONTHS
    return int(min(max(config.holdout_months, low), high))


def _memo_items(ctx: ReportContext, actions: pd.DataFrame) -> str:
    """Per action shown: what to send or say, and how and when its effect is checked."""
    t, a = ctx.t, ctx.analysis
    check = (pd.Timestamp(a.as_of) + pd.DateOffset(months=check_months(a.config))).date()
    items = []
    for row in actions.itertuples(index=False):
        name = t(f"recommendations.actions.{row.action}.name")
        text = t(
            "overview.memo_item",
            action=name,
            sheet=literal(row.list_name or "–"),
            channel=t(f"economics.by_channel.{row.channel}"),
            what=t(f"recommendations.actions.{row.action}.what"),
        )
        rate = getattr(row, "break_even_success_rate", None)
        if rate is not None and not pd.isna(rate) and row.value_at_stake > 0:
            if float(rate) > 0.0005:
                text += " " + t("overview.memo_break_even", rate=t.percent(float(rate), digits=1))
            else:  # the assumed extra purchases alone pay for it
                text += " " + t("overview.memo_pays_on_uplift")
        items.append(f"- {text}")
    # without a margin the measurement compares revenue (gifts): not "marge per klant"
    memo = "overview.memo_check" if a.config.gross_margin < 1 else "overview.memo_check_revenue"
    items.append(f"- {t(memo, date=t.date(check))}")
    return "\n".join(items)


def executive_summary(ctx: ReportContext) -> Markdown:
    """Page one: what the base is worth, who is worth most, who is at risk, what to do.

    Without a usable model the page shows the history-based answers and says
    that no forecast could be made.

    Examples
    --------
    >>> ctx = setup(client="demo", language="en")  # doctest: +SKIP
    >>> print(executive_summary(ctx))  # doctest: +SKIP
    """
    t, a = ctx.t, ctx.analysis
    if not a.has_predictions or a.base_value is None:
        top = top_group(a.customers, value="revenue")
        return join(
            heading(t("sections.summary"), id="sec-summary"),
            finding(t("summary.finding_no_model")),
            key_figures(
                [
                    KeyFigure(
                        t.money(a.revenue_last_year),
                        t("overview.revenue_last_year"),
                        t("overview.revenue_last_year_note"),
                    ),
                    KeyFigure(
                        t.percent(top.past_share, digits=0),
                        t("overview.top_revenue_label"),
                        t(
                            "overview.top_revenue_note",
                            customers=t.number(top.n_customers),
                            segments=_segment_list(ctx, top.segments),
                        ),
                    ),
                ]
            ),
            _historic_paragraph(ctx),
        )
    top = top_group(valued_customers(a.customers), value="clv")
    risk = at_risk(a.customers)
    actions = top_actions(ctx)
    figures = [_worth_figure(ctx), _top_figure(ctx, top), _risk_figure(ctx, risk)]
    headline = t(
        "overview.headline_silence" if a.risk_basis == "silence" else "overview.headline",
        months=a.config.horizon_months,
        worth=t.money(a.base_value["clv"]),
        customers=t.number(risk.n_customers),
        stake=t.money(risk.value_at_stake),
    )
    tenure = tenure_blocks(ctx)
    blocks = [
        heading(t("sections.summary"), id="sec-summary"),
        finding(headline if tenure is None else f"{headline} {tenure[0]}"),
    ]
    if len(actions):
        figures.append(_action_figure(ctx, actions))
    blocks.append(key_figures(figures))
    blocks.append(_model_bias(ctx))
    blocks.append(heading(t("overview.what_to_do"), 2))
    if len(actions):
        blocks += [
            paragraph(
                t(
                    "overview.actions_intro_learned"
                    if learned_any(ctx)
                    else "overview.actions_intro"
                )
            ),
            _action_table(ctx, actions),
            _memo_items(ctx, actions),
        ]
        blocks.append(_return_notes(ctx, actions))
        blocks.append(_rate_lines(ctx, actions))
        blocks.append(_reach_sentence(ctx))
    else:
        blocks.append(paragraph(t("overview.no_profitable_action")))
    # subscriptions: how long they last, measured and forecast, instead of the rule of thumb
    # (whose "years" count calendar years with a payment, not how long a subscription ran)
    blocks.append(_historic_paragraph(ctx) if tenure is None else paragraph(tenure[1]))
    return join(*blocks)


def _return_notes(ctx: ReportContext, actions: pd.DataFrame) -> str:
    """How much of the return rests on the assumed extra purchases; revenue, not margin."""
    t, a = ctx.t, ctx.analysis
    return paragraph(
        *uplift_sentences(t, actions),
        *([t("overview.no_margin")] if a.config.gross_margin >= 1 else []),
    )


def uplift_sentences(t: Translator, actions: pd.DataFrame) -> list[str]:
    """What part of the return rests on assumed extra purchases, and what part is measured.

    An action priced with a rate an earlier report measured (``rate_source``
    ``"measured"`` or ``"partly_measured"``) brings extra purchases that are no
    longer only an assumption: they are counted apart, as (partly) measured.

    Examples
    --------
    >>> from clvreport.i18n import translator
    >>> plan = pd.DataFrame({"value_added": [100.0, 50.0], "value_kept": [300.0, 80.0],
    ...                      "rate_source": ["assumed", "partly_measured"]})
    >>> print(uplift_sentences(translator("nl"), plan)[1].replace(NBSP, " "))
    ... # doctest: +NORMALIZE_WHITESPACE
    Nog eens € 50 aan extra aankopen is deels gemeten:
    met de controlegroepen van een eerder rapport.
    """
    added = actions["value_added"].astype(float)
    sources = (
        actions["rate_source"].fillna("assumed")
        if "rate_source" in actions
        else pd.Series("assumed", index=actions.index)
    )
    learned = (sources != "assumed").to_numpy()
    assumed_added = float(added[~learned].sum())
    learned_added = float(added[learned].sum())
    kept = t.money(float(actions["value_kept"].sum()) - float(added.sum()))
    if not learned.any():
        return [t("overview.uplift_share", added=t.money(assumed_added), kept=kept)]
    how = rate_source_text(
        t, "measured" if (sources[learned] == "measured").all() else "partly_measured"
    )
    if not (~learned).any():
        return [
            t("overview.uplift_learned_all", learned=t.money(learned_added), how=how, kept=kept)
        ]
    return [
        t("overview.uplift_share", added=t.money(assumed_added), kept=kept),
        t("overview.uplift_learned", learned=t.money(learned_added), how=how),
    ]


def _model_bias(ctx: ReportContext) -> str | None:
    """The holdout's revenue error, when it is larger than the range suggests."""
    t, v = ctx.t, ctx.analysis.model.validation
    error = None if v is None else v.revenue_error
    if error is None or error != error or abs(error) <= 0.05:
        return None
    return paragraph(
        t(
            "overview.model_bias",
            error=t.percent(abs(error), digits=0),
            direction=t("overview.low" if error < 0 else "overview.high"),
        )
    )


def rate_source_text(t: Translator, source: object) -> str:
    """Whether a plan's success rate and uplift are assumed or (partly) measured, in words.

    The plan after a report with control groups prices a measured action with
    the learned rate (:func:`clvreport.experiments.learn_rates`); no text may
    call that rate an assumption. Without a source the rate is the assumption.

    Examples
    --------
    >>> from clvreport.i18n import translator
    >>> t = translator("nl")
    >>> rate_source_text(t, "partly_measured"), rate_source_text(t, None)
    ('deels gemeten', 'aanname')
    """
    known = ("assumed", "measured", "partly_measured")
    return t(f"recommendations.rate_source.{source if source in known else 'assumed'}")


def learned_any(ctx: ReportContext) -> bool:
    """Whether the plan prices any action with a rate an earlier report measured.

    Then "success rates are assumptions" no longer holds for every action.
    """
    plan = ctx.plan
    return "rate_source" in plan and bool(
        (plan["rate_source"].fillna("assumed") != "assumed").any()
    )


def _rate_lines(ctx: ReportContext, actions: pd.DataFrame) -> str:
    """Per action shown: is its success rate an assumption or measured; and the control groups."""
    t = ctx.t
    sources = actions["rate_source"] if "rate_source" in actions else ["assumed"] * len(actions)
    items = [
        t(
            "overview.rate_line",
            action=t(f"recommendations.actions.{action}.name"),
            source=rate_source_text(t, source),
        )
        for action, source in zip(actions["action"], sources, strict=True)
    ]
    sentences = [f"{t('overview.rates_intro')} {'; '.join(items)}."]
    held_back = int(actions["control"].sum()) if "control" in actions else 0
    if held_back:
        share = ctx.analysis.config.control_groups.share
        sentences.append(t("overview.control_line", share=t.percent(share, digits=0)))
    return paragraph(*sentences)


def _reach_sentence(ctx: ReportContext) -> str | None:
    """How many of the at-risk customers the advised actions contact, and why not the rest."""
    t, a = ctx.t, ctx.analysis
    advised = set(ctx.plan.loc[ctx.plan["profitable"].fillna(False).astype(bool), "action"])
    per_customer = ctx.customer_actions
    # the per-customer actions hold only customers with an action: align on the index
    mask = at_risk_mask(a.customers)
    risky = per_customer[per_customer.index.isin(mask.index[mask.to_numpy()])]
    if risky.empty:
        return None
    reached = int((risky["contact"] & risky["action"].isin(advised)).sum())
    shown = set(top_actions(ctx)["action"])
    top = int((risky["contact"] & risky["action"].isin(shown)).sum())
    values = {
        "reached": t.number(reached),
        "customers": t.number(len(risky)),
        "rest": t.number(len(risky) - reached),
        "top": t.number(top),
    }
    # the three actions above, all advised actions, and (when any) those left out
    key = "overview.reach" if reached < len(risky) else "overview.reach_all"
    return paragraph(t(key, **values))


def _historic_paragraph(ctx: ReportContext) -> str:
    """The rule of thumb's historic CLV (:func:`clvreport.report.terms.historic_paragraph`)."""
    return historic_paragraph(ctx)
