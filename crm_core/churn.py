"""Churn risk: features as of a cut-off, an out-of-time model, an honest backtest, reasons, flags, win-back list.

Definitions (DESIGN.md, "Churn"; research/mission_anchors.md §2 and §7):

- **Label.** A customer with an order strictly before ``as_of`` has *churned* when they place no purchase
  (an order with a positive net amount) in ``[as_of, as_of + horizon_days)``.
- **Training is out of time.** Features are computed as of ``as_of − horizon_days`` from data strictly
  before that date; labels come from the ``horizon_days`` that follow, which end at ``as_of``. The
  model then scores every customer with features as of ``as_of``.
- **Backtest.** The same procedure shifted one horizon back: train at ``as_of − 2·horizon``, evaluate the
  predictions made at ``as_of − horizon`` against what happened in ``[as_of − horizon, as_of)``. Metrics
  are ROC AUC, PR AUC (average precision), top-decile lift and Brier score, beside two baselines:
  recency alone and BG/NBD ``1 − P(alive)`` (Fader, Hardie & Lee 2005) when :mod:`crm_core.clv` is
  available. No commercial anchor shows this (Klaviyo shows no validation at all).
- **Model.** scikit-learn ``HistGradientBoostingClassifier`` with probabilities calibrated by
  ``CalibratedClassifierCV`` (isotonic when the training set is large, Platt/sigmoid otherwise).
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
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import numpy as np
import polars as pl
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from threadpoolctl import threadpool_limits

from crm_core.dataset import Dataset
from crm_core.features import (
    DateLike,
    before,
    customer_summary,
    has_amounts,
    orders,
    to_datetime,
    with_amount,
    with_order_key,
)

if TYPE_CHECKING:
    from crm_core.clv import CLVResult

__all__ = [
    "ACTIONS", "BASELINES", "CAMPAIGN_TYPES", "COMPLAINT_TYPES", "DEFAULT_ACTION", "FEATURES", "FLAGS",
    "INTERACTION_FEATURES", "MONOTONE", "ORDER_FEATURES", "POSITIVE_OUTCOMES", "RISK_TIERS",
    "Backtest", "ChurnModel", "ChurnSettings", "Ranking", "Sufficiency", "SufficiencyCheck",
    "backtest", "bgnbd_churn_risk", "calibration_table", "capacity_curve", "expected_values", "explain",
    "features", "flag_key", "flags", "gains", "labels", "risk_tiers", "score", "sufficiency",
    "top_decile_lift", "train", "train_when_sufficient", "win_back_action", "win_back_list",
]

# ---------------------------------------------------------------- vocabularies

# Interaction ``type`` and ``outcome`` values are compared after lower-casing and trimming; the words
# below cover the English and Chinese spellings seen in CRM exports. Pass your own sets to change them.
COMPLAINT_TYPES: frozenset[str] = frozenset({"complaint", "complaints", "投诉", "客诉", "客户投诉"})
CAMPAIGN_TYPES: frozenset[str] = frozenset({
    "campaign", "marketing", "promotion", "newsletter", "email campaign", "sms campaign", "edm",
    "营销", "营销活动", "活动", "推广", "促销", "邮件营销", "短信营销", "广告",
})
# A campaign interaction counts as a *response* when its outcome is one of these; every other outcome
# (ignored, no response, unsubscribed, bounced, blank, ...) counts as the campaign being ignored.
POSITIVE_OUTCOMES: frozenset[str] = frozenset({
    "responded", "response", "replied", "reply", "clicked", "click", "opened", "open", "converted",
    "conversion", "purchased", "purchase", "ordered", "redeemed", "accepted", "interested", "positive",
    "success", "successful", "registered", "attended", "yes",
    "已响应", "响应", "已回复", "回复", "已点击", "点击", "已打开", "打开", "已转化", "转化", "已购买", "购买",
    "已下单", "下单", "已核销", "核销", "成交", "已成交", "感兴趣", "有意向", "成功", "接受", "已参与", "参与",
    "已报名", "报名", "是",
})

# ---------------------------------------------------------------- feature names

ORDER_FEATURES: tuple[str, ...] = (
    "recency_days", "frequency", "monetary", "tenure_days", "avg_order_value",
    "orders_last_30d", "orders_last_90d", "orders_last_180d", "orders_prev_90d", "order_trend",
    "typical_gap_days", "overdue_ratio",
    "revenue_last_90d", "revenue_prev_90d", "spend_trend",
    "aov_last_180d", "aov_before_180d", "basket_trend",
    "categories", "refund_count", "refund_share",
)
INTERACTION_FEATURES: tuple[str, ...] = (
    "contacts_last_90d", "contacts_prev_90d", "contact_trend",
    "complaints_last_90d", "complaints_prev_90d", "complaints_total",
    "satisfaction_avg_180d", "days_since_contact",
    "campaign_responses_180d", "campaigns_ignored_180d",
)
FEATURES: tuple[str, ...] = ORDER_FEATURES + INTERACTION_FEATURES

RISK_TIERS: tuple[str, ...] = ("low", "medium", "high")

# Direction in which churn risk may move with a feature when the model is constrained (train(monotonic=True)):
# +1 risk can only rise with the value, −1 only fall, others are free. These are the directions CRM
# practice takes for granted (longer silence, complaints, ignored campaigns → riskier; more recent
# orders, satisfaction, campaign responses → safer). The constraint regularises small data sets and
# keeps reasons coherent: neutralising a risky value can never raise the predicted risk.
MONOTONE: dict[str, int] = {
    "recency_days": 1, "overdue_ratio": 1, "complaints_last_90d": 1, "complaints_total": 1,
    "days_since_contact": 1, "campaigns_ignored_180d": 1,
    "frequency": -1, "orders_last_30d": -1, "orders_last_90d": -1, "orders_last_180d": -1,
    "satisfaction_avg_180d": -1, "campaign_responses_180d": -1,
}


def _norm(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).str.to_lowercase().str.strip_chars()


def _normset(words: Iterable[str]) -> list[str]:
    return sorted({str(word).strip().lower() for word in words})


def _trend(recent: str, previous: str) -> pl.Expr:
    """Symmetric change in [-1, 1]: (recent − previous) / (|recent| + |previous|).

    0 when both are 0, null when either is unknown (no amounts).
    """
    total = pl.col(recent).abs() + pl.col(previous).abs()
    return pl.when(total > 0).then((pl.col(recent) - pl.col(previous)) / total).when(total.is_not_null()).then(0.0)


def _empty_features() -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {"customer_id": pl.String()}
    schema.update({name: pl.Float64() for name in FEATURES})
    return pl.DataFrame(schema=schema)


# ---------------------------------------------------------------- features

def features(
    dataset: Dataset,
    as_of: DateLike,
    *,
    default_gap_days: float | None = None,
    complaint_types: Iterable[str] = COMPLAINT_TYPES,
    campaign_types: Iterable[str] = CAMPAIGN_TYPES,
    positive_outcomes: Iterable[str] = POSITIVE_OUTCOMES,
) -> pl.DataFrame:
    """Churn features per customer with an order strictly before ``as_of``, from data strictly before it.

    Columns (all Float64 except ``customer_id``; windows are ``[as_of − d, as_of)``):

    Customers are the customer base (:func:`crm_core.features.customer_base`: at least one purchase;
    refund documents are not purchases). Without amounts the money features (``monetary``,
    ``avg_order_value``, revenue, basket and refund shares) are null and :func:`train` leaves them out.

    - RFM and tenure: ``recency_days`` (whole days since the last *purchase*, so a later stand-alone
      refund does not make a customer look active), ``frequency`` (distinct purchases), ``monetary`` (net
      revenue), ``tenure_days``, ``avg_order_value`` (as in :func:`crm_core.features.customer_summary`);
    - purchases (orders that are not refund documents) in the last 30/90/180 days, ``orders_prev_90d`` in
      ``[as_of − 180, as_of − 90)`` and ``order_trend`` = (last 90 − previous 90) / (last 90 + previous 90);
    - ``typical_gap_days``: the customer's median days between purchases, or the population's median of
      those medians (``default_gap_days`` overrides it) for one-purchase customers; ``overdue_ratio`` =
      ``recency_days / typical_gap_days`` (> 1 means later than usual);
    - ``revenue_last_90d``, ``revenue_prev_90d`` (net line amounts dated in the window, refunds
      included), ``spend_trend`` (same symmetric change);
    - ``aov_last_180d``, ``aov_before_180d`` (mean purchase value), ``basket_trend`` = last / before − 1;
    - ``categories`` (distinct, null without a category column), ``refund_count`` (orders with a negative
      line), ``refund_share`` (refunded amount / gross revenue);
    - with ``dataset.interactions`` (else null): ``contacts_last_90d``, ``contacts_prev_90d``,
      ``contact_trend`` (contacts = interactions that are not campaigns), ``complaints_last_90d``,
      ``complaints_prev_90d``, ``complaints_total`` (type in ``complaint_types``),
      ``satisfaction_avg_180d``, ``days_since_contact`` (null when never contacted),
      ``campaign_responses_180d`` (campaigns whose outcome is in ``positive_outcomes``) and
      ``campaigns_ignored_180d`` (the other campaigns).
    """
    as_of_dt = to_datetime(as_of)
    # Sorted by content: polars' sums depend on row layout and sortedness flags in the last bit, and a
    # last-bit change can move a tree split; sorting makes equal data give equal features and models.
    transactions = with_amount(before(dataset.transactions, as_of_dt)).sort("customer_id", "order_date", "amount")
    summary = customer_summary(transactions, as_of_dt)
    if summary.height == 0:
        return _empty_features()

    def last(days: int) -> pl.Expr:
        return pl.col("order_date") >= as_of_dt - timedelta(days=days)

    prev_90 = (pl.col("order_date") >= as_of_dt - timedelta(days=180)) & ~last(90)
    all_orders = orders(transactions, as_of_dt)
    purchases = all_orders.filter(~pl.col("is_refund")).with_columns(
        (pl.col("order_date").diff().over("customer_id").dt.total_seconds() / 86400.0).alias("gap_days"))
    purchase_stats = purchases.group_by("customer_id").agg(
        last(30).sum().alias("orders_last_30d"),
        last(90).sum().alias("orders_last_90d"),
        last(180).sum().alias("orders_last_180d"),
        prev_90.sum().alias("orders_prev_90d"),
        pl.col("amount").filter(last(180)).mean().alias("aov_last_180d"),
        pl.col("amount").filter(~last(180)).mean().alias("aov_before_180d"),
        pl.col("gap_days").median().clip(lower_bound=1.0).alias("median_gap_days"),
        pl.col("order_date").max().alias("last_purchase"),
    )
    revenue_stats = transactions.group_by("customer_id").agg(  # net revenue on the lines' own dates
        pl.col("amount").filter(last(90)).sum().alias("revenue_last_90d"),
        pl.col("amount").filter(prev_90).sum().alias("revenue_prev_90d"),
    )
    if not has_amounts(transactions):
        revenue_stats = revenue_stats.with_columns(
            pl.lit(None, dtype=pl.Float64).alias(name) for name in ("revenue_last_90d", "revenue_prev_90d"))
    refund_stats = (
        with_order_key(transactions).filter(pl.col("amount") < 0)
        .group_by("customer_id").agg(pl.col("order_key").n_unique().alias("refund_count"))
    )
    if default_gap_days is None:
        # median of customers' medians
        default_gap_days = cast("float | None", purchase_stats["median_gap_days"].median())
    counts = ("orders_last_30d", "orders_last_90d", "orders_last_180d", "orders_prev_90d", "refund_count")
    frame = (
        summary.join(purchase_stats, on="customer_id", how="left")
        .join(revenue_stats, on="customer_id", how="left")
        .join(refund_stats, on="customer_id", how="left")
        .with_columns(pl.col(list(counts)).fill_null(0).cast(pl.Float64),
                      pl.col("revenue_last_90d", "revenue_prev_90d").cast(pl.Float64).fill_null(0.0)
                      if has_amounts(transactions) else pl.col("revenue_last_90d", "revenue_prev_90d"))
        .with_columns(
            pl.coalesce((pl.lit(as_of_dt) - pl.col("last_purchase")).dt.total_days(), pl.col("recency_days"))
            .cast(pl.Float64).alias("recency_days"),
            pl.col("orders").cast(pl.Float64).alias("frequency"),
            pl.col("revenue").alias("monetary"),
            pl.col("tenure_days").cast(pl.Float64),
            (pl.col("categories").cast(pl.Float64) if "categories" in summary.columns
             else pl.lit(None, dtype=pl.Float64).alias("categories")),
            pl.coalesce(pl.col("median_gap_days"), pl.lit(default_gap_days, dtype=pl.Float64))
            .alias("typical_gap_days"),
            _trend("orders_last_90d", "orders_prev_90d").alias("order_trend"),
            _trend("revenue_last_90d", "revenue_prev_90d").alias("spend_trend"),
            pl.when(pl.col("aov_before_180d") > 0).then(pl.col("aov_last_180d") / pl.col("aov_before_180d") - 1.0)
            .alias("basket_trend"),
            pl.when(pl.col("gross_revenue") > 0).then(pl.col("refunds") / pl.col("gross_revenue"))
            .when(pl.col("gross_revenue").is_not_null()).then(0.0).alias("refund_share"),
        )
        .with_columns((pl.col("recency_days") / pl.col("typical_gap_days")).alias("overdue_ratio"))
    )
    frame = frame.join(
        _interaction_features(dataset, as_of_dt, frame.select("customer_id"),
                              complaint_types, campaign_types, positive_outcomes),
        on="customer_id", how="left")
    return frame.select("customer_id", *[pl.col(name).cast(pl.Float64) for name in FEATURES]).sort("customer_id")


def _interaction_features(
    dataset: Dataset,
    as_of: datetime,
    customers: pl.DataFrame,
    complaint_types: Iterable[str],
    campaign_types: Iterable[str],
    positive_outcomes: Iterable[str],
) -> pl.DataFrame:
    """The interaction columns of :func:`features` for ``customers`` (all null without interactions)."""
    table = dataset.interactions
    if table is None or not dataset.has("interactions"):
        return customers.with_columns(pl.lit(None, dtype=pl.Float64).alias(name) for name in INTERACTION_FEATURES)
    sort_keys = ["customer_id", "date"] + (["satisfaction"] if "satisfaction" in table.columns else [])
    events = (table.filter(pl.col("date") < as_of).join(customers, on="customer_id", how="semi")
              .sort(sort_keys))  # by content, as in features()

    def last(days: int) -> pl.Expr:
        return pl.col("date") >= as_of - timedelta(days=days)

    prev_90 = (pl.col("date") >= as_of - timedelta(days=180)) & ~last(90)
    kind = _norm(pl.col("type"))
    is_campaign = kind.is_in(_normset(campaign_types)).fill_null(False)
    is_complaint = kind.is_in(_normset(complaint_types)).fill_null(False)
    has_outcome = "outcome" in table.columns
    positive = (_norm(pl.col("outcome")).is_in(_normset(positive_outcomes)).fill_null(False)
                if has_outcome else pl.lit(False))
    satisfaction = (pl.col("satisfaction").cast(pl.Float64).filter(last(180)).mean()
                    if "satisfaction" in table.columns else pl.lit(None, dtype=pl.Float64))
    stats = events.group_by("customer_id").agg(
        (~is_campaign & last(90)).sum().alias("contacts_last_90d"),
        (~is_campaign & prev_90).sum().alias("contacts_prev_90d"),
        (is_complaint & last(90)).sum().alias("complaints_last_90d"),
        (is_complaint & prev_90).sum().alias("complaints_prev_90d"),
        is_complaint.sum().alias("complaints_total"),
        satisfaction.alias("satisfaction_avg_180d"),
        pl.col("date").filter(~is_campaign).max().alias("last_contact"),
        (is_campaign & last(180) & positive).sum().alias("campaign_responses_180d"),
        (is_campaign & last(180) & ~positive).sum().alias("campaigns_ignored_180d"),
    )
    counts = ("contacts_last_90d", "contacts_prev_90d", "complaints_last_90d", "complaints_prev_90d",
              "complaints_total", "campaign_responses_180d", "campaigns_ignored_180d")
    frame = customers.join(stats, on="customer_id", how="left").with_columns(
        pl.col(list(counts)).fill_null(0).cast(pl.Float64),
        (pl.lit(as_of) - pl.col("last_contact")).dt.total_days().cast(pl.Float64).alias("days_since_contact"),
    ).with_columns(_trend("contacts_last_90d", "contacts_prev_90d").alias("contact_trend"))
    if not has_outcome:  # responses cannot be told from ignored campaigns
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(name)
                                   for name in ("campaign_responses_180d", "campaigns_ignored_180d"))
    return frame.select("customer_id", *INTERACTION_FEATURES)


# ---------------------------------------------------------------- labels

def labels(transactions: pl.DataFrame, as_of: DateLike, horizon_days: int = 90) -> pl.DataFrame:
    """``customer_id, orders_in_horizon, churned`` for every customer with a purchase strictly before ``as_of``.

    Customers are those with a purchase strictly before ``as_of`` (the customer base of
    :func:`crm_core.features.customer_base`). ``churned`` is True when the customer places no purchase
    (an order that is not a refund document, :mod:`crm_core.features`) in ``[as_of, as_of +
    horizon_days)`` (DESIGN.md, "Churn").
    """
    as_of_dt = to_datetime(as_of)
    end = as_of_dt + timedelta(days=horizon_days)
    base = orders(transactions, as_of_dt).filter(~pl.col("is_refund")).select("customer_id").unique()
    window = transactions.filter((pl.col("order_date") >= as_of_dt) & (pl.col("order_date") < end))
    bought = orders(window).filter(~pl.col("is_refund")).group_by("customer_id").agg(
        pl.len().cast(pl.Int64).alias("orders_in_horizon"))
    return (
        base.join(bought, on="customer_id", how="left")
        .with_columns(pl.col("orders_in_horizon").fill_null(0))
        .with_columns((pl.col("orders_in_horizon") == 0).alias("churned"))
        .sort("customer_id")
    )


# ---------------------------------------------------------------- sufficiency gate

class SufficiencyCheck(NamedTuple):
    """One condition of the gate: translation ``key`` (``churn.sufficiency.<name>``), pass/fail, numbers."""

    key: str
    ok: bool
    actual: float
    required: float

    @property
    def hint(self) -> str:
        """Translation key of what would satisfy this check (``churn.sufficiency_hint.<name>``)."""
        return self.key.replace("churn.sufficiency.", "churn.sufficiency_hint.")


@dataclass(frozen=True)
class Sufficiency:
    """Whether there is enough data to train *and* backtest a churn model, and which check fails."""

    ok: bool
    checks: tuple[SufficiencyCheck, ...]
    cutoff: datetime | None  # the earliest training cut-off the checks were counted at (as_of − 2·horizon)

    @property
    def failing(self) -> tuple[SufficiencyCheck, ...]:
        return tuple(check for check in self.checks if not check.ok)


def sufficiency(
    transactions: pl.DataFrame,
    as_of: DateLike,
    horizon_days: int = 90,
    min_customers: int = 200,
    min_churners: int = 50,
    min_retained: int = 50,
    min_history_days: int | None = None,
) -> Sufficiency:
    """Data-sufficiency gate for the churn model.

    After Klaviyo (500 customers and 180 days of history) and Salesforce Prediction Builder (≥ 400
    records, ≥ 100 of each outcome); mission_anchors.md §2.

    A model is shown only when its backtest can be shown too, so the counts are taken at the backtest's
    training cut-off ``as_of − 2·horizon_days`` (the smallest training set): customers with an order
    before it, and how many of them churned / stayed in the following horizon. ``min_history_days``
    (default ``2·horizon_days + 90``: two horizons plus 90 days of history for the trend features) is
    compared with the days from the first order to ``as_of``.

    Check keys: ``churn.sufficiency.history_days``, ``.customers``, ``.churners``, ``.retained``.
    """
    as_of_dt = to_datetime(as_of)
    if min_history_days is None:
        min_history_days = 2 * horizon_days + 90
    cutoff = as_of_dt - timedelta(days=2 * horizon_days)
    first = cast("datetime | None", before(transactions, as_of_dt)["order_date"].min())
    history_days = float((as_of_dt - first).days) if first is not None else 0.0
    outcome = labels(before(transactions, as_of_dt), cutoff, horizon_days)
    churners = float(outcome["churned"].sum())
    customers = float(outcome.height)
    values = (
        ("history_days", history_days, float(min_history_days)),
        ("customers", customers, float(min_customers)),
        ("churners", churners, float(min_churners)),
        ("retained", customers - churners, float(min_retained)),
    )
    checks = tuple(SufficiencyCheck(f"churn.sufficiency.{name}", actual >= required, actual, required)
                   for name, actual, required in values)
    return Sufficiency(all(check.ok for check in checks), checks, cutoff)


# ---------------------------------------------------------------- model

@dataclass(frozen=True)
class ChurnSettings:
    """The tuning knobs of :func:`train` (and of the model :func:`backtest` trains); the defaults are the app's.

    Booster: ``max_iter``, ``learning_rate``, ``max_leaf_nodes``, ``min_samples_leaf``,
    ``l2_regularization`` of ``HistGradientBoostingClassifier``; ``monotonic`` applies the directions of
    :data:`MONOTONE`. Calibration: ``calibration_folds`` stratified folds, isotonic from
    ``isotonic_min_samples`` training customers, Platt (sigmoid) below. Permutation importance on at most
    ``importance_rows`` held-out customers, ``importance_repeats`` times. ``max_train_rows`` caps the
    training set (a stratified sample; None = everyone); ``n_threads`` caps OpenMP threads (None = all
    cores). The vocabularies and ``default_gap_days`` go to :func:`features` wherever the model's features
    are computed (training, :func:`score`, :func:`backtest`).
    """

    max_iter: int = 150
    learning_rate: float = 0.05
    max_leaf_nodes: int = 7
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    monotonic: bool = True
    calibration_folds: int = 3
    isotonic_min_samples: int = 3000
    importance_rows: int = 3000
    importance_repeats: int = 3
    max_train_rows: int | None = 20_000
    n_threads: int | None = 1
    default_gap_days: float | None = None
    complaint_types: frozenset[str] = COMPLAINT_TYPES
    campaign_types: frozenset[str] = CAMPAIGN_TYPES
    positive_outcomes: frozenset[str] = POSITIVE_OUTCOMES

    def feature_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`features` these settings choose."""
        return {"default_gap_days": self.default_gap_days, "complaint_types": self.complaint_types,
                "campaign_types": self.campaign_types, "positive_outcomes": self.positive_outcomes}


@dataclass(frozen=True, eq=False)
class ChurnModel:
    """A fitted churn model and what the model card shows about it.

    ``estimator`` is a calibrated scikit-learn classifier over ``feature_names`` (columns of
    :func:`features`); it was fitted on features as of ``cutoff`` and labels from ``[cutoff, label_end)``.
    ``feature_importance`` is the permutation importance (drop in ROC AUC) on a held-out split;
    ``reference`` holds the median of each feature among the customers who stayed, the neutral values
    some reasons compare against. ``n_threads`` caps OpenMP threads when predicting (see :func:`train`);
    ``settings`` are the :class:`ChurnSettings` it was trained with (its features are computed with them).
    """

    estimator: Any
    feature_names: tuple[str, ...]
    cutoff: datetime
    label_end: datetime
    horizon_days: int
    calibration: str
    n_train: int
    train_churn_rate: float
    feature_importance: pl.DataFrame
    reference: Mapping[str, float]
    n_threads: int | None = 1
    n_eligible: int = 0
    settings: ChurnSettings = ChurnSettings()

    def matrix(self, feature_frame: pl.DataFrame) -> np.ndarray:
        """The model's input matrix; features missing from the frame are missing values (NaN)."""
        columns = [pl.col(name).cast(pl.Float64) if name in feature_frame.columns
                   else pl.lit(None, dtype=pl.Float64).alias(name) for name in self.feature_names]
        return feature_frame.select(columns).to_numpy()  # numpy at the scikit-learn boundary; nulls → NaN

    def predict_proba(self, feature_frame: pl.DataFrame) -> np.ndarray:
        """Calibrated churn probability per row of ``feature_frame``."""
        if feature_frame.height == 0:
            return np.zeros(0)
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return self.estimator.predict_proba(self.matrix(feature_frame))[:, 1]


def _training_frame(dataset: Dataset, cutoff: datetime, horizon_days: int, **feature_options: Any) -> pl.DataFrame:
    frame = features(dataset, cutoff, **feature_options)
    outcome = labels(dataset.transactions, cutoff, horizon_days).select("customer_id", "churned")
    return frame.join(outcome, on="customer_id", how="inner").sort("customer_id")


def _booster(settings: ChurnSettings, seed: int, monotonic_cst: list[int] | None) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=settings.max_iter, learning_rate=settings.learning_rate, max_leaf_nodes=settings.max_leaf_nodes,
        min_samples_leaf=settings.min_samples_leaf, l2_regularization=settings.l2_regularization,
        monotonic_cst=monotonic_cst, early_stopping=False, random_state=seed)


def train(
    dataset: Dataset,
    as_of: DateLike,
    horizon_days: int = 90,
    settings: ChurnSettings = ChurnSettings(),
    *,
    seed: int = 0,
) -> ChurnModel:
    """Fit the churn model out of time: features as of ``as_of − horizon_days``, labels from then to ``as_of``.

    ``HistGradientBoostingClassifier`` (no early stopping, so a seed fixes the result; small trees and,
    with ``settings.monotonic``, the directions of :data:`MONOTONE` — together worth about +0.01 ROC AUC
    on a 3,000-customer sample and neutral at 20,000) calibrated with ``CalibratedClassifierCV`` over
    ``settings.calibration_folds`` stratified folds: isotonic regression when there are at least
    ``settings.isotonic_min_samples`` training customers, Platt scaling (sigmoid) otherwise
    (scikit-learn user guide, "Probability calibration": isotonic overfits on small sets).
    Feature importance is the permutation importance (Breiman 2001; ``sklearn.inspection``) in ROC AUC
    of an uncalibrated booster fitted on 75 % of the customers and scored on at most
    ``settings.importance_rows`` of the other 25 %. ``settings.n_threads`` caps the booster's OpenMP
    threads while fitting (threadpoolctl); the default 1 keeps training fast on a busy server, where
    OpenMP threads spin-wait on each other (measured: 2 threads took 5–18 s, 1 thread 0.5 s, for the same
    2,000-customer fit under load); None = all cores. See :class:`ChurnSettings` for every knob.

    Raises ``ValueError`` when the training labels hold fewer than ``settings.calibration_folds``
    customers of either class; check :func:`sufficiency` first (or use :func:`train_when_sufficient`).
    """
    as_of_dt = to_datetime(as_of)
    cutoff = as_of_dt - timedelta(days=horizon_days)
    everyone = _training_frame(dataset, cutoff, horizon_days, **settings.feature_options())
    frame = everyone
    if settings.max_train_rows is not None and everyone.height > settings.max_train_rows:
        everyone_target = everyone["churned"].cast(pl.Int8).to_numpy()
        if min(int(everyone_target.sum()), len(everyone_target) - int(everyone_target.sum())) >= 2:
            keep, _ = train_test_split(np.arange(everyone.height), train_size=settings.max_train_rows,
                                       stratify=everyone_target, random_state=seed)
            frame = everyone[np.sort(keep)]
    names = tuple(name for name in FEATURES if frame[name].null_count() < frame.height)
    target = frame["churned"].cast(pl.Int8).to_numpy()  # numpy at the scikit-learn boundary
    churners = int(target.sum())
    if min(churners, len(target) - churners) < max(settings.calibration_folds, 2):
        raise ValueError(f"need at least {settings.calibration_folds} churned and retained customers to train, "
                         f"got {churners} of {len(target)}")
    matrix = frame.select(names).to_numpy()
    constraints = [MONOTONE.get(name, 0) for name in names] if settings.monotonic else None
    booster = _booster(settings, seed, constraints)
    method = "isotonic" if len(target) >= settings.isotonic_min_samples else "sigmoid"
    folds = StratifiedKFold(n_splits=settings.calibration_folds, shuffle=True, random_state=seed)
    fit_rows, held_rows = train_test_split(np.arange(len(target)), test_size=0.25, stratify=target,
                                           random_state=seed)
    held_rows = held_rows[:settings.importance_rows]
    with threadpool_limits(limits=settings.n_threads, user_api="openmp"):
        estimator = CalibratedClassifierCV(booster, method=method, cv=folds, ensemble=False).fit(matrix, target)
        importance_model = clone(booster).fit(matrix[fit_rows], target[fit_rows])
        if len(np.unique(target[held_rows])) == 2:
            result = permutation_importance(importance_model, matrix[held_rows], target[held_rows],
                                            scoring="roc_auc", n_repeats=settings.importance_repeats, random_state=seed)
            means, stds = result.importances_mean, result.importances_std
        else:
            means = stds = np.full(len(names), np.nan)
    importance = pl.DataFrame({"feature": list(names), "importance": means, "importance_std": stds}).sort(
        "importance", "feature", descending=[True, False], nulls_last=True)
    retained = everyone.filter(~pl.col("churned"))
    reference = {name: float(value) for name in FEATURES
                 if (value := cast("float | None", retained[name].median())) is not None and not math.isnan(value)}
    return ChurnModel(
        estimator=estimator, feature_names=names, cutoff=cutoff, label_end=as_of_dt, horizon_days=horizon_days,
        calibration=method, n_train=len(target), train_churn_rate=churners / len(target), n_eligible=everyone.height,
        feature_importance=importance, reference=reference, n_threads=settings.n_threads, settings=settings)


def train_when_sufficient(
    dataset: Dataset,
    as_of: DateLike,
    horizon_days: int = 90,
    settings: ChurnSettings = ChurnSettings(),
    *,
    seed: int = 0,
) -> ChurnModel | None:
    """:func:`train` when :func:`sufficiency` passes at ``as_of`` for ``horizon_days``, else None.

    Without a model the caller scores by the warning rules: ``score(..., model=None)``.
    """
    if not sufficiency(dataset.transactions, as_of, horizon_days).ok:
        return None
    return train(dataset, as_of, horizon_days, settings, seed=seed)


# ---------------------------------------------------------------- evaluation

def _order_desc(values: np.ndarray) -> np.ndarray:
    """Indices sorting ``values`` high → low; ties keep row order (rows are sorted by customer_id)."""
    return np.argsort(-values, kind="stable")


def top_decile_lift(churned: np.ndarray, risk: np.ndarray, share: float = 0.1) -> float:
    """Churn rate among the ``share`` riskiest customers divided by the overall churn rate."""
    count = max(1, math.ceil(share * len(churned)))
    top = churned[_order_desc(risk)[:count]]
    return float(top.mean() / churned.mean()) if churned.mean() > 0 else float("nan")


def _metrics(churned: np.ndarray, risk: np.ndarray) -> dict[str, float]:
    return {
        "auc": float(roc_auc_score(churned, risk)),
        "pr_auc": float(average_precision_score(churned, risk)),
        "top_decile_lift": top_decile_lift(churned, risk),
    }


def gains(churned: np.ndarray, risk: np.ndarray, points: int = 100) -> np.ndarray:
    """Cumulative gains: share of churners caught when contacting the riskiest ``k/points`` of customers."""
    caught = np.concatenate([[0.0], np.cumsum(churned[_order_desc(risk)])]) / max(churned.sum(), 1)
    contacted = np.round(np.linspace(0, 1, points + 1) * len(churned)).astype(int)
    return caught[contacted]


def calibration_table(churned: np.ndarray, probability: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """Predicted vs observed churn rate by decile of predicted probability (equal-count bins)."""
    frame = pl.DataFrame({"predicted": probability, "churned": churned.astype(float)})
    return (
        frame.with_columns((pl.col("predicted").rank("ordinal") - 1).alias("rank"))
        .with_columns((pl.col("rank") * bins // frame.height + 1).cast(pl.Int64).alias("decile"))
        .group_by("decile").agg(pl.col("predicted").mean().alias("mean_predicted"),
                                pl.col("churned").mean().alias("observed_rate"),
                                pl.len().alias("customers"))
        .sort("decile")
    )


def bgnbd_churn_risk(transactions: pl.DataFrame, as_of: DateLike, horizon_days: int = 90) -> pl.DataFrame | None:
    """BG/NBD churn scores per customer, fitted on the history before ``as_of``; None without :mod:`crm_core.clv`.

    Columns ``customer_id``, ``bgnbd_churn_risk`` = 1 − P(alive) (Fader, Hardie & Lee 2005; Hardie's
    note 021) and ``bgnbd_p_no_purchase`` = P(no purchase in the next ``horizon_days``)
    = (1 − P(alive)) + P(alive) · ((α + T) / (α + T + t))^(r + x): an alive customer's rate has the
    posterior Gamma(r + x, α + T) and BG/NBD drop-out only follows a purchase. 1 − P(alive) is 0 for
    every one-order customer (x = 0), so on data with many one-time buyers it ranks poorly; the
    horizon probability is the fairer BG/NBD baseline and both are reported.
    """
    try:
        from crm_core.clv import TIME_UNIT_DAYS, BetaGeo, rfm_input
    except ImportError:
        return None
    rfm = rfm_input(transactions, to_datetime(as_of), time_unit="W")
    if rfm.height == 0:
        return None
    frequency, recency, age = (rfm[name].to_numpy().astype(float) for name in ("frequency", "recency", "T"))
    model = BetaGeo().fit(frequency, recency, age)  # numpy at the scipy boundary
    p_alive = np.asarray(model.p_alive(frequency, recency, age), dtype=float)
    r, alpha = model.params_["r"], model.params_["alpha"]
    t = horizon_days / TIME_UNIT_DAYS["W"]
    quiet_if_alive = ((alpha + age) / (alpha + age + t)) ** (r + frequency)
    return rfm.select("customer_id").with_columns(
        pl.Series("bgnbd_churn_risk", 1.0 - p_alive),
        pl.Series("bgnbd_p_no_purchase", (1.0 - p_alive) + p_alive * quiet_if_alive))


@dataclass(frozen=True)
class Ranking:
    """How well one ranking of the customers told the backtest's churners apart (None = not computed).

    ``name`` is ``"model"`` or a baseline of :data:`BASELINES`. ``auc`` (ROC AUC), ``pr_auc`` (average
    precision) and ``top_decile_lift`` are None when the evaluation window holds only one class;
    ``brier`` is the Brier score of a probability, so only the model has one.
    """

    name: str
    auc: float | None = None
    pr_auc: float | None = None
    top_decile_lift: float | None = None
    brier: float | None = None


# The baselines beside the model: recency alone; BG/NBD P(no purchase in the horizon) and 1 − P(alive)
# (see :func:`bgnbd_churn_risk`, they need :mod:`crm_core.clv`).
BASELINES: tuple[str, ...] = ("recency", "bgnbd_horizon", "bgnbd")


@dataclass(frozen=True, eq=False)
class Backtest:
    """The result of :func:`backtest`.

    ``ok`` and ``sufficiency``: the data gate counted at the training cut-off; when it fails, everything
    from ``n_customers`` on is None (``baselines`` empty). ``train_cutoff`` = as_of − 2·horizon and
    ``eval_cutoff`` = as_of − horizon. ``n_customers`` and ``churn_rate`` describe the evaluation set;
    ``ranking`` holds the model's metrics and ``baselines`` those of each baseline that could be computed,
    in the order of :data:`BASELINES`. ``gains``: ``share_contacted`` and the share of churners caught
    ranking by ``model``, each baseline and ``random``; ``calibration``: by decile of predicted
    probability, ``decile, mean_predicted, observed_rate, customers``; ``model``: the fitted model.
    """

    ok: bool
    sufficiency: Sufficiency
    horizon_days: int
    train_cutoff: datetime
    eval_cutoff: datetime
    n_customers: int | None = None
    churn_rate: float | None = None
    ranking: Ranking | None = None
    baselines: tuple[Ranking, ...] = ()
    gains: pl.DataFrame | None = None
    calibration: pl.DataFrame | None = None
    model: ChurnModel | None = None

    @property
    def feature_importance(self) -> pl.DataFrame | None:
        """The fitted model's permutation importance (None when the gate failed)."""
        return self.model.feature_importance if self.model is not None else None

    def baseline(self, name: str) -> Ranking | None:
        """The metrics of baseline ``name`` (:data:`BASELINES`), or None when it was not computed."""
        return next((ranking for ranking in self.baselines if ranking.name == name), None)


def backtest(
    dataset: Dataset,
    as_of: DateLike,
    horizon_days: int = 90,
    settings: ChurnSettings = ChurnSettings(),
    *,
    seed: int = 0,
) -> Backtest:
    """Honest out-of-time evaluation of :func:`train` (DESIGN.md, "Churn").

    The model is trained with features at ``as_of − 2·horizon`` and labels from the next horizon, then
    predicts with features at ``as_of − horizon``; predictions are compared with who actually bought
    in ``[as_of − horizon, as_of)``. Nothing after ``as_of − horizon`` reaches a feature. Metrics are
    ROC AUC, PR AUC, top-decile lift and the Brier score, beside the :data:`BASELINES`: recency alone
    and, with :mod:`crm_core.clv`, BG/NBD P(no purchase in the horizon) and 1 − P(alive)
    (:func:`bgnbd_churn_risk`). See :class:`Backtest` for what comes back.
    """
    as_of_dt = to_datetime(as_of)
    eval_cutoff = as_of_dt - timedelta(days=horizon_days)
    gate = sufficiency(dataset.transactions, as_of_dt, horizon_days)
    empty = Backtest(ok=gate.ok, sufficiency=gate, horizon_days=horizon_days,
                     train_cutoff=eval_cutoff - timedelta(days=horizon_days), eval_cutoff=eval_cutoff)
    if not gate.ok:
        return empty
    model = train(dataset, eval_cutoff, horizon_days, settings, seed=seed)
    frame = features(dataset, eval_cutoff, **settings.feature_options()).join(
        labels(dataset.transactions, eval_cutoff, horizon_days).select("customer_id", "churned"), on="customer_id")
    churned = frame["churned"].cast(pl.Int8).to_numpy()  # numpy at the scikit-learn boundary
    probability = model.predict_proba(frame)
    both_classes = 0 < churned.sum() < len(churned)

    def ranking(name: str, risk: np.ndarray, brier: float | None = None) -> Ranking:
        return Ranking(name, brier=brier, **(_metrics(churned, risk) if both_classes else {}))

    curves = {"model": probability, "recency": frame["recency_days"].to_numpy()}
    bgnbd = bgnbd_churn_risk(dataset.transactions, eval_cutoff, horizon_days)
    if bgnbd is not None:
        scores = frame.select("customer_id").join(bgnbd, on="customer_id", how="left")
        for column, name in (("bgnbd_churn_risk", "bgnbd"), ("bgnbd_p_no_purchase", "bgnbd_horizon")):
            risk = scores[column]  # customers without a purchase day (refunds only): the median
            curves[name] = risk.fill_null(risk.median() if risk.median() is not None else 0.5).to_numpy()
    points = 100
    table = {"share_contacted": np.linspace(0, 1, points + 1)}
    table.update({name: gains(churned, risk, points) for name, risk in curves.items()})
    table["random"] = table["share_contacted"]
    return replace(
        empty, n_customers=frame.height, churn_rate=float(churned.mean()), model=model,
        ranking=ranking("model", probability, float(brier_score_loss(churned, probability))),
        baselines=tuple(ranking(name, curves[name]) for name in BASELINES if name in curves),
        gains=pl.DataFrame(table), calibration=calibration_table(churned, probability))


# ---------------------------------------------------------------- flags

FLAGS: tuple[str, ...] = ("frequency_drop", "basket_shrink", "fewer_contacts", "complaints",
                          "campaigns_ignored", "low_satisfaction", "overdue")


def flag_key(name: str) -> str:
    """Translation key of a flag: ``churn.flag.<name>``."""
    return f"churn.flag.{name}"


def flags(
    feature_frame: pl.DataFrame,
    *,
    frequency_drop: float = 0.5,
    min_prev_orders: int = 2,
    basket_drop: float = 0.3,
    contact_drop: float = 0.5,
    min_prev_contacts: int = 2,
    min_complaints: int = 1,
    min_ignored_campaigns: int = 2,
    low_satisfaction: float = 3.0,
    overdue_ratio: float = 1.5,
) -> pl.DataFrame:
    """Transparent early-warning flags beside the model.

    From CRM health-score practice: HubSpot health score, Fxiaoke / Zoho / Salesforce interaction
    signals; mission_anchors.md §2, §7.8.

    One boolean column ``flag_<name>`` per entry of :data:`FLAGS` (translation key ``churn.flag.<name>``)
    and ``flag_count``. A flag is False when its data is missing (e.g. no interactions table):

    - ``frequency_drop``: ≥ ``min_prev_orders`` purchases in the previous 90 days and the last 90 days
      at least ``frequency_drop`` (share) lower;
    - ``basket_shrink``: average purchase value of the last 180 days ≥ ``basket_drop`` below the earlier one;
    - ``fewer_contacts``: ≥ ``min_prev_contacts`` contacts in the previous 90 days, ≥ ``contact_drop`` fewer now;
    - ``complaints``: ≥ ``min_complaints`` complaints in the last 90 days;
    - ``campaigns_ignored``: ≥ ``min_ignored_campaigns`` campaigns in the last 180 days, none answered;
    - ``low_satisfaction``: average satisfaction of the last 180 days ≤ ``low_satisfaction`` (1–5 scale);
    - ``overdue``: days since the last order ≥ ``overdue_ratio`` × the customer's usual gap.
    """
    col = pl.col
    rules = {
        "frequency_drop": (col("orders_prev_90d") >= min_prev_orders)
        & (col("orders_last_90d") <= col("orders_prev_90d") * (1 - frequency_drop)),
        "basket_shrink": col("basket_trend") <= -basket_drop,
        "fewer_contacts": (col("contacts_prev_90d") >= min_prev_contacts)
        & (col("contacts_last_90d") <= col("contacts_prev_90d") * (1 - contact_drop)),
        "complaints": col("complaints_last_90d") >= min_complaints,
        "campaigns_ignored": (col("campaigns_ignored_180d") >= min_ignored_campaigns)
        & (col("campaign_responses_180d") == 0),
        "low_satisfaction": col("satisfaction_avg_180d") <= low_satisfaction,
        "overdue": col("overdue_ratio") >= overdue_ratio,
    }
    names = [f"flag_{name}" for name in FLAGS]
    return feature_frame.select(
        "customer_id", *[rules[name].fill_null(False).alias(f"flag_{name}") for name in FLAGS]
    ).with_columns(pl.sum_horizontal(names).cast(pl.Int64).alias("flag_count"))


# ---------------------------------------------------------------- reasons

@dataclass(frozen=True)
class _Reason:
    key: str                          # churn.reason.<key>
    valid: pl.Expr                    # the customer's value is on the risky side
    counterfactual: dict[str, pl.Expr]  # the neutral values: "as if this signal were not there"
    params: dict[str, pl.Expr]        # the customer's actual numbers shown in the sentence
    flag: str | None                  # the flag that stands for this reason in rules mode


def _reasons(reference: Mapping[str, float]) -> tuple[_Reason, ...]:
    """Reason definitions; ``reference`` = medians of retained customers (neutral values)."""
    col = pl.col

    def ref(name: str) -> pl.Expr:
        value = reference.get(name)
        return pl.lit(value if value is not None else None, dtype=pl.Float64)

    def whole(name: str) -> pl.Expr:
        return col(name).round(0, mode="half_away_from_zero").cast(pl.Int64)

    def money(name: str) -> pl.Expr:
        return col(name).round(2, mode="half_away_from_zero")

    neutral_recency = pl.min_horizontal("recency_days", "typical_gap_days")
    overdue_cf = {"recency_days": neutral_recency, "overdue_ratio": pl.min_horizontal("overdue_ratio", pl.lit(1.0))}
    overdue_params = {"days": whole("recency_days"), "gap": whole("typical_gap_days")}
    return (
        _Reason("overdue", (col("frequency") >= 2) & (col("overdue_ratio") > 1), overdue_cf, overdue_params, "overdue"),
        _Reason("inactive", (col("frequency") < 2) & (col("overdue_ratio") > 1), overdue_cf, overdue_params, "overdue"),
        _Reason("orders_fell", col("orders_last_90d") < col("orders_prev_90d"),
                {"orders_last_90d": col("orders_prev_90d"), "order_trend": pl.lit(0.0),
                 "orders_last_180d": 2 * col("orders_prev_90d")},
                {"before": whole("orders_prev_90d"), "after": whole("orders_last_90d"), "days": pl.lit(90)},
                "frequency_drop"),
        _Reason("complaints", col("complaints_last_90d") > 0,
                {"complaints_last_90d": pl.lit(0.0),
                 "complaints_total": col("complaints_total") - col("complaints_last_90d")},
                {"count": whole("complaints_last_90d"), "days": pl.lit(90)}, "complaints"),
        _Reason("low_satisfaction", col("satisfaction_avg_180d") < ref("satisfaction_avg_180d"),
                {"satisfaction_avg_180d": ref("satisfaction_avg_180d")},
                {"score": col("satisfaction_avg_180d").round(1, mode="half_away_from_zero"), "days": pl.lit(180)},
                "low_satisfaction"),
        _Reason("spend_fell", (col("revenue_last_90d") < col("revenue_prev_90d"))
                & (col("orders_last_90d") >= col("orders_prev_90d")),
                {"revenue_last_90d": col("revenue_prev_90d"), "spend_trend": pl.lit(0.0)},
                {"before": money("revenue_prev_90d"), "after": money("revenue_last_90d"), "days": pl.lit(90)}, None),
        _Reason("basket_shrank", col("basket_trend") < 0,
                {"aov_last_180d": col("aov_before_180d"), "basket_trend": pl.lit(0.0)},
                {"before": money("aov_before_180d"), "after": money("aov_last_180d"), "days": pl.lit(180)},
                "basket_shrink"),
        _Reason("contacts_fell", col("contacts_last_90d") < col("contacts_prev_90d"),
                {"contacts_last_90d": col("contacts_prev_90d"), "contact_trend": pl.lit(0.0)},
                {"before": whole("contacts_prev_90d"), "after": whole("contacts_last_90d"), "days": pl.lit(90)},
                "fewer_contacts"),
        _Reason("campaigns_ignored", (col("campaigns_ignored_180d") > 0) & (col("campaign_responses_180d") == 0),
                {"campaigns_ignored_180d": pl.lit(0.0)},
                {"count": whole("campaigns_ignored_180d"), "days": pl.lit(180)}, "campaigns_ignored"),
        _Reason("no_contact", col("days_since_contact") > ref("days_since_contact"),
                {"days_since_contact": ref("days_since_contact")}, {"days": whole("days_since_contact")}, None),
        _Reason("refunds", col("refund_count") > 0, {"refund_count": pl.lit(0.0), "refund_share": pl.lit(0.0)},
                {"count": whole("refund_count")}, None),
        # one-order customers already overdue get "inactive", which says the same and more
        _Reason("few_orders",
                (col("frequency") < ref("frequency")) & ~((col("frequency") < 2) & (col("overdue_ratio") > 1)),
                {"frequency": ref("frequency")},
                {"orders": whole("frequency")}, None),
        _Reason("narrow_range", col("categories") < ref("categories"), {"categories": ref("categories")},
                {"count": whole("categories")}, None),
    )


def _reason_json(reason: _Reason) -> pl.Expr:
    return pl.concat_str(pl.lit(f'{{"key":"churn.reason.{reason.key}","params":'),
                         pl.struct([value.alias(name) for name, value in reason.params.items()]).struct.json_encode(),
                         pl.lit("}"))


def explain(
    feature_frame: pl.DataFrame,
    model: ChurnModel | None = None,
    probability: np.ndarray | None = None,
    flag_frame: pl.DataFrame | None = None,
    max_reasons: int = 3,
    min_contribution: float = 0.01,
) -> pl.DataFrame:
    """``customer_id, main_reason, reasons``: up to ``max_reasons`` reasons per customer, riskiest first.

    ``reasons`` is a JSON string, a list of ``{"key": "churn.reason.<name>", "params": {...}}``; the
    params are the customer's own feature values (counts as integers, money rounded to 2 decimals,
    satisfaction to 1). ``main_reason`` is the first key (null when there is none).

    With a ``model``, a reason is kept when its signal is on the risky side *and* neutralising it
    (setting, e.g., the last 90 days' purchases back to the previous 90 days' count) lowers this
    customer's predicted probability by at least ``min_contribution``; reasons are ranked by that
    drop — a local counterfactual attribution of the model, not of the world. Without a model
    (rules mode), reasons are the fired :func:`flags`, in the fixed order of the definitions.
    """
    reference = model.reference if model is not None else {}
    definitions = [reason for reason in _reasons(reference)
                   if model is None or any(name in model.feature_names for name in reason.counterfactual)]
    indexed = feature_frame.with_row_index("row")
    parts = []
    if model is not None:
        base = probability if probability is not None else model.predict_proba(feature_frame)
        variants = [
            indexed.filter(reason.valid.fill_null(False)).with_columns(
                **{name: expr.cast(pl.Float64) for name, expr in reason.counterfactual.items()},
                reason_json=_reason_json(reason), rank=pl.lit(order))
            for order, reason in enumerate(definitions)
        ]
        variants = [variant for variant in variants if variant.height]
        if variants:
            stacked = pl.concat(variants, how="vertical")
            drop = base[stacked["row"].to_numpy()] - model.predict_proba(stacked)
            parts.append(stacked.select("customer_id", "reason_json", "rank").with_columns(
                pl.Series("contribution", drop)).filter(pl.col("contribution") >= min_contribution))
    else:
        fired = flag_frame if flag_frame is not None else flags(feature_frame)
        indexed = indexed.join(fired, on="customer_id", how="left")
        for order, reason in enumerate(definitions):
            if reason.flag is None:
                continue
            chosen = indexed.filter(pl.col(f"flag_{reason.flag}").fill_null(False) & reason.valid.fill_null(False))
            parts.append(chosen.select("customer_id", reason_json=_reason_json(reason), rank=pl.lit(order),
                                       contribution=pl.lit(None, dtype=pl.Float64)))
    out = feature_frame.select("customer_id")
    if not parts:
        return out.with_columns(main_reason=pl.lit(None, dtype=pl.String), reasons=pl.lit("[]"))
    ranked = (
        pl.concat(parts, how="vertical_relaxed")
        .sort(["customer_id", "contribution", "rank"], descending=[False, True, False], nulls_last=True)
        .group_by("customer_id", maintain_order=True).head(max_reasons)
        .group_by("customer_id", maintain_order=True)
        .agg(pl.col("reason_json").str.join(",").alias("joined"),
             pl.col("reason_json").first().str.extract(r'"key":"([^"]+)"').alias("main_reason"))
    )
    return out.join(ranked, on="customer_id", how="left").select(
        "customer_id", "main_reason",
        pl.concat_str(pl.lit("["), pl.col("joined").fill_null(""), pl.lit("]")).alias("reasons"))


# ---------------------------------------------------------------- actions

ACTIONS: dict[str, str] = {
    "overdue": "reminder",
    "inactive": "second_order",
    "orders_fell": "personal_call",
    "spend_fell": "targeted_offer",
    "basket_shrank": "bundle_offer",
    "complaints": "service_recovery",
    "low_satisfaction": "service_recovery",
    "contacts_fell": "account_review",
    "no_contact": "account_review",
    "campaigns_ignored": "change_channel",
    "refunds": "quality_follow_up",
    "few_orders": "second_order",
    "narrow_range": "cross_sell",
}
DEFAULT_ACTION = "keep_warm"


def win_back_action(row: Mapping[str, Any] | str | None) -> str:
    """The suggested action key (``churn.action.<name>``) for a customer's main reason.

    ``row`` is a scored row (uses ``main_reason``) or a reason key; the mapping is :data:`ACTIONS`
    (e.g. complaints → service recovery, overdue → replenishment reminder), ``keep_warm`` otherwise.
    """
    key = row.get("main_reason") if isinstance(row, Mapping) else row
    name = key.rsplit(".", 1)[-1] if key else ""
    return f"churn.action.{ACTIONS.get(name, DEFAULT_ACTION)}"


def _action_expr() -> pl.Expr:
    name = pl.col("main_reason").str.extract(r"([^.]+)$")
    return pl.concat_str(pl.lit("churn.action."),
                         name.replace_strict(ACTIONS, default=DEFAULT_ACTION, return_dtype=pl.String))


# ---------------------------------------------------------------- value

def expected_values(
    dataset: Dataset,
    as_of: DateLike,
    expected_value: pl.DataFrame | None = None,
    trailing_days: int = 365,
) -> pl.DataFrame:
    """``customer_id, expected_value, value_source`` for customers with an order before ``as_of``.

    In order of preference: ``expected_value`` given as ``customer_id`` plus one numeric column
    (source ``"given"``); CLV from :func:`crm_core.clv.predict` (``predicted_value_365_days``, source
    ``"clv"``) when that module is importable; else net revenue of the ``trailing_days`` before
    ``as_of`` (source ``"trailing_revenue"``). Missing values are 0. Without amounts and without a
    given value, every value is null (source ``"no_amounts"``), so value at risk is null too.
    Customers are those with a purchase before ``as_of`` (:func:`crm_core.features.customer_base`).
    """
    as_of_dt = to_datetime(as_of)
    base = orders(dataset.transactions, as_of_dt).filter(~pl.col("is_refund")).select("customer_id").unique()
    source, values = None, None
    if expected_value is None and not has_amounts(with_amount(dataset.transactions)):
        return base.with_columns(pl.lit(None, dtype=pl.Float64).alias("expected_value"),
                                 pl.lit("no_amounts").alias("value_source")).sort("customer_id")
    if expected_value is not None:
        numeric = [name for name, dtype in expected_value.schema.items()
                   if name != "customer_id" and dtype.is_numeric()]
        if not numeric:
            raise ValueError("expected_value needs customer_id and one numeric column")
        source, values = "given", expected_value.select("customer_id", pl.col(numeric[0]).alias("expected_value"))
    else:
        clv_predict: Callable[..., CLVResult] | None
        try:
            from crm_core.clv import predict as clv_predict
        except ImportError:
            clv_predict = None
        if clv_predict is not None and base.height:
            predicted = clv_predict(dataset.transactions, as_of_dt, horizon_days=365).table
            source, values = "clv", predicted.select("customer_id",
                                                     pl.col("predicted_value_365_days").alias("expected_value"))
    if values is None:
        window = dataset.transactions.filter((pl.col("order_date") >= as_of_dt - timedelta(days=trailing_days))
                                             & (pl.col("order_date") < as_of_dt))
        source = "trailing_revenue"
        values = window.group_by("customer_id").agg(pl.col("amount").sum().alias("expected_value"))
    return base.join(values, on="customer_id", how="left").with_columns(
        pl.col("expected_value").cast(pl.Float64).fill_null(0.0).fill_nan(0.0),
        pl.lit(source).alias("value_source")).sort("customer_id")


# ---------------------------------------------------------------- score

def risk_tiers(risk: pl.Expr, thresholds: tuple[float, float] = (0.33, 0.66)) -> pl.Expr:
    """``"high"`` when risk ≥ thresholds[1], ``"medium"`` when ≥ thresholds[0], else ``"low"``."""
    low, high = thresholds
    return (pl.when(risk.is_null()).then(None).when(risk >= high).then(pl.lit("high"))
            .when(risk >= low).then(pl.lit("medium")).otherwise(pl.lit("low")))


def score(
    dataset: Dataset,
    as_of: DateLike,
    *,
    model: ChurnModel | None,
    expected_value: pl.DataFrame | None = None,
    risk_thresholds: tuple[float, float] = (0.33, 0.66),
    tier_by: str = "probability",
    rule_high_flags: int = 2,
    max_reasons: int = 3,
    min_contribution: float = 0.01,
    flag_options: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """Churn risk per customer with a purchase before ``as_of``, with reasons, flags and value at risk.

    Customers are the customer base of :func:`crm_core.features.customer_base`.

    ``model`` is required: a :class:`ChurnModel` trained up to ``as_of`` (:func:`train`), or None for
    *rules mode* (what :func:`train_when_sufficient` returns when :func:`sufficiency` fails):
    ``churn_probability`` and ``value_at_risk`` are null and the tier comes from the early-warning flags
    (``high`` with ≥ ``rule_high_flags`` flags, ``medium`` with one, else ``low``). ``risk_source`` says
    which ("model" / "rules"). The features are computed with the model's :class:`ChurnSettings`.

    Columns: ``customer_id, churn_probability, risk_tier, risk_source, main_reason, reasons`` (JSON list
    of ``{"key", "params"}``, see :func:`explain`), ``action`` (``churn.action.<name>``, from
    :func:`win_back_action`), ``expected_value, value_source, value_at_risk`` (= probability ×
    expected value, see :func:`expected_values`), the ``flag_*`` columns and ``flag_count`` of
    :func:`flags`, and ``recency_days, frequency, monetary, overdue_ratio`` for display. Sorted by
    value at risk (then risk tier), highest first.

    ``risk_tier`` uses Klaviyo's bands on the probability (low < 0.33 ≤ medium < 0.66 ≤ high) by
    default; ``tier_by="rank"`` applies ``risk_thresholds`` to the customer's risk percentile instead
    (e.g. the top third is high).
    """
    if tier_by not in ("probability", "rank"):
        raise ValueError(f"tier_by must be 'probability' or 'rank', not {tier_by!r}")
    as_of_dt = to_datetime(as_of)
    frame = features(dataset, as_of_dt, **(model.settings.feature_options() if model is not None else {}))
    flag_frame = flags(frame, **(flag_options or {}))
    if model is not None:
        probability = model.predict_proba(frame)
        risk = pl.Series("churn_probability", probability, dtype=pl.Float64)
        reasons = explain(frame, model, probability, max_reasons=max_reasons, min_contribution=min_contribution)
        tier_value = (pl.col("churn_probability").rank("average") / pl.len() if tier_by == "rank"
                      else pl.col("churn_probability"))
        tier = risk_tiers(tier_value, risk_thresholds)
        source = "model"
    else:
        risk = pl.Series("churn_probability", [None] * frame.height, dtype=pl.Float64)
        reasons = explain(frame, None, flag_frame=flag_frame, max_reasons=max_reasons)
        tier = (pl.when(pl.col("flag_count") >= rule_high_flags).then(pl.lit("high"))
                .when(pl.col("flag_count") >= 1).then(pl.lit("medium")).otherwise(pl.lit("low")))
        source = "rules"
    values = expected_values(dataset, as_of_dt, expected_value)
    tier_order = pl.col("risk_tier").replace_strict({"high": 0, "medium": 1, "low": 2}, default=3, return_dtype=pl.Int8)
    return (
        frame.select("customer_id", "recency_days", "frequency", "monetary", "overdue_ratio")
        .with_columns(risk)
        .join(flag_frame, on="customer_id", how="left")
        .join(reasons, on="customer_id", how="left")
        .join(values, on="customer_id", how="left")
        .with_columns(tier.alias("risk_tier"), pl.lit(source).alias("risk_source"), _action_expr().alias("action"),
                      (pl.col("churn_probability") * pl.col("expected_value")).alias("value_at_risk"))
        .sort([pl.col("value_at_risk"), tier_order, pl.col("expected_value"), pl.col("customer_id")],
              descending=[True, False, True, False], nulls_last=True)
        .select("customer_id", "churn_probability", "risk_tier", "risk_source", "main_reason", "reasons", "action",
                "expected_value", "value_source", "value_at_risk", *[f"flag_{n}" for n in FLAGS], "flag_count",
                "recency_days", "frequency", "monetary", "overdue_ratio")
    )


# ---------------------------------------------------------------- capacity

def capacity_curve(scored: pl.DataFrame, capacity: int | None = None, save_rate: float = 0.2) -> pl.DataFrame:
    """Expected revenue saved when contacting the ``N`` customers with the highest value at risk, N = 0..all.

    Columns: ``contacted`` (N), ``value_at_risk`` (sum over the top N), ``share_of_value_at_risk``,
    ``expected_revenue_saved`` = that sum × ``save_rate`` (an assumption the page shows and lets the user
    change; 0.2 = one in five contacted churners kept), ``marginal_value_at_risk`` (the N-th customer's)
    and ``within_capacity`` (N ≤ ``capacity``). In rules mode (no probabilities) customers are ordered
    by risk tier and expected value and the value columns are null.
    """
    tier_order = pl.col("risk_tier").replace_strict({"high": 0, "medium": 1, "low": 2}, default=3, return_dtype=pl.Int8)
    ordered = scored.sort([pl.col("value_at_risk"), tier_order, pl.col("expected_value"), pl.col("customer_id")],
                          descending=[True, False, True, False], nulls_last=True)
    has_value = ordered.height > 0 and ordered["value_at_risk"].null_count() < ordered.height
    marginal = (ordered["value_at_risk"].fill_null(0.0) if has_value
                else pl.Series([None] * ordered.height, dtype=pl.Float64))
    cumulative = pl.concat([pl.Series([0.0 if has_value else None], dtype=pl.Float64), marginal.cum_sum()])
    total = float(marginal.sum()) if has_value else None
    limit = ordered.height if capacity is None else capacity
    return pl.DataFrame({
        "contacted": np.arange(ordered.height + 1, dtype=np.int64),
        "value_at_risk": cumulative,
        "marginal_value_at_risk": pl.concat([pl.Series([None], dtype=pl.Float64), marginal]),
    }).with_columns(
        (pl.col("value_at_risk") / total if total else pl.lit(None, dtype=pl.Float64)).alias("share_of_value_at_risk"),
        (pl.col("value_at_risk") * save_rate).alias("expected_revenue_saved"),
        (pl.col("contacted") <= limit).alias("within_capacity"),
    ).select("contacted", "value_at_risk", "share_of_value_at_risk", "expected_revenue_saved",
             "marginal_value_at_risk", "within_capacity")


def win_back_list(scored: pl.DataFrame, capacity: int) -> pl.DataFrame:
    """The ``capacity`` customers to contact first: highest value at risk (rules mode: tier, then value)."""
    tier_order = pl.col("risk_tier").replace_strict({"high": 0, "medium": 1, "low": 2}, default=3, return_dtype=pl.Int8)
    return scored.sort([pl.col("value_at_risk"), tier_order, pl.col("expected_value"), pl.col("customer_id")],
                       descending=[True, False, True, False], nulls_last=True).head(max(capacity, 0))
