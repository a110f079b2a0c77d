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
