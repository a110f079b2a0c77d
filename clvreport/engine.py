"""The data engine: where transactions live and where the aggregation SQL runs.

Every aggregation in clvreport is written once, as SQL that DuckDB and Spark
SQL both run. The few functions whose spelling differs between the two (day
differences, date parsing, regular expressions, string literals) come from a
:class:`Dialect`, so a query is built with ``engine.dialect`` and runs
unchanged on either engine.

:class:`DuckDBEngine` is the embedded default: it runs in-process with a memory
limit and spills larger-than-memory work to a temporary directory, so a file of
tens of millions of rows is read and aggregated without ever sitting in pandas.
Only results (one row per customer, per cohort, ...) come back as pandas or
Arrow.

Examples
--------
>>> engine = DuckDBEngine()
>>> engine.execute("CREATE TABLE tx AS SELECT DATE '2020-01-01' AS d")
>>> days = engine.dialect.date_diff_days("d", engine.dialect.date(dt.date(2020, 1, 8)))
>>> engine.query(f"SELECT {days} AS n FROM tx")["n"].tolist()
[7]
>>> engine.close()
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

import duckdb
import pandas as pd
import pyarrow as pa

from clvreport.errors import DataError

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DUCKDB",
    "ROWS_PER_CUSTOMER_RANGE",
    "SPARK",
    "Dialect",
    "DuckDBEngine",
    "Engine",
    "NamedTables",
    "quote_identifier",
    "rows_in_range",
]

DEFAULT_MEMORY_LIMIT = "512MB"
"""DuckDB memory limit of a :class:`DuckDBEngine` unless another is given."""

ROWS_PER_CUSTOMER_RANGE = 25_000_000
"""Rows per range of :meth:`DuckDBEngine.customer_ranges`: per-customer aggregates fit."""

_RANGE_SAMPLE = 100_000
_MEMORY_DATABASE = "clv_memory"

_RELEASE_LIMIT = "64MB"
"""DuckDB's memory limit for the moment of :meth:`DuckDBEngine.release_memory`."""

_PLAIN_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# strftime directive -> Java DateTimeFormatter pattern (Spark's date functions).
_STRFTIME_TO_JAVA = {
    "%Y": "yyyy",
    "%y": "yy",
    "%m": "MM",
    "%d": "dd",
    "%H": "HH",
    "%I": "hh",
    "%p": "a",
    "%M": "mm",
    "%S": "ss",
    "%f": "SSSSSS",
    "%b": "MMM",
    "%B": "MMMM",
    "%%": "%",
}


def quote_identifier(name: str) -> str:
    """Quote a column or table name for SQL (double quotes, ANSI style).

    Parameters
    ----------
    name
        Any column name, including spaces, quotes or non-ASCII letters.

    Returns
    -------
    str
        The quoted identifier.

    Examples
    --------
    >>> print(quote_identifier('Klant "nr" 2'))
    "Klant ""nr"" 2"
    """
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Dialect:
    """The SQL spellings that differ between engines.

    Attributes
    ----------
    name
        ``"duckdb"`` or ``"spark"``.
    backslash_escapes
        Whether string literals treat a backslash as an escape character
        (Spark SQL does, DuckDB does not).
    """

    name: str
    backslash_escapes: bool = False

    @property
    def text_type(self) -> str:
        """The name of the text type in casts (``VARCHAR`` / ``STRING``).

        Examples
        --------
        >>> DUCKDB.text_type, SPARK.text_type
        ('VARCHAR', 'STRING')
        """
        return "STRING" if self.name == "spark" else "VARCHAR"

    def is_finite(self, expr: str) -> str:
        """True when a DOUBLE is neither NaN nor infinite (NULL stays NULL).

        Examples
        --------
        >>> DUCKDB.is_finite("x")
        'isfinite(x)'
        """
        if self.name == "spark":
            return f"(NOT isnan({expr}) AND abs({expr}) != double('Infinity'))"
        return f"isfinite({expr})"

    def regex_contains(self, expr: str, pattern: str) -> str:
        """True when part of ``expr`` matches the regular expression ``pattern``.

        Examples
        --------
        >>> SPARK.regex_contains("x", "[0-9]")
        "(x RLIKE '[0-9]')"
        """
        if self.name == "spark":
            return f"({expr} RLIKE {self.string(pattern)})"
        return f"regexp_matches({expr}, {self.string(pattern)})"

    def rtrim_chars(self, expr: str, characters: str) -> str:
        """Remove the given characters from the end of ``expr``.

        Examples
        --------
        >>> DUCKDB.rtrim_chars("x", "-"), SPARK.rtrim_chars("x", "-")
        ("rtrim(x, '-')", "trim(TRAILING '-' FROM x)")
        """
        if self.name == "spark":
            return f"trim(TRAILING {self.string(characters)} FROM {expr})"
        return f"rtrim({expr}, {self.string(characters)})"

    def row_number(self) -> str:
        """1-based position of a row in the input, in the order the engine reads it.

        Examples
        --------
        >>> DUCKDB.row_number()
        'row_number() OVER ()'
        """
        if self.name == "spark":
            return "row_number() OVER (ORDER BY monotonically_increasing_id())"
        return "row_number() OVER ()"

    def exact_sum(self, expr: str) -> str:
        """``SUM(expr)`` of money amounts, the same to the last bit on every run.

        A multi-threaded float sum depends on the order the threads add up in;
        summing as DECIMAL (6 decimals, far below a cent) does not.

        Examples
        --------
        >>> DUCKDB.exact_sum("amount")
        'CAST(SUM(CAST(amount AS DECIMAL(38, 6))) AS DOUBLE)'
        """
        return f"CAST(SUM({self.decimal(expr)}) AS DOUBLE)"

    def decimal(self, expr: str) -> str:
        """A money amount as the exact decimal its sums are taken in (:meth:`exact_sum`).

        Sums and differences of these are exact; cast the result to DOUBLE.

        Examples
        --------
        >>> DUCKDB.decimal("amount")
        'CAST(amount AS DECIMAL(38, 6))'
        """
        return f"CAST({expr} AS DECIMAL(38, 6))"

    def arg_min(self, value: str, key: str) -> str:
        """The ``value`` of the row with the smallest ``key`` (rows with a NULL key left out).

        Examples
        --------
        >>> DUCKDB.arg_min("amount", "day"), SPARK.arg_min("amount", "day")
        ('arg_min(amount, day)', 'min_by(amount, day)')
        """
        if self.name == "spark":
            return f"min_by({value}, {key})"
        return f"arg_min({value}, {key})"

    def bit(self, position: str) -> str:
        """A BIGINT with only bit ``position`` (an integer expression, 0 to 62) set.

        Examples
        --------
        >>> DUCKDB.bit("k"), SPARK.bit("k")
        ('(CAST(1 AS BIGINT) << (k))', 'shiftleft(CAST(1 AS BIGINT), k)')
        """
        if self.name == "spark":
            return f"shiftleft(CAST(1 AS BIGINT), {position})"
        return f"(CAST(1 AS BIGINT) << ({position}))"

    def smallest(self, expr: str, n: int) -> str:
        """Aggregate: the ``n`` smallest values of ``expr`` as a list, smallest first.

        Examples
        --------
        >>> DUCKDB.smallest("d", 3)
        'min(d, 3)'
        >>> SPARK.smallest("d", 3)
        'slice(array_sort(collect_list(d)), 1, 3)'
        """
        if self.name == "spark":
            return f"slice(array_sort(collect_list({expr})), 1, {int(n)})"
        return f"min({expr}, {int(n)})"

    def item(self, values: str, position: int) -> str:
        """The ``position``-th item of a list (from 1), NULL beyond its end.

        Examples
        --------
        >>> DUCKDB.item("l", 2), SPARK.item("l", 2)
        ('l[2]', 'try_element_at(l, 2)')
        """
        if self.name == "spark":
            return f"try_element_at({values}, {int(position)})"
        return f"{values}[{int(position)}]"

    def string(self, value: str) -> str:
        """A SQL string literal holding ``value`` exactly.

        Examples
        --------
        >>> print(DUCKDB.string("it's"))
        'it''s'
        """
        text = value.replace("'", "''")
        if self.backslash_escapes:
            text = text.replace("\\", "\\\\")
        return f"'{text}'"

    def date(self, day: dt.date) -> str:
        """A DATE literal.

        Examples
        --------
        >>> DUCKDB.date(dt.date(1997, 9, 30))
        "DATE '1997-09-30'"
        """
        return f"DATE '{day.isoformat()}'"

    def date_diff_days(self, start: str, end: str) -> str:
        """Whole days from ``start`` to ``end`` (both DATE expressions).

        Examples
        --------
        >>> DUCKDB.date_diff_days("a", "b"), SPARK.date_diff_days("a", "b")
        ("date_diff('day', a, b)", 'datediff(b, a)')
        """
        if self.name == "spark":
            return f"datediff({end}, {start})"
        return f"date_diff('day', {start}, {end})"

    def parse_date(self, expr: str, strftime_format: str) -> str:
        """Parse a string expression to DATE with a strftime format, NULL when it does not fit.

        Examples
        --------
        >>> DUCKDB.parse_date("s", "%Y%m%d")
        "CAST(try_strptime(s, '%Y%m%d') AS DATE)"
        >>> SPARK.parse_date("s", "%d-%m-%Y")
        "to_date(try_to_timestamp(s, 'dd-MM-yyyy'))"
        """
        if self.name == "spark":
            java = re.sub(
                "|".join(re.escape(k) for k in _STRFTIME_TO_JAVA),
                lambda m: _STRFTIME_TO_JAVA[m.group(0)],
                strftime_format,
            )
            return f"to_date(try_to_timestamp({expr}, {self.string(java)}))"
        return f"CAST(try_strptime({expr}, {self.string(strftime_format)}) AS DATE)"

    def try_double(self, expr: str) -> str:
        """Cast to DOUBLE, NULL when the text is not a number.

        Examples
        --------
        >>> DUCKDB.try_double("x")
        'TRY_CAST(x AS DOUBLE)'
        """
        return f"TRY_CAST({expr} AS DOUBLE)"

    def regex_full_match(self, expr: str, pattern: str) -> str:
        """True when the whole of ``expr`` matches the regular expression ``pattern``.

        Examples
        --------
        >>> DUCKDB.regex_full_match("x", "[0-9]+")
        "regexp_full_match(x, '[0-9]+')"
        """
        if self.name == "spark":
            return f"({expr} RLIKE {self.string('^(?:' + pattern + ')$')})"
        return f"regexp_full_match({expr}, {self.string(pattern)})"

    def regex_replace_all(self, expr: str, pattern: str, replacement: str) -> str:
        """Replace every match of ``pattern`` in ``expr``.

        Examples
        --------
        >>> DUCKDB.regex_replace_all("x", "[ ]", "")
        "regexp_replace(x, '[ ]', '', 'g')"
        """
        if self.name == "spark":
            return f"regexp_replace({expr}, {self.string(pattern)}, {self.string(replacement)})"
        return f"regexp_replace({expr}, {self.string(pattern)}, {self.string(replacement)}, 'g')"


DUCKDB = Dialect("duckdb")
"""DuckDB's SQL dialect."""

SPARK = Dialect("spark", backslash_escapes=True)
"""Spark SQL's dialect (Spark 3.5+)."""


def rows_in_range(table: str, condition: str) -> str:
    """``table`` in a ``FROM`` clause, only its rows where ``condition`` holds.

    For the ranges of :meth:`Engine.customer_ranges`: the table itself for
    ``"TRUE"`` (the query reads as it always did), else a subquery.

    Examples
    --------
    >>> rows_in_range("tx", "TRUE"), rows_in_range("tx", "customer_id < 'b'")
    ('tx', "(SELECT * FROM tx WHERE customer_id < 'b')")
    """
    return table if condition == "TRUE" else f"(SELECT * FROM {table} WHERE {condition})"


@runtime_checkable
class Engine(Protocol):
    """What clvreport needs from a data engine.

    An engine holds named tables and views and runs SQL built with its
    :attr:`dialect`. Results come back as pandas (small, per-customer or
    per-period results) or Arrow.
    """

    dialect: Dialect

    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing (``CREATE TABLE ... AS``, ``DROP``)."""
        ...

    def create_table(self, name: str, sql: str) -> None:
        """Materialise the result of the query ``sql`` as the table ``name``."""
        ...

    def create_view(self, name: str, sql: str) -> None:
        """Name the query ``sql`` ``name``; it runs again wherever ``name`` is read."""
        ...

    def query(self, sql: str) -> pd.DataFrame:
        """Run a query and return its (small) result as pandas."""
        ...

    def query_arrow(self, sql: str) -> pa.Table:
        """Run a query and return its result as an Arrow table."""
        ...

    def register(self, name: str, data: pa.Table | pd.DataFrame) -> None:
        """Make an in-memory table queryable under ``name``."""
        ...

    def unique_name(self, prefix: str) -> str:
        """A table name starting with ``prefix`` that is not in use yet."""
        ...

    def drop(self, name: str) -> None:
        """Drop the table or view ``name`` if it exists."""
        ...

    def release_memory(self) -> None:
        """Give back what finished queries keep in memory (tables stay queryable)."""
        ...

    def compact(self) -> None:
        """Store the tables written so far more compactly (after the transactions are loaded)."""
        ...

    def customer_ranges(self, table: str) -> list[str]:
        """Conditions splitting ``table``'s customers into ranges of ids, lowest first.

        A per-customer query run once per range gives the same rows as one
        run over the whole table, in the same order when each run is ordered
        by ``customer_id``; see :meth:`DuckDBEngine.customer_ranges`.
        """
        ...

    def close(self) -> None:
        """Release the engine's resources."""
        ...


_ARROW_BATCH_ROWS = 1_000_000


class NamedTables:
    """What both engines do alike: unique table names, name checks, ``with`` closes.

    A subclass sets ``self._counter = itertools.count(1)`` and defines ``close``.
    """

    _counter: Iterator[int]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:  # pragma: no cover - every engine defines its own
        """Release the engine's resources (each engine defines it)."""
        raise NotImplementedError

    def release_memory(self) -> None:
        """Give back what finished queries keep in memory; nothing to do unless overridden."""

    def compact(self) -> None:
        """Store the tables written so far more compactly; nothing to do unless overridden."""

    def customer_ranges(self, table: str) -> list[str]:
        """One range holding every customer (``["TRUE"]``) unless the engine splits them."""
        return ["TRUE"]

    def unique_name(self, prefix: str) -> str:
        """A table or view name ``<prefix>_<n>`` not used in this engine yet.

        Parameters
        ----------
        prefix
            A plain identifier.

        Returns
        -------
        str
        """
        self._check_name(prefix)
        return f"{prefix}_{next(self._counter)}"

    @staticmethod
    def _check_name(name: str) -> None:
        if not _PLAIN_IDENTIFIER.match(name):
            raise ValueError(f"{name!r} is not a plain SQL identifier")


class DuckDBEngine(NamedTables):
    """The embedded engine: DuckDB in this process, with a memory limit and spilling.

    Parameters
    ----------
    memory_limit
        DuckDB's memory limit, e.g. ``"2GB"``; ``None`` keeps DuckDB's default
        (80% of RAM). Work that does not fit spills to ``temp_directory``. The
        default (:data:`DEFAULT_MEMORY_LIMIT`) keeps a 10M-row summary under
        1 GB of process memory at a small cost in speed.
    temp_directory
        Where DuckDB spills and where transcoded copies of input files go. By
        default a fresh temporary directory, removed by :meth:`close`.
    threads
        Worker threads; ``None`` uses all cores.
    database
        ``":memory:"`` (default) or a path to a database file. A file keeps
        tables compressed on disk, for inputs much larger than memory.

    Examples
    --------
    >>> with DuckDBEngine(memory_limit="1GB") as engine:
    ...     engine.query("SELECT 1 + 1 AS two")["two"].item()
    2
    """

    dialect: Dialect = DUCKDB

    def __init__(
        self,
        *,
        memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
        temp_directory: Path | str | None = None,
        threads: int | None = None,
        database: Path | str = ":memory:",
    ):
        self._own_temp = temp_directory is None
        self.temp_directory = Path(
            tempfile.mkdtemp(prefix="clvreport-") if temp_directory is None else temp_directory
        )
        self.temp_directory.mkdir(parents=True, exist_ok=True)
        self.connection = duckdb.connect(str(database))
        self._compressed = str(database) == ":memory:" and self._attach_compressed()
        self.connection.execute(f"SET temp_directory = '{self._spill_dir()}'")
        self.memory_limit = memory_limit
        if memory_limit is not None:
            self.connection.execute(f"SET memory_limit = '{memory_limit}'")
        if threads is not None:
            self.connection.execute(f"SET threads = {int(threads)}")
        self._registered: dict[str, pa.Table | pd.DataFrame] = {}
        self._range_bounds: dict[tuple[str, int, int], list[str]] = {}
        self._counter = itertools.count(1)
        self._closed = False

    @contextlib.contextmanager
    def _memory_errors(self) -> Iterator[None]:
        """DuckDB's out-of-memory error as one message naming the setting that fixes it."""
        try:
            yield
        except duckdb.OutOfMemoryException:
            limit = self.memory_limit or "the machine's"
            raise DataError(
                f"the data need more memory than DuckDB may use ({limit})",
                hint="raise duckdb.memory_limit in client.yml (e.g. duckdb: {memory_limit: 8GB}); "
                "DuckDB spills what it can to disk, but some steps must fit in memory",
            ) from None

    def _attach_compressed(self) -> bool:
        """Keep the tables in an in-memory database that compresses them (:meth:`compact`)."""
        try:
            self.connection.execute(f"ATTACH ':memory:' AS {_MEMORY_DATABASE} (COMPRESS)")
        except duckdb.Error:  # pragma: no cover - DuckDB before 1.3: plain in-memory tables
            return False
        self.connection.execute(f"USE {_MEMORY_DATABASE}")
        return True

    def compact(self) -> None:
        """Compress the tables written so far (a checkpoint of the in-memory database).

        DuckDB compresses in-memory tables when they are checkpointed: 100
        million transactions then take 0.7 GB of its memory limit instead of
        3.2 GB, which the per-customer aggregates that follow get instead (and
        scans read less). A database file is compressed by DuckDB itself.

        Examples
        --------
        >>> with DuckDBEngine() as engine:
        ...     engine.execute("CREATE TABLE t AS SELECT range AS x FROM range(1000)")
        ...     engine.compact()
        ...     int(engine.query("SELECT sum(x) AS s FROM t")["s"].item())
        499500
        """
        if self._compressed:
            with self._memory_errors():
                self.connection.execute(f"CHECKPOINT {_MEMORY_DATABASE}")

    def _spill_dir(self) -> str:
        return str(self.temp_directory / "spill").replace("'", "''")

    def __repr__(self) -> str:
        return f"DuckDBEngine(temp_directory={str(self.temp_directory)!r})"

    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing.

        Parameters
        ----------
        sql
            The statement.
        """
        with self._memory_errors():
            self.connection.execute(sql)

    def create_table(self, name: str, sql: str) -> None:
        """Materialise the result of the query ``sql`` as the table ``name``.

        Parameters
        ----------
        name
            A plain identifier.
        sql
            A ``SELECT`` query.
        """
        self._check_name(name)
        with self._memory_errors():
            self.connection.execute(f"CREATE TABLE {name} AS {sql}")

    def create_view(self, name: str, sql: str) -> None:
        """Name the query ``sql`` ``name``; it runs again wherever ``name`` is read.

        Parameters
        ----------
        name
            A plain identifier.
        sql
            A ``SELECT`` query.
        """
        self._check_name(name)
        with self._memory_errors():
            self.connection.execute(f"CREATE VIEW {name} AS {sql}")

    def query(self, sql: str) -> pd.DataFrame:
        """Run a query and return the result as pandas.

        Parameters
        ----------
        sql
            The query.

        Returns
        -------
        pandas.DataFrame
        """
        with self._memory_errors():
            return self.connection.sql(sql).df()

    def query_arrow(self, sql: str) -> pa.Table:
        """Run a query and return the result as an Arrow table.

        Parameters
        ----------
        sql
            The query.

        Returns
        -------
        pyarrow.Table
        """
        with self._memory_errors():
            result = self.connection.sql(sql)
            if hasattr(result, "to_arrow_reader"):
                # streamed in batches: a large result (one row per customer at 10M
                # customers) is not held in DuckDB's memory budget as a whole as well
                reader = result.to_arrow_reader(_ARROW_BATCH_ROWS)
                return pa.Table.from_batches(reader, schema=reader.schema)
            return result.arrow()

    def register(self, name: str, data: pa.Table | pd.DataFrame) -> None:
        """Make an Arrow table or pandas DataFrame queryable as ``name``.

        Parameters
        ----------
        name
            A plain identifier.
        data
            The table; the engine keeps a reference while it is registered.
        """
        self._check_name(name)
        self.connection.register(name, data)
        self._registered[name] = data

    def drop(self, name: str) -> None:
        """Drop the table, view or registered data ``name`` if it exists.

        Parameters
        ----------
        name
            The name to drop.
        """
        if name in self._registered:
            self.connection.unregister(name)
            del self._registered[name]
            return
        kinds = self.connection.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchall()
        for (kind,) in kinds:
            keyword = "VIEW" if kind == "VIEW" else "TABLE"
            self.connection.execute(f"DROP {keyword} IF EXISTS {quote_identifier(name)}")

    def release_memory(self) -> None:
        """Give back the buffers DuckDB keeps from finished queries.

        DuckDB keeps what its aggregates used, up to ``memory_limit``, until it
        needs the memory again; the models fitted after the summaries would hold
        theirs on top (at 100M transactions and an 8GB limit the process peaked
        there, 6 GB above the summaries' own results). Lowering the limit for a
        moment makes DuckDB free them; tables beyond the lower limit move to its
        temporary directory and are read back when queried.

        Examples
        --------
        >>> with DuckDBEngine(memory_limit="1GB") as engine:
        ...     engine.release_memory()
        ...     engine.query("SELECT current_setting('memory_limit') AS m")["m"].iloc[0]
        '953.6 MiB'
        """
        try:
            self.connection.execute(f"SET memory_limit = '{_RELEASE_LIMIT}'")
        except duckdb.Error:  # pragma: no cover - DuckDB frees what it can either way
            pass
        if self.memory_limit is None:
            self.connection.execute("RESET memory_limit")
        else:
            self.connection.execute(f"SET memory_limit = '{self.memory_limit}'")

    def customer_ranges(self, table: str) -> list[str]:
        """Conditions splitting ``table``'s customers into ranges of about 25 million rows.

        A per-customer aggregate holds a state for every customer until its
        last row is read: at 100 million rows and 17 million customers the
        summary's outgrew an 8GB limit and spilled (86 s, against 35 s for
        four ranges). The bounds are customer ids at equal steps of a sorted
        sample of the rows (repeatable), so each range holds about as many rows.
        The summaries, ``customer_metrics`` and the daily counts ask for the same
        table's ranges: the bounds are sampled once per table and size. Bounds
        of an earlier table of the same name could only make the ranges uneven:
        any bounds split every set of ids into ranges that cover each id once.

        Parameters
        ----------
        table
            A table with a ``customer_id`` column.

        Returns
        -------
        list of str
            SQL conditions on ``customer_id``, lowest ids first, together
            covering every id once; ``["TRUE"]`` up to 25 million rows.

        Examples
        --------
        >>> with DuckDBEngine() as engine:
        ...     engine.execute("CREATE TABLE t AS SELECT 'c' || range AS customer_id "
        ...                    "FROM range(10)")
        ...     engine.customer_ranges("t")
        ['TRUE']
        """
        name = quote_identifier(table)
        with self._memory_errors():
            ((rows,),) = self.connection.execute(f"SELECT count(*) FROM {name}").fetchall()
            parts = -(-int(rows) // ROWS_PER_CUSTOMER_RANGE)
            if parts <= 1:
                return ["TRUE"]
            key = (table, int(rows), parts)
            if key not in self._range_bounds:
                sample = self.connection.execute(
                    f"SELECT customer_id FROM {name} USING SAMPLE reservoir({_RANGE_SAMPLE} "
                    "ROWS) REPEATABLE (1) ORDER BY customer_id"
                ).fetchall()
                self._range_bounds[key] = sorted(
                    {sample[len(sample) * k // parts][0] for k in range(1, parts)}
                )
        bounds = self._range_bounds[key]
        edges: list[str | None] = [None, *bounds, None]
        conditions = []
        for low, high in itertools.pairwise(edges):
            limits = [
                *([f"customer_id >= {self.dialect.string(low)}"] if low is not None else []),
                *([f"customer_id < {self.dialect.string(high)}"] if high is not None else []),
            ]
            conditions.append(" AND ".join(limits))
        return conditions

    def close(self) -> None:
        """Close the connection and remove the temporary directory it created."""
        if self._closed:
            return
        self._closed = True
        self.connection.close()
        self._registered.clear()
        if self._own_temp:
            shutil.rmtree(self.temp_directory, ignore_errors=True)
