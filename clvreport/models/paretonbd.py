r"""The Pareto/NBD model: Poisson purchases during an exponential lifetime.

While alive, a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``;
lifetimes are exponential with rate ``mu ~ Gamma(s, beta)``.

Numerics
--------
The likelihood is written in a *scaled* form in which every power is
:math:`\exp(-\text{shape} \cdot \operatorname{log1p}(u / \text{scale}))`. With

.. math:: g(u) = (1 + u/\alpha)^{-(r+x)} (1 + u/\beta)^{-(s+1)},

the likelihood of a customer with ``x`` repeat purchases, the last at ``t_x``,
observed for ``T`` is

.. math:: L = \frac{\Gamma(r+x)}{\Gamma(r)\,\alpha^x} \Big[(1 + T/\alpha)^{-(r+x)}
          (1 + T/\beta)^{-s} + \frac{s}{\beta} \int_{t_x}^{T} g(u)\, du\Big],

the same as Fader and Hardie's (2005) eq. (19) with :math:`\alpha^r` and
:math:`\beta^s` moved inside. Nothing here cancels in the limits a fit can run
into: ``s, beta -> inf`` with ``s / beta = mu`` fixed (one common dropout rate:
:math:`(1 + u/\beta)^{-(s+1)} \to e^{-\mu u}`), ``r, alpha -> inf`` with
``r / alpha`` fixed (one common purchase rate) and ``s -> 0`` (no dropout).
Parameters pinned at ``exp(+-20)`` give the limiting model up to terms of order
``exp(-20)`` times the data (``T / beta``; ``x T / alpha + x^2 / r``): about 1e-6
for daily data.

The death term needs the *window integral*

.. math:: Q = \int_0^{D} (1 + v/A)^{-a} (1 + v/B)^{-b} dv, \quad
          A = \alpha + t_0,\ B = \beta + t_0,\ a = r + x,\ b = s + 1,

over ``(t_0, t_0 + D) = (t_x, T)`` (and ``(T, T + t)`` for the forecasts).
Two methods, both within about 1e-13 relative of mpmath at 30 digits, limits
included (``tests/models/test_paretonbd_numerics.py``):

* **Gauss-Legendre in** :math:`w = \operatorname{log1p}(v / C)`, ``C = min(A, B)``.
  The integrand becomes :math:`C e^{\psi(w)}` with
  :math:`\psi = -(a' - 1) w - b' \operatorname{log1p}(\rho\, \operatorname{expm1}(w))`
  (``a'`` the shape of the smaller scale, ``b'`` the other, ``rho = C / max(A, B)``),
  a concave function: decades of ``v`` become a short interval, and the interval
  is cut where the tangent lines of :math:`\psi` fall 40 below its maximum. The
  number of nodes follows the length of the cut interval and the range of
  :math:`\psi` over it: 10 to 24 up to length 4.5 (nearly always; 10 to 16 in
  most fits), 40 up to 12, 64 beyond, each class checked against mpmath to
  1e-13. The derivatives of :math:`\log Q` in the four log-parameters are
  integrals of the same integrand times :math:`\operatorname{log1p}(v/A)`,
  :math:`\operatorname{log1p}(v/B)`, :math:`v/(A+v)` and :math:`v/(B+v)`, so one
  evaluation of the integrand at the nodes gives ``Q`` and its gradient (about
  1e-12 relative).
* **The closed form** :math:`\int_t^\infty = g(t)\, \frac{C}{r+x+s}\,
  {}_2F_1(1, m; a + b; 1 - C/\max(A, B))` (``m`` the shape of the larger scale;
  Fader and Hardie's 2F1 after Euler's transformation, scaled), ``Q`` as the
  difference of two such tails. SciPy's ``hyp2f1`` is accurate to about 1e-14
  there for ``z <= 0.99`` and shapes up to 1e5 (checked against mpmath up to
  ``z = 0.995``, shapes next to whole numbers included). The difference loses
  nothing the likelihood and the predictions need (``s/beta`` times the tail at
  ``T`` is below the alive term it is added to), and for ``Q`` itself it is
  used only where the tails differ by at least a factor 2. Value only, for the
  predictions, where many customers share a tail (``_probability_alive_many``
  evaluates it once per distinct ``(x, t)`` pair and parameter draw); the
  quadrature fills in wherever it does not apply.
* **The same series with its gradient** (:math:`\sum_n t_n`,
  :math:`t_{n+1} = t_n (m+n) z / (a+b+n)`, positive terms below :math:`z^n`,
  differentiated term by term in ``m``, ``a + b`` and ``z``) for the objective on
  large data in coarse time, where many customers share each ``(x, t_x)`` and
  ``(x, T)`` pair: the tails once per pair where ``z <= 0.5``.
* **The tails by the quadrature with its gradient** where ``z > 0.5`` (one
  purchase rate or one dropout rate: a scale pinned at ``exp(20)`` makes ``z``
  nearly 1): the window ``(t, inf)``, whose integrand in ``w`` falls at least
  at rate ``r + x + s`` beyond ``log(1 / rho)``, cut 40 below its maximum like
  a finite window; used where the cut interval is at most 12 long (the node
  classes checked for windows). Where it is longer (small shapes on the way
  to an optimum), the tail is **split** at ``t*``, where ``z = 0.49``: the
  window ``(t, t*)`` by the quadrature plus the series' tail at ``t*`` (once per
  distinct ``x``); else the row's own window.

The log-likelihood objective evaluates the quadrature once per distinct
``(x, t_x, T)`` row or, when there are no more ``(x, t_x)`` and ``(x, T)``
pairs than rows, the tails once per pair (the series, else the tail quadrature;
the rows' windows only where neither applies), and returns the analytic
gradient. A fit at the limits then costs about what an interior one does. Which
of the two costs less depends on the parameters as well as the data: on the
start search's subsample, with nearly as many pairs as rows, the rows' short
windows beat tails that need the quadrature or a long series; each evaluation
takes the cheaper by a count of both (``_pairs_cheaper``; either is accurate to
about 1e-13). The tails run once per distinct ``(x, t)`` of both kinds of pair
together (on daily data the ``t_x`` of one customer is often the ``T`` of
another: 25-40% fewer tails), and the objective keeps its large work arrays
from one evaluation to the next (``_Scratch``): a fresh array of a few hundred
kilobytes costs a page fault per 4 KiB each time, once about half of an
evaluation over 50,000 rows.

References
----------
.. [1] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). Counting
   Your Customers: Who Are They and What Will They Do Next? Management
   Science 33(1), 1-24.
.. [2] Fader, P. S. and Hardie, B. G. S. (2005). A Note on Deriving the
   Pareto/NBD Model and Related Expressions.
   http://www.brucehardie.com/notes/009/
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Self

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.special import hyp2f1

from clvreport.models.base import Params, TransactionModel
from clvreport.models.compression import RfmData, factorize_pairs
from clvreport.models.numeric import digamma_rising, dot, log_rising, logaddexp
from clvreport.models.optimise import Objective

__all__ = ["ParetoNBDModel", "log_window_integral"]

_LN_HALF = float(np.log(0.5))

# Gauss-Legendre quadrature of the window integral
_TAIL = 40.0  # the interval is cut where psi is this far below its maximum
_PROBES = np.array([0.0, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 3 / 4, 1.0])[:, None]
# (largest range of psi, longest interval, nodes): the first that fits is used
_NODE_CLASSES = (
    (2.0, 2.0, 10),
    (8.0, 2.0, 12),
    (16.0, 4.5, 16),
    (np.inf, 4.5, 24),
    (np.inf, 12.0, 40),
    (np.inf, np.inf, 64),
)
_CLASS_RANGES = np.array([c[0] for c in _NODE_CLASSES])
_CLASS_LENGTHS = np.array([c[1] for c in _NODE_CLASSES])
_BLOCK = 2**14  # integrals per block (bounds the nodes x integrals temporaries)


def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = leggauss(n)
    return ((nodes + 1.0) / 2.0)[:, None], (weights / 2.0)[:, None]


_LEGENDRE = {n: _legendre(n) for _, _, n in _NODE_CLASSES}

# closed form (two tails) where SciPy's hyp2f1 is accurate
_Z_CLOSED = 0.99
_MAX_SHAPE_CLOSED = 1e5


def _log1mexp(
    d: np.ndarray, exp_d: np.ndarray | None = None, scratch: _Scratch | None = None
) -> np.ndarray:
    """``log(1 - exp(d))`` for ``d <= 0`` (``-inf`` at 0).

    With ``exp_d`` (``exp(d)``, already computed) and ``scratch`` the result is
    one of ``scratch``'s arrays (``"log1mexp"``), valid until its next use.
    """
    if scratch is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d > _LN_HALF, np.log(-np.expm1(d)), np.log1p(-np.exp(d)))
    out = np.negative(np.exp(d) if exp_d is None else exp_d, out=scratch("log1mexp", d.shape))
    # the second formula only where it is needed (d near 0: t_x near T), not on every row
    near = np.flatnonzero(d > _LN_HALF)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.log1p(out, out=out)
        out[near] = np.log(-np.expm1(d[near]))
    return out


# ---------------------------------------------------------------------------
# the window integral by Gauss-Legendre in w = log1p(v / min(A, B))
# ---------------------------------------------------------------------------


class _Scratch:
    """Work arrays kept from one evaluation of an objective to the next.

    A fresh temporary of a few hundred kilobytes costs a page fault per 4 KiB
    every time (the allocator hands freed memory of that size back to the
    system), which made up about half the time of an evaluation over 50,000
    rows (some 14,000 tails); the arrays here are allocated once per objective
    and reused. Only for temporaries that die within one call.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def __call__(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised array of ``shape`` (a view of the buffer ``name``)."""
        size = math.prod(shape)
        buffer = self._arrays.get(name)
        if buffer is None or buffer.size < size:
            buffer = self._arrays[name] = np.empty(size)
        return buffer[:size].reshape(shape)


def _empty(scratch: _Scratch | None, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A work array from ``scratch``, or a new one without it."""
    return np.empty(shape) if scratch is None else scratch(name, shape)


class _Window:
    """Per-integral quantities of the Gauss-Legendre rule (1-D arrays of equal length).

    ``scratch`` (optional) provides the work arrays of the probes and the nodes.
    """

    def __init__(
        self,
        r: Any,
        alpha: Any,
        s: Any,
        beta: Any,
        x: Any,
        t0: Any,
        t1: Any,
        scratch: _Scratch | None = None,
    ) -> None:
        self.scratch = scratch
        a, b, A, B = r + x, s + 1.0, alpha + t0, beta + t0
        # w runs over the smaller scale C; b1 and rho belong to the larger one
        swap = A > B
        self.C = C = np.where(swap, B, A)
        self.rho = rho = C / np.where(swap, A, B)
        self.k = k = np.where(swap, s, r + (x - 1.0))  # shape of C minus 1, no cancellation
        self.b1 = b1 = np.where(swap, a, b)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            W = np.log1p((t1 - t0) / C)
            # a tail (t1 = inf): psi(w) <= -(r + x + s) w + b1 log(1 / rho) for every w,
            # so psi is below -TAIL - 10 beyond this W
            W = np.where(
                np.isinf(W),
                (b1 * -np.log(rho) + _TAIL + 10.0) / (k + b1),
                np.broadcast_to(W, C.shape),
            )
            # psi is concave: its tangent at each probe bounds it from above
            shape = np.broadcast_shapes(_PROBES.shape, W.shape)
            w = np.multiply(W, _PROBES, out=_empty(scratch, "probe_w", shape))
            ex = np.expm1(w, out=_empty(scratch, "probe_ex", shape))
            q = np.multiply(rho, ex, out=ex)
            neg_k = -k
            # psi = -k w - b1 log1p(q)
            psi = np.multiply(neg_k, w, out=_empty(scratch, "probe_psi", shape))
            part = np.log1p(q, out=_empty(scratch, "probe_part", shape))
            psi -= np.multiply(b1, part, out=part)
            # slope = -k - b1 (rho + q) / (1 + q)
            slope = np.add(rho, q, out=part)
            slope *= b1
            slope /= np.add(1.0, q, out=q)
            np.subtract(neg_k, slope, out=slope)
            # psi' <= 1, so max(psi) <= ref + W / 4: exp(psi - ref) cannot overflow
            self.ref = ref = np.maximum(psi.max(axis=0), 0.0)
            # cut = w + max(psi - ref + TAIL, 0) / -slope where slope < 0, else inf
            cut = np.subtract(psi, ref, out=psi)
            cut += _TAIL
            np.maximum(cut, 0.0, out=cut)
            cut /= np.negative(slope, out=q)
            np.add(w, cut, out=cut)
            np.copyto(cut, np.inf, where=~(slope < 0.0))
            self.length = length = np.minimum(W, cut.min(axis=0))
            # how far psi falls over the interval (psi(0) = 0; concave: the minimum is at an end)
            end = -k * length - b1 * np.log1p(rho * np.expm1(length))
            self.range = ref - np.minimum(end, 0.0)

    def classes(self) -> list[tuple[np.ndarray | slice, int]]:
        """Indices of the integrals per node count (a slice when one count serves all)."""
        # the limits of both kinds rise with the class: the first class that fits both
        # is the later of the first that fits the range and the first that fits the length
        # (NaN: the last class)
        code = np.maximum(
            np.searchsorted(_CLASS_RANGES, self.range), np.searchsorted(_CLASS_LENGTHS, self.length)
        )
        np.minimum(code, len(_NODE_CLASSES) - 1, out=code)
        present = np.flatnonzero(np.bincount(code, minlength=len(_NODE_CLASSES)))
        if present.size == 1:
            return [(slice(None), _NODE_CLASSES[present[0]][2])]
        return [(np.flatnonzero(code == i), _NODE_CLASSES[i][2]) for i in present]

    def nodes(
        self, idx: np.ndarray | slice, n: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Nodes ``w``, ``expm1(w)``, ``log1p(rho expm1(w))`` and the weighted integrand."""
        eta, weights = _LEGENDRE[n]
        length = self.length[idx]
        shape = np.broadcast_shapes(eta.shape, length.shape)
        scratch = self.scratch
        w = np.multiply(eta, length, out=_empty(scratch, "node_w", shape))
        ex = np.expm1(w, out=_empty(scratch, "node_ex", shape))
        l2 = np.multiply(ex, self.rho[idx], out=_empty(scratch, "node_l2", shape))
        np.log1p(l2, out=l2)
        f = np.multiply(w, -self.k[idx], out=_empty(scratch, "node_f", shape))
        f -= np.multiply(l2, self.b1[idx], out=_empty(scratch, "node_part", shape))
        f -= self.ref[idx]
        np.exp(f, out=f)
        f *= weights
        return w, ex, l2, f

    def log_q(self, idx: np.ndarray | slice, total: np.ndarray) -> np.ndarray:
        """``log Q`` from the weighted node sum."""
        with np.errstate(divide="ignore"):
            return np.log(total * self.length[idx] * self.C[idx]) + self.ref[idx]


def _blocks(*values: Any) -> Iterator[tuple[slice, list[Any]]]:
    """Blocks of at most ``_BLOCK`` integrals of 1-D arrays (scalars passed through)."""
    n = max(np.size(v) for v in values)
    for start in range(0, n, _BLOCK):
        part = slice(start, start + _BLOCK)
        yield part, [v[part] if np.ndim(v) else v for v in values]


def _log_window_quadrature(
    r: Any, alpha: Any, s: Any, beta: Any, x: Any, t0: Any, t1: Any
) -> np.ndarray:
    """``log Q`` by Gauss-Legendre (1-D arrays of equal length, or scalars)."""
    return _log_window_quadrature_lengths(r, alpha, s, beta, x, t0, t1)[0]


def _log_window_quadrature_lengths(
    r: Any, alpha: Any, s: Any, beta: Any, x: Any, t0: Any, t1: Any
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_log_window_quadrature` and the length of each cut interval in ``w``."""
    out = np.empty(max(np.size(v) for v in (r, alpha, s, beta, x, t0, t1)))
    length = np.empty(out.shape)
    for part, args in _blocks(r, alpha, s, beta, x, t0, t1):
        win = _Window(*args)
        block = out[part]
        length[part] = win.length
        for idx, n in win.classes():
            _, _, _, f = win.nodes(idx, n)
            block[idx] = win.log_q(idx, f.sum(axis=0))
    return out, length


def _log_window_gradient(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, t0: np.ndarray, t1: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``log Q`` and its derivatives in ``log r, log alpha, log s, log beta`` (scalar parameters).

    Returns
    -------
    tuple of numpy.ndarray
        ``(log_q, d_log_q)`` with shapes ``(n,)`` and ``(4, n)``.
    """
    log_q, d_log_q, _ = _log_window_gradient_lengths(r, alpha, s, beta, x, t0, t1)
    return log_q, d_log_q


def _log_window_gradient_lengths(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: np.ndarray,
    t0: np.ndarray,
    t1: np.ndarray,
    scratch: _Scratch | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_log_window_gradient` and the length of each cut interval in ``w``.

    ``scratch`` (optional) provides the work arrays of the probes and the nodes.
    """
    log_q = np.empty(x.shape)
    length = np.empty(x.shape)
    # means of log1p(v/C), log1p(v/C_max), v/(C+v), v/(C_max+v) under the integrand
    means = np.empty((4, *x.shape))
    for part, args in _blocks(r, alpha, s, beta, x, t0, t1):
        win = _Window(*args, scratch=scratch)
        length[part] = win.length
        q_block, m_block = log_q[part], means[:, part]
        for idx, n in win.classes():
            w, ex, l2, f = win.nodes(idx, n)
            total = f.sum(axis=0)
            q_block[idx] = win.log_q(idx, total)
            with np.errstate(invalid="ignore", divide="ignore"):
                inverse = np.where(total > 0, 1.0 / total, 0.0)
            m_block[0, idx] = np.einsum("ij,ij->j", f, w) * inverse
            m_block[1, idx] = np.einsum("ij,ij->j", f, l2) * inverse
            ratio = np.add(ex, 1.0, out=w)
            np.divide(ex, ratio, out=ratio)
            m_block[2, idx] = np.einsum("ij,ij->j", f, ratio) * inverse
            ex *= win.rho[idx]
            np.add(ex, 1.0, out=ratio)
            np.divide(ex, ratio, out=ratio)
            m_block[3, idx] = np.einsum("ij,ij->j", f, ratio) * inverse
    a, b, A, B = r + x, s + 1.0, alpha + t0, beta + t0
    swap = A > B  # the quadrature ran over the smaller scale
    mean_log_a = np.where(swap, means[1], means[0])
    mean_log_b = np.where(swap, means[0], means[1])
    mean_ratio_a = np.where(swap, means[3], means[2])
    mean_ratio_b = np.where(swap, means[2], means[3])
    d_log_q = np.stack(
        [
            -r * mean_log_a,
            a * (alpha / A) * mean_ratio_a,
            -s * mean_log_b,
            b * (beta / B) * mean_ratio_b,
        ]
    )
    return log_q, d_log_q, length


# ---------------------------------------------------------------------------
# the closed form: Q as the difference of two tails
# ---------------------------------------------------------------------------


def _log_tail_closed(r: Any, alpha: Any, s: Any, beta: Any, x: Any, t: Any) -> np.ndarray:
    r"""``log(int_t^inf g / g(t))`` by the 2F1 closed form; NaN where not trusted."""
    a, b, A, B = np.broadcast_arrays(r + x, s + 1.0, alpha + t, beta + t)
    p = np.broadcast_to(r + x + s, a.shape)
    small = np.minimum(A, B)
    z = 1.0 - small / np.maximum(A, B)
    m = np.where(A <= B, b, a)
    # SciPy's 2F1 is slow as well as inaccurate near z = 1 with large shapes: only
    # evaluated where it is used
    ok = (z <= _Z_CLOSED) & (np.maximum(a, b) <= _MAX_SHAPE_CLOSED)
    out = np.full(a.shape, np.nan)
    with np.errstate(all="ignore"):
        out[ok] = np.log(small[ok] / p[ok] * hyp2f1(1.0, m[ok], a[ok] + b[ok], z[ok]))
    return out


def _fill_tails(tail: np.ndarray, params: Params, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The closed-form tails (``log`` of the tail over ``g(t)``), NaN entries by the quadrature.

    The window ``(t, inf)`` as in :func:`_log_tail_quadrature`, value only and
    with parameters that may be draws (``(n_draws, 1)`` against the pairs);
    entries whose cut interval is too long stay NaN (the rows' windows then).
    """
    shape = np.broadcast_shapes(tail.shape, *(np.shape(p) for p in params))
    out = np.array(np.broadcast_to(tail, shape))
    bad = np.isnan(out)
    if np.any(bad):
        args = [np.broadcast_to(np.asarray(v, dtype=float), shape)[bad] for v in (*params, x, t)]
        with np.errstate(all="ignore"):  # overflow only where the interval is too long to use
            log_q, length = _log_window_quadrature_lengths(*args, np.full(args[0].shape, np.inf))
        out[bad] = np.where((length <= _MAX_TAIL_LENGTH) & np.isfinite(log_q), log_q, np.nan)
    return out


_Z_SERIES = 0.5  # the series with gradient: at most about 60 terms
_ROWS_PER_PAIR = 1.0  # the tails per pair (two a pair) once the pairs are at most the rows
_SERIES_TOLERANCE = 1e-18


def _series_sums(
    m: np.ndarray, c: np.ndarray, z: np.ndarray, n_terms: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``F``, ``dF/dm``, ``dF/dc`` and ``dF/dz`` of ``2F1(1, m; c; z)`` term by term, per pair."""
    term = np.ones_like(z)
    f, f_m, f_c, f_z = term.copy(), np.zeros_like(z), np.zeros_like(z), np.zeros_like(z)
    s_m, s_c = np.zeros_like(z), np.zeros_like(z)
    m_n, c_n, q, product = (np.empty(z.shape) for _ in range(4))
    for n in range(n_terms):  # in place: the loop runs up to 65 times on small arrays
        np.add(m, n, out=m_n)
        np.add(c, n, out=c_n)
        q = np.multiply(term, m_n, out=q)
        q /= c_n  # t_{n+1} / z
        s_m += np.divide(1.0, m_n, out=m_n)
        s_c += np.divide(1.0, c_n, out=c_n)
        np.multiply(q, z, out=term)
        f += term
        f_m += np.multiply(term, s_m, out=product)
        f_c -= np.multiply(term, s_c, out=product)
        f_z += np.multiply(q, n + 1, out=product)
    return f, f_m, f_c, f_z


def _series_sums_one_z(
    m: np.ndarray, c: np.ndarray, z: float, n_terms: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_series_sums` for one ``z``: all terms at once (a few arrays of terms x values).

    For the tails beyond the split point, one per distinct ``x``: a loop over the
    terms would cost a Python step per term for a handful of values.
    """
    k = np.arange(n_terms, dtype=float)[:, None]
    m_k, c_k = m + k, c + k
    coef = np.cumprod(m_k / c_k, axis=0)  # t_{n+1} / z^{n+1}
    power = z**k  # z^n
    q = coef * power  # t_{n+1} / z
    term = q * z  # t_{n+1}
    f = 1.0 + term.sum(axis=0)
    f_m = (term * np.cumsum(1.0 / m_k, axis=0)).sum(axis=0)
    f_c = -(term * np.cumsum(1.0 / c_k, axis=0)).sum(axis=0)
    f_z = (q * (k + 1.0)).sum(axis=0)
    return f, f_m, f_c, f_z


def _log_tail_series(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""``log int_t^inf g`` and its log-parameter gradient by the 2F1 series (scalar parameters).

    :math:`{}_2F_1(1, m; c; z) = \sum_n t_n`, :math:`t_{n+1} = t_n (m+n) z / (c+n)`, is a
    series of positive terms below :math:`z^n`; its derivatives in ``m``, ``c`` and
    ``z`` are series of the same terms times :math:`\sum_{k<n} 1/(m+k)`,
    :math:`-\sum_{k<n} 1/(c+k)` and :math:`n / z`. Used where ``z <= 0.5``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(log_tail, d_log_tail, ok)``, shapes ``(n,)``, ``(4, n)`` and ``(n,)``;
        ``ok`` is false where ``z > 0.5`` (the values there are not meaningful).
    """
    a = r + x
    b = s + 1.0
    A = alpha + t
    B = beta + t
    low = A <= B  # the purchase scale is the smaller one
    small = np.where(low, A, B)
    large = np.where(low, B, A)
    z = np.abs(alpha - beta) / large
    ok = z <= _Z_SERIES
    z = np.where(ok, z, 0.0)
    m = np.where(low, b, a)
    c = a + b
    z_max = float(z.max(initial=0.0))
    n_terms = 1 if z_max == 0.0 else int(np.log(_SERIES_TOLERANCE) / np.log(z_max)) + 5
    if np.ndim(t) == 0:  # one t for every x (the split point of the tails)
        f, f_m, f_c, f_z = _series_sums_one_z(m, c, float(z), n_terms)
    else:
        f, f_m, f_c, f_z = _series_sums(m, c, z, n_terms)
    p = r + x + s
    log_alpha_t = np.log1p(t / alpha)
    log_beta_t = np.log1p(t / beta)
    log_tail = -a * log_alpha_t - b * log_beta_t + np.log(small / p * f)
    d_c, d_m, d_z = f_c / f - 1.0 / p, f_m / f, f_z / f
    d_a = d_c + np.where(low, 0.0, d_m)
    d_b = d_c + np.where(low, d_m, 0.0)
    # z = 1 - small / large: d/dA and d/dB of log(small) + log F
    d_A = np.where(low, 1.0 / A - d_z / B, d_z * B / A**2)
    d_B = np.where(low, d_z * A / B**2, 1.0 / B - d_z / A)
    d_log_tail = np.stack(
        [
            r * (d_a - log_alpha_t),
            a * t / A + alpha * d_A,
            s * (d_b - log_beta_t),
            b * t / B + beta * d_B,
        ]
    )
    return log_tail, d_log_tail, ok


_MAX_TAIL_LENGTH = 12.0  # tails by quadrature where the cut interval is this short


def _log_tail_quadrature(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: np.ndarray,
    t: np.ndarray,
    scratch: _Scratch | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""``log int_t^inf g`` and its log-parameter gradient by the quadrature (scalar parameters).

    The tail is :math:`g(t)` times the window integral over ``(t, inf)``, whose
    integrand in ``w`` falls by at least ``(r + x + s)`` per unit beyond
    ``log(1 / rho)``: the interval is cut where it is ``_TAIL`` below its maximum,
    as for a finite window. Used where the series does not apply (``z > 0.5``).

    Returns
    -------
    tuple of numpy.ndarray
        ``(log_tail, d_log_tail, ok)`` as :func:`_log_tail_series`; ``ok`` is false
        where the cut interval is longer than the node classes checked for
        windows of data (``_MAX_TAIL_LENGTH``) or the tail is not finite.
    """
    infinite = np.full(x.shape, np.inf)
    with np.errstate(all="ignore"):  # overflow only where the interval is too long to use
        log_q, d_log_q, length = _log_window_gradient_lengths(
            r, alpha, s, beta, x, t, infinite, scratch
        )
    a, b = r + x, s + 1.0
    log_alpha_t, log_beta_t = np.log1p(t / alpha), np.log1p(t / beta)
    log_tail = -a * log_alpha_t - b * log_beta_t + log_q
    d_log_tail = d_log_q + np.stack(
        [-r * log_alpha_t, a * t / (alpha + t), -s * log_beta_t, b * t / (beta + t)]
    )
    ok = (length <= _MAX_TAIL_LENGTH) & np.isfinite(log_tail) & np.all(np.isfinite(d_log_tail), 0)
    return log_tail, d_log_tail, ok


_Z_SPLIT = 0.49  # the split point of a tail: its z, just inside the series' reach


def _log_tail_split(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: np.ndarray,
    t: np.ndarray,
    scratch: _Scratch | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The tails where ``z > 0.5`` as a window up to ``t*`` plus the series' tail beyond it.

    :math:`\int_t^\infty g = \int_t^{t^*} g + \int_{t^*}^\infty g` with ``t*`` where
    ``z = _Z_SPLIT`` (``z`` falls as ``t`` grows): the window by the quadrature
    with its gradient, the tail at ``t*`` by the series once per distinct ``x``.
    The boundary terms of ``t*`` (a function of ``alpha`` and ``beta``) cancel in
    the sum, so the gradients add with the two parts' shares. On the way to an
    optimum, with small shapes, the tail alone has a long cut interval in ``w``
    (40 to 64 nodes, or none that is checked: the rows' windows then); the window
    up to ``t*`` is short. Pinned at a limit (``z`` near 1), ``t*`` is far and the
    window is the tail's own cut interval, as in :func:`_log_tail_quadrature`.

    Returns
    -------
    tuple of numpy.ndarray
        ``(log_tail, d_log_tail, ok)`` as :func:`_log_tail_quadrature`; ``ok`` is
        false where the window's cut interval is longer than ``_MAX_TAIL_LENGTH``
        or a part is not finite.
    """
    t_star = abs(alpha - beta) / _Z_SPLIT - max(alpha, beta)
    with np.errstate(all="ignore"):  # overflow only where the interval is too long to use
        log_q, d_log_q, length = _log_window_gradient_lengths(
            r, alpha, s, beta, x, t, np.full(x.shape, t_star), scratch
        )
        a, b = r + x, s + 1.0
        log_alpha_t, log_beta_t = np.log1p(t / alpha), np.log1p(t / beta)
        log_window = -a * log_alpha_t - b * log_beta_t + log_q
        d_window = d_log_q + np.stack(
            [-r * log_alpha_t, a * t / (alpha + t), -s * log_beta_t, b * t / (beta + t)]
        )
        x_values, at = np.unique(x, return_inverse=True)
        beyond, d_beyond, ok = _log_tail_series(r, alpha, s, beta, x_values, t_star)
        beyond, d_beyond = beyond[at], d_beyond[:, at]
        ok = np.broadcast_to(ok, x_values.shape)[at]
        log_tail = np.logaddexp(log_window, beyond)
        d_log_tail = np.exp(log_window - log_tail) * d_window
        d_log_tail += np.exp(beyond - log_tail) * d_beyond
    ok &= (length <= _MAX_TAIL_LENGTH) & np.isfinite(log_tail)
    ok &= np.all(np.isfinite(d_log_tail), axis=0)
    return log_tail, d_log_tail, ok


def _log_tails_beyond_series(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: np.ndarray,
    t: np.ndarray,
    scratch: _Scratch | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tails where ``z > 0.5``: the quadrature, split where its interval is too long.

    :func:`_log_tail_quadrature` where its cut interval is checked (at most
    ``_MAX_TAIL_LENGTH``), else :func:`_log_tail_split`: on the way to an optimum
    with small shapes, a few tails too long for the quadrature would otherwise
    send every row that uses them to its own window (thousands of rows).
    """
    log_tail, d_log_tail, ok = _log_tail_quadrature(r, alpha, s, beta, x, t, scratch)
    again = np.flatnonzero(~ok)
    if again.size:
        split = _log_tail_split(r, alpha, s, beta, x[again], t[again], scratch)
        log_tail[again], d_log_tail[:, again], ok[again] = split
    return log_tail, d_log_tail, ok


def _series_applies(alpha: float, beta: float, t: np.ndarray) -> np.ndarray:
    """Where :func:`_log_tail_series` applies: ``z <= _Z_SERIES`` (a function of ``t``)."""
    A, B = alpha + t, beta + t
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(alpha - beta) / np.where(A <= B, B, A) <= _Z_SERIES


_TailSet = tuple[np.ndarray, np.ndarray, np.ndarray]
_Tails = tuple[np.ndarray, np.ndarray, np.ndarray]


def _log_tails(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    sets: list[_TailSet],
    x_all: np.ndarray,
    t_all: np.ndarray,
    scratch: _Scratch | None = None,
) -> list[_Tails]:
    """The tails and their gradient per ``(x, t)`` pair: the series, else the quadrature.

    Parameters
    ----------
    r, alpha, s, beta
        Parameters (scalars).
    sets
        Sets of pairs ``(x, t, index)``, ``index`` each pair's position in
        ``(x_all, t_all)``.
    x_all, t_all
        The distinct pairs of all the sets: the series and the quadrature run
        once per pair there (the ``(x, t_x)`` and ``(x, T)`` pairs of daily data
        share many).
    scratch
        Work arrays of the quadrature.

    Returns
    -------
    list of tuple
        ``(log_tail, d_log_tail, ok)`` per set, as :func:`_log_tail_series`.
        Each pair gets only the method that applies to it (the series where its
        ``z`` is at most ``_Z_SERIES``, else :func:`_log_tails_beyond_series`).
    """
    series = _series_applies(alpha, beta, t_all)
    log_tail = np.empty(t_all.shape)
    d_log_tail = np.empty((4, *t_all.shape))
    ok = np.zeros(t_all.shape, dtype=bool)
    for by_series in (True, False):
        where = series if by_series else ~series
        if not where.any():
            continue
        at: np.ndarray | slice = slice(None) if where.all() else np.flatnonzero(where)
        x, t = x_all[at], t_all[at]
        if by_series:
            values = _log_tail_series(r, alpha, s, beta, x, t)
        else:
            values = _log_tails_beyond_series(r, alpha, s, beta, x, t, scratch)
        log_tail[at], d_log_tail[:, at], ok[at] = values
    return [(log_tail[i], np.take(d_log_tail, i, axis=1), ok[i]) for _, _, i in sets]


def _combine_tails(
    r: Any,
    alpha: Any,
    s: Any,
    beta: Any,
    x: Any,
    t0: Any,
    t1: Any,
    tail0: np.ndarray,
    tail1: np.ndarray,
    *,
    relative: bool = True,
) -> np.ndarray:
    """``log Q`` from the two scaled tails at ``t0`` and ``t1`` (NaN where a tail is).

    With ``relative``, also NaN where the tails differ by less than a factor 2, so
    that ``Q`` itself is accurate to about 1e-14 relative. Without it the error of
    ``Q`` is about 1e-14 of the tail at ``t0``, which is all the likelihood and the
    predictions need: the tail at ``T``, times ``s / beta``, is below the alive term
    ``(1 + T/alpha)^-(r+x) (1 + T/beta)^-s`` it is added to.
    """
    D = t1 - t0
    with np.errstate(all="ignore"):
        d = (
            -(r + x) * np.log1p(D / (alpha + t0))
            - (s + 1.0) * np.log1p(D / (beta + t0))
            + tail1
            - tail0
        )
    value = tail0 + _log1mexp(np.minimum(d, 0.0))
    if relative:
        return np.where(d <= _LN_HALF, value, np.nan)
    return np.where(np.isnan(d), np.nan, value)


def _log_window(params: Params, x: Any, t0: Any, t1: Any, *, relative: bool) -> np.ndarray:
    """``log Q``: the closed form where it applies, the quadrature elsewhere."""
    r, alpha, s, beta = (np.asarray(p, dtype=float) for p in params)
    x, t0, t1 = (np.asarray(v, dtype=float) for v in (x, t0, t1))
    tail0 = _log_tail_closed(r, alpha, s, beta, x, t0)
    tail1 = _log_tail_closed(r, alpha, s, beta, x, t1)
    out = _combine_tails(r, alpha, s, beta, x, t0, t1, tail0, tail1, relative=relative)
    return _fill_by_quadrature(np.array(out, dtype=float), (r, alpha, s, beta), x, t0, t1)


def _fill_by_quadrature(out: np.ndarray, params: Params, x: Any, t0: Any, t1: Any) -> np.ndarray:
    """Replace the NaN entries of ``out`` (broadcast shape) by the quadrature."""
    bad = np.isnan(out)
    if np.any(bad):
        args = [np.broadcast_to(np.asarray(v, dtype=float), out.shape)[bad] for v in params]
        data = [np.broadcast_to(np.asarray(v, dtype=float), out.shape)[bad] for v in (x, t0, t1)]
        out[bad] = _log_window_quadrature(*args, *data)
    return out


def log_window_integral(params: Params, x: Any, t0: Any, t1: Any) -> np.ndarray:
    r"""Log of the scaled window integral of the Pareto/NBD death term.

    .. math:: Q = \int_0^{t_1 - t_0} (1 + v/(\alpha + t_0))^{-(r+x)}
              (1 + v/(\beta + t_0))^{-(s+1)}\, dv

    so that :math:`\int_{t_0}^{t_1} (\alpha+u)^{-(r+x)} (\beta+u)^{-(s+1)} du =
    (\alpha + t_0)^{-(r+x)} (\beta + t_0)^{-(s+1)} Q`. By the closed form where
    SciPy's 2F1 is accurate and the two tails do not cancel, elsewhere by
    Gauss-Legendre quadrature (see the module's Numerics); about 1e-13 relative
    for any parameters, including the limits ``s, beta -> inf``, ``r, alpha -> inf``
    and ``s -> 0``.

    Parameters
    ----------
    params
        ``(r, alpha, s, beta)``, scalars or arrays broadcasting with the data
        (e.g. parameter draws of shape ``(n_draws, 1)``).
    x
        Number of repeat purchases.
    t0, t1
        Window ``(t0, t1)``, ``0 <= t0 <= t1``.

    Returns
    -------
    numpy.ndarray
        ``log Q`` (``-inf`` for an empty window).

    Examples
    --------
    >>> # alpha == beta: Q = (alpha + t0) / (r + s + x) * (1 - (1 + D / (alpha + t0))^-(r+s+x))
    >>> q = float(np.exp(log_window_integral((1.0, 2.0, 1.0, 2.0), 1.0, 0.0, 3.0)))
    >>> round(q, 12) == round(2.0 / 3.0 * (1.0 - 2.5**-3.0), 12)
    True
    """
    return _log_window(params, x, t0, t1, relative=True)


# ---------------------------------------------------------------------------
# likelihood pieces
# ---------------------------------------------------------------------------


def _log_alive_term(r: Any, alpha: Any, s: Any, beta: Any, x: Any, T: Any) -> np.ndarray:
    """``log[(1 + T/alpha)^-(r+x) (1 + T/beta)^-s]``."""
    return -(r + x) * np.log1p(T / alpha) - s * np.log1p(T / beta)


def _log_death_term(
    r: Any, alpha: Any, s: Any, beta: Any, x: Any, t_x: Any, log_q: np.ndarray
) -> np.ndarray:
    """``log[(s/beta) int_{t_x}^T g]`` from the window integral over ``(t_x, T)``."""
    return (
        np.log(s)
        - np.log(beta)
        - (r + x) * np.log1p(t_x / alpha)
        - (s + 1.0) * np.log1p(t_x / beta)
        + log_q
    )


# the cost of the pair tails in row windows (each about 0.3 us a row): the rows' own
# work, a series term and a tail by the quadrature (24 nodes; more on the way to an optimum)
_ROW_COST = 0.2
_SERIES_TERM_COST = 0.035
_QUADRATURE_TAIL_COST = 1.3


def _pairs_cheaper(alpha: float, beta: float, t_all: np.ndarray, n_rows: int) -> bool:
    """Whether the tails per pair cost less than the rows' windows at ``alpha, beta``.

    On the start search's subsample the pairs are nearly as many as the rows:
    where many tails need the quadrature (``z > 0.5``), or the series many terms,
    two tails a pair cost more than one short window a row. The estimate counts
    them before any is computed (calibrated on the benchmark's subsamples: the
    windows about 1.3 ms over 4,000 rows whatever the parameters, the tails from
    0.9 ms to 3.6 ms). Either way is accurate to about 1e-13.
    """
    series = _series_applies(alpha, beta, t_all)
    n_series = int(np.count_nonzero(series))
    cost = _ROW_COST * n_rows + _QUADRATURE_TAIL_COST * (t_all.size - n_series)
    if n_series:
        z_max = abs(alpha - beta) / (max(alpha, beta) + float(t_all[series].min()))
        n_terms = 1 if z_max == 0.0 else math.log(_SERIES_TOLERANCE) / math.log(z_max) + 5
        cost += _SERIES_TERM_COST * n_series * n_terms
    return cost < n_rows


def _pareto_objective(data: RfmData) -> Objective:
    x_code, x_values = data.x_codes
    w = data.weight
    total = data.n_customers
    x, t_x, T = data.x, data.t_x, data.T
    w_by_x = np.bincount(x_code, weights=w, minlength=x_values.size)
    wx = dot(w, x)
    c1, x1, t1 = data.pair_codes("t_x")
    c2, x2, t2 = data.pair_codes("T")
    # customers sharing (x, t) pairs (large data, coarse time): the tails once per pair
    # where the series or the tail quadrature applies; otherwise the quadrature per row
    by_pairs = _ROWS_PER_PAIR * (x1.size + x2.size) <= data.n_rows
    if by_pairs:  # the distinct pairs of both kinds (a t_x of one is often the T of another)
        i_all, x_all, t_all = factorize_pairs(np.concatenate([x1, x2]), np.concatenate([t1, t2]))
        i1, i2 = i_all[: x1.size], i_all[x1.size :]
    scratch = _Scratch()

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, s, beta = np.exp(theta)
        n = x.size
        # alive term, once per (x, T) pair
        a2 = r + x2
        l_T_alpha, l_T_beta = np.log1p(t2 / alpha), np.log1p(t2 / beta)
        log_e_pair = -a2 * l_T_alpha - s * l_T_beta
        d_e_pair = np.stack(
            [-r * l_T_alpha, a2 * t2 / (alpha + t2), -s * l_T_beta, s * t2 / (beta + t2)]
        )
        log_e = np.take(log_e_pair, c2, out=scratch("log_e", (n,)))
        # death term: log[(s / beta) int_{t_x}^T g]
        log_s_beta = np.log(s) - np.log(beta)
        log_d = scratch("log_d", (n,))
        grad_d = np.zeros(4)  # sum over customers of P(death term) * its gradient
        use_pairs = by_pairs and _pairs_cheaper(alpha, beta, t_all, n)
        if use_pairs:
            (lk1, dk1, ok1), (lk2, dk2, ok2) = _log_tails(
                r, alpha, s, beta, [(x1, t1, i1), (x2, t2, i2)], x_all, t_all, scratch
            )
            easy = None if ok1.all() and ok2.all() else ok1[c1] & ok2[c2]
            if easy is None or easy.all():  # nearly always: no copies of the codes
                hard: np.ndarray | slice = np.empty(0, dtype=np.intp)
                easy_rows: np.ndarray | slice = slice(None)
                e1, e2 = c1, c2
            else:
                hard, easy_rows = np.flatnonzero(~easy), easy
                e1, e2 = c1[easy], c2[easy]
            m = e1.size
            # log K1 + log(1 - K2 / K1), K = the tails at (x, t_x) and (x, T)
            log_k1 = np.take(lk1, e1, out=scratch("log_k1", (m,)))
            diff = np.take(lk2, e2, out=scratch("diff", (m,)))
            diff -= log_k1
            np.minimum(diff, 0.0, out=diff)
            ratio = np.exp(diff, out=scratch("ratio", (m,)))
            log_k1 += log_s_beta
            log_d[easy_rows] = np.add(log_k1, _log1mexp(diff, ratio, scratch), out=log_k1)
        else:
            hard = slice(None)
        xh, th, Th = x[hard], t_x[hard], T[hard]
        if xh.size:
            log_q, d_log_q, _ = _log_window_gradient_lengths(r, alpha, s, beta, xh, th, Th, scratch)
            ah = r + xh
            l_tx_alpha, l_tx_beta = np.log1p(th / alpha), np.log1p(th / beta)
            log_d[hard] = log_s_beta - ah * l_tx_alpha - (s + 1.0) * l_tx_beta + log_q
        inner = logaddexp(log_e, log_d, scratch("inner", (n,)), scratch("inner_top", (n,)))
        ll = dot(w_by_x, log_rising(r, x_values)) - wx * np.log(alpha) + dot(w, inner)
        # gradient in the log-parameters: the weights of the alive and the death terms
        we = np.subtract(log_e, inner, out=log_e)
        np.exp(we, out=we)
        we *= w
        wd = np.subtract(log_d, inner, out=log_d)
        np.exp(wd, out=wd)
        wd *= w
        if use_pairs:
            # d log(K1 - K2) = (d log K1 - ratio d log K2) / (1 - ratio), K2 / K1 = ratio
            u1 = np.subtract(1.0, ratio, out=scratch("u1", (m,)))
            with np.errstate(divide="ignore", invalid="ignore"):
                np.divide(wd[easy_rows], u1, out=u1)
            np.copyto(u1, 0.0, where=~(ratio < 1.0))
            grad_d += dk1 @ np.bincount(e1, weights=u1, minlength=x1.size)
            grad_d -= dk2 @ np.bincount(
                e2, weights=np.multiply(u1, ratio, out=ratio), minlength=x2.size
            )
        if xh.size:
            wh = wd[hard]
            grad_d += d_log_q @ wh
            grad_d += [
                -r * dot(wh, l_tx_alpha),
                dot(wh, ah * th / (alpha + th)),
                -s * dot(wh, l_tx_beta),
                (s + 1.0) * dot(wh, th / (beta + th)),
            ]
        total_d = wd.sum()
        grad = (
            np.array([r * dot(w_by_x, digamma_rising(r, x_values)), -wx, total_d, -total_d])
            + d_e_pair @ np.bincount(c2, weights=we, minlength=x2.size)
            + grad_d
        )
        return -ll / total, -grad / total

    return objective


class ParetoNBDModel(TransactionModel):
    """Pareto/NBD model.

    Parameters
    ----------
    time_unit
        Unit of ``recency`` and ``T``: ``"days"``, ``"weeks"`` or ``"months"``.
    n_starts
        Number of optimiser starting points.
    seed
        Seed for the start search subsample on large data.

    Attributes
    ----------
    params_ : dict[str, float]
        ``r, alpha`` (purchase-rate gamma) and ``s, beta`` (dropout-rate gamma).

    References
    ----------
    .. [1] Schmittlein, Morrison and Colombo (1987), Management Science 33(1).
    .. [2] Fader and Hardie (2005), http://www.brucehardie.com/notes/009/

    Examples
    --------
    >>> model = ParetoNBDModel.from_params(
    ...     {"r": 0.55315, "alpha": 10.57633, "s": 0.60625, "beta": 11.67150})
    >>> round(model.probability_alive(26, 216 / 7, 31.0), 4)
    0.9979
    """

    name = "pnbd"
    param_names = ("r", "alpha", "s", "beta")
    search_customers = 10_000

    def _fit_data(self, data: Any) -> Self:
        # one objective per data set (all rows, the start search's subsample) for the
        # whole fit, so that its work arrays are allocated once, not per optimisation
        self._objectives: dict[int, tuple[Any, Objective]] = {}
        try:
            return super()._fit_data(data)
        finally:
            del self._objectives

    def _objective(self, data: RfmData) -> Objective:
        cache = getattr(self, "_objectives", None)
        if cache is None:
            return _pareto_objective(data)
        hit = cache.get(id(data))
        if hit is None or hit[0] is not data:
            hit = cache[id(data)] = (data, _pareto_objective(data))
        return hit[1]

    def _start_params(self, rate: float, data: RfmData, scale: float) -> np.ndarray:
        mean_age = max(dot(data.weight, data.T) / data.n_customers, 1e-6)
        return np.array([scale, scale / rate, scale, scale * mean_age])

    @staticmethod
    def _log_parts(params: Params, x: Any, t_x: Any, T: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(log alive term, log of the bracket)`` of the scaled likelihood."""
        r, alpha, s, beta = params
        log_e = _log_alive_term(r, alpha, s, beta, x, T)
        log_q = _log_window(params, x, t_x, T, relative=False)
        log_d = _log_death_term(r, alpha, s, beta, x, t_x, log_q)
        return log_e, np.logaddexp(log_e, log_d)

    @staticmethod
    def _log_likelihood(params: Params, x: Any, t_x: Any, T: Any) -> np.ndarray:
        r, alpha, _, _ = params
        _, inner = ParetoNBDModel._log_parts(params, x, t_x, T)
        return log_rising(r, x) - x * np.log(alpha) + inner

    @staticmethod
    def _probability_alive(params: Params, x: Any, t_x: Any, T: Any) -> np.ndarray:
        log_e, inner = ParetoNBDModel._log_parts(params, x, t_x, T)
        return np.exp(log_e - inner)

    @classmethod
    def _probability_alive_many(cls, params: Params, x: Any, t_x: Any, T: Any) -> np.ndarray:
        # the tails once per distinct (x, t_x) and (x, T) pair and draw (the closed form,
        # else the tail quadrature), the rows' windows where neither applies
        r, alpha, s, beta = (np.asarray(p, dtype=float) for p in params)
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        if x.ndim != 1:
            return cls._probability_alive((r, alpha, s, beta), x, t_x, T)
        c1, x1, t1 = factorize_pairs(x, t_x)
        c2, x2, t2 = factorize_pairs(x, T)
        params = (r, alpha, s, beta)
        tail0 = _fill_tails(_log_tail_closed(*params, x1, t1), params, x1, t1)[..., c1]
        tail1 = _fill_tails(_log_tail_closed(*params, x2, t2), params, x2, t2)[..., c2]
        log_q = _combine_tails(r, alpha, s, beta, x, t_x, T, tail0, tail1, relative=False)
        shape = np.broadcast_shapes(log_q.shape, r.shape, alpha.shape, s.shape, beta.shape)
        log_q = _fill_by_quadrature(
            np.array(np.broadcast_to(log_q, shape)), (r, alpha, s, beta), x, t_x, T
        )
        log_e = _log_alive_term(r, alpha, s, beta, x, T)
        log_d = _log_death_term(r, alpha, s, beta, x, t_x, log_q)
        return np.exp(log_e - np.logaddexp(log_e, log_d))

    @staticmethod
    def _expected_purchases_if_alive(params: Params, t: Any, x: Any, T: Any) -> np.ndarray:
        # Fader and Hardie (2005) eq. (41) divided by P(alive); stable near s = 1 and
        # in the limits (beta + T) / (s - 1) -> 1 / mu and (r + x) / (alpha + T) -> lambda
        r, alpha, s, beta = params
        horizon = np.log1p(t / (beta + T))
        u = (s - 1.0) * horizon
        small = np.abs(u) < 1e-10
        factor = np.where(small, horizon, -np.expm1(-u) / np.where(small, 1.0, s - 1.0))
        return (r + x) * (beta + T) / (alpha + T) * factor

    @staticmethod
    def _probability_no_purchase_if_alive(params: Params, t: Any, x: Any, T: Any) -> np.ndarray:
        # alive at T: the rates are Gamma(r + x, alpha + T) and Gamma(s, beta + T);
        # no purchase until t, or death at some v < t with no purchase before it
        r, alpha, s, beta = params
        survive = np.exp(_log_alive_term(r, alpha + T, s, beta + T, x, t))
        log_q = _log_window(params, x, T, T + t, relative=False)
        die = np.exp(np.log(s) - np.log(beta + T) + log_q)
        return survive + die
