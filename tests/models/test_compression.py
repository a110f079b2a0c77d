"""Distinct rows of several columns (``clvreport.models.compression.distinct_rows``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import clvreport.models.compression as compression
from clvreport.models.compression import distinct_rows

values = st.sampled_from([0.0, 1.0, 2.5, np.nan, -3.0, 7.0])


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda k: st.lists(st.tuples(*[values] * k), max_size=40)
    ),
    st.booleans(),
)
def test_equal_rows_share_a_code_in_order_of_first_appearance(rows, small_keys):
    """Rows are equal (a missing value equal to itself) exactly when their codes are."""
    if not rows:
        return
    columns = [np.array(column, dtype=float) for column in zip(*rows, strict=True)]
    limit = compression._KEY_LIMIT
    if small_keys:  # the key is compressed after every column
        compression._KEY_LIMIT = 2
    try:
        codes, first = distinct_rows(*columns)
    finally:
        compression._KEY_LIMIT = limit
    as_keys = [tuple("nan" if np.isnan(v) else v for v in row) for row in rows]
    seen: dict[tuple, int] = {}
    expected = [seen.setdefault(key, len(seen)) for key in as_keys]
    assert codes.tolist() == expected
    assert [as_keys[i] for i in first] == list(seen)


def test_distinct_histories_are_found_once_and_forgotten_on_request() -> None:
    from clvreport.models.compression import clear_histories_cache, distinct_histories
    from clvreport.models.scoring import clear_forecast_cache

    rng = np.random.default_rng(2)
    x = rng.integers(0, 4, 500).astype(float)
    t_x, T = np.floor(x * 2.0), np.full(500, 9.0)
    codes, first = distinct_histories(x, t_x, T)
    expected = distinct_rows(x, t_x, T)
    assert codes.tolist() == expected[0].tolist() and first.tolist() == expected[1].tolist()
    assert distinct_histories(x.copy(), t_x.copy(), T.copy())[0] is codes  # by the values
    other = distinct_histories(x[::-1].copy(), t_x[::-1].copy(), T)
    assert other[0] is not codes and distinct_histories(x, t_x, T)[0] is codes  # two kept
    changed = x.copy()
    changed[0] += 1.0
    assert distinct_histories(changed, t_x, T)[0] is not codes
    clear_forecast_cache()  # the scoring's cache goes with its histories
    assert distinct_histories(x, t_x, T)[0] is not codes
    clear_histories_cache()
