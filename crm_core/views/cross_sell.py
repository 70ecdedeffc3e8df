"""View-models of the Cross-sell page: baskets, rules, the affinity map, "also bought", offers, target lists.

Every function takes the (filtered) :class:`~crm_core.dataset.Dataset` first, then ``as_of`` (only lines
strictly before it count) and plain values, and returns a frame or a frozen dataclass ready to draw. The
analytics are :mod:`crm_core.cross_sell`'s; this module holds the page's policy: which thresholds the
controls offer, how many rules are mined and shown, how the recommender is checked out of time and which
method the recommendations then use (:func:`recommender_card`), how large a segment gets recommendations,
and which customer profile columns a target list carries. No texts: reasons travel as translation keys with
their parameters, and the page translates.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import polars as pl

from crm_core import cross_sell as cs
from crm_core.cross_sell import BASKETS_BY, LEVELS, SOURCES
from crm_core.dataset import Dataset
from crm_core.features import before, customer_summary
from crm_core.segmentation import PRESETS, rfm

__all__ = [
    "BASKETS_BY", "LEVELS", "SOURCES",
    "Control", "SUPPORT_PCT", "CONFIDENCE_PCT", "LIFT", "MAX_LEN", "ALSO_TOP", "AFFINITY_TOP", "OFFERS_PER_CUSTOMER",
    "MINED_LIFT", "RULES_SHOWN", "SEGMENT_CAP", "CUSTOMER_PICKER_MAX", "SEGMENT_PRESET",
    "OFFER_MIX_ITEMS", "RULE_METRICS_SHOWN", "RULE_METRICS_DOWNLOADED", "PROFILE",
    "RECOMMENDER", "BASELINE", "BASKET_SUPPORT", "EVALUATION_HORIZON_DAYS", "EVALUATION_K", "EVALUATION_CUSTOMERS",
    "EVALUATION_SEED", "MIN_EVALUATED",
    "BasketSetup", "BasketOverview", "Pair", "RuleView", "AffinityMap", "AlsoBought", "CustomerChoices",
    "RecommenderCard", "Offers", "TargetList",
    "basket_setup", "basket_overview", "rules", "affinity_map", "also_bought", "customer_choices",
    "segment_choices", "evaluation_window", "recommender_card", "offers", "offer_table", "targets",
]


@dataclass(frozen=True)
class Control:
    """The range, default and step of a numeric control (a slider)."""

    low: Any
    high: Any
    default: Any
    step: Any = 1


# The rule thresholds of the Association rules tab (support and confidence in percent); they also pick the
# rules that recommendations use. Types matter: they decide how a value reads back from a link.
SUPPORT_PCT = Control(0.1, 20.0, 1.0, 0.1)
CONFIDENCE_PCT = Control(0, 100, 10, 1)
LIFT = Control(1.0, 10.0, 1.0, 0.1)
MAX_LEN = (2, 3)                          # items per rule (antecedent plus consequent); the last is the default
ALSO_TOP = Control(3, 30, 10, 1)          # rows of "customers who buy this also buy"
AFFINITY_TOP = Control(3, 30, 15, 1)      # items in the lift heatmap (capped at the number of items)
OFFERS_PER_CUSTOMER = Control(1, 10, 5, 1)

MINED_LIFT = 1.0               # rules are mined once at this lift and confidence 0; the thresholds filter them
RULES_SHOWN = 1_000            # rows of the rules table on screen (the download has all)
RECOMMENDER = "co_bought"      # the method recommendations use when it beats the baseline out of time
BASELINE = "popular"           # … and the one they fall back to when it does not
BASKET_SUPPORT = 0.01          # order baskets when a pair of items is in this share of orders, else customers
EVALUATION_HORIZON_DAYS = 90   # the out-of-time window before the analysis date (at most half the data's span)
EVALUATION_K = 5               # the card's hit@k and recall@k
EVALUATION_CUSTOMERS = 5_000   # evaluated customers at most (a seeded sample): the check stays quick
EVALUATION_SEED = 0
MIN_EVALUATED = 30             # fewer evaluated customers cannot tell the methods apart
SEGMENT_CAP = 5_000            # customers of a segment that get recommendations (largest revenue first)
CUSTOMER_PICKER_MAX = 20_000   # above this many customers the customer is typed, not picked
SEGMENT_PRESET = "standard"    # the segment map a segment's recommendations come from
OFFER_MIX_ITEMS = 15           # bars of a segment's offer mix
RULE_METRICS_SHOWN = ("support", "confidence", "lift", "conviction", "leverage", "support_count")
RULE_METRICS_DOWNLOADED = ("zhangs_metric", "antecedent_support", "consequent_support", "antecedent_count",
                           "consequent_count", "baskets")   # in the download only
PROFILE = ("name", "region", "owner")   # customers-table columns a target list carries, when present


# ---------------------------------------------------------------- baskets

@dataclass(frozen=True)
class BasketSetup:
    """What the data allows.

    The item levels it has (in :data:`LEVELS` order), those it lacks, and whether orders have an id
    (without one an order is one customer's purchases on one calendar day).
    """

    levels: tuple[str, ...]
    missing_levels: tuple[str, ...]
    has_order_id: bool


def basket_setup(dataset: Dataset) -> BasketSetup:
    """The item levels and order ids the transactions carry."""
    levels = tuple(level for level in LEVELS if dataset.has("transactions", level))
    return BasketSetup(levels, tuple(level for level in LEVELS if level not in levels),
                       dataset.has("transactions", "order_id"))


@dataclass(frozen=True)
class BasketOverview:
    """Baskets with an item, those with two or more, and every item with its number of baskets (most first)."""

    baskets: int
    multi: int
    items: tuple[str, ...]
    item_baskets: tuple[int, ...]

    @property
    def multi_share(self) -> float:
        return self.multi / self.baskets

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def has_pairs(self) -> bool:
        """Whether at least two items were bought (the affinity map needs a pair)."""
        return self.n_items >= 2

    @property
    def affinity_top(self) -> Control | None:
        """The "items in the map" control, or None when every item fits (few items: no choice to make)."""
        if self.n_items <= AFFINITY_TOP.low:
            return None
        return Control(AFFINITY_TOP.low, min(AFFINITY_TOP.high, self.n_items),
                       min(AFFINITY_TOP.default, self.n_items), AFFINITY_TOP.step)


def basket_overview(dataset: Dataset, as_of: datetime, level: str, by: str) -> BasketOverview:
    """Counts of :func:`crm_core.cross_sell.baskets` (``level`` items in ``by`` baskets before ``as_of``)."""
    long = cs.baskets(dataset.transactions, level, by, as_of)
    sizes = long.group_by("basket").agg(pl.len().alias("items"))
    items = long.group_by("item").agg(pl.len().alias("baskets")).sort(["baskets", "item"], descending=[True, False])
    return BasketOverview(sizes.height, int((sizes["items"] > 1).sum()), tuple(items["item"].to_list()),
                          tuple(items["baskets"].to_list()))


# ---------------------------------------------------------------- rules

def _thresholds(min_support_pct: float, min_confidence_pct: float) -> tuple[float, float]:
    """The percent controls as shares."""
    return round(min_support_pct / 100, 6), min_confidence_pct / 100


def _rules_at(dataset: Dataset, as_of: datetime, level: str, by: str, min_support_pct: float, max_len: int,
              min_confidence_pct: float, min_lift: float) -> pl.DataFrame:
    """``association_rules`` at these thresholds.

    Mined at confidence 0 and :data:`MINED_LIFT`, then filtered: the same rules as mining at the thresholds.
    """
    min_support, min_confidence = _thresholds(min_support_pct, min_confidence_pct)
    mined = cs.association_rules(dataset.transactions, min_support=min_support, min_confidence=0.0, min_lift=MINED_LIFT,
                              level=level, by=by, max_len=max_len, as_of=as_of)
    return mined.filter((pl.col("confidence") >= min_confidence) & (pl.col("lift") >= min_lift))


@dataclass(frozen=True)
class Pair:
    """A one-to-one rule ``antecedent → consequent``."""

    antecedent: str
    consequent: str
    lift: float
    confidence: float


@dataclass(frozen=True)
class RuleView:
    """The rules at the thresholds and those matching the search.

    ``table`` holds every matching rule, strongest lift first: ``antecedents`` and ``consequents`` as
    joined text, then :data:`RULE_METRICS_SHOWN` and :data:`RULE_METRICS_DOWNLOADED`; conviction is null
    where it is ∞ (a rule that never fails), which spreadsheets cannot hold.
    """

    count: int                       # rules at the thresholds
    query: str                       # the search, stripped ("" = none)
    table: pl.DataFrame              # the matching rules
    conviction_blank: bool           # whether a matching rule has an infinite (blanked) conviction
    strongest: Pair | None           # the one-to-one rule with the highest lift, if any

    @property
    def found(self) -> int:
        return self.table.height

    @property
    def shown(self) -> int:
        return min(self.found, RULES_SHOWN)

    @property
    def on_screen(self) -> pl.DataFrame:
        """The first :data:`RULES_SHOWN` rules with the on-screen columns."""
        return self.table.head(RULES_SHOWN).select("antecedents", "consequents", *RULE_METRICS_SHOWN)


def rules(dataset: Dataset, as_of: datetime, level: str, by: str, min_support_pct: float, max_len: int,
          min_confidence_pct: float, min_lift: float, query: str = "", separator: str = ", ") -> RuleView:
    """Association rules (:func:`crm_core.cross_sell.association_rules`) at these thresholds, searched.

    ``query`` keeps the rules with an item on either side whose name contains it (case-insensitive);
    ``separator`` joins the items of a side.
    """
    found = _rules_at(dataset, as_of, level, by, min_support_pct, max_len, min_confidence_pct, min_lift)
    pairs = found.filter((pl.col("antecedents").list.len() == 1) & (pl.col("consequents").list.len() == 1))
    strongest = None
    if pairs.height:   # rules come sorted by lift, strongest first
        first = pairs.row(0, named=True)
        strongest = Pair(first["antecedents"][0], first["consequents"][0], first["lift"], first["confidence"])
    count = found.height
    needle = query.strip()
    if needle:
        found = found.filter(pl.concat_list("antecedents", "consequents").list.eval(
            pl.element().str.to_lowercase().str.contains(needle.lower(), literal=True)).list.any())
    table = found.select(
        pl.col("antecedents").list.join(separator),
        pl.col("consequents").list.join(separator),
        *RULE_METRICS_SHOWN, *RULE_METRICS_DOWNLOADED,
    ).with_columns(pl.when(pl.col("conviction").is_infinite()).then(None).otherwise(pl.col("conviction"))
                   .alias("conviction"))
    return RuleView(count, needle, table, bool(found["conviction"].is_infinite().any()), strongest)


# ---------------------------------------------------------------- affinity map

@dataclass(frozen=True)
class AffinityMap:
    """Lift, support and confidence of ``row → column`` between ``items`` (most frequent first).

    None where the pair is never in one basket, and on the diagonal.
    """

    items: tuple[str, ...]
    lift: tuple[tuple[float | None, ...], ...]
    support: tuple[tuple[float | None, ...], ...]
    confidence: tuple[tuple[float | None, ...], ...]


def affinity_map(dataset: Dataset, as_of: datetime, level: str, by: str, top: int) -> AffinityMap:
    """:func:`crm_core.cross_sell.lift_matrix` of the ``top`` most frequent items, as grids for a heatmap."""
    matrix = cs.lift_matrix(dataset.transactions, top=top, level=level, by=by, as_of=as_of)
    items = tuple(dict.fromkeys(matrix["item_a"].to_list()))
    cells = {(a, b): (lift, support, confidence) for a, b, lift, support, confidence in matrix.iter_rows()}

    def grid(metric: int) -> tuple[tuple[float | None, ...], ...]:
        return tuple(tuple(cells[(row, column)][metric] for column in items) for row in items)

    return AffinityMap(items, grid(0), grid(1), grid(2))


# ---------------------------------------------------------------- customers who buy this also buy

@dataclass(frozen=True)
class AlsoBought:
    """The baskets holding ``item`` and the items most often beside it.

    ``others``: ``item, together, share, base_share, lift`` (:func:`crm_core.cross_sell.also_bought`).
    """

    item: str
    holders: int
    baskets: int
    others: pl.DataFrame

    @property
    def holder_share(self) -> float:
        return self.holders / self.baskets


def also_bought(dataset: Dataset, as_of: datetime, level: str, by: str, item: str, top: int) -> AlsoBought:
    """"Customers who buy this also buy" for ``item``: the first ``top`` other items by share."""
    long = cs.baskets(dataset.transactions, level, by, as_of)
    holders = long.filter(pl.col("item") == item).height
    others = cs.also_bought(dataset.transactions, item, level=level, by=by, top=top, as_of=as_of)
    return AlsoBought(item, holders, long["basket"].n_unique(), others)


# ---------------------------------------------------------------- recommendations

@dataclass(frozen=True)
class CustomerChoices:
    """The customers recommendations can be for.

    Ids by net revenue (largest first), their names where the customers table has them, and whether there
    are too many to pick from a list (``typed``: the id is typed instead).
    """

    ids: tuple[str, ...]
    names: Mapping[str, str]
    typed: bool


def customer_choices(dataset: Dataset, as_of: datetime) -> CustomerChoices:
    """The customers with an order before ``as_of``, to choose whom recommendations are for."""
    summary = customer_summary(dataset.transactions, as_of)
    ids = tuple(summary.sort(["revenue", "customer_id"], descending=[True, False])["customer_id"].to_list())
    names: dict[str, str] = {}
    if dataset.customers is not None and dataset.has("customers", "name"):
        known = dataset.customers.select("customer_id", "name").drop_nulls().unique("customer_id", keep="first")
        names = dict(known.iter_rows())
    return CustomerChoices(ids, names, len(ids) > CUSTOMER_PICKER_MAX)


def _segmented(dataset: Dataset, as_of: datetime) -> pl.DataFrame:
    return rfm(customer_summary(dataset.transactions, as_of), preset=SEGMENT_PRESET).select(
        "customer_id", "segment", "revenue")


def segment_choices(dataset: Dataset, as_of: datetime) -> tuple[tuple[str, int], ...]:
    """``(segment, customers)`` of the :data:`SEGMENT_PRESET` map, in its order, for segments with customers."""
    sizes = dict(_segmented(dataset, as_of).group_by("segment").agg(pl.len()).iter_rows())
    return tuple((segment, sizes[segment]) for segment in PRESETS[SEGMENT_PRESET].segments if segment in sizes)


@dataclass(frozen=True)
class RecommenderCard:
    """The Recommendations tab's model card, and the method its recommendations therefore use.

    ``evaluation``: :func:`crm_core.cross_sell.evaluate_recommender` of :data:`RECOMMENDER` against the
    popularity baseline, fitted before ``cutoff`` and scored on the ``horizon_days`` up to the analysis date
    ``end`` (None when the data span too few days). ``by``: the basket level the recommender learns from,
    chosen for these data (:func:`crm_core.cross_sell.basket_level`). ``verdict``:

    - ``"beats"``: the recommender's hit@k is above the baseline's — recommendations use it;
    - ``"falls_back"``: it is not — recommendations are the baseline's (``method`` = :data:`BASELINE`);
    - ``"too_few"``: fewer than :data:`MIN_EVALUATED` customers could be evaluated, too few to tell;
    - ``"unmeasured"``: none could be.

    In the last two cases the recommender is used, and the card says that it could not be checked.
    """

    level: str
    by: str
    cutoff: datetime | None
    horizon_days: int
    end: datetime
    evaluation: cs.RecommenderEvaluation | None

    @property
    def k(self) -> int:
        return EVALUATION_K if self.evaluation is None else self.evaluation.k

    @property
    def customers(self) -> int:
        return 0 if self.evaluation is None else self.evaluation.customers

    @property
    def sampled(self) -> bool:
        """Whether the evaluated customers are a sample of those who qualified."""
        return self.evaluation is not None and self.evaluation.customers < self.evaluation.eligible

    @property
    def verdict(self) -> str:
        if self.customers == 0:
            return "unmeasured"
        if self.customers < MIN_EVALUATED:
            return "too_few"
        return "beats" if self.evaluation is not None and self.evaluation.beats_popularity else "falls_back"

    @property
    def method(self) -> str:
        """The method the recommendations use: never the one that measured worse."""
        return BASELINE if self.verdict == "falls_back" else RECOMMENDER

    def rows(self) -> tuple[tuple[str, float, float], ...]:
        """``(method, hit@k, recall@k)`` of the recommender and the baseline (empty when unmeasured)."""
        found = self.evaluation
        if found is None or found.recommender is None or found.popularity is None:
            return ()
        return ((RECOMMENDER, found.recommender.hit_rate, found.recommender.recall),
                (BASELINE, found.popularity.hit_rate, found.popularity.recall))


def evaluation_window(dataset: Dataset, as_of: datetime) -> tuple[datetime, int] | None:
    """The card's cut-off and horizon: :data:`EVALUATION_HORIZON_DAYS` before ``as_of``, or half the days
    from the first order to ``as_of`` when that is shorter (as much history to learn from as future to
    check); None when that is under a day."""
    first = cast("datetime | None", dataset.transactions["order_date"].min())
    if first is None:
        return None
    horizon = min(EVALUATION_HORIZON_DAYS, (as_of - first).days // 2)
    return (as_of - timedelta(days=horizon), horizon) if horizon >= 1 else None


def recommender_card(dataset: Dataset, as_of: datetime, level: str) -> RecommenderCard:
    """The out-of-time check of the recommendations (:func:`crm_core.cross_sell.evaluate_recommender`).

    The basket level is chosen on the lines before ``as_of`` (:data:`BASKET_SUPPORT`); the check fits on the
    lines before the cut-off of :func:`evaluation_window` and scores hit@:data:`EVALUATION_K` and
    recall@:data:`EVALUATION_K` on what customers bought from then to ``as_of``, for at most
    :data:`EVALUATION_CUSTOMERS` of them (seeded).
    """
    by = cs.basket_level(dataset.transactions, level, BASKET_SUPPORT, as_of)
    window = evaluation_window(dataset, as_of)
    if window is None:
        return RecommenderCard(level, by, None, 0, as_of, None)
    cutoff, horizon = window
    found = cs.evaluate_recommender(before(dataset.transactions, as_of), cutoff, horizon, k=EVALUATION_K,
                                    level=level, by=by, method=RECOMMENDER, max_customers=EVALUATION_CUSTOMERS,
                                    seed=EVALUATION_SEED)
    return RecommenderCard(level, by, cutoff, horizon, as_of, found)


@dataclass(frozen=True)
class Offers:
    """Recommendations for one customer or a segment.

    ``recommended``: :data:`crm_core.cross_sell.RECOMMENDATION_SCHEMA` plus ``reason_id``, the index of
    the row's reason in ``reasons`` (each distinct ``(translation key, params)`` once, to translate once).
    ``asked`` is the number of customers asked for (1, or the segment's size); a segment is cut to its
    :data:`SEGMENT_CAP` largest by revenue. ``history``: the items the one customer already bought.
    ``mix`` (drawn for segments): the :data:`OFFER_MIX_ITEMS` items most often among the offers, with
    ``customers`` and the summed ``expected_value``. ``method`` and ``by``: how they were found.
    """

    scope: str
    target: str
    k: int
    recommended: pl.DataFrame
    reasons: tuple[tuple[str, dict[str, Any]], ...]
    asked: int
    history: tuple[str, ...]
    mix: pl.DataFrame
    method: str = RECOMMENDER
    by: str = "customer"
    cap: int = SEGMENT_CAP

    @property
    def customers(self) -> int:
        """The customers that got recommendations."""
        return min(self.asked, self.cap)

    @property
    def capped(self) -> bool:
        return self.asked > self.cap

    @property
    def count(self) -> int:
        return self.recommended.height

    @property
    def fewer(self) -> bool:
        """Whether the one customer got fewer items than asked (they already had the rest)."""
        return 0 < self.count < self.k

    def cards(self) -> list[tuple]:
        """``(rank, item, probability, expected_value, source, reason_id)`` per row, best first."""
        return list(self.recommended.select("rank", "item", "probability", "expected_value", "source",
                                            "reason_id").iter_rows())


def offers(dataset: Dataset, as_of: datetime, scope: str, target: str, k: int, level: str,
           method: str = RECOMMENDER, by: str = "auto") -> Offers:
    """Recommendations (:func:`crm_core.cross_sell.recommend` with ``method`` over ``by`` baskets) for one
    customer or a segment.

    ``scope="customer"``: ``target`` is a customer id; ``scope="segment"``: ``target`` is a segment of the
    :data:`SEGMENT_PRESET` map. The page passes the method and basket level of :func:`recommender_card`.
    """
    history: tuple[str, ...] = ()
    if scope == "segment":
        members = _segmented(dataset, as_of).filter(pl.col("segment") == target).sort(
            ["revenue", "customer_id"], descending=[True, False])
        customer_ids, asked = members["customer_id"].head(SEGMENT_CAP).to_list(), members.height
    else:
        customer_ids, asked = [target], 1
        lines = dataset.transactions.filter(pl.col("customer_id") == target)
        history = tuple(cs.baskets(lines, level, "customer", as_of)["item"].to_list())
    if by == "auto":
        by = cs.basket_level(dataset.transactions, level, BASKET_SUPPORT, as_of)
    found = cs.recommend(dataset.transactions, customer_ids, k=k, level=level, by=by, as_of=as_of, method=method)
    distinct = found.select("reason_key", "reason_params").unique(maintain_order=True).with_row_index("reason_id")
    reasons = tuple((key, json.loads(params)) for _, key, params in distinct.iter_rows())
    found = found.join(distinct.with_columns(pl.col("reason_id").cast(pl.Int64)), on=["reason_key", "reason_params"],
                       how="left", maintain_order="left")
    mix = (found.group_by("item").agg(pl.len().alias("customers"), pl.col("expected_value").sum())
           .sort(["customers", "expected_value", "item"], descending=[True, True, False]).head(OFFER_MIX_ITEMS))
    return Offers(scope, target, k, found, reasons, asked, history, mix, method, by)


def offer_table(offers: Offers, reasons: Sequence[str], sources: Mapping[str, str]) -> pl.DataFrame:
    """The offers as a table, with the reasons rendered and the sources named.

    Columns ``customer_id, rank, item, probability, expected_value, source, reason``; ``reasons[i]`` is the
    text of ``offers.reasons[i]``, ``sources`` names each source.
    """
    texts = pl.DataFrame({"reason_id": range(len(reasons)), "reason": list(reasons)},
                         schema={"reason_id": pl.Int64(), "reason": pl.String()})
    return offers.recommended.join(texts, on="reason_id", how="left", maintain_order="left").select(
        "customer_id", "rank", "item", "probability", "expected_value",
        pl.col("source").replace_strict(dict(sources), return_dtype=pl.String), "reason",
    )


# ---------------------------------------------------------------- bought X, not Y

@dataclass(frozen=True)
class TargetList:
    """Customers who bought any of some items but none of others (:func:`crm_core.cross_sell.target_list`).

    ``table``: ``customer_id``, the :data:`PROFILE` columns the customers table has (``profile``), then
    ``bought_items, revenue, orders, last_order`` (a date); largest revenue first.
    """

    table: pl.DataFrame
    profile: tuple[str, ...]

    @property
    def customers(self) -> int:
        return self.table.height

    @property
    def revenue(self) -> float | None:
        """The listed customers' net revenue (None without amounts)."""
        if self.table["revenue"].null_count() == self.table.height:
            return None
        return float(self.table.select(pl.col("revenue").sum()).item())

    @property
    def average_revenue(self) -> float | None:
        mean = self.table.select(pl.col("revenue").mean()).item()
        return None if mean is None else float(mean)

    def members(self) -> pl.DataFrame:
        """``customer_id, stratum``: a campaign's members, balanced on how often they ordered (1, 2–3, 4+)."""
        orders = pl.col("orders")
        band = pl.when(orders <= 1).then(pl.lit("1")).when(orders <= 3).then(pl.lit("2-3")).otherwise(pl.lit("4+"))
        return self.table.select("customer_id", band.alias("stratum"))


def targets(dataset: Dataset, as_of: datetime, level: str, bought: tuple[str, ...],
            not_bought: tuple[str, ...]) -> TargetList:
    """The "bought X, not Y" call list, with the customers' names, regions and owners where known."""
    found = cs.target_list(dataset.transactions, bought, not_bought, level=level, as_of=as_of)
    profile = tuple(column for column in PROFILE if dataset.has("customers", column))
    if dataset.customers is not None and profile:
        known = dataset.customers.select("customer_id", *profile).unique("customer_id", keep="first")
        found = found.join(known, on="customer_id", how="left").select(
            "customer_id", *profile, *[column for column in found.columns if column != "customer_id"])
    return TargetList(found.with_columns(pl.col("last_order").dt.date()), profile)
