"""Benchmark the discrete-time models against lifetimes: fit time and log-likelihood.

Run from the project root::

    .venv/bin/python bench/bench_discrete.py           # donors, 1M simulated donors (~3 min)
    .venv/bin/python bench/bench_discrete.py --quick   # skip lifetimes on 1M uncompressed rows
    .venv/bin/python bench/bench_discrete.py --full    # also lifetimes on 1M mixed cohorts

It prints a markdown table (``--out FILE`` also writes it).

What is compared
----------------
* BG/BB (:class:`clvreport.models.bgbb.BetaGeoBetaBinomModel`) against
  lifetimes' ``BetaGeoBetaBinomFitter``.
* Data: the 1995 donor cohort of Fader, Hardie & Shang (2010) (11,104 donors
  in 22 distinct ``(x, t_x, n)`` rows with counts;
  ``tests/data/donations/``), and 1M donors simulated from the donor
  estimates with ``n = 6`` opportunities, and with mixed cohorts ``n = 1..20``.
* Time: a complete fit (our checks and compression included), best of three
  for us; lifetimes best of three on the donors, one run otherwise. lifetimes
  does not compress customers itself, so on the simulated data it runs twice:
  on the 1M rows as given ("raw") and on the distinct rows with their counts
  as ``weights`` ("compressed", which its documentation recommends; the
  compression is not timed).
* Log-likelihood: both optima are scored by *our* log-likelihood on the same
  data; ``LL diff = LL ours - LL lifetimes`` (positive: ours is higher).

lifetimes (bench-only dependency)
---------------------------------
As in ``bench/bench_models.py``: installed in the project venv (``pip install
-e ".[bench]"``) it is imported; with ``LIFETIMES_PYTHON`` set to another
interpreter every lifetimes fit runs there (this script re-runs itself with
``--lifetimes-worker``, which needs only NumPy and lifetimes); without it the
table shows our times only.

sBG (shifted beta-geometric, contractual; :class:`clvreport.models.sbg.
ShiftedBetaGeometricModel`) is compared with pymc-marketing's
``ShiftedBetaGeoModel`` fitted by MAP with flat priors (= maximum likelihood):
lifetimes has no sBG fitter. pymc-marketing needs Python >= 3.12, so it runs
in its own venv named by ``PYMC_PYTHON``::

    ~/.pyenv/versions/3.12.1/bin/python -m venv /tmp/pymc-venv
    /tmp/pymc-venv/bin/pip install pymc-marketing
    PYMC_PYTHON=/tmp/pymc-venv/bin/python .venv/bin/python bench/bench_discrete.py

Without it the sBG rows show our fits only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DONORS = ROOT / "tests" / "data" / "donations" / "donations_1995_cohort.csv"
DONOR_PARAMS = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


# ---------------------------------------------------------------------------
# lifetimes side (must import nothing from clvreport: it may run in another venv)
# ---------------------------------------------------------------------------


def run_lifetimes(arrays: dict[str, np.ndarray], repeats: int) -> dict[str, Any]:
    """Fit lifetimes' BG/BB; return the best time, parameters and its own log-likelihood."""
    warnings.simplefilter("ignore")
    import lifetimes

    best, best_cpu, fitter = float("inf"), float("nan"), None
    weights = arrays.get("weights")
    for _ in range(repeats):
        fitter = lifetimes.BetaGeoBetaBinomFitter()
        start, cpu = time.perf_counter(), time.process_time()
        fitter.fit(arrays["frequency"], arrays["recency"], arrays["n_periods"], weights=weights)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        if wall < best:  # the CPU seconds of the fastest run
            best, best_cpu = wall, cpu
    total = float(len(arrays["frequency"]) if weights is None else np.sum(weights))
    return {
        "seconds": best,
        "cpu": best_cpu,
        "params": {k: float(v) for k, v in fitter.params_.items()},
        "own_log_likelihood": -float(fitter._negative_log_likelihood_) * total,
    }


def lifetimes_worker(argv: list[str]) -> None:
    """``--lifetimes-worker IN.npz OUT.json REPEATS``: one lifetimes fit in a subprocess."""
    data_path, out_path, repeats = argv
    with np.load(data_path) as data:
        arrays = {k: data[k] for k in data.files}
    Path(out_path).write_text(json.dumps(run_lifetimes(arrays, int(repeats))))


def lifetimes_available() -> str | None:
    """How lifetimes will run: ``"subprocess"``, ``"in-process"`` or ``None``."""
    if os.environ.get("LIFETIMES_PYTHON"):
        return "subprocess"
    try:
        import lifetimes  # noqa: F401
    except Exception:  # any import failure means "not available"
        return None
    return "in-process"


def fit_lifetimes(arrays: dict[str, np.ndarray], repeats: int, mode: str) -> dict[str, Any] | str:
    """Run lifetimes in-process or by subprocess; a string explains a failure."""
    try:
        if mode == "in-process":
            return run_lifetimes(arrays, repeats)
        with tempfile.TemporaryDirectory() as tmp:
            data_path, out_path = Path(tmp) / "data.npz", Path(tmp) / "out.json"
            np.savez(data_path, **arrays)
            command = [
                os.environ["LIFETIMES_PYTHON"],
                str(Path(__file__).resolve()),
                "--lifetimes-worker",
                str(data_path),
                str(out_path),
                str(repeats),
            ]
            subprocess.run(command, check=True, capture_output=True, text=True)
            return json.loads(out_path.read_text())
    except Exception as exc:  # report, don't stop the benchmark
        return f"failed: {type(exc).__name__}"


# ---------------------------------------------------------------------------
# our side
# ---------------------------------------------------------------------------


@dataclass
class Row:
    data: str
    model: str
    customers: int
    distinct: int
    ours_seconds: float
    ours_ll: float
    lifetimes_seconds: float | None = None
    lifetimes_ll: float | None = None
    note: str = ""
    # CPU seconds (this process, all threads) of the run whose wall time is quoted
    ours_cpu: float | None = None
    lifetimes_cpu: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.lifetimes_seconds is None:
            return None
        return self.lifetimes_seconds / self.ours_seconds

    @property
    def ll_difference(self) -> float | None:
        return None if self.lifetimes_ll is None else self.ours_ll - self.lifetimes_ll


def donor_arrays() -> dict[str, np.ndarray]:
    import pandas as pd

    table = pd.read_csv(DONORS)
    return {
        "frequency": table["frequency"].to_numpy(dtype=np.int64),
        "recency": table["recency"].to_numpy(dtype=np.int64),
        "n_periods": table["periods"].to_numpy(dtype=np.int64),
        "weights": table["donors"].to_numpy(dtype=np.int64),
    }


def simulated_arrays(n: int, periods: Any, seed: int) -> dict[str, np.ndarray]:
    from clvreport.models.bgbb import simulate_bgbb

    frame = simulate_bgbb(DONOR_PARAMS, n, periods, seed=seed)
    return {c: frame[c].to_numpy(dtype=np.int64) for c in ("frequency", "recency", "n_periods")}


def compressed(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from clvreport.models.discrete import compress_discrete

    data = compress_discrete(
        arrays["frequency"], arrays["recency"], arrays["n_periods"], arrays.get("weights")
    )
    return {
        "frequency": data.x.astype(np.int64),
        "recency": data.t_x.astype(np.int64),
        "n_periods": data.T.astype(np.int64),
        "weights": data.weight.astype(np.int64),
    }


def fit_ours(arrays: dict[str, np.ndarray], repeats: int = 3) -> tuple[float, float, Any]:
    """Our fit: wall seconds of the fastest of ``repeats`` runs, its CPU seconds, the model."""
    from clvreport.models.bgbb import BetaGeoBetaBinomModel

    best, best_cpu, fitted = float("inf"), float("nan"), None
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        fitted = BetaGeoBetaBinomModel().fit(
            arrays["frequency"], arrays["recency"], arrays["n_periods"], arrays.get("weights")
        )
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        if wall < best:
            best, best_cpu = wall, cpu
    return best, best_cpu, fitted


def our_log_likelihood(params: dict[str, float], arrays: dict[str, np.ndarray]) -> float:
    from clvreport.models.bgbb import BetaGeoBetaBinomModel

    data = compressed(arrays)
    model = BetaGeoBetaBinomModel.from_params(params)
    ll = model.log_likelihood(data["frequency"], data["recency"], data["n_periods"])
    return float(np.asarray(ll) @ data["weights"])


def bench_bgbb(
    label: str, arrays: dict[str, np.ndarray], mode: str | None, *, raw: bool, raw_note: str = ""
) -> list[Row]:
    """Our fit, then lifetimes on the rows as given (``raw``) and on the compressed rows."""
    seconds, cpu, fitted = fit_ours(arrays)
    n = int(np.sum(arrays["weights"])) if "weights" in arrays else len(arrays["frequency"])
    distinct = len(compressed(arrays)["frequency"])
    base = Row(label, "BG/BB", n, distinct, seconds, fitted.log_likelihood_)
    base.ours_cpu = cpu
    if not fitted.converged_:
        base.note = f"ours not converged: {fitted.diagnostics_.message}"
    if mode is None:
        base.note = base.note or "lifetimes not installed"
        print(format_row(base), flush=True)
        return [base]
    variants: list[tuple[str, dict[str, np.ndarray] | None, str]] = []
    if "weights" in arrays:  # already distinct rows with counts (the donor table)
        variants.append(("", arrays, ""))
    else:
        variants.append(("raw rows", arrays if raw else None, raw_note))
        variants.append(("compressed rows", compressed(arrays), ""))
    rows = []
    for what, data, skip_note in variants:
        row = Row(**{**base.__dict__, "note": base.note})
        if what:
            row.data = f"{label}; lifetimes on {what}"
        if data is None:
            row.note = skip_note
        else:
            repeats = 3 if len(data["frequency"]) < 10_000 else 1
            result = fit_lifetimes(data, repeats, mode)
            if isinstance(result, str):
                row.note = f"lifetimes {result}"
            else:
                row.lifetimes_seconds = result["seconds"]
                row.lifetimes_cpu = result.get("cpu")
                row.lifetimes_ll = our_log_likelihood(result["params"], arrays)
                own = result["own_log_likelihood"]
                if abs(own - row.lifetimes_ll) > 1e-6 * abs(row.lifetimes_ll):
                    row.note = f"lifetimes reports LL {own:.3f}"
        print(format_row(row), flush=True)
        rows.append(row)
    return rows


SURVIVAL = ROOT / "tests" / "data" / "subscriptions" / "sbg_survival.csv"
PYMC_HEADER = (
    "| data | model | customers | ours (s) | pymc-marketing MAP (s) | ratio "
    "| LL ours | LL pymc-marketing | LL diff | note |"
)
PYMC_RULE = "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"


def pymc_worker(argv: list[str]) -> None:
    """Fit pymc-marketing's ShiftedBetaGeoModel by MAP in this interpreter (``--pymc-worker``).

    Reads ``recency, T, cohort`` from an ``.npz`` file, writes ``{"seconds", "params"}`` as
    JSON. Flat priors, so the MAP estimate is the maximum-likelihood one.
    """
    import pandas as pd
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import ShiftedBetaGeoModel

    source, target = argv
    arrays = np.load(source)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(arrays["recency"].size),
            "recency": arrays["recency"].astype(int),
            "T": arrays["T"].astype(int),
            "cohort": arrays["cohort"].astype(str),
        }
    )
    config = {
        "alpha": Prior("HalfFlat", dims="cohort"),
        "beta": Prior("HalfFlat", dims="cohort"),
    }
    start = time.perf_counter()
    model = ShiftedBetaGeoModel(model_config=config)
    model.fit(data=frame, method="map", progressbar=False)
    seconds = time.perf_counter() - start
    posterior = model.idata.posterior
    cohorts = [str(c) for c in posterior["cohort"].values]
    params = {
        c: {
            "alpha": float(posterior["alpha"].sel(cohort=c).values.ravel()[0]),
            "beta": float(posterior["beta"].sel(cohort=c).values.ravel()[0]),
        }
        for c in cohorts
    }
    Path(target).write_text(json.dumps({"seconds": seconds, "params": params}))


def fit_pymc(renewals: np.ndarray, active: np.ndarray, cohort: np.ndarray) -> dict | str:
    """pymc-marketing's MAP fit in ``PYMC_PYTHON`` (a Python >= 3.12 venv), or why not."""
    python = os.environ.get("PYMC_PYTHON")
    if not python:
        return "PYMC_PYTHON not set"
    # ours: a churned customer paid renewals + 1 periods (pymc's recency < T); an active
    # one paid at least that many (recency = T, censored)
    horizon = {c: int(renewals[cohort == c].max()) + 1 for c in np.unique(cohort)}
    T = np.array([horizon[c] for c in cohort])
    recency = np.where(active, T, renewals + 1)
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.npz", Path(folder) / "out.json"
        np.savez(source, recency=recency, T=T, cohort=cohort)
        done = subprocess.run(
            [python, __file__, "--pymc-worker", str(source), str(target)],
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if done.returncode != 0:
            return "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:120]
        return json.loads(target.read_text())


def _sbg_ll(params: dict[str, float], renewals: np.ndarray, active: np.ndarray) -> float:
    from clvreport.models.sbg import ShiftedBetaGeometricModel, renewal_data

    model = ShiftedBetaGeometricModel.from_params(params)
    data = renewal_data(renewals, active)
    value, _ = model._objective(data)(np.log([params["alpha"], params["beta"]]))
    return -float(value) * data.n_customers


def _reference_cohorts() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fader & Hardie's two cohorts (years 0-7) as per-customer renewals and activity."""
    import pandas as pd

    table = pd.read_csv(SURVIVAL)
    renewals, active, cohort = [], [], []
    for name in ("regular", "high_end"):
        alive = table[name].to_numpy()
        for year in range(1, alive.size):
            lost = int(alive[year - 1] - alive[year])
            renewals += [year - 1] * lost
            active += [False] * lost
            cohort += [name] * lost
        renewals += [alive.size - 1] * int(alive[-1])
        active += [True] * int(alive[-1])
        cohort += [name] * int(alive[-1])
    return np.array(renewals, float), np.array(active), np.array(cohort)


def _simulated_cohort(n: int, periods: int, seed: int) -> tuple[np.ndarray, ...]:
    """``n`` customers of one cohort from sBG (alpha 0.704, beta 1.182), watched ``periods``."""
    rng = np.random.default_rng(seed)
    theta = rng.beta(0.704, 1.182, n)
    lifetime = rng.geometric(theta)  # periods paid
    active = lifetime > periods
    renewals = np.where(active, periods, lifetime - 1).astype(float)
    return renewals, active, np.full(n, "sim")


def bench_sbg(mode: str | None) -> list[str]:
    """sBG fits, ours against pymc-marketing's MAP (lifetimes has no sBG fitter).

    Both cohorts of Fader & Hardie (2007) fitted one by one (ours) and in one
    two-cohort model (pymc-marketing), and one simulated cohort of 1M
    customers watched for 24 periods.
    """
    from clvreport.models.sbg import ShiftedBetaGeometricModel

    del mode
    cases = [("F&H 2007, 2 cohorts", *_reference_cohorts())]
    cases.append(("sim 1M, 24 periods", *_simulated_cohort(1_000_000, 24, seed=4)))
    lines = ["", PYMC_HEADER, PYMC_RULE]
    for name, renewals, active, cohort in cases:
        start = time.perf_counter()
        ours = {
            c: ShiftedBetaGeometricModel().fit_customers(renewals[cohort == c], active[cohort == c])
            for c in np.unique(cohort)
        }
        seconds = time.perf_counter() - start
        ll_ours = sum(
            _sbg_ll(m.params_, renewals[cohort == c], active[cohort == c]) for c, m in ours.items()
        )
        pymc = fit_pymc(renewals, active, cohort)
        if isinstance(pymc, str):
            cells = ["–", "–", "–", "–", pymc]
        else:
            ll_pymc = sum(
                _sbg_ll(pymc["params"][c], renewals[cohort == c], active[cohort == c]) for c in ours
            )
            cells = [
                f"{pymc['seconds']:.2f}",
                f"{pymc['seconds'] / seconds:,.0f}×",
                f"{ll_pymc:,.3f}",
                f"{ll_ours - ll_pymc:.2e}",
                "; ".join(
                    f"{c}: α {p['alpha']:.4f} β {p['beta']:.4f}" for c, p in pymc["params"].items()
                ),
            ]
        params = "; ".join(
            f"{c}: α {m.params_['alpha']:.4f} β {m.params_['beta']:.4f}" for c, m in ours.items()
        )
        line = (
            f"| {name} | sBG | {renewals.size:,} | {seconds:.4f} | {cells[0]} | {cells[1]} "
            f"| {ll_ours:,.3f} | {cells[2]} | {cells[3]} | ours {params}; pymc {cells[4]} |"
        )
        lines.append(line)
    return lines


# ---------------------------------------------------------------------------
# table
# ---------------------------------------------------------------------------

HEADER = (
    "| data | model | customers | distinct rows | ours (s) | ours CPU (s) | lifetimes (s) "
    "| lifetimes CPU (s) | ratio | LL ours | LL lifetimes | LL diff | note |"
)
RULE = "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def format_row(row: Row) -> str:
    return (
        f"| {row.data} | {row.model} | {row.customers:,} | {row.distinct:,} "
        f"| {row.ours_seconds:.4f} | {_num(row.ours_cpu, '.4f')} "
        f"| {_num(row.lifetimes_seconds, '.3f')} | {_num(row.lifetimes_cpu, '.3f')} "
        f"| {_num(row.ratio, ',.1f')}{'×' if row.ratio is not None else ''} "
        f"| {row.ours_ll:,.3f} | {_num(row.lifetimes_ll, ',.3f')} "
        f"| {_num(row.ll_difference, '.2e')} | {row.note} |"
    )


def environment(mode: str | None) -> str:
    import pandas
    import scipy

    version = "not installed"
    if mode == "subprocess":
        version = "subprocess " + os.environ["LIFETIMES_PYTHON"]
    elif mode == "in-process":
        import lifetimes

        version = lifetimes.__version__
    return (
        f"Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
        f"pandas {pandas.__version__}, lifetimes {version}; {os.cpu_count()} CPUs, "
        f"{platform.machine()}; {time.strftime('%Y-%m-%d')}"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--lifetimes-worker":
        lifetimes_worker(sys.argv[2:])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--pymc-worker":
        pymc_worker(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip lifetimes on 1M raw rows")
    parser.add_argument("--full", action="store_true", help="also lifetimes on raw mixed cohorts")
    parser.add_argument("--skip-lifetimes", action="store_true", help="time our fits only")
    parser.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    mode = None if args.skip_lifetimes else lifetimes_available()

    print(HEADER)
    print(RULE)
    rows: list[Row] = []
    rows += bench_bgbb("donors 1995", donor_arrays(), mode, raw=True)
    six = simulated_arrays(1_000_000, 6, seed=1)
    rows += bench_bgbb("sim 1M, n = 6", six, mode, raw=not args.quick, raw_note="skipped (--quick)")
    cohorts = np.random.default_rng(2).integers(1, 21, 1_000_000)
    mixed = simulated_arrays(1_000_000, cohorts, seed=3)
    rows += bench_bgbb(
        "sim 1M, n = 1..20",
        mixed,
        mode,
        raw=args.full,
        raw_note="skipped (minutes; --full runs it)",
    )
    sbg = bench_sbg(mode)
    for line in sbg:
        print(line)

    lines = [
        "# Discrete-time models: clvreport.models vs lifetimes",
        "",
        "Generated by `.venv/bin/python bench/bench_discrete.py`; see its docstring.",
        "",
        HEADER,
        RULE,
        *(format_row(r) for r in rows),
        *sbg,
        "",
        "Times: a full fit (ours from the arrays, compression included: best of 3; lifetimes: "
        "best of 3 on the donors, one run otherwise), in wall seconds, with the CPU seconds of "
        "that run (the process, all threads) beside them; the sBG table: wall only. "
        "*ratio* = lifetimes / ours (wall). *LL diff* = "
        "LL ours − LL lifetimes, both optima scored by our log-likelihood on the same data.",
        "",
        environment(mode) + ".",
        "",
    ]
    print()
    print(environment(mode))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines), encoding="utf-8")
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
