"""The reason sentence of customers.csv reads as a person would say it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from clvreport.i18n import translator
from clvreport.next_purchase_text import reasons

AS_OF = dt.date(1998, 6, 30)


def _frame(last: str, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n_purchases": [n],
            "first_purchase": [pd.Timestamp("1997-01-20")],
            "last_purchase": [pd.Timestamp(last)],
            "typical_interval_days": [3.0 if n > 1 else 40.0],
            "overdue_ratio": [0.0],
            "p_purchase_horizon": [0.99 if n > 1 else 0.3],
            "next_purchase_median": [pd.Timestamp("1998-07-03") if n > 1 else pd.NaT],
        }
    )


@pytest.mark.parametrize(
    ("language", "n", "start"),
    [
        ("nl", 217, "217 aankopen sinds 1997, de laatste op de rapportdatum; "),
        ("en", 217, "217 purchases since 1997, the last on the report date; "),
        ("nl", 1, "1 aankoop, op de rapportdatum; "),
        ("en", 1, "1 purchase, on the report date; "),
    ],
)
def test_a_purchase_on_the_report_date_is_not_zero_days_ago(language, n, start):
    """CDNOW's best customer read "de laatste 0 dagen geleden"."""
    text = reasons(_frame("1998-06-30", n), AS_OF, translator(language), 12).iloc[0]
    assert text.startswith(start), text
    assert "0 dagen" not in text and "0 days" not in text


def test_a_purchase_the_day_before_still_counts_the_day():
    text = reasons(_frame("1998-06-29", 217), AS_OF, translator("nl"), 12).iloc[0]
    assert text.startswith("217 aankopen sinds 1997, de laatste 1 dag geleden; "), text


def _days_frame(n: int, repeat_days: int, typical: float) -> pd.DataFrame:
    return _frame("1998-03-30", n).assign(
        frequency=[repeat_days], typical_interval_days=[typical], p_purchase_horizon=[0.3]
    )


@pytest.mark.parametrize(
    ("language", "start"),
    [
        ("nl", "3 aankopen op 2 dagen sinds 1997, de laatste 3 maanden geleden; "),
        ("en", "3 purchases on 2 days since 1997, the last 3 months ago; "),
    ],
)
def test_the_rhythm_is_of_purchase_days_and_the_sentence_says_so(language, start):
    """CDNOW read "3 aankopen sinds 1997 ... elke 14 maanden": two of the orders on one day.

    The typical interval is first to last purchase day over the repeat purchase
    days (``frequency``), so the sentence counts those days beside the orders.
    """
    text = reasons(_days_frame(3, 1, 434.0), AS_OF, translator(language), 12).iloc[0]
    assert text.startswith(start), text
    assert "14 " in text.split("; ")[1], text  # 434 days between the two purchase days


@pytest.mark.parametrize(
    ("language", "start"),
    [
        ("nl", "4 aankopen op één dag, 3 maanden geleden; "),
        ("en", "4 purchases on one day, 3 months ago; "),
    ],
)
def test_orders_of_one_day_have_no_rhythm(language, start):
    """Several orders on one day are one purchase moment: no rhythm from others' median."""
    text = reasons(_days_frame(4, 0, 60.0), AS_OF, translator(language), 12).iloc[0]
    assert text.startswith(start), text
    assert "gemiddeld" not in text and "every" not in text


def test_orders_each_on_their_own_day_read_as_before():
    text = reasons(_days_frame(3, 2, 100.0), AS_OF, translator("nl"), 12).iloc[0]
    assert text.startswith("3 aankopen sinds 1997, de laatste 3 maanden geleden; "), text
