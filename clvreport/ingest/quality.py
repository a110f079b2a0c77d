"""The data-quality account of an ingest: rows read, kept, excluded by reason, and flagged.

Excluded rows are left out of the analysis; flagged rows or customers are kept
but implausible enough to mention (outliers, possible duplicates, ...): the
``validate`` command prints :attr:`DataQuality.flag_lines` and the report's
data-quality table lists them.

The report's appendix shows this table; the reason codes are translated there
(``clvreport.i18n``), so this module holds data only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "EXCLUSION_REASONS",
    "FLAG_MESSAGES",
    "WARNINGS",
    "DataQuality",
    "FileInfo",
]

EXCLUSION_REASONS: tuple[str, ...] = (
    "placeholder_customer",
    "missing_customer_id",
    "cancelled_status",
    "order_line",
    "future_date",
    "after_as_of",
    "one_off_gift",
    "zero_amount",
    "return_dropped",
    "outlier",
    "duplicate",
    "exceptional_order",
    "return_only_customer",
    "fully_returned_customer",
)
"""Why rows are excluded, in the order they are checked (a row counts once, for the first).

``placeholder_customer``: the customer id is one of ``data.policies.placeholder_customers``
(no customer) and no ``columns.customer_fallback`` value stands in; ``order_line``: a
further line row of an order (``data.policies.order_lines``), merged into the order's
first row; ``one_off_gift``: a row whose channel is one of
``data.policies.one_off_channels`` (a legacy, a major gift: not a habit), reported apart
with its amount (:attr:`DataQuality.one_off`); ``future_date``: dated after today while
no as-of date is set; ``outlier``: an amount far outside the client's distribution with
``outliers: exclude``;
``exceptional_order``: an order far larger than both the customer's other orders and
the client's median order (:mod:`clvreport.ingest.exceptional`) with ``outliers:
exclude``; ``return_only_customer``: the returns of a customer without any purchase;
``fully_returned_customer``: the rows of a customer whose purchases were all returned
(returns that cancel the purchases: net revenue 0, to within 1% of the purchases):
they kept nothing, so they carry no value.
"""

FLAG_MESSAGES: dict[str, str] = {
    "as_of_after_data": "the as-of date is later than the last transaction (count: days); "
    "every customer looks inactive for that long: leave as_of out or set it to the export date",
    "outlier": "rows with an amount far outside the client's distribution (above 1000 times "
    "the median and the log-scale fence Q3 + 3 IQR) are kept and distort revenue and values: "
    "correct them in the export or set data.policies.outliers: exclude",
    "exceptional_order": "orders far larger than both the customer's other orders and the "
    "client's median order (at least 10 times, more when order amounts vary widely: a robust "
    "z-score of 3.5 on the log scale) are kept in revenue, but the forecast of future spending "
    "counts each as an ordinary order of that customer unless the holdout check prefers the "
    "full amounts (model.json: spend_caps); check them in the export, or set "
    "data.policies.outliers: exclude to leave them out",
    "negative_net_customer": "customers whose returns exceed their purchases (net revenue "
    "below 0); check that the returns belong to purchases in the export",
    "return_only_customer": "customers with returns but no purchase; their rows are left out: "
    "export the period of the original purchases too if they matter",
    "fully_returned_customer": "customers whose purchases were all returned (the returns "
    "cancel the purchases); their rows are left out: they kept nothing, so they carry no value",
    "float_customer_id": "rows whose customer number was written as a decimal number "
    "(100003.0) were read as the whole number (100003); export customer numbers as text",
    "possible_duplicate": "rows identical to another row are kept as separate purchases "
    "because no order id tells them apart: map columns.order_id, or set "
    "data.policies.duplicates: drop if they are export errors",
    "zero_amount_order": "orders of 0 are counted as purchases; set "
    "data.policies.zero_amounts: drop if they are not real orders",
    "unread_sheets": "the workbook has further sheets with the same columns that were not "
    "read (count: sheets); set data.excel.sheet: all to read every sheet",
}
"""Flag codes a :class:`DataQuality` may carry: rows, customers (or days, sheets) kept but
worth a look, each with a one-line English explanation and what to do."""

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
    flagged
        ``(flag code, count)`` for every code of :data:`FLAG_MESSAGES` that
        applies (count above 0): rows or customers kept but worth a look.
    files
        How each file was read.
    statuses
        ``(status value, rows, excluded)`` for every status value seen (``""``: no
        status), most rows first; empty without a status column.
    currencies
        ``(currency, rows kept)`` for every value of the currency column; empty
        without one.
    one_off
        ``(channel, rows, amount)`` for every one-off channel seen
        (``data.policies.one_off_channels``): left out of the model, reported apart.

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
    flagged: tuple[tuple[str, int], ...] = ()
    statuses: tuple[tuple[str, int, bool], ...] = ()
    currencies: tuple[tuple[str, int], ...] = ()
    one_off: tuple[tuple[str, int, float], ...] = ()

    @property
    def one_off_rows(self) -> int:
        """Rows of one-off gifts (legacies, major gifts) left out of the model."""
        return sum(n for _, n, _ in self.one_off)

    @property
    def one_off_amount(self) -> float:
        """The amount of the one-off gifts left out of the model.

        Examples
        --------
        >>> q = DataQuality(5, 4, (), 0, 3, 0, one_off=(("Nalatenschap", 1, 25000.0),))
        >>> q.one_off_rows, q.one_off_amount
        (1, 25000.0)
        """
        return float(sum(amount for _, _, amount in self.one_off))

    @property
    def status_lines(self) -> list[str]:
        """One line per status value seen: its rows and whether it is excluded.

        Examples
        --------
        >>> q = DataQuality(5, 3, (), 0, 3, 0, statuses=(("paid", 3, False), ("refunded", 2, True)))
        >>> q.status_lines
        ["'paid': 3 rows", "'refunded': 2 rows, excluded (not a purchase)"]
        """
        return [
            f"'{value}': {n:,} rows" + (", excluded (not a purchase)" if excluded else "")
            for value, n, excluded in self.statuses
        ]

    @property
    def flag_lines(self) -> list[str]:
        """One English line per flag: ``"<count> <code>: <explanation>"``.

        Examples
        --------
        >>> q = DataQuality(10, 10, (), 0, 5, 2, flagged=(("zero_amount_order", 2),))
        >>> q.flag_lines[0].split(":")[0]
        '2 zero amount order'
        """
        return [
            f"{n:,} {code.replace('_', ' ')}: {FLAG_MESSAGES.get(code, code)}"
            for code, n in self.flagged
            if n
        ]

    @property
    def warning_lines(self) -> list[str]:
        """Human lines for the warnings and then the flags (for ``validate``)."""
        return [WARNINGS.get(code, code) for code in self.warnings] + self.flag_lines

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
        data["flagged"] = dict(self.flagged)
        data["statuses"] = [
            {"status": value, "rows": n, "excluded": excluded}
            for value, n, excluded in self.statuses
        ]
        data["currencies"] = dict(self.currencies)
        data["one_off"] = [
            {"channel": value, "rows": n, "amount": amount} for value, n, amount in self.one_off
        ]
        return data
