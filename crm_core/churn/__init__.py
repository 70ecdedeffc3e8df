"""Churn risk: features as of a cut-off, an out-of-time model, an honest backtest, reasons, flags, win-back list.

Definitions (DESIGN.md, "Churn"; research/mission_anchors.md §2 and §7):

- **Label.** A customer with an order strictly before ``as_of`` has *churned* when they place no purchase
  (an order with a positive net amount) in ``[as_of, as_of + horizon_days)``.
- **Training is out of time.** Features are computed as of ``as_of − horizon_days`` from data strictly
  before that date; labels come from the ``horizon_days`` that follow, which end at ``as_of``. The
  model then scores every customer with features as of ``as_of``.
- **Backtest.** The same procedure shifted one horizon back: train at ``as_of − 2·horizon``, evaluate the
  predictions made at ``as_of − horizon`` against what happened in ``[as_of − horizon, as_of)``. Metrics
  are ROC AUC, PR AUC (average precision), top-decile lift and Brier score, beside the baselines:
  recency alone, a logistic regression on log R, F, M, and BG/NBD P(no purchase in the horizon) and
  ``1 − P(alive)`` (Fader, Hardie & Lee 2005) when :mod:`crm_core.clv` is available and its fit is not
  degenerate. When a baseline ranks the test window's churners better than the model, the customers are
  ranked by it (:func:`ranking_model`) and the page says so. No commercial anchor shows this (Klaviyo
  shows no validation at all).
- **Model** (:class:`ChurnModel`): a regularised logistic regression or a monotone
  ``HistGradientBoostingClassifier``, whichever ranked the window before the training window better,
  with probabilities calibrated by ``CalibratedClassifierCV`` (isotonic when the training set is large,
  Platt/sigmoid otherwise).
- **Risk tiers.** Klaviyo's bands: low < 0.33 ≤ medium < 0.66 ≤ high on the calibrated probability
  (secondary source, mission_anchors.md §2); ``tier_by="rank"`` applies the same thresholds to the
  customer's risk percentile instead.
- **Data-sufficiency gate** (:func:`sufficiency`), in the spirit of Klaviyo's 500 customers / 180 days
  rule and Salesforce's ≥ 400 records with ≥ 100 examples of each class, but explaining which check
  fails and what would satisfy it. Without enough data there is no model (:func:`train_when_sufficient`
  returns None) and :func:`score` with ``model=None`` ranks by transparent rules.
- **Reasons** per customer: the features whose *risky* value raises this customer's predicted risk the
  most, measured by a counterfactual: the drop in the model's probability when that signal alone is
  set to a neutral value (orders as many as in the 90 days before, no complaints, ...). Each reason is a
  translation key plus the customer's actual numbers (``ui/locales/*/churn.toml``).
- **Early-warning flags** (:func:`flags`): transparent rules beside the model, from CRM practice —
  falling purchase frequency, shrinking basket, fewer contacts, complaints, ignored campaigns, low
  satisfaction, overdue against the customer's own rhythm (Salesforce / Fxiaoke / HubSpot health
  signals, mission_anchors.md §2 and §7.8).
- **Value at risk** = churn probability × expected value (CLV ``predicted_value_365_days`` when
  :mod:`crm_core.clv` works, else trailing-year revenue), ranked into a capacity-limited win-back list
  (:func:`capacity_curve`, mission_anchors.md §7.6).

Modules, in the order a score is built:

- ``inputs``: the interaction vocabularies, the feature names, :func:`features` and :func:`labels`.
- ``gate``: the data-sufficiency gate (:func:`sufficiency`, :class:`Sufficiency`, :class:`SufficiencyCheck`).
- ``model``: :class:`ChurnSettings`, :class:`ChurnModel` (chosen among :data:`CANDIDATES` out of time,
  :class:`Selection`), :func:`train` and :func:`train_when_sufficient`.
- ``baselines``: the BG/NBD baseline (:func:`bgnbd_scores`).
- ``evaluation``: ranking metrics, :func:`gains`, :func:`calibration_table`, :func:`backtest`
  (:class:`Backtest`, :class:`Ranking`), :func:`fit_and_backtest` (the page's model and its backtest, each
  training window computed once) and :func:`ranking_model` (the model, or the baseline that beat it).
- ``reasons``: the early-warning :func:`flags` and the per-customer reasons (:func:`explain`).
- ``scoring``: win-back actions, :func:`expected_values`, :func:`risk_tiers`, :func:`score`,
  :func:`capacity_curve` and :func:`win_back_list`.
"""

from __future__ import annotations

from crm_core.churn.baselines import BGNBDScores, bgnbd_churn_risk, bgnbd_scores
from crm_core.churn.evaluation import (
    BASELINES,
    Backtest,
    Ranking,
    backtest,
    calibration_table,
    fit_and_backtest,
    gains,
    ranking_model,
    top_decile_lift,
)
from crm_core.churn.gate import Sufficiency, SufficiencyCheck, sufficiency
from crm_core.churn.inputs import (
    CAMPAIGN_TYPES,
    COMPLAINT_TYPES,
    FEATURES,
    INTERACTION_FEATURES,
    MONOTONE,
    ORDER_FEATURES,
    POSITIVE_OUTCOMES,
    RISK_TIERS,
    features,
    labels,
)
from crm_core.churn.model import (
    CANDIDATES,
    FALLBACKS,
    ChurnModel,
    ChurnSettings,
    Selection,
    train,
    train_when_sufficient,
)
from crm_core.churn.reasons import FLAGS, explain, flag_key, flags
from crm_core.churn.scoring import (
    ACTIONS,
    DEFAULT_ACTION,
    capacity_curve,
    expected_values,
    risk_tiers,
    score,
    win_back_action,
    win_back_list,
)

__all__ = [
    "ACTIONS", "BASELINES", "CAMPAIGN_TYPES", "CANDIDATES", "COMPLAINT_TYPES", "DEFAULT_ACTION", "FALLBACKS",
    "FEATURES", "FLAGS", "INTERACTION_FEATURES", "MONOTONE", "ORDER_FEATURES", "POSITIVE_OUTCOMES", "RISK_TIERS",
    "BGNBDScores", "Backtest", "ChurnModel", "ChurnSettings", "Ranking", "Selection", "Sufficiency",
    "SufficiencyCheck",
    "backtest", "bgnbd_churn_risk", "bgnbd_scores", "calibration_table", "capacity_curve", "expected_values",
    "explain", "features", "fit_and_backtest", "flag_key", "flags", "gains", "labels", "ranking_model",
    "risk_tiers", "score", "sufficiency", "top_decile_lift", "train", "train_when_sufficient", "win_back_action",
    "win_back_list",
]

