"""Scoring: win-back actions, expected value, risk tiers, the scored table and the capacity curve."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from crm_core.churn.inputs import features
from crm_core.churn.model import ChurnModel
from crm_core.churn.reasons import FLAGS, explain, flags
from crm_core.dataset import Dataset
from crm_core.features import DateLike, has_amounts, orders, to_datetime, with_amount

if TYPE_CHECKING:
    from crm_core.clv import CLVResult

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
