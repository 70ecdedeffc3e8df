"""crm_core.views.cross_sell: the Cross-sell page's view-models, on five hand-checkable orders, the sample and
real Ta-Feng receipts (the recommender's model card)."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from crm_core import cross_sell as cs
from crm_core.dataset import Dataset, load_sample
from crm_core.segmentation import PRESETS
from crm_core.views import cross_sell as views

# Five orders, three products: bread in 4 orders, butter in 4, jam in 2 (always with bread).
LINES = [
    ("A", 5, "O1", "bread", 10.0), ("A", 5, "O1", "butter", 5.0),
    ("B", 6, "O2", "bread", 10.0), ("B", 6, "O2", "butter", 5.0),
    ("C", 7, "O3", "bread", 10.0), ("C", 7, "O3", "butter", 5.0), ("C", 7, "O3", "jam", 8.0),
    ("D", 8, "O4", "bread", 10.0), ("D", 8, "O4", "jam", 8.0),
    ("E", 9, "O5", "butter", 5.0),
]
AS_OF = datetime(2024, 2, 1)
DEFAULTS = (views.SUPPORT_PCT.default, views.MAX_LEN[-1], views.CONFIDENCE_PCT.default, views.LIFT.default)


def five_orders(amounts: bool = True, names: bool = False) -> Dataset:
    lines = pl.DataFrame(
        [{"customer_id": c, "order_date": datetime(2024, 1, day), "order_id": o, "product": p, "amount": a}
         for c, day, o, p, a in LINES])
    if not amounts:
        lines = lines.drop("amount")
    customers = pl.DataFrame({"customer_id": ["A", "B"], "name": ["Anna", "Bo"]}) if names else None
    return Dataset(lines, customers)


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load_sample()


@pytest.fixture(scope="module")
def sample_as_of(sample) -> datetime:
    last = sample.transactions["order_date"].max()
    return datetime(last.year, last.month, last.day) + (datetime(2000, 1, 2) - datetime(2000, 1, 1))


def test_basket_setup_names_what_the_data_lacks():
    setup = views.basket_setup(five_orders())
    assert setup == views.BasketSetup(("product",), ("category",), True)
    lines = five_orders().transactions.drop("order_id").rename({"product": "category"})
    assert views.basket_setup(Dataset(lines)) == views.BasketSetup(("category",), ("product",), False)


def test_basket_overview_by_hand():
    overview = views.basket_overview(five_orders(), AS_OF, "product", "order")
    assert (overview.baskets, overview.multi) == (5, 4)           # only O5 holds a single item
    assert overview.items == ("bread", "butter", "jam") and overview.item_baskets == (4, 4, 2)
    assert overview.multi_share == pytest.approx(0.8)
    assert overview.has_pairs and overview.affinity_top is None   # three items: all of them in the map
    by_customer = views.basket_overview(five_orders(), AS_OF, "product", "customer")
    assert (by_customer.baskets, by_customer.multi) == (5, 4)
    before = views.basket_overview(five_orders(), datetime(2024, 1, 7), "product", "order")
    assert before.baskets == 2 and before.items == ("bread", "butter")   # strictly before the analysis date


def test_rules_by_hand():
    # s(bread) = s(butter) = 0.8, s(jam) = 0.4, s(bread, jam) = 0.4, s(butter, jam) = s(all three) = 0.2.
    # Lift ≥ 1: jam → bread and {butter, jam} → bread (confidence 1, lift 1.25), bread → jam (0.5, 1.25),
    # bread → {butter, jam} (0.25, 1.25); butter → bread has lift 0.6 / 0.64 < 1.
    found = views.rules(five_orders(), AS_OF, "product", "order", *DEFAULTS)
    assert found.count == found.found == found.shown == 4
    assert found.table["antecedents"].to_list() == ["butter, jam", "jam", "bread", "bread"]
    assert found.table["consequents"].to_list() == ["bread", "bread", "jam", "butter, jam"]
    assert found.table["lift"].to_list() == pytest.approx([1.25] * 4)
    assert found.table["conviction"].to_list()[:2] == [None, None]   # ∞: the rules never fail
    assert found.conviction_blank
    assert found.strongest == views.Pair("jam", "bread", pytest.approx(1.25), 1.0)
    assert list(found.on_screen.columns) == ["antecedents", "consequents", *views.RULE_METRICS_SHOWN]
    assert list(found.table.columns) == ["antecedents", "consequents", *views.RULE_METRICS_SHOWN,
                                         *views.RULE_METRICS_DOWNLOADED]


def test_rules_thresholds_and_search():
    data = five_orders()
    confident = views.rules(data, AS_OF, "product", "order", 1.0, 3, 60, 1.0)
    assert confident.count == 2 and not confident.table["confidence"].lt(0.6).any()
    pairs_only = views.rules(data, AS_OF, "product", "order", 1.0, 2, 10, 1.0)
    assert pairs_only.count == 2
    searched = views.rules(data, AS_OF, "product", "order", *DEFAULTS, query="  BUTTER ", separator=" + ")
    assert (searched.count, searched.found, searched.query) == (4, 2, "BUTTER")
    assert searched.table["antecedents"].to_list() == ["butter + jam", "bread"]
    assert searched.strongest == views.Pair("jam", "bread", pytest.approx(1.25), 1.0)  # from all rules, not the search
    none = views.rules(data, AS_OF, "product", "order", *DEFAULTS, query="cheese")
    assert (none.count, none.found, none.conviction_blank) == (4, 0, False)
    assert views.rules(data, AS_OF, "product", "order", 50.0, 3, 10, 1.0).count == 0   # support 0.4 at most


def test_affinity_map_by_hand():
    grid = views.affinity_map(five_orders(), AS_OF, "product", "order", 3)
    assert grid.items == ("bread", "butter", "jam")
    assert grid.lift[0][0] is None and grid.lift[2][2] is None
    assert grid.lift[0][1] == pytest.approx(0.6 / 0.64) and grid.lift[1][2] == pytest.approx(0.2 / 0.32)
    assert grid.confidence[2][0] == 1.0 and grid.confidence[0][2] == 0.5    # jam → bread, bread → jam
    assert grid.support[0][2] == pytest.approx(0.4)
    assert views.affinity_map(five_orders(), AS_OF, "product", "order", 2).items == ("bread", "butter")


def test_also_bought_by_hand():
    found = views.also_bought(five_orders(), AS_OF, "product", "order", "bread", 10)
    assert (found.item, found.holders, found.baskets) == ("bread", 4, 5)
    assert found.holder_share == 0.8
    assert found.others["item"].to_list() == ["butter", "jam"]
    assert found.others["together"].to_list() == [3, 2]
    assert found.others["share"].to_list() == [0.75, 0.5]
    assert views.also_bought(five_orders(), AS_OF, "product", "order", "bread", 1).others.height == 1


def test_customer_choices_largest_revenue_first():
    choices = views.customer_choices(five_orders(names=True), AS_OF)
    assert choices.ids == ("C", "D", "A", "B", "E")       # 23, 18, 15, 15, 5
    assert dict(choices.names) == {"A": "Anna", "B": "Bo"}
    assert not choices.typed


def test_offers_for_one_customer_skip_what_they_bought():
    found = views.offers(five_orders(), AS_OF, "customer", "A", 5, "product")
    assert found.history == ("bread", "butter")
    assert found.recommended["item"].to_list() == ["jam"]
    assert found.fewer and found.count == 1 and (found.asked, found.customers, found.capped) == (1, 1, False)
    assert found.mix["item"].to_list() == ["jam"] and (found.method, found.by) == ("co_bought", "order")
    (rank, item, probability, _, source, reason_id), = found.cards()
    # bread and jam in 2 orders (butter and jam in 1, below the 2 needed): (2 + 5 · 2/5) / (4 + 5) = 4/9
    assert (rank, item, source) == (1, "jam", "co_bought") and probability == pytest.approx(4 / 9)
    key, params = found.reasons[reason_id]
    assert key == "cross_sell.reason.co_bought_order"
    assert params == {"item": "bread", "consequent": "jam", "share_pct": 50, "baskets": 4}
    table = views.offer_table(found, ["because"], {"co_bought": "Together", "popular": "Popular"})
    assert table.columns == ["customer_id", "rank", "item", "probability", "expected_value", "source", "reason"]
    assert table.row(0) == ("A", 1, "jam", probability, found.recommended["expected_value"][0], "Together", "because")
    popular = views.offers(five_orders(), AS_OF, "customer", "A", 5, "product", method="popular", by="order")
    assert popular.cards()[0][4] == "popular" and popular.method == "popular"


def test_offers_for_an_unknown_customer_are_popular_items():
    found = views.offers(five_orders(), AS_OF, "customer", "Z", 2, "product")
    assert found.history == () and not found.fewer
    assert set(found.recommended["source"]) == {"popular"}
    assert found.recommended["item"].to_list() == ["bread", "butter"]


def test_segments_and_their_offers_on_the_sample(sample, sample_as_of):
    segments = views.segment_choices(sample, sample_as_of)
    order = PRESETS[views.SEGMENT_PRESET].segments
    assert [segment for segment, _ in segments] == [s for s in order if s in dict(segments)]
    assert sum(size for _, size in segments) == 4_721         # every customer with an order, once
    segment, size = segments[0]
    found = views.offers(sample, sample_as_of, "segment", segment, 3, "product")
    assert found.asked == size and found.customers == min(size, views.SEGMENT_CAP)
    assert found.recommended["customer_id"].n_unique() == found.customers
    assert found.recommended.group_by("customer_id").len()["len"].max() <= 3
    mix = found.mix
    assert 0 < mix.height <= views.OFFER_MIX_ITEMS
    assert mix["customers"].to_list() == sorted(mix["customers"], reverse=True)
    assert mix["customers"][0] == found.recommended.filter(pl.col("item") == mix["item"][0]).height
    texts = [f"{key}:{len(params)}" for key, params in found.reasons]
    table = views.offer_table(found, texts, {source: source.upper() for source in views.SOURCES})
    assert table.height == found.count and table["reason"].null_count() == 0
    assert set(table["source"]) <= {"CO_BOUGHT", "POPULAR"}


def test_the_sample_as_the_page_shows_it(sample, sample_as_of):
    overview = views.basket_overview(sample, sample_as_of, "product", "order")
    assert (overview.baskets, overview.n_items) == (25_581, 57)
    assert overview.affinity_top == views.Control(3, 30, 15, 1)
    assert views.rules(sample, sample_as_of, "product", "order", *DEFAULTS).count == 90
    assert views.basket_overview(sample, sample_as_of, "category", "customer").baskets == 4_721
    choices = views.customer_choices(sample, sample_as_of)
    assert len(choices.ids) == 4_721 and not choices.typed and choices.names


def test_the_sample_card_beats_popularity_and_keeps_our_method(sample, sample_as_of):
    card = views.recommender_card(sample, sample_as_of, "product")
    assert (card.cutoff, card.horizon_days, card.end) == (datetime(2025, 10, 3), 90, sample_as_of)
    assert card.by == "order" and card.verdict == "beats" and card.method == views.RECOMMENDER
    (ours, hit, recall), (baseline, base_hit, base_recall) = card.rows()
    assert (ours, baseline) == ("co_bought", "popular") and hit > base_hit and recall > base_recall
    assert card.customers == card.evaluation.eligible < views.EVALUATION_CUSTOMERS and not card.sampled
    # the card is the core's evaluation in that window, nothing re-computed on the way
    found = cs.evaluate_recommender(sample.transactions, card.cutoff, 90, k=views.EVALUATION_K, by="order")
    assert (hit, recall) == (found.recommender.hit_rate, found.recommender.recall)


def test_real_ta_feng_card_uses_customer_baskets_in_half_the_span():
    lines = pl.read_parquet(Path(__file__).resolve().parents[1] / "data" / "real" / "ta_feng_every20.parquet")
    card = views.recommender_card(Dataset(lines), datetime(2001, 3, 1), "product")
    # Nov 1, 2000 to Mar 1, 2001 is 120 days: 60 held back; no pair of products in 1 % of the orders
    assert (card.cutoff, card.horizon_days, card.by) == (datetime(2000, 12, 31), 60, "customer")
    assert card.verdict == "beats" and card.method == "co_bought" and card.customers > 700


def fallback_card(verdict_hit: float, baseline_hit: float, customers: int = 100) -> views.RecommenderCard:
    found = cs.RecommenderEvaluation(datetime(2024, 1, 1), 30, 5, "product", "order", "co_bought", customers * 2,
                                     customers, cs.HitRecall(verdict_hit, 0.1), cs.HitRecall(baseline_hit, 0.1))
    return views.RecommenderCard("product", "order", datetime(2024, 1, 1), 30, datetime(2024, 1, 31), found)


def test_the_card_falls_back_to_popularity_when_ours_is_not_better():
    assert fallback_card(0.30, 0.25).verdict == "beats" and fallback_card(0.30, 0.25).method == "co_bought"
    for ours, baseline in ((0.20, 0.25), (0.25, 0.25)):       # worse, or merely as good
        card = fallback_card(ours, baseline)
        assert card.verdict == "falls_back" and card.method == views.BASELINE == "popular"
    few = fallback_card(0.10, 0.25, customers=views.MIN_EVALUATED - 1)
    assert few.verdict == "too_few" and few.method == "co_bought" and few.sampled


def test_a_card_without_enough_days_or_customers_is_unmeasured():
    short = views.recommender_card(five_orders(), datetime(2024, 1, 6), "product")   # one day of data
    assert short.cutoff is None and short.evaluation is None and short.verdict == "unmeasured"
    assert short.method == "co_bought" and short.rows() == ()
    card = views.recommender_card(five_orders(), AS_OF, "product")   # the 13 days before Feb 1 hold no order
    assert card.cutoff is not None and card.customers == 0 and card.verdict == "unmeasured"


def test_target_list_bought_x_not_y():
    listed = views.targets(five_orders(names=True), AS_OF, "product", ("bread",), ("jam",))
    assert listed.profile == ("name",)
    assert listed.table.columns == ["customer_id", "name", "bought_items", "revenue", "orders", "last_order"]
    assert listed.table["customer_id"].to_list() == ["A", "B"] and listed.table["name"].to_list() == ["Anna", "Bo"]
    assert (listed.customers, listed.revenue, listed.average_revenue) == (2, 30.0, 15.0)
    assert listed.table["last_order"].to_list() == [date(2024, 1, 5), date(2024, 1, 6)]
    assert views.targets(five_orders(), AS_OF, "product", ("jam",), ("bread",)).customers == 0


def test_target_list_without_amounts_has_no_revenue():
    listed = views.targets(five_orders(amounts=False), AS_OF, "product", ("bread",), ())
    assert listed.customers == 4 and listed.profile == ()
    assert listed.revenue is None and listed.average_revenue is None
