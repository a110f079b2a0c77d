"""Detect how a CSV file is written: delimiter, header names, decimal mark, date format.

Detection looks at a sample (the first lines, the first values of a column).
Whatever it decides is then applied strictly to the whole file: a value that
does not fit is reported with its line number, never silently misread.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Sequence

__all__ = [
    "DATE_FORMATS",
    "DELIMITERS",
    "ISO_FORMAT",
    "describe_delimiter",
    "detect_decimal",
    "detect_delimiter",
    "split_header",
    "unique_names",
]

DELIMITERS = (";", ",", "\t", "|")
"""Delimiters tried, in order of preference when several fit."""

ISO_FORMAT = "ISO"
"""Pseudo date format: ISO 8601 dates or timestamps (``2024-03-31``, ``2024-03-31T10:00:00``)."""

DATE_FORMATS: tuple[str, ...] = (
    ISO_FORMAT,
    "%Y%m%d",
    "%d-%m-%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y.%m.%d",
    "%d-%m-%y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d %b %Y",
    "%d-%b-%Y",
    "%b %d %Y",
    "%b %d, %Y %I:%M:%S %p",  # Magento 2's order grid export: "Mar 15, 2023 10:21:43 AM"
)
"""Date formats tried when ``date_format: auto``; day-first before month-first (Dutch data)."""

_NAMES = {";": "';'", ",": "','", "\t": "tab", "|": "'|'", "whitespace": "whitespace"}


def describe_delimiter(delimiter: str) -> str:
    r"""A readable name for a delimiter (``tab``, ``';'``, ``whitespace``).

    Examples
    --------
    >>> describe_delimiter("\t")
    'tab'
    """
    return _NAMES.get(delimiter, repr(delimiter))


def _complete_lines(text: str, limit: int = 200) -> list[str]:
    lines = text.splitlines()
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line
    return [line for line in lines if line.strip()][:limit]


def _consistent_count(counts: Sequence[int]) -> int | None:
    if not counts:
        return None
    value, times = Counter(counts).most_common(1)[0]
    return value if value >= 2 and times >= 0.9 * len(counts) else None


def detect_delimiter(text: str) -> str:
    r"""Guess the field separator from the first lines of a file.

    A delimiter fits when (nearly) every line splits into the same number of
    fields (two or more), quotes respected. Of the delimiters that fit, the one
    giving the most fields wins (so ``;`` beats the decimal comma in
    ``1;12,50``). When none fits but runs of spaces do, the file is
    whitespace-separated.

    Parameters
    ----------
    text
        The decoded start of the file.

    Returns
    -------
    str
        One of :data:`DELIMITERS`, or ``"whitespace"``; ``","`` when nothing fits
        (a one-column file).

    Examples
    --------
    >>> detect_delimiter("klant;datum;bedrag\n1;01-02-2024;12,50\n")
    ';'
    >>> detect_delimiter("  00001 19970101  2  29.33\n  00002 19970112 1 12.00\n")
    'whitespace'
    """
    lines = _complete_lines(text)
    fitting = []
    for rank, delimiter in enumerate(DELIMITERS):
        counts = [len(row) for row in _csv_rows(lines, delimiter)]
        fields = _consistent_count(counts)
        if fields is not None:
            fitting.append((fields, -rank, delimiter))
    if fitting:
        return max(fitting)[2]
    if _consistent_count([len(line.split()) for line in lines]) is not None:
        return "whitespace"
    # Nothing splits every line alike (ragged lines): take what splits most lines.
    share = {
        delimiter: sum(len(row) >= 2 for row in _csv_rows(lines, delimiter))
        for delimiter in DELIMITERS
    }
    share["whitespace"] = sum(len(line.split()) >= 2 for line in lines)
    best = max(share, key=lambda d: share[d])
    return best if lines and share[best] >= len(lines) / 2 else ","


def split_header(line: str, delimiter: str) -> list[str]:
    """Column names from a header line.

    Examples
    --------
    >>> split_header('"Klant nr";Datum;Bedrag', ";")
    ['Klant nr', 'Datum', 'Bedrag']
    """
    line = line.lstrip("\ufeff")
    if delimiter == "whitespace":
        return line.split()
    return next(iter(_csv_rows(line.splitlines(keepends=True) or [line], delimiter)), [])


def _csv_rows(lines: Sequence[str], delimiter: str) -> list[list[str]]:
    """The fields of ``lines`` as :mod:`csv` reads them, however long a field is.

    The sample is already in memory, so :func:`csv.field_size_limit` (128 KB by
    default, an error beyond it) is raised to the longest line while reading.
    """
    longest = max((len(line) for line in lines), default=0)
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, longest + 1))
    try:
        return list(csv.reader(lines, delimiter=delimiter))
    finally:
        csv.field_size_limit(previous)


def unique_names(names: Sequence[str]) -> list[str]:
    """Make column names usable: strip spaces, name empty ones, number repeats.

    Examples
    --------
    >>> unique_names(["id", " id ", "", "amount"])
    ['id', 'id_2', 'column2', 'amount']
    """
    seen: Counter[str] = Counter()
    out = []
    for i, raw in enumerate(names):
        name = raw.strip() or f"column{i}"
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


_NUMBER_CHARS = re.compile(r"[^0-9.,+-]")
_NUMBER_LIKE = re.compile(
    r"^\s*[+-]?\s*(?:[€$£]|EUR|USD|GBP)?\s*[+-]?[\d.,]*\d[\d.,]*-?\s*(?:[€$£]|EUR|USD|GBP)?\s*$"
)


def detect_decimal(values: Sequence[str], delimiter: str | None = None) -> tuple[str, str | None]:
    """Guess the decimal mark of amounts such as ``1.234,56`` or ``1,234.56``.

    A value with both marks decides by the last one; ``12,50`` (not three
    digits after the comma) means a decimal comma; ``12.5`` a decimal point.
    Values that only hold a three-digit group (``1.234``) are ambiguous: then
    a ``;`` delimiter suggests the Dutch convention (decimal comma).

    Parameters
    ----------
    values
        Sample values of the amount column (text).
    delimiter
        The file's delimiter, for the ambiguous case.

    Returns
    -------
    tuple of (str, str or None)
        The decimal mark (``"."`` or ``","``) and, when the sample holds both
        conventions, an example value of the minority one (else ``None``).

    Examples
    --------
    >>> detect_decimal(["1.234,56", "12,50"])
    (',', None)
    >>> detect_decimal(["1,234.56", "12.50"])
    ('.', None)
    >>> detect_decimal(["12,50", "13.75", "9,99"])
    (',', '13.75')
    """
    votes: dict[str, list[str]] = {".": [], ",": []}
    for value in values:
        if not _NUMBER_LIKE.match(value):
            continue  # words are not numbers in any convention
        text = _NUMBER_CHARS.sub("", value)
        last_dot, last_comma = text.rfind("."), text.rfind(",")
        if text.count(".") > 1 or text.count(",") > 1:  # repeated mark: thousands groups
            votes["," if text.count(".") > 1 else "."].append(value)
        elif last_dot >= 0 and last_comma >= 0:
            votes["." if last_dot > last_comma else ","].append(value)
        elif last_comma >= 0:
            digits_after = len(text) - last_comma - 1
            if digits_after != 3 or (text.count(",") == 1 and text.startswith(("0,", "-0,"))):
                votes[","].append(value)
        elif last_dot >= 0:
            digits_after = len(text) - last_dot - 1
            if digits_after != 3 or (text.count(".") == 1 and text.startswith(("0.", "-0."))):
                votes["."].append(value)
    if votes[","] and votes["."]:
        if len(votes[","]) == len(votes["."]):
            major = "," if delimiter == ";" else "."
        else:
            major = "," if len(votes[","]) > len(votes["."]) else "."
        minor = "." if major == "," else ","
        return major, votes[minor][0]
    if votes[","]:
        return ",", None
    if votes["."]:
        return ".", None
    return ("," if delimiter == ";" else "."), None
