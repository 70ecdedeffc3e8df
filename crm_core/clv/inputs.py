"""From transactions to the models' inputs: purchase days, their gaps and the repeat-purchase summary."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from crm_core.clv.fitting import _unit_days
from crm_core.features import DateLike, default_as_of, money_sum, orders, to_datetime, with_amount


def purchase_days(transactions: pl.DataFrame, as_of: DateLike | None = None, *,
                  include_refund_days: bool = False) -> pl.DataFrame:
    """One row per customer and purchase day: ``customer_id, purchase_date`` (Date), ``value``.

    Orders and refund documents as :func:`crm_core.features.orders` defines them, from lines strictly
    before ``as_of``. A purchase day is a calendar day on which at least one purchase starts (the order's
    earliest line); ``value`` is the net value of that day's purchases: returns booked on the same order
    id net against their order (and count on its first day), refund documents (credit notes, stand-alone
    refunds) are left out, so the spend models see spend per purchase. Without amounts ``value`` is null.
    With ``include_refund_days`` every day with an order counts and ``value`` sums every order of the day
    (lifetimes counts every row). Sorted by customer and date.
    """
    per_order = orders(with_amount(transactions), as_of)
    if not include_refund_days:
        per_order = per_order.filter(~pl.col("is_refund"))
    return (
        per_order.lazy()
        .group_by("customer_id", pl.col("order_date").dt.date().alias("purchase_date"))
        .agg(money_sum("amount").alias("value"))
        .sort("customer_id", "purchase_date")
        .collect()
    )


def with_gaps(days: pl.DataFrame) -> pl.DataFrame:
    """:func:`purchase_days` plus ``gap_days``: whole days since the customer's previous purchase day
    (null on their first). Vectorised over the customer/date-sorted rows (no per-group window)."""
    same_customer = pl.col("customer_id") == pl.col("customer_id").shift(1)
    gap = (pl.col("purchase_date") - pl.col("purchase_date").shift(1)).dt.total_days()
    return days.with_columns(pl.when(same_customer).then(gap).alias("gap_days"))


def purchase_history(days: pl.DataFrame) -> pl.DataFrame:
    """Per customer from :func:`purchase_days`: ``purchase_days`` (count), ``first_order_date``,
    ``last_order_date``, ``gaps`` (count of gaps), ``last_gap_days`` (days between the last two purchase
    days), ``median_gap_days`` (their own median gap; null with one purchase day)."""
    return with_gaps(days).group_by("customer_id").agg(
        pl.len().cast(pl.Int64).alias("purchase_days"),
        pl.col("purchase_date").min().alias("first_order_date"),
        pl.col("purchase_date").max().alias("last_order_date"),
        pl.col("gap_days").count().cast(pl.Int64).alias("gaps"),
        pl.col("gap_days").last().alias("last_gap_days"),  # rows are date-sorted within each customer
        pl.col("gap_days").median().alias("median_gap_days"),
    )


def last_included_day(as_of: datetime) -> date:
    """The last calendar day with orders strictly before ``as_of`` (lifetimes' inclusive period end)."""
    return (as_of - timedelta(microseconds=1)).date()


def _summary(days: pl.DataFrame, end_day: date, unit_days: float) -> pl.DataFrame:
    span = lambda start, stop: (stop - start).dt.total_days().cast(pl.Float64) / unit_days  # noqa: E731
    return (
        days.group_by("customer_id")
        .agg(
            (pl.len() - 1).cast(pl.Int64).alias("frequency"),
            span(pl.col("purchase_date").min(), pl.col("purchase_date").max()).alias("recency"),
            span(pl.col("purchase_date").min(), pl.lit(end_day)).alias("T"),
            # lifetimes: mean over the repeat purchase days; the first purchase is excluded, 0 without repeats
            pl.when(pl.col("value").count() > 0)  # null without amounts
            .then(pl.col("value").slice(1).mean().fill_null(0.0)).alias("monetary_value"),  # days are date-sorted
        )
        .sort("customer_id")
    )


def rfm_input(transactions: pl.DataFrame, as_of: DateLike | None = None, time_unit: str = "W",
              calibration_end: DateLike | None = None, *, include_refund_days: bool = False) -> pl.DataFrame:
    """Repeat-purchase summary for BG/NBD and Gamma–Gamma, one row per customer.

    Columns ``customer_id, frequency, recency, T, monetary_value`` with times in ``time_unit`` ("W" =
    days / 7, "D" = days), exactly as lifetimes' ``summary_data_from_transaction_data(freq="D",
    freq_multiplier=7 or 1)`` with ``observation_period_end`` = the last day before ``as_of`` (this project's
    ``as_of`` is exclusive, lifetimes' end inclusive). Purchases are bucketed to calendar days first and
    their values summed (:func:`purchase_days`); frequency = purchase days − 1; recency = last − first
    purchase day; T = last included day − first purchase day; monetary_value = mean value of the repeat
    purchase days (0 without repeats).

    With ``calibration_end`` the summary is computed as of ``calibration_end`` and the holdout
    ``[calibration_end, as_of)`` adds ``frequency_holdout`` (purchase days), ``monetary_value_holdout``
    and ``duration_holdout`` (lifetimes' ``calibration_and_holdout_data``); only customers whose first
    purchase precedes ``calibration_end`` appear.
    """
    unit_days = _unit_days(time_unit)
    as_of_dt = to_datetime(as_of) if as_of is not None else default_as_of(transactions)
    if calibration_end is None:
        days = purchase_days(transactions, as_of_dt, include_refund_days=include_refund_days)
        return _summary(days, last_included_day(as_of_dt), unit_days)
    cal_dt = to_datetime(calibration_end)
    if cal_dt >= as_of_dt:
        raise ValueError("calibration_end must be before as_of")
    calibration = _summary(purchase_days(transactions, cal_dt, include_refund_days=include_refund_days),
                           last_included_day(cal_dt), unit_days)
    holdout_days = purchase_days(transactions.filter(pl.col("order_date") >= cal_dt), as_of_dt,
                                 include_refund_days=include_refund_days)
    holdout_summary = holdout_days.group_by("customer_id").agg(
        pl.len().cast(pl.Int64).alias("frequency_holdout"), pl.col("value").mean().alias("monetary_value_holdout"))
    duration = (as_of_dt - cal_dt).total_seconds() / 86400.0 / unit_days
    return (
        calibration.join(holdout_summary, on="customer_id", how="left")
        .with_columns(pl.col("frequency_holdout").fill_null(0), pl.col("monetary_value_holdout").fill_null(0.0),
                      pl.lit(duration).alias("duration_holdout"))
        .sort("customer_id")
    )
