"""Early-warning flags and the reasons behind each customer's risk."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from crm_core.churn.model import ChurnModel

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
    reference = model.reference_ if model is not None else {}
    definitions = [reason for reason in _reasons(reference)
                   if model is None or any(name in model.feature_names_ for name in reason.counterfactual)]
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
