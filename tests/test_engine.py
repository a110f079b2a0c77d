import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from clvreport.engine import DUCKDB, SPARK, DuckDBEngine, Engine, quote_identifier


def test_quote_identifier_doubles_quotes():
    assert quote_identifier('Klant "nr"') == '"Klant ""nr"""'
    assert quote_identifier("bedrag €") == '"bedrag €"'


def test_dialect_date_difference_spellings():
    assert DUCKDB.date_diff_days("a", "b") == "date_diff('day', a, b)"
    assert SPARK.date_diff_days("a", "b") == "datediff(b, a)"


def test_dialect_literals():
    assert DUCKDB.date(dt.date(1997, 9, 30)) == "DATE '1997-09-30'"
    assert DUCKDB.string("it's") == "'it''s'"
    assert DUCKDB.string(r"\d+") == r"'\d+'"
    assert SPARK.string(r"\d+") == r"'\\d+'"


def test_spark_date_parsing_translates_strftime_to_java():
    assert SPARK.parse_date("s", "%d-%m-%Y %H:%M") == (
        "to_date(try_to_timestamp(s, 'dd-MM-yyyy HH:mm'))"
    )
    assert SPARK.regex_full_match("x", "[0-9]+") == "(x RLIKE '^(?:[0-9]+)$')"


def test_duckdb_runs_dialect_expressions():
    with DuckDBEngine(memory_limit="1GB", threads=1) as engine:
        days = DUCKDB.date_diff_days("DATE '2020-01-01'", DUCKDB.date(dt.date(2020, 3, 1)))
        parsed = DUCKDB.parse_date("'31-12-2020'", "%d-%m-%Y")
        full = DUCKDB.regex_full_match("'12,50'", r"\d+,\d+")
        part = DUCKDB.regex_full_match("'x12,50'", r"\d+,\d+")
        repl = DUCKDB.regex_replace_all("'€ 1 2'", r"[€\s]", "")
        row = engine.query(
            f"SELECT {days} AS d, {parsed} AS p, {full} AS f, {part} AS g, {repl} AS r"
        ).iloc[0]
        assert row["d"] == 60
        assert pd.Timestamp(row["p"]).date() == dt.date(2020, 12, 31)
        assert bool(row["f"]) and not bool(row["g"])
        assert row["r"] == "12"


def test_engine_protocol_register_query_drop():
    engine = DuckDBEngine()
    assert isinstance(engine, Engine)
    name = engine.unique_name("tx")
    assert name.startswith("tx_") and engine.unique_name("tx") != name
    engine.register(name, pa.table({"a": [1, 2, 3]}))
    assert engine.query(f"SELECT sum(a) AS s FROM {name}")["s"].item() == 6
    assert engine.query_arrow(f"SELECT a FROM {name}").num_rows == 3
    engine.drop(name)
    engine.execute("CREATE TABLE t AS SELECT 1 AS x")
    engine.execute("CREATE VIEW v AS SELECT * FROM t")
    engine.drop("v")
    engine.drop("t")
    engine.drop("never_there")
    assert engine.query("SELECT count(*) AS n FROM information_schema.tables")["n"].item() == 0
    engine.close()


def test_engine_settings_and_cleanup(tmp_path):
    engine = DuckDBEngine(memory_limit="512MB", threads=1)
    temp = engine.temp_directory
    assert temp.is_dir()
    limit = engine.query("SELECT current_setting('memory_limit') AS m")["m"].item()
    assert limit.replace(" ", "").upper() in ("488.2MIB", "512.0MB", "488.2MB")
    assert engine.query("SELECT current_setting('threads') AS t")["t"].item() == 1
    spill = engine.query("SELECT current_setting('temp_directory') AS t")["t"].item()
    assert spill.startswith(str(temp))
    engine.close()
    engine.close()  # twice is fine
    assert not temp.exists()
    kept = DuckDBEngine(temp_directory=tmp_path / "spill-here")
    kept.close()
    assert (tmp_path / "spill-here").is_dir()  # a given directory is not removed


def test_engine_file_database(tmp_path):
    with DuckDBEngine(database=tmp_path / "clv.duckdb") as engine:
        engine.execute("CREATE TABLE t AS SELECT range AS i FROM range(1000)")
        assert engine.query("SELECT count(*) AS n FROM t")["n"].item() == 1000
    assert (tmp_path / "clv.duckdb").exists()


def test_rejects_names_that_are_not_identifiers():
    with DuckDBEngine() as engine, pytest.raises(ValueError, match="identifier"):
        engine.register("x; DROP TABLE y", pd.DataFrame({"a": [1]}))


def test_out_of_memory_is_one_message_naming_the_setting():
    from clvreport.engine import DuckDBEngine
    from clvreport.errors import DataError

    with DuckDBEngine(memory_limit="20MB") as engine:
        with pytest.raises(DataError, match=r"more memory than DuckDB may use \(20MB\)") as info:
            engine.query(
                "SELECT quantile_cont(x, 0.5) FROM (SELECT random() AS x FROM range(10000000))"
            )
        assert "duckdb.memory_limit" in info.value.hint


def test_customer_ranges_cover_every_row_once_whatever_the_ids(monkeypatch):
    """Ranges of hostile ids (quotes, backslashes, accents, empty) hold each row exactly once."""
    import clvreport.engine

    ids = ["", "a'b", "a\\\\b", "é", "Z", "0", "O'Brien", "x" * 40, "'; DROP TABLE t; --"]
    with DuckDBEngine(threads=1) as engine:
        engine.register("frame", pd.DataFrame({"customer_id": ids * 50}))
        engine.execute("CREATE TABLE t AS SELECT * FROM frame")
        monkeypatch.setattr(clvreport.engine, "ROWS_PER_CUSTOMER_RANGE", 60)
        ranges = engine.customer_ranges("t")
        assert len(ranges) > 2
        counts = [
            int(engine.query(f"SELECT count(*) AS n FROM t WHERE {c}")["n"].item()) for c in ranges
        ]
        assert sum(counts) == len(ids) * 50
        every = " OR ".join(f"({c})" for c in ranges)
        assert engine.query(f"SELECT count(*) AS n FROM t WHERE NOT ({every})")["n"].item() == 0
