"""AppTest of the Campaigns page and of the forms that start a campaign from a customer list.

A campaign is created from the Churn page's high-risk list on the sample as of 2025-07-01; the newer data,
in which the contacted customers were brought back with a known probability, then gives the verdict in both
languages. Campaigns are stored in the test's own SQLite file (CRM_DATA_DIR); the same storage on
PostgreSQL is tested in tests/core/test_campaign_store.py.
"""
import threading
from datetime import date

import polars as pl
import pytest

from crm_core.campaigns.store import CampaignStore
from crm_core.dataset import load_sample
from crm_core.sample import cut, simulate_campaign
from tests.app.helpers import app, app_with, texts

START = date(2025, 7, 1)
BROKEN = ("could not be shown because of an unexpected error", "发生意外错误")


def healthy(at) -> str:
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert not any(notice in shown for notice in BROKEN), shown
    return shown


def submit(at, form: str, **fields):
    for name, value in fields.items():
        widget = {"name": at.text_input, "start": at.date_input, "share": at.slider,
                  "window": at.number_input}[name](key=f"{form}_{name}")
        widget.set_value(value)
    [button] = [b for b in at.button if b.key == f"FormSubmitter:{form}_form-Create campaign"
                or b.key == f"FormSubmitter:{form}_form-创建活动"]
    button.click().run()
    return at


def store(data_dir) -> CampaignStore:
    return CampaignStore.for_data_dir(data_dir)


@pytest.fixture(scope="module")
def before():
    return cut(load_sample(), START)


def high_risk_campaign(dataset, name="Win-back July", locale="en-US"):
    at = app_with(dataset, page="churn", query={"ch_tier": "high", "asof": START.isoformat()}, locale=locale)
    healthy(at)
    return submit(at, "ch_list_campaign", name=name, start=START)


def test_no_campaigns_yet_says_where_to_start():
    at = app(page="campaigns")
    assert "No campaigns yet" in healthy(at)
    at = app(page="campaigns", locale="zh-CN")
    assert "还没有营销活动" in healthy(at)


def test_a_campaign_from_the_high_risk_list_measures_later_data_in_both_languages(before, data_dir):
    at = high_risk_campaign(before)
    shown = healthy(at)
    assert "Win-back July" in shown
    [summary] = store(data_dir).list_campaigns()
    groups = store(data_dir).groups(summary.campaign.id)
    assert summary.campaign.start == START and summary.campaign.source == "at_risk"
    assert summary.control == round(summary.members * 0.1) and summary.members > 1000
    assert set(groups["stratum"]) == {"high"}
    assert "Nothing to measure yet" in shown  # the data ends the day before the campaign's first day
    assert f"The {summary.treatment:,} customers to contact" in shown

    treated = groups.filter(pl.col("group") == "treatment")["customer_id"].to_list()
    later, truth = simulate_campaign(load_sample(), treated, START, 90, 0.3, seed=11)
    at = app_with(later, page="campaigns", query={"campaign": summary.campaign.id})
    shown = healthy(at)
    assert "The campaign worked." in shown
    assert at.metric[0].label == "Contacted: success rate"
    difference = next(m for m in at.metric if m.label == "Difference (points)")
    assert difference.value.startswith("+")
    at = app_with(later, page="campaigns", query={"campaign": summary.campaign.id}, locale="zh-CN")
    assert "活动有效。" in healthy(at)

    at = app_with(load_sample(), page="campaigns", query={"campaign": summary.campaign.id})
    assert "Not distinguishable from no contact yet." in healthy(at)  # the same data without the campaign


def test_the_window_not_over_says_so(before, data_dir):
    high_risk_campaign(before)
    [summary] = store(data_dir).list_campaigns()
    partial = cut(load_sample(), date(2025, 8, 15))
    shown = healthy(app_with(partial, page="campaigns", query={"campaign": summary.campaign.id}))
    assert "So far (45 of 90 days observed)" in shown
    assert "The window runs until" in shown


def test_a_call_log_with_strangers_and_late_rows_is_reported(before, data_dir):
    at = high_risk_campaign(before)
    [summary] = store(data_dir).list_campaigns()
    groups = store(data_dir).groups(summary.campaign.id)
    treated = groups.filter(pl.col("group") == "treatment")["customer_id"].to_list()
    control = groups.filter(pl.col("group") == "control")["customer_id"].to_list()
    log = ("客户编号,日期,类型,结果\n"
           f"{treated[0]},2025-07-03,电话,已接通\n{treated[1]},2025-07-04,电话,未接\n"
           f"{control[0]},2025-07-05,电话,已接通\nX999,2025-07-05,电话,\n{treated[2]},2025-12-20,电话,\n").encode("gbk")
    at.switch_page("pages/campaigns.py").run()
    at.file_uploader(key="cp_call_log").set_value(("calls.csv", log, "text/csv")).run()
    shown = healthy(at)
    assert "3 contacts of members in the window read, 3 of them new." in shown
    assert "1 rows are of customers who are not in this campaign" in shown and "X999" in shown
    assert "1 rows of members are dated outside the window" in shown
    assert "1 of the stored contacts are of control-group customers" in shown
    assert store(data_dir).contacts(summary.campaign.id).height == 3
    at.run()  # the same file again: nothing new
    assert store(data_dir).contacts(summary.campaign.id).height == 3


def test_other_lists_start_campaigns_too(data_dir):
    at = app(page="segments", query={"seg_tab": "lists", "seg_by": "segment", "seg_pick": "at_risk"})
    healthy(at)
    submit(at, "seg_campaign", name="At risk")
    at = app(page="customers")
    healthy(at)
    submit(at, "cu_campaign", name="Everyone")
    lines = load_sample().transactions
    bought, offered = lines.group_by("product").len().sort("len", descending=True)["product"].head(2).to_list()
    at = app(page="cross_sell", query={"xs_tab": "targets", "xs_level": "product", "xs_bought": bought,
                                       "xs_not": offered})
    healthy(at)
    submit(at, "xs_targets_campaign", name="Offer")
    listed = {s.campaign.name: s.campaign for s in store(data_dir).list_campaigns()}
    assert listed["At risk"].source == "segment" and listed["At risk"].goal == "win_back"
    assert listed["Everyone"].source == "customers"
    assert listed["Offer"].source == "target_list" and listed["Offer"].goal == "cross_sell"
    assert listed["Offer"].product == offered and listed["Offer"].source_detail == f"{bought} → {offered}"


def test_only_the_creator_may_delete_and_a_colleague_reads_by_link(before, data_dir):
    at = high_risk_campaign(before)
    [summary] = store(data_dir).list_campaigns()
    link = {key: at.query_params[key] for key in at.query_params}  # the address the creator's page shows
    assert summary.campaign.id in str(link.get("campaign"))
    other = app_with(before, page="campaigns", query=link)  # another browser, opening that link
    shown = healthy(other)
    assert "Win-back July" in shown and "Only the manager who created this campaign" in shown
    at.switch_page("pages/campaigns.py").run()
    at.checkbox(key="cp_delete_sure").check().run()
    at.button(key="cp_delete").click().run()
    healthy(at)
    assert store(data_dir).list_campaigns() == []


def test_two_sessions_creating_at_once_keep_both(before, data_dir):
    sessions = [app_with(before, page="churn", query={"ch_tier": "high", "asof": START.isoformat()})
                for _ in range(2)]
    for index, at in enumerate(sessions):
        at.text_input(key="ch_list_campaign_name").set_value(f"Session {index}")
    buttons = [[b for b in at.button if b.key == "FormSubmitter:ch_list_campaign_form-Create campaign"][0]
               for at in sessions]
    barrier = threading.Barrier(2)

    def create(button):
        barrier.wait()
        button.click().run()

    threads = [threading.Thread(target=create, args=(button,)) for button in buttons]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    for at in sessions:
        healthy(at)
    names = sorted(s.campaign.name for s in store(data_dir).list_campaigns())
    assert names == ["Session 0", "Session 1"]


def test_a_cross_sell_campaign_on_data_without_products_says_why(data_dir):
    lines = load_sample().transactions
    bought, offered = lines.group_by("product").len().sort("len", descending=True)["product"].head(2).to_list()
    at = app(page="cross_sell", query={"xs_tab": "targets", "xs_level": "product", "xs_bought": bought,
                                       "xs_not": offered})
    submit(at, "xs_targets_campaign", name="Offer")
    [summary] = store(data_dir).list_campaigns()
    sample = load_sample()
    no_products = type(sample)(sample.transactions.drop("product", "category"), name="orders only")
    shown = healthy(app_with(no_products, page="campaigns", query={"campaign": summary.campaign.id}))
    assert "has no product column" in shown and "Offer" in shown
