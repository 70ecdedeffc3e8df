"""Cross-sell: market baskets, association rules, next-best products and "bought X, not Y" lists.

Rule metrics follow Agrawal, Imieliński & Swami (1993) and Agrawal & Srikant (1994) for support and
confidence, Brin et al. (1997) for lift ("interest") and conviction, Piatetsky-Shapiro (1991) for
leverage, Zhang (2000) for Zhang's metric, and match mlxtend's ``association_rules`` (0.25) to the last
bit (tests/reference/test_mlxtend_parity.py):

- support(A→C) = s(A∪C), the share of baskets that hold every item of A and C
- confidence = s(A∪C) / s(A)
- lift = confidence / s(C)
- leverage = s(A∪C) − s(A)·s(C)
- conviction = (1 − s(C)) / (1 − confidence), ∞ when confidence = 1
- zhangs_metric = leverage / max(s(A∪C)·(1 − s(A)), s(A)·(s(C) − s(A∪C))), 0 when that is 0

Frequent itemsets are mined level by level (Apriori: every subset of a frequent itemset is frequent)
with polars joins on a long (basket, item) table of integer codes, never a dense one-hot matrix.

Next-best products (:func:`recommend`) rank items by co-occurrence with a popularity prior — summed
m-estimates of P(item | each past purchase), Cestnik (1990) — over orders, or over customers' whole
histories when orders are too sparse for any rule (:func:`basket_level`), as sparse matrix products.
:func:`evaluate_recommender` checks them out of time against the popularity baseline (hit@k, recall@k);
benchmarks/recommender_eval.py prints that check on the sample and on real supermarket receipts, where the
former default (rules, then item cosine, then popularity) lost to popularity.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any, cast

import numpy as np
import polars as pl
from scipy import sparse

from crm_core.features import (
    DateLike,
    before,
    customer_summary,
    has_amounts,
    money_sum,
    to_datetime,
    with_amount,
    with_order_key,
)

LEVELS = ("product", "category")
BASKETS_BY = ("order", "customer")
METHODS = ("co_bought", "rules", "popular")   # how recommend fills the slots; the first is the default
SOURCES = ("rule", "co_bought", "similar", "popular")

RULE_SCHEMA: dict[str, pl.DataType] = {
    "antecedents": pl.List(pl.String()),
    "consequents": pl.List(pl.String()),
    "support": pl.Float64(),
    "confidence": pl.Float64(),
    "lift": pl.Float64(),
    "leverage": pl.Float64(),
    "conviction": pl.Float64(),
    "zhangs_metric": pl.Float64(),
    "antecedent_support": pl.Float64(),
    "consequent_support": pl.Float64(),
    "support_count": pl.Int64(),
    "antecedent_count": pl.Int64(),
    "consequent_count": pl.Int64(),
    "baskets": pl.Int64(),
}

ITEMSET_SCHEMA: dict[str, pl.DataType] = {
    "itemsets": pl.List(pl.String()),
    "length": pl.Int64(),
    "support": pl.Float64(),
    "support_count": pl.Int64(),
}

RECOMMENDATION_SCHEMA: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "rank": pl.Int64(),
    "item": pl.String(),
    "score": pl.Float64(),
    "probability": pl.Float64(),
    "expected_value": pl.Float64(),
    "reason_key": pl.String(),
    "reason_params": pl.String(),
    "source": pl.String(),
}

_CODE = pl.UInt32()


# ---------------------------------------------------------------- baskets

def _check_level(transactions: pl.DataFrame, level: str, by: str | None = None) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if level not in transactions.columns:
        raise ValueError(f"transactions have no {level!r} column")
    if by is not None and by not in BASKETS_BY:
        raise ValueError(f"by must be one of {BASKETS_BY}, got {by!r}")


def _is_bought(columns: Sequence[str]) -> pl.Expr:
    """A purchase line: positive quantity where known (else positive amount, else — no amount either, as
    in basket data without money — any line), and never a negative amount.

    Refund and return lines (negative quantity or amount) add no item to a basket.
    """
    has_quantity = "quantity" in columns
    has_amount = "amount" in columns
    positive_amount = (pl.col("amount") > 0).fill_null(True) if has_amount else pl.lit(True)
    if has_quantity and has_amount:
        positive = pl.when(pl.col("quantity").is_not_null()).then(pl.col("quantity") > 0).otherwise(positive_amount)
        return positive.fill_null(False) & ~(pl.col("amount") < 0).fill_null(False)
    if has_quantity:
        return (pl.col("quantity") > 0).fill_null(False)
    return positive_amount


def _lines(transactions: pl.DataFrame, level: str, by: str, as_of: DateLike | None) -> pl.LazyFrame:
    """Lines before ``as_of`` with ``basket`` (order key or customer id) and ``item`` (string, non-null)."""
    lines = before(transactions, as_of)
    basket = pl.col("order_key") if by == "order" else pl.col("customer_id")
    if by == "order":
        lines = with_order_key(lines)
    return lines.lazy().with_columns(basket.cast(pl.String).alias("basket"),
                                     pl.col(level).cast(pl.String).alias("item")).drop_nulls(["basket", "item"])


def _basket_items(transactions: pl.DataFrame, level: str, by: str, as_of: DateLike | None) -> pl.LazyFrame:
    return (
        _lines(transactions, level, by, as_of)
        .filter(_is_bought(transactions.columns))
        .select("basket", "item")
        .unique()
    )


def baskets(transactions: pl.DataFrame, level: str = "product", by: str = "order",
            as_of: DateLike | None = None) -> pl.DataFrame:
    """Market baskets in long form: one row per distinct ``(basket, item)``.

    A basket is one order (``by="order"``: its ``order_id``, or one customer on one calendar day when
    there is none; :func:`crm_core.features.with_order_key`) or a customer's whole history
    (``by="customer"``). Items are ``product`` or ``category`` values as strings; null items are dropped
    and only purchase lines count (positive quantity, else positive amount; refunds add nothing).
    Only lines strictly before ``as_of`` are used (all lines when None). Sorted by basket, item.
    """
    _check_level(transactions, level, by)
    return _basket_items(transactions, level, by, as_of).sort("basket", "item").collect()


def _encode(basket_items: pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Integer codes: ``(b, i)`` UInt32 pairs, the item dictionary ``(i, item)`` in string order, #baskets.

    Item codes follow the sorted item names, so sorting codes sorts names.
    """
    frame = basket_items.collect()
    items = frame.select(pl.col("item").unique().sort()).with_row_index("i")
    codes = frame.join(items, on="item").select(
        pl.col("basket").rank("dense").cast(_CODE).alias("b"), pl.col("i").cast(_CODE))
    return codes, items.with_columns(pl.col("i").cast(_CODE)), frame["basket"].n_unique()


def _min_count(min_support: float, n_baskets: int) -> int:
    """The smallest basket count ``c`` with ``c / n_baskets >= min_support`` (the support definition)."""
    if not 0.0 < min_support <= 1.0:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")
    count = max(1, math.ceil(min_support * n_baskets))
    while count > 1 and (count - 1) / n_baskets >= min_support:
        count -= 1
    while count / n_baskets < min_support:
        count += 1
    return count


def _columns(length: int) -> list[str]:
    return [f"i{position}" for position in range(1, length + 1)]


def _mine(codes: pl.DataFrame, min_count: int, max_len: int | None) -> list[pl.DataFrame]:
    """Frequent itemsets by length: element ``k - 1`` has columns ``i1 < … < ik`` (codes) and ``count``.

    Level k + 1 extends each occurrence of a frequent k-itemset in a basket by a frequent pair that
    starts at its last item (a self-join on the basket), drops candidates with an infrequent k-subset
    (Apriori pruning) and counts baskets.
    """
    singles = codes.group_by("i").agg(pl.len().alias("count")).filter(pl.col("count") >= min_count)
    levels = [singles.rename({"i": "i1"})]
    if (max_len is not None and max_len < 2) or singles.height < 2:
        return levels
    frequent = codes.join(singles.select("i"), on="i", how="semi")
    pair_occurrences = (
        frequent.rename({"i": "i1"}).join(frequent.rename({"i": "i2"}), on="b").filter(pl.col("i1") < pl.col("i2"))
    )
    pairs = pair_occurrences.group_by("i1", "i2").agg(pl.len().alias("count")).filter(
        pl.col("count") >= min_count)
    if pairs.height == 0:
        return levels
    levels.append(pairs)
    pair_occurrences = pair_occurrences.join(pairs.select("i1", "i2"), on=["i1", "i2"], how="semi")
    occurrences = pair_occurrences
    length = 2
    while max_len is None or length < max_len:
        last, new = f"i{length}", f"i{length + 1}"
        candidates = occurrences.join(pair_occurrences.rename({"i1": last, "i2": new}), on=["b", last])
        names = _columns(length + 1)
        for dropped in range(length):  # every k-subset but the ones that hold by construction
            if length == 2 and dropped == 0:  # (i2, i3) is the extending pair
                continue
            subset = [name for position, name in enumerate(names) if position != dropped]
            candidates = candidates.join(
                levels[-1].select(_columns(length)).rename(dict(zip(_columns(length), subset))),
                on=subset, how="semi")
        counted = candidates.group_by(names).agg(pl.len().alias("count")).filter(pl.col("count") >= min_count)
        if counted.height == 0:
            break
        levels.append(counted)
        occurrences = candidates.join(counted.select(names), on=names, how="semi")
        length += 1
    return levels


def _decoded(frame: pl.DataFrame, code_columns: list[str], items: pl.DataFrame, alias: str) -> pl.DataFrame:
    """Replace code columns by one sorted ``List(String)`` column named ``alias``."""
    names = items.rename({"i": "code"})
    for column in code_columns:
        frame = frame.join(names.rename({"code": column, "item": f"{column}_name"}), on=column, how="left")
    return frame.with_columns(pl.concat_list([f"{column}_name" for column in code_columns]).alias(alias)).drop(
        [f"{column}_name" for column in code_columns])


def _with_baskets(frame: pl.DataFrame, n_baskets: int) -> pl.DataFrame:
    """``frame`` plus a materialised ``baskets`` column (Int64) to divide counts by.

    polars divides by a scalar as a multiplication by its reciprocal, one ulp off ``count / N``;
    dividing by a real column gives the correctly rounded share that mlxtend (numpy) computes.
    """
    return frame.with_columns(pl.repeat(n_baskets, frame.height, dtype=pl.Int64, eager=True).alias("baskets"))


def _mined(transactions: pl.DataFrame, min_support: float, level: str, by: str, max_len: int | None,
           as_of: DateLike | None) -> tuple[list[pl.DataFrame], pl.DataFrame, int]:
    _check_level(transactions, level, by)
    if max_len is not None and max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    codes, items, n_baskets = _encode(_basket_items(transactions, level, by, as_of))
    if n_baskets == 0:
        _min_count(min_support, 1)  # still validate
        return [], items, 0
    return _mine(codes, _min_count(min_support, n_baskets), max_len), items, n_baskets


def frequent_itemsets(transactions: pl.DataFrame, min_support: float = 0.01, level: str = "product",
                      by: str = "order", max_len: int | None = 3, as_of: DateLike | None = None) -> pl.DataFrame:
    """Itemsets held by at least ``min_support`` of the baskets (Agrawal & Srikant 1994).

    Same itemsets and supports as mlxtend's ``fpgrowth(min_support, max_len)`` on a one-hot of
    :func:`baskets`. Columns: ``itemsets`` (sorted list of strings), ``length``, ``support`` (share of
    baskets), ``support_count`` (baskets); sorted by support desc, length, itemsets.
    """
    levels, items, n_baskets = _mined(transactions, min_support, level, by, max_len, as_of)
    parts = [
        _with_baskets(_decoded(found, _columns(length), items, "itemsets"), n_baskets).select(
            "itemsets", pl.lit(length, dtype=pl.Int64).alias("length"),
            (pl.col("count") / pl.col("baskets")).alias("support"),
            pl.col("count").cast(pl.Int64).alias("support_count"))
        for length, found in enumerate(levels, start=1) if found.height
    ]
    if not parts:
        return pl.DataFrame(schema=ITEMSET_SCHEMA)
    return pl.concat(parts).sort(["support", "length", "itemsets"], descending=[True, False, False])


def _rule_metrics(counts: pl.DataFrame) -> pl.DataFrame:
    """Rule metrics from ``support_count, antecedent_count, consequent_count, baskets`` (see module doc).

    Computed in mlxtend's floating-point order (confidence = (s(A∪C)·N) / (s(A)·N), lift = confidence /
    s(C)), so results are bit-equal and a rule on a threshold's edge (lift exactly 1) lands on the same side.
    """
    n = pl.col("baskets")
    support, antecedent_support, consequent_support = (
        pl.col("support"), pl.col("antecedent_support"), pl.col("consequent_support"))
    return (
        counts.with_columns(
            (pl.col("support_count") / n).alias("support"),
            (pl.col("antecedent_count") / n).alias("antecedent_support"),
            (pl.col("consequent_count") / n).alias("consequent_support"),
        )
        .with_columns(((support * n) / (antecedent_support * n)).alias("confidence"))
        .with_columns(
            (pl.col("confidence") / consequent_support).alias("lift"),
            (support - antecedent_support * consequent_support).alias("leverage"),
            pl.when(pl.col("confidence") < 1.0)
            .then((1.0 - consequent_support) / (1.0 - pl.col("confidence")))
            .otherwise(float("inf")).alias("conviction"),
            pl.max_horizontal(support * (1.0 - antecedent_support), antecedent_support * (consequent_support - support))
            .alias("_zhang_denominator"),
        )
        .with_columns(
            pl.when(pl.col("_zhang_denominator") == 0.0).then(0.0)
            .otherwise(pl.col("leverage") / pl.col("_zhang_denominator")).alias("zhangs_metric"))
        .drop("_zhang_denominator")
    )


def association_rules(transactions: pl.DataFrame, min_support: float = 0.01, min_confidence: float = 0.1,
                      min_lift: float = 1.0, level: str = "product", by: str = "order", max_len: int | None = 3,
                      as_of: DateLike | None = None) -> pl.DataFrame:
    """Association rules A → C over market baskets (Agrawal et al. 1993; metrics as in mlxtend 0.25).

    Every split of every frequent itemset (length ≤ ``max_len``, antecedent plus consequent) into a
    non-empty antecedent and consequent, kept when support ≥ ``min_support``, confidence ≥
    ``min_confidence`` and lift ≥ ``min_lift``. Bit-equal to mlxtend's
    ``association_rules(fpgrowth(onehot, min_support, max_len=max_len), num_itemsets=baskets)``;
    conviction is ``inf`` at confidence 1.

    Columns: ``antecedents, consequents`` (sorted ``List(String)``), ``support, confidence, lift,
    leverage, conviction, zhangs_metric, antecedent_support, consequent_support`` and the counts
    ``support_count, antecedent_count, consequent_count, baskets``. Sorted by lift desc, confidence
    desc, then antecedents and consequents.
    """
    levels, items, n_baskets = _mined(transactions, min_support, level, by, max_len, as_of)
    parts: list[pl.DataFrame] = []
    for length in range(2, len(levels) + 1):
        itemsets = levels[length - 1]
        names = _columns(length)
        for size in range(1, length):
            for antecedent in combinations(range(length), size):
                consequent = [position for position in range(length) if position not in antecedent]
                rules = itemsets.rename({"count": "support_count"})
                for part, count_name in ((list(antecedent), "antecedent_count"), (consequent, "consequent_count")):
                    keys = [names[position] for position in part]
                    lookup = levels[len(part) - 1].rename(
                        dict(zip(_columns(len(part)), keys)) | {"count": count_name})
                    rules = rules.join(lookup, on=keys)
                rules = _rule_metrics(_with_baskets(rules, n_baskets)).filter(
                    (pl.col("confidence") >= min_confidence) & (pl.col("lift") >= min_lift))
                rules = _decoded(rules, [names[position] for position in antecedent], items, "antecedents")
                rules = _decoded(rules, [names[position] for position in consequent], items, "consequents")
                parts.append(rules.with_columns(
                    pl.col(["support_count", "antecedent_count", "consequent_count"]).cast(pl.Int64)
                ).select(list(RULE_SCHEMA)))
    if not parts:
        return pl.DataFrame(schema=RULE_SCHEMA)
    return pl.concat(parts).sort(["lift", "confidence", "antecedents", "consequents"],
                                 descending=[True, True, False, False])


# ---------------------------------------------------------------- recommendations

def _as_list(values: str | Iterable[str] | None) -> list[str]:
    """One string or many as a list of strings (missing values dropped)."""
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    return [str(value) for value in values if value is not None]


def _item_values(history: pl.DataFrame, level: str) -> pl.DataFrame:
    """Per item: ``item_value`` = net revenue of the item (refunds netted) / orders that bought it, ≥ 0
    (null without amounts, so expected values are null rather than 0)."""
    lines = _lines(with_amount(history), level, "order", None)
    bought = _is_bought(history.columns)
    return (
        lines.group_by("item")
        .agg(money_sum("amount").alias("net_revenue"), pl.col("basket").filter(bought).n_unique().alias("purchases"))
        .select("item", pl.when(pl.col("purchases") > 0)
                .then((pl.col("net_revenue") / pl.col("purchases")).clip(lower_bound=0.0))
                .otherwise(0.0).alias("item_value"))
        .collect()
    )


class _Codes:
    """Dense UInt32 codes for customers (``u``) and items (``j``), in sorted-name order, for fast joins."""

    def __init__(self, customers: pl.Series, items: pl.Series) -> None:
        self.customers = customers.unique().drop_nulls().sort()
        self.items = items.unique().drop_nulls().sort()
        self._customer_enum, self._item_enum = pl.Enum(self.customers), pl.Enum(self.items)

    def customer(self, names: pl.Expr | None = None) -> pl.Expr:
        """Customer code of ``names`` (default: the ``customer_id`` column)."""
        names = pl.col("customer_id") if names is None else names
        return names.cast(self._customer_enum).to_physical().cast(_CODE)

    def item(self, names: pl.Expr | None = None) -> pl.Expr:
        """Item code of ``names`` (default: the ``item`` column); null for an item outside the dictionary."""
        names = pl.col("item") if names is None else names
        return names.cast(self._item_enum, strict=False).to_physical().cast(_CODE)

    def customer_names(self) -> pl.DataFrame:
        return pl.DataFrame({"u": pl.int_range(self.customers.len(), dtype=_CODE, eager=True),
                             "customer_id": self.customers})

    def item_names(self, code: str = "j", name: str = "item") -> pl.DataFrame:
        return pl.DataFrame({code: pl.int_range(self.items.len(), dtype=_CODE, eager=True), name: self.items})


def _first_per_customer(frame: pl.DataFrame, limit: pl.Expr | int) -> pl.DataFrame:
    """The first ``limit`` rows of each customer ``u`` (``frame`` is already in preference order)."""
    return frame.filter(pl.int_range(pl.len()).over("u") < limit)


def _rule_picks(rules: pl.DataFrame, codes: _Codes, bought: pl.DataFrame, owned: pl.DataFrame, k: int
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Best ``k`` single-consequent rules per customer with antecedent ⊆ bought and consequent never had.

    Returns the picks ``(u, j, rule, score, probability)`` and the rule table ``(rule, antecedents_text,
    confidence, lift)``. Rule ids follow score (confidence × lift) desc, confidence desc, antecedents,
    so the first matching rule per item is the best one.
    """
    single = (
        rules.filter(pl.col("consequents").list.len() == 1)
        .with_columns((pl.col("confidence") * pl.col("lift")).alias("score"),
                      pl.col("antecedents").list.join(", ").alias("antecedents_text"))
        .sort(["score", "confidence", "antecedents", "consequents"], descending=[True, True, False, False])
        .with_row_index("rule")
        .with_columns(pl.col("rule").cast(_CODE), pl.col("antecedents").list.len().alias("size"),
                      codes.item(pl.col("consequents").list.first()).alias("j"))
        .filter(pl.col("j").is_not_null())
    )
    antecedent_items = (
        single.select("rule", "size", pl.col("antecedents").alias("item")).explode("item")
        .with_columns(codes.item().alias("i")).drop("item")
    )
    held = bought.rename({"j": "i"}).join(antecedent_items.drop_nulls("i"), on="i")
    matched = pl.concat([
        held.filter(pl.col("size") == 1).select("u", "rule"),
        held.filter(pl.col("size") > 1).group_by("u", "rule").agg(pl.len().alias("held"), pl.col("size").first())
        .filter(pl.col("held") == pl.col("size")).select("u", "rule"),
    ])
    picks = (
        matched.join(single.select("rule", "j", "score", pl.col("confidence").alias("probability")), on="rule")
        .join(owned, on=["u", "j"], how="anti")
        .sort("u", "rule")
        .unique(["u", "j"], keep="first", maintain_order=True)
    )
    return (_first_per_customer(picks, k).select("u", "j", "rule", "score", "probability"),
            single.select("rule", "antecedents_text", "confidence", "lift"))


def _incidence(pairs: pl.DataFrame, rows: int, columns: int, dtype: type = np.float64) -> sparse.csr_matrix:
    # scipy boundary: a binary sparse matrix from (row, column) code pairs
    pairs = pairs.unique()
    return sparse.csr_matrix((np.ones(pairs.height, dtype=dtype), (pairs[:, 0].to_numpy(), pairs[:, 1].to_numpy())),
                             shape=(rows, columns))


def _similar_picks(codes: _Codes, bought_all: pl.DataFrame, bought: pl.DataFrame, excluded: pl.DataFrame,
                   needs: pl.DataFrame, neighbours: int, min_common: int) -> pl.DataFrame:
    """Item-based top-N (Deshpande & Karypis 2004): score(u, j) = Σ cosine(i, j) over u's purchases i.

    cosine(i, j) = n(i, j) / sqrt(n(i)·n(j)) on the binary customer × item matrix, keeping each item's
    ``neighbours`` most similar items sharing at least ``min_common`` buyers. Each pick carries its best
    anchor (the purchase i with the highest cosine) and share = n(i, j) / n(i).
    Returns ``(u, j, score, probability, anchor, cosine)``.
    """
    n_customers, n_items = codes.customers.len(), codes.items.len()
    everyone = _incidence(bought_all.select("u", "j"), n_customers, n_items)
    buyers = bought_all.group_by("j").agg(pl.len().alias("buyers"))
    needy = needs["u"].to_numpy()
    needy_bought = bought.join(needs, on="u", how="semi")
    anchors = needy_bought["j"].unique().sort().to_numpy()
    if anchors.size == 0:
        return pl.DataFrame()
    co_occurrence = (everyone[:, anchors].T @ everyone).tocoo()  # anchors × items: customers who bought both
    similar = (
        pl.DataFrame({"i": anchors[co_occurrence.row].astype(np.uint32), "j": co_occurrence.col.astype(np.uint32),
                      "common": co_occurrence.data})
        .filter((pl.col("i") != pl.col("j")) & (pl.col("common") >= min_common))
        .join(buyers.rename({"j": "i", "buyers": "buyers_i"}), on="i")
        .join(buyers.rename({"buyers": "buyers_j"}), on="j")
        .select("i", "j", (pl.col("common") / (pl.col("buyers_i") * pl.col("buyers_j")).sqrt()).alias("cosine"),
                (pl.col("common") / pl.col("buyers_i")).alias("share"))
        .group_by("i").agg(pl.all().top_k_by(["cosine", "j"], neighbours, reverse=[False, True]))
        .explode(["j", "cosine", "share"])
    )
    if similar.height == 0:
        return pl.DataFrame()
    similarity = sparse.csr_matrix(
        (similar["cosine"].to_numpy(), (similar["i"].to_numpy(), similar["j"].to_numpy())), shape=(n_items, n_items))
    position = pl.DataFrame({"u": needy, "row": np.arange(needy.size, dtype=np.uint32)})
    purchases = _incidence(needy_bought.join(position, on="u").select("row", "j"), needy.size, n_items)
    blocked = _incidence(excluded.join(position, on="u").select("row", "j"), needy.size, n_items)
    scores = purchases @ similarity
    scores = (scores - scores.multiply(blocked)).tocoo()  # drop what they had or were already offered
    picks = (
        pl.DataFrame({"row": scores.row.astype(np.uint32), "j": scores.col.astype(np.uint32), "score": scores.data})
        .filter(pl.col("score") > 0)
        .join(position, on="row").join(needs, on="u")
        .sort(["u", "score", "j"], descending=[False, True, False])
    )
    picks = _first_per_customer(picks, pl.col("needed")).select("u", "j", "score")
    best_anchor = (
        picks.select("u", "j")
        .join(needy_bought.rename({"j": "anchor"}), on="u")
        .join(similar.rename({"i": "anchor"}), on=["anchor", "j"])
        .sort(["u", "j", "cosine", "anchor"], descending=[False, False, True, False])
        .unique(["u", "j"], keep="first", maintain_order=True)
    )
    return picks.join(best_anchor, on=["u", "j"]).select(
        "u", "j", "score", pl.col("share").alias("probability"), "anchor", "cosine")


def _popularity(bought_all: pl.DataFrame) -> pl.DataFrame:
    """Per item ``j``: ``share`` of the buying customers who bought it, ``popularity_rank`` (0 = most bought,
    ties by name)."""
    n_buyers = bought_all["u"].n_unique()
    return (
        bought_all.group_by("j").agg(pl.len().alias("buyers"))
        .sort(["buyers", "j"], descending=[True, False])
        .with_row_index("popularity_rank")
        .select("j", "popularity_rank", (pl.col("buyers") / n_buyers).alias("share"))
    )


def _most_popular(popular: pl.DataFrame, excluded: pl.DataFrame, needs: pl.DataFrame) -> pl.DataFrame:
    """The first ``needed`` items of ``popular`` (``j, popularity_rank, …``) each customer ``u`` never had.

    ``excluded`` holds the ``(u, j)`` a customer cannot get. The candidate list widens (doubling) only for
    customers who had most of the popular items. Returns ``u`` and ``popular``'s columns, in rank order.
    """
    found: list[pl.DataFrame] = [pl.DataFrame(schema={"u": _CODE, **popular.schema})]
    width, pending = 2 * int(cast(int, needs["needed"].max() or 1)), needs
    while pending.height:
        picked = _first_per_customer(
            pending.join(popular.head(width), how="cross")
            .join(excluded, on=["u", "j"], how="anti")
            .sort("u", "popularity_rank"),
            pl.col("needed"))
        everything_seen = width >= popular.height
        done = (
            pending.join(picked.group_by("u").agg(pl.len().alias("got")), on="u", how="left")
            .filter((pl.col("got").fill_null(0) >= pl.col("needed")) | pl.lit(everything_seen))
            .select("u")
        )
        found.append(picked.join(done, on="u", how="semi").drop("needed"))
        pending = pending.join(done, on="u", how="anti")
        width *= 2
    return pl.concat(found)


def _popular_picks(popular: pl.DataFrame, excluded: pl.DataFrame, needs: pl.DataFrame) -> pl.DataFrame:
    """The most popular items (:func:`_popularity`) each customer never had, enough to fill ``needed`` slots.

    Returns ``(u, j, score, probability)`` with both = share of buying customers who bought the item.
    """
    return _most_popular(popular, excluded, needs).select(
        "u", "j", pl.col("share").alias("score"), pl.col("share").alias("probability"))


def _co_bought_neighbours(incidence: sparse.csr_matrix, anchors: np.ndarray, neighbours: int,
                          min_together: int) -> pl.DataFrame:
    """``(i, j, together)``: each anchor item i's ``neighbours`` items j ≠ i with the most baskets in common
    (``together`` = n(i, j) ≥ ``min_together``; ties by code)."""
    common = (incidence.tocsc()[:, anchors].T.tocsr() @ incidence).tocsr()   # anchors × items: n(i, j)
    common.data[common.data < min_together] = 0
    common.eliminate_zeros()
    pairs = common.tocoo()
    anchor = anchors[pairs.row].astype(np.uint32)
    other = anchor != pairs.col
    return (
        pl.DataFrame({"i": anchor[other], "j": pairs.col[other].astype(np.uint32),
                      "together": pairs.data[other].astype(np.int64)},
                     schema={"i": _CODE, "j": _CODE, "together": pl.Int64()})
        .with_columns((pl.col("together") * (int(incidence.shape[1]) + 1) - pl.col("j")).alias("order"))
        .group_by("i").agg(pl.col("j", "together").top_k_by("order", neighbours))   # most in common, then by code
        .explode(["j", "together"])
    )


def _co_bought_picks(basket_items: pl.DataFrame, n_items: int, bought: pl.DataFrame, owned: pl.DataFrame,
                     targets: pl.DataFrame, popular: pl.DataFrame, k: int, prior_weight: float, neighbours: int,
                     min_together: int) -> pl.DataFrame:
    """Item co-occurrence with a popularity prior: the ``k`` best items per target customer ``u``.

    Over baskets ``basket_items`` (``b, j`` codes; N baskets), n(i) = baskets holding i, n(i, j) = baskets
    holding both and p(j) = n(j) / N. The chance that a basket with i also holds j is estimated with the
    m-estimate (Cestnik 1990), shrunk toward p(j) with weight m = ``prior_weight``:
    P̃(j | i) = (n(i, j) + m·p(j)) / (n(i) + m). A customer's score sums it over their purchases H(u):
    score(u, j) = Σ_{i∈H(u)} P̃(j | i) = Σ_i n(i, j) / (n(i) + m) + p(j)·Σ_i m / (n(i) + m), the item-based
    top-N scheme of Deshpande & Karypis (2004) with conditional-probability weights. Each item i keeps its
    ``neighbours`` items with the most baskets in common, at least ``min_together``; items with no such
    evidence rank by the prior term alone (popularity). One sparse product gives the evidence term.

    Returns ``(u, j, score, probability, source, anchor, together_share, anchor_baskets, position)``:
    ``source`` "co_bought" with the best anchor (the purchase i with the highest P̃(j | i), its share
    n(i, j) / n(i) and n(i)) and probability P̃(j | anchor), or "popular" (no evidence) with probability =
    share of customers who bought it; ``position`` 1 = best (score desc, then popularity, then name).
    """
    n_baskets = basket_items["b"].n_unique()
    incidence = _incidence(basket_items.select("b", "j"), int(cast(int, basket_items["b"].max())) + 1, n_items,
                           dtype=np.float32)  # counts stay exact in float32 below 2**24 baskets
    counts = np.asarray(incidence.sum(axis=0), dtype=np.float64).ravel()    # n(j)
    share = counts / n_baskets                                              # p(j)
    position = targets.select("u").with_row_index("row").with_columns(pl.col("row").cast(_CODE))
    anchors = bought["j"].unique().sort().to_numpy()
    pairs = (_co_bought_neighbours(incidence, anchors, neighbours, min_together) if anchors.size
             else pl.DataFrame(schema={"i": _CODE, "j": _CODE, "together": pl.Int64()}))
    weights = sparse.csr_matrix(
        (pairs["together"].to_numpy() / (counts[pairs["i"].to_numpy()] + prior_weight),
         (pairs["i"].to_numpy(), pairs["j"].to_numpy())), shape=(n_items, n_items))
    rows = position.height
    history = _incidence(bought.join(position, on="u").select("row", "j"), rows, n_items)
    blocked = _incidence(owned.join(position, on="u").select("row", "j"), rows, n_items)
    prior = history @ (prior_weight / (counts + prior_weight))               # Σ_{i∈H(u)} m / (n(i) + m)
    evidence = history @ weights
    evidence = (evidence - evidence.multiply(blocked)).tocsr()               # drop what they had
    evidence.eliminate_zeros()

    # Items nothing points to score prior·p(j), so the k most popular items the customer never had are the
    # best of those. Their own scores (evidence included) are k real candidates: the lowest is a floor under
    # the customer's k-th best, and evidence scoring below it cannot make the list — most of it is dropped.
    by_popularity = (pl.DataFrame({"j": np.arange(n_items, dtype=np.uint32), "n": counts})
                     .filter(pl.col("n") > 0).sort(["n", "j"], descending=[True, False])
                     .with_row_index("popularity_rank").select("j", "popularity_rank"))
    fallback = _most_popular(by_popularity, owned, position.select("u", pl.lit(k).alias("needed"))).join(
        position, on="u").select("row", "j")
    # own copies: scipy's fancy indexing sets flags that polars' zero-copy views refuse
    fallback_row, fallback_item = np.array(fallback["row"].to_numpy()), np.array(fallback["j"].to_numpy())
    fallback_evidence = (np.asarray(evidence[fallback_row, fallback_item], dtype=np.float64).ravel()
                         if fallback.height else np.zeros(0))
    fallback_score = fallback_evidence + prior[fallback_row] * share[fallback_item]
    floor = np.zeros(rows)
    full = pl.DataFrame({"row": fallback_row, "score": fallback_score}).group_by("row").agg(
        pl.col("score").min(), pl.len().alias("items")).filter(pl.col("items") >= k)
    floor[full["row"].to_numpy()] = full["score"].to_numpy()
    entries = evidence.tocoo()
    score = entries.data + prior[entries.row] * share[entries.col]
    keep = score >= floor[entries.row]
    without = fallback_evidence == 0     # the others are entries of ``evidence``, above the floor
    candidates = pl.concat([
        pl.DataFrame({"row": entries.row[keep].astype(np.uint32), "j": entries.col[keep].astype(np.uint32),
                      "evidence": entries.data[keep], "score": score[keep], "p": share[entries.col[keep]]}),
        pl.DataFrame({"row": fallback_row[without].astype(np.uint32), "j": fallback_item[without].astype(np.uint32),
                      "evidence": fallback_evidence[without], "score": fallback_score[without],
                      "p": share[fallback_item[without]]}),
    ])
    picks = (
        candidates.sort(["row", "score", "p", "j"], descending=[False, True, True, False])
        .filter(pl.int_range(pl.len()).over("row") < k)
        .with_columns((pl.int_range(pl.len()).over("row") + 1).cast(pl.Int64).alias("position"))
        .join(position, on="row").drop("row")
    )
    anchor_counts = pl.DataFrame({"anchor": np.arange(n_items, dtype=np.uint32),
                                  "anchor_baskets": counts.astype(np.int64)})
    # the best anchor per pick: joins on one integer key (anchor, item), much faster than on two columns
    def pair_key(anchor: str) -> pl.Expr:
        return (pl.col(anchor).cast(pl.UInt64) * n_items + pl.col("j")).alias("key")

    evidenced = picks.filter(pl.col("evidence") > 0).select("u", "j", "p").with_row_index("pick")
    best_anchor = (
        evidenced.select("pick", "u", "j").join(bought.rename({"j": "anchor"}), on="u")
        .select("pick", "anchor", pair_key("anchor"))
        .join(pairs.select(pair_key("i"), "together"), on="key")
        .join(evidenced.select("pick", "u", "j", "p"), on="pick")
        .join(anchor_counts, on="anchor")
        .with_columns(((pl.col("together") + prior_weight * pl.col("p")) / (pl.col("anchor_baskets") + prior_weight))
                      .alias("smoothed"),
                      (pl.col("together") / pl.col("anchor_baskets")).alias("together_share"))
        .filter(pl.col("smoothed") == pl.col("smoothed").max().over("pick"))
        .filter(pl.col("anchor") == pl.col("anchor").min().over("pick"))     # ties: the first by name
        .select("u", "j", "anchor", "smoothed", "together_share", "anchor_baskets")
    )
    return (
        picks.join(best_anchor, on=["u", "j"], how="left")
        .join(popular.select("j", pl.col("share").alias("buyer_share")), on="j", how="left")
        .select("u", "j", "score",
                pl.coalesce("smoothed", "buyer_share").alias("probability"),
                pl.when(pl.col("evidence") > 0).then(pl.lit("co_bought")).otherwise(pl.lit("popular")).alias("source"),
                "anchor", "together_share", "anchor_baskets", "position")
    )


def _rule_based_picks(history: pl.DataFrame, rules: pl.DataFrame | None, codes: _Codes, targets: pl.DataFrame,
                      bought_all: pl.DataFrame, bought: pl.DataFrame, owned: pl.DataFrame, popular: pl.DataFrame,
                      k: int, settings: Mapping[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rule → similar → popular fill of :func:`recommend`'s ``method="rules"``: picks and the rule table."""
    if rules is None:
        rules = association_rules(history, min_support=settings["min_support"],
                                  min_confidence=settings["min_confidence"], min_lift=settings["min_lift"],
                                  level=settings["level"], by=settings["by"], max_len=settings["max_len"])
    rule_picks, rule_table = _rule_picks(rules, codes, bought, owned, k)
    picks = [rule_picks.with_columns(pl.lit("rule").alias("source"))]
    needs = _shortfall(targets, picks[0], k)
    if needs.height:
        similar = _similar_picks(codes, bought_all, bought, pl.concat([owned, rule_picks.select("u", "j")]), needs,
                                 settings["neighbours"], settings["min_common_customers"])
        if similar.height:
            picks.append(similar.with_columns(pl.lit("similar").alias("source")))
            needs = _shortfall(targets, pl.concat([pick.select("u", "j") for pick in picks]), k)
    if needs.height:
        taken = pl.concat([owned, *[pick.select("u", "j") for pick in picks]])
        picks.append(_popular_picks(popular, taken, needs).with_columns(pl.lit("popular").alias("source")))
    priority = pl.col("source").replace_strict({source: rank for rank, source in enumerate(SOURCES)},
                                               return_dtype=pl.Int64)
    found = (
        pl.concat(picks, how="diagonal_relaxed")
        .sort([pl.col("u"), priority, pl.col("score"), pl.col("j")], descending=[False, False, True, False])
        .with_columns((pl.int_range(pl.len()).over("u") + 1).cast(pl.Int64).alias("position"))
    )
    return found, rule_table


def _shortfall(targets: pl.DataFrame, picks: pl.DataFrame, k: int) -> pl.DataFrame:
    """Customers ``u`` with fewer than ``k`` picks and how many they still ``needed``."""
    counts = picks.group_by("u").agg(pl.len().alias("have"))
    return (
        targets.join(counts, on="u", how="left")
        .select("u", (k - pl.col("have").fill_null(0).cast(pl.Int64)).alias("needed"))
        .filter(pl.col("needed") > 0)
    )


def _percent(share: pl.Expr) -> pl.Expr:
    return (share * 100).round(0).cast(pl.Int64)


def basket_level(transactions: pl.DataFrame, level: str = "product", min_support: float = 0.01,
                 as_of: DateLike | None = None) -> str:
    """The basket a recommender learns from on these data: ``"order"`` or ``"customer"``.

    ``"order"`` when at least one pair of items is held by ``min_support`` of the orders before ``as_of``
    (a frequent 2-itemset, Agrawal & Srikant 1994: some rule can be mined per order at that support);
    ``"customer"`` when per-order baskets are too sparse for any rule, as in supermarket receipts with
    tens of thousands of products (Ta-Feng: no pair of products in 1 % of its 120k orders), where a
    customer's whole history says more about what they will buy next.
    """
    _check_level(transactions, level)
    codes, _, n_baskets = _encode(_basket_items(transactions, level, "order", as_of))
    if n_baskets == 0:
        return "customer"
    levels = _mine(codes, _min_count(min_support, n_baskets), max_len=2)
    return "order" if len(levels) > 1 else "customer"


def recommend(transactions: pl.DataFrame, customer_ids: Iterable[str] | None = None, k: int = 5,
              rules: pl.DataFrame | None = None, min_support: float = 0.01, min_confidence: float = 0.1,
              min_lift: float = 1.0, level: str = "product", by: str = "auto", max_len: int | None = 3,
              neighbours: int = 10, min_common_customers: int = 2, as_of: DateLike | None = None,
              method: str = "co_bought", prior_weight: float = 5.0, co_bought_neighbours: int = 50,
              min_together: int = 2) -> pl.DataFrame:
    """Next-best items per customer, each with a translatable reason and an expected value.

    Never an item the customer already had (any line before ``as_of``, refunds included). Baskets are
    ``by``: "order", "customer" (whole histories) or "auto" (:func:`basket_level` at ``min_support``).
    ``method`` (:data:`METHODS`) decides how the slots are filled:

    - ``"co_bought"`` (default): item co-occurrence with a popularity prior (:func:`_co_bought_picks`):
      score(u, j) = Σ over the customer's purchases i of (n(i, j) + m·p(j)) / (n(i) + m), m =
      ``prior_weight``, each item keeping its ``co_bought_neighbours`` most co-bought items (at least
      ``min_together`` baskets in common). Source ``co_bought`` with the best-matching purchase, its
      share of baskets that also held the item and the smoothed probability; items nothing points to
      rank by the prior alone (source ``popular``). Measured out of time by :func:`evaluate_recommender`
      (benchmarks/recommender_eval.py): it beats the popularity baseline on hit@5 where rules and item
      cosine did not. ``rules`` and the rule thresholds are not used.
    - ``"rules"``: in order of evidence, (1) ``rule``: association rules A → {c} (:func:`association_rules`
      on ``by`` baskets with the given thresholds, or ``rules``) whose antecedent A ⊆ the customer's
      purchases; score = confidence × lift, probability = confidence; the best rule per item is kept.
      (2) ``similar``: item-based top-N (Sarwar et al. 2001; Deshpande & Karypis 2004): score = sum of
      cosine similarities (binary customer × item matrix) between the candidate and the customer's
      purchases, over each purchase's ``neighbours`` most similar items sharing at least
      ``min_common_customers`` buyers; probability = share of the best-matching purchase's buyers who also
      bought the candidate. (3) ``popular``.
    - ``"popular"``: the most-bought items the customer never had (the baseline of
      :func:`evaluate_recommender`); probability = share of customers who bought it.

    ``expected_value`` = probability × the item's average net revenue per order that bought it (null
    without amounts: baskets-only data still get items, probabilities and reasons).
    ``reason_key`` + ``reason_params`` (a JSON object) render through ``ui/locales/*/cross_sell.toml``.
    ``customer_ids`` defaults to every customer with a line before ``as_of``; ids without history get
    popular items. Columns: customer_id, rank (1 = best), item, score (comparable within one customer's
    list for ``co_bought``, within a source for ``rules``), probability, expected_value, reason_key,
    reason_params, source; sorted by customer_id, rank.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    _check_level(transactions, level)
    if by == "auto":
        by = basket_level(transactions, level, min_support, as_of)
    _check_level(transactions, level, by)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if prior_weight < 0 or co_bought_neighbours < 1 or min_together < 1:
        raise ValueError("prior_weight must be ≥ 0, co_bought_neighbours and min_together ≥ 1, got "
                         f"{prior_weight}, {co_bought_neighbours}, {min_together}")
    history = before(transactions, as_of)
    lines = _lines(history, level, "customer", None).select(pl.col("basket").alias("customer_id"), "item",
                                                            _is_bought(history.columns).alias("bought"))
    owned_names = lines.select("customer_id", "item").unique().collect()
    bought_names = lines.filter("bought").select("customer_id", "item").unique().collect()
    wanted = (history["customer_id"].cast(pl.String) if customer_ids is None
              else pl.Series("customer_id", _as_list(customer_ids), dtype=pl.String))
    codes = _Codes(pl.concat([wanted, owned_names["customer_id"]]), owned_names["item"])
    targets = pl.DataFrame({"customer_id": wanted}).select(codes.customer().alias("u")).drop_nulls().unique()
    owned_all = owned_names.select(codes.customer().alias("u"), codes.item().alias("j"))
    bought_all = bought_names.select(codes.customer().alias("u"), codes.item().alias("j"))
    owned = owned_all.join(targets, on="u", how="semi")
    bought = bought_all.join(targets, on="u", how="semi")
    if bought_all.height == 0 or targets.height == 0:
        return pl.DataFrame(schema=RECOMMENDATION_SCHEMA)

    popular = _popularity(bought_all)
    rule_table = pl.DataFrame(schema={"rule": _CODE, "antecedents_text": pl.String(), "confidence": pl.Float64(),
                                      "lift": pl.Float64()})
    if method == "co_bought":
        basket_items = bought_all.rename({"u": "b"}) if by == "customer" else (
            _basket_items(history, level, "order", None)
            .select(pl.col("basket").rank("dense").cast(_CODE).alias("b"), codes.item().alias("j")).collect())
        found = _co_bought_picks(basket_items, codes.items.len(), bought, owned, targets, popular, k, prior_weight,
                                 co_bought_neighbours, min_together)
    elif method == "popular":
        found = (_popular_picks(popular, owned, targets.with_columns(pl.lit(k, dtype=pl.Int64).alias("needed")))
                 .with_columns(pl.lit("popular").alias("source"),
                               (pl.int_range(pl.len()).over("u") + 1).cast(pl.Int64).alias("position")))
    else:
        settings = {"min_support": min_support, "min_confidence": min_confidence, "min_lift": min_lift,
                    "level": level, "by": by, "max_len": max_len, "neighbours": neighbours,
                    "min_common_customers": min_common_customers}
        found, rule_table = _rule_based_picks(history, rules, codes, targets, bought_all, bought, owned, popular, k,
                                              settings)

    found = found.with_columns(pl.lit(None, dtype=dtype).alias(name) for name, dtype in
                               {"rule": _CODE, "anchor": _CODE, "cosine": pl.Float64(), "together_share": pl.Float64(),
                                "anchor_baskets": pl.Int64()}.items()
                               if name not in found.columns)
    found = (
        found.join(codes.customer_names(), on="u")
        .join(codes.item_names(), on="j")
        .join(codes.item_names("anchor", "anchor_item"), on="anchor", how="left")
        .join(rule_table, on="rule", how="left")
    )
    rule_key = "cross_sell.reason.rule" if by == "order" else "cross_sell.reason.rule_customer"
    co_bought_key = "cross_sell.reason.co_bought_order" if by == "order" else "cross_sell.reason.co_bought"
    reasons = {
        "rule": (rule_key, pl.struct(
            pl.col("antecedents_text").alias("antecedents"), pl.col("item").alias("consequent"),
            _percent(pl.col("confidence")).alias("confidence_pct"), pl.col("lift").round(1).alias("lift"))),
        "co_bought": (co_bought_key, pl.struct(
            pl.col("anchor_item").alias("item"), pl.col("item").alias("consequent"),
            _percent(pl.col("together_share")).alias("share_pct"), pl.col("anchor_baskets").alias("baskets"))),
        "similar": ("cross_sell.reason.similar", pl.struct(
            pl.col("anchor_item").alias("item"), pl.col("item").alias("consequent"),
            _percent(pl.col("probability")).alias("share_pct"), pl.col("cosine").round(2).alias("similarity"))),
        "popular": ("cross_sell.reason.popular", pl.struct(
            pl.col("item").alias("consequent"), _percent(pl.col("probability")).alias("buyers_pct"))),
    }
    found = pl.concat([
        found.filter(pl.col("source") == source).with_columns(
            pl.lit(key).alias("reason_key"), params.struct.json_encode().alias("reason_params"))
        for source, (key, params) in reasons.items()
    ])
    return (
        found.join(_item_values(history, level), on="item", how="left")
        .with_columns((pl.col("probability") * (pl.col("item_value").fill_null(0.0) if has_amounts(with_amount(history))
                                                 else pl.col("item_value"))).alias("expected_value"),
                      pl.col("position").alias("rank"))
        .sort("customer_id", "rank")
        .select(list(RECOMMENDATION_SCHEMA))
    )


# ---------------------------------------------------------------- out-of-time evaluation

@dataclass(frozen=True)
class HitRecall:
    """hit@k (share of customers with at least one hit) and recall@k (mean share of their new items hit)."""

    hit_rate: float
    recall: float


@dataclass(frozen=True)
class RecommenderEvaluation:
    """The result of :func:`evaluate_recommender`.

    ``eligible`` customers qualified (history before ``cutoff``, a new item in the window); ``customers``
    of them were evaluated (a seeded sample when capped). ``recommender`` and ``popularity`` are None when
    nobody qualified. ``by`` is the basket level the recommender used.
    """

    cutoff: datetime
    horizon_days: int
    k: int
    level: str
    by: str
    method: str
    eligible: int
    customers: int
    recommender: HitRecall | None
    popularity: HitRecall | None

    @property
    def beats_popularity(self) -> bool | None:
        """Whether the recommender's hit@k is strictly above the popularity baseline's (None without both)."""
        if self.recommender is None or self.popularity is None:
            return None
        return self.recommender.hit_rate > self.popularity.hit_rate


def evaluate_recommender(transactions: pl.DataFrame, cutoff: DateLike, horizon_days: int = 90, k: int = 5,
                         level: str = "product", by: str = "auto", method: str = "co_bought",
                         max_customers: int | None = None, seed: int = 0,
                         options: Mapping[str, Any] | None = None) -> RecommenderEvaluation:
    """Out-of-time top-k evaluation of :func:`recommend` against the popularity baseline.

    Both are fitted on the lines strictly before ``cutoff``. Evaluated: customers with a purchased item
    before ``cutoff`` who buy at least one item new to them (no line of it before ``cutoff``, refunds
    included) in [cutoff, cutoff + ``horizon_days``) — when ``max_customers`` is set, a sample of that many
    of them (``seed``; the fit still uses everyone's history). For each, R = the ``k`` items recommended
    (``method``, ``level``, ``by``; ``options`` are further :func:`recommend` parameters) and T = the new
    items bought in the window:

    - hit@k = share of evaluated customers with |R ∩ T| ≥ 1 (the hit rate of Deshpande & Karypis 2004, §6.1);
    - recall@k = mean over them of |R ∩ T| / |T| (Cremonesi, Koren & Turrin 2010, §3; items never sold
      before the cut-off count in |T| though nobody can recommend them).

    The baseline is ``method="popular"``: the ``k`` items most customers bought before ``cutoff`` (ties by
    name) that the customer never had.
    """
    _check_level(transactions, level)
    settings = dict(options or {})
    start = to_datetime(cutoff)
    end = start + timedelta(days=horizon_days)
    history = before(transactions, start)
    if by == "auto":
        by = basket_level(history, level, settings.get("min_support", 0.01))
    had = _lines(history, level, "customer", None).select(pl.col("basket").alias("customer_id"), "item").unique()
    known = _basket_items(history, level, "customer", None).select(pl.col("basket").alias("customer_id")).unique()
    window = transactions.filter((pl.col("order_date") >= start) & (pl.col("order_date") < end))
    new = (
        _basket_items(window, level, "customer", None).select(pl.col("basket").alias("customer_id"), "item")
        .join(had, on=["customer_id", "item"], how="anti")
        .join(known, on="customer_id", how="semi")
        .collect()
    )
    eligible = new["customer_id"].unique().sort()
    chosen = eligible
    if max_customers is not None and eligible.len() > max_customers:
        chosen = eligible.sample(n=max_customers, seed=seed).sort()
    new = new.filter(pl.col("customer_id").is_in(chosen.implode()))
    wanted = new.group_by("customer_id").agg(pl.len().alias("new_items"))

    def score(name: str) -> HitRecall | None:
        if chosen.len() == 0:
            return None
        found = recommend(history, chosen, k=k, level=level, by=by, method=name, **settings)
        hits = found.select("customer_id", "item").join(new, on=["customer_id", "item"], how="semi").group_by(
            "customer_id").agg(pl.len().alias("hits"))
        scored = (wanted.join(hits, on="customer_id", how="left").with_columns(pl.col("hits").fill_null(0))
                  .sort("customer_id"))  # a fixed order: the same means to the last bit on every run
        return HitRecall(float((scored["hits"] > 0).mean()),  # type: ignore[arg-type]
                         float((scored["hits"] / scored["new_items"]).mean()))  # type: ignore[arg-type]

    return RecommenderEvaluation(start, horizon_days, k, level, by, method, eligible.len(), chosen.len(),
                                 score(method), score("popular"))


# ---------------------------------------------------------------- exploring one item, lists, heatmaps

def also_bought(transactions: pl.DataFrame, item: str, level: str = "product", by: str = "customer",
                top: int = 10, as_of: DateLike | None = None) -> pl.DataFrame:
    """"Customers who buy this also buy": the items most often bought together with ``item``.

    Over baskets (a customer's history for ``by="customer"``, one order for ``by="order"``):
    ``together`` = baskets holding both, ``share`` = together / baskets holding ``item`` (the confidence
    of item → other), ``base_share`` = share of all baskets holding the other item, ``lift`` = share /
    base_share. Sorted by share desc, lift desc, item; the first ``top`` rows.
    """
    _check_level(transactions, level, by)
    pairs = _basket_items(transactions, level, by, as_of).collect()
    n_baskets = pairs["basket"].n_unique()
    holders = pairs.filter(pl.col("item") == str(item)).select("basket")
    n_holders = holders.height
    schema = {"item": pl.String(), "together": pl.Int64(), "share": pl.Float64(), "base_share": pl.Float64(),
              "lift": pl.Float64()}
    if n_holders == 0:
        return pl.DataFrame(schema=schema)
    counts = pairs.group_by("item").agg(pl.len().alias("consequent_count"))
    together = (
        pairs.join(holders, on="basket", how="semi")
        .filter(pl.col("item") != str(item))
        .group_by("item").agg(pl.len().alias("support_count"))
        .join(counts, on="item")
        .with_columns(pl.lit(n_holders).alias("antecedent_count"))
    )
    return (
        _rule_metrics(_with_baskets(together, n_baskets))
        .select("item", pl.col("support_count").cast(pl.Int64).alias("together"),
                pl.col("confidence").alias("share"), pl.col("consequent_support").alias("base_share"), "lift")
        .sort(["share", "lift", "item"], descending=[True, True, False])
        .head(top)
    )


def target_list(transactions: pl.DataFrame, bought: str | Iterable[str], not_bought: str | Iterable[str] = (),
                level: str = "product", as_of: DateLike | None = None) -> pl.DataFrame:
    """Customers who bought any of ``bought`` but never any of ``not_bought`` — a cross-sell call list.

    "Bought" means a purchase line before ``as_of``; "never" excludes any line of the item, refunds
    included. Columns: ``customer_id, bought_items`` (the matching items, ", "-joined), ``revenue``
    (net), ``orders`` (distinct), ``last_order`` — the :func:`crm_core.features.customer_summary`
    values as of ``as_of``. Sorted by revenue desc, customer_id.
    """
    _check_level(transactions, level)
    wanted, excluded = _as_list(bought), _as_list(not_bought)
    schema = pl.Schema({"customer_id": pl.String(), "bought_items": pl.String(), "revenue": pl.Float64(),
                        "orders": pl.Int64(), "last_order": pl.Datetime("us")})
    history = before(transactions, as_of)
    if not wanted or history.height == 0:
        return pl.DataFrame(schema=schema)
    buyers = (
        _basket_items(history, level, "customer", None)
        .filter(pl.col("item").is_in(wanted))
        .group_by("basket").agg(pl.col("item").sort().str.join(", ").alias("bought_items"))
        .rename({"basket": "customer_id"})
        .collect()
    )
    if excluded:
        had = _lines(history, level, "customer", None).filter(pl.col("item").is_in(excluded)).select(
            pl.col("basket").alias("customer_id")).unique().collect()
        buyers = buyers.join(had, on="customer_id", how="anti")
    summary = customer_summary(history, as_of).select("customer_id", "revenue", "orders", "last_order")
    return (
        buyers.join(summary, on="customer_id", how="left")
        .select(list(schema)).cast(schema)
        .sort(["revenue", "customer_id"], descending=[True, False], nulls_last=True)
    )


def lift_matrix(rules_or_transactions: pl.DataFrame, top: int = 15, level: str = "product", by: str = "order",
                as_of: DateLike | None = None) -> pl.DataFrame:
    """Lift between the ``top`` most frequent items, in long form for a heatmap.

    From transactions: pair lift over baskets, lift(a, b) = s(a∪b) / (s(a)·s(b)), computed as in
    :func:`association_rules`, for every pair of the ``top`` items by support (no threshold). From a
    rules frame (:func:`association_rules`): the one-to-one rules among the ``top`` items by support,
    other cells null. Columns: ``item_a, item_b, lift, support, confidence`` (of a → b), one row per
    ordered pair including the (null) diagonal; rows are in heatmap order (items by support desc).
    """
    schema = pl.Schema({"item_a": pl.String(), "item_b": pl.String(), "lift": pl.Float64(), "support": pl.Float64(),
                        "confidence": pl.Float64()})
    if "antecedents" in rules_or_transactions.columns:
        pairs = (
            rules_or_transactions
            .filter((pl.col("antecedents").list.len() == 1) & (pl.col("consequents").list.len() == 1))
            .select(pl.col("antecedents").list.first().alias("item_a"),
                    pl.col("consequents").list.first().alias("item_b"),
                    "lift", "support", "confidence", "antecedent_support", "consequent_support")
        )
        supports = pl.concat([
            pairs.select(pl.col("item_a").alias("item"), pl.col("antecedent_support").alias("item_support")),
            pairs.select(pl.col("item_b").alias("item"), pl.col("consequent_support").alias("item_support")),
        ]).unique("item")
        pairs = pairs.select(list(schema))
    else:
        _check_level(rules_or_transactions, level, by)
        basket_items = _basket_items(rules_or_transactions, level, by, as_of).collect()
        n_baskets = basket_items["basket"].n_unique()
        if n_baskets == 0:
            return pl.DataFrame(schema=schema)
        counts = basket_items.group_by("item").agg(pl.len().alias("item_count"))
        supports = _with_baskets(counts, n_baskets).select("item", (pl.col("item_count") / pl.col("baskets"))
                                                            .alias("item_support"))
        chosen = counts.sort(["item_count", "item"], descending=[True, False]).head(top)
        held = basket_items.join(chosen.select("item"), on="item", how="semi")
        together = (
            held.rename({"item": "item_a"}).join(held.rename({"item": "item_b"}), on="basket")
            .filter(pl.col("item_a") != pl.col("item_b"))
            .group_by("item_a", "item_b").agg(pl.len().alias("support_count"))
            .join(chosen.rename({"item": "item_a", "item_count": "antecedent_count"}), on="item_a")
            .join(chosen.rename({"item": "item_b", "item_count": "consequent_count"}), on="item_b")
        )
        pairs = _rule_metrics(_with_baskets(together, n_baskets)).select(list(schema))
    chosen = supports.sort(["item_support", "item"], descending=[True, False]).head(top).with_row_index("order")
    grid = (
        chosen.select(pl.col("item").alias("item_a"), pl.col("order").alias("order_a"))
        .join(chosen.select(pl.col("item").alias("item_b"), pl.col("order").alias("order_b")), how="cross")
    )
    return (
        grid.join(pairs, on=["item_a", "item_b"], how="left")
        .sort("order_a", "order_b")
        .select(list(schema))
        .cast(schema)
    )
