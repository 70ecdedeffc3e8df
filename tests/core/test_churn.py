"""Churn: leakage-free features, labels, the out-of-time model vs its baselines, reasons, gate, flags."""
from __future__ import annotations

import importlib.util
import json
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sklearn.metrics import roc_auc_score

from crm_core import churn
from crm_core.churn.reasons import _reasons
from crm_core.dataset import Dataset
from crm_core.features import default_as_of

START = datetime(2022, 1, 1)
LOCALES = Path(__file__).resolve().parents[2] / "ui" / "locales"


# ---------------------------------------------------------------- a synthetic history with signal

def synthetic(n_customers: int = 1500, seed: int = 3, days: int = 730, decline_days: int = 120,
              interactions: bool = True, lifetime_days: float = 1000.0) -> Dataset:
    """Customers with heterogeneous purchase rates and basket sizes who drop out at a random time.

    In the ``decline_days`` before dropping out they buy at 35 % of their rate with 70 % baskets,
    complain more, rate satisfaction lower, are contacted less and stop answering the monthly
    campaign (which keeps reaching them after they leave). Recency alone sees only those already gone.
    """
    rng = np.random.default_rng(seed)
    tx: dict[str, list] = {"customer_id": [], "day": [], "amount": [], "category": []}
    ev: dict[str, list] = {"customer_id": [], "day": [], "type": [], "outcome": [], "satisfaction": []}

    def times(start: float, end: float, rate: float) -> np.ndarray:
        return rng.uniform(start, end, rng.poisson(rate * (end - start))) if end > start else np.empty(0)

    def add_events(cid: str, when: np.ndarray, kind: str, outcome: str, mean_sat: float) -> None:
        ev["customer_id"] += [cid] * len(when)
        ev["day"] += list(when)
        ev["type"] += [kind] * len(when)
        ev["outcome"] += [outcome] * len(when)
        ev["satisfaction"] += list(np.clip(rng.normal(mean_sat, 0.6, len(when)), 1, 5))

    for i in range(n_customers):
        cid = f"C{i:05d}"
        join = rng.uniform(0, days - 60)
        rate = rng.gamma(1.5, 1 / 1.5 / 35)
        drop = join + rng.exponential(lifetime_days)
        decline, end = max(drop - decline_days, join), min(drop, days)
        log_mean = rng.normal(np.log(80), 0.5)
        categories = rng.choice(list("ABCDEF"), size=rng.integers(1, 5), replace=False)
        for when, factor in ((np.concatenate([[join], times(join, min(decline, end), rate)]), 1.0),
                             (times(decline, end, rate * 0.35), 0.7)):
            tx["customer_id"] += [cid] * len(when)
            tx["day"] += list(when)
            tx["amount"] += list(np.round(np.exp(rng.normal(log_mean, 0.4, len(when))) * factor, 2))
            tx["category"] += list(rng.choice(categories, len(when)))
        if not interactions:
            continue
        add_events(cid, times(join, min(decline, end), 1 / 45), "call", "done", 4.2)
        add_events(cid, times(decline, end, 1 / 150), "call", "done", 2.6)
        add_events(cid, times(join, min(decline, end), 1 / 700), "complaint", "resolved", 3.0)
        add_events(cid, times(decline, end, 1 / 60), "complaint", "open", 1.8)
        campaign_days = np.arange(np.ceil(join / 30) * 30, days, 30.0)
        answered = rng.random(len(campaign_days)) < np.where(campaign_days < decline, 0.35, 0.05)
        add_events(cid, campaign_days[answered], "campaign", "clicked", 4.0)
        add_events(cid, campaign_days[~answered], "campaign", "ignored", 4.0)

    def stamp(column: str) -> pl.Expr:
        seconds = (pl.col(column) * 86400).round(0).cast(pl.Int64)
        return (pl.lit(START) + pl.duration(seconds=seconds)).dt.cast_time_unit("us")

    transactions = (pl.DataFrame(tx).with_columns(stamp("day").alias("order_date")).drop("day")
                    .sort("customer_id", "order_date")
                    .with_columns(pl.format("O{}", pl.int_range(pl.len())).alias("order_id")))
    events = None
    if interactions:
        events = (pl.DataFrame(ev, schema={"customer_id": pl.String, "day": pl.Float64, "type": pl.String,
                                           "outcome": pl.String, "satisfaction": pl.Float64})
                  .with_columns(stamp("day").alias("date")).drop("day").sort("customer_id", "date"))
        events = events.with_columns(pl.when(pl.col("type") == "campaign").then(None)
                                     .otherwise(pl.col("satisfaction")).alias("satisfaction"))
    return Dataset(transactions, None, events)


SYN_DAYS = 730
SYN_AS_OF = START + timedelta(days=SYN_DAYS)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return synthetic()


@pytest.fixture(scope="module")
def model(dataset: Dataset) -> churn.ChurnModel:
    return churn.train(dataset, SYN_AS_OF)


@pytest.fixture(scope="module")
def scored(dataset: Dataset, model: churn.ChurnModel) -> pl.DataFrame:
    return churn.score(dataset, SYN_AS_OF, model=model)


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _tx(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"customer_id": pl.String, "order_id": pl.String, "order_date": pl.Datetime("us"),
                                      "amount": pl.Float64, "category": pl.String}, orient="row")


def _ix(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"customer_id": pl.String, "date": pl.Datetime("us"), "type": pl.String,
                                      "outcome": pl.String, "satisfaction": pl.Float64}, orient="row")


# ---------------------------------------------------------------- features

def test_features_hand_checked() -> None:
    as_of = _day("2024-07-01")
    transactions = _tx([
        ("A", "a1", _day("2023-12-01"), 100.0, "x"),
        ("A", "a2", _day("2024-01-10"), 100.0, "y"),   # previous 90 days: [2024-01-03, 2024-04-02)
        ("A", "a3", _day("2024-02-10"), 200.0, "x"),
        ("A", "a4", _day("2024-03-01"), 60.0, "x"),
        ("A", "a5", _day("2024-05-01"), 50.0, "x"),    # last 90 days
        ("A", "r1", _day("2024-05-15"), -20.0, "x"),   # a stand-alone refund: not a purchase
        ("A", "a6", _day("2024-07-01"), 999.0, "z"),   # on as_of: excluded
        ("B", "b1", _day("2024-06-15"), 80.0, "x"),
    ])
    interactions = _ix([
        ("A", _day("2024-06-20"), "Complaint", "open", 2.0),
        ("A", _day("2024-03-01"), "投诉", "resolved", 3.0),
        ("A", _day("2024-06-25"), "call", "done", 4.0),
        ("A", _day("2024-05-05"), "campaign", "已点击", None),
        ("A", _day("2024-06-05"), "campaign", "ignored", None),
        ("A", _day("2024-06-30"), "营销活动", None, None),
        ("A", _day("2023-11-01"), "campaign", "clicked", None),  # older than 180 days
        ("A", _day("2024-07-01"), "call", "done", 1.0),          # on as_of: excluded
        ("Z", _day("2024-06-01"), "call", "done", 5.0),          # never ordered: not a row
    ])
    frame = churn.features(Dataset(transactions, None, interactions), as_of)
    assert frame["customer_id"].to_list() == ["A", "B"]
    a, b = frame.row(0, named=True), frame.row(1, named=True)
    expected_a = {
        "recency_days": 61, "frequency": 5, "monetary": 490, "tenure_days": 213,  # r1 is a refund, not an order
        "orders_last_30d": 0, "orders_last_90d": 1, "orders_last_180d": 4, "orders_prev_90d": 3, "order_trend": -0.5,
        "typical_gap_days": 35.5, "overdue_ratio": 61 / 35.5,  # gaps 40, 31, 20, 61 → median 35.5
        "revenue_last_90d": 30, "revenue_prev_90d": 360, "spend_trend": (30 - 360) / 390,
        "aov_last_180d": 102.5, "aov_before_180d": 100, "basket_trend": 0.025,
        "categories": 2, "refund_count": 1, "refund_share": 20 / 510,
        "contacts_last_90d": 2, "contacts_prev_90d": 1, "contact_trend": 1 / 3,
        "complaints_last_90d": 1, "complaints_prev_90d": 1, "complaints_total": 2,
        "satisfaction_avg_180d": 3.0, "days_since_contact": 6,
        "campaign_responses_180d": 1, "campaigns_ignored_180d": 2,
    }
    for name, value in expected_a.items():
        assert a[name] == pytest.approx(value), name
    # one-order customer: the population's usual gap (A's median) stands in for their own
    assert b["recency_days"] == 16 and b["typical_gap_days"] == 35.5 and b["overdue_ratio"] == pytest.approx(16 / 35.5)
    assert b["orders_prev_90d"] == 0 and b["order_trend"] == 1 and b["basket_trend"] is None
    assert b["contacts_last_90d"] == 0 and b["satisfaction_avg_180d"] is None and b["days_since_contact"] is None
    # without interactions the interaction columns exist and are null
    plain = churn.features(Dataset(transactions), as_of)
    nulls = plain.select(churn.INTERACTION_FEATURES).null_count().sum_horizontal().item()
    assert nulls == 2 * len(churn.INTERACTION_FEATURES)


def _future_rows(dataset: Dataset, as_of: datetime) -> Dataset:
    """``dataset`` plus wild orders and interactions on and after ``as_of`` (existing and new customers)."""
    ids = dataset.transactions["customer_id"].unique().sort().head(200).to_list() + ["NEW1", "NEW2"]
    orders = pl.DataFrame({
        "customer_id": ids * 3,
        "order_date": [as_of + timedelta(days=offset) for offset in (0, 1, 40) for _ in ids],
        "amount": [1e6] * len(ids) + [-5e5] * len(ids) + [7.0] * len(ids),
        "category": ["ZZZ"] * (3 * len(ids)),
    }).with_columns(pl.col("order_date").cast(pl.Datetime("us")),
                    pl.format("F{}", pl.int_range(pl.len())).alias("order_id"))
    transactions = pl.concat([dataset.transactions, orders.select(dataset.transactions.columns)])
    interactions = dataset.interactions
    if interactions is not None:
        extra = pl.DataFrame({
            "customer_id": ids * 3,
            "date": [as_of + timedelta(hours=offset) for offset in (0, 5, 216) for _ in ids],
            "type": ["complaint"] * len(ids) + ["campaign"] * len(ids) + ["call"] * len(ids),
            "outcome": ["open"] * len(ids) + ["clicked"] * len(ids) + ["done"] * len(ids),
            "satisfaction": [1.0] * (3 * len(ids)),
        }).with_columns(pl.col("date").cast(pl.Datetime("us")))
        interactions = pl.concat([interactions, extra.select(interactions.columns)])
    return Dataset(transactions, dataset.customers, interactions)


def test_no_information_after_the_cutoff_reaches_the_features(dataset: Dataset) -> None:
    as_of = SYN_AS_OF - timedelta(days=200)
    clean = churn.features(dataset, as_of)
    assert_frame_equal(churn.features(_future_rows(dataset, as_of), as_of), clean, check_exact=True)
    # the same rows one day earlier do change the features, so the comparison above can fail
    assert not churn.features(_future_rows(dataset, as_of - timedelta(days=1)), as_of).equals(clean)
    # labels look only at the horizon window
    assert_frame_equal(churn.labels(_future_rows(dataset, as_of + timedelta(days=90)).transactions, as_of, 90),
                       churn.labels(dataset.transactions, as_of, 90))


# ---------------------------------------------------------------- labels

def test_labels_on_a_hand_made_history() -> None:
    transactions = _tx([
        ("A", "a1", _day("2023-12-01"), 10.0, None), ("A", "a2", _day("2024-01-15"), 10.0, None),
        ("B", "b1", _day("2023-06-01"), 10.0, None), ("B", "b2", _day("2024-01-31"), 10.0, None),  # at the window end
        ("C", "c1", _day("2023-12-31 23:59"), 10.0, None), ("C", "c2", _day("2024-01-01"), 10.0, None),  # at as_of
        ("D", "d1", _day("2023-11-01"), 50.0, None), ("D", "d2", _day("2024-01-10"), -50.0, None),  # only a refund
        ("E", "e1", _day("2024-01-05"), 10.0, None),  # first order after as_of: not in the base
        ("F", "f1", _day("2023-10-01"), 10.0, None), ("F", "f2", _day("2024-01-20"), 30.0, None),
        ("F", "f2", _day("2024-01-20"), -10.0, None),  # a partial return nets within the order
    ])
    result = churn.labels(transactions, _day("2024-01-01"), horizon_days=30)
    assert result["customer_id"].to_list() == ["A", "B", "C", "D", "F"]
    assert result["churned"].to_list() == [False, True, False, True, False]
    assert result["orders_in_horizon"].to_list() == [1, 0, 1, 0, 1]


# ---------------------------------------------------------------- model and backtest

def test_model_beats_the_recency_baseline_out_of_time(dataset: Dataset) -> None:
    result = churn.backtest(dataset, SYN_AS_OF, 90)
    assert result.ok and result.n_customers > 1000 and 0.2 < result.churn_rate < 0.7
    assert result.eval_cutoff == SYN_AS_OF - timedelta(days=90)
    model, recency = result.ranking, result.baseline("recency")
    assert model.auc > recency.auc + 0.03
    assert model.pr_auc > recency.pr_auc + 0.03
    assert model.top_decile_lift >= recency.top_decile_lift
    assert model.brier < result.churn_rate * (1 - result.churn_rate)  # better than the base rate
    assert recency.brier is None                                       # recency is not a probability
    if result.baseline("bgnbd") is not None:  # crm_core.clv present
        assert [b.name for b in result.baselines] == ["recency", "rfm_logistic", "bgnbd_horizon", "bgnbd"]
        assert model.auc > max(result.baseline("bgnbd").auc, result.baseline("bgnbd_horizon").auc)
    assert model.auc > result.baseline("rfm_logistic").auc and result.model_wins and result.ranked_by == "model"
    assert result.baseline("rfm_logistic").brier is None and result.train_churn_rate is not None
    gains = result.gains
    assert gains.columns[:3] == ["share_contacted", "model", "recency"] and gains.height == 101
    assert gains.row(0)[1] == 0 and gains.row(-1)[1] == pytest.approx(1.0)
    assert (gains["model"].diff().drop_nulls() >= 0).all()
    calibration = result.calibration
    assert calibration["decile"].to_list() == list(range(1, 11))
    assert calibration["customers"].sum() == result.n_customers
    # calibrated: the observed rate follows the predicted one
    assert np.corrcoef(calibration["mean_predicted"], calibration["observed_rate"])[0, 1] > 0.95
    importance = result.feature_importance
    assert set(importance["feature"]) <= set(churn.FEATURES) and importance["importance"][0] > 0


def test_train_is_deterministic_and_ignores_the_future() -> None:
    small = synthetic(n_customers=600, seed=11)
    as_of = SYN_AS_OF - timedelta(days=30)
    quick = churn.ChurnSettings(max_iter=60)
    first = churn.train(small, as_of, 90, quick, seed=5)
    second = churn.train(_future_rows(small, as_of), as_of, 90, quick, seed=5)
    frame = churn.features(small, as_of)
    assert np.array_equal(first.predict_proba(frame), second.predict_proba(frame))
    assert_frame_equal(first.feature_importance_, second.feature_importance_)
    assert first.selection_ == second.selection_ and first.kind_ == second.kind_
    assert first.cutoff_ == as_of - timedelta(days=90) and first.label_end_ == as_of
    assert first.calibration_ == "sigmoid"  # 600 customers: too few for isotonic
    assert first.settings == quick and quick.learning_rate == churn.ChurnSettings().learning_rate == 0.05


def test_the_default_settings_are_the_apps(model: churn.ChurnModel) -> None:
    assert model.settings == churn.ChurnSettings()
    defaults = churn.ChurnSettings()
    assert (defaults.max_iter, defaults.max_leaf_nodes, defaults.min_samples_leaf, defaults.calibration_folds,
            defaults.isotonic_min_samples, defaults.max_train_rows, defaults.n_threads) == \
        (150, 7, 40, 3, 3000, 20_000, 1)
    assert defaults.complaint_types == churn.COMPLAINT_TYPES and defaults.monotonic


def test_large_training_sets_are_sampled_by_class() -> None:
    small = synthetic(n_customers=600, seed=11)
    as_of = SYN_AS_OF - timedelta(days=30)
    full = churn.train(small, as_of, settings=churn.ChurnSettings(max_iter=30, max_train_rows=None), seed=5)
    sampled = churn.train(small, as_of, settings=churn.ChurnSettings(max_iter=30, max_train_rows=200), seed=5)
    again = churn.train(small, as_of, settings=churn.ChurnSettings(max_iter=30, max_train_rows=200), seed=5)
    assert full.n_train_ == full.n_eligible_ > 200
    assert sampled.n_train_ == 200 and sampled.n_eligible_ == full.n_eligible_
    assert abs(sampled.train_churn_rate_ - full.train_churn_rate_) < 0.01     # stratified: the churn rate is kept
    assert sampled.reference_ == full.reference_                              # reasons compare with everyone
    frame = churn.features(small, as_of)
    assert np.array_equal(sampled.predict_proba(frame), again.predict_proba(frame))  # the seed fixes the sample


def test_the_kind_is_chosen_on_the_window_before_training_and_never_sees_as_of() -> None:
    small = synthetic(n_customers=600, seed=11)
    as_of = SYN_AS_OF - timedelta(days=30)
    quick = churn.ChurnSettings(max_iter=60)
    model = churn.ChurnModel(90, quick, random_state=5).fit(small, as_of)
    selection = model.selection_
    assert selection.method == "earlier_window" and selection.cutoff == as_of - timedelta(days=180)
    assert [kind for kind, _ in selection.auc] == list(churn.CANDIDATES) == ["logistic", "booster"]
    best = max(auc for _, auc in selection.auc)
    assert model.kind_ == selection.chosen == next(kind for kind, auc in selection.auc if auc == best)
    # the choice is made on data before as_of only: lines after it change nothing
    again = churn.ChurnModel(90, quick, random_state=5).fit(_future_rows(small, as_of), as_of)
    assert again.selection_ == selection
    # each candidate's score is the ROC AUC of a model fitted one horizon earlier, judged on the training window
    for kind, auc in selection.auc:
        earlier = churn.ChurnModel(90, quick, (kind,), random_state=5).fit(small, as_of - timedelta(days=90))
        window = churn.features(small, as_of - timedelta(days=90)).join(
            churn.labels(small.transactions, as_of - timedelta(days=90), 90).select("customer_id", "churned"),
            on="customer_id").sort("customer_id")
        uncalibrated = earlier.estimator_.calibrated_classifiers_[0].estimator
        risk = uncalibrated.predict_proba(earlier.matrix(window))[:, 1]
        assert auc == pytest.approx(roc_auc_score(window["churned"].cast(pl.Int8).to_numpy(), risk), abs=1e-9)


def test_too_short_an_earlier_window_chooses_by_folds() -> None:
    small = synthetic(n_customers=600, seed=11, days=300)
    as_of = START + timedelta(days=300)
    model = churn.ChurnModel(90, churn.ChurnSettings(max_iter=40, min_selection_class=10_000)).fit(small, as_of)
    assert model.selection_.method == "cross_validation" and model.selection_.cutoff is None
    assert all(auc is not None and 0.5 < auc <= 1 for _, auc in model.selection_.auc)


def test_a_logistic_model_scores_and_explains_like_the_booster() -> None:
    small = synthetic(n_customers=600, seed=11)
    as_of = SYN_AS_OF - timedelta(days=30)
    model = churn.ChurnModel(90, candidates=("logistic",)).fit(small, as_of)
    assert model.kind_ == "logistic" and model.selection_.method == "single"
    scored = churn.score(small, as_of, model=model)
    assert scored["churn_probability"].is_between(0, 1).all() and scored["reasons"].str.contains("churn.reason").any()
    assert set(model.feature_importance_["feature"]) == set(model.feature_names_)


def test_a_model_that_loses_to_a_baseline_hands_the_ranking_to_it(dataset: Dataset) -> None:
    # a booster with one shallow tree ranks churners badly: the backtest must say so and rank by the baseline
    weak = churn.ChurnSettings(max_iter=1, max_leaf_nodes=2, learning_rate=0.01)
    result = churn.backtest(dataset, SYN_AS_OF, 90, weak, candidates=("booster",))
    best = result.best_baseline
    assert best is not None and result.ranking.auc < best.auc and result.model_wins is False
    assert result.ranked_by in churn.FALLBACKS and result.baseline(result.ranked_by).auc > result.ranking.auc
    model = churn.train(dataset, SYN_AS_OF, 90, weak, candidates=("booster",))
    ranking = churn.ranking_model(dataset, SYN_AS_OF, model, result)
    assert ranking is not model and ranking.kind_ == result.ranked_by
    assert ranking.cutoff_ == model.cutoff_ and ranking.settings == weak
    scored = churn.score(dataset, SYN_AS_OF, model=ranking)
    assert scored["churn_probability"].null_count() == 0 and scored["risk_source"].unique().to_list() == ["model"]
    # a model that wins keeps the ranking
    good = churn.backtest(dataset, SYN_AS_OF, 90)
    assert churn.ranking_model(dataset, SYN_AS_OF, model, good) is model


def test_the_bgnbd_baseline_ranks_customers_by_their_own_id() -> None:
    small = synthetic(n_customers=600, seed=11)
    as_of = SYN_AS_OF - timedelta(days=30)
    model = churn.ChurnModel(90, candidates=("bgnbd_horizon",)).fit(small, as_of)
    frame = churn.features(small, as_of)
    expected = churn.bgnbd_churn_risk(small.transactions, as_of, 90)
    got = frame.select("customer_id").with_columns(pl.Series("p", model.predict_proba(frame)))
    joined = got.join(expected, on="customer_id")
    assert joined.height == frame.height
    np.testing.assert_allclose(joined["p"].to_numpy(), joined["bgnbd_p_no_purchase"].to_numpy())
    # reversed rows, same answers: it looks customers up rather than trusting the order
    backwards = frame.reverse()
    np.testing.assert_allclose(model.predict_proba(backwards)[::-1], model.predict_proba(frame))


def test_fit_and_backtest_is_train_and_backtest_at_once(dataset: Dataset) -> None:
    model, result = churn.fit_and_backtest(dataset, SYN_AS_OF, 90)
    alone = churn.backtest(dataset, SYN_AS_OF, 90)
    trained = churn.train_when_sufficient(dataset, SYN_AS_OF, 90)
    frame = churn.features(dataset, SYN_AS_OF)
    assert np.array_equal(model.predict_proba(frame), trained.predict_proba(frame))
    assert model.selection_ == trained.selection_
    assert result.ranking == alone.ranking and result.baselines == alone.baselines
    assert_frame_equal(result.gains, alone.gains)
    short = synthetic(n_customers=600, seed=11, days=200)
    nothing, gated = churn.fit_and_backtest(short, START + timedelta(days=200), 90)
    assert nothing is None and not gated.ok


def test_top_decile_lift_and_gains_by_hand() -> None:
    churned = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    risk = np.arange(10, 0, -1.0)  # customer 0 is riskiest
    assert churn.top_decile_lift(churned, risk) == pytest.approx(1 / 0.2)
    assert churn.gains(churned, risk, points=10).tolist() == [0, 0.5, 0.5, 1, 1, 1, 1, 1, 1, 1, 1]


@pytest.mark.skipif(importlib.util.find_spec("crm_core.sample") is None, reason="crm_core.sample not written yet")
def test_model_beats_the_recency_baseline_on_the_sample() -> None:
    from crm_core.sample import generate

    sample = generate(customers=3000, seed=42)
    as_of = default_as_of(sample.transactions)
    result = churn.backtest(sample, as_of, 90)
    assert result.ok
    model, recency = result.ranking, result.baseline("recency")
    assert model.auc > recency.auc + 0.03
    assert model.pr_auc > recency.pr_auc + 0.01
    assert model.auc > max(result.baseline("bgnbd").auc, result.baseline("bgnbd_horizon").auc)


# ---------------------------------------------------------------- score and reasons

# reason -> {param: (feature, decimals)}: the numbers a reason shows are the customer's own values
REASON_PARAMS = {
    "overdue": {"days": ("recency_days", 0), "gap": ("typical_gap_days", 0)},
    "inactive": {"days": ("recency_days", 0), "gap": ("typical_gap_days", 0)},
    "orders_fell": {"before": ("orders_prev_90d", 0), "after": ("orders_last_90d", 0)},
    "complaints": {"count": ("complaints_last_90d", 0)},
    "low_satisfaction": {"score": ("satisfaction_avg_180d", 1)},
    "spend_fell": {"before": ("revenue_prev_90d", 2), "after": ("revenue_last_90d", 2)},
    "basket_shrank": {"before": ("aov_before_180d", 2), "after": ("aov_last_180d", 2)},
    "contacts_fell": {"before": ("contacts_prev_90d", 0), "after": ("contacts_last_90d", 0)},
    "campaigns_ignored": {"count": ("campaigns_ignored_180d", 0)},
    "no_contact": {"days": ("days_since_contact", 0)},
    "refunds": {"count": ("refund_count", 0)},
    "few_orders": {"orders": ("frequency", 0)},
    "narrow_range": {"count": ("categories", 0)},
}


def _check_reasons(scored: pl.DataFrame, frame: pl.DataFrame) -> set[str]:
    by_id = {row["customer_id"]: row for row in frame.iter_rows(named=True)}
    seen: set[str] = set()
    for customer_id, main, text in scored.select("customer_id", "main_reason", "reasons").iter_rows():
        reasons = json.loads(text)
        assert len(reasons) <= 3 and (main == (reasons[0]["key"] if reasons else None))
        assert len({r["key"] for r in reasons}) == len(reasons)
        values = by_id[customer_id]
        for reason in reasons:
            name = reason["key"].removeprefix("churn.reason.")
            seen.add(name)
            for param, (feature, decimals) in REASON_PARAMS[name].items():
                # equal to the feature up to the display rounding (half away from zero)
                assert abs(reason["params"][param] - values[feature]) <= 0.5 * 10 ** -decimals + 1e-9, (name, param)
            params = reason["params"]
            if "before" in params:  # a "fell" reason only when it did fall
                assert params["after"] < params["before"], reason
            if name in ("overdue", "inactive"):
                assert values["overdue_ratio"] > 1
    return seen


def test_reasons_match_the_features_they_name(dataset: Dataset, model: churn.ChurnModel, scored: pl.DataFrame) -> None:
    frame = churn.features(dataset, SYN_AS_OF)
    assert scored.height == frame.height and scored["risk_source"].unique().to_list() == ["model"]
    seen = _check_reasons(scored, frame)
    assert {"overdue", "orders_fell", "complaints", "campaigns_ignored"} <= seen
    # most high-risk customers get at least one reason
    high = scored.filter(pl.col("risk_tier") == "high")
    assert (high["reasons"] != "[]").mean() > 0.8
    # the main reason pushes this customer's risk up: neutralising it lowers the model's probability
    definitions = {reason.key: reason for reason in _reasons(model.reference_)}
    sample = scored.filter(pl.col("main_reason").is_not_null()).head(50).join(frame, on="customer_id")
    for row in sample.iter_rows(named=True):
        reason = definitions[row["main_reason"].removeprefix("churn.reason.")]
        one = frame.filter(pl.col("customer_id") == row["customer_id"])
        neutral = one.with_columns(**{k: v.cast(pl.Float64) for k, v in reason.counterfactual.items()})
        assert model.predict_proba(one)[0] - model.predict_proba(neutral)[0] >= 0.01


def test_score_columns_tiers_value_and_actions(scored: pl.DataFrame) -> None:
    p = scored["churn_probability"]
    assert p.null_count() == 0 and p.min() >= 0 and p.max() <= 1
    expected_tier = (pl.when(p >= 0.66).then(pl.lit("high")).when(p >= 0.33).then(pl.lit("medium"))
                     .otherwise(pl.lit("low")))
    assert scored.select((pl.col("risk_tier") == expected_tier).all()).item()
    gap = pl.col("value_at_risk") - pl.col("churn_probability") * pl.col("expected_value")
    assert scored.select(gap.abs().max()).item() < 1e-9
    assert scored["value_at_risk"].is_sorted(descending=True)
    assert scored["value_source"].unique().to_list()[0] in ("clv", "trailing_revenue")
    for row in scored.head(200).iter_rows(named=True):
        assert row["action"] == churn.win_back_action(row)
    assert churn.win_back_action("churn.reason.complaints") == "churn.action.service_recovery"
    assert churn.win_back_action(None) == "churn.action.keep_warm"


def test_score_works_without_interactions() -> None:
    plain = synthetic(n_customers=800, seed=5, interactions=False)
    scored = churn.score(plain, SYN_AS_OF, model=churn.train_when_sufficient(plain, SYN_AS_OF),
                         expected_value=pl.DataFrame({"customer_id": ["C00000"], "value": [100.0]}))
    assert scored["risk_source"].unique().to_list() == ["model"] and scored["churn_probability"].null_count() == 0
    assert not scored.select(pl.col("flag_complaints", "flag_fewer_contacts", "flag_campaigns_ignored").any()).row(0)[0]
    _check_reasons(scored, churn.features(plain, SYN_AS_OF))
    keys = set(scored["reasons"].str.extract_all(r"churn\.reason\.\w+").explode().drop_nulls())
    assert not keys & {"churn.reason.complaints", "churn.reason.contacts_fell", "churn.reason.campaigns_ignored"}
    assert scored["value_source"].unique().to_list() == ["given"]
    given = scored.filter(pl.col("customer_id") == "C00000").row(0, named=True)
    assert given["expected_value"] == 100.0
    assert given["value_at_risk"] == pytest.approx(100.0 * given["churn_probability"])


# ---------------------------------------------------------------- sufficiency and rules mode

def _steady(customers: int, days: int, every: int = 10) -> pl.DataFrame:
    """Every customer buys every ``every`` days for ``days`` days: nobody churns."""
    start = datetime(2023, 1, 1)
    rows = [(f"S{c:04d}", f"S{c}-{d}", start + timedelta(days=d), 10.0, "x")
            for c in range(customers) for d in range(0, days, every)]
    return _tx(rows)


def test_a_failing_gate_gives_a_backtest_without_metrics_and_score_needs_a_model() -> None:
    tiny = Dataset(_steady(20, 100))
    as_of = datetime(2023, 4, 11)
    result = churn.backtest(tiny, as_of, 90)
    assert not result.ok and not result.sufficiency.ok
    assert result.train_cutoff == as_of - timedelta(days=180) and result.eval_cutoff == as_of - timedelta(days=90)
    assert result.ranking is None and result.baselines == () and result.baseline("recency") is None
    assert result.gains is None and result.model is None and result.feature_importance is None
    with pytest.raises(TypeError):
        churn.score(tiny, as_of)  # the model (or None, for the rules) is the caller's choice, never trained here
    assert churn.score(tiny, as_of, model=None)["risk_source"].unique().to_list() == ["rules"]


def test_sufficiency_gate_names_the_failing_checks() -> None:
    tiny = _steady(20, 100)
    gate = churn.sufficiency(tiny, datetime(2023, 4, 11), horizon_days=90)
    assert not gate.ok
    checks = {check.key: check for check in gate.checks}
    assert checks["churn.sufficiency.history_days"] == ("churn.sufficiency.history_days", False, 100.0, 270.0)
    assert checks["churn.sufficiency.customers"].actual == 0 and checks["churn.sufficiency.customers"].required == 200
    assert {c.key for c in gate.failing} == {"churn.sufficiency.history_days", "churn.sufficiency.customers",
                                             "churn.sufficiency.churners", "churn.sufficiency.retained"}
    # enough customers and history, but nobody stopped buying: only the churners check fails
    steady = _steady(250, 400)
    gate = churn.sufficiency(steady, datetime(2024, 2, 5), horizon_days=90)
    assert [c.key for c in gate.failing] == ["churn.sufficiency.churners"]
    assert gate.failing[0].actual == 0 and gate.failing[0].required == 50
    assert churn.sufficiency(steady, datetime(2024, 2, 5), horizon_days=90, min_churners=0).ok


def test_without_a_model_score_ranks_by_the_warning_rules() -> None:
    as_of = _day("2024-07-01")
    transactions = _tx([
        ("A", "a0", _day("2023-11-01"), 300.0, "x"),
        ("A", "a1", _day("2024-01-05"), 100.0, "x"), ("A", "a2", _day("2024-02-01"), 100.0, "x"),
        ("A", "a3", _day("2024-03-01"), 100.0, "x"), ("A", "a4", _day("2024-04-20"), 10.0, "x"),
        ("B", "b1", _day("2024-06-01"), 50.0, "x"), ("B", "b2", _day("2024-06-20"), 50.0, "x"),
    ])
    interactions = _ix([("A", _day("2024-06-01"), "complaint", "open", 1.0)])
    dataset = Dataset(transactions, None, interactions)
    assert churn.train_when_sufficient(dataset, as_of) is None    # two customers: the gate fails
    scored = churn.score(dataset, as_of, model=None)
    assert scored["risk_source"].unique().to_list() == ["rules"]
    assert scored["churn_probability"].null_count() == 2 and scored["value_at_risk"].null_count() == 2
    a = scored.filter(pl.col("customer_id") == "A").row(0, named=True)
    assert a["flag_frequency_drop"] and a["flag_complaints"] and a["flag_basket_shrink"] and a["flag_overdue"]
    assert a["risk_tier"] == "high" and a["flag_count"] == 5  # low satisfaction (1.0) too
    keys = [r["key"] for r in json.loads(a["reasons"])]
    assert keys == ["churn.reason.overdue", "churn.reason.orders_fell", "churn.reason.complaints"]
    b = scored.filter(pl.col("customer_id") == "B").row(0, named=True)
    assert b["risk_tier"] == "low" and b["reasons"] == "[]" and b["action"] == "churn.action.keep_warm"
    assert scored["customer_id"].to_list() == ["A", "B"]  # tier first when there is no value at risk
    curve = churn.capacity_curve(scored, capacity=1)
    assert curve["expected_revenue_saved"].null_count() == 3
    assert curve["within_capacity"].to_list() == [True, True, False]


# ---------------------------------------------------------------- flags, capacity, translations

def test_flags_follow_their_thresholds() -> None:
    frame = pl.DataFrame({
        "customer_id": ["a", "b", "c"],
        "orders_prev_90d": [4.0, 1.0, 4.0], "orders_last_90d": [2.0, 0.0, 3.0],
        "basket_trend": [-0.3, -0.29, None],
        "contacts_prev_90d": [2.0, 5.0, None], "contacts_last_90d": [1.0, 3.0, None],
        "complaints_last_90d": [1.0, 0.0, None],
        "campaigns_ignored_180d": [2.0, 3.0, None], "campaign_responses_180d": [0.0, 1.0, None],
        "satisfaction_avg_180d": [3.0, 3.1, None], "overdue_ratio": [1.5, 1.49, 9.0],
    })
    result = churn.flags(frame)
    assert result["flag_count"].to_list() == [7, 0, 1]
    assert result.filter(pl.col("customer_id") == "c")["flag_overdue"].item()
    assert churn.flags(frame, overdue_ratio=10.0)["flag_count"].to_list() == [6, 0, 0]
    assert churn.flag_key("overdue") == "churn.flag.overdue"


def test_capacity_curve_by_hand() -> None:
    scored = pl.DataFrame({"customer_id": ["a", "b", "c"], "value_at_risk": [10.0, 30.0, None],
                           "risk_tier": ["high", "high", "low"], "expected_value": [20.0, 50.0, 0.0]})
    curve = churn.capacity_curve(scored, capacity=1, save_rate=0.2)
    assert curve["contacted"].to_list() == [0, 1, 2, 3]
    assert curve["value_at_risk"].to_list() == [0.0, 30.0, 40.0, 40.0]
    assert curve["expected_revenue_saved"].to_list() == pytest.approx([0.0, 6.0, 8.0, 8.0])
    assert curve["share_of_value_at_risk"].to_list() == pytest.approx([0.0, 0.75, 1.0, 1.0])
    assert curve["within_capacity"].to_list() == [True, True, False, False]
    assert churn.win_back_list(scored, 1)["customer_id"].to_list() == ["b"]


def test_every_key_has_an_english_and_a_chinese_template() -> None:
    def flat(lang: str) -> dict[str, str]:
        tree = tomllib.loads((LOCALES / lang / "churn.toml").read_text(encoding="utf-8"))
        return {f"churn.{section}.{k}": v for section, entries in tree["churn"].items() for k, v in entries.items()}

    english, chinese = flat("en"), flat("zh")
    assert english.keys() == chinese.keys()
    reason_params = {"overdue": {"days": 38, "gap": 20}, "inactive": {"days": 38, "gap": 20}}
    keys = [f"churn.reason.{name}" for name in REASON_PARAMS] + [churn.flag_key(n) for n in churn.FLAGS]
    keys += [f"churn.action.{a}" for a in {*churn.ACTIONS.values(), churn.DEFAULT_ACTION}]
    keys += [f"churn.sufficiency.{n}" for n in ("history_days", "customers", "churners", "retained")]
    keys += [f"churn.feature.{n}" for n in churn.FEATURES] + [f"churn.tier.{t}" for t in churn.RISK_TIERS]
    for key in keys:
        name = key.rsplit(".", 1)[1]
        params = {"before": 4, "after": 1.5, "days": 90, "count": 2, "score": 2.5, "orders": 1, "actual": 3.0,
                  "required": 200.0, **reason_params.get(name, {})}
        for catalog in (english, chinese):
            assert key in catalog, key
            catalog[key].format(**params)  # every placeholder is filled
