"""View-models of the Segments page (crm_core.views.segments): real numbers on the sample, and small frames
whose numbers can be checked by hand."""
from datetime import date, datetime

import polars as pl
import pytest

from crm_core.dataset import Dataset, load_sample
from crm_core.features import customer_summary, default_as_of
from crm_core.segmentation import CATCH_ALL, NO_SEGMENT, PRESETS, Rule, RuleError, clusters, rule_table, rules_to_text
from crm_core.views import segments as views

SAMPLE = load_sample()
AS_OF = default_as_of(SAMPLE.transactions)  # Jan 1, 2026


def lines(rows, customers=None) -> Dataset:
    """A dataset from ``(customer_id, day, amount)`` rows (day as text or datetime; amount None: no amounts)."""
    frame = pl.DataFrame({"customer_id": [r[0] for r in rows],
                          "order_date": [r[1] if isinstance(r[1], datetime) else datetime.fromisoformat(r[1])
                                         for r in rows],
                          "amount": [r[2] for r in rows]}, schema_overrides={"amount": pl.Float64})
    return Dataset(frame, customers)


# Four customers, one order each, revenue 50 / 30 / 15 / 5 (shares 0.50, 0.30, 0.15, 0.05).
FOUR = lines([("A", "2024-06-01", 50.0), ("B", "2024-06-02", 30.0), ("C", "2024-06-03", 15.0),
              ("D", "2024-06-04", 5.0)])
FOUR_AS_OF = datetime(2024, 7, 1)


# ---------------------------------------------------------------- segments and the R x F grid

def test_every_sample_customer_lands_in_one_segment_in_the_presets_order():
    seg = views.segments(SAMPLE, AS_OF, "standard")
    assert views.customer_count(SAMPLE, AS_OF) == seg.customers == 4721
    assert seg.table["customers"].sum() == 4721
    assert abs(seg.revenue - customer_summary(SAMPLE.transactions, AS_OF)["revenue"].sum()) < 1e-6
    ranks = [PRESETS["standard"].segments.index(key) for key in seg.order]
    assert ranks == sorted(ranks) and list(seg.table["segment"]) == list(seg.order)
    by_revenue = seg.table.sort("revenue", descending=True).row(0, named=True)
    assert seg.top == by_revenue["segment"] and seg.top_share_of_revenue == by_revenue["share_of_revenue"]
    assert seg.colour_keys[:len(PRESETS["standard"].segments)] == PRESETS["standard"].segments


def test_shopify_adds_the_customers_without_an_order_as_prospects():
    seg = views.segments(SAMPLE, AS_OF, "shopify")
    table = dict(seg.table.select("segment", "customers").iter_rows())
    assert table["prospects"] == 279 and seg.table["customers"].sum() == 5000
    assert seg.customers == 4721  # the headline counts the customers with an order


def test_prospects_come_from_the_customers_table_and_only_for_shopify():
    people = pl.DataFrame({"customer_id": ["A", "B", "C", "D", "P"]})  # P never ordered
    dataset = lines(FOUR.transactions.rows(), people)
    shopify = dict(views.segments(dataset, FOUR_AS_OF, "shopify").table.select("segment", "customers").iter_rows())
    assert shopify["prospects"] == 1 and sum(shopify.values()) == 5
    assert "prospects" not in set(views.segments(dataset, FOUR_AS_OF, "standard").table["segment"])


def test_rf_grid_has_every_cell_with_the_highest_recency_on_top():
    grid = views.rf_grid(FOUR, FOUR_AS_OF, "klaviyo")  # scores 1-3
    assert grid.r_scores == (3, 2, 1) and grid.f_scores == (1, 2, 3)
    # one order each: everyone has F = 1. R = 1 + floor(3 x (customers less recent) / 4), recency A > B > C > D:
    # A 1 + 0, B 1 + floor(3/4) = 1, C 1 + floor(6/4) = 2, D 1 + floor(9/4) = 3
    assert grid.customers == ((1, 0, 0), (1, 0, 0), (2, 0, 0))
    assert grid.avg_revenue[0][0] == 5 and grid.avg_revenue[2][0] == pytest.approx((50 + 30) / 2)
    assert grid.avg_revenue[0][1] is None  # an empty cell has no average
    sample = views.rf_grid(SAMPLE, AS_OF, "standard")
    assert sum(map(sum, sample.customers)) == 4721 and sample.bins == 5


# ---------------------------------------------------------------- the rule editor

def test_rule_editor_starts_from_the_preset_or_the_links_rules():
    standard = views.rule_editor("standard")
    assert "fm_min" not in standard.table.columns and standard.table.height == len(PRESETS["standard"].rules)
    assert {"prospects", NO_SEGMENT}.isdisjoint(standard.segment_options)
    assert standard.segment_options[:11] == PRESETS["standard"].segments
    assert {"fm_min", "fm_max"} <= set(views.rule_editor("shopify").table.columns)
    edited = (Rule("champions", f=(3, 3)),) + PRESETS["klaviyo"].rules[1:]
    table = views.rule_editor("klaviyo", rules_to_text(edited)).table
    assert table["f_min"][0] == 3 and table["r_min"][0] is None


def test_edited_rules_travel_as_link_text():
    assert views.edited_rules("klaviyo", rule_table("klaviyo")) is None  # unchanged: the preset's own
    table = rule_table("klaviyo").with_columns(r_min=pl.when(pl.int_range(pl.len()) == 0).then(1)
                                              .otherwise(pl.col("r_min")))
    text = views.edited_rules("klaviyo", table)
    assert text.startswith("champions:1-3:") and views.readable_rules("klaviyo", text)
    assert views.rule_editor("klaviyo", text).table.equals(table.drop("fm_min", "fm_max"))
    with pytest.raises(RuleError) as broken:
        views.edited_rules("klaviyo", table.with_columns(r_min=pl.lit(9)))
    assert broken.value.key == "segmentation.rule_error.out_of_range"
    assert not views.readable_rules("klaviyo", "champions:9-9") and views.readable_rules("klaviyo", "")


def test_an_emptied_rule_map_puts_everyone_in_the_catch_all():
    text = views.edited_rules("standard", rule_table("standard").head(0))
    assert text == ""  # not None: the map was edited
    seg = views.segments(FOUR, FOUR_AS_OF, "standard", text)
    assert list(seg.table["segment"]) == [CATCH_ALL] and seg.order == (CATCH_ALL,)
    assert views.rule_coverage("standard", text) == views.RuleCoverage(uncovered=125, codes=125)


def test_rule_coverage_counts_the_codes_no_rule_matches():
    assert views.rule_coverage("standard") == views.RuleCoverage(uncovered=0, codes=125)
    assert views.rule_coverage("rfm_r").uncovered == 10
    assert views.rule_coverage("klaviyo").codes == 27


# ---------------------------------------------------------------- value tiers

def test_value_tiers_by_hand():
    tier = views.tiers(FOUR, FOUR_AS_OF, (80, 95))
    # revenue share before each customer: A 0, B 0.5 (< 0.8: high), C 0.8 (< 0.95: mid), D 0.95 (low)
    assert tier.cuts == (0.8, 0.95) and tier.tiers == ("high", "mid", "low")
    assert list(tier.table["customers"]) == [2, 1, 1]
    assert tier.ends == pytest.approx((0.5, 0.75, 1.0)) and tier.high_share == 0.5
    assert tier.curve.row(0) == (0.0, 0.0) and tier.curve.row(-1) == pytest.approx((1.0, 1.0))
    only_high = views.tiers(FOUR, FOUR_AS_OF, (100, 100))
    assert only_high.tiers == ("high",) and only_high.ends == (1.0,)


def test_sample_tiers_reach_the_cut():
    tier = views.tiers(SAMPLE, AS_OF, (70, 90))
    high = tier.table.filter(pl.col("segment") == "high")["share_of_revenue"].item()
    assert 0.70 <= high < 0.71


# ---------------------------------------------------------------- clusters

def test_the_silhouettes_k_fitted_again_gives_the_automatic_clusters():
    summary = customer_summary(SAMPLE.transactions, AS_OF)
    automatic = clusters(summary)
    choice = views.cluster_choice(SAMPLE, AS_OF)
    assert choice.k == automatic.k and choice.silhouette == pytest.approx(automatic.silhouette)  # to the last digits
    again = views.clusters(SAMPLE, AS_OF, choice.k)
    assert again.descriptions == automatic.descriptions
    assert clusters(summary, k=choice.k).labels.equals(automatic.labels)


def test_cluster_view_counts_and_scatter_points():
    groups = views.clusters(SAMPLE, AS_OF, 3)
    assert groups.k == 3 and groups.table["customers"].sum() == groups.customers == 4721
    assert list(groups.table["segment"]) == ["1", "2", "3"]
    assert groups.points.height + groups.dropped == 4721 or groups.points.height == views.SCATTER_POINTS
    assert (groups.points["revenue"] > 0).all()
    refund = lines(FOUR.transactions.rows() + [("E", "2024-06-05", 10.0), ("E", "2024-06-06", -10.0)])
    small = views.clusters(refund, FOUR_AS_OF, 2, scatter_points=3)
    assert small.dropped == 1 and small.points.height == 3  # E nets 0: off a log axis; then sampled to 3


# ---------------------------------------------------------------- movement

def test_movement_summary_by_hand():
    flows = pl.DataFrame({"segment_from": ["a", "a", "b", NO_SEGMENT], "segment_to": ["a", "b", "b", "a"],
                          "customers": [5, 3, 2, 4]})
    summary = views.movement_summary(flows)
    assert summary == views.MovementSummary(compared=14, stayed=7, newcomers=4, stayed_share=0.7)
    newcomers_only = views.movement_summary(flows.filter(pl.col("segment_from") == NO_SEGMENT))
    assert newcomers_only.stayed_share is None and newcomers_only.newcomers == 4
    # the Lifecycle page's flows name their columns and their "not yet" group differently
    stages = flows.rename({"segment_from": "stage_from", "segment_to": "stage_to"})
    assert views.movement_summary(stages, "stage_from", "stage_to") == summary


def test_movement_dates():
    dates = views.movement_dates(SAMPLE, AS_OF)
    assert dates == views.MovementDates(date(2023, 1, 2), date(2025, 12, 31), date(2025, 10, 3))
    assert views.movement_dates(FOUR, datetime(2024, 6, 2)) is None  # no day between the first order and as_of
    early = views.movement_dates(FOUR, datetime(2024, 6, 10))
    assert early.default == early.lowest == date(2024, 6, 2)  # 90 days back is before the data: its first day


def test_sample_movement_adds_up():
    start = datetime(2025, 10, 3)
    moves = views.movement(SAMPLE, start, AS_OF, "standard", None, "customers")
    assert moves.summary.compared == moves.flows["customers"].sum() == 4721
    assert moves.summary.newcomers == moves.flows.filter(pl.col("segment_from") == NO_SEGMENT)["customers"].sum()
    assert moves.ranked[-2:] == (CATCH_ALL, NO_SEGMENT)
    for row in moves.cells:
        assert sum(cell.share for cell in row if cell is not None) == pytest.approx(1.0)
    biggest = moves.biggest
    assert biggest.height == views.BIGGEST_MOVES
    assert (biggest["segment_from"] != biggest["segment_to"]).all() and NO_SEGMENT not in set(biggest["segment_from"])
    assert biggest["customers"].is_sorted(descending=True)
    by_revenue = views.movement(SAMPLE, start, AS_OF, "standard", None, "revenue")
    assert by_revenue.biggest["revenue"].is_sorted(descending=True) and (by_revenue.links["revenue"] > 0).all()


# ---------------------------------------------------------------- customer lists

def test_a_segments_list_is_its_customers_with_their_profile():
    seg = views.segments(SAMPLE, AS_OF, "standard")
    champions = seg.table.filter(pl.col("segment") == "champions").row(0, named=True)
    group = views.customer_group(SAMPLE, AS_OF, "standard", None, (80, 95), 2, "segment", "champions")
    assert group.rows.height == champions["customers"] and group.revenue == pytest.approx(champions["revenue"])
    assert {"name", "region", "owner", "tier", "cluster", "rfm_code"} <= set(group.rows.columns)
    assert group.missing_profile == () and group.profile_note is None
    assert group.rows["revenue"].is_sorted(descending=True)
    cluster = views.customer_group(SAMPLE, AS_OF, "standard", None, (80, 95), 2, "cluster", "1")
    assert set(cluster.rows["cluster"]) == {1}


def test_lists_without_a_customers_table_or_amounts():
    group = views.customer_group(FOUR, FOUR_AS_OF, "standard", None, (80, 95), 2, "tier", "high")
    assert sorted(group.rows["customer_id"]) == ["A", "B"] and group.revenue == 80
    assert group.missing_profile == views.PROFILE_COLUMNS
    assert group.profile_note == "segmentation.page.list_no_profile"
    baskets = lines([(c, d, None) for c, d, _ in FOUR.transactions.rows()])
    listing = views.customer_list(baskets, FOUR_AS_OF, "standard", None, (80, 95), 2)
    assert listing.height == 4 and listing["tier"].null_count() == 4  # tiers are shares of revenue
