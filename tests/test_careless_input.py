"""What a careless export or command line does: one clear message, or the right reading.

Cases of issue #25 beyond security: a field over the csv module's 128 KB limit,
a quoted line break in a header, a pipe as transaction file, a report date long
after (or before) the data, a holdout holding no transaction, and ids that start
with a minus sign.
"""

from __future__ import annotations

import os
from pathlib import Path

import pypandoc
import pypdf
import pytest
import typst
from cli_checks import clean as check
from cli_checks import copy_branded, invoke

from clvreport.render.builtin import LUA_FILTER


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return copy_branded(tmp_path)


def clean(result, code: int, *texts: str) -> str:
    return check(result, code, *texts, squash=True)


def validate(data_dir: Path, *options: str):
    return invoke("validate", "--client", "acme", "--data-dir", data_dir, *options)


def export(tmp_path: Path, header: str, *rows: str) -> Path:
    """A small export of 40 customers with two orders each, then ``rows``."""
    lines = [header]
    for customer in range(1, 41):
        lines += [f"{customer};2023-0{1 + customer % 3}-1{customer % 9};{customer},50"]
        lines += [f"{customer};2023-1{customer % 3}-2{customer % 8};{customer + 3},00"]
    (tmp_path / "data").mkdir(exist_ok=True)
    path = tmp_path / "export.csv"
    path.write_text("\n".join([*lines, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_field_over_128_kb_is_read(tmp_path):
    """csv's field limit (131072) no longer ends detection with a traceback."""
    note = "x" * 200_000
    path = export(tmp_path, f"klant;datum;bedrag;{note}")
    path.write_text(
        path.read_text().replace("\n", ";a\n").replace(f"{note};a", note, 1), encoding="utf-8"
    )
    result = invoke("init", "--client", "big", "--from", path, "--data-dir", tmp_path / "data")
    clean(result, 0, "80 of 80 rows used", "40 customers")


def test_a_quoted_line_break_in_the_header_is_one_name(tmp_path):
    path = export(tmp_path, '"Klant\nnummer";Datum;Bedrag')
    result = invoke("init", "--client", "x", "--from", path, "--data-dir", tmp_path / "data")
    clean(result, 0, "customer_id ← Klant nummer", "80 of 80 rows used")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_as_transaction_file_is_named_as_such(data_dir):
    transactions = data_dir / "acme" / "transactions.csv"
    transactions.unlink()
    os.mkfifo(transactions)
    clean(validate(data_dir), 2, "transactions.csv", "is not a regular file", "save the export")


def test_a_report_date_years_after_the_data_is_refused(data_dir):
    clean(
        validate(data_dir, "--as-of", "2030-01-01"),
        2,
        "days after the last transaction",
        "leave as_of (--as-of) out",
    )


def test_a_report_date_before_every_purchase_says_so(data_dir):
    clean(
        validate(data_dir, "--as-of", "2000-01-01"),
        2,
        "after as of",
        "the report date (as_of, --as-of) lies before every purchase",
    )


def test_a_holdout_after_the_last_transaction_is_refused(data_dir):
    """Nine months after the data, the six held-back months hold nothing to check."""
    last = max(
        line.split(";")[2][-4:] + line.split(";")[2][3:5] + line.split(";")[2][:2]
        for line in (data_dir / "acme" / "transactions.csv").read_text().splitlines()[1:]
    )
    year, month = int(last[:4]), int(last[4:6])
    as_of = f"{year + (month + 9 - 1) // 12}-{(month + 9 - 1) % 12 + 1:02d}-01"
    clean(
        validate(data_dir, "--as-of", as_of),
        2,
        "months held back to check the model",
        "hold no transaction",
        "holdout_months: 0",
    )


def test_ids_starting_with_a_minus_stay_hyphens_in_the_pdf(tmp_path):
    """Typst shows "-1042" at a word's start as "−1042" (U+2212); the filter keeps the id."""
    markdown = "| Klant | Bedrag |\n|---|---|\n| \\-1042 | 5 |\n| A\\-\\-7 | 6 |\n"
    source = tmp_path / "report.typ"
    source.write_text(
        pypandoc.convert_text(
            markdown, "typst", format="markdown", filters=[str(LUA_FILTER)], extra_args=["-s"]
        ),
        encoding="utf-8",
    )
    typst.compile(str(source), output=str(tmp_path / "report.pdf"))
    text = pypdf.PdfReader(tmp_path / "report.pdf").pages[0].extract_text()
    assert "-1042" in text and "A--7" in text and "\u2212" not in text
    html = pypandoc.convert_text(markdown, "html", format="markdown", filters=[str(LUA_FILTER)])
    assert "-1042" in html


def test_a_final_line_of_megabytes_without_a_line_break_is_named(data_dir):
    """Not dropped, not a DuckDB dump: the line, its size and what to do."""
    transactions = data_dir / "acme" / "transactions.csv"
    text = transactions.read_text(encoding="utf-8").rstrip("\n")
    rows = len(text.splitlines())
    huge = "999999;" + "7" * 3_000_000 + ";01-06-2024;12,00;webshop;NL;afgerond"
    transactions.write_text(f"{text}\n{huge}", encoding="utf-8")
    clean(validate(data_dir), 2, f"line {rows + 1} is 3.0 MB long", "export it again")
