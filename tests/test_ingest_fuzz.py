"""Fuzzing the CSV reader: whatever the bytes, a correct read or one clear error, never a crash.

Random bytes, random delimiters, decimal marks and encodings, and markup characters
in ids and amounts: :func:`clvreport.ingest.read_transactions` either reads the file
(and then every customer id and amount it keeps is one that was written) or raises a
:class:`clvreport.errors.ClvReportError` with a message, never another exception.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clvreport.config import ColumnMapping, CsvOptions
from clvreport.errors import ClvReportError
from clvreport.ingest import read_transactions

COLUMNS = ColumnMapping(customer_id="klant", date="datum", amount="bedrag")
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
MARKUP = "[/]<script>@#$*_`{}\\|~^&\"'"


def _read(path, csv: CsvOptions | None = None):
    try:
        with read_transactions(path, COLUMNS, csv=csv, as_of="2030-12-31") as tx:
            return tx.engine.query(f"SELECT customer_id, amount FROM {tx.table}")
    except ClvReportError as error:
        assert str(error).strip(), "an error must say what is wrong"
        return None


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_give_a_read_or_a_clear_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "export.csv"
    path.write_bytes(data)
    _read(path)


@FUZZ
@given(
    st.binary(max_size=200),
    st.sampled_from([";", ",", "\t", "|"]),
)
def test_random_bytes_after_a_valid_header(tmp_path_factory, data, delimiter):
    path = tmp_path_factory.mktemp("fuzz") / "export.csv"
    header = delimiter.join(["klant", "datum", "bedrag"]).encode() + b"\n"
    path.write_bytes(header + data)
    _read(path)


rows = st.lists(
    st.tuples(
        st.text(alphabet=MARKUP + "abc123 ", min_size=1, max_size=12),
        st.dates(dt.date(2020, 1, 1), dt.date(2024, 12, 31)),
        st.decimals(min_value=-100, max_value=100000, places=2, allow_nan=False),
    ),
    min_size=1,
    max_size=15,
)


@FUZZ
@given(
    rows,
    st.sampled_from([(";", ","), (",", "."), ("\t", "."), ("|", ",")]),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_markup_in_ids_and_any_layout_reads_what_was_written(
    tmp_path_factory, data, layout, encoding
):
    delimiter, decimal = layout
    path = tmp_path_factory.mktemp("fuzz") / "export.csv"
    lines = ["klant" + delimiter + "datum" + delimiter + "bedrag"]
    written = {}
    for customer, day, amount in data:
        customer = customer.replace(delimiter, "").replace('"', "").strip() or "x"
        text = f"{amount:.2f}".replace(".", decimal)
        lines.append(f'"{customer}"{delimiter}{day.isoformat()}{delimiter}"{text}"')
        written.setdefault(customer, []).append(float(amount))
    try:
        path.write_text("\n".join(lines) + "\n", encoding=encoding)
    except UnicodeEncodeError:
        return
    csv = CsvOptions(delimiter=delimiter, decimal=decimal, date_format="%Y-%m-%d")
    frame = _read(path, csv)
    if frame is None:
        return
    for customer, amount in zip(frame["customer_id"], frame["amount"], strict=True):
        assert customer in written, customer
        assert any(abs(amount - a) < 1e-6 for a in written[customer]), (customer, amount)


def test_an_empty_file_is_one_clear_error(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"")
    with pytest.raises(ClvReportError, match=r"export\.csv"):
        with read_transactions(path, COLUMNS):
            pass


def test_markup_ids_and_decimal_commas_are_read_literally(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(
        "klant;datum;bedrag\n"
        '"[/]<b>@k#1";2024-01-05;"1.234,50"\n'
        '"$x*_`{}";2024-02-05;"12,00"\n'
        '"$x*_`{}";2024-03-05;"-2,00"\n',
        encoding="utf-8",
    )
    csv = CsvOptions(delimiter=";", decimal=",", date_format="%Y-%m-%d")
    frame = _read(path, csv)
    assert frame is not None
    assert sorted(set(frame["customer_id"])) == sorted(["[/]<b>@k#1", "$x*_`{}"])
    assert sorted(frame["amount"]) == [-2.0, 12.0, 1234.5]
