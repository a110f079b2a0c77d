import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import clvreport.cli.summary  # noqa: F401  registers the command
from clvreport.cli import app

DATA = Path(__file__).parent / "data"
CDNOW = str(DATA / "cdnow_sample.txt")
NL = str(DATA / "ingest" / "nl_export.csv")
CDNOW_ARGS = [
    "summary",
    CDNOW,
    "--no-header",
    "--names",
    "id,sample,date,qty,amount",
    "--customer-col",
    "id",
    "--date-col",
    "date",
    "--amount-col",
    "amount",
    "--calibration-end",
    "1997-09-30",
    "--holdout-end",
    "1998-06-30",
    "--zero-amounts",
    "keep",
    "--duplicates",
    "drop",  # the published CDNOW figures drop the identical rows
]


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_cdnow_json_totals():
    result = run(*CDNOW_ARGS, "--date-format", "%Y%m%d", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["customers"] == 2357
    assert data["repeat_buyers"] == 946
    assert data["calibration_repeat_purchases"] == 2457
    assert data["holdout_repeat_purchases"] == 1882
    assert data["revenue"] == 172909.83  # rounded to cents, no float noise
    assert data["quality"]["rows_read"] == 6919
    assert data["quality"]["excluded"]["duplicate"] == 21
    assert data["quality"]["files"][0]["delimiter"] == "whitespace"
    assert data["as_of"] == "1998-06-30"


def test_cdnow_table_output_with_detected_date_format():
    result = run(*CDNOW_ARGS)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in (
        "Customers",
        "2,357",
        "Repeat buyers",
        "946",
        "2,457",
        "1,882",
        "Rows read",
        "6,919",
        "excluded: duplicate",
        "21",
        "172,909.83",
    ):
        assert text in out, text


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_writes_the_per_customer_summary(tmp_path, suffix):
    target = tmp_path / "out" / f"summary{suffix}"
    result = run(*CDNOW_ARGS, "--time-unit", "days", "--out", str(target), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["out"] == str(target)
    frame = (
        pd.read_parquet(target)
        if suffix == ".parquet"
        else pd.read_csv(target, dtype={"customer_id": str})
    )
    assert len(frame) == 2357
    assert list(frame.columns[:5]) == ["customer_id", "frequency", "recency", "T", "monetary_value"]
    assert frame["frequency"].sum() == 2457
    assert frame["duration_holdout"].iloc[0] == 273.0
    assert frame.loc[frame["customer_id"] == "00004", "recency"].item() == 213.0


def test_dutch_export_and_exclusions():
    result = run(
        "summary",
        NL,
        "--customer-col",
        "Klantnummer",
        "--date-col",
        "Orderdatum",
        "--amount-col",
        "Bedrag",
        "--zero-amounts",
        "drop",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["customers"] == 3  # K002 returned all it bought: no customer
    assert data["quality"]["excluded"]["missing_customer_id"] == 1
    assert data["quality"]["excluded"]["zero_amount"] == 1
    assert data["quality"]["excluded"]["fully_returned_customer"] == 2
    assert data["quality"]["returns_netted"] == 0
    assert data["holdout_repeat_purchases"] is None


def test_by_default_rows_are_read_as_a_report_reads_them():
    result = run(
        "summary", NL, "--customer-col", "Klantnummer", "--date-col", "Orderdatum",
        "--amount-col", "Bedrag", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    quality = json.loads(result.stdout)["quality"]
    # as client.yml: zero_amounts keep, duplicates auto (no order id: kept and flagged)
    assert quality["excluded"]["zero_amount"] == 0 and quality["excluded"]["duplicate"] == 0
    assert quality["flagged"]["possible_duplicate"] == 1


def test_missing_column_is_a_clean_error():
    result = run(
        "summary",
        NL,
        "--customer-col",
        "Klantnr",
        "--date-col",
        "Orderdatum",
        "--amount-col",
        "Bedrag",
    )
    assert result.exit_code == 2
    assert "did you mean 'Klantnummer'" in result.output
    assert "Traceback" not in result.output


def test_bad_output_suffix():
    result = run(*CDNOW_ARGS, "--out", "summary.xlsx")
    assert result.exit_code == 2
    assert "end --out with .parquet or .csv" in result.output


def test_bad_holdout_end():
    result = run(*CDNOW_ARGS[:-4], "--holdout-end", "1999-01-01")
    assert result.exit_code == 2
    assert re.search(r"after the (data ends|last transaction) \(1998-06-30\)", result.output)
    assert "Traceback" not in result.output


def test_invalid_choice_is_rejected_by_the_cli():
    result = run(*CDNOW_ARGS, "--time-unit", "years")
    assert result.exit_code != 0
    assert "years" in result.output


def test_no_repeat_customers_warning(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("k,d,a\nA,2024-01-01,1\nB,2024-01-02,2\n")
    result = run(
        "summary", str(path), "--customer-col", "k", "--date-col", "d", "--amount-col", "a"
    )
    assert result.exit_code == 0, result.output
    assert "Warning: no repeat customers" in result.stdout
