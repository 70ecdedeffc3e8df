"""Transactions without amounts (grocery baskets: customer, date, item) through every core entry point.

Counts stay exact; money is null, never 0; analyses that need money say so with a typed error or note.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from crm_core import churn, clv, cross_sell, customers as cu, features as fe, lifecycle, overview, segmentation
from crm_core.dataset import Dataset

PRODUCTS = ("milk", "bread", "eggs", "tea", "rice", "soap")


def baskets(amount: str = "null") -> pl.DataFrame:
    """Three customers by hand: A buys on 1, 8 and 15 Jan (two items each), B on 3 Jan, C on 10 and 20 Jan."""
    rows = [("A", "2024-01-01", "milk"), ("A", "2024-01-01", "bread"), ("A", "2024-01-08", "milk"),
            ("A", "2024-01-08", "eggs"), ("A", "2024-01-15", "milk"), ("A", "2024-01-15", "bread"),
            ("B", "2024-01-03", "tea"), ("C", "2024-01-10", "milk"), ("C", "2024-01-20", "bread")]
    frame = pl.DataFrame({"customer_id": [r[0] for r in rows],
                          "order_date": [datetime.fromisoformat(r[1]) for r in rows],
                          "product": [r[2] for r in rows]})
    return frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("amount")) if amount == "null" else frame


def many_baskets(customers: int = 300) -> pl.DataFrame:
    """A deterministic shop: customer c buys every 7 + 6·(c mod 9) days until a customer-specific stop."""
    rows = []
    start = datetime(2023, 1, 2)
    for c in range(customers):
        gap, stop, day, visit = 7 + (c % 9) * 6, 120 + (c * 37) % 400, c % 11, 0
        while day < stop:
            for item in range(1 + (c + visit) % 3):
                rows.append((f"c{c:03d}", start + timedelta(days=day), PRODUCTS[(c + visit + item) % 6]))
            day, visit = day + gap, visit + 1
    return pl.DataFrame(rows, schema={"customer_id": pl.String, "order_date": pl.Datetime("us"),
                                      "product": pl.String}, orient="row").with_columns(
        pl.lit(None, dtype=pl.Float64).alias("amount"))


AS_OF = datetime(2024, 1, 21)


@pytest.mark.parametrize("amount", ["null", "absent"])
def test_summary_counts_orders_and_leaves_money_null(amount: str) -> None:
    lines = baskets(amount)
    assert not fe.has_amounts(lines)
    summary = fe.customer_summary(lines, AS_OF)
    assert summary["orders"].to_list() == [3, 1, 2]           # customer-days
    assert summary["recency_days"].to_list() == [6, 18, 1]
    assert summary.select("revenue", "gross_revenue", "refunds", "avg_order_value").null_count().row(0) == (3, 3, 3, 3)
    assert fe.customer_base(lines, AS_OF).customers == 3
    assert fe.orders(lines)["is_refund"].sum() == 0


def test_rfm_scores_r_and_f_and_reads_m_as_f() -> None:
    summary = fe.customer_summary(baskets(), AS_OF)
    scored = segmentation.rfm(summary)
    # score = 1 + floor(5 × customers below / 3). R on recency 6, 18, 1 (lower is better): B has 0 below → 1,
    # A 1 below → 2, C 2 below → 4. F on orders 3, 1, 2: B → 1, C → 2, A → 4.
    assert scored.select("r_score", "f_score").rows() == [(2, 4), (1, 1), (4, 2)]
    assert scored["m_score"].null_count() == 3 and scored["fm_score"].to_list() == [4.0, 1.0, 2.0]
    assert scored["rfm_code"].to_list() == ["24", "11", "42"]
    lookup = dict(segmentation.score_map().select("rfm_code", "segment").iter_rows())
    assert scored["segment"].to_list() == [lookup["244"], lookup["111"], lookup["422"]]  # M taken equal to F
    for preset in segmentation.PRESETS:
        assert segmentation.rfm(summary, preset=preset)["segment"].null_count() == 0, preset
    table = segmentation.segment_table(scored)
    assert table["customers"].sum() == 3 and table["revenue"].null_count() == table.height
    with pytest.raises(fe.MissingAmounts) as error:
        segmentation.value_tiers(summary)
    assert (error.value.key, error.value.params) == ("app.base.needs_amounts", {"analysis": "value_tiers"})
    grouped = segmentation.clusters(summary, k=2)
    assert grouped.features == ("recency_days", "orders") and grouped.labels.height == 3


def test_overview_counts_orders_without_money() -> None:
    k = overview.period_kpis(baskets(), date(2024, 1, 1), date(2024, 1, 31))
    assert (k["customers"], k["active_customers"], k["orders"]) == (3.0, 3.0, 6.0)
    assert k["repeat_rate"] == pytest.approx(2 / 3)
    assert k["revenue"] is None and k["avg_order_value"] is None and k["existing_revenue_share"] is None
    months = overview.monthly_new_vs_existing(baskets())
    assert months.row(0, named=True) == {"month": date(2024, 1, 1), "new_revenue": None, "existing_revenue": None,
                                         "new_customers": 3, "existing_customers": 0}
    by_product = overview.revenue_by(baskets(), "product")
    # without money the values are ranked by customers: bread and milk 2 (A, C), eggs 1, tea 1
    assert by_product["value"].to_list() == ["bread", "milk", "eggs", "tea"]
    assert by_product["revenue"].null_count() == by_product.height


def test_lifecycle_without_money() -> None:
    # A: own gap 7, last purchase 6 days ago → active; B: 18 days ≥ 15 → dormant; C: first 11 days ago < 12 → new
    staged = lifecycle.stages(baskets(), AS_OF, new_days=12, dormant_days=15, churned_days=30,
                              reactivated_days=12, typical_gap_days=7)
    assert dict(staged.select("customer_id", "stage").iter_rows()) == {"A": "active", "B": "dormant", "C": "new"}
    moves = lifecycle.transitions(baskets(), datetime(2024, 1, 11), AS_OF, new_days=10, dormant_days=15,
                                  churned_days=30, reactivated_days=10, typical_gap_days=7)
    assert moves["customers"].sum() == 3 and moves["revenue"].null_count() == moves.height
    cohorts = lifecycle.cohorts(baskets(), "month", AS_OF)
    assert cohorts["cohort_size"].to_list() == [3] and cohorts["revenue"].to_list() == [None]


def test_clv_predicts_purchases_but_no_money() -> None:
    lines = many_baskets(120)
    summary = clv.rfm_input(lines)
    assert summary["monetary_value"].null_count() == summary.height
    result = clv.predict(lines)
    table = result.table
    assert result.gammagamma is None
    assert {"key": "app.base.needs_amounts", "params": {"analysis": "clv"}} in result.notes
    assert table["p_alive"].is_between(0, 1).all() and table["expected_orders_next_365_days"].null_count() == 0
    assert table["predicted_value_365_days"].null_count() == table.height
    assert table["expected_avg_order_value"].null_count() == table.height


def test_churn_trains_and_scores_without_monetary_features() -> None:
    lines = many_baskets(300)
    dataset = Dataset(lines)
    as_of = fe.default_as_of(lines) - timedelta(days=120)
    frame = churn.features(dataset, as_of)
    assert frame["monetary"].null_count() == frame.height and frame["spend_trend"].null_count() == frame.height
    assert churn.sufficiency(lines, as_of).ok
    model = churn.train(dataset, as_of)
    money = {"monetary", "avg_order_value", "revenue_last_90d", "revenue_prev_90d", "spend_trend",
             "aov_last_180d", "aov_before_180d", "basket_trend", "refund_share"}
    assert not money & set(model.feature_names_) and "recency_days" in model.feature_names_
    scored = churn.score(dataset, as_of, model=model)
    assert scored.height == frame.height and scored["churn_probability"].null_count() == 0
    assert set(scored["value_source"].unique()) == {"no_amounts"}
    assert scored["value_at_risk"].null_count() == scored.height
    assert churn.capacity_curve(scored)["value_at_risk"].null_count() == scored.height + 1
    result = churn.backtest(dataset, as_of)
    assert result.ok and 0.5 < result.ranking.auc <= 1.0


@pytest.mark.parametrize("amount", ["null", "absent"])
def test_cross_sell_and_customer_table_without_money(amount: str) -> None:
    lines = baskets(amount)
    rules = cross_sell.association_rules(lines, min_support=0.2)
    # baskets: A×3 {milk, bread}, {milk, eggs}, {milk, bread}; B {tea}; C {milk}, {bread} → 6 baskets
    milk_bread = rules.filter((pl.col("antecedents") == ["bread"]) & (pl.col("consequents") == ["milk"]))
    assert milk_bread.select("support_count", "baskets", "confidence").row(0) == (2, 6, pytest.approx(2 / 3))
    picks = cross_sell.recommend(lines, k=1)
    assert picks.height == 3 and picks["expected_value"].null_count() == 3
    targets = cross_sell.target_list(lines, "milk", "tea")
    assert targets["customer_id"].to_list() == ["A", "C"] and targets["revenue"].null_count() == 2
    result = cu.customer_table(Dataset(lines), AS_OF)
    table, notes = result.frame, [{"key": note.key, "params": note.params} for note in result.notes]
    assert table["customer_id"].to_list() == ["A", "B", "C"] and table["orders"].to_list() == [3, 1, 2]
    assert table["revenue"].null_count() == 3 and "tier" not in table.columns
    assert {"key": "app.base.needs_amounts", "params": {"analysis": "value_tiers"}} in notes
    assert not [note for note in notes if note["key"].endswith("_failed")], notes
    story = cu.customer_story(Dataset(lines), AS_OF, "A", table=result)
    assert story.figures["orders"] == 3 and story.monthly_spend.rows() == [(date(2024, 1, 1), 3, None)]
    assert np.isfinite(story.similar["distance"].to_numpy()).all()
