"""Per-customer features as of one analysis date (DESIGN.md, "One analysis date").

Everything here counts only what happened strictly before ``as_of``, so moving the date back shows what
the dashboard would have said then, and the churn backtest and CLV holdout cannot leak the future.

Orders, purchases and refunds (defined once here, used by every module)
-----------------------------------------------------------------------
* An **order** is one ``order_key``: the line's ``order_id``, else one customer on one calendar day.
* An order is a **refund document** (a credit note) when its net amount (sum of its lines before
  ``as_of``) is below 0, or when its ``order_id`` looks like a credit note (:data:`CREDIT_NOTE_PATTERN`,
  e.g. UK Online Retail's ``C536379``) and its net amount is at most 0 (or unknown). Without any amount
  on the order, a negative net quantity also makes it a refund document.
* Every other order is a **purchase**. Negative lines inside a purchase (a return booked later on the
  original order id, a discount line) are *returns*: they reduce net revenue on their own line date and
  neither create nor remove an order.
* Counts of orders, average order value, repeat rates, RFM frequency, recency, first/last order, lifecycle
  stages, CLV inputs and churn labels use **purchases only** (a refund is not a visit); **net revenue**
  sums every line, refunds included, on the line's date.
* The **customer base** as of a date is the customers with at least one purchase before it
  (:func:`customer_base`); customers whose lines before it are all refunds are left out of every
  analysis and counted there, so each page can say why its count differs from the number of ids.
* Transactions may carry no amounts (``amount`` absent or entirely null: grocery baskets). Everything
  that counts orders still works; money columns are null, and analyses that need money raise
  :class:`MissingAmounts` (check :func:`has_amounts` first).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

import polars as pl

from crm_core.io import DataError

DateLike = date | datetime

CREDIT_NOTE_PATTERN = r"^[Cc][0-9]+$"
"""``order_id`` of a credit note: a C followed by digits (UK Online Retail's cancellations, ``C536379``)."""


class MissingAmounts(DataError):
    """An analysis that needs money (value tiers, spend models) was asked of transactions without amounts.

    ``key`` is ``app.base.needs_amounts``; ``params`` carries ``analysis`` (what needed the amounts).
    """

    def __init__(self, analysis: str) -> None:
        super().__init__("app.base.needs_amounts", {"analysis": analysis})


def to_datetime(value: DateLike) -> datetime:
    """A ``date`` becomes midnight of that day; a ``datetime`` is kept (naive)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def default_as_of(transactions: pl.DataFrame) -> datetime:
    """The day after the last order in the data (midnight), so the last day's orders count."""
    last = cast("datetime | None", transactions["order_date"].max())
    if last is None:
        raise ValueError("no orders with a date")
    return datetime(last.year, last.month, last.day) + timedelta(days=1)


def has_amounts(transactions: pl.DataFrame) -> bool:
    """Whether the lines carry money: an ``amount`` column with at least one value (an empty table with
    the column counts as having amounts). Monetary views check this before calling the core."""
    return "amount" in transactions.columns and (
        transactions.height == 0 or transactions["amount"].null_count() < transactions.height)


def with_amount(transactions: pl.DataFrame) -> pl.DataFrame:
    """``transactions`` with an ``amount`` column (a null Float64 one when the table has none)."""
    if "amount" in transactions.columns:
        return transactions
    return transactions.with_columns(pl.lit(None, dtype=pl.Float64).alias("amount"))


def money_sum(column: str = "amount") -> pl.Expr:
    """Sum of ``column`` in an aggregation, null (not 0) when every value is null (no amounts)."""
    return pl.when(pl.col(column).count() > 0).then(pl.col(column).sum())


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


def is_refund_document(credit_note_pattern: str = CREDIT_NOTE_PATTERN) -> pl.Expr:
    """On an order table (``order_key``, net ``amount``, optional net ``quantity``): True for a refund
    document (module docstring): net amount < 0, or a credit-note id with net amount ≤ 0 or unknown, or
    no amount and a negative net quantity."""
    net = pl.col("amount")
    refund = (net < 0).fill_null(False)
    if credit_note_pattern:
        credit_note = pl.col("order_key").str.contains(credit_note_pattern).fill_null(False)
        refund = refund | (credit_note & (net <= 0).fill_null(True))
    return refund


def _order_rows(lines: pl.LazyFrame, columns: list[str], credit_note_pattern: str) -> pl.LazyFrame:
    """Group lines into orders: ``customer_id, order_key, order_date, amount, is_refund``.

    Without any ``order_id`` an order is a customer-day: the lines are grouped on the day and the
    ``customer@date`` key is built once per order instead of once per line (the same keys as
    :func:`order_key`)."""
    aggregations = [pl.col("order_date").min(), money_sum("amount").alias("amount")]
    has_quantity = "quantity" in columns
    if has_quantity:
        aggregations.append(pl.col("quantity").cast(pl.Float64).sum().alias("_quantity"))
    if "order_key" in columns:
        grouped = lines.group_by("customer_id", "order_key").agg(aggregations)
    else:
        day = pl.col("order_date").dt.date().alias("_day")
        grouped = lines.group_by("customer_id", day).agg(aggregations).with_columns(
            (pl.col("customer_id") + pl.lit("@") + pl.col("_day").cast(pl.String)).alias("order_key")
        ).drop("_day")
    refund = is_refund_document(credit_note_pattern)
    if has_quantity:
        refund = refund | (pl.col("amount").is_null() & (pl.col("_quantity") < 0))
    grouped = grouped.with_columns(refund.alias("is_refund")).select(
        "customer_id", "order_key", "order_date", "amount", "is_refund")
    return grouped


def _keyed(transactions: pl.DataFrame) -> pl.DataFrame:
    """Lines with ``amount``, plus ``order_key`` when some line has an ``order_id`` (else :func:`_order_rows`
    groups customer-days directly)."""
    lines = with_amount(transactions)
    if "order_id" in lines.columns and lines["order_id"].null_count() < lines.height:
        return with_order_key(lines)
    return lines


def orders(transactions: pl.DataFrame, as_of: DateLike | None = None, *,
           credit_note_pattern: str = CREDIT_NOTE_PATTERN) -> pl.DataFrame:
    """One row per order before ``as_of``: ``customer_id, order_key, order_date`` (earliest line),
    ``amount`` (net sum of its lines; null without amounts) and ``is_refund`` (a refund document, module
    docstring; the other rows are purchases). Sorted by customer, date, key.
    """
    lines = _keyed(before(transactions, as_of))
    return (_order_rows(lines.lazy(), lines.columns, credit_note_pattern)
            .sort("customer_id", "order_date", "order_key").collect())


def purchases(transactions: pl.DataFrame, as_of: DateLike | None = None, *,
              credit_note_pattern: str = CREDIT_NOTE_PATTERN) -> pl.DataFrame:
    """The purchase orders of :func:`orders` (refund documents left out), same columns."""
    return orders(transactions, as_of, credit_note_pattern=credit_note_pattern).filter(~pl.col("is_refund"))


@dataclass(frozen=True)
class CustomerBase:
    """Who is analysed as of one date, and who is left out.

    ``customers``: customers with at least one purchase before ``as_of`` (every customer analysis uses
    exactly these); ``refund_only``: customers with lines before ``as_of`` that are all refund documents
    (not analysed: no RFM row, no lifecycle stage, no CLV, no churn score); ``refund_only_ids`` their ids,
    sorted. A page says "``customers`` customers analysed · ``refund_only`` with only refunds left out"
    (``ui/base.py``; :meth:`note` gives the second part).
    """

    customers: int
    refund_only: int
    refund_only_ids: tuple[str, ...]
    as_of: datetime | None  # None only for a table without lines

    @property
    def with_lines(self) -> int:
        """Every customer id with a line before ``as_of`` (analysed + refund-only)."""
        return self.customers + self.refund_only

    def note(self) -> dict[str, object] | None:
        """``{"key": "app.base.refund_only", "params": {"count": refund_only}}``, None when nobody is left out."""
        if not self.refund_only:
            return None
        return {"key": "app.base.refund_only", "params": {"count": self.refund_only}}


def customer_base(transactions: pl.DataFrame, as_of: DateLike | None = None, *,
                  credit_note_pattern: str = CREDIT_NOTE_PATTERN) -> CustomerBase:
    """The customer base as of ``as_of`` (default :func:`default_as_of`): who has a purchase before it,
    and who only has refunds (module docstring). Filter the lines first to get the base of a range."""
    as_of_dt = to_datetime(as_of) if as_of is not None else (
        default_as_of(transactions) if transactions.height else None)
    per_customer = (orders(transactions, as_of_dt, credit_note_pattern=credit_note_pattern)
                    .group_by("customer_id").agg((~pl.col("is_refund")).any().alias("bought")))
    refund_only = per_customer.filter(~pl.col("bought"))["customer_id"].cast(pl.String).sort()
    return CustomerBase(customers=int(per_customer["bought"].sum()), refund_only=refund_only.len(),
                        refund_only_ids=tuple(refund_only.to_list()), as_of=as_of_dt)


def customer_summary(transactions: pl.DataFrame, as_of: DateLike | None = None, *,
                     credit_note_pattern: str = CREDIT_NOTE_PATTERN) -> pl.DataFrame:
    """One row per customer with a purchase before ``as_of`` (the customer base, :func:`customer_base`).

    Columns: ``customer_id, first_order, last_order`` (first and last *purchase*: the earliest line of
    the order), ``orders`` (distinct purchases; refund documents are not orders), ``revenue`` (net: every
    line before ``as_of``, refunds and returns included), ``gross_revenue`` (sum of positive lines),
    ``refunds`` (positive sum of negative lines), ``avg_order_value`` (revenue / orders),
    ``recency_days`` (whole days from the last purchase to ``as_of``), ``tenure_days`` (whole days from
    the first purchase to ``as_of``), ``avg_days_between_orders`` (null with one purchase),
    ``refund_orders`` (refund documents), ``categories`` (distinct categories on non-negative lines,
    when the data has them). Without amounts the money columns are null.

    ``as_of`` defaults to :func:`default_as_of`; only lines strictly before it count. The RFM inputs
    follow the usual definition (recency, frequency = distinct purchases, monetary = net revenue).
    """
    as_of_dt = to_datetime(as_of) if as_of is not None else default_as_of(transactions)
    lines = _keyed(before(transactions, as_of_dt)).lazy()
    columns = lines.collect_schema().names()
    order_rows = _order_rows(lines, columns, credit_note_pattern)
    per_order = order_rows.group_by("customer_id").agg(
        pl.col("order_date").filter(~pl.col("is_refund")).min().alias("first_order"),
        pl.col("order_date").filter(~pl.col("is_refund")).max().alias("last_order"),
        (~pl.col("is_refund")).sum().cast(pl.Int64).alias("orders"),
        pl.col("is_refund").sum().cast(pl.Int64).alias("refund_orders"),
    ).filter(pl.col("orders") > 0)
    amount = pl.col("amount")
    aggregations = [
        money_sum("amount").alias("revenue"),
        pl.when(amount.count() > 0).then(amount.clip(lower_bound=0).sum()).alias("gross_revenue"),
        pl.when(amount.count() > 0).then(-amount.clip(upper_bound=0).sum()).alias("refunds"),
    ]
    if "category" in columns:
        aggregations.append(pl.col("category").filter(~(amount < 0).fill_null(False)).drop_nulls().n_unique()
                            .cast(pl.Int64).alias("categories"))
    money = lines.group_by("customer_id").agg(aggregations)
    span_days = (pl.col("last_order") - pl.col("first_order")).dt.total_seconds() / 86400.0
    summary = (
        per_order.join(money, on="customer_id", how="left")
        .with_columns(
            (pl.col("revenue") / pl.col("orders")).alias("avg_order_value"),
            (pl.lit(as_of_dt) - pl.col("last_order")).dt.total_days().alias("recency_days"),
            (pl.lit(as_of_dt) - pl.col("first_order")).dt.total_days().alias("tenure_days"),
            pl.when(pl.col("orders") > 1).then(span_days / (pl.col("orders") - 1)).alias("avg_days_between_orders"),
        )
        .sort("customer_id")
        .collect()
    )
    first = ["customer_id", "first_order", "last_order", "orders", "revenue", "gross_revenue", "refunds"]
    rest = ["avg_order_value", "recency_days", "tenure_days", "avg_days_between_orders", "refund_orders"]
    return summary.select(first + (["categories"] if "category" in columns else []) + rest)
