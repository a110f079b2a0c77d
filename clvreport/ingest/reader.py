"""Open one transaction file as a DuckDB relation of raw columns.

CSV files are read by DuckDB with every column as text (so that dates and
amounts are parsed, and their problems reported, by clvreport), with the
delimiter, header and encoding detected or configured. Whitespace-separated
files (CDNOW) are read line by line and split on runs of spaces in SQL.
Parquet files keep their types. Excel files are streamed with openpyxl
(read-only) into Arrow, keeping only the mapped columns, because DuckDB's
Excel extension needs a download.

Nothing here pulls a large file into pandas: every relation is a view over
the file that DuckDB scans in parallel.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from clvreport.config import CsvOptions
from clvreport.engine import DuckDBEngine, quote_identifier
from clvreport.errors import DataError
from clvreport.ingest.detect import (
    describe_delimiter,
    detect_decimal,
    detect_delimiter,
    split_header,
    unique_names,
)
from clvreport.ingest.encoding import detect_encoding, read_sample, transcode_to_utf8
from clvreport.ingest.sources import SourceFile
from clvreport.safe_files import check_workbook

__all__ = ["CsvLayout", "RawFile", "csv_error", "inspect_csv", "open_raw"]

_WHITESPACE_FIELDS = "_clv_nfields"
_LINE_SEPARATOR = "\x1f"  # unit separator: never inside a text export's lines
_EXCEL_SEP = re.compile(r'\A"?sep=(.)"?[ \t]*\r?\n')
_DELIMITER_ALIASES = {"tab": "\t", "\\t": "\t", "space": "whitespace", "spaces": "whitespace"}


@dataclass(frozen=True)
class RawFile:
    """One input file, readable in SQL with its original column names.

    Attributes
    ----------
    source
        The file as found.
    sql
        A FROM-able SQL expression (table function, subquery or registered name).
    columns
        Column name → DuckDB type.
    row_label
        What a row is called in messages: ``"line"`` (CSV) or ``"row"``.
    row_offset
        Added to the 1-based data-row number to get the line/row a user sees
        (1 for a header line).
    encoding, delimiter
        How a CSV file was read (``None`` for other formats).
    field_count
        For whitespace-separated files: the number of fields every line must
        have (the relation then has a column counting them).
    registered
        Name of in-memory data registered for this file (Excel), to drop later.
    read_path
        The file DuckDB reads (a UTF-8 copy for transcoded files).
    flags
        ``(flag code, count)`` found while opening (``unread_sheets``).
    """

    source: SourceFile
    sql: str
    columns: dict[str, str]
    row_label: str = "row"
    row_offset: int = 0
    encoding: str | None = None
    delimiter: str | None = None
    field_count: int | None = None
    registered: str | None = None
    read_path: Path | None = None
    flags: tuple[tuple[str, int], ...] = ()

    @property
    def fields_column(self) -> str | None:
        """Name of the field-count column of whitespace files, else ``None``."""
        return _WHITESPACE_FIELDS if self.field_count is not None else None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _normalise_delimiter(delimiter: str, path: Path) -> str:
    delimiter = _DELIMITER_ALIASES.get(delimiter.lower(), delimiter)
    if delimiter not in ("auto", "whitespace") and len(delimiter) != 1:
        raise DataError(
            f"delimiter {delimiter!r} must be one character, 'whitespace' or 'auto'",
            path=path,
            hint="set data.csv.delimiter to e.g. ';', ',', 'tab' or 'whitespace'",
        )
    return delimiter


def _open_csv(source: SourceFile, csv: CsvOptions, engine: DuckDBEngine, index: int) -> RawFile:
    try:
        return _open_csv_text(source, csv, engine, index)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(
            f"cannot read the file: {exc}",
            path=source.path,
            hint="check that the file is complete (a .gz file must be gzip-compressed)",
        ) from None


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV file is laid out, found by looking at its first megabyte.

    Attributes
    ----------
    read_path
        The file to read: the original, or a UTF-8 copy of a transcoded file.
    compression
        ``"gzip"`` when ``read_path`` is compressed, else ``None``.
    encoding
        The file's original text encoding.
    delimiter
        The field separator, or ``"whitespace"`` for runs of spaces and tabs.
    skip
        Lines to skip before the header (or first data line): an Excel ``sep=`` line.
    header
        Whether the first (not skipped) line holds column names.
    names
        The column names to use, unique.
    """

    read_path: Path
    compression: str | None
    encoding: str
    delimiter: str
    skip: int
    header: bool
    names: list[str]


def inspect_csv(source: SourceFile, csv: CsvOptions, work_dir: Path, index: int) -> CsvLayout:
    """Detect a CSV file's encoding, delimiter and column names (``auto`` options).

    Any engine reads the file with the result: DuckDB here, Spark in
    :mod:`clvreport.spark`. Files in another encoding than UTF-8 are copied to
    UTF-8 in ``work_dir`` first.

    Parameters
    ----------
    source
        The file.
    csv
        The configured options; ``auto`` values are detected.
    work_dir
        Folder for transcoded copies.
    index
        Position of the file in the source list (names the copy).

    Returns
    -------
    CsvLayout

    Raises
    ------
    DataError
        For an empty file, or column names that do not fit the first line.
    """
    path, compression = source.path, source.compression
    encoding = detect_encoding(path, csv.encoding, compression)
    read_path = path
    if encoding not in ("utf-8", "utf-8-sig"):
        target_dir = work_dir / "input"
        target_dir.mkdir(parents=True, exist_ok=True)
        read_path = transcode_to_utf8(
            path, encoding, target_dir / f"{index}_{path.name}.utf8.csv", compression
        )
        compression = None
    # The sample may end inside a multi-byte character: ignore that one.
    text = read_sample(read_path, compression).decode("utf-8", errors="ignore").lstrip("\ufeff")
    if not text.strip():
        raise DataError(
            "the file is empty", path=path, hint="export the transactions again, with data rows"
        )
    delimiter = _normalise_delimiter(csv.delimiter, path)
    # Excel writes "sep=;" as the first line of some CSV exports: obey and skip it.
    skip = 0
    excel_hint = _EXCEL_SEP.match(text)
    if excel_hint:
        skip = 1
        text = text[excel_hint.end() :]
        if delimiter == "auto":
            delimiter = excel_hint.group(1)
        if not text.strip():
            raise DataError(
                "the file is empty", path=path, hint="export the transactions again, with data"
            )
    if delimiter == "auto":
        delimiter = detect_delimiter(text)
    first_line = next(line for line in text.splitlines() if line.strip())
    first_fields = split_header(first_line, delimiter)
    if delimiter != "whitespace" and first_line.count('"') % 2:
        # a quoted name holding a line break ("Klant\nnummer"): the header is one CSV
        # record over several lines; its names read with the break as a space
        record = text[text.index(first_line) :]
        first_fields = [" ".join(f.split()) for f in split_header(record, delimiter)]
    if csv.header:
        names = list(csv.names) if csv.names else first_fields
        if csv.names and len(csv.names) != len(first_fields):
            raise DataError(
                f"csv.names lists {len(csv.names)} names but the header line has "
                f"{len(first_fields)} fields (delimiter {describe_delimiter(delimiter)})",
                path=path,
                hint="give one name per column, in order",
            )
    else:
        names = list(csv.names) if csv.names else [f"column{i}" for i in range(len(first_fields))]
        if len(names) != len(first_fields):
            raise DataError(
                f"{len(names)} column names were given but line 1 has {len(first_fields)} "
                f"fields (delimiter {describe_delimiter(delimiter)}): {first_line.strip()[:80]!r}",
                path=path,
                hint="give one name per column in csv.names (--names), in order",
            )
    return CsvLayout(
        read_path=read_path,
        compression=compression,
        encoding=encoding,
        delimiter=delimiter,
        skip=skip,
        header=csv.header,
        names=unique_names(names),
    )


def _open_csv_text(
    source: SourceFile, csv: CsvOptions, engine: DuckDBEngine, index: int
) -> RawFile:
    layout = inspect_csv(source, csv, engine.temp_directory, index)
    read_path, compression, names = layout.read_path, layout.compression, layout.names
    skip, delimiter = layout.skip, layout.delimiter
    comp = f", compression={_literal(compression)}" if compression else ""
    if delimiter == "whitespace":
        lines = (
            f"read_csv({_literal(str(read_path))}, columns={{'line': 'VARCHAR'}}, "
            f"delim={_literal(_LINE_SEPARATOR)}, quote='', escape='', header=false, "
            f"auto_detect=false, skip={skip + int(csv.header)}{comp})"
        )
        parts = "string_split_regex(regexp_replace(line, '^\\s+|\\s+$', '', 'g'), '\\s+')"
        selects = ", ".join(
            f"parts[{i + 1}] AS {quote_identifier(name)}" for i, name in enumerate(names)
        )
        sql = (
            f"(SELECT {selects}, len(parts) AS {_WHITESPACE_FIELDS} FROM "
            f"(SELECT {parts} AS parts FROM {lines} "
            f"WHERE line IS NOT NULL AND NOT regexp_full_match(line, '\\s*')))"
        )
        field_count: int | None = len(names)
    else:
        columns = "{" + ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names) + "}"
        sql = (
            f"read_csv({_literal(str(read_path))}, columns={columns}, "
            f"delim={_literal(delimiter)}, quote='\"', escape='\"', "
            f"header={str(csv.header).lower()}, skip={skip}, auto_detect=false{comp})"
        )
        field_count = None
    return RawFile(
        source=source,
        sql=sql,
        columns={name: "VARCHAR" for name in names},
        row_label="line",
        row_offset=skip + int(csv.header),
        encoding=layout.encoding,
        delimiter=delimiter,
        field_count=field_count,
        read_path=read_path,
    )


def _open_parquet(source: SourceFile, engine: DuckDBEngine) -> RawFile:
    sql = f"read_parquet({_literal(str(source.path))})"
    try:
        described = engine.query(f"DESCRIBE SELECT * FROM {sql}")
    except duckdb.Error as exc:
        raise DataError(
            f"cannot read the file as Parquet: {str(exc).splitlines()[0]}",
            path=source.path,
            hint="check that the file is a complete Parquet file (or set data.format)",
        ) from None
    columns = dict(zip(described["column_name"], described["column_type"], strict=True))
    return RawFile(source=source, sql=sql, columns=columns, read_path=source.path)


def _excel_value_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _excel_column(values: list[object]) -> pa.Array:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, dt.datetime | dt.date) for v in present):
        return pa.array(
            [
                None
                if v is None
                else v
                if isinstance(v, dt.datetime)
                else dt.datetime.combine(v, dt.time())  # type: ignore[arg-type]
                for v in values
            ],
            type=pa.timestamp("us"),
        )
    numbers = [v for v in present if isinstance(v, int | float) and not isinstance(v, bool)]
    if present and len(numbers) == len(present):
        return pa.array(values, type=pa.float64())
    texts = [v for v in present if isinstance(v, str)]
    if numbers and texts and detect_decimal(texts)[0] == ",":
        # Number cells next to text such as '3,50': write them with the same decimal comma.
        return pa.array(
            [
                _excel_value_text(v).replace(".", ",")  # type: ignore[union-attr]
                if isinstance(v, float) and not v.is_integer()
                else _excel_value_text(v)
                for v in values
            ],
            type=pa.string(),
        )
    return pa.array([_excel_value_text(v) for v in values], type=pa.string())


def _sheet_header(sheet: object, csv: CsvOptions) -> tuple[list[str], list[tuple[object, ...]]]:
    """A sheet's column names and the data rows already read (header-less sheets)."""
    rows = sheet.iter_rows(values_only=True)  # type: ignore[attr-defined]
    first = next(rows, None)
    while first is not None and all(v is None for v in first):
        first = next(rows, None)
    if first is None:
        return [], []
    if csv.header:
        names = unique_names([_excel_value_text(v) or "" for v in first])
        if csv.names:
            names = unique_names(list(csv.names))
        return names, []
    width = len(first)
    names = unique_names(list(csv.names) if csv.names else [f"column{i}" for i in range(width)])
    return names, [first]


def _fits(names: Sequence[str], wanted: Callable[[Sequence[str]], Sequence[str]]) -> bool:
    if not names:
        return False
    try:
        wanted(names)
    except DataError:
        return False
    return True


def _sheet_list(titles: Sequence[str]) -> str:
    return ", ".join(f"'{t}'" for t in titles)


def _choose_sheets(
    workbook: object,
    path: Path,
    csv: CsvOptions,
    sheet: str | int | None,
    wanted: Callable[[Sequence[str]], Sequence[str]],
) -> tuple[list[object], int]:
    """The sheets to read and the number of further sheets that fit but are not read."""
    sheets = list(workbook.worksheets)  # type: ignore[attr-defined]
    titles = [s.title for s in sheets]
    listing = _sheet_list(titles)
    if isinstance(sheet, str) and sheet.strip().casefold() == "all":
        chosen = [s for s in sheets if _fits(_sheet_header(s, csv)[0], wanted)]
        if not chosen:
            # Raise the column error of the first non-empty sheet.
            first = next((s for s in sheets if _sheet_header(s, csv)[0]), sheets[0])
            _check_sheet(first, path, csv, wanted, titles)
        return chosen, 0
    if sheet is None:
        first = sheets[0]
        names = _sheet_header(first, csv)[0]
        if not _fits(names, wanted):
            fitting = [s.title for s in sheets[1:] if _fits(_sheet_header(s, csv)[0], wanted)]
            if fitting:
                what = "is empty" if not names else "does not hold the mapped columns"
                raise DataError(
                    f"the first sheet ('{first.title}') {what}; the workbook has the sheets "
                    f"{listing}, of which {_sheet_list(fitting)} hold the transactions",
                    path=path,
                    hint=f"set data.excel.sheet: '{fitting[0]}' in client.yml"
                    + (" (or 'all' to read every such sheet)" if len(fitting) > 1 else ""),
                )
            _check_sheet(first, path, csv, wanted, titles)
        others = sum(
            1 for s in sheets[1:] if _sheet_header(s, csv)[0] == names and _fits(names, wanted)
        )
        return [first], others
    wanted_title = str(sheet).strip().casefold()
    by_name = [s for s in sheets if s.title == str(sheet)] or [
        s for s in sheets if s.title.strip().casefold() == wanted_title
    ]
    if by_name:
        return by_name[:1], 0
    if isinstance(sheet, int) or wanted_title.isdigit():
        position = int(sheet)
        if position >= len(sheets):
            raise DataError(
                f"data.excel.sheet: {position} is not a sheet position: the workbook has "
                f"{len(sheets)} sheet(s), {listing} (0 is the first)",
                path=path,
                hint="set data.excel.sheet to a sheet name, a position from 0, or 'all'",
            )
        return [sheets[position]], 0
    close = difflib.get_close_matches(str(sheet), titles, n=1, cutoff=0.6)
    suggestion = f"; did you mean '{close[0]}'?" if close else "."
    raise DataError(
        f"data.excel.sheet: there is no sheet '{sheet}'{suggestion} The workbook has the "
        f"sheets {listing}",
        path=path,
        hint="set data.excel.sheet to one of those names, a position from 0, or 'all'",
    )


def _check_sheet(
    sheet: object,
    path: Path,
    csv: CsvOptions,
    wanted: Callable[[Sequence[str]], Sequence[str]],
    titles: Sequence[str],
) -> None:
    """Raise the error of a sheet that cannot be read: empty, or columns not found."""
    names = _sheet_header(sheet, csv)[0]
    more = f" (the workbook has the sheets {_sheet_list(titles)})" if len(titles) > 1 else ""
    title = sheet.title  # type: ignore[attr-defined]
    label = f"the first sheet ('{title}')" if title == titles[0] else f"the sheet '{title}'"
    if not names:
        raise DataError(
            f"{label} is empty{more}",
            path=path,
            hint="put the transactions on the first sheet, or set data.excel.sheet",
        )
    try:
        wanted(names)
    except DataError as exc:
        if len(titles) > 1:
            raise DataError(
                f"sheet '{title}': {exc.message}{more}",
                path=exc.path or path,
                hint=exc.hint,
            ) from None
        raise


def _open_excel(
    source: SourceFile,
    csv: CsvOptions,
    engine: DuckDBEngine,
    index: int,
    wanted: Callable[[Sequence[str]], Sequence[str]],
    sheet: str | int | None = None,
) -> RawFile:
    from openpyxl import load_workbook

    path = source.path
    check_workbook(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise DataError(
            f"cannot open the Excel file: {exc}",
            path=path,
            hint="check that it is an .xlsx workbook that Excel can open",
        ) from None
    try:
        chosen, unread = _choose_sheets(workbook, path, csv, sheet, wanted)
        titles = [s.title for s in workbook.worksheets]
        names: list[str] = []
        keep: list[str] = []
        columns: list[list[object]] = []
        for ws in chosen:
            sheet_names, data_rows = _sheet_header(ws, csv)
            _check_sheet(ws, path, csv, wanted, titles)
            sheet_keep = list(wanted(sheet_names))
            if not names:
                names, keep = sheet_names, sheet_keep
                columns = [[] for _ in keep]
            positions = [sheet_names.index(name) for name in sheet_keep]
            rows = ws.iter_rows(values_only=True)
            if csv.header or data_rows:
                for row in rows:  # skip up to and including the header (or first) row
                    if not all(v is None for v in row):
                        break
            for row in [*data_rows, *rows]:
                if all(v is None for v in row):
                    continue
                for slot, pos in zip(columns, positions, strict=True):
                    slot.append(row[pos] if pos < len(row) else None)
    finally:
        workbook.close()
    table = pa.table(
        {name: _excel_column(values) for name, values in zip(keep, columns, strict=True)}
    )
    name = engine.unique_name("clv_excel")
    engine.register(name, table)
    described = engine.query(f"DESCRIBE SELECT * FROM {name}")
    types = dict(zip(described["column_name"], described["column_type"], strict=True))
    for missing in set(names) - set(keep):
        types.setdefault(missing, "VARCHAR")  # present in the sheet, not loaded
    return RawFile(
        source=source,
        sql=name,
        columns={n: types[n] for n in names},
        row_label="row",
        row_offset=1 if csv.header else 0,
        registered=name,
        flags=(("unread_sheets", unread),) if unread else (),
    )


def open_raw(
    source: SourceFile,
    csv: CsvOptions,
    engine: DuckDBEngine,
    index: int,
    wanted: Callable[[Sequence[str]], Sequence[str]],
    sheet: str | int | None = None,
) -> RawFile:
    """Open ``source`` as a relation with its original column names.

    Parameters
    ----------
    source
        The file.
    csv
        CSV options (Excel uses ``header`` and ``names`` too).
    engine
        The DuckDB engine (transcoded copies go into its temporary directory).
    index
        Position of the file in the source list (for unique names).
    wanted
        Given the file's column names, returns the ones the mapping needs
        (raising :class:`~clvreport.errors.DataError` for missing ones); used
        to load only those columns from Excel.
    sheet
        Excel: the sheet name, position (0 = first) or ``"all"`` (every sheet
        holding the mapped columns); ``None``: the first sheet.

    Returns
    -------
    RawFile

    Raises
    ------
    DataError
        For empty, unreadable or wrongly encoded files.
    """
    if source.format == "csv":
        return _open_csv(source, csv, engine, index)
    if source.format == "parquet":
        return _open_parquet(source, engine)
    return _open_excel(source, csv, engine, index, wanted, sheet)


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_ORIGINAL = re.compile(r"Original Line: ?(.*)")
_COUNTS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_LINE_SIZE = re.compile(r"Maximum line size of (\d+) bytes exceeded\. Actual Size: ?(\d+) bytes")
_FILE = re.compile(r"file = (.+)")


def csv_error(exc: duckdb.Error, files: Sequence[RawFile]) -> DataError:
    """Turn a DuckDB error while reading into a :class:`DataError` naming file and line.

    Parameters
    ----------
    exc
        The DuckDB error.
    files
        The files being read (to find the one the error names).

    Returns
    -------
    DataError
    """
    text = str(exc)
    file_match = _FILE.search(text)
    named = file_match.group(1).strip() if file_match else None
    raw = next((f for f in files if named and named == str(f.read_path)), None)
    if raw is None and len(files) == 1:
        raw = files[0]
    path = raw.source.path if raw else named
    first = text.splitlines()[0] if text else type(exc).__name__
    if raw is not None and raw.delimiter is None:
        return DataError(
            f"cannot read the file: {first}",
            path=path,
            hint="check that the file is complete and of the type its extension says",
        )
    delimiter = describe_delimiter(raw.delimiter) if raw and raw.delimiter else "the detected one"
    hint = (
        f"the file was read with delimiter {delimiter}: if that is wrong, set "
        "data.csv.delimiter (--delimiter); a value holding the delimiter must be in double quotes"
    )
    line, original, counts = _CSV_LINE.search(text), _ORIGINAL.search(text), _COUNTS.search(text)
    if line and counts:
        expected, found = counts.groups()
        snippet = original.group(1).strip()[:100] if original else ""
        return DataError(
            f"line {line.group(1)} has {found} fields where {expected} were expected: {snippet!r}",
            path=path,
            hint=hint,
        )
    size = _LINE_SIZE.search(text)
    if line and size:
        limit, actual = (int(g) for g in size.groups())
        return DataError(
            f"line {line.group(1)} is {actual / 1e6:,.1f} MB long (a line may hold at most "
            f"{limit / 1e6:,.0f} MB): no transaction is that long",
            path=path,
            hint="the export is damaged there (a missing line break or an unclosed quote "
            "joins many lines into one): export it again",
        )
    where = f" near line {line.group(1)}" if line else ""
    return DataError(f"cannot read the file as CSV{where}: {first}", path=path, hint=hint)
