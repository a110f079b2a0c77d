"""``clvreport summary``: transaction files → per-customer RFM summary and its totals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from clvreport.cli._app import app, escape, user_errors
from clvreport.cli.common import (
    POLICY_DEFAULTS,
    AsOf,
    DateFormat,
    Decimal,
    Delimiter,
    Duplicates,
    Encoding,
    Files,
    HoldoutEnd,
    Names,
    NoHeader,
    Returns,
    ZeroAmounts,
    read_options,
    write_table,
)
from clvreport.errors import DataError
from clvreport.ingest import Transactions, read_transactions
from clvreport.rfm import rfm_summary, summary_totals

__all__ = ["summary"]

_OUT_SUFFIXES = (".parquet", ".csv")


def _write(summary: Any, out: Path) -> None:
    if out.suffix.lower() not in _OUT_SUFFIXES:
        raise DataError(
            f"cannot write '{out.suffix or out.name}' files",
            path=out,
            hint="end --out with .parquet or .csv",
        )
    write_table(summary, out, "the summary", option="--out")


def _label(code: str) -> str:
    return code.replace("_", " ")


def _print_table(totals: dict[str, Any], tx: Transactions, out: Path | None) -> None:
    table = Table(title="Customer summary", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    period = f"to {totals['calibration_end']}"
    table.add_row(f"Customers (first purchase {period})", f"{totals['customers']:,}")
    table.add_row("Repeat buyers", f"{totals['repeat_buyers']:,}")
    table.add_row("Repeat purchases (calibration)", f"{totals['calibration_repeat_purchases']:,}")
    if totals["holdout_repeat_purchases"] is not None:
        table.add_row(
            f"Repeat purchases (holdout to {totals['observation_end']})",
            f"{totals['holdout_repeat_purchases']:,}",
        )
    table.add_row("Revenue (calibration)", f"{totals['revenue']:,.2f}")
    if totals["holdout_revenue"] is not None:
        table.add_row("Revenue (holdout)", f"{totals['holdout_revenue']:,.2f}")
    quality = tx.quality
    table.add_section()
    table.add_row("Rows read", f"{quality.rows_read:,}")
    for code, n in quality.excluded:
        if n:
            table.add_row(f"  excluded: {_label(code)}", f"{n:,}")
    if quality.returns_netted:
        table.add_row("  returns netted", f"{quality.returns_netted:,}")
    table.add_row("Rows kept", f"{quality.rows_kept:,}")
    console = Console(highlight=False)
    console.print(table)
    for code in quality.warnings:
        console.print(f"[yellow]Warning:[/] {escape(_label(code))}")
    if out is not None:
        console.print(f"Summary per customer written to {escape(str(out))}")


@app.command("summary")
@user_errors
def summary(
    files: Files,
    customer_col: Annotated[str, typer.Option("--customer-col", help="Customer id column.")],
    date_col: Annotated[str, typer.Option("--date-col", help="Order date column.")],
    amount_col: Annotated[str, typer.Option("--amount-col", help="Amount column.")],
    date_format: DateFormat = "auto",
    delimiter: Delimiter = "auto",
    decimal: Decimal = "auto",
    encoding: Encoding = "auto",
    no_header: NoHeader = False,
    names: Names = None,
    calibration_end: Annotated[
        str | None,
        typer.Option("--calibration-end", help="Last day of the calibration period (YYYY-MM-DD)."),
    ] = None,
    holdout_end: HoldoutEnd = None,
    as_of: AsOf = None,
    time_unit: Annotated[
        Literal["days", "weeks", "months"],
        typer.Option("--time-unit", help="Unit of recency and T."),
    ] = "weeks",
    zero_amounts: ZeroAmounts = POLICY_DEFAULTS.zero_amounts,
    duplicates: Duplicates = POLICY_DEFAULTS.duplicates,
    returns: Returns = POLICY_DEFAULTS.returns,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the per-customer summary to a .parquet or .csv file."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the totals as one JSON object.")
    ] = False,
) -> None:
    """Summarise transactions per customer (frequency, recency, T, spend) and print totals.

    Rows are read as a report reads them (the defaults of client.yml's data.policies).

    Example (CDNOW, whitespace-separated, no header):

        clvreport summary CDNOW_sample.txt --no-header
          --names id,sample,date,qty,amount
          --customer-col id --date-col date --amount-col amount
          --date-format %Y%m%d
          --calibration-end 1997-09-30 --holdout-end 1998-06-30
    """
    columns, csv, policies = read_options(
        "summary",
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        delimiter=delimiter,
        decimal=decimal,
        encoding=encoding,
        no_header=no_header,
        names=names,
        date_format=date_format,
        zero_amounts=zero_amounts,
        duplicates=duplicates,
        returns=returns,
    )
    tx = read_transactions(files, columns, csv=csv, policies=policies, as_of=as_of)
    try:
        table = rfm_summary(
            tx,
            calibration_end=calibration_end,
            observation_end=holdout_end,
            time_unit=time_unit,
        )
        if out is not None:
            _write(table, out)
        totals = summary_totals(table)
        if as_json:
            payload = {**totals, "as_of": tx.as_of.isoformat(), "quality": tx.quality.to_dict()}
            if out is not None:
                payload["out"] = str(out)
            typer.echo(json.dumps(payload, ensure_ascii=False))
        else:
            _print_table(totals, tx, out)
    finally:
        tx.close()
