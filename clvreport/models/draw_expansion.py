"""Forecasts under many parameter draws from a few exact ones, where that is exact enough.

The customers' ranges evaluate each distinct history under every parameter
draw (200 by default, :func:`~clvreport.models.uncertainty.draw_fit_parameters`).
On a large base the draws lie close together (the standard errors shrink with
the number of customers), and every forecast is then a smooth function of the
parameters over their spread. :func:`evaluate_over_draws` therefore evaluates
exactly only :data:`DESIGN_DRAWS` draws (most of them the furthest from the
centre, so the rest lie inside), fits each output per history (its logarithm
where it is positive) by a second-order polynomial in the log-parameters
through them (one least-squares solve shared by all histories), and checks it
against :data:`CHECK_DRAWS` further exact draws. Only when every checked value
is within :data:`TOLERANCE` of the exact one (relative to the history's largest
value) are the other draws taken from the polynomial; otherwise, and whenever a
value is not finite, every draw is evaluated exactly, as before. The exact
draws keep their exact values either way.

The tolerance (1e-4 of the history's largest value) is well below what the
ranges resolve: they are 5th and 95th percentiles of 200 draws, whose own
sampling noise is about 0.15 standard deviations of the draws' spread. The
check draws are the furthest from the centre after the design's outer draws,
where a polynomial through the design errs most; nearer the centre it errs
less (``tests/models/test_draw_expansion.py`` checks every draw). On 172,413
simulated customers (``bench_scale``, one million transactions) the customers'
parameter bands of the expected purchases moved by at most 6e-6 (BG/NBD) and
2e-5 (Pareto/NBD) of their exact values, every other column not at all, and
the scoring took 7.4 instead of 12.1 CPU seconds (BG/NBD).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["CHECK_DRAWS", "DESIGN_DRAWS", "TOLERANCE", "evaluate_over_draws"]

DESIGN_DRAWS = 30
"""Exact draws the polynomial is fitted through (15 coefficients for four parameters)."""

CHECK_DRAWS = 10
"""Further exact draws the polynomial must reproduce within :data:`TOLERANCE`."""

TOLERANCE = 1e-4
"""Largest accepted error of the polynomial, relative to each history's largest value."""

Outputs = tuple[np.ndarray, ...]


def _features(delta: np.ndarray) -> np.ndarray:
    """``1``, the ``k`` deviations and their ``k (k + 1) / 2`` products, per draw."""
    n, k = delta.shape
    pairs = [delta[:, i] * delta[:, j] for i in range(k) for j in range(i, k)]
    return np.column_stack([np.ones(n), delta, *pairs]) if pairs else np.ones((n, 1))


def _split(delta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the design draws, the check draws and the rest.

    By distance from the centre: the design holds the furthest draws (two thirds
    of it) and draws spread over those nearer than the checks; the checks are the
    next furthest. The other draws all lie nearer the centre than the checks,
    where the polynomial is interpolated and its error is smaller.
    """
    order = np.argsort(-np.linalg.norm(delta, axis=1), kind="stable")
    outer = (2 * DESIGN_DRAWS) // 3
    checks = order[outer : outer + CHECK_DRAWS]
    inner = order[outer + CHECK_DRAWS :]
    spread = np.linspace(0, inner.size - 1, DESIGN_DRAWS - outer).round().astype(int)
    design = np.concatenate([order[:outer], inner[spread]])
    others = np.setdiff1d(inner, design, assume_unique=True)
    return design, checks, others


def evaluate_over_draws(
    evaluate: Callable[[tuple[np.ndarray, ...]], Outputs], draws: np.ndarray
) -> tuple[Outputs, bool]:
    """Every output of ``evaluate`` under every draw, most of them from a checked polynomial.

    Parameters
    ----------
    evaluate
        Takes a parameter tuple of ``(n, 1)`` columns (as
        :func:`~clvreport.models.uncertainty.as_param_tuple` gives) and returns
        a tuple of arrays of shape ``(n, m)``, one row per draw.
    draws
        ``(n_draws, k)`` positive parameter draws.

    Returns
    -------
    tuple
        ``(outputs, expanded)``: the outputs under all draws, each ``(n_draws, m)``,
        and whether the polynomial was used (``False``: every draw exact).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> draws = np.exp(np.log([2.0, 3.0]) + 0.001 * rng.standard_normal((200, 2)))
    >>> f = lambda p: (p[0] / (p[1] + np.arange(3.0)),)
    >>> (values,), expanded = evaluate_over_draws(f, draws)
    >>> expanded, bool(np.allclose(values, f((draws[:, [0]], draws[:, [1]]))[0], rtol=1e-9))
    (True, True)
    """
    draws = np.asarray(draws, dtype=float)
    n, k = draws.shape

    def exact(rows: np.ndarray) -> Outputs:
        params = tuple(draws[rows, i][:, None] for i in range(k))
        out = []
        for v in evaluate(params):
            v = np.asarray(v, dtype=float)
            out.append(np.array(np.broadcast_to(v, (rows.size, *v.shape[-1:]))))
        return tuple(out)

    n_features = 1 + k + k * (k + 1) // 2
    if n < DESIGN_DRAWS + CHECK_DRAWS + 20 or DESIGN_DRAWS < 2 * n_features or np.any(draws <= 0):
        return exact(np.arange(n)), False
    log = np.log(draws)
    delta = log - log.mean(axis=0)
    scale = delta.std(axis=0)
    scale[scale == 0] = 1.0
    delta = delta / scale
    design, checks, others = _split(delta)
    known = np.concatenate([design, checks])
    computed = exact(known)
    if not all(np.all(np.isfinite(v)) for v in computed):
        return _assemble(n, known, computed, others, exact(others)), False
    features = _features(delta)
    solve = np.linalg.pinv(features[design])  # (features, design): one solve for every history
    m = len(design)
    fitted: list[np.ndarray] = []
    for values in computed:
        flat = values.reshape(values.shape[0], -1)
        # positive outputs (chances, expectations) are smoother on the log scale
        positive = bool(np.all(flat > 0))
        target = np.log(flat) if positive else flat
        coef = solve @ target[:m]
        predicted = features[checks] @ coef
        error = np.abs((np.exp(predicted) if positive else predicted) - flat[m:])
        size = np.max(np.abs(flat), axis=0)
        if np.any(error > TOLERANCE * np.maximum(size, 1e-300)):
            return _assemble(n, known, computed, others, exact(others)), False
        rest = features[others] @ coef
        fitted.append((np.exp(rest) if positive else rest).reshape(others.size, *values.shape[1:]))
    return _assemble(n, known, computed, others, tuple(fitted)), True


def _assemble(
    n: int, known: np.ndarray, computed: Outputs, others: np.ndarray, rest: Outputs
) -> Outputs:
    """The draws' rows back in their order: the exact ones and the others."""
    out = []
    for a, b in zip(computed, rest, strict=True):
        full = np.empty((n, *a.shape[1:]))
        full[known] = a
        full[others] = b
        out.append(full)
    return tuple(out)
