"""The CDNOW summary the model tests use matches Fader and Hardie's construction."""

from __future__ import annotations

import numpy as np
import pandas as pd


def test_fader_hardie_counts(cdnow: pd.DataFrame) -> None:
    assert len(cdnow) == 2357
    assert (cdnow["frequency"] > 0).sum() == 946
    assert cdnow["frequency"].sum() == 2457
    assert cdnow["frequency_holdout"].sum() == 1882
    assert cdnow["duration_holdout"].iloc[0] == 39.0
    assert cdnow.attrs["time_unit"] == "weeks"


def test_rfm_summary_matches_an_independent_construction(cdnow, cdnow_pandas) -> None:
    expected = cdnow_pandas
    actual = cdnow.assign(customer_id=cdnow["customer_id"].astype(int)).set_index("customer_id")
    expected = expected.set_index("customer_id").loc[actual.index]
    for column in expected.columns:
        np.testing.assert_allclose(actual[column], expected[column], err_msg=column)
