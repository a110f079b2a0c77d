"""The season beside a forecast check: the client's monthly profile and what it does to a miss.

A check over part of a year (the methodology's holdout, the days since the
previous report) is read beside the client's own season
(:mod:`clvreport.revenue_profile`): the busiest and quietest months with their share
of an average year, how busy the checked months are, and whether the season
points the way of the miss. When the checked forecast itself followed a
seasonal index (:mod:`clvreport.models.season`), the season explains no part
of the miss: the methodology says which pattern the forecast followed and
nothing is added here.
"""

from __future__ import annotations

import datetime as dt
import math

from clvreport.report.context import ReportContext
from clvreport.revenue_profile import MIN_SEASON_MONTHS, season_check

__all__ = ["season_sentences"]


def _month(ctx: ReportContext, month: int) -> str:
    return ctx.t.date(dt.date(2000, month, 1), style="LLLL")


def _profile_sentence(ctx: ReportContext) -> str:
    t, profile = ctx.t, ctx.analysis.season
    assert profile is not None
    busiest, busiest_share = profile.busiest
    quietest, quietest_share = profile.quietest
    return t(
        "season.profile",
        first=t.date(profile.first_month, style="MMM yyyy"),
        last=t.date(profile.last_month, style="MMM yyyy"),
        busiest=_month(ctx, busiest),
        busiest_share=t.percent(busiest_share, digits=0),
        quietest=_month(ctx, quietest),
        quietest_share=t.percent(quietest_share, digits=0),
        even=t.percent(1 / 12, digits=0),
    )


def season_sentences(
    ctx: ReportContext,
    start: dt.date,
    end: dt.date,
    error: float,
    *,
    what: str,
    forecast_seasonal: bool = False,
) -> list[str]:
    """What the season says about a check of ``[start, end]`` that missed by ``error``.

    Parameters
    ----------
    ctx
        The report context (``ctx.analysis.season``: the client's profile or ``None``).
    start, end
        The checked period (both included).
    error
        The check's miss, (predicted − actual) / actual (NaN when unknown).
    what
        ``"check"`` (the holdout) or ``"since"`` (the days since the previous report).
    forecast_seasonal
        Whether the checked forecast followed a seasonal index: then nothing.

    Returns
    -------
    list of str
        Nothing when the period covers whole years or the forecast followed
        the season; otherwise the profile's
        busiest and quietest months and how the checked months compare, ending
        in whether the season may explain part of the miss (or a sentence that
        the season cannot be measured on this data).

    Examples
    --------
    >>> season_sentences(ctx, dt.date(2024, 7, 1), dt.date(2024, 12, 31), -0.19, what="check")  # doctest: +SKIP
    """  # noqa: E501
    t, profile = ctx.t, ctx.analysis.season
    days = (end - start).days + 1
    if days <= 0 or forecast_seasonal:
        return []
    if profile is None:
        if abs(days / 365.25 - round(days / 365.25)) * 365.25 <= 7 and days >= 365:
            return []
        return [t("season.unknown", months=t.number(MIN_SEASON_MONTHS))]
    check = season_check(profile, start, end)
    if check.whole_years:
        return []
    values = {
        "what": t(f"season.{what}"),
        "period": f"{t.date(start, style='d MMM yyyy')} – {t.date(end, style='d MMM yyyy')}",
        "share": t.percent(check.share, digits=0),
        "calendar": t.percent(check.calendar_share, digits=0),
    }
    sentences = [_profile_sentence(ctx), t(f"season.{check.kind}", **values)]
    explains = check.explains(error)
    if explains is not None and math.isfinite(check.effect):
        sentences.append(
            t(
                "season.explains" if explains else "season.against",
                effect=t.percent(abs(check.effect), digits=0),
                direction=t("overview.low" if check.effect < 0 else "overview.high"),
            )
        )
    return sentences
