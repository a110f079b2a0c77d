"""The data-quality account of an ingest: rows read, kept, and excluded by reason.

The report's appendix shows this table; the reason codes are translated there
(``clvreport.i18n``), so this module holds data only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "EXCLUSION_REASONS",
    "WARNINGS",
    "DataQuality",
    "FileInfo",
]

EXCLUSION_REASONS: tuple[str, ...] = (
    "missing_customer_id",
    "cancelled_status",
    "after_as_of",
    "zero_amount",
    "return_dropped",
    "duplicate",
)
"""Why rows are excluded, in the order they are checked (a row counts once, for the first)."""

WARNINGS: dict[str, str] = {
    "no_repeat_customers": "every customer bought on one day only; repeat-purchase models "
    "cannot be fitted",
    "date_format_ambiguous": "the dates fit both day-first and month-first formats; "
    "day-first was used",
}
"""Warning codes a :class:`DataQuality` may carry, with an English explanation."""


@dataclass(frozen=True)
class FileInfo:
    """How one input file was read.

    Attributes
    ----------
    path
        The file.
    format
        ``"csv"``, ``"parquet"`` or ``"excel"``.
    rows
        Data rows read from it.
    encoding, delimiter, decimal, date_format
        What was detected or configured (``None`` where it does not apply).
    """

    path: Path
    format: str
    rows: int
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    date_format: str | None = None


@dataclass(frozen=True)
class DataQuality:
    """Counts of an ingest; ``rows_read == rows_kept + sum of the exclusions``.

    Attributes
    ----------
    rows_read
        Data rows in all files.
    rows_kept
        Rows in the clean transactions table (purchases and netted returns).
    excluded
        ``(reason code, rows)`` for every code in :data:`EXCLUSION_REASONS`, in that order.
    returns_netted
        Kept rows with a negative amount (returns netted against revenue, not purchases).
    customers
        Customers with at least one purchase.
    repeat_customers
        Customers with purchases on two or more days.
    warnings
        Codes from :data:`WARNINGS`.
    files
        How each file was read.

    Examples
    --------
    >>> q = DataQuality(10, 7, (("missing_customer_id", 2), ("duplicate", 1)), 1, 3, 2)
    >>> q.excluded_rows, q.rows()[0], q.rows()[-1]
    (3, ('rows_read', 10), ('rows_kept', 7))
    """

    rows_read: int
    rows_kept: int
    excluded: tuple[tuple[str, int], ...]
    returns_netted: int
    customers: int
    repeat_customers: int
    warnings: tuple[str, ...] = ()
    files: tuple[FileInfo, ...] = field(default_factory=tuple)

    @property
    def excluded_rows(self) -> int:
        """Rows excluded for any reason."""
        return sum(n for _, n in self.excluded)

    def rows(self) -> list[tuple[str, int]]:
        """The data-quality table: rows read, each exclusion, returns netted, rows kept.

        Returns
        -------
        list of (str, int)
            ``("rows_read", n)``, one ``(reason, n)`` per exclusion reason,
            ``("returns_netted", n)`` and ``("rows_kept", n)``.
        """
        return [
            ("rows_read", self.rows_read),
            *self.excluded,
            ("returns_netted", self.returns_netted),
            ("rows_kept", self.rows_kept),
        ]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of every count (paths as text).

        Returns
        -------
        dict
        """
        data = asdict(self)
        data["excluded"] = dict(self.excluded)
        data["files"] = [{**asdict(f), "path": str(f.path)} for f in self.files]
        data["warnings"] = list(self.warnings)
        return data
