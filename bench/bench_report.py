"""Whole-report benchmark: 1M and 10M (100M with ``--full``) transactions → PDF + HTML + outputs.

The transactions come from the scale benchmark's simulator
(:func:`bench_scale.generate`: heterogeneous BG/NBD rates and dropout,
Gamma-Gamma spend; Parquet under ``bench/data/``, not committed). For each
size a temporary client folder is made with a ``client.yml`` reading that
Parquet file, and ``clvreport report`` runs end to end
(:func:`clvreport.render.render_report`) in a fresh interpreter, so sizes do
not share memory. Recorded per step:

* the pipeline steps of :func:`~clvreport.render.render_report` (validate
  config, execute notebook, render, publish) with their time and peak resident
  memory of the process tree (:class:`clvreport.monitor.PeakMemory`, the
  notebook kernel and the renderers included), as ``clvreport report`` prints
  them;
* inside the notebook, each cell's time (papermill's ``duration``): setup
  (ingest + analysis), every report section, and ``finish`` (customers.csv,
  .parquet, .xlsx, model.json). Their peak memory is the notebook step's.
* the CPU seconds of the whole report (the process and the notebook kernel and
  renderers it waited for), beside its wall time;
* the **floor**, what any report of these data must do, in a fresh interpreter
  of its own: the engine's scan and the per-customer summary
  (:func:`clvreport.ingest.load_transactions`, :func:`clvreport.rfm.rfm_summary`)
  and one BG/NBD fit on its distinct histories, plus the report's own render
  step; and the whole report's CPU as a multiple of the floor's (issue 29: within
  5x at 10M transactions).

Usage::

    python bench/bench_report.py                    # 1M and 10M, DuckDB
    python bench/bench_report.py --sizes 1000000    # one size
    python bench/bench_report.py --full             # 1M, 10M and 100M (as make bench)
    python bench/bench_report.py --sizes 6000000 --out bench/results/report_1m_customers.md
                                                    # one million customers (issue 28)
    python bench/bench_report.py --engines spark --out bench/results/report_spark.md

Targets on the development machine (2 cores, 24 GiB): 10M transactions ≤ 120 s and
≤ 4 GiB peak; 100M ≤ 10 minutes and ≤ 16 GiB (issue 29). The table is printed and written to
``bench/results/report.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_scale import generate, machine  # noqa: E402
from bench_summary import DATA, RESULTS  # noqa: E402

SIZES = [1_000_000, 10_000_000]
FULL_SIZES = [*SIZES, 100_000_000]
CLIENT = "bench"
CLIENT_YML = """\
name: "Benchmark {rows:,} transactions"
language: {language}
currency: EUR
time_unit: weeks
horizon_months: 12
holdout_months: 6
gross_margin: 0.35
engine: {engine}
duckdb:
  memory_limit: {memory_limit}
data:
  sources:
    - transactions.parquet
  format: parquet
  columns:
    customer_id: customer_id
    date: order_date
    amount: amount
"""
BRAND_YML = "meta:\n  name: Benchmark\n"


def memory_limit(rows: int) -> str:
    """DuckDB's memory limit for the benchmark client: the default up to 10M rows, 8GB above.

    The default 512MB spills large joins and aggregates to disk; at 100M transactions
    (17M customers) every aggregate by customer spills, so the client raises it in
    client.yml (``duckdb.memory_limit``), as a real client of that size on a machine
    of 24 GiB would: DuckDB's work ends before the customers are scored (the engine
    is closed then), so its memory and the scoring's do not add up. 8GB instead of
    4GB took a third off the summary's time at 100M transactions.
    ``BENCH_MEMORY_LIMIT`` (e.g. ``2GB``) sets it for every size instead.
    """
    return os.environ.get("BENCH_MEMORY_LIMIT") or ("512MB" if rows <= 10_000_000 else "8GB")


def make_client(root: Path, parquet: Path, rows: int, engine: str, language: str) -> Path:
    """A client folder ``root/bench`` reading ``parquet`` (hard link or copy); returns ``root``."""
    folder = root / CLIENT
    folder.mkdir(parents=True)
    # a hard link (or a copy): the ingest refuses files linked from outside the client folder
    try:
        os.link(parquet.resolve(), folder / "transactions.parquet")
    except OSError:
        shutil.copyfile(parquet, folder / "transactions.parquet")
    (folder / "client.yml").write_text(
        CLIENT_YML.format(
            rows=rows, engine=engine, language=language, memory_limit=memory_limit(rows)
        ),
        encoding="utf-8",
    )
    (folder / "_brand.yml").write_text(BRAND_YML, encoding="utf-8")
    return root


def _cell_label(cell: dict) -> str:
    """A notebook cell's name: its ``#| label:``, else the report function it calls."""
    source = "".join(cell.get("source", ""))
    for line in source.splitlines():
        if line.startswith("#| label:"):
            return line.split(":", 1)[1].strip()
    for name in ("setup", "finish"):
        if f"report.{name}(" in source:
            return name
    tags = cell.get("metadata", {}).get("tags", [])
    return "parameters" if {"parameters", "injected-parameters"} & set(tags) else "cell"


def cell_times(notebook: Path) -> list[tuple[str, float]]:
    """(label, seconds) of every code cell of an executed notebook (papermill's durations)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        duration = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if duration is not None:
            out.append((_cell_label(cell), float(duration)))
    return out


def cpu_seconds() -> float:
    """CPU seconds of this process and of the children it has waited for (user + system)."""
    import resource

    own, children = (
        resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_floor(data_dir: str) -> dict:
    """The floor in this process: scan + summary, one BG/NBD fit; wall and CPU seconds each."""
    from clvreport.config import load_client
    from clvreport.ingest import load_transactions
    from clvreport.models import BetaGeoModel
    from clvreport.rfm import rfm_summary

    client_dir, config = load_client(CLIENT, data_dir)
    wall, cpu = time.perf_counter(), cpu_seconds()
    with load_transactions(config, client_dir) as transactions:
        summary = rfm_summary(
            transactions, calibration_end=transactions.as_of, time_unit=config.time_unit
        )
    scan = (time.perf_counter() - wall, cpu_seconds() - cpu)
    wall, cpu = time.perf_counter(), cpu_seconds()
    BetaGeoModel(time_unit=config.time_unit).fit(summary)
    fit = (time.perf_counter() - wall, cpu_seconds() - cpu)
    return {"scan + summary": scan, "one BG/NBD fit": fit, "customers": len(summary)}


def run_child(data_dir: str, out_dir: str, formats: str) -> dict:
    """Render the bench client once in this process; steps, peaks and cell times."""
    from clvreport.render import render_report

    start, cpu = time.perf_counter(), cpu_seconds()
    result = render_report(CLIENT, data_dir=data_dir, out_dir=out_dir, formats=formats)
    wall = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    notebooks = [p for p in result.files if p.suffix == ".ipynb"]
    if not notebooks:
        notebooks = sorted(Path(result.folder).rglob("*.ipynb"))
    sizes = {p.name: p.stat().st_size for p in result.files if p.name.startswith("customers.")}
    model = json.loads((Path(result.folder) / "model.json").read_text(encoding="utf-8"))
    return {
        "steps": [
            {"step": name, "seconds": seconds, "peak_mib": result.peak_mib.get(name)}
            for name, seconds in result.steps.items()
        ],
        "cells": cell_times(notebooks[0]) if notebooks else [],
        "wall": wall,
        "cpu": cpu,
        "customers": model.get("historic", {}).get("n_customers"),
        "transactions": model.get("historic", {}).get("n_purchases"),
        "model": model.get("model"),
        "file_mib": {name: size / 2**20 for name, size in sizes.items()},
    }


def _run(cmd: list[str], timeout: float) -> dict:
    """A child interpreter's JSON result (its last line), or ``{"error": ...}``."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"error": f"timeout after {timeout:.0f} s"}
    if proc.returncode != 0:
        lines = [line for line in err.strip().splitlines() if line.strip()]
        return {"error": lines[-1] if lines else f"exit {proc.returncode}"}
    return json.loads(out.strip().splitlines()[-1])


def measure(parquet: Path, rows: int, engine: str, language: str, formats: str, timeout: float):
    """One report and its floor, each in a fresh interpreter; the result (or ``{"error": ...}``)."""
    with tempfile.TemporaryDirectory(prefix="clv-report-bench-") as tmp:
        root = make_client(Path(tmp) / "data", parquet, rows, engine, language)
        me = [sys.executable, str(Path(__file__).resolve())]
        result = _run([*me, "--child", str(root), str(Path(tmp) / "output"), formats], timeout)
        if "error" not in result and engine == "duckdb":
            result["floor"] = _run([*me, "--floor", str(root)], timeout)
    return result


def _column_name(row: dict) -> str:
    """``duckdb 100,000,000, memory_limit 4GB``: the engine, the size and a raised limit."""
    name = f"{row['engine']} {row['rows']:,}"
    limit = memory_limit(row["rows"])
    if row["engine"] == "duckdb" and limit != memory_limit(0):
        name += f", memory_limit {limit}"
    return name


def table(rows: list[dict]) -> str:
    """Markdown: one column per (engine, size); rows are the steps and notebook cells."""
    done = [r for r in rows if "error" not in r]
    head = ["step"] + [f"{_column_name(r)} (s / peak MiB)" for r in done]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def cell(seconds: float | None, peak: float | None = None) -> str:
        if seconds is None:
            return "–"
        return f"{seconds:.1f}" + (f" / {peak:,.0f}" if peak is not None else "")

    info = [
        ("purchases", lambda r: f"{r.get('transactions') or 0:,}"),
        ("customers", lambda r: f"{r.get('customers') or 0:,}"),
        ("model", lambda r: str(r.get("model"))),
    ]
    for label, get in info:
        lines.append(f"| {label} | " + " | ".join(get(r) for r in done) + " |")
    steps = list(dict.fromkeys(s["step"] for r in done for s in r["steps"]))
    for step in steps:
        values = []
        for r in done:
            found = next((s for s in r["steps"] if s["step"] == step), None)
            values.append(cell(found["seconds"], found["peak_mib"]) if found else "–")
        lines.append(f"| {step} | " + " | ".join(values) + " |")
        if step == "execute notebook":
            labels = list(dict.fromkeys(c[0] for r in done for c in r["cells"]))
            for label in labels:
                if label == "parameters":
                    continue
                values = [cell(dict(r["cells"]).get(label)) for r in done]
                lines.append(f"| &nbsp;&nbsp;cell `{label}` | " + " | ".join(values) + " |")
    totals = [cell(r["wall"], max((s["peak_mib"] or 0) for s in r["steps"])) for r in done]
    lines.append("| **end to end** | " + " | ".join(totals) + " |")
    lines.append("| **end to end, CPU s** | " + " | ".join(cell(r.get("cpu")) for r in done) + " |")
    lines.extend(_floor_lines(done))
    for name in ("customers.csv", "customers.parquet", "customers.xlsx"):
        values = [f"{r['file_mib'].get(name, 0):,.1f} MiB" for r in done]
        lines.append(f"| {name} size | " + " | ".join(values) + " |")
    for r in rows:
        if "error" in r:
            lines.append(f"\n{r['engine']} {r['rows']:,}: **failed**: {r['error']}")
    return "\n".join(lines)


def _floor_lines(done: list[dict]) -> list[str]:
    """The floor's rows (wall / CPU seconds) and the report's CPU as a multiple of it."""

    def render(r: dict) -> float | None:
        return next((s["seconds"] for s in r["steps"] if s["step"].startswith("render")), None)

    def floor_cpu(r: dict) -> float | None:
        floor = r.get("floor") or {}
        if "error" in floor or not floor or render(r) is None:
            return None
        # the render step is mostly its own subprocesses (Typst, Chromium): wall as CPU
        return floor["scan + summary"][1] + floor["one BG/NBD fit"][1] + render(r)

    def pair(r: dict, key: str) -> str:
        value = (r.get("floor") or {}).get(key)
        return "–" if not value else f"{value[0]:.1f} / {value[1]:.1f} CPU"

    lines = []
    for key in ("scan + summary", "one BG/NBD fit"):
        lines.append(f"| floor: {key} | " + " | ".join(pair(r, key) for r in done) + " |")
    renders = [("–" if render(r) is None else f"{render(r):.1f}") for r in done]
    lines.append("| floor: the report's render | " + " | ".join(renders) + " |")
    floors = [floor_cpu(r) for r in done]
    lines.append(
        "| **floor, CPU s** | "
        + " | ".join("–" if f is None else f"{f:.1f}" for f in floors)
        + " |"
    )
    ratios = [
        "–" if f is None or r.get("cpu") is None else f"{r['cpu'] / f:.1f}×"
        for r, f in zip(done, floors, strict=True)
    ]
    lines.append("| **report / floor (CPU)** | " + " | ".join(ratios) + " |")
    return lines


def main() -> None:
    """Parse arguments, generate the data, render each size, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=None)
    parser.add_argument("--full", action="store_true", help="also 100M transactions")
    parser.add_argument("--engines", default="duckdb", help="duckdb and/or spark")
    parser.add_argument("--language", default="en")
    parser.add_argument("--formats", default="pdf,html")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--out", type=Path, default=RESULTS / "report.md")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--floor", nargs=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        print(json.dumps(run_floor(args.floor[0])))
        return
    if args.child:
        data_dir, out_dir, formats = args.child
        print(json.dumps(run_child(data_dir, out_dir, formats)))
        return
    sizes = args.sizes or (FULL_SIZES if args.full else SIZES)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    results = []
    for rows in sizes:
        t0 = time.perf_counter()
        parquet = generate(rows, DATA)
        print(f"data: {parquet.name} in {time.perf_counter() - t0:.0f} s", flush=True)
        for engine in engines:
            result = measure(parquet, rows, engine, args.language, args.formats, args.timeout)
            row = {"engine": engine, "rows": rows, **result}
            results.append(row)
            print(json.dumps(row), flush=True)
    text = (
        "# Whole-report benchmark\n\n"
        f"Generated by `bench/bench_report.py` on {machine()}, "
        f"formats {args.formats}, language {args.language}.\n\n"
        + table(results)
        + "\n\nPeak memory is the resident memory of the process tree (notebook kernel and "
        "renderers included), sampled every 50 ms per pipeline step; notebook cells are "
        "timed by papermill and share the notebook step's peak. A column marked "
        "`memory_limit` ran with that `duckdb.memory_limit` in the benchmark client "
        "(`memory_limit()` in bench_report.py).\n"
    )
    print()
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
