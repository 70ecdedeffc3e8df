"""The global filters every page applies: one :class:`FilterSpec`, one :func:`apply_filters`."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

import polars as pl

from crm_core.dataset import Dataset

# Dimensions a user can narrow down by; each may live in transactions, customers or both.
DIMENSIONS = ("region", "channel", "category")


@dataclass(frozen=True)
class FilterSpec:
    """What the sidebar says: an order-date window (inclusive days) and allowed values per dimension.

    Empty tuples mean "all". ``start``/``end`` None mean open-ended.
    """

    start: date | None = None
    end: date | None = None
    regions: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def values(self, dimension: str) -> tuple[str, ...]:
        return {"region": self.regions, "channel": self.channels, "category": self.categories}[dimension]

    @property
    def is_empty(self) -> bool:
        return self.start is None and self.end is None and not (self.regions or self.channels or self.categories)


def dimension_values(dataset: Dataset, dimension: str) -> list[str]:
    """The values a filter on ``dimension`` can offer (from transactions, else the customer table)."""
    for frame in (dataset.transactions, dataset.customers):
        if frame is not None and dimension in frame.columns:
            values = frame[dimension].drop_nulls().unique().sort().to_list()
            if values:
                return [str(v) for v in values]
    return []


def date_bounds(dataset: Dataset) -> tuple[date, date]:
    """First and last order day in the data."""
    dates = dataset.transactions["order_date"]
    return cast(datetime, dates.min()).date(), cast(datetime, dates.max()).date()


def _keep_customers(dataset: Dataset, spec: FilterSpec) -> pl.DataFrame | None:
    """Customers allowed by filters that only the customer table can answer (None: no such filter)."""
    customers = dataset.customers
    conditions = []
    for dimension in DIMENSIONS:
        wanted = spec.values(dimension)
        if not wanted or dimension in dataset.transactions.columns:
            continue
        if customers is not None and dimension in customers.columns:
            conditions.append(pl.col(dimension).is_in(list(wanted)))
    if not conditions or customers is None:  # conditions come only from a customer table
        return None
    return customers.filter(pl.all_horizontal(conditions)).select("customer_id")


def apply_filters(dataset: Dataset, spec: FilterSpec, dates: bool = True) -> Dataset:
    """The dataset narrowed by ``spec``.

    A dimension filters transaction lines when the transactions carry it (an order's region or channel),
    otherwise customers by their profile. ``dates=False`` keeps every date: pages that compare a period
    with the one before, or compute as of an analysis date, need the history outside the window.
    Customers and interactions follow the remaining transactions' customers only when a dimension filter
    is active, so prospects (customers who never ordered) stay when nothing excludes them.

    Without a date window the result is a view of the whole data (``view_of``): it selects customers, and a
    per-customer analysis of the whole data, restricted to them, answers for it.
    """
    if spec.is_empty:
        return dataset
    lines = dataset.transactions
    for dimension in DIMENSIONS:
        wanted = spec.values(dimension)
        if wanted and dimension in lines.columns:
            lines = lines.filter(pl.col(dimension).is_in(list(wanted)))
    allowed = _keep_customers(dataset, spec)
    if allowed is not None:
        lines = lines.join(allowed, on="customer_id", how="semi")
    if dates and spec.start is not None:
        lines = lines.filter(pl.col("order_date") >= datetime.combine(spec.start, datetime.min.time()))
    if dates and spec.end is not None:
        lines = lines.filter(pl.col("order_date") < datetime.combine(spec.end + timedelta(days=1), datetime.min.time()))

    customers, interactions = dataset.customers, dataset.interactions
    dimension_filtered = any(spec.values(d) for d in DIMENSIONS)
    if dimension_filtered:
        if allowed is not None:
            customers = customers.join(allowed, on="customer_id", how="semi") if customers is not None else None
        else:
            buyers = lines.select("customer_id").unique()
            customers = customers.join(buyers, on="customer_id", how="semi") if customers is not None else None
        if interactions is not None:
            keep_ids = lines.select("customer_id").unique() if customers is None else customers.select("customer_id")
            interactions = interactions.join(keep_ids, on="customer_id", how="semi")
    derived_key = hashlib.sha256(f"{dataset.fingerprint}|{spec!r}|dates={dates}".encode()).hexdigest()[:32]
    every_date = not dates or (spec.start is None and spec.end is None)
    whole = dataset.view_of if dataset.view_of is not None else dataset
    return Dataset(lines, customers, interactions, name=dataset.name, derived_key=derived_key,
                   view_of=whole if every_date else None)
