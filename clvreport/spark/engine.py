"""The Spark engine: the same aggregation SQL as DuckDB, run by Spark SQL.

:class:`SparkEngine` implements :class:`clvreport.engine.Engine` on a
``SparkSession``: a client's cluster (``spark.master`` in ``client.yml``) or
``local[*]`` on this machine. Spark reads the transaction files, runs the
ingest, summary, cohort and concentration queries that
:mod:`clvreport.ingest`, :mod:`clvreport.rfm` and friends build with
:data:`clvreport.engine.SPARK` as dialect, and hands back one row per customer
(or per period) to the driver. Spark does the distribution; clvreport only
writes the SQL once.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from clvreport.config import CsvOptions, SparkOptions
from clvreport.engine import SPARK, Dialect, NamedTables
from clvreport.errors import ConfigError, DataError
from clvreport.ingest.reader import RawFile, inspect_csv
from clvreport.ingest.sources import SourceFile

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkEngine", "java_available", "spark_type_name"]

_WHITESPACE_FIELDS = "_clv_nfields"

# Settings every session gets: ANSI SQL with double-quoted identifiers (the SQL
# clvreport writes), Arrow for fast transfers to pandas, dates in UTC.
_SESSION_CONF = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


# pyspark warns about pandas 3 on import and inside every Arrow conversion; the
# conversions clvreport uses are covered by its tests, so the noise is dropped.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"pyspark(\..*)?")
warnings.filterwarnings(
    "ignore", message=r".*copy keyword is deprecated.*", module=r"pyspark(\..*)?"
)


def java_available() -> bool:
    """Whether a Java runtime for Spark is on this machine (``JAVA_HOME`` or ``java`` on PATH).

    Examples
    --------
    >>> isinstance(java_available(), bool)
    True
    """
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def spark_type_name(data_type: Any) -> str:
    """The DuckDB-style type name of a Spark SQL type, as :class:`RawFile` columns use.

    Examples
    --------
    >>> from pyspark.sql.types import DecimalType, LongType, StringType
    >>> [spark_type_name(t) for t in (StringType(), LongType(), DecimalType(10, 2))]
    ['VARCHAR', 'BIGINT', 'DECIMAL(10,2)']
    """
    name = type(data_type).__name__
    simple = {
        "StringType": "VARCHAR",
        "VarcharType": "VARCHAR",
        "CharType": "VARCHAR",
        "DateType": "DATE",
        "TimestampType": "TIMESTAMP",
        "TimestampNTZType": "TIMESTAMP",
        "DoubleType": "DOUBLE",
        "FloatType": "FLOAT",
        "LongType": "BIGINT",
        "IntegerType": "INTEGER",
        "ShortType": "SMALLINT",
        "ByteType": "TINYINT",
        "BooleanType": "BOOLEAN",
    }
    if name == "DecimalType":
        return f"DECIMAL({data_type.precision},{data_type.scale})"
    return simple.get(name, data_type.simpleString().upper())


class SparkEngine(NamedTables):
    """Run clvreport's SQL on Spark.

    Parameters
    ----------
    session
        A ``SparkSession``; see :meth:`start` to create one from ``client.yml``
        settings, or :meth:`local` for this machine.
    owns_session
        Stop the session on :meth:`close`.
    scratch_dir
        Folder for intermediate Parquet files, readable by driver and
        executors (default: a local temp folder, right for ``local[*]``).

    Examples
    --------
    >>> with SparkEngine.local(cores=2) as engine:  # doctest: +SKIP
    ...     engine.query("SELECT 1 + 1 AS two")["two"].item()
    2
    """

    dialect: Dialect = SPARK

    def __init__(
        self, session: SparkSession, *, owns_session: bool = False, scratch_dir: str | None = None
    ):
        self.session = session
        self.scratch_dir = scratch_dir
        self.owns_session = owns_session
        self.temp_directory = Path(tempfile.mkdtemp(prefix="clvreport-spark-"))
        self._counter = itertools.count(1)
        self._views: set[str] = set()
        self._closed = False

    # -- construction ------------------------------------------------------------------

    @classmethod
    def start(cls, options: SparkOptions | None = None) -> SparkEngine:
        """Start (or join) a Spark session with the ``spark:`` settings of ``client.yml``.

        Parameters
        ----------
        options
            Master URL, driver memory and further ``spark.*`` settings.

        Returns
        -------
        SparkEngine
            An engine that stops the session when closed.

        Raises
        ------
        ConfigError
            When pyspark is not installed or no Java runtime is found.
        """
        options = options or SparkOptions()
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise ConfigError(
                "engine: spark needs pyspark, which is not installed",
                hint="pip install 'clvreport[spark]' (or set engine: duckdb)",
            ) from None
        if not java_available():
            raise ConfigError(
                "engine: spark needs a Java runtime (17 or newer), and none was found",
                hint="install Java (Debian: apt-get install openjdk-17-jre-headless) "
                "or set JAVA_HOME",
            )
        # Spark's Python workers must run this interpreter (same packages).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        builder = SparkSession.builder.appName("clvreport").master(options.master)
        conf = {
            **_SESSION_CONF,
            "spark.driver.memory": options.driver_memory,
            # clvreport keeps no tables: no spark-warehouse/ folder in the working directory.
            "spark.sql.warehouse.dir": str(Path(tempfile.gettempdir()) / "clvreport-warehouse"),
        }
        if options.master.startswith("local"):
            cores = os.cpu_count() or 2
            conf["spark.sql.shuffle.partitions"] = str(max(4, 2 * cores))
        conf.update(options.conf)
        for key, value in conf.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return cls(session, owns_session=True, scratch_dir=options.scratch_dir)

    @classmethod
    def local(cls, *, cores: int | str = "*", memory: str = "4g") -> SparkEngine:
        """A Spark engine in local mode on this machine.

        Parameters
        ----------
        cores
            Worker threads (``"*"``: all cores).
        memory
            Driver memory, e.g. ``"4g"``.

        Returns
        -------
        SparkEngine
        """
        return cls.start(SparkOptions(master=f"local[{cores}]", driver_memory=memory))

    def scratch_path(self, name: str) -> str:
        """Where this engine's jobs write intermediate files (Parquet) named ``name``.

        The ``spark.scratch_dir`` setting of ``client.yml`` (shared storage such
        as ``hdfs:///tmp/clvreport`` on a cluster), else a local temp folder.

        Parameters
        ----------
        name
            File or folder name.

        Returns
        -------
        str
        """
        base = self.scratch_dir or str(self.temp_directory)
        return f"{base.rstrip('/')}/{next(self._counter)}-{name}"

    def __repr__(self) -> str:
        return f"SparkEngine(master={self.session.sparkContext.master!r})"

    # -- the Engine protocol -----------------------------------------------------------

    def _sql(self, sql: str) -> DataFrame:
        from pyspark.errors import PySparkException

        try:
            return self.session.sql(sql)
        except PySparkException as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"Spark could not run a query: {first}") from exc

    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing.

        Parameters
        ----------
        sql
            The statement.
        """
        self._sql(sql)

    def create_table(self, name: str, sql: str) -> None:
        """Materialise the query ``sql`` as the view ``name``, independent of its inputs.

        The result is computed now and kept by the executors (memory, spilling
        to disk: a local checkpoint), so the tables it was built from can be
        dropped.

        Parameters
        ----------
        name
            A plain identifier.
        sql
            A ``SELECT`` query.
        """
        from pyspark.errors import PySparkException

        self._check_name(name)
        try:
            frame = self._sql(sql).localCheckpoint(eager=True)
        except PySparkException as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"Spark could not run a query: {first}") from exc
        self.register_frame(name, frame)

    def create_view(self, name: str, sql: str) -> None:
        """Name the query ``sql`` ``name``: it runs again wherever ``name`` is read.

        Parameters
        ----------
        name
            A plain identifier.
        sql
            A ``SELECT`` query.
        """
        self._check_name(name)
        self.register_frame(name, self._sql(sql))

    def query(self, sql: str) -> pd.DataFrame:
        """Run a query and return its (small) result as pandas, through Arrow.

        Parameters
        ----------
        sql
            The query.

        Returns
        -------
        pandas.DataFrame
            DATE columns come back as ``datetime64``, like DuckDB's.
        """
        return _dates_as_datetime(self._sql(sql).toPandas())

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
        frame = self._sql(sql)
        if hasattr(frame, "toArrow"):
            return frame.toArrow()
        return pa.Table.from_pandas(frame.toPandas(), preserve_index=False)

    def register(self, name: str, data: pa.Table | pd.DataFrame) -> None:
        """Make an Arrow table or pandas DataFrame queryable as ``name``.

        Parameters
        ----------
        name
            A plain identifier.
        data
            The table (sent to Spark).
        """
        self._check_name(name)
        frame = data.to_pandas() if isinstance(data, pa.Table) else data
        self.session.createDataFrame(frame).createOrReplaceTempView(name)
        self._views.add(name)

    def register_frame(self, name: str, frame: DataFrame) -> None:
        """Make a Spark DataFrame queryable as ``name``.

        Parameters
        ----------
        name
            A plain identifier.
        frame
            The DataFrame.
        """
        self._check_name(name)
        frame.createOrReplaceTempView(name)
        self._views.add(name)

    def drop(self, name: str) -> None:
        """Drop (and uncache) the view ``name`` if it exists.

        Parameters
        ----------
        name
            The name to drop.
        """
        self.session.catalog.dropTempView(name)
        self._views.discard(name)

    def close(self) -> None:
        """Drop this engine's views, stop the session if it owns it, remove temp files."""
        if self._closed:
            return
        self._closed = True
        for name in list(self._views):
            try:
                self.session.catalog.dropTempView(name)
            except Exception:
                pass
        if self.owns_session:
            self.session.stop()
        shutil.rmtree(self.temp_directory, ignore_errors=True)

    # -- reading files -----------------------------------------------------------------

    def open_raw(self, source: SourceFile, csv: CsvOptions, index: int) -> RawFile:
        """Read one transaction file with Spark, as a view with the file's column names.

        CSV layout (encoding, delimiter, header) is detected like the DuckDB
        reader does (:func:`clvreport.ingest.reader.inspect_csv`); all CSV
        values are read as text and parsed by the shared ingest SQL. Parquet
        keeps its types. Excel files are not read by Spark.

        Parameters
        ----------
        source
            The file.
        csv
            CSV options from ``client.yml``.
        index
            Position of the file in the source list.

        Returns
        -------
        RawFile

        Raises
        ------
        ConfigError
            For Excel files.
        """
        view = self.unique_name("clv_raw")
        if source.format == "excel":
            raise ConfigError(
                f"{source.path.name}: Excel files are read by the DuckDB engine only",
                hint="export the transactions as Parquet or CSV for engine: spark",
            )
        if source.format == "parquet":
            frame = self.session.read.parquet(str(source.path))
            self.register_frame(view, frame)
            columns = {f.name: spark_type_name(f.dataType) for f in frame.schema.fields}
            return RawFile(source=source, sql=view, columns=columns, registered=view)
        layout = inspect_csv(source, csv, self.temp_directory, index)
        names = layout.names
        skip = layout.skip + int(layout.header)
        if layout.delimiter == "whitespace":
            frame = self._whitespace_frame(layout.read_path, names, skip)
            field_count: int | None = len(names)
        else:
            frame = self._delimited_frame(layout.read_path, layout.delimiter, names, skip)
            field_count = None
        self.register_frame(view, frame)
        return RawFile(
            source=source,
            sql=view,
            columns=dict.fromkeys(names, "VARCHAR"),
            row_label="line",
            row_offset=skip,
            encoding=layout.encoding,
            delimiter=layout.delimiter,
            field_count=field_count,
            registered=view,
            read_path=layout.read_path,
        )

    def _lines(self, path: Path, skip: int) -> DataFrame:
        """The file's lines in order, without the first ``skip`` (header, ``sep=``) lines."""
        from pyspark.sql import functions as F

        lines = self.session.read.text(str(path)).withColumn(
            "_clv_line", F.monotonically_increasing_id()
        )
        if skip:
            first = lines.orderBy("_clv_line").limit(skip).agg(F.max("_clv_line")).first()[0]
            lines = lines.where(F.col("_clv_line") > F.lit(first))
        return lines

    def _delimited_frame(
        self, path: Path, delimiter: str, names: list[str], skip: int
    ) -> DataFrame:
        from pyspark.sql.types import StringType, StructField, StructType

        schema = StructType([StructField(name, StringType()) for name in names])
        reader = (
            self.session.read.option("sep", delimiter)
            .option("quote", '"')
            .option("escape", '"')
            .option("header", "false")
            .option("mode", "PERMISSIVE")
            .option("encoding", "UTF-8")
            .schema(schema)
        )
        if skip == 0:
            return reader.csv(str(path))
        if skip == 1:  # just a header line: Spark skips it in every file
            return reader.option("header", "true").csv(str(path))
        lines = self._lines(path, skip).select("value")
        return reader.csv(lines.rdd.map(lambda row: row[0]))

    def _whitespace_frame(self, path: Path, names: list[str], skip: int) -> DataFrame:
        from pyspark.sql import functions as F

        lines = self._lines(path, skip)
        parts = F.split(F.trim(F.regexp_replace("value", r"\s+", " ")), " ")
        lines = lines.where(~F.col("value").rlike(r"^\s*$")).select(parts.alias("_parts"))
        return lines.select(
            *[F.col("_parts").getItem(i).alias(name) for i, name in enumerate(names)],
            F.size("_parts").alias(_WHITESPACE_FIELDS),
        )


def _dates_as_datetime(frame: pd.DataFrame) -> pd.DataFrame:
    """Spark returns DATE columns as Python dates (object dtype): make them datetime64."""
    import datetime as dt

    for column in frame.columns:
        if frame[column].dtype == object:
            sample = frame[column].dropna().head(1)
            if len(sample) and isinstance(sample.iloc[0], dt.date):
                frame[column] = pd.to_datetime(frame[column])
    return frame
