"""BG/NBD (:class:`BetaGeo`): likelihood, fit, expected purchases (the hypergeometric maths) and P(alive)."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from crm_core.clv.fitting import _LOG_BOUND, ArrayLike, _dot, _float_array, _grouped, _minimize_log

_DIVERGED = 1e6    # a BG/NBD parameter above this has run off along a ridge of the likelihood
# Defaults of the degenerate-fit check (:func:`degenerate_reason`, :class:`BetaGeo` parameters)
MIN_DROPOUT = 1e-4   # mean drop-out chance a/(a+b) below this: the data show no measurable drop-out
BOUND_MARGIN = 1.0   # a parameter within this (in ln units, a factor e) of the search bounds e^±18 is at a bound
SURE_ALIVE = 0.999   # P(alive) from which a repeat buyer counts as surely alive
MAX_SURE_SHARE = 0.99  # at least this share of repeat buyers surely alive: P(alive) tells nobody apart


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
    min_dropout, bound_margin, sure_alive, max_sure_share : float
        Thresholds of the degenerate-fit check, see :func:`degenerate_reason`: a mean drop-out chance
        a/(a+b) below ``min_dropout`` (default 10⁻⁴); a parameter within ``bound_margin`` (ln units,
        default 1) of the optimiser's bounds e^±18; P(alive) ≥ ``sure_alive`` (default 0.999) for at least
        ``max_sure_share`` (default 99 %) of the repeat buyers.

    Attributes
    ----------
    params_ : dict with ``r``, ``alpha``, ``a``, ``b``.
    log_likelihood_ : float, summed over customers (unpenalised); CDNOW: −9582.43.
    n_customers_ : float, number (or total weight) of customers fitted.
    converged_ : bool, whether the optimiser reported success with no parameter running off to infinity
        (above 10⁶). Says nothing about whether the optimum means anything: see ``degenerate_``.
    sure_alive_share_ : float, share (by weight) of the fitted repeat buyers whose P(alive) is at least
        ``sure_alive``; NaN without repeat buyers.
    degenerate_ : bool, whether the fit is degenerate: the estimates sit at an edge where the data say
        nothing about drop-out (a → 0, b → ∞), or P(alive) ≈ 1 for nearly every repeat buyer, so P(alive)
        cannot tell customers apart (a UK online retailer: a ≈ 5.6·10⁻⁶, b ≈ 2,945, P(alive) 1.000 for all).
    degenerate_reason_ : str or None, the first reason found (:func:`degenerate_reason`): ``"no_repeat_buyers"``,
        ``"dropout_zero"``, ``"<parameter>_at_bound"``, ``"p_alive_one"``; None when not degenerate.
    """

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-10, *, min_dropout: float = MIN_DROPOUT,
                 bound_margin: float = BOUND_MARGIN, sure_alive: float = SURE_ALIVE,
                 max_sure_share: float = MAX_SURE_SHARE) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.min_dropout = min_dropout
        self.bound_margin = bound_margin
        self.sure_alive = sure_alive
        self.max_sure_share = max_sure_share

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
        distinct histories. Requires 0 ≤ t_x ≤ T and t_x = 0 when x = 0. Sets ``converged_`` (the optimiser)
        and ``degenerate_`` / ``degenerate_reason_`` (the optimum, :func:`degenerate_reason`).
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
        repeat = x > 0
        self.sure_alive_share_ = (
            float(np.average(self.p_alive(x[repeat], t_x[repeat], age[repeat]) >= self.sure_alive,
                             weights=w[repeat])) if repeat.any() else math.nan)
        self.degenerate_reason_ = degenerate_reason(
            self.params_, self.sure_alive_share_, min_dropout=self.min_dropout, bound_margin=self.bound_margin,
            max_sure_share=self.max_sure_share)
        self.degenerate_ = self.degenerate_reason_ is not None
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


def degenerate_reason(params: Mapping[str, float], sure_alive_share: float, *, min_dropout: float = MIN_DROPOUT,
                      bound_margin: float = BOUND_MARGIN, max_sure_share: float = MAX_SURE_SHARE) -> str | None:
    """Why a BG/NBD fit is degenerate, or None: the first of these that holds.

    * ``"no_repeat_buyers"``: ``sure_alive_share`` is NaN, nobody bought twice; a and b do not enter the
      likelihood (eq. 6 without its second term) and stay where the optimiser started.
    * ``"dropout_zero"``: the mean drop-out chance after a purchase, E[p] = a/(a+b) (FHL 2005a, section 2),
      is below ``min_dropout``: a has run towards 0 or b towards ∞ relative to a, the likelihood's edge when
      customers keep buying to the end of the data (a UK online retailer: a ≈ 5.6·10⁻⁶, b ≈ 2,945).
    * ``"<name>_at_bound"`` (``r``, ``alpha``, ``a``, ``b``): a parameter within ``bound_margin`` ln units
      of the optimiser's search bounds e^±18 (:data:`crm_core.clv.fitting._LOG_BOUND`). Not when it runs
      off together with its partner (r with α, a with b, both above 10⁶): that ridge is the Poisson limit
      or one drop-out chance for everyone, whose ratio r/α or a/(a+b) stays finite and P(alive) meaningful;
      ``BetaGeo.converged_`` is False for it, and :func:`crm_core.clv.predict` retries with a penalizer.
    * ``"p_alive_one"``: at least ``max_sure_share`` of the repeat buyers have P(alive) ≥ the fit's
      ``sure_alive`` (``sure_alive_share``, as :attr:`BetaGeo.sure_alive_share_` counts them): P(alive)
      tells nobody apart.
    """
    if math.isnan(sure_alive_share):
        return "no_repeat_buyers"
    if params["a"] / (params["a"] + params["b"]) < min_dropout:
        return "dropout_zero"
    partner = {"r": "alpha", "alpha": "r", "a": "b", "b": "a"}
    for name in ("r", "alpha", "a", "b"):
        ridge = params[name] > _DIVERGED and params[partner[name]] > _DIVERGED
        if abs(math.log(params[name])) >= _LOG_BOUND - bound_margin and not ridge:
            return f"{name}_at_bound"
    if sure_alive_share >= max_sure_share:
        return "p_alive_one"
    return None
