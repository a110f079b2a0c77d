"""The shifted-beta-geometric model against Fader & Hardie (2007, 2010) and first principles."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvreport.errors import DataError, ModelError
from clvreport.models import sbg
from clvreport.models.base import MaximumLikelihoodModel
from clvreport.models.sbg import (
    RenewalData,
    ShiftedBetaGeometricModel,
    check_period_unit,
    fit_cohorts,
    hyp2f1_discounted,
    renewal_data,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "subscriptions" / "sbg_survival.csv"

# Fader & Hardie (2007), years 1-7: alpha, beta, log-likelihood
PUBLISHED = {
    "regular": (0.704, 1.182, -1680.27),
    "high_end": (0.668, 3.806, -1611.16),
}
# S(8..12) in % under the fits (Fader & Hardie 2007 project years 8-12 from years 1-7)
PROJECTED = {
    "regular": [22.0, 20.4, 19.1, 18.0, 17.0],
    "high_end": [46.0, 43.6, 41.4, 39.5, 37.8],
}


@pytest.fixture(scope="module")
def survivors() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def fits(survivors: pd.DataFrame) -> dict[str, ShiftedBetaGeometricModel]:
    return {c: ShiftedBetaGeometricModel().fit_survivors(survivors[c]) for c in PUBLISHED}


# -- published estimates -----------------------------------------------------------


@pytest.mark.parametrize("cohort", list(PUBLISHED))
def test_published_estimates(fits, cohort: str) -> None:
    alpha, beta, ll = PUBLISHED[cohort]
    model = fits[cohort]
    assert model.converged_
    assert model.params_["alpha"] == pytest.approx(alpha, abs=5e-4)
    assert model.params_["beta"] == pytest.approx(beta, abs=5e-4)
    assert model.log_likelihood_ == pytest.approx(ll, abs=5e-3)
    assert model.n_customers_ == 1000
    assert model.time_unit == "years"
    assert all(0 < se < 1 for se in model.standard_errors_.values())


def test_fit_cohorts_matches_separate_fits(survivors, fits) -> None:
    together = fit_cohorts({c: survivors[c] for c in PUBLISHED})
    assert list(together) == list(PUBLISHED)
    for cohort, model in together.items():
        assert model.params_ == pytest.approx(fits[cohort].params_, rel=1e-8)


def test_pooled_cohorts_fit_worse_than_separate(survivors, fits) -> None:
    pooled = ShiftedBetaGeometricModel().fit_survivors({c: survivors[c] for c in PUBLISHED})
    assert pooled.n_customers_ == 2000
    separate = sum(m.log_likelihood_ for m in fits.values())
    # two extra parameters buy a likelihood-ratio statistic far beyond chi2(2)
    assert 2 * (separate - pooled.log_likelihood_) > 100
    assert pooled.params_["alpha"] == pytest.approx(0.5807, abs=1e-3)


def test_survivors_customers_and_table_give_the_same_fit(survivors, fits) -> None:
    counts = survivors["regular"].to_numpy()
    drops = counts[:-1] - counts[1:]
    renewals = np.r_[np.repeat(np.arange(7), drops), np.full(counts[-1], 7)]
    active = np.r_[np.zeros(drops.sum(), bool), np.ones(counts[-1], bool)]
    by_customer = ShiftedBetaGeometricModel().fit_customers(renewals, active)
    table = pd.DataFrame(
        {
            "period": np.arange(8),
            "active_at_start": counts,
            "churned": np.r_[drops, 0],
            "censored": np.r_[np.zeros(7, int), counts[-1]],
        }
    )
    by_table = ShiftedBetaGeometricModel().fit(table)
    by_table_without_censored = ShiftedBetaGeometricModel().fit(table.drop(columns="censored"))
    summary = pd.DataFrame({"renewals": renewals, "active": active})
    by_frame = ShiftedBetaGeometricModel().fit(summary)
    wide = ShiftedBetaGeometricModel().fit(survivors[["year", "regular"]])
    for model in (by_customer, by_table, by_table_without_censored, by_frame, wide):
        assert model.params_ == pytest.approx(fits["regular"].params_, rel=1e-7)
        assert model.log_likelihood_ == pytest.approx(fits["regular"].log_likelihood_, rel=1e-10)


# -- projections -------------------------------------------------------------------


@pytest.mark.parametrize("cohort", list(PUBLISHED))
def test_projection_years_8_to_12(fits, cohort: str) -> None:
    model = fits[cohort]
    table = model.projected_survival(range(8, 13), cohort_size=1000, n_draws=400, seed=1)
    assert table["period"].tolist() == [8, 9, 10, 11, 12]
    assert (100 * table["survival"]).round(1).tolist() == PROJECTED[cohort]
    assert np.all(np.diff(table["survival"]) < 0)
    assert np.all(np.diff(table["retention_rate"]) > 0)
    assert np.all(table["low"] < table["expected_active"])
    assert np.all(table["expected_active"] < table["high"])
    # year 7 is the last observed: its survivors bound the projection from above
    assert table["expected_active"].iloc[0] < 1000 * model.survival(7)
    # the published parameters give the same projection
    alpha, beta, _ = PUBLISHED[cohort]
    published = ShiftedBetaGeometricModel.from_params({"alpha": alpha, "beta": beta})
    np.testing.assert_allclose(published.survival(np.arange(8, 13)), table["survival"], atol=1e-3)


@pytest.mark.parametrize(
    ("cohort", "tolerance", "gain"), [("regular", 0.06, 0.3), ("high_end", 0.1, 0.6)]
)
def test_fit_on_years_1_to_4_projects_5_to_7(
    survivors, cohort: str, tolerance: float, gain: float
) -> None:
    """Fader & Hardie (2007), Figure 4: fitted on years 1-4, the sBG tracks years 5-7 closely."""
    counts = survivors[cohort].to_numpy(dtype=float)
    model = ShiftedBetaGeometricModel().fit_survivors(counts[:5])
    projected = 1000 * np.asarray(model.survival([5, 6, 7]))
    actual = counts[5:]
    assert np.all(np.abs(projected / actual - 1) < tolerance)
    assert np.all(projected < actual)  # both cohorts slightly under-projected
    table = model.projected_survival([5, 6, 7], cohort_size=1000, interval=0.99, n_draws=400)
    assert np.all(table["low"] < actual) and np.all(actual < table["high"] * 1.02)
    # ignoring heterogeneity (one churn rate for all, fitted on the same years) projects worse
    churned = counts[0] - counts[4]
    exposure = counts[:4].sum()
    geometric = counts[4] * (1 - churned / exposure) ** np.arange(1, 4)
    assert np.all(np.abs(projected - actual) < gain * np.abs(geometric - actual))


def test_retention_rises_and_survival_is_the_product_of_retention(fits) -> None:
    t = np.arange(1, 40)
    for model in fits.values():
        retention = model.retention_rate(t)
        assert np.all(np.diff(retention) > 0)
        np.testing.assert_allclose(model.survival(t), np.cumprod(retention), rtol=1e-12)
        churn = model.churn_probability(t)
        np.testing.assert_allclose(churn, model.survival(t - 1) - model.survival(t), rtol=1e-10)
        assert churn.sum() + model.survival(39) == pytest.approx(1.0, abs=1e-12)
        alpha, beta = model.params_["alpha"], model.params_["beta"]
        assert model.retention_rate(3) == pytest.approx((beta + 2) / (alpha + beta + 2))
        assert model.survival(0) == 1.0


def test_survival_with_parameter_draws_centres_on_the_estimate(fits) -> None:
    model = fits["regular"]
    draws = model.survival_draws(np.arange(1, 8), n_draws=2000, seed=3)
    assert draws.shape == (2000, 7)
    np.testing.assert_allclose(np.median(draws, axis=0), model.survival(np.arange(1, 8)), rtol=0.02)
    assert (
        ShiftedBetaGeometricModel.from_params({"alpha": 1, "beta": 1}).survival_draws([1]) is None
    )


def test_projection_without_covariance_has_no_interval() -> None:
    model = ShiftedBetaGeometricModel.from_params({"alpha": 0.704, "beta": 1.182})
    table = model.projected_survival([8, 9])
    assert table["low"].isna().all() and table["high"].isna().all()
    assert table["survival"].iloc[0] == pytest.approx(0.2201, abs=1e-4)


# -- lifetimes and DERL ----------------------------------------------------------------


def _brute_force_derl(model: ShiftedBetaGeometricModel, n: int, d: float, terms: int) -> float:
    t = np.arange(n + 1, n + 1 + terms)
    weights = (1.0 + d) ** -(t - n - 1.0)
    return float(np.sum(np.asarray(model.survival(t)) / model.survival(n) * weights))


@pytest.mark.parametrize("cohort", list(PUBLISHED))
@pytest.mark.parametrize("d", [0.05, 0.1, 0.25])
def test_derl_matches_brute_force_sum(fits, cohort: str, d: float) -> None:
    model = fits[cohort]
    terms = math.ceil(45 / math.log1p(d))  # (1 + d)^-terms < 1e-19
    for n in (0, 1, 2, 5, 10, 30):
        expected = _brute_force_derl(model, n, d, terms)
        value = model.discounted_expected_residual_lifetime(n, d)
        assert value == pytest.approx(expected, rel=1e-9)
    many = model.discounted_expected_residual_lifetime(np.array([0, 1, 2]), d)
    assert many.shape == (3,)
    assert np.all(np.diff(many) > 0)  # the survivors of longer are the better customers


def test_derl_matches_mpmath() -> None:
    mpmath = pytest.importorskip("mpmath")
    cases = [
        (0.704, 1.182, 0, 0.1),
        (0.668, 3.806, 4, 0.1),
        (0.704, 1.182, 9, 0.01),
        (2.5, 0.3, 3, 1e-3),
        (0.5, 2.0, 2, 2e-5),  # quadrature (the series would need > 500,000 terms)
        (0.3, 0.8, 0, 1e-7),
        (1.5, 40.0, 12, 3e-6),
    ]
    with mpmath.workdps(40):
        for alpha, beta, n, d in cases:
            model = ShiftedBetaGeometricModel.from_params({"alpha": alpha, "beta": beta})
            a, b, m, dd = (mpmath.mpf(v) for v in (alpha, beta, n, d))
            # Fader & Hardie (2010), eq. 6, for a customer with n renewals (their n - 1)
            reference = (
                (b + m) / (a + b + m) * mpmath.hyp2f1(1, b + m + 1, a + b + m + 1, 1 / (1 + dd))
            )
            value = model.discounted_expected_residual_lifetime(n, d)
            assert value == pytest.approx(float(reference), rel=1e-11), (alpha, beta, n, d)


def test_hyp2f1_discounted_closed_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    quadrature = sbg._quadrature
    monkeypatch.setattr(sbg, "_quadrature", lambda *a: calls.append(a) or quadrature(*a))
    d = np.array([1.0, 0.1, 1e-3, 1e-6, 1e-9])
    z = 1.0 / (1.0 + d)
    # 2F1(1, 1; 2; z) = -log(1 - z) / z, with 1 - z = d / (1 + d)
    expected = -np.log(d / (1 + d)) / z
    np.testing.assert_allclose(hyp2f1_discounted(1.0, 1.0, d), expected, rtol=1e-12)
    assert [c[2] for c in calls] == [1e-9, 1e-6]  # the series sums the others
    # 2F1(1, b; b + a; z) with b = 1, a = 2: 2 (z + (1 - z) log(1 - z)) / z^2
    w = d / (1 + d)
    closed = 2 * (z + w * np.log(w)) / z**2
    np.testing.assert_allclose(hyp2f1_discounted(1.0, 2.0, d), closed, rtol=1e-11)
    with pytest.raises(ValueError):
        hyp2f1_discounted(1.0, 0.0, 0.1)
    with pytest.raises(ValueError):
        hyp2f1_discounted(1.0, 1.0, 0.0)


def test_undiscounted_limits() -> None:
    model = ShiftedBetaGeometricModel.from_params({"alpha": 4.0, "beta": 3.0})
    t = np.arange(0, 20_000)
    assert model.expected_lifetime() == pytest.approx(np.sum(model.survival(t)), rel=1e-9)
    assert model.expected_lifetime() == pytest.approx((4 + 3 - 1) / 3)
    remaining = model.expected_remaining_periods(np.array([0, 3]))
    np.testing.assert_allclose(remaining, [3.0 / 3.0, 6.0 / 3.0])
    brute = np.sum(np.asarray(model.survival(t[t > 3])) / model.survival(3))
    assert remaining[1] == pytest.approx(brute, rel=1e-9)
    assert model.discounted_expected_residual_lifetime(3, 0.0) == remaining[1]
    assert model.discounted_expected_residual_lifetime(3, 1e-6) == pytest.approx(
        remaining[1], rel=1e-4
    )
    assert model.expected_remaining_periods(0) == pytest.approx(model.expected_lifetime() - 1)
    heavy = ShiftedBetaGeometricModel.from_params({"alpha": 0.704, "beta": 1.182})
    assert heavy.expected_lifetime() == math.inf
    assert heavy.expected_remaining_periods(2) == math.inf
    assert heavy.discounted_expected_residual_lifetime(2, 0.0) == math.inf
    assert math.isfinite(heavy.discounted_expected_residual_lifetime(2, 1e-4))


def test_renewal_clv_is_value_times_derl(fits) -> None:
    model = fits["high_end"]
    derl = model.discounted_expected_residual_lifetime([0, 3], 0.1)
    np.testing.assert_allclose(model.renewal_clv(250.0, [0, 3], 0.1), 250.0 * derl)
    assert model.renewal_clv(100.0, 0, 0.1) == pytest.approx(100 * derl[0])


# -- the likelihood ------------------------------------------------------------------


def test_gradient_matches_finite_differences() -> None:
    data = renewal_data(
        [0, 0, 1, 2, 2, 5, 7, 3, 0, 11],
        [False, True, False, True, False, False, True, False, True, True],
    )
    objective = ShiftedBetaGeometricModel()._objective(data)
    for theta in (np.array([0.1, -0.3]), np.array([-1.5, 2.0]), np.array([3.0, 4.0])):
        _, grad = objective(theta)
        step = 1e-6
        numeric = [
            (objective(theta + e)[0] - objective(theta - e)[0]) / (2 * step)
            for e in np.eye(2) * step
        ]
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_log_likelihood_by_hand(survivors) -> None:
    from scipy.special import betaln

    counts = survivors["high_end"].to_numpy(dtype=float)
    alpha, beta = 0.668, 3.806
    t = np.arange(1, 8)
    ll = np.sum(
        (counts[:-1] - counts[1:]) * (betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta))
    )
    ll += counts[-1] * (betaln(alpha, beta + 7) - betaln(alpha, beta))
    data = ShiftedBetaGeometricModel()._objective(
        renewal_data(
            np.r_[np.repeat(t - 1, (counts[:-1] - counts[1:]).astype(int)), [7] * 491],
            np.r_[np.zeros(509, bool), np.ones(491, bool)],
        )
    )
    value, _ = data(np.log([alpha, beta]))
    assert -value * 1000 == pytest.approx(ll, rel=1e-12)
    assert ll == pytest.approx(-1611.16, abs=0.01)


def _simulate(alpha: float, beta: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Staggered starts: customer i can be seen at up to k_i renewals, then is censored."""
    rng = np.random.default_rng(seed)
    theta = rng.beta(alpha, beta, n)
    lifetime = rng.geometric(theta)  # periods paid, T >= 1
    observable = rng.integers(0, 9, n)  # renewal dates passed by the end of the log
    churned = lifetime <= observable
    renewals = np.where(churned, lifetime - 1, observable)
    return renewals, ~churned


def test_recovers_parameters_from_simulated_customers() -> None:
    truth = {"alpha": 0.8, "beta": 2.5}
    renewals, active = _simulate(truth["alpha"], truth["beta"], 6000, seed=11)
    assert 0.2 < active.mean() < 0.8 and len(np.unique(renewals[active])) == 9
    model = ShiftedBetaGeometricModel(time_unit="months").fit_customers(renewals, active)
    assert model.converged_
    for name, value in truth.items():
        assert abs(model.params_[name] - value) < 3 * model.standard_errors_[name], name
    # the standard errors agree with those of the log-parameters' covariance
    np.testing.assert_allclose(
        np.sqrt(np.diag(model.covariance_log_)) * model.param_vector,
        [model.standard_errors_["alpha"], model.standard_errors_["beta"]],
    )


def test_no_heterogeneity_is_a_boundary_optimum() -> None:
    # expected counts of a cohort that all churn with probability 0.3 each year
    counts = 10_000 * 0.7 ** np.arange(8)
    model = ShiftedBetaGeometricModel().fit_survivors(counts)
    assert model.converged_
    assert model.boundary_ == ("no_churn_heterogeneity",)
    np.testing.assert_allclose(model.retention_rate([1, 5, 20]), 0.7, rtol=1e-6)
    assert model.discounted_expected_residual_lifetime(0, 0.1) == pytest.approx(
        0.7 / (1 - 0.7 / 1.1), rel=1e-6
    )


# -- serialisation and errors ----------------------------------------------------------


def test_to_dict_round_trip(fits) -> None:
    model = fits["regular"]
    saved = json.loads(json.dumps(model.to_dict(), allow_nan=False))
    assert saved["model"] == "sbg" and saved["time_unit"] == "years"
    again = MaximumLikelihoodModel.from_dict(saved)
    assert isinstance(again, ShiftedBetaGeometricModel)
    assert again.params_ == model.params_
    assert again.standard_errors_ == model.standard_errors_
    assert again.log_likelihood_ == model.log_likelihood_
    np.testing.assert_array_equal(again.covariance_log_, model.covariance_log_)
    assert again.time_unit == "years"
    assert again.discounted_expected_residual_lifetime(2, 0.1) == (
        model.discounted_expected_residual_lifetime(2, 0.1)
    )
    pd.testing.assert_frame_equal(
        again.projected_survival([8, 9]), model.projected_survival([8, 9])
    )
    monthly = ShiftedBetaGeometricModel.from_params({"alpha": 1, "beta": 2}, time_unit="months")
    assert ShiftedBetaGeometricModel.from_dict(monthly.to_dict()).time_unit == "months"


def test_unfit_and_invalid_inputs() -> None:
    with pytest.raises(ModelError, match="not been fitted"):
        ShiftedBetaGeometricModel().survival(1)
    with pytest.raises(ModelError, match="contract period"):
        ShiftedBetaGeometricModel(time_unit="decades")
    assert check_period_unit("Quarter") == "quarters"
    model = ShiftedBetaGeometricModel.from_params({"alpha": 1, "beta": 1})
    with pytest.raises(ModelError, match=">= 0"):
        model.survival(-1)
    with pytest.raises(ModelError, match=">= 1"):
        model.retention_rate(0)
    with pytest.raises(ModelError, match="discount rate"):
        model.discounted_expected_residual_lifetime(0, -0.1)
    with pytest.raises(ModelError, match="positive"):
        ShiftedBetaGeometricModel.from_params({"alpha": -1, "beta": 1})


def test_degenerate_data_is_refused() -> None:
    with pytest.raises(ModelError, match="no customer churned"):
        ShiftedBetaGeometricModel().fit_survivors([100, 100, 100])
    with pytest.raises(ModelError, match="no customer renewed"):
        ShiftedBetaGeometricModel().fit_customers([0, 0, 0], [False, False, True])
    with pytest.raises(ModelError, match="observed at a second renewal"):
        ShiftedBetaGeometricModel().fit_customers([0, 1, 1, 0], [False, True, True, False])
    with pytest.raises(DataError, match="rise from period 1 to 2"):
        ShiftedBetaGeometricModel().fit_survivors([100, 60, 70])
    with pytest.raises(DataError, match="at least periods 0 and 1"):
        ShiftedBetaGeometricModel().fit_survivors([100])
    with pytest.raises(DataError, match="whole numbers"):
        renewal_data([0, 1.5], [True, False])
    with pytest.raises(DataError, match="neither renewals"):
        fit_cohorts(pd.DataFrame({"cohort": ["a"], "x": [1]}))
    with pytest.raises(DataError, match="no cohort column"):
        ShiftedBetaGeometricModel().fit(pd.DataFrame({"year": [0, 1]}))
    with pytest.raises(ModelError, match="cohort 'b'"):
        fit_cohorts({"a": [10, 6, 4], "b": [10, 10, 10]})


def test_renewal_data_counts() -> None:
    data = renewal_data([0, 0, 2, 2, 5], [False, True, True, False, True], weights=[1, 2, 3, 4, 5])
    assert isinstance(data, RenewalData)
    assert data.churn_period.tolist() == [1.0, 3.0]
    assert data.churn_weight.tolist() == [1.0, 4.0]
    assert data.alive_period.tolist() == [0.0, 2.0, 5.0]
    assert data.alive_weight.tolist() == [2.0, 3.0, 5.0]
    assert data.n_customers == 15.0


def test_fit_cohorts_from_a_customer_table() -> None:
    frames = []
    for cohort, (alpha, beta), seed in (("2019", (0.7, 1.2), 1), ("2020", (0.7, 3.8), 2)):
        renewals, active = _simulate(alpha, beta, 1500, seed)
        frames.append(pd.DataFrame({"cohort": cohort, "renewals": renewals, "active": active}))
    fits = fit_cohorts(pd.concat(frames), time_unit="quarters")
    assert list(fits) == ["2019", "2020"]
    assert all(m.time_unit == "quarters" and m.converged_ for m in fits.values())
    assert fits["2019"].params_["beta"] < fits["2020"].params_["beta"]
    with pytest.raises(DataError, match="no cohort column"):
        fit_cohorts(pd.concat(frames).drop(columns="cohort"))
