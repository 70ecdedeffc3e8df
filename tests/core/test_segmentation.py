"""crm_core.segmentation: RFM scores and presets, value tiers, clusters, movement (and as_of in features)."""
from __future__ import annotations

import itertools
import re
import tomllib
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from crm_core import segmentation as sg
from crm_core.features import customer_summary

LOCALES = Path(__file__).resolve().parents[2] / "ui" / "locales"


def tiny_summary() -> pl.DataFrame:
    """Ten customers whose quintile scores are worked out by hand below."""
    return pl.DataFrame({
        "customer_id": list("abcdefghij"),
        "recency_days": [1, 3, 3, 10, 15, 40, 60, 90, 200, 365],
        "orders": [5, 1, 2, 1, 3, 1, 1, 2, 1, 1],
        "revenue": [900.0, 40.0, 300.0, 120.0, 300.0, 20.0, 60.0, 500.0, 75.0, 10.0],
    }).with_columns((pl.col("revenue") / pl.col("orders")).alias("avg_order_value"))


# score = 1 + floor(bins * (customers with a strictly worse value) / 10)
# R (worse = more days): a 9 worse -> 5; b, c (tie at 3 days) 7 -> 4; d 6 -> 4; e 5 -> 3; f 4 -> 3; g 3 -> 2;
#   h 2 -> 2; i 1 -> 1; j 0 -> 1.
# F: six one-order customers -> 1; c, h (2 orders) have 6 below -> 4 (scores 2-3 skipped); e 8 -> 5; a 9 -> 5.
# M (ascending j 10, f 20, b 40, g 60, i 75, d 120, c = e 300, h 500, a 900): j, f -> 1; b, g -> 2;
#   i, d -> 3; c, e (tie) 6 below -> 4; h 8 -> 5; a 9 -> 5.
HAND_R = [5, 4, 4, 4, 3, 3, 2, 2, 1, 1]
HAND_F = [5, 1, 4, 1, 5, 1, 1, 4, 1, 1]
HAND_M = [5, 2, 4, 3, 4, 1, 2, 5, 3, 1]
HAND_STANDARD = ["champions", "new", "loyal", "promising", "loyal", "new", "hibernating", "at_risk",
                 "cant_lose", "lost"]

# The published 11-segment lookup (Squeezely "RFM app" wiki; research/mission_anchors.md §5.2).
PUBLISHED_STANDARD = {
    "champions": "555 554 544 545 454 455 445",
    "loyal": "543 444 435 355 354 345 344 335",
    "potential_loyalist": "553 551 552 541 542 533 532 531 452 451 442 441 431 453 433 432 423 353 352 351 "
                          "342 341 333 323",
    "new": "512 511 422 421 412 411 311",
    "promising": "525 524 523 522 521 515 514 513 425 424 413 414 415 315 314 313",
    "need_attention": "535 534 443 434 343 334 325 324",
    "about_to_sleep": "331 321 312 221 213 231 241 251",
    "at_risk": "255 254 245 244 253 252 243 242 235 234 225 224 153 152 145 143 142 135 134 133 125 124",
    "cant_lose": "155 154 144 214 215 115 114 113",
    "hibernating": "332 322 233 232 223 222 132 123 122 212 211",
    "lost": "111 112 121 131 141 151",
}
# PyMC-Marketing clv/utils.py _default_rfm_segment_config (everything else is "Other").
PUBLISHED_PYMC = {
    "premium": "334 443 444 344 434 433 343 333",
    "repeat": "244 234 232 332 143 233 243",
    "top_spender": "424 414 144 314 324 124 224 423 413 133 323 313 134",
    "at_risk": "422 223 212 122 222 132 322 312 412 123 214",
    "inactive": "411 111 113 114 112 211 311",
}


def code_segments(preset: str) -> dict[str, str]:
    return dict(sg.score_map(preset).select("rfm_code", "segment").iter_rows())


# ---------------------------------------------------------------- scores and presets

def test_quintile_scores_match_hand_computation():
    scored = sg.rfm(tiny_summary())
    assert scored["r_score"].to_list() == HAND_R
    assert scored["f_score"].to_list() == HAND_F
    assert scored["m_score"].to_list() == HAND_M
    assert scored["rfm_code"].to_list() == [f"{r}{f}{m}" for r, f, m in zip(HAND_R, HAND_F, HAND_M)]
    assert scored["segment"].to_list() == HAND_STANDARD
    assert scored["fm_score"].to_list() == [(f + m) / 2 for f, m in zip(HAND_F, HAND_M)]


def test_equal_values_get_equal_scores_whatever_the_row_order_or_ids():
    summary = tiny_summary()
    scored = sg.rfm(summary).select("customer_id", "r_score", "f_score", "m_score", "segment")
    # b and c share 3 days; c and e share 300.0 revenue; all one-order customers share F = 1
    by_id = {row[0]: row[1:] for row in scored.iter_rows()}
    assert by_id["b"][0] == by_id["c"][0] == 4
    assert by_id["c"][2] == by_id["e"][2] == 4
    assert {by_id[c][1] for c in "bdfgij"} == {1}
    shuffled = summary.sample(fraction=1.0, shuffle=True, seed=7).with_columns(
        ("z" + pl.col("customer_id")).alias("customer_id"))
    rescored = sg.rfm(shuffled).with_columns(pl.col("customer_id").str.slice(1))
    assert rescored.sort("customer_id").select(scored.columns).equals(scored.sort("customer_id"))


def test_all_distinct_values_give_equal_count_quintiles():
    summary = pl.DataFrame({"customer_id": [f"c{i}" for i in range(20)], "recency_days": list(range(20)),
                            "orders": list(range(1, 21)), "revenue": [float(i) for i in range(20)]})
    scored = sg.rfm(summary)
    for column in ("r_score", "f_score", "m_score"):
        assert scored[column].value_counts().sort(column)["count"].to_list() == [4] * 5


def test_rescoring_a_scored_frame_replaces_the_scores():
    once = sg.rfm(tiny_summary())
    twice = sg.rfm(once, preset="klaviyo")
    assert twice.columns == once.columns
    assert twice["r_score"].max() == 3


def test_shopify_klaviyo_and_pymc_presets_by_hand():
    summary = tiny_summary()
    # Shopify: R and FM = (F + M) / 2 on the quintiles above
    assert sg.rfm(summary, preset="shopify")["segment"].to_list() == [
        "champions", "promising", "loyal", "active", "loyal", "promising", "dormant", "previously_loyal",
        "almost_lost", "dormant"]
    # Klaviyo: terciles, score = 1 + floor(3 * below / 10) -> codes 333 311 322 212 232 211 111 123 112 111
    klaviyo = sg.rfm(summary, bins=5, preset="klaviyo")  # bins is ignored: the preset is on 1-3
    assert klaviyo["rfm_code"].to_list() == ["333", "311", "322", "212", "232", "211", "111", "123", "112", "111"]
    assert klaviyo["segment"].to_list() == ["champions", "recent", "loyal", "need_attention", "loyal",
                                            "need_attention", "inactive", "at_risk", "inactive", "inactive"]
    # PyMC: quartiles and M = mean order value (a 180, b 40, c 150, d 120, e 100, f 20, g 60, h 250, i 75, j 10)
    pymc = sg.rfm(summary, preset="pymc")
    # quartiles: score = 1 + floor(4 * below / 10)
    assert pymc["m_score"].to_list() == [4, 1, 3, 3, 3, 1, 2, 4, 2, 1]
    assert pymc["rfm_code"].to_list() == ["444", "311", "333", "313", "343", "211", "212", "134", "112", "111"]
    assert pymc["segment"].to_list() == ["premium", "inactive", "premium", "top_spender", "premium", "inactive",
                                         "at_risk", "top_spender", "inactive", "inactive"]


@pytest.mark.parametrize("preset", sorted(sg.PRESETS))
def test_every_score_code_lands_in_exactly_one_segment(preset):
    bins = sg.PRESETS[preset].bins
    grid = sg.score_map(preset)
    expected = {"".join(map(str, code)) for code in itertools.product(range(1, bins + 1), repeat=3)}
    assert grid.height == bins ** 3
    assert set(grid["rfm_code"]) == expected and grid["rfm_code"].n_unique() == grid.height
    assert grid["segment"].null_count() == 0
    assert set(grid["segment"]) <= set(sg.PRESETS[preset].segments)
    if sg.CATCH_ALL not in sg.PRESETS[preset].segments:  # standard, rf_grid, shopify, klaviyo: no gaps
        assert sg.CATCH_ALL not in set(grid["segment"])


def test_standard_preset_reproduces_the_published_125_code_map():
    assert code_segments("standard") == {code: segment for segment, codes in PUBLISHED_STANDARD.items()
                                         for code in codes.split()}
    assert set(sg.PRESETS["standard"].segments) == set(PUBLISHED_STANDARD)


def test_pymc_preset_reproduces_pymc_marketing_default_config():
    published = {code: segment for segment, codes in PUBLISHED_PYMC.items() for code in codes.split()}
    mapped = code_segments("pymc")
    assert {code: segment for code, segment in mapped.items() if segment != sg.CATCH_ALL} == published
    assert sum(segment == sg.CATCH_ALL for segment in mapped.values()) == 64 - 46


def test_rf_grid_and_rfm_r_presets_follow_their_sources():
    grid = code_segments("rf_grid")
    # regex map: [1-2][1-2] hibernating, [1-2]5 cant_lose, 33 need_attention, 41 promising, 51 new, 5[4-5] champions
    assert grid["115"] == grid["221"] == "hibernating" and grid["153"] == "cant_lose"
    assert grid["331"] == "need_attention" and grid["412"] == "promising" and grid["513"] == "new"
    assert grid["545"] == "champions" and grid["441"] == "loyal" and grid["425"] == "potential_loyalist"
    r_package = code_segments("rfm_r")
    assert r_package["555"] == "champions" and r_package["554"] == "potential_loyalist"
    assert r_package["525"] == "new" and r_package["111"] == "lost"
    # no rfm rule covers recent frequent buyers with the lowest M, among others
    assert [code for code, segment in r_package.items() if segment == sg.CATCH_ALL] == [
        "215", "241", "251", "252", "341", "351", "441", "451", "541", "551"]


def test_rfm_on_random_data_always_assigns_a_preset_segment():
    rng = np.random.default_rng(3)
    n = 500
    summary = pl.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                            "recency_days": rng.integers(0, 400, n), "orders": rng.geometric(0.5, n),
                            "revenue": rng.gamma(2.0, 50.0, n).round(2)}).with_columns(
        (pl.col("revenue") / pl.col("orders")).alias("avg_order_value"))
    for name, preset in sg.PRESETS.items():
        scored = sg.rfm(summary, preset=name)
        assert scored.height == n and scored["segment"].null_count() == 0
        assert set(scored["segment"]) <= set(preset.segments)
        assert scored["r_score"].is_between(1, preset.bins).all()


def test_empty_summary_gives_an_empty_scored_frame():
    empty = tiny_summary().head(0)
    scored = sg.rfm(empty)
    assert scored.height == 0 and "segment" in scored.columns
    assert sg.segment_table(scored).height == 0
    assert sg.value_tiers(empty).height == 0


# ---------------------------------------------------------------- custom rule tables

def test_rule_table_round_trips_and_edits_apply():
    table = sg.rule_table("standard")
    assert table.columns == list(sg.RULE_COLUMNS) and table.height == len(sg.PRESETS["standard"].rules)
    assert sg.rfm(tiny_summary(), rules=table)["segment"].to_list() == HAND_STANDARD
    edited = table.with_columns(pl.col("segment").replace("champions", "vip"))
    assert sg.rfm(tiny_summary(), rules=edited)["segment"].to_list()[0] == "vip"
    shopify = sg.rule_table("shopify")
    assert shopify["f_min"].null_count() == shopify.height and shopify["fm_min"].null_count() == 0


def test_custom_rules_first_match_wins_and_the_catch_all_is_appended():
    rules = [
        {"segment": "vip", "r_min": 5, "r_max": 5, "f_min": None, "f_max": None, "m_min": None, "m_max": None},
        {"segment": "recent", "r_min": 4, "r_max": 5, "f_min": None, "f_max": None, "m_min": None, "m_max": None},
    ]
    scored = sg.rfm(tiny_summary(), rules=rules)
    assert scored["segment"].to_list() == ["vip", "recent", "recent", "recent"] + [sg.CATCH_ALL] * 6
    grid = sg.score_map(bins=5, rules=rules)
    assert grid.filter(pl.col("r_score") <= 3)["segment"].unique().to_list() == [sg.CATCH_ALL]
    # a one-sided bound means "from 1" / "up to bins"; rules can be Rule objects; bins applies to custom rules
    three = sg.rfm(tiny_summary(), bins=3, rules=[sg.Rule("top", r=(3, 3), m=(2, 3))])
    assert three["r_score"].max() == 3
    assert three["segment"].to_list()[:3] == ["top", "other", "top"]


@pytest.mark.parametrize(("edit", "key"), [
    ({"r_max": 6}, "out_of_range"),
    ({"f_min": 0}, "out_of_range"),
    ({"m_min": 2.5}, "not_a_score"),
    ({"r_min": "high"}, "not_a_score"),
    ({"r_min": 5, "r_max": 4}, "min_above_max"),
    ({"fm_min": 4.5, "fm_max": 3.0}, "min_above_max"),
    ({"segment": "  "}, "empty_segment"),
    ({"segment": None}, "empty_segment"),
])
def test_malformed_rule_rows_raise_a_clear_error(edit, key):
    row = {"segment": "vip", "r_min": 4, "r_max": 5, "f_min": 1, "f_max": 5, "m_min": 1, "m_max": 5,
           "fm_min": None, "fm_max": None}
    row.update(edit)
    with pytest.raises(ValueError, match="rule 1") as caught:
        sg.rfm(tiny_summary(), rules=[row])
    assert caught.value.key == f"segmentation.rule_error.{key}"
    assert caught.value.params["row"] == 1


def test_missing_columns_unknown_presets_and_bad_bins_raise():
    with pytest.raises(sg.RuleError, match="m_max") as caught:
        sg.rfm(tiny_summary(), rules=sg.rule_table("standard").drop("m_max"))
    assert caught.value.key == "segmentation.rule_error.missing_column"
    with pytest.raises(ValueError, match="unknown RFM preset"):
        sg.rfm(tiny_summary(), preset="rfm-deluxe")
    with pytest.raises(ValueError, match="bins"):
        sg.rfm(tiny_summary(), bins=12, rules=sg.rule_table("standard"))


# ---------------------------------------------------------------- summaries of a scored frame

def test_segment_table_sums_and_actions():
    scored = sg.rfm(tiny_summary())
    table = sg.segment_table(scored)
    assert table["customers"].sum() == 10
    assert table["share_of_customers"].sum() == pytest.approx(1.0)
    assert table["share_of_revenue"].sum() == pytest.approx(1.0)
    loyal = table.filter(pl.col("segment") == "loyal").row(0, named=True)
    assert loyal["customers"] == 2 and loyal["revenue"] == 600.0 and loyal["avg_revenue"] == 300.0
    assert loyal["avg_recency_days"] == 9.0 and loyal["avg_orders"] == 2.5
    assert loyal["action"] == "segmentation.action.loyal"
    assert table["segment"][0] == "champions"  # sorted by revenue
    assert sg.recommended_action("cant_lose") == "segmentation.action.cant_lose"
    assert sg.recommended_action("my own segment") == "segmentation.action.other"


def test_rf_grid_counts_every_cell():
    grid = sg.rf_grid(sg.rfm(tiny_summary()))
    assert grid.height == 25 and grid["customers"].sum() == 10
    cell = grid.filter((pl.col("r_score") == 4) & (pl.col("f_score") == 1)).row(0, named=True)
    assert cell["customers"] == 2 and cell["avg_revenue"] == 80.0  # b 40, d 120
    assert grid.filter(pl.col("customers") == 0)["avg_revenue"].null_count() == grid.filter(
        pl.col("customers") == 0).height


# ---------------------------------------------------------------- value tiers

def tier_summary(revenues: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"customer_id": [chr(ord("A") + i) for i in range(len(revenues))], "revenue": revenues})


def test_value_tiers_on_a_known_distribution():
    # sorted A 50, B 20, C 10, D 10, E 5, F 5 (total 100); share before each: 0, .5, .7, .8, .9, .95
    tiered = sg.value_tiers(tier_summary([50, 20, 10, 10, 5, 5, 0, -5]))
    assert tiered["customer_id"].to_list() == list("ABCDEFGH")
    assert tiered["tier"].to_list() == ["high", "high", "high", "mid", "mid", "low", "low", "low"]
    assert tiered["cum_revenue_share"].to_list() == pytest.approx([0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.0, 1.0])
    assert tiered["customer_rank_share"].to_list() == pytest.approx([i / 8 for i in range(1, 9)])
    # the customer whose revenue crosses the cut is in the upper tier; S = 0.8 exactly is no longer high
    custom = sg.value_tiers(tier_summary([50, 20, 10, 10, 5, 5]), cuts=(0.5, 0.9))
    assert custom["tier"].to_list() == ["high", "mid", "mid", "mid", "low", "low"]


def test_value_tier_ties_are_broken_by_customer_id_and_zero_revenue_is_low():
    tiered = sg.value_tiers(tier_summary([10, 10, 10, 0]).with_columns(
        pl.Series("customer_id", ["z", "b", "m", "a"])))
    assert tiered["customer_id"].to_list() == ["b", "m", "z", "a"]
    assert tiered["tier"].to_list() == ["high", "high", "high", "low"]  # before: 0, 1/3, 2/3 < 0.8
    all_zero = sg.value_tiers(tier_summary([0, 0]))
    assert all_zero["tier"].to_list() == ["low", "low"]
    with pytest.raises(ValueError):
        sg.value_tiers(tier_summary([1]), cuts=(0.9, 0.8))


def test_pareto_curve_is_monotone_ends_at_one_and_is_thinned():
    rng = np.random.default_rng(5)
    tiered = sg.value_tiers(tier_summary([float(v) for v in rng.pareto(1.2, 2_000).round(2)]).with_columns(
        pl.Series("customer_id", [f"c{i:05d}" for i in range(2_000)])))
    curve = sg.pareto_curve(tiered)
    assert curve.height <= 500
    assert curve.row(0) == (0.0, 0.0) and curve.row(-1) == (1.0, 1.0)
    assert (curve["customer_share"].diff().drop_nulls() > 0).all()
    assert (curve["cum_revenue_share"].diff().drop_nulls() >= 0).all()
    small = sg.pareto_curve(sg.value_tiers(tier_summary([50, 20, 10, 10, 5, 5])))
    assert small.height == 7 and small["cum_revenue_share"].to_list()[-1] == 1.0


# ---------------------------------------------------------------- clusters

def three_groups(n_per_group: int = 120, seed: int = 0) -> pl.DataFrame:
    """Three separated behaviours: frequent big spenders, recent one-timers, lapsed one-timers."""
    rng = np.random.default_rng(seed)
    groups = [(60, 12, 200.0), (3, 1, 30.0), (300, 1, 25.0)]
    rows = []
    for g, (recency, orders, basket) in enumerate(groups):
        for i in range(n_per_group):
            count = max(1, int(orders * rng.uniform(0.8, 1.2)))
            aov = basket * rng.uniform(0.8, 1.25)
            rows.append((f"g{g}-{i:03d}", int(recency * rng.uniform(0.8, 1.2)), count, count * aov, aov))
    return pl.DataFrame(rows, schema=["customer_id", "recency_days", "orders", "revenue", "avg_order_value"],
                        orient="row")


def test_clusters_choose_k_by_silhouette_and_describe_every_cluster():
    summary = three_groups()
    result = sg.clusters(summary, seed=1)
    assert result.k == 3
    assert set(result.silhouette) == set(range(2, 9)) and max(result.silhouette, key=result.silhouette.get) == 3
    assert result.labels.height == summary.height and result.labels["cluster"].n_unique() == 3
    assert result.centres["cluster"].to_list() == [1, 2, 3]
    assert result.centres["revenue"].is_sorted(descending=True)  # cluster 1 is the most valuable
    assert result.centres["customers"].to_list() == [120, 120, 120]
    assert set(result.descriptions) == {1, 2, 3}
    assert all(traits and set(traits) <= set(sg.TRAIT_KEYS) for traits in result.descriptions.values())
    assert "frequent" in result.descriptions[1] and "high_spend" in result.descriptions[1]
    recent_cluster = result.centres.filter(pl.col("recency_days") < 20)["cluster"].to_list()
    assert recent_cluster != [1] and "recent" in result.descriptions[recent_cluster[0]]


def test_clusters_are_deterministic_for_a_seed_and_respect_k_and_k_range():
    summary = three_groups(seed=4)
    first, second = sg.clusters(summary, seed=3), sg.clusters(summary.reverse(), seed=3)
    assert first.labels.equals(second.labels) and first.centres.equals(second.centres)
    assert first.descriptions == second.descriptions and first.silhouette == second.silhouette
    fixed = sg.clusters(summary, k=5, seed=3)
    assert fixed.k == 5 and fixed.silhouette == {}
    ranged = sg.clusters(summary, seed=3, k_range=(4, 6))
    assert set(ranged.silhouette) == {4, 5, 6} and 4 <= ranged.k <= 6


def test_mean_silhouettes_match_scikit_learn():
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(2)
    points = rng.normal(size=(300, 3))
    points[:4] = points[4]  # duplicate points: zero distances off the diagonal
    labelings = [rng.integers(0, 3, 300), (points[:, 0] > 0).astype(int),
                 np.r_[np.zeros(299, dtype=int), 1],  # a singleton cluster scores 0
                 np.r_[np.zeros(100, dtype=int), np.full(200, 2)]]  # label 1 unused
    ours = sg.mean_silhouettes(points, labelings, chunk_rows=64)
    assert ours == pytest.approx([silhouette_score(points, labels) for labels in labelings], abs=1e-9)


def test_clusters_on_tiny_or_degenerate_input():
    one = sg.clusters(tiny_summary().head(1))
    assert one.k == 1 and one.labels["cluster"].to_list() == [1] and one.descriptions[1]
    same = pl.concat([tiny_summary().head(1)] * 4).with_columns(pl.Series("customer_id", list("wxyz")))
    assert sg.clusters(same, k=3).k == 1  # four identical customers are one cluster
    assert sg.clusters(tiny_summary().head(0)).k == 0


# ---------------------------------------------------------------- movement and the analysis date

def transactions(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame({
        "customer_id": [r[0] for r in rows],
        "order_date": [datetime.fromisoformat(r[1]) for r in rows],
        "amount": [r[2] for r in rows],
    })


def test_customer_summary_ignores_orders_after_as_of():
    lines = transactions([("a", "2024-01-05", 10.0), ("a", "2024-02-01", 99.0), ("b", "2024-03-01", 5.0),
                          ("a", "2024-01-31 23:59", 1.0)])
    summary = customer_summary(lines, as_of=datetime(2024, 2, 1))
    assert summary["customer_id"].to_list() == ["a"]  # b's only order is after the date
    row = summary.row(0, named=True)
    assert row["orders"] == 2 and row["revenue"] == 11.0  # the order at as_of itself is not before it
    assert row["recency_days"] == 0 and row["last_order"] == datetime(2024, 1, 31, 23, 59)


def test_movement_counts_add_up_and_new_customers_come_from_none():
    lines = transactions([
        ("a", "2024-01-02", 100.0), ("a", "2024-05-20", 100.0), ("b", "2024-01-10", 20.0),
        ("c", "2024-02-01", 50.0), ("c", "2024-02-15", 50.0), ("d", "2024-02-20", 10.0),
        ("e", "2024-05-01", 300.0), ("f", "2024-06-01", 5.0),
    ])
    scored_from = sg.rfm(customer_summary(lines, as_of=datetime(2024, 3, 1)))
    scored_to = sg.rfm(customer_summary(lines, as_of=datetime(2024, 7, 1)))
    moves = sg.movement(scored_from, scored_to)
    assert moves.columns == ["segment_from", "segment_to", "customers", "revenue"]
    assert moves["customers"].sum() == 6 and moves["revenue"].sum() == pytest.approx(635.0)
    assert moves.filter(pl.col("segment_from") == sg.NO_SEGMENT)["customers"].sum() == 2  # e and f
    assert moves.filter(pl.col("segment_to") == sg.NO_SEGMENT).height == 0
    from_counts = moves.group_by("segment_from").agg(pl.col("customers").sum())
    expected = scored_from["segment"].value_counts().rename({"segment": "segment_from", "count": "customers"})
    assert from_counts.join(expected, on="segment_from").filter(
        pl.col("customers") != pl.col("customers_right")).height == 0
    # a customer missing from the later frame is counted in segment_to = "none"
    partial = sg.movement(scored_from, scored_to.filter(pl.col("customer_id") != "b"))
    assert partial.filter(pl.col("segment_to") == sg.NO_SEGMENT)["customers"].sum() == 1


# ---------------------------------------------------------------- translations

def load_locale(lang: str) -> dict[str, str]:
    with (LOCALES / lang / "segmentation.toml").open("rb") as handle:
        tree = tomllib.load(handle)

    def flatten(node: dict, prefix: str = "") -> dict[str, str]:
        flat: dict[str, str] = {}
        for key, value in node.items():
            flat.update(flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
        return flat

    return flatten(tree)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_key_the_module_can_return_is_translated(lang):
    texts = load_locale(lang)
    needed = [f"segmentation.segment.{key}" for key in (*sg.SEGMENT_KEYS, sg.NO_SEGMENT)]
    needed += [sg.recommended_action(key) for key in sg.SEGMENT_KEYS]
    needed += [f"segmentation.trait.{key}" for key in sg.TRAIT_KEYS]
    needed += [f"segmentation.preset.{name}" for name in sg.PRESETS]
    needed += [f"segmentation.preset_note.{name}" for name in sg.PRESETS]
    needed += [f"segmentation.tier.{tier}" for tier in ("high", "mid", "low")]
    needed += [f"segmentation.rule_error.{key}" for key in ("unknown_preset", "bad_bins", "missing_column",
                                                            "empty_segment", "not_a_score", "out_of_range",
                                                            "min_above_max")]
    missing = [key for key in needed if not texts.get(key, "").strip()]
    assert not missing


def test_english_and_chinese_templates_have_the_same_keys_and_fields():
    english, chinese = load_locale("en"), load_locale("zh")
    assert set(english) == set(chinese)
    fields = re.compile(r"{(\w+)}")
    for key, template in english.items():
        assert set(fields.findall(template)) == set(fields.findall(chinese[key])), key


@pytest.mark.parametrize("preset", sorted(sg.PRESETS))
def test_rules_round_trip_through_link_text(preset):
    chosen = sg.PRESETS[preset]
    text = sg.rules_to_text(chosen.rules)
    assert sg.rules_from_text(text, chosen.bins) == chosen.rules
    assert "://" not in text and "&" not in text and "=" not in text


def test_link_text_by_hand_and_bad_text():
    rules = (sg.Rule("champions", r=(5, 5), f=(4, 5)), sg.Rule("half", fm=(2.5, 3.0)), sg.Rule("lost"))
    assert sg.rules_to_text(rules) == "champions:5-5:4-5::;half::::2.5-3;lost::::"
    assert sg.rules_from_text("champions:5-5:4-5::;half::::2.5-3;lost::::", 5) == rules
    for bad, key in (("", "bad_text"), ("champions:5-5", "bad_text"), ("x:a-b:::", "bad_text"),
                     ("x:6-6:::", "out_of_range"), ("x:4-2:::", "min_above_max"), (":1-2:::", "empty_segment")):
        with pytest.raises(sg.RuleError) as caught:
            sg.rules_from_text(bad, 5)
        assert caught.value.key == f"segmentation.rule_error.{key}", bad


def test_a_map_has_at_most_max_rules_whatever_the_link_or_editor_sends():
    from crm_core.segmentation import MAX_RULES, RuleError, rules_from_table, rules_from_text

    huge = ";".join(["champions:1-5:1-5:1-5:"] * 5000)  # the 114 KB link that took the server past 8 GB
    with pytest.raises(RuleError) as caught:
        rules_from_text(huge, 5)  # refused before the text is split
    assert caught.value.key == "segmentation.rule_error.too_many" and caught.value.params["count"] == 5000
    rows = [{"segment": f"s{i}", "r_min": None, "r_max": None, "f_min": None, "f_max": None, "m_min": None,
             "m_max": None} for i in range(MAX_RULES + 1)]
    with pytest.raises(RuleError):
        rules_from_table(rows, 5)
    assert len(rules_from_table(rows[:MAX_RULES], 5)) == MAX_RULES
