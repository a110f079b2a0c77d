"""One reader of the dates a user writes: the forms it takes, the ones it refuses, its message.

And the places that read such dates (client.yml ``as_of``, ``--as-of``,
``--compare-to``, ``--calibration-end``/``--holdout-end``, the ingest's and the
RFM summary's dates) still take what they took and refuse with that message.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from clvreport.cli import app
from clvreport.config import ClientConfig
from clvreport.dates import ACCEPTED_FORMS, parse_date
from clvreport.errors import ConfigError, DataError

DAY = dt.date(2024, 12, 31)


@pytest.mark.parametrize(
    "value",
    [
        "2024-12-31",
        " 2024-12-31\n",
        DAY,
        dt.datetime(2024, 12, 31, 23, 59),
        pd.Timestamp("2024-12-31 10:30"),
        np.datetime64("2024-12-31"),
        np.datetime64("2024-12-31T08:00:00"),
    ],
)
def test_accepted_forms_give_the_day(value):
    assert parse_date(value, "as_of") == DAY
    assert type(parse_date(value, "as_of")) is dt.date


def test_none_stays_none():
    assert parse_date(None, "--as-of") is None


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("31-12-2024", f"expected {ACCEPTED_FORMS}"),
        ("2024/12/31", f"expected {ACCEPTED_FORMS}"),
        ("20241231", f"expected {ACCEPTED_FORMS}"),
        ("2024-12-31T10:00", f"expected {ACCEPTED_FORMS}"),
        ("yesterday", f"expected {ACCEPTED_FORMS}"),
        ("", f"expected {ACCEPTED_FORMS}"),
        (20241231, f"expected {ACCEPTED_FORMS}"),
        ("2024-02-30", "day is out of range for month"),
        ("2024-13-01", "month must be in 1..12"),
        (pd.NaT, "it is missing"),
        (np.datetime64("NaT"), "it is missing"),
    ],
)
def test_rejects_name_the_value_the_reason_and_the_form(value, why):
    with pytest.raises(ConfigError) as caught:
        parse_date(value, "--as-of")
    assert caught.value.message == f"--as-of '{value}' is not a date: {why}"
    assert caught.value.hint == "write the date as year-month-day, e.g. --as-of 2024-12-31"


def test_a_setting_gets_a_plain_example_and_the_error_class_asked_for():
    with pytest.raises(DataError) as caught:
        parse_date("31-01-2020", "calibration end", error=DataError)
    assert str(caught.value) == (
        "calibration end '31-01-2020' is not a date: expected a date written YYYY-MM-DD "
        "(year-month-day)\nFix: write the date as year-month-day, e.g. 2024-12-31"
    )


# -- the call sites -----------------------------------------------------------------------


def _config(as_of):
    return ClientConfig.model_validate(
        {
            "name": "x",
            "as_of": as_of,
            "data": {
                "sources": "a.csv",
                "columns": {"customer_id": "a", "date": "b", "amount": "c"},
            },
        }
    )


def test_client_yml_as_of():
    assert _config(DAY).as_of == DAY  # YAML reads an unquoted 2024-12-31 as a date
    assert _config("2024-12-31").as_of == DAY
    assert _config(None).as_of is None
    with pytest.raises(ValueError, match="'31-12-2024' is not a date: expected a date"):
        _config("31-12-2024")


def _cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, " ".join(result.output.split())


def test_validate_as_of_option():
    code, output = _cli("validate", "--client", "demo", "--as-of", "31-12-2024")
    assert code == 2
    assert "--as-of '31-12-2024' is not a date: expected a date written YYYY-MM-DD" in output
    assert "write the date as year-month-day, e.g. --as-of 2024-12-31" in output


def test_fit_holdout_end_option(tmp_path: Path):
    log = tmp_path / "t.csv"
    log.write_text("klant,datum,bedrag\na,2020-01-01,1\nb,2020-02-01,2\n", encoding="utf-8")
    code, output = _cli(
        "fit", log, "--customer-col", "klant", "--date-col", "datum", "--amount-col", "bedrag",
        "--calibration-end", "2020-01-15", "--holdout-end", "15-02-2020",
    )  # fmt: skip
    assert code == 2
    assert "--holdout-end '15-02-2020' is not a date" in output


def test_ingest_and_rfm_keep_their_data_errors(tmp_path: Path):
    from clvreport.config import ColumnMapping
    from clvreport.ingest import read_transactions

    path = tmp_path / "o.csv"
    path.write_text("c,d,a\nA,2024-01-01,1\nB,2024-02-01,2\n", encoding="utf-8")
    columns = ColumnMapping(customer_id="c", date="d", amount="a")
    with pytest.raises(DataError, match="as-of date '31-12-2024' is not a date"):
        read_transactions(path, columns, as_of="31-12-2024")
    with read_transactions(path, columns, as_of=pd.Timestamp("2024-02-29")) as tx:
        assert tx.as_of == dt.date(2024, 2, 29)


def test_compare_to_option():
    from clvreport.render import check_compare_to

    with pytest.raises(ConfigError, match="--compare-to 'june' is not a date"):
        check_compare_to("june", Path("output/demo"), None)
