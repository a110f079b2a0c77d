"""Beyond one machine: the Spark engine (``engine: spark`` in ``client.yml``).

Install with ``pip install 'clvreport[spark]'``; Spark needs Java 17 or newer.
:class:`SparkEngine` runs the same SQL as the embedded DuckDB engine (ingest,
per-customer summary, cohorts, concentration) on a Spark cluster or
``local[*]``; :func:`score_customers_spark` scores customers on the executors
and writes Parquet. Model fitting stays on the driver, on the compressed
(x, t_x, T) rows.
"""

from clvreport.spark.engine import SparkEngine, java_available, spark_type_name
from clvreport.spark.scoring import score_customers_spark

__all__ = ["SparkEngine", "java_available", "score_customers_spark", "spark_type_name"]
