"""The Spark engine gives the same results as the embedded DuckDB engine.

Spark runs in local mode (one session for the module). The tests skip, with
the reason, only where pyspark or a Java runtime is missing.
"""

import shutil
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'clvreport[spark]')")

from clvreport.analysis import run_analysis
from clvreport.config import ColumnMapping, CsvOptions, DataPolicies, load_client
from clvreport.errors import ConfigError, DataError
from clvreport.ingest import read_transactions
from clvreport.models import fit_clv_models, score_customers
from clvreport.rfm import rfm_summary, summary_totals
from clvreport.spark import SparkEngine, java_available, score_customers_spark

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(not java_available(), reason="no Java runtime: Spark needs Java 17+"),
]

HERE = Path(__file__).parent
CDNOW = HERE / "data" / "cdnow_sample.txt"
CLIENTS = HERE / "fixtures" / "clients"
CDNOW_COLUMNS = ColumnMapping(customer_id="id", date="date", amount="amount")
CDNOW_CSV = CsvOptions(
    header=False, names=("id", "sample", "date", "qty", "amount"), delimiter="whitespace"
)
KEEP_ZERO = DataPolicies(zero_amounts="keep")


@pytest.fixture(scope="module")
def spark():
    engine = SparkEngine.local(cores=2, memory="2g")
    yield engine
    engine.close()


def cdnow_summary(engine):
    tx = read_transactions(CDNOW, CDNOW_COLUMNS, csv=CDNOW_CSV, policies=KEEP_ZERO, engine=engine)
    try:
        summary = rfm_summary(
            tx, calibration_end="1997-09-30", observation_end="1998-06-30", time_unit="weeks"
        )
    finally:
        if engine is not None:
            tx.engine.drop(tx.table)
        else:
            tx.close()
    return summary, tx.quality


def test_cdnow_summary_on_spark_equals_duckdb_and_the_published_counts(spark):
    on_spark, spark_quality = cdnow_summary(spark)
    on_duckdb, duckdb_quality = cdnow_summary(None)
    totals = summary_totals(on_spark)
    assert totals["customers"] == 2357
    assert totals["repeat_buyers"] == 946
    assert totals["calibration_repeat_purchases"] == 2457
    assert totals["holdout_repeat_purchases"] == 1882
    pd.testing.assert_frame_equal(on_spark, on_duckdb)
    assert spark_quality == duckdb_quality


def test_a_dutch_export_gives_the_same_analysis_on_both_engines(spark, tmp_path, monkeypatch):
    # The branded fixture: ';'-separated, decimal commas, dd-mm-yyyy dates, order ids.
    client = tmp_path / "branded"
    shutil.copytree(CLIENTS / "branded", client)
    _, config = load_client("branded", CLIENTS)
    assert config.engine == "duckdb"
    on_duckdb = run_analysis(config, client)
    spark_config = config.model_copy(update={"engine": "spark"})
    monkeypatch.setattr(SparkEngine, "start", classmethod(lambda cls, options=None: spark))
    monkeypatch.setattr(SparkEngine, "close", lambda self: None)  # the module's session stays
    on_spark = run_analysis(spark_config, client)
    for name in ("customers", "segments", "retention", "cohorts", "lorenz", "tiers"):
        pd.testing.assert_frame_equal(
            getattr(on_spark, name).reset_index(drop=True),
            getattr(on_duckdb, name).reset_index(drop=True),
            check_dtype=False,
            rtol=1e-7,
            obj=name,
        )
    assert on_spark.figures == on_duckdb.figures
    assert on_spark.quality == on_duckdb.quality
    assert on_spark.model.model_name == on_duckdb.model.model_name


def test_distributed_scoring_equals_scoring_on_one_machine(spark, tmp_path):
    summary, _ = cdnow_summary(None)
    fit = fit_clv_models(summary, model="bgnbd", time_unit="weeks")
    path = tmp_path / "scores.parquet"
    options = {"horizon_months": 12, "discount_rate": 0.1, "n_draws": 50}
    assert score_customers_spark(spark, fit, summary, path, **options) == len(summary)
    on_spark = pd.read_parquet(path).sort_values("customer_id", ignore_index=True)
    local = score_customers(fit, summary, **options).sort_values("customer_id", ignore_index=True)
    # Partitions score with the same parameter draws; sums may differ in the last bits.
    pd.testing.assert_frame_equal(on_spark, local, check_dtype=False, rtol=1e-7)


def test_a_misspelled_column_is_named_on_spark_too(spark):
    columns = ColumnMapping(customer_id="id", date="datum", amount="amount")
    with pytest.raises(DataError, match=r"columns\.date: 'datum' is not a column"):
        read_transactions(CDNOW, columns, csv=CDNOW_CSV, engine=spark)


def test_excel_files_are_refused_with_a_fix(spark, tmp_path):
    book = tmp_path / "orders.xlsx"
    pd.DataFrame({"id": ["a"], "date": ["2024-01-01"], "amount": [1.0]}).to_excel(book)
    with pytest.raises(ConfigError, match="Excel files are read by the DuckDB engine only"):
        read_transactions(book, CDNOW_COLUMNS, engine=spark)


def test_spark_settings_in_client_yml_are_validated():
    _, config = load_client("branded", CLIENTS)
    assert config.spark.master == "local[*]"
    with pytest.raises(ValueError, match="unknown"):
        type(config.spark).model_validate({"master": "local[2]", "unknown": 1})


def test_exceptional_orders_and_their_caps_are_the_same_on_both_engines(spark, tmp_path):
    # The statistics come from a histogram of the log amounts and the usual order from exact
    # decimal sums: the same SQL gives the same flags, caps and summaries on both engines.
    from whale_log import CALIBRATION_END, whale_log

    log = whale_log(seed=7, customers=1500)
    path = log.write(tmp_path / "log.csv")
    columns = ColumnMapping(customer_id="klant", date="datum", amount="bedrag")
    on_spark = read_transactions(path, columns, engine=spark)
    on_duckdb = read_transactions(path, columns)
    try:
        assert on_spark.exceptional_rule == on_duckdb.exceptional_rule
        assert on_spark.quality == on_duckdb.quality
        assert dict(on_duckdb.quality.flagged).get("exceptional_order", 0) > 0
        assert on_duckdb.exceptional_count == len(log.whale_orders)
        pd.testing.assert_frame_equal(
            on_spark.exceptional_orders, on_duckdb.exceptional_orders, check_dtype=False
        )
        periods = ({"calibration_end": CALIBRATION_END.date(), "observation_end": "2023-12-31"}, {})
        for period in periods:
            spark_summary = rfm_summary(on_spark, **period)
            duckdb_summary = rfm_summary(on_duckdb, **period)
            assert "monetary_value_capped" in duckdb_summary
            pd.testing.assert_frame_equal(spark_summary, duckdb_summary)
            assert spark_summary.attrs == duckdb_summary.attrs
    finally:
        spark.drop(on_spark.table)
        on_duckdb.close()
