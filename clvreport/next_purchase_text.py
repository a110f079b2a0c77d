"""One sentence per customer on when their next purchase is due, from their own figures.

``reason`` in ``customers.csv`` and the action lists: the history ("3 aankopen
sinds 2023, de laatste 5 maanden geleden"), the customer's rhythm and how far
past it they are ("koopt gemiddeld elke 2 maanden, nu 2,5× zo lang stil"), and
the outlook: the median date of the next purchase when one is expected within
the horizon, else its chance (:mod:`clvreport.models.next_purchase`).

Donors (:func:`donor_reasons`) and subscribers (:func:`subscriber_reasons`) have
their own sentence, from the period analogue (:func:`clvreport.donors.next_gift_table`)
and the next renewal (:func:`clvreport.subscribers.next_renewal_table`).

The text is built once per distinct combination of its (rounded) parts and
expanded to the customers, so a million customers cost a few thousand
formatted sentences.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import numpy as np
import pandas as pd

from clvreport.i18n import Translator
from clvreport.models.compression import distinct_rows
from clvreport.models.next_purchase import EXPECTED_SHARE
from clvreport.models.units import DAYS_PER_MONTH

__all__ = [
    "OVERDUE_SHOWN",
    "donor_reasons",
    "duration_parts",
    "reasons",
    "risk_text",
    "subscriber_reasons",
]

OVERDUE_SHOWN = 1.5
"""A repeat buyer's silence is called out from this many typical intervals."""
_UNITS = ("days", "weeks", "months", "years")


def duration_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A duration in days as a count of the unit a person would use.

    Under two weeks in days, under eight weeks in weeks, under two years in
    months, else in years.

    Returns
    -------
    tuple of numpy.ndarray
        ``(unit, count)``: the index into ``("days", "weeks", "months", "years")``
        (-1 for NaN) and the rounded count (at least 1 for weeks and longer).

    Examples
    --------
    >>> unit, count = duration_parts(np.array([3.0, 20.0, 150.0, 900.0]))
    >>> unit.tolist(), count.tolist()
    ([0, 1, 2, 3], [3, 3, 5, 2])
    """
    d = np.asarray(days, dtype=float)
    unit = np.select(
        [np.isnan(d), d < 14, d < 56, d < 730],
        [-1, 0, 1, 2],
        default=3,
    )
    size = np.array([1.0, 7.0, DAYS_PER_MONTH, 365.25])[np.maximum(unit, 0)]
    count = np.where(unit < 0, 0, np.rint(np.nan_to_num(d) / size)).astype(np.int64)
    count = np.where(unit > 0, np.maximum(count, 1), np.maximum(count, 0))
    return unit.astype(np.int64), count


def _duration(t: Translator, unit: int, count: int) -> str:
    name = _UNITS[unit]
    key = f"next_purchase.units.{name[:-1] if count == 1 else name}"
    return t(key, n=t.number(count))


def risk_text(labels: pd.Series, t: Translator) -> pd.Series:
    """The risk labels in the report language (``laag``/``verhoogd``/``hoog``)."""
    names = {key: t(f"next_purchase.risk.{key}") for key in ("low", "elevated", "high")}
    return labels.astype(object).map(names)


def _history_text(
    t: Translator, count: int, on_days: int, year: int, since_unit: int, since_count: int
) -> str:
    """``3 aankopen sinds 2024, de laatste 5 maanden geleden`` (and its variants)."""
    since = _duration(t, since_unit, since_count) if since_unit >= 0 else ""
    # bought on the report date itself: not "0 dagen geleden"
    today_key = "_today" if since_unit == 0 and since_count == 0 else ""
    if count >= 2 and on_days == 1:
        # several orders, all on one day: no rhythm to speak of
        return t(f"next_purchase.reason.history_one_day{today_key}", n=t.number(count), since=since)
    if count >= 2 and on_days < count:
        return t(
            f"next_purchase.reason.history_days{today_key}",
            n=t.number(count),
            days=t.number(on_days),
            year=year,
            since=since,
        )
    if count >= 2:
        return t(
            f"next_purchase.reason.history{today_key}", n=t.number(count), year=year, since=since
        )
    return t(f"next_purchase.reason.history_one{today_key}", since=since)


def _rhythm_text(t: Translator, unit: int, count: int, shown_ratio: float) -> str:
    """``koopt gemiddeld elke 2 maanden, nu 2,5× zo lang stil``."""
    rhythm = t("next_purchase.reason.rhythm", interval=_duration(t, unit, count))
    if shown_ratio:
        ratio_text = t.number(shown_ratio, digits=1 if shown_ratio % 1 else 0)
        rhythm += t("next_purchase.reason.overdue", ratio=ratio_text)
    return rhythm


def _outlook_text(t: Translator, median: int, percent: float, horizon: str) -> str:
    """``volgende aankoop verwacht rond 10 februari 2025`` or the chance within the horizon."""
    if median >= 0:
        date = dt.date(1970, 1, 1) + dt.timedelta(days=median)
        return t("next_purchase.reason.expected", date=t.date(date))
    if percent >= 0:
        return t(
            "next_purchase.reason.unlikely",
            horizon=horizon,
            chance=t.percent(percent / 100, digits=0),
        )
    return ""


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers of a date column (``-1`` for a missing one) and whether present."""
    days = pd.to_datetime(values, errors="coerce").to_numpy(dtype="datetime64[D]")
    missing = np.isnat(days)
    numbers = np.where(missing, -1, days.astype(np.int64))
    return numbers, ~missing


def reasons(
    customers: pd.DataFrame, as_of: dt.date, t: Translator, horizon_months: int
) -> pd.Series:
    """The reason sentence of every customer, in the report language.

    Parameters
    ----------
    customers
        With ``n_purchases``, ``first_purchase``, ``last_purchase``,
        ``frequency`` (repeat purchase days; optional: without it every order is
        a day of its own), ``typical_interval_days``, ``overdue_ratio``, ``p_purchase_horizon`` and
        ``next_purchase_median``.
    as_of
        The report date (the history's end).
    t
        Translator of the report language.
    horizon_months
        The horizon of ``p_purchase_horizon``.

    Returns
    -------
    pandas.Series
        One sentence per customer, indexed like ``customers``: categorical (the
        customers share a few thousand sentences).

    Examples
    --------
    >>> from clvreport.i18n import translator
    >>> frame = pd.DataFrame({"n_purchases": [3], "first_purchase": [pd.Timestamp("2024-02-01")],
    ...     "last_purchase": [pd.Timestamp("2024-08-01")], "typical_interval_days": [60.0],
    ...     "overdue_ratio": [2.5], "p_purchase_horizon": [0.7],
    ...     "next_purchase_median": [pd.Timestamp("2025-02-10")]})
    >>> text = reasons(frame, dt.date(2024, 12, 31), translator("nl"), 12).iloc[0]
    >>> text.split("; ")  # doctest: +NORMALIZE_WHITESPACE
    ['3 aankopen sinds 2024, de laatste 5 maanden geleden',
     'koopt gemiddeld elke 2 maanden, nu 2,5× zo lang stil',
     'volgende aankoop verwacht rond 10 februari 2025.']
    """
    n = len(customers)
    if n == 0:
        return pd.Series([], index=customers.index, dtype="str")
    today = np.datetime64(as_of, "D").astype(np.int64)
    horizon = (
        _duration(t, 2, horizon_months)
        if horizon_months % 12
        else _duration(t, 3, horizon_months // 12)
    )
    builders = tuple(
        functools.cache(functools.partial(make, t))
        for make in (_history_text, _rhythm_text, _outlook_text)
    )
    code_of: dict[str, int] = {}  # each distinct sentence's code, across the blocks
    codes = np.empty(n, dtype=np.int64)
    for start in range(0, n, REASON_BLOCK):
        block = customers.iloc[start : start + REASON_BLOCK]
        parts = _reason_figures(block, today)
        block_codes, first_rows = distinct_rows(*parts)
        # each piece depends on a few of the row's figures: composed once per distinct
        # combination (a million customers share a few thousand of each)
        texts = [_sentence(parts, row, horizon, builders) for row in first_rows]
        sentence_codes = np.array([code_of.setdefault(text, len(code_of)) for text in texts])
        codes[start : start + len(block)] = sentence_codes[block_codes]
    # codes into the distinct sentences: the text of 17 million customers took 2.5 GB;
    # the files decode it a batch at a time
    sentences = pd.Index(list(code_of), dtype="str")
    sentence = pd.Categorical.from_codes(codes, categories=sentences)
    return pd.Series(sentence, index=customers.index, name="reason")


REASON_BLOCK = 1_000_000
"""Customers whose figures :func:`reasons` holds at a time (ten arrays of 17 million
customers and their distinct rows took about 2 GB at once)."""


def _reason_figures(customers: pd.DataFrame, today: int) -> tuple[np.ndarray, ...]:
    """The figures a customer's sentence is composed of, one array each."""
    last, has_last = _codes(customers["last_purchase"])
    first, _ = _codes(customers["first_purchase"])
    since_unit, since_count = duration_parts(np.where(has_last, today - last, np.nan))
    purchases = customers["n_purchases"].to_numpy(dtype=float, na_value=0).astype(np.int64)
    # the rhythm is one of purchase days (orders of one day are one purchase moment,
    # as in the models' frequency): the sentence names the days when they are fewer
    if "frequency" in customers:
        days = customers["frequency"].to_numpy(dtype=float, na_value=0).astype(np.int64) + 1
        days = np.minimum(days, purchases)
    else:
        days = purchases
    year = np.where(
        first >= 0, first.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970, 0
    )
    repeat = days >= 2
    interval_unit, interval_count = duration_parts(
        np.where(repeat, customers["typical_interval_days"].to_numpy(dtype=float), np.nan)
    )
    ratio = customers["overdue_ratio"].to_numpy(dtype=float)
    shown_ratio = np.where(repeat & (ratio >= OVERDUE_SHOWN), np.rint(ratio * 2) / 2, 0.0)
    p = customers["p_purchase_horizon"].to_numpy(dtype=float)
    median, has_median = _codes(customers["next_purchase_median"])
    expected = has_median & (p >= EXPECTED_SHARE)
    percent = np.where(expected | np.isnan(p), -1, np.rint(np.nan_to_num(p) * 100))
    median = np.where(expected, median, -1)
    return (
        purchases,
        days,
        year,
        since_unit,
        since_count,
        interval_unit,
        interval_count,
        shown_ratio,
        median,
        percent,
    )


def _sentence(
    figures: tuple[np.ndarray, ...], row: int, horizon: str, builders: tuple[Any, ...]
) -> str:
    """The sentence of the customer at ``row`` of ``figures`` (:func:`_reason_figures`)."""
    purchases, days, year, since_unit, since_count = figures[:5]
    interval_unit, interval_count, shown_ratio, median, percent = figures[5:]
    history_of, rhythm_of, outlook_of = builders
    history = history_of(
        int(purchases[row]), int(days[row]), int(year[row]),
        int(since_unit[row]), int(since_count[row]),
    )  # fmt: skip
    pieces = [history]
    if purchases[row] >= 2 and days[row] >= 2:
        pieces.append(
            rhythm_of(int(interval_unit[row]), int(interval_count[row]), float(shown_ratio[row]))
        )
    pieces.append(outlook_of(int(median[row]), float(percent[row]), horizon))
    return "; ".join(p for p in pieces if p) + "."


def _periods_text(t: Translator, period: str, count: int) -> str:
    """``een jaar``, ``3 kwartalen``: a number of giving periods."""
    if count == 1:
        return t(f"donors.next_gift.one.{period}")
    return t(f"donors.count.{period}", n=t.number(count))


def donor_reasons(
    customers: pd.DataFrame, t: Translator, *, period: str, horizon_months: int
) -> pd.Series:
    """The reason sentence of every donor, in the report language.

    ``"gaf in 3 van de 5 jaar, laatst in 2023; zulke donateurs geven meestal weer
    binnen een jaar."``: the periods with a gift of those since the first, the last
    one, and the fewest coming periods within which a gift is more likely than not
    (``next_gift_periods``); without one, the chance of a gift within the horizon.

    Parameters
    ----------
    customers
        With ``periods_given``, ``periods_seen``, ``last_gift_period``,
        ``next_gift_periods`` and ``p_purchase_horizon``
        (:func:`clvreport.donors.next_gift_table`).
    t
        Translator of the report language.
    period
        The giving period (``year``, ``quarter``, ``month``).
    horizon_months
        The horizon of ``p_purchase_horizon`` (in whole periods, at least one).

    Returns
    -------
    pandas.Series
        One sentence per donor (missing where the model gave no figures), indexed like
        ``customers``.

    Examples
    --------
    >>> from clvreport.i18n import Translator
    >>> frame = pd.DataFrame({"periods_given": [3], "periods_seen": [5],
    ...     "last_gift_period": ["2023"], "next_gift_periods": [1.0],
    ...     "p_purchase_horizon": [0.6]})
    >>> donor_reasons(frame, Translator("nl", audience="donors"), period="year",
    ...               horizon_months=12).iloc[0]
    'gaf in 3 van de 5 jaar, laatst in 2023; zulke donateurs geven meestal weer binnen een jaar.'
    """
    from clvreport.models.units import horizon_periods

    if len(customers) == 0:
        return pd.Series([], index=customers.index, dtype="str")
    given = customers["periods_given"].to_numpy(dtype=float, na_value=np.nan)
    seen = customers["periods_seen"].to_numpy(dtype=float, na_value=np.nan)
    last = (
        customers["last_gift_period"]
        .astype(object)
        .where(customers["last_gift_period"].notna(), "")
    )
    within = customers["next_gift_periods"].to_numpy(dtype=float, na_value=np.nan)
    p = customers["p_purchase_horizon"].to_numpy(dtype=float, na_value=np.nan)
    percent = np.where(np.isnan(within) & ~np.isnan(p), np.rint(np.nan_to_num(p) * 100), -1)
    parts = (
        np.nan_to_num(given, nan=-1).astype(np.int64),
        np.nan_to_num(seen, nan=-1).astype(np.int64),
        pd.factorize(last.to_numpy())[0],
        np.nan_to_num(within, nan=-1).astype(np.int64),
        percent.astype(np.int64),
    )
    codes, first_rows = distinct_rows(*parts)
    horizon = _periods_text(t, period, horizon_periods(horizon_months, period))
    texts: list[str | None] = []
    for row in first_rows:
        if given[row] != given[row] or seen[row] != seen[row]:
            texts.append(None)
            continue
        label = str(last.iloc[row])
        if int(seen[row]) <= 1:
            pieces = [t("donors.next_gift.history_new", last=label)]
        else:
            pieces = [
                t(
                    "donors.next_gift.history",
                    given=t.number(int(given[row])),
                    seen=_periods_text(t, period, int(seen[row])),
                    last=label,
                )
            ]
        if within[row] == within[row]:
            pieces.append(
                t("donors.next_gift.expected", within=_periods_text(t, period, int(within[row])))
            )
        elif percent[row] >= 0:
            pieces.append(
                t(
                    "donors.next_gift.unlikely",
                    horizon=horizon,
                    chance=t.percent(percent[row] / 100, digits=0),
                )
            )
        texts.append("; ".join(pieces) + ".")
    # kept as codes into the distinct sentences: the text of 17 million customers took
    # 2.5 GB; the files decode it a batch at a time
    text_codes, sentences = pd.factorize(pd.Index(texts, dtype="str"))
    sentence = pd.Categorical.from_codes(text_codes[codes], categories=sentences)
    return pd.Series(sentence, index=customers.index, name="reason")


def subscriber_reasons(customers: pd.DataFrame, t: Translator) -> pd.Series:
    """The reason sentence of every running subscription, in the report language.

    ``"abonnee sinds 14 maanden, volgende verlenging 1 maart 2026; kans op opzeggen
    daarvoor 6%."``: the whole months since the start (``tenure_months``), the next
    renewal date and the chance to cancel before it
    (:func:`clvreport.subscribers.next_renewal_table`). Missing for an ended subscription.

    Examples
    --------
    >>> from clvreport.i18n import Translator
    >>> frame = pd.DataFrame({"tenure_months": [14.0],
    ...     "next_renewal": [pd.Timestamp("2026-03-01")], "p_cancel_before_renewal": [0.06]})
    >>> subscriber_reasons(frame, Translator("nl", audience="subscribers")).iloc[0]
    'abonnee sinds 14 maanden, volgende verlenging 1 maart 2026; kans op opzeggen daarvoor 6%.'
    """
    if len(customers) == 0:
        return pd.Series([], index=customers.index, dtype="str")
    tenure = customers["tenure_months"].to_numpy(dtype=float, na_value=np.nan)
    renewal, has_renewal = _codes(customers["next_renewal"])
    p = customers["p_cancel_before_renewal"].to_numpy(dtype=float, na_value=np.nan)
    shown = has_renewal & ~np.isnan(tenure) & ~np.isnan(p)
    percent = np.where(shown, np.rint(np.nan_to_num(p) * 100), -1).astype(np.int64)
    months = np.where(shown, np.nan_to_num(tenure), -1).astype(np.int64)
    codes, first_rows = distinct_rows(months, np.where(shown, renewal, -1), percent)
    texts: list[str | None] = []
    for row in first_rows:
        if not shown[row]:
            texts.append(None)
            continue
        count = int(months[row])
        if count < 1:
            since = t("subscribers.next_renewal.new")
        else:
            key = "month" if count == 1 else "months"
            since = t(f"next_purchase.units.{key}", n=t.number(count))
        date = dt.date(1970, 1, 1) + dt.timedelta(days=int(renewal[row]))
        texts.append(
            t(
                "subscribers.next_renewal.reason",
                since=since,
                date=t.date(date),
                chance=t.percent(percent[row] / 100, digits=0),
            )
            + "."
        )
    # kept as codes into the distinct sentences: the text of 17 million customers took
    # 2.5 GB; the files decode it a batch at a time
    text_codes, sentences = pd.factorize(pd.Index(texts, dtype="str"))
    sentence = pd.Categorical.from_codes(text_codes[codes], categories=sentences)
    return pd.Series(sentence, index=customers.index, name="reason")
