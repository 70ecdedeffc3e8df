"""Campaigns with a known effect in the sample (issue 17): the data on a day, a campaign's true effect added
to the later data, and the command that does both from a downloaded contact list."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from crm_core.dataset import SAMPLE_FILES, load_sample
from crm_core.features import customer_summary, purchases
from crm_core.sample import ORDER_ID_PATTERN, cut, generate, main, simulate_campaign, write_csv

START = date(2025, 9, 1)
WINDOW = 90
WINDOW_START, WINDOW_END = datetime(2025, 9, 1), datetime(2025, 11, 30)
PAPER = "A4复印纸70g（5包/箱）"


@pytest.fixture(scope="module")
def full():
    """The data a CRM holds at the end of 2025 (the default period)."""
    return generate(1500, seed=21)


def call_list(dataset, start=START, lapsed_days=60):
    """A churn call list as of ``start``: customers with a purchase before it and none in the last 60 days."""
    summary = customer_summary(cut(dataset, start).transactions, start)
    return summary.filter(pl.col("recency_days") > lapsed_days)["customer_id"].sort()


def split(ids: pl.Series, seed=5, control_share=0.2):
    """Treatment and held-out control, the way the app splits a list: a seeded shuffle."""
    shuffled = ids.sample(fraction=1.0, shuffle=True, seed=seed)
    n_control = round(control_share * len(ids))
    return shuffled[n_control:].sort().to_list(), shuffled[:n_control].sort().to_list()


@pytest.fixture(scope="module")
def groups(full):
    return split(call_list(full))


def successes(transactions, ids, product=None):
    """Of ``ids``, who has a purchase order (with ``product``: one with a line of it) in the window."""
    orders = purchases(transactions).filter(pl.col("order_date").is_between(WINDOW_START, WINDOW_END, closed="left"))
    if product is not None:
        with_product = transactions.filter(pl.col("product") == product).select("order_id").unique()
        orders = orders.join(with_product, left_on="order_key", right_on="order_id", how="semi")
    return set(orders["customer_id"].to_list()) & set(ids)


def added_lines(before, after):
    return after.transactions.join(before.transactions, on=before.transactions.columns, how="anti", nulls_equal=True)


def test_cut_leaves_nothing_on_or_after_the_day_and_everything_before(full):
    day = date(2024, 6, 15)
    midnight = datetime(2024, 6, 15)
    then = cut(full, day)
    assert then.transactions["order_date"].max() < midnight
    assert then.interactions["date"].max() < midnight
    assert then.customers["signup_date"].max() < midnight
    assert then.transactions.equals(full.transactions.filter(pl.col("order_date") < midnight))
    assert then.interactions.equals(full.interactions.filter(pl.col("date") < midnight))
    assert 0 < then.customers.height < full.customers.height
    assert then.customers.height == full.customers.filter(pl.col("signup_date") < midnight).height
    # what the CRM could not know yet: a refund booked on or after the day against an earlier order
    late_refunds = full.transactions.filter((pl.col("amount") < 0) & (pl.col("order_date") >= midnight)
                                            & pl.col("order_id").str.slice(2, 8).lt("20240615"))
    assert late_refunds.height > 0
    assert then.transactions.join(late_refunds, on=full.transactions.columns, how="semi").height == 0


def test_the_null_campaign_changes_nothing(full, groups):
    treated, _ = groups
    after, truth = simulate_campaign(full, treated, START, WINDOW, 0.0, seed=1)
    for kind in ("transactions", "customers", "interactions"):
        assert getattr(after, kind).equals(getattr(full, kind)), kind
    assert truth.treated == len(treated) and truth.brought_back == 0 and truth.brought_back_ids == ()
    assert truth.realised_effect == 0.0 == truth.expected_effect and truth.added_revenue == 0.0
    assert 0 < truth.natural < truth.treated


def test_brought_back_share_is_near_the_uplift_and_is_the_truth(full, groups):
    treated, control = groups
    uplift = 0.3
    after, truth = simulate_campaign(full, treated, START, WINDOW, uplift, seed=1)
    natural = successes(full.transactions, treated)
    returned = successes(after.transactions, treated)
    assert truth.natural == len(natural) and truth.eligible == len(treated) - len(natural)  # all bought before
    assert returned > natural and returned - natural == set(truth.brought_back_ids)
    assert truth.brought_back == len(returned) - len(natural)
    share = truth.brought_back / truth.eligible
    assert truth.eligible > 300
    assert abs(share - uplift) < 4 * math.sqrt(uplift * (1 - uplift) / truth.eligible)
    # the realised effect is the difference the campaign made to the treated return rate, exactly
    assert truth.realised_effect == pytest.approx(len(returned) / len(treated) - len(natural) / len(treated))
    assert truth.expected_effect == pytest.approx(uplift * (1 - len(natural) / len(treated)))
    # and the control group's return rate is what it was
    assert successes(after.transactions, control) == successes(full.transactions, control)


def test_added_orders_are_purchases_in_the_window_copied_from_the_customers_own_orders(full, groups):
    treated, _ = groups
    after, truth = simulate_campaign(full, treated, START, WINDOW, 0.5, seed=2)
    added = added_lines(full, after)
    assert added.height >= truth.brought_back > 100
    assert after.transactions.height == full.transactions.height + added.height
    assert added["order_date"].min() >= WINDOW_START and added["order_date"].max() < WINDOW_END
    assert added["order_date"].max() <= full.transactions["order_date"].max().replace(hour=23, minute=59, second=59)
    assert (added["amount"] > 0).all() and (added["quantity"] > 0).all()
    assert (added["amount"] - (added["quantity"] * added["unit_price"]).round(2)).abs().max() < 0.005
    assert truth.added_revenue == pytest.approx(added["amount"].sum())
    # one new order per brought-back customer, with a fresh id in the data's format carrying its date
    per_order = added.group_by("order_id").agg(pl.col("customer_id").n_unique().alias("customers"),
                                               pl.col("customer_id").first(), pl.col("order_date").n_unique())
    assert (per_order["customers"] == 1).all() and (per_order["order_date"] == 1).all()
    assert sorted(per_order["customer_id"].to_list()) == list(truth.brought_back_ids)
    assert set(per_order["order_id"]) == set(truth.order_ids)
    assert added["order_id"].str.contains(ORDER_ID_PATTERN).all()
    assert (added["order_id"].str.slice(2, 8) == added["order_date"].dt.strftime("%Y%m%d")).all()
    assert not added["order_id"].is_in(full.transactions["order_id"].implode()).any()
    bought = purchases(after.transactions).filter(pl.col("order_key").is_in(added["order_id"].implode()))
    assert bought.height == per_order.height and not bought["is_refund"].any()
    # its lines are one of the customer's own purchase orders before the start: products, quantities, prices
    basket = ["product", "category", "quantity", "unit_price", "amount"]
    past = (full.transactions.filter((pl.col("order_date") < WINDOW_START) & (pl.col("amount") > 0))
            .group_by("customer_id", "order_id").agg(pl.struct(basket).sort_by("product", "unit_price")
                                                     .alias("lines")))
    new = added.group_by("customer_id", "order_id").agg(pl.struct(basket).sort_by("product", "unit_price")
                                                        .alias("lines"))
    matched = new.join(past, on=["customer_id", "lines"], how="semi")
    assert matched.height == new.height
    # through the customer's usual channel, region and sales rep (the most frequent on their lines before)
    lines_before = full.transactions.filter((pl.col("order_date") < WINDOW_START) & (pl.col("amount") > 0))
    for column in ("channel", "region", "sales_rep"):
        usual = (lines_before.group_by("customer_id", column).agg(pl.len().alias("n"))
                 .filter(pl.col("n") == pl.col("n").max().over("customer_id")))
        assert added.join(usual, on=["customer_id", column], how="anti").height == 0, column


def test_control_and_everyone_else_is_untouched(full, groups):
    treated, control = groups
    after, _ = simulate_campaign(full, treated, START, WINDOW, 0.6, seed=3, log_calls=True)
    untreated = pl.col("customer_id").is_in(pl.Series(treated).implode()).not_()
    for kind in ("transactions", "interactions"):
        before_rows, after_rows = getattr(full, kind).filter(untreated), getattr(after, kind).filter(untreated)
        assert after_rows.equals(before_rows), kind
    assert set(control) <= set(full.transactions["customer_id"])  # the control has rows to keep
    assert after.customers.equals(full.customers)
    # treated customers lose nothing either: every one of their rows is still there
    assert full.transactions.join(after.transactions, on=full.transactions.columns, how="anti").height == 0


def test_calls_are_logged_for_each_treated_customer_in_the_first_two_weeks(full, groups):
    treated, _ = groups
    after, truth = simulate_campaign(full, treated, START, WINDOW, 0.0, seed=4, log_calls=True)
    assert after.transactions.equals(full.transactions) and truth.brought_back == 0
    calls = after.interactions.join(full.interactions, on=full.interactions.columns, how="anti", nulls_equal=True)
    assert sorted(calls["customer_id"].to_list()) == sorted(treated)
    assert (calls["type"] == "call").all() and calls["note"].null_count() == 0
    assert calls["date"].min() >= WINDOW_START and calls["date"].max() < WINDOW_START + timedelta(days=14)
    assert after.interactions["date"].is_sorted()


def test_the_same_seed_gives_the_same_campaign_and_the_list_order_does_not_matter(full, groups):
    treated, _ = groups
    first, truth = simulate_campaign(full, treated, START, WINDOW, 0.3, seed=8, log_calls=True)
    again, truth_again = simulate_campaign(full, list(reversed(treated)), START, WINDOW, 0.3, seed=8,
                                           log_calls=True)
    other, truth_other = simulate_campaign(full, treated, START, WINDOW, 0.3, seed=9, log_calls=True)
    assert first.transactions.equals(again.transactions) and first.interactions.equals(again.interactions)
    assert truth == truth_again and truth.brought_back_ids == truth_again.brought_back_ids
    assert truth_other.brought_back_ids != truth.brought_back_ids
    assert not first.transactions.equals(other.transactions)
    # with one seed, a stronger campaign brings back everyone a weaker one did, and more
    _, stronger = simulate_campaign(full, treated, START, WINDOW, 0.6, seed=8)
    assert set(truth.brought_back_ids) < set(stronger.brought_back_ids)


def test_a_cross_sell_campaign_sells_the_product_to_those_who_would_not_have_bought_it(full, groups):
    treated, _ = groups
    uplift = 0.4
    after, truth = simulate_campaign(full, treated, START, WINDOW, uplift, seed=6, product=PAPER)
    natural = successes(full.transactions, treated, PAPER)
    assert truth.natural == len(natural) and truth.eligible == len(treated) - len(natural)
    assert successes(after.transactions, treated, PAPER) - natural == set(truth.brought_back_ids)
    assert abs(truth.brought_back / truth.eligible - uplift) < 4 * math.sqrt(uplift * (1 - uplift) / truth.eligible)
    added = added_lines(full, after)
    assert added.height == truth.brought_back  # one line each: the product
    assert (added["product"] == PAPER).all() and (added["category"] == "办公文具").all()
    assert (added["quantity"] >= 1).all() and (added["amount"] > 0).all()
    # at a price this data charges for it
    prices = set(full.transactions.filter(pl.col("product") == PAPER)["unit_price"].to_list())
    assert set(added["unit_price"].to_list()) <= prices | {float(np.round(np.median(sorted(prices)), 2))}


def test_bad_campaigns_are_refused(full, groups):
    treated, _ = groups
    with pytest.raises(ValueError, match="uplift"):
        simulate_campaign(full, treated, START, WINDOW, 1.5, seed=1)
    with pytest.raises(ValueError, match="last day"):
        simulate_campaign(full, treated, date(2026, 2, 1), WINDOW, 0.2, seed=1)
    with pytest.raises(ValueError, match="not in the data"):
        simulate_campaign(full, treated, START, WINDOW, 0.2, seed=1, product="no such product")
    with pytest.raises(ValueError, match="no treated"):
        simulate_campaign(full, [], START, WINDOW, 0.2, seed=1)


def test_a_window_past_the_data_ends_on_its_last_day():
    short = generate(600, seed=4, end=date(2025, 10, 15))
    treated, _ = split(call_list(short))
    after, truth = simulate_campaign(short, treated, START, WINDOW, 0.8, seed=1)
    added = added_lines(short, after)
    assert truth.brought_back > 20
    assert added["order_date"].max() < datetime(2025, 10, 16)


def write_contact_list(path: Path, dataset, ids: list[str]) -> None:
    """The contact list as the app downloads it: UTF-8 with a BOM, translated headers."""
    names = dict(dataset.customers.select("customer_id", "name").iter_rows())
    rows = "".join(f"{i},{names[i]},电话\r\n" for i in ids)
    path.write_bytes("\ufeff客户编号,客户名称,联系方式\r\n".encode() + rows.encode())


def test_cli_round_trip_from_a_downloaded_contact_list(tmp_path, capsys):
    options = ["--customers", "700", "--seed", "9"]
    # 1. the data as of the campaign's start, uploaded to make the campaign
    assert main([*options, "--until", "2025-09-01", "--out", str(tmp_path / "before")]) == 0
    capsys.readouterr()
    then = load_sample(tmp_path / "before")
    assert then.transactions["order_date"].max() < WINDOW_START
    assert then.interactions["date"].max() < WINDOW_START
    assert then.customers["signup_date"].max() < WINDOW_START
    # 2. the app's split and download: the treatment group only
    treated, control = split(call_list(then))
    contacts = tmp_path / "contacts.csv"
    write_contact_list(contacts, then, treated)
    assert contacts.read_bytes().startswith(b"\xef\xbb\xbf\xe5\xae\xa2")  # BOM, then 客
    # 3. the later data with the campaign's effect
    assert main([*options, "--campaign-contacts", str(contacts), "--campaign-start", "2025-09-01",
                 "--campaign-uplift", "0.4", "--campaign-seed", "3", "--out", str(tmp_path / "after")]) == 0
    printed = capsys.readouterr().out
    full = generate(700, seed=9)
    _, truth = simulate_campaign(full, treated, START, WINDOW, 0.4, seed=3)
    assert truth.brought_back > 20
    assert f"{truth.treated} treated" in printed and f"{truth.brought_back} brought back" in printed
    assert f"realised effect {truth.realised_effect:.2%}" in printed
    later = load_sample(tmp_path / "after")
    new_orders = set(later.transactions["order_id"]) - set(full.transactions["order_id"])
    assert new_orders == set(truth.order_ids)
    assert successes(later.transactions, treated) - successes(full.transactions, treated) == set(
        truth.brought_back_ids)
    assert successes(later.transactions, control) == successes(full.transactions, control)
    # the null campaign writes exactly the plain sample
    assert main([*options, "--campaign-contacts", str(contacts), "--campaign-start", "2025-09-01",
                 "--campaign-uplift", "0", "--out", str(tmp_path / "null")]) == 0
    assert "0 brought back" in capsys.readouterr().out
    write_csv(full, tmp_path / "plain")
    for filename in SAMPLE_FILES.values():
        assert (tmp_path / "null" / filename).read_bytes() == (tmp_path / "plain" / filename).read_bytes()


def test_cli_refuses_campaign_options_without_a_contact_list(tmp_path):
    with pytest.raises(SystemExit):
        main(["--customers", "50", "--campaign-start", "2025-09-01", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        main(["--customers", "50", "--campaign-contacts", str(tmp_path / "x.csv"), "--out", str(tmp_path)])
