"""crm_core.cross_sell against mlxtend 0.25 (fpgrowth + association_rules on a dense one-hot of the same baskets).

DESIGN.md: association rules are "identical to mlxtend's association_rules on the same baskets". The
reference gets the baskets from ``cross_sell.baskets`` and ``num_itemsets`` = the number of baskets
(required in 0.23.2–0.23.3, research/mission_anchors.md §3 #19).
"""
from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd
import polars as pl
import pytest

from crm_core import cross_sell as cs

mlxtend_patterns = pytest.importorskip("mlxtend.frequent_patterns")

# ours → mlxtend's column
METRICS = {
    "support": "support",
    "confidence": "confidence",
    "lift": "lift",
    "leverage": "leverage",
    "conviction": "conviction",
    "zhangs_metric": "zhangs_metric",
    "antecedent_support": "antecedent support",
    "consequent_support": "consequent support",
}


def random_lines(seed: int, n_baskets: int = 300, n_items: int = 25) -> pl.DataFrame:
    """Baskets of 1–6 lines drawn from a skewed popularity (repeats collapse), two baskets per customer day."""
    rng = np.random.default_rng(seed)
    popularity = rng.dirichlet(np.full(n_items, 0.5))
    rows = []
    for basket in range(n_baskets):
        for item in rng.choice(n_items, size=int(rng.integers(1, 7)), p=popularity):
            rows.append({"customer_id": f"c{basket % 60}", "order_date": datetime(2024, 1, 1 + basket % 28),
                         "amount": 5.0, "order_id": f"o{basket:04d}", "product": f"p{item:02d}"})
    return pl.DataFrame(rows)


def one_hot(lines: pl.DataFrame) -> pd.DataFrame:
    basket_items = cs.baskets(lines)
    return (
        basket_items.with_columns(pl.lit(True).alias("bought"))
        .pivot(on="item", index="basket", values="bought")
        .fill_null(False)
        .drop("basket")
        .to_pandas()
    )


def reference_rules(onehot: pd.DataFrame, min_support: float, min_confidence: float, min_lift: float,
                    max_len: int | None) -> pd.DataFrame:
    itemsets = mlxtend_patterns.fpgrowth(onehot, min_support=min_support, use_colnames=True, max_len=max_len)
    if itemsets.empty:
        return pd.DataFrame(columns=["antecedents", "consequents", *METRICS.values()])
    rules = mlxtend_patterns.association_rules(itemsets, num_itemsets=len(onehot), metric="confidence",
                                               min_threshold=min_confidence)
    return rules[rules["lift"] >= min_lift]


def key(antecedents, consequents) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(sorted(antecedents)), tuple(sorted(consequents))


def assert_same_rules(ours: pl.DataFrame, theirs: pd.DataFrame) -> None:
    ours_by_key = {key(row["antecedents"], row["consequents"]): row for row in ours.to_dicts()}
    theirs_by_key = {key(a, c): row for a, c, row in
                     zip(theirs["antecedents"], theirs["consequents"], theirs.to_dict("records"))}
    assert set(ours_by_key) == set(theirs_by_key)
    assert len(ours_by_key) == ours.height  # no duplicate rules
    for rule_key, row in ours_by_key.items():
        reference = theirs_by_key[rule_key]
        for ours_name, theirs_name in METRICS.items():
            mine, expected = row[ours_name], float(reference[theirs_name])
            if math.isinf(expected):  # conviction at confidence 1
                assert math.isinf(mine) and mine > 0, (rule_key, ours_name)
            else:
                assert mine == pytest.approx(expected, rel=1e-9, abs=1e-15), (rule_key, ours_name)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("min_support", [0.015, 0.03, 0.075])
@pytest.mark.parametrize("max_len", [2, 3, None])
def test_rules_equal_mlxtend(seed: int, min_support: float, max_len: int | None) -> None:
    lines = random_lines(seed)
    onehot = one_hot(lines)
    n_baskets = len(onehot)
    # mlxtend counts pairs against ceil(min_support · N) in float; keep away from N·min_support ≈ integer,
    # where it can disagree with its own support ≥ min_support test (0.07 · 100 = 7.000000000000001).
    assert math.ceil(min_support * n_baskets) == cs._min_count(min_support, n_baskets)

    ours = cs.association_rules(lines, min_support=min_support, min_confidence=0.0, min_lift=0.0, max_len=max_len)
    theirs = reference_rules(onehot, min_support, 0.0, 0.0, max_len)
    assert ours.height > 0
    assert_same_rules(ours, theirs)
    assert set(ours["baskets"]) == {n_baskets}

    filtered = cs.association_rules(lines, min_support=min_support, min_confidence=0.3, min_lift=1.0, max_len=max_len)
    assert_same_rules(filtered, reference_rules(onehot, min_support, 0.3, 1.0, max_len))


@pytest.mark.parametrize("seed", [5, 6])
def test_frequent_itemsets_equal_fpgrowth(seed: int) -> None:
    lines = random_lines(seed)
    onehot = one_hot(lines)
    ours = cs.frequent_itemsets(lines, min_support=0.02, max_len=None)
    theirs = mlxtend_patterns.fpgrowth(onehot, min_support=0.02, use_colnames=True)
    theirs_support = {tuple(sorted(itemset)): support
                      for itemset, support in zip(theirs["itemsets"], theirs["support"])}
    ours_support = {tuple(itemset): support for itemset, support in ours.select("itemsets", "support").iter_rows()}
    assert ours_support.keys() == theirs_support.keys()
    for itemset, support in ours_support.items():
        assert support == pytest.approx(theirs_support[itemset], rel=1e-9)
    assert ours["length"].max() >= 3


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")  # mlxtend's certainty
def test_mlxtend_documentation_example() -> None:
    """The user-guide toy data: fpgrowth(0.6) → 11 itemsets; confidence ≥ 0.7 → 12 rules (research §5.11)."""
    dataset = [
        ["Milk", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
        ["Dill", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
        ["Milk", "Apple", "Kidney Beans", "Eggs"],
        ["Milk", "Unicorn", "Corn", "Kidney Beans", "Yogurt"],
        ["Corn", "Onion", "Onion", "Kidney Beans", "Ice cream", "Eggs"],
    ]
    lines = pl.DataFrame([
        {"customer_id": f"c{number}", "order_date": datetime(2024, 1, 1), "amount": 1.0, "order_id": f"t{number}",
         "product": item}
        for number, items in enumerate(dataset) for item in items
    ])
    assert cs.frequent_itemsets(lines, min_support=0.6, max_len=None).height == 11
    rules = cs.association_rules(lines, min_support=0.6, min_confidence=0.7, min_lift=0.0, max_len=None)
    assert rules.height == 12
    onion_eggs = rules.filter(pl.col("antecedents") == ["Onion"], pl.col("consequents") == ["Eggs"]).row(0, named=True)
    assert (onion_eggs["support"], onion_eggs["confidence"]) == (pytest.approx(0.6), 1.0)
    assert onion_eggs["lift"] == pytest.approx(1.25) and onion_eggs["leverage"] == pytest.approx(0.12)
    assert math.isinf(onion_eggs["conviction"])
    eggs_onion = rules.filter(pl.col("antecedents") == ["Eggs"], pl.col("consequents") == ["Onion"]).row(0, named=True)
    assert eggs_onion["confidence"] == pytest.approx(0.75) and eggs_onion["conviction"] == pytest.approx(1.6)
    assert_same_rules(rules, reference_rules(one_hot(lines), 0.6, 0.7, 0.0, None))
