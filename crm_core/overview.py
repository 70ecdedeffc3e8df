"""Headline figures for one period and the period before it (the Overview page).

Definitions (each KPI card's help text says the same; orders, purchases and refund documents as defined
in :mod:`crm_core.features`):
- customers: everyone with a purchase on or before the period's last day (the existing base, 存量);
  customers whose lines are all refunds are not customers here (``features.customer_base`` counts them);
- active customers: customers with a purchase in the period (a refund is not a visit);
- revenue: net amount of every line dated in the period, refunds and returns included on their own date
  (null without amounts);
- orders: purchases whose first line falls in the period (a later return on the same order id does not
  add an order to its period); average order value = revenue / orders;
- repeat-purchase rate: share of the period's buyers with two or more purchases in the period;
- existing-customer revenue share: revenue in the period from customers whose first purchase came
  before the period (the rest is new-customer revenue, and refunds of customers without any purchase);
- lapsed customers: bought in the previous period of equal length, not in this one.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import cast

import polars as pl

from crm_core.features import has_amounts, money_sum, orders as order_table, with_amount

KPI_NAMES = ("customers", "active_customers", "revenue", "orders", "avg_order_value",
             "repeat_rate", "existing_revenue_share", "lapsed_customers")


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The window of equal length that ends the day before ``start``."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def _in_window(frame: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    return frame.filter((pl.col("order_date") >= _day_start(start))
                        & (pl.col("order_date") < _day_start(end) + timedelta(days=1)))


def period_kpis(transactions: pl.DataFrame, start: date, end: date) -> dict[str, float | None]:
    """The KPIs of the window ``[start, end]`` (whole days). ``transactions`` must hold the full history."""
    lines = with_amount(transactions)
    money = has_amounts(lines)
    bought = order_table(lines).filter(~pl.col("is_refund"))
    first_purchases = bought.group_by("customer_id").agg(pl.col("order_date").min().alias("first_order"))
    base = first_purchases.filter(pl.col("first_order") < _day_start(end) + timedelta(days=1)).height
    window_orders = _in_window(bought, start, end)
    window_lines = _in_window(lines, start, end)
    lapsed = float(_lapsed(bought, start, end))
    revenue_by_customer = (window_lines.group_by("customer_id").agg(money_sum("amount").alias("revenue"))
                           .join(first_purchases, on="customer_id", how="left"))
    revenue = float(revenue_by_customer["revenue"].sum()) if money else None
    if window_orders.height == 0:
        return {"customers": float(base), "active_customers": 0.0, "revenue": revenue if money else None,
                "orders": 0.0, "avg_order_value": None, "repeat_rate": None, "existing_revenue_share": None,
                "lapsed_customers": lapsed}
    per_customer = window_orders.group_by("customer_id").agg(pl.len().alias("orders"))
    orders = int(per_customer["orders"].sum())
    existing = (float(revenue_by_customer.filter(pl.col("first_order") < _day_start(start))["revenue"].sum())
                if money else None)
    return {
        "customers": float(base),
        "active_customers": float(per_customer.height),
        "revenue": revenue,
        "orders": float(orders),
        "avg_order_value": revenue / orders if revenue is not None and orders else None,
        "repeat_rate": float(cast(float, (per_customer["orders"] >= 2).mean())),
        "existing_revenue_share": existing / revenue if existing is not None and revenue else None,
        "lapsed_customers": lapsed,
    }


def _lapsed(bought: pl.DataFrame, start: date, end: date) -> int:
    """Customers with a purchase in the previous period of equal length and none in this one."""
    before_start, before_end = previous_period(start, end)
    earlier = _in_window(bought, before_start, before_end).select("customer_id").unique()
    now = _in_window(bought, start, end).select("customer_id").unique()
    return earlier.join(now, on="customer_id", how="anti").height


def kpi_comparison(transactions: pl.DataFrame, start: date, end: date) -> dict[str, tuple[float | None, float | None]]:
    """``{kpi: (this period, previous period of equal length)}``."""
    current = period_kpis(transactions, start, end)
    previous = period_kpis(transactions, *previous_period(start, end))
    return {name: (current[name], previous[name]) for name in KPI_NAMES}


def monthly_new_vs_existing(transactions: pl.DataFrame, start: date | None = None,
                            end: date | None = None) -> pl.DataFrame:
    """Revenue per calendar month split into new customers (first purchase that month) and existing ones.

    Columns: ``month`` (date, first of month), ``new_revenue``, ``existing_revenue`` (net line amounts of
    the month; refunds of customers without a purchase count as existing; null without amounts),
    ``new_customers``, ``existing_customers`` (customers with a purchase that month).
    """
    lines = with_amount(transactions)
    money = has_amounts(lines)
    month = pl.col("order_date").dt.truncate("1mo").dt.date().alias("month")
    bought = order_table(lines).filter(~pl.col("is_refund")).with_columns(month)
    first_month = bought.group_by("customer_id").agg(pl.col("month").min().alias("first_month"))

    def window(frame: pl.DataFrame) -> pl.DataFrame:
        frame = frame.join(first_month, on="customer_id", how="left").with_columns(
            (pl.col("month") == pl.col("first_month")).fill_null(False).alias("is_new"))
        if start is not None:
            frame = frame.filter(pl.col("order_date") >= _day_start(start))
        if end is not None:
            frame = frame.filter(pl.col("order_date") < _day_start(end) + timedelta(days=1))
        return frame

    revenue = window(lines.with_columns(month)).group_by("month").agg(
        pl.col("amount").filter(pl.col("is_new")).sum().alias("new_revenue"),
        pl.col("amount").filter(~pl.col("is_new")).sum().alias("existing_revenue"),
    )
    if not money:
        revenue = revenue.with_columns(pl.lit(None, dtype=pl.Float64).alias(c)
                                       for c in ("new_revenue", "existing_revenue"))
    buyers = window(bought).group_by("month").agg(
        pl.col("customer_id").filter(pl.col("is_new")).n_unique().alias("new_customers"),
        pl.col("customer_id").filter(~pl.col("is_new")).n_unique().alias("existing_customers"),
    )
    return (
        revenue.join(buyers, on="month", how="full", coalesce=True)
        .with_columns(pl.col("new_customers", "existing_customers").fill_null(0))
        .select("month", "new_revenue", "existing_revenue", "new_customers", "existing_customers")
        .sort("month")
    )


def revenue_by(transactions: pl.DataFrame, column: str, start: date | None = None, end: date | None = None,
               customers: pl.DataFrame | None = None, top: int = 15) -> pl.DataFrame:
    """Revenue and customers per value of ``column`` (from the lines, else the customer table).

    Returns ``value, revenue, customers`` sorted by revenue, the tail beyond ``top`` folded into
    ``value = None`` (shown as "other"). Empty when neither table has the column. Without amounts
    ``revenue`` is null and the values are sorted by customers.
    """
    lines = with_amount(transactions)
    if start is not None and end is not None:
        lines = _in_window(lines, start, end)
    if column not in lines.columns:
        if customers is None or column not in customers.columns:
            return pl.DataFrame(schema={"value": pl.String, "revenue": pl.Float64, "customers": pl.UInt32})
        lines = lines.join(customers.select("customer_id", column), on="customer_id", how="left")
    grouped = (
        lines.group_by(pl.col(column).cast(pl.String).alias("value"))
        .agg(money_sum("amount").alias("revenue"), pl.col("customer_id").n_unique().alias("customers"))
        .sort("revenue" if has_amounts(lines) else "customers", "value", descending=[True, False], nulls_last=True)
    )
    if grouped.height <= top:
        return grouped
    head, tail = grouped.head(top), grouped.slice(top)
    other = pl.DataFrame({"value": [None], "revenue": [tail["revenue"].sum() if tail["revenue"].count() else None],
                          "customers": [tail["customers"].sum()]},
                         schema=grouped.schema)
    return pl.concat([head, other])
