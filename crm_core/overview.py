"""Headline figures for one period and the period before it (the Overview page).

Definitions (each KPI card's help text says the same):
- customers: everyone with an order on or before the period's last day (the existing base, 存量);
- active customers: customers with an order in the period;
- revenue, orders, average order value: net of refunds, orders as in ``features.order_key``;
- repeat-purchase rate: share of the period's buyers with two or more orders in the period;
- existing-customer revenue share: revenue in the period from customers whose first-ever order came
  before the period (the rest is new-customer revenue);
- lapsed customers: bought in the previous period of equal length, not in this one.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from crm_core.features import with_order_key

KPI_NAMES = ("customers", "active_customers", "revenue", "orders", "avg_order_value",
             "repeat_rate", "existing_revenue_share", "lapsed_customers")


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The window of equal length that ends the day before ``start``."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def _in_window(frame: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    return frame.filter((pl.col("order_date") >= _day_start(start)) & (pl.col("order_date") < _day_start(end) + timedelta(days=1)))


def period_kpis(transactions: pl.DataFrame, start: date, end: date) -> dict[str, float | None]:
    """The KPIs of the window ``[start, end]`` (whole days). ``transactions`` must hold the full history."""
    lines = with_order_key(transactions)
    first_orders = lines.group_by("customer_id").agg(pl.col("order_date").min().alias("first_order"))
    window = _in_window(lines, start, end)
    base = first_orders.filter(pl.col("first_order") < _day_start(end) + timedelta(days=1)).height
    if window.height == 0:
        return {"customers": float(base), "active_customers": 0.0, "revenue": 0.0, "orders": 0.0,
                "avg_order_value": None, "repeat_rate": None, "existing_revenue_share": None,
                "lapsed_customers": float(_lapsed(lines, start, end))}
    per_customer = (
        window.group_by("customer_id")
        .agg(pl.col("order_key").n_unique().alias("orders"), pl.col("amount").sum().alias("revenue"))
        .join(first_orders, on="customer_id")
    )
    revenue = float(per_customer["revenue"].sum())
    orders = int(per_customer["orders"].sum())
    existing = float(per_customer.filter(pl.col("first_order") < _day_start(start))["revenue"].sum())
    return {
        "customers": float(base),
        "active_customers": float(per_customer.height),
        "revenue": revenue,
        "orders": float(orders),
        "avg_order_value": revenue / orders if orders else None,
        "repeat_rate": float((per_customer["orders"] >= 2).mean()),
        "existing_revenue_share": existing / revenue if revenue else None,
        "lapsed_customers": float(_lapsed(lines, start, end)),
    }


def _lapsed(lines: pl.DataFrame, start: date, end: date) -> int:
    before_start, before_end = previous_period(start, end)
    earlier = _in_window(lines, before_start, before_end).select("customer_id").unique()
    now = _in_window(lines, start, end).select("customer_id").unique()
    return earlier.join(now, on="customer_id", how="anti").height


def kpi_comparison(transactions: pl.DataFrame, start: date, end: date) -> dict[str, tuple[float | None, float | None]]:
    """``{kpi: (this period, previous period of equal length)}``."""
    current = period_kpis(transactions, start, end)
    previous = period_kpis(transactions, *previous_period(start, end))
    return {name: (current[name], previous[name]) for name in KPI_NAMES}


def monthly_new_vs_existing(transactions: pl.DataFrame, start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """Revenue per calendar month split into new customers (first order that month) and existing ones.

    Columns: ``month`` (date, first of month), ``new_revenue``, ``existing_revenue``, ``new_customers``,
    ``existing_customers``.
    """
    lines = transactions.with_columns(pl.col("order_date").dt.truncate("1mo").dt.date().alias("month"))
    first_month = lines.group_by("customer_id").agg(pl.col("month").min().alias("first_month"))
    lines = lines.join(first_month, on="customer_id").with_columns((pl.col("month") == pl.col("first_month")).alias("is_new"))
    if start is not None:
        lines = lines.filter(pl.col("order_date") >= _day_start(start))
    if end is not None:
        lines = lines.filter(pl.col("order_date") < _day_start(end) + timedelta(days=1))
    return (
        lines.group_by("month")
        .agg(
            pl.col("amount").filter(pl.col("is_new")).sum().alias("new_revenue"),
            pl.col("amount").filter(~pl.col("is_new")).sum().alias("existing_revenue"),
            pl.col("customer_id").filter(pl.col("is_new")).n_unique().alias("new_customers"),
            pl.col("customer_id").filter(~pl.col("is_new")).n_unique().alias("existing_customers"),
        )
        .sort("month")
    )


def revenue_by(transactions: pl.DataFrame, column: str, start: date | None = None, end: date | None = None,
               customers: pl.DataFrame | None = None, top: int = 15) -> pl.DataFrame:
    """Revenue and customers per value of ``column`` (from the lines, else the customer table).

    Returns ``value, revenue, customers`` sorted by revenue, the tail beyond ``top`` folded into
    ``value = None`` (shown as "other"). Empty when neither table has the column.
    """
    lines = transactions
    if start is not None and end is not None:
        lines = _in_window(lines, start, end)
    if column not in lines.columns:
        if customers is None or column not in customers.columns:
            return pl.DataFrame(schema={"value": pl.String, "revenue": pl.Float64, "customers": pl.UInt32})
        lines = lines.join(customers.select("customer_id", column), on="customer_id", how="left")
    grouped = (
        lines.group_by(pl.col(column).cast(pl.String).alias("value"))
        .agg(pl.col("amount").sum().alias("revenue"), pl.col("customer_id").n_unique().alias("customers"))
        .sort("revenue", "value", descending=[True, False])
    )
    if grouped.height <= top:
        return grouped
    head, tail = grouped.head(top), grouped.slice(top)
    other = pl.DataFrame({"value": [None], "revenue": [tail["revenue"].sum()], "customers": [tail["customers"].sum()]},
                         schema=grouped.schema)
    return pl.concat([head, other])
