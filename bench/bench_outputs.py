"""Benchmark: writing a million customers' outputs, against plain pandas in the same run.

The tests check what ``write_outputs`` and ``write_action_lists`` write, never how
long they take (machines are shared); the speed lives here, as a ratio against
the reference of the same run:

* ``write_outputs`` (customers.csv, customers.parquet, customers.xlsx with action
  lists capped at 5,000 rows a sheet, model.json) against pandas ``to_csv`` +
  ``to_parquet`` of the same customer table (the least any writer must do);
* ``write_action_lists`` alone (the xlsx) against the same pandas reference.

Usage::

    python bench/bench_outputs.py               # 1,000,000 customers
    python bench/bench_outputs.py --customers 200000

The table is printed and written to ``bench/results/outputs.md``. Target: the
outputs within 4x the pandas reference.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from clvreport.config import ClientConfig
from clvreport.i18n import Translator
from clvreport.outputs import customer_table, write_action_lists, write_outputs
from clvreport.segments import default_segment_rules

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 4.0


def big_analysis(n: int, max_rows: int = 5000) -> SimpleNamespace:
    """A synthetic analysis of ``n`` customers with every column the outputs write."""
    rng = np.random.default_rng(11)
    codes = np.array(default_segment_rules().codes)
    p_alive = rng.uniform(0, 1, n)
    if_alive = rng.gamma(2.0, 100.0, n)
    clv = p_alive * if_alive
    ids = np.char.add("C", np.char.zfill(np.arange(n).astype(str), 9))
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "segment": codes[rng.integers(0, len(codes), n)],
            "n_purchases": rng.integers(1, 20, n),
            "revenue": rng.gamma(2.0, 200.0, n),
            "first_purchase": pd.Timestamp("2022-01-01")
            + pd.to_timedelta(rng.integers(0, 700, n), "D"),
            "last_purchase": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 365, n), "D"),
            "historic_clv": rng.gamma(2.0, 70.0, n),
            "p_alive": p_alive,
            "expected_purchases": rng.uniform(0, 4, n),
            "purchases_low": np.zeros(n),
            "purchases_high": rng.uniform(1, 8, n),
            "expected_spend": rng.gamma(3.0, 30.0, n),
            "clv": clv,
            "clv_low": 0.5 * clv,
            "clv_high": 2.0 * clv,
            "clv_if_alive": if_alive,
            "value_at_stake": (1 - p_alive) * if_alive,
        }
    )
    summary = pd.DataFrame(
        {
            "customer_id": ids,
            "frequency": rng.integers(0, 20, n).astype(float),
            "recency": rng.uniform(0, 150, n),
            "T": rng.uniform(0, 156, n),
            "monetary_value": rng.gamma(6.0, 10.0, n),
        }
    )
    config = ClientConfig.model_validate(
        {
            "name": "Groot B.V.",
            "data": {
                "sources": "orders.parquet",
                "columns": {"customer_id": "klant", "date": "datum", "amount": "bedrag"},
            },
            "xlsx_max_rows": max_rows,
        }
    )
    return SimpleNamespace(
        config=config,
        customers=customers,
        summary=summary,
        rules=default_segment_rules(),
        has_predictions=True,
        model=SimpleNamespace(to_dict=lambda: {"model_name": "bgnbd"}),
        calibration_end=None,
        as_of=dt.date(2024, 12, 31),
        figures=SimpleNamespace(as_dict=lambda: {}),
        holdout_coverage=None,
        base_value=None,
        revenue_last_year=0.0,
    )


def _best_of(repeats: int, run) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    analysis = big_analysis(args.customers)
    translator = Translator("nl", "EUR")
    table = customer_table(analysis)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        (out / "ours").mkdir()

        def reference() -> None:
            table.to_csv(out / "ref.csv", index=False)
            table.to_parquet(out / "ref.parquet", index=False)

        pandas_s = _best_of(args.repeats, reference)
        outputs_s = _best_of(
            args.repeats, lambda: write_outputs(analysis, out / "ours", translator)
        )
        lists_s = _best_of(
            args.repeats,
            lambda: write_action_lists(
                out / "lists.xlsx", analysis.customers, translator, max_rows=5000
            ),
        )
    rows = [
        ("write_outputs (csv, parquet, xlsx, model.json)", outputs_s),
        ("write_action_lists (xlsx only)", lists_s),
    ]
    lines = [
        "# Outputs benchmark: clvreport writers vs pandas to_csv + to_parquet",
        "",
        "Generated by `.venv/bin/python bench/bench_outputs.py`; see its docstring.",
        "",
        f"{args.customers:,} customers; pandas reference (to_csv + to_parquet of the same "
        f"table): {pandas_s:.1f} s (best of {args.repeats}).",
        "",
        "| writer | seconds | × pandas | target |",
        "|---|---:|---:|---|",
    ]
    for name, seconds in rows:
        ratio = seconds / pandas_s
        verdict = "pass" if ratio <= TARGET else f"FAIL (> {TARGET:g}×)"
        lines.append(f"| {name} | {seconds:.1f} | {ratio:.2f}× | {verdict} |")
    lines += [
        "",
        f"Python {platform.python_version()}, pandas {pd.__version__}; "
        f"{platform.machine()}; {dt.date.today().isoformat()}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "outputs.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
