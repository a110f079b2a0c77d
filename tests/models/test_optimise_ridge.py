"""The start search's ridge stop, the agreement of stopped runs, the logaddexp helper.

A subsample whose likelihood rises along a flat ridge (one common dropout rate)
stops the search there instead of following it; a limit that cannot beat the
interior is not polished (:func:`clvreport.models.base._loses_anyway`).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from clvreport.models.base import _loses_anyway
from clvreport.models.numeric import logaddexp
from clvreport.models.optimise import (
    _RIDGE_AGREEMENT,
    _RIDGE_GAIN,
    FitDiagnostics,
    Optimum,
    _RidgeStop,
    _starts_agree,
)


def _step(fun: float, x: list[float]) -> optimize.OptimizeResult:
    return optimize.OptimizeResult(fun=fun, x=np.array(x))


def test_ridge_stop_fires_on_a_long_step_with_a_tiny_gain() -> None:
    n = 10_000.0
    stop = _RidgeStop(n, 1.0, np.zeros(2))
    stop(_step(1.0 - 1.0 / n, [0.1, 0.0]))  # short step, large gain: on
    assert not stop.stopped
    with pytest.raises(StopIteration):
        stop(_step(1.0 - 1.0 / n - 0.5 * _RIDGE_GAIN / n, [0.1, 0.5]))  # 0.5 far for 0.05
    assert stop.stopped


def test_ridge_stop_leaves_an_ordinary_optimum_alone() -> None:
    # a quadratic bowl: BFGS converges without the rule firing
    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        return float(x @ x), 2.0 * x

    stop = _RidgeStop(10_000.0, 13.0, np.array([3.0, -2.0]))
    result = optimize.minimize(fun, np.array([3.0, -2.0]), jac=True, callback=stop)
    assert not stop.stopped
    assert np.allclose(result.x, 0.0, atol=1e-6)


def test_stopped_runs_agree_within_the_rules_resolution() -> None:
    n = 10_000.0
    best = _step(1.0, [0.0])
    near = _step(1.0 + 0.5 * _RIDGE_AGREEMENT / n, [0.0])
    far = _step(1.0 + 2.0 * _RIDGE_AGREEMENT / n, [0.0])
    assert _starts_agree([(best, True), (near, True)], 1.0, n)
    assert not _starts_agree([(best, True), (far, True)], 1.0, n)
    # runs that were not stopped keep the strict tolerance
    assert not _starts_agree([(best, False), (near, False)], 1.0, n)


def _unpolished(gain: float | None) -> Optimum:
    diagnostics = FitDiagnostics(False, 1e-8, False, 1, True)
    extra: dict[str, object] = {"polish": lambda: None}
    if gain is not None:
        extra["newton_gain"] = gain
    return Optimum(np.zeros(2), 1.0, None, diagnostics, extra)


def test_a_limit_is_ruled_out_only_beyond_its_newton_gain() -> None:
    tolerance = 1e-6
    interior = 1.0
    # loses by 1e-5 beyond the tolerance: ruled out unless its Newton steps could gain that
    assert _loses_anyway(interior + tolerance + 1e-5, _unpolished(1e-12), interior, tolerance)
    assert not _loses_anyway(interior + tolerance + 1e-5, _unpolished(1e-7), interior, tolerance)
    # within the tolerance, or without an estimate: never ruled out
    assert not _loses_anyway(interior + 0.5 * tolerance, _unpolished(0.0), interior, tolerance)
    assert not _loses_anyway(interior + 1.0, _unpolished(None), interior, tolerance)


def test_logaddexp_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(0.0, 30.0, 1000)
    b = rng.normal(0.0, 30.0, 1000)
    a[:3], b[:3] = [-np.inf, np.inf, -np.inf], [1.0, np.inf, -np.inf]
    assert np.allclose(logaddexp(a, b), np.logaddexp(a, b), rtol=1e-15, atol=0.0)
    out, work = np.empty(1000), np.empty(1000)
    assert logaddexp(a, b, out, work) is out
