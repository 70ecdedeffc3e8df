"""View-models of the Customers page (存量客户管理表): the customer table, its filters, sort, pages and export.

Every column is :func:`crm_core.customers.customer_table`'s; this module holds the customer pages' policy:
which analyses they show (the RFM preset, the CLV and churn horizons), which columns show by default, the
filter lists and their order, the page sizes, and how the table reads for people (labels instead of keys,
reasons as sentences). No texts: those travel as translation keys with their parameters, and the page's
translator (a :data:`Texts` function) turns them into words.

Every function takes the (filtered) :class:`~crm_core.dataset.Dataset` first and ``as_of`` (only lines
strictly before it count). ``base`` is :func:`customer_base` of the same data and date: the UI computes it
once and hands it over (it holds a trained churn model); without it, it is computed.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from math import ceil, floor
from typing import Any, NamedTuple

import polars as pl

from crm_core.customers import (
    CustomerTable,
    Recommender,
    TableNote,
    customer_table,
    decode_reason,
    filter_table,
    recommendation_level,
)
from crm_core.dataset import Dataset
from crm_core.export import mask_contacts
from crm_core.features import has_amounts
from crm_core.lifecycle import STAGES
from crm_core.segmentation import PRESETS, SEGMENT_KEYS

__all__ = [
    "PRESET", "HORIZON_DAYS", "VALUE", "CHURN_HORIZON_DAYS", "TIERS", "RISKS", "PAGE_SIZES", "DEFAULT_PAGE_SIZE",
    "DEFAULT_COLUMNS", "HIDDEN", "MONEY", "SHARES", "DATES", "LABELS", "REASONS",
    "Texts", "FilterChoice", "ListFilters", "TableOverview", "ListPage", "CustomerList",
    "customer_base", "header", "label", "table_overview", "customer_list", "readable",
]

PRESET = "standard"        # the segment map of the customer pages (the Segments page lets users pick another)
HORIZON_DAYS = 365         # predicted value and expected orders look a year ahead
VALUE = f"predicted_value_{HORIZON_DAYS}_days"
CHURN_HORIZON_DAYS = 90    # the customer pages show the churn risk of the Churn page's default horizon

TIERS = ("high", "mid", "low")
RISKS = ("high", "medium", "low")
PAGE_SIZES = (25, 50, 100, 250)
DEFAULT_PAGE_SIZE = 50
DEFAULT_COLUMNS = ("name", "owner", "region", "segment", "tier", "stage", "orders", "revenue", "last_order", "p_alive",
                   VALUE, "churn_probability", "risk_tier", "churn_reason", "next_product", "phone")
HIDDEN = frozenset({"customer_id", "churn_reasons", "cluster_traits"})   # never offered as a column
MONEY = frozenset({"revenue", "avg_order_value", VALUE, "value_at_risk"})
SHARES = frozenset({"p_alive", "churn_probability"})
DATES = frozenset({"first_order", "last_order", "signup_date", "birthday", "expected_next_order_date",
                   "last_interaction_date"})
LABELS: Mapping[str, str | None] = {
    "segment": "segmentation.segment", "segment_quarter_ago": "segmentation.segment", "tier": "segmentation.tier",
    "stage": "lifecycle.stage", "risk_tier": "churn.tier", "risk_source": "churn.source",
    "churn_action": None, "next_order_basis": "lifecycle.basis",
}
"""Columns holding keys, and the translation prefix of their values (None: the value is a key itself)."""
REASONS = ("churn_reason", "next_product_reason")
"""Columns holding one reason, JSON ``{"key", "params"}``."""

Texts = Callable[[str, Mapping[str, Any]], "str | None"]
"""The page's translator: the text of a key with its params, or None when there is no such key."""


# ---------------------------------------------------------------- the table

def customer_base(dataset: Dataset, as_of: datetime, *, churn_model: Any = None,
                  recommender: Recommender = Recommender(),  # noqa: B008 - frozen
                  churn_scored: pl.DataFrame | None = None) -> CustomerTable:
    """:func:`crm_core.customers.customer_table` as the customer pages show it.

    With :data:`PRESET`, :data:`HORIZON_DAYS` and :data:`CHURN_HORIZON_DAYS`. ``churn_model``: the Churn page's
    model, when the caller has it (else trained here); ``recommender``: the method the Cross-sell page's
    out-of-time check chose for the next best product; ``churn_scored``: that model's scores as the Churn
    page has them (:attr:`crm_core.views.churn.RiskView.scored`), so they are not computed twice.
    """
    return customer_table(dataset, as_of, preset=PRESET, horizon_days=HORIZON_DAYS,
                          churn_horizon_days=CHURN_HORIZON_DAYS, recommender=recommender, churn_model=churn_model,
                          churn_scored=churn_scored)


def header(name: str) -> tuple[str, dict[str, Any]]:
    """The translation key and params of a column's header."""
    if name == VALUE:
        return "customers.column.predicted_value", {"days": HORIZON_DAYS}
    if name.startswith("expected_orders_next_"):
        return "customers.column.expected_orders", {"days": HORIZON_DAYS}
    return f"customers.column.{name}", {}


def label(text: Texts, prefix: str | None, value: Any) -> str:
    """A key-valued cell as people read it: ``<prefix>.<value>`` translated, else the value itself."""
    key = str(value) if prefix is None else f"{prefix}.{value}"
    found = text(key, {})
    return found if found is not None else str(value)


# ---------------------------------------------------------------- what the page offers

@dataclass(frozen=True)
class FilterChoice:
    """One multi-choice filter.

    The table ``column``, the :class:`ListFilters` ``field`` it fills, the
    ``options`` present in the data (in the analysis' own order, then any others sorted) and the
    translation ``prefix`` of their labels (None: shown as they are).
    """

    column: str
    field: str
    options: tuple[str, ...]
    prefix: str | None


_FILTERS = (  # column, ListFilters field, the order of the known values, label prefix
    ("segment", "segments", tuple(PRESETS[PRESET].segments) + SEGMENT_KEYS, "segmentation.segment"),
    ("stage", "stages", STAGES, "lifecycle.stage"),
    ("tier", "tiers", TIERS, "segmentation.tier"),
    ("risk_tier", "risk_tiers", RISKS, "churn.tier"),
    ("owner", "owners", (), None),
    ("region", "regions", (), None),
)


class ListFilters(NamedTuple):
    """The Customers page's filters (a hashable value); an empty choice means "any".

    ``value_range`` is the revenue slider's (low, high); the table's whole range filters nothing (so
    customers without revenue stay). ``query``: :func:`crm_core.customers.find_customers`.
    """

    segments: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    risk_tiers: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    value_range: tuple[float, float] | None = None
    query: str = ""


@dataclass(frozen=True)
class TableOverview:
    """What the Customers page says and offers above the table.

    ``notes``: what the table cannot show on this data, in order (no customers table, no items, no
    interactions, churn by rules, then the table's own :class:`~crm_core.customers.TableNote`; several
    may read the same, the page shows each text once). ``revenue_range``: the whole-currency range of
    the revenue filter, None without amounts or when every customer has the same revenue. ``columns``:
    every column a user can sort by or show; ``default_columns`` those shown when none is picked.
    """

    customers: int
    buyers: int
    has_amounts: bool
    notes: tuple[TableNote, ...]
    revenue_range: tuple[int, int] | None
    filters: tuple[FilterChoice, ...]
    columns: tuple[str, ...]
    default_columns: tuple[str, ...]
    default_sort: str

    @property
    def prospects(self) -> int:
        return self.customers - self.buyers


def _revenue_range(frame: pl.DataFrame, amounts: bool) -> tuple[int, int] | None:
    if not amounts or "revenue" not in frame.columns or frame["revenue"].drop_nulls().len() == 0:
        return None
    lowest, highest = frame.select(pl.col("revenue").min().alias("low"), pl.col("revenue").max().alias("high")).row(0)
    low, high = floor(lowest), ceil(highest)
    return (low, high) if high > low else None


def _present(frame: pl.DataFrame, column: str, order: Sequence[str]) -> tuple[str, ...]:
    if column not in frame.columns:
        return ()
    seen = set(frame[column].drop_nulls().unique().to_list())
    return tuple(value for value in dict.fromkeys(order) if value in seen) + tuple(sorted(seen - set(order)))


def table_overview(dataset: Dataset, as_of: datetime, *, base: CustomerTable | None = None) -> TableOverview:
    """Counts, notes, filter choices and columns of the Customers page (see :class:`TableOverview`)."""
    base = base if base is not None else customer_base(dataset, as_of)
    frame = base.frame
    amounts = has_amounts(dataset.transactions)
    notes: list[TableNote] = []
    if dataset.customers is None:
        notes.append(TableNote("profile", "customers.page.missing.customers"))
    if "next_product" not in frame.columns and recommendation_level(dataset.transactions) is None:
        notes.append(TableNote("cross_sell", "customers.page.missing.items"))
    if not dataset.has("interactions"):
        notes.append(TableNote("interactions", "customers.page.missing.interactions"))
    if "risk_source" in frame.columns and (frame["risk_source"] == "rules").any():
        notes.append(TableNote("churn", "churn.sufficiency.failed"))
    filters = tuple(FilterChoice(column, field_name, options, prefix)
                    for column, field_name, order, prefix in _FILTERS
                    if (options := _present(frame, column, order)))
    return TableOverview(
        customers=frame.height,
        buyers=int((frame["orders"] > 0).sum()),
        has_amounts=amounts,
        notes=tuple(notes) + base.notes,
        revenue_range=_revenue_range(frame, amounts),
        filters=filters,
        columns=tuple(name for name in frame.columns if name not in HIDDEN),
        default_columns=tuple(name for name in DEFAULT_COLUMNS
                              if name in frame.columns and (amounts or name not in MONEY)),
        default_sort="revenue" if amounts else "orders",
    )


# ---------------------------------------------------------------- the filtered list

@dataclass(frozen=True)
class ListPage:
    """One page of the list.

    ``rows`` (``customer_id`` plus the chosen columns, phone and email masked),
    their ``ids`` in order, and the 1-based positions of the ``first`` and ``last`` row in the list.
    """

    rows: pl.DataFrame
    ids: tuple[str, ...]
    first: int
    last: int


@dataclass(frozen=True)
class CustomerList:
    """The customers that pass the filters, sorted.

    ``frame`` (every column), ``total`` and their net ``revenue`` (None without amounts).
    """

    frame: pl.DataFrame
    total: int
    revenue: float | None

    def page_count(self, size: int) -> int:
        """Pages of ``size`` rows (at least one, an empty list has one empty page)."""
        return max(1, ceil(self.total / size))

    def page(self, number: int, size: int, columns: Sequence[str]) -> ListPage:
        """Page ``number`` (1-based) of ``size`` rows with ``columns``."""
        first = (number - 1) * size
        rows = self.frame.slice(first, size)
        return ListPage(mask_contacts(rows.select("customer_id", *columns)), tuple(rows["customer_id"].to_list()),
                        first + 1, first + rows.height)

    def members(self) -> pl.DataFrame:
        """``customer_id, stratum``: a campaign's members (everyone the filters pass), balanced on segment."""
        segment = pl.col("segment").cast(pl.String) if "segment" in self.frame.columns else pl.lit(None, pl.String)
        return self.frame.select("customer_id", segment.fill_null("").alias("stratum"))

    def export(self, columns: Sequence[str]) -> pl.DataFrame:
        """The whole list with ``columns`` for a download, phone and email masked."""
        return mask_contacts(self.frame.select("customer_id", *columns))


def customer_list(dataset: Dataset, as_of: datetime, filters: ListFilters, sort_by: str, descending: bool, *,
                  base: CustomerTable | None = None) -> CustomerList:
    """The rows of the table that pass ``filters``, sorted by ``sort_by`` (nulls last, ties by id).

    The filters are :func:`crm_core.customers.filter_table`'s.
    """
    base = base if base is not None else customer_base(dataset, as_of)
    frame = base.frame
    amounts = has_amounts(dataset.transactions)
    whole = _revenue_range(frame, amounts)
    value_range = filters.value_range
    if value_range is not None and (whole is None or tuple(value_range) == whole):
        value_range = None
    chosen = filter_table(
        frame, segments=filters.segments, stages=filters.stages, tiers=filters.tiers, risk_tiers=filters.risk_tiers,
        owners=filters.owners, regions=filters.regions, query=filters.query.strip(),
        value_range=(float(value_range[0]), float(value_range[1])) if value_range is not None else None)
    ordered = chosen.sort([sort_by, "customer_id"], descending=[descending, False], nulls_last=True)
    revenue = float(ordered["revenue"].sum()) if amounts and "revenue" in ordered.columns else None
    return CustomerList(ordered, ordered.height, revenue)


# ---------------------------------------------------------------- as people read it

def readable(frame: pl.DataFrame, text: Texts) -> pl.DataFrame:
    """``frame`` (columns of the customer table) as people read it, through the page's translator ``text``.

    Key-valued columns (:data:`LABELS`) as labels, reasons (:data:`REASONS`) as sentences, churn flags as
    one list, cluster numbers as text, dates as dates, headers translated (:func:`header`).
    """
    changes = []
    for column, prefix in LABELS.items():
        if column in frame.columns:
            mapping = {value: label(text, prefix, value) for value in frame[column].unique().to_list()
                       if value is not None}
            changes.append(pl.col(column).replace_strict(mapping, default=pl.col(column), return_dtype=pl.String))
    for column in REASONS:
        if column in frame.columns:
            sentences: dict[str, str | None] = {}
            for raw in frame[column].unique().to_list():
                decoded = decode_reason(raw)
                if decoded is not None:
                    sentences[raw] = text(*decoded)
            changes.append(pl.col(column).replace_strict(sentences, default=None, return_dtype=pl.String))
    if "churn_flags" in frame.columns:
        flag_names = {name: label(text, "churn.flag", name)
                      for name in frame["churn_flags"].explode().drop_nulls().unique().to_list()}
        changes.append(pl.col("churn_flags").list.eval(pl.element().replace_strict(flag_names, default=pl.element()))
                       .list.join(text("customers.page.list_sep", {}) or ", "))
    if "cluster" in frame.columns:
        changes.append(pl.col("cluster").cast(pl.String))
    changes += [pl.col(column).cast(pl.Date) for column in sorted(DATES & set(frame.columns))]
    shown = frame.with_columns(changes) if changes else frame
    return shown.rename({name: text(*header(name)) or name for name in shown.columns})
