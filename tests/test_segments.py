"""RFM scores, segment rules as data, overrides and the one-segment-per-customer property."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import clvreport.segments
from clvreport.config import ClientConfig
from clvreport.errors import ConfigError
from clvreport.segments import (
    SCORE_NAMES,
    assign_segments,
    default_segment_rules,
    load_segment_rules,
    quantile_scores,
    rfm_scores,
    rfm_segments,
    segment_summary,
)

CDNOW_SAMPLE = Path(__file__).parent / "data" / "cdnow_sample.txt"
RULES_FILE = Path(clvreport.segments.__file__).parent / "rules" / "segments.yml"
SEGMENTS = [
    "champions",
    "loyal",
    "potential_loyalists",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose_them",
    "hibernating",
    "lost",
]


def test_docstring_examples_run():
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    assert doctest.testmod(clvreport.segments, optionflags=flags).failed == 0


# --- scores -----------------------------------------------------------------------------


def test_quintiles_of_distinct_values():
    # 10 customers: k = 0..9 worse customers → 1 + floor(5k / 10) = 1,1,2,2,3,3,4,4,5,5.
    assert quantile_scores(np.arange(10)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quantile_scores(np.arange(10), higher_is_better=False).tolist() == [
        5, 5, 4, 4, 3, 3, 2, 2, 1, 1
    ]  # fmt: skip


def test_ties_share_the_score_of_their_lowest_position():
    # Six one-time buyers (k = 0) → 1; two with 2 purchases (k = 6) → 1 + floor(30/10) = 4;
    # 3 purchases (k = 8) → 5; 4 purchases (k = 9) → 1 + floor(45/10) = 5.
    assert quantile_scores([1, 1, 1, 1, 1, 1, 2, 2, 3, 4]).tolist() == [1] * 6 + [4, 4, 5, 5]
    assert quantile_scores([7, 7, 7]).tolist() == [1, 1, 1]


def test_other_bin_counts():
    # bins = 4 over 8 distinct values: 1 + floor(4k / 8) = 1,1,2,2,3,3,4,4.
    assert quantile_scores(range(8), bins=4).tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert quantile_scores(range(3), bins=10).tolist() == [1, 4, 7]
    with pytest.raises(ValueError, match="bins"):
        quantile_scores([1, 2], bins=1)
    with pytest.raises(ValueError, match="NaN"):
        quantile_scores([1.0, np.nan])


def test_rfm_scores_and_fm():
    customers = pd.DataFrame(
        {
            "recency_days": [0, 10, 20, 30, 40],
            "n_purchases": [1, 1, 1, 1, 9],
            "revenue": [50.0, 40.0, 30.0, 20.0, 10.0],
        },
        index=list("abcde"),
    )
    s = rfm_scores(customers)
    assert s.index.tolist() == list("abcde")
    assert s["r"].tolist() == [5, 4, 3, 2, 1]
    assert s["f"].tolist() == [1, 1, 1, 1, 5]
    assert s["m"].tolist() == [5, 4, 3, 2, 1]
    # fm = (f + m) / 2 rounded half up: (1+5)/2 = 3, 2.5 → 3, 2, 1.5 → 2, 3.
    assert s["fm"].tolist() == [3, 3, 2, 2, 3]


# --- rules ------------------------------------------------------------------------------


def test_default_rules_have_eleven_labelled_segments():
    rules = default_segment_rules()
    assert rules.bins == 5
    assert rules.codes == SEGMENTS
    assert rules.labels("en")["cant_lose_them"] == "Lapsed top customers"
    assert rules.labels("nl")["lost"] == "Vertrokken klanten"
    for language in ("nl", "en"):
        assert all(rules.labels(language).values())
        descriptions = rules.descriptions(language)
        assert all(text.endswith(".") and "\n" not in text for text in descriptions.values())


def test_default_rules_follow_the_documented_map():
    lookup = default_segment_rules().lookup()
    assert len(lookup) == 125
    grid = lookup.groupby(["r", "fm"])["segment"].agg(set)
    assert all(len(cell) == 1 for cell in grid)  # the map depends on r and fm only
    cell = {key: next(iter(value)) for key, value in grid.items()}
    expected = {
        5: ["new", "potential_loyalists", "potential_loyalists", "champions", "champions"],
        4: ["promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"],
        3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
        2: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose_them"],
        1: ["lost", "lost", "at_risk", "at_risk", "cant_lose_them"],
    }
    for r, row in expected.items():
        assert [cell[(r, fm)] for fm in range(1, 6)] == row
    assert set(lookup["segment"]) == set(SEGMENTS)  # every segment is reachable


def test_packaged_file_is_the_default():
    document = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    assert list(document["rules"]) == SEGMENTS
    assert load_segment_rules(None) == load_segment_rules({})


def test_override_a_label_keeps_the_rest():
    rules = load_segment_rules({"rules": {"champions": {"label": {"nl": "Topklanten"}}}})
    assert rules.labels("nl")["champions"] == "Topklanten"
    assert rules.labels("en")["champions"] == "Champions"
    assert rules.rules["champions"].r == (5, 5)


def test_override_through_client_config():
    config = ClientConfig.model_validate(
        {
            "name": "Test",
            "data": {
                "sources": "x.csv",
                "columns": {"customer_id": "k", "date": "d", "amount": "a"},
            },
            "segments": {
                "rules": {
                    # Merge lost into hibernating: hibernating takes r 1..2.
                    "hibernating": {"r": [1, 2]},
                    "lost": None,
                }
            },
        }
    )
    rules = load_segment_rules(config.segments)
    assert "lost" not in rules.codes and len(rules.codes) == 10
    assert rules.rules["hibernating"].r == (1, 2)


def test_override_with_a_new_segment_and_other_bins():
    overrides = {
        "bins": 3,
        "rules": {
            **{code: None for code in SEGMENTS},
            "best": {"r": [3, 3], "label": {"nl": "Best", "en": "Best"},
                     "description": {"nl": "Recent.", "en": "Recent."}},
            "others": {"r": [1, 2], "label": {"nl": "Rest", "en": "Rest"},
                       "description": {"nl": "Niet recent.", "en": "Not recent."}},
        },
    }  # fmt: skip
    rules = load_segment_rules(overrides)
    assert rules.bins == 3 and rules.codes == ["best", "others"]
    scores = pd.DataFrame({"r": [3, 1, 2], "f": [1, 2, 3], "m": [3, 3, 3]})
    assert assign_segments(scores, rules).tolist() == ["best", "others", "others"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"rules": {"lost": None}}, r"segments\.rules: 6 score combination\(s\) belong to no"),
        ({"rules": {"loyal": {"r": [3, 5]}}}, r"more than one segment.*'champions' and 'loyal'"),
        ({"rules": {"champions": {"lable": {}}}}, r"segments\.rules\.champions\.lable: unknown"
                                                  r" key; did you mean 'label'\?"),
        ({"champions": {"r": [5, 5]}}, r"segments\.champions: unknown key.*"
                                       r"Segment overrides go under segments\.rules\.champions"),
        ({"rules": {"champions": {"r": [5, 6]}}}, r"segments\.rules\.champions\.r: range \[5, 6\]"
                                                  r" must lie within 1\.\.5"),
        ({"rules": {"champions": {"r": [5, 4]}}}, r"segments\.rules\.champions\.r: .*low end"),
        ({"rules": {"champions": {"r": "high"}}}, r"segments\.rules\.champions\.r"),
        ({"rules": {"vip": {"r": [5, 5]}}}, r"segments\.rules\.vip\.label: required key"),
        ({"rules": {"Top Klant": {"r": [5, 5]}}}, r"segments\.rules: .*'Top Klant'.*lower-case"),
        ({"rules": {"new": {"label": {"de": "Neu"}}}}, r"segments\.rules\.new\.label\.de: unknown"),
        ({"rules": {"new": {"label": {"nl": ""}}}}, r"segments\.rules\.new\.label\.nl"),
        ({"bins": 1}, r"segments\.bins"),
        ({"bins": 4}, r"segments\.rules\.champions\.r: range \[5, 5\] must lie within 1\.\.4"),
        ({"rules": "all"}, r"'segments\.rules' must be a mapping"),
        (["champions"], r"'segments' must be a mapping"),
    ],
)  # fmt: skip
def test_invalid_overrides_name_the_key(overrides, expected):
    with pytest.raises(ConfigError, match=expected) as info:
        load_segment_rules(overrides, path="data/acme/client.yml")
    assert str(info.value).startswith("data/acme/client.yml: ")
    assert "Fix:" in str(info.value) or "must be a mapping" in str(info.value)


def test_scores_outside_the_rules_bins_are_refused():
    with pytest.raises(ValueError, match=r"1\.\.5"):
        assign_segments(pd.DataFrame({"r": [6], "f": [1], "m": [1]}))


# --- segments ---------------------------------------------------------------------------


def test_segments_by_hand():
    # Ten customers, each a different (recency, frequency, revenue) rank.
    customers = pd.DataFrame(
        {
            "customer_id": list("abcdefghij"),
            "recency_days": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "n_purchases": [10, 9, 1, 1, 6, 5, 8, 7, 1, 1],
            "revenue": [1000.0, 900, 50, 60, 600, 500, 800, 700, 10, 20],
        }
    )
    out = rfm_segments(customers)
    # r: 5,5,4,4,3,3,2,2,1,1. f: one-time buyers (4 of them) score 1; 5,6,7,8,9,10
    # purchases have k = 4..9 worse → 1 + floor(5k/10) = 3,3,4,4,5,5.
    assert out["r"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert out["f"].tolist() == [5, 5, 1, 1, 3, 3, 4, 4, 1, 1]
    assert out["m"].tolist() == [5, 5, 2, 2, 3, 3, 4, 4, 1, 1]
    assert out["fm"].tolist() == [5, 5, 2, 2, 3, 3, 4, 4, 1, 1]
    assert out["segment"].tolist() == [
        "champions", "champions",                 # r 5, fm 5
        "potential_loyalists", "potential_loyalists",  # r 4, fm 2
        "need_attention", "need_attention",       # r 3, fm 3
        "at_risk", "at_risk",                     # r 2, fm 4
        "lost", "lost",                           # r 1, fm 1
    ]  # fmt: skip
    assert out["segment"].cat.categories.tolist() == SEGMENTS

    summary = segment_summary(out).set_index("segment")
    assert summary.index.tolist() == SEGMENTS
    assert summary.loc["champions", "n_customers"] == 2
    assert summary.loc["champions", "customer_share"] == 0.2
    # Champions: 1900 of 4640 total revenue.
    assert summary.loc["champions", "revenue"] == 1900.0
    assert summary.loc["champions", "revenue_share"] == pytest.approx(1900 / 4640)
    assert summary.loc["new", "n_customers"] == 0
    assert summary["customer_share"].sum() == pytest.approx(1.0)
    assert summary["revenue_share"].sum() == pytest.approx(1.0)


def test_cdnow_every_customer_one_segment():
    frame = pd.read_csv(
        CDNOW_SAMPLE, sep=r"\s+", header=None, names=["id", "s", "date", "q", "amount"]
    )
    frame["date"] = pd.to_datetime(frame["date"].astype(str), format="%Y%m%d")
    grouped = frame.groupby("id")
    customers = pd.DataFrame(
        {
            "recency_days": (pd.Timestamp("1998-06-30") - grouped["date"].max()).dt.days,
            "n_purchases": grouped.size(),
            "revenue": grouped["amount"].sum(),
        }
    )
    out = rfm_segments(customers)
    assert len(out) == 2357 and out["segment"].notna().all()
    # Frequency ties: the 1,205 one-time buyers all score f = 1.
    assert (out.loc[out["n_purchases"] == 1, "f"] == 1).all()
    assert (out["n_purchases"] == 1).sum() == 1205
    # Scores are by quantile: about a fifth of customers per recency score.
    assert out["r"].value_counts(normalize=True).between(0.1, 0.3).all()
    summary = segment_summary(out)
    assert summary["n_customers"].sum() == 2357
    assert summary["revenue_share"].sum() == pytest.approx(1.0)
    # Champions are worth more per customer than the lost.
    per_customer = summary.set_index("segment").eval("revenue / n_customers")
    assert per_customer["champions"] > 5 * per_customer["lost"]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 7).flatmap(
        lambda bins: st.tuples(
            st.just(bins),
            st.lists(st.integers(1, bins), min_size=1, max_size=60),
            st.lists(st.integers(1, bins), min_size=60, max_size=60),
            st.lists(st.integers(1, bins), min_size=60, max_size=60),
        )
    )
)
def test_every_score_combination_gets_exactly_one_segment(case):
    bins, r, f, m = case
    rules = default_segment_rules() if bins == 5 else _uniform_rules(bins)
    n = len(r)
    scores = pd.DataFrame({"r": r, "f": f[:n], "m": m[:n]})
    segment = assign_segments(scores, rules)
    assert segment.notna().all() and len(segment) == n
    fm = (scores["f"] + scores["m"] + 1) // 2
    values = {"r": scores["r"], "f": scores["f"], "m": scores["m"], "fm": fm}
    matches = pd.DataFrame(
        {
            code: np.logical_and.reduce(
                [values[name].between(lo, hi) for name, (lo, hi) in rule.ranges().items()]
                or [np.ones(n, dtype=bool)]
            )
            for code, rule in rules.rules.items()
        }
    )
    assert (matches.sum(axis=1) == 1).all()
    assert (matches.idxmax(axis=1) == segment.astype(str)).all()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 500), st.integers(1, 20), st.floats(-50, 5000, allow_nan=False)),
        min_size=1,
        max_size=80,
    ),
    st.randoms(use_true_random=False),
)
def test_segments_are_total_and_independent_of_row_order(rows, rnd):
    customers = pd.DataFrame(rows, columns=["recency_days", "n_purchases", "revenue"])
    out = rfm_segments(customers)
    assert out["segment"].notna().all()
    for name in ("r", "f", "m", "fm"):
        assert out[name].between(1, 5).all()
    order = list(customers.index)
    rnd.shuffle(order)
    shuffled = rfm_segments(customers.loc[order])
    pd.testing.assert_frame_equal(shuffled.loc[customers.index], out)
    summary = segment_summary(out)
    assert summary["n_customers"].sum() == len(customers)
    assert summary["customer_share"].sum() == pytest.approx(1.0)


def _uniform_rules(bins: int):
    """Rules for another bin count: one segment per recency score."""
    texts = {"nl": "x", "en": "x"}
    return load_segment_rules(
        {
            "bins": bins,
            "rules": {
                **{code: None for code in SEGMENTS},
                **{
                    f"r{r}": {"r": [r, r], "label": texts, "description": texts}
                    for r in range(1, bins + 1)
                },
            },
        }
    )


def test_score_names_cover_the_rule_keys():
    assert set(SCORE_NAMES) == {"r", "f", "m", "fm"}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0, 1.5, 2.0, 7.0, -3.0]), min_size=1, max_size=50))
def test_scores_count_the_customers_strictly_worse(values) -> None:
    """1 + floor(bins · k / n), k from pandas' ranking (method "min")."""
    array = np.array(values)
    for higher in (True, False):
        oriented = array if higher else -array
        worse = pd.Series(oriented).rank(method="min").to_numpy(dtype=int) - 1
        expected = 1 + (5 * worse) // array.size
        assert quantile_scores(array, higher_is_better=higher).tolist() == expected.tolist()


def test_summary_of_categorical_segments_equals_that_of_text() -> None:
    rules = default_segment_rules()
    labels = ["lost", "champions", "lost", "not_a_segment", None, "loyal"]
    text = pd.DataFrame({"segment": labels, "revenue": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    coded = text.assign(
        segment=pd.Categorical(labels, categories=["loyal", "lost", "champions", "not_a_segment"])
    )
    expected = segment_summary(text, rules)
    pd.testing.assert_frame_equal(segment_summary(coded, rules), expected)
    assert expected.set_index("segment").loc["lost", "n_customers"] == 2
