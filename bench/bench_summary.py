"""Benchmark: transactions → per-customer RFM summary, clvreport vs pandas vs lifetimes.

Generates a synthetic transaction file (CSV and Parquet, default 10M rows,
under ``bench/data/``, not committed), then runs each method in its own
subprocess and measures wall time and the child's peak resident memory
(``os.wait4`` rusage, so each number belongs to one run only):

* ``clvreport``: :func:`clvreport.ingest.read_transactions` (DuckDB: read,
  parse, policies, dedup) + :func:`clvreport.rfm.rfm_summary`;
* ``pandas``: ``read_csv``/``read_parquet`` + the same summary written as a
  plain pandas groupby (dedup, same-day merge, first purchase, repeat spend);
* ``lifetimes``: ``read_csv`` + ``lifetimes.utils.summary_data_from_transaction_data``
  (only if lifetimes can be imported by ``--lifetimes-python``).

Usage::

    python bench/bench_summary.py                 # 10M rows
    python bench/bench_summary.py --rows 1000000   # smaller
    python bench/bench_summary.py --skip-lifetimes

The table is printed and written to ``bench/results/summary.md``.
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
DATA = HERE / "data"
RESULTS = HERE / "results"
START = "2019-01-01"
DAYS = 3 * 365


def generate(rows: int, customers: int, folder: Path) -> tuple[Path, Path]:
    """Write ``rows`` synthetic transactions as CSV and Parquet (skipped when present)."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"transactions_{rows}.csv"
    parquet_path = folder / f"transactions_{rows}.parquet"
    if csv_path.exists() and parquet_path.exists():
        return csv_path, parquet_path
    con = duckdb.connect()
    con.execute("SET threads = 2")
    # Deterministic pseudo-random columns from hashes of the row number. Purchase
    # days cluster per customer (a customer is active in part of the period);
    # about 1% of rows are returns (negative amounts) and 0.5% exact duplicates.
    con.execute(
        f"""
        CREATE VIEW tx AS
        WITH base AS (
            SELECT i, CASE WHEN hash(i * 3 + 1) % 200 = 0 THEN i - 1 ELSE i END AS j
            FROM range({rows}) r(i)
        )
        SELECT
            'C' || lpad(CAST(hash(j * 7 + 11) % {customers} AS VARCHAR), 8, '0') AS customer_id,
            DATE '{START}' + CAST(
                (hash(hash(j * 7 + 11) % {customers}) % {DAYS // 2})
                + hash(j * 5 + 3) % {DAYS // 2} AS INTEGER) AS order_date,
            round((CASE WHEN hash(j * 13 + 2) % 100 = 0 THEN -1 ELSE 1 END)
                  * (5 + (hash(j * 17 + 5) % 20000) / 100.0), 2) AS amount
        FROM base
        """
    )
    con.execute(f"COPY tx TO '{csv_path}' (HEADER, DELIMITER ',')")
    con.execute(f"COPY tx TO '{parquet_path}' (FORMAT parquet)")
    con.close()
    return csv_path, parquet_path


# --- the measured methods (run in a child process) --------------------------------------


def run_clvreport(path: str) -> dict:
    from clvreport.config import ColumnMapping
    from clvreport.ingest import read_transactions
    from clvreport.rfm import rfm_summary, summary_totals

    columns = ColumnMapping(customer_id="customer_id", date="order_date", amount="amount")
    with read_transactions(path, columns) as tx:
        summary = rfm_summary(tx, time_unit="weeks")
    totals = summary_totals(summary)
    return {"customers": totals["customers"], "repeat": totals["calibration_repeat_purchases"]}


def run_pandas(path: str) -> dict:
    import pandas as pd

    if path.endswith(".parquet"):
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path, dtype={"customer_id": "string", "amount": "float64"})
    df["order_date"] = pd.to_datetime(df["order_date"], format="%Y-%m-%d")
    df = df.drop_duplicates()
    df["purchase"] = df["amount"] >= 0
    end = df["order_date"].max()
    days = df.groupby(["customer_id", "order_date"], sort=False).agg(
        amount=("amount", "sum"), purchase=("purchase", "max")
    )
    days = days.reset_index()
    bought = days[days["purchase"]]
    first = bought.groupby("customer_id")["order_date"].min().rename("first")
    days = days.join(first, on="customer_id", how="inner")
    repeat = days["order_date"] > days["first"]
    days["repeat_purchase"] = repeat & days["purchase"]
    days["repeat_amount"] = days["amount"].where(repeat, 0.0)
    per = days.groupby("customer_id").agg(
        frequency=("repeat_purchase", "sum"),
        first=("first", "first"),
        last=("order_date", "max"),
        repeat_amount=("repeat_amount", "sum"),
    )
    last_purchase = bought.groupby("customer_id")["order_date"].max()
    per["recency"] = (last_purchase - per["first"]).dt.days / 7
    per["T"] = (end - per["first"]).dt.days / 7
    per["monetary_value"] = (per["repeat_amount"] / per["frequency"]).where(per["frequency"] > 0, 0)
    return {"customers": len(per), "repeat": int(per["frequency"].sum())}


def run_lifetimes(path: str) -> dict:
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    df = pd.read_csv(path, dtype={"customer_id": "string", "amount": "float64"})
    df["order_date"] = pd.to_datetime(df["order_date"], format="%Y-%m-%d")
    summary = summary_data_from_transaction_data(
        df, "customer_id", "order_date", monetary_value_col="amount", freq="D"
    )
    return {"customers": len(summary), "repeat": int(summary["frequency"].sum())}


METHODS = {"clvreport": run_clvreport, "pandas": run_pandas, "lifetimes": run_lifetimes}


def child(method: str, path: str) -> None:
    """Run one method and print its result as JSON (the parent measures)."""
    import warnings

    warnings.simplefilter("ignore")
    start = time.perf_counter()
    result = METHODS[method](path)
    result["seconds"] = time.perf_counter() - start
    print(json.dumps(result))


def measure(python: str, method: str, path: Path, timeout: float) -> dict:
    """Run ``method`` on ``path`` in a fresh interpreter; wall time and peak RSS of that child."""
    cmd = [python, str(Path(__file__).resolve()), "--child", method, str(path)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            return {"method": method, "file": path.suffix[1:], "error": f"timeout {timeout:.0f}s"}
        time.sleep(0.05)
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        last = err.strip().splitlines()[-1] if err.strip() else f"exit {code}"
        return {"method": method, "file": path.suffix[1:], "error": last}
    result = json.loads(out.strip().splitlines()[-1])
    result.update(
        method=method,
        file=path.suffix[1:],
        wall=wall,
        peak_mib=usage.ru_maxrss / 1024,  # Linux: kilobytes
    )
    return result


def lifetimes_python(explicit: str | None) -> str | None:
    """An interpreter that can import lifetimes: given, this one, or a /tmp bench venv."""
    candidates = [explicit] if explicit else [sys.executable, "/tmp/clv-lifetimes-venv/bin/python"]
    for python in candidates:
        if python and Path(python).exists():
            ok = subprocess.run(
                [python, "-c", "import lifetimes.utils"], capture_output=True, check=False
            )
            if ok.returncode == 0:
                return python
    return None


def table(rows: list[dict], n: int) -> str:
    """Markdown table with ratios against the pandas run on the same file type."""
    base = {r["file"]: r for r in rows if r["method"] == "pandas" and "error" not in r}
    lines = [
        f"Transactions: {n:,} synthetic rows → per-customer summary (weeks). "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.",
        "",
        "| method | input | customers | repeat purchases | time (s) | peak memory (MiB) "
        "| time vs pandas | memory vs pandas |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['method']} | {r['file']} | – | – | – | – | {r['error']} | |")
            continue
        ref = base.get(r["file"])
        t_ratio = f"{r['wall'] / ref['wall']:.2f}×" if ref else "–"
        m_ratio = f"{r['peak_mib'] / ref['peak_mib']:.2f}×" if ref else "–"
        lines.append(
            f"| {r['method']} | {r['file']} | {r['customers']:,} | {r['repeat']:,} "
            f"| {r['wall']:.1f} | {r['peak_mib']:,.0f} | {t_ratio} | {m_ratio} |"
        )
    ours = next((r for r in rows if r["method"] == "clvreport" and "error" not in r), None)
    other = next((r for r in rows if r["method"] == "lifetimes" and "error" not in r), None)
    if ours and other:
        lines += [
            "",
            f"clvreport ({ours['file']}) vs lifetimes: "
            f"{ours['wall'] / other['wall']:.2f}× the time, "
            f"{ours['peak_mib'] / other['peak_mib']:.2f}× the peak memory.",
        ]
    lines += [
        "",
        "clvreport drops exact duplicate rows and does not count returns (negative amounts) as "
        "purchases; the pandas path does the same, lifetimes does neither, hence its slightly "
        "different counts.",
        "",
        "Time is the child's wall time including interpreter start and imports; peak memory is "
        "the child's maximum resident set size. Ratios < 1 mean less than pandas.",
    ]
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, generate data, run every method, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="transactions (10M)")
    parser.add_argument("--customers", type=int, default=0, help="customers (default rows/10)")
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--lifetimes-python", default=None)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    parser.add_argument("--out", type=Path, default=RESULTS / "summary.md")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    customers = args.customers or max(args.rows // 10, 2)
    t0 = time.perf_counter()
    csv_path, parquet_path = generate(args.rows, customers, DATA)
    print(
        f"data: {csv_path.name} ({csv_path.stat().st_size / 2**20:,.0f} MiB), "
        f"{parquet_path.name} ({parquet_path.stat().st_size / 2**20:,.0f} MiB) "
        f"in {time.perf_counter() - t0:.1f}s",
        flush=True,
    )
    runs = [
        ("clvreport", csv_path),
        ("pandas", csv_path),
        ("clvreport", parquet_path),
        ("pandas", parquet_path),
    ]
    python = sys.executable
    results = []
    for method, path in runs:
        results.append(measure(python, method, path, args.timeout))
        print(json.dumps(results[-1]), flush=True)
    if not args.skip_lifetimes:
        lt = lifetimes_python(args.lifetimes_python)
        if lt is None:
            results.append(
                {
                    "method": "lifetimes",
                    "file": "csv",
                    "error": "lifetimes not importable (pip install lifetimes)",
                }
            )
        else:
            results.append(measure(lt, "lifetimes", csv_path, args.timeout))
        print(json.dumps(results[-1]), flush=True)
    text = table(results, args.rows)
    print()
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("# Summary benchmark\n\n" + text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
