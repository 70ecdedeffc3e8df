"""crm_core.views.lifecycle: the Lifecycle & value page's view-models, on hand-made histories whose stages,
flows and cohorts can be checked by hand (those of tests/core/test_lifecycle.py), and on the sample."""
from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from crm_core.clv import BetaGeo, GammaGamma, predict
from crm_core.dataset import Dataset, load_sample
from crm_core.features import customer_summary, default_as_of
from crm_core.lifecycle import stage_windows, stages
from crm_core.views import lifecycle as views
from tests.core.test_clv import loyal_transactions
from tests.core.test_lifecycle import AS_OF, CUSTOMERS, HISTORIES, WINDOWS, tx

# As of Jul 1, 2024 with WINDOWS: N new; A active; R (silent 61 days, every 10) and O (one order 42 days ago,
# population gap 20) at risk; D dormant; C churned; X back after 264 days; P and L (whose only order is on
# the analysis date) prospects; F signs up later. Net revenue: N 50, A 60, R 40, O 30, D 20, C 20, X 40.
KEY = tuple(sorted((name, float(days)) for name, days in WINDOWS.items()))


def histories(amounts: bool = True) -> Dataset:
    lines = tx(HISTORIES)
    return Dataset(lines if amounts else lines.with_columns(pl.lit(None, dtype=pl.Float64).alias("amount")), CUSTOMERS)


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load_sample()


@pytest.fixture(scope="module")
def sample_as_of(sample) -> datetime:
    return default_as_of(sample.transactions)


@pytest.fixture(scope="module")
def sample_model(sample, sample_as_of) -> views.ValueModel:
    windows = views.chosen_windows(sample, sample_as_of)
    return views.value_model(sample, sample_as_of, 365, 1.0, windows.key, 1.5)


def repeat_buyers(count: int, start: datetime = datetime(2024, 9, 1)) -> Dataset:
    """``count`` customers buying every 10 days, six times each, from ``start``."""
    return Dataset(pl.DataFrame({
        "customer_id": [f"R{n:02d}" for n in range(count) for _ in range(6)],
        "order_date": [start + timedelta(days=10 * k + n) for n in range(count) for k in range(6)],
        "amount": [100.0 + n + k for n in range(count) for k in range(6)]}))


def fixed_betageo(**params) -> BetaGeo:
    model = BetaGeo()
    model.params_ = params
    return model


def test_view_models_are_frozen():
    windows = views.chosen_windows(histories(), AS_OF)
    with pytest.raises(dataclasses.FrozenInstanceError):
        windows.chosen = {}  # type: ignore[misc]


def test_buyer_count_is_the_customer_base():
    assert views.buyer_count(histories(), AS_OF) == 7  # L's order on the analysis date does not count


# ---------------------------------------------------------------- windows and stages

def test_chosen_windows_keep_the_derived_ones_where_the_user_left_zero():
    dataset = histories()
    derived = stage_windows(dataset.transactions, AS_OF)
    untouched = views.chosen_windows(dataset, AS_OF)
    assert untouched.derived == derived and untouched.chosen == derived
    chosen = views.chosen_windows(dataset, AS_OF, new_days=45, churned_days=500)
    assert chosen.chosen["new_days"] == 45.0 and chosen.chosen["reactivated_days"] == 45.0  # a come-back follows
    assert chosen.chosen["churned_days"] == 500.0 and chosen.chosen["dormant_days"] == derived["dormant_days"]
    assert chosen.key == tuple(sorted(chosen.chosen.items()))
    assert not chosen.clash
    assert views.chosen_windows(dataset, AS_OF, dormant_days=400, churned_days=400).clash


def test_stage_summary_counts_every_stage_in_reading_order():
    summary = views.stage_summary(histories(), AS_OF, KEY, 1.5)
    table = {row["stage"]: row for row in summary.table.iter_rows(named=True)}
    assert list(table) == list(views.STAGE_ORDER)
    assert {stage: row["customers"] for stage, row in table.items()} == {
        "prospect": 2, "new": 1, "active": 1, "reactivated": 1, "at_risk": 2, "dormant": 1, "churned": 1}
    assert table["at_risk"]["revenue"] == 70.0                           # R 40 + O 30
    assert table["at_risk"]["share_of_customers"] == pytest.approx(2 / 9)
    assert table["active"]["share_of_revenue"] == pytest.approx(60 / 260)
    assert (summary.everyone, summary.buyers, summary.prospects) == (9, 7, 2)
    assert summary.groups == (views.StageGroup("buying", 3, 3 / 7), views.StageGroup("at_risk", 2, 2 / 7),
                              views.StageGroup("lapsed", 2, 2 / 7))
    assert summary.present == views.STAGE_ORDER and summary.first_list == "at_risk"
    assert summary.rules["churned"] == {"key": "lifecycle.rule.churned",
                                        "params": {**WINDOWS, "at_risk_factor": 1.5}}
    assert summary.has_customer_table


def test_absent_stages_have_zeros_and_shares_without_a_base_are_none():
    lines = tx([("A", "2024-06-20", 10), ("A", "2024-06-25", 10)])
    summary = views.stage_summary(Dataset(lines.with_columns(pl.lit(0.0).alias("amount"))), AS_OF, KEY, 1.5)
    assert summary.present == ("new",) and summary.first_list == "new"
    assert summary.table.filter(pl.col("stage") == "churned").row(0, named=True) == {
        "stage": "churned", "customers": 0, "revenue": 0.0, "share_of_customers": 0.0, "share_of_revenue": None,
        "present": False}
    assert not summary.has_customer_table and summary.prospects == 0


def test_stage_summary_matches_the_stages_on_the_sample(sample, sample_as_of):
    windows = views.chosen_windows(sample, sample_as_of)
    summary = views.stage_summary(sample, sample_as_of, windows.key, 1.5)
    expected = dict(stages(sample.transactions, sample_as_of, sample.customers)["stage"].value_counts().iter_rows())
    assert dict(zip(summary.table["stage"], summary.table["customers"], strict=True)) == expected
    assert summary.buyers == views.buyer_count(sample, sample_as_of) == 4721
    revenue = float(customer_summary(sample.transactions, sample_as_of)["revenue"].sum())
    assert float(summary.table["revenue"].sum()) == pytest.approx(revenue)


def test_stage_lists_are_each_stage_by_revenue_and_drop_revenue_without_amounts():
    lists = views.stage_summary(histories(), AS_OF, KEY, 1.5).lists
    assert set(lists) == set(views.STAGE_ORDER)
    listing = lists["at_risk"]
    assert listing.table["customer_id"].to_list() == ["R", "O"]
    assert (listing.customers, listing.revenue) == (2, 70.0)
    assert listing.table.columns == [name for name in views.LIST_COLUMNS if name != "name"]
    assert lists["prospect"].table["customer_id"].to_list() == ["L", "P"]  # no revenue: by id
    assert "revenue" not in views.stage_summary(histories(amounts=False), AS_OF, KEY, 1.5).lists["new"].table.columns
    named = Dataset(tx(HISTORIES), pl.DataFrame({"customer_id": ["R"], "name": ["Rosa"]}))
    assert views.stage_summary(named, AS_OF, KEY, 1.5).lists["at_risk"].table["name"].to_list() == ["Rosa", None]


# ---------------------------------------------------------------- flow

def test_flow_range_starts_the_day_after_the_first_order_and_defaults_to_90_days_back():
    assert views.flow_range(histories(), AS_OF) == views.FlowRange(date(2023, 6, 2), date(2024, 6, 30),
                                                                   date(2024, 4, 2))
    one_day = Dataset(tx([("A", "2024-05-01", 10), ("B", "2024-05-01", 20)]))
    assert views.flow_range(one_day, datetime(2024, 5, 2)) is None
    short = Dataset(tx([("A", "2024-05-01", 10)]))
    assert views.flow_range(short, datetime(2024, 5, 20)).default == date(2024, 5, 2)  # clipped to the first


def test_stage_flow_counts_who_stayed_arrived_slipped_and_came_back():
    """From Jun 1: N arrives (none → new); O slips (new → at risk); X comes back (churned → reactivated);
    6 of the 8 known on Jun 1 keep their stage (P, L, A, R, D, C)."""
    flow = views.stage_flow(histories(), date(2024, 6, 1), AS_OF, KEY, 1.5)
    assert flow.stayed_share == pytest.approx(6 / 8)
    assert (flow.newcomers, flow.slipped, flow.won_back) == (1, 1, 1)
    assert int(flow.moves["customers"].sum()) == 9
    assert flow.changes.select("stage_from", "stage_to").rows() == [  # one each: by stage name
        ("churned", "reactivated"), ("new", "at_risk"), ("none", "new")]


# ---------------------------------------------------------------- cohorts

def test_period_labels():
    assert views.period_label(date(2024, 3, 1), "month") == "2024-03"
    assert views.period_label(date(2024, 10, 1), "quarter") == "2024-Q4"


def test_cohort_matrix_by_quarter():
    """Cohorts by first purchase: C in 2023-Q2, X in 2023-Q4 (back in 2024-Q2), D in 2024-Q1, A, N, O and R
    in 2024-Q2."""
    matrix = views.cohort_matrix(histories(), AS_OF, "quarter", "customers", "count")
    assert matrix.cohorts == ("2023-Q2", "2023-Q4", "2024-Q1", "2024-Q2")
    assert matrix.periods == (0, 1, 2, 3, 4)
    assert matrix.z == ((1, 0, 0, 0, 0), (1, 0, 1, None, None), (1, 0, None, None, None), (4, None, None, None, None))
    assert matrix.zmax == 1 and matrix.numbers_in_cells
    assert matrix.cells[1][2]["period_start"] == "2024-Q2" and matrix.cells[1][3] is None
    assert matrix.value_column == "customers_active"
    assert matrix.download["cohort"].to_list()[:2] == ["2023-Q2", "2023-Q2"]
    shares = views.cohort_matrix(histories(), AS_OF, "quarter", "customers", "percent")
    assert shares.z[1][2] == 1.0


def test_cohort_matrix_marks_the_period_not_over_and_drops_numbers_on_wide_grids(sample, sample_as_of):
    """The sample runs 2023-01 … 2025-12 as of 2026-01-01: 36 months (numbers left out), 12 quarters."""
    months = views.cohort_matrix(sample, sample_as_of, "month", "revenue", "percent")
    assert len(months.periods) == 36 and not months.numbers_in_cells
    assert months.value_column == "revenue_retention"
    quarters = views.cohort_matrix(sample, sample_as_of - timedelta(days=10), "quarter", "customers", "count")
    assert quarters.numbers_in_cells
    assert quarters.incomplete[0][-1] and not quarters.incomplete[0][0]   # 2025-Q4 is not over on Dec 22


# ---------------------------------------------------------------- predicted value

def test_value_model_on_the_sample(sample, sample_as_of, sample_model):
    model = sample_model
    table = predict(sample.transactions, sample_as_of, 365, 0.01).table
    assert model.ok and model.minimum == views.MIN_REPEAT_BUYERS
    assert model.repeat_buyers == int((table["frequency"] > 0).sum())
    assert model.customer_count == table.height == 4721
    assert model.total_value == pytest.approx(float(table["predicted_value_365_days"].sum()))
    assert model.average_value == pytest.approx(model.total_value / model.customer_count)
    repeaters = table.filter(pl.col("frequency") > 0)
    assert model.likely_active == int((repeaters["p_alive"] >= 0.5).sum())
    assert model.likely_active_share == pytest.approx(model.likely_active / repeaters.height)
    values = model.customers["predicted_value_365_days"]
    assert values.to_list() == sorted(values.to_list(), reverse=True)
    assert model.customers.columns[:3] == ["customer_id", "name", "stage"]
    assert model.histogram_cap == pytest.approx(float(table["predicted_value_365_days"].quantile(0.99)))
    assert model.above_cap == sum(value > model.histogram_cap for value in model.predicted_values)
    assert 0 < model.above_cap <= math.ceil(0.01 * model.customer_count)
    assert dict(model.bgnbd_params)["r"] == model.result.betageo.params_["r"]
    assert dict(model.gammagamma_params)["mean_spend"] == model.result.gammagamma.population_mean_spend_


def test_alive_map_is_a_grid_falling_with_silence(sample_model):
    alive = sample_model.alive
    assert len(alive.silent_days) <= views.ALIVE_COLUMNS + 1 and alive.silent_days[0] == 0
    assert alive.silent_days[-1] <= alive.age_days
    assert 2 <= len(alive.repeats) <= views.ALIVE_MAX_REPEAT and alive.repeats[0] == 1
    assert len(alive.p_alive) == len(alive.repeats) and all(len(row) == len(alive.silent_days) for row in alive.p_alive)
    for row in alive.p_alive:  # just bought: P(alive) = 1 / (1 + a / (b + x − 1)), then falling
        assert 0 < row[-1] and list(row) == sorted(row, reverse=True) and row[0] < 1


def test_value_model_without_amounts_keeps_purchases_and_drops_money(sample, sample_as_of):
    baskets = Dataset(sample.transactions.with_columns(pl.lit(None, dtype=pl.Float64).alias("amount")),
                      sample.customers)
    windows = views.chosen_windows(baskets, sample_as_of)
    model = views.value_model(baskets, sample_as_of, 90, 1.0, windows.key, 1.5)
    assert model.ok and model.total_orders > 0
    assert model.total_value is None and model.average_value is None and model.histogram_cap is None
    assert "predicted_value_90_days" not in model.customers.columns
    assert "expected_avg_order_value" not in model.customers.columns
    assert model.gammagamma_params is None


def test_too_few_repeat_buyers_or_none_at_all_show_no_predictions():
    few = views.value_model(repeat_buyers(views.MIN_REPEAT_BUYERS - 1), datetime(2024, 12, 1), 365, 1.0, KEY, 1.5)
    assert not few.ok and few.repeat_buyers == views.MIN_REPEAT_BUYERS - 1 and few.customers is None
    assert all(note["key"] != "lifecycle.note.few_repeat_buyers" for note in few.notes)  # said in full instead
    enough = views.value_model(repeat_buyers(views.MIN_REPEAT_BUYERS), datetime(2024, 12, 1), 365, 1.0, KEY, 1.5)
    assert enough.ok and enough.histogram_cap is None                  # 10 customers: too few for a cap
    nobody = views.value_model(repeat_buyers(3), datetime(2024, 1, 1), 365, 1.0, KEY, 1.5)
    assert (nobody.result, nobody.ok, nobody.repeat_buyers) == (None, False, 0)


def test_a_sound_fit_shows_p_alive_and_checks_the_spend_model(sample_model):
    assert sample_model.degenerate is None and sample_model.alive_views and sample_model.alive is not None
    assert "p_alive" in sample_model.customers.columns
    spend = sample_model.spend  # the sample's spend does not follow frequency (measured r = 0.06)
    assert spend.holds and abs(spend.correlation) <= views.SPEND_CORRELATION_LIMIT
    assert spend.key == "lifecycle.page.spend_check.holds"
    assert spend.correlation == sample_model.result.gammagamma.frequency_spend_correlation_
    assert spend.customers == int(sample_model.result.gammagamma.n_customers_)
    assert sample_model.missing == 0


def test_a_degenerate_fit_hides_every_p_alive_view_and_says_why():
    loyal = Dataset(loyal_transactions())
    as_of = default_as_of(loyal.transactions)
    model = views.value_model(loyal, as_of, 365, 1.0, views.chosen_windows(loyal, as_of).key, 1.5)
    assert model.ok and model.result.betageo.converged_ and model.result.betageo.degenerate_
    found = model.degenerate
    assert found is not None and found.reason == "dropout_zero"
    assert found.key == "lifecycle.page.degenerate.no_dropout" and found.parameter is None
    assert found.dropout < 1e-6 and found.sure_alive_share == 1.0 and found.sure_alive == 0.999
    assert not model.alive_views and model.alive is None
    assert "p_alive" not in model.customers.columns
    assert all(note["key"] != "lifecycle.note.no_dropout" for note in model.notes)  # said in full by the page
    assert "lifecycle.note.no_dropout" in [note["key"] for note in model.result.notes]
    assert model.total_orders > 0 and model.customers[model.value_column].null_count() == 0
    check = views.holdout_check(loyal, as_of, 90, model.result.betageo.penalizer)
    assert check.ok and check.converged and check.degenerate is not None
    assert check.degenerate.reason == "dropout_zero"


def test_degeneracy_words_follow_the_reason():
    model = fixed_betageo(r=1.0, alpha=5.0, a=0.5, b=math.exp(17.5))
    model.degenerate_reason_, model.sure_alive_share_ = "b_at_bound", 0.2
    found = views.degeneracy(model)
    assert found.key == "lifecycle.page.degenerate.at_bound" and found.parameter == "b"
    model.degenerate_reason_ = None
    assert views.degeneracy(model) is None


def test_spend_check_fails_when_spend_follows_frequency(sample, sample_as_of):
    result = predict(sample.transactions, sample_as_of, 365, 0.01)
    frequency = [1, 2, 3, 4, 5, 6] * 5
    spend = [10.0 * x + k for k, x in enumerate(frequency)]     # spend per order rises with frequency
    dependent = dataclasses.replace(result, gammagamma=GammaGamma().fit(frequency, spend))
    check = views.spend_check(dependent)
    assert not check.holds and check.correlation > 0.9 and check.key == "lifecycle.page.spend_check.fails"
    assert check.customers == 30
    assert views.spend_check(dataclasses.replace(result, gammagamma=None)) is None


# ---------------------------------------------------------------- holdout check

@pytest.mark.parametrize("error, correlation, level", [
    (0.05, 0.6, "good"), (-0.10, 0.5, "good"), (0.05, 0.4, "rough"), (0.2, 0.9, "rough"), (-0.25, 0.9, "rough"),
    (-0.3, 0.9, "poor"), (math.nan, math.nan, "poor"),
])
def test_trust_verdict(error, correlation, level):
    verdict = views.trust_verdict(error, correlation)
    assert verdict.level == level and verdict.key == f"lifecycle.page.verdict.{level}"
    assert (verdict.good, verdict.rough) == (views.TRUST_GOOD, views.TRUST_ROUGH)
    assert verdict.error == abs(error) or math.isnan(error)


def test_holdout_check_on_the_sample(sample, sample_as_of, sample_model):
    check = views.holdout_check(sample, sample_as_of, 180, sample_model.result.betageo.penalizer)
    assert check.ok and check.calibration_end == sample_as_of - timedelta(days=180)
    assert check.groups["label"].to_list() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert check.verdict == views.trust_verdict(check.scores["total_relative_error"], check.scores["correlation"])
    assert check.repeat_buyers >= views.MIN_REPEAT_BUYERS


def test_holdout_check_says_when_the_history_before_it_is_too_short():
    recent = repeat_buyers(15)
    check = views.holdout_check(recent, datetime(2024, 11, 5), 180, 0.0)  # everyone started after May 9
    assert not check.ok and check.repeat_buyers == 0 and check.verdict is None
    assert check.calibration_end == datetime(2024, 5, 9)
