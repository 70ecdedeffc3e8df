"""customer_summary on a hand-made history."""
from datetime import datetime

import polars as pl
import pytest

from crm_core.features import customer_summary, default_as_of, orders


def lines(with_order_id: bool = True):
    frame = pl.DataFrame({
        "customer_id": ["A", "A", "A", "B", "B"],
        "order_id": ["1", "1", "2", "3", "4"],
        "order_date": [datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 9), datetime(2024, 1, 11), datetime(2024, 1, 20),
                       datetime(2024, 2, 1)],
        "amount": [10.0, 5.0, -3.0, 8.0, 100.0],
        "category": ["x", "y", "x", "x", None],
    })
    return frame if with_order_id else frame.drop("order_id")


def test_summary_by_hand():
    summary = customer_summary(lines(), as_of=datetime(2024, 1, 21))
    a = summary.filter(pl.col("customer_id") == "A").row(0, named=True)
    # order "2" (-3 on 11 Jan, its own id) is a refund document: revenue, not an order or a visit
    assert a["orders"] == 1 and a["refund_orders"] == 1 and a["revenue"] == pytest.approx(12.0)
    assert a["gross_revenue"] == pytest.approx(15.0) and a["refunds"] == pytest.approx(3.0)
    assert a["avg_order_value"] == pytest.approx(12.0)
    assert a["recency_days"] == 19 and a["tenure_days"] == 19  # last purchase 1 Jan 09:00
    assert a["avg_days_between_orders"] is None
    assert a["categories"] == 2
    b = summary.filter(pl.col("customer_id") == "B").row(0, named=True)
    assert b["orders"] == 1 and b["revenue"] == 8.0 and b["avg_days_between_orders"] is None  # Feb order is after as_of


def test_without_order_id_an_order_is_a_customer_day():
    assert orders(lines(with_order_id=False)).height == 4
    # A's 11 January is a refund-only day: a refund document, not an order
    assert orders(lines(with_order_id=False))["is_refund"].to_list() == [False, True, False, False]
    assert customer_summary(lines(with_order_id=False))["orders"].to_list() == [1, 2]


def test_default_as_of_is_the_day_after_the_last_order():
    assert default_as_of(lines()) == datetime(2024, 2, 2)
