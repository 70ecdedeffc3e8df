"""Overview KPIs on a hand-checkable history."""
from datetime import date, datetime

import polars as pl
import pytest

from crm_core.overview import kpi_comparison, monthly_new_vs_existing, period_kpis, previous_period, revenue_by


def history():
    # A: first order in January, orders twice in March. B: January only. C: new in March. D: February only.
    return pl.DataFrame({
        "customer_id": ["A", "A", "A", "B", "C", "D", "A"],
        "order_id": ["o1", "o2", "o3", "o4", "o5", "o6", "o3"],
        "order_date": [datetime(2024, 1, 5), datetime(2024, 3, 2), datetime(2024, 3, 20), datetime(2024, 1, 9),
                       datetime(2024, 3, 25), datetime(2024, 2, 10), datetime(2024, 3, 20)],
        "amount": [100.0, 50.0, 30.0, 80.0, 20.0, 60.0, -10.0],
        "region": ["华东", "华东", "华东", "华南", "华北", "华南", "华东"],
    })


def test_previous_period_has_equal_length():
    assert previous_period(date(2024, 3, 1), date(2024, 3, 31)) == (date(2024, 1, 30), date(2024, 2, 29))


def test_march_kpis_by_hand():
    k = period_kpis(history(), date(2024, 3, 1), date(2024, 3, 31))
    assert k["customers"] == 4            # A, B, C, D have ordered by 31 March
    assert k["active_customers"] == 2     # A and C
    assert k["revenue"] == pytest.approx(90.0)   # 50 + 30 - 10 + 20
    assert k["orders"] == 3               # o2, o3, o5 (the refund line belongs to o3)
    assert k["avg_order_value"] == pytest.approx(30.0)
    assert k["repeat_rate"] == pytest.approx(0.5)   # A has 2 orders in March, C has 1
    assert k["existing_revenue_share"] == pytest.approx(70 / 90)
    # previous period 30 Jan – 29 Feb: only D bought; D did not buy in March
    assert k["lapsed_customers"] == 1


def test_empty_period_has_no_rates():
    k = period_kpis(history(), date(2025, 1, 1), date(2025, 1, 31))
    assert k["revenue"] == 0 and k["avg_order_value"] is None and k["repeat_rate"] is None
    comparison = kpi_comparison(history(), date(2024, 3, 1), date(2024, 3, 31))
    assert comparison["active_customers"] == (2.0, 1.0)


def test_monthly_split_and_breakdown():
    months = monthly_new_vs_existing(history())
    march = months.filter(pl.col("month") == date(2024, 3, 1)).row(0, named=True)
    assert march["new_revenue"] == pytest.approx(20.0) and march["existing_revenue"] == pytest.approx(70.0)
    january = months.filter(pl.col("month") == date(2024, 1, 1)).row(0, named=True)
    assert january["new_revenue"] == pytest.approx(180.0) and january["existing_revenue"] == 0
    by_region = revenue_by(history(), "region", top=1)
    assert by_region["value"].to_list() == ["华东", None]
    assert by_region["revenue"].to_list() == pytest.approx([170.0, 160.0])
    assert revenue_by(history(), "channel").height == 0
