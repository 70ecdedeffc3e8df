"""crm_core.views.churn: the Churn risk page's view-models, on four hand-checkable customers (rules mode),
a hand-made scored list (capacity and call list) and the sample (model, breakdowns, model card)."""
from __future__ import annotations

import math
from datetime import datetime

import polars as pl
import pytest

from crm_core import churn
from crm_core.dataset import Dataset, load_sample
from crm_core.features import default_as_of
from crm_core.segmentation import PRESETS
from crm_core.views import churn as views

# Four customers over ten weeks (the AppTest's tiny upload): K004 bought weekly, then nothing for 67 days;
# K002's one order was 56 days ago. Both are overdue against their rhythm: one flag each, medium risk.
TINY = [("K001", "2024-01-05", 1200.0), ("K001", "2024-03-09", 300.0), ("K002", "2024-01-20", 500.0),
        ("K003", "2024-03-15", 800.0), ("K004", "2024-01-02", 100.0), ("K004", "2024-01-09", 100.0)]
TINY_AS_OF = datetime(2024, 3, 16)


def keys(key: str, **params) -> str:
    """A translator that writes the key and its parameters: what a cell says is checkable by hand."""
    return key + (str(sorted(params.items())) if params else "")


def tiny() -> Dataset:
    return Dataset(pl.DataFrame({"customer_id": [c for c, _, _ in TINY],
                                 "order_date": [datetime.fromisoformat(d) for _, d, _ in TINY],
                                 "amount": [a for _, _, a in TINY]}))


# ---------------------------------------------------------------- four customers, rules mode

def test_the_gate_names_each_failing_check_and_its_hint():
    gate = views.gate(tiny(), TINY_AS_OF, 90)
    assert not gate.ok and gate.other_horizons == ()           # no horizon has enough data
    first = gate.checks[0]
    assert (first.key, first.hint) == ("churn.sufficiency.history_days", "churn.sufficiency_hint.history_days")
    assert (first.ok, first.actual, first.required) == (False, 74.0, 270.0)  # Jan 2 → Mar 16; 2 · 90 + 90
    assert gate.rules == views.Text("churn.page.rules_mode", {"flags": views.RULE_HIGH_FLAGS})


def test_rules_mode_by_hand():
    view = views.risk_view(tiny(), TINY_AS_OF, 90)
    assert view.model is None and view.facts is None and not view.with_model
    assert view.headline == views.Headline(customers=4, high=0, high_share=0.0, flagged=2, flagged_share=0.5,
                                           value_at_risk=0.0, value_share=0.0)
    assert view.tier_help == views.Text("churn.tier.help_rules", {"flags": 2})
    assert view.by_region is None and not view.has_phone
    assert sum(view.by_segment.customers) == 4
    assert (view.capacity_default, view.capacity_step) == (4, 1)
    overdue = {row.name: row for row in view.flags}["overdue"]
    assert (overdue.customers, overdue.share, overdue.data) == (2, 0.5, "ok")
    assert overdue.rule == {"ratio": 1.5}                      # crm_core.churn.flags' default
    complaints = {row.name: row for row in view.flags}["complaints"]
    assert (complaints.customers, complaints.data) == (0, "needs_interactions")


def test_the_at_risk_list_in_the_translators_words():
    view = views.risk_view(tiny(), TINY_AS_OF, 90)
    listing = view.listing((), keys)
    assert listing.customers == 4
    table = listing.table
    assert table.columns == [f"churn.column.{name}" for name in (
        "customer_id", "risk_tier", "flag_count", "flags", "reasons", "action", "expected_value", "recency_days",
        "frequency")]                                          # rules mode: flags, no probability
    k004 = table.filter(pl.col("churn.column.customer_id") == "K004").row(0, named=True)
    assert k004["churn.column.risk_tier"] == "churn.tier.medium" and k004["churn.column.flag_count"] == 1
    assert k004["churn.column.flags"] == "churn.flag.overdue"
    assert k004["churn.column.reasons"] == "churn.reason.overdue[('days', 67), ('gap', 7)]"
    assert k004["churn.column.action"] == "churn.action.reminder"
    assert k004["churn.column.recency_days"] == 67 and k004["churn.column.frequency"] == 2
    k001 = table.filter(pl.col("churn.column.customer_id") == "K001").row(0, named=True)
    assert k001["churn.column.reasons"] == "churn.page.no_flag" and k001["churn.column.flags"] == ""
    medium = view.listing(("medium",), keys)
    assert medium.customers == 2 and set(medium.table["churn.column.customer_id"]) == {"K002", "K004"}
    assert view.listing(("high",), keys).customers == 0


# ---------------------------------------------------------------- capacity and call list by hand

def hand_view(values: list[float | None]) -> views.RiskView:
    """A scored list with the given values at risk (probability 0.5, so expected value = 2 × value)."""
    n = len(values)
    scored = pl.DataFrame({
        "customer_id": [f"C{i}" for i in range(n)], "churn_probability": [0.5] * n, "risk_tier": ["high"] * n,
        "main_reason": [None] * n, "reasons": ["[]"] * n, "action": ["churn.action.keep_warm"] * n,
        "expected_value": [2 * v if v is not None else None for v in values], "value_source": ["given"] * n,
        "value_at_risk": values, **{f"flag_{name}": [False] * n for name in churn.FLAGS}, "flag_count": [0] * n,
        "recency_days": [10.0] * n, "frequency": [1.0] * n, "monetary": [1.0] * n, "overdue_ratio": [1.0] * n,
    }, schema_overrides={"main_reason": pl.String, "value_at_risk": pl.Float64, "expected_value": pl.Float64})
    headline = views.Headline(n, n, 1.0, 0, 0.0, sum(v or 0 for v in values), 0.5)
    empty = views.Breakdown("segment", (), (), {}, {}, (), (), ())
    return views.RiskView(scored=scored, model=object(), facts=None, headline=headline,  # type: ignore[arg-type]
                          value_source="given", tier_help=views.Text("churn.tier.help", {}), by_segment=empty,
                          by_region=None, flags=())


def test_capacity_by_hand():
    view = hand_view([10.0, 30.0, 20.0])
    point = view.capacity(2, 50)                               # the two with most value at risk: 30 + 20
    assert (point.contacted, point.value_at_risk, point.saved, point.marginal) == (2, 50.0, 25.0, 20.0)
    assert point.total == 60.0
    assert point.share_of_value == pytest.approx(50 / 60) and point.share_of_customers == pytest.approx(2 / 3)
    assert point.show_marginal and point.save_rate == 50
    assert point.curve_contacted == (0, 1, 2, 3) and point.curve_saved == (0.0, 15.0, 25.0, 30.0)
    assert not view.capacity(3, 50).show_marginal              # everyone is called: no "next customer"
    assert view.capacity(0, 50).marginal is None


def test_the_call_list_takes_the_most_value_at_risk_first():
    calls = hand_view([10.0, 30.0, 20.0]).call_list(2, keys)
    assert calls["churn.column.customer_id"].to_list() == ["C1", "C2"]
    assert calls["churn.column.value_at_risk"].to_list() == [30.0, 20.0]
    assert "churn.column.churn_probability" in calls.columns and "churn.column.flag_count" not in calls.columns


def test_metric_text_writes_what_was_not_computed_as_a_dash():
    assert views.metric_text("auc", 0.85449) == "0.854" and views.metric_text("top_decile_lift", 1.547) == "1.55"
    assert views.metric_text("brier", None) == "–" and views.metric_text("auc", math.nan) == "–"


# ---------------------------------------------------------------- the sample

@pytest.fixture(scope="module")
def sample() -> tuple[Dataset, datetime]:
    data = load_sample()
    return data, default_as_of(data.transactions)


@pytest.fixture(scope="module")
def sample_view(sample) -> views.RiskView:
    return views.risk_view(*sample, 90)


def test_the_sample_is_scored_by_the_model(sample, sample_view):
    view = sample_view
    assert views.gate(*sample, 90).ok and view.with_model and view.value_source == "clv"
    headline = view.headline
    assert headline.customers == 4721 == view.scored.height
    assert headline.high == view.listing(("high",), keys).customers
    assert headline.value_at_risk == pytest.approx(view.scored["value_at_risk"].sum())
    assert 0 < headline.value_share < 1
    assert view.tier_help == views.Text("churn.tier.help", {"low": 0.33, "high": 0.66})
    assert view.facts.n_train == view.model.n_train_ and len(view.facts.importance) == views.TOP_FEATURES
    assert view.facts.importance[0].feature == "recency_days"
    importance = [bar.importance for bar in view.facts.importance]
    assert importance == sorted(importance, reverse=True)
    assert view.has_phone and view.scored["phone"].drop_nulls().str.contains(r"\*{4}").all()  # masked


def test_the_sample_breaks_down_by_segment_in_the_presets_order_and_by_region(sample_view):
    segments = sample_view.by_segment
    order = PRESETS[views.SEGMENT_PRESET].segments
    assert list(segments.keys) == [key for key in order if key in segments.keys]
    assert sum(segments.customers) == 4721
    for i, total in enumerate(segments.customers):
        assert sum(segments.tiers[tier][i] for tier in views.TIERS) == total
        assert segments.shares["high"][i] == segments.tiers["high"][i] / total
    regions = sample_view.by_region
    assert sum(regions.customers) == 4721 and list(regions.customers) == sorted(regions.customers, reverse=True)
    assert all(row.data == "ok" for row in sample_view.flags)  # the sample has interactions with every column


def test_the_sample_model_card_beats_every_baseline(sample):
    card = views.model_card(*sample, 90)
    assert card.values["model"]["auc"] > card.values["recency"]["auc"] > 0.5 and card.beats_recency
    assert card.texts["recency"]["brier"] == "–" and card.texts["model"]["auc"] == views.metric_text("auc", card.auc)
    assert [v.baseline for v in card.verdicts] == list(churn.BASELINES)
    assert card.verdicts[0].key == "churn.page.verdict_beats"
    assert card.verdicts[0].params["model"] == card.texts["model"]["auc"]
    assert card.model_wins and card.ranked_by == "model" and card.best_baseline == "bgnbd_horizon"
    assert card.verdict == views.Text("churn.page.verdict_wins", {
        "baseline": "bgnbd_horizon", "model": card.texts["model"]["auc"], "other": card.texts["bgnbd_horizon"]["auc"]})
    assert card.shown == views.RANKINGS and card.bgnbd_degenerate is None
    assert card.selection.method == "earlier_window" and card.kind in churn.CANDIDATES
    assert card.base_rate_shift == pytest.approx(card.churn_rate - card.train_churn_rate)
    assert abs(card.base_rate_shift) < 0.1
    assert list(card.gains) == list(views.RANKINGS) and len(card.share_contacted) == 101
    assert [p.decile for p in card.calibration] == list(range(1, 11))
    assert sum(p.customers for p in card.calibration) == card.n_customers


def test_no_model_card_without_a_model():
    assert views.model_card(tiny(), TINY_AS_OF, 90) is None


def test_a_view_among_some_customers_is_the_same_scores_summed_again(sample, sample_view):
    data, _ = sample
    region = sample_view.scored["region"].drop_nulls().unique().sort()[0]
    ids = sample_view.scored.filter(pl.col("region") == region)["customer_id"]
    among = sample_view.among(ids)
    assert among.model is sample_view.model and among.facts == sample_view.facts
    assert among.scored.height == ids.len() == among.headline.customers
    by_hand = sample_view.scored.filter(pl.col("region") == region)
    assert among.scored.equals(by_hand)  # the same rows, in the same (riskiest value first) order
    assert among.headline.high == int((by_hand["risk_tier"] == "high").sum())
    assert among.headline.value_at_risk == pytest.approx(by_hand["value_at_risk"].sum())
    assert among.by_region is not None and among.by_region.keys == (region,)
    assert sum(among.by_segment.customers) == ids.len()
    flags = {row.name: row.customers for row in among.flags}
    assert flags == {name: int(by_hand[f"flag_{name}"].sum()) for name in churn.FLAGS}
    assert [row.data for row in among.flags] == [row.data for row in sample_view.flags]
    assert sample_view.among(pl.Series([], dtype=pl.String)).headline.customers == 0
