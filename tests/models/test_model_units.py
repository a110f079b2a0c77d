from __future__ import annotations

import numpy as np
import pytest

from clvreport.errors import ModelError
from clvreport.models.units import (
    DAYS_PER_MONTH,
    check_time_unit,
    convert_duration,
    months_to_units,
)


def test_a_month_is_a_twelfth_of_a_julian_year() -> None:
    assert DAYS_PER_MONTH == pytest.approx(30.4375)
    assert months_to_units(12, "days") == pytest.approx(365.25)
    assert months_to_units(12, "weeks") == pytest.approx(365.25 / 7)
    assert months_to_units(3, "months") == 3


def test_conversions_round_trip() -> None:
    weeks = np.array([1.0, 39.0, 52.5])
    days = convert_duration(weeks, "weeks", "days")
    np.testing.assert_allclose(days, weeks * 7)
    np.testing.assert_allclose(convert_duration(days, "days", "weeks"), weeks)


def test_unknown_unit_is_a_user_error() -> None:
    with pytest.raises(ModelError, match="unknown time unit 'fortnights'"):
        check_time_unit("fortnights")
