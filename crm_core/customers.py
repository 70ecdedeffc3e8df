"""The customer table (存量客户管理表), one customer's story (Customer 360) and customer search.

Nothing here re-derives an analysis: every column comes from the module that owns it, joined on
``customer_id`` as of one analysis date (DESIGN.md, "One analysis date"):

======================================  ==============================================================
columns                                 source
======================================  ==============================================================
profile (name, region, owner, phone …)  the customers table (first row per id); region, channel and
                                        owner fall back to the customer's latest order line
first_order … recency_days              :func:`crm_core.features.customer_summary`
segment, rfm_code, segment_quarter_ago  :func:`crm_core.segmentation.rfm` (now, and ``quarter_days``
                                        earlier on the same orders)
tier                                    :func:`crm_core.segmentation.value_tiers`
cluster, cluster_traits                 :func:`crm_core.segmentation.clusters`
stage                                   :func:`crm_core.lifecycle.stages`
p_alive, predicted_value_<h>_days …     :func:`crm_core.clv.predict`
churn_probability, risk_tier, reasons   :func:`crm_core.churn.score`
next_product, next_product_reason       :func:`crm_core.cross_sell.recommend` (k = 1)
dominant_category, category_breadth     net revenue per category (the customer's "needs" profile)
last_interaction_*, complaints_last_90d the interactions table (complaint words of :mod:`crm_core.churn`)
======================================  ==============================================================

Rows are the customer base (a purchase before the analysis date, :func:`crm_core.features.customer_base`)
plus prospects; customers with only refunds are left out and counted by ``customer_base``. A column
appears only when its analysis can run on the data (no product column → no next product, no amounts →
no value tier and null money, no interactions table → no interaction columns). A part the data cannot
support raises a typed reason (a :class:`crm_core.io.DataError` such as
:class:`crm_core.features.MissingAmounts`): its columns are left out and the reason becomes one of the
table's :class:`TableNote`; any other error is a bug and propagates. Messages shown to users are keys
plus params (reasons inside the table: JSON ``{"key", "params"}``).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import polars as pl

from crm_core.cross_sell import RECOMMENDATION_SCHEMA
from crm_core.dataset import Dataset
from crm_core.features import (
    DateLike,
    before,
    customer_summary,
    has_amounts,
    is_refund_document,
    money_sum,
    orders as order_table,
    to_datetime,
    with_amount,
    with_order_key,
)
from crm_core.io import DataError

PARTS: tuple[str, ...] = ("segments", "lifecycle", "clv", "churn", "cross_sell", "interactions")
"""The analyses :func:`customer_table` can join; ``include`` picks among them."""

SUMMARY_COLUMNS: tuple[str, ...] = ("first_order", "last_order", "orders", "revenue", "avg_order_value",
                                    "avg_days_between_orders", "recency_days", "tenure_days")
PROFILE_FALLBACK: dict[str, str] = {"region": "region", "channel": "channel", "owner": "sales_rep"}
"""Customer-table field → transactions column it is taken from (latest line) when the table lacks it."""

SIMILARITY_FEATURES: tuple[str, ...] = ("recency_days", "orders", "revenue")
"""Features of :func:`similar_customers`: log1p (negatives clipped at 0), then standardised."""

NO_RECOMMENDATIONS: dict[str, pl.DataType] = {**RECOMMENDATION_SCHEMA, "reason": pl.String()}

_REASON_OBJECT = r'^\[(\{"key":"[^"]*","params":\{[^{}]*\}\})'


@dataclass(frozen=True)
class TableNote:
    """What the customer table says about itself.

    The translation ``key`` and ``params`` of a message, and the ``part`` it concerns (one of
    :data:`PARTS`, or ``"tiers"`` / ``"clusters"`` of the segments part).

    A part the data cannot support gives its typed reason here (e.g. ``app.base.needs_amounts`` with
    ``analysis="value_tiers"``); a part that ran can add remarks (the CLV fit's ``lifecycle.note.*``).
    """

    part: str
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomerTable:
    """:func:`customer_table`'s result.

    The ``frame`` (one row per customer) and its ``notes`` in the order the parts ran.
    """

    frame: pl.DataFrame
    notes: tuple[TableNote, ...] = ()


class UnknownCustomer(LookupError):
    """No customer with this id in the data; ``key``/``params`` give the translatable message."""

    def __init__(self, customer_id: str) -> None:
        super().__init__(f"unknown customer {customer_id!r}")
        self.key = "customers.error.unknown"
        self.params = {"customer_id": customer_id}


# ---------------------------------------------------------------- building blocks

def known_customers(dataset: Dataset, as_of: DateLike) -> pl.DataFrame:
    """``customer_id`` of every customer the table lists as of ``as_of``.

    The customer base (a purchase strictly before ``as_of``, :func:`crm_core.features.customer_base`) plus prospects
    (in the customers table, signed up before ``as_of`` when ``signup_date`` is known, and no line before ``as_of``,
    as :func:`crm_core.lifecycle.stages` counts them). Customers whose lines are all refunds are left out
    (``customer_base`` counts them). Sorted by id.
    """
    as_of_dt = to_datetime(as_of)
    lines = before(dataset.transactions, as_of_dt)
    ids = [order_table(lines).filter(~pl.col("is_refund")).select(pl.col("customer_id").cast(pl.String))]
    if dataset.customers is not None:
        listed = dataset.customers
        if "signup_date" in listed.columns:
            listed = listed.filter(pl.col("signup_date").is_null() | (pl.col("signup_date") < as_of_dt))
        dealt_with = lines.select(pl.col("customer_id").cast(pl.String)).unique()
        ids.append(listed.select(pl.col("customer_id").cast(pl.String)).join(dealt_with, on="customer_id", how="anti"))
    return pl.concat(ids).drop_nulls().unique().sort("customer_id")


def profiles(dataset: Dataset, as_of: DateLike) -> pl.DataFrame:
    """The customer-table fields per customer (first row per id).

    ``region``, ``channel`` and ``owner`` are filled from the customer's latest order line before ``as_of`` where
    the table has no value (:data:`PROFILE_FALLBACK`; ``owner`` ← ``sales_rep``). Only columns with at least one
    value appear.
    """
    frame = known_customers(dataset, as_of)
    if dataset.customers is not None:
        listed = dataset.customers.with_columns(pl.col("customer_id").cast(pl.String)).unique(
            "customer_id", keep="first", maintain_order=True)
        frame = frame.join(listed, on="customer_id", how="left")
    lines = before(dataset.transactions, as_of)
    fallback = {field_name: source for field_name, source in PROFILE_FALLBACK.items()
                if source in lines.columns and lines[source].null_count() < lines.height
                and (field_name not in frame.columns or frame[field_name].null_count() > 0)}
    if fallback:
        unfilled = frame.filter(pl.any_horizontal(pl.col(name).is_null() if name in frame.columns else pl.lit(True)
                                                  for name in fallback)).select("customer_id")
        latest = (
            lines.join(unfilled, on="customer_id", how="semi")
            .select("customer_id", "order_date", *sorted(set(fallback.values())))
            .sort("customer_id", "order_date")
            .group_by("customer_id", maintain_order=True)
            .agg(pl.col(source).drop_nulls().last().alias(f"_from_orders_{field_name}")
                 for field_name, source in fallback.items())
        )
        frame = frame.join(latest, on="customer_id", how="left").with_columns(
            (pl.coalesce(pl.col(name).cast(pl.String), pl.col(f"_from_orders_{name}")) if name in frame.columns
             else pl.col(f"_from_orders_{name}")).alias(name)
            for name in fallback
        ).drop(f"_from_orders_{name}" for name in fallback)
    empty = [name for name in frame.columns if name != "customer_id" and frame[name].null_count() == frame.height]
    return frame.drop(empty)


def needs_profile(transactions: pl.DataFrame, as_of: DateLike) -> pl.DataFrame:
    """``customer_id, dominant_category, dominant_category_share, category_breadth`` from lines before ``as_of``.

    The dominant category has the largest net revenue (ties: alphabetical); its share is of the customer's
    positive category revenue; breadth = distinct categories bought (as ``customer_summary.categories``).
    Without amounts the dominant category is the one with the most lines and the share is of lines.
    Empty without a category column.
    """
    schema = {"customer_id": pl.String, "dominant_category": pl.String, "dominant_category_share": pl.Float64,
              "category_breadth": pl.Int64}
    if "category" not in transactions.columns:
        return pl.DataFrame(schema=schema)
    lines = with_amount(transactions)
    weight = pl.col("amount").sum() if has_amounts(lines) else pl.len().cast(pl.Float64)
    per_category = (
        before(lines, as_of).filter(pl.col("category").is_not_null())
        .group_by("customer_id", "category").agg(weight.alias("category_revenue"))
    )
    return (
        per_category.sort(["customer_id", "category_revenue", "category"], descending=[False, True, False])
        .group_by("customer_id", maintain_order=True)
        .agg(
            pl.col("category").first().alias("dominant_category"),
            (pl.col("category_revenue").first().clip(lower_bound=0)
             / pl.col("category_revenue").clip(lower_bound=0).sum()).alias("dominant_category_share"),
            pl.len().cast(pl.Int64).alias("category_breadth"),
        )
        .with_columns(pl.col("dominant_category_share").fill_nan(None))
        .select(list(schema))
    )


def interaction_summary(interactions: pl.DataFrame, as_of: DateLike, complaint_days: int = 90,
                        complaint_types: Iterable[str] | None = None) -> pl.DataFrame:
    """``customer_id, last_interaction_date, last_interaction_type, complaints_last_90d`` per customer.

    From interactions strictly before ``as_of``; the complaint window is ``complaint_days`` (the column
    keeps its name).

    Complaints are interactions whose ``type`` (trimmed, lower-cased) is one of ``complaint_types``
    (default :data:`crm_core.churn.COMPLAINT_TYPES`, English and Chinese), in
    ``[as_of − complaint_days, as_of)``: the same count as the churn feature ``complaints_last_90d``.
    """
    if complaint_types is None:
        from crm_core.churn import COMPLAINT_TYPES

        complaint_types = COMPLAINT_TYPES
    as_of_dt = to_datetime(as_of)
    words = sorted({str(word).strip().lower() for word in complaint_types})
    has_type = "type" in interactions.columns
    kind = pl.col("type").cast(pl.String).str.strip_chars().str.to_lowercase() if has_type else pl.lit(None, pl.String)
    recent = pl.col("date") >= as_of_dt - timedelta(days=complaint_days)
    return (
        interactions.filter(pl.col("date") < as_of_dt).with_columns(pl.col("customer_id").cast(pl.String))
        .sort("customer_id", "date")
        .group_by("customer_id", maintain_order=True)
        .agg(
            pl.col("date").last().alias("last_interaction_date"),
            (pl.col("type").cast(pl.String) if has_type else pl.lit(None, pl.String)).last()
            .alias("last_interaction_type"),
            (kind.is_in(words).fill_null(False) & recent).sum().cast(pl.Int64).alias("complaints_last_90d"),
        )
    )


def _reason_object(key: pl.Expr, params: pl.Expr) -> pl.Expr:
    """``{"key": <key>, "params": <params JSON>}`` as one JSON string (null when the key is null).

    Keys are dotted identifiers (``churn.reason.overdue``), so they need no escaping.
    """
    return pl.concat_str(pl.lit('{"key":"'), key, pl.lit('","params":'), params.fill_null("{}"), pl.lit("}"))


def churn_columns(scored: pl.DataFrame) -> pl.DataFrame:
    """The table's churn columns from :func:`crm_core.churn.score`.

    ``churn_probability, risk_tier, risk_source, churn_reason`` (the first reason, a JSON object ``{"key", "params"}``),
    ``churn_reasons`` (the JSON list), ``churn_flags`` (names of the fired flags), ``churn_action``,
    ``value_at_risk``.
    """
    flag_columns = [name for name in scored.columns if name.startswith("flag_") and name != "flag_count"]
    first = pl.col("reasons").str.extract(_REASON_OBJECT, 1)
    fallback = _reason_object(pl.col("main_reason"), pl.lit("{}"))
    fired = (pl.concat_list(pl.when(pl.col(name)).then(pl.lit(name.removeprefix("flag_"))) for name in flag_columns)
             .list.drop_nulls() if flag_columns else pl.lit([], dtype=pl.List(pl.String)))
    return scored.select(
        pl.col("customer_id").cast(pl.String),
        "churn_probability", "risk_tier", "risk_source",
        pl.coalesce(first, fallback).alias("churn_reason"),
        pl.col("reasons").alias("churn_reasons"),
        fired.alias("churn_flags"),
        pl.col("action").alias("churn_action"),
        "value_at_risk",
    )


def recommendation_level(transactions: pl.DataFrame) -> str | None:
    """``"product"`` when the data has products, else ``"category"``, else None (no recommendations)."""
    for level in ("product", "category"):
        if level in transactions.columns and transactions[level].null_count() < transactions.height:
            return level
    return None


@dataclass(frozen=True)
class Recommender:
    """How the next best product is found: :func:`crm_core.cross_sell.recommend`'s ``method`` and basket
    level ``by``. The app passes the choice of the Cross-sell page's out-of-time check
    (:func:`crm_core.views.cross_sell.recommender_card`), so every page recommends with the method that
    measured better."""

    method: str = "co_bought"
    by: str = "auto"


def next_products(transactions: pl.DataFrame, as_of: DateLike, customer_ids: Sequence[str] | pl.Series, k: int = 1,
                  level: str | None = None, recommender: Recommender = Recommender()) -> pl.DataFrame:  # noqa: B008
    """:func:`crm_core.cross_sell.recommend` for ``customer_ids`` plus ``reason`` (JSON ``{"key", "params"}``).

    Prospects (no history) get the popular items, as ``recommend`` gives them.
    """
    from crm_core.cross_sell import recommend

    level = level or recommendation_level(transactions)
    if level is None or k < 1:
        return pl.DataFrame(schema=NO_RECOMMENDATIONS)
    picks = recommend(transactions, customer_ids=customer_ids, k=k, level=level, as_of=as_of,
                      method=recommender.method, by=recommender.by)
    return picks.with_columns(_reason_object(pl.col("reason_key"), pl.col("reason_params")).alias("reason"))


# ---------------------------------------------------------------- the table

_Result = TypeVar("_Result")


def _part(notes: list[TableNote], part: str, compute: Callable[..., _Result], *args: Any,
          **kwargs: Any) -> _Result | None:
    """Run one part of the table.

    When the data cannot support it, the part raises a typed reason (a
    :class:`crm_core.io.DataError`, e.g. :class:`crm_core.features.MissingAmounts`): record it as a note
    naming the part and return None, so the part's columns are left out and the rest of the table stands.
    Any other exception is a bug and propagates.
    """
    try:
        return compute(*args, **kwargs)
    except DataError as reason:
        notes.append(TableNote(part, reason.key, dict(reason.params)))
        return None


def customer_table(dataset: Dataset, as_of: DateLike, *, preset: str = "standard", horizon_days: int = 365,
                   include: Sequence[str] = PARTS, churn_horizon_days: int = 90, quarter_days: int = 91,
                   tier_cuts: tuple[float, float] = (0.8, 0.95), cluster_k: int | None = None,
                   complaint_days: int = 90, recommender: Recommender = Recommender(),  # noqa: B008 - frozen
                   churn_model: Any = None, churn_scored: pl.DataFrame | None = None) -> CustomerTable:
    """One row per customer known as of ``as_of``, with every analysis joined (columns: module docstring).

    The customers are :func:`known_customers`'s: the customers table, prospects included, plus every buyer
    missing from it.

    Parameters
    ----------
    dataset, as_of : the data and the analysis date (orders strictly before it count).
    preset : RFM segment map (:data:`crm_core.segmentation.PRESETS`); ``segment_quarter_ago`` is the same
        map as of ``as_of − quarter_days`` (null for customers without orders then).
    horizon_days : CLV horizon: columns ``expected_orders_next_<h>_days`` and ``predicted_value_<h>_days``.
    include : which of :data:`PARTS` to join (profile and order summary always come).
    churn_horizon_days : the churn label horizon of :func:`crm_core.churn.score`.
    tier_cuts, cluster_k : passed to ``value_tiers`` and ``clusters``.
    complaint_days : window of ``complaints_last_90d``.
    recommender : how the next product is found (:class:`Recommender`; default co-occurrence).
    churn_model : a :class:`crm_core.churn.ChurnModel` trained up to ``as_of`` for ``churn_horizon_days``
        (default: :func:`crm_core.churn.train_when_sufficient` trains one when the data is sufficient;
        otherwise the risk comes from the early-warning rules, ``risk_source = "rules"``).
    churn_scored : :func:`crm_core.churn.score` of that model with its default bands, when the caller
        already has it (the Churn page's risk view): the customers are not scored a second time.

    Returns
    -------
    CustomerTable : the frame and its notes (:class:`TableNote`: a part the data cannot support, with the
        typed reason it raised; remarks of the CLV fit).

    Prospects have ``orders = 0`` and ``revenue = 0`` and nulls in the order-based columns (except the
    preset's own prospect segment, e.g. Shopify's ``prospects``). Customers with only refunds are not
    rows (:func:`known_customers`; :func:`crm_core.features.customer_base` counts them). Without amounts
    ``revenue`` and the money columns are null, there is no ``tier`` and the notes hold
    ``app.base.needs_amounts`` (part ``tiers``). The frame is sorted by ``customer_id``.
    """
    from crm_core import segmentation

    unknown = set(include) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    notes: list[TableNote] = []
    as_of_dt = to_datetime(as_of)
    transactions = dataset.transactions
    table = profiles(dataset, as_of_dt)
    summary = customer_summary(transactions, as_of_dt)
    money = has_amounts(with_amount(transactions))
    table = table.join(summary.select("customer_id", *SUMMARY_COLUMNS), on="customer_id", how="left").with_columns(
        pl.col("orders").fill_null(0), pl.col("revenue").fill_null(0.0) if money else pl.col("revenue"))
    needs = needs_profile(transactions, as_of_dt)
    if needs.height:
        table = table.join(needs, on="customer_id", how="left")
    buyers = summary.height > 0

    if "segments" in include and buyers:
        scored = _part(notes, "segments", segmentation.rfm, summary, preset=preset)
        if scored is not None:
            table = table.join(scored.select("customer_id", "segment", "rfm_code"), on="customer_id", how="left")
            if "prospects" in segmentation.PRESETS[preset].segments:
                table = table.with_columns(pl.when(pl.col("orders") == 0).then(pl.lit("prospects"))
                                           .otherwise(pl.col("segment")).alias("segment"))
            earlier = customer_summary(transactions, as_of_dt - timedelta(days=quarter_days))
            if earlier.height:
                scored_then = segmentation.rfm(earlier, preset=preset)
                table = table.join(scored_then.select("customer_id", pl.col("segment").alias("segment_quarter_ago")),
                                   on="customer_id", how="left")
            else:
                table = table.with_columns(pl.lit(None, dtype=pl.String).alias("segment_quarter_ago"))
        tiers = _part(notes, "tiers", segmentation.value_tiers, summary, tier_cuts)  # MissingAmounts without money
        if tiers is not None:
            table = table.join(tiers.select("customer_id", "tier"), on="customer_id", how="left")
        grouped = _part(notes, "clusters", segmentation.clusters, summary, k=cluster_k)
        if grouped is not None and grouped.k:
            traits = pl.DataFrame({"cluster": list(grouped.descriptions),
                                   "cluster_traits": list(grouped.descriptions.values())},
                                  schema={"cluster": pl.Int64, "cluster_traits": pl.List(pl.String)})
            table = table.join(grouped.labels.join(traits, on="cluster", how="left"), on="customer_id", how="left")

    if "lifecycle" in include:
        from crm_core.lifecycle import stages

        staged = _part(notes, "lifecycle", stages, transactions, as_of_dt, dataset.customers)
        if staged is not None:
            table = table.join(staged.select("customer_id", "stage"), on="customer_id", how="left")

    predicted = None
    # ``buyers`` is clv.predict's own precondition (it raises ValueError "no customers with orders before
    # as_of" otherwise: purchases are counted the same way in both), so that case never reaches it
    if "clv" in include and buyers:
        from crm_core.clv import predict

        result = _part(notes, "clv", predict, transactions, as_of_dt, horizon_days)
        if result is not None:
            predicted = result.table
            # a degenerate BG/NBD fit sees no drop-out: its P(alive) is ~1 for everyone and tells nobody apart
            alive = [] if result.betageo.degenerate_ else ["p_alive"]
            clv_columns = [*alive, f"expected_orders_next_{horizon_days}_days",
                           f"predicted_value_{horizon_days}_days", "expected_next_order_date", "next_order_basis",
                           "days_overdue"]
            table = table.join(predicted.select("customer_id", *clv_columns), on="customer_id", how="left")
            notes.extend(TableNote("clv", note["key"], dict(note.get("params") or {})) for note in result.notes)

    if "churn" in include and buyers and churn_scored is not None:
        table = table.join(churn_columns(churn_scored), on="customer_id", how="left")
    elif "churn" in include and buyers:
        from crm_core import churn

        # The sufficiency gate decides between a model and the early-warning rules (model None). It asks
        # for far more churned and retained customers than train() needs (train's only data-dependent
        # failure), so an error in training after the gate passed is a bug and propagates.
        model = churn_model if churn_model is not None else churn.train_when_sufficient(
            dataset, as_of_dt, churn_horizon_days)
        # churn.score values customers by the 365-day CLV; hand it over when it is already computed
        given = (predicted.select("customer_id", "predicted_value_365_days")
                 if predicted is not None and horizon_days == 365 else None)
        scored = _part(notes, "churn", churn.score, dataset, as_of_dt, model=model, expected_value=given)
        if scored is not None:
            table = table.join(churn_columns(scored), on="customer_id", how="left")

    if "cross_sell" in include and buyers and recommendation_level(transactions) is not None:
        picks = _part(notes, "cross_sell", next_products, transactions, as_of_dt, table["customer_id"], 1,
                      recommender=recommender)
        if picks is not None:
            table = table.join(picks.select("customer_id", pl.col("item").alias("next_product"),
                                            pl.col("reason").alias("next_product_reason")),
                               on="customer_id", how="left")

    if "interactions" in include and dataset.has("interactions"):
        contacts = _part(notes, "interactions", interaction_summary, dataset.interactions, as_of_dt, complaint_days)
        if contacts is not None:
            table = table.join(contacts, on="customer_id", how="left").with_columns(
                pl.col("complaints_last_90d").fill_null(0))
    return CustomerTable(table.sort("customer_id"), tuple(notes))


# ---------------------------------------------------------------- search

def _searchable(table_or_dataset: pl.DataFrame | Dataset) -> pl.DataFrame:
    if isinstance(table_or_dataset, pl.DataFrame):
        return table_or_dataset
    dataset = table_or_dataset
    ids = [dataset.transactions.select(pl.col("customer_id").cast(pl.String))]
    listed = None
    if dataset.customers is not None:
        listed = dataset.customers.with_columns(pl.col("customer_id").cast(pl.String)).unique(
            "customer_id", keep="first", maintain_order=True)
        ids.append(listed.select("customer_id"))
    frame = pl.concat(ids).drop_nulls().unique().sort("customer_id")
    return frame.join(listed, on="customer_id", how="left") if listed is not None else frame


def find_customers(table_or_dataset: pl.DataFrame | Dataset, query: str, *, limit: int | None = 50,
                   min_phone_digits: int = 4) -> pl.DataFrame:
    """Customers matching ``query``: the rows of the table (or of a dataset's customers) plus ``match``.

    Matches, best first: ``id`` (the id equals the query, case-insensitive), ``id_part`` (the id contains
    it), ``name`` (the name contains it, case-insensitive), ``phone`` (the phone number's digits end with
    the query's digits, when the query is a number of at least ``min_phone_digits`` digits, spaces and
    dashes allowed). Each customer appears once, under their best match; then sorted by id.
    """
    text = (query or "").strip()
    frame = _searchable(table_or_dataset)
    if not text:
        return frame.head(0).with_columns(pl.lit(None, dtype=pl.String).alias("match"))
    lowered = text.lower()
    customer_id = pl.col("customer_id").cast(pl.String).str.to_lowercase()
    tests = [("id", customer_id == lowered), ("id_part", customer_id.str.contains(lowered, literal=True))]
    if "name" in frame.columns:
        tests.append(("name", pl.col("name").cast(pl.String).str.to_lowercase().str.contains(lowered, literal=True)))
    digits = re.sub(r"[\s\-()+]", "", text)
    if "phone" in frame.columns and digits.isdigit() and len(digits) >= min_phone_digits:
        phone_digits = pl.col("phone").cast(pl.String).str.replace_all(r"\D", "")
        tests.append(("phone", phone_digits.str.ends_with(digits)))
    # the best match: the first test that holds (a when-then without otherwise is null where it fails)
    match = pl.coalesce(pl.when(test.fill_null(False)).then(pl.lit(name)) for name, test in tests)
    order = {name: rank for rank, (name, _) in enumerate(tests)}
    found = (
        frame.with_columns(match.alias("match"))
        .filter(pl.col("match").is_not_null())
        .sort([pl.col("match").replace_strict(order, return_dtype=pl.Int64), pl.col("customer_id")])
    )
    return found.head(limit) if limit is not None else found


# ---------------------------------------------------------------- one customer

@dataclass(frozen=True)
class CustomerStory:
    """Everything the Customer 360 page shows about one customer, as of one date.

    ``profile``: the customer-table fields; ``figures``: the analysis columns of :func:`customer_table`
    (first/last order, orders, revenue, segment, stage, p_alive, churn …); ``timeline``: orders and
    interactions in one frame (:func:`timeline`); ``monthly_spend``: :func:`monthly_spend`;
    ``recommendations``: :func:`next_products` with k items; ``similar``: :func:`similar_customers`;
    ``churn_reasons``: decoded ``{"key", "params"}`` dicts; ``churn_flags``: fired flag names.
    """

    customer_id: str
    as_of: datetime
    profile: dict[str, Any]
    figures: dict[str, Any]
    timeline: pl.DataFrame
    monthly_spend: pl.DataFrame
    recommendations: pl.DataFrame
    similar: pl.DataFrame
    churn_reasons: tuple[dict[str, Any], ...] = ()
    churn_flags: tuple[str, ...] = ()
    cluster_traits: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_prospect(self) -> bool:
        """Known but no order before the analysis date."""
        return not self.figures.get("orders")


def timeline(dataset: Dataset, as_of: DateLike, customer_id: str, max_items: int = 8) -> pl.DataFrame:
    """One customer's orders and interactions before ``as_of`` on one time axis, sorted by date.

    Columns: ``date, kind`` ("order", "refund" for a refund document (:mod:`crm_core.features`), or the interaction
    ``type``), ``source`` ("order"/"interaction"), ``description`` (an order's items "product ×quantity",
    the first ``max_items`` then "…"; an interaction's note), ``amount`` (net order value), ``order_id``,
    ``channel``, ``outcome``, ``satisfaction`` (interactions; null where the data has none).
    """
    as_of_dt = to_datetime(as_of)
    schema: dict[str, Any] = {"date": pl.Datetime("us"), "kind": pl.String, "source": pl.String,
                              "description": pl.String, "amount": pl.Float64, "order_id": pl.String,
                              "channel": pl.String, "outcome": pl.String, "satisfaction": pl.Float64}
    parts = [pl.DataFrame(schema=schema)]
    lines = with_order_key(with_amount(before(dataset.transactions, as_of_dt))
                           .filter(pl.col("customer_id") == customer_id))
    if lines.height:
        item = next((c for c in ("product", "category") if c in lines.columns), None)
        if item is not None:
            quantity = (pl.col("quantity").cast(pl.Float64) if "quantity" in lines.columns
                        else pl.lit(None, dtype=pl.Float64))
            label = pl.when(quantity.is_not_null() & (quantity != 1)).then(
                pl.col(item).cast(pl.String) + pl.lit(" ×") + quantity.round(2).cast(pl.String).str.replace(r"\.0$", "")
            ).otherwise(pl.col(item).cast(pl.String))
            lines = lines.with_columns(label.alias("_label"))
            listing = pl.col("_label").drop_nulls()
            description = pl.when(listing.len() > max_items).then(
                listing.head(max_items).str.join(", ") + pl.lit(", …")).otherwise(listing.str.join(", "))
        else:
            description = pl.lit("")
        channel = (pl.col("channel").cast(pl.String).drop_nulls().first() if "channel" in lines.columns
                   else pl.lit(None, dtype=pl.String))
        orders_frame = (
            lines.group_by("order_key")
            .agg(pl.col("order_date").min().alias("date"), money_sum("amount").alias("amount"),
                 description.alias("description"), channel.alias("channel"), pl.col("order_id").first())
            .with_columns(pl.when(is_refund_document()).then(pl.lit("refund")).otherwise(pl.lit("order")).alias("kind"),
                          pl.lit("order").alias("source"), pl.coalesce("order_id", "order_key").alias("order_id"))
        )
        parts.append(orders_frame.select([c for c in schema if c in orders_frame.columns]))
    if dataset.interactions is not None and dataset.has("interactions"):
        events = dataset.interactions.filter((pl.col("customer_id") == customer_id) & (pl.col("date") < as_of_dt))
        if events.height:
            optional = {name: (pl.col(name).cast(dtype) if name in events.columns else pl.lit(None, dtype=dtype))
                        for name, dtype in (("channel", pl.String), ("outcome", pl.String),
                                            ("satisfaction", pl.Float64))}
            parts.append(events.select(
                "date",
                (pl.col("type").cast(pl.String) if "type" in events.columns else pl.lit("interaction")).alias("kind"),
                pl.lit("interaction").alias("source"),
                (pl.col("note").cast(pl.String) if "note" in events.columns else pl.lit(None, pl.String))
                .alias("description"),
                **optional,
            ))
    return pl.concat(parts, how="diagonal_relaxed").select(list(schema)).sort("date", "source", "kind")


def monthly_spend(transactions: pl.DataFrame, as_of: DateLike, customer_id: str) -> pl.DataFrame:
    """Orders and net revenue per calendar month with a line before ``as_of``.

    ``month`` (first day, Date), ``orders`` (purchases starting that month; refund documents are not
    orders), ``revenue`` (net amount of the month's lines, refunds included; null without amounts) per
    calendar month with a line before ``as_of``.
    """
    lines = with_amount(before(transactions, as_of).filter(pl.col("customer_id") == customer_id))
    month = pl.col("order_date").dt.truncate("1mo").dt.date().alias("month")
    bought = (order_table(lines).filter(~pl.col("is_refund")).group_by(month)
              .agg(pl.len().cast(pl.Int64).alias("orders")))
    revenue = lines.group_by(month).agg(money_sum("amount").alias("revenue"))
    return (
        revenue.join(bought, on="month", how="left").with_columns(pl.col("orders").fill_null(0))
        .select("month", "orders", "revenue").sort("month")
    )


def similar_customers(table: pl.DataFrame, customer_id: str, k: int = 5,
                      features: Sequence[str] = SIMILARITY_FEATURES) -> pl.DataFrame:
    """The ``k`` customers nearest to ``customer_id`` among customers with orders.

    Euclidean distance on log1p, standardised ``features`` (recency, orders, net revenue: the RFM inputs; a feature
    null for every buyer is left out), among customers with orders; ties by id.

    Returns the table's rows for them plus ``distance``, nearest first; empty for a prospect.
    """
    buyers = table.filter(pl.col("orders") > 0)
    features = [name for name in features if name in buyers.columns and buyers[name].null_count() < buyers.height]
    buyers = buyers.drop_nulls(features)  # without amounts revenue is null for all: recency and orders only
    target = buyers.filter(pl.col("customer_id") == customer_id)
    if target.height == 0 or buyers.height < 2:
        return table.head(0).with_columns(pl.lit(None, dtype=pl.Float64).alias("distance"))
    logged = buyers.select(pl.col(name).cast(pl.Float64).clip(lower_bound=0).log1p() for name in features)
    scaled = logged.select(
        (pl.col(name) - pl.col(name).mean()) / pl.col(name).std().fill_null(1.0).clip(lower_bound=1e-12)
        for name in features)
    points = scaled.to_numpy()  # numpy for the distance computation
    index = buyers.with_row_index("_row").filter(pl.col("customer_id") == customer_id)["_row"][0]
    distance = np.sqrt(((points - points[index]) ** 2).sum(axis=1))
    return (
        buyers.with_columns(pl.Series("distance", distance))
        .filter(pl.col("customer_id") != customer_id)
        .sort("distance", "customer_id")
        .head(k)
    )


def _decoded(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def customer_story(dataset: Dataset, as_of: DateLike, customer_id: str, *, table: CustomerTable | None = None,
                   recommender: Recommender = Recommender(), preset: str = "standard",  # noqa: B008 - frozen
                   horizon_days: int = 365, recommendations: int = 5, neighbours: int = 5) -> CustomerStory:
    """One customer's Customer 360 view as of ``as_of``.

    ``table`` is :func:`customer_table` for the same data, date, preset and horizon (computed when None:
    pass it, the page caches it); ``recommender`` how the next products are found (:class:`Recommender`).
    Raises :class:`UnknownCustomer` when the id is not in the table.
    """
    as_of_dt = to_datetime(as_of)
    if table is None:
        table = customer_table(dataset, as_of_dt, preset=preset, horizon_days=horizon_days)
    frame = table.frame
    row_frame = frame.filter(pl.col("customer_id") == customer_id)
    if row_frame.height == 0:
        raise UnknownCustomer(customer_id)
    row = row_frame.row(0, named=True)
    listed = set(dataset.customers.columns) if dataset.customers is not None else set()
    profile_names = (listed | set(PROFILE_FALLBACK)) - {"customer_id"}
    profile = {name: value for name, value in row.items() if name in profile_names}
    figures = {name: value for name, value in row.items() if name not in profile_names and name != "customer_id"}
    picks = pl.DataFrame(schema=NO_RECOMMENDATIONS)
    if recommendation_level(dataset.transactions) is not None and recommendations > 0:
        picks = next_products(dataset.transactions, as_of_dt, [customer_id], recommendations,
                              recommender=recommender)
    reasons = _decoded(row.get("churn_reasons")) or []
    return CustomerStory(
        customer_id=customer_id,
        as_of=as_of_dt,
        profile=profile,
        figures=figures,
        timeline=timeline(dataset, as_of_dt, customer_id),
        monthly_spend=monthly_spend(dataset.transactions, as_of_dt, customer_id),
        recommendations=picks,
        similar=similar_customers(frame, customer_id, neighbours),
        churn_reasons=tuple(reason for reason in reasons if isinstance(reason, dict) and "key" in reason),
        churn_flags=tuple(row.get("churn_flags") or ()),
        cluster_traits=tuple(row.get("cluster_traits") or ()),
    )


def customer_profile(dataset: Dataset, customer_id: str, as_of: DateLike, **options: Any) -> CustomerStory:
    """:func:`customer_story` in the argument order of the issue and the notebooks (id before date)."""
    return customer_story(dataset, as_of, customer_id, **options)



# ---------------------------------------------------------------- the management table's filters

def filter_table(table: pl.DataFrame, *, segments: Sequence[str] = (), stages: Sequence[str] = (),
                 tiers: Sequence[str] = (), risk_tiers: Sequence[str] = (), owners: Sequence[str] = (),
                 regions: Sequence[str] = (), value_range: tuple[float, float] | None = None,
                 value_column: str = "revenue", query: str = "") -> pl.DataFrame:
    """The rows of :func:`customer_table` that pass every filter; an empty choice means "any".

    ``segments`` … ``regions`` keep rows whose ``segment``, ``stage``, ``tier``, ``risk_tier``, ``owner``,
    ``region`` is one of the given values (a filter on a column the table lacks is ignored);
    ``value_range`` keeps ``value_column`` within [low, high] (inclusive); ``query`` keeps the customers
    :func:`find_customers` finds. Row order is kept.
    """
    conditions = []
    for column, chosen in (("segment", segments), ("stage", stages), ("tier", tiers), ("risk_tier", risk_tiers),
                           ("owner", owners), ("region", regions)):
        if chosen and column in table.columns:
            conditions.append(pl.col(column).cast(pl.String).is_in(list(chosen)).fill_null(False))
    if value_range is not None and value_column in table.columns:
        low, high = value_range
        conditions.append(pl.col(value_column).is_between(low, high).fill_null(False))
    filtered = table.filter(*conditions) if conditions else table
    if query and query.strip():
        found = find_customers(filtered, query, limit=None)["customer_id"]
        filtered = filtered.filter(pl.col("customer_id").is_in(found.implode()))
    return filtered


def decode_reason(text: str | None) -> tuple[str, dict[str, Any]] | None:
    """``(key, params)`` of a reason JSON object ``{"key", "params"}`` (None when empty or malformed)."""
    value = _decoded(text)
    if not isinstance(value, dict) or not isinstance(value.get("key"), str):
        return None
    params = value.get("params")
    return value["key"], params if isinstance(params, dict) else {}
