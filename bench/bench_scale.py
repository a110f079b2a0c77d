"""Scale benchmark: 1M, 10M and 100M transactions → summary → model fit → scored customers.

For each size, a synthetic transaction file is generated (Parquet, under
``bench/data/``, not committed) from the models' own story, so the fits are
meaningful: customers start uniformly over three years, buy as a Poisson
process with a gamma-distributed rate and drop out after each repeat purchase
with a beta-distributed probability (BG/NBD), spending gamma-gamma amounts
(:func:`generate`). Each
(engine, size) runs in its own interpreter, which times three steps and samples
their peak resident memory (:class:`clvreport.monitor.PeakMemory`, the
process tree, so Spark's JVM counts too):

1. **ingest + summary**: read and clean the transactions
   (:func:`clvreport.ingest.read_transactions`) and build the per-customer
   summary (:func:`clvreport.rfm.rfm_summary`); DuckDB with a memory limit
   (``--memory-limit``, spilling to disk beyond it) or Spark in local mode;
2. **fit**: :func:`clvreport.models.fit_clv_models` (``auto``: BG/NBD,
   MBG/NBD and Pareto/NBD on the compressed (x, t_x, T) rows, plus
   Gamma-Gamma) on the driver;
3. **score**: :func:`clvreport.models.score_customers` with 90% intervals,
   vectorised in chunks (DuckDB) or distributed with ``mapInPandas``
   writing Parquet (Spark).

Usage::

    python bench/bench_scale.py                          # 1M, 10M, 100M DuckDB; Spark to 10M
    python bench/bench_scale.py --sizes 1000000 --engines duckdb

Targets on the development machine (2 cores, 24 GiB): 10M transactions end to
end ≤ 60 s and ≤ 4 GiB peak; 100M completes within 15 minutes without running
out of memory. The table is printed and written to ``bench/results/scale.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_summary import DATA, RESULTS  # noqa: E402

STEPS = ("ingest + summary", "fit", "score")
START = "2021-01-01"
DAYS = 3 * 365
# BG/NBD (per week) and Gamma-Gamma parameters of the simulated customers: about
# six transactions per customer over three years.
TRANSACTIONS = {"r": 0.6, "alpha": 5.0, "a": 0.6, "b": 4.0}
SPEND = {"p": 6.0, "q": 4.0, "gamma": 15.0}
CHUNK = 500_000
TRANSACTIONS_PER_CUSTOMER = 5.8  # the mean of the parameters above (measured)


def _chunk(rng, first_id: int, n: int):
    """Transactions of ``n`` simulated customers as an Arrow table (one row per purchase)."""
    import numpy as np
    import pyarrow as pa

    start = rng.integers(0, DAYS, n)  # first purchase, days after START
    horizon = (DAYS - 1 - start) / 7.0  # weeks left to observe
    lam = rng.gamma(TRANSACTIONS["r"], 1.0 / TRANSACTIONS["alpha"], n)
    p = rng.beta(TRANSACTIONS["a"], TRANSACTIONS["b"], n)
    events = rng.poisson(lam * horizon)  # repeat purchases of an immortal customer
    alive_for = rng.geometric(p)  # repeat purchases before dropping out
    kept = np.minimum(events, alive_for)
    # The first `kept` of `events` uniform times on (0, horizon): order statistics
    # S_i / S_{events+1} of exponential gaps, with the unkept gaps summed as a gamma.
    owner = np.repeat(np.arange(n), kept)
    gaps = rng.exponential(1.0, owner.size)
    cums = np.cumsum(gaps)
    offsets = np.concatenate([[0.0], cums])[np.concatenate([[0], np.cumsum(kept)])[:-1]]
    partial = cums - np.repeat(offsets, kept)
    rest = rng.gamma(np.maximum(events + 1 - kept, 1e-12), 1.0)
    total = np.repeat(partial_totals(partial, kept) + rest, kept)
    repeat_day = np.repeat(start, kept) + np.floor(partial / total * np.repeat(horizon, kept) * 7)
    customer = np.concatenate([np.arange(n), owner])
    day = np.concatenate([start, repeat_day.astype(np.int64)])
    nu = rng.gamma(SPEND["q"], 1.0 / SPEND["gamma"], n)
    amount = np.round(rng.gamma(SPEND["p"], 1.0 / nu[customer]), 2)
    ids = np.char.add("C", np.char.zfill((customer + first_id).astype(str), 9))
    dates = (np.datetime64(START) + day.astype("timedelta64[D]")).astype("datetime64[D]")
    return pa.table({"customer_id": ids, "order_date": dates, "amount": amount})


def partial_totals(partial, kept):
    """The last partial sum per customer (0 for customers without repeat purchases)."""
    import numpy as np

    ends = np.cumsum(kept) - 1
    out = np.zeros(kept.size)
    has = kept > 0
    out[has] = partial[ends[has]]
    return out


def generate(rows: int, folder: Path) -> Path:
    """Write about ``rows`` simulated transactions to Parquet (skipped when present)."""
    import numpy as np
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"btyd_{rows}.parquet"
    if path.exists():
        return path
    rng = np.random.default_rng(rows)
    tmp = path.with_suffix(".tmp")
    written = customers = 0
    with pq.ParquetWriter(tmp, _chunk(rng, 0, 1).schema) as writer:
        # Whole customers only (cutting a customer's history would bias the data), so
        # the file holds about `rows` transactions: the last chunk is sized to fit.
        while written < 0.999 * rows:
            n = int(min(CHUNK, max(1, (rows - written) / TRANSACTIONS_PER_CUSTOMER)))
            table = _chunk(rng, customers, n)
            customers += n
            writer.write_table(table)
            written += table.num_rows
    tmp.rename(path)
    return path


SPARK_MAX_ROWS = 10_000_000


def run_child(engine_name: str, path: str, memory_limit: str, workdir: str) -> dict:
    """Run the three steps in this process; return seconds and peak MiB per step."""
    from clvreport.config import ColumnMapping
    from clvreport.engine import DuckDBEngine
    from clvreport.ingest import read_transactions
    from clvreport.models import fit_clv_models, score_customers
    from clvreport.monitor import PeakMemory
    from clvreport.rfm import rfm_summary

    columns = ColumnMapping(customer_id="customer_id", date="order_date", amount="amount")
    result: dict = {"steps": {}}

    def record(step: str, seconds: float, memory: PeakMemory) -> None:
        result["steps"][step] = {"seconds": seconds, "peak_mib": memory.peak_mib}

    if engine_name == "spark":
        from clvreport.spark import SparkEngine, score_customers_spark

        engine = SparkEngine.local(memory="4g")
    else:
        engine = DuckDBEngine(memory_limit=memory_limit)
    start = time.perf_counter()
    with PeakMemory() as memory:
        tx = read_transactions(path, columns, engine=engine)
        summary = rfm_summary(tx, time_unit="weeks")
    record("ingest + summary", time.perf_counter() - start, memory)
    result["customers"] = len(summary)
    result["transactions"] = tx.quality.rows_read

    start = time.perf_counter()
    with PeakMemory() as memory:
        fit = fit_clv_models(summary, model="auto", time_unit="weeks")
    record("fit", time.perf_counter() - start, memory)
    result["model"] = fit.model_name

    start = time.perf_counter()
    with PeakMemory() as memory:
        if engine_name == "spark":
            out = Path(workdir) / "scores.parquet"
            scored = score_customers_spark(engine, fit, summary, out)
        else:
            scored = len(score_customers(fit, summary))
    record("score", time.perf_counter() - start, memory)
    result["scored"] = scored
    tx.close()
    engine.close()
    return result


def measure(engine: str, path: Path, memory_limit: str, timeout: float) -> dict:
    """Run one (engine, file) in a fresh interpreter; its step results plus the child's peak RSS."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="clv-scale-") as workdir:
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            engine,
            str(path),
            memory_limit,
            workdir,
        ]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return {"error": f"timeout after {timeout:.0f} s"}
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        lines = err.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit {proc.returncode}"}
    result = json.loads(out.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def table(rows: list[dict]) -> str:
    """Markdown table: one row per (engine, size), time and peak memory per step."""
    head = (
        "| engine | transactions | customers | "
        + " | ".join(f"{s} (s) | {s} peak (MiB)" for s in STEPS)
        + " | end to end (s) | peak (MiB) | model |"
    )
    lines = [head, "|" + "---|" * (6 + 2 * len(STEPS))]
    for row in rows:
        size = f"{row['rows']:,}"
        if "error" in row:
            lines.append(f"| {row['engine']} | {size} | – | {row['error']} |")
            continue
        steps = row["steps"]
        cells = " | ".join(
            f"{steps[s]['seconds']:.1f} | {steps[s]['peak_mib']:,.0f}" for s in STEPS
        )
        total = sum(steps[s]["seconds"] for s in STEPS)
        peak = max(steps[s]["peak_mib"] for s in STEPS)
        lines.append(
            f"| {row['engine']} | {row['transactions']:,} | {row['customers']:,} | {cells} | "
            f"{total:.1f} | "
            f"{peak:,.0f} | {row['model']} |"
        )
    return "\n".join(lines)


def machine() -> str:
    import psutil

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, Python {platform.python_version()}"
    )


def main() -> None:
    """Parse arguments, generate the data, run every (engine, size), print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1_000_000, 10_000_000, 100_000_000],
    )
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB memory limit")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.md")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine, path, memory_limit, workdir = args.child
        print(json.dumps(run_child(engine, path, memory_limit, workdir)))
        return
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    results = []
    for rows in args.sizes:
        t0 = time.perf_counter()
        parquet = generate(rows, DATA)
        print(f"data: {parquet.name} in {time.perf_counter() - t0:.0f} s", flush=True)
        for engine in engines:
            if engine == "spark" and rows > SPARK_MAX_ROWS:
                continue
            row = {
                "engine": engine,
                "rows": rows,
                **measure(engine, parquet, args.memory_limit, args.timeout),
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    text = (
        "# Scale benchmark\n\n"
        f"Generated by `bench/bench_scale.py` on {machine()}; DuckDB memory limit "
        f"{args.memory_limit}, Spark in local mode (`local[*]`, 4 GiB driver).\n\n"
        + table(results)
        + "\n\nPeak memory is the resident memory of the benchmark process and its children "
        "(Spark's JVM included), sampled every 50 ms during each step.\n"
    )
    print()
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
