"""Ingest: a client's transaction files → one clean table in the data engine.

DuckDB reads CSV (delimiter, decimal mark, encoding and date format detected
or configured; whitespace-separated and header-less files too), Parquet and
Excel, from one file or globs of many; dates and amounts are parsed strictly,
the data policies applied and every exclusion counted in a
:class:`DataQuality`. Every bad input ends in one :class:`~clvreport.errors.DataError`
naming the file, rows and fix.

Examples
--------
>>> from clvreport.config import ColumnMapping
>>> tx = read_transactions(  # doctest: +SKIP
...     "data/demo/transactions.csv",
...     ColumnMapping(customer_id="klant", date="datum", amount="bedrag"))
>>> tx.quality.rows()  # doctest: +SKIP
[('rows_read', 1200), ('missing_customer_id', 3), ..., ('rows_kept', 1190)]
"""

from clvreport.ingest.quality import (
    EXCLUSION_REASONS,
    FLAG_MESSAGES,
    WARNINGS,
    DataQuality,
    FileInfo,
)
from clvreport.ingest.sources import SourceFile, resolve_sources
from clvreport.ingest.transactions import Transactions, load_transactions, read_transactions

__all__ = [
    "EXCLUSION_REASONS",
    "FLAG_MESSAGES",
    "WARNINGS",
    "DataQuality",
    "FileInfo",
    "SourceFile",
    "Transactions",
    "load_transactions",
    "read_transactions",
    "resolve_sources",
]
