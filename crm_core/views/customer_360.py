"""View-models of the Customer 360 page.

The customer search and one customer's profile, figures, timeline, monthly spend, next best products and
look-alikes.

The figures are the customer's row of the customer table (:func:`crm_core.views.customers.customer_base`,
the same one the Customers page shows); the rest is :func:`crm_core.customers.customer_story`. No texts:
reasons travel as translation keys with their parameters, and the page translates.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from crm_core.customers import (
    CustomerTable,
    Recommender,
    customer_story as story_of,
    decode_reason,
    find_customers,
    recommendation_level,
)
from crm_core.dataset import Dataset
from crm_core.export import mask_contacts
from crm_core.features import has_amounts
from crm_core.views.customers import HORIZON_DAYS, PRESET, Texts, customer_base, label

__all__ = ["RESULTS", "PROFILE_FIELDS", "CONTACTS", "PLACE", "Hit", "Search", "Pick", "Neighbour", "Customer360",
           "search", "customer_view", "timeline_table"]

RESULTS = 12   # search matches listed as buttons (the count says how many there are)
PROFILE_FIELDS = ("phone", "email", "industry", "channel", "region", "city", "owner", "signup_date", "gender",
                  "birthday")
CONTACTS = ("phone", "email")          # masked unless the user reveals them on screen
PLACE = ("region", "city", "industry")  # the line under the customer's name


@dataclass(frozen=True)
class Hit:
    """One search match.

    ``label``: id · name · city · masked phone; ``match``: how it matched (``id``, ``id_part``, ``name``,
    ``phone``: :func:`crm_core.customers.find_customers`).
    """

    customer_id: str
    label: str
    match: str


@dataclass(frozen=True)
class Search:
    """``total`` customers match the query; ``hits``: the first :data:`RESULTS` of them, best first."""

    total: int
    hits: tuple[Hit, ...]


def search(dataset: Dataset, as_of: datetime, query: str, *, base: CustomerTable | None = None) -> Search:
    """The customers of the table that match ``query`` (by id, name or phone digits)."""
    base = base if base is not None else customer_base(dataset, as_of)
    found = find_customers(base.frame, query, limit=None)
    hits = []
    for row in mask_contacts(found.head(RESULTS)).iter_rows(named=True):
        parts = [row["customer_id"], row.get("name"), row.get("city"), row.get("phone")]
        hits.append(Hit(row["customer_id"], " · ".join(str(part) for part in parts if part), row["match"]))
    return Search(found.height, tuple(hits))


@dataclass(frozen=True)
class Pick:
    """A next best product.

    ``rank``, ``item``, ``probability``, ``expected_value`` (None without amounts) and the ``reason``
    (translation key and params; None when there is none).
    """

    rank: int
    item: str
    probability: float
    expected_value: float | None
    reason: tuple[str, dict[str, Any]] | None


@dataclass(frozen=True)
class Neighbour:
    """A look-alike customer (:func:`crm_core.customers.similar_customers`)."""

    customer_id: str
    name: str | None
    segment: str | None
    orders: int
    revenue: float | None
    recency_days: int | None


@dataclass(frozen=True)
class Customer360:
    """Everything the Customer 360 page draws about one customer as of one date.

    ``profile``: the customer-table fields; ``figures``: the analysis columns of the customer's row
    (first/last order, orders, revenue, segment, stage, p_alive, churn …; a key is absent when its
    analysis did not run); ``contacts`` / ``masked_contacts``: phone and email as stored and masked;
    ``fields``: the :data:`PROFILE_FIELDS` with a value; ``events``: the timeline's rows, oldest first
    (:func:`crm_core.customers.timeline`), ``timeline`` the same as a frame; ``kinds`` / ``outcomes``:
    the distinct values on it; ``spend``: ``(month, orders, revenue)`` per month; ``level``: what is
    recommended (``product`` / ``category``; None without items); ``churn_reasons``: (key, params).
    """

    customer_id: str
    profile: Mapping[str, Any]
    figures: Mapping[str, Any]
    contacts: Mapping[str, Any]
    masked_contacts: Mapping[str, Any]
    fields: tuple[str, ...]
    place: tuple[str, ...]
    has_amounts: bool
    is_prospect: bool
    cluster_traits: tuple[str, ...]
    churn_reasons: tuple[tuple[str, dict[str, Any]], ...]
    churn_flags: tuple[str, ...]
    timeline: pl.DataFrame
    events: tuple[Mapping[str, Any], ...]
    kinds: tuple[str, ...]
    outcomes: tuple[str, ...]
    interactions: int
    spend: tuple[tuple[date, int, float | None], ...]
    level: str | None
    picks: tuple[Pick, ...]
    similar: tuple[Neighbour, ...]

    @property
    def name(self) -> str:
        """The customer's name, or the id when the data has none."""
        return self.profile.get("name") or self.customer_id

    @property
    def orders(self) -> int:
        return self.figures.get("orders") or 0

    def field_value(self, name: str, revealed: bool = False) -> Any:
        """A profile field's value; contacts masked unless ``revealed``."""
        if name in self.contacts:
            return (self.contacts if revealed else self.masked_contacts).get(name)
        return self.profile.get(name)


def customer_view(dataset: Dataset, as_of: datetime, customer_id: str, *, base: CustomerTable | None = None,
                  recommender: Recommender = Recommender()) -> Customer360:  # noqa: B008 - frozen
    """One customer's Customer 360 as of ``as_of``.

    ``recommender``: how the next products are found (:class:`crm_core.customers.Recommender`). Raises
    :class:`crm_core.customers.UnknownCustomer` when the id is not in the table.
    """
    base = base if base is not None else customer_base(dataset, as_of)
    story = story_of(dataset, as_of, customer_id, table=base, recommender=recommender, preset=PRESET,
                     horizon_days=HORIZON_DAYS)
    profile = story.profile
    contacts = {name: profile.get(name) for name in CONTACTS if name in profile}
    masked = (mask_contacts(pl.DataFrame([contacts], schema={name: pl.String for name in contacts})).row(0, named=True)
              if contacts else {})
    events = story.timeline
    return Customer360(
        customer_id=customer_id,
        profile=profile,
        figures=story.figures,
        contacts=contacts,
        masked_contacts=masked,
        fields=tuple(name for name in PROFILE_FIELDS if name in contacts or profile.get(name) not in (None, "")),
        place=tuple(str(profile[name]) for name in PLACE if profile.get(name)),
        has_amounts=has_amounts(dataset.transactions),
        is_prospect=story.is_prospect,
        cluster_traits=story.cluster_traits,
        churn_reasons=tuple((reason["key"], dict(reason.get("params") or {})) for reason in story.churn_reasons),
        churn_flags=story.churn_flags,
        timeline=events,
        events=tuple(events.iter_rows(named=True)),
        kinds=tuple(dict.fromkeys(events["kind"].to_list())),
        outcomes=tuple(sorted(set(events["outcome"].drop_nulls().to_list()))),
        interactions=int((events["source"] == "interaction").sum()),
        spend=tuple(story.monthly_spend.select("month", "orders", "revenue").iter_rows()),
        level=recommendation_level(dataset.transactions),
        picks=tuple(Pick(row["rank"], row["item"], row["probability"], row["expected_value"],
                         decode_reason(row["reason"])) for row in story.recommendations.iter_rows(named=True)),
        similar=tuple(Neighbour(row["customer_id"], row.get("name"), row.get("segment"), row["orders"],
                                row.get("revenue"), row.get("recency_days"))
                      for row in story.similar.iter_rows(named=True)),
    )


def timeline_table(view: Customer360, text: Texts) -> pl.DataFrame:
    """The timeline as a table, newest first, through the page's translator ``text``.

    Kinds and outcomes as labels (``customers.kind.*``, ``customers.outcome.*``), headers
    ``customers.c360.col.<name>``.
    """
    kinds = {kind: label(text, "customers.kind", kind) for kind in view.kinds if kind is not None}
    outcomes = {outcome: label(text, "customers.outcome", outcome) for outcome in view.outcomes}
    shown = view.timeline.sort("date", descending=True).with_columns(
        pl.col("kind").replace_strict(kinds, default=pl.col("kind"), return_dtype=pl.String),
        pl.col("outcome").replace_strict(outcomes, default=None, return_dtype=pl.String),
    ).drop("source")
    return shown.rename({name: text(f"customers.c360.col.{name}", {}) or name for name in shown.columns})
