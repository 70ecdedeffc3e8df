"""The sample generator: deterministic, canonical, and carrying the structure every page is demoed on."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from crm_core.dataset import SAMPLE_DIR, SAMPLE_FILES
from crm_core.features import customer_summary, orders
from crm_core.sample import (
    PRODUCTS,
    REGIONS,
    SALES_REPS,
    SPRING_FESTIVAL,
    generate,
    main,
    purchase_intensity,
    write_csv,
)
from crm_core.schema import COLUMNS

END = datetime(2026, 1, 1)  # the day after the default period


@pytest.fixture(scope="module")
def sample():
    return generate(customers=800, seed=7)


@pytest.fixture(scope="module")
def summary(sample):
    return customer_summary(sample.transactions, END)


def test_same_seed_gives_identical_frames_and_other_seeds_differ():
    first, again, other = generate(300, seed=3), generate(300, seed=3), generate(300, seed=4)
    for kind in ("transactions", "customers", "interactions"):
        assert getattr(first, kind).equals(getattr(again, kind)), kind
        assert not getattr(first, kind).equals(getattr(other, kind)), kind
    assert first.fingerprint == again.fingerprint != other.fingerprint


def test_tables_are_canonical(sample):
    for kind in ("transactions", "customers", "interactions"):
        assert dict(getattr(sample, kind).schema) == COLUMNS[kind], kind
    tx, customers, interactions = sample.transactions, sample.customers, sample.interactions
    assert customers.height == 800 and customers["customer_id"].is_unique().all()
    assert customers["customer_id"].str.contains(r"^C\d{6}$").all()
    assert tx["customer_id"].is_in(customers["customer_id"].implode()).all()
    assert interactions["customer_id"].is_in(customers["customer_id"].implode()).all()
    assert tx["order_id"].str.contains(r"^SO\d{8}\d{4}$").all()
    # amount = quantity × unit_price, to the cent; order ids carry the order's date
    assert (tx["amount"] - (tx["quantity"] * tx["unit_price"]).round(2)).abs().max() < 0.005
    sales = tx.filter(pl.col("amount") > 0)
    assert (sales["order_id"].str.slice(2, 8) == sales["order_date"].dt.strftime("%Y%m%d")).all()
    for frame, column in ((tx, "order_date"), (interactions, "date")):
        assert frame[column].min() >= datetime(2023, 1, 1) and frame[column].max() < END
    # every line's product and category come from the catalogue
    catalogue = {(p[0], p[1]) for p in PRODUCTS}
    assert set(tx.select("product", "category").unique().iter_rows()) <= catalogue
    # real regions, cities inside them, reps of the customer's region
    city_region = {city: region for region, cities in REGIONS.items() for city, _, _ in cities}
    assert all(city_region[c] == r for r, c in customers.select("region", "city").iter_rows())
    rep_region = {rep: region for region, reps in SALES_REPS.items() for rep in reps}
    assert all(rep_region[o] == r for r, o in customers.select("region", "owner").iter_rows())
    assert customers["phone"].drop_nulls().str.contains(r"^1[3-9]\d{9}$").all()
    assert customers["email"].drop_nulls().str.contains(r"^[a-z0-9.\-]+@[a-z0-9.\-]+\.(com|cn)$").all()
    satisfaction = interactions["satisfaction"].drop_nulls()
    assert satisfaction.is_in([1.0, 2.0, 3.0, 4.0, 5.0]).all() and satisfaction.len() > 100
    assert set(interactions["type"].unique()) == {"call", "visit", "email", "meeting", "campaign", "complaint",
                                                  "feedback"}
    # nobody orders before signing up
    first_order = tx.group_by("customer_id").agg(first=pl.col("order_date").min())
    joined = first_order.join(customers, on="customer_id")
    assert (joined["first"] >= joined["signup_date"]).all()


def test_prospects_repeat_and_churn_rates_are_plausible(sample, summary):
    prospects = 1 - summary.height / sample.customers.height
    assert 0.03 <= prospects <= 0.10
    repeat_rate = (summary["orders"] >= 2).mean()
    assert 0.55 <= repeat_rate <= 0.80
    churned = (summary["recency_days"] > 180).mean()  # no order in the last 180 days
    assert 0.30 <= churned <= 0.50


def test_revenue_is_pareto_shaped(summary):
    revenue = summary["revenue"].sort(descending=True)
    top_share = revenue.head(len(revenue) // 5).sum() / revenue.sum()
    assert 0.58 <= top_share <= 0.80


def test_refunds_are_present_small_and_reference_their_order(sample):
    tx = sample.transactions
    refunds = tx.filter(pl.col("amount") < 0)
    order_count = orders(tx).height
    assert 0.01 <= refunds["order_id"].n_unique() / order_count <= 0.04
    assert -refunds["amount"].sum() / tx.filter(pl.col("amount") > 0)["amount"].sum() < 0.03
    assert (refunds["quantity"] < 0).all() and (refunds["unit_price"] > 0).all()
    sold = tx.filter(pl.col("amount") > 0).select("order_id", "product", sold_at=pl.col("order_date"),
                                                  sold=pl.col("quantity"))
    matched = refunds.join(sold, on=["order_id", "product"], how="left")
    assert matched["sold"].null_count() == 0
    assert (matched["order_date"] > matched["sold_at"]).all()
    assert (-matched["quantity"] <= matched["sold"]).all()


def test_seasonality_spring_festival_dip_and_shopping_festival_peaks(sample):
    intensity = purchase_intensity(date(2023, 1, 1), 1096)
    for year in (2023, 2024, 2025):
        festival = (SPRING_FESTIVAL[year] - date(2023, 1, 1)).days
        double_11 = (date(year, 11, 11) - date(2023, 1, 1)).days
        six_18 = (date(year, 6, 18) - date(2023, 1, 1)).days
        assert intensity[festival:festival + 7].max() < 0.3 * np.median(intensity)
        assert intensity[double_11] == intensity[double_11 - 20:double_11 + 20].max() > 2 * np.median(intensity)
        assert intensity[six_18] == intensity[six_18 - 20:six_18 + 20].max() > 2 * np.median(intensity)
    monthly = sample.transactions.group_by(month=pl.col("order_date").dt.month()).agg(pl.col("amount").sum())
    revenue = dict(monthly.iter_rows())
    assert revenue[11] > 1.3 * revenue[2]
    assert revenue[6] > revenue[5] and revenue[6] > revenue[7]


def test_co_purchase_affinities_give_lift_well_above_one(sample):
    baskets = sample.transactions.filter(pl.col("amount") > 0).select("order_id", "product").unique()
    n_orders = baskets["order_id"].n_unique()
    support = baskets.group_by("product").agg(n=pl.len())
    pairs = (
        baskets.join(baskets, on="order_id", suffix="_b")
        .filter(pl.col("product") < pl.col("product_b"))
        .group_by("product", "product_b").agg(both=pl.len())
        .join(support, on="product").join(support.rename({"product": "product_b", "n": "n_b"}), on="product_b")
        .with_columns(lift=pl.col("both") * n_orders / (pl.col("n") * pl.col("n_b")))
    )
    strong = pairs.filter((pl.col("both") >= 10) & (pl.col("lift") > 2))
    assert strong.height >= 5
    printer = pairs.filter((pl.col("product") == "激光打印机硒鼓") & (pl.col("product_b") == "黑白激光打印机"))
    assert printer["lift"][0] > 3
    assert printer["both"][0] / printer["n_b"][0] > 0.3  # confidence(printer → toner)
    # and most product pairs are near independence: the affinities are specific
    assert pairs.filter(pl.col("both") >= 10)["lift"].median() < 2


def test_complaints_rise_satisfaction_falls_and_contact_thins_before_churn(sample):
    """What a churn model sees out of time: features before a cut-off, label from the 180 days after it."""
    cutoff = END - timedelta(days=180)
    known = customer_summary(sample.transactions, cutoff).select("customer_id")
    returned = sample.transactions.filter(pl.col("order_date") >= cutoff).select("customer_id").unique()
    window = sample.interactions.filter(pl.col("date").is_between(cutoff - timedelta(days=90), cutoff,
                                                                  closed="left"))
    per_customer = window.group_by("customer_id").agg(
        complained=(pl.col("type") == "complaint").any(),
        satisfaction=pl.col("satisfaction").mean(),
        service=pl.col("type").is_in(["call", "visit", "email", "meeting"]).sum(),
    )
    labelled = known.with_columns(
        churned=~pl.col("customer_id").is_in(returned["customer_id"].implode())
    ).join(per_customer, on="customer_id", how="left").with_columns(
        pl.col("complained").fill_null(False), pl.col("service").fill_null(0))
    by_label = {row["churned"]: row for row in labelled.group_by("churned").agg(
        complaint_rate=pl.col("complained").mean(), satisfaction=pl.col("satisfaction").mean(),
        service=pl.col("service").mean(), customers=pl.len()).iter_rows(named=True)}
    assert by_label[True]["customers"] > 50 and by_label[False]["customers"] > 50
    assert by_label[True]["complaint_rate"] > 1.5 * by_label[False]["complaint_rate"]
    assert by_label[True]["satisfaction"] < by_label[False]["satisfaction"] - 0.5
    assert by_label[True]["service"] < by_label[False]["service"]


def test_cohorts_win_backs_and_campaign_responses(sample, summary):
    first_months = summary["first_order"].dt.strftime("%Y-%m").unique()
    assert first_months.len() >= 34  # new customers arrive throughout the 36 months
    campaigns = sample.interactions.filter(pl.col("type") == "campaign")
    assert set(campaigns["outcome"].unique()) == {"responded", "no_response"}
    assert 0.05 < (campaigns["outcome"] == "responded").mean() < 0.4
    # Won back: an order after at least 270 dormant days, within 30 days of answering a win-back campaign.
    customer_orders = orders(sample.transactions).sort("customer_id", "order_date").with_columns(
        gap_days=(pl.col("order_date") - pl.col("order_date").shift(1).over("customer_id")).dt.total_days())
    returns = customer_orders.filter(pl.col("gap_days") >= 270).select("customer_id", returned_at="order_date")
    recalls = campaigns.filter((pl.col("note") == "老客户召回礼券") & (pl.col("outcome") == "responded"))
    won_back = returns.join(recalls, on="customer_id").filter(
        pl.col("date").is_between(pl.col("returned_at") - timedelta(days=30), pl.col("returned_at"), closed="left"))
    assert won_back["customer_id"].n_unique() >= 8  # about one in a hundred customers; by chance alone ~1


def test_custom_period_and_bad_arguments():
    short = generate(150, seed=1, start=date(2024, 3, 1), end=date(2024, 8, 31))
    assert short.transactions["order_date"].min() >= datetime(2024, 3, 1)
    assert short.transactions["order_date"].max() < datetime(2024, 9, 1)
    assert short.interactions["date"].max() < datetime(2024, 9, 1)
    with pytest.raises(ValueError):
        generate(0)
    with pytest.raises(ValueError):
        generate(10, start=date(2024, 2, 1), end=date(2024, 1, 1))


def test_cli_writes_three_canonical_csv_files(tmp_path, capsys):
    assert main(["--customers", "200", "--seed", "5", "--out", str(tmp_path)]) == 0
    assert "200 customers" in capsys.readouterr().out
    expected = generate(200, seed=5)
    for kind, filename in SAMPLE_FILES.items():
        path = tmp_path / filename
        frame = pl.read_csv(path, infer_schema=False)
        assert frame.columns == list(COLUMNS[kind])
        assert frame.height == getattr(expected, kind).height
    text = (tmp_path / "transactions.csv").read_text(encoding="utf-8").splitlines()
    assert re.fullmatch(r"C\d{6},\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,-?\d+\.\d\d,SO\d{12},[^,]+,[^,]+,-?\d+,\d+\.\d\d,"
                        r"[^,]+,[^,]+,[^,]+", text[1])
    customers = (tmp_path / "customers.csv").read_text(encoding="utf-8").splitlines()
    assert re.search(r",\d{4}-\d\d-\d\d,", customers[1])  # signup_date as a plain date


def test_written_files_are_byte_identical_for_the_same_seed(tmp_path):
    write_csv(generate(250, seed=11), tmp_path / "a")
    write_csv(generate(250, seed=11), tmp_path / "b")
    for filename in SAMPLE_FILES.values():
        assert (tmp_path / "a" / filename).read_bytes() == (tmp_path / "b" / filename).read_bytes()


def test_committed_sample_is_what_the_generator_makes(tmp_path):
    """sample_data/ is ``python -m crm_core.sample`` with its defaults (5,000 customers, seed 42)."""
    paths = write_csv(generate(), tmp_path)
    total = 0
    for kind, path in paths.items():
        committed = Path(SAMPLE_DIR) / SAMPLE_FILES[kind]
        assert committed.read_bytes() == path.read_bytes(), f"regenerate sample_data: {committed.name} differs"
        total += committed.stat().st_size
    assert total <= 10 * 1024 * 1024
