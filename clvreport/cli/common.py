"""What the commands that read transaction files share: their options, the reading, a table out.

``clvreport summary`` and ``clvreport fit`` read the same files in the same
way, so their reading options are declared once here (as ``Annotated`` types
the commands use for their parameters), turned into the library's
configuration by :func:`read_options`, and a per-customer table is written by
:func:`write_table`.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import ValidationError

from clvreport.config import ColumnMapping, CsvOptions, DataPolicies
from clvreport.errors import ConfigError, output_error

__all__ = [
    "POLICY_DEFAULTS",
    "AsOf",
    "DateFormat",
    "Decimal",
    "Delimiter",
    "Duplicates",
    "Encoding",
    "Files",
    "HoldoutEnd",
    "Names",
    "NoHeader",
    "Returns",
    "ZeroAmounts",
    "read_options",
    "write_table",
]

POLICY_DEFAULTS = DataPolicies()
"""client.yml's data.policies defaults: ``summary`` and ``fit`` read rows as a report does."""

Files = Annotated[
    list[str],
    typer.Argument(help="Transaction files (CSV, TXT, Parquet, XLSX) or quoted globs."),
]
DateFormat = Annotated[
    str, typer.Option("--date-format", help="strftime format such as %Y%m%d; 'auto' detects.")
]
Delimiter = Annotated[
    str, typer.Option("--delimiter", help="';', ',', 'tab', 'whitespace' or 'auto'.")
]
Decimal = Annotated[Literal["auto", ".", ","], typer.Option("--decimal", help="Decimal mark.")]
Encoding = Annotated[
    Literal["auto", "utf-8", "utf-8-sig", "cp1252", "latin-1"],
    typer.Option("--encoding", help="Text encoding."),
]
NoHeader = Annotated[bool, typer.Option("--no-header", help="The files have no header line.")]
Names = Annotated[
    str | None,
    typer.Option("--names", help="Comma-separated column names (for files without header)."),
]
AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Report date; later rows are excluded. Default: last date."),
]
HoldoutEnd = Annotated[
    str | None,
    typer.Option("--holdout-end", help="Last day of the holdout period (YYYY-MM-DD)."),
]
ZeroAmounts = Annotated[
    Literal["drop", "keep"],
    typer.Option("--zero-amounts", help="Orders of 0: exclude them, or count them as purchases."),
]
Duplicates = Annotated[
    Literal["auto", "drop", "keep"],
    typer.Option(
        "--duplicates",
        help="Identical rows: keep one (drop), keep all (keep), or auto: keep all and count "
        "them as possible duplicates, since without an order id two identical rows are most "
        "likely two purchases (as a report does).",
    ),
]
Returns = Annotated[
    Literal["net", "drop"],
    typer.Option("--returns", help="Negative amounts: net them against revenue, or drop them."),
]


def read_options(
    command: str,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str,
    delimiter: str,
    decimal: str,
    encoding: str,
    no_header: bool,
    names: str | None,
    date_format: str,
    zero_amounts: str,
    duplicates: str,
    returns: str,
) -> tuple[ColumnMapping, CsvOptions, DataPolicies]:
    """The columns, file format and data policies the options describe.

    Parameters
    ----------
    command
        The command's name, for the hint of an invalid option (``clvreport
        <command> --help``).
    customer_col, date_col, amount_col, delimiter, decimal, encoding, no_header, names, \
date_format, zero_amounts, duplicates, returns
        The options' values.

    Returns
    -------
    tuple
        ``(ColumnMapping, CsvOptions, DataPolicies)`` for
        :func:`clvreport.ingest.read_transactions`.

    Raises
    ------
    ConfigError
        When an option's value is invalid (the message names it).

    Examples
    --------
    >>> columns, csv, policies = read_options("summary", customer_col="id", date_col="d",
    ...     amount_col="a", delimiter="auto", decimal="auto", encoding="auto", no_header=True,
    ...     names="id,d,a", date_format="auto", zero_amounts="keep", duplicates="keep",
    ...     returns="net")
    >>> csv.names, policies.zero_amounts
    (('id', 'd', 'a'), 'keep')
    """
    try:
        columns = ColumnMapping(customer_id=customer_col, date=date_col, amount=amount_col)
        csv = CsvOptions(
            delimiter=delimiter,
            decimal=decimal,
            encoding=encoding,
            header=not no_header,
            names=tuple(n.strip() for n in names.split(",")) if names else None,
            date_format=date_format,
        )
        policies = DataPolicies(zero_amounts=zero_amounts, duplicates=duplicates, returns=returns)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(
            f"invalid option: {problems}", hint=f"see clvreport {command} --help"
        ) from None
    return columns, csv, policies


def write_table(table: Any, out: Path, what: str, *, option: str) -> None:
    """Write ``table`` to ``out`` (.parquet or .csv) via a temporary file beside it.

    A failed write (no permission, disk full, a file where a folder should be)
    becomes one :class:`~clvreport.errors.OutputError` and leaves an existing
    ``out`` as it was.
    """
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(out))
        if out.suffix.lower() == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False)
        os.replace(tmp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise output_error(exc, out, what, option=option) from None
