"""Lifecycle stages, stage transitions and cohort retention (DESIGN.md, "Lifecycle").

Non-contractual lifecycle: nobody tells us they left, so stages are read from purchase timing. The stage
names follow the common vendor taxonomies (research/mission_anchors.md §5.7): Shopify's *prospects*
(a customer record with no order), Optimove's *New / Active / Churn / Back from Churn* and Amplitude's
*New / Current / Resurrected / Dormant*, with *at risk* meaning overdue against the customer's own rhythm.

Stage keys and rules, evaluated **in this order; the first that holds wins**, so every customer gets
exactly one stage (d = days since the last purchase day, as of the analysis date):

1. ``prospect``    — in the customer table (signed up before ``as_of`` when ``signup_date`` is known), no
                     purchase before ``as_of``.
2. ``churned``     — d ≥ ``churned_days``.
3. ``dormant``     — d ≥ ``dormant_days``.
4. ``new``         — first purchase less than ``new_days`` ago.
5. ``reactivated`` — the gap before the last purchase was ≥ ``dormant_days`` (they had gone dormant) and
                     d < ``reactivated_days``.
6. ``at_risk``     — d > ``at_risk_factor`` × typical gap, where the typical gap is the customer's own
                     median gap between purchase days (≥ 2 purchase days) or, for one-purchase customers,
                     the population's ``typical_gap_days``.
7. ``active``      — everyone else: buying within their rhythm.

Default windows come from the data's inter-purchase gaps (:func:`stage_windows`), and every window is a
parameter. Purchases are calendar days on which a purchase starts (:func:`crm_core.clv.purchase_days`;
refund documents are not purchases, :mod:`crm_core.features`), counted strictly before ``as_of``. The
customers staged are the customer base of :func:`crm_core.features.customer_base` (at least one purchase)
plus prospects; customers whose lines before ``as_of`` are all refunds get no stage (not even
``prospect``: they have dealt with the business) and are counted by ``customer_base``. Without amounts
everything works; the ``revenue`` columns of transitions and cohorts are null.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import cast

import polars as pl

from crm_core.clv import last_included_day, purchase_days, purchase_history, with_gaps
from crm_core.features import DateLike, before, default_as_of, has_amounts, money_sum, to_datetime, with_amount

STAGES = ("prospect", "new", "active", "at_risk", "dormant", "churned", "reactivated")
# stage_from of customers who did not exist yet (no order, not in the customer table) at the start date
NOT_YET = "none"
WINDOW_KEYS = ("typical_gap_days", "new_days", "dormant_days", "churned_days", "reactivated_days")
PERIODS = {"week": "1w", "month": "1mo", "quarter": "1q"}


def stage_windows(transactions: pl.DataFrame, as_of: DateLike | None = None, *, dormant_quantile: float = 0.9,
                  churn_multiple: float = 2.0, new_days_bounds: tuple[float, float] = (30.0, 90.0),
                  fallback_gap_days: float = 30.0, fallback_dormant_days: float = 90.0) -> dict[str, float]:
    """Default stage windows, in whole days, derived from inter-purchase gaps before ``as_of``.

    * ``typical_gap_days``: the median over repeat customers of each one's median gap between purchase
      days (a typical customer's rhythm; pooled gaps would be dominated by heavy buyers), rounded up.
      ``fallback_gap_days`` when nobody has bought twice.
    * ``dormant_days``: the ``dormant_quantile`` (0.9) quantile of all gaps pooled, rounded up: 90 % of
      returns happen within it, so a longer silence is unusual. ``fallback_dormant_days`` without gaps.
    * ``churned_days``: ``churn_multiple`` (2) × ``dormant_days``.
    * ``new_days``: ``typical_gap_days`` clipped to ``new_days_bounds`` (30–90 days): a customer is new
      until a typical repeat would have happened.
    * ``reactivated_days``: equal to ``new_days`` (how long a come-back counts as recent).
    """
    as_of_dt = to_datetime(as_of) if as_of is not None else default_as_of(transactions)
    return _windows_from_days(purchase_days(transactions, as_of_dt), dormant_quantile, churn_multiple,
                              new_days_bounds, fallback_gap_days, fallback_dormant_days)


def _windows_from_days(days: pl.DataFrame, dormant_quantile: float = 0.9, churn_multiple: float = 2.0,
                       new_days_bounds: tuple[float, float] = (30.0, 90.0), fallback_gap_days: float = 30.0,
                       fallback_dormant_days: float = 90.0) -> dict[str, float]:
    gapped = with_gaps(days)
    gaps = gapped["gap_days"].drop_nulls()
    own_medians = gapped.group_by("customer_id").agg(pl.col("gap_days").median())["gap_days"].drop_nulls()
    if len(gaps):
        typical = float(cast(float, own_medians.median()))  # a customer with a gap has a median gap
        dormant = float(math.ceil(cast(float, gaps.quantile(dormant_quantile, interpolation="linear"))))
    else:
        typical, dormant = fallback_gap_days, fallback_dormant_days
    typical = float(max(1, math.ceil(typical)))
    dormant = max(1.0, dormant)
    new = float(min(max(typical, new_days_bounds[0]), new_days_bounds[1]))
    return {"typical_gap_days": typical, "new_days": new, "dormant_days": dormant,
            "churned_days": float(math.ceil(churn_multiple * dormant)), "reactivated_days": new}


def _resolve_windows(days: pl.DataFrame, given: dict[str, float | None]) -> dict[str, float]:
    """Explicit windows win; the missing ones come from the data (``reactivated_days`` follows an
    explicit ``new_days``)."""
    windows = {k: v for k, v in given.items() if v is not None}
    if any(k not in windows for k in WINDOW_KEYS):
        derived = _windows_from_days(days)
        if "reactivated_days" not in windows and "new_days" in windows:
            windows["reactivated_days"] = windows["new_days"]
        for key in WINDOW_KEYS:
            if key not in windows:
                windows[key] = derived[key]
    return {k: float(windows[k]) for k in WINDOW_KEYS}


def _prospect_ids(customers: pl.DataFrame | None, as_of: datetime, transactions: pl.DataFrame) -> pl.DataFrame:
    """Customer-table ids (signed up before ``as_of`` when known) without any line before ``as_of``."""
    if customers is None:
        return pl.DataFrame({"customer_id": []}, schema={"customer_id": pl.String})
    known = customers
    if "signup_date" in customers.columns:
        known = customers.filter(pl.col("signup_date").is_null() | (pl.col("signup_date") < as_of))
    dealt_with = before(transactions, as_of).select(pl.col("customer_id").cast(pl.String)).unique()
    return known.select(pl.col("customer_id").cast(pl.String)).unique().join(dealt_with, on="customer_id", how="anti")


def stages(transactions: pl.DataFrame, as_of: DateLike | None = None, customers: pl.DataFrame | None = None, *,
           new_days: float | None = None, at_risk_factor: float = 1.5, dormant_days: float | None = None,
           churned_days: float | None = None, reactivated_days: float | None = None,
           typical_gap_days: float | None = None) -> pl.DataFrame:
    """One lifecycle stage per customer as of ``as_of`` (rules and precedence: module docstring).

    Windows left as None come from :func:`stage_windows` (default derivation) on the same data and
    date; pass the dict it returns (``**stage_windows(..., dormant_quantile=0.8)``) to fix or tune them.
    Returns, sorted by ``customer_id``: ``customer_id, stage, purchase_days, first_order_date,
    last_order_date, days_since_first_order, days_since_last_order, last_gap_days`` (gap before the last
    purchase), ``typical_gap_days``,
    ``gap_basis`` ("own" or "population"), ``overdue_days`` (max(0, days_since_last_order −
    typical_gap_days)). Day counts are whole calendar days to the ``as_of`` date; prospects have nulls.
    """
    as_of_dt = to_datetime(as_of) if as_of is not None else default_as_of(transactions)
    days = purchase_days(transactions, as_of_dt)
    windows = _resolve_windows(days, {
        "typical_gap_days": typical_gap_days, "new_days": new_days, "dormant_days": dormant_days,
        "churned_days": churned_days, "reactivated_days": reactivated_days})
    today = pl.lit(as_of_dt.date())
    history = (
        purchase_history(days)
        .with_columns(
            (today - pl.col("first_order_date")).dt.total_days().alias("days_since_first_order"),
            (today - pl.col("last_order_date")).dt.total_days().alias("days_since_last_order"),
            pl.coalesce(pl.col("median_gap_days").cast(pl.Float64), pl.lit(windows["typical_gap_days"]))
            .alias("typical_gap_days"),
            pl.when(pl.col("median_gap_days").is_not_null()).then(pl.lit("own")).otherwise(pl.lit("population"))
            .alias("gap_basis"),
        )
        .drop("gaps", "median_gap_days")
    )
    prospects = _prospect_ids(customers, as_of_dt, transactions)
    since_last = pl.col("days_since_last_order")
    stage = (
        pl.when(since_last.is_null()).then(pl.lit("prospect"))
        .when(since_last >= windows["churned_days"]).then(pl.lit("churned"))
        .when(since_last >= windows["dormant_days"]).then(pl.lit("dormant"))
        .when(pl.col("days_since_first_order") < windows["new_days"]).then(pl.lit("new"))
        .when((pl.col("last_gap_days") >= windows["dormant_days"]) & (since_last < windows["reactivated_days"]))
        .then(pl.lit("reactivated"))
        .when(since_last > at_risk_factor * pl.col("typical_gap_days")).then(pl.lit("at_risk"))
        .otherwise(pl.lit("active"))
    )
    return (
        pl.concat([history, prospects], how="diagonal")
        .with_columns(
            stage.alias("stage"),
            pl.when(since_last.is_not_null())
            .then(pl.max_horizontal(pl.lit(0.0), since_last - pl.col("typical_gap_days"))).alias("overdue_days"),
        )
        .select("customer_id", "stage", "purchase_days", "first_order_date", "last_order_date",
                "days_since_first_order", "days_since_last_order", "last_gap_days", "typical_gap_days",
                "gap_basis", "overdue_days")
        .sort("customer_id")
    )


def stage_rules(windows: dict[str, float], at_risk_factor: float = 1.5) -> dict[str, dict]:
    """The translatable rule text of every stage: ``{stage: {"key": "lifecycle.rule.<stage>", "params"}}``."""
    params = {k: int(v) if float(v).is_integer() else v for k, v in windows.items()}
    params["at_risk_factor"] = at_risk_factor
    return {stage: {"key": f"lifecycle.rule.{stage}", "params": params} for stage in STAGES}


def transitions(transactions: pl.DataFrame, from_date: DateLike, to_date: DateLike,
                customers: pl.DataFrame | None = None, *, at_risk_factor: float = 1.5,
                new_days: float | None = None, dormant_days: float | None = None, churned_days: float | None = None,
                reactivated_days: float | None = None, typical_gap_days: float | None = None) -> pl.DataFrame:
    """Customers and revenue moving between stages from ``from_date`` to ``to_date``.

    Both snapshots use the same windows (explicit ones, else :func:`stage_windows` as of ``to_date``) so a
    move is a change in behaviour, not in the rule. Customers unknown at ``from_date`` have
    ``stage_from`` = ``"none"``. ``revenue`` is the net amount the group spent in ``[from_date, to_date)``.
    Columns: ``stage_from, stage_to, customers, revenue``, ordered by stage.
    """
    start, end = to_datetime(from_date), to_datetime(to_date)
    if start >= end:
        raise ValueError("from_date must be before to_date")
    windows = _resolve_windows(purchase_days(transactions, end), {
        "typical_gap_days": typical_gap_days, "new_days": new_days, "dormant_days": dormant_days,
        "churned_days": churned_days, "reactivated_days": reactivated_days})

    def snapshot(when: datetime) -> pl.DataFrame:
        return stages(transactions, when, customers, at_risk_factor=at_risk_factor, **windows).select(
            "customer_id", "stage")

    money = has_amounts(with_amount(transactions))
    spent = (before(with_amount(transactions), end).filter(pl.col("order_date") >= start)
             .group_by("customer_id").agg(pl.col("amount").sum().alias("revenue")))
    order = {stage: i for i, stage in enumerate((NOT_YET,) + STAGES)}
    return (
        snapshot(end).rename({"stage": "stage_to"})
        .join(snapshot(start).rename({"stage": "stage_from"}), on="customer_id", how="left")
        .join(spent, on="customer_id", how="left")
        .with_columns(pl.col("stage_from").fill_null(NOT_YET),
                      pl.col("revenue").fill_null(0.0) if money else pl.lit(None, dtype=pl.Float64).alias("revenue"))
        .group_by("stage_from", "stage_to")
        .agg(pl.len().cast(pl.Int64).alias("customers"), money_sum("revenue").alias("revenue"))
        .sort(pl.col("stage_from").replace_strict(order, return_dtype=pl.Int64),
              pl.col("stage_to").replace_strict(order, return_dtype=pl.Int64))
    )


def _period_index(period: str, start: pl.Expr, later: pl.Expr) -> pl.Expr:
    """Whole periods from ``start`` to ``later`` (both period starts)."""
    months = ((later.dt.year() - start.dt.year()) * 12
              + later.dt.month().cast(pl.Int32) - start.dt.month().cast(pl.Int32))
    if period == "month":
        return months
    if period == "quarter":
        return months // 3
    return (later - start).dt.total_days() // 7


def _offset(period: str, index: pl.Expr) -> pl.Expr:
    unit = {"week": "w", "month": "mo", "quarter": "q"}[period]
    return pl.format("{}" + unit, index)


def cohorts(transactions: pl.DataFrame, period: str = "month", as_of: DateLike | None = None) -> pl.DataFrame:
    """Cohort retention by first-purchase period, as a long frame (one row per cohort and period).

    Columns: ``cohort`` (start date of the first-purchase period), ``period_index`` (0, 1, 2, …),
    ``period_start``, ``cohort_size``, ``customers_active`` (cohort members with a purchase in the period),
    ``customer_retention`` (= active / size), ``revenue`` (the cohort's net amount in the period, refunds
    included), ``revenue_retention`` (= revenue / the cohort's period-0 revenue; null when that is ≤ 0),
    ``complete`` (the period ended before ``as_of``). Every period up to the one holding the last day
    before ``as_of`` is listed, with zeros where nobody bought. Weeks start on Monday; ``period`` is
    "week", "month" or "quarter". This is "N-period" (classic, birth-cohort) retention as in Amplitude's
    "Return on" and Mixpanel's birth retention.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {sorted(PERIODS)}")
    as_of_dt = to_datetime(as_of) if as_of is not None else default_as_of(transactions)
    every = PERIODS[period]
    days = purchase_days(transactions, as_of_dt).with_columns(
        pl.col("purchase_date").dt.truncate(every).alias("period_start"))
    first = days.group_by("customer_id").agg(pl.col("period_start").min().alias("cohort"))
    sizes = first.group_by("cohort").agg(pl.len().cast(pl.Int64).alias("cohort_size"))
    active = (days.join(first, on="customer_id").group_by("cohort", "period_start")
              .agg(pl.col("customer_id").n_unique().cast(pl.Int64).alias("customers_active")))
    money = has_amounts(with_amount(transactions))
    revenue = (before(with_amount(transactions), as_of_dt).join(first, on="customer_id")
               .group_by("cohort", pl.col("order_date").dt.date().dt.truncate(every).alias("period_start"))
               .agg(pl.col("amount").sum().alias("revenue")))
    last_period = pl.lit(last_included_day(as_of_dt)).dt.truncate(every)
    grid = (
        sizes.with_columns(
            pl.int_ranges(0, _period_index(period, pl.col("cohort"), last_period) + 1).alias("period_index"))
        .explode("period_index")
        .with_columns(pl.col("period_index").cast(pl.Int64))
        .with_columns(pl.col("cohort").dt.offset_by(_offset(period, pl.col("period_index"))).alias("period_start"))
    )
    next_start = pl.col("period_start").dt.offset_by(_offset(period, pl.lit(1)))
    table = (
        grid.join(active, on=["cohort", "period_start"], how="left")
        .join(revenue, on=["cohort", "period_start"], how="left")
        .with_columns(pl.col("customers_active").fill_null(0),
                      pl.col("revenue").fill_null(0.0) if money else pl.lit(None, dtype=pl.Float64).alias("revenue"))
        .with_columns(
            (pl.col("customers_active") / pl.col("cohort_size")).alias("customer_retention"),
            pl.col("revenue").first().over("cohort", order_by="period_index").alias("_base"),
            (pl.lit(as_of_dt.date()) >= next_start).alias("complete"),
        )
        .with_columns(pl.when(pl.col("_base") > 0).then(pl.col("revenue") / pl.col("_base")).alias("revenue_retention"))
    )
    return table.select("cohort", "period_index", "period_start", "cohort_size", "customers_active",
                        "customer_retention", "revenue", "revenue_retention", "complete").sort("cohort", "period_index")

