"""What the Overview page draws: the headline figures of a period against the one before it, monthly
revenue of new versus existing customers, and revenue by region and channel."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

import polars as pl

from crm_core.dataset import Dataset
from crm_core.overview import kpi_comparison, monthly_new_vs_existing, previous_period, revenue_by

__all__ = ["PERIODS", "MONEY", "RATES", "Freshness", "Change", "freshness", "period_start", "kpis", "change",
           "monthly", "breakdown", "previous_period"]

PERIODS = ("30", "90", "365", "window")  # the last N days of the date range, or the whole range
MONEY = frozenset({"revenue", "avg_order_value"})
RATES = frozenset({"repeat_rate", "existing_revenue_share"})
NEEDS_AMOUNTS = MONEY | {"existing_revenue_share"}


@dataclass(frozen=True)
class Freshness:
    """How much data the view covers: lines, customers and the first and last order day."""

    lines: int
    customers: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True)
class Change:
    """A headline figure's change against the previous period: ``points`` for rates (percentage points),
    else a relative change; None where there is nothing to compare with."""

    value: float
    points: bool


def freshness(dataset: Dataset) -> Freshness:
    lines = dataset.transactions
    if lines.height == 0:
        return Freshness(0, 0, None, None)
    dates = lines["order_date"]  # a Datetime column
    return Freshness(lines.height, lines["customer_id"].n_unique(), cast("datetime | None", dates.min()),
                     cast("datetime | None", dates.max()))


def period_start(start: date, end: date, period: str) -> date:
    """The first day of the headline period: the last ``period`` days up to ``end``, never before ``start``."""
    return start if period == "window" else max(start, end - timedelta(days=int(period) - 1))


def kpis(dataset: Dataset, start: date, end: date,
         has_amounts: bool = True) -> dict[str, tuple[float | None, float | None]]:
    """``{figure: (now, before)}``; without amounts, only the figures that need no money."""
    figures = kpi_comparison(dataset.transactions, start, end)
    return {name: pair for name, pair in figures.items() if has_amounts or name not in NEEDS_AMOUNTS}


def change(name: str, now: float | None, before: float | None) -> Change | None:
    if now is None or before is None:
        return None
    if name in RATES:
        return Change(now - before, points=True)
    if before == 0:
        return None
    return Change((now - before) / abs(before), points=False)


def monthly(dataset: Dataset, start: date, end: date) -> pl.DataFrame:
    return monthly_new_vs_existing(dataset.transactions, start, end)


def breakdown(dataset: Dataset, column: str, start: date, end: date) -> pl.DataFrame:
    return revenue_by(dataset.transactions, column, start, end, customers=dataset.customers)
