"""Measuring a campaign: each member's outcome by hand, the window, the groups compared, the verdict.

The hand-made shop (window 1 Mar 2024 ≤ day < 31 Mar 2024, 30 days):

| member | group | lines | win-back success | orders | revenue | tea (cross-sell) |
|---|---|---|---|---|---|---|
| w1 | treatment | o1 on 5 Mar: tea 30 + milk 20 | yes | 1 | 50 | yes |
| w2 | treatment | credit note C100 on 10 Mar: tea −20 | no (a refund) | 0 | −20 | no |
| w3 | treatment | o3 on 20 Feb: 40; its return on 3 Mar: −10 | no (ordered before) | 0 | −10 | no |
| w4 | treatment | o4 29 Feb 23:59: 25 (+ a line on o4 2 Mar: 5); o5 31 Mar 00:00: 70 | no (29 Feb; end) | 0 | 5 | no |
| w5 | treatment | none (not in the data) | no | 0 | 0 | no |
| c1 | control | o6 on 30 Mar 23:00: milk 15 | yes | 1 | 15 | no |
| c2 | control | o7 on 2 Mar: cake 15, tea −5 (a return line); o8 on 20 Mar: bread 5 | yes | 2 | 15 | no |
| c3 | control | no order id, 15 Mar: tea 8 | yes | 1 | 8 | yes |

A non-member z buys in the window and on 10 Apr (the data's last day).
"""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

from crm_core.campaigns import measure
from crm_core.campaigns.model import Campaign, CampaignError

SCHEMA = {"customer_id": pl.String, "order_id": pl.String, "order_date": pl.Datetime("us"),
          "amount": pl.Float64, "quantity": pl.Float64, "product": pl.String}

SHOP = pl.DataFrame([
    ("w1", "o1", datetime(2024, 3, 5, 10), 30.0, 1.0, "tea"),
    ("w1", "o1", datetime(2024, 3, 5, 10), 20.0, 2.0, "milk"),
    ("w2", "C100", datetime(2024, 3, 10), -20.0, -1.0, "tea"),
    ("w3", "o3", datetime(2024, 2, 20), 40.0, 1.0, "cake"),
    ("w3", "o3", datetime(2024, 3, 3), -10.0, -1.0, "cake"),
    ("w4", "o4", datetime(2024, 2, 29, 23, 59), 25.0, 1.0, "milk"),
    ("w4", "o4", datetime(2024, 3, 2), 5.0, 1.0, "tea"),
    ("w4", "o5", datetime(2024, 3, 31), 70.0, 1.0, "tea"),
    ("c1", "o6", datetime(2024, 3, 30, 23), 15.0, 1.0, "milk"),
    ("c2", "o7", datetime(2024, 3, 2), 15.0, 1.0, "cake"),
    ("c2", "o7", datetime(2024, 3, 2), -5.0, -1.0, "tea"),
    ("c2", "o8", datetime(2024, 3, 20), 5.0, 1.0, "bread"),
    ("c3", None, datetime(2024, 3, 15), 8.0, 1.0, "tea"),
    ("z", "o9", datetime(2024, 3, 6), 99.0, 1.0, "tea"),
    ("z", "o10", datetime(2024, 4, 10), 99.0, 1.0, "tea"),
], schema=SCHEMA, orient="row")

GROUPS = pl.DataFrame({
    "customer_id": ["w1", "w2", "w3", "w4", "w5", "c1", "c2", "c3"],
    "group": ["treatment"] * 5 + ["control"] * 3,
    "stratum": ["a", "a", "b", "b", "b", "a", "b", "b"],
})

CAMPAIGN = Campaign(id="k1", name="Spring win-back", goal="win_back", start=date(2024, 3, 1), window_days=30,
                    control_share=0.1, seed=1, source="at_risk", source_detail="", created=datetime(2024, 2, 28),
                    owner="o")
CROSS_SELL = replace(CAMPAIGN, goal="cross_sell", product="tea")


def by_id(table: pl.DataFrame, column: str) -> dict[str, object]:
    return dict(zip(table["customer_id"], table[column]))


def test_outcomes_by_hand():
    table = measure.outcomes(CAMPAIGN, GROUPS, SHOP)
    assert table.columns == ["customer_id", "group", "stratum", "found", "success", "orders", "revenue"]
    assert table["customer_id"].to_list() == ["c1", "c2", "c3", "w1", "w2", "w3", "w4", "w5"]
    assert by_id(table, "success") == {"w1": True, "w2": False, "w3": False, "w4": False, "w5": False,
                                       "c1": True, "c2": True, "c3": True}
    assert by_id(table, "orders") == {"w1": 1, "w2": 0, "w3": 0, "w4": 0, "w5": 0, "c1": 1, "c2": 2, "c3": 1}
    assert by_id(table, "revenue") == {"w1": 50.0, "w2": -20.0, "w3": -10.0, "w4": 5.0, "w5": 0.0,
                                       "c1": 15.0, "c2": 15.0, "c3": 8.0}
    assert by_id(table, "found") == {"w1": True, "w2": True, "w3": True, "w4": True, "w5": False,
                                     "c1": True, "c2": True, "c3": True}
    assert by_id(table, "stratum")["w3"] == "b"


def test_a_member_listed_twice_is_measured_once():
    table = measure.outcomes(CAMPAIGN, pl.concat([GROUPS, GROUPS.head(1)]), SHOP)
    assert table.height == 8


def test_retain_counts_like_win_back():
    assert measure.outcomes(replace(CAMPAIGN, goal="retain"), GROUPS, SHOP).equals(
        measure.outcomes(CAMPAIGN, GROUPS, SHOP))


def test_a_negative_order_is_a_refund_document_without_the_credit_note_pattern():
    # w2's credit note is negative: a refund document by its amount alone, whatever the id pattern
    table = measure.outcomes(CAMPAIGN, GROUPS, SHOP, credit_note_pattern="")
    assert by_id(table, "success")["w2"] is False


def test_cross_sell_counts_only_the_product_on_a_purchase():
    table = measure.outcomes(CROSS_SELL, GROUPS, SHOP)
    # w1 bought tea; w2's tea is a credit note; w4's teas are on a February order and on the end day; c2's tea
    # line is a return; c3 bought tea
    assert by_id(table, "success") == {"w1": True, "w2": False, "w3": False, "w4": False, "w5": False,
                                       "c1": False, "c2": False, "c3": True}
    # orders and revenue are the whole spend, every product
    assert by_id(table, "orders")["c2"] == 2 and by_id(table, "revenue")["w1"] == 50.0


def test_cross_sell_without_a_product_or_product_column():
    with pytest.raises(CampaignError) as raised:
        measure.outcomes(replace(CROSS_SELL, product=None), GROUPS, SHOP)
    assert raised.value.key == "campaigns.error.product"
    with pytest.raises(CampaignError) as raised:
        measure.outcomes(CROSS_SELL, GROUPS, SHOP.drop("product"))
    assert (raised.value.key, raised.value.params) == ("campaigns.error.no_products", {"product": "tea"})


def test_without_amounts_counts_stay_and_revenue_is_null():
    for shop in (SHOP.drop("amount"), SHOP.with_columns(pl.lit(None, dtype=pl.Float64).alias("amount"))):
        table = measure.outcomes(CAMPAIGN, GROUPS, shop)
        assert table["revenue"].null_count() == table.height
        # C100 is a credit note by its id; w3's return (quantity −1) stays on o3 from February
        assert by_id(table, "success") == by_id(measure.outcomes(CAMPAIGN, GROUPS, SHOP), "success")
        assert by_id(table, "orders")["c2"] == 2


def test_without_order_ids_an_order_is_a_customer_day():
    table = measure.outcomes(CAMPAIGN, GROUPS, SHOP.drop("order_id"))
    # w3's day-3-Mar return is now its own order, with a negative net amount: a refund document, no success
    assert by_id(table, "success")["w3"] is False
    assert by_id(table, "orders")["c2"] == 2


def test_empty_transactions():
    table = measure.outcomes(CAMPAIGN, GROUPS, SHOP.clear())
    assert not table["found"].any() and not table["success"].any()
    assert table["revenue"].to_list() == [0.0] * 8  # an empty table with the column counts as having amounts
    assert measure.observed_until(SHOP.clear()) is None


def test_observed_until_is_the_last_line():
    assert measure.observed_until(SHOP) == date(2024, 4, 10)


def test_compare_by_hand():
    table = measure.outcomes(CAMPAIGN, GROUPS, SHOP)
    result = measure.compare(CAMPAIGN, table, measure.observed_until(SHOP), seed=3, resamples=500)
    treated, control = result.treatment, result.control
    assert (treated.members, treated.found, treated.successes, treated.orders) == (5, 4, 1, 1)
    assert (control.members, control.found, control.successes, control.orders) == (3, 3, 3, 4)
    assert treated.rate == 0.2 and control.rate == 1.0
    assert treated.revenue == 25.0 and treated.revenue_per_member == 5.0
    assert control.revenue == 38.0 and control.revenue_per_member == pytest.approx(38 / 3)
    assert result.rate_diff == pytest.approx(-0.8)
    assert result.incremental_customers == pytest.approx(-4.0)
    assert result.revenue_diff == pytest.approx(5.0 - 38 / 3)
    assert result.incremental_revenue == pytest.approx((5.0 - 38 / 3) * 5)
    assert result.revenue_ci[0] <= result.revenue_diff <= result.revenue_ci[1]
    assert result.rate_ci[0] < result.rate_diff < result.rate_ci[1]
    assert result.rate_ci == measure.newcombe_interval(1, 5, 3, 3)
    assert result.incremental_customers_ci == pytest.approx((result.rate_ci[0] * 5, result.rate_ci[1] * 5))
    assert treated.rate_ci == measure.wilson_interval(1, 5) and control.rate_ci == measure.wilson_interval(3, 3)
    assert (result.observed_days, result.final, result.window_days) == (30, True, 30)
    # 1/5 against 3/3: Newcombe's interval (−0.964, −0.096) lies below 0
    assert result.verdict == "backfired" and not result.too_small
    assert result.cost_per_saved is None and result.cost is None


@pytest.mark.parametrize("counts, published", [
    ((56, 70, 48, 80), (0.0524, 0.3339)),   # Newcombe (1998), Table II, example (a), method 10
    ((9, 10, 3, 10), (0.1705, 0.8090)),     # example (b)
])
def test_newcombe_interval_against_the_paper(counts, published):
    assert measure.newcombe_interval(*counts) == pytest.approx(published, abs=5e-5)


def test_wilson_interval_by_hand():
    # 3 of 10: centre (0.3 + 1.96²/20) / (1 + 1.96²/10), Wilson (1927); 0.1078 … 0.6032 in every textbook
    assert measure.wilson_interval(3, 10) == pytest.approx((0.1078, 0.6032), abs=5e-5)
    assert measure.wilson_interval(0, 10)[0] == pytest.approx(0.0, abs=1e-15)
    assert measure.wilson_interval(10, 10)[1] == pytest.approx(1.0, abs=1e-15)


def test_the_bootstrap_is_seeded():
    table = measure.outcomes(CAMPAIGN, GROUPS, SHOP)
    one = measure.compare(CAMPAIGN, table, date(2024, 4, 10), seed=3, resamples=300)
    two = measure.compare(CAMPAIGN, table, date(2024, 4, 10), seed=3, resamples=300)
    other = measure.compare(CAMPAIGN, table, date(2024, 4, 10), seed=4, resamples=300)
    assert one.revenue_ci == two.revenue_ci
    assert one.revenue_ci != other.revenue_ci


def test_window_not_over_and_no_data():
    table = measure.outcomes(CAMPAIGN, GROUPS, SHOP)
    running = measure.compare(CAMPAIGN, table, date(2024, 3, 10))
    assert (running.observed_days, running.final) == (10, False)
    assert running.verdict != "no_data"
    first_day = measure.compare(CAMPAIGN, table, date(2024, 3, 1))
    assert (first_day.observed_days, first_day.final) == (1, False)
    last_day = measure.compare(CAMPAIGN, table, date(2024, 3, 30))
    assert (last_day.observed_days, last_day.final) == (30, True)
    for until in (date(2024, 2, 29), None):
        early = measure.compare(CAMPAIGN, table, until)
        assert (early.verdict, early.observed_days, early.final, early.too_small) == ("no_data", 0, False, False)


def test_no_data_after_the_start_from_the_lines_themselves():
    before_start = SHOP.filter(pl.col("order_date") < datetime(2024, 3, 1))
    table = measure.outcomes(CAMPAIGN, GROUPS, before_start)
    result = measure.compare(CAMPAIGN, table, measure.observed_until(before_start))
    assert result.verdict == "no_data" and not table["success"].any()


def test_no_amounts_compare():
    table = measure.outcomes(CAMPAIGN, GROUPS, SHOP.drop("amount"))
    result = measure.compare(CAMPAIGN, table, date(2024, 4, 10), cost_per_contact=1.0)
    assert result.treatment.revenue is None and result.control.revenue_per_member is None
    assert (result.revenue_diff, result.revenue_ci) == (None, None)
    assert result.incremental_revenue is None
    assert result.rate_diff == pytest.approx(-0.8)


def frame_from_counts(successes_t: int, members_t: int, successes_c: int, members_c: int,
                      revenue: tuple[float, float] | None = (0.0, 0.0), found: bool = True) -> pl.DataFrame:
    """Outcomes of members_t + members_c members: the first successes_* of each group succeed and spend
    revenue[0] (treatment) or revenue[1] (control); the others spend nothing."""
    rows = []
    for group, successes, members, spend in (("treatment", successes_t, members_t, revenue[0] if revenue else None),
                                              ("control", successes_c, members_c, revenue[1] if revenue else None)):
        for i in range(members):
            won = i < successes
            rows.append((f"{group[0]}{i:05d}", group, "", found, won, int(won),
                         None if spend is None else (spend if won else 0.0)))
    return pl.DataFrame(rows, orient="row", schema={
        "customer_id": pl.String, "group": pl.String, "stratum": pl.String, "found": pl.Boolean,
        "success": pl.Boolean, "orders": pl.Int64, "revenue": pl.Float64})


def test_cost_per_saved():
    table = frame_from_counts(30, 100, 10, 100, revenue=(20.0, 20.0))
    result = measure.compare(CAMPAIGN, table, date(2024, 4, 10), cost_per_contact=2.0, resamples=200)
    assert result.rate_diff == pytest.approx(0.2)
    assert result.incremental_customers == pytest.approx(20.0)
    assert result.cost == 200.0
    assert result.cost_per_saved == pytest.approx(10.0)
    assert result.incremental_revenue == pytest.approx((0.3 * 20 - 0.1 * 20) * 100)
    assert result.verdict == "worked" and result.p_value < 0.001
    # the campaign's own cost when none is given; none when the campaign made no one buy
    assert measure.compare(replace(CAMPAIGN, cost_per_contact=3.0), table, date(2024, 4, 10),
                           resamples=200).cost_per_saved == pytest.approx(15.0)
    assert measure.compare(CAMPAIGN, table, date(2024, 4, 10)).cost_per_saved is None
    worse = frame_from_counts(10, 100, 30, 100)
    assert measure.compare(CAMPAIGN, worse, date(2024, 4, 10), cost_per_contact=2.0).cost_per_saved is None


@pytest.mark.parametrize("counts", [(0, 50, 0, 10), (50, 50, 10, 10), (0, 50, 10, 10), (50, 50, 0, 10),
                                    (0, 2, 0, 2), (1, 2, 2, 2)])
def test_edge_counts_give_a_result(counts):
    result = measure.compare(CAMPAIGN, frame_from_counts(*counts), date(2024, 4, 10), resamples=100)
    assert -1.0 <= result.rate_ci[0] <= result.rate_diff <= result.rate_ci[1] <= 1.0
    assert 0.0 <= result.p_value <= 1.0 and 0.0 <= result.power <= 1.0
    assert result.verdict in measure.VERDICTS
    assert result.revenue_diff == 0.0 and result.revenue_ci == (0.0, 0.0)
    if result.rate_diff == 0:
        assert result.p_value == 1.0 and result.more_needed is None and result.too_small


def test_nobody_found_and_no_amounts():
    table = frame_from_counts(0, 40, 0, 10, revenue=None, found=False)
    result = measure.compare(CAMPAIGN, table, date(2024, 4, 10))
    assert (result.treatment.found, result.control.found) == (0, 0)
    assert result.verdict == "inconclusive" and result.too_small and result.revenue_diff is None


def test_a_group_too_small_to_compare():
    with pytest.raises(CampaignError) as raised:
        measure.compare(CAMPAIGN, frame_from_counts(1, 10, 0, 1), date(2024, 4, 10))
    assert (raised.value.key, raised.value.params) == ("campaigns.error.too_few", {"members": 11, "control": 1})


def test_more_needed_reaches_the_target_power():
    table = frame_from_counts(23, 900, 2, 100, revenue=None)
    result = measure.compare(CAMPAIGN, table, date(2024, 4, 10))
    assert result.power < 0.8 and result.more_needed is not None and result.more_needed > 0
    total = 1000 + result.more_needed
    assert measure.two_proportion_power(23 / 900, 0.02, round(total * 0.9), round(total * 0.1)) >= 0.8 - 1e-3
    fewer = total - max(result.more_needed // 10, 1)
    assert measure.two_proportion_power(23 / 900, 0.02, round(fewer * 0.9), round(fewer * 0.1)) < 0.8
    powered = measure.compare(CAMPAIGN, frame_from_counts(300, 900, 10, 100, revenue=None), date(2024, 4, 10))
    assert powered.power > 0.99 and powered.more_needed is None and not powered.too_small


# ------------------------------------------------------------------------------------------ behaviour

def test_newcombe_coverage_near_95_percent():
    rng = np.random.default_rng(20240301)
    cases = [(900, 0.25, 100, 0.20), (200, 0.05, 50, 0.05), (450, 0.6, 50, 0.5)]
    for members_t, rate_t, members_c, rate_c in cases:
        successes_t = rng.binomial(members_t, rate_t, size=2000)
        successes_c = rng.binomial(members_c, rate_c, size=2000)
        covered = 0
        for s_t, s_c in zip(successes_t, successes_c):
            low, high = measure.newcombe_interval(int(s_t), members_t, int(s_c), members_c)
            covered += low <= rate_t - rate_c <= high
        assert 0.93 <= covered / 2000 <= 0.97, (members_t, rate_t, members_c, rate_c, covered)


def simulated_verdicts(rate_t: float, rate_c: float, members_t: int, members_c: int, draws: int,
                       seed: int) -> list[str]:
    """Campaigns drawn at random with true rates: each member succeeds with the group's rate."""
    rng = np.random.default_rng(seed)
    groups = ["treatment"] * members_t + ["control"] * members_c
    rates = np.array([rate_t] * members_t + [rate_c] * members_c)
    ids = [f"m{i:05d}" for i in range(members_t + members_c)]
    verdicts = []
    for _ in range(draws):
        success = rng.random(rates.size) < rates
        table = pl.DataFrame({"customer_id": ids, "group": groups, "stratum": "", "found": True,
                              "success": success, "orders": success.astype(np.int64),
                              "revenue": pl.Series([None] * rates.size, dtype=pl.Float64)})
        verdicts.append(measure.compare(CAMPAIGN, table, date(2024, 4, 10)).verdict)
    return verdicts


def test_a_campaign_without_effect_is_inconclusive_about_95_percent_of_the_time():
    verdicts = simulated_verdicts(0.15, 0.15, 270, 30, draws=2000, seed=7)
    assert 0.93 <= verdicts.count("inconclusive") / 2000 <= 0.97
    assert set(verdicts) <= {"inconclusive", "worked", "backfired"}


def test_a_large_true_effect_works_and_a_harmful_one_backfires():
    assert simulated_verdicts(0.30, 0.10, 900, 100, draws=200, seed=8).count("worked") >= 190
    assert simulated_verdicts(0.10, 0.30, 900, 100, draws=200, seed=9).count("backfired") >= 190


def test_power_matches_the_simulated_rejection_rate():
    rate_t, rate_c, members_t, members_c = 0.22, 0.15, 900, 150
    rng = np.random.default_rng(5)
    successes_t = rng.binomial(members_t, rate_t, size=4000)
    successes_c = rng.binomial(members_c, rate_c, size=4000)
    rejected = np.mean([measure.two_proportion_p_value(int(a), members_t, int(b), members_c) < 0.05
                        for a, b in zip(successes_t, successes_c)])
    expected = measure.two_proportion_power(rate_t, rate_c, members_t, members_c)
    assert 0.3 < expected < 0.9
    assert abs(rejected - expected) < 0.03, (rejected, expected)


def test_percentile_bootstrap_covers_the_true_revenue_difference():
    rng = np.random.default_rng(11)
    covered = 0
    for draw in range(200):
        treated = rng.exponential(30.0, size=400) * (rng.random(400) < 0.3)   # true mean 9
        control = rng.exponential(30.0, size=100) * (rng.random(100) < 0.2)   # true mean 6
        low, high = measure.revenue_difference_interval(treated, control, seed=draw, resamples=1000)
        covered += low <= 3.0 <= high
    assert 0.88 <= covered / 200 <= 0.99


def test_a_hundred_thousand_members_are_measured():
    members = 100_000
    ids = [f"c{i:06d}" for i in range(members)]
    groups = pl.DataFrame({"customer_id": ids, "group": ["control" if i % 10 == 0 else "treatment"
                                                         for i in range(members)]})
    rng = np.random.default_rng(1)
    lines = 400_000
    shop = pl.DataFrame({
        "customer_id": pl.Series(ids)[rng.integers(0, members, lines)],
        "order_id": [f"o{i}" for i in range(lines)],
        "order_date": pl.datetime_range(datetime(2024, 1, 1), datetime(2024, 5, 1), "1m", eager=True)
        .sample(lines, with_replacement=True, seed=2),
        "amount": rng.gamma(2.0, 20.0, lines),
    })
    table = measure.outcomes(CAMPAIGN, groups, shop)
    assert table.height == members
    result = measure.compare(CAMPAIGN, table, measure.observed_until(shop), resamples=200)
    assert result.treatment.members == 90_000 and result.final
    assert math.isfinite(result.rate_ci[0]) and result.revenue_ci is not None
