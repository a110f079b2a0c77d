r"""The shifted-beta-geometric (sBG) model of contract renewal.

In a contractual setting (subscriptions that renew once a period, or not) a
customer with churn probability :math:`\theta` stays for a geometric number of
periods, and :math:`\theta \sim \mathrm{Beta}(\alpha, \beta)` varies across
customers. With ``T >= 1`` the number of periods a customer pays for (the
initial one and ``T - 1`` renewals):

.. math::

   P(T = t) = \frac{B(\alpha + 1, \beta + t - 1)}{B(\alpha, \beta)}, \qquad
   S(t) = P(T > t) = \frac{B(\alpha, \beta + t)}{B(\alpha, \beta)}, \qquad
   r_t = \frac{S(t)}{S(t - 1)} = \frac{\beta + t - 1}{\alpha + \beta + t - 1}.

The retention rate :math:`r_t` rises with ``t``: heterogeneity, not changing
behaviour, as the customers likely to churn leave first (Fader and Hardie 2007).

Data are renewal histories: customers who churned after paying ``t`` periods
(an exact lifetime ``T = t``) and customers still active at the start of period
``t`` (right-censored, ``T > t``). They come as survivor counts of one or more
cohorts (:meth:`ShiftedBetaGeometricModel.fit_survivors`), as one row per
customer with different observation lengths
(:meth:`ShiftedBetaGeometricModel.fit_customers`, e.g. from
:func:`clvreport.models.contract.subscription_summary`) or as a cohort survival
table. :func:`fit_cohorts` fits one model per cohort.

The model's ``time_unit`` is the contract period: ``"years"``, ``"quarters"``,
``"months"`` or ``"weeks"``; every ``t`` and ``n_renewals`` below counts periods.

References
----------
.. [1] Fader, P. S. and Hardie, B. G. S. (2007). How to Project Customer
   Retention. Journal of Interactive Marketing 21(1), 76-90.
.. [2] Fader, P. S. and Hardie, B. G. S. (2010). Customer-Base Valuation in a
   Contractual Setting: The Perils of Ignoring Heterogeneity. Marketing
   Science 29(1), 85-93.

Examples
--------
>>> regular = [1000, 631, 468, 382, 326, 289, 262, 241]  # Fader & Hardie (2007)
>>> model = ShiftedBetaGeometricModel().fit_survivors(regular)
>>> round(model.params_["alpha"], 3), round(model.params_["beta"], 3)
(0.704, 1.182)
>>> round(model.log_likelihood_, 2)
-1680.27
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, Self, get_args

import numpy as np
import pandas as pd
from scipy import integrate
from scipy.special import betaln

from clvreport.errors import DataError, ModelError
from clvreport.models.base import MaximumLikelihoodModel
from clvreport.models.numeric import digamma_rising, dot, log_rising
from clvreport.models.optimise import BOUNDARY_LOG, Face, Objective
from clvreport.models.uncertainty import draw_parameters, percentile_interval

__all__ = [
    "PERIOD_UNITS",
    "PeriodUnit",
    "RenewalData",
    "ShiftedBetaGeometricModel",
    "check_period_unit",
    "fit_cohorts",
    "hyp2f1_discounted",
    "renewal_data",
]

PeriodUnit = Literal["years", "quarters", "months", "weeks"]
PERIOD_UNITS: tuple[str, ...] = get_args(PeriodUnit)

ArrayLike = np.ndarray | pd.Series | Sequence[float]
SurvivorData = ArrayLike | Mapping[Any, ArrayLike] | Sequence[ArrayLike]


def check_period_unit(unit: str) -> PeriodUnit:
    """Return ``unit`` if it names a contract period, else raise a ``ModelError``.

    Parameters
    ----------
    unit
        ``"years"``, ``"quarters"``, ``"months"`` or ``"weeks"`` (the singular is accepted).

    Returns
    -------
    str
        The plural form.

    Examples
    --------
    >>> check_period_unit("year")
    'years'
    """
    text = str(unit).strip().lower()
    plural = text if text.endswith("s") else text + "s"
    if plural not in PERIOD_UNITS:
        raise ModelError(
            f"unknown contract period {unit!r}",
            hint=f"use one of {', '.join(PERIOD_UNITS)}",
        )
    return plural  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RenewalData:
    """Renewal histories compressed to counts: exact lifetimes and censored ones.

    Build it with :func:`renewal_data`.

    Attributes
    ----------
    churn_period
        Distinct lifetimes ``t >= 1`` of churned customers (they paid ``t``
        periods, i.e. made ``t - 1`` renewals, and did not make the next).
    churn_weight
        Number of customers with each lifetime.
    alive_period
        Distinct periods ``t >= 0`` at whose start right-censored customers were
        last seen active (they made ``t`` renewals).
    alive_weight
        Number of customers censored at each period.

    Examples
    --------
    >>> data = renewal_data([0, 2, 2], [False, True, True])
    >>> data.churn_period.tolist(), data.alive_period.tolist(), data.n_customers
    ([1.0], [2.0], 3.0)
    """

    churn_period: np.ndarray
    churn_weight: np.ndarray
    alive_period: np.ndarray
    alive_weight: np.ndarray

    @cached_property
    def n_customers(self) -> float:
        """Total number of customers."""
        return float(self.churn_weight.sum() + self.alive_weight.sum())

    @cached_property
    def n_churned(self) -> float:
        """Number of customers whose churn was observed."""
        return float(self.churn_weight.sum())

    def first_period_churn(self) -> float:
        """Share of the customers observed at a first renewal who did not renew.

        Returns
        -------
        float
            Churned at ``t = 1`` over those not censored at period 0 (``NaN`` if none).

        Examples
        --------
        >>> renewal_data([0, 0, 1, 0], [False, False, True, True]).first_period_churn()
        0.6666666666666666
        """
        at_risk = self.n_customers - float(self.alive_weight[self.alive_period == 0].sum())
        churned = float(self.churn_weight[self.churn_period == 1].sum())
        return churned / at_risk if at_risk > 0 else math.nan


def _compress(periods: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, values = pd.factorize(periods, sort=True)
    counts = np.bincount(codes, weights=weights, minlength=len(values)).astype(float)
    keep = counts > 0
    return np.asarray(values, dtype=float)[keep], counts[keep]


def _whole_numbers(values: ArrayLike, name: str) -> np.ndarray:
    array = pd.to_numeric(pd.Series(np.asarray(values).reshape(-1)), errors="coerce")
    array = array.to_numpy(dtype=float)
    bad = ~np.isfinite(array) | (array < 0) | (array != np.floor(array))
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{name} must be whole numbers >= 0; position {i} holds {np.asarray(values)[i]!r}",
            hint="count renewals (completed periods) per customer, 0 for a first-period customer",
        )
    return array


def renewal_data(
    renewals: ArrayLike,
    active: ArrayLike,
    weights: ArrayLike | None = None,
) -> RenewalData:
    """Compress per-customer renewal histories.

    Parameters
    ----------
    renewals
        Renewals observed per customer: completed periods after the first
        (0 for a customer still in, or who left after, the first period).
    active
        Whether each customer is still active (right-censored). A churned
        customer with ``n`` renewals has lifetime ``T = n + 1``; an active
        one is known to have ``T > n``. Customers may have been observed for
        different numbers of periods (staggered starts).
    weights
        Number of customers each row stands for (default 1).

    Returns
    -------
    RenewalData
        Counts per distinct lifetime and censoring period.

    Raises
    ------
    clvreport.errors.DataError
        For negative or fractional renewals, lengths that differ or negative weights.

    Examples
    --------
    >>> data = renewal_data([0, 0, 3], [False, True, False])
    >>> data.churn_period.tolist(), data.churn_weight.tolist()
    ([1.0, 4.0], [1.0, 1.0])
    """
    n = _whole_numbers(renewals, "renewals")
    alive_raw = pd.Series(np.asarray(active).reshape(-1))
    if alive_raw.isna().any() or alive_raw.size != n.size:
        raise DataError(
            "active must be one True/False per customer, without missing values "
            f"({alive_raw.size} values for {n.size} customers)"
        )
    alive = alive_raw.astype(bool).to_numpy()
    if weights is None:
        w = np.ones(n.size)
    else:
        w = np.asarray(weights, dtype=float).reshape(-1)
        if w.size != n.size or not np.isfinite(w).all() or (w < 0).any():
            raise DataError("weights must be one non-negative number per customer")
    churn_period, churn_weight = _compress(n[~alive] + 1.0, w[~alive])
    alive_period, alive_weight = _compress(n[alive], w[alive])
    return RenewalData(churn_period, churn_weight, alive_period, alive_weight)


def _survivor_data(survivors: ArrayLike, name: str = "survivors") -> RenewalData:
    counts = np.asarray(survivors, dtype=float).reshape(-1)
    if counts.size < 2:
        raise DataError(
            f"{name} needs the number active at the start of at least periods 0 and 1",
            hint="give the counts still active at the start of each period 0, 1, ..., n",
        )
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise DataError(f"{name} must be non-negative numbers")
    drops = counts[:-1] - counts[1:]
    if (drops < 0).any():
        i = int(np.argmax(drops < 0)) + 1
        raise DataError(
            f"{name} rise from period {i - 1} to {i} ({counts[i - 1]:g} -> {counts[i]:g})",
            hint="survivor counts of one cohort can only fall; new customers form a new cohort",
        )
    periods = np.arange(1, counts.size, dtype=float)
    churn_period, churn_weight = _compress(periods, drops)
    alive_period, alive_weight = _compress(np.array([counts.size - 1.0]), counts[-1:])
    return RenewalData(churn_period, churn_weight, alive_period, alive_weight)


def _combine(parts: Sequence[RenewalData]) -> RenewalData:
    churn_period, churn_weight = _compress(
        np.concatenate([p.churn_period for p in parts]),
        np.concatenate([p.churn_weight for p in parts]),
    )
    alive_period, alive_weight = _compress(
        np.concatenate([p.alive_period for p in parts]),
        np.concatenate([p.alive_weight for p in parts]),
    )
    return RenewalData(churn_period, churn_weight, alive_period, alive_weight)


_INDEX_COLUMNS = {"period", "year", "quarter", "month", "week", "t"}


def _survivors_of(data: SurvivorData) -> RenewalData:
    if isinstance(data, Mapping):
        return _combine([_survivor_data(v, f"survivors of {k!r}") for k, v in data.items()])
    if isinstance(data, pd.DataFrame):
        columns = [c for c in data.columns if str(c).strip().lower() not in _INDEX_COLUMNS]
        if not columns:
            raise DataError("the survivor table has no cohort column")
        return _combine([_survivor_data(data[c], f"survivors of {c!r}") for c in columns])
    array = np.asarray(data, dtype=object)
    if array.ndim == 1 and array.size and np.ndim(array[0]) == 0:
        return _survivor_data(np.asarray(data, dtype=float))
    return _combine([_survivor_data(v, f"survivors of cohort {i}") for i, v in enumerate(data)])


def _table_data(table: pd.DataFrame) -> RenewalData:
    """Renewal data from a cohort survival table (see ``contract.cohort_survival``)."""
    period = _whole_numbers(table["period"], "period")
    churned = pd.to_numeric(table["churned"], errors="coerce").to_numpy(dtype=float)
    if "censored" in table.columns:
        censored = pd.to_numeric(table["censored"], errors="coerce").to_numpy(dtype=float)
    else:  # the survivors at the next period tell how many were censored
        active = pd.to_numeric(table["active_at_start"], errors="coerce").to_numpy(dtype=float)
        groups = table["cohort"] if "cohort" in table.columns else pd.Series(0, table.index)
        frame = pd.DataFrame({"g": groups.to_numpy(), "p": period, "a": active})
        following = frame.groupby("g", sort=False)["a"].shift(-1).fillna(0.0).to_numpy()
        censored = active - churned - following
    values = np.concatenate([churned, censored])
    if not np.isfinite(values).all() or (values < 0).any():
        raise DataError(
            "the survival table has a missing or negative churned/censored count",
            hint="build the table with clvreport.models.contract.cohort_survival",
        )
    churn_period, churn_weight = _compress(period + 1.0, churned)
    alive_period, alive_weight = _compress(period, censored)
    return RenewalData(churn_period, churn_weight, alive_period, alive_weight)


def _frame_data(frame: pd.DataFrame) -> RenewalData:
    columns = set(frame.columns)
    if {"renewals", "active"} <= columns:
        weights = frame["weight"] if "weight" in columns else None
        return renewal_data(frame["renewals"], frame["active"], weights)
    if {"period", "churned"} <= columns and ("censored" in columns or "active_at_start" in columns):
        return _table_data(frame)
    raise DataError(
        "the table has neither renewals and active columns (one row per customer) nor "
        "period, active_at_start and churned columns (a cohort survival table)",
        hint="build it with clvreport.models.contract.subscription_summary or cohort_survival",
    )


# ---------------------------------------------------------------------------
# the hypergeometric series of the DERL
# ---------------------------------------------------------------------------

_SERIES_BLOCK = 512
_SERIES_MAX_TERMS = 500_000
_SERIES_TOLERANCE = 1e-17


def hyp2f1_discounted(b: Any, a: Any, discount_rate: Any) -> np.ndarray:
    r"""Gauss's :math:`{}_2F_1(1, b; a + b; z)` at :math:`z = 1 / (1 + d)`, for ``a, b, d > 0``.

    This is :math:`E[1 / (1 - z U)]` with ``U ~ Beta(b, a)``. It is evaluated
    from the discount rate ``d`` rather than ``z``, as ``1 - z`` is not
    representable to full precision when ``d`` is small.

    The series :math:`\sum_k \frac{(b)_k}{(a + b)_k} z^k` has positive terms
    whose ratios rise towards ``z``, so after ``K`` terms the rest is at most
    ``t_K / d``; it is summed (vectorised, in blocks) until that bound is below
    ``1e-17`` of the total. Where that takes more than 500,000 terms (``d``
    below about ``1e-4`` unless ``b / (a + b)`` is well below 1) the value is the integral
    :math:`E[(1 + d) / (d + V)]`, ``V = 1 - U ~ Beta(a, b)``, by adaptive
    quadrature in log-coordinates, where the integrand is smooth. There is no
    cancellation in either, so the result holds to about ``1e-11`` relative
    (``1e-15`` with the series) while ``a + b`` is moderate; for ``a + b``
    beyond ``1e6`` the quadrature's accuracy falls to about ``1e-15 (a + b)``.

    Parameters
    ----------
    b, a
        Positive parameters (broadcast); the function's ``c`` is ``a + b``.
    discount_rate
        ``d > 0``.

    Returns
    -------
    numpy.ndarray
        The function values, broadcast over the inputs.

    Examples
    --------
    >>> round(float(hyp2f1_discounted(1.0, 1.0, 1.0)), 12)  # -log(1 - z) / z at z = 1/2
    1.38629436112
    """
    b, a, d = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (b, a, discount_rate)))
    finite = np.isfinite(b) & np.isfinite(a) & np.isfinite(d)
    if not np.all(finite & (b > 0) & (a > 0) & (d > 0)):
        raise ValueError("hyp2f1_discounted needs finite a > 0, b > 0 and discount rate > 0")
    rows = np.stack([b.reshape(-1), a.reshape(-1), d.reshape(-1)], axis=1)
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    ub, ua, ud = unique.T
    out, converged = _series(ub, ua, ud)
    for i in np.flatnonzero(~converged):
        out[i] = _quadrature(ub[i], ua[i], ud[i])
    return out[inverse.reshape(-1)].reshape(b.shape)


def _series(b: np.ndarray, a: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The series, and whether it converged within :data:`_SERIES_MAX_TERMS` terms."""
    total = np.zeros(b.size)
    log_term = np.zeros(b.size)  # log of the next term to add
    active = np.arange(b.size)
    steps = np.arange(_SERIES_BLOCK, dtype=float)[:, None]
    log_z = -np.log1p(d)
    k0 = 0
    while active.size and k0 < _SERIES_MAX_TERMS:
        k = k0 + steps
        # log of the term ratio z (b + k) / (a + b + k)
        step = np.log1p(-a[active] / (a[active] + b[active] + k)) + log_z[active]
        logs = log_term[active] + np.cumsum(step, axis=0) - step
        total[active] += np.exp(logs).sum(axis=0)
        log_term[active] = logs[-1] + step[-1]
        k0 += _SERIES_BLOCK
        # the rest is at most t_K (z + z^2 + ...) < t_K / d
        rest = np.exp(log_term[active]) / d[active]
        active = active[rest > _SERIES_TOLERANCE * total[active]]
    converged = np.ones(b.size, dtype=bool)
    converged[active] = False
    return total, converged


_LOG_FLOOR = math.log(1e-300)  # below v = 1e-300 the integrand's tail is integrated exactly


def _quadrature(b: float, a: float, d: float) -> float:
    """``E[1 / (1 - z U)]``, ``U ~ Beta(b, a)``, as ``E[(1 + d) / (d + V)]`` with ``V = 1 - U``.

    The integral over ``v`` in ``[0, 1/2]`` is taken in ``s = log v`` and the one
    over ``[1/2, 1]`` in ``s = log(1 - v)``: there the integrands are smooth
    (the Beta density's end-point powers become exponentials, and the pole at
    ``v = -d`` a smooth step at ``s = log d``) and decay exponentially, so
    adaptive quadrature meets its tolerance; below ``e^s = 1e-300`` the
    remaining tail is a closed-form power.
    """
    log_norm = -betaln(a, b)

    def lower(s: float) -> float:  # v = e^s
        v = math.exp(s)
        return math.exp(log_norm + a * s + (b - 1.0) * math.log1p(-v)) / (d + v)

    def upper(s: float) -> float:  # 1 - v = e^s
        v = -math.expm1(s)
        return math.exp(log_norm + b * s + (a - 1.0) * math.log(v)) / (d + v)

    # where the integrands change fast: at v = d and around the bulk of V
    mean = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
    marks = [d, 1.0 / b, 1.0 / a, mean - 5.0 * sd, mean, mean + 5.0 * sd]
    top = math.log(0.5)
    floor = min(_LOG_FLOOR, math.log(d) - 70.0)  # far below the step at v = d
    lower_points = sorted({math.log(v) for v in marks if math.exp(floor) < v < 0.5})
    upper_points = sorted({math.log1p(-v) for v in marks if 0.5 < v < 1.0 - 1e-16})
    options: dict[str, Any] = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 1000}
    with warnings.catch_warnings():  # "roundoff prevents the tolerance": it is met to ~1e-12
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        low, _ = integrate.quad(lower, floor, top, points=lower_points or None, **options)
        high, _ = integrate.quad(upper, _LOG_FLOOR, top, points=upper_points or None, **options)
    # the tails below e^floor: v^(a-1) / d and (1 - v)^(b-1) / (1 + d), integrated exactly
    low += math.exp(log_norm + a * floor - math.log(a) - math.log(d))
    high += math.exp(log_norm + b * _LOG_FLOOR - math.log(b) - math.log1p(d))
    return (1.0 + d) * (low + high)


# ---------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------


def _log_survival(alpha: Any, beta: Any, t: Any) -> Any:
    return log_rising(beta, t) - log_rising(alpha + beta, t)


def _log_churn(alpha: Any, beta: Any, t: Any) -> Any:
    return np.log(alpha) + log_rising(beta, t - 1.0) - log_rising(alpha + beta, t)


def _out(value: Any, *inputs: Any) -> np.ndarray | float:
    if all(np.ndim(v) == 0 for v in inputs):
        return float(np.asarray(value).reshape(-1)[0])
    return np.asarray(value, dtype=float)


def _periods(t: Any, name: str, minimum: int) -> np.ndarray:
    array = np.asarray(t, dtype=float)
    if np.any(~np.isfinite(array)) or np.any(array < minimum):
        raise ModelError(f"{name} must be a number of periods >= {minimum}")
    return array


def _rate(discount_rate: Any) -> np.ndarray:
    d = np.asarray(discount_rate, dtype=float)
    if np.any(~np.isfinite(d)) or np.any(d < 0):
        raise ModelError(
            "the discount rate must be a number >= 0 per contract period",
            hint="give e.g. 0.1 for 10% a period",
        )
    return d


class ShiftedBetaGeometricModel(MaximumLikelihoodModel):
    r"""Shifted-beta-geometric model of contract renewal (Fader and Hardie 2007).

    Each customer churns at the end of each period with probability
    ``theta ~ Beta(alpha, beta)``, independently of the past. Fitting,
    standard errors (from the Hessian of the log-parameters), serialisation
    and the model registry come from
    :class:`~clvreport.models.base.MaximumLikelihoodModel`.

    Parameters
    ----------
    time_unit
        The contract period: ``"years"`` (default), ``"quarters"``, ``"months"`` or ``"weeks"``.
    n_starts
        Number of starting points for the optimiser.
    seed
        Unused (the renewal data are small); kept for the base interface.

    Examples
    --------
    >>> model = ShiftedBetaGeometricModel.from_params({"alpha": 0.704, "beta": 1.182})
    >>> round(model.survival(7), 4), round(model.retention_rate(8), 4)
    (0.2391, 0.9208)
    """

    name = "sbg"
    param_names = ("alpha", "beta")

    def __init__(self, *, time_unit: str = "years", n_starts: int = 3, seed: int = 0):
        unit = check_period_unit(time_unit)
        super().__init__(time_unit="months", n_starts=n_starts, seed=seed)
        self.time_unit = unit  # type: ignore[assignment]

    @classmethod
    def from_params(cls, params: Mapping[str, float], *, time_unit: str = "years") -> Self:
        """A model with known parameters (e.g. published values), ready to predict.

        Parameters
        ----------
        params
            Positive ``alpha`` and ``beta``.
        time_unit
            The contract period the parameters refer to.

        Returns
        -------
        ShiftedBetaGeometricModel
            A model without standard errors or log-likelihood.

        Examples
        --------
        >>> ShiftedBetaGeometricModel.from_params({"alpha": 0.668, "beta": 3.806})
        ShiftedBetaGeometricModel(alpha=0.668, beta=3.806, time_unit='years')
        """
        return super().from_params(params, time_unit=time_unit)  # type: ignore[arg-type]

    # -- fitting --------------------------------------------------------------

    def fit(
        self,
        data: RenewalData | pd.DataFrame | SurvivorData,
        active: ArrayLike | None = None,
        weights: ArrayLike | None = None,
    ) -> Self:
        """Fit by maximum likelihood, with one ``(alpha, beta)`` for all the data.

        Parameters
        ----------
        data
            One of: a :class:`RenewalData`; a customer table with ``renewals``
            and ``active`` columns (optionally ``weight``), e.g. from
            :func:`~clvreport.models.contract.subscription_summary`; a cohort
            survival table with ``period``, ``churned`` and ``censored`` (or
            ``active_at_start``) columns; the renewals array (then pass
            ``active``); or survivor counts (see :meth:`fit_survivors`).
        active
            Whether each customer is still active, when ``data`` is the renewals array.
        weights
            Customers per row, when ``data`` is the renewals array.

        Returns
        -------
        ShiftedBetaGeometricModel
            ``self``, with ``params_``, ``standard_errors_``, ``log_likelihood_``
            and ``converged_`` set.

        Raises
        ------
        clvreport.errors.ModelError
            When nobody churned, nobody renewed or nobody was observed at a
            second renewal: the likelihood then has no (unique) maximum.

        Examples
        --------
        >>> summary = pd.DataFrame({"renewals": [0, 0, 1, 2, 3, 4], "active": [0, 1, 0, 1, 0, 1]})
        >>> ShiftedBetaGeometricModel().fit(summary).n_customers_
        6
        """
        if active is not None:
            return self.fit_customers(data, active, weights)  # type: ignore[arg-type]
        if isinstance(data, RenewalData):
            return self._fit_renewals(data)
        if isinstance(data, pd.DataFrame) and (
            {"renewals", "active"} <= set(data.columns)
            or {"period", "churned"} <= set(data.columns)
        ):
            return self._fit_renewals(_frame_data(data))
        return self.fit_survivors(data)

    def fit_survivors(self, survivors: SurvivorData) -> Self:
        """Fit on survivor counts of one cohort, or of several cohorts pooled.

        Parameters
        ----------
        survivors
            The number still active at the start of each period ``0, 1, ..., n``
            of one cohort; or a mapping cohort -> counts, a list of count
            sequences or a DataFrame with one column per cohort (a column
            named ``period``, ``year``, ``quarter``, ``month``, ``week`` or ``t``
            is taken as the period index and ignored). Cohorts may have
            different lengths in a mapping or list. Those still active at
            the last period are right-censored.

        Returns
        -------
        ShiftedBetaGeometricModel
            ``self``, fitted.

        Examples
        --------
        >>> high_end = [1000, 869, 743, 653, 593, 551, 517, 491]
        >>> model = ShiftedBetaGeometricModel().fit_survivors(high_end)
        >>> round(model.params_["alpha"], 3), round(model.params_["beta"], 3)
        (0.668, 3.806)
        """
        return self._fit_renewals(_survivors_of(survivors))

    def fit_customers(
        self, renewals: ArrayLike, active: ArrayLike, weights: ArrayLike | None = None
    ) -> Self:
        """Fit on one row per customer: renewals observed and whether still active.

        Parameters
        ----------
        renewals, active, weights
            See :func:`renewal_data`; customers may be observed for different
            numbers of periods.

        Returns
        -------
        ShiftedBetaGeometricModel
            ``self``, fitted.

        Examples
        --------
        >>> model = ShiftedBetaGeometricModel().fit_customers([0, 1, 1, 3, 2], [0, 0, 1, 1, 0])
        >>> model.converged_
        True
        """
        return self._fit_renewals(renewal_data(renewals, active, weights))

    def _fit_renewals(self, data: RenewalData) -> Self:
        if data.n_customers <= 0:
            raise ModelError("cannot fit sbg: no customers")
        if data.n_churned <= 0:
            raise ModelError(
                "cannot fit sbg: no customer churned, so the churn rate is estimated as 0",
                hint="observe the customers over more periods, or report retention as 100%",
            )
        renewed = data.churn_weight[data.churn_period > 1].sum() + (
            data.alive_weight[data.alive_period > 0].sum()
        )
        if renewed <= 0:
            raise ModelError(
                "cannot fit sbg: no customer renewed, so the churn rate is estimated as 1",
                hint="check the end dates: every contract ends within its first period",
            )
        seen_twice = data.churn_weight[data.churn_period > 1].sum() + (
            data.alive_weight[data.alive_period > 1].sum()
        )
        if seen_twice <= 0:
            raise ModelError(
                "cannot fit sbg: no customer was observed at a second renewal, so only the "
                "first-period churn rate is known, not how it varies across customers",
                hint="fit together with older cohorts, or wait for the second renewals",
            )
        self._fit_data(data)
        return self

    def _subsample(self, data: Any, rng: np.random.Generator) -> None:
        return None  # the compressed data are already tiny

    def _starting_points(self, data: RenewalData) -> list[np.ndarray]:
        p = data.first_period_churn()
        if not 0.0 < p < 1.0:
            p = 0.5
        p = min(max(p, 0.02), 0.98)
        return [np.log([s * p, s * (1.0 - p)]) for s in (1.0, 0.3, 5.0, 30.0)]

    def _objective(self, data: RenewalData) -> Objective:
        tc, wc = data.churn_period, data.churn_weight
        ta, wa = data.alive_period, data.alive_weight
        total = data.n_customers
        n_churned = data.n_churned

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            alpha, beta = np.exp(theta)
            ab = alpha + beta
            ll = (
                n_churned * math.log(alpha)
                + dot(wc, log_rising(beta, tc - 1.0) - log_rising(ab, tc))
                + dot(wa, log_rising(beta, ta) - log_rising(ab, ta))
            )
            d_ab = dot(wc, digamma_rising(ab, tc)) + dot(wa, digamma_rising(ab, ta))
            d_alpha = n_churned / alpha - d_ab
            d_beta = (
                dot(wc, digamma_rising(beta, tc - 1.0)) + dot(wa, digamma_rising(beta, ta)) - d_ab
            )
            grad = np.array([alpha * d_alpha, beta * d_beta])
            return -ll / total, -grad / total

        return objective

    def _boundary_faces(self, theta: np.ndarray) -> list[Face]:
        # everyone churning with the same probability: alpha, beta -> inf, alpha / beta fixed
        return [
            Face(
                ("no_churn_heterogeneity",),
                np.array([BOUNDARY_LOG, BOUNDARY_LOG]),
                np.array([[1.0], [0.0]]),
                np.clip(np.array([theta[0] - theta[1]]), -15.0, 15.0),
            )
        ]

    # -- predictions ----------------------------------------------------------

    def _ab(self) -> tuple[float, float]:
        params = self._require_fitted()
        return params["alpha"], params["beta"]

    def survival(self, t: Any) -> np.ndarray | float:
        """Share of a new cohort still active at the start of period ``t``: ``S(t) = P(T > t)``.

        Parameters
        ----------
        t
            Period(s) ``>= 0`` (``S(0) = 1``).

        Returns
        -------
        numpy.ndarray or float
            ``B(alpha, beta + t) / B(alpha, beta)``.

        Examples
        --------
        >>> model = ShiftedBetaGeometricModel.from_params({"alpha": 1.0, "beta": 1.0})
        >>> model.survival([0, 1, 3]).round(12).tolist()  # 1 / (t + 1) for alpha = beta = 1
        [1.0, 0.5, 0.25]
        """
        alpha, beta = self._ab()
        periods = _periods(t, "t", 0)
        with np.errstate(all="ignore"):
            return _out(np.exp(_log_survival(alpha, beta, periods)), t)

    def retention_rate(self, t: Any) -> np.ndarray | float:
        """Share of those active in period ``t - 1`` who renew for period ``t``.

        Parameters
        ----------
        t
            Period(s) ``>= 1``.

        Returns
        -------
        numpy.ndarray or float
            ``r_t = (beta + t - 1) / (alpha + beta + t - 1)``, rising in ``t``.

        Examples
        --------
        >>> model = ShiftedBetaGeometricModel.from_params({"alpha": 1.0, "beta": 1.0})
        >>> model.retention_rate([1, 2, 3]).tolist()
        [0.5, 0.6666666666666666, 0.75]
        """
        alpha, beta = self._ab()
        periods = _periods(t, "t", 1)
        return _out((beta + periods - 1.0) / (alpha + beta + periods - 1.0), t)

    def churn_probability(self, t: Any) -> np.ndarray | float:
        """Probability that a new customer pays for exactly ``t`` periods: ``P(T = t)``.

        That is, renews ``t - 1`` times and then leaves (at the end of period ``t - 1``).

        Parameters
        ----------
        t
            Lifetime(s) ``>= 1`` in periods.

        Returns
        -------
        numpy.ndarray or float
            ``B(alpha + 1, beta + t - 1) / B(alpha, beta) = S(t - 1) - S(t)``.

        Examples
        --------
        >>> model = ShiftedBetaGeometricModel.from_params({"alpha": 1.0, "beta": 1.0})
        >>> round(model.churn_probability(2), 12)  # 1 / (t (t + 1))
        0.166666666667
        """
        alpha, beta = self._ab()
        periods = _periods(t, "t", 1)
        with np.errstate(all="ignore"):
            return _out(np.exp(_log_churn(alpha, beta, periods)), t)

    def expected_lifetime(self) -> float:
        """Expected number of periods a new customer pays for, ``E[T]``.

        Returns
        -------
        float
            ``(alpha + beta - 1) / (alpha - 1)`` for ``alpha > 1``; ``inf`` for
            ``alpha <= 1``, where enough customers have churn probabilities near
            0 that the mean lifetime diverges (use the discounted
            :meth:`discounted_expected_residual_lifetime` then).

        Examples
        --------
        >>> ShiftedBetaGeometricModel.from_params({"alpha": 3.0, "beta": 4.0}).expected_lifetime()
        3.0
        """
        alpha, beta = self._ab()
        return (alpha + beta - 1.0) / (alpha - 1.0) if alpha > 1.0 else math.inf

    def expected_remaining_periods(self, n_renewals: Any = 0) -> np.ndarray | float:
        """Expected number of further renewals of a customer who has made ``n_renewals``.

        The undiscounted limit of :meth:`discounted_expected_residual_lifetime`:
        ``sum_{t > n} S(t) / S(n)``.

        Parameters
        ----------
        n_renewals
            Renewals made so far (0 for a customer in the first period).

        Returns
        -------
        numpy.ndarray or float
            ``(beta + n) / (alpha - 1)`` for ``alpha > 1``; ``inf`` for ``alpha <= 1``
            (the mean residual lifetime diverges; a positive discount rate keeps
            the DERL finite).

        Examples
        --------
        >>> model = ShiftedBetaGeometricModel.from_params({"alpha": 3.0, "beta": 4.0})
        >>> model.expected_remaining_periods([0, 2]).tolist()
        [2.0, 3.0]
        """
        alpha, beta = self._ab()
        n = _periods(n_renewals, "n_renewals", 0)
        value = (beta + n) / (alpha - 1.0) if alpha > 1.0 else np.full(n.shape, np.inf)
        return _out(value, n_renewals)

    def discounted_expected_residual_lifetime(
        self, n_renewals: Any = 0, discount_rate: Any = 0.1
    ) -> np.ndarray | float:
        r"""Discounted expected residual lifetime (DERL) of an active customer.

        For a customer who has made ``n`` renewals and stands at the end of the
        current period, just before the next renewal decision (Fader and Hardie
        2010, eq. 6, whose ``n - 1`` renewals are ``n`` here): the expected
        number of future renewals, the next one undiscounted and each later one
        discounted by ``1 + d`` per period,

        .. math::

           \mathrm{DERL} = \sum_{t > n} \frac{S(t)}{S(n)} (1 + d)^{-(t - n - 1)}
           = \frac{\beta + n}{\alpha + \beta + n}\;
             {}_2F_1\!\left(1, \beta + n + 1; \alpha + \beta + n + 1; \tfrac{1}{1 + d}\right).

        In the paper's own indexing (``n`` = the period the customer is in, 1 at
        the start) this is :math:`r_n\,{}_2F_1(1, \beta + n; \alpha + \beta + n; 1/(1+d))`.
        The hypergeometric function is evaluated by :func:`hyp2f1_discounted`.

        Parameters
        ----------
        n_renewals
            Renewals made so far (scalar or array; 0 for a first-period customer).
        discount_rate
            Discount rate per contract period ``d >= 0``; at ``d = 0`` this is
            :meth:`expected_remaining_periods` (``inf`` when ``alpha <= 1``).

        Returns
        -------
        numpy.ndarray or float
            The DERL in periods, broadcast over the inputs.

        Examples
        --------
        >>> model = ShiftedBetaGeometricModel.from_params({"alpha": 1.0, "beta": 1.0})
        >>> # alpha = beta = 1, d = 1: sum_t (1 / (t + 1)) z^(t - 1) at z = 1/2 = 4 log 2 - 2
        >>> round(model.discounted_expected_residual_lifetime(0, 1.0), 12)
        0.77258872224
        """
        alpha, beta = self._ab()
        n = _periods(n_renewals, "n_renewals", 0)
        d = _rate(discount_rate)
        n, d = np.broadcast_arrays(n, d)
        out = np.empty(n.shape)
        zero = d == 0
        if np.any(zero):
            out[zero] = np.asarray(self.expected_remaining_periods(n[zero]))
        if np.any(~zero):
            m, dd = n[~zero], d[~zero]
            out[~zero] = ((beta + m) / (alpha + beta + m)) * hyp2f1_discounted(
                beta + m + 1.0, alpha, dd
            )
        return _out(out, n_renewals, discount_rate)

    def renewal_clv(
        self, value_per_period: Any, n_renewals: Any = 0, discount_rate: Any = 0.1
    ) -> np.ndarray | float:
        """Expected residual lifetime value of an active customer: value x DERL.

        Parameters
        ----------
        value_per_period
            Net cash flow (e.g. margin) of one renewal.
        n_renewals
            Renewals made so far.
        discount_rate
            Discount rate per contract period.

        Returns
        -------
        numpy.ndarray or float
            ``value_per_period * discounted_expected_residual_lifetime(n_renewals, d)``,
            the value of the customer's future renewals (Fader and Hardie 2010's
            E(RLV)), not counting the period already paid for.

        Examples
        --------
        >>> model = ShiftedBetaGeometricModel.from_params({"alpha": 1.0, "beta": 1.0})
        >>> round(model.renewal_clv(100.0, 0, 1.0), 6)
        77.258872
        """
        value = np.asarray(value_per_period, dtype=float)
        derl = self.discounted_expected_residual_lifetime(n_renewals, discount_rate)
        return _out(value * np.asarray(derl), value_per_period, n_renewals, discount_rate)

    # -- projections with parameter uncertainty ---------------------------------

    def survival_draws(self, periods: Any, n_draws: int = 500, seed: int = 0) -> np.ndarray | None:
        """``S(t)`` under parameter draws from the estimates' sampling distribution.

        The log-parameters are drawn from a normal with the inverse observed
        information as covariance (:func:`clvreport.models.uncertainty.draw_parameters`).

        Parameters
        ----------
        periods
            Periods ``t >= 0`` (1-D).
        n_draws
            Number of draws.
        seed
            Seed, for reproducible intervals.

        Returns
        -------
        numpy.ndarray or None
            ``(n_draws, len(periods))``, or ``None`` without a covariance matrix
            (a model built with :meth:`from_params`).

        Examples
        --------
        >>> model = ShiftedBetaGeometricModel().fit_survivors([100, 60, 45, 38])
        >>> model.survival_draws([1, 2], n_draws=50).shape
        (50, 2)
        """
        t = _periods(periods, "periods", 0).reshape(-1)
        draws = draw_parameters(self, n_draws, np.random.default_rng(seed))
        if draws is None:
            return None
        alpha, beta = draws[:, [0]], draws[:, [1]]
        with np.errstate(all="ignore"):
            return np.exp(_log_survival(alpha, beta, t[None, :]))

    def projected_survival(
        self,
        periods: Any,
        *,
        cohort_size: float = 1.0,
        interval: float = 0.9,
        n_draws: int = 500,
        seed: int = 0,
    ) -> pd.DataFrame:
        """Projected survival of a new cohort, with intervals from parameter uncertainty.

        Parameters
        ----------
        periods
            Periods to project, e.g. ``range(8, 13)`` for years 8-12 after
            fitting years 1-7.
        cohort_size
            Customers at period 0; ``expected_active`` is ``cohort_size * S(t)``.
        interval
            Coverage of the interval, e.g. 0.9 for the 5th to 95th percentile.
        n_draws, seed
            Parameter draws (see :meth:`survival_draws`).

        Returns
        -------
        pandas.DataFrame
            One row per period: ``period``, ``survival``, ``retention_rate``
            (``NaN`` at period 0), ``expected_active``, ``low`` and ``high``
            (the interval of ``expected_active``; ``NaN`` without a covariance
            matrix). The intervals describe how well the expected survival is
            known, not the binomial spread of an actual cohort.

        Examples
        --------
        >>> model = ShiftedBetaGeometricModel().fit_survivors([1000, 631, 468, 382, 326])
        >>> table = model.projected_survival([5, 6], cohort_size=1000)
        >>> table.columns.tolist()
        ['period', 'survival', 'retention_rate', 'expected_active', 'low', 'high']
        >>> bool((table["low"] < table["expected_active"]).all())
        True
        """
        t = _periods(periods, "periods", 0).reshape(-1)
        survival = np.asarray(self.survival(t), dtype=float).reshape(-1)
        retention = np.full(t.size, np.nan)
        later = t >= 1
        retention[later] = np.asarray(self.retention_rate(t[later]), dtype=float).reshape(-1)
        low = high = np.full(t.size, np.nan)
        draws = self.survival_draws(t, n_draws=n_draws, seed=seed)
        if draws is not None:
            low, high = percentile_interval(draws * cohort_size, interval)
        whole = bool(np.all(t == np.floor(t)))
        return pd.DataFrame(
            {
                "period": t.astype(np.int64) if whole else t,
                "survival": survival,
                "retention_rate": retention,
                "expected_active": cohort_size * survival,
                "low": low,
                "high": high,
            }
        )


def fit_cohorts(
    data: Mapping[Any, ArrayLike | RenewalData] | pd.DataFrame,
    *,
    cohort_col: str = "cohort",
    time_unit: str = "years",
    n_starts: int = 3,
    errors: Literal["raise", "skip"] = "raise",
) -> dict[Any, ShiftedBetaGeometricModel]:
    """Fit one sBG model per cohort.

    Parameters
    ----------
    data
        A mapping cohort -> survivor counts (or :class:`RenewalData`); or a
        DataFrame with a cohort column: a customer table (``renewals``,
        ``active``) or a cohort survival table (``period``, ``churned``, ...).
    cohort_col
        Name of the cohort column of a DataFrame.
    time_unit
        The contract period.
    n_starts
        Starting points per fit.
    errors
        ``"raise"``: a cohort that cannot be fitted (nobody churned, nobody
        renewed, nobody observed at a second renewal) raises; ``"skip"``: it is
        left out of the result.

    Returns
    -------
    dict
        Cohort -> fitted model, in the order the cohorts first appear (a
        DataFrame's cohorts sorted).

    Raises
    ------
    clvreport.errors.ModelError
        When a cohort cannot be fitted and ``errors="raise"``, naming it.

    Examples
    --------
    >>> fits = fit_cohorts({
    ...     "regular": [1000, 631, 468, 382, 326, 289, 262, 241],
    ...     "high_end": [1000, 869, 743, 653, 593, 551, 517, 491],
    ... })
    >>> {k: round(m.params_["beta"], 3) for k, m in fits.items()}
    {'regular': 1.182, 'high_end': 3.806}
    """
    if isinstance(data, pd.DataFrame):
        if cohort_col not in data.columns:
            raise DataError(
                f"the table has no cohort column {cohort_col!r}",
                hint="pass cohort_col, or a mapping cohort -> survivor counts",
            )
        parts: Mapping[Any, Any] = {
            key: _frame_data(group) for key, group in data.groupby(cohort_col, sort=True)
        }
    else:
        parts = {
            key: value if isinstance(value, RenewalData) else _survivor_data(value, repr(key))
            for key, value in data.items()
        }
    fits = {}
    for key, part in parts.items():
        model = ShiftedBetaGeometricModel(time_unit=time_unit, n_starts=n_starts)
        try:
            fits[key] = model._fit_renewals(part)
        except ModelError as exc:
            if errors == "skip":
                continue
            raise ModelError(f"cohort {key!r}: {exc.message}", hint=exc.hint) from exc
    return fits
