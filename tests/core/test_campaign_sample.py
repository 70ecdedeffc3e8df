"""The campaign loop on the sample, end to end in the core: the data as of the campaign's first day, the
churn page's high-risk list split into contacted and control, later data in which the contacted customers
were brought back with a known probability (:func:`crm_core.sample.simulate_campaign`), and the
measurement. A real effect is recovered within its interval and called; no effect is called inconclusive.
"""
from datetime import UTC, date, datetime

import polars as pl
import pytest

from crm_core.campaigns import design
from crm_core.campaigns.model import Campaign
from crm_core.dataset import load_sample
from crm_core.sample import cut, simulate_campaign
from crm_core.views.campaigns import campaign_view, changed_marks, match_call_log
from crm_core.views.churn import risk_view

START = date(2025, 7, 1)
NO_CONTACTS = pl.DataFrame(schema={"customer_id": pl.String, "contacted_at": pl.Datetime("us"), "kind": pl.String,
                                   "outcome": pl.String, "note": pl.String, "origin": pl.String})


@pytest.fixture(scope="module")
def setting():
    sample = load_sample()
    before = cut(sample, START)
    members = risk_view(before, datetime(2025, 7, 1), 90).members(tiers=("high",))
    return sample, members


def _campaign(seed: int) -> Campaign:
    return Campaign(id=f"c{seed}", name="Win-back", goal="win_back", start=START, window_days=90, control_share=0.1,
                    seed=seed, source="at_risk", source_detail="high", created=datetime(2025, 7, 1, tzinfo=UTC),
                    owner="o")


def _measure(sample, members, seed: int, uplift: float):
    campaign = _campaign(seed)
    groups = design.assign_groups(members, campaign.control_share, campaign.seed)
    treated = groups.filter(pl.col("group") == "treatment")["customer_id"].to_list()
    later, truth = simulate_campaign(sample, treated, START, 90, uplift, seed=seed)
    return campaign_view(later, campaign, groups, NO_CONTACTS), truth, groups


def test_a_real_effect_is_recovered_within_its_interval_and_called(setting):
    sample, members = setting
    assert members.height > 1000  # the high-risk list of the sample on 2025-07-01
    view, truth, _ = _measure(sample, members, seed=3, uplift=0.3)
    result = view.result
    assert result.final and result.observed_days == 90
    assert truth.realised_effect > 0.15
    low, high = result.rate_ci
    assert low <= truth.realised_effect <= high
    assert result.verdict == "worked"
    assert result.incremental_customers == pytest.approx(result.rate_diff * result.treatment.members)
    assert result.incremental_revenue is not None and result.incremental_revenue > 0


def test_the_interval_covers_the_true_effect_across_draws(setting):
    sample, members = setting
    covered = 0
    for seed in range(12):
        view, truth, _ = _measure(sample, members, seed=seed, uplift=0.2)
        low, high = view.result.rate_ci
        covered += low <= truth.realised_effect <= high
    assert covered >= 10  # 95 % intervals: 11.4 of 12 on average; 10 or more with probability 0.98


def test_no_effect_is_called_inconclusive(setting):
    sample, members = setting
    view, truth, _ = _measure(sample, members, seed=5, uplift=0.0)
    assert truth.brought_back == 0
    low, high = view.result.rate_ci
    assert low < 0 < high
    assert view.result.verdict == "inconclusive"


def test_data_before_the_start_has_nothing_to_measure(setting):
    sample, members = setting
    campaign = _campaign(1)
    groups = design.assign_groups(members, 0.1, 1)
    view = campaign_view(cut(sample, START), campaign, groups, NO_CONTACTS)
    assert view.result.verdict == "no_data"
    assert view.contact_list.height == (groups["group"] == "treatment").sum()
    assert set(view.contact_list["customer_id"]) == set(groups.filter(pl.col("group") == "treatment")["customer_id"])


def test_a_call_log_is_matched_and_every_other_row_counted(setting):
    sample, members = setting
    campaign = _campaign(2)
    groups = design.assign_groups(members, 0.1, 2)
    treated = groups.filter(pl.col("group") == "treatment")["customer_id"].to_list()
    control = groups.filter(pl.col("group") == "control")["customer_id"].to_list()
    log = pl.DataFrame({
        "customer_id": [treated[0], treated[1], control[0], "NOT-A-MEMBER", treated[2]],
        "date": [datetime(2025, 7, 2), datetime(2025, 7, 3), datetime(2025, 7, 4), datetime(2025, 7, 5),
                 datetime(2025, 6, 1)],
        "type": ["call"] * 5, "outcome": ["reached", None, "reached", None, None],
    })
    match = match_call_log(campaign, groups, log)
    assert match.rows == 5 and match.kept.height == 3
    assert match.unknown == 1 and match.unknown_examples == ("NOT-A-MEMBER",)
    assert match.outside == 1 and match.outside_examples == (f"{treated[2]} 2025-06-01",)
    assert match.control == 1
    contacts = match.kept.with_columns(pl.lit("call_log").alias("origin"))
    view = campaign_view(sample, campaign, groups, contacts.select(NO_CONTACTS.columns).cast(NO_CONTACTS.schema))
    assert view.contacted == 2 and view.control_contacted == 1


def test_a_cross_sell_campaign_counts_only_the_product(setting):
    sample, members = setting
    product = sample.transactions.group_by("product").len().sort("len")["product"][-1]
    campaign = Campaign(id="x", name="Cross", goal="cross_sell", product=product, start=START, window_days=90,
                        control_share=0.2, seed=4, source="target_list", source_detail="", owner="o",
                        created=datetime(2025, 7, 1, tzinfo=UTC))
    groups = design.assign_groups(members, 0.2, 4)
    treated = groups.filter(pl.col("group") == "treatment")["customer_id"].to_list()
    later, truth = simulate_campaign(sample, treated, START, 90, 0.4, seed=4, product=product)
    result = campaign_view(later, campaign, groups, NO_CONTACTS).result
    low, high = result.rate_ci
    assert low <= truth.realised_effect <= high and result.verdict == "worked"
    assert result.goal == "cross_sell" and result.product == product


def test_only_changed_marks_are_stored():
    before = pl.DataFrame({"customer_id": ["A", "B", "C"], "done": [False, True, False],
                           "outcome": [None, "reached", None]})
    after = pl.DataFrame({"customer_id": ["A", "B", "C"], "done": [True, True, False],
                          "outcome": ["called back", "reached", "  "]})
    changed = changed_marks(before, after)
    assert changed.to_dicts() == [{"customer_id": "A", "done": True, "outcome": "called back"}]
