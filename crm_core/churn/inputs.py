"""Churn inputs: the interaction vocabularies, the feature names, the features as of a date and the labels."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import cast

import polars as pl

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
