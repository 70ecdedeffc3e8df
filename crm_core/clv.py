"""Customer lifetime value: BG/NBD for purchases and P(alive), Gamma–Gamma for spend (DESIGN.md, "CLV").

Models
------
* :class:`BetaGeo` — BG/NBD, Fader, Hardie & Lee (2005a), "Counting Your Customers the Easy Way: An
  Alternative to the Pareto/NBD Model", *Marketing Science* 24(2), 275–284. Likelihood eq. 6 (computed as in
  section 7 / Hardie's note 004), unconditional expectation eq. 9, conditional expectation eq. 10,
  P(alive) from Hardie's note 021.
* :class:`GammaGamma` — Fader, Hardie & Lee (2005b), "RFM and CLV: Using Iso-Value Curves for Customer
  Base Analysis", *JMR* 42(4), 415–430, after Colombo & Jiang (1999); likelihood and conditional mean as
  in Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (note 025), eqs. 1a and 5.

Both estimators follow scikit-learn: parameters in ``__init__``, ``fit`` returns ``self``, learned values
end in ``_``. Maximum likelihood runs on log parameters with L-BFGS-B and analytical gradients; identical
input rows are grouped first, so the cost depends on the number of distinct histories, not customers.
On the CDNOW sample (2,357 customers, 39 weeks) they reproduce the published estimates
(tests/reference/test_cdnow.py).

Input summary (:func:`rfm_input`) follows lifetimes' ``summary_data_from_transaction_data``: frequency is
the number of *repeat* purchase days, recency the time from the first to the last purchase day, T the time
from the first purchase day to the end of the observation period, monetary_value the mean value of the
repeat purchase days (the first purchase is excluded).

The core has no clock: callers time the fits if they want to.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from crm_core.features import (
    DateLike,
    MissingAmounts,
    default_as_of,
    has_amounts,
    money_sum,
    orders,
    to_datetime,
    with_amount,
)

# Length of one model time unit in days. "W" reproduces the CDNOW summary (days / 7).
TIME_UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0}
# Model time units per month, as lifetimes' customer_lifetime_value uses them.
UNITS_PER_MONTH: dict[str, float] = {"D": 30.0, "W": 4.345}

_LOG_BOUND = 18.0  # parameters are searched in [e^-18, e^18]; beyond that the data carry no information
_DIVERGED = 1e6    # a BG/NBD parameter above this has run off along a ridge of the likelihood
ArrayLike = Any


def _unit_days(time_unit: str) -> float:
    if time_unit not in TIME_UNIT_DAYS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNIT_DAYS)}, got {time_unit!r}")
    return TIME_UNIT_DAYS[time_unit]


def _float_array(values: ArrayLike) -> np.ndarray:
    # library boundary: polars Series / lists become numpy for scipy
    if isinstance(values, pl.Series):
        return values.cast(pl.Float64).to_numpy()
    return np.asarray(values, dtype=float)


def _grouped(columns: list[np.ndarray], weights: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of ``columns`` and the summed weight of each (counts when ``weights`` is None)."""
    names = [f"c{i}" for i in range(len(columns))]
    frame = pl.DataFrame({**dict(zip(names, columns)),
                          "w": np.ones(len(columns[0])) if weights is None else np.asarray(weights, dtype=float)})
    grouped = frame.group_by(names).agg(pl.col("w").sum()).filter(pl.col("w") > 0).sort(names)
    # library boundary: back to numpy for scipy
    return [grouped[n].to_numpy() for n in names], grouped["w"].to_numpy()


def _off_one(a: float, step: float = 1e-7) -> float:
    """Eqs. 9 and 10 divide by a − 1; at a = 1 the singularity is removable, so evaluate just beside it."""
    return a if abs(a - 1.0) > step else 1.0 + step


def _log_hyp2f1(a: np.ndarray, b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Ln ₂F₁(a, b; c; z) for a, b, c > 0 and 0 ≤ z < 1, where ₂F₁ ≥ 1. Euler's transformation
    ₂F₁(a, b; c; z) = (1−z)^(c−a−b) ₂F₁(c−a, c−b; c; z) where the direct series overflows (large x, z near 1)."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_hyp = np.log(hyp2f1(a, b, c, z))
        bad = ~np.isfinite(log_hyp)
        if bad.any():
            a_, b_, c_, z_ = (v[bad] for v in (a, b, c, z))
            log_hyp[bad] = np.log(hyp2f1(c_ - a_, c_ - b_, c_, z_)) + (c_ - a_ - b_) * np.log1p(-z_)
    return log_hyp


def _dot(left: np.ndarray, right: np.ndarray) -> float:
    """Inner product without BLAS: BLAS threads thrash on a busy 2-core server inside the optimiser loop."""
    return float(np.einsum("i,i->", left, right))


def _minimize_log(objective, starts: list[np.ndarray], bounds: list[tuple[float, float]], tol: float):
    """L-BFGS-B from the first start; later starts are tried only when it fails (objective returns value
    and gradient). The best successful result wins. BLAS is kept to one thread: its threads only add
    start-up cost on four parameters and thrash on a busy server."""
    best = None
    with threadpool_limits(limits=1, user_api="blas"):
        for start in starts:
            result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                              options={"maxiter": 400, "ftol": tol, "gtol": 1e-8})
            if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
                best = result
            if best is not None and best.success:
                break
    return best


@dataclass(frozen=True)
class _BGNBDData:
    """The data-only pieces of the BG/NBD likelihood, computed once per fit (see ``_nll_and_grad``)."""

    x_u: np.ndarray        # distinct frequencies
    w_x: np.ndarray        # customers (weight) per distinct frequency
    T_u: np.ndarray        # distinct ages
    w_zero_T: np.ndarray   # customers without repeats per distinct age
    tx_u: np.ndarray       # distinct recencies
    x_r: np.ndarray        # repeat buyers: frequency, index into x_u, T_u, tx_u, weight
    x_i: np.ndarray
    T_i: np.ndarray
    tx_i: np.ndarray
    w_r: np.ndarray
    total: float

    @classmethod
    def build(cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> _BGNBDData:
        x_u, x_inv = np.unique(x, return_inverse=True)
        T_u, T_inv = np.unique(T, return_inverse=True)
        tx_u, tx_inv = np.unique(t_x, return_inverse=True)
        repeat = x > 0
        return cls(
            x_u=x_u, w_x=np.bincount(x_inv.ravel(), weights=w, minlength=len(x_u)),
            T_u=T_u, w_zero_T=np.bincount(T_inv.ravel()[~repeat], weights=w[~repeat], minlength=len(T_u)),
            tx_u=tx_u, x_r=x[repeat], x_i=x_inv.ravel()[repeat], T_i=T_inv.ravel()[repeat],
            tx_i=tx_inv.ravel()[repeat], w_r=w[repeat], total=float(w.sum()),
        )


class BetaGeo:
    """BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005a).

    Each customer buys at Poisson rate λ ~ Gamma(r, α) while alive and drops out after any purchase with
    probability p ~ Beta(a, b). Time is in whatever unit ``recency`` and ``T`` are given in.

    Parameters
    ----------
    penalizer : float
        L2 penalty on the parameters added to the mean negative log-likelihood, as lifetimes'
        ``penalizer_coef`` (0 = plain maximum likelihood).
    tol : float
        Relative tolerance of the optimiser.

    Attributes
    ----------
    params_ : dict with ``r``, ``alpha``, ``a``, ``b``.
    log_likelihood_ : float, summed over customers (unpenalised); CDNOW: −9582.43.
    n_customers_ : float, number (or total weight) of customers fitted.
    converged_ : bool, whether the optimiser reported success with no parameter running off to infinity
        (above 10⁶).
    """

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-10) -> None:
        self.penalizer = penalizer
        self.tol = tol

    # ---- likelihood (eq. 6 of FHL 2005a, computed as in its section 7), mean over customers, with gradient
    @staticmethod
    def _nll_and_grad(log_params: np.ndarray, data: _BGNBDData, penalizer: float) -> tuple[float, np.ndarray]:
        """Per customer: ln L = A1 + A2 + ln(e^A3 + δ(x>0)·e^A4) with
        A1 = lnΓ(r+x) − lnΓ(r) + r·ln α,  A2 = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x),
        A3 = −(r+x)·ln(α+T),  A4 = ln a − ln(b+x−1) − (r+x)·ln(α+t_x).
        Terms in x alone are evaluated on the distinct frequencies, terms in T or t_x on their distinct
        values, and customers without repeats (A4 absent) are summed per distinct T, so only the repeat
        buyers cost two transcendental operations each."""
        r, alpha, a, b = np.exp(log_params)
        d = data
        # x-only terms on the distinct frequencies, weighted by the customers holding each
        a12_u = (gammaln(r + d.x_u) - gammaln(r) + gammaln(a + b) + gammaln(b + d.x_u) - gammaln(b)
                 - gammaln(a + b + d.x_u))
        dr_u = digamma(r + d.x_u) - digamma(r)
        da_u = digamma(a + b) - digamma(a + b + d.x_u)
        db_u = digamma(a + b) + digamma(b + d.x_u) - digamma(b) - digamma(a + b + d.x_u)
        log_alpha = math.log(alpha)
        ll = _dot(d.w_x, a12_u) + d.total * r * log_alpha
        g = np.array([_dot(d.w_x, dr_u) + d.total * log_alpha, d.total * r / alpha, _dot(d.w_x, da_u),
                      _dot(d.w_x, db_u)])
        # no repeats: ln L = A1 + A2 + A3
        log_T_u, inv_T_u = np.log(alpha + d.T_u), 1.0 / (alpha + d.T_u)
        ll -= r * _dot(d.w_zero_T, log_T_u)
        g[0] -= _dot(d.w_zero_T, log_T_u)
        g[1] -= r * _dot(d.w_zero_T, inv_T_u)
        # repeat buyers: ln(e^A3 + e^A4) = A3 + softplus(A4 − A3); the two terms' shares are w3 and w4
        if d.w_r.size:
            log_T, inv_T = log_T_u[d.T_i], inv_T_u[d.T_i]
            log_tx, inv_tx = np.log(alpha + d.tx_u)[d.tx_i], (1.0 / (alpha + d.tx_u))[d.tx_i]
            inv_bx1_u = 1.0 / np.where(d.x_u > 0, b + d.x_u - 1.0, 1.0)
            rx = r + d.x_r
            a3 = -rx * log_T
            a4 = math.log(a) + np.log(inv_bx1_u)[d.x_i] - rx * log_tx
            diff = a4 - a3
            small = np.exp(-np.abs(diff))
            ll += _dot(d.w_r, a3 + np.maximum(diff, 0.0) + np.log1p(small))
            w4 = np.where(diff >= 0, 1.0, small) / (1.0 + small)
            ww4 = d.w_r * w4
            ww3 = d.w_r - ww4
            g[0] -= _dot(ww3, log_T) + _dot(ww4, log_tx)
            g[1] -= _dot(ww3 * rx, inv_T) + _dot(ww4 * rx, inv_tx)
            g[2] += ww4.sum() / a
            g[3] -= _dot(ww4, inv_bx1_u[d.x_i])
        params = np.array([r, alpha, a, b])
        value = -ll / d.total + penalizer * (params ** 2).sum()
        # chain rule for log parameters: d/dlogθ = θ · d/dθ
        grad = -g / d.total * params + 2.0 * penalizer * params ** 2
        return float(value), grad

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
            weights: ArrayLike | None = None) -> BetaGeo:
        """Maximum-likelihood fit on (x, t_x, T); ``weights`` counts customers per row (optional).

        Identical (x, t_x, T) rows are grouped internally, so large tables fit in the time of their
        distinct histories. Requires 0 ≤ t_x ≤ T and t_x = 0 when x = 0.
        """
        x, t_x, age = (_float_array(v) for v in (frequency, recency, T))
        if not (len(x) == len(t_x) == len(age)) or len(x) == 0:
            raise ValueError("frequency, recency and T must be non-empty and of equal length")
        if (x < 0).any() or (t_x < 0).any() or (t_x > age + 1e-9).any() or (t_x[x == 0] > 0).any():
            raise ValueError("expected frequency ≥ 0, 0 ≤ recency ≤ T, and recency = 0 when frequency = 0")
        (x, t_x, age), w = _grouped([x, t_x, age], None if weights is None else _float_array(weights))
        mean_T = max(float(np.average(age, weights=w)), 1e-3)
        mean_x = float(np.average(x, weights=w))
        # starts: a rate-matched point (r/α ≈ mean purchases per unit of age) and lifetimes' default
        starts = [np.log([1.0, mean_T / max(mean_x, 0.1), 1.0, 1.0]), np.full(4, 0.1)]
        data = _BGNBDData.build(x, t_x, age, w)
        result = _minimize_log(lambda p: self._nll_and_grad(p, data, self.penalizer),
                               starts, [(-_LOG_BOUND, _LOG_BOUND)] * 4, self.tol)
        r, alpha, a, b = np.exp(result.x)
        self.params_ = {"r": float(r), "alpha": float(alpha), "a": float(a), "b": float(b)}
        # a parameter running off towards infinity (the Poisson limit r, α → ∞, or a → ∞) is the failure
        # lifetimes' penalizer is meant to cure
        self.converged_ = bool(result.success) and bool(np.all(result.x < math.log(_DIVERGED)))
        value, _ = self._nll_and_grad(result.x, data, 0.0)
        self.n_customers_ = float(w.sum())
        self.log_likelihood_ = -value * self.n_customers_
        return self

    def _check_fitted(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise ValueError("BetaGeo is not fitted yet: call fit() first")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def _shortfall(self, t: np.ndarray, x: np.ndarray, age: np.ndarray, a: float) -> np.ndarray:
        """c·[1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; c; z)] with c = a+b+x−1 and z = t/(α+T+t): the
        part of eq. 10 that needs the hypergeometric function (eq. 10 = this / (a−1) / (1 + odds of death)).
        It depends on (t, x, T) only; when ``t`` is one value or a column of horizons and x, T are per
        customer along the last axis, it is evaluated once per distinct (x, T) pair (100k customers had
        12.7k distinct pairs in a test) and spread back."""
        x_c, age_c = np.broadcast_arrays(x, age)
        n = x_c.shape[-1] if x_c.ndim else 1
        per_customer = x_c.size == n and (t.ndim == 0 or t.shape[-1] == 1)
        if not per_customer or n < 256:
            return self._shortfall_direct(t, x, age, a)
        x_u, x_i = np.unique(x_c.ravel(), return_inverse=True)
        age_u, age_i = np.unique(age_c.ravel(), return_inverse=True)
        pairs, back = np.unique(x_i.ravel() * len(age_u) + age_i.ravel(), return_inverse=True)
        distinct = self._shortfall_direct(t, x_u[pairs // len(age_u)], age_u[pairs % len(age_u)], a)
        shape = np.broadcast_shapes(t.shape, x.shape, age.shape)
        return np.broadcast_to(distinct[..., back.ravel()], shape)

    def _shortfall_direct(self, t: np.ndarray, x: np.ndarray, age: np.ndarray, a: float) -> np.ndarray:
        """See :meth:`_shortfall`. ₂F₁ is only ever evaluated with positive parameters, where it is ≥ 1 and
        its logarithm exists (:func:`_log_hyp2f1`):

        * c > 0 (every customer with x ≥ 1, and x = 0 when a + b > 1): directly.
        * c ≤ 0 (x = 0 and a + b ≤ 1; c > −1 always): ₂F₁(·; c; z) can be negative there and has a pole at
          c = 0, but c·₂F₁ is finite. Gauss's contiguous relation (DLMF 15.5.18, with c → c+1) gives
          c·F(c) = {[c − (2c+1−A−B)·z]·F(c+1) + (c+1−A)(c+1−B)/(c+1)·z·F(c+2)} / (1−z)
          with A = r+x, B = b+x, whose hypergeometric functions have third parameters c+1, c+2 > 0.
        """
        r, alpha, _, b = self._check_fitted()
        hyp_a, hyp_b, hyp_c = r + x, b + x, a + b + x - 1.0
        z = t / (alpha + age + t)
        log_q = np.log((alpha + age) / (alpha + age + t))  # ln(1 − z)
        hyp_a, hyp_b, hyp_c, z, log_q = (np.atleast_1d(v)
                                         for v in np.broadcast_arrays(hyp_a, hyp_b, hyp_c, z, log_q))
        out = np.full(z.shape, np.nan)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            pos = hyp_c > 0
            if pos.any():
                A, B, c, zz, lq = (v[pos] for v in (hyp_a, hyp_b, hyp_c, z, log_q))
                out[pos] = c * (1.0 - np.exp(_log_hyp2f1(A, B, c, zz) + A * lq))
            low = hyp_c <= 0
            if low.any():
                A, B, c, zz, lq = (v[low] for v in (hyp_a, hyp_b, hyp_c, z, log_q))
                # q^A · c·F(c) = q^(A−1) · {…}: both terms carry the factor q^(A−1) inside the exponent
                first = ((c - (2.0 * c + 1.0 - A - B) * zz)
                         * np.exp(_log_hyp2f1(A, B, c + 1.0, zz) + (A - 1.0) * lq))
                second = ((c + 1.0 - A) * (c + 1.0 - B) / (c + 1.0) * zz
                          * np.exp(_log_hyp2f1(A, B, c + 2.0, zz) + (A - 1.0) * lq))
                out[low] = c - (first + second)
        return out.reshape(np.broadcast_shapes(t.shape, np.shape(x), np.shape(age)))

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike,
                           T: ArrayLike) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected repeat purchases in (T, T + t], FHL 2005a eq. 10:

        E = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
            / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)).

        Finite for every a, b, r, α > 0, including a + b ≤ 1, where the third parameter of ₂F₁ is ≤ 0
        for customers without repeats (see :meth:`_shortfall_direct`).
        Arrays broadcast (e.g. ``t`` of shape (k, 1) against customers of shape (n,)).
        """
        r, alpha, a, b = self._check_fitted()
        a = _off_one(a)
        t, x, t_x, age = (_float_array(v) for v in (t, frequency, recency, T))
        numerator = self._shortfall(t, x, age, a) / (a - 1.0)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            odds_dead = np.where(x > 0, a / np.where(x > 0, b + x - 1.0, 1.0)
                                 * ((alpha + age) / (alpha + t_x)) ** (r + x), 0.0)
        return numerator / (1.0 + odds_dead)

    def expected_purchases_new(self, t: ArrayLike) -> np.ndarray:
        """E[X(t)]: expected repeat purchases in (0, t] of a customer just acquired, FHL 2005a eq. 9
        (eq. 10 with x = t_x = T = 0, so computed by the same code, finite for a + b ≤ 1 too)."""
        _, _, a, _ = self._check_fitted()
        a = _off_one(a)
        t = _float_array(t)
        return self._shortfall(t, np.zeros(()), np.zeros(()), a) / (a - 1.0)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """P(alive | x, t_x, T) (Hardie, note 021); 1 when x = 0, since BG/NBD drop-out follows a purchase."""
        r, alpha, a, b = self._check_fitted()
        x, t_x, age = (_float_array(v) for v in (frequency, recency, T))
        log_odds_dead = ((r + x) * np.log((alpha + age) / (alpha + t_x))
                         + np.log(a / (b + np.maximum(x, 1.0) - 1.0)))
        return np.where(x == 0, 1.0, expit(-log_odds_dead))


# ----------------------------------------------------------------------------------------- Gamma–Gamma

class GammaGamma:
    """Gamma–Gamma model of average spend per repeat purchase (Colombo & Jiang 1999; FHL 2005b).

    Purchase values of a customer are Gamma(p, ν) with ν ~ Gamma(q, v) across customers (``v`` is the
    paper's γ). Fitted on repeat buyers with positive mean spend only; the rest are counted in
    ``excluded_``.

    Parameters
    ----------
    penalizer : float
        L2 penalty on the parameters, as lifetimes' ``penalizer_coef``.
    q_constraint : bool
        Keep q > 1 so the population mean spend p·v/(q − 1) exists (lifetimes' ``q_constraint``).

    Attributes
    ----------
    params_ : dict with ``p``, ``q``, ``v``.
    log_likelihood_ : float (CDNOW: −4055.92).
    excluded_ : dict ``{"no_repeat": n, "non_positive_spend": m}``, customers left out of the fit.
    n_customers_ : float, customers fitted.
    converged_ : bool, whether the optimiser reported success.
    """

    def __init__(self, penalizer: float = 0.0, q_constraint: bool = True, tol: float = 1e-10) -> None:
        self.penalizer = penalizer
        self.q_constraint = q_constraint
        self.tol = tol

    @staticmethod
    def _nll_and_grad(log_params: np.ndarray, x_u: np.ndarray, x_idx: np.ndarray, m: np.ndarray,
                      w: np.ndarray, penalizer: float, log_m: np.ndarray | None = None,
                      log_x: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        # note 025, eq. 1a: density of the observed mean spend m̄ given x repeat purchases; the special
        # functions depend on x only and are evaluated on the distinct frequencies x_u
        p, q, v = np.exp(log_params)
        x = x_u[x_idx]
        px_u = p * x_u
        px = px_u[x_idx]
        log_xm_v = np.log(x * m + v)
        log_m = np.log(m) if log_m is None else log_m
        log_x = np.log(x) if log_x is None else log_x
        ll = ((gammaln(px_u + q) - gammaln(px_u))[x_idx] - gammaln(q) + q * np.log(v)
              + (px - 1.0) * log_m + px * log_x - (px + q) * log_xm_v)
        dig_u = digamma(px_u + q)
        d_p = x * ((dig_u - digamma(px_u))[x_idx] + log_m + log_x - log_xm_v)
        d_q = dig_u[x_idx] - digamma(q) + np.log(v) - log_xm_v
        d_v = q / v - (px + q) / (x * m + v)
        total = w.sum()
        params = np.array([p, q, v])
        value = -_dot(w, ll) / total + penalizer * (params ** 2).sum()
        grad_params = -np.array([_dot(w, g) for g in (d_p, d_q, d_v)]) / total
        return float(value), grad_params * params + 2.0 * penalizer * params ** 2

    def fit(self, frequency: ArrayLike, monetary: ArrayLike, weights: ArrayLike | None = None) -> GammaGamma:
        """Maximum-likelihood fit on repeat buyers (x > 0) with positive mean repeat spend (m̄ > 0)."""
        x, m = _float_array(frequency), _float_array(monetary)
        if len(x) != len(m):
            raise ValueError("frequency and monetary must have equal length")
        w_all = np.ones(len(x)) if weights is None else _float_array(weights)
        repeat = x > 0
        positive = repeat & (m > 0)
        self.excluded_ = {"no_repeat": int(round(w_all[~repeat].sum())),
                          "non_positive_spend": int(round(w_all[repeat & ~positive].sum()))}
        if not positive.any():
            raise ValueError("Gamma–Gamma needs at least one repeat buyer with positive spend")
        (x, m), w = _grouped([x[positive], m[positive]], w_all[positive])
        mean_m = float(np.average(m, weights=w))
        # starts: a moment-like point (population mean p·v/(q − 1) ≈ observed mean) and lifetimes' default
        starts = [np.log([2.0, 3.0, mean_m]), np.array([0.1, 0.1, 0.1])]
        q_low = math.log(1.0 + 1e-6) if self.q_constraint else -_LOG_BOUND
        bounds = [(-_LOG_BOUND, _LOG_BOUND), (q_low, _LOG_BOUND), (-_LOG_BOUND, _LOG_BOUND)]
        starts = [np.clip(s, [b[0] for b in bounds], [b[1] for b in bounds]) for s in starts]
        x_u, x_idx = np.unique(x, return_inverse=True)
        args = (x_u, x_idx.ravel(), m, w)
        logs = {"log_m": np.log(m), "log_x": np.log(x)}  # data-only, computed once
        result = _minimize_log(lambda p: self._nll_and_grad(p, *args, self.penalizer, **logs),
                               starts, bounds, self.tol)
        p, q, v = np.exp(result.x)
        self.params_ = {"p": float(p), "q": float(q), "v": float(v)}
        self.converged_ = bool(result.success)
        value, _ = self._nll_and_grad(result.x, *args, 0.0, **logs)
        self.n_customers_ = float(w.sum())
        self.log_likelihood_ = -value * self.n_customers_
        return self

    @property
    def population_mean_spend_(self) -> float:
        """E[Z] = p·v/(q − 1), the mean spend per purchase of a customer with no history (q > 1)."""
        p, q, v = self._check_fitted()
        return p * v / (q - 1.0) if q > 1 else math.inf

    def _check_fitted(self) -> tuple[float, float, float]:
        if not hasattr(self, "params_"):
            raise ValueError("GammaGamma is not fitted yet: call fit() first")
        return self.params_["p"], self.params_["q"], self.params_["v"]

    def expected_spend(self, frequency: ArrayLike, monetary: ArrayLike) -> np.ndarray:
        """E[Z | x, m̄] = (1 − w)·p·v/(q − 1) + w·m̄ with w = p·x/(p·x + q − 1) (note 025, eq. 5).

        Customers with x = 0 get the population mean; a non-positive m̄ is treated as "no information"
        (its weight is zero) so refunds cannot make predicted spend negative.
        """
        p, q, v = self._check_fitted()
        x, m = _float_array(frequency), _float_array(monetary)
        informative = (x > 0) & (m > 0)
        weight = np.where(informative, p * x / (p * x + q - 1.0), 0.0)
        return (1.0 - weight) * (p * v / (q - 1.0)) + weight * np.where(informative, m, 0.0)


# ------------------------------------------------------------------------------------------ CLV

def customer_value(betageo: BetaGeo, gammagamma: GammaGamma | None, frequency: ArrayLike, recency: ArrayLike,
                   T: ArrayLike, monetary: ArrayLike, horizon_months: float = 12,
                   monthly_discount: float = 0.01, time_unit: str = "W",
                   expected_spend: ArrayLike | None = None) -> np.ndarray:
    """Discounted expected revenue over ``horizon_months`` (lifetimes' ``customer_lifetime_value``).

    CLV = Σ_months E[Z | x, m̄] · (E[Y(mᵢ) | x, t_x, T] − E[Y(mᵢ₋₁) | …]) / (1 + monthly_discount)^i,
    with month i ending at i · UNITS_PER_MONTH[time_unit] model units (4.345 weeks or 30 days, as in
    lifetimes). A fractional last month is discounted at its fractional end. ``expected_spend`` overrides
    the Gamma–Gamma spend (used when that model could not be fitted).
    """
    _unit_days(time_unit)  # validates the unit
    per_month = UNITS_PER_MONTH[time_unit]
    if expected_spend is None:
        if gammagamma is None:
            raise ValueError("need a fitted GammaGamma or an explicit expected_spend")
        expected_spend = gammagamma.expected_spend(frequency, monetary)
    spend = _float_array(expected_spend)
    if horizon_months <= 0:
        return np.zeros(np.broadcast(spend, _float_array(frequency)).shape)
    month_ends = np.arange(1, math.ceil(horizon_months) + 1, dtype=float)
    month_ends[-1] = horizon_months
    grid = np.concatenate([[0.0], month_ends])[:, None] * per_month  # (months + 1, 1) in model units
    x, t_x, age = (_float_array(v)[None, :] for v in (frequency, recency, T))
    cumulative = betageo.expected_purchases(grid, x, t_x, age)  # (months + 1, customers)
    incremental = np.diff(cumulative, axis=0)
    discount = (1.0 + monthly_discount) ** month_ends[:, None]
    return (spend[None, :] * incremental / discount).sum(axis=0)


# ------------------------------------------------------------------------------------ inputs

def purchase_days(transactions: pl.DataFrame, as_of: DateLike | None = None, *,
                  include_refund_days: bool = False) -> pl.DataFrame:
    """One row per customer and purchase day: ``customer_id, purchase_date`` (Date), ``value``.

    Orders and refund documents as :func:`crm_core.features.orders` defines them, from lines strictly
    before ``as_of``. A purchase day is a calendar day on which at least one purchase starts (the order's
    earliest line); ``value`` is the net value of that day's purchases: returns booked on the same order
    id net against their order (and count on its first day), refund documents (credit notes, stand-alone
    refunds) are left out, so the spend models see spend per purchase. Without amounts ``value`` is null.
    With ``include_refund_days`` every day with an order counts and ``value`` sums every order of the day
    (lifetimes counts every row). Sorted by customer and date.
    """
    per_order = orders(with_amount(transactions), as_of)
    if not include_refund_days:
        per_order = per_order.filter(~pl.col("is_refund"))
    return (
        per_order.lazy()
        .group_by("customer_id", pl.col("order_date").dt.date().alias("purchase_date"))
        .agg(money_sum("amount").alias("value"))
        .sort("customer_id", "purchase_date")
        .collect()
    )


def with_gaps(days: pl.DataFrame) -> pl.DataFrame:
    """:func:`purchase_days` plus ``gap_days``: whole days since the customer's previous purchase day
    (null on their first). Vectorised over the customer/date-sorted rows (no per-group window)."""
    same_customer = pl.col("customer_id") == pl.col("customer_id").shift(1)
    gap = (pl.col("purchase_date") - pl.col("purchase_date").shift(1)).dt.total_days()
    return days.with_columns(pl.when(same_customer).then(gap).alias("gap_days"))


def purchase_history(days: pl.DataFrame) -> pl.DataFrame:
    """Per customer from :func:`purchase_days`: ``purchase_days`` (count), ``first_order_date``,
    ``last_order_date``, ``gaps`` (count of gaps), ``last_gap_days`` (days between the last two purchase
    days), ``median_gap_days`` (their own median gap; null with one purchase day)."""
    return with_gaps(days).group_by("customer_id").agg(
        pl.len().cast(pl.Int64).alias("purchase_days"),
        pl.col("purchase_date").min().alias("first_order_date"),
        pl.col("purchase_date").max().alias("last_order_date"),
        pl.col("gap_days").count().cast(pl.Int64).alias("gaps"),
        pl.col("gap_days").last().alias("last_gap_days"),  # rows are date-sorted within each customer
        pl.col("gap_days").median().alias("median_gap_days"),
    )


def last_included_day(as_of: datetime) -> date:
    """The last calendar day with orders strictly before ``as_of`` (lifetimes' inclusive period end)."""
    return (as_of - timedelta(microseconds=1)).date()


def _summary(days: pl.DataFrame, end_day: date, unit_days: float) -> pl.DataFrame:
    span = lambda start, stop: (stop - start).dt.total_days().cast(pl.Float64) / unit_days  # noqa: E731
    return (
        days.group_by("customer_id")
        .agg(
            (pl.len() - 1).cast(pl.Int64).alias("frequency"),
            span(pl.col("purchase_date").min(), pl.col("purchase_date").max()).alias("recency"),
            span(pl.col("purchase_date").min(), pl.lit(end_day)).alias("T"),
            # lifetimes: mean over the repeat purchase days; the first purchase is excluded, 0 without repeats
            pl.when(pl.col("value").count() > 0)  # null without amounts
            .then(pl.col("value").slice(1).mean().fill_null(0.0)).alias("monetary_value"),  # days are date-sorted
        )
        .sort("customer_id")
    )


def rfm_input(transactions: pl.DataFrame, as_of: DateLike | None = None, time_unit: str = "W",
              calibration_end: DateLike | None = None, *, include_refund_days: bool = False) -> pl.DataFrame:
    """Repeat-purchase summary for BG/NBD and Gamma–Gamma, one row per customer.

    Columns ``customer_id, frequency, recency, T, monetary_value`` with times in ``time_unit`` ("W" =
    days / 7, "D" = days), exactly as lifetimes' ``summary_data_from_transaction_data(freq="D",
    freq_multiplier=7 or 1)`` with ``observation_period_end`` = the last day before ``as_of`` (this project's
    ``as_of`` is exclusive, lifetimes' end inclusive). Purchases are bucketed to calendar days first and
    their values summed (:func:`purchase_days`); frequency = purchase days − 1; recency = last − first
    purchase day; T = last included day − first purchase day; monetary_value = mean value of the repeat
    purchase days (0 without repeats).

    With ``calibration_end`` the summary is computed as of ``calibration_end`` and the holdout
    ``[calibration_end, as_of)`` adds ``frequency_holdout`` (purchase days), ``monetary_value_holdout``
    and ``duration_holdout`` (lifetimes' ``calibration_and_holdout_data``); only customers whose first
    purchase precedes ``calibration_end`` appear.
    """
    unit_days = _unit_days(time_unit)
    as_of_dt = to_datetime(as_of) if as_of is not None else default_as_of(transactions)
    if calibration_end is None:
        days = purchase_days(transactions, as_of_dt, include_refund_days=include_refund_days)
        return _summary(days, last_included_day(as_of_dt), unit_days)
    cal_dt = to_datetime(calibration_end)
    if cal_dt >= as_of_dt:
        raise ValueError("calibration_end must be before as_of")
    calibration = _summary(purchase_days(transactions, cal_dt, include_refund_days=include_refund_days),
                           last_included_day(cal_dt), unit_days)
    holdout_days = purchase_days(transactions.filter(pl.col("order_date") >= cal_dt), as_of_dt,
                                 include_refund_days=include_refund_days)
    holdout_summary = holdout_days.group_by("customer_id").agg(
        pl.len().cast(pl.Int64).alias("frequency_holdout"), pl.col("value").mean().alias("monetary_value_holdout"))
    duration = (as_of_dt - cal_dt).total_seconds() / 86400.0 / unit_days
    return (
        calibration.join(holdout_summary, on="customer_id", how="left")
        .with_columns(pl.col("frequency_holdout").fill_null(0), pl.col("monetary_value_holdout").fill_null(0.0),
                      pl.lit(duration).alias("duration_holdout"))
        .sort("customer_id")
    )


# ------------------------------------------------------------------------- next order, predict

def next_order(transactions: pl.DataFrame, as_of: DateLike | None = None, betageo: BetaGeo | None = None, *,
               time_unit: str = "W", horizon_days: int = 90, min_gaps: int = 2,
               max_days_ahead: int = 730) -> pl.DataFrame:
    """Expected date of each customer's next order and how overdue it is.

    * ``own_rhythm``: customers with at least ``min_gaps`` gaps between purchase days: last purchase day
      + their own median gap (rounded to whole days).
    * ``model``: everyone else: ``as_of`` + horizon_days / E[orders in the next horizon_days] from BG/NBD
      (eq. 10), i.e. the expected waiting time at the model's predicted rate, which already discounts
      customers who have probably dropped out. Null when that lies more than ``max_days_ahead`` days away.

    ``days_overdue`` = max(0, as_of day − expected date) (always 0 on the model basis). ``betageo`` must be
    fitted on :func:`rfm_input` in ``time_unit``; when None one is fitted here as of ``as_of``.
    Columns: ``customer_id, purchase_days, last_order_date, median_gap_days, expected_next_order_date,
    next_order_basis, days_overdue, p_alive, expected_orders_next_<horizon_days>_days``.
    """
    unit_days = _unit_days(time_unit)
    as_of_dt = to_datetime(as_of) if as_of is not None else default_as_of(transactions)
    days = purchase_days(transactions, as_of_dt)
    summary = _summary(days, last_included_day(as_of_dt), unit_days)
    if betageo is None:
        betageo = BetaGeo().fit(summary["frequency"], summary["recency"], summary["T"])
    return _next_order(days, summary, betageo, as_of_dt, unit_days, horizon_days, min_gaps, max_days_ahead)


def _next_order(days: pl.DataFrame, summary: pl.DataFrame, betageo: BetaGeo, as_of_dt: datetime,
                unit_days: float, horizon_days: int, min_gaps: int, max_days_ahead: int) -> pl.DataFrame:
    f, r, age = summary["frequency"], summary["recency"], summary["T"]
    orders_col = f"expected_orders_next_{horizon_days}_days"
    # library boundary: model predictions are numpy
    model = summary.select("customer_id").with_columns(
        pl.Series("p_alive", betageo.p_alive(f, r, age)),
        pl.Series(orders_col, betageo.expected_purchases(horizon_days / unit_days, f, r, age)))
    today = pl.lit(as_of_dt.date())
    model_wait = pl.lit(float(horizon_days)) / pl.col(orders_col)
    own = pl.col("gaps") >= min_gaps
    return (
        purchase_history(days).join(model, on="customer_id", how="left")
        .with_columns(
            pl.when(own).then(pl.lit("own_rhythm")).otherwise(pl.lit("model")).alias("next_order_basis"),
            pl.when(own).then(pl.col("last_order_date") + pl.duration(days=pl.col("median_gap_days").round(0)))
            .when(model_wait <= max_days_ahead)
            .then(today + pl.duration(days=model_wait.ceil()))
            .otherwise(None).cast(pl.Date).alias("expected_next_order_date"),
        )
        .with_columns(
            pl.max_horizontal(pl.lit(0), (today - pl.col("expected_next_order_date")).dt.total_days())
            .cast(pl.Int64).alias("days_overdue"))
        .select("customer_id", "purchase_days", "last_order_date", "median_gap_days",
                "expected_next_order_date", "next_order_basis", "days_overdue", "p_alive", orders_col)
        .sort("customer_id")
    )


@dataclass(frozen=True)
class CLVResult:
    """Per-customer predictions plus the fitted models and what the fit left out.

    ``notes`` are translatable messages ``{"key", "params"}`` (ui/locales/*/lifecycle.toml).
    """

    table: pl.DataFrame
    betageo: BetaGeo
    gammagamma: GammaGamma | None
    excluded: dict[str, int]
    time_unit: str
    horizon_days: int
    as_of: datetime
    notes: tuple[dict[str, Any], ...] = field(default_factory=tuple)


PENALIZER_LADDER = (0.0, 0.001, 0.01, 0.1)


def predict(transactions: pl.DataFrame, as_of: DateLike | None = None, horizon_days: int = 365,
            monthly_discount: float = 0.01, *, time_unit: str = "W", penalizer: float = 0.0,
            next_order_horizon_days: int = 90, min_spend_customers: int = 10, min_repeat_customers: int = 10,
            min_gaps: int = 2, max_days_ahead: int = 730) -> CLVResult:
    """Fit BG/NBD and Gamma–Gamma as of ``as_of`` and predict per customer.

    Table columns: ``customer_id, frequency, recency, T, monetary_value`` (inputs, in ``time_unit``),
    ``p_alive``, ``expected_orders_next_<h>_days``, ``expected_avg_order_value``,
    ``predicted_value_<h>_days`` (CLV over h = ``horizon_days``, monthly discount), and the
    :func:`next_order` columns (``min_gaps``, ``max_days_ahead`` as there). If BG/NBD does not converge,
    larger penalizers are tried in turn (:data:`PENALIZER_LADDER`) and a note says which was used. With
    fewer than ``min_spend_customers`` repeat buyers Gamma–Gamma is skipped and each customer's own mean
    purchase-day value is used instead (with a note); with fewer than ``min_repeat_customers`` repeat
    buyers a note says the purchase predictions rest on too little repeat behaviour. Without amounts
    (:func:`crm_core.features.has_amounts` is False) Gamma–Gamma is not fitted: ``monetary_value``,
    ``expected_avg_order_value`` and ``predicted_value_<h>_days`` are null and the note
    ``app.base.needs_amounts`` (analysis ``clv``) says so; purchases and P(alive) still come from BG/NBD.
    Purchases exclude refund documents (:mod:`crm_core.features`): customers with only refunds before
    ``as_of`` have no row.
    """
    unit_days = _unit_days(time_unit)
    as_of_dt = to_datetime(as_of) if as_of is not None else default_as_of(transactions)
    days = purchase_days(transactions, as_of_dt)
    summary = _summary(days, last_included_day(as_of_dt), unit_days)
    if summary.height == 0:
        raise ValueError("no customers with orders before as_of")
    notes: list[dict[str, Any]] = []
    f, r, age, m = (summary[c] for c in ("frequency", "recency", "T", "monetary_value"))
    ladder = [penalizer] + [p for p in PENALIZER_LADDER if p > penalizer]
    betageo = BetaGeo(penalizer=ladder[0]).fit(f, r, age)
    for pen in ladder[1:]:  # larger penalizers until one converges
        if betageo.converged_:
            break
        betageo = BetaGeo(penalizer=pen).fit(f, r, age)
    if betageo.penalizer != penalizer:
        notes.append({"key": "lifecycle.note.penalizer_used", "params": {"penalizer": betageo.penalizer}})
    if not betageo.converged_:
        notes.append({"key": "lifecycle.note.not_converged", "params": {}})
    repeat_customers = int((f > 0).sum())
    if repeat_customers < min_repeat_customers:
        notes.append({"key": "lifecycle.note.few_repeat_buyers",
                      "params": {"customers": repeat_customers, "minimum": min_repeat_customers}})

    repeat_positive = int(((f > 0) & (m > 0)).sum())
    gammagamma: GammaGamma | None = None
    money = has_amounts(transactions)
    if not money:  # baskets without amounts: purchases and P(alive) only, no spend and no value
        spend = np.full(summary.height, np.nan)
        excluded = {}
        notes.append({"key": MissingAmounts("clv").key, "params": {"analysis": "clv"}})
    elif repeat_positive >= min_spend_customers:
        gammagamma = GammaGamma().fit(f, m)
        spend = gammagamma.expected_spend(f, m)
        excluded = dict(gammagamma.excluded_)
    else:
        own_mean = days.group_by("customer_id").agg(pl.col("value").mean().alias("own"))
        spend = summary.join(own_mean, on="customer_id", how="left")["own"].fill_null(0.0).to_numpy()
        excluded = {"no_repeat": int((f == 0).sum()), "non_positive_spend": int(((f > 0) & (m <= 0)).sum())}
        notes.append({"key": "lifecycle.note.spend_model_skipped",
                      "params": {"customers": repeat_positive, "minimum": min_spend_customers}})

    units_per_month = UNITS_PER_MONTH[time_unit]
    horizon_months = horizon_days / (units_per_month * unit_days)
    value = (customer_value(betageo, gammagamma, f, r, age, m, horizon_months, monthly_discount, time_unit,
                            expected_spend=spend) if money else np.full(summary.height, np.nan))
    h = horizon_days
    table = summary.with_columns(
        pl.Series("p_alive", betageo.p_alive(f, r, age)),
        pl.Series(f"expected_orders_next_{h}_days", betageo.expected_purchases(h / unit_days, f, r, age)),
        pl.Series("expected_avg_order_value", spend, dtype=pl.Float64, nan_to_null=True),
        pl.Series(f"predicted_value_{h}_days", value, dtype=pl.Float64, nan_to_null=True),
    )
    upcoming = _next_order(days, summary, betageo, as_of_dt, unit_days, next_order_horizon_days,
                           min_gaps, max_days_ahead).drop("p_alive")
    if next_order_horizon_days == h:
        upcoming = upcoming.drop(f"expected_orders_next_{h}_days")
    table = table.join(upcoming, on="customer_id", how="left").sort("customer_id")
    return CLVResult(table, betageo, gammagamma, excluded, time_unit, horizon_days, as_of_dt, tuple(notes))


# ------------------------------------------------------------------------------------ holdout

def holdout(transactions: pl.DataFrame, calibration_end: DateLike, observation_end: DateLike, *,
            time_unit: str = "W", penalizer: float = 0.0) -> pl.DataFrame:
    """Fit BG/NBD on ``[start, calibration_end)`` and compare with purchases in ``[calibration_end,
    observation_end)``, per customer (lifetimes' ``calibration_and_holdout_data`` + prediction).

    Columns: ``customer_id, frequency_cal, recency_cal, T_cal, frequency_holdout, duration_holdout,
    predicted_purchases_holdout`` (E[Y(duration) | calibration history], eq. 10). Only customers whose first
    purchase precedes ``calibration_end`` appear; nothing after it enters the fit.
    """
    combined = rfm_input(transactions, observation_end, time_unit, calibration_end)
    model = BetaGeo(penalizer=penalizer).fit(combined["frequency"], combined["recency"], combined["T"])
    predicted = model.expected_purchases(combined["duration_holdout"], combined["frequency"],
                                         combined["recency"], combined["T"])
    return (
        combined.rename({"frequency": "frequency_cal", "recency": "recency_cal", "T": "T_cal",
                         "monetary_value": "monetary_value_cal"})
        .with_columns(pl.Series("predicted_purchases_holdout", predicted))
        .select("customer_id", "frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout",
                "predicted_purchases_holdout")
    )


def holdout_by_frequency(holdout_table: pl.DataFrame, max_frequency: int = 7) -> pl.DataFrame:
    """Mean predicted vs mean actual holdout purchases by calibration frequency 0 … ``max_frequency``+
    (lifetimes' ``plot_calibration_purchases_vs_holdout_purchases``). Columns: ``frequency_cal``
    (the last bucket holds everyone at or above ``max_frequency``), ``customers``,
    ``predicted_purchases_holdout``, ``actual_purchases_holdout``."""
    return (
        holdout_table.group_by(pl.col("frequency_cal").clip(upper_bound=max_frequency))
        .agg(pl.len().alias("customers"), pl.col("predicted_purchases_holdout").mean(),
             pl.col("frequency_holdout").mean().alias("actual_purchases_holdout"))
        .sort("frequency_cal")
    )


def holdout_metrics(holdout_table: pl.DataFrame) -> dict[str, float]:
    """Per-customer MAE and RMSE, Pearson correlation, and total predicted vs actual purchases with the
    relative error of the total (lifetimes #438: numbers beside the calibration plot)."""
    predicted = holdout_table["predicted_purchases_holdout"].to_numpy()
    actual = holdout_table["frequency_holdout"].cast(pl.Float64).to_numpy()
    error = predicted - actual
    corr = float(np.corrcoef(predicted, actual)[0, 1]) if len(actual) > 1 and actual.std() > 0 else math.nan
    total_actual = float(actual.sum())
    return {
        "customers": float(len(actual)),
        "mae": float(np.abs(error).mean()) if len(actual) else math.nan,
        "rmse": float(np.sqrt((error ** 2).mean())) if len(actual) else math.nan,
        "correlation": corr,
        "predicted_total": float(predicted.sum()),
        "actual_total": total_actual,
        "total_relative_error": float(predicted.sum() / total_actual - 1.0) if total_actual else math.nan,
    }


# ------------------------------------------------------------------------------------ labels

_COLUMN_PATTERNS = (
    (re.compile(r"^expected_orders_next_(\d+)_days$"), "lifecycle.column.expected_orders_next_days"),
    (re.compile(r"^predicted_value_(\d+)_days$"), "lifecycle.column.predicted_value_days"),
)
_UNIT_COLUMNS = frozenset({"recency", "T", "duration_holdout"})
_UNIT_SUFFIX = {"W": "weeks", "D": "days"}


def column_label(name: str, time_unit: str = "W") -> dict[str, Any]:
    """The translatable label of an output column: ``{"key", "params"}``. Horizons go into params
    (``expected_orders_next_90_days`` → ``lifecycle.column.expected_orders_next_days``, days=90); model
    times get their unit (``recency`` in weeks → ``lifecycle.column.recency_weeks``)."""
    for pattern, key in _COLUMN_PATTERNS:
        match = pattern.match(name)
        if match:
            return {"key": key, "params": {"days": int(match.group(1))}}
    base = name.removesuffix("_cal")
    if base in _UNIT_COLUMNS:
        return {"key": f"lifecycle.column.{base}_{_UNIT_SUFFIX[time_unit]}", "params": {}}
    return {"key": f"lifecycle.column.{name}", "params": {}}
