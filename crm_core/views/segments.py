"""View-models of the Segments page: RFM segments and their rule map, the R × F grid, value tiers,
behaviour clusters, segment movement between two dates and the customer lists.

Every function is pure. The data functions take a :class:`~crm_core.dataset.Dataset` first, then plain
values: ``as_of`` (orders strictly before it count), ``preset`` (a key of
:data:`crm_core.segmentation.PRESETS`), ``rules`` (edited rules as the one-line text of
:func:`crm_core.segmentation.rules_to_text`, the text a share link carries; None = the preset's own, ``""`` =
an emptied map, where every customer falls to the catch-all),
``cuts`` (value-tier cuts in percent of revenue, as the page's slider gives them) and ``k`` (the number of
clusters; :func:`cluster_choice` gives the one the silhouette picks). Customers are
:func:`crm_core.features.customer_summary` of ``dataset.transactions``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import cast

import polars as pl

from crm_core.customers import known_customers
from crm_core.dataset import Dataset
from crm_core.features import customer_summary, has_amounts
from crm_core.segmentation import (
    CATCH_ALL,
    NO_SEGMENT,
    PRESETS,
    SEGMENT_KEYS,
    Rule,
    RuleError,
    clusters as fit_clusters,
    movement as flows_between,
    pareto_curve,
    rf_grid as rf_cells,
    rfm,
    rule_table,
    rules_from_table,
    rules_from_text,
    rules_to_text,
    score_map,
    segment_table,
    value_tiers,
)
from crm_core.views.movement import MovementSummary, movement_summary

__all__ = [
    "PRESET_ORDER", "K_CHOICES", "TIERS", "TIER_CUTS", "TIER_CUT_RANGE", "MOVEMENT_DAYS", "SCATTER_POINTS",
    "BIGGEST_MOVES", "PROFILE_COLUMNS",
    "SegmentView", "RFGrid", "RuleEditor", "RuleCoverage", "TierView", "ClusterChoice", "ClusterView",
    "MovementDates", "MovementSummary", "MoveCell", "MovementView", "CustomerGroup",
    "customer_count", "segments", "rf_grid", "readable_rules", "rule_editor", "edited_rules", "rule_coverage",
    "tiers", "cluster_choice", "clusters", "movement_dates", "movement", "movement_summary", "customer_list",
    "customer_group",
]

FIRST_PRESETS = ("standard", "shopify", "klaviyo", "pymc")
PRESET_ORDER: tuple[str, ...] = FIRST_PRESETS + tuple(name for name in PRESETS if name not in FIRST_PRESETS)
"""The presets in the order the page offers them: the four best-known maps first."""
K_CHOICES: tuple[str, ...] = ("auto",) + tuple(str(k) for k in range(2, 9))
"""Choices of the number of clusters: ``auto`` (best silhouette over 2..8, :func:`cluster_choice`) or a number."""
TIERS = ("high", "mid", "low")
TIER_CUTS = (80, 95)
"""Default value-tier cuts, in percent of revenue: the first 80 % are high value, the next 15 % mid."""
TIER_CUT_RANGE = (5, 100)
"""Lowest and highest cut the page offers, in percent."""
MOVEMENT_DAYS = 90
"""Default distance, in days, between the two dates the movement compares."""
SCATTER_POINTS = 5_000
"""At most this many customers (a random sample) in the cluster scatter."""
BIGGEST_MOVES = 15
"""Rows of the "biggest moves" table."""
PROFILE_COLUMNS = ("name", "region", "owner")
"""Customer-table fields a customer list shows when the data has them."""


# ---------------------------------------------------------------- shared steps

def _rules(preset: str, rules: str | None) -> tuple[Rule, ...] | None:
    """The edited rules of a share-link text (``""``: no rule at all), or None for the preset's own."""
    if rules is None:
        return None
    return rules_from_text(rules, PRESETS[preset].bins) if rules else ()


def _summary(dataset: Dataset, as_of: datetime) -> pl.DataFrame:
    return customer_summary(dataset.transactions, as_of)


def _scored(dataset: Dataset, as_of: datetime, preset: str, rules: str | None) -> pl.DataFrame:
    return rfm(_summary(dataset, as_of), preset=preset, rules=_rules(preset, rules))


def _with_prospects(dataset: Dataset, as_of: datetime, preset: str, people: pl.DataFrame) -> pl.DataFrame:
    """Add the customers without an order (from the customers table) as the preset's ``prospects`` segment,
    for presets that have one (Shopify); they have no scores, no revenue and no orders."""
    if "prospects" not in PRESETS[preset].segments or dataset.customers is None:
        return people
    waiting = known_customers(dataset, as_of).join(people.select("customer_id"), on="customer_id", how="anti")
    if waiting.height == 0:
        return people
    return pl.concat([people, waiting.with_columns(segment=pl.lit("prospects"), revenue=pl.lit(0.0),
                                                   orders=pl.lit(0))], how="diagonal_relaxed")


def _in_order(table: pl.DataFrame, order: tuple[str, ...]) -> pl.DataFrame:
    """The rows of a per-group table (groups in ``segment``) in the order of ``order``; other groups dropped."""
    positions = pl.DataFrame({"segment": list(order), "position": range(len(order))})
    return table.join(positions, on="segment").sort("position").drop("position")


def customer_count(dataset: Dataset, as_of: datetime) -> int:
    """Customers with a purchase in the data before ``as_of`` (the rows of the customer summary)."""
    return _summary(dataset, as_of).height


# ---------------------------------------------------------------- segments

@dataclass(frozen=True)
class SegmentView:
    """The segments of one map as the page draws them.

    ``table``: :func:`crm_core.segmentation.segment_table` (prospects included for Shopify) in ``order``:
    the preset's segments best first, then segments only edited rules name (sorted), the catch-all last.
    ``colour_keys``: the keys a colour is given by, best first (the preset's list, then ``order``), so a
    segment keeps its colour whatever is present. ``customers`` and ``revenue`` count the scored customers
    (with an order); ``top`` is the segment with the largest revenue and its shares.
    """

    customers: int
    revenue: float
    table: pl.DataFrame
    order: tuple[str, ...]
    colour_keys: tuple[str, ...]
    top: str | None
    top_share_of_revenue: float | None
    top_share_of_customers: float | None


def segments(dataset: Dataset, as_of: datetime, preset: str, rules: str | None = None) -> SegmentView:
    """Segment sizes, revenues and recommended actions of ``preset`` (or the edited ``rules``)."""
    chosen = PRESETS[preset]
    people = _scored(dataset, as_of, preset, rules)
    by_segment = segment_table(_with_prospects(dataset, as_of, preset, people))
    present = by_segment["segment"].to_list()
    order = [key for key in chosen.segments if key in set(present)]
    order += sorted(key for key in present if key not in order and key != CATCH_ALL)
    order += [CATCH_ALL] if CATCH_ALL in present else []
    top = by_segment.row(0, named=True) if by_segment.height else {}
    return SegmentView(
        customers=people.height,
        revenue=float(people["revenue"].sum()),
        table=_in_order(by_segment, tuple(order)),
        order=tuple(order),
        colour_keys=tuple(chosen.segments) + tuple(order),
        top=top.get("segment"),
        top_share_of_revenue=top.get("share_of_revenue"),
        top_share_of_customers=top.get("share_of_customers"),
    )


@dataclass(frozen=True)
class RFGrid:
    """Customers and mean net revenue per (R, F) cell: row ``i`` is R = ``r_scores[i]`` (highest first),
    column ``j`` is F = ``f_scores[j]``; empty cells have 0 customers and a None average."""

    bins: int
    r_scores: tuple[int, ...]
    f_scores: tuple[int, ...]
    customers: tuple[tuple[int, ...], ...]
    avg_revenue: tuple[tuple[float | None, ...], ...]


def rf_grid(dataset: Dataset, as_of: datetime, preset: str, rules: str | None = None) -> RFGrid:
    """The R × F grid of the preset's scores (:func:`crm_core.segmentation.rf_grid`), every cell included."""
    bins = PRESETS[preset].bins
    cells = rf_cells(_scored(dataset, as_of, preset, rules), bins)
    lookup = {(r, f): (n, avg) for r, f, n, avg in cells.select("r_score", "f_score", "customers",
                                                                 "avg_revenue").iter_rows()}
    r_scores = tuple(range(bins, 0, -1))  # highest R on top
    f_scores = tuple(range(1, bins + 1))
    return RFGrid(
        bins=bins, r_scores=r_scores, f_scores=f_scores,
        customers=tuple(tuple(lookup[(r, f)][0] for f in f_scores) for r in r_scores),
        avg_revenue=tuple(tuple(lookup[(r, f)][1] for f in f_scores) for r in r_scores),
    )


# ---------------------------------------------------------------- the rule editor

def readable_rules(preset: str, rules: str) -> bool:
    """Whether a share link's rule text is valid for ``preset``'s scale (``""``, the preset's own, is)."""
    try:
        return rules == "" or bool(rules_from_text(rules, PRESETS[preset].bins))
    except RuleError:
        return False


@dataclass(frozen=True)
class RuleEditor:
    """What the rule editor starts from: the rule table (:func:`crm_core.segmentation.rule_table`; without
    the (F+M)/2 bounds unless a rule uses them), the score scale and the segments a rule can name (the
    preset's first, then every other known segment; never ``prospects`` or ``none``, which no score gives)."""

    table: pl.DataFrame
    bins: int
    segment_options: tuple[str, ...]


def rule_editor(preset: str, rules: str | None = None) -> RuleEditor:
    """The editor of ``preset``'s rule map, filled with ``rules`` (None: the preset's own)."""
    chosen = PRESETS[preset]
    edited = _rules(preset, rules)
    table = rule_table(replace(chosen, rules=edited) if edited is not None else preset)
    if table["fm_min"].null_count() == table.height and table["fm_max"].null_count() == table.height:
        table = table.drop("fm_min", "fm_max")  # (F+M)/2 bounds only matter for Shopify-style rules
    options = [key for key in chosen.segments if key != "prospects"]
    options += [key for key in SEGMENT_KEYS if key not in chosen.segments and key not in (NO_SEGMENT, "prospects")]
    return RuleEditor(table=table, bins=chosen.bins, segment_options=tuple(options))


def edited_rules(preset: str, table: pl.DataFrame) -> str | None:
    """The rules of an edited rule table as share-link text, None when they are the preset's own.

    Raises :class:`crm_core.segmentation.RuleError` (a translation key and parameters) when the table is
    not a valid rule map.
    """
    chosen = PRESETS[preset]
    rules = rules_from_table(table, chosen.bins)
    return None if rules == chosen.rules else rules_to_text(rules)


@dataclass(frozen=True)
class RuleCoverage:
    """How many of the ``codes`` score codes (bins³) no rule matches (they fall to the catch-all)."""

    uncovered: int
    codes: int


def rule_coverage(preset: str, rules: str | None = None) -> RuleCoverage:
    """The score codes of ``preset`` (or the edited ``rules``) that fall to :data:`CATCH_ALL`."""
    codes = score_map(preset, rules=_rules(preset, rules))
    return RuleCoverage(uncovered=int((codes["segment"] == CATCH_ALL).sum()), codes=codes.height)


# ---------------------------------------------------------------- value tiers

@dataclass(frozen=True)
class TierView:
    """Value tiers (:func:`crm_core.segmentation.value_tiers`) at ``cuts`` (fractions of revenue).

    ``table``: :func:`crm_core.segmentation.segment_table` per tier (the tier in ``segment``), high to low,
    only the tiers present (``tiers``); ``ends``: the cumulative share of customers where each tier ends;
    ``high_share``: the share of customers in the high tier; ``curve``: the Pareto curve's points.
    """

    cuts: tuple[float, float]
    table: pl.DataFrame
    tiers: tuple[str, ...]
    ends: tuple[float, ...]
    high_share: float
    curve: pl.DataFrame


def tiers(dataset: Dataset, as_of: datetime, cuts: tuple[int, int] = TIER_CUTS) -> TierView:
    """Pareto value tiers with cuts in percent; raises :class:`crm_core.features.MissingAmounts` without amounts."""
    fractions = (cuts[0] / 100, cuts[1] / 100)
    tiered = value_tiers(_summary(dataset, as_of), fractions)
    # segment_table aggregates whatever grouping sits in the ``segment`` column: here the tier.
    table = _in_order(segment_table(tiered.with_columns(pl.col("tier").alias("segment"))), TIERS)
    return TierView(
        cuts=fractions,
        table=table,
        tiers=tuple(table["segment"].to_list()),
        ends=tuple(table["share_of_customers"].cum_sum().clip(upper_bound=1.0).to_list()),
        high_share=float(table.filter(pl.col("segment") == "high")["share_of_customers"].sum()),
        curve=pareto_curve(tiered),
    )


# ---------------------------------------------------------------- clusters

@dataclass(frozen=True)
class ClusterChoice:
    """The number of clusters the mean silhouette picks (:func:`crm_core.segmentation.clusters` without
    ``k``) and the silhouette of every k tried (empty when too few distinct customers)."""

    k: int
    silhouette: dict[int, float]


def cluster_choice(dataset: Dataset, as_of: datetime) -> ClusterChoice:
    """The silhouette's choice of k. Pass its ``k`` to :func:`clusters` and :func:`customer_group`: with the
    same seed, k-means with that k is the fit the automatic choice kept."""
    result = fit_clusters(_summary(dataset, as_of))
    return ClusterChoice(k=result.k, silhouette=dict(result.silhouette))


@dataclass(frozen=True)
class ClusterView:
    """k-means behaviour clusters (:func:`crm_core.segmentation.clusters`) as the page draws them.

    ``descriptions``: cluster -> trait keys (``segmentation.trait.<key>``); ``table``: segment_table per
    cluster (the number, as text, in ``segment``), by number; ``points``: the scatter's customers
    (``customer_id, recency_days, revenue, orders, cluster``): those with a positive revenue (a log axis
    cannot show the others), at most :data:`SCATTER_POINTS` drawn at random; ``dropped`` counts the
    customers left out for their revenue, ``customers`` all of them.
    """

    k: int
    descriptions: dict[int, list[str]]
    table: pl.DataFrame
    points: pl.DataFrame
    customers: int
    dropped: int


def clusters(dataset: Dataset, as_of: datetime, k: int, scatter_points: int = SCATTER_POINTS) -> ClusterView:
    """Behaviour clusters with ``k`` clusters (see :func:`cluster_choice` for the silhouette's k)."""
    summary = _summary(dataset, as_of)
    result = fit_clusters(summary, k=k)
    labelled = summary.join(result.labels, on="customer_id", how="left")
    table = segment_table(labelled.with_columns(pl.col("cluster").cast(pl.String).alias("segment")))
    points = labelled.filter(pl.col("revenue") > 0)
    dropped = summary.height - points.height
    if points.height > scatter_points:
        points = points.sample(n=scatter_points, seed=0)
    return ClusterView(
        k=result.k,
        descriptions=result.descriptions,
        table=table.sort(pl.col("segment").cast(pl.Int64)),
        points=points.select("customer_id", "recency_days", "revenue", "orders", "cluster"),
        customers=summary.height,
        dropped=dropped,
    )


# ---------------------------------------------------------------- movement between two dates

@dataclass(frozen=True)
class MovementDates:
    """The earlier date a movement can start from (``lowest``..``highest``) and its default."""

    lowest: date
    highest: date
    default: date


def movement_dates(history: Dataset, as_of: datetime, days: int = MOVEMENT_DAYS) -> MovementDates | None:
    """From the day after the first order to the day before ``as_of``; the default ``days`` before ``as_of``.
    None when there is no such day."""
    first_order = cast("datetime | None", history.transactions["order_date"].min())
    if first_order is None:
        return None
    lowest = first_order.date() + timedelta(days=1)
    highest = as_of.date() - timedelta(days=1)
    if highest < lowest:
        return None
    return MovementDates(lowest, highest, min(max(as_of.date() - timedelta(days=days), lowest), highest))


@dataclass(frozen=True)
class MoveCell:
    """One from × to cell: customers, their net revenue at the later date, and their share of the row."""

    customers: int
    revenue: float
    share: float


@dataclass(frozen=True)
class MovementView:
    """Segment movement between two dates (:func:`crm_core.segmentation.movement`).

    ``ranked``: every segment key best first (the preset's, then others sorted, then ``other`` and ``none``);
    ``rows_from`` / ``cols_to``: those present at the start / at the end; ``cells[i][j]``: from
    ``rows_from[i]`` to ``cols_to[j]`` (None: nobody); ``links``: the flows with a positive ``measure``;
    ``biggest``: the :data:`BIGGEST_MOVES` largest changes of segment by ``measure`` (newcomers left out).
    """

    flows: pl.DataFrame
    summary: MovementSummary
    ranked: tuple[str, ...]
    rows_from: tuple[str, ...]
    cols_to: tuple[str, ...]
    cells: tuple[tuple[MoveCell | None, ...], ...]
    links: pl.DataFrame
    biggest: pl.DataFrame


def movement(history: Dataset, from_as_of: datetime, to_as_of: datetime, preset: str, rules: str | None = None,
             measure: str = "customers", biggest: int = BIGGEST_MOVES) -> MovementView:
    """Who moved from which segment to which between ``from_as_of`` and ``to_as_of`` (both scored on
    ``history``, so that a customer's older orders count on both sides); ``measure``: customers or revenue."""
    chosen = PRESETS[preset]
    before = rfm(_summary(history, from_as_of), preset=preset, rules=_rules(preset, rules))
    flows = flows_between(before, _scored(history, to_as_of, preset, rules))
    seen_from = set(flows["segment_from"].to_list())
    seen_to = set(flows["segment_to"].to_list())
    ends = (CATCH_ALL, NO_SEGMENT)
    ranked = [key for key in chosen.segments if key not in ends]
    ranked += sorted((seen_from | seen_to) - set(ranked) - set(ends)) + list(ends)
    rows_from = tuple(key for key in ranked if key in seen_from)
    cols_to = tuple(key for key in ranked if key in seen_to)
    cell = {(source, target): (n, r) for source, target, n, r in
            flows.select("segment_from", "segment_to", "customers", "revenue").iter_rows()}
    totals = dict(flows.group_by("segment_from").agg(pl.col("customers").sum()).iter_rows())
    cells = tuple(tuple(None if (source, target) not in cell else
                        MoveCell(cell[source, target][0], cell[source, target][1],
                                 cell[source, target][0] / totals[source]) for target in cols_to)
                  for source in rows_from)
    changed = (pl.col("segment_from") != pl.col("segment_to")) & (pl.col("segment_from") != NO_SEGMENT)
    return MovementView(
        flows=flows,
        summary=movement_summary(flows),
        ranked=tuple(ranked),
        rows_from=rows_from,
        cols_to=cols_to,
        cells=cells,
        links=flows.filter(pl.col(measure) > 0),
        biggest=flows.filter(changed).sort([measure, "segment_from", "segment_to"],
                                           descending=[True, False, False]).head(biggest),
    )


# ---------------------------------------------------------------- customer lists

def customer_list(dataset: Dataset, as_of: datetime, preset: str, rules: str | None, cuts: tuple[int, int],
                  k: int) -> pl.DataFrame:
    """One row per customer: scores, segment, value tier (null without amounts), cluster and, when the
    customers table has them, :data:`PROFILE_COLUMNS`; largest revenue first. Prospects are included for
    presets that have that segment."""
    people = _with_prospects(dataset, as_of, preset, _scored(dataset, as_of, preset, rules))
    summary = _summary(dataset, as_of)
    if has_amounts(dataset.transactions):  # value tiers are shares of revenue
        tiered = value_tiers(summary, (cuts[0] / 100, cuts[1] / 100))
        people = people.join(tiered.select("customer_id", "tier"), on="customer_id", how="left")
    else:
        people = people.with_columns(tier=pl.lit(None, dtype=pl.String))
    people = people.join(fit_clusters(summary, k=k).labels, on="customer_id", how="left")
    profile = [c for c in PROFILE_COLUMNS if dataset.has("customers", c)]
    if profile and dataset.customers is not None:  # a profile column comes from the customer table
        known = dataset.customers.select("customer_id", *profile).unique("customer_id", keep="first")
        people = people.join(known, on="customer_id", how="left")
    return people.select("customer_id", *profile, "segment", "tier", "cluster", "revenue", "orders", "recency_days",
                         "last_order", "r_score", "f_score", "m_score", "rfm_code").sort(
        ["revenue", "customer_id"], descending=[True, False])


@dataclass(frozen=True)
class CustomerGroup:
    """The customers of one segment, tier or cluster (the columns of :func:`customer_list`), their net
    revenue, the profile fields the data lacks and, if any, the translation key that says why."""

    rows: pl.DataFrame
    revenue: float
    missing_profile: tuple[str, ...]
    profile_note: str | None

    def members(self, by: str) -> pl.DataFrame:
        """``customer_id, stratum``: a campaign's members, balanced on segment (or, for a segment's list, on
        value tier; none without amounts)."""
        stratum = "tier" if by == "segment" else "segment"
        return self.rows.select("customer_id", pl.col(stratum).cast(pl.String).fill_null("").alias("stratum"))


def customer_group(dataset: Dataset, as_of: datetime, preset: str, rules: str | None, cuts: tuple[int, int], k: int,
                   by: str, pick: str) -> CustomerGroup:
    """The customers whose ``by`` (``segment``, ``tier`` or ``cluster``) is ``pick`` (a cluster's number as text)."""
    listing = customer_list(dataset, as_of, preset, rules, cuts, k)
    rows = listing.filter(pl.col(by).cast(pl.String) == pick)
    missing = tuple(c for c in PROFILE_COLUMNS if c not in listing.columns)
    note = None
    if missing:
        note = ("segmentation.page.list_no_profile" if dataset.customers is None
                else "segmentation.page.list_some_profile")
    return CustomerGroup(rows=rows, revenue=float(rows["revenue"].sum()), missing_profile=missing, profile_note=note)
