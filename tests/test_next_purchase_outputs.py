"""The next-purchase columns in customers.csv and the action lists, in Dutch and English."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest

from clvreport.i18n import Translator
from clvreport.next_purchase_text import duration_parts, reasons
from clvreport.outputs import write_action_lists
from clvreport.segments import default_segment_rules

HEADER_ROW = 3
AS_OF = dt.date(2024, 12, 31)
NEW_COLUMNS = [
    "next_purchase_median",
    "next_purchase_low",
    "next_purchase_high",
    "p_purchase_90d",
    "overdue_ratio",
    "risk_label",
    "reason",
]


@pytest.fixture
def customers() -> pd.DataFrame:
    n = 6
    expected = np.array([True, True, False, True, False, True])
    median = pd.to_datetime(["2025-02-10", "2025-01-20", None, "2025-03-01", None, "2025-01-15"])
    return pd.DataFrame(
        {
            "customer_id": [f"K{i:03d}" for i in range(n)],
            "segment": ["at_risk"] * 3 + ["cant_lose_them"] * 3,
            "n_purchases": [3, 8, 1, 5, 2, 4],
            "revenue": np.linspace(100.0, 600.0, n),
            "first_purchase": pd.to_datetime(["2023-02-01"] * n),
            "last_purchase": pd.to_datetime(["2024-08-01"] * n),
            "p_alive": np.linspace(0.1, 0.6, n),
            "expected_purchases": np.linspace(0.5, 3.0, n),
            "clv": [50.0] * n,
            "value_at_stake": [900.0, 700.0, 500.0, 300.0, 200.0, 100.0],
            "next_purchase_median": median,
            "next_purchase_low": median - pd.Timedelta(days=10),
            "next_purchase_high": median + pd.Timedelta(days=40),
            "p_purchase_90d": [0.4, 0.6, 0.05, 0.3, 0.1, 0.5],
            "p_purchase_horizon": np.where(expected, 0.7, 0.15),
            "typical_interval_days": [60.0, 30.0, 45.0, 90.0, 20.0, 40.0],
            "overdue_ratio": [2.5, 5.1, 3.4, 1.7, 7.6, 3.8],
            "risk_label": pd.Categorical(
                np.where(expected, "low", "high"), categories=["low", "elevated", "high"]
            ),
        }
    )


def _sheet(tmp_path, customers, language):
    path = tmp_path / f"lists_{language}.xlsx"
    plan = write_action_lists(
        path,
        customers,
        Translator(language, "EUR"),
        labels=default_segment_rules().labels(language),
        as_of=AS_OF,
    )
    book = openpyxl.load_workbook(path)
    return book[plan.loc[plan["list_name"].notna(), "list_name"].iloc[0]]


def _rows(sheet) -> pd.DataFrame:
    header = [c.value for c in sheet[HEADER_ROW]]
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=HEADER_ROW + 1)]
    return pd.DataFrame(values, columns=header)


@pytest.mark.parametrize(
    ("language", "headers", "risk", "date_format"),
    [
        (
            "nl",
            ["Risico", "Volgende aankoop verwacht", "Kans op aankoop binnen 90 dagen", "Waarom"],
            {"laag", "hoog"},
            "dd-mm-yyyy",
        ),
        (
            "en",
            ["Risk", "Next purchase expected", "Chance of a purchase within 90 days", "Why"],
            {"low", "high"},
            "dd/mm/yyyy",
        ),
    ],
)
def test_action_lists_lead_with_the_next_purchase(
    tmp_path, customers, language, headers, risk, date_format
) -> None:
    sheet = _sheet(tmp_path, customers, language)
    header = [c.value for c in sheet[HEADER_ROW]]
    # right after the id, segment, action and channel: what to read before calling
    assert header[4 : 4 + len(headers) + 3] == [
        headers[0],
        headers[1],
        header[6],
        header[7],
        headers[2],
        header[9],
        headers[3],
    ]
    rows = _rows(sheet)
    assert set(rows[headers[0]]) <= risk and len(set(rows[headers[0]])) == 2
    first = {h: c for h, c in zip(header, sheet[HEADER_ROW + 1], strict=False)}
    assert first[headers[1]].number_format == date_format
    assert first[headers[1]].value == dt.datetime(2025, 2, 10)  # K000, the largest stake
    assert "%" in first[headers[2]].number_format
    reason = first[headers[3]].value
    assert reason.endswith(".") and ("2025" in reason)
    # a customer without an expected purchase has no dates and a chance in the reason
    expected = rows[headers[1]].notna()
    assert (~expected).any()
    assert rows.loc[~expected, headers[3]].str.contains("%").all()


def test_reason_sentences_in_both_languages(customers) -> None:
    nl = reasons(customers, AS_OF, Translator("nl"), 12)
    en = reasons(customers, AS_OF, Translator("en"), 12)
    assert nl.iloc[0] == (
        "3 aankopen sinds 2023, de laatste 5 maanden geleden; koopt gemiddeld elke 2 maanden, "
        "nu 2,5× zo lang stil; volgende aankoop verwacht rond 10 februari 2025."
    )
    assert en.iloc[0] == (
        "3 purchases since 2023, the last 5 months ago; buys every 2 months on average, "
        "now silent 2.5× as long; next purchase expected around 10 February 2025."
    )
    assert nl.iloc[2] == "1 aankoop, 5 maanden geleden; kans op een aankoop binnen 1 jaar: 15%."
    assert en.iloc[2] == "1 purchase, 5 months ago; chance of a purchase within 1 year: 15%."


def test_reasons_are_built_per_distinct_combination() -> None:
    """A million customers with few distinct figures: identical sentences, each one correct."""
    n = 1_000_000
    rng = np.random.default_rng(0)
    purchases = rng.integers(1, 6, n)
    frame = pd.DataFrame(
        {
            "n_purchases": purchases,
            "first_purchase": pd.Timestamp("2023-01-01"),
            "last_purchase": pd.Timestamp("2024-12-01")
            - pd.to_timedelta(rng.integers(0, 2, n), "D"),
            "typical_interval_days": 30.0,
            "overdue_ratio": 1.0,
            "p_purchase_horizon": 0.3,
            "next_purchase_median": pd.NaT,
        }
    )
    text = reasons(frame, AS_OF, Translator("nl"), 12)
    assert len(text) == n and text.nunique() == 5  # 5 counts x 1 rounded "since"
    one = text[purchases == 1].iloc[0]
    assert one == "1 aankoop, 4 weken geleden; kans op een aankoop binnen 1 jaar: 30%."
    # held as codes into the 5 sentences, not a million texts
    assert isinstance(text.dtype, pd.CategoricalDtype) and len(text.cat.categories) == 5
    assert text.memory_usage(deep=True) < 2 * n
    counts = text.astype(str).value_counts()
    assert counts[one] == (purchases == 1).sum()


def test_durations_use_the_unit_a_person_would() -> None:
    unit, count = duration_parts(np.array([1.0, 13.0, 14.0, 55.0, 56.0, 729.0, 730.0, np.nan]))
    assert unit.tolist() == [0, 0, 1, 1, 2, 2, 3, -1]
    assert count.tolist() == [1, 13, 2, 8, 2, 24, 2, 0]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_demo_customers_csv_holds_the_next_purchase(example_report, language) -> None:
    folder = example_report("demo", language)
    csv = pd.read_csv(folder / "customers.csv", dtype={"customer_id": str})
    for column in NEW_COLUMNS:
        assert column in csv.columns, column
    as_of = dt.date.fromisoformat(json.loads((folder / "model.json").read_text())["as_of"])
    dates = {c: pd.to_datetime(csv[c]) for c in NEW_COLUMNS[:3]}
    shown = dates["next_purchase_median"].notna()
    assert shown.any() and (~shown).any()
    assert (dates["next_purchase_low"][shown] > pd.Timestamp(as_of)).all()
    assert (dates["next_purchase_low"][shown] <= dates["next_purchase_median"][shown]).all()
    assert (dates["next_purchase_median"][shown] <= dates["next_purchase_high"][shown]).all()
    # dates only where a purchase is expected within the horizon: those are the low risks
    assert (csv.loc[shown, "risk_label"] == "low").all()
    assert (csv.loc[shown, "p_purchase_horizon"] >= 0.5).all()
    assert set(csv["risk_label"]) <= {"low", "elevated", "high"}
    assert csv["p_purchase_90d"].between(0, 1).all()
    assert (csv["p_purchase_30d"] <= csv["p_purchase_90d"] + 1e-4).all()
    assert (csv["p_purchase_90d"] <= csv["p_purchase_horizon"] + 1e-4).all()
    word = "aankoop" if language == "nl" else "purchase"
    assert csv["reason"].str.contains(word).all()
    model = json.loads((folder / "model.json").read_text())
    validation = model.get("validation") or {}
    if validation.get("coverage") is not None:
        assert 0 <= validation["next_purchase_coverage"] <= 1
        assert len(validation["p_purchase_90d_calibration"]) == 10


def test_the_methodology_names_a_gap_beyond_the_tolerance_as_the_models() -> None:
    """Off by more than 5 points in the direction of the model's holdout count: said, with
    that count's error; within the tolerance, or against the count, nothing is said."""
    from types import SimpleNamespace

    from clvreport.i18n import Translator
    from clvreport.report.next_purchase import _bias_sentence

    rows = [
        {"decile": 1, "customers": 10, "predicted": 0.04, "observed": 0.07},
        {"decile": 2, "customers": 10, "predicted": 0.08, "observed": 0.136},
        {"decile": 3, "customers": 10, "predicted": 0.62, "observed": 0.60},
    ]
    under = SimpleNamespace(total_error=-0.129)
    nl = _bias_sentence(Translator("nl"), rows, under)
    assert nl.startswith(
        "In de 2e tiende zit de voorspelde kans het verst naast het werkelijke aandeel "
        "(5,6 procentpunt te laag). Dat komt van het model, niet van de berekening: het "
        "verwachtte in de toetsperiode 13% minder aankopen dan er kwamen"
    )
    en = _bias_sentence(Translator("en"), rows, under)
    assert en.startswith("In decile 2 the predicted chance is furthest from the observed share")
    assert "it expected 13% fewer purchases" in en
    assert _bias_sentence(Translator("nl"), rows, SimpleNamespace(total_error=0.1)) is None
    close = [dict(r, observed=r["predicted"] + 0.03) for r in rows]
    assert _bias_sentence(Translator("nl"), close, under) is None
    assert _bias_sentence(Translator("nl"), rows, None) is None


@pytest.mark.parametrize("block", [1, 4, 7])
def test_reasons_in_blocks_are_the_sentences_of_one_block(customers, monkeypatch, block) -> None:
    """Composed a block of customers at a time (bounded memory at millions), each customer
    gets the sentence of the whole, and each sentence is one category."""
    from clvreport import next_purchase_text

    many = pd.concat([customers] * 5, ignore_index=True)
    many["n_purchases"] = np.arange(len(many)) % 4 + 1
    whole = reasons(many, AS_OF, Translator("en"), 12)
    monkeypatch.setattr(next_purchase_text, "REASON_BLOCK", block)
    blocked = reasons(many, AS_OF, Translator("en"), 12)
    assert blocked.astype(str).tolist() == whole.astype(str).tolist()
    assert blocked.index.equals(many.index)
    categories = blocked.cat.categories
    assert categories.is_unique and len(categories) == whole.nunique()
