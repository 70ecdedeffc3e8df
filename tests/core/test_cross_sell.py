"""crm_core.cross_sell: baskets, rule metrics by hand, recommendations, their out-of-time evaluation (by hand, on the
sample and on real Ta-Feng receipts), target lists."""
from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from polars.testing import assert_frame_equal

from crm_core import cross_sell as cs
from crm_core.dataset import load_sample
from crm_core.features import default_as_of

REAL = Path(__file__).resolve().parents[1] / "data" / "real"

# The textbook five baskets (Tan, Steinbach & Kumar, "Introduction to Data Mining", table 6.1).
FIVE_BASKETS = [
    ["bread", "milk"],
    ["bread", "diaper", "beer", "eggs"],
    ["milk", "diaper", "beer", "cola"],
    ["bread", "milk", "diaper", "beer"],
    ["bread", "milk", "diaper", "cola"],
]


def order_lines(baskets: list[list[str]], customers: list[str] | None = None) -> pl.DataFrame:
    """One line per (order, product), amount 10, order ids o1…, a day per order."""
    rows = []
    for number, items in enumerate(baskets, start=1):
        customer = customers[number - 1] if customers else f"c{number}"
        for product in items:
            rows.append({"customer_id": customer, "order_date": datetime(2024, 1, number), "amount": 10.0,
                         "order_id": f"o{number}", "product": product})
    return pl.DataFrame(rows)


def rule(rules: pl.DataFrame, antecedents: list[str], consequents: list[str]) -> dict:
    found = rules.filter((pl.col("antecedents") == antecedents) & (pl.col("consequents") == consequents))
    assert found.height == 1, (antecedents, consequents)
    return found.row(0, named=True)


@pytest.fixture
def five() -> pl.DataFrame:
    return order_lines(FIVE_BASKETS)


# ---------------------------------------------------------------- baskets

def test_baskets_are_unique_basket_item_pairs(five: pl.DataFrame) -> None:
    doubled = pl.concat([five, five.head(2)])  # a repeated line adds nothing
    basket_items = cs.baskets(doubled)
    assert basket_items.columns == ["basket", "item"]
    assert basket_items.height == sum(len(items) for items in FIVE_BASKETS) == 18
    assert basket_items.filter(pl.col("basket") == "o1")["item"].to_list() == ["bread", "milk"]


def test_orders_without_an_order_id_are_one_customer_day() -> None:
    lines = pl.DataFrame({
        "customer_id": ["c1", "c1", "c1", "c2", "c2"],
        "order_date": [datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 17), datetime(2024, 1, 2, 9),
                       datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 10)],
        "amount": [5.0, 6.0, 7.0, 8.0, 9.0],
        "product": ["A", "B", "C", "A", "D"],
    })
    grouped = cs.baskets(lines).group_by("basket").agg(pl.col("item").sort()).sort("basket")
    # c1's two lines on Jan 1 (9:00 and 17:00) are one basket; Jan 2 another; c2 on Jan 1 its own.
    assert grouped.to_dicts() == [
        {"basket": "c1@2024-01-01", "item": ["A", "B"]},
        {"basket": "c1@2024-01-02", "item": ["C"]},
        {"basket": "c2@2024-01-01", "item": ["A", "D"]},
    ]
    # a partly filled order_id column: the id where present, customer-day where not
    partly = lines.with_columns(pl.Series("order_id", ["X", None, None, "Y", "Y"]))
    assert cs.baskets(partly)["basket"].unique().sort().to_list() == ["X", "Y", "c1@2024-01-01", "c1@2024-01-02"]


def test_customer_baskets_hold_the_whole_history(five: pl.DataFrame) -> None:
    # orders 1, 3 and 5 belong to "a"; 2 and 4 to "b"
    lines = order_lines(FIVE_BASKETS, customers=["a", "b", "a", "b", "a"])
    by_customer = cs.baskets(lines, by="customer").group_by("basket").agg(pl.col("item")).sort("basket")
    assert by_customer["item"].to_list() == [["beer", "bread", "cola", "diaper", "milk"],
                                             ["beer", "bread", "diaper", "eggs", "milk"]]
    rules = cs.association_rules(lines, min_support=1.0, min_confidence=0.0, min_lift=0.0, by="customer")
    # over two customer baskets, {beer, bread, diaper, milk} are in both: s = 2/2 for every pair
    assert set(rules["baskets"].to_list()) == {2}
    assert rule(rules, ["beer"], ["milk"])["support"] == 1.0


def test_category_level_counts_categories_not_products() -> None:
    lines = pl.DataFrame({
        "customer_id": ["c1", "c1", "c2", "c2", "c3"],
        "order_date": [datetime(2024, 1, 1)] * 5,
        "amount": [1.0] * 5,
        "order_id": ["o1", "o1", "o2", "o2", "o3"],
        "product": ["apple", "pear", "apple", "soap", "soap"],
        "category": ["fruit", "fruit", "fruit", "home", "home"],
    })
    assert cs.baskets(lines, level="category").to_dicts() == [
        {"basket": "o1", "item": "fruit"}, {"basket": "o2", "item": "fruit"},
        {"basket": "o2", "item": "home"}, {"basket": "o3", "item": "home"}]
    rules = cs.association_rules(lines, min_support=0.3, min_confidence=0.0, min_lift=0.0, level="category")
    # fruit in o1, o2 (2/3), home in o2, o3 (2/3), both in o2 (1/3): conf = 1/2, lift = (1/2)/(2/3) = 0.75
    fruit_home = rule(rules, ["fruit"], ["home"])
    assert fruit_home["confidence"] == pytest.approx(0.5)
    assert fruit_home["lift"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="category"):
        cs.baskets(lines.drop("category"), level="category")


def test_refunds_and_null_items_add_nothing() -> None:
    lines = pl.DataFrame({
        "customer_id": ["c1", "c1", "c1", "c1", "c1", None],
        "order_date": [datetime(2024, 1, 1)] * 6,
        "amount": [10.0, -10.0, 5.0, 0.0, -3.0, 8.0],
        "quantity": [1.0, -1.0, 1.0, 1.0, None, 1.0],
        "order_id": ["o1", "o1", "o1", "o1", "o1", None],
        "product": ["A", "B", None, "free gift", "C", "D"],
    })
    # B is a refund line (negative quantity), C a negative amount, the null product is dropped;
    # the zero-priced gift with a positive quantity is in the basket. D has neither order nor customer.
    assert cs.baskets(lines).to_dicts() == [{"basket": "o1", "item": "A"}, {"basket": "o1", "item": "free gift"}]
    assert cs.baskets(lines, by="customer")["basket"].to_list() == ["c1", "c1"]


def test_as_of_keeps_only_earlier_lines(five: pl.DataFrame) -> None:
    # baskets are on Jan 1…5; as_of Jan 3 keeps orders 1 and 2
    assert cs.baskets(five, as_of=datetime(2024, 1, 3))["basket"].unique().sort().to_list() == ["o1", "o2"]


# ---------------------------------------------------------------- rule metrics by hand

def test_five_basket_metrics_by_hand(five: pl.DataFrame) -> None:
    rules = cs.association_rules(five, min_support=0.4, min_confidence=0.0, min_lift=0.0)
    assert rules.schema == pl.Schema(cs.RULE_SCHEMA)

    # {milk, diaper} → {beer}: milk&diaper&beer in baskets 3, 4 → s = 2/5 = 0.4;
    # milk&diaper in 3, 4, 5 → s(A) = 0.6; beer in 2, 3, 4 → s(C) = 0.6
    # confidence = 0.4 / 0.6 = 2/3; lift = (2/3) / 0.6 = 10/9; leverage = 0.4 − 0.6·0.6 = 0.04
    # conviction = (1 − 0.6) / (1 − 2/3) = 1.2; zhang = 0.04 / max(0.4·0.4, 0.6·0.2) = 0.04 / 0.16 = 0.25
    milk_diaper_beer = rule(rules, ["diaper", "milk"], ["beer"])
    assert milk_diaper_beer["support"] == pytest.approx(0.4)
    assert milk_diaper_beer["antecedent_support"] == pytest.approx(0.6)
    assert milk_diaper_beer["consequent_support"] == pytest.approx(0.6)
    assert milk_diaper_beer["confidence"] == pytest.approx(2 / 3)
    assert milk_diaper_beer["lift"] == pytest.approx(10 / 9)
    assert milk_diaper_beer["leverage"] == pytest.approx(0.04)
    assert milk_diaper_beer["conviction"] == pytest.approx(1.2)
    assert milk_diaper_beer["zhangs_metric"] == pytest.approx(0.25)
    assert (milk_diaper_beer["support_count"], milk_diaper_beer["antecedent_count"],
            milk_diaper_beer["consequent_count"], milk_diaper_beer["baskets"]) == (2, 3, 3, 5)

    # {beer} → {diaper}: every beer basket (2, 3, 4) has diaper → confidence 1, conviction ∞;
    # s(diaper) = 4/5 → lift = 1 / 0.8 = 1.25; leverage = 0.6 − 0.6·0.8 = 0.12
    beer_diaper = rule(rules, ["beer"], ["diaper"])
    assert beer_diaper["confidence"] == 1.0
    assert beer_diaper["lift"] == pytest.approx(1.25)
    assert beer_diaper["leverage"] == pytest.approx(0.12)
    assert math.isinf(beer_diaper["conviction"]) and beer_diaper["conviction"] > 0

    # {bread} → {milk}: together in 1, 4, 5 → s = 0.6; s(bread) = s(milk) = 0.8
    # confidence = 0.75; lift = 0.75 / 0.8 = 0.9375; leverage = 0.6 − 0.64 = −0.04; conviction = 0.2 / 0.25 = 0.8
    bread_milk = rule(rules, ["bread"], ["milk"])
    assert bread_milk["confidence"] == pytest.approx(0.75)
    assert bread_milk["lift"] == pytest.approx(0.9375)
    assert bread_milk["leverage"] == pytest.approx(-0.04)
    assert bread_milk["conviction"] == pytest.approx(0.8)

    # {beer} → {diaper, milk}: a two-item consequent; s = 0.4, s(A) = 0.6 → confidence 2/3
    assert rule(rules, ["beer"], ["diaper", "milk"])["confidence"] == pytest.approx(2 / 3)


def test_thresholds_filter_rules(five: pl.DataFrame) -> None:
    everything = cs.association_rules(five, min_support=0.4, min_confidence=0.0, min_lift=0.0)
    default_lift = cs.association_rules(five, min_support=0.4, min_confidence=0.0)  # min_lift = 1.0
    assert default_lift.height < everything.height
    assert default_lift["lift"].min() >= 1.0
    assert default_lift.filter(pl.col("antecedents") == ["bread"], pl.col("consequents") == ["milk"]).height == 0
    confident = cs.association_rules(five, min_support=0.4, min_confidence=0.7, min_lift=0.0)
    assert confident["confidence"].min() >= 0.7
    assert confident.height == everything.filter(pl.col("confidence") >= 0.7).height
    # support 0.6 keeps only itemsets in 3+ baskets: {beer, diaper}, {bread, milk}, {bread, diaper}, {diaper, milk}
    frequent_pairs = cs.frequent_itemsets(five, min_support=0.6).filter(pl.col("length") == 2)
    assert sorted(frequent_pairs["itemsets"].to_list()) == [
        ["beer", "diaper"], ["bread", "diaper"], ["bread", "milk"], ["diaper", "milk"]]


def test_rules_are_sorted_by_lift_then_confidence(five: pl.DataFrame) -> None:
    rules = cs.association_rules(five, min_support=0.2, min_confidence=0.0, min_lift=0.0)
    expected = rules.sort(["lift", "confidence", "antecedents", "consequents"], descending=[True, True, False, False])
    assert rules.equals(expected)
    assert rules["lift"].to_list() == sorted(rules["lift"].to_list(), reverse=True)
    shuffled = cs.association_rules(five.sample(fraction=1.0, shuffle=True, seed=3), min_support=0.2,
                                    min_confidence=0.0, min_lift=0.0)
    assert shuffled.equals(rules)


@pytest.mark.parametrize("max_len", [1, 2, 3, 4])
def test_max_len_bounds_itemset_length(five: pl.DataFrame, max_len: int) -> None:
    rules = cs.association_rules(five, min_support=0.2, min_confidence=0.0, min_lift=0.0, max_len=max_len)
    itemsets = cs.frequent_itemsets(five, min_support=0.2, max_len=max_len)
    lengths = rules["antecedents"].list.len() + rules["consequents"].list.len()
    assert itemsets["length"].max() == max_len
    if max_len == 1:
        assert rules.height == 0
    else:
        assert lengths.max() == max_len
    # at support 0.2 (one basket) basket 2 gives {beer, bread, diaper, eggs}: 4 items, one itemset of length 4
    if max_len == 4:
        assert itemsets.filter(pl.col("length") == 4)["itemsets"].to_list() == [
            ["beer", "bread", "diaper", "eggs"], ["beer", "bread", "diaper", "milk"],
            ["beer", "cola", "diaper", "milk"], ["bread", "cola", "diaper", "milk"]]


def test_no_baskets_gives_empty_frames() -> None:
    refunds_only = pl.DataFrame({"customer_id": ["c1"], "order_date": [datetime(2024, 1, 1)], "amount": [-5.0],
                                 "product": ["A"]})
    assert cs.association_rules(refunds_only).schema == pl.Schema(cs.RULE_SCHEMA)
    assert cs.association_rules(refunds_only).height == 0
    assert cs.frequent_itemsets(refunds_only).height == 0
    assert cs.recommend(refunds_only).height == 0
    with pytest.raises(ValueError):
        cs.association_rules(refunds_only, min_support=0.0)


# ---------------------------------------------------------------- recommendations

def recommendation_lines() -> pl.DataFrame:
    """Six orders, one per customer; prices A 10, B 20, C 30, D 40, E 50; c1 later returns its C."""
    baskets = [["A", "B", "C"], ["A", "B", "C"], ["A", "B"], ["A", "D"], ["E"], ["B"]]
    price = {"A": 10.0, "B": 20.0, "C": 30.0, "D": 40.0, "E": 50.0}
    rows = [
        {"customer_id": f"c{number}", "order_date": datetime(2024, 1, number), "amount": price[item],
         "quantity": 1.0, "order_id": f"o{number}", "product": item}
        for number, items in enumerate(baskets, start=1) for item in items
    ]
    rows.append({"customer_id": "c1", "order_date": datetime(2024, 1, 9), "amount": -30.0, "quantity": -1.0,
                 "order_id": "r1", "product": "C"})
    return pl.DataFrame(rows)


def test_rule_recommendations_carry_reason_params_and_expected_value() -> None:
    lines = recommendation_lines()
    recommendations = cs.recommend(lines, k=3, min_support=0.3, min_confidence=0.1, method="rules", by="order")
    assert recommendations.schema == pl.Schema(cs.RECOMMENDATION_SCHEMA)

    # Six baskets, min count 2: A 4, B 4, C 2, AB 3, AC 2, BC 2, ABC 2.
    # c3 bought A and B. {A,B} → C: confidence 2/3, s(C) = 2/6 → lift 2, score 4/3;
    # {A} → C and {B} → C: confidence 1/2, lift 1.5, score 0.75 — the best rule wins.
    c3 = recommendations.filter(pl.col("customer_id") == "c3").row(0, named=True)
    assert (c3["rank"], c3["item"], c3["source"], c3["reason_key"]) == (1, "C", "rule", "cross_sell.reason.rule")
    assert c3["score"] == pytest.approx(4 / 3)
    assert c3["probability"] == pytest.approx(2 / 3)
    assert json.loads(c3["reason_params"]) == {"antecedents": "A, B", "consequent": "C", "confidence_pct": 67,
                                               "lift": 2.0}
    # C's net revenue 30 + 30 − 30 = 30 over the 2 orders that bought it → 15 per order; 2/3 × 15 = 10
    assert c3["expected_value"] == pytest.approx(10.0)

    # c4 bought A, D: {A} → B (confidence 3/4, lift 0.75 / (4/6) = 1.125, score 0.84375) before
    # {A} → C (confidence 1/2, lift 1.5, score 0.75); then E, the only item left, as popular (1 of 6 buyers).
    c4 = recommendations.filter(pl.col("customer_id") == "c4")
    assert c4["item"].to_list() == ["B", "C", "E"]
    assert c4["source"].to_list() == ["rule", "rule", "popular"]
    assert c4["rank"].to_list() == [1, 2, 3]
    assert c4["score"][0] == pytest.approx(0.84375)
    assert json.loads(c4["reason_params"][0]) == {"antecedents": "A", "consequent": "B", "confidence_pct": 75,
                                                  "lift": 1.1}
    popular = c4.row(2, named=True)
    assert popular["reason_key"] == "cross_sell.reason.popular"
    assert json.loads(popular["reason_params"]) == {"consequent": "E", "buyers_pct": 17}
    assert popular["probability"] == pytest.approx(1 / 6)
    assert popular["expected_value"] == pytest.approx(50 / 6)

    # c5 bought only E: no rule, no co-buyer → the most-bought items A (4), B (4), then C (2)
    c5 = recommendations.filter(pl.col("customer_id") == "c5")
    assert c5["item"].to_list() == ["A", "B", "C"]
    assert set(c5["source"]) == {"popular"}


def test_similar_items_fill_in_where_rules_are_thin() -> None:
    lines = pl.DataFrame({
        "customer_id": ["x1", "x1", "x2", "x2", "x3", "x4"],
        "order_date": [datetime(2024, 1, day) for day in (1, 2, 3, 4, 5, 6)],
        "amount": [10.0, 20.0, 10.0, 20.0, 10.0, 99.0],
        "product": ["P", "Q", "P", "Q", "P", "R"],
    })
    # every line is its own order (one per day), so no pair reaches any support: no rules at all.
    recommendations = cs.recommend(lines, customer_ids=["x3"], k=2, method="rules", by="order")
    # P bought by x1, x2, x3; Q by x1, x2: common 2 → cosine 2 / sqrt(3·2) = 0.816, share of P's buyers 2/3
    first = recommendations.row(0, named=True)
    assert (first["item"], first["source"], first["reason_key"]) == ("Q", "similar", "cross_sell.reason.similar")
    assert first["score"] == pytest.approx(2 / math.sqrt(6))
    assert first["probability"] == pytest.approx(2 / 3)
    assert json.loads(first["reason_params"]) == {"item": "P", "consequent": "Q", "share_pct": 67,
                                                  "similarity": 0.82}
    assert first["expected_value"] == pytest.approx(2 / 3 * 20.0)
    # R shares no buyer with P: it only comes as the popular fallback
    assert recommendations["item"].to_list() == ["Q", "R"]
    assert recommendations["source"].to_list() == ["similar", "popular"]


def test_unknown_customers_get_popular_items_and_k_is_respected() -> None:
    lines = recommendation_lines()
    recommendations = cs.recommend(lines, customer_ids=["new", "c3"], k=2, min_support=0.3)
    assert recommendations.filter(pl.col("customer_id") == "new")["item"].to_list() == ["A", "B"]
    assert recommendations.group_by("customer_id").len()["len"].max() == 2
    assert set(recommendations["customer_id"]) == {"new", "c3"}


@st.composite
def small_histories(draw: st.DrawFn) -> pl.DataFrame:
    size = draw(st.integers(min_value=1, max_value=40))
    customers = draw(st.lists(st.sampled_from(["c0", "c1", "c2", "c3", "c4"]), min_size=size, max_size=size))
    products = draw(st.lists(st.sampled_from(["p0", "p1", "p2", "p3", "p4", "p5"]), min_size=size, max_size=size))
    days = draw(st.lists(st.integers(min_value=1, max_value=4), min_size=size, max_size=size))
    signs = draw(st.lists(st.sampled_from([1.0, 1.0, 1.0, -1.0]), min_size=size, max_size=size))
    return pl.DataFrame({
        "customer_id": customers,
        "order_date": [datetime(2024, 1, day) for day in days],
        "amount": [10.0 * sign for sign in signs],
        "quantity": signs,
        "product": products,
    })


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=small_histories(), k=st.integers(min_value=1, max_value=6),
       min_support=st.sampled_from([0.1, 0.3, 0.6]), by=st.sampled_from(["order", "customer", "auto"]),
       method=st.sampled_from(cs.METHODS), min_together=st.sampled_from([1, 2]))
def test_never_recommends_what_the_customer_already_had(lines: pl.DataFrame, k: int, min_support: float,
                                                         by: str, method: str, min_together: int) -> None:
    recommendations = cs.recommend(lines, k=k, min_support=min_support, min_confidence=0.0, by=by,
                                   min_common_customers=1, method=method, min_together=min_together)
    assert recommendations.schema == pl.Schema(cs.RECOMMENDATION_SCHEMA)
    had = lines.select("customer_id", pl.col("product").alias("item")).unique()  # any line, refunds too
    assert recommendations.join(had, on=["customer_id", "item"], how="semi").height == 0
    assert recommendations.select("customer_id", "item").is_unique().all()
    per_customer = recommendations.group_by("customer_id").agg(pl.col("rank").sort())
    for ranks in per_customer["rank"].to_list():
        assert ranks == list(range(1, len(ranks) + 1)) and len(ranks) <= k
    # everyone is offered min(k, items someone bought and they never had)
    catalogue = set(lines.filter(pl.col("quantity") > 0)["product"])
    offered = dict(per_customer.select("customer_id", pl.col("rank").list.len()).iter_rows())
    for customer, items in had.group_by("customer_id").agg("item").iter_rows():
        assert offered.get(customer, 0) == min(k, len(catalogue - set(items)))


def test_co_bought_scores_by_hand() -> None:
    lines = recommendation_lines()
    recommendations = cs.recommend(lines, customer_ids=["c4"], k=3, by="customer")
    # Customer baskets: c1 {A, B, C}, c2 {A, B, C}, c3 {A, B}, c4 {A, D}, c5 {E}, c6 {B} (c1's refund adds
    # nothing): N = 6, n(A) = n(B) = 4, n(C) = 2, n(D) = n(E) = 1; in common with A: B 3, C 2 (D, E share
    # fewer than 2 customers with anything). c4 had A and D; m = 5, prior = 5/(4+5) + 5/(1+5) = 25/18.
    # score(B) = 3/9 + 25/18 · 4/6 = 34/27; score(C) = 2/9 + 25/18 · 2/6 = 37/54; E: 25/18 · 1/6 = 25/108.
    assert recommendations["item"].to_list() == ["B", "C", "E"]
    assert recommendations["source"].to_list() == ["co_bought", "co_bought", "popular"]
    assert recommendations["score"].to_list() == pytest.approx([34 / 27, 37 / 54, 25 / 108])
    # probability: the m-estimate of the best anchor, (n(A, B) + m·p(B)) / (n(A) + m) = (3 + 10/3) / 9
    assert recommendations["probability"].to_list() == pytest.approx([19 / 27, 11 / 27, 1 / 6])
    b = recommendations.row(0, named=True)
    assert b["reason_key"] == "cross_sell.reason.co_bought"
    assert json.loads(b["reason_params"]) == {"item": "A", "consequent": "B", "share_pct": 75, "baskets": 4}
    assert b["expected_value"] == pytest.approx(19 / 27 * 20.0)       # B: 20 in each of its 4 orders
    e = recommendations.row(2, named=True)
    assert json.loads(e["reason_params"]) == {"consequent": "E", "buyers_pct": 17}
    # per order the baskets are the same six here, so are the numbers; the reason speaks of orders
    by_order = cs.recommend(lines, customer_ids=["c4"], k=3, by="order")
    assert by_order["score"].to_list() == pytest.approx(recommendations["score"].to_list())
    assert by_order["reason_key"][0] == "cross_sell.reason.co_bought_order"
    # a larger prior weight leans toward popularity; none at all ranks by the evidence alone
    assert cs.recommend(lines, customer_ids=["c4"], k=1, by="customer", prior_weight=0.0)["score"][0] == \
        pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="method"):
        cs.recommend(lines, method="magic")


def test_a_customer_gets_the_same_list_whoever_else_is_asked_for() -> None:
    lines = load_sample().transactions
    everyone = cs.recommend(lines, k=5)
    some = everyone["customer_id"].unique().sort().gather_every(97).to_list()
    alone = cs.recommend(lines, customer_ids=some, k=5)
    # the same items, ranks and reasons; money and probabilities to 1e-9 (polars' threaded float sums may
    # round the last bit differently from one call to the next: seen once in CI)
    assert_frame_equal(alone, everyone.filter(pl.col("customer_id").is_in(some)), rel_tol=1e-9, abs_tol=1e-12)


def test_basket_level_is_per_order_only_when_some_pair_is_frequent(five: pl.DataFrame) -> None:
    assert cs.basket_level(five) == "order"                        # pairs in 3 of 5 orders
    single = order_lines([["bread"], ["milk"], ["bread"], ["milk", "eggs"]])
    assert cs.basket_level(single, min_support=0.3) == "customer"  # the one pair is in 1 of 4 orders
    assert cs.basket_level(single, min_support=0.25) == "order"
    assert cs.basket_level(load_sample().transactions) == "order"
    # Ta-Feng's receipts: no pair of its 23,812 products is in 1 % of the orders
    assert cs.basket_level(pl.read_parquet(REAL / "ta_feng_every20.parquet")) == "customer"


# ---------------------------------------------------------------- out-of-time evaluation

def evaluation_lines() -> pl.DataFrame:
    """Before Jan 10: c1 A, B; c2 A, B; c3 C, D; c4 C, D; c5 C; c6 A. From Jan 10 to Jan 19 (10 days): c1 buys
    C (new), c3 A and E (new; nobody had E), c5 D (new), c6 B (new); c2 buys A again (not new); c4 returns D
    (not a purchase); c7 buys A without history. After the window: c2 buys E."""
    rows = [("c1", 1, "A"), ("c1", 1, "B"), ("c2", 2, "A"), ("c2", 2, "B"), ("c3", 3, "C"), ("c3", 3, "D"),
            ("c4", 4, "C"), ("c4", 4, "D"), ("c5", 5, "C"), ("c6", 6, "A"),
            ("c1", 10, "C"), ("c3", 11, "A"), ("c3", 11, "E"), ("c5", 12, "D"), ("c6", 19, "B"), ("c2", 13, "A"),
            ("c7", 14, "A"), ("c2", 20, "E")]
    lines = pl.DataFrame({"customer_id": [c for c, _, _ in rows],
                          "order_date": [datetime(2024, 1, day) for _, day, _ in rows],
                          "amount": [10.0] * len(rows), "quantity": [1.0] * len(rows),
                          "product": [p for _, _, p in rows]})
    refund = pl.DataFrame({"customer_id": ["c4"], "order_date": [datetime(2024, 1, 15)], "amount": [-10.0],
                           "quantity": [-1.0], "product": ["D"]})
    return pl.concat([lines, refund])


CUTOFF = datetime(2024, 1, 10)


def test_evaluation_by_hand() -> None:
    lines = evaluation_lines()
    found = cs.evaluate_recommender(lines, CUTOFF, horizon_days=10, k=1)
    # evaluated: c1 (new C), c3 (new A, E), c5 (new D), c6 (new B) — 4 customers
    assert (found.eligible, found.customers, found.cutoff, found.by) == (4, 4, CUTOFF, "order")
    # popularity before the cut-off (customers): A 3, C 3, B 2, D 2, ties by name → A, C, B, D.
    # k = 1: c1 → C (hit), c3 → A (hit, 1 of 2), c5 → A (miss), c6 → C (miss)
    assert found.popularity == cs.HitRecall(hit_rate=2 / 4, recall=(1 + 1 / 2 + 0 + 0) / 4)
    # ours: one order per customer before the cut-off, A-B and C-D each in 2 of the 6 (frequent: per order).
    # c5 (C) → D and c6 (A) → B, bought together; c1 (A, B) and c3 (C, D) own what their items point to,
    # so the prior decides: C and A. Every one a hit.
    assert found.recommender == cs.HitRecall(hit_rate=1.0, recall=(1 + 1 / 2 + 1 + 1) / 4)
    assert found.beats_popularity
    # k = 2, popularity: c1 → C, D (1/1), c3 → A, B (1/2), c5 → A, B (0), c6 → C, B (1/1)
    two = cs.evaluate_recommender(lines, CUTOFF, horizon_days=10, k=2, method="popular")
    assert two.popularity == two.recommender == cs.HitRecall(hit_rate=3 / 4, recall=(1 + 1 / 2 + 0 + 1) / 4)
    assert two.beats_popularity is False                      # a tie does not beat the baseline


def test_evaluation_samples_customers_with_a_seed() -> None:
    lines = evaluation_lines()
    sampled = cs.evaluate_recommender(lines, CUTOFF, horizon_days=10, k=1, max_customers=2, seed=3)
    assert (sampled.eligible, sampled.customers) == (4, 2)
    assert sampled == cs.evaluate_recommender(lines, CUTOFF, horizon_days=10, k=1, max_customers=2, seed=3)
    nobody = cs.evaluate_recommender(lines, datetime(2024, 3, 1), horizon_days=10)
    assert (nobody.customers, nobody.recommender, nobody.popularity, nobody.beats_popularity) == (0, None, None, None)


def hand_popularity(lines: pl.DataFrame, cutoff: datetime, horizon_days: int, k: int) -> cs.HitRecall:
    """The popularity baseline with plain Python sets: the k items most customers bought before the cut-off
    (ties by name) that the customer never had; scored on the new items bought in the window."""
    rows = lines.select("customer_id", "order_date", "product", "quantity").rows()
    end = cutoff + timedelta(days=horizon_days)
    had: dict[str, set[str]] = {}
    bought: dict[str, set[str]] = {}
    later: dict[str, set[str]] = {}
    for customer, day, product, quantity in rows:
        if day < cutoff:
            had.setdefault(customer, set()).add(product)
            if quantity > 0:
                bought.setdefault(customer, set()).add(product)
        elif day < end and quantity > 0:
            later.setdefault(customer, set()).add(product)
    buyers: dict[str, int] = {}
    for items in bought.values():
        for item in items:
            buyers[item] = buyers.get(item, 0) + 1
    ranking = sorted(buyers, key=lambda item: (-buyers[item], item))
    hits, recalls = [], []
    for customer, items in later.items():
        new = items - had.get(customer, set())
        if customer not in bought or not new:
            continue
        offered = [item for item in ranking if item not in had[customer]][:k]
        caught = len(new & set(offered))
        hits.append(caught > 0)
        recalls.append(caught / len(new))
    return cs.HitRecall(sum(hits) / len(hits), sum(recalls) / len(recalls))


def test_the_popularity_baseline_equals_one_built_by_hand() -> None:
    lines = pl.read_parquet(REAL / "ta_feng_every20.parquet")
    found = cs.evaluate_recommender(lines, TA_FENG_CUTOFF, TA_FENG_HORIZON, k=5)
    expected = hand_popularity(lines, TA_FENG_CUTOFF, TA_FENG_HORIZON, 5)
    assert found.popularity is not None
    assert found.popularity.hit_rate == pytest.approx(expected.hit_rate, abs=1e-12)
    assert found.popularity.recall == pytest.approx(expected.recall, abs=1e-12)


# Ta-Feng runs from Nov 1, 2000 to Feb 28, 2001: the model card's window is half of it, 60 days to Mar 1.
TA_FENG_CUTOFF, TA_FENG_HORIZON = datetime(2000, 12, 31), 60


def test_ours_beats_popularity_on_the_sample() -> None:
    lines = load_sample().transactions
    found = cs.evaluate_recommender(lines, default_as_of(lines) - timedelta(days=90))
    assert found.horizon_days == 90 and found.customers > 1_000 and found.by == "order"
    assert found.recommender is not None and found.popularity is not None
    assert found.recommender.hit_rate > found.popularity.hit_rate    # 0.501 against 0.462
    assert found.recommender.recall > found.popularity.recall


def test_ours_beats_popularity_on_real_ta_feng_receipts() -> None:
    # every 20th customer of the supermarket's 32,266 (tests/data/real/make_fixtures.py): 768 evaluated
    lines = pl.read_parquet(REAL / "ta_feng_every20.parquet")
    found = cs.evaluate_recommender(lines, TA_FENG_CUTOFF, TA_FENG_HORIZON, k=5)
    assert found.customers == found.eligible > 700 and found.by == "customer"
    assert found.recommender is not None and found.popularity is not None
    assert found.recommender.hit_rate > found.popularity.hit_rate    # 0.215 against 0.204
    assert found.recommender.recall > found.popularity.recall
    # the rule → similar → popular fill this replaced does not: sparse orders yield no rule
    rules = cs.evaluate_recommender(lines, TA_FENG_CUTOFF, TA_FENG_HORIZON, k=5, method="rules", by="order")
    assert rules.recommender is not None and rules.recommender.hit_rate < found.popularity.hit_rate


def test_cdnow_has_no_products_to_recommend() -> None:
    from crm_core.io import read_table

    lines = read_table(REAL / "cdnow_master_head.txt").df
    assert "product" not in lines.columns
    with pytest.raises(ValueError, match="product"):
        cs.evaluate_recommender(lines, datetime(1997, 6, 1))


# ---------------------------------------------------------------- one item, target lists, heatmap

def test_also_bought_shares_and_lift(five: pl.DataFrame) -> None:
    together = cs.also_bought(five, "beer", by="order")
    # beer in baskets 2, 3, 4: diaper in all 3 (share 1, base 4/5, lift 1.25); bread and milk in 2 of 3
    # (base 4/5, lift (2/3)/(4/5) = 0.833); eggs 1 of 3 (base 1/5, lift 1.667); cola 1 of 3 (base 2/5, lift 0.833)
    assert together["item"].to_list() == ["diaper", "bread", "milk", "eggs", "cola"]
    assert together["together"].to_list() == [3, 2, 2, 1, 1]
    assert together["share"].to_list() == pytest.approx([1.0, 2 / 3, 2 / 3, 1 / 3, 1 / 3])
    assert together["lift"].to_list() == pytest.approx([1.25, 5 / 6, 5 / 6, 5 / 3, 5 / 6])
    assert cs.also_bought(five, "beer", by="order", top=2).height == 2
    assert cs.also_bought(five, "caviar").height == 0


def test_target_list_bought_x_never_y() -> None:
    lines = pl.DataFrame({
        "customer_id": ["c1", "c1", "c2", "c2", "c3", "c4", "c4", "c5"],
        "order_date": [datetime(2024, 1, 1), datetime(2024, 1, 2), datetime(2024, 1, 1), datetime(2024, 2, 1),
                       datetime(2024, 1, 1), datetime(2024, 1, 1), datetime(2024, 1, 5), datetime(2024, 3, 1)],
        "amount": [10.0, 20.0, 100.0, 50.0, 30.0, 40.0, -15.0, 70.0],
        "quantity": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0, 1.0],
        "product": ["A", "B", "A", "A2", "C", "A", "B", "A"],
    })
    # c1 bought B → out; c3 never bought A or A2 → out; c4's B line is a return, but it had B → out;
    # c5 bought A on Mar 1. c2 bought A and A2: revenue 150 over 2 orders.
    targets = cs.target_list(lines, bought=["A", "A2"], not_bought="B")
    assert targets.to_dicts() == [
        {"customer_id": "c2", "bought_items": "A, A2", "revenue": 150.0, "orders": 2,
         "last_order": datetime(2024, 2, 1)},
        {"customer_id": "c5", "bought_items": "A", "revenue": 70.0, "orders": 1, "last_order": datetime(2024, 3, 1)},
    ]
    # as of Feb 15: c5 has not bought yet, c2's A2 order and revenue are in the future
    as_of_feb = cs.target_list(lines, bought=["A", "A2"], not_bought=["B"], as_of=datetime(2024, 2, 15))
    assert as_of_feb.to_dicts() == [{"customer_id": "c2", "bought_items": "A, A2", "revenue": 150.0, "orders": 2,
                                     "last_order": datetime(2024, 2, 1)}]
    as_of_jan = cs.target_list(lines, bought="A", as_of=datetime(2024, 1, 3))
    assert as_of_jan["customer_id"].to_list() == ["c2", "c4", "c1"]  # revenue 100, 40, 30
    assert cs.target_list(lines, bought=[]).height == 0


def test_lift_matrix_from_transactions_and_from_rules(five: pl.DataFrame) -> None:
    grid = cs.lift_matrix(five, top=3)
    # the three most frequent items (support 0.8): bread, diaper, milk; each pair together in 3 of 5
    # baskets → lift = 0.6 / (0.8 · 0.8) = 0.9375; the diagonal is empty
    assert grid["item_a"].to_list() == ["bread"] * 3 + ["diaper"] * 3 + ["milk"] * 3
    assert grid["item_b"].to_list() == ["bread", "diaper", "milk"] * 3
    assert grid.filter(pl.col("item_a") == pl.col("item_b"))["lift"].null_count() == 3
    assert grid.filter(pl.col("item_a") != pl.col("item_b"))["lift"].to_list() == pytest.approx([0.9375] * 6)
    rules = cs.association_rules(five, min_support=0.2, min_confidence=0.0, min_lift=0.0)
    from_rules = cs.lift_matrix(rules, top=3)
    assert from_rules.equals(grid)


# ---------------------------------------------------------------- translations

def _catalog(lang: str) -> dict[str, str]:
    import tomllib
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "ui" / "locales" / lang / "cross_sell.toml"
    with path.open("rb") as handle:
        tree = tomllib.load(handle)

    def flatten(node: dict, prefix: str) -> dict[str, str]:
        flat: dict[str, str] = {}
        for key, value in node.items():
            flat.update(flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
        return flat

    return flatten(tree, "")


def test_every_reason_renders_in_english_and_chinese() -> None:
    english, chinese = _catalog("en"), _catalog("zh")
    assert english.keys() == chinese.keys()
    lines = recommendation_lines()
    by_order = cs.recommend(lines, k=4, min_support=0.3, min_common_customers=1, method="rules", by="order")
    by_customer = cs.recommend(lines, k=4, min_support=0.3, by="customer", min_common_customers=1, method="rules")
    co_bought = pl.concat([cs.recommend(lines, k=4, by=by) for by in cs.BASKETS_BY])
    recommendations = pl.concat([by_order, by_customer, co_bought])
    assert set(recommendations["source"]) == set(cs.SOURCES)
    assert set(recommendations["reason_key"]) == {
        "cross_sell.reason.rule", "cross_sell.reason.rule_customer", "cross_sell.reason.similar",
        "cross_sell.reason.popular", "cross_sell.reason.co_bought", "cross_sell.reason.co_bought_order"}
    for key, params in recommendations.select("reason_key", "reason_params").unique().iter_rows():
        for catalog in (english, chinese):
            text = catalog[key].format(**json.loads(params))
            assert json.loads(params)["consequent"] in text and "{" not in text
    c3 = by_order.filter(pl.col("customer_id") == "c3").row(0, named=True)
    assert english[c3["reason_key"]].format(**json.loads(c3["reason_params"])) == (
        "Bought A, B; 67 % of orders with them also include C — 2.0× the usual rate")
