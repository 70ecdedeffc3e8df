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

Modules:

- ``fitting``: time units (:data:`TIME_UNIT_DAYS`, :data:`UNITS_PER_MONTH`), arrays for scipy, grouping of
  identical rows and the L-BFGS-B driver shared by both models.
- ``bgnbd``: :class:`BetaGeo`, its likelihood and gradient, expected purchases (₂F₁), P(alive) and
  :func:`degenerate_reason` (a fit at the edge where the data show no drop-out, ``BetaGeo.degenerate_``).
- ``gamma_gamma``: :class:`GammaGamma`, spend per repeat purchase, and its independence check
  :func:`frequency_spend_correlation`.
- ``inputs``: :func:`purchase_days`, :func:`with_gaps`, :func:`purchase_history`, :func:`last_included_day`
  and the repeat-purchase summary :func:`rfm_input`.
- ``prediction``: :func:`customer_value`, :func:`next_order`, and :func:`predict` with :class:`CLVResult`.
- ``holdout_check``: :func:`holdout` (:class:`HoldoutResult`: the table and the calibration fit),
  :func:`holdout_by_frequency`, :func:`holdout_metrics`.
- ``labels``: :func:`column_label`.
"""
from __future__ import annotations

from crm_core.clv.bgnbd import BetaGeo, degenerate_reason
from crm_core.clv.fitting import TIME_UNIT_DAYS, UNITS_PER_MONTH
from crm_core.clv.gamma_gamma import GammaGamma, frequency_spend_correlation
from crm_core.clv.holdout_check import HoldoutResult, holdout, holdout_by_frequency, holdout_metrics
from crm_core.clv.inputs import last_included_day, purchase_days, purchase_history, rfm_input, with_gaps
from crm_core.clv.labels import column_label
from crm_core.clv.prediction import PENALIZER_LADDER, CLVResult, customer_value, next_order, predict

__all__ = ["BetaGeo", "degenerate_reason", "GammaGamma", "frequency_spend_correlation", "customer_value",
           "purchase_days", "with_gaps", "purchase_history", "last_included_day", "rfm_input", "next_order",
           "CLVResult", "predict", "HoldoutResult", "holdout", "holdout_by_frequency", "holdout_metrics",
           "column_label", "TIME_UNIT_DAYS", "UNITS_PER_MONTH", "PENALIZER_LADDER"]
