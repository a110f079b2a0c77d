"""The time to the next purchase: closed forms against mpmath and simulation, and its window.

``F(t)`` is the chance of a purchase within ``t`` of the history's end, dropout
included. It is checked three ways: against an independent mpmath evaluation
(for Pareto/NBD integrals over the dropout time and the time of death),
against 10^6 seeded draws of the posterior of one history, and against customers
simulated from the model's own story (the chance summed over them is the number
who buy).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clvreport.models import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel
from clvreport.models.next_purchase import (
    EXPECTED_SHARE,
    calendar_clock,
    next_purchase_days,
    overdue,
    probability_calibration,
    purchase_within,
    risk_labels,
)

mp = pytest.importorskip("mpmath")
mp.mp.dps = 25

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
MBG = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
PNBD = {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.67}
MODELS = {
    "bgnbd": BetaGeoModel.from_params(BG),
    "mbgnbd": ModifiedBetaGeoModel.from_params(MBG),
    "pnbd": ParetoNBDModel.from_params(PNBD),
}
# (x, t_x, T) in weeks: a one-time buyer, a regular, an overdue regular, a heavy buyer
HISTORIES = [(0, 0.0, 30.0), (3, 20.0, 32.0), (4, 10.0, 38.0), (15, 36.0, 38.0)]
TIMES = [1.0, 4.0, 13.0, 52.0]


def _arrays(history):
    return tuple(np.array([float(v)]) for v in history)


def _mp_alive(name: str, x, t_x, T):
    """P(alive) from the models' published formulas at 25 digits."""
    x, t_x, T = (mp.mpf(v) for v in (x, t_x, T))
    if name in ("bgnbd", "mbgnbd"):
        p = BG if name == "bgnbd" else MBG
        r, alpha, a, b = (mp.mpf(p[k]) for k in ("r", "alpha", "a", "b"))
        if name == "bgnbd" and x == 0:
            return mp.mpf(1)
        denominator = b + x - 1 if name == "bgnbd" else b + x
        g = a / denominator * ((alpha + T) / (alpha + t_x)) ** (r + x)
        return 1 / (1 + g)
    r, alpha, s, beta = (mp.mpf(PNBD[k]) for k in ("r", "alpha", "s", "beta"))

    # E[lambda^x e^{-lambda tau}] and E[mu^k e^{-mu tau}] under the gamma priors (constants
    # common to both parts left out)
    def rate(tau):
        return (alpha + tau) ** -(r + x)

    def alive_part():
        return rate(T) * (beta + T) ** -s

    def dead_part():  # died at tau in (t_x, T], no purchase after t_x
        return mp.quad(lambda tau: rate(tau) * s * (beta + tau) ** -(s + 1), [t_x, T])

    a_, d_ = alive_part(), dead_part()
    return a_ / (a_ + d_)


def _mp_within(name: str, t, x, t_x, T):
    """F(t) at 25 digits: P(alive) times the chance of a purchase given alive."""
    p_alive = _mp_alive(name, x, t_x, T)
    t, x, T = mp.mpf(t), mp.mpf(x), mp.mpf(T)
    if name in ("bgnbd", "mbgnbd"):
        p = BG if name == "bgnbd" else MBG
        r, alpha = mp.mpf(p["r"]), mp.mpf(p["alpha"])
        silent = ((alpha + T) / (alpha + T + t)) ** (r + x)
        return p_alive * (1 - silent)
    r, alpha, s, beta = (mp.mpf(PNBD[k]) for k in ("r", "alpha", "s", "beta"))
    shape_l, rate_l, shape_m, rate_m = r + x, alpha + T, s, beta + T

    def purchase_free(v):  # E[e^{-lambda v}] under Gamma(shape_l, rate_l)
        return (rate_l / (rate_l + v)) ** shape_l

    def dying(v):  # E[mu e^{-mu v}] under Gamma(shape_m, rate_m)
        return shape_m / rate_m * (rate_m / (rate_m + v)) ** (shape_m + 1)

    # E[mu / (lambda + mu) (1 - e^{-(lambda + mu) t}) + e^{-(lambda + mu) t}]
    # = E[e^{-(lambda + mu) t}] + int_0^t E[mu e^{-mu v}] E[e^{-lambda v}] dv
    silent = purchase_free(t) * (rate_m / (rate_m + t)) ** shape_m + mp.quad(
        lambda v: dying(v) * purchase_free(v), [0, t]
    )
    return p_alive * (1 - silent)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("history", HISTORIES[:3])
def test_chance_of_a_purchase_matches_mpmath(name, history) -> None:
    model = MODELS[name]
    x, t_x, T = _arrays(history)
    for t in TIMES[1:3]:
        ours = float(purchase_within(model, t, x, t_x, T)[0])
        exact = float(_mp_within(name, t, *history))
        assert ours == pytest.approx(exact, rel=1e-6, abs=1e-10), (name, history, t)


def _posterior_draws(name: str, history, n: int, seed: int) -> np.ndarray:
    """Times to the next purchase drawn from the posterior (inf: never), 10^6 draws."""
    rng = np.random.default_rng(seed)
    model = MODELS[name]
    x, t_x, T = history
    p_alive = float(model.probability_alive(x, t_x, T))
    alive = rng.random(n) < p_alive
    p = model.params_
    lam = rng.gamma(p["r"] + x, 1.0 / (p["alpha"] + T), n)
    wait = rng.exponential(1.0, n) / lam
    if name == "pnbd":  # dies first, at an exponential time, before buying: never again
        mu = rng.gamma(p["s"], 1.0 / (p["beta"] + T), n)
        alive &= wait < rng.exponential(1.0, n) / mu
    # BG/NBD and MBG/NBD: a customer drops out only right after a purchase, so none
    # drops out before the next one
    return np.where(alive, wait, np.inf)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("history", HISTORIES)
def test_chance_of_a_purchase_matches_posterior_draws(name, history) -> None:
    model = MODELS[name]
    draws = _posterior_draws(name, history, 1_000_000, seed=11)
    x, t_x, T = _arrays(history)
    for t in TIMES:
        ours = float(purchase_within(model, t, x, t_x, T)[0])
        share = float(np.mean(draws <= t))
        # four standard errors of a share of 10^6 draws
        assert abs(ours - share) < 4 * np.sqrt(share * (1 - share) / draws.size) + 1e-4


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("history", HISTORIES)
def test_window_days_are_the_conditional_quantiles(name, history) -> None:
    """The q-quantile day is the first day with F(day) >= q F(horizon)."""
    model = MODELS[name]
    x, t_x, T = _arrays(history)
    clock = calendar_clock(400, "weeks")
    days = next_purchase_days(model, x, t_x, T, clock, 365)
    p_h = float(purchase_within(model, clock[365], x, t_x, T)[0])
    assert days.p_horizon[0] == pytest.approx(p_h)
    for q, day in ((0.1, days.low[0]), (0.5, days.median[0]), (0.9, days.high[0])):
        day = int(day)
        assert 1 <= day <= 365
        assert float(purchase_within(model, clock[day], x, t_x, T)[0]) >= q * p_h
        assert float(purchase_within(model, clock[day - 1], x, t_x, T)[0]) < q * p_h
    assert days.low[0] <= days.median[0] <= days.high[0]
    # against the posterior draws: the window holds 80% of the purchases within the horizon
    draws = _posterior_draws(name, history, 1_000_000, seed=5) * 7.0  # days
    inside = draws[draws <= 365]
    share = np.mean((inside > days.low[0] - 1) & (inside <= days.high[0]))
    assert 0.8 <= share < 0.8 + 0.03


def test_bgnbd_window_inverts_in_closed_form() -> None:
    """BG/NBD: F(t) = c has t = (alpha + T)((1 - c / P(alive))^(-1 / (r + x)) - 1)."""
    model = MODELS["bgnbd"]
    x, t_x, T = _arrays((3, 20.0, 32.0))
    days = next_purchase_days(model, x, t_x, T, calendar_clock(400, "weeks"), 365)
    p_alive = float(model.probability_alive(3, 20.0, 32.0))
    for q, day in ((0.1, days.low[0]), (0.5, days.median[0]), (0.9, days.high[0])):
        c = q * days.p_horizon[0]
        weeks = (BG["alpha"] + 32.0) * ((1 - c / p_alive) ** (-1 / (BG["r"] + 3)) - 1)
        assert day == np.ceil(weeks * 7 - 1e-9)


def _simulate_bgnbd(n: int, T: float, horizon: float, seed: int) -> pd.DataFrame:
    """BG/NBD customers from the model's story: histories to T and the first purchase after."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(BG["r"], 1.0 / BG["alpha"], n)
    p = rng.beta(BG["a"], BG["b"], n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    clock = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    first_after = np.full(n, np.inf)
    while alive.any():
        idx = np.flatnonzero(alive)
        clock[idx] += rng.exponential(1.0, idx.size) / lam[idx]
        past = clock[idx] > T
        after = idx[past]
        first_after[after] = clock[after] - T
        alive[after] = False
        buying = idx[~past]
        x[buying] += 1
        t_x[buying] = clock[buying]
        alive[buying] = rng.random(buying.size) >= p[buying]  # drops out after a purchase
    return pd.DataFrame({"x": x, "t_x": t_x, "T": T, "next": first_after})


def test_chances_are_calibrated_on_customers_simulated_from_the_model() -> None:
    """Summed over simulated customers, F(t) counts those who buy within t, per decile."""
    sim = _simulate_bgnbd(200_000, 39.0, 13.0, seed=3)
    model = MODELS["bgnbd"]
    chance = purchase_within(
        model, 13.0, sim["x"].to_numpy(), sim["t_x"].to_numpy(), sim["T"].to_numpy()
    )
    bought = (sim["next"] <= 13.0).to_numpy()
    assert chance.sum() == pytest.approx(bought.sum(), rel=0.02)
    for row in probability_calibration(chance, bought):
        assert abs(row["predicted"] - row["observed"]) < 0.01, row


# Pareto/NBD as fitted on CDNOW's calibration period (23,570 customers, weeks)
CDNOW_PNBD = {"r": 0.5974, "alpha": 11.586, "s": 0.5222, "beta": 8.828}


def test_pareto_nbd_chances_are_calibrated_on_its_own_cdnow_customers() -> None:
    """The CDNOW check's computation, without CDNOW's customers: 100,000 customers drawn from
    the Pareto/NBD fitted on CDNOW, with CDNOW's ages (first purchases from January to March
    1997, calibration to 30 September: 26 to 39 weeks). P(purchase within 90 days) is
    within 1.5 points of the share that buys in every decile. On CDNOW itself the seventh
    decile is off by 5.6 points (``test_next_purchase_cdnow.py``): that gap is the model's
    on those data, not the computation's."""
    rng = np.random.default_rng(11)
    n = 100_000
    T = rng.uniform(26.4, 39.0, n)
    lam = rng.gamma(CDNOW_PNBD["r"], 1.0 / CDNOW_PNBD["alpha"], n)
    mu = rng.gamma(CDNOW_PNBD["s"], 1.0 / CDNOW_PNBD["beta"], n)
    death = rng.exponential(1.0 / mu)
    active = np.minimum(death, T)
    x = rng.poisson(lam * active).astype(float)
    # the last of x uniform purchase times on (0, active)
    t_x = np.where(x > 0, active * rng.beta(np.maximum(x, 1.0), 1.0), 0.0)
    following = T + rng.exponential(1.0 / lam)  # memoryless: the first purchase after T
    h = 90 / 7
    bought = (following <= T + h) & (following <= death)
    model = ParetoNBDModel.from_params(CDNOW_PNBD)
    chance = purchase_within(model, h, x, t_x, T)
    assert chance.sum() == pytest.approx(bought.sum(), rel=0.03)
    for row in probability_calibration(chance, bought):
        assert abs(row["predicted"] - row["observed"]) < 0.015, row


def test_overdue_ratio_and_one_time_buyers() -> None:
    """Repeat buyers against their own interval, one-time buyers against the base's median."""
    since, typical, ratio = overdue(
        np.array([4, 2, 0]), np.array([40.0, 10.0, 0.0]), np.array([60.0, 12.0, 30.0]), "days"
    )
    assert since.tolist() == [20.0, 2.0, 30.0]
    assert typical.tolist() == [10.0, 5.0, 7.5]  # median of 10 and 5
    assert ratio.tolist() == [2.0, 0.4, 4.0]


def test_risk_labels_follow_the_chance_within_the_horizon() -> None:
    labels = risk_labels(np.array([EXPECTED_SHARE, 0.49, 0.2, 0.19]))
    assert list(labels) == ["low", "elevated", "elevated", "high"]


def test_seasonal_clock_maps_calendar_days_to_operational_time() -> None:
    from clvreport.models.season import Season

    busy_december = Season(factors=tuple([0.9] * 11 + [2.0]), reason="seasonal")
    clock = calendar_clock(62, "days", busy_december, dt.date(2024, 11, 30))
    # December's 31 days at twice the pace, January's at 0.9
    assert clock[31] == pytest.approx(62.0)
    assert clock[62] - clock[31] == pytest.approx(0.9 * 31)


BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
DONORS = [(0, 0, 6), (3, 4, 6), (6, 6, 6), (2, 2, 10)]  # (x, t_x, n)


def _bgbb():
    from clvreport.models.bgbb import BetaGeoBetaBinomModel

    return BetaGeoBetaBinomModel.from_params(BGBB)


@pytest.mark.parametrize("history", DONORS)
def test_next_gift_matches_mpmath_and_the_expected_gifts(history) -> None:
    """P(next gift at n + k) against integrals over the posteriors of p and theta."""
    from clvreport.models.next_purchase import next_gift_probabilities

    model = _bgbb()
    x, t_x, n = history
    chances = next_gift_probabilities(model, [x], [t_x], [n], 6)[0]
    alive = mp.mpf(float(model.probability_alive(x, t_x, n, next_period=False)))
    a, b, g, d = (mp.mpf(BGBB[k]) for k in ("alpha", "beta", "gamma", "delta"))

    def beta_density(u, p, q):
        return u ** (p - 1) * (1 - u) ** (q - 1) / mp.beta(p, q)

    for k in (1, 2, 5):
        # independent given alive: survive k opportunities, give at the k-th and not before
        survive = mp.quad(lambda th, k=k: beta_density(th, g, d + n) * (1 - th) ** k, [0, 1])
        give = mp.quad(
            lambda p, k=k: beta_density(p, a + x, b + n - x) * (1 - p) ** (k - 1) * p, [0, 1]
        )
        exact = alive * survive * give
        assert chances[k - 1] == pytest.approx(float(exact), rel=1e-8)
    # at most one gift per opportunity: the next one is a gift with the expected count's chance
    assert chances[0] == pytest.approx(float(model.expected_purchases(1, x, t_x, n)))
    assert chances.sum() < float(model.probability_alive(x, t_x, n, next_period=False))


@pytest.mark.parametrize("history", DONORS)
def test_next_gift_matches_posterior_draws(history) -> None:
    from clvreport.models.next_purchase import next_gift_probabilities

    model = _bgbb()
    x, t_x, n = history
    rng = np.random.default_rng(7)
    draws = 1_000_000
    alive = rng.random(draws) < float(model.probability_alive(x, t_x, n, next_period=False))
    p = rng.beta(BGBB["alpha"] + x, BGBB["beta"] + n - x, draws)
    theta = rng.beta(BGBB["gamma"], BGBB["delta"] + n, draws)
    # the opportunity of the next gift and the one the donor drops out at (geometric)
    gift = rng.geometric(p)
    death = rng.geometric(theta)  # dies at the start of opportunity n + death
    next_gift = np.where(alive & (gift < death), gift, 0)
    chances = next_gift_probabilities(model, [x], [t_x], [n], 5)[0]
    for k in range(1, 6):
        share = float(np.mean(next_gift == k))
        assert abs(chances[k - 1] - share) < 4 * np.sqrt(share * (1 - share) / draws) + 1e-4


def test_next_purchase_table_dates_follow_the_days_and_the_expectation() -> None:
    """Dates are the report date plus the window's days, shown only when a purchase is
    expected within the horizon; the risk label follows the same chance."""
    from clvreport.models import fit_clv_models
    from clvreport.models.next_purchase import next_purchase_table
    from clvreport.models.simulate import simulate_summary

    summary = simulate_summary("bgnbd", {"r": 0.8, "alpha": 6.0, "a": 0.6, "b": 3.0}, 4000, seed=2)
    summary["recency"] = np.round(summary["recency"] * 7) / 7  # whole days
    summary["T"] = np.round(summary["T"] * 7) / 7
    summary.attrs = {"time_unit": "weeks", "calibration_end": "2024-12-31"}
    fit = fit_clv_models(summary, model="bgnbd")
    table = next_purchase_table(fit, summary, horizon_months=12)
    days = next_purchase_days(
        fit.model,
        summary["frequency"].to_numpy(float),
        summary["recency"].to_numpy(float),
        summary["T"].to_numpy(float),
        calendar_clock(366, "weeks"),
        365,
    )
    expected = days.p_horizon >= EXPECTED_SHARE
    assert 0 < expected.sum() < len(summary)
    median = pd.to_datetime(table["next_purchase_median"])
    assert (median.notna().to_numpy() == expected).all()
    start = pd.Timestamp("2024-12-31")
    assert ((median[expected] - start).dt.days.to_numpy() == days.median[expected]).all()
    low, high = (
        pd.to_datetime(table["next_purchase_low"]),
        pd.to_datetime(table["next_purchase_high"]),
    )
    assert (low[expected] <= median[expected]).all() and (median[expected] <= high[expected]).all()
    assert (table["risk_label"][expected] == "low").all()
    assert (table.loc[~expected & (days.p_horizon < 0.2), "risk_label"] == "high").all()
    assert (table["p_purchase_30d"] <= table["p_purchase_90d"]).all()
    assert (table["p_purchase_90d"] <= table["p_purchase_horizon"]).all()
