"""Limiting models on the edge of a model's parameter space, and how a fit decides on one.

Every model here mixes over two heterogeneity distributions: a purchase rate
(or purchase probability) with a gamma (or beta) distribution, and a dropout
probability (or rate) with a beta (or gamma) distribution. When a pair of
parameters runs off together, the mixture collapses into a simpler model:

``no_rate_heterogeneity``
    ``r, alpha -> inf`` with ``r / alpha`` fixed: everyone buys at the same rate.
``no_dropout_heterogeneity``
    the dropout pair ``-> inf`` with its mean fixed: everyone has the same
    chance of dropping out.
``no_dropout``
    ``a`` (or ``s``, ``gamma``) ``-> 0``: nobody drops out. For BG/NBD,
    MBG/NBD and Pareto/NBD this is the NBD model (Gamma-Poisson purchases
    forever), whose closed-form likelihood (:func:`nbd_objective`) is fitted
    directly; for BG/BB it is the beta-binomial model.

A limit is a :class:`~clvreport.models.optimise.Face`: some log-parameters
pinned at ``+-BOUNDARY_LOG`` (far enough that the model's formulas, written
without cancellation, equal the limit's to rounding) and the rest free. The
fitted model keeps its own parameter names, with the pinned values in
``params_``, so every prediction and interval works unchanged; ``boundary_``
names the limit.

Deciding (:func:`prefer_limit`)
-------------------------------
The fit does not look at where the optimiser stopped. It fits every limit of
the model (each converges: it has fewer parameters and its optimum is
interior to the face) and compares log-likelihoods: when the best limit is at
least as likely as the interior optimum (within :func:`tie_tolerance`, far
below any statistical difference), the likelihood's supremum lies on the edge
and the limit is the fit, the simplest of the (nearly) equally likely limits.
Before that, the optimiser starts again from points off the limit
(:func:`interior_starts`), so an interior optimum better than the limit is
found even when the first search ran towards the edge. An interior optimum
that stopped near the edge on one machine and a little further on another
therefore gives the same answer on both.

References
----------
.. [1] Fader, P. S. and Hardie, B. G. S. (2005). A Note on Deriving the
   Pareto/NBD Model and Related Expressions (the NBD limit).
   http://www.brucehardie.com/notes/009/
.. [2] Ehrenberg, A. S. C. (1959). The Pattern of Consumer Purchases. Journal
   of the Royal Statistical Society C 8(1), 26-41 (the NBD model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from clvreport.models.compression import RfmData
from clvreport.models.numeric import digamma_rising, dot, log_rising
from clvreport.models.optimise import BOUNDARY_LOG, Face, Objective

__all__ = [
    "LIMIT_NAMES",
    "NO_DROPOUT",
    "NO_DROPOUT_HETEROGENEITY",
    "NO_RATE_HETEROGENEITY",
    "interior_starts",
    "nbd_objective",
    "pair_faces",
    "prefer_limit",
    "simplest",
    "tie_tolerance",
]

NO_RATE_HETEROGENEITY = "no_rate_heterogeneity"
NO_DROPOUT_HETEROGENEITY = "no_dropout_heterogeneity"
NO_DROPOUT = "no_dropout"
LIMIT_NAMES = (NO_RATE_HETEROGENEITY, NO_DROPOUT_HETEROGENEITY, NO_DROPOUT)

_TIE_ABSOLUTE = 1e-4  # log-likelihood units (the whole base)
_TIE_RELATIVE = 1e-7  # of |log-likelihood|
_INTERIOR_DEPTHS = (3.0, 7.0)  # |log parameter| of the starting points off a limit
_IRRELEVANT_VALUES = (0.0, 3.0)  # log of a parameter the limit does not depend on


def tie_tolerance(neg_ll_mean: float, n_customers: float) -> float:
    """Mean log-likelihood difference below which two fits count as equally likely.

    ``1e-4 + 1e-7 |LL|`` in total log-likelihood (for 3,000 customers about
    0.002), far below what any likelihood-ratio test could tell apart and far
    above the optimiser's rounding.

    Examples
    --------
    >>> round(tie_tolerance(4.66, 3000) * 3000, 6)
    0.001498
    """
    n = max(float(n_customers), 1.0)
    return (_TIE_ABSOLUTE + _TIE_RELATIVE * abs(neg_ll_mean) * n) / n


def prefer_limit(interior_value: float, limit_value: float, tolerance: float) -> bool:
    """Whether a limit at mean NLL ``limit_value`` is the fit rather than the interior point.

    True when the limit is at least as likely as the interior optimum, up to
    ``tolerance`` (see :func:`tie_tolerance`); a non-finite interior value
    (the optimiser failed) always prefers a finite limit.

    Examples
    --------
    >>> prefer_limit(2.5000000, 2.5000001, 1e-6), prefer_limit(2.49, 2.5, 1e-6)
    (True, False)
    """
    if not np.isfinite(limit_value):
        return False
    if not np.isfinite(interior_value):
        return True
    return bool(limit_value <= interior_value + tolerance)


def nbd_objective(data: RfmData) -> Objective:
    r"""Mean negative log-likelihood of the NBD model (nobody drops out) on ``log([r, alpha])``.

    The no-dropout limit of BG/NBD, MBG/NBD and Pareto/NBD: Poisson purchases
    at rate ``lambda ~ Gamma(r, alpha)`` forever, so the recency plays no part:

    .. math:: \log L = \log (r)_x - r \log(1 + T/\alpha) - x \log(\alpha + T).

    Parameters
    ----------
    data
        Compressed customer histories.

    Returns
    -------
    callable
        ``phi -> (value, gradient)`` with ``phi = log([r, alpha])``.

    Examples
    --------
    >>> from clvreport.models.compression import compress_rfm
    >>> value, grad = nbd_objective(compress_rfm([0, 2], [0.0, 5.0], [10.0, 10.0]))(np.zeros(2))
    >>> round(value, 6)  # (4 log 11 - log 2) / 2: each buys at rate ~ Gamma(1, 1) for 10 units
    4.449217
    """
    x_code, x_values = data.x_codes
    T_code, T_values = data.T_codes
    w = data.weight
    total = data.n_customers
    w_by_x = np.bincount(x_code, weights=w, minlength=x_values.size)
    w_by_T = np.bincount(T_code, weights=w, minlength=T_values.size)
    wx_by_T = np.bincount(T_code, weights=w * data.x, minlength=T_values.size)

    def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha = np.exp(phi)
        log1p_T = np.log1p(T_values / alpha)
        inv = 1.0 / (alpha + T_values)
        ll = (
            dot(w_by_x, log_rising(r, x_values))
            - r * dot(w_by_T, log1p_T)
            - dot(wx_by_T, np.log(alpha + T_values))
        )
        d_r = r * (dot(w_by_x, digamma_rising(r, x_values)) - dot(w_by_T, log1p_T))
        d_alpha = r * dot(w_by_T, T_values * inv) - alpha * dot(wx_by_T, inv)
        return float(-ll / total), -np.array([d_r, d_alpha]) / total

    return objective


def pair_faces(
    theta: np.ndarray,
    *,
    closed_forms: dict[tuple[str, ...], Callable[[Any], Objective]] | None = None,
    rate_limit: bool = True,
) -> list[Face]:
    """Every limit of a model with a rate pair ``theta[0:2]`` and a dropout pair ``theta[2:4]``.

    The pairs are ``(r, alpha)`` / ``(alpha, beta)`` (purchase rate or
    probability) and ``(a, b)`` / ``(s, beta)`` / ``(gamma, delta)`` (dropout);
    the first of the dropout pair going to 0 means nobody drops out. Five
    faces: each combination of a free, homogeneous (both parameters ``->
    inf``, their ratio free) and, for dropout, absent pair, except the interior.

    Parameters
    ----------
    theta
        Log-parameters the free coordinates start from (the interior fit).
    closed_forms
        Objectives of faces with a closed form of their own, by limits (e.g.
        ``{("no_dropout",): nbd_objective}``), in the face's free coordinates.
    rate_limit
        Whether the rate pair has a homogeneous limit to try.

    Returns
    -------
    list of Face
        In a fixed order; the caller ranks equally likely ones by free parameters.

    Examples
    --------
    >>> [face.jacobian.shape[1] for face in pair_faces(np.zeros(4))]  # free parameters
    [3, 2, 3, 2, 1]
    """
    closed_forms = closed_forms or {}
    unit = np.eye(4)
    faces = []
    for rate_mode in ("free", "homogeneous") if rate_limit else ("free",):
        for dropout_mode in ("free", "homogeneous", "none"):
            if rate_mode == dropout_mode == "free":
                continue
            offset = np.zeros(4)
            columns: list[np.ndarray] = []
            start: list[float] = []
            limits: list[str] = []
            if rate_mode == "free":
                columns += [unit[0], unit[1]]
                start += [theta[0], theta[1]]
            else:  # r = (r / alpha) e^M, alpha = e^M
                offset[:2] = BOUNDARY_LOG
                columns.append(unit[0])
                start.append(theta[0] - theta[1])
                limits.append(NO_RATE_HETEROGENEITY)
            if dropout_mode == "free":
                columns += [unit[2], unit[3]]
                start += [theta[2], theta[3]]
            elif dropout_mode == "homogeneous":
                offset[2:] = BOUNDARY_LOG
                columns.append(unit[2])
                start.append(theta[2] - theta[3])
                limits.append(NO_DROPOUT_HETEROGENEITY)
            else:  # a (or s, gamma) = e^-M: nobody drops out; b does not matter
                offset[2] = -BOUNDARY_LOG
                limits.append(NO_DROPOUT)
            key = tuple(limits)
            faces.append(
                Face(
                    key,
                    offset,
                    np.column_stack(columns),
                    np.clip(np.array(start), -15.0, 15.0),
                    objective=closed_forms.get(key),
                )
            )
    return faces


def interior_starts(face: Face, phi: np.ndarray) -> list[np.ndarray]:
    """Starting points off a limit, to look for an interior optimum beyond it.

    The pinned log-parameters are pulled back from ``+-BOUNDARY_LOG`` to
    ``+-3`` and ``+-7`` (a homogeneous pair keeps its ratio: a concentration
    of ``e^3`` or ``e^7``); a parameter the limit does not depend on (``b``
    when nobody drops out) starts at ``e^0`` and ``e^3``.

    Parameters
    ----------
    face
        The limit.
    phi
        Its fitted free coordinates.

    Returns
    -------
    list of numpy.ndarray
        Full log-parameter vectors.

    Examples
    --------
    >>> face = pair_faces(np.zeros(4))[1]  # nobody drops out
    >>> [s.round(2).tolist() for s in interior_starts(face, np.array([0.5, 1.0]))][:2]
    [[0.5, 1.0, -3.0, 0.0], [0.5, 1.0, -3.0, 3.0]]
    """
    pinned = face.offset != 0
    irrelevant = ~pinned & ~np.any(face.jacobian != 0, axis=1)
    starts = []
    for depth in _INTERIOR_DEPTHS:
        for value in _IRRELEVANT_VALUES if irrelevant.any() else (None,):
            theta = face.offset * (depth / BOUNDARY_LOG) + face.jacobian @ phi
            if value is not None:
                theta[irrelevant] = value
            starts.append(theta)
    return starts


def simplest(
    candidates: Sequence[tuple[float, Face, Any]], tolerance: float
) -> tuple[float, Face, Any]:
    """Among ``(mean NLL, face, fit)`` candidates, the simplest one as likely as the best.

    Examples
    --------
    >>> a, b = pair_faces(np.zeros(4))[:2]
    >>> simplest([(1.0, a, "a"), (1.0 + 1e-9, b, "b")], 1e-6)[2]  # b has fewer parameters
    'b'
    """
    best = min(value for value, _, _ in candidates)
    tied = [c for c in candidates if c[0] <= best + tolerance]
    return min(tied, key=lambda c: (c[1].jacobian.shape[1], c[0]))
