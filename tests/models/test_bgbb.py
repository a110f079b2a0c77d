"""BG/BB: the published donor fit, 30-digit references, the model's properties, simulations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln, hyp2f1

from clvreport.errors import DataError, ModelError
from clvreport.models.base import MaximumLikelihoodModel
from clvreport.models.bgbb import BetaGeoBetaBinomModel, bgbb_objective, simulate_bgbb
from clvreport.models.discrete import compress_discrete

DONORS = Path(__file__).resolve().parents[1] / "data" / "donations" / "donations_1995_cohort.csv"
PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
POINTS = [
    (1.204, 0.750, 0.657, 2.783),
    (0.3, 0.2, 5.0, 0.1),
    (2.5, 7.0, 1.0 + 1e-7, 40.0),  # gamma next to 1, where eq. 13 is 0/0
    (4e5, 6e5, 0.5, 1.5),  # nearly no purchase heterogeneity
]
HISTORIES = [(0, 0, 6), (1, 1, 6), (3, 4, 6), (3, 6, 6), (6, 6, 6), (2, 5, 11), (0, 0, 0)]


@pytest.fixture(scope="module")
def donors() -> pd.DataFrame:
    return pd.read_csv(DONORS)


@pytest.fixture(scope="module")
def donor_fit(donors: pd.DataFrame) -> BetaGeoBetaBinomModel:
    return BetaGeoBetaBinomModel().fit(donors, weights="donors")


def model_at(params) -> BetaGeoBetaBinomModel:
    names = BetaGeoBetaBinomModel.param_names
    return BetaGeoBetaBinomModel.from_params(dict(zip(names, params, strict=True)))


# ---------------------------------------------------------------------------
# 30-digit references, straight from Fader, Hardie & Shang (2010)
# ---------------------------------------------------------------------------

mp.mp.dps = 30


def _b(a, b):
    return mp.beta(a, b)


def mp_likelihood(params, x, t_x, n):
    """Eq. (5) and its first ("alive at n") term."""
    a, b, g, d = map(mp.mpf, params)
    alive = _b(a + x, b + n - x) / _b(a, b) * _b(g, d + n) / _b(g, d)
    dead = mp.fsum(
        _b(a + x, b + t_x - x + i) / _b(a, b) * _b(g + 1, d + t_x + i) / _b(g, d)
        for i in range(n - t_x)
    )
    return alive + dead, alive


def mp_alive(params, x, t_x, n):
    """Eq. (11)."""
    a, b, g, d = map(mp.mpf, params)
    like, _ = mp_likelihood(params, x, t_x, n)
    return _b(a + x, b + n - x) / _b(a, b) * _b(g, d + n + 1) / _b(g, d) / like


def mp_expected(params, future, x, t_x, n):
    """Eq. (13)."""
    a, b, g, d = map(mp.mpf, params)
    like, _ = mp_likelihood(params, x, t_x, n)
    bracket = mp.gamma(1 + d + n) / mp.gamma(g + d + n) - mp.gamma(1 + d + n + future) / mp.gamma(
        g + d + n + future
    )
    return (
        _b(a + x + 1, b + n - x)
        / _b(a, b)
        * d
        / (g - 1)
        * mp.gamma(g + d)
        / mp.gamma(1 + d)
        * bracket
        / like
    )


def mp_expected_new(params, n):
    """Eq. (7)."""
    a, b, g, d = map(mp.mpf, params)
    ratio = mp.gamma(g + d) / mp.gamma(g + d + n) * mp.gamma(1 + d + n) / mp.gamma(1 + d)
    return a / (a + b) * d / (g - 1) * (1 - ratio)


def mp_dert(params, x, t_x, n, rate):
    """Eq. (14)."""
    a, b, g, d = map(mp.mpf, params)
    like, _ = mp_likelihood(params, x, t_x, n)
    z = 1 / (1 + mp.mpf(rate))
    return (
        _b(a + x + 1, b + n - x)
        / _b(a, b)
        * _b(g, d + n + 1)
        / _b(g, d)
        * z
        * mp.hyp2f1(1, d + n + 1, g + d + n + 1, z)
        / like
    )


def mp_pmf(params, k, future, x, t_x, n):
    """P(X(n, n + n*) = k | x, t_x, n), integrating the individual-level model term by term.

    Given p and theta, a customer alive at n survives S more opportunities (S < n*: theta
    (1 - theta)^S, S = n*: (1 - theta)^n*) and buys Binomial(S, p) times; every term of
    prior * likelihood * that is a product of two beta functions.
    """
    a, b, g, d = map(mp.mpf, params)
    like, alive = mp_likelihood(params, x, t_x, n)
    total = mp.mpf(0)
    for s in range(k, future + 1):
        survive = _b(g + 1, d + n + s) if s < future else _b(g, d + n + future)
        total += (
            mp.binomial(s, k) * _b(a + x + k, b + n - x + s - k) / _b(a, b) * survive / _b(g, d)
        )
    if k == 0:
        total += like - alive
    return total / like


# ---------------------------------------------------------------------------
# the published fit
# ---------------------------------------------------------------------------


def test_donor_cohort_reproduces_the_published_estimates(
    donor_fit: BetaGeoBetaBinomModel, donors: pd.DataFrame
) -> None:
    assert int(donors["donors"].sum()) == 11_104
    assert donor_fit.converged_ and donor_fit.boundary_ is None
    for name, value in PUBLISHED.items():
        assert donor_fit.params_[name] == pytest.approx(value, abs=6e-4), name
    assert donor_fit.log_likelihood_ == pytest.approx(-33_225.6, abs=0.05)
    assert donor_fit.n_customers_ == 11_104
    errors = donor_fit.standard_errors_
    assert all(0 < errors[k] < 0.5 * donor_fit.params_[k] for k in PUBLISHED)
    # the optimum itself, to more digits (lifetimes 0.11.3 finds the same point)
    assert donor_fit.params_["alpha"] == pytest.approx(1.203522, abs=2e-6)
    assert donor_fit.params_["delta"] == pytest.approx(2.783442, abs=2e-6)
    assert donor_fit.log_likelihood_ == pytest.approx(-33_225.5813, abs=1e-3)


def test_log_likelihood_sum_equals_the_fit(
    donor_fit: BetaGeoBetaBinomModel, donors: pd.DataFrame
) -> None:
    ll = donor_fit.log_likelihood(donors["frequency"], donors["recency"], donors["periods"])
    assert float(ll @ donors["donors"]) == pytest.approx(donor_fit.log_likelihood_, rel=1e-12)


def test_round_trip_through_json(donor_fit: BetaGeoBetaBinomModel) -> None:
    data = json.loads(json.dumps(donor_fit.to_dict(), allow_nan=False))
    assert data["model"] == "bgbb" and data["time_unit"] == "years"
    assert set(data["params"]) == set(PUBLISHED)
    again = MaximumLikelihoodModel.from_dict(data)
    assert isinstance(again, BetaGeoBetaBinomModel)
    assert again.params_ == donor_fit.params_
    assert again.standard_errors_ == donor_fit.standard_errors_
    assert again.log_likelihood_ == donor_fit.log_likelihood_
    np.testing.assert_array_equal(again.covariance_log_, donor_fit.covariance_log_)
    assert again.to_dict() == donor_fit.to_dict()


# ---------------------------------------------------------------------------
# against the 30-digit references
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("params", POINTS)
def test_against_mpmath(params) -> None:
    model = model_at(params)
    x, t_x, n = (np.array(c) for c in zip(*HISTORIES, strict=True))
    want_ll = [float(mp.log(mp_likelihood(params, *h)[0])) for h in HISTORIES]
    want_alive = [float(mp_alive(params, *h)) for h in HISTORIES]
    want_mean = [float(mp_expected(params, 7, *h)) for h in HISTORIES]
    want_dert = [float(mp_dert(params, *h, 0.08)) for h in HISTORIES]
    np.testing.assert_allclose(model.log_likelihood(x, t_x, n), want_ll, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.probability_alive(x, t_x, n), want_alive, rtol=1e-9)
    np.testing.assert_allclose(model.expected_purchases(7, x, t_x, n), want_mean, rtol=1e-9)
    np.testing.assert_allclose(
        model.discounted_expected_transactions(x, t_x, n, 0.08), want_dert, rtol=1e-9
    )
    assert model.expected_purchases_new_customer(9) == pytest.approx(
        float(mp_expected_new(params, 9)), rel=1e-9
    )
    for h in [(0, 0, 6), (3, 4, 6), (6, 6, 6), (2, 5, 11)]:
        pmf = model.purchase_pmf(np.arange(8), 7, *h)
        want = [float(mp_pmf(params, k, 7, *h)) for k in range(8)]
        np.testing.assert_allclose(pmf, want, rtol=1e-9, atol=1e-14)


def test_scalars_in_scalars_out_and_broadcasting() -> None:
    model = model_at(POINTS[0])
    assert isinstance(model.probability_alive(1, 1, 6), float)
    assert isinstance(model.expected_purchases_new_customer(3), float)
    grid = model.expected_purchases(np.array([[1], [5]]), [0, 2, 6], [0, 3, 6], 6)
    assert grid.shape == (2, 3)
    assert grid[1, 2] == pytest.approx(model.expected_purchases(5, 6, 6, 6))
    assert model.expected_purchases_new_customer(np.arange(4)).shape == (4,)
    assert model.expected_purchases(0, 3, 4, 6) == 0.0
    with pytest.raises(DataError, match="frequency must be <= recency"):
        model.probability_alive(3, 2, 6)
    with pytest.raises(ModelError, match="whole number"):
        model.expected_purchases(2.5, 1, 1, 6)
    with pytest.raises(ModelError, match="discount rate"):
        model.discounted_expected_transactions(1, 1, 6, -0.1)


# ---------------------------------------------------------------------------
# properties from the paper
# ---------------------------------------------------------------------------


def test_probability_alive_properties() -> None:
    a, b, g, d = POINTS[0]
    model = model_at(POINTS[0])
    n = np.arange(1, 12)
    # a purchase at the last opportunity: alive then for sure, alive next with E[1 - theta]
    np.testing.assert_array_equal(model.probability_alive(n, n, n, next_period=False), 1.0)
    np.testing.assert_allclose(model.probability_alive(n, n, n), (d + n) / (g + d + n))
    np.testing.assert_allclose(model.probability_alive(1, n, n), (d + n) / (g + d + n))
    # the longer the gap n - t_x, the less likely alive: for fixed x and n ...
    for x in range(1, 6):
        alive = model.probability_alive(x, np.arange(x, 11), 10)
        assert np.all(np.diff(alive) > 0)
    # ... and for fixed x and t_x as n grows
    alive = model.probability_alive(2, 3, np.arange(3, 20))
    assert np.all(np.diff(alive) < 0)
    # with the same recency, more purchases mean more likely alive (the gap says more)
    assert np.all(np.diff(model.probability_alive(np.arange(1, 7), 7, 10)) < 0)
    # the no-repeat customer: alive only if never dropped out and never bought
    like = math.exp(betaln(a, b + 6) - betaln(a, b) + betaln(g, d + 7) - betaln(g, d))
    assert model.probability_alive(0, 0, 6) == pytest.approx(
        like / math.exp(model.log_likelihood(0, 0, 6)), rel=1e-12
    )


def test_pmf_sums_to_one_and_its_mean_is_the_expectation() -> None:
    for params in POINTS:
        model = model_at(params)
        for future in (1, 5, 20):
            k = np.arange(future + 1)[:, None]
            x, t_x, n = (np.array(c) for c in zip(*HISTORIES, strict=True))
            pmf = model.purchase_pmf(k, future, x, t_x, n)
            np.testing.assert_allclose(pmf.sum(axis=0), 1.0, atol=1e-12)
            np.testing.assert_allclose(
                (k * pmf).sum(axis=0), model.expected_purchases(future, x, t_x, n), rtol=1e-11
            )
            assert (pmf >= 0).all()
    model = model_at(POINTS[0])
    assert model.purchase_pmf(6, 5, 2, 3, 6) == 0.0  # more purchases than opportunities
    assert model.purchase_pmf(-1, 5, 2, 3, 6) == 0.0
    assert model.purchase_pmf(0, 0, 2, 3, 6) == 1.0


def test_dert_against_a_brute_force_sum_and_the_closed_form() -> None:
    model = model_at(POINTS[0])
    a, b, g, d = POINTS[0]
    x, t_x, n = np.array([0, 1, 3, 6, 4]), np.array([0, 1, 4, 6, 9]), np.array([6, 6, 6, 6, 12])
    for rate in (0.1, 0.02):
        s = np.arange(1, 4001)[:, None]
        cumulative = model.expected_purchases(s, x, t_x, n)
        per_period = np.diff(np.vstack([np.zeros((1, x.size)), cumulative]), axis=0)
        brute = (per_period / (1 + rate) ** s).sum(axis=0)
        dert = model.discounted_expected_transactions(x, t_x, n, rate)
        np.testing.assert_allclose(dert, brute, rtol=1e-10)
        # eq. 14 with SciPy's hyp2f1, accurate at these moderate arguments
        like = np.exp(model.log_likelihood(x, t_x, n))
        closed = (
            np.exp(betaln(a + x + 1, b + n - x) - betaln(a, b))
            * np.exp(betaln(g, d + n + 1) - betaln(g, d))
            / (1 + rate)
            * hyp2f1(1, d + n + 1, g + d + n + 1, 1 / (1 + rate))
            / like
        )
        np.testing.assert_allclose(dert, closed, rtol=1e-9)
    # without discounting the sum is finite only for gamma > 1: E[future purchases]
    assert math.isinf(model.discounted_expected_transactions(1, 1, 6, 0.0))
    steep = model_at((1.2, 0.75, 1.8, 2.8))
    want = steep.probability_alive(2, 4, 6, next_period=False) * (1.2 + 2) / (1.95 + 6)
    want *= (2.8 + 6) / (1.8 - 1)
    assert steep.discounted_expected_transactions(2, 4, 6, 0.0) == pytest.approx(want, rel=1e-12)
    # a small rate needs many terms, still to full precision
    assert model.discounted_expected_transactions(3, 4, 6, 1e-4) == pytest.approx(
        float(mp_dert(POINTS[0], 3, 4, 6, 1e-4)), rel=1e-9
    )


def test_gradient_matches_finite_differences(donors: pd.DataFrame) -> None:
    objective = bgbb_objective(compress_discrete(donors, weights="donors"))
    mixed = compress_discrete([0, 1, 2, 5, 3, 0], [0, 2, 7, 9, 3, 0], [4, 9, 9, 12, 3, 0])
    for data_objective, theta in [
        (objective, np.log([1.204, 0.750, 0.657, 2.783])),
        (objective, np.array([-1.0, 2.0, 0.5, -0.7])),
        (bgbb_objective(mixed), np.array([0.3, -0.4, 1.2, 0.1])),
        (objective, np.array([13.0, 13.5, -0.4, 1.0])),  # alpha, beta ~ 5e5
    ]:
        _, grad = data_objective(theta)
        step = 1e-6
        numeric = np.array(
            [
                (data_objective(theta + e)[0] - data_objective(theta - e)[0]) / (2 * step)
                for e in np.eye(4) * step
            ]
        )
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------------------
# simulations
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return simulate_bgbb(PUBLISHED, 20_000, 6, n_holdout=5, seed=11, latent=True)


def test_parameters_are_recovered_from_simulated_donors(simulated: pd.DataFrame) -> None:
    fit = BetaGeoBetaBinomModel().fit(simulated)
    assert fit.converged_ and fit.n_customers_ == 20_000
    for name, value in PUBLISHED.items():
        assert abs(fit.params_[name] - value) < 3.5 * fit.standard_errors_[name], name


def test_new_customer_mean_matches_simulation() -> None:
    sim = simulate_bgbb(PUBLISHED, 100_000, 10, seed=3)
    model = BetaGeoBetaBinomModel.from_params(PUBLISHED)
    mean, se = sim["frequency"].mean(), sim["frequency"].std() / math.sqrt(len(sim))
    assert abs(model.expected_purchases_new_customer(10) - mean) < 4 * se


def test_conditional_predictions_match_simulation(simulated: pd.DataFrame) -> None:
    model = BetaGeoBetaBinomModel.from_params(PUBLISHED)
    for (x, t_x), group in simulated.groupby(["frequency", "recency"]):
        if len(group) < 800:
            continue
        size = len(group)
        alive = model.probability_alive(x, t_x, 6)
        assert abs(group["alive_next"].mean() - alive) < 4 * math.sqrt(alive * (1 - alive) / size)
        pmf = model.purchase_pmf(np.arange(6), 5, x, t_x, 6)
        seen = np.bincount(group["frequency_holdout"], minlength=6) / size
        assert np.all(np.abs(seen - pmf) < 4 * np.sqrt(pmf * (1 - pmf) / size) + 1e-3), (x, t_x)


def test_predictive_intervals_cover_the_holdout(simulated: pd.DataFrame) -> None:
    fit = BetaGeoBetaBinomModel().fit(simulated)
    args = (5, simulated["frequency"], simulated["recency"], simulated["n_periods"])
    result = fit.predictive_interval(*args, interval=0.9)
    actual = simulated["frequency_holdout"].to_numpy()
    inside = (result.low <= actual) & (actual <= result.high)
    # the intervals of a count hold at least 90% under the model; how much more each
    # holds follows from the pmf, and the holdout agrees with that
    k = np.arange(6)[:, None]
    pmf = fit.purchase_pmf(k, *args)
    model_mass = np.where((result.low <= k) & (k <= result.high), pmf, 0.0).sum(axis=0)
    assert (model_mass >= 0.9 - 1e-9).all()
    expected = model_mass.mean()
    assert 0.9 <= inside.mean() and abs(inside.mean() - expected) < 0.015
    np.testing.assert_allclose(result.mean, fit.expected_purchases(*args), rtol=1e-10)
    assert (result.low <= result.mean + 1e-9).all() and (result.variance >= 0).all()
    # mixing over parameter draws widens the interval, never narrows it
    plug_in = BetaGeoBetaBinomModel.from_params(fit.params_).predictive_interval(*args)
    assert (result.high >= plug_in.high).all() and (result.low <= plug_in.low).all()


def test_a_model_without_dropout_is_a_boundary_optimum() -> None:
    # everyone bought at the last opportunity: the likelihood rises as dropout vanishes
    rng = np.random.default_rng(0)
    x = np.maximum(rng.binomial(8, rng.beta(1.2, 0.75, 3000)), 1)
    fit = BetaGeoBetaBinomModel().fit(x, np.full(3000, 8), np.full(3000, 8))
    assert fit.converged_ and fit.boundary_ == ("no_dropout",)
    assert fit.params_["gamma"] < 1e-8
    assert fit.probability_alive(0, 0, 8) == pytest.approx(1.0, abs=1e-6)
    assert fit.expected_purchases(4, 8, 8, 8) == pytest.approx(
        4 * (fit.params_["alpha"] + 8) / (fit.params_["alpha"] + fit.params_["beta"] + 8), rel=1e-6
    )


def test_invalid_inputs() -> None:
    with pytest.raises(ModelError, match="unknown period 'weeks'"):
        BetaGeoBetaBinomModel(time_unit="weeks")
    with pytest.raises(ModelError, match="needs parameter"):
        BetaGeoBetaBinomModel.from_params({"alpha": 1.0})
    with pytest.raises(ModelError, match="no customer has had a purchase opportunity"):
        BetaGeoBetaBinomModel().fit([0, 0], [0, 0], [0, 0])
    with pytest.raises(DataError, match="recency"):
        BetaGeoBetaBinomModel().fit([1], [4], [3])
    with pytest.raises(ModelError, match="has not been fitted"):
        BetaGeoBetaBinomModel().probability_alive(1, 1, 2)
