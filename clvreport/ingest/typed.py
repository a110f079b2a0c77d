"""SQL that turns one raw file into typed transactions with a reason code per row.

For each file, the mapped columns are trimmed, parsed (dates with one format,
amounts with one decimal mark) and every row gets a :data:`Reason`: kept, or
why it is excluded or wrong. Parsing is strict: a value that does not fit the
detected format becomes NULL and its row is flagged, so nothing is misread
silently. The result is a view; DuckDB evaluates it while scanning the file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from clvreport.config import ColumnMapping, DataPolicies
from clvreport.engine import DUCKDB, Dialect, quote_identifier
from clvreport.errors import DataError
from clvreport.ingest.detect import ISO_FORMAT, describe_delimiter
from clvreport.ingest.reader import RawFile

__all__ = [
    "EXTRA_PREFIX",
    "NUMERIC_FIELDS",
    "TEXT_FIELDS",
    "Parsing",
    "Reason",
    "mapped_fields",
    "number_fields",
    "numeric_fields",
    "resolve_columns",
    "typed_sql",
]

TEXT_FIELDS = ("order_id", "channel", "country", "status", "currency")
"""Optional text fields kept as VARCHAR."""

LINE_FIELDS = ("order_id", "quantity", "unit_price")
"""Fields that belong to a line item: never filled in from the order's other rows."""

EXTRA_PREFIX = "extra_"
"""Field names of the ``columns.extra`` pass-through columns: ``extra_0``, ``extra_1``, ..."""

NUMERIC_FIELDS = ("amount", "quantity", "unit_price")
"""Fields parsed as numbers."""

_NULL_TOKENS = ("null", "nan", "none", "n/a", "#n/a", "na", "-")
_CURRENCY = r"[\s€$£]|EUR|USD|GBP"
_NUMBER_PATTERN = {
    ".": r"[+-]?(\d{1,3}(,\d{3})+|\d*)(\.\d+)?-?",
    ",": r"[+-]?(\d{1,3}(\.\d{3})+|\d*)(,\d+)?-?",
}
_INTEGER_TYPES = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|U?HUGEINT)$")
_FLOAT_TYPES = re.compile(r"^(DOUBLE|FLOAT|REAL|DECIMAL.*)$")
_FLOAT_ID = r"[+-]?[0-9]+[.]0+"


class Reason(IntEnum):
    """Why a row is not kept (``KEPT`` when it is); see :attr:`is_error` for the fatal ones."""

    KEPT = 0
    BAD_FIELD_COUNT = 1
    MISSING_CUSTOMER_ID = 2
    CANCELLED_STATUS = 3
    MISSING_DATE = 4
    BAD_DATE = 5
    MISSING_AMOUNT = 6
    BAD_AMOUNT = 7
    AFTER_AS_OF = 8
    ZERO_AMOUNT = 9
    RETURN_DROPPED = 10
    FUTURE_DATE = 11
    PLACEHOLDER_CUSTOMER = 12
    ORDER_LINE = 13
    ONE_OFF_GIFT = 14

    @property
    def is_error(self) -> bool:
        """Whether rows with this reason make the input unusable (raise) rather than excluded."""
        return self in (
            Reason.BAD_FIELD_COUNT,
            Reason.MISSING_DATE,
            Reason.BAD_DATE,
            Reason.MISSING_AMOUNT,
            Reason.BAD_AMOUNT,
        )

    @property
    def code(self) -> str:
        """The reason code used in the data-quality table, e.g. ``"missing_customer_id"``."""
        return self.name.lower()


@dataclass(frozen=True)
class Parsing:
    """How one file's dates and numbers are parsed.

    Attributes
    ----------
    date_format
        strftime format, :data:`~clvreport.ingest.detect.ISO_FORMAT`, or ``None``
        when the date column is already a date/timestamp.
    decimal
        Decimal mark per numeric field (``"."`` or ``","``), for text columns.
    """

    date_format: str | None
    decimal: Mapping[str, str]


def mapped_fields(columns: ColumnMapping) -> dict[str, str]:
    """The fields the mapping sets, field → configured column name.

    Examples
    --------
    >>> mapped_fields(ColumnMapping(customer_id="klant", date="datum", amount="bedrag"))
    {'customer_id': 'klant', 'date': 'datum', 'amount': 'bedrag'}
    >>> mapped_fields(ColumnMapping(customer_id="k", date="d", amount="b", extra=["email"]))
    {'customer_id': 'k', 'date': 'd', 'amount': 'b', 'extra_0': 'email'}
    """
    fields = {
        field: name
        for field, name in columns.model_dump().items()
        if isinstance(name, str)  # not None, and not the pass-through list `extra`
    }
    # The pass-through columns are fields extra_0, extra_1, ...
    fields.update({f"{EXTRA_PREFIX}{i}": name for i, name in enumerate(columns.extra or ())})
    return fields


def _looks_like_data(name: str) -> bool:
    return bool(re.fullmatch(r"[\d\s.,:/+-]+", name))


def resolve_columns(raw: RawFile, columns: ColumnMapping) -> dict[str, str]:
    """Find each mapped column in the file: exactly, else ignoring case and spaces.

    Parameters
    ----------
    raw
        The opened file.
    columns
        The column mapping from ``client.yml``.

    Returns
    -------
    dict
        Field → the file's column name.

    Raises
    ------
    DataError
        Naming every column that is not found, the closest existing name, and
        the likely cause (missing header line, wrong delimiter).
    """
    available = list(raw.columns)
    folded = {name.strip().casefold(): name for name in available}
    found: dict[str, str] = {}
    problems = []
    for field, wanted in mapped_fields(columns).items():
        if wanted in raw.columns:
            found[field] = wanted
            continue
        match = folded.get(wanted.strip().casefold())
        if match is not None:
            found[field] = match
            continue
        close = difflib.get_close_matches(wanted.casefold(), list(folded), n=1, cutoff=0.6)
        suggestion = f"; did you mean '{folded[close[0]]}'?" if close else ""
        key = "extra" if field.startswith(EXTRA_PREFIX) else field
        problems.append(f"  - columns.{key}: '{wanted}' is not a column{suggestion}")
    if not problems:
        return found
    listing = ", ".join(f"'{n}'" for n in available[:30]) + (", ..." if len(available) > 30 else "")
    hint = "correct data.columns in client.yml (or the --*-col options) to the file's names"
    if raw.delimiter is not None and len(available) == 1:
        only = available[0]
        used = next((d for d in (";", ",", "\t", "|") if d in only), None)
        if used is not None:
            hint = (
                f"the file was read with delimiter {describe_delimiter(raw.delimiter)} but "
                f"the header holds {describe_delimiter(used)}: set data.csv.delimiter "
                f"(--delimiter) to {used!r}"
            )
    elif raw.delimiter is not None and sum(_looks_like_data(n) for n in available) >= max(
        1, len(available) // 2
    ):
        hint = (
            "the first line looks like data, not column names: set data.csv.header: false "
            "and name the columns with data.csv.names (--no-header --names a,b,c)"
        )
    raise DataError(
        "column(s) not found:\n" + "\n".join(problems) + f"\nColumns in the file: {listing}",
        path=raw.source.path,
        hint=hint,
    )


def _text(column: str, kind: str, dialect: Dialect = DUCKDB) -> str:
    col = quote_identifier(column)
    text = dialect.text_type
    if kind == "VARCHAR":
        return f"NULLIF(trim({col}), '')"
    if _FLOAT_TYPES.match(kind):
        return (
            f"CASE WHEN {dialect.is_finite(col)} AND {col} = floor({col}) AND abs({col}) < 1e15 "
            f"THEN CAST(CAST({col} AS BIGINT) AS {text}) ELSE CAST({col} AS {text}) END"
        )
    return f"CAST({col} AS {text})"


def _customer(column: str, kind: str, dialect: Dialect = DUCKDB) -> str:
    text = _text(column, kind, dialect)
    if kind != "VARCHAR":
        return text
    tokens = ", ".join(dialect.string(t) for t in _NULL_TOKENS)
    return f"CASE WHEN lower({text}) IN ({tokens}) THEN NULL ELSE {text} END"


def _date_parsed(
    raw_text: str, column: str, kind: str, date_format: str | None, dialect: Dialect = DUCKDB
) -> str:
    col = quote_identifier(column)
    if kind == "DATE":
        return col
    if kind.startswith("TIMESTAMP"):
        return f"CAST({col} AS DATE)"
    if date_format is None:
        return "CAST(NULL AS DATE)"
    if date_format == ISO_FORMAT:
        return f"CAST(TRY_CAST({raw_text} AS TIMESTAMP) AS DATE)"
    return dialect.parse_date(raw_text, date_format)


def _fold_email(expr: str) -> str:
    """An e-mail-like id (holding ``@``) in lower case: ``Jan@X.nl`` is ``jan@x.nl``."""
    return f"CASE WHEN contains({expr}, '@') THEN lower({expr}) ELSE {expr} END"


def _order_lines(
    raw_sql: str,
    columns: Mapping[str, str],
    kinds: Mapping[str, str],
    policies: DataPolicies,
    dialect: Dialect,
) -> tuple[str, dict[str, str]]:
    """The file with order-level fields filled in per order and each row's place in its order.

    Order-level fields (all but :data:`LINE_FIELDS`; with ``order_lines: sum``
    also the amount) that are empty on a row take the value of the order's
    other rows, as ``_ff_<field>``; ``_ln`` is the row's position in the file,
    ``_oid`` the order id and ``_line`` the row's position within its order (1
    for rows without an order id). Returns the SQL and field → column to read.
    """
    line_fields = set(LINE_FIELDS)
    if policies.order_lines == "sum":
        line_fields.add("amount")
    oid = _text(columns["order_id"], kinds["order_id"], dialect)
    numbered = f"SELECT *, {dialect.row_number()} AS _ln, {oid} AS _oid FROM {raw_sql}"
    window = "OVER (PARTITION BY _oid)"
    filled: list[str] = []
    read = dict(columns)
    for field, column in columns.items():
        if field in line_fields:
            continue
        col = quote_identifier(column)
        value = f"NULLIF(trim({col}), '')" if kinds[field] == "VARCHAR" else col
        filled.append(
            f"CASE WHEN _oid IS NULL THEN {value} "
            f"ELSE coalesce({value}, max({value}) {window}) END AS _ff_{field}"
        )
        read[field] = f"_ff_{field}"
    line = (
        "CASE WHEN _oid IS NULL THEN 1 ELSE row_number() OVER (PARTITION BY _oid ORDER BY _ln) "
        "END AS _line"
    )
    return f"(SELECT *, {', '.join([*filled, line])} FROM ({numbered}))", read


def _is_numeric(kind: str) -> bool:
    return bool(_INTEGER_TYPES.match(kind) or _FLOAT_TYPES.match(kind))


def _number_fast(raw_text: str, column: str, kind: str, decimal: str) -> str:
    # contains, replace and TRY_CAST are spelled alike in DuckDB and Spark SQL.
    if _is_numeric(kind):
        return f"CAST({quote_identifier(column)} AS DOUBLE)"
    if decimal == ",":
        return (
            f"CASE WHEN NOT contains({raw_text}, '.') "
            f"THEN TRY_CAST(replace({raw_text}, ',', '.') AS DOUBLE) END"
        )
    return f"TRY_CAST({raw_text} AS DOUBLE)"


def _number_slow(fast: str, clean: str, decimal: str, dialect: Dialect = DUCKDB) -> str:
    normal = dialect.rtrim_chars(clean, "-")
    if decimal == ",":
        normal = f"replace(replace({normal}, '.', ''), ',', '.')"
    else:
        normal = f"replace({normal}, ',', '')"
    sign = f"CASE WHEN {clean} LIKE '%-' AND NOT {clean} LIKE '-%' THEN -1 ELSE 1 END"
    return (
        f"CASE WHEN {dialect.is_finite(fast)} THEN {fast} "
        f"WHEN {dialect.regex_full_match(clean, _NUMBER_PATTERN[decimal])} "
        f"AND {dialect.regex_contains(clean, '[0-9]')} "
        f"THEN TRY_CAST({normal} AS DOUBLE) * {sign} END"
    )


def typed_sql(
    raw: RawFile,
    index: int,
    columns: Mapping[str, str],
    parsing: Parsing,
    policies: DataPolicies,
    as_of: dt.date | None,
    *,
    row_numbers: bool = False,
    dialect: Dialect = DUCKDB,
    today: dt.date | None = None,
) -> str:
    """SQL selecting one file's rows as typed transactions with a reason code.

    Parameters
    ----------
    raw
        The opened file.
    index
        Its position in the source list (the ``_file`` column).
    columns
        Field → file column, from :func:`resolve_columns`.
    parsing
        Date format and decimal marks.
    policies
        What to exclude.
    as_of
        Rows after this date are excluded (``None``: no cut-off).
    row_numbers
        Add ``_row``, the 1-based data-row number (for error messages; slower).
    dialect
        The engine's SQL dialect (``engine.dialect``).
    today
        Without ``as_of``: rows after this date are excluded as ``FUTURE_DATE``.

    Returns
    -------
    str
        A query with columns ``_file``, (``_row``), ``customer_id``,
        ``order_date``, ``amount``, the mapped optional fields, the raw texts
        ``_raw_date``/``_raw_<numeric field>``, ``_id_float`` (the customer id
        was an integer written as a decimal number, ``100003.0``, and is read as
        ``100003``) and ``_reason`` (a :class:`Reason`).
    """
    kinds = {field: raw.columns[col] for field, col in columns.items()}
    numeric = numeric_fields(columns)
    numbers = number_fields(columns)
    source = raw.sql
    lines = policies.order_lines != "rows" and "order_id" in columns
    if lines:
        source, columns = _order_lines(raw.sql, columns, kinds, policies, dialect)
    # Level 1: trimmed texts and plain columns.
    level1 = [f"{index} AS _file"]
    if row_numbers:
        level1.append(f"{'_ln' if lines else dialect.row_number()} AS _row")
    if lines:
        level1.append("_oid, _line")
    customer = _customer(columns["customer_id"], kinds["customer_id"], dialect)
    level1.append(f"{customer} AS _cid")
    if "customer_fallback" in columns:
        fallback = _customer(columns["customer_fallback"], kinds["customer_fallback"], dialect)
        level1.append(f"{fallback} AS _cfb")
    if "document_type" in columns:
        level1.append(f"{_text(columns['document_type'], kinds['document_type'], dialect)} AS _doc")
    for field in TEXT_FIELDS:
        if field in columns:
            level1.append(f"{_text(columns[field], kinds[field], dialect)} AS {field}")
    for field in columns:
        if field.startswith(EXTRA_PREFIX):
            level1.append(f"{_text(columns[field], kinds[field], dialect)} AS {field}")
    level1.append(f"{_text(columns['date'], kinds['date'], dialect)} AS _raw_date")
    for field in (*NUMERIC_FIELDS, "refunded"):
        if field in columns:
            level1.append(f"{_text(columns[field], kinds[field], dialect)} AS _raw_{field}")
    if raw.fields_column:
        level1.append(f"{raw.fields_column} = {raw.field_count} AS _fields_ok")
    for field in ("date", *numbers):
        level1.append(f"{quote_identifier(columns[field])} AS _src_{field}")
    sql = f"SELECT {', '.join(level1)} FROM {source}"
    # Level 2: parsed date, fast number casts, cleaned number texts.
    if kinds["customer_id"] == "VARCHAR":
        # 100003.0 (an integer id that went through a float) is customer 100003.
        is_float = f"(contains(_cid, '.') AND {dialect.regex_full_match('_cid', _FLOAT_ID)})"
        trimmed = dialect.regex_replace_all("_cid", "[.]0+$", "")
        id_cols = [
            f"CASE WHEN {is_float} THEN {trimmed} ELSE _cid END AS _cid1",
            f"coalesce({is_float}, FALSE) AS _id_float",
        ]
    else:
        id_cols = ["_cid AS _cid1", "FALSE AS _id_float"]
    level2 = [
        *id_cols,
        f"{_date_parsed('_raw_date', '_src_date', kinds['date'], parsing.date_format, dialect)} "
        "AS order_date",
    ]
    for field in numbers:
        fast = _number_fast(f"_raw_{field}", f"_src_{field}", kinds[field], _mark(parsing, field))
        level2.append(f"{fast} AS _fast_{field}")
    sql = f"SELECT *, {', '.join(level2)} FROM ({sql})"
    sql = f"SELECT *, {_customer_id(columns, policies, dialect)} FROM ({sql})"
    level3 = []
    for field in numbers:
        clean = dialect.regex_replace_all(f"_raw_{field}", _CURRENCY, "")
        level3.append(
            f"CASE WHEN {dialect.is_finite(f'_fast_{field}')} THEN NULL ELSE {clean} END "
            f"AS _clean_{field}"
        )
    sql = f"SELECT *, {', '.join(level3)} FROM ({sql})"
    level4 = [
        f"{_number_slow(f'_fast_{field}', f'_clean_{field}', _mark(parsing, field), dialect)} "
        f"AS {field}"
        for field in numbers
    ]
    sql = f"SELECT *, {', '.join(level4)} FROM ({sql})"
    line_amount = "amount" if "amount" in numeric else "(quantity * unit_price)"
    amount = line_amount
    if (lines and policies.order_lines == "sum") or "refunded" in columns:
        # the order's amount: its rows' amounts added up; partial refunds netted
        net = line_amount
        if lines and policies.order_lines == "sum":
            net = (
                f"CASE WHEN _oid IS NULL OR {line_amount} IS NULL THEN {line_amount} "
                f"ELSE sum({line_amount}) OVER (PARTITION BY _oid) END"
            )
        if "refunded" in columns:
            net = f"({net}) - coalesce(refunded, 0)"
        sql = f"SELECT *, {net} AS _net FROM ({sql})"
        amount = "_net"
    if "document_type" in columns and policies.credit_notes:
        # a credit note counts negative, also when the export writes it positive
        credit = ", ".join(dialect.string(s.strip().lower()) for s in policies.credit_notes)
        signed = f"CASE WHEN lower(_doc) IN ({credit}) THEN -abs({amount}) ELSE {amount} END"
        sql = f"SELECT *, {signed} AS _signed FROM ({sql})"
        amount = "_signed"
    # Level 5: the reason.
    cases = []
    if raw.fields_column:
        cases.append(f"WHEN NOT _fields_ok THEN {Reason.BAD_FIELD_COUNT.value}")
    if policies.placeholder_customers:
        cases.append(
            f"WHEN customer_id IS NULL AND _placeholder THEN {Reason.PLACEHOLDER_CUSTOMER.value}"
        )
    cases.append(f"WHEN customer_id IS NULL THEN {Reason.MISSING_CUSTOMER_ID.value}")
    if "status" in columns and policies.cancelled_statuses:
        statuses = ", ".join(dialect.string(s.strip().lower()) for s in policies.cancelled_statuses)
        cases.append(f"WHEN lower(status) IN ({statuses}) THEN {Reason.CANCELLED_STATUS.value}")
    cases.append(f"WHEN _raw_date IS NULL THEN {Reason.MISSING_DATE.value}")
    cases.append(f"WHEN order_date IS NULL THEN {Reason.BAD_DATE.value}")
    for field in numeric:
        cases.append(f"WHEN _raw_{field} IS NULL THEN {Reason.MISSING_AMOUNT.value}")
    for field in numeric:
        cases.append(f"WHEN {field} IS NULL THEN {Reason.BAD_AMOUNT.value}")
    if "refunded" in columns:
        cases.append(
            f"WHEN _raw_refunded IS NOT NULL AND refunded IS NULL THEN {Reason.BAD_AMOUNT.value}"
        )
    if lines:
        cases.append(f"WHEN _line > 1 THEN {Reason.ORDER_LINE.value}")
    if as_of is not None:
        cases.append(f"WHEN order_date > {dialect.date(as_of)} THEN {Reason.AFTER_AS_OF.value}")
    elif today is not None:
        cases.append(f"WHEN order_date > {dialect.date(today)} THEN {Reason.FUTURE_DATE.value}")
    if "channel" in columns and policies.one_off_channels:
        # legacies, major gifts: not a habit; after the parse checks, so the amount is known
        kinds = ", ".join(dialect.string(s.strip().lower()) for s in policies.one_off_channels)
        cases.append(f"WHEN lower(trim(channel)) IN ({kinds}) THEN {Reason.ONE_OFF_GIFT.value}")
    if policies.zero_amounts == "drop":
        cases.append(f"WHEN {amount} = 0 THEN {Reason.ZERO_AMOUNT.value}")
    if policies.returns == "drop":
        cases.append(f"WHEN {amount} < 0 THEN {Reason.RETURN_DROPPED.value}")
    reason = f"CAST(CASE {' '.join(cases)} ELSE 0 END AS TINYINT)"
    if "amount" not in numeric:
        return f"SELECT *, {amount} AS amount, {reason} AS _reason FROM ({sql})"
    if amount != "amount":  # DuckDB only: the Spark engine refuses these settings
        return f"SELECT * REPLACE ({amount} AS amount), {reason} AS _reason FROM ({sql})"
    return f"SELECT *, {reason} AS _reason FROM ({sql})"


def _mark(parsing: Parsing, field: str) -> str:
    """The decimal mark of a number field; a refund is written like the amount."""
    if field in parsing.decimal:
        return parsing.decimal[field]
    return parsing.decimal.get("amount") or parsing.decimal.get("unit_price") or "."


def _customer_id(columns: Mapping[str, str], policies: DataPolicies, dialect: Dialect) -> str:
    """``customer_id`` and ``_placeholder`` from the (float-fixed) id ``_cid1``.

    An id listed in ``placeholder_customers`` means no customer (``_placeholder``);
    such a row, and a row without id, takes ``customer_fallback`` when mapped:
    the customer id of the file's rows with the same fallback value (a guest
    who also ordered with an account, by e-mail address in lower case; the
    highest id when several share it), else the fallback value itself.
    E-mail-like ids are folded to lower case.
    """
    tokens = ", ".join(dialect.string(t.strip().lower()) for t in policies.placeholder_customers)
    placeholder = f"(_cid1 IS NOT NULL AND lower(_cid1) IN ({tokens}))" if tokens else "FALSE"
    own = f"CASE WHEN {placeholder} THEN NULL ELSE _cid1 END"
    chosen = own
    if "customer_fallback" in columns:
        account = f"max({own}) OVER (PARTITION BY lower(_cfb))"
        chosen = f"coalesce({own}, CASE WHEN _cfb IS NOT NULL THEN {account} END, _cfb)"
    return f"{_fold_email(chosen)} AS customer_id, {placeholder} AS _placeholder"


def numeric_fields(columns: Mapping[str, str]) -> Sequence[str]:
    """The numeric fields that make the amount: ``amount``, or quantity and unit price."""
    return ["amount"] if "amount" in columns else ["quantity", "unit_price"]


def number_fields(columns: Mapping[str, str]) -> Sequence[str]:
    """Every field parsed as a number: :func:`numeric_fields` and ``refunded`` when mapped."""
    return [*numeric_fields(columns), *(["refunded"] if "refunded" in columns else [])]
