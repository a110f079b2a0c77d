"""Distributed scoring: every customer's forecast computed on the Spark executors.

The model is fitted on the driver (on the compressed (x, t_x, T) rows, which
are few even for millions of customers); the fitted model is then shipped to
the executors, which score their partitions of the customer summary with the
same vectorised :func:`clvreport.models.score_customers` (``mapInPandas``) and
write Parquet. The parameter draws behind the intervals depend only on the
fit and the seed, so every partition uses the same draws and the result equals
scoring on one machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from clvreport.models import ClvModelFit, score_customers
from clvreport.models.spend_caps import CAPPED_COLUMN

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from clvreport.spark.engine import SparkEngine

__all__ = ["score_customers_spark"]

_SUMMARY_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value"]


def _spark_schema(sample: pd.DataFrame) -> str:
    """A Spark DDL schema for the scores (string id, doubles for the rest)."""
    columns = ["customer_id STRING"]
    columns += [f"`{name}` DOUBLE" for name in sample.columns if name != "customer_id"]
    return ", ".join(columns)


def score_customers_spark(
    engine: SparkEngine,
    fit: ClvModelFit,
    summary: pd.DataFrame | DataFrame,
    path: Path | str,
    **options: Any,
) -> int:
    """Score every customer on the Spark executors and write the scores as Parquet.

    Parameters
    ----------
    engine
        The Spark engine.
    fit
        A usable fit from :func:`clvreport.models.fit_clv_models`.
    summary
        The customer summary (``customer_id, frequency, recency, T,
        monetary_value``, and ``monetary_value_capped`` when the summary
        has it, in ``fit.time_unit``): a Spark DataFrame (for example
        the summary query run by Spark) or a pandas DataFrame.
    path
        Output folder of the Parquet files (overwritten).
    **options
        Passed to :func:`clvreport.models.score_customers` (horizon, discount
        rate, margin, interval, draws, seed).

    Returns
    -------
    int
        The number of customers scored.

    Examples
    --------
    >>> n = score_customers_spark(engine, fit, summary, "scores.parquet")  # doctest: +SKIP
    """
    time_unit = fit.time_unit
    columns = [*_SUMMARY_COLUMNS, *([CAPPED_COLUMN] if CAPPED_COLUMN in summary.columns else [])]
    if isinstance(summary, pd.DataFrame):
        frame = engine.session.createDataFrame(summary[columns])
        sample = summary[columns].head(2).copy()
    else:
        frame = summary.select(*columns)
        sample = frame.limit(2).toPandas()
    sample.attrs["time_unit"] = time_unit
    schema = _spark_schema(score_customers(fit, sample, n_draws=2, **_without_draws(options)))

    def score_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if batch.empty:
                continue
            batch = batch.reset_index(drop=True)
            batch["customer_id"] = batch["customer_id"].astype(str)
            batch.attrs["time_unit"] = time_unit
            yield score_customers(fit, batch, **options)

    scores = frame.mapInPandas(score_partition, schema=schema)
    scores.write.mode("overwrite").parquet(str(path))
    return int(engine.session.read.parquet(str(path)).count())


def _without_draws(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k != "n_draws"}
