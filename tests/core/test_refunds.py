"""Refunds count as refunds: credit notes are not orders, returns do not create orders, one customer base.

Every number is worked out by hand in the comments (crm_core.features, "Orders, purchases and refunds").
"""
from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from crm_core import churn, clv, customers as cu, features as fe, lifecycle, overview, segmentation
from crm_core.dataset import Dataset
from crm_core.filters import FilterSpec, apply_filters

SCHEMA = {"customer_id": pl.String, "order_id": pl.String, "order_date": pl.Datetime("us"),
          "amount": pl.Float64, "quantity": pl.Float64, "product": pl.String}


def frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame([(c, o, datetime.fromisoformat(d), float(a), float(q), p) for c, o, d, a, q, p in rows],
                        schema=SCHEMA, orient="row")


# UK Online Retail style: invoices are numbers, credit notes are "C" + number with negative quantities.
UK = frame([
    ("12346", "536365", "2010-12-01 08:26", 20.0, 2, "WHITE HANGING HEART"),
    ("12346", "536365", "2010-12-01 08:26", 5.0, 1, "WHITE METAL LANTERN"),
    ("12346", "536400", "2010-12-10 09:00", 30.0, 3, "CREAM CUPID HEARTS"),
    ("12346", "C536379", "2010-12-15 09:41", -10.0, -1, "WHITE HANGING HEART"),  # a credit note
    ("12347", "536370", "2010-12-05 10:00", 40.0, 4, "ALARM CLOCK"),
    ("12348", "C536390", "2010-12-12 11:00", -15.0, -1, "ALARM CLOCK"),        # refunds only (bought before the data)
])
UK_AS_OF = datetime(2010, 12, 21)


def row(table: pl.DataFrame, customer_id: str) -> dict:
    found = table.filter(pl.col("customer_id") == customer_id)
    assert found.height == 1, customer_id
    return found.row(0, named=True)


def test_refund_document_rule() -> None:
    lines = frame([
        ("a", "100", "2024-01-01", 10.0, 1, "x"), ("a", "100", "2024-01-05", -10.0, -1, "x"),  # net 0: a purchase
        ("a", "C101", "2024-01-06", 0.0, -1, "x"),     # credit-note id, net 0: refund
        ("a", "C102", "2024-01-07", 5.0, 1, "x"),      # credit-note id but a positive net: a purchase
        ("a", "103", "2024-01-08", -3.0, -1, "x"),     # negative net: refund
        ("a", "c104", "2024-01-09", -2.0, -1, "x"),    # lower-case c
        ("a", "CX105", "2024-01-10", 0.0, 1, "x"),     # not a credit-note id: a (zero-value) purchase
    ])
    flags = dict(fe.orders(lines).select("order_key", "is_refund").iter_rows())
    assert flags == {"100": False, "C101": True, "C102": False, "103": True, "c104": True, "CX105": False}
    # day keys (no order id) never look like credit notes, even for a customer id such as "C1"
    days = pl.DataFrame({"customer_id": ["C1", "C1"], "order_date": [datetime(2024, 1, 1), datetime(2024, 1, 2)],
                         "amount": [0.0, -1.0]})
    assert fe.orders(days)["is_refund"].to_list() == [False, True]


def test_credit_note_is_not_an_order_in_the_summary() -> None:
    summary = fe.customer_summary(UK, UK_AS_OF)
    assert summary["customer_id"].to_list() == ["12346", "12347"]  # 12348 has only a refund: not analysed
    a = row(summary, "12346")
    assert a["orders"] == 2 and a["refund_orders"] == 1            # 536365, 536400; C536379 is a refund
    assert a["revenue"] == pytest.approx(45.0)                     # 25 + 30 − 10: net includes the refund
    assert (a["gross_revenue"], a["refunds"]) == (pytest.approx(55.0), pytest.approx(10.0))
    assert a["avg_order_value"] == pytest.approx(22.5)             # 45 / 2
    assert a["last_order"] == datetime(2010, 12, 10, 9)            # the refund on 15 Dec is not a visit
    assert a["recency_days"] == 10                                 # 21 Dec 00:00 − 10 Dec 09:00 = 10 d 15 h
    assert a["tenure_days"] == 19 and a["avg_days_between_orders"] == pytest.approx((9 * 24 + 34 / 60) / 24)
    scored = segmentation.rfm(summary)
    assert scored.height == 2 and scored["segment"].null_count() == 0


def test_customer_base_counts_refund_only_customers() -> None:
    base = fe.customer_base(UK, UK_AS_OF)
    assert (base.customers, base.refund_only, base.refund_only_ids) == (2, 1, ("12348",))
    assert base.with_lines == 3 and base.note() == {"key": "app.base.refund_only", "params": {"count": 1}}
    assert fe.customer_base(UK.filter(pl.col("customer_id") != "12348"), UK_AS_OF).note() is None
    # the same base in a filtered range: 10–20 Dec holds 536400 and C536379 for 12346, C536390 for 12348
    dataset = Dataset(UK)
    ranged = apply_filters(dataset, FilterSpec(start=date(2010, 12, 10), end=date(2010, 12, 20)))
    assert fe.customer_base(ranged.transactions, UK_AS_OF).refund_only_ids == ("12348",)
    late = apply_filters(dataset, FilterSpec(start=date(2010, 12, 11), end=date(2010, 12, 20)))
    late_base = fe.customer_base(late.transactions, UK_AS_OF)
    assert (late_base.customers, late_base.refund_only_ids) == (0, ("12346", "12348"))


def test_period_kpis_count_purchases_only() -> None:
    k = overview.period_kpis(UK, date(2010, 12, 1), date(2010, 12, 20))
    assert k["customers"] == 2              # 12346 and 12347; 12348 never bought
    assert k["active_customers"] == 2
    assert k["orders"] == 3                 # 536365, 536400, 536370
    assert k["revenue"] == pytest.approx(70.0)  # 25 + 30 − 10 + 40 − 15
    assert k["avg_order_value"] == pytest.approx(70 / 3)
    assert k["repeat_rate"] == pytest.approx(0.5)  # 12346 bought twice, 12347 once
    assert k["existing_revenue_share"] == pytest.approx(0.0)  # nobody bought before 1 Dec
    refunds_only = overview.period_kpis(UK, date(2010, 12, 11), date(2010, 12, 20))
    assert (refunds_only["orders"], refunds_only["active_customers"]) == (0.0, 0.0)
    assert refunds_only["revenue"] == pytest.approx(-25.0) and refunds_only["avg_order_value"] is None
    months = overview.monthly_new_vs_existing(UK)
    assert months.row(0, named=True)["new_customers"] == 2


def test_lifecycle_clv_and_churn_leave_refund_only_customers_out() -> None:
    listed = pl.DataFrame({"customer_id": ["12346", "12348", "99999"]})
    staged = lifecycle.stages(UK, UK_AS_OF, listed, new_days=30, dormant_days=60, churned_days=120,
                              reactivated_days=30, typical_gap_days=9)
    assert dict(staged.select("customer_id", "stage").iter_rows()) == {"12346": "new", "12347": "new",
                                                                       "99999": "prospect"}
    assert row(staged, "12346")["last_order_date"] == date(2010, 12, 10)
    summary = clv.rfm_input(UK, UK_AS_OF, "D")
    assert summary["customer_id"].to_list() == ["12346", "12347"]
    a = row(summary, "12346")
    # purchase days 1 and 10 Dec; last included day 20 Dec; spend of the repeat day = 30 (no credit note)
    assert (a["frequency"], a["recency"], a["T"], a["monetary_value"]) == (1, 9.0, 19.0, 30.0)
    features = churn.features(Dataset(UK), UK_AS_OF)
    assert features["customer_id"].to_list() == ["12346", "12347"]
    assert row(features, "12346")["frequency"] == 2 and row(features, "12346")["recency_days"] == 10
    labels = churn.labels(UK, datetime(2010, 12, 11), 30)
    assert labels["customer_id"].to_list() == ["12346", "12347"]  # 12348's refund is not a purchase
    assert labels["churned"].to_list() == [True, True]            # C536379 in the horizon is not a purchase


def test_customer_360_counts_purchases() -> None:
    dataset = Dataset(UK)
    table = cu.customer_table(dataset, UK_AS_OF, include=("segments", "lifecycle"))
    assert table.frame["customer_id"].to_list() == ["12346", "12347"]
    story = cu.customer_story(dataset, UK_AS_OF, "12346", table=table, recommendations=0)
    assert story.figures["orders"] == 2
    assert story.timeline.filter(pl.col("source") == "order")["kind"].to_list() == ["order", "order", "refund"]
    assert story.monthly_spend.rows() == [(date(2010, 12, 1), 2, pytest.approx(45.0))]
    with pytest.raises(cu.UnknownCustomer):
        cu.customer_story(dataset, UK_AS_OF, "12348", table=table)


# The built-in sample's way: a return is a negative line on the original order id, at a later date.
SAMPLE = frame([
    ("S", "o1", "2024-01-05", 100.0, 1, "desk"), ("S", "o1", "2024-01-05", 50.0, 1, "chair"),
    ("S", "o1", "2024-02-10", -50.0, -1, "chair"),   # the chair comes back five weeks later
    ("S", "o2", "2024-03-01", 80.0, 1, "lamp"),
    ("T", "t1", "2024-01-05", 60.0, 2, "desk"), ("T", "t1", "2024-02-10", -20.0, -1, "desk"),
])
SAMPLE_AS_OF = datetime(2024, 4, 1)


def test_a_later_return_on_the_original_order_neither_creates_nor_removes_an_order() -> None:
    summary = fe.customer_summary(SAMPLE, SAMPLE_AS_OF)
    s, t = row(summary, "S"), row(summary, "T")
    assert (s["orders"], s["revenue"], s["refund_orders"]) == (2, pytest.approx(180.0), 0)
    assert s["last_order"] == datetime(2024, 3, 1) and s["recency_days"] == 31
    assert (t["orders"], t["revenue"]) == (1, pytest.approx(40.0))
    assert t["last_order"] == datetime(2024, 1, 5) and t["recency_days"] == 87  # the return is not a visit
    february = overview.period_kpis(SAMPLE, date(2024, 2, 1), date(2024, 2, 29))
    assert february["revenue"] == pytest.approx(-70.0)   # the returns reduce February's revenue
    assert (february["orders"], february["active_customers"], february["avg_order_value"]) == (0.0, 0.0, None)
    january = overview.period_kpis(SAMPLE, date(2024, 1, 1), date(2024, 1, 31))
    assert (january["orders"], january["revenue"]) == (2.0, pytest.approx(210.0))
    assert clv.purchase_days(SAMPLE, SAMPLE_AS_OF).filter(pl.col("customer_id") == "T").rows() == [
        ("T", date(2024, 1, 5), 40.0)]   # the return nets into its order, on the order's day
    spend = cu.monthly_spend(SAMPLE, SAMPLE_AS_OF, "T")
    assert spend.rows() == [(date(2024, 1, 1), 1, 60.0), (date(2024, 2, 1), 0, -20.0)]
    staged = lifecycle.stages(SAMPLE, SAMPLE_AS_OF, new_days=30, dormant_days=60, churned_days=120,
                              reactivated_days=30, typical_gap_days=30)
    assert row(staged, "T")["days_since_last_order"] == 87 and row(staged, "T")["stage"] == "dormant"
