"""Conditional purchase pmf and predictive intervals (clvreport.models.predictive)."""

from __future__ import annotations

import mpmath
import numpy as np
import pandas as pd
import pytest

from clvreport.models import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel, fit_clv_models
from clvreport.models.predictive import (
    HOLDOUT_SCORE_COLUMNS,
    conditional_purchase_pmf,
    holdout_intervals,
    interval_check,
    normal_mixture_interval,
    predictive_interval,
    purchase_moments,
    purchase_pmf,
)

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
MBG = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
PNBD = {"r": 0.55315, "alpha": 10.57633, "s": 0.60625, "beta": 11.67150}
MODELS = {
    "bgnbd": (BetaGeoModel, BG),
    "mbgnbd": (ModifiedBetaGeoModel, MBG),
    "pnbd": (ParetoNBDModel, PNBD),
}
X = np.array([0, 0, 1, 2, 5, 20, 120], dtype=float)
T_X = np.array([0, 0, 2.0, 30.43, 10.0, 37.0, 38.5])
T = np.array([38.86, 2.0, 38.0, 38.86, 38.0, 38.0, 38.86])


def _model(name: str, params: dict | None = None):
    cls, default = MODELS[name]
    return cls.from_params(params or default)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("t", [0.5, 39.0, 104.0])
def test_pmf_sums_to_one_and_its_mean_is_the_conditional_expectation(name, t) -> None:
    model = _model(name)
    pmf = conditional_purchase_pmf(model, t, X, T_X, T)
    assert np.all(pmf >= 0)
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0, atol=1e-10)
    mean = pmf @ np.arange(pmf.shape[1])
    np.testing.assert_allclose(mean, model.expected_purchases(t, X, T_X, T), rtol=0, atol=1e-6)
    # P(X = 0) is one minus the probability of a purchase
    np.testing.assert_allclose(
        pmf[:, 0], 1.0 - model.probability_of_purchase(t, X, T_X, T), atol=1e-10
    )


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("bgnbd", {"r": 2.0, "alpha": 50.0, "a": 2e4, "b": 1.2e5}),
        ("mbgnbd", {"r": 0.1, "alpha": 1e-3, "a": 1e-3, "b": 1e6}),
        ("pnbd", {"r": 1e3, "alpha": 1e5, "s": 1e-3, "beta": 1e6}),
        ("pnbd", {"r": 0.3, "alpha": 1.0, "s": 50.0, "beta": 2.0}),
    ],
)
def test_pmf_is_finite_and_proper_near_the_boundary(name, params) -> None:
    pmf = conditional_purchase_pmf(_model(name, params), 52.0, X, T_X, T, n_max=2000)
    assert np.all(np.isfinite(pmf)) and np.all(pmf >= 0)
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0, atol=1e-9)


def _likelihood_weighted_draws(name: str, params: dict, x, t_x, T, n, rng):
    """Prior draws of the latent traits with the weight of the history and P(alive | traits)."""
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    if name == "pnbd":
        mu = rng.gamma(params["s"], 1.0 / params["beta"], n)
        alive = x * np.log(lam) - (lam + mu) * T
        total = lam + mu
        dead = (
            x * np.log(lam) + np.log(mu / total) + np.log(np.exp(-total * t_x) - np.exp(-total * T))
        )
        return lam, mu, np.logaddexp(alive, dead), np.exp(alive - np.logaddexp(alive, dead))
    p = rng.beta(params["a"], params["b"], n)
    survived = x + (1 if name == "mbgnbd" else 0)  # dropout chances survived while alive
    alive = survived * np.log1p(-p) + x * np.log(lam) - lam * T
    if name == "bgnbd" and x == 0:
        return lam, p, alive, np.ones(n)
    dead = np.log(p) + (survived - 1) * np.log1p(-p) + x * np.log(lam) - lam * t_x
    return lam, p, np.logaddexp(alive, dead), np.exp(alive - np.logaddexp(alive, dead))


@pytest.mark.parametrize("name", list(MODELS))
def test_pmf_agrees_with_a_simulation_from_the_posterior(name) -> None:
    """Importance sampling: prior draws weighted by the history's likelihood, then the future."""
    rng = np.random.default_rng(7)
    model, params, t, n = _model(name), MODELS[name][1], 39.0, 400_000
    for x, t_x, age in [(0.0, 0.0, 30.0), (2.0, 30.43, 38.86), (6.0, 12.0, 38.0)]:
        lam, other, log_w, p_alive = _likelihood_weighted_draws(name, params, x, t_x, age, n, rng)
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
        alive = rng.random(n) < p_alive
        if name == "pnbd":
            life = rng.exponential(1.0 / other)
            future = rng.poisson(lam * np.minimum(life, t))
        else:
            until_dropout = rng.geometric(other)  # purchases up to and including the dropout
            future = np.minimum(rng.poisson(lam * t), until_dropout)
        future = np.where(alive, future, 0)
        pmf = conditional_purchase_pmf(model, t, [x], [t_x], [age])[0]
        simulated = np.bincount(future, weights=w, minlength=pmf.size)[: pmf.size]
        ess = 1.0 / np.sum(w**2)
        tolerance = 4.0 * np.sqrt(pmf * (1 - pmf) / ess) + 2e-3
        assert np.all(np.abs(simulated[:8] - pmf[:8]) < tolerance[:8]), (x, simulated[:8], pmf[:8])


def test_pareto_pmf_agrees_with_mpmath() -> None:
    """The quadrature over the time of death against mpmath's adaptive quadrature (30 digits)."""
    mpmath.mp.dps = 30
    r, alpha, s, beta = (mpmath.mpf(PNBD[k]) for k in ("r", "alpha", "s", "beta"))
    model = _model("pnbd")
    for x, t_x, age, t in [(0, 0, 38.0, 39.0), (3, 20.0, 38.0, 39.0), (15, 37.0, 38.0, 80.0)]:
        pmf = conditional_purchase_pmf(model, t, [x], [t_x], [age], n_max=40)[0]
        p_alive = float(model.probability_alive(x, t_x, age))
        R, A, B = r + x, alpha + age, beta + age

        def nbd(k, tau, R=R, A=A):
            return (
                mpmath.exp(mpmath.loggamma(R + k) - mpmath.loggamma(R) - mpmath.loggamma(k + 1))
                * (A / (A + tau)) ** R
                * (tau / (A + tau)) ** k
            )

        for k in (0, 1, 2, 5, 12, 25):
            survive = (B / (B + t)) ** s
            dying = mpmath.quad(
                lambda tau, k=k, B=B: s / (B + tau) * (B / (B + tau)) ** s * nbd(k, tau), [0, t]
            )
            exact = p_alive * float(survive * nbd(k, t) + dying) + (1 - p_alive) * (k == 0)
            assert pmf[k] == pytest.approx(exact, rel=1e-8, abs=1e-14), (x, k)


@pytest.mark.parametrize("name", list(MODELS))
def test_moments_and_point_interval_follow_the_pmf(name) -> None:
    model = _model(name)
    pmf = conditional_purchase_pmf(model, 39.0, X, T_X, T)
    k = np.arange(pmf.shape[1])
    mean, variance = purchase_moments(model, model._params(), 39.0, X, T_X, T)
    np.testing.assert_allclose(mean, pmf @ k, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(variance, pmf @ k**2 - (pmf @ k) ** 2, rtol=1e-3, atol=1e-4)
    result = predictive_interval(model, model._params(), 39.0, X, T_X, T, interval=0.9)
    cdf = np.cumsum(pmf, axis=1)
    np.testing.assert_array_equal(result.low, np.argmax(cdf >= 0.05 - 1e-12, axis=1))
    np.testing.assert_array_equal(result.high, np.argmax(cdf >= 0.95 - 1e-12, axis=1))


def test_mixing_over_draws_adds_parameter_uncertainty() -> None:
    model = _model("bgnbd")
    rng = np.random.default_rng(0)
    point = np.array(list(BG.values()))
    draws = point * np.exp(rng.normal(0, 0.3, (300, 4)))
    params = tuple(draws[:, [i]] for i in range(4))
    x, t_x, age = np.array([4.0] * 3), np.array([35.0] * 3), np.array([38.0] * 3)
    narrow = predictive_interval(model, model._params(), 52.0, x, t_x, age)
    wide = predictive_interval(model, params, 52.0, x, t_x, age, mixture_draws=None)
    assert np.all(wide.high >= narrow.high) and np.all(wide.low <= narrow.low)
    # the mixture equals the average of the draws' pmfs
    mixed = purchase_pmf(model, params, 52.0, x[:1], t_x[:1], age[:1], n_max=200).mean(axis=0)[0]
    cdf = np.cumsum(mixed)
    assert wide.high[0] == np.argmax(cdf >= 0.95 - 1e-12)


def test_normal_mixture_interval() -> None:
    low, high = normal_mixture_interval(np.array([[100.0, 0.0]]), np.array([[25.0, 0.0]]))
    np.testing.assert_allclose(low, [100 - 1.6449 * 5, 0.0], atol=1e-3)
    np.testing.assert_allclose(high, [100 + 1.6449 * 5, 0.0], atol=1e-3)
    # two equally likely parameter sets far apart: the interval spans both
    low, high = normal_mixture_interval(np.array([[100.0], [200.0]]), np.array([[1.0], [1.0]]))
    assert low[0] < 100 and high[0] > 200
    # NaN draws are ignored
    low, high = normal_mixture_interval(np.array([[100.0], [np.nan]]), np.array([[25.0], [1.0]]))
    assert low[0] == pytest.approx(100 - 1.6449 * 5, abs=1e-3)


def test_interval_of_a_sum_agrees_with_simulation() -> None:
    """Normal approximation of a sum of independent customers' counts vs sampling the pmfs."""
    model = _model("bgnbd")
    rng = np.random.default_rng(3)
    n = 400
    x = rng.integers(0, 6, n).astype(float)
    age = rng.uniform(20, 39, n)
    t_x = np.where(x > 0, age * rng.uniform(0.2, 1.0, n), 0.0)
    pmf = conditional_purchase_pmf(model, 52.0, x, t_x, age)
    cdf = np.cumsum(pmf, axis=1)
    sims = (rng.random((4000, n, 1)) > cdf[None]).sum(axis=2).sum(axis=1)
    mean, variance = purchase_moments(model, model._params(), 52.0, x, t_x, age)
    low, high = normal_mixture_interval(mean.sum()[None, None], variance.sum()[None, None])
    assert low[0] == pytest.approx(np.quantile(sims, 0.05), rel=0.03)
    assert high[0] == pytest.approx(np.quantile(sims, 0.95), rel=0.03)


# ---------------------------------------------------------------------------
# coverage on simulated customers with a holdout period
# ---------------------------------------------------------------------------


def simulate_with_holdout(
    name: str, params: dict, n: int, calibration: float, holdout: float, seed: int
) -> pd.DataFrame:
    """Customers from the model's story, observed in a calibration period and a holdout.

    First purchases are spread over the first 12 weeks; every purchase time is
    simulated, so the holdout counts follow from the same latent customers.
    """
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, 12, n)
    age = calibration - start
    window = age + holdout
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    events = rng.poisson(lam * window)
    owner = np.repeat(np.arange(n), events)
    times = rng.uniform(0, 1, owner.size) * window[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(events) - events, events)
    if name == "pnbd":
        death = rng.exponential(1.0 / rng.gamma(params["s"], 1.0 / params["beta"], n))
        kept = times < death[owner]
    else:
        p = np.clip(rng.beta(params["a"], params["b"], n), 1e-12, 1)
        # BG: purchases 1..G are made (dropout after the G-th); MBG: dropout also at 0
        limit = rng.geometric(p) - (1 if name == "mbgnbd" else 0)
        kept = rank < limit[owner]
    owner, times = owner[kept], times[kept]
    in_calibration = times <= age[owner]
    x = np.bincount(owner[in_calibration], minlength=n)
    t_x = np.zeros(n)
    np.maximum.at(t_x, owner[in_calibration], times[in_calibration])
    holdout_count = np.bincount(owner[~in_calibration], minlength=n)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "frequency": x,
            "recency": t_x,
            "T": age,
            "monetary_value": 0.0,
            "frequency_holdout": holdout_count,
            "duration_holdout": holdout,
        }
    )


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("bgnbd", BG),
        ("mbgnbd", MBG),
        ("pnbd", PNBD),
    ],
)
def test_coverage_on_simulated_customers_is_nominal(name, params) -> None:
    calibration = simulate_with_holdout(name, params, 12_000, 39.0, 39.0, seed=11)
    model = _model(name).fit(calibration)
    scores, coverage = holdout_intervals(model, calibration, n_draws=100)
    assert list(scores.columns) == HOLDOUT_SCORE_COLUMNS
    assert len(scores) == len(calibration)
    # a count interval covers at least its nominal 90%; with many customers
    # certain to buy nothing it covers more. Check against what the model implies.
    pmf = conditional_purchase_pmf(
        model, 39.0, calibration["frequency"], calibration["recency"], calibration["T"]
    )
    cdf = np.cumsum(pmf, axis=1)
    low = scores["holdout_purchases_low"].to_numpy().astype(int)
    high = scores["holdout_purchases_high"].to_numpy().astype(int)
    rows = np.arange(len(cdf))
    implied = cdf[rows, high] - np.where(low > 0, cdf[rows, np.maximum(low - 1, 0)], 0.0)
    assert 0.89 <= coverage <= 0.97
    assert coverage == pytest.approx(implied.mean(), abs=0.015)
    assert np.all(scores["holdout_purchases_low"] <= scores["holdout_purchases_high"])


HEAVY = {
    "bgnbd": {"r": 4.0, "alpha": 20.0, "a": 0.5, "b": 10.0},
    "pnbd": {"r": 4.0, "alpha": 20.0, "s": 0.5, "beta": 100.0},
}


@pytest.mark.parametrize("name", sorted(HEAVY))
def test_misses_fall_on_both_sides_in_proportion(name) -> None:
    """Frequent buyers, whose lower bound is often above 0: misses below and above both
    happen, each as often as the model expects (the chances it reports per customer)."""
    calibration = simulate_with_holdout(name, HEAVY[name], 8_000, 52.0, 39.0, seed=21)
    model = _model(name).fit(calibration)
    scores, coverage = holdout_intervals(model, calibration, n_draws=50)
    check = interval_check(scores)
    assert check.customers == len(calibration)
    assert check.coverage == pytest.approx(coverage)
    assert check.above + check.below == pytest.approx(1 - coverage)
    assert check.lower_bound_zero < 0.8
    assert check.above > 0.02 and check.below > 0.005
    assert check.above == pytest.approx(check.expected_above, abs=0.012)
    assert check.below == pytest.approx(check.expected_below, abs=0.012)
    # each side's chance is at most its 5%, and nobody falls below a lower bound of 0
    assert (scores["chance_below"] <= 0.05 + 1e-9).all()
    assert (scores["chance_above"] <= 0.05 + 1e-9).all()
    zero = scores["holdout_purchases_low"] == 0
    assert (scores.loc[zero, "chance_below"] == 0).all()
    lower = scores["holdout_purchases"] < scores["holdout_purchases_low"]
    assert not (lower & zero).any()


def test_interval_check_counts_each_side() -> None:
    scores = pd.DataFrame(
        {
            "holdout_purchases": [0, 4, 1, 9],
            "holdout_purchases_low": pd.array([0, 1, 2, 2], dtype="Int64"),
            "holdout_purchases_high": pd.array([2, 5, 6, pd.NA], dtype="Int64"),
            "chance_below": [0.0, 0.02, 0.04, np.nan],
            "chance_above": [0.03, 0.04, 0.01, np.nan],
        }
    )
    check = interval_check(scores)
    assert check.customers == 3  # the customer without an interval is left out
    assert (check.coverage, check.above, check.below) == pytest.approx((2 / 3, 0.0, 1 / 3))
    assert check.expected_below == pytest.approx(0.02)
    assert check.expected_above == pytest.approx(0.08 / 3)
    assert check.lower_bound_zero == pytest.approx(1 / 3)
    assert check.to_dict()["below"] == pytest.approx(0.3333)


def test_holdout_intervals_need_the_holdout_columns() -> None:
    from clvreport.errors import ModelError

    frame = pd.DataFrame({"customer_id": [1], "frequency": [0], "recency": [0.0], "T": [5.0]})
    with pytest.raises(ModelError, match="frequency_holdout"):
        holdout_intervals(_model("bgnbd"), frame)


def test_fit_and_predict_end_to_end_on_simulated_data() -> None:
    calibration = simulate_with_holdout("bgnbd", BG, 5_000, 39.0, 26.0, seed=5)
    fit = fit_clv_models(calibration, model="bgnbd")
    scores, coverage = holdout_intervals(fit.candidates["bgnbd"].model, calibration, n_draws=50)
    assert 0.88 <= coverage <= 0.98
    assert scores["expected_holdout_purchases"].sum() == pytest.approx(
        calibration["frequency_holdout"].sum(), rel=0.1
    )


def test_non_finite_draws_are_left_out_of_the_mixture() -> None:
    model = _model("bgnbd")
    point = np.array(list(BG.values()))
    draws = np.repeat(point[None, :], 4, axis=0)
    draws[1, 3] = np.nan  # a draw whose predictions fail
    draws[2, 0] = np.inf
    params = tuple(draws[:, [i]] for i in range(4))
    x, t_x, age = np.array([0.0, 4.0]), np.array([0.0, 35.0]), np.array([38.0, 38.0])
    clean = predictive_interval(model, model._params(), 39.0, x, t_x, age)
    mixed = predictive_interval(model, params, 39.0, x, t_x, age)
    np.testing.assert_array_equal(mixed.low, clean.low)
    np.testing.assert_array_equal(mixed.high, clean.high)


def test_holdout_intervals_in_blocks_equal_one_pass(monkeypatch) -> None:
    """The blocks that bound memory at scale change no customer's interval."""
    from clvreport.models import predictive

    calibration = simulate_with_holdout("pnbd", PNBD, 3_000, 39.0, 26.0, seed=8)
    model = _model("pnbd").fit(calibration)
    whole, coverage = holdout_intervals(model, calibration, n_draws=20)
    monkeypatch.setattr(predictive, "_HOLDOUT_BLOCK", 97)
    blocked, blocked_coverage = holdout_intervals(model, calibration, n_draws=20)
    pd.testing.assert_frame_equal(blocked, whole)
    assert blocked_coverage == coverage


def test_counts_are_cut_at_the_ceiling_for_a_draw_far_outside_any_data():
    """A draw with an immense purchase rate stops at COUNT_CEILING instead of exhausting memory."""
    from clvreport.models.bgnbd import BetaGeoModel
    from clvreport.models.predictive import COUNT_CEILING, predictive_interval, purchase_cap

    wild = (1e4, 1e-9, 0.5, 5.0)  # r / alpha: ~1e13 purchases a week
    assert int(purchase_cap(wild, 52.0, 3.0, 40.0)) == COUNT_CEILING
    ordinary = (0.243, 4.414, 0.793, 2.426)
    assert int(purchase_cap(ordinary, 52.0, 3.0, 40.0)) < 100
    draws = [np.array([w, o]) for w, o in zip(wild, ordinary, strict=True)]
    result = predictive_interval(
        BetaGeoModel, draws, x=[3.0], t_x=[30.0], T=[40.0], t=52.0, interval=0.9
    )
    # the wild draw cannot explain three purchases in 40 weeks (it is as good as dead):
    # the interval comes from the ordinary draw, computed up to the ceiling only
    assert 0 <= result.low[0] <= result.high[0] < 100
