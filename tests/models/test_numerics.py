"""Every prediction of BG/NBD, MBG/NBD and Pareto/NBD against mpmath at 30 digits.

The grid spans the whole parameter range a fit can end in: shapes and scales from
1e-3 to 1e6, up to 500 repeat purchases, ages up to 300 weeks. It is sparse (each
parameter takes every grid value, not every combination), so it runs in seconds,
and it includes the cases that once broke: ``a ~ 2e4, b ~ 1.2e5`` (``0 * inf`` in
the closed form of BG/NBD), ``a`` next to 1 (0/0) and tiny horizons (cancellation).

The references are written from the models' definitions, not from the code's
formulas: the expected purchases of a live BG/NBD customer from the Gauss
hypergeometric closed form at 60 digits (or, where mpmath's series does not
converge quickly, the positive series of its definition), Pareto/NBD's integral
over the time of death by mpmath quadrature.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

mp = pytest.importorskip("mpmath")

from clvreport.models import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel  # noqa: E402
from clvreport.models.bgnbd import expected_purchases_while_alive  # noqa: E402

mp.mp.dps = 30
RTOL = 1e-6
VALUES = (1e-3, 0.05, 1.0, 30.0, 2e3, 1e6)
# (x, t_x, T) in weeks
HISTORIES = ((0, 0.0, 40.0), (1, 3.0, 52.0), (12, 150.0, 200.0), (500, 290.0, 300.0))
HORIZON = 52.0


def _grid() -> list[tuple[float, float, float, float]]:
    """Each of the four parameters through every value, in a Latin-square pattern."""
    n = len(VALUES)
    out = {
        (VALUES[i % n], VALUES[(2 * i + 1) % n], VALUES[(3 * i + 2) % n], VALUES[(5 * i + 3) % n])
        for i in range(n * n)
    }
    return sorted(out)


GRID = _grid()
# shapes/scales for the rate gamma, paired with the dropout pair of the grid
SPECIAL_BG = [
    (2.0, 10.0, 2e4, 1.2e5),  # the public dataset whose optimum broke the closed form
    (0.243, 4.414, 0.793, 2.426),  # CDNOW
    (0.5, 3.0, 1.0 + 1e-9, 4.0),  # a next to 1
    (1e6, 1e6, 5.0, 1e6),  # no rate heterogeneity, little dropout
    (0.3, 1e6, 0.01, 1e6),  # tiny horizon relative to alpha
]


def _close(got: float, want, rtol: float = RTOL) -> bool:
    want = float(want)
    if not math.isfinite(want) or (want != 0 and abs(want) < 1e-290):
        return True  # not representable as a double: nothing to compare
    if want == 0:
        return abs(got) < 1e-290
    return math.isfinite(got) and abs(got / want - 1.0) <= rtol


def _close_log(got: float, want, rtol: float = RTOL) -> bool:
    want = float(want)
    return math.isfinite(got) and abs(got - want) <= rtol * max(abs(want), 1.0)


# ---------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------


MAX_REFERENCE_TERMS = 5_000


def mp_while_alive(a, b, k, u):
    """E_p[(1 - (1 + p u)^-k) / p], p ~ Beta(a, b), from its definition at 40 digits.

    The ``j``-th future purchase happens when there are at least ``j`` purchase
    events, ``N ~ NBD(k, u / (1 + u))``, and the customer survived the ``j - 1``
    before, with probability ``(b)_{j-1} / (a + b)_{j-1}``. Returns ``None`` when
    the series would need more than :data:`MAX_REFERENCE_TERMS` terms (thousands
    of expected purchases and almost no dropout); those cases are checked
    against the bounds only.
    """
    if u == 0:
        return mp.mpf(0)
    ku = k * u
    terms_n = ku + 10 * math.sqrt(ku * (1 + u)) + 40 * (1 + u)
    terms_p = b * (10 ** (20 / a) - 1) + 50 if a >= 1 else math.inf
    if min(terms_n, terms_p) > MAX_REFERENCE_TERMS:
        return None
    with mp.workdps(40):
        a, b, k, u = (mp.mpf(v) for v in (a, b, k, u))
        z = u / (1 + u)
        pmf = (1 - z) ** k
        survival = 1 - pmf
        m = mp.mpf(1)
        total = mp.mpf(0)
        tiny = mp.mpf(10) ** -20
        for j in range(1, 10 * MAX_REFERENCE_TERMS):
            term = m * survival
            total += term
            if j > 10 and term < total * tiny and (j > ku or m < tiny):
                return total
            pmf = pmf * (k + j - 1) * z / j
            survival -= pmf
            m = m * (b + j - 1) / (a + b + j - 1)
    raise AssertionError(f"reference series did not converge: {a}, {b}, {k}, {u}")


def _bounds_hold(value: float, k: float, u: float) -> bool:
    """``1 - (1 + u)^-k <= E <= k u``: between no one and every one dropping out."""
    lower = -math.expm1(-k * math.log1p(u))
    return math.isfinite(value) and lower * (1 - 1e-9) <= value <= k * u * (1 + 1e-9)


def mp_bg_log_likelihood(r, alpha, a, b, x, t_x, T, modified):
    r, alpha, a, b, x, t_x, T = (mp.mpf(v) for v in (r, alpha, a, b, x, t_x, T))
    shift = 1 if modified else 0
    ll = (
        mp.loggamma(r + x)
        - mp.loggamma(r)
        + r * mp.log(alpha)
        + mp.log(mp.beta(a, b + x + shift))
        - mp.log(mp.beta(a, b))
        - (r + x) * mp.log(alpha + T)
    )
    if x > 0 or modified:
        ll += mp.log1p(a / (b + x - 1 + shift) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    return ll


def mp_bg_alive(r, alpha, a, b, x, t_x, T, modified):
    if x == 0 and not modified:
        return mp.mpf(1)
    r, alpha, a, b, x, t_x, T = (mp.mpf(v) for v in (r, alpha, a, b, x, t_x, T))
    shift = 1 if modified else 0
    return 1 / (1 + a / (b + x - 1 + shift) * ((alpha + T) / (alpha + t_x)) ** (r + x))


def mp_pnbd_parts(r, alpha, s, beta, x, t_x, T):
    """``(alive term, s * integral over the time of death in (t_x, T))`` of the likelihood."""
    r, alpha, s, beta, x, t_x, T = (mp.mpf(v) for v in (r, alpha, s, beta, x, t_x, T))
    k = r + x
    alive = mp.exp(-k * mp.log(alpha + T) - s * mp.log(beta + T))
    if T <= t_x:
        return alive, mp.mpf(0)
    rate = k / (alpha + t_x) + (s + 1) / (beta + t_x)
    points = [t_x] + [t_x + m / rate for m in (1, 10, 100, 1000) if t_x + m / rate < T] + [T]
    density = lambda v: mp.exp(-k * mp.log(alpha + v) - (s + 1) * mp.log(beta + v))  # noqa: E731
    return alive, s * mp.quad(density, points)


def mp_pnbd_while_alive(r, alpha, s, beta, x, T, t):
    r, alpha, s, beta, x, T, t = (mp.mpf(v) for v in (r, alpha, s, beta, x, T, t))
    scale = (r + x) * (beta + T) / (alpha + T)
    if s == 1:
        return scale * mp.log1p(t / (beta + T))
    return scale / (s - 1) * (1 - ((beta + T) / (beta + T + t)) ** (s - 1))


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------


def _failures(checks):
    return [label for label, ok in checks if not ok]


@pytest.mark.parametrize(
    ("model_class", "modified"), [(BetaGeoModel, False), (ModifiedBetaGeoModel, True)]
)
def test_beta_geometric_models_match_mpmath_on_the_grid(model_class, modified) -> None:
    checks = []
    n_reference = [0]
    for params in GRID + SPECIAL_BG:
        r, alpha, a, b = params
        model = model_class.from_params(dict(zip(model_class.param_names, params, strict=True)))
        x, t_x, T = (np.array([h[i] for h in HISTORIES], dtype=float) for i in range(3))
        with np.errstate(invalid="raise", over="raise"):  # no overflow, 0 * inf or NaN on the way
            ll = model.log_likelihood(x, t_x, T)
            alive = model.probability_alive(x, t_x, T)
            expected = model.expected_purchases(HORIZON, x, t_x, T)
        new = model.expected_purchases_new_customer(np.array([HORIZON, 4 * HORIZON]))
        for i, (xi, ti, Ti) in enumerate(HISTORIES):
            label = f"{params} x={xi} t_x={ti} T={Ti}"
            want_alive = mp_bg_alive(r, alpha, a, b, xi, ti, Ti, modified)
            while_alive = mp_while_alive(
                a, b + xi + (1 if modified else 0), r + xi, HORIZON / (alpha + Ti)
            )
            want_ll = mp_bg_log_likelihood(r, alpha, a, b, xi, ti, Ti, modified)
            checks += [
                (f"log-likelihood {label}", _close_log(float(ll[i]), want_ll)),
                (f"P(alive) {label}", _close(float(alive[i]), want_alive)),
            ]
            if while_alive is None:
                bound = _bounds_hold(float(expected[i] / alive[i]), r + xi, HORIZON / (alpha + Ti))
                checks.append((f"E[Y] bounds {label}", bound))
            else:
                expect = _close(float(expected[i]), want_alive * while_alive)
                checks.append((f"E[Y] {label}", expect))
                n_reference[0] += 1
        share = mp.mpf(b) / (a + b) if modified else 1
        for i, t in enumerate((HORIZON, 4 * HORIZON)):
            want = mp_while_alive(a, b + (1 if modified else 0), r, t / alpha)
            if want is None:
                bound = _bounds_hold(float(new[i] / share), r, t / alpha)
                checks.append((f"E[X({t})] bounds {params}", bound))
            else:
                checks.append((f"E[X({t})] {params}", _close(float(new[i]), share * want)))
                n_reference[0] += 1
    assert not _failures(checks), _failures(checks)[:20]
    assert n_reference[0] >= 50  # the rest (thousands of purchases) against the bounds
    assert not _failures(checks), _failures(checks)[:20]


def test_pareto_nbd_matches_mpmath_on_the_grid() -> None:
    checks = []
    for params in GRID:
        r, alpha, s, beta = params
        model = ParetoNBDModel.from_params(
            dict(zip(ParetoNBDModel.param_names, params, strict=True))
        )
        x, t_x, T = (np.array([h[i] for h in HISTORIES], dtype=float) for i in range(3))
        ll = model.log_likelihood(x, t_x, T)
        alive = model.probability_alive(x, t_x, T)
        expected = model.expected_purchases(HORIZON, x, t_x, T)
        new = model.expected_purchases_new_customer(np.array([HORIZON, 4 * HORIZON]))
        for i, (xi, ti, Ti) in enumerate(HISTORIES):
            label = f"{params} x={xi} t_x={ti} T={Ti}"
            e, death = mp_pnbd_parts(r, alpha, s, beta, xi, ti, Ti)
            want_alive = e / (e + death)
            want_ll = (
                mp.loggamma(r + xi)
                - mp.loggamma(r)
                + r * mp.log(alpha)
                + s * mp.log(beta)
                + mp.log(e + death)
            )
            while_alive = mp_pnbd_while_alive(r, alpha, s, beta, xi, Ti, HORIZON)
            checks += [
                (f"log-likelihood {label}", _close_log(float(ll[i]), want_ll)),
                (f"P(alive) {label}", _close(float(alive[i]), want_alive)),
                (f"E[Y] {label}", _close(float(expected[i]), want_alive * while_alive)),
            ]
        for i, t in enumerate((HORIZON, 4 * HORIZON)):
            want = mp_pnbd_while_alive(r, alpha, s, beta, 0, 0, t)
            checks.append((f"E[X({t})] {params}", _close(float(new[i]), want)))
    assert not _failures(checks), _failures(checks)[:20]


def test_expected_purchases_while_alive_against_mpmath_at_the_extremes() -> None:
    cases = list(itertools.product((1e-3, 1.0 + 1e-7, 2e4, 1e6), (1e-3, 1.2e5, 1e6), (0.3, 500.0)))
    for a, b, k in cases:
        for u in (1e-6, 0.05, 2.0):
            got = float(expected_purchases_while_alive(a, b, k, u))
            want = mp_while_alive(a, b, k, u)
            assert _bounds_hold(got, k, u), (a, b, k, u, got)
            assert want is None or _close(got, want), (a, b, k, u, got, want)


def test_known_failure_is_finite_for_every_customer_and_parameter_draw() -> None:
    # BG/NBD optimum a ~ 2e4, b ~ 1.2e5: (1 - z)^(a - 1) = 0 times hyp2f1 = inf before
    model = BetaGeoModel.from_params({"r": 2.0, "alpha": 10.0, "a": 2e4, "b": 1.2e5})
    x = np.arange(0.0, 60.0)
    T = np.full_like(x, 60.0)
    t_x = np.where(x > 0, 55.0, 0.0)
    expected = model.expected_purchases(52.0, x, t_x, T)
    assert np.isfinite(expected).all() and (expected > 0).all()
    # parameter draws broadcast as (n_draws, 1) against customers
    rng = np.random.default_rng(0)
    draws = tuple(
        (v * np.exp(0.05 * rng.standard_normal(200)))[:, None] for v in (2.0, 10.0, 2e4, 1.2e5)
    )
    with np.errstate(invalid="raise", over="raise"):
        alive = BetaGeoModel._expected_purchases_if_alive(draws, 52.0, x, T)
    assert alive.shape == (200, x.size) and np.isfinite(alive).all()
