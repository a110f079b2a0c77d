"""Benchmark clvreport.models against lifetimes and pymc-marketing: fit time and log-likelihood.

Run from the project root::

    .venv/bin/python bench/bench_models.py            # CDNOW, 100k and 1M customers
    .venv/bin/python bench/bench_models.py --quick    # CDNOW and 100k only
    .venv/bin/python bench/bench_models.py --full     # also lifetimes' Pareto/NBD at 1M (minutes)
    .venv/bin/python bench/bench_models.py --boundaries  # only the Pareto/NBD boundary table

It prints a markdown table and writes it to ``bench/results/models.md``
(``--boundaries`` replaces only that file's boundary section).


What is compared
----------------
* Data: the CDNOW sample (2,357 customers, 39-week calibration; needs
  ``tests/data/cdnow_sample.txt``) and customers simulated from BG/NBD and
  Pareto/NBD with CDNOW-like parameters, ages of 26-52 weeks recorded in whole
  days (``clvreport.models.simulate``). Three Pareto/NBD logs have the shape of
  the real logs that were slow: time in days, several years, low dropout
  (``beta / alpha = 100``) and nearly every customer a distinct history --
  600 customers over 5 years, 4,300 over 2 years, and 600 over 5 years with
  one common dropout rate (whose likelihood rises towards ``s, beta -> inf``).
* Time: a complete fit from the three summary arrays (our validation and
  compression included), best of three runs for us; lifetimes best of three
  below 10,000 customers (CDNOW and the daily logs) and a single run on larger
  data, once on the raw rows and once on the distinct rows we fit on with their
  counts as its ``weights`` (*lifetimes weighted*: the same work for both).
* Log-likelihood: both optima are scored with *our* log-likelihood function on
  the same data, so the relative difference ``(LL_ours - LL_lifetimes) /
  |LL_ours|`` compares the points the optimisers found (positive: ours is
  higher). lifetimes' own reported value, converted from its rescaled time
  axis, is checked to agree with that score. A row passes when our optimum
  is not lower than lifetimes' by more than 1e-6 relative (where it is
  higher, lifetimes stopped short, which the note says).
* Targets (issue 4): BG/NBD at 1M customers >= 20x faster, Pareto/NBD at 100k
  >= 25x faster, our log-likelihood not lower by more than 1e-6 relative;
  Pareto/NBD on the daily logs at least as fast as lifetimes and under a second.
* pymc-marketing (issue 29): every row is also fitted by pymc-marketing's model
  of the same name (``BetaGeoModel``, ``ModifiedBetaGeoModel``, ``ParetoNBDModel``,
  ``GammaGammaModel``) with ``HalfFlat`` priors on all parameters and
  ``fit(method="map")``: ``find_MAP`` without the Jacobian, so with flat priors
  its MAP is the maximum-likelihood point and its log-likelihood is comparable.
  It gets one row per customer (it has no weights) and the same timing rule as
  lifetimes, after one untimed warm-up fit on 200 customers (a fresh process
  pays imports and graph compilation once). Its optimum is scored by our
  log-likelihood like lifetimes'; a row also passes only if ours is not lower
  than pymc-marketing's by more than 1e-6 relative, and the note says when
  pymc-marketing's is lower. Its fits on one row are stopped after 120 s
  (subprocess timeout): the row keeps the best of the fits that finished, or is
  skipped, with a note. pymc-marketing 1.3.0 crashes (SIGSEGV in the compiled
  Pareto/NBD log-likelihood) on the daily logs in days; a crashed fit is rerun
  once on time / 7 (weeks), its ``alpha``, ``beta`` converted back, noted.
* Boundaries (issue 29): Pareto/NBD on customers simulated at each limit of the
  model (no dropout heterogeneity, no rate heterogeneity, both) of 1,000 and
  100,000 customers, each fit under 2 s of CPU (``bench_boundaries``).

lifetimes (bench-only dependency)
---------------------------------
lifetimes is archived (last release 0.11.3, 2020) and is not a project
dependency. Install it into the project venv for the benchmark::

    .venv/bin/pip install -e ".[bench]"   # what `make bench` does: lifetimes + setuptools

Its fitters work with pandas 3 as of this writing. If an update breaks that,
keep it out of the project venv and let this script call it by subprocess::

    python3 -m venv /tmp/lifetimes-venv
    /tmp/lifetimes-venv/bin/pip install lifetimes "pandas<3" setuptools
    LIFETIMES_PYTHON=/tmp/lifetimes-venv/bin/python .venv/bin/python bench/bench_models.py

With ``LIFETIMES_PYTHON`` set, every lifetimes fit runs in that interpreter:
the script passes the data as an ``.npz`` file and re-runs itself with
``--lifetimes-worker`` (which needs only NumPy and lifetimes). Without
lifetimes at all the table shows our times only.

pymc-marketing (bench-only, separate venv)
------------------------------------------
pymc-marketing needs Python >= 3.12 and is never imported by this process: as
in ``bench/bench_discrete.py`` it runs in its own venv named by ``PYMC_PYTHON``,
and this script re-runs itself there with ``--pymc-worker`` (which imports
nothing from clvreport; it needs NumPy, pandas and pymc-marketing)::

    ~/.pyenv/versions/3.12.1/bin/python -m venv /tmp/pymc-venv
    /tmp/pymc-venv/bin/pip install pymc-marketing
    PYMC_PYTHON=/tmp/pymc-venv/bin/python .venv/bin/python bench/bench_models.py --quick

Without ``PYMC_PYTHON`` (or with ``--skip-pymc``) its columns show "–" and the
text under the table says pymc-marketing was not set up.

The machine is shared, so absolute times vary by a few tens of percent between
runs; the ratios are what the targets are about.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
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
RESULTS = ROOT / "bench" / "results" / "models.md"
CDNOW = ROOT / "tests" / "data" / "cdnow_sample.txt"

LIFETIMES_CLASSES = {
    "bgnbd": "BetaGeoFitter",
    "mbgnbd": "ModifiedBetaGeoFitter",
    "pnbd": "ParetoNBDFitter",
    "gamma_gamma": "GammaGammaFitter",
}
TARGETS = {
    ("bgnbd", 1_000_000): 20.0,
    ("pnbd", 100_000): 25.0,
    ("pnbd", 600): 1.0,  # the daily logs: at least as fast as lifetimes (and under 1 s)
    ("pnbd", 4_300): 1.0,
}
LL_TOLERANCE = 1e-6


# ---------------------------------------------------------------------------
# lifetimes side (must import nothing from clvreport: it may run in another venv)
# ---------------------------------------------------------------------------


def run_lifetimes(model: str, arrays: dict[str, np.ndarray], repeats: int) -> dict[str, Any]:
    """Fit a lifetimes model; return time, parameters and its log-likelihood in our units."""
    warnings.simplefilter("ignore")
    import lifetimes

    fitter_class = getattr(lifetimes, LIFETIMES_CLASSES[model])
    best, best_cpu = float("inf"), float("nan")
    fitter = None
    weights = {"weights": arrays["weights"]} if "weights" in arrays else {}
    for _ in range(repeats):
        fitter = fitter_class()
        start, cpu = time.perf_counter(), time.process_time()
        if model == "gamma_gamma":
            fitter.fit(arrays["frequency"], arrays["monetary_value"], **weights)
        else:
            fitter.fit(arrays["frequency"], arrays["recency"], arrays["T"], **weights)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        if wall < best:  # the CPU seconds of the fastest run
            best, best_cpu = wall, cpu
    names = {"v": "gamma"}  # lifetimes calls Gamma-Gamma's scale rate v
    params = {names.get(k, k): float(v) for k, v in fitter.params_.items()}
    nll = float(fitter._negative_log_likelihood_)
    n = len(arrays["frequency"])
    if weights:  # its own value is scaled by the weights; ours scores its optimum instead
        own = None
    elif model == "gamma_gamma":
        own = -nll * n
    elif model == "pnbd":  # sum over customers divided by mean weight (1); time scaled to max T = 1
        own = -nll + arrays["frequency"].sum() * np.log(fitter._scale)
    else:  # mean over customers; time scaled to max T = 1
        own = -nll * n + arrays["frequency"].sum() * np.log(fitter._scale)
    return {"seconds": best, "cpu": best_cpu, "params": params, "own_log_likelihood": own}


def compressed_rows(model: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The distinct rows with their counts as ``weights`` (lifetimes' own compression).

    What clvreport fits on (:func:`clvreport.models.compress_rfm`), given to
    lifetimes too, so the comparison is of the fitting code on the same rows.
    NumPy only (may run in lifetimes' interpreter).
    """
    columns = (
        ["frequency", "monetary_value"] if model == "gamma_gamma" else ["frequency", "recency", "T"]
    )
    stacked = np.column_stack([arrays[c] for c in columns])
    rows, counts = np.unique(stacked, axis=0, return_counts=True)
    out = {c: rows[:, i] for i, c in enumerate(columns)}
    out["weights"] = counts.astype(float)
    return out


def lifetimes_worker(argv: list[str]) -> None:
    """``--lifetimes-worker MODEL IN.npz OUT.json REPEATS``: one lifetimes fit in a subprocess."""
    model, data_path, out_path, repeats = argv
    with np.load(data_path) as data:
        arrays = {k: data[k] for k in data.files}
    result = run_lifetimes(model, arrays, int(repeats))
    Path(out_path).write_text(json.dumps(result))


def lifetimes_available() -> str | None:
    """How lifetimes will run: ``"subprocess"``, ``"in-process"`` or ``None``."""
    if os.environ.get("LIFETIMES_PYTHON"):
        return "subprocess"
    try:
        import lifetimes  # noqa: F401
    except Exception:  # any import failure means "not available"
        return None
    return "in-process"


def fit_lifetimes(
    model: str, arrays: dict[str, np.ndarray], repeats: int, mode: str
) -> dict[str, Any] | str:
    """Run lifetimes in-process or by subprocess; a string explains a failure."""
    try:
        if mode == "in-process":
            return run_lifetimes(model, arrays, repeats)
        with tempfile.TemporaryDirectory() as tmp:
            data_path, out_path = Path(tmp) / "data.npz", Path(tmp) / "out.json"
            np.savez(data_path, **arrays)
            command = [
                os.environ["LIFETIMES_PYTHON"],
                str(Path(__file__).resolve()),
                "--lifetimes-worker",
                model,
                str(data_path),
                str(out_path),
                str(repeats),
            ]
            subprocess.run(command, check=True, capture_output=True, text=True)
            return json.loads(out_path.read_text())
    except Exception as exc:  # report, don't stop the benchmark
        return f"failed: {type(exc).__name__}"


# ---------------------------------------------------------------------------
# pymc-marketing side (must import nothing from clvreport: it runs in another venv)
# ---------------------------------------------------------------------------

PYMC_CLASSES = {
    "bgnbd": "BetaGeoModel",
    "mbgnbd": "ModifiedBetaGeoModel",
    "pnbd": "ParetoNBDModel",
    "gamma_gamma": "GammaGammaModel",
}
# flat priors on every parameter: MAP (find_MAP, no Jacobian) is then maximum likelihood
PYMC_PARAMS = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "pnbd": ("r", "alpha", "s", "beta"),
    "gamma_gamma": ("p", "q", "v"),
}
PYMC_TIMEOUT = 120.0  # seconds of pymc-marketing fits per row before it stops
PYMC_STARTUP = 60.0  # seconds more for the worker's imports and warm-up fit
# pymc-marketing 1.3.0's compiled Pareto/NBD log-likelihood dies of SIGSEGV on the daily
# logs (times in days up to 1,825, from its start at all parameters 1); in weeks it fits.
# The fit is rerun with time divided by this, its time-scale parameters multiplied back.
PYMC_RESCALE = 7.0
TIME_SCALES = ("alpha", "beta")  # rate scales in time units (BG/NBD's a, b have none)


def pymc_frame(model: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The columns pymc-marketing's model wants, one row per customer (NumPy only).

    Gamma-Gamma takes the repeat buyers with a positive mean spend (``frequency``,
    ``monetary_value``); the others ``frequency, recency, T``.
    """
    if model == "gamma_gamma":
        keep = (arrays["frequency"] > 0) & (arrays["monetary_value"] > 0)
        columns = {c: arrays[c][keep] for c in ("frequency", "monetary_value")}
    else:
        columns = {c: arrays[c] for c in ("frequency", "recency", "T")}
    n = len(next(iter(columns.values())))
    return {"customer_id": np.arange(n), **columns}


def pymc_worker(argv: list[str]) -> None:
    """``--pymc-worker MODEL IN.npz OUT.json REPEATS``: pymc-marketing MAP fits here.

    Runs in ``PYMC_PYTHON`` (needs NumPy, pandas and pymc-marketing only). Each fit
    builds the model and runs ``fit(method="map")``, after one untimed warm-up fit
    on the first 200 customers; the wall and CPU seconds of the fastest of
    ``REPEATS`` fits and its parameters (Gamma-Gamma's ``v`` renamed ``gamma``, as
    ours) are written as JSON after each fit, with the number of fits done.
    """
    warnings.simplefilter("ignore")
    import pandas as pd
    import pymc_marketing
    from pymc_extras.prior import Prior
    from pymc_marketing import clv

    model, data_path, out_path, repeats = argv
    with np.load(data_path) as data:
        frame = pd.DataFrame({k: data[k] for k in data.files})
    model_class = getattr(clv, PYMC_CLASSES[model])
    config = {name: Prior("HalfFlat") for name in PYMC_PARAMS[model]}
    # untimed warm-up on a slice: the one-off costs of a fresh process (lazy imports,
    # compiling the graph's C code) are not the fit's
    model_class(model_config=config).fit(frame.head(200), method="map", progressbar=False)
    names = {"v": "gamma"}
    best, result = float("inf"), {}
    for done in range(1, int(repeats) + 1):
        start, cpu = time.perf_counter(), time.process_time()
        candidate = model_class(model_config=config)
        candidate.fit(frame, method="map", progressbar=False)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        if wall < best:
            best = wall
            posterior = candidate.idata.posterior
            result = {
                "seconds": wall,
                "cpu": cpu,
                "params": {
                    names.get(k, k): float(posterior[k].values.ravel()[0])
                    for k in PYMC_PARAMS[model]
                },
                "version": pymc_marketing.__version__,
            }
        # after every fit, so a worker stopped by the timeout leaves what it had
        Path(out_path).write_text(json.dumps({**result, "fits": done}))


def pymc_command(
    python: str, model: str, data_path: Path, out_path: Path, repeats: int
) -> list[str]:
    """The command line that re-runs this script as a pymc-marketing worker."""
    return [
        python,
        str(Path(__file__).resolve()),
        "--pymc-worker",
        model,
        str(data_path),
        str(out_path),
        str(repeats),
    ]


def pymc_failure(returncode: int, stderr: str) -> str:
    """A short reason a worker failed: the signal that killed it, or its last stderr line."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"crashed ({name})"
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return "failed: " + (lines[-1][:120] if lines else "?")


def partial_result(out_path: Path, repeats: int, timeout: float) -> dict[str, Any] | str:
    """What a worker stopped by the timeout had written: its best fit so far, or a skip."""
    try:
        result = json.loads(out_path.read_text())
    except (OSError, ValueError):
        return f"skipped: MAP over {timeout:.0f} s"
    fits = result.get("fits", 1)
    result["note"] = f"pymc-marketing: best of {fits} of {repeats} fits in {timeout:.0f} s"
    return result


def rescaled_time(arrays: dict[str, np.ndarray], scale: float) -> dict[str, np.ndarray]:
    """``arrays`` with recency and T divided by ``scale`` (days to weeks for 7)."""
    out = dict(arrays)
    for column in ("recency", "T"):
        if column in out:
            out[column] = out[column] / scale
    return out


def params_in_original_time(params: dict[str, float], scale: float) -> dict[str, float]:
    """Parameters fitted on time divided by ``scale``, back in the original unit."""
    return {k: v * scale if k in TIME_SCALES else v for k, v in params.items()}


def fit_pymc(
    model: str, arrays: dict[str, np.ndarray], repeats: int, timeout: float = PYMC_TIMEOUT
) -> dict[str, Any] | str:
    """pymc-marketing's MAP fit in ``PYMC_PYTHON`` (a Python >= 3.12 venv), or why not.

    ``timeout`` bounds the row: the worker gets ``timeout`` seconds and
    ``PYMC_STARTUP`` for its imports and warm-up. Stopped then, it gives the best of
    the fits it finished (a note says how many), or the row is skipped with a note.
    A worker that crashes (killed by a signal) on a transaction model is rerun once
    with time divided by ``PYMC_RESCALE``; its parameters are converted back and
    ``"note"`` says so.
    """
    result = _run_pymc(model, arrays, repeats, timeout)
    if not (isinstance(result, str) and result.startswith("crashed")) or model == "gamma_gamma":
        return result
    retry = _run_pymc(model, rescaled_time(arrays, PYMC_RESCALE), repeats, timeout)
    if isinstance(retry, str):
        return f"{result}; in time / {PYMC_RESCALE:g} {retry}"
    retry["params"] = params_in_original_time(retry["params"], PYMC_RESCALE)
    note = f"pymc-marketing {result} in these units; fitted on time / {PYMC_RESCALE:g}"
    retry["note"] = "; ".join(filter(None, [note, retry.get("note")]))
    return retry


def _run_pymc(
    model: str, arrays: dict[str, np.ndarray], repeats: int, timeout: float
) -> dict[str, Any] | str:
    python = os.environ.get("PYMC_PYTHON")
    if not python:
        return "not set up (PYMC_PYTHON unset)"
    with tempfile.TemporaryDirectory() as tmp:
        data_path, out_path = Path(tmp) / "data.npz", Path(tmp) / "out.json"
        np.savez(data_path, **pymc_frame(model, arrays))
        command = pymc_command(python, model, data_path, out_path, repeats)
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout + PYMC_STARTUP,
            )
        except subprocess.TimeoutExpired:
            return partial_result(out_path, repeats, timeout)
        except OSError as exc:
            return f"failed: {type(exc).__name__}"
        if done.returncode != 0:
            return pymc_failure(done.returncode, done.stderr)
        return json.loads(out_path.read_text())


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
    weighted_seconds: float | None = None  # lifetimes on the same distinct rows, weighted
    note: str = ""
    # CPU seconds (this process, all threads) of the run whose wall time is quoted
    ours_cpu: float | None = None
    lifetimes_cpu: float | None = None
    weighted_cpu: float | None = None
    # pymc-marketing's MAP fit (flat priors) on one row per customer
    pymc_seconds: float | None = None
    pymc_cpu: float | None = None
    pymc_ll: float | None = None

    @property
    def weighted_speedup(self) -> float | None:
        if self.weighted_seconds is None:
            return None
        return self.weighted_seconds / self.ours_seconds

    @property
    def speedup(self) -> float | None:
        if self.lifetimes_seconds is None:
            return None
        return self.lifetimes_seconds / self.ours_seconds

    @property
    def ll_difference(self) -> float | None:
        if self.lifetimes_ll is None:
            return None
        return (self.ours_ll - self.lifetimes_ll) / abs(self.ours_ll)

    @property
    def pymc_speedup(self) -> float | None:
        if self.pymc_seconds is None:
            return None
        return self.pymc_seconds / self.ours_seconds

    @property
    def pymc_ll_difference(self) -> float | None:
        if self.pymc_ll is None:
            return None
        return (self.ours_ll - self.pymc_ll) / abs(self.ours_ll)

    def verdict(self) -> str:
        target = TARGETS.get((self.model, self.customers))
        checks = []
        for difference in (self.ll_difference, self.pymc_ll_difference):
            # our optimum may not be lower; a higher one means the other stopped short
            if difference is not None:
                checks.append(difference >= -LL_TOLERANCE)
        if target is not None and self.speedup is not None:
            checks.append(self.speedup >= target)
        if not checks:
            return ""
        suffix = f" (≥{target:.0f}×)" if target is not None else ""
        return ("pass" if all(checks) else "FAIL") + suffix


def cdnow_summary() -> dict[str, np.ndarray]:
    """The Fader-Hardie calibration summary of the CDNOW sample, in weeks."""
    import pandas as pd

    raw = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["customer", "sample", "date", "quantity", "amount"],
        dtype={"date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    daily = raw.groupby(["customer", "date"], as_index=False)["amount"].sum()
    end = pd.Timestamp("1997-09-30")
    cal = daily[daily["date"] <= end].sort_values(["customer", "date"])
    grouped = cal.groupby("customer")
    first, last = grouped["date"].min(), grouped["date"].max()
    repeat_spend = grouped["amount"].apply(lambda s: s.iloc[1:].mean() if len(s) > 1 else 0.0)
    return {
        "frequency": (grouped.size() - 1).to_numpy(dtype=float),
        "recency": ((last - first).dt.days / 7).to_numpy(),
        "T": ((end - first).dt.days / 7).to_numpy(),
        "monetary_value": repeat_spend.to_numpy(dtype=float),
    }


def simulated(model: str, n: int, seed: int) -> dict[str, np.ndarray]:
    from clvreport.models.simulate import simulate_summary

    params = {
        "bgnbd": {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43},
        "pnbd": {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67},
    }[model]
    frame = simulate_summary(model, params, n, T=(26.0, 52.0), seed=seed)
    return {c: frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")}


DAILY_PARAMS = {"r": 0.8, "alpha": 40.0, "s": 1.0, "beta": 4000.0}  # days; ~7 purchases a year


def daily_log(
    n: int, years: float, seed: int, *, dropout_rate: float | None = None
) -> dict[str, np.ndarray]:
    """Pareto/NBD customers in days, first purchases spread over ``years``.

    With ``dropout_rate`` everyone has that dropout rate (exponential lifetimes with
    one rate): the limit ``s, beta -> inf`` of the Pareto/NBD.
    """
    from clvreport.models.simulate import simulate_paretonbd

    if dropout_rate is None:
        frame = simulate_paretonbd(
            DAILY_PARAMS, n, T=(30.0, 365.0 * years), resolution=1.0, seed=seed
        )
        return {c: frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")}
    rng = np.random.default_rng(seed)
    T = np.floor(rng.uniform(30.0, 365.0 * years, n))
    rate = rng.gamma(DAILY_PARAMS["r"], 1.0 / DAILY_PARAMS["alpha"], n)
    window = np.minimum(rng.exponential(1.0 / dropout_rate, n), T)
    x = rng.poisson(rate * window).astype(float)
    # the last of x uniform purchase times in (0, window)
    t_x = np.where(x > 0, np.floor(window * rng.beta(np.maximum(x, 1.0), 1.0)), 0.0)
    return {"frequency": x, "recency": np.minimum(t_x, T), "T": T}


def fit_ours(
    model: str, arrays: dict[str, np.ndarray], repeats: int = 3
) -> tuple[float, float, Any]:
    """Our fit: wall seconds of the fastest of ``repeats`` runs, its CPU seconds, the model."""
    from clvreport.models import MODELS, GammaGammaModel

    best, best_cpu, fitted = float("inf"), float("nan"), None
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        if model == "gamma_gamma":
            fitted = GammaGammaModel().fit(arrays["frequency"], arrays["monetary_value"])
        else:
            # the time unit only labels the parameters; the fit is the same
            fitted = MODELS[model]().fit(arrays["frequency"], arrays["recency"], arrays["T"])
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        if wall < best:
            best, best_cpu = wall, cpu
    return best, best_cpu, fitted


def our_log_likelihood(
    fitted: Any, params: dict[str, float], arrays: dict[str, np.ndarray]
) -> float:
    """Our log-likelihood at someone else's parameters (same data, same units)."""
    model = type(fitted).from_params(params)
    if fitted.name == "gamma_gamma":
        buyers = (arrays["frequency"] > 0) & (arrays["monetary_value"] > 0)
        return float(
            model.log_likelihood(
                arrays["frequency"][buyers], arrays["monetary_value"][buyers]
            ).sum()
        )
    return float(model.log_likelihood(arrays["frequency"], arrays["recency"], arrays["T"]).sum())


def bench_row(
    data_name: str,
    model: str,
    arrays: dict[str, np.ndarray],
    mode: str | None,
    *,
    run_lifetimes_here: bool = True,
    pymc: bool = True,
) -> Row:
    from clvreport.models import compress_rfm

    seconds, cpu, fitted = fit_ours(model, arrays)
    if model == "gamma_gamma":
        keep = arrays["frequency"] > 0
        arrays = {k: v[keep] for k, v in arrays.items()}
        distinct = int(keep.sum())
    else:
        distinct = compress_rfm(arrays["frequency"], arrays["recency"], arrays["T"]).n_rows
    row = Row(data_name, model, len(arrays["frequency"]), distinct, seconds, fitted.log_likelihood_)
    row.ours_cpu = cpu
    if mode is None:
        row.note = "lifetimes not installed"
    elif not run_lifetimes_here:
        row.note = "lifetimes skipped (takes minutes; --full runs it)"
    else:
        repeats = 3 if len(arrays["frequency"]) < 10_000 else 1
        result = fit_lifetimes(model, arrays, repeats, mode)
        if isinstance(result, str):
            row.note = f"lifetimes {result}"
        else:
            row.lifetimes_seconds = result["seconds"]
            row.lifetimes_cpu = result.get("cpu")
            row.lifetimes_ll = our_log_likelihood(fitted, result["params"], arrays)
            own = result["own_log_likelihood"]
            if own is not None and abs(own - row.lifetimes_ll) > 1e-6 * abs(row.lifetimes_ll):
                row.note = f"lifetimes reports LL {result['own_log_likelihood']:.3f}"
            elif row.ll_difference is not None and row.ll_difference > LL_TOLERANCE:
                row.note = "lifetimes stops lower on a flat ridge"
        # the fair comparison: lifetimes given the distinct rows we fit on, as weights
        weighted = fit_lifetimes(model, compressed_rows(model, arrays), repeats, mode)
        if isinstance(weighted, str):
            row.note = "; ".join(filter(None, [row.note, f"weighted lifetimes {weighted}"]))
        else:
            row.weighted_seconds = weighted["seconds"]
            row.weighted_cpu = weighted.get("cpu")
    if pymc:
        add_pymc(row, model, fitted, arrays)
    print(format_row(row), flush=True)
    return row


PYMC_VERSION: list[str] = []  # the version the workers reported, for the table's last line


def add_pymc(row: Row, model: str, fitted: Any, arrays: dict[str, np.ndarray]) -> None:
    """pymc-marketing's MAP fit of ``row``: its time, its optimum scored by our LL, a note."""
    repeats = 3 if len(arrays["frequency"]) < 10_000 else 1
    result = fit_pymc(model, arrays, repeats)
    if isinstance(result, str):
        row.note = "; ".join(filter(None, [row.note, f"pymc-marketing {result}"]))
        return
    if result.get("version") and not PYMC_VERSION:
        PYMC_VERSION.append(result["version"])
    row.pymc_seconds, row.pymc_cpu = result["seconds"], result.get("cpu")
    row.pymc_ll = our_log_likelihood(fitted, result["params"], arrays)
    if result.get("note"):
        row.note = "; ".join(filter(None, [row.note, result["note"]]))
    difference = row.pymc_ll_difference
    if difference is not None and difference > LL_TOLERANCE:
        note = f"pymc-marketing MAP stops lower ({difference:.1e})"
        row.note = "; ".join(filter(None, [row.note, note]))


def bench_scoring(n: int) -> str:
    """Time fit_clv_models + score_customers (90% intervals, 200 draws) on n customers."""
    from clvreport.models import fit_clv_models, score_customers
    from clvreport.models.simulate import simulate_summary

    summary = simulate_summary(
        "bgnbd",
        {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43},
        n,
        T=(26.0, 52.0),
        spend_params={"p": 6.25, "q": 3.74, "gamma": 15.44},
        seed=5,
    )
    start = time.perf_counter()
    fit = fit_clv_models(summary, model="bgnbd")
    fitted = time.perf_counter() - start
    start = time.perf_counter()
    scores = score_customers(fit, summary, horizon_months=12)
    scored = time.perf_counter() - start
    assert len(scores) == n and scores["clv_high"].notna().all()
    return (
        f"fit_clv_models (BG/NBD + Gamma-Gamma) on {n:,} customers: {fitted:.2f} s; "
        f"score_customers with 90% intervals (200 draws): {scored:.2f} s"
    )


BOUNDARY_CASES = {
    "no dropout heterogeneity": {"r": 0.6, "alpha": 8.0, "s": 1e6, "beta": 4e7},
    "no rate heterogeneity": {"r": 1e6, "alpha": 1e7, "s": 0.6, "beta": 12.0},
    "neither": {"r": 1e6, "alpha": 1e7, "s": 1e6, "beta": 4e7},
}
BOUNDARY_TARGET = 2.0  # CPU seconds per Pareto/NBD fit at a boundary (issue 29)


def bench_boundaries(sizes: tuple[int, ...] = (1_000, 100_000), repeats: int = 3) -> list[str]:
    """Pareto/NBD fits where the truth is a limit of the model: CPU time and evaluations.

    Customers simulated at each boundary (weekly ages of 10-78 weeks, whole days),
    ``repeats`` fits each, timed in CPU seconds (``time.process_time``, all threads):
    the fastest, with every run beside it (the machine is shared). The target:
    every fit under 2 s of CPU at 1,000 and 100,000 customers.
    """
    from clvreport.models import ParetoNBDModel, compress_rfm
    from clvreport.models.simulate import simulate_paretonbd

    lines = [
        "| truth | customers | distinct rows | CPU (s) | CPU, each run (s) | wall (s) "
        "| evaluations | fitted limit | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for n in sizes:
        for label, params in BOUNDARY_CASES.items():
            frame = simulate_paretonbd(params, n, T=(10.0, 78.0), resolution=1 / 7, seed=1)
            x, t_x, T = (frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
            runs = []
            for _ in range(repeats):
                cpu, wall = time.process_time(), time.perf_counter()
                model = ParetoNBDModel().fit(x, t_x, T)
                runs.append((time.process_time() - cpu, time.perf_counter() - wall))
            cpu, wall = min(runs)
            limit = ", ".join(model.boundary_ or ("interior",))
            verdict = "pass" if max(c for c, _ in runs) < BOUNDARY_TARGET else "FAIL"
            line = (
                f"| {label} | {n:,} | {compress_rfm(x, t_x, T).n_rows:,} | {cpu:.2f} "
                f"| {' / '.join(f'{c:.2f}' for c, _ in runs)} "
                f"| {wall:.2f} | {model.evaluations_:.0f} | {limit} "
                f"| {verdict} (every run < {BOUNDARY_TARGET:g} s CPU) |"
            )
            print(line, flush=True)
            lines.append(line)
    return lines


BOUNDARY_HEADING = "## Pareto/NBD at its boundaries"


def boundary_section(table: list[str], note: str = "") -> list[str]:
    """The results file's boundary section: heading, method, ``table`` (and ``note``)."""
    return [
        BOUNDARY_HEADING,
        "",
        "Customers simulated where the truth is a limit of the model (one purchase rate, one"
        " dropout rate, or both); three fits each, in CPU seconds (all threads): the fastest,"
        " every run, and the fastest run's wall time;"
        " *evaluations*: likelihood evaluations over all rows (those on the start search's"
        " subsample by their share), bounded by the fit's budget of"
        " `clvreport.models.optimise.MAX_EVALUATIONS`.",
        "",
        *table,
        *(["", note] if note else []),
    ]


def write_boundaries(table: list[str]) -> None:
    """Replace the boundary section of the results file by ``table`` (``--boundaries``).

    The section runs from its heading to the environment line that closes the
    file; the rest of the file (the full run's tables) stays as it is.
    """
    note = (
        f"Boundary table rerun alone (`--boundaries`) on {time.strftime('%Y-%m-%d')}, on a"
        " machine shared with other work: CPU times vary by some tens of percent."
    )
    section = boundary_section(table, note)
    lines = RESULTS.read_text(encoding="utf-8").split("\n") if RESULTS.exists() else []
    if BOUNDARY_HEADING in lines:
        start = lines.index(BOUNDARY_HEADING)
        # the section ends before the environment line (the first "Python ..." line after it)
        end = next(
            (i for i in range(start, len(lines)) if lines[i].startswith("Python ")), len(lines)
        )
        lines[start:end] = [*section, ""]
    else:
        lines += ["", *section, ""]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)} (boundary section)")


# ---------------------------------------------------------------------------
# table
# ---------------------------------------------------------------------------

HEADER = (
    "| data | model | customers | distinct rows | ours (s) | ours CPU (s) | lifetimes (s) "
    "| lifetimes CPU (s) | speed-up | lifetimes weighted (s) | lifetimes weighted CPU (s) "
    "| speed-up weighted | pymc-marketing MAP (s) | its CPU (s) | speed-up vs MAP "
    "| LL ours | LL lifetimes | rel. LL diff | LL pymc-marketing MAP | rel. LL diff vs MAP "
    "| target | note |"
)
RULE = "|---|---|" + "---:|" * 18 + "---|---|"


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}×"


def format_row(row: Row) -> str:
    return (
        f"| {row.data} | {row.model} | {row.customers:,} | {row.distinct:,} "
        f"| {row.ours_seconds:.3f} | {_num(row.ours_cpu, '.3f')} "
        f"| {_num(row.lifetimes_seconds, '.3f')} | {_num(row.lifetimes_cpu, '.3f')} "
        f"| {_times(row.speedup)} "
        f"| {_num(row.weighted_seconds, '.3f')} | {_num(row.weighted_cpu, '.3f')} "
        f"| {_times(row.weighted_speedup)} "
        f"| {_num(row.pymc_seconds, '.3f')} | {_num(row.pymc_cpu, '.3f')} "
        f"| {_times(row.pymc_speedup)} "
        f"| {row.ours_ll:.3f} | {_num(row.lifetimes_ll, '.3f')} "
        f"| {_num(row.ll_difference, '.1e')} "
        f"| {_num(row.pymc_ll, '.3f')} | {_num(row.pymc_ll_difference, '.1e')} "
        f"| {row.verdict()} | {row.note} |"
    )


def pymc_version(ran: bool) -> str:
    if not ran:
        return "not set up"
    version = PYMC_VERSION[0] if PYMC_VERSION else "?"
    return f"{version} (subprocess, `PYMC_PYTHON`)"


def pymc_paragraph(ran: bool, skipped: bool) -> str:
    """What the pymc-marketing columns mean, or why they are empty."""
    if not ran:
        why = "left out (`--skip-pymc`)" if skipped else "not set up (`PYMC_PYTHON` unset)"
        return (
            f"pymc-marketing was {why} for this run, so its columns show –; see the"
            " docstring of `bench/bench_models.py` for setting it up."
        )
    return (
        "*pymc-marketing MAP*: pymc-marketing's model of the same name (`BetaGeoModel`,"
        " `ModifiedBetaGeoModel`, `ParetoNBDModel`, `GammaGammaModel`) with flat"
        ' (`HalfFlat`) priors on every parameter, fitted by `fit(method="map")` — the'
        " maximum-likelihood point — on one row per customer (it takes no weights), in"
        " its own Python ≥ 3.12 interpreter (`PYMC_PYTHON`). Times as for lifetimes (best"
        " of 3 below 10,000 customers, one run otherwise), each fit building the model and"
        " optimising, after one untimed warm-up fit on 200 customers that pays the fresh"
        " process's imports and graph compilation. *speed-up vs MAP* = its wall time /"
        " ours; *rel. LL diff vs MAP* = (LL ours − LL pymc-marketing MAP) / |LL ours|, its"
        " optimum scored by our log-likelihood on the same data (positive: ours is higher)."
        f" Its fits on a row are stopped after {PYMC_TIMEOUT:.0f} s: the row then has the"
        " best of those that finished, or none, and a note says so. Where its compiled"
        " Pareto/NBD log-likelihood crashes on times in days, it is rerun on time / 7"
        " (weeks) and its α, β converted back to days (a note says so). *target* also"
        f" asks rel. LL diff vs MAP ≥ −{LL_TOLERANCE:g} (ours not lower)."
    )


def environment(mode: str | None, pymc: bool = False) -> str:
    import pandas
    import scipy

    try:
        import lifetimes

        lt_version = lifetimes.__version__
    except Exception:
        lt_version = "subprocess" if mode == "subprocess" else "not installed"
    return (
        f"Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
        f"pandas {pandas.__version__}, lifetimes {lt_version} ({mode or 'not run'}), "
        f"pymc-marketing {pymc_version(pymc)}; "
        f"{os.cpu_count()} CPUs, {platform.machine()}; {time.strftime('%Y-%m-%d')}"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--lifetimes-worker":
        lifetimes_worker(sys.argv[2:])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--pymc-worker":
        pymc_worker(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 1M-customer runs")
    parser.add_argument("--full", action="store_true", help="also lifetimes' Pareto/NBD at 1M")
    parser.add_argument("--skip-lifetimes", action="store_true", help="leave lifetimes out")
    parser.add_argument("--skip-pymc", action="store_true", help="leave pymc-marketing out")
    parser.add_argument(
        "--boundaries",
        action="store_true",
        help="only the Pareto/NBD boundary table (replaces that section of the results file)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.boundaries:
        write_boundaries(bench_boundaries())
        return
    mode = None if args.skip_lifetimes else lifetimes_available()
    pymc = not args.skip_pymc and bool(os.environ.get("PYMC_PYTHON"))

    print(HEADER)
    print(RULE)
    rows: list[Row] = []
    cdnow = cdnow_summary()
    for model in ("bgnbd", "mbgnbd", "pnbd", "gamma_gamma"):
        rows.append(bench_row("CDNOW", model, cdnow, mode, pymc=pymc))
    daily = {
        "days 600 × 5 y": daily_log(600, 5.0, seed=1),
        "days 4,300 × 2 y": daily_log(4300, 2.0, seed=2),
        "days 600 × 5 y, one μ": daily_log(600, 5.0, seed=3, dropout_rate=1 / 1500),
    }
    for label, arrays in daily.items():
        rows.append(bench_row(label, "pnbd", arrays, mode, pymc=pymc))
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    for n in sizes:
        bg = simulated("bgnbd", n, seed=1)
        pnbd = simulated("pnbd", n, seed=2)
        label = f"sim {n // 1000:,}k" if n < 1_000_000 else f"sim {n // 1_000_000}M"
        rows.append(bench_row(label, "bgnbd", bg, mode, pymc=pymc))
        rows.append(bench_row(label, "mbgnbd", bg, mode, pymc=pymc))
        big_pareto = n >= 1_000_000 and not args.full
        rows.append(
            bench_row(label, "pnbd", pnbd, mode, run_lifetimes_here=not big_pareto, pymc=pymc)
        )
    scoring = bench_scoring(100_000 if args.quick else 1_000_000)
    print()
    print(scoring)
    print()
    boundaries = bench_boundaries()

    lines = [
        "# Model benchmark: clvreport.models vs lifetimes and pymc-marketing",
        "",
        "Generated by `.venv/bin/python bench/bench_models.py"
        + (" --quick" if args.quick else "")
        + "`; see its docstring for the method.",
        "",
        HEADER,
        RULE,
        *(format_row(r) for r in rows),
        "",
        "Times: a full fit from the summary arrays (ours: best of 3; lifetimes: best of 3 below"
        " 10,000 customers, one run otherwise), in wall seconds, with the CPU seconds of that"
        " run (the process, all threads) beside them. *rel. LL diff* = (LL ours − LL lifetimes) /"
        " |LL ours|, both optima scored by the same log-likelihood function on the same data;"
        " positive means our"
        " optimum is higher. *lifetimes weighted*: lifetimes given the same distinct rows"
        " we fit on, with their counts as its `weights` (the fair comparison of the fitting"
        " code; the raw-rows column includes what compression saves)."
        " Targets: BG/NBD at 1M ≥ 20×, Pareto/NBD at 100k ≥ 25× faster,"
        " Pareto/NBD on the daily logs at least as fast as lifetimes,"
        f" rel. LL diff ≥ −{LL_TOLERANCE:g} (ours not lower). The daily logs: Pareto/NBD"
        " simulated in days (r 0.8, α 40, s 1, β 4000), nearly every customer a distinct"
        " history; *one μ*: one"
        " common dropout rate (1/1500 a day), where the likelihood rises towards s, β → ∞.",
        "",
        pymc_paragraph(pymc, args.skip_pymc),
        "",
        scoring + ".",
        "",
        *boundary_section(boundaries),
        "",
        environment(mode, pymc) + ".",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
