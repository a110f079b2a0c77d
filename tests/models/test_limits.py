"""Limits as models: decided by likelihood, the same wherever the optimiser stops.

Simulated logs with a known truth: nobody drops out, everyone drops out with
the same probability, a real interior optimum next to the edge; and the
closed-form NBD likelihood of the no-dropout limit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from clvreport.models import BetaGeoModel, ModifiedBetaGeoModel
from clvreport.models.bgnbd import beta_geometric_objective
from clvreport.models.compression import compress_rfm
from clvreport.models.limits import (
    NO_DROPOUT,
    NO_DROPOUT_HETEROGENEITY,
    interior_starts,
    nbd_objective,
    pair_faces,
    tie_tolerance,
)
from clvreport.models.optimise import (
    BOUNDARY_LOG,
    FitDiagnostics,
    Optimum,
)
from clvreport.models.simulate import simulate_bgnbd, simulate_transactions

BG_MODELS = [BetaGeoModel, ModifiedBetaGeoModel]


def log_summary(log: pd.DataFrame, days_per_unit: float = 7.0) -> pd.DataFrame:
    """x = purchase days - 1, t_x and T from the first purchase (plain pandas)."""
    days = log.drop_duplicates(["customer_id", "date"]).groupby("customer_id")["date"]
    first, last = days.min(), days.max()
    return pd.DataFrame(
        {
            "frequency": days.count() - 1,
            "recency": (last - first).dt.days / days_per_unit,
            "T": (log["date"].max() - first).dt.days / days_per_unit,
        }
    )


def no_dropout_summary(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    """Gamma-Poisson buyers who never leave, over three years of whole days (weeks)."""
    return log_summary(simulate_transactions(n, dropout=None, seed=seed))


@pytest.fixture(scope="module")
def no_dropout() -> pd.DataFrame:
    return no_dropout_summary()


def _nbd_log_likelihood(r: float, alpha: float, summary: pd.DataFrame) -> float:
    from scipy.special import gammaln

    x, T = summary["frequency"].to_numpy(float), summary["T"].to_numpy(float)
    return float(
        np.sum(
            gammaln(r + x) - gammaln(r) + r * np.log(alpha / (alpha + T)) - x * np.log(alpha + T)
        )
    )


@pytest.mark.parametrize("model_class", BG_MODELS)
def test_a_log_without_dropout_is_fitted_as_the_nbd_model(model_class, no_dropout) -> None:
    model = model_class().fit(no_dropout)
    assert model.converged_ and model.boundary_ == (NO_DROPOUT,)
    assert not model.has_dropout
    r, alpha = model.params_["r"], model.params_["alpha"]
    # the fit is the NBD model's maximum: its closed-form likelihood, its stationary point
    assert model.log_likelihood_ == pytest.approx(_nbd_log_likelihood(r, alpha, no_dropout), 1e-9)
    _, grad = nbd_objective(compress_rfm(*(no_dropout[c] for c in ("frequency", "recency", "T"))))(
        np.log([r, alpha])
    )
    assert np.max(np.abs(grad)) < 1e-6
    # truth: r = 1 per day-rate shape; P(alive) is 1 and every prediction finite
    assert r == pytest.approx(1.0, rel=0.1)
    x, t_x, T = (no_dropout[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    np.testing.assert_allclose(model.probability_alive(x, t_x, T), 1.0, atol=1e-6)
    expected = model.expected_purchases(52.0, x, t_x, T)
    np.testing.assert_allclose(expected, (r + x) * 52.0 / (alpha + T), rtol=1e-6)
    limits = model.diagnostics_.limits
    assert limits["no_dropout"] == pytest.approx(model.log_likelihood_)
    assert limits["interior"] <= model.log_likelihood_ + 1e-3
    saved = model.to_dict()
    assert saved["boundary"] == ["no_dropout"] and saved["diagnostics"]["limits"]["no_dropout"]


@pytest.mark.parametrize("model_class", BG_MODELS)
@pytest.mark.parametrize("log_a", [-3.0, -6.0, -9.0, -12.0])
def test_the_decision_does_not_depend_on_where_the_optimiser_stopped(
    model_class, log_a, no_dropout
) -> None:
    """However far towards a -> 0 the first search got, the same limit is the fit."""
    model = model_class()
    data = compress_rfm(*(no_dropout[c] for c in ("frequency", "recency", "T")))
    objective = model._objective(data)

    def at(log_rest: np.ndarray) -> float:
        return objective(np.array([log_rest[0], log_rest[1], log_a, log_rest[2]]))[0]

    rest = optimize.minimize(at, np.zeros(3), method="Nelder-Mead", options={"maxiter": 4000}).x
    theta = np.array([rest[0], rest[1], log_a, rest[2]])
    value, _ = objective(theta)
    stopped = Optimum(theta, value, None, FitDiagnostics(True, 0.0, True, 1, True))
    optimum, _, limits = model._decide_limit(data, stopped)
    assert limits == (NO_DROPOUT,)
    reference = model_class().fit(no_dropout)
    assert -optimum.neg_ll_mean * data.n_customers == pytest.approx(
        reference.log_likelihood_, abs=1e-6
    )


@pytest.mark.parametrize("model_class", BG_MODELS)
def test_everyone_dropping_out_alike_is_the_homogeneous_limit(model_class) -> None:
    # p = 0.2 for everyone: Beta(a, b) with a, b -> inf
    scale = 1e7
    summary = simulate_bgnbd(
        {"r": 0.8, "alpha": 6.0, "a": 0.2 * scale, "b": 0.8 * scale},
        8000,
        T=(30.0, 104.0),
        seed=11,
    )
    model = model_class().fit(summary)
    assert model.converged_
    if model_class is BetaGeoModel:  # the generating model: its homogeneous limit
        assert model.boundary_ == (NO_DROPOUT_HETEROGENEITY,)
        p = model.params_["a"] / (model.params_["a"] + model.params_["b"])
        assert p == pytest.approx(0.2, abs=0.03)
    assert np.isfinite(model.expected_purchases(52.0, 3, 20.0, 50.0))


def _profile_grid(summary: pd.DataFrame, model_class) -> float:
    """The best log-likelihood over a grid of (a, b), (r, alpha) maximised at each point."""
    data = compress_rfm(*(summary[c] for c in ("frequency", "recency", "T")))
    objective = beta_geometric_objective(data, modified=model_class is ModifiedBetaGeoModel)
    best = -np.inf
    start = np.log([0.5, 5.0])
    for log_a in np.linspace(-12.0, 1.0, 14):
        for log_b in np.linspace(-10.0, 5.0, 16):

            def profile(phi: np.ndarray, log_a=log_a, log_b=log_b) -> tuple[float, np.ndarray]:
                value, grad = objective(np.array([phi[0], phi[1], log_a, log_b]))
                return value, grad[:2]

            result = optimize.minimize(profile, start, jac=True, method="BFGS")
            best = max(best, -result.fun * data.n_customers)
    return best


@pytest.mark.parametrize("model_class", BG_MODELS)
@pytest.mark.parametrize(
    ("a", "b", "n", "seed"),
    [
        (0.03, 3.0, 6000, 5),  # few customers ever drop out: interior, near a -> 0
        (0.002, 10.0, 3000, 1),  # the first search ends on the limit; the interior is better
    ],
)
def test_an_interior_optimum_next_to_the_edge_is_found(model_class, a, b, n, seed) -> None:
    summary = simulate_bgnbd(
        {"r": 0.6, "alpha": 5.0, "a": a, "b": b}, n, T=(20.0, 150.0), seed=seed
    )
    model = model_class().fit(summary)
    assert model.converged_
    grid = _profile_grid(summary, model_class)
    assert model.log_likelihood_ >= grid - 1e-6
    limits = model.diagnostics_.limits
    best_limit = max(
        v for k, v in limits.items() if k not in ("interior", "interior_from_limit") and v
    )
    if model.boundary_ is None:
        assert model.log_likelihood_ > best_limit
    else:
        assert model.log_likelihood_ >= best_limit


def test_nbd_objective_is_the_bgnbd_objective_at_the_limit_with_its_gradient(no_dropout) -> None:
    data = compress_rfm(*(no_dropout[c] for c in ("frequency", "recency", "T")))
    nbd = nbd_objective(data)
    full = beta_geometric_objective(data, modified=False)
    for phi in (np.log([1.0, 9.0]), np.log([0.3, 2.0]), np.log([5.0, 80.0])):
        value, grad = nbd(phi)
        limit_value, _ = full(np.array([phi[0], phi[1], -BOUNDARY_LOG, 0.0]))
        assert value == pytest.approx(limit_value, rel=1e-8)
        step = 1e-6
        fd = np.array(
            [(nbd(phi + step * e)[0] - nbd(phi - step * e)[0]) / (2 * step) for e in np.eye(2)]
        )
        np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-9)


def test_faces_and_starts_off_a_limit() -> None:
    faces = pair_faces(np.log([0.5, 4.0, 0.8, 2.5]))
    assert [f.limits for f in faces] == [
        ("no_dropout_heterogeneity",),
        ("no_dropout",),
        ("no_rate_heterogeneity",),
        ("no_rate_heterogeneity", "no_dropout_heterogeneity"),
        ("no_rate_heterogeneity", "no_dropout"),
    ]
    homogeneous = faces[0]
    phi = np.array([np.log(0.5), np.log(4.0), np.log(0.25)])
    for start in interior_starts(homogeneous, phi):
        # the ratio a / b (the dropout probability's odds) is kept, the concentration finite
        assert start[2] - start[3] == pytest.approx(np.log(0.25))
        assert abs(start[3]) < BOUNDARY_LOG
    assert tie_tolerance(3.0, 1000) * 1000 == pytest.approx(1e-4 + 3e-4)
