"""crm_core.lifecycle: stages on hand-made histories, derived windows, transitions and cohorts."""
from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from crm_core import lifecycle as lc

SCHEMA = {"customer_id": pl.String, "order_date": pl.Datetime("us"), "amount": pl.Float64}
LOCALES = Path(__file__).resolve().parents[2] / "ui" / "locales"


def tx(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame({"customer_id": [r[0] for r in rows],
                         "order_date": [datetime.fromisoformat(r[1]) for r in rows],
                         "amount": [float(r[2]) for r in rows]}, schema=SCHEMA)


def by_customer(frame: pl.DataFrame) -> dict[str, dict]:
    return {row["customer_id"]: row for row in frame.iter_rows(named=True)}


AS_OF = datetime(2024, 7, 1)
WINDOWS = {"new_days": 30, "dormant_days": 90, "churned_days": 180, "reactivated_days": 30, "typical_gap_days": 20}
HISTORIES = [
    ("N", "2024-06-20", 50),                                                   # first order 11 days ago
    *[("A", d, 10) for d in ("2024-05-01", "2024-05-11", "2024-05-21", "2024-05-31", "2024-06-10", "2024-06-20")],
    *[("R", d, 10) for d in ("2024-04-01", "2024-04-11", "2024-04-21", "2024-05-01")],  # every 10 d, silent 61 d
    ("O", "2024-05-20", 30),                                                   # one order, 42 days ago
    ("D", "2024-03-01", 20),                                                   # 122 days ago
    ("C", "2023-06-01", 20),                                                   # 396 days ago
    ("X", "2023-10-01", 15), ("X", "2024-06-21", 25),                          # back after 264 days
    ("L", "2024-07-01", 99),                                                   # on as_of: not counted
]
CUSTOMERS = pl.DataFrame({"customer_id": ["P", "A", "F", "L"],
                          "signup_date": [datetime(2024, 1, 1), datetime(2024, 1, 1), datetime(2024, 8, 1), None]})


def test_one_customer_per_stage_with_explicit_windows():
    table = lc.stages(tx(HISTORIES), AS_OF, CUSTOMERS, at_risk_factor=1.5, **WINDOWS)
    rows = by_customer(table)
    assert {cid: row["stage"] for cid, row in rows.items()} == {
        "P": "prospect", "L": "prospect",   # L's only order is on as_of, so not before it
        "N": "new", "A": "active", "R": "at_risk", "O": "at_risk",
        "D": "dormant", "C": "churned", "X": "reactivated",
    }
    assert "F" not in rows                  # signed up after as_of: not known yet
    assert rows["A"]["typical_gap_days"] == 10 and rows["A"]["gap_basis"] == "own"
    assert rows["A"]["days_since_last_order"] == 11 and rows["A"]["overdue_days"] == 1
    assert rows["R"]["days_since_last_order"] == 61 and rows["R"]["overdue_days"] == 51   # 61 − 10
    assert rows["O"]["gap_basis"] == "population" and rows["O"]["typical_gap_days"] == 20
    assert rows["O"]["overdue_days"] == 22                                                 # 42 − 20
    assert rows["X"]["last_gap_days"] == 264 and rows["X"]["purchase_days"] == 2
    assert rows["P"]["days_since_last_order"] is None and rows["P"]["overdue_days"] is None
    for column in ("customer_id", "stage", "days_since_last_order", "typical_gap_days", "overdue_days"):
        assert column in table.columns


def test_every_customer_gets_exactly_one_known_stage():
    table = lc.stages(tx(HISTORIES), AS_OF, CUSTOMERS, **WINDOWS)
    assert table["customer_id"].is_unique().all()
    assert table["stage"].null_count() == 0
    assert set(table["stage"]) <= set(lc.STAGES)
    assert table.height == 9


def test_precedence_dormant_beats_new_and_active_needs_rhythm():
    # dormant window shorter than the new window: silence wins over newness
    table = by_customer(lc.stages(tx([("Q", "2024-06-01", 10)]), AS_OF, dormant_days=20, new_days=60,
                                  churned_days=100, typical_gap_days=50))
    assert table["Q"]["stage"] == "dormant"
    # within 1.5 × own median gap is active, beyond is at risk
    rows = [("S", "2024-06-01", 1), ("S", "2024-06-11", 1), ("S", "2024-06-16", 1)]   # gaps 10, 5 → median 7.5
    short_new = {**WINDOWS, "new_days": 10, "reactivated_days": 10}
    active = by_customer(lc.stages(tx(rows), datetime(2024, 6, 27), **short_new))["S"]    # 11 d ≤ 11.25
    assert (active["stage"], active["typical_gap_days"]) == ("active", 7.5)
    at_risk = by_customer(lc.stages(tx(rows), datetime(2024, 6, 28), **short_new))["S"]   # 12 d > 11.25
    assert at_risk["stage"] == "at_risk"


def test_refund_only_day_is_not_an_order():
    rows = [("Z", "2024-01-10", 40), ("Z", "2024-06-25", -40)]
    row = by_customer(lc.stages(tx(rows), AS_OF, **WINDOWS))["Z"]
    assert row["last_order_date"] == date(2024, 1, 10)
    assert (row["days_since_last_order"], row["stage"]) == (173, "dormant")


def test_stage_windows_derived_from_gaps_by_hand():
    rows = [("A", "2024-01-05", 10), ("A", "2024-02-10", 20), ("A", "2024-02-20", 5),
            ("B", "2024-01-20", 7), ("B", "2024-03-03", 8), ("C", "2024-03-01", 50)]
    windows = lc.stage_windows(tx(rows), datetime(2024, 4, 1))
    # gaps: A 36, 10 (median 23); B 43. Typical = median(23, 43) = 33. Pooled [10, 36, 43]: the 90th
    # percentile (linear) is 36 + 0.8 × 7 = 41.6 → 42 days; churned 2 × 42; new = 33 (inside 30–90).
    assert windows == {"typical_gap_days": 33.0, "new_days": 33.0, "dormant_days": 42.0,
                       "churned_days": 84.0, "reactivated_days": 33.0}
    # stages() without windows uses exactly these
    table = by_customer(lc.stages(tx(rows), datetime(2024, 4, 1)))
    assert table["C"]["typical_gap_days"] == 33.0
    assert table["B"]["stage"] == "reactivated"   # 43-day gap ≥ 42, last order 29 days ago < 33
    assert table["A"]["stage"] == "at_risk"       # 41 days > 1.5 × 23, under 42
    assert table["C"]["stage"] == "new"


def test_stage_windows_fallback_and_bounds():
    one_order_each = tx([("A", "2024-01-05", 10), ("B", "2024-02-01", 5)])
    assert lc.stage_windows(one_order_each, datetime(2024, 4, 1)) == {
        "typical_gap_days": 30.0, "new_days": 30.0, "dormant_days": 90.0, "churned_days": 180.0,
        "reactivated_days": 30.0}
    weekly = tx([("W", f"2024-01-{d:02d}", 1) for d in (1, 8, 15, 22, 29)])
    windows = lc.stage_windows(weekly, datetime(2024, 2, 1))
    assert windows["typical_gap_days"] == 7 and windows["new_days"] == 30 and windows["dormant_days"] == 7


def test_explicit_new_days_also_sets_reactivated_days():
    rows = [("X", "2023-10-01", 15), ("X", "2024-06-01", 25), ("Y", "2024-01-01", 1), ("Y", "2024-01-11", 1)]
    row = by_customer(lc.stages(tx(rows), AS_OF, new_days=40, dormant_days=90, churned_days=400,
                                typical_gap_days=20))["X"]
    assert row["stage"] == "reactivated"          # 30 days since the come-back < 40


def test_transitions_counts_and_revenue():
    rows = [
        ("A", "2024-01-05", 10), ("A", "2024-03-01", 20),      # new → active (buys again in the window)
        ("B", "2023-06-01", 30),                               # dormant → churned
        ("C", "2024-03-10", 40),                               # unknown → new
        ("D", "2023-12-20", 5), ("D", "2024-03-15", 6), ("D", "2024-03-20", -2),
    ]
    customers = pl.DataFrame({"customer_id": ["P"]})
    windows = {"new_days": 30, "dormant_days": 120, "churned_days": 240, "reactivated_days": 30,
               "typical_gap_days": 60}
    moves = lc.transitions(tx(rows), datetime(2024, 1, 15), datetime(2024, 4, 1), customers, **windows)
    got = {(r["stage_from"], r["stage_to"]): (r["customers"], r["revenue"]) for r in moves.iter_rows(named=True)}
    assert got == {
        ("none", "new"): (1, 40.0),
        ("prospect", "prospect"): (1, 0.0),
        ("new", "active"): (2, 20.0 + 6.0 - 2.0),       # A and D: first order < 30 days before Jan 15
        ("dormant", "churned"): (1, 0.0),
    }
    assert moves["customers"].sum() == 5
    with pytest.raises(ValueError):
        lc.transitions(tx(rows), datetime(2024, 4, 1), datetime(2024, 1, 1))


COHORT_ROWS = [
    ("A", "2024-01-05", 10), ("A", "2024-02-10", 20), ("A", "2024-03-20", 5),
    ("B", "2024-01-20", 7), ("B", "2024-03-03", 8),
    ("C", "2024-02-15", 30), ("C", "2024-02-20", -5),        # a refund day: revenue, not activity
]


def test_monthly_cohorts_by_hand():
    table = lc.cohorts(tx(COHORT_ROWS), "month", datetime(2024, 4, 1))
    got = [(r["cohort"], r["period_index"], r["cohort_size"], r["customers_active"], r["customer_retention"],
            r["revenue"], r["revenue_retention"], r["complete"]) for r in table.iter_rows(named=True)]
    jan, feb = date(2024, 1, 1), date(2024, 2, 1)
    assert got == [
        (jan, 0, 2, 2, 1.0, 17.0, 1.0, True),
        (jan, 1, 2, 1, 0.5, 20.0, pytest.approx(20 / 17), True),
        (jan, 2, 2, 2, 1.0, 13.0, pytest.approx(13 / 17), True),
        (feb, 0, 1, 1, 1.0, 25.0, 1.0, True),
        (feb, 1, 1, 0, 0.0, 0.0, 0.0, True),          # nobody bought: the row is there, with zeros
    ]
    assert table["period_start"].to_list() == [jan, feb, date(2024, 3, 1), feb, date(2024, 3, 1)]


def test_cohorts_partial_period_quarter_and_week():
    partial = lc.cohorts(tx(COHORT_ROWS), "month", datetime(2024, 3, 15))
    march = partial.filter(pl.col("period_start") == date(2024, 3, 1))
    assert march["complete"].to_list() == [False, False]
    assert march.filter(pl.col("cohort") == date(2024, 1, 1))["customers_active"].item() == 1   # A's 03-20 is later
    quarter = lc.cohorts(tx(COHORT_ROWS), "quarter", datetime(2024, 4, 1))
    assert quarter.select("cohort", "period_index", "cohort_size", "customers_active", "revenue").rows() == [
        (date(2024, 1, 1), 0, 3, 3, 75.0)]
    weekly = lc.cohorts(tx([("W", "2024-01-03", 5), ("W", "2024-01-17", 5), ("V", "2024-01-08", 1)]), "week",
                        datetime(2024, 1, 20))
    first = weekly.filter(pl.col("cohort") == date(2024, 1, 1))     # Monday of 2024-01-03
    assert first["period_index"].to_list() == [0, 1, 2]
    assert first["customers_active"].to_list() == [1, 0, 1]
    assert first["complete"].to_list() == [True, True, False]
    with pytest.raises(ValueError):
        lc.cohorts(tx(COHORT_ROWS), "year")


def test_translations_cover_every_stage_and_rule_in_both_languages():
    for lang in ("en", "zh"):
        with (LOCALES / lang / "lifecycle.toml").open("rb") as handle:
            texts = tomllib.load(handle)["lifecycle"]
        assert set(lc.STAGES) | {lc.NOT_YET} <= set(texts["stage"])
        rules = lc.stage_rules(WINDOWS, at_risk_factor=1.5)
        for stage, message in rules.items():
            assert message["key"] == f"lifecycle.rule.{stage}"
            texts["rule"][stage].format(**message["params"])   # every placeholder has a value
        assert "{dormant_days}" in texts["rule"]["dormant"]


def test_every_output_column_has_a_label_in_both_languages():
    from crm_core.clv import column_label

    frames = [lc.stages(tx(HISTORIES), AS_OF, CUSTOMERS, **WINDOWS), lc.cohorts(tx(COHORT_ROWS)),
              lc.transitions(tx(COHORT_ROWS), datetime(2024, 2, 1), datetime(2024, 4, 1))]
    for lang in ("en", "zh"):
        with (LOCALES / lang / "lifecycle.toml").open("rb") as handle:
            texts = tomllib.load(handle)["lifecycle"]
        for name in {c for frame in frames for c in frame.columns}:
            assert column_label(name)["key"].removeprefix("lifecycle.column.") in texts["column"], (lang, name)
        assert set(lc.WINDOW_KEYS) <= set(texts["window"])
