"""Gamma–Gamma (:class:`GammaGamma`): likelihood, fit and conditional expected spend per repeat purchase."""
from __future__ import annotations

import math

import numpy as np
from scipy.special import digamma, gammaln

from crm_core.clv.fitting import _LOG_BOUND, ArrayLike, _dot, _float_array, _grouped, _minimize_log


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
    frequency_spend_correlation_ : float, Pearson correlation of repeat purchases x and mean repeat spend m̄
        over the fitted customers (:func:`frequency_spend_correlation`): the model assumes spend per order
        independent of how often a customer buys; NaN when either does not vary.
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
        self.frequency_spend_correlation_ = frequency_spend_correlation(x, m, w)
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


def frequency_spend_correlation(frequency: ArrayLike, monetary: ArrayLike,
                                weights: ArrayLike | None = None) -> float:
    """Pearson correlation of frequency and mean repeat spend (weighted by customers per row when given).

    Gamma–Gamma assumes a customer's spend per order is independent of their purchase process (Fader, Hardie &
    Lee 2005b, "RFM and CLV", the assumption of the spend sub-model); lifetimes' documentation checks it as this
    correlation among returning customers, to be close to 0. Pass the customers the model is fitted on
    (x > 0, m̄ > 0). NaN with fewer than two customers or when either does not vary.
    """
    x, m = _float_array(frequency), _float_array(monetary)
    w = np.ones(len(x)) if weights is None else _float_array(weights)
    if len(x) < 2 or w.sum() <= 0:
        return math.nan
    dx, dm = x - np.average(x, weights=w), m - np.average(m, weights=w)
    spread = math.sqrt(_dot(w, dx * dx) * _dot(w, dm * dm))
    return _dot(w, dx * dm) / spread if spread > 0 else math.nan
