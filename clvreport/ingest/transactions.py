"""Read a client's transaction files into one clean, typed table in the engine.

:func:`read_transactions` finds the files, reads them with DuckDB, parses
dates and amounts strictly, applies the data policies (each exclusion
counted) and leaves a table ``customer_id VARCHAR, order_date DATE, amount
DOUBLE, is_return BOOLEAN`` (plus ``order_id``, ``channel``, ``country`` when
mapped) in the engine. Every problem ends in one :class:`DataError` that names
the file, the rows and the fix, or in a counted exclusion.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from clvreport.config import ClientConfig, ColumnMapping, CsvOptions, DataPolicies, ExcelOptions
from clvreport.dates import parse_date
from clvreport.engine import DUCKDB, Dialect, DuckDBEngine, Engine, quote_identifier
from clvreport.errors import ConfigError, DataError
from clvreport.ingest.detect import DATE_FORMATS, ISO_FORMAT, describe_delimiter, detect_decimal
from clvreport.ingest.exceptional import ExceptionalOrderRule
from clvreport.ingest.placeholders import check_customer_ids
from clvreport.ingest.quality import EXCLUSION_REASONS, FLAG_MESSAGES, DataQuality, FileInfo
from clvreport.ingest.reader import RawFile, csv_error, open_raw
from clvreport.ingest.sources import SourceFile, resolve_sources
from clvreport.ingest.statuses import (
    check_currency,
    currency_counts,
    raise_mixed_currencies,
    status_counts,
)
from clvreport.ingest.typed import (
    EXTRA_PREFIX,
    TEXT_FIELDS,
    Parsing,
    Reason,
    _mark,
    number_fields,
    numeric_fields,
    resolve_columns,
    typed_sql,
)

__all__ = ["EXCEPTIONAL_LIST_MAX", "Transactions", "load_transactions", "read_transactions"]

_SAMPLE_ROWS = 5000
_EXAMPLES = 5
_CLEAN_COLUMNS = ("customer_id", "order_date", "amount", "is_return")


@dataclass(frozen=True)
class Transactions:
    """Clean transactions held by an engine.

    Attributes
    ----------
    engine
        The engine holding :attr:`table`.
    table
        Name of the clean table: ``customer_id`` (VARCHAR), ``order_date``
        (DATE), ``amount`` (DOUBLE, negative for returns), ``is_return``
        (BOOLEAN), and ``order_id``, ``channel``, ``country`` when mapped.
    columns
        The table's columns.
    first_date, last_date
        First and last transaction date kept.
    as_of
        The report date: given, or the last transaction date that is not after
        today (later rows are excluded as ``future_date``).
    quality
        Rows read, kept and excluded by reason.
    owns_engine
        Whether :meth:`close` closes the engine (it was created for this read).
    extra
        The configured ``columns.extra`` names; the table holds them as
        ``extra_0``, ``extra_1``, ... (see :meth:`customer_attributes`).
    exceptional_rule
        The client's statistics that tell exceptional orders
        (:mod:`clvreport.ingest.exceptional`): the summary counts those
        orders at their reference in the spend model's input. ``None`` with
        too few orders, and with ``outliers: exclude`` (they were left out).
    exceptional_orders
        The exceptional orders, largest first (at most
        :data:`EXCEPTIONAL_LIST_MAX` rows): ``customer_id, order_date, amount,
        usual`` (the geometric mean of the customer's other orders) and
        ``reference`` (what the spend model counts the order as); ``None``
        without a rule. Also listed with ``outliers: keep``.
    exceptional_count
        How many orders are exceptional (the list may be shorter).
    """

    engine: Engine
    table: str
    columns: tuple[str, ...]
    first_date: dt.date
    last_date: dt.date
    as_of: dt.date
    quality: DataQuality
    owns_engine: bool = False
    extra: tuple[str, ...] = ()
    exceptional_rule: ExceptionalOrderRule | None = None
    exceptional_orders: pd.DataFrame | None = dataclass_field(
        default=None, compare=False, repr=False
    )
    exceptional_count: int = 0

    def customer_attributes(self) -> pd.DataFrame:
        """The ``columns.extra`` pass-through columns, one row per customer.

        Each value is the one of the customer's latest transaction that has
        one (e.g. their most recent e-mail address).

        Returns
        -------
        pandas.DataFrame
            ``customer_id`` and one text column per configured name, under that
            name; just ``customer_id`` (no rows) when no extra columns are mapped.
        """
        if not self.extra:
            return pd.DataFrame({"customer_id": pd.Series([], dtype=object)})
        parts = ", ".join(
            f"max_by({EXTRA_PREFIX}{i}, order_date) FILTER (WHERE {EXTRA_PREFIX}{i} IS NOT NULL)"
            f" AS {EXTRA_PREFIX}{i}"
            for i in range(len(self.extra))
        )
        frame = self.engine.query(
            f"SELECT customer_id, {parts} FROM {self.table} GROUP BY customer_id"
        )
        return frame.rename(columns={f"{EXTRA_PREFIX}{i}": n for i, n in enumerate(self.extra)})

    @property
    def has_repeat_customers(self) -> bool:
        """Whether any customer bought on two or more days (the models need some)."""
        return self.quality.repeat_customers > 0

    def query(self, sql: str) -> pd.DataFrame:
        """Run SQL on the engine (the table is :attr:`table`) and return pandas.

        Parameters
        ----------
        sql
            The query.

        Returns
        -------
        pandas.DataFrame
        """
        return self.engine.query(sql)

    def close(self) -> None:
        """Drop the table, and close the engine if it was created for these transactions."""
        if self.owns_engine:
            self.engine.close()
        else:
            self.engine.drop(self.table)

    def __enter__(self) -> Transactions:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_FULLY_RETURNED_TOLERANCE = 0.01  # net within -1% of the purchases: everything returned
_OUTLIER_MEDIAN_FACTOR = 1000.0
_OUTLIER_IQR_FACTOR = 3.0
_OUTLIER_MIN_ROWS = 20
_OUTLIER_EXACT_MAX_ROWS = 5_000_000  # above: quantiles from a histogram (constant memory)
EXCEPTIONAL_LIST_MAX = 100_000
"""Most exceptional orders :attr:`Transactions.exceptional_orders` lists (the largest)."""


def _today() -> dt.date:
    """Today's date (a function, so that tests can fix it)."""
    return dt.date.today()


def _histogram_quantiles(
    engine: Engine, values: str, levels: tuple[float, ...], step: float = 1e-3
) -> tuple[float, ...]:
    """Quantiles of the column ``lv`` of ``values`` from its histogram in bins of ``step``.

    Within ``step / 2`` of the exact quantiles, deterministic and in constant memory.
    """
    bins = engine.query(
        f"SELECT round(lv / {step!r}) AS b, count(*) AS n FROM ({values}) GROUP BY b ORDER BY b"
    )
    centres = bins["b"].to_numpy(dtype=float) * step
    cumulative = np.cumsum(bins["n"].to_numpy(dtype=float))
    total = cumulative[-1]
    return tuple(
        float(centres[min(int(np.searchsorted(cumulative, q * total)), len(centres) - 1)])
        for q in levels
    )


def _outlier_condition(engine: Engine, table: str, kept: str) -> str:
    """SQL condition that is true for an outlying amount, or ``"FALSE"``.

    An amount is an outlier when its absolute value is above both 1000 × the
    median absolute amount and the upper fence ``Q3 + 3 × IQR`` of the
    base-10 logarithms of the absolute amounts (rows with a non-zero amount
    that are kept). Both must hold, so a skewed but real distribution (a few
    big spenders) is not flagged while a typo such as 1e12 is. With fewer than
    20 such rows nothing is an outlier.
    """
    if engine.dialect.name == "spark":

        def quantile(q: float) -> str:
            return f"percentile_approx(lv, {q})"
    else:

        def quantile(q: float) -> str:
            return f"quantile_cont(lv, {q})"

    values = f"SELECT log10(abs(amount)) AS lv FROM {table} WHERE {kept} AND amount != 0"
    n = int(engine.query(f"SELECT count(*) AS n FROM ({values})").iloc[0]["n"])
    if n < _OUTLIER_MIN_ROWS:
        return "FALSE"
    if engine.dialect.name != "spark" and n > _OUTLIER_EXACT_MAX_ROWS:
        # an exact quantile holds every value in memory (800 MB at 100M rows, more than
        # DuckDB's default limit): on large tables read them off a histogram of the
        # log-amounts in steps of 0.001 (0.23% of an amount), which always fits
        q1, q2, q3 = _histogram_quantiles(engine, values, (0.25, 0.5, 0.75))
    else:
        row = engine.query(
            f"SELECT {quantile(0.25)} AS q1, {quantile(0.5)} AS q2, {quantile(0.75)} AS q3 "
            f"FROM ({values})"
        ).iloc[0]
        q1, q2, q3 = (float(row[k]) for k in ("q1", "q2", "q3"))
    fence = min(q3 + _OUTLIER_IQR_FACTOR * (q3 - q1), 300.0)
    threshold = max(_OUTLIER_MEDIAN_FACTOR * 10**q2, 10**fence)
    return f"abs(amount) > {threshold!r}"


def _sample(engine: Engine, raw: RawFile, column: str) -> list[str]:
    text = f"NULLIF(trim(CAST({quote_identifier(column)} AS {engine.dialect.text_type})), '')"
    rows = engine.query(
        f"SELECT v FROM (SELECT {text} AS v FROM {raw.sql}) WHERE v IS NOT NULL "
        f"LIMIT {_SAMPLE_ROWS}"
    )
    return [str(v) for v in rows["v"]]


def _fitting_formats(engine: Engine, values: Sequence[str]) -> dict[str, int]:
    if not values:
        return {}
    table = pd.DataFrame({"v": list(values)})
    name = engine.unique_name("clv_sample")
    engine.register(name, table)
    try:
        counts = ", ".join(
            f"count_if({_parse(f, dialect=engine.dialect)} IS NOT NULL) AS f{i}"
            for i, f in enumerate(DATE_FORMATS)
        )
        row = engine.query(f"SELECT {counts} FROM {name}").iloc[0]
    finally:
        engine.drop(name)
    return {fmt: int(row[f"f{i}"]) for i, fmt in enumerate(DATE_FORMATS)}


def _parse(date_format: str, expr: str = "v", dialect: Dialect = DUCKDB) -> str:
    if date_format == ISO_FORMAT:
        return f"CAST(TRY_CAST({expr} AS TIMESTAMP) AS DATE)"
    return dialect.parse_date(expr, date_format)


def _day_first(date_format: str) -> bool | None:
    if "%d" in date_format and "%m" in date_format:
        return date_format.index("%d") < date_format.index("%m")
    return None


def _detect_parsing(
    engine: Engine, raw: RawFile, columns: dict[str, str], csv: CsvOptions
) -> tuple[Parsing, list[str]]:
    warnings: list[str] = []
    date_kind = raw.columns[columns["date"]]
    date_format: str | None = None
    if date_kind == "DATE" or date_kind.startswith("TIMESTAMP"):
        date_format = None
    elif csv.date_format != "auto":
        date_format = csv.date_format
    else:
        counts = _fitting_formats(engine, _sample(engine, raw, columns["date"]))
        if counts:
            best = max(counts.values())
            fitting = [f for f, n in counts.items() if n == best]
            date_format = fitting[0] if best > 0 else DATE_FORMATS[0]
            orders = {_day_first(f) for f in fitting} - {None}
            if best > 0 and len(orders) == 2:
                warnings.append("date_format_ambiguous")
        else:
            date_format = DATE_FORMATS[0]
    decimal: dict[str, str] = {}
    for field in numeric_fields(columns):
        if raw.columns[columns[field]] != "VARCHAR":
            decimal[field] = "."
        elif csv.decimal != "auto":
            decimal[field] = csv.decimal
        else:
            decimal[field] = detect_decimal(_sample(engine, raw, columns[field]), raw.delimiter)[0]
    return Parsing(date_format, decimal), warnings


def _union_sql(part: str, fields: Sequence[str]) -> str:
    return f"SELECT _file, _reason, {', '.join(fields)} FROM ({part})"


@dataclass
class _Opened:
    raw: RawFile
    columns: dict[str, str]
    parsing: Parsing


def _other_formats(engine: Engine, values: Sequence[str], used: str | None) -> str | None:
    counts = _fitting_formats(engine, values)
    for fmt, n in counts.items():
        if n == len(values) and fmt != used:
            return fmt
    return None


def _examples(
    engine: Engine,
    opened: _Opened,
    index: int,
    policies: DataPolicies,
    as_of: dt.date | None,
    condition: str,
    value: str,
) -> list[tuple[int, str | None]]:
    sql = typed_sql(
        opened.raw,
        index,
        opened.columns,
        opened.parsing,
        policies,
        as_of,
        row_numbers=True,
        dialect=engine.dialect,
    )
    rows = engine.query(
        f"SELECT _row, {value} AS v FROM ({sql}) WHERE {condition} ORDER BY _row LIMIT {_EXAMPLES}"
    )
    return [
        (int(r) + opened.raw.row_offset, None if pd.isna(v) else str(v))
        for r, v in zip(rows["_row"], rows["v"], strict=True)
    ]


def _where(opened: _Opened, examples: list[tuple[int, str | None]], count: int) -> str:
    label = opened.raw.row_label
    shown = ", ".join(f"{label} {n}" + (f" {v!r}" if v is not None else "") for n, v in examples)
    more = f" and {count - len(examples)} more" if count > len(examples) else ""
    return shown + more


def _looks_decimal_comma(value: str) -> bool:
    return "," in value and (value.rfind(",") > value.rfind(".") or "." not in value)


def _line_items_hint(policies: DataPolicies) -> str:
    """How to read a line-item export whose order fields are on an order's first row only."""
    if policies.order_lines != "rows":
        return ""
    return (
        "; if the rows are the line items of orders with the order's fields on its first row "
        "only (Shopify), map columns.order_id and set data.policies.order_lines: order_total "
        "(or data.source: shopify)"
    )


def _error_lines(
    engine: Engine,
    opened: _Opened,
    index: int,
    counts: dict[Reason, int],
    policies: DataPolicies,
    as_of: dt.date | None,
    csv: CsvOptions,
) -> tuple[list[str], list[str]]:
    lines: list[str] = []
    hints: list[str] = []
    raw, columns, parsing = opened.raw, opened.columns, opened.parsing
    date_col = columns["date"]
    if counts.get(Reason.BAD_FIELD_COUNT):
        n = counts[Reason.BAD_FIELD_COUNT]
        ex = _examples(
            engine,
            opened,
            index,
            policies,
            as_of,
            f"_reason = {Reason.BAD_FIELD_COUNT.value}",
            "NULL",
        )
        lines.append(
            f"{n} {raw.row_label}(s) do not have {raw.field_count} fields: {_where(opened, ex, n)}"
        )
        hints.append("every line must have the same number of values")
    if counts.get(Reason.MISSING_DATE):
        n = counts[Reason.MISSING_DATE]
        ex = _examples(
            engine, opened, index, policies, as_of, f"_reason = {Reason.MISSING_DATE.value}", "NULL"
        )
        lines.append(f"{n} row(s) have no date in column '{date_col}': {_where(opened, ex, n)}")
        hints.append("fill in the missing dates or remove those rows" + _line_items_hint(policies))
    if counts.get(Reason.BAD_DATE):
        n = counts[Reason.BAD_DATE]
        ex = _examples(
            engine,
            opened,
            index,
            policies,
            as_of,
            f"_reason = {Reason.BAD_DATE.value}",
            "_raw_date",
        )
        values = [v for _, v in ex if v is not None]
        other = _other_formats(engine, values, parsing.date_format)
        fmt = parsing.date_format or "(none)"
        how = "configured" if csv.date_format != "auto" else "detected"
        if other is not None:
            lines.append(
                f"mixed date formats in column '{date_col}': most dates use {fmt} ({how}) but "
                f"{n} look like {other}: {_where(opened, ex, n)}"
            )
            hints.append(
                f"export every date in one format, or set data.csv.date_format: '{other}' "
                "(--date-format) if that is the file's format"
            )
        else:
            lines.append(
                f"{n} value(s) in column '{date_col}' are not dates in the format {fmt} "
                f"({how}): {_where(opened, ex, n)}"
            )
            hints.append(
                "correct those values, or set data.csv.date_format (--date-format) to the "
                "file's format, e.g. '%d-%m-%Y' or '%Y%m%d'"
            )
    for field in number_fields(columns):
        col = columns[field]
        missing = f"_reason = {Reason.MISSING_AMOUNT.value} AND _raw_{field} IS NULL"
        bad = (
            f"_reason = {Reason.BAD_AMOUNT.value} AND _raw_{field} IS NOT NULL AND {field} IS NULL"
        )
        if counts.get(Reason.MISSING_AMOUNT) and field != "refunded":  # no refund: 0
            ex = _examples(engine, opened, index, policies, as_of, missing, "NULL")
            if ex:
                n = _count(engine, opened, index, policies, as_of, missing)
                lines.append(f"{n} row(s) have no value in column '{col}': {_where(opened, ex, n)}")
                hints.append(f"fill in '{col}' or remove those rows" + _line_items_hint(policies))
        if counts.get(Reason.BAD_AMOUNT):
            ex = _examples(engine, opened, index, policies, as_of, bad, f"_raw_{field}")
            if ex:
                n = _count(engine, opened, index, policies, as_of, bad)
                mark = _mark(parsing, field)
                lines.append(
                    f"{n} value(s) in column '{col}' are not numbers (read with decimal mark "
                    f"'{mark}'): {_where(opened, ex, n)}"
                )
                values = [v for _, v in ex if v]
                if mark == "." and any(_looks_decimal_comma(v) for v in values):
                    hints.append(
                        "those look like amounts with a decimal comma (12,50): set "
                        "data.csv.decimal: ',' (--decimal ,), or export one convention only"
                    )
                elif mark == "," and any("." in v for v in values):
                    hints.append(
                        "those look like amounts with a decimal point (12.50): set "
                        "data.csv.decimal: '.' (--decimal .), or export one convention only"
                    )
                else:
                    hints.append(f"'{col}' must hold plain numbers such as 12.50 or 1.234,56")
    return lines, hints


def _count(
    engine: Engine,
    opened: _Opened,
    index: int,
    policies: DataPolicies,
    as_of: dt.date | None,
    condition: str,
) -> int:
    sql = typed_sql(
        opened.raw, index, opened.columns, opened.parsing, policies, as_of, dialect=engine.dialect
    )
    return int(engine.query(f"SELECT count(*) AS n FROM ({sql}) WHERE {condition}")["n"].item())


def _run(engine: Engine, sql: str, files: Sequence[RawFile]) -> pd.DataFrame:
    try:
        return engine.query(sql)
    except duckdb.Error as exc:
        raise csv_error(exc, files) from None


def _create(engine: Engine, name: str, sql: str, files: Sequence[RawFile]) -> None:
    try:
        engine.create_table(name, sql)
    except duckdb.Error as exc:
        raise csv_error(exc, files) from None


def read_transactions(
    sources: str | Path | Sequence[str | Path],
    columns: ColumnMapping,
    *,
    csv: CsvOptions | None = None,
    policies: DataPolicies | None = None,
    as_of: dt.date | str | None = None,
    format: str = "auto",
    base_dir: Path | str | None = None,
    engine: Engine | None = None,
    excel: ExcelOptions | None = None,
) -> Transactions:
    """Read transaction files into a clean table in the engine.

    Parameters
    ----------
    sources
        File names or globs (``exports/*.csv``): CSV (also ``.txt``, ``.tsv``,
        ``.gz``), Parquet or Excel ``.xlsx``.
    columns
        Which column holds the customer id, date, amount (or quantity and unit
        price), and optionally order id, channel, country and status.
    csv
        Delimiter, decimal mark, encoding, header/names and date format; each
        ``auto`` is detected per file.
    policies
        Returns, zero amounts, duplicates, outliers and cancelled statuses.
    as_of
        Report date; later rows are excluded. Default: the last transaction
        date that is not after today (later rows are excluded as
        ``future_date``). A date after the last transaction is flagged
        (``as_of_after_data``).
    format
        ``"auto"`` (by extension), ``"csv"``, ``"parquet"`` or ``"excel"``.
    base_dir
        Folder relative sources are taken from (the client folder).
    engine
        A :class:`~clvreport.engine.DuckDBEngine` (the default: a new one that
        the result owns; close it with :meth:`Transactions.close`) or a
        :class:`~clvreport.spark.SparkEngine`, which reads the files with Spark.
    excel
        Which sheet(s) of Excel files to read (default: the first).

    Returns
    -------
    Transactions

    Raises
    ------
    DataError
        For missing files or columns, unreadable files, unparseable dates or
        amounts (with row numbers and examples), input where no row is usable,
        and input with a single customer.

    Examples
    --------
    >>> tx = read_transactions(  # doctest: +SKIP
    ...     "orders.csv", ColumnMapping(customer_id="klant", date="datum", amount="bedrag"))
    >>> tx.quality.rows()  # doctest: +SKIP
    """
    csv = csv or CsvOptions()
    policies = policies or DataPolicies()
    as_of_date = parse_date(as_of, "as-of date", error=DataError)
    files = resolve_sources(sources, base_dir=base_dir, format=format)  # type: ignore[arg-type]
    own = engine is None
    if engine is None:
        engine = DuckDBEngine()
    try:
        sheet = (excel or ExcelOptions()).sheet
        return _read(files, columns, csv, policies, as_of_date, engine, own, sheet)
    except BaseException:
        if own:
            engine.close()
        raise


def _read(
    files: list[SourceFile],
    columns: ColumnMapping,
    csv: CsvOptions,
    policies: DataPolicies,
    as_of: dt.date | None,
    engine: Engine,
    own: bool,
    sheet: str | int | None = None,
) -> Transactions:
    opened: list[_Opened] = []
    warnings: list[str] = []
    for index, source in enumerate(files):

        def wanted(names: Sequence[str], source: SourceFile = source) -> list[str]:
            stub = RawFile(source=source, sql="", columns=dict.fromkeys(names, "VARCHAR"))
            return list(dict.fromkeys(resolve_columns(stub, columns).values()))

        if isinstance(engine, DuckDBEngine):
            raw = open_raw(source, csv, engine, index, wanted, sheet)
        else:  # another engine (Spark) reads the files itself
            raw = engine.open_raw(source, csv, index)  # type: ignore[attr-defined]
        mapped = resolve_columns(raw, columns)
        try:
            parsing, notes = _detect_parsing(engine, raw, mapped, csv)
        except duckdb.Error as exc:
            raise csv_error(exc, [raw]) from None
        warnings.extend(n for n in notes if n not in warnings)
        opened.append(_Opened(raw, mapped, parsing))
    raws = [o.raw for o in opened]
    mapped_names = opened[0].columns
    # quantity and unit price take part in "identical rows" when the amount is its own column.
    numeric_raw = [
        f"_raw_{f}"
        for f in ("quantity", "unit_price")
        if f in mapped_names and "amount" in mapped_names
    ]
    text = [f for f in TEXT_FIELDS if f in mapped_names]
    text += [f for f in mapped_names if f.startswith(EXTRA_PREFIX)]  # columns.extra
    out_fields = ["customer_id", "order_date", "amount", *text, *numeric_raw, "_id_float"]
    today = _today()
    parts = [
        _union_sql(
            typed_sql(
                o.raw,
                i,
                o.columns,
                o.parsing,
                policies,
                as_of,
                dialect=engine.dialect,
                today=today,
            ),
            out_fields,
        )
        for i, o in enumerate(opened)
    ]
    staged = engine.unique_name("clv_staged")
    rows = engine.unique_name("clv_rows")
    returners = engine.unique_name("clv_returners")
    base = engine.unique_name("clv_base")
    table = engine.unique_name("transactions")
    flags: dict[str, int] = {}
    excluded = {code: 0 for code in EXCLUSION_REASONS}
    try:
        _create(engine, staged, " UNION ALL ".join(parts), raws)
        counts = _run(
            engine,
            f"SELECT _file, _reason, count(*) AS n, count_if(_id_float) AS id_float "
            f"FROM {staged} GROUP BY _file, _reason",
            raws,
        )
        _check_errors(engine, opened, counts, policies, as_of, csv)
        rows_read = int(counts["n"].sum())
        if rows_read == 0:
            raise DataError(
                "no data rows: the file(s) hold at most a header line",
                path=files[0].path if len(files) == 1 else None,
                hint="export the transactions again, with data rows",
            )
        by_reason = counts.groupby("_reason")["n"].sum()
        kept_before_dedup = int(by_reason.get(Reason.KEPT.value, 0))
        if kept_before_dedup == 0:
            _raise_nothing_kept(files, by_reason, rows_read)
        for reason, n in by_reason.items():
            if reason != Reason.KEPT.value:
                excluded[Reason(int(reason)).code] += int(n)
        kept_counts = counts[counts["_reason"] == Reason.KEPT.value]
        flags["float_customer_id"] = int(kept_counts["id_float"].sum())
        kept = f"_reason = {Reason.KEPT.value}"
        statuses = status_counts(engine, staged, policies) if "status" in mapped_names else ()
        currencies = currency_counts(engine, staged, kept) if "currency" in mapped_names else ()
        one_off = _one_off(engine, staged) if excluded["one_off_gift"] else ()
        if len(currencies) > 1:
            raise_mixed_currencies(currencies, files, columns)
        check_customer_ids(engine, staged, kept, [o.raw for o in opened], columns, policies)
        outlier = _outlier_condition(engine, staged, kept)
        if outlier != "FALSE" and policies.outliers == "exclude":
            n = engine.query(f"SELECT count(*) AS n FROM {staged} WHERE {kept} AND {outlier}")
            excluded["outlier"] = int(n["n"].item())
            kept += f" AND NOT ({outlier})"
        keep = ["customer_id", "order_date", "amount", *text]
        drop_duplicates = policies.duplicates == "drop" or (
            policies.duplicates == "auto" and "order_id" in mapped_names
        )
        identical = ", ".join([*keep, *numeric_raw])
        dedup = "DISTINCT " if drop_duplicates else ""
        # A customer's purchases (amount >= 0): a customer with returns only is left out,
        # and so is one whose purchases were all returned (returns that cancel the
        # purchases: net revenue 0, to within 1% of what they bought): they kept nothing,
        # so they carry no value. Returns well beyond the purchases are a data problem,
        # kept and flagged (negative_net_customer). Only the customers with a return are
        # grouped (not a window over every row: 100M rows took a minute); ``_buyer`` is 1
        # for a customer with a purchase, ``_returned`` 1 when the returns cancel them.
        _create(engine, rows, f"SELECT {dedup}{identical} FROM {staged} WHERE {kept}", raws)
        engine.drop(staged)
        _create(
            engine,
            returners,
            f"SELECT customer_id AS _rc, "
            f"max(CASE WHEN amount >= 0 THEN 1 ELSE 0 END) AS _buyer, "
            f"CASE WHEN sum(amount) <= 0 AND sum(amount) >= "
            f"-{_FULLY_RETURNED_TOLERANCE} * sum(CASE WHEN amount > 0 THEN amount ELSE 0 END) "
            f"THEN 1 ELSE 0 END AS _returned "
            f"FROM {rows} WHERE customer_id IN (SELECT customer_id FROM {rows} WHERE amount < 0) "
            "GROUP BY customer_id",
            raws,
        )
        engine.create_view(
            base,
            f"SELECT r.*, COALESCE(f._buyer, 1) AS _buyer, COALESCE(f._returned, 0) AS _returned "
            f"FROM {rows} r LEFT JOIN {returners} f ON r.customer_id = f._rc",
        )
        base_stats = engine.query(
            f"SELECT count(*) AS n, count_if(_buyer = 0) AS return_rows, "
            f"count(DISTINCT CASE WHEN _buyer = 0 THEN customer_id END) AS return_customers, "
            f"count_if(_buyer = 1 AND _returned = 1) AS returned_rows, "
            f"count(DISTINCT CASE WHEN _buyer = 1 AND _returned = 1 THEN customer_id END) "
            f"AS returned_customers FROM {base}"
        ).iloc[0]
        n_base = int(base_stats["n"])
        kept_after_outliers = kept_before_dedup - excluded["outlier"]
        if drop_duplicates:
            excluded["duplicate"] = kept_after_outliers - n_base
        else:
            distinct = engine.query(
                f"SELECT count(*) AS n FROM (SELECT DISTINCT {identical} FROM {rows})"
            )
            flags["possible_duplicate"] = n_base - int(distinct["n"].item())
        excluded["return_only_customer"] = int(base_stats["return_rows"])
        flags["return_only_customer"] = int(base_stats["return_customers"])
        excluded["fully_returned_customer"] = int(base_stats["returned_rows"])
        flags["fully_returned_customer"] = int(base_stats["returned_customers"])
        clean = [*_CLEAN_COLUMNS, *(f for f in text if f not in ("status", "currency"))]
        select = ", ".join("amount < 0 AS is_return" if c == "is_return" else c for c in clean)
        source = f"SELECT {select} FROM {base} WHERE _buyer = 1 AND _returned = 0"
        rule = ExceptionalOrderRule.of(engine, base, "_buyer = 1 AND _returned = 0")
        if rule is not None and policies.outliers == "exclude":
            # left out like the implausible amounts; nothing is left to cap in the spend model
            found = rule.exceptional_sql(base, "_buyer = 1 AND _returned = 0", engine.dialect)
            n = engine.query(f"SELECT count(*) AS n FROM ({found})")
            excluded["exceptional_order"] = int(n["n"].item())
            if excluded["exceptional_order"]:
                # whether an order is exceptional depends on its customer and amount only
                source = (
                    f"SELECT {select} FROM {base} LEFT JOIN (SELECT DISTINCT customer_id AS _xc, "
                    f"amount AS _xa FROM ({found})) ON customer_id = _xc AND amount = _xa "
                    "WHERE _buyer = 1 AND _returned = 0 AND _xc IS NULL"
                )
            rule = None
        _create(engine, table, source, raws)
    finally:
        engine.drop(staged)
        engine.drop(base)
        engine.drop(returners)
        engine.drop(rows)
        for raw in raws:
            if raw.registered:
                engine.drop(raw.registered)
    engine.compact()  # the clean table is read many times from here on
    # A repeat customer bought on two or more days: first and last purchase day differ.
    stats = engine.query(
        "SELECT count(first_day) AS customers, count_if(first_day < last_day) AS repeat_customers, "
        "count_if(first_day IS NOT NULL AND net < 0) AS negative_net, "
        "sum(n_rows) AS rows_kept, sum(n_returns) AS returns, sum(n_zero) AS zero_amounts, "
        "sum(n_outliers) AS outliers, min(first_any) AS first_date, max(last_any) AS last_date "
        "FROM (SELECT customer_id, min(CASE WHEN NOT is_return THEN order_date END) AS first_day, "
        "max(CASE WHEN NOT is_return THEN order_date END) AS last_day, "
        "min(order_date) AS first_any, max(order_date) AS last_any, sum(amount) AS net, "
        f"count_if(amount = 0) AS n_zero, count_if({outlier}) AS n_outliers, "
        f"count(*) AS n_rows, count_if(is_return) AS n_returns FROM {table} GROUP BY customer_id)"
    ).iloc[0]
    customers = int(stats["customers"])
    rows_kept = int(stats["rows_kept"]) if customers else 0
    if customers == 0:
        engine.drop(table)
        _raise_too_few_customers(files, 0, excluded["return_only_customer"], columns)
    if customers <= 1:
        engine.drop(table)
        _raise_too_few_customers(files, customers, rows_kept, columns)
    first_date = pd.Timestamp(stats["first_date"]).date()
    last_date = pd.Timestamp(stats["last_date"]).date()
    flags["negative_net_customer"] = int(stats["negative_net"])
    flags["zero_amount_order"] = int(stats["zero_amounts"])
    if policies.outliers == "flag":
        flags["outlier"] = int(stats["outliers"])
    exceptional, n_exceptional, n_both = (
        _exceptional_orders(engine, table, rule, outlier) if rule is not None else (None, 0, 0)
    )
    if policies.outliers == "flag":
        # an order that is also an implausible amount is counted once, as that
        flags["exceptional_order"] = n_exceptional - n_both
    if as_of is not None and as_of > last_date:
        flags["as_of_after_data"] = (as_of - last_date).days
    for raw in raws:
        for code, n in raw.flags:
            flags[code] = flags.get(code, 0) + n
    repeat = int(stats["repeat_customers"])
    if repeat == 0:
        warnings.append("no_repeat_customers")
    per_file = counts.groupby("_file")["n"].sum()
    quality = DataQuality(
        rows_read=rows_read,
        rows_kept=rows_kept,
        excluded=tuple((code, excluded[code]) for code in EXCLUSION_REASONS),
        returns_netted=int(stats["returns"]),
        customers=customers,
        repeat_customers=repeat,
        warnings=tuple(warnings),
        flagged=tuple((code, flags[code]) for code in FLAG_MESSAGES if flags.get(code)),
        statuses=statuses,
        currencies=currencies,
        one_off=one_off,
        files=tuple(
            FileInfo(
                path=o.raw.source.path,
                format=o.raw.source.format,
                rows=int(per_file.get(i, 0)),
                encoding=o.raw.encoding,
                delimiter=describe_delimiter(o.raw.delimiter) if o.raw.delimiter else None,
                decimal=o.parsing.decimal.get("amount") or o.parsing.decimal.get("unit_price"),
                date_format=o.parsing.date_format,
            )
            for i, o in enumerate(opened)
        ),
    )
    return Transactions(
        engine=engine,
        table=table,
        columns=tuple(clean),
        first_date=first_date,
        last_date=last_date,
        as_of=as_of or last_date,
        quality=quality,
        owns_engine=own,
        extra=tuple(columns.extra or ()),
        exceptional_rule=rule,
        exceptional_orders=exceptional,
        exceptional_count=n_exceptional,
    )


def _exceptional_orders(
    engine: Engine, table: str, rule: ExceptionalOrderRule, outlier: str
) -> tuple[pd.DataFrame, int, int]:
    """The exceptional orders of the clean table, largest first, and how many there are.

    Returns the list (at most :data:`EXCEPTIONAL_LIST_MAX` rows: ``customer_id,
    order_date, amount, usual, reference``), the number of exceptional orders
    and how many of them are also implausible amounts (``outlier``).
    """
    found = rule.exceptional_sql(table, "TRUE", engine.dialect)
    rows = engine.query(
        f"SELECT customer_id, order_date, amount, _usual AS usual, _cap AS reference, "
        f"count(*) OVER () AS _n, sum(CASE WHEN {outlier} THEN 1 ELSE 0 END) OVER () AS _both "
        f"FROM ({found}) ORDER BY amount DESC, customer_id, order_date "
        f"LIMIT {EXCEPTIONAL_LIST_MAX}"
    )
    if rows.empty:
        frame = rows.drop(columns=["_n", "_both"])
        return frame.astype({"amount": float, "usual": float, "reference": float}), 0, 0
    n, both = int(rows["_n"].iloc[0]), int(rows["_both"].iloc[0])
    frame = rows.drop(columns=["_n", "_both"]).reset_index(drop=True)
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame.astype({"amount": float, "usual": float, "reference": float}), n, both


def _check_errors(
    engine: Engine,
    opened: list[_Opened],
    counts: pd.DataFrame,
    policies: DataPolicies,
    as_of: dt.date | None,
    csv: CsvOptions,
) -> None:
    errors = counts[counts["_reason"].map(lambda r: Reason(int(r)).is_error)]
    if errors.empty:
        return
    bad_files = sorted(int(i) for i in errors["_file"].unique())
    index = bad_files[0]
    per_reason = {
        Reason(int(r)): int(n)
        for r, n in errors[errors["_file"] == index].groupby("_reason")["n"].sum().items()
    }
    lines, hints = _error_lines(engine, opened[index], index, per_reason, policies, as_of, csv)
    if len(bad_files) > 1:
        others = ", ".join(str(opened[i].raw.source.path.name) for i in bad_files[1:4])
        lines.append(f"(other files with problems: {others})")
    raise DataError(
        "\n".join(lines) if len(lines) > 1 else lines[0],
        path=opened[index].raw.source.path,
        hint="; ".join(dict.fromkeys(hints)),
    )


def _one_off(engine: Engine, staged: str) -> tuple[tuple[str, int, float], ...]:
    """Every one-off channel's ``(value, rows, amount)``, the largest amount first.

    Spellings that differ in case only are one channel.
    """
    frame = engine.query(
        f"SELECT min(trim(channel)) AS channel, count(*) AS n, coalesce(sum(amount), 0) AS amount "
        f"FROM {staged} WHERE _reason = {Reason.ONE_OFF_GIFT.value} "
        "GROUP BY lower(trim(channel)) ORDER BY amount DESC, channel"
    )
    return tuple(
        (str(value), int(n), float(amount))
        for value, n, amount in zip(frame["channel"], frame["n"], frame["amount"], strict=True)
    )


def _raise_nothing_kept(files: list[SourceFile], by_reason: pd.Series, rows: int) -> None:
    parts = ", ".join(
        f"{int(n)} {Reason(int(r)).code.replace('_', ' ')}" for r, n in by_reason.items() if n
    )
    raise DataError(
        f"none of the {rows} rows can be used ({parts})",
        path=files[0].path if len(files) == 1 else None,
        hint=(
            "the report date (as_of, --as-of) lies before every purchase: choose a later one, "
            "or leave it out to report on the date of the last transaction"
            if by_reason.idxmax() == Reason.AFTER_AS_OF and by_reason.max() > rows / 2
            else "check the column mapping (customer id, status) and the as-of date; "
            "see data.policies in client.yml"
        ),
    )


def _raise_too_few_customers(
    files: list[SourceFile],
    customers: int,
    rows: int,
    columns: ColumnMapping,
) -> None:
    path = files[0].path if len(files) == 1 else None
    if customers == 0:
        raise DataError(
            f"no purchases: all {rows} usable rows are returns (negative amounts)",
            path=path,
            hint="check that the amount column holds order values, not refunds",
        )
    raise DataError(
        f"all {rows} usable rows belong to a single customer: a customer-lifetime-value "
        "analysis needs many customers",
        path=path,
        hint=f"check that columns.customer_id ('{columns.customer_id}') is the customer "
        "number and not e.g. a shop or company id",
    )


def load_transactions(
    config: ClientConfig,
    client_dir: Path | str,
    *,
    as_of: dt.date | str | None = None,
    engine: Engine | None = None,
) -> Transactions:
    """Read a client's transactions as its ``client.yml`` describes.

    Parameters
    ----------
    config
        The validated client configuration.
    client_dir
        The client folder; ``data.sources`` are relative to it.
    as_of
        Report date; overrides ``config.as_of``. Default: the last transaction date.
    engine
        Engine to use; by default a new DuckDB engine owned by the result.

    Returns
    -------
    Transactions

    Raises
    ------
    DataError
        See :func:`read_transactions`.
    ConfigError
        When ``engine: spark`` is configured but pyspark or Java is missing.

    Examples
    --------
    >>> client_dir, config = load_client("demo")  # doctest: +SKIP
    >>> with load_transactions(config, client_dir) as tx:  # doctest: +SKIP
    ...     print(tx.quality.customers)
    4963
    """
    if (engine is None and config.engine == "spark") or (
        engine is not None and engine.dialect.name == "spark"
    ):
        _spark_supports(config)
    transactions = _load(config, client_dir, as_of=as_of, engine=engine)
    try:
        check_currency(transactions.quality.currencies, config)
    except BaseException:
        transactions.close()
        raise
    return transactions


def _spark_supports(config: ClientConfig) -> None:
    """Refuse the settings only the DuckDB engine implements."""
    columns = config.data.columns
    if config.data.policies.order_lines != "rows" or columns.refunded or columns.document_type:
        raise ConfigError(
            "engine: spark does not merge order lines (data.policies.order_lines), net "
            "refunds (data.columns.refunded) or credit notes by document type "
            "(data.columns.document_type)",
            hint="use engine: duckdb (the default) for this export",
        )


def _load(
    config: ClientConfig,
    client_dir: Path | str,
    *,
    as_of: dt.date | str | None = None,
    engine: Engine | None = None,
) -> Transactions:
    if engine is None and config.engine == "spark":
        from clvreport.spark import SparkEngine

        engine = SparkEngine.start(config.spark)
        try:
            transactions = read_transactions(
                config.data.sources,
                config.data.columns,
                csv=config.data.csv,
                policies=config.data.policies,
                as_of=as_of if as_of is not None else config.as_of,
                format=config.data.format,
                base_dir=client_dir,
                engine=engine,
                excel=config.data.excel,
            )
        except BaseException:
            engine.close()
            raise
        return dataclasses.replace(transactions, owns_engine=True)
    data = config.data
    owned = engine is None
    if owned:
        engine = DuckDBEngine(memory_limit=config.duckdb.memory_limit)
    try:
        transactions = read_transactions(
            data.sources,
            data.columns,
            csv=data.csv,
            policies=data.policies,
            as_of=as_of if as_of is not None else config.as_of,
            format=data.format,
            base_dir=client_dir,
            engine=engine,
            excel=data.excel,
        )
    except BaseException:
        if owned:
            engine.close()
        raise
    return dataclasses.replace(transactions, owns_engine=True) if owned else transactions
