"""Simulate customer summaries from the BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma models.

The simulators draw each customer's latent purchase rate, dropout and spend from
the model's mixing distributions and return the summary table every model reads
(``customer_id, frequency, recency, T, monetary_value``). They are used for
parameter-recovery tests and for the benchmarks. :func:`simulate_bgnbd_transactions`
writes the same story out as a transaction log (one row per purchase, dated),
for tests of the whole path from an export to the forecast, and
:func:`simulate_transactions` draws logs with the shapes of real ones (no
dropout, a season, a few enormous orders, bursts of new customers). Times can be rounded down to a
grid (``resolution``) the way real data are recorded in whole days, which makes
the output look like a real summary and lets identical customers be compressed.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your
   Customers" the Easy Way: An Alternative to the Pareto/NBD Model.
   Marketing Science 24(2), 275-284.
.. [2] Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). Empirical
   validation and comparison of models for customer base analysis.
   International Journal of Research in Marketing 24(3), 201-209.
.. [3] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). Counting Your
   Customers: Who Are They and What Will They Do Next? Management Science 33(1).
.. [4] Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma Model of
   Monetary Value. http://www.brucehardie.com/notes/025/
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "simulate_bgnbd",
    "simulate_bgnbd_transactions",
    "simulate_mbgnbd",
    "simulate_paretonbd",
    "simulate_spend",
    "simulate_summary",
    "simulate_transactions",
]


def _ages(
    n_customers: int, T: float | tuple[float, float], resolution: float | None, rng
) -> np.ndarray:
    """Customer ages: one value, or uniform between two values (first purchases spread out)."""
    if isinstance(T, tuple):
        low, high = T
        ages = rng.uniform(low, high, n_customers)
    else:
        ages = np.full(n_customers, float(T))
    return _to_grid(ages, resolution)


def _to_grid(values: np.ndarray, resolution: float | None) -> np.ndarray:
    if resolution is None:
        return values
    steps = np.floor(values / resolution + 1e-9)
    return steps * resolution


def _last_purchase(n_events: np.ndarray, n_kept: np.ndarray, window: np.ndarray, rng) -> np.ndarray:
    """Time of the ``n_kept``-th of ``n_events`` uniform events on ``(0, window)``."""
    t_x = np.zeros_like(window)
    has = n_kept > 0
    # k-th order statistic of n uniforms is Beta(k, n - k + 1)
    t_x[has] = window[has] * rng.beta(n_kept[has], n_events[has] - n_kept[has] + 1)
    return t_x


def _summary(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, resolution: float | None
) -> pd.DataFrame:
    t_x = np.minimum(_to_grid(t_x, resolution), T)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, x.size + 1),
            "frequency": x.astype(np.int64),
            "recency": np.where(x > 0, t_x, 0.0),
            "T": T,
        }
    )


def _beta_geometric(
    params: Mapping[str, float],
    n_customers: int,
    T: float | tuple[float, float],
    resolution: float | None,
    seed: int | np.random.Generator | None,
    modified: bool,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    r, alpha, a, b = (float(params[k]) for k in ("r", "alpha", "a", "b"))
    ages = _ages(n_customers, T, resolution, rng)
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    p = np.clip(rng.beta(a, b, n_customers), 1e-12, 1.0)  # beta draws can underflow to 0
    # purchases made before dropping out: BG/NBD flips the coin after each repeat
    # purchase (>= 1 purchase), MBG/NBD also right after the first purchase (>= 0)
    lifetime_purchases = rng.geometric(p) - (1 if modified else 0)
    n_events = rng.poisson(lam * ages)
    x = np.minimum(n_events, lifetime_purchases)
    t_x = _last_purchase(n_events, x, ages, rng)
    return _summary(x, t_x, ages, resolution)


def simulate_bgnbd(
    params: Mapping[str, float],
    n_customers: int,
    *,
    T: float | tuple[float, float] = 39.0,
    resolution: float | None = 1 / 7,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Simulate a summary table from the BG/NBD model.

    Parameters
    ----------
    params
        ``{"r", "alpha", "a", "b"}``: purchase rates are Gamma(r, rate alpha),
        dropout probabilities Beta(a, b).
    n_customers
        Number of customers.
    T
        Customer age at the end of the period, in model time units; a pair
        ``(low, high)`` draws ages uniformly between the two.
    resolution
        Round times down to this grid (``1/7``: whole days when the unit is
        weeks); ``None`` keeps continuous times.
    seed
        Seed or generator for reproducibility.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, frequency, recency, T``.

    References
    ----------
    .. [1] Fader, Hardie and Lee (2005), Marketing Science 24(2), 275-284.

    Examples
    --------
    >>> df = simulate_bgnbd({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}, 1000, seed=1)
    >>> list(df.columns)
    ['customer_id', 'frequency', 'recency', 'T']
    """
    return _beta_geometric(params, n_customers, T, resolution, seed, modified=False)


def simulate_mbgnbd(
    params: Mapping[str, float],
    n_customers: int,
    *,
    T: float | tuple[float, float] = 39.0,
    resolution: float | None = 1 / 7,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Simulate a summary table from the MBG/NBD model.

    Unlike BG/NBD, customers can drop out right after their first purchase.
    Parameters and return value as :func:`simulate_bgnbd`.

    References
    ----------
    .. [1] Batislam, Denizel and Filiztekin (2007), IJRM 24(3), 201-209.

    Examples
    --------
    >>> df = simulate_mbgnbd({"r": 0.5, "alpha": 6.2, "a": 0.9, "b": 1.6}, 500, seed=1)
    >>> int(df["frequency"].min())
    0
    """
    return _beta_geometric(params, n_customers, T, resolution, seed, modified=True)


def simulate_paretonbd(
    params: Mapping[str, float],
    n_customers: int,
    *,
    T: float | tuple[float, float] = 39.0,
    resolution: float | None = 1 / 7,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Simulate a summary table from the Pareto/NBD model.

    Parameters
    ----------
    params
        ``{"r", "alpha", "s", "beta"}``: purchase rates Gamma(r, rate alpha),
        dropout rates Gamma(s, rate beta), exponential lifetimes.
    n_customers, T, resolution, seed
        As :func:`simulate_bgnbd`.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, frequency, recency, T``.

    References
    ----------
    .. [1] Schmittlein, Morrison and Colombo (1987), Management Science 33(1).

    Examples
    --------
    >>> df = simulate_paretonbd({"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}, 500, seed=1)
    >>> bool((df["recency"] <= df["T"]).all())
    True
    """
    rng = np.random.default_rng(seed)
    r, alpha, s, beta = (float(params[k]) for k in ("r", "alpha", "s", "beta"))
    ages = _ages(n_customers, T, resolution, rng)
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    mu = rng.gamma(s, 1.0 / beta, n_customers)
    death = rng.exponential(1.0 / mu)
    window = np.minimum(death, ages)
    x = rng.poisson(lam * window)
    t_x = _last_purchase(x, x, window, rng)
    return _summary(x, t_x, ages, resolution)


def simulate_spend(
    params: Mapping[str, float],
    frequency: np.ndarray | pd.Series,
    *,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Simulate each customer's mean repeat spend from the Gamma-Gamma model.

    Parameters
    ----------
    params
        ``{"p", "q", "gamma"}``: each spend is Gamma(p, rate nu), nu ~ Gamma(q, rate gamma).
    frequency
        Number of repeat purchases per customer; customers with 0 get 0.
    seed
        Seed or generator.

    Returns
    -------
    numpy.ndarray
        Mean spend of the repeat purchases (0 for non-repeaters).

    References
    ----------
    .. [1] Fader and Hardie (2013), The Gamma-Gamma Model of Monetary Value.

    Examples
    --------
    >>> m = simulate_spend({"p": 6.25, "q": 3.74, "gamma": 15.44}, np.array([0, 1, 5]), seed=1)
    >>> float(m[0])
    0.0
    """
    rng = np.random.default_rng(seed)
    p, q, gamma = (float(params[k]) for k in ("p", "q", "gamma"))
    x = np.asarray(frequency, dtype=float)
    nu = rng.gamma(q, 1.0 / gamma, x.size)
    mean_spend = np.zeros_like(x)
    buyers = x > 0
    # the mean of x Gamma(p, nu) spends is Gamma(p x, rate nu x)
    mean_spend[buyers] = rng.gamma(p * x[buyers], 1.0 / (nu[buyers] * x[buyers]))
    return mean_spend


_SIMULATORS = {"bgnbd": simulate_bgnbd, "mbgnbd": simulate_mbgnbd, "pnbd": simulate_paretonbd}


def simulate_summary(
    model: str,
    params: Mapping[str, float],
    n_customers: int,
    *,
    spend_params: Mapping[str, float] | None = None,
    T: float | tuple[float, float] = 39.0,
    resolution: float | None = 1 / 7,
    seed: int | None = None,
) -> pd.DataFrame:
    """Simulate a full summary (transactions and, optionally, spend) from a named model.

    Parameters
    ----------
    model
        ``"bgnbd"``, ``"mbgnbd"`` or ``"pnbd"``.
    params
        Parameters of the transaction model.
    n_customers
        Number of customers.
    spend_params
        Gamma-Gamma parameters; when given, ``monetary_value`` is simulated too
        (otherwise it is 0).
    T, resolution
        As :func:`simulate_bgnbd`.
    seed
        Seed for reproducibility.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, frequency, recency, T, monetary_value``.

    Examples
    --------
    >>> df = simulate_summary("bgnbd", {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}, 100,
    ...                       spend_params={"p": 6.25, "q": 3.74, "gamma": 15.44}, seed=3)
    >>> len(df)
    100
    """
    if model not in _SIMULATORS:
        raise ValueError(f"unknown model {model!r}; choose one of {sorted(_SIMULATORS)}")
    rng = np.random.default_rng(seed)
    summary = _SIMULATORS[model](params, n_customers, T=T, resolution=resolution, seed=rng)
    if spend_params is None:
        summary["monetary_value"] = 0.0
    else:
        summary["monetary_value"] = simulate_spend(spend_params, summary["frequency"], seed=rng)
    return summary


def simulate_transactions(
    n_customers: int,
    *,
    start: str = "2021-01-01",
    end: str = "2023-12-31",
    rate: tuple[float, float] = (1.0, 60.0),
    dropout: float | tuple[float, float] | None = (0.8, 400.0),
    spend: tuple[float, float, float] = (6.0, 4.0, 30.0),
    month_factors: Sequence[float] | None = None,
    whales: int = 0,
    whale_factor: float = 1000.0,
    bursts: int = 0,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Simulate a transaction log with the shapes of real ones, for tests and benchmarks.

    Each customer's first purchase falls on a uniform day of the period (or,
    with ``bursts``, most of them in a few short campaigns). While alive they
    buy at Poisson rate ``lambda ~ Gamma(r, alpha)`` per day, scaled by the
    month's factor (a seasonal pattern with mean 1), and they leave after an
    exponential lifetime: its rate is ``Gamma(s, beta)`` (Pareto/NBD), one
    fixed rate for everyone (a number), or nobody leaves (``None``). Order
    amounts are Gamma-Gamma: ``Gamma(p, nu)`` with ``nu ~ Gamma(q, gamma)``
    per customer.

    Parameters
    ----------
    n_customers
        Customers (each has at least the first purchase).
    start, end
        The period (ISO dates, inclusive).
    rate
        ``(r, alpha)`` of the daily purchase rate.
    dropout
        ``(s, beta)`` of the daily dropout rate, a fixed daily rate, or ``None``.
    spend
        ``(p, q, gamma)`` of the order amounts.
    month_factors
        Twelve multipliers of the purchase intensity (January first), e.g. a
        December peak; rescaled to mean 1. ``None``: no season.
    whales
        Repeat buyers who get one enormous order: one of their orders times
        ``whale_factor``.
    whale_factor
        How much larger that order is.
    bursts
        Number of short campaigns (a week each) that bring in 70% of the
        customers; 0: acquisition spread evenly.
    seed
        Seed; the same arguments give the same log.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` (str), ``order_id`` (str), ``date`` (datetime64, whole
        days), ``amount`` (float), sorted by date; ``attrs["whales"]`` holds the
        ids of the customers with an enormous order.

    Examples
    --------
    >>> log = simulate_transactions(200, dropout=None, seed=1)
    >>> log["customer_id"].nunique(), bool((log["amount"] > 0).all())
    (200, True)
    """
    if n_customers < 1:
        raise ValueError(f"n_customers must be at least 1, got {n_customers}")
    rng = np.random.default_rng(seed)
    first_day, last_day = pd.Timestamp(start), pd.Timestamp(end)
    n_days = (last_day - first_day).days + 1
    if n_days < 2:
        raise ValueError("the period must hold at least two days")
    days = pd.date_range(first_day, last_day, freq="D")
    factors = np.ones(12) if month_factors is None else np.asarray(month_factors, dtype=float)
    if factors.shape != (12,) or (factors < 0).any():
        raise ValueError("month_factors must be twelve non-negative numbers")
    season = factors[days.month.to_numpy() - 1]
    season = season / season.mean()
    peak = float(season.max())
    # first purchases
    if bursts > 0:
        in_burst = rng.random(n_customers) < 0.7
        burst_start = rng.integers(0, max(n_days - 7, 1), bursts)
        first = np.where(
            in_burst,
            burst_start[rng.integers(0, bursts, n_customers)] + rng.integers(0, 7, n_customers),
            rng.integers(0, n_days, n_customers),
        )
    else:
        first = rng.integers(0, n_days, n_customers)
    first = np.minimum(first, n_days - 1).astype(float)
    r, alpha = rate
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    if dropout is None:
        lifetime = np.full(n_customers, np.inf)
    elif np.ndim(dropout) == 0:
        lifetime = rng.exponential(1.0 / float(dropout), n_customers)  # type: ignore[arg-type]
    else:
        s, beta = dropout  # type: ignore[misc]
        lifetime = rng.exponential(1.0 / rng.gamma(s, 1.0 / beta, n_customers))
    window = np.clip(np.minimum(first + lifetime, n_days) - first, 0.0, None)
    # repeat purchases by thinning a Poisson process at the peak intensity
    candidates = rng.poisson(lam * peak * window)
    owner = np.repeat(np.arange(n_customers), candidates)
    when = first[owner] + rng.random(owner.size) * window[owner]
    keep = rng.random(owner.size) < season[np.minimum(when, n_days - 1).astype(int)] / peak
    owner, when = owner[keep], np.floor(when[keep])
    who = np.concatenate([np.arange(n_customers), owner])
    day = np.concatenate([first, when]).astype(int)
    p, q, gamma = spend
    nu = rng.gamma(q, 1.0 / gamma, n_customers)
    amount = rng.gamma(p, 1.0 / nu[who])
    chosen: np.ndarray = np.array([], dtype=int)
    if whales > 0:
        repeaters = np.flatnonzero(np.bincount(owner, minlength=n_customers) > 0)
        chosen = rng.choice(repeaters, size=min(whales, repeaters.size), replace=False)
        for customer in chosen:
            rows = np.flatnonzero(who == customer)
            amount[rng.choice(rows)] *= whale_factor
    order = np.lexsort((who, day))
    ids = np.char.add("C", np.char.zfill(np.arange(n_customers).astype(str), 6))
    log = pd.DataFrame(
        {
            "customer_id": ids[who[order]],
            "order_id": np.char.add("O", np.arange(order.size).astype(str)),
            "date": days[day[order]],
            "amount": np.round(amount[order], 2),
        }
    )
    log.attrs["whales"] = sorted(ids[chosen].tolist())
    return log


def simulate_bgnbd_transactions(
    params: Mapping[str, float],
    spend_params: Mapping[str, float],
    n_customers: int,
    *,
    start: str = "2022-01-01",
    days: int = 730,
    seed: int | np.random.Generator | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate a dated transaction log of BG/NBD customers with Gamma-Gamma order amounts.

    Each customer's first purchase falls on a uniform day of the period; they
    then buy as a Poisson process with a gamma-distributed weekly rate and,
    after every repeat purchase, drop out with a beta-distributed
    probability (BG/NBD). Every order is Gamma(p, rate nu) with the
    customer's nu ~ Gamma(q, rate gamma), rounded to the cent (at least 0.01).

    Parameters
    ----------
    params
        BG/NBD parameters ``{"r", "alpha", "a", "b"}``, rates per week.
    spend_params
        Gamma-Gamma parameters ``{"p", "q", "gamma"}``.
    n_customers
        Number of customers.
    start
        The first day of the log (ISO date).
    days
        Length of the log in days.
    seed
        Seed or generator.

    Returns
    -------
    tuple of pandas.DataFrame
        The log (``customer_id`` as text ``C00001``..., ``order_date``,
        ``amount``; sorted by customer and date) and the customers
        (``customer_id``, ``mean_spend``: the true expected order amount
        ``p / nu``).

    Examples
    --------
    >>> log, customers = simulate_bgnbd_transactions(
    ...     {"r": 0.6, "alpha": 5.0, "a": 0.6, "b": 4.0}, {"p": 6.0, "q": 4.0, "gamma": 15.0},
    ...     200, seed=1)
    >>> sorted(log["customer_id"].unique()) == sorted(customers["customer_id"])
    True
    """
    rng = np.random.default_rng(seed)
    r, alpha, a, b = (float(params[k]) for k in ("r", "alpha", "a", "b"))
    p, q, gamma = (float(spend_params[k]) for k in ("p", "q", "gamma"))
    first = rng.integers(0, days, n_customers)
    weeks = (days - 1 - first) / 7.0
    rate = rng.gamma(r, 1.0 / alpha, n_customers)
    dropout = rng.beta(a, b, n_customers)
    events = rng.poisson(rate * weeks)  # repeat purchases of a customer who never leaves
    kept = np.minimum(events, rng.geometric(dropout))  # ... and before dropping out
    owner = np.repeat(np.arange(n_customers), events)
    times = rng.uniform(0.0, 1.0, owner.size)
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(events) - events, events)
    repeat = rank < kept[owner]
    owner, times = owner[repeat], times[repeat]
    day = np.concatenate([first, first[owner] + np.floor(times * weeks[owner] * 7.0)])
    customer = np.concatenate([np.arange(n_customers), owner])
    nu = rng.gamma(q, 1.0 / gamma, n_customers)
    amount = np.maximum(np.round(rng.gamma(p, 1.0 / nu[customer]), 2), 0.01)
    ids = np.char.add("C", np.char.zfill((np.arange(n_customers) + 1).astype(str), 5))
    log = pd.DataFrame(
        {
            "customer_id": ids[customer],
            "order_date": pd.Timestamp(start) + pd.to_timedelta(day.astype(np.int64), unit="D"),
            "amount": amount,
        }
    )
    log = log.sort_values(["customer_id", "order_date"], kind="stable", ignore_index=True)
    customers = pd.DataFrame({"customer_id": ids, "mean_spend": p / nu})
    return log, customers
