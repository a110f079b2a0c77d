"""``clvreport init``: a new client folder from one or more transaction exports.

:func:`init_client` looks at the export(s) with the ingest's own detection
(:func:`clvreport.ingest.reader.inspect_csv` for encoding, delimiter and
header; a trial read with :func:`clvreport.ingest.read_transactions` for the
decimal mark and date format; the ingest's Excel sheet handling), guesses the
column mapping from the header names (:func:`guess_columns`, Dutch and
English), and writes ``data/<client>/`` with copies of the exports, a
``client.yml`` whose every guess is marked ``# detected — check`` and every
unknown is a commented ``«CHANGE»`` line (:func:`client_yaml`); no brand: the
report has a plain cover with the client's name until the client's ``_brand.yml``
is added. Nothing is written before the exports have been looked at, and nothing is
left behind when writing fails.
"""

from __future__ import annotations

import glob
import re
import shutil
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from clvreport.brand import BRAND_FILE
from clvreport.config import (
    CLIENT_NAME,
    CONFIG_FILE,
    ColumnMapping,
    CsvOptions,
    DataPolicies,
    ExcelOptions,
)
from clvreport.errors import ClvReportError, ConfigError, DataError
from clvreport.ingest.presets import (
    column_names,
    detect_source,
    dutch_names,
    normalise_name,
    preset,
    preset_columns,
    preset_policies,
)
from clvreport.safe_files import check_workbook

__all__ = [
    "COLUMN_NAMES",
    "ExportLayout",
    "InitResult",
    "client_yaml",
    "detect_export",
    "guess_columns",
    "init_client",
    "normalise_name",
]

COLUMN_NAMES: dict[str, tuple[str, ...]] = column_names()
"""Header names (normalised with :func:`normalise_name`) that place a column, best first.

From ``clvreport/ingest/presets.yml``; a shop system's preset places its columns first."""

_DUTCH = dutch_names()
_FIELD_HELP = {
    "customer_id": "column with the customer number (required)",
    "date": "column with the order date (required)",
    "amount": "column with the order amount (required, or quantity + unit_price)",
    "order_id": "order or invoice number (optional)",
    "quantity": "number of items (optional; with unit_price it gives the amount)",
    "unit_price": "price per item (optional; with quantity it gives the amount)",
    "channel": "sales channel (optional)",
    "country": "country (optional)",
    "status": "order status, for cancelled orders (optional)",
    "currency": "currency of the amounts (optional; checked against currency)",
    "refunded": "refunded amount, subtracted from the order (optional)",
    "customer_fallback": "customer id where customer_id is a placeholder (optional)",
    "document_type": "invoice or credit note, for credit notes written positive (optional)",
}
_FIELDS = tuple(f for f in ColumnMapping.model_fields if f != "extra")
_CSV_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")
_DATA_LIKE = re.compile(r"[\d\s.,:/+-]+")


def guess_columns(names: Sequence[str]) -> dict[str, str]:
    """Place the export's columns: field → column name, for every field a name fits.

    Each column is used once. A shop system's export (:func:`detect_source`)
    is placed by its preset first; then, when several columns fit a field,
    the name earlier in :data:`COLUMN_NAMES` wins.

    Examples
    --------
    >>> guess_columns(["customer_id", "date", "number_of_cds", "dollar_value"])
    {'customer_id': 'customer_id', 'date': 'date', 'amount': 'dollar_value', 'quantity': 'number_of_cds'}
    >>> guess_columns(["Klant-ID", "Datum", "Omschrijving"])
    {'customer_id': 'Klant-ID', 'date': 'Datum'}
    """  # noqa: E501
    by_norm: dict[str, str] = {}
    for name in names:
        by_norm.setdefault(normalise_name(name), name)
    source = detect_source(names)
    found: dict[str, str] = preset_columns(source, names) if source else {}
    used: set[str] = set(found.values())
    for field_name, candidates in COLUMN_NAMES.items():
        if field_name in found:
            continue
        for candidate in candidates:
            column = by_norm.get(candidate)
            if column is not None and column not in used:
                found[field_name] = column
                used.add(column)
                break
    return {f: found[f] for f in _FIELDS if f in found}


def _complete(mapping: dict[str, str]) -> bool:
    return (
        "customer_id" in mapping
        and "date" in mapping
        and ("amount" in mapping or {"quantity", "unit_price"} <= set(mapping))
    )


@dataclass
class ExportLayout:
    """How one export is written, as far as its content shows.

    ``None`` for ``decimal``/``date_format`` means "could not tell" (written as
    ``auto``); ``date_format`` ``"cells"`` means Excel date cells.
    """

    path: Path
    format: str
    names: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    header: bool = True
    decimal: str | None = None
    date_format: str | None = None
    sheet: str | None = None
    ambiguous_dates: bool = False
    problem: str | None = None
    source: str | None = None
    currency: str | None = None


def _looks_like_data(names: Sequence[str]) -> bool:
    return sum(bool(_DATA_LIKE.fullmatch(n)) for n in names) >= max(1, len(names) // 2)


def _excel_header(path: Path) -> tuple[list[str], str | None]:
    """The header of the sheet holding the transactions, and its name if not the first."""
    from openpyxl import load_workbook

    from clvreport.ingest.reader import _sheet_header

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
        sheets = list(workbook.worksheets)
        headers = [(ws.title, _sheet_header(ws, CsvOptions())[0]) for ws in sheets]
    finally:
        workbook.close()
    for index, (title, names) in enumerate(headers):
        if _complete(guess_columns(names)):
            return names, (title if index else None)
    title, names = next(((t, n) for t, n in headers if n), (headers[0][0], []))
    if not names:
        raise DataError(
            "every sheet of the workbook is empty",
            path=path,
            hint="export the transactions again, with a header row and data",
        )
    return names, (title if title != headers[0][0] else None)


def detect_export(path: Path | str) -> ExportLayout:
    """Look at one export: format, encoding, delimiter, header, decimal mark, date format.

    Raises
    ------
    DataError
        For a file that cannot be read at all (unknown type, empty, broken workbook).
    """
    from clvreport.ingest import read_transactions
    from clvreport.ingest.reader import inspect_csv
    from clvreport.ingest.sources import SourceFile, file_format

    path = Path(path)
    if not path.is_file():
        raise DataError(
            "file not found" if not path.is_dir() else "is a folder, not a file",
            path=path,
            hint="give the path of an exported CSV, Excel (.xlsx) or Parquet file",
        )
    fmt, compression = file_format(path)
    layout = ExportLayout(path=path, format=fmt, names=[])
    if fmt == "csv":
        with tempfile.TemporaryDirectory(prefix="clvreport-init-") as work:
            found = inspect_csv(SourceFile(path, fmt, compression), CsvOptions(), Path(work), 0)
        layout.names, layout.encoding, layout.delimiter = (
            found.names,
            found.encoding,
            found.delimiter,
        )
        if _looks_like_data(found.names):
            layout.header = False
            layout.names = [f"column{i}" for i in range(len(found.names))]
    elif fmt == "excel":
        layout.names, layout.sheet = _excel_header(path)
    else:
        import pyarrow.parquet as pq

        try:
            layout.names = list(pq.read_schema(path).names)
        except Exception as exc:  # pyarrow raises several types for broken files
            raise DataError(
                f"cannot read the file as Parquet: {exc}",
                path=path,
                hint="check that the file is a complete Parquet file",
            ) from None
    mapping = guess_columns(layout.names) if layout.header else {}
    layout.source = detect_source(layout.names) if layout.header else None
    if not _complete(mapping):
        return layout
    policies = DataPolicies(**(preset_policies(layout.source) or {}) if layout.source else {})
    csv = CsvOptions(
        header=layout.header,
        delimiter=layout.delimiter or "auto",
        names=None if layout.header else tuple(layout.names),
    )
    try:
        with read_transactions(
            glob.escape(str(path)),  # a name such as 'orders [2024].csv' is not a glob
            ColumnMapping(**mapping),
            csv=csv,
            excel=ExcelOptions(sheet=layout.sheet),
            policies=policies,
        ) as transactions:
            info = transactions.quality.files[0]
            currencies = transactions.quality.currencies
            layout.currency = currencies[0][0] if len(currencies) == 1 else None
            layout.decimal = info.decimal
            layout.date_format = info.date_format or ("cells" if fmt != "csv" else None)
            layout.ambiguous_dates = "date_format_ambiguous" in transactions.quality.warnings
    except ClvReportError as exc:
        layout.problem = exc.message.splitlines()[0]
    return layout


# -- client.yml --------------------------------------------------------------------------


def _q(value: str) -> str:
    """A YAML scalar, quoted (double quotes, escapes) so any column name survives."""
    return yaml.safe_dump(value, default_style='"', allow_unicode=True, width=1 << 20).strip()


def _line(key: str, value: str, comment: str, indent: int = 4, width: int = 30) -> str:
    text = f"{' ' * indent}{key}: {value}"
    return f"{text.ljust(width)}  # {comment}" if comment else text


_DELIMITER_YAML = {";": '";"', ",": '","', "\t": '"\\t"', "|": '"|"', "whitespace": "whitespace"}


def _agree(values: Sequence[object]) -> object | None:
    distinct = set(values)
    return values[0] if len(distinct) == 1 else None


def client_yaml(
    client: str,
    sources: Sequence[str],
    layouts: Sequence[ExportLayout],
) -> tuple[str, dict[str, str], list[str]]:
    """The text of a new ``client.yml``, the mapping it holds and the unplaced columns.

    Parameters
    ----------
    client
        The client's name (folder name), also its display name until changed.
    sources
        The export file names inside the client folder, as ``data.sources``.
    layouts
        :func:`detect_export` of each export, in the same order.
    """
    first = layouts[0]
    mapping = guess_columns(first.names) if first.header else {}
    unplaced = [n for n in first.names if n not in mapping.values()]
    dutch = sum(normalise_name(c) in _DUTCH for c in mapping.values())
    language = "nl" if dutch * 2 >= len(mapping) and mapping else "en"
    detected = "detected — check"
    out: list[str] = [
        f"# client.yml of {client}, written by `clvreport init` from {', '.join(sources)}.",
        "# Values marked «detected — check» were read from the export; lines marked «CHANGE»",
        "# need a value before the report can run. data/demo/client.yml explains every key;",
        f"# `clvreport validate --client {client}` checks this file and the data.",
        "",
        "# Name on the cover of the report.                                      «CHANGE»",
        f"name: {_q(client)}",
        "",
        "# Report language: nl or en.",
        _line("language", language, "from the language of the header names — check", 0, 0),
        "",
        *_business_lines(first.source),
        *_currency_lines(first, mapping),
        "",
        "# Share of revenue that is gross margin; 1.0 reports plain revenue.      «CHANGE»",
        "gross_margin: 1.0",
        "",
        "# Months at the end held back to check the model's predictions (0 = none).",
        "holdout_months: 6",
        "",
        f"# House style (colours, fonts, logo). Without a {BRAND_FILE} in this folder the",
        "# report has a plain cover with the client's name and neutral colours; add one",
        "# (brand.yml format, as the example clients' data/<client>/_brand.yml) for the",
        "# client's own colours and logo.",
        f"brand: {BRAND_FILE}",
        "",
        "data:",
        "  # The exports, copied into this folder.",
        "  sources:",
        *[f"    - {_q(glob.escape(s))}" for s in sources],
    ]
    out += _source_lines(first.source)
    formats = {layout.format for layout in layouts}
    if len(formats) == 1:
        out.append(f"  format: {first.format}")
    csv_layouts = [layout for layout in layouts if layout.format == "csv"]
    text_cells = [layout for layout in layouts if layout.date_format not in (None, "cells")]
    if csv_layouts or text_cells:
        out += ["", "  # How to read the file(s); auto detects a value per file.", "  csv:"]
        differ = "differs between the files: detected per file"
    if csv_layouts:
        delimiter = _agree([layout.delimiter for layout in csv_layouts])
        if delimiter in _DELIMITER_YAML:
            out.append(_line("delimiter", _DELIMITER_YAML[delimiter], detected))  # type: ignore[index]
        else:
            out.append(_line("delimiter", "auto", differ if delimiter is None else detected))
        encoding = _agree([layout.encoding for layout in csv_layouts])
        if encoding in _CSV_ENCODINGS:
            out.append(_line("encoding", str(encoding), detected))
        else:
            out.append(_line("encoding", "auto", differ if encoding is None else detected))
        if first.header:
            out.append(_line("header", "true", "the first line holds the column names — check"))
        else:
            out.append(_line("header", "false", "the first line holds data, not names — check"))
            names = ", ".join(_q(n) for n in first.names)
            out.append(_line("names", f"[{names}]", "«CHANGE» name the columns, in order", width=0))
    if csv_layouts or text_cells:
        decimal = _agree([layout.decimal for layout in layouts if layout.decimal])
        if decimal in (".", ","):
            out.append(_line("decimal", f'"{decimal}"', detected))
        else:
            out.append(_line("decimal", "auto", "could not tell: detected per file"))
        dates = [layout.date_format for layout in layouts if layout.date_format != "cells"]
        date_format = _agree(dates) if dates and None not in dates else None
        if date_format == "ISO":
            out.append(_line("date_format", "auto", "ISO dates (YYYY-MM-DD) detected — check"))
        elif isinstance(date_format, str):
            note = detected
            if any(layout.ambiguous_dates for layout in layouts):
                note = "detected, but day-first or month-first? «CHANGE» check"
            out.append(_line("date_format", _q(date_format), note))
        else:
            out.append(_line("date_format", "auto", "could not tell: detected per file"))
    sheets = {layout.sheet for layout in layouts if layout.format == "excel"}
    if sheets - {None}:
        sheet = _agree([layout.sheet for layout in layouts if layout.format == "excel"])
        out += ["", "  # Excel: the sheet holding the transactions.", "  excel:"]
        out.append(_line("sheet", _q(str(sheet)) if sheet else "all", detected))
    out += [
        "",
        "  # Which column of the export holds which field. Required: customer_id, date",
        "  # and amount (or quantity + unit_price).",
        "  columns:",
    ]
    found = preset(first.source) if first.source else None
    notes = found.notes if found is not None else {}
    for field_name in _FIELDS:
        if field_name in mapping:
            note = detected
            if field_name in notes:
                out += _note_lines(notes[field_name], unplaced)
            if field_name == "amount" and "quantity" in mapping:
                note = "detected — check: the value of the whole order, not a unit price"
            out.append(_line(field_name, _q(mapping[field_name]), note))
        elif field_name == "amount" and {"quantity", "unit_price"} <= set(mapping):
            out.append("    # amount: none found: the amount is quantity × unit_price — check")
        elif field_name in ("customer_id", "date", "amount"):
            out.append(f"    # {field_name}: «CHANGE» {_FIELD_HELP[field_name]}")
        else:
            out.append(f"    # {field_name}: {_FIELD_HELP[field_name]}")
    if unplaced:
        listing = ", ".join(unplaced)
        out += [
            f"    # Not placed: {listing}.",
            "    # Map one above, or pass columns through to the action lists:",
            f"    # extra: [{_q(unplaced[0])}]",
        ]
    policy_lines = _policy_lines(first.source)
    out += policy_lines
    if "channel" in mapping and "one_off_channels" not in (preset_policies(first.source) or {}):
        out += _one_off_lines(in_policies=bool(policy_lines))
    return "\n".join(out) + "\n", mapping, unplaced


def _one_off_lines(*, in_policies: bool) -> list[str]:
    """A commented ``one_off_channels`` (the default shown) for an export with a channel."""
    default = ", ".join(DataPolicies().one_off_channels)
    note = [
        "# Channel values of one-off gifts or orders (legacies, major gifts, one-off",
        "# campaigns): left out of the model and the action lists, reported apart with",
        f"# their amount. Default: [{default}].",
    ]
    if in_policies:
        return [f"    {line}" for line in note] + ["    # one_off_channels: [nalatenschap]"]
    return [
        "",
        *(f"  {line}" for line in note),
        "  # policies:",
        "  #   one_off_channels: [nalatenschap, legaat]",
    ]


def _currency_lines(layout: ExportLayout, mapping: dict[str, str]) -> list[str]:
    """``currency:``, from the export's currency column when it holds one ISO code."""
    from babel.numbers import list_currencies

    if layout.currency and layout.currency in list_currencies():
        return [
            "# ISO 4217 code of the amounts in the export (EUR, USD, GBP, ...).",
            _line(
                "currency",
                layout.currency,
                f"from column {_q(mapping['currency'])} — detected, check",
                0,
                0,
            ),
        ]
    return [
        "# ISO 4217 code of the amounts in the export (EUR, USD, GBP, ...).       «CHANGE»",
        "currency: EUR",
    ]


def _note_lines(note: str, unplaced: Sequence[str]) -> list[str]:
    """A preset's note on a column, as comment lines above it.

    ``{incl}`` in the note names the export's column holding amounts incl. btw
    (or tax), the other choice of revenue.
    """
    incl = next(
        (_q(n) for n in unplaced if re.search(r"incl(btw|tax|vat|usiefbtw)", normalise_name(n))),
        "the amount incl. btw",
    )
    text = note.replace("{incl}", incl)
    return [f"    # {line}" for line in textwrap.wrap(text[:1].upper() + text[1:], 84)]


def _business_lines(source: str | None) -> list[str]:
    """``business:`` for a system whose exports are not purchases (donations: discrete)."""
    found = preset(source) if source else None
    if found is None or found.business is None:
        return []
    return [
        "# Kind of relationship: transactions (purchases at any time), discrete (donors:",
        "# one giving opportunity per year) or subscription.",
        _line("business", found.business, f"source: {found.label} — check", 0, 0),
        "",
    ]


def _source_lines(source: str | None) -> list[str]:
    """``data.source:`` for a recognised shop system's export."""
    found = preset(source) if source else None
    if found is None:
        return []
    return [
        "",
        f"  # Source: {found.label}. The preset sets the data.policies such exports",
        "  # need (clvreport/ingest/presets.yml); they are written out below, change one",
        "  # there to override the preset.",
        _line("source", found.key, "detected from the column names — check", 2, 0),
    ]


def _policy_lines(source: str | None) -> list[str]:
    """The preset's ``data.policies``, written out so they can be seen and overridden."""
    policies = preset_policies(source) if source else None
    if not policies:
        return []
    notes = {
        "cancelled_statuses": "status values that are not purchases (left out, counted)",
        "order_lines": "rows are an order's line items: one purchase per order",
        "placeholder_customers": "ids meaning 'no customer': customer_fallback is used",
        "credit_notes": "document types of credit notes: their amount counts negative",
        "one_off_channels": "one-off gifts (legacies): reported apart, not in the model",
    }
    out = [
        "",
        f"  # From the {source} preset; validate lists every status value found.",
        "  policies:",
    ]
    for key, value in policies.items():
        if isinstance(value, list | tuple):
            text = "[" + ", ".join(_q(str(v)) for v in value) + "]"
        else:
            text = str(value)
        if key in notes:
            out.append(f"    # {notes[key]}")
        out.append(f"    {key}: {text}")
    return out


# -- init --------------------------------------------------------------------------------


@dataclass
class InitResult:
    """What :func:`init_client` wrote and found."""

    folder: Path
    files: list[Path]
    mapping: dict[str, str]
    unplaced: list[str]
    layouts: list[ExportLayout]
    missing: list[str] = field(default_factory=list)


def _check_name(client: str) -> None:
    if not CLIENT_NAME.match(client or ""):
        raise ConfigError(
            f"'{client}' is not a valid client name",
            hint="use letters, digits, '-' and '_' only (at most 64, starting with a letter "
            "or digit), e.g. --client acme",
        )


def init_client(
    client: str, exports: Sequence[Path | str], *, data_dir: Path | str = "data"
) -> InitResult:
    """Create ``<data_dir>/<client>/`` from the exports: copies, ``client.yml``, brand.

    Raises
    ------
    ConfigError
        For an invalid name, an existing client, a missing data folder, or
        exports whose names clash.
    DataError
        For an export that cannot be read at all.
    """
    _check_name(client)
    data_dir = Path(data_dir)
    if not exports:
        raise ConfigError("no export given", hint="name the transaction file(s) with --from EXPORT")
    if not data_dir.is_dir():
        raise ConfigError(
            f"the data folder '{data_dir}' does not exist",
            hint="create it, or point --data-dir at the folder holding the client folders",
        )
    folder = data_dir / client
    if (folder / CONFIG_FILE).exists():
        raise ConfigError(
            f"client '{client}' already exists ({folder / CONFIG_FILE}); nothing was changed",
            hint=f"choose another --client name, or edit {folder / CONFIG_FILE} and run "
            f"clvreport validate --client {client}",
        )
    if folder.exists() and not folder.is_dir():
        raise ConfigError(
            f"'{folder}' exists and is not a folder", hint="choose another --client name"
        )
    paths = [Path(p) for p in exports]
    names = [p.name for p in paths]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(
            f"two exports have the same file name '{twice[0]}'",
            hint="rename one of them before running init: all are copied into one folder",
        )
    layouts = [detect_export(p) for p in paths]
    text, mapping, unplaced = client_yaml(client, names, layouts)
    planned: dict[Path, bytes | Path] = {folder / CONFIG_FILE: text.encode("utf-8")}
    for path in paths:
        planned[folder / path.name] = path
    for target, content in planned.items():
        if not target.exists():
            continue
        if isinstance(content, Path) and target.resolve() == content.resolve():
            continue  # the export is already in the client folder
        raise ConfigError(
            f"'{target}' already exists; nothing was changed",
            hint="move it away, or choose another --client name",
        )
    created_folder = not folder.exists()
    written: list[Path] = []
    try:
        folder.mkdir(exist_ok=True)
        for target, content in planned.items():
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, target)
            else:
                target.write_bytes(content)
            written.append(target)
    except BaseException:
        for path in reversed(written):
            path.unlink(missing_ok=True)
        if created_folder:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    missing = [f for f in ("customer_id", "date") if f not in mapping]
    if "amount" not in mapping and not {"quantity", "unit_price"} <= set(mapping):
        missing.append("amount")
    return InitResult(
        folder=folder,
        files=sorted(written),
        mapping=mapping,
        unplaced=unplaced,
        layouts=layouts,
        missing=missing,
    )
