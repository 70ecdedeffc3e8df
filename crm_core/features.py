"""Per-customer features as of one analysis date (DESIGN.md, "One analysis date").

Everything here counts only what happened strictly before ``as_of``, so moving the date back shows what
the dashboard would have said then, and the churn backtest and CLV holdout cannot leak the future.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

DateLike = date | datetime


def to_datetime(value: DateLike) -> datetime:
    """A ``date`` becomes midnight of that day; a ``datetime`` is kept (naive)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def default_as_of(transactions: pl.DataFrame) -> datetime:
    """The day after the last order in the data (midnight), so the last day's orders count."""
    last = transactions["order_date"].max()
    if last is None:
        raise ValueError("no orders with a date")
    return datetime(last.year, last.month, last.day) + timedelta(days=1)


def order_key() -> pl.Expr:
    """One order: its ``order_id`` where present, else one customer on one calendar day (DESIGN.md)."""
    day_key = pl.col("customer_id") + pl.lit("@") + pl.col("order_date").dt.date().cast(pl.String)
    return pl.coalesce(pl.col("order_id"), day_key)


def with_order_key(transactions: pl.DataFrame) -> pl.DataFrame:
    """``transactions`` plus an ``order_key`` column (adds a null ``order_id`` when the table has none)."""
    if "order_id" in transactions.columns and transactions["order_id"].null_count() == 0:
        return transactions.with_columns(pl.col("order_id").alias("order_key"))  # no per-line day keys to build
    frame = transactions if "order_id" in transactions.columns else transactions.with_columns(
        pl.lit(None, dtype=pl.String).alias("order_id"))
    return frame.with_columns(order_key().alias("order_key"))


def before(transactions: pl.DataFrame, as_of: DateLike | None) -> pl.DataFrame:
    """Lines strictly before ``as_of`` (all lines when ``as_of`` is None)."""
    if as_of is None:
        return transactions
    return transactions.filter(pl.col("order_date") < to_datetime(as_of))


def orders(transactions: pl.DataFrame, as_of: DateLike | None = None) -> pl.DataFrame:
    """One row per order: ``customer_id, order_key, order_date`` (earliest line), ``amount`` (net sum).

    Returns are lines with a negative amount and net against their order.
    """
    return (
        with_order_key(before(transactions, as_of))
        .group_by("customer_id", "order_key")
        .agg(pl.col("order_date").min(), pl.col("amount").sum())
        .sort("customer_id", "order_date", "order_key")
    )


def customer_summary(transactions: pl.DataFrame, as_of: DateLike | None = None) -> pl.DataFrame:
    """One row per customer with an order before ``as_of``.

    Columns: ``customer_id, first_order, last_order, orders`` (distinct orders), ``revenue`` (net of
    refunds), ``gross_revenue``, ``refunds`` (positive sum of negative lines), ``avg_order_value``
    (revenue / orders), ``recency_days`` (whole days from the last order to ``as_of``), ``tenure_days``
    (whole days from the first order to ``as_of``), ``avg_days_between_orders`` (null with one order),
    ``categories`` (distinct categories bought, when the data has them).

    ``as_of`` defaults to :func:`default_as_of`; only orders strictly before it count. The RFM inputs
    follow the usual definition (recency, frequency = distinct orders, monetary = net revenue).
    """
    as_of_dt = to_datetime(as_of) if as_of is not None else default_as_of(transactions)
    lines = with_order_key(before(transactions, as_of_dt))
    aggregations = [
        pl.col("order_date").min().alias("first_order"),
        pl.col("order_date").max().alias("last_order"),
        pl.col("order_key").n_unique().cast(pl.Int64).alias("orders"),
        pl.col("amount").sum().alias("revenue"),
        pl.col("amount").clip(lower_bound=0).sum().alias("gross_revenue"),
        (-pl.col("amount").clip(upper_bound=0)).sum().alias("refunds"),
    ]
    if "category" in lines.columns:
        aggregations.append(pl.col("category").drop_nulls().n_unique().cast(pl.Int64).alias("categories"))
    span_days = (pl.col("last_order") - pl.col("first_order")).dt.total_seconds() / 86400.0
    return (
        lines.lazy().group_by("customer_id").agg(aggregations)
        .with_columns(
            (pl.col("revenue") / pl.col("orders")).alias("avg_order_value"),
            (pl.lit(as_of_dt) - pl.col("last_order")).dt.total_days().alias("recency_days"),
            (pl.lit(as_of_dt) - pl.col("first_order")).dt.total_days().alias("tenure_days"),
            pl.when(pl.col("orders") > 1).then(span_days / (pl.col("orders") - 1)).alias("avg_days_between_orders"),
        )
        .sort("customer_id")
        .collect()
    )
