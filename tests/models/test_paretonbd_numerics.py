"""Pareto/NBD numerics: the window integral against mpmath, and the model at its limits.

The scaled likelihood must stay exact where a fit can end: one common dropout rate
(``s, beta -> inf``, ``s / beta = mu``), one common purchase rate (``r, alpha -> inf``,
``r / alpha = lambda``) and no dropout (``s -> 0``). The limits are represented by
parameters pinned at ``exp(+-20)`` (:data:`clvreport.models.optimise.BOUNDARY_LOG`),
where the model differs from its limit by terms of order ``exp(-20)`` times the data
(``T / beta``; ``x T / alpha + x^2 / r``): the tests check the pinned model against
mpmath exactly, and against the limit up to those terms.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest

mp = pytest.importorskip("mpmath")

from clvreport.models import ParetoNBDModel, compress_rfm  # noqa: E402
from clvreport.models.base import TransactionModel  # noqa: E402
from clvreport.models.compression import factorize_pairs  # noqa: E402
from clvreport.models.optimise import BOUNDARY_LOG, maximise_likelihood  # noqa: E402
from clvreport.models.paretonbd import (  # noqa: E402
    _log_tail_quadrature,
    _log_tail_series,
    _log_tail_split,
    _log_tails,
    _log_window_gradient,
    _pareto_objective,
    log_window_integral,
)
from clvreport.models.simulate import simulate_paretonbd  # noqa: E402

mp.mp.dps = 30
E20 = math.exp(BOUNDARY_LOG)

# (r, alpha, s, beta): ordinary fits, extreme shapes and scales, and the pinned limits
PARAMS = [
    (0.55, 10.6, 0.61, 11.7),  # CDNOW, weeks
    (0.8, 40.0, 1.5, 1e4),  # daily data, beta >> alpha
    (0.3, 1e-3, 2.0, 5e5),  # two scales eight decades apart
    (1e-3, 30.0, 1e-3, 0.05),  # tiny shapes: heavy tails
    (2e3, 1e6, 1e3, 30.0),
    (0.8, 40.0, 1e-3 * E20, E20),  # one dropout rate mu = 1e-3
    (0.8, 40.0, 0.05 * E20 * math.e, E20 * math.e),  # ... pinned at 20 + 1
    (0.02 * E20, E20, 0.7, 500.0),  # one purchase rate lambda = 0.02
    (0.02 * E20 / math.e, E20 / math.e, 0.7, 3.0),  # ... pinned at 20 - 1
    (0.05 * E20, E20, 1e-2 * E20 * 4, E20 * 4),  # both limits
    (0.8, 40.0, 1 / E20, 1.0),  # no dropout (beta pinned at 1)
    (0.8, 40.0, 1 / E20, 500.0),
]
# (x, t0, t1): the window (t_x, T) of a likelihood, or (T, T + t) of a forecast
WINDOWS = [(0, 0.0, 40.0), (1, 3.0, 52.0), (12, 150.0, 700.0), (500, 290.0, 300.0), (3, 80.0, 80.5)]


def mp_window(a, A, b, B, D, weight=None):
    """``int_0^D (1 + v/A)^-a (1 + v/B)^-b weight(v) dv`` at 30 digits."""
    a, A, b, B, D = (mp.mpf(v) for v in (a, A, b, B, D))
    scale = 1 / (a / A + b / B)
    cuts = [q for q in (scale / 100, scale, 10 * scale, 100 * scale, A, 10 * A, B, 10 * B) if q < D]
    points = [mp.mpf(0), *sorted(set(cuts)), D]

    def f(v):
        h = mp.exp(-a * mp.log1p(v / A) - b * mp.log1p(v / B))
        return h if weight is None else h * weight(v, A, B)

    return mp.quad(f, points)


def _cases():
    """Every parameter set with every window; the derivatives on every other case."""
    i = 0
    for params in PARAMS:
        for x, t0, t1 in WINDOWS:
            yield params, x, t0, t1, i % 2 == 0
            i += 1


def test_window_integral_and_its_gradient_match_mpmath() -> None:
    failures = []
    for (r, alpha, s, beta), x, t0, t1, with_gradient in _cases():
        a, b, A, B, D = r + x, s + 1.0, alpha + t0, beta + t0, t1 - t0
        log_q, d_log_q = _log_window_gradient(
            r, alpha, s, beta, np.array([x], float), np.array([t0]), np.array([t1])
        )
        q = mp_window(a, A, b, B, D)
        value_error = abs(float(log_q[0] - mp.log(q))) / max(1.0, abs(float(mp.log(q))))
        gradient_error = 0.0
        if with_gradient:
            means = [
                mp_window(a, A, b, B, D, lambda v, A, B: mp.log1p(v / A)) / q,
                mp_window(a, A, b, B, D, lambda v, A, B: v / (A + v)) / q,
                mp_window(a, A, b, B, D, lambda v, A, B: mp.log1p(v / B)) / q,
                mp_window(a, A, b, B, D, lambda v, A, B: v / (B + v)) / q,
            ]
            want = [-r * means[0], a * alpha / A * means[1], -s * means[2], b * beta / B * means[3]]
            gradient_error = max(abs(float(d_log_q[i, 0] / w - 1)) for i, w in enumerate(want))
        public = log_window_integral((r, alpha, s, beta), x, t0, t1)
        public_error = abs(float(public - mp.log(q))) / max(1.0, abs(float(mp.log(q))))
        if value_error > 1e-13 or gradient_error > 1e-12 or public_error > 1e-13:
            failures.append(((r, alpha, s, beta), x, t0, t1, value_error, gradient_error))
    assert not failures, failures[:10]


def mp_log_tail(log_params, x, t):
    """``log int_t^inf (1 + u/alpha)^-(r+x) (1 + u/beta)^-(s+1) du`` by mpmath's 2F1."""
    r, alpha, s, beta = (mp.exp(v) for v in log_params)
    a, b, A, B = r + x, s + 1, alpha + t, beta + t
    small, large, m = (A, B, b) if A <= B else (B, A, a)
    h = small / (r + x + s) * mp.hyp2f1(1, m, a + b, 1 - small / large)
    return -a * mp.log1p(t / alpha) - b * mp.log1p(t / beta) + mp.log(h)


def _moved(theta, i, x, t, value):
    return mp_log_tail([*theta[:i], value, *theta[i + 1 :]], x, t)


def test_tail_series_and_its_gradient_match_mpmath() -> None:
    rng = np.random.default_rng(3)
    failures = []
    for _ in range(24):
        r, s = np.exp(rng.uniform(-4, 3, 2))
        alpha = float(np.exp(rng.uniform(-2, 8)))
        beta = alpha * float(np.exp(rng.uniform(-0.6, 0.6)))  # z <= 0.5 at t = 0
        x, t = float(rng.choice([0, 1, 7, 300])), float(rng.uniform(0, 100))
        log_tail, d_log_tail, ok = _log_tail_series(r, alpha, s, beta, np.array([x]), np.array([t]))
        assert ok[0]
        theta = [mp.log(v) for v in (r, alpha, s, beta)]
        want = mp_log_tail(theta, x, t)
        grad = [mp.diff(partial(_moved, theta, i, x, t), theta[i]) for i in range(4)]
        value_error = abs(float(log_tail[0] - want)) / max(1.0, abs(float(want)))
        gradient_error = max(
            abs(float(d_log_tail[i, 0] - g)) / max(abs(float(g)), 1e-3) for i, g in enumerate(grad)
        )
        if value_error > 1e-13 or gradient_error > 1e-11:
            failures.append((r, alpha, s, beta, x, t, value_error, gradient_error))
    assert not failures, failures


def test_tail_quadrature_and_its_gradient_match_mpmath() -> None:
    # the tails where the series does not apply (z > 0.5), pinned limits included: once
    # per (x, t) pair in the objective, with the window's rule cut at 40 below the maximum
    failures, used, limits_used = [], 0, set()
    for i, (r, alpha, s, beta) in enumerate(PARAMS):
        for j, (x, t) in enumerate([(0, 0.0), (1, 3.0), (7, 40.0), (300, 290.0)]):
            log_tail, d_log_tail, ok = _log_tail_quadrature(
                r, alpha, s, beta, np.array([float(x)]), np.array([t])
            )
            if not ok[0]:
                continue  # too long an interval for the checked node classes: per row
            used += 1
            limits_used.add(i)
            theta = [mp.log(v) for v in (r, alpha, s, beta)]
            value_error, gradient_error = _errors_against_mpmath(
                log_tail, d_log_tail, theta, x, t, gradient=(i + j) % 2 == 0
            )
            if value_error > 1e-13 or gradient_error > 1e-11:
                failures.append((r, alpha, s, beta, x, t, value_error, gradient_error))
    assert not failures, failures
    assert used >= 30
    # the one-purchase-rate limits (alpha pinned) and both limits take the tails this way
    assert {7, 8, 9} <= limits_used


def _errors_against_mpmath(
    log_tail, d_log_tail, theta, x, t, *, gradient: bool = True
) -> tuple[float, float]:
    """Relative errors of a tail's log and (when ``gradient``) its gradient against mpmath."""
    want = mp_log_tail(theta, x, t)
    value_error = abs(float(log_tail[0] - want)) / max(1.0, abs(float(want)))
    if not gradient:
        return value_error, 0.0
    grad = [mp.diff(partial(_moved, theta, k, x, t), theta[k]) for k in range(4)]
    gradient_error = max(
        abs(float(d_log_tail[k, 0] - g)) / max(abs(float(g)), 1e-3) for k, g in enumerate(grad)
    )
    return value_error, gradient_error


def test_split_tails_and_their_gradient_match_mpmath() -> None:
    # the tails too long for the quadrature (small shapes, z > 0.5: on the way to an
    # optimum) as a window up to z = 0.49 plus the series beyond it
    failures, split = [], 0
    for r, alpha, s, beta in [
        (0.47, 9.5, 1.65, 54.6),  # a point of the start search on weekly data
        (0.05, 3.0, 0.1, 400.0),
        (0.3, 500.0, 0.02, 20.0),  # alpha > beta
        (1e-3, 30.0, 1e-3, 0.05),
        (0.8, 40.0, 1.5, 1e4),
    ]:
        for x, t in [(0, 0.0), (0, 5.0), (1, 3.0), (7, 20.0)]:
            quadrature_ok = _log_tail_quadrature(
                r, alpha, s, beta, np.array([float(x)]), np.array([t])
            )[2][0]
            log_tail, d_log_tail, ok = _log_tail_split(
                r, alpha, s, beta, np.array([float(x)]), np.array([t])
            )
            if abs(alpha - beta) / (max(alpha, beta) + t) <= 0.5 or not ok[0]:
                continue
            split += not quadrature_ok
            theta = [mp.log(v) for v in (r, alpha, s, beta)]
            value_error, gradient_error = _errors_against_mpmath(log_tail, d_log_tail, theta, x, t)
            if value_error > 1e-13 or gradient_error > 1e-11:
                failures.append((r, alpha, s, beta, x, t, value_error, gradient_error))
    assert not failures, failures
    assert split >= 4  # tails the quadrature alone leaves to the rows' windows


@pytest.mark.parametrize("resolution", [1.0, 1 / 7])
def test_objective_on_large_data_in_coarse_time(resolution) -> None:
    # customers sharing (x, t) pairs (weeks: many a pair; days: two or three): the tails
    # once per pair by the series or the tail quadrature
    params = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}
    summary = simulate_paretonbd(params, 30_000, T=(26.0, 52.0), resolution=resolution, seed=8)
    data = compress_rfm(summary["frequency"], summary["recency"], summary["T"])
    assert data.pair_codes("t_x")[1].size + data.pair_codes("T")[1].size <= data.n_rows
    objective = _pareto_objective(data)
    limits = ([0.02 * E20, E20, 0.7, 20.0], [0.02 * E20, E20, 0.03 * E20, E20])
    for values in (
        [0.55, 10.6, 0.61, 11.7],
        [0.5, 3.0, 0.7, 50.0],
        [0.55, 10.6, 0.02 * E20, E20],
        *limits,  # one purchase rate: z near 1, the tails per pair by the quadrature
    ):
        theta = np.log(values)
        value, grad = objective(theta)
        ll = ParetoNBDModel._log_likelihood(tuple(values), data.x, data.t_x, data.T)
        assert value == pytest.approx(-(ll @ data.weight) / data.n_customers, rel=1e-13)
        step = 1e-6
        numeric = [
            (objective(theta + step * e)[0] - objective(theta - step * e)[0]) / (2 * step)
            for e in np.eye(4)
        ]
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "values",
    [
        (0.55, 10.6, 0.61, 30.0),  # the series from t = 9 on, the quadrature below
        (0.02 * E20, E20, 0.7, 20.0),  # one purchase rate: every tail by the quadrature
    ],
)
def test_tails_shared_by_both_kinds_of_pair_equal_each_kind_alone(values) -> None:
    # the quadrature once per distinct (x, t) of the (x, t_x) and (x, T) pairs together
    # gives each pair exactly (bit for bit) what its own kind alone does
    summary = simulate_paretonbd(
        {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7},
        5_000,
        T=(10.0, 78.0),
        resolution=1 / 7,
        seed=4,
    )
    data = compress_rfm(summary["frequency"], summary["recency"], summary["T"])
    _, x1, t1 = data.pair_codes("t_x")
    _, x2, t2 = data.pair_codes("T")
    codes, x_all, t_all = factorize_pairs(np.concatenate([x1, x2]), np.concatenate([t1, t2]))
    assert x_all.size < x1.size + x2.size  # the kinds share pairs
    shared = _log_tails(
        *values, [(x1, t1, codes[: x1.size]), (x2, t2, codes[x1.size :])], x_all, t_all
    )
    for (x, t), together in zip([(x1, t1), (x2, t2)], shared, strict=True):
        alone = _log_tails(*values, [(x, t, np.arange(x.size))], x, t)[0]
        for a, b in zip(together, alone, strict=True):
            np.testing.assert_array_equal(a, b)
    # and the objective, which keeps its work arrays, answers a point again exactly
    objective = _pareto_objective(data)
    theta = np.log(values)
    first = objective(theta)
    objective(theta + 0.3)
    again = objective(theta)
    assert first[0] == again[0]
    np.testing.assert_array_equal(first[1], again[1])


def mp_pareto_predictions(params, x, t_x, T, t):
    """Log-likelihood, P(alive), P(no purchase in t | alive) and E[purchases in t | alive].

    Fader and Hardie's (2005) unscaled expressions, with the integral over the time
    of death by mpmath quadrature at 30 digits.
    """
    r, alpha, s, beta, x, t_x, T, t = (mp.mpf(v) for v in (*params, x, t_x, T, t))
    a = r + x

    def log_density(u):  # log of (alpha + u)^-(r+x) (beta + u)^-(s+1)
        return -a * mp.log(alpha + u) - (s + 1) * mp.log(beta + u)

    def death(lo, hi):  # its integral over (lo, hi)
        rate = a / (alpha + lo) + (s + 1) / (beta + lo)
        cuts = [lo + m / rate for m in (1, 10, 100, 1000) if lo + m / rate < hi]
        points = sorted({*mp.linspace(lo, hi, 17), *cuts})
        # mp.quad is not accurate for integrands of order exp(-1e7): scale by the start
        start = log_density(lo)
        return mp.exp(start) * mp.quad(lambda u: mp.exp(log_density(u) - start), points)

    alive = (alpha + T) ** -a * (beta + T) ** -s
    bracket = alive + s * death(t_x, T)
    ll = mp.loggamma(a) - mp.loggamma(r) + r * mp.log(alpha) + s * mp.log(beta) + mp.log(bracket)
    A, B = alpha + T, beta + T
    no_purchase = (1 + t / A) ** -a * (1 + t / B) ** -s + s * A**a * B**s * death(T, T + t)
    if s == 1:
        expected = a * B / A * mp.log1p(t / B)
    else:
        expected = a * B / A / (s - 1) * (1 - (1 + t / B) ** (1 - s))
    return ll, alive / bracket, no_purchase, expected


def mp_limit_predictions(limit, params, x, t_x, T, t):
    """The same four predictions of the limiting models, with incomplete gamma functions.

    ``"dropout"``: one dropout rate ``mu`` (exponential lifetimes), ``lambda ~ Gamma(r, alpha)``;
    ``"rate"``: one purchase rate ``lambda``, ``mu ~ Gamma(s, beta)``; ``"none"``: no dropout.
    """
    x, t_x, T, t = (mp.mpf(v) for v in (x, t_x, T, t))
    if limit == "dropout":
        r, alpha, mu = (mp.mpf(v) for v in params)
        a = r + x

        def death(lo, hi):  # int_lo^hi (alpha + u)^-a e^(-mu u) du
            w0, w1 = mu * (alpha + lo), mu * (alpha + hi)
            return mp.exp(mu * alpha) * mu ** (a - 1) * mp.gammainc(1 - a, w0, w1)

        alive = (alpha + T) ** -a * mp.exp(-mu * T)
        bracket = alive + mu * death(t_x, T)
        ll = mp.loggamma(a) - mp.loggamma(r) + r * mp.log(alpha) + mp.log(bracket)
        A = alpha + T
        no_purchase = (1 + t / A) ** -a * mp.exp(-mu * t) + mu * A**a * mp.exp(mu * T) * death(
            T, T + t
        )
        expected = a / A * (1 - mp.exp(-mu * t)) / mu
    elif limit == "rate":
        lam, s, beta = (mp.mpf(v) for v in params)

        def death(lo, hi):  # int_lo^hi e^(-lambda u) (beta + u)^-(s+1) du
            w0, w1 = lam * (beta + lo), lam * (beta + hi)
            return mp.exp(lam * beta) * lam**s * mp.gammainc(-s, w0, w1)

        alive = mp.exp(-lam * T) * (1 + T / beta) ** -s
        bracket = alive + s * beta**s * death(t_x, T)
        ll = x * mp.log(lam) + mp.log(bracket)
        B = beta + T
        no_purchase = mp.exp(-lam * t) * (1 + t / B) ** -s + s * B**s * mp.exp(lam * T) * death(
            T, T + t
        )
        expected = lam * B / (s - 1) * (1 - (1 + t / B) ** (1 - s))
    else:
        r, alpha = (mp.mpf(v) for v in params)
        a = r + x
        ll = mp.loggamma(a) - mp.loggamma(r) + r * mp.log(alpha) - a * mp.log(alpha + T)
        alive, bracket = mp.mpf(1), mp.mpf(1)
        no_purchase = (1 + t / (alpha + T)) ** -a
        expected = a * t / (alpha + T)
    return ll, alive / bracket, no_purchase, expected


def _pin(limit, params, log_scale):
    """Pareto/NBD parameters representing a limit, the large scale at ``exp(log_scale)``."""
    scale = math.exp(log_scale)
    if limit == "dropout":
        r, alpha, mu = params
        return (r, alpha, mu * scale, scale)
    if limit == "rate":
        lam, s, beta = params
        return (lam * scale, scale, s, beta)
    r, alpha = params
    return (r, alpha, 1 / scale, 1.0)


def _predictions(params, x, t_x, T, t):
    model = ParetoNBDModel.from_params(dict(zip(ParetoNBDModel.param_names, params, strict=True)))
    with np.errstate(all="raise"):  # no overflow, 0 * inf or NaN on the way
        return (
            model.log_likelihood(x, t_x, T),
            model.probability_alive(x, t_x, T),
            ParetoNBDModel._probability_no_purchase_if_alive(params, t, x, T),
            ParetoNBDModel._expected_purchases_if_alive(params, t, x, T),
        )


# (limit, limit-model parameters, log of the pinned scale); times in days
LIMITS = [
    ("dropout", (0.8, 40.0, 1e-3), BOUNDARY_LOG),
    ("dropout", (0.8, 40.0, 1e-3), BOUNDARY_LOG + 1.0),
    ("dropout", (2.5, 3.0, 0.02), BOUNDARY_LOG - 1.0),
    ("rate", (0.02, 0.7, 500.0), BOUNDARY_LOG),
    ("rate", (0.3, 1.8, 40.0), BOUNDARY_LOG + 1.5),
    ("none", (0.8, 40.0), BOUNDARY_LOG),
    ("none", (0.3, 2.0), BOUNDARY_LOG + 1.0),
]
HISTORIES = [(0, 0.0, 30.0), (1, 20.0, 200.0), (7, 150.0, 400.0), (40, 390.0, 400.0)]
NAMES = ("log-likelihood", "P(alive)", "P(no purchase | alive)", "E[purchases | alive]")


@pytest.mark.parametrize(("limit", "limit_params", "log_scale"), LIMITS)
def test_pinned_parameters_give_the_limiting_model(limit, limit_params, log_scale) -> None:
    x, t_x, T = (np.array([h[i] for h in HISTORIES], dtype=float) for i in range(3))
    horizon = 90.0
    pinned = _pin(limit, limit_params, log_scale)
    got = _predictions(pinned, x, t_x, T, horizon)
    # 30 past the limit the pinning error (~ x^2 / r + x T / alpha, T / beta) is gone
    far = _predictions(_pin(limit, limit_params, log_scale + 10.0), x, t_x, T, horizon)
    for i, (xi, ti, Ti) in enumerate(HISTORIES):
        exact = mp_pareto_predictions(pinned, xi, ti, Ti, horizon)
        limit_value = mp_limit_predictions(limit, limit_params, xi, ti, Ti, horizon)
        pinning = 4 * ((xi + 1) ** 2 + (xi + 1) * (Ti + horizon)) / math.exp(log_scale)
        for name, value, value_far, want, want_limit in zip(
            NAMES, got, far, exact, limit_value, strict=True
        ):
            label = (i, name)
            if name == "log-likelihood":
                # the pinned model exactly, and the limit up to the pinning
                assert value[i] == pytest.approx(float(want), abs=1e-9), label
                assert value[i] == pytest.approx(float(want_limit), abs=pinning), label
                assert value_far[i] == pytest.approx(float(want_limit), abs=1e-8), label
            else:
                assert value[i] == pytest.approx(float(want), rel=1e-11, abs=1e-300), label
                assert value[i] == pytest.approx(float(want_limit), rel=pinning), label
                assert value_far[i] == pytest.approx(float(want_limit), rel=1e-8), label


GRADIENT_POINTS = [
    (0.55, 10.6, 0.02 * E20, E20),  # one dropout rate
    (0.55, 10.6, 0.02 * E20 * 4.5, E20 * 4.5),  # ... pinned at 20 + 1.5
    (0.05 * E20, E20, 0.6, 11.7),  # one purchase rate
    (0.05 * E20 / 2, E20 / 2, 0.6, 11.7),
    (0.55, 10.6, 1 / E20, 1.0),  # no dropout
    (0.55, 10.6, 1 / E20, 11.7),
    (0.05 * E20, E20, 0.02 * E20, E20),  # both
]


@pytest.mark.parametrize("params", GRADIENT_POINTS)
def test_gradient_at_pinned_limits_matches_finite_differences(cdnow, params) -> None:
    data = compress_rfm(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    objective = _pareto_objective(data)
    theta = np.log(params)
    value, grad = objective(theta)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    step = 1e-5
    numeric = [
        (objective(theta + step * e)[0] - objective(theta - step * e)[0]) / (2 * step)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def _summary(x, t_x, T) -> dict[str, np.ndarray]:
    return {"frequency": x, "recency": np.where(x > 0, t_x, 0.0), "T": T}


def _simulate(n: int, seed: int, *, rate=None, dropout=None, r=0.8, alpha=40.0, s=0.7, beta=500.0):
    """Daily Pareto/NBD histories; ``rate`` / ``dropout`` fix one common rate for everyone."""
    rng = np.random.default_rng(seed)
    T = np.floor(rng.uniform(30.0, 3 * 365.0, n))
    lam = np.full(n, rate) if rate is not None else rng.gamma(r, 1 / alpha, n)
    if dropout == 0.0:
        window = T
    else:
        mu = np.full(n, dropout) if dropout is not None else rng.gamma(s, 1 / beta, n)
        window = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * window).astype(float)
    t_x = np.floor(window * rng.beta(np.maximum(x, 1), 1))
    return _summary(x, np.minimum(t_x, T), T)


@pytest.mark.parametrize(
    ("limit", "history", "seed", "heading"),
    [
        # samples whose likelihood rises towards the limit (about half of them do);
        # heading: log-parameters an unconverged fit runs towards (selects the face)
        ("no_dropout_heterogeneity", {"dropout": 1 / 500}, 0, np.log([0.8, 40.0, 1e3, 5e5])),
        ("no_dropout", {"dropout": 0.0}, 11, np.log([0.8, 40.0, 1e-3, 1.0])),
        ("no_rate_heterogeneity", {"rate": 0.02}, 2, np.log([1e3, 5e4, 0.7, 500.0])),
    ],
)
def test_limit_face_fit_converges(limit, history, seed, heading) -> None:
    summary = _simulate(800, seed, **history)
    data = compress_rfm(summary["frequency"], summary["recency"], summary["T"])
    model = ParetoNBDModel(time_unit="days")
    interior = maximise_likelihood(_pareto_objective, data, model._starting_points(data)[:3])
    (face,) = [f for f in TransactionModel._boundary_faces(model, heading) if f.limits == (limit,)]

    def reduced(d):
        full = _pareto_objective(d)

        def objective(phi):
            value, grad = full(face.offset + face.jacobian @ phi)
            return value, face.jacobian.T @ grad

        return objective

    sub = maximise_likelihood(reduced, data, [face.start])
    assert sub.diagnostics.converged, sub.diagnostics
    assert sub.diagnostics.gradient_max < 1e-6
    assert sub.diagnostics.hessian_positive_definite
    # at least as likely as the interior optimum, up to the pinning: an interior fit
    # that ran past exp(20) towards the limit can be higher by ~1e-5 (1e-10 relative)
    ll_face, ll_interior = (
        -sub.neg_ll_mean * data.n_customers,
        -interior.neg_ll_mean * data.n_customers,
    )
    assert ll_face >= ll_interior - 1e-9 * abs(ll_interior)


def test_full_fit_of_a_one_purchase_rate_log_takes_the_limit() -> None:
    summary = _simulate(800, 2, rate=0.02)
    model = ParetoNBDModel(time_unit="days").fit(
        summary["frequency"], summary["recency"], summary["T"]
    )
    assert model.converged_
    assert model.boundary_ == ("no_rate_heterogeneity",)
    assert model.params_["r"] / model.params_["alpha"] == pytest.approx(0.02, rel=0.05)
    assert model.params_["alpha"] == pytest.approx(E20)


def test_probability_alive_many_matches_single_draws() -> None:
    # draws as (n_draws, 1) against customers; closed form and quadrature agree
    summary = simulate_paretonbd(
        {"r": 0.8, "alpha": 40.0, "s": 1.5, "beta": 1e4},
        3000,
        T=(30.0, 700.0),
        resolution=1.0,
        seed=4,
    )
    x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    rng = np.random.default_rng(1)
    base = np.array([0.8, 40.0, 1.5, 1e4])
    draws = base * np.exp(0.3 * rng.standard_normal((20, 4)))
    draws[-1] = [0.8, 40.0, 1e-3 * E20, E20]  # pinned limits among the draws: z near 1,
    draws[-2] = [0.02 * E20, E20, 1.5, 1e4]  # the tails per pair by the quadrature
    params = tuple(draws[:, i : i + 1] for i in range(4))
    many = ParetoNBDModel._probability_alive_many(params, x, t_x, T)
    assert many.shape == (20, x.size) and np.isfinite(many).all()
    for k in range(draws.shape[0]):
        one = ParetoNBDModel._probability_alive(tuple(draws[k]), x, t_x, T)
        np.testing.assert_allclose(many[k], one, rtol=1e-12)
