"""CDNOW reference: BG/NBD and Gamma–Gamma reproduce the published estimates (DESIGN.md, "CLV").

Data (tests/reference/data/README.md): the CDNOW sample of Fader, Hardie & Lee (2,357 customers who first
bought in Q1 1997; 39-week calibration to 1997-09-30, 39-week holdout to 1998-06-30) as shipped with
lifetimes: the calibration summary (x, t_x, T in weeks, zbar = mean repeat spend) and the transactions.

Published values: BG/NBD r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4 (Fader, Hardie & Lee
2005a, *Marketing Science*); Gamma–Gamma p = 6.25, q = 3.74, γ = 15.44 (Fader, Hardie & Lee 2005b; Fader &
Hardie 2013, note 025). Point checks from lifetimes' tests/test_estimation.py and Hardie's spreadsheets.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from crm_core import clv

DATA = Path(__file__).resolve().parent / "data"
CALIBRATION_END = datetime(1997, 10, 1)   # exclusive: the calibration period ends on 1997-09-30
HOLDOUT_END = datetime(1998, 7, 1)

BGNBD_PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG_PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture(scope="module")
def summary() -> pl.DataFrame:
    return pl.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv.gz")


@pytest.fixture(scope="module")
def transactions() -> pl.DataFrame:
    return pl.read_csv(DATA / "cdnow_sample_transactions.csv.gz", schema_overrides={"customer_id": pl.String}
                       ).with_columns(pl.col("order_date").str.to_datetime("%Y-%m-%d", time_unit="us"))


@pytest.fixture(scope="module")
def betageo(summary) -> clv.BetaGeo:
    return clv.BetaGeo().fit(summary["x"], summary["t_x"], summary["T"])


@pytest.fixture(scope="module")
def gammagamma(summary) -> clv.GammaGamma:
    return clv.GammaGamma().fit(summary["x"], summary["zbar"])


def test_sample_shape(summary):
    assert summary.height == 2357
    assert (summary["x"] == 0).sum() == 1411 and (summary["x"] > 0).sum() == 946


def test_betageo_reproduces_published_estimates(betageo):
    for name, published in BGNBD_PUBLISHED.items():
        assert betageo.params_[name] == pytest.approx(published, rel=0.01), name
        assert betageo.params_[name] == pytest.approx(published, abs=0.0015), name   # to the printed digits
    assert betageo.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)
    assert betageo.converged_


def test_published_fit_is_not_degenerate(betageo):
    # drop-out is measured: mean chance a / (a + b) = 0.246 after a purchase; P(alive) spreads from 0 to 1
    assert not betageo.degenerate_ and betageo.degenerate_reason_ is None
    assert betageo.sure_alive_share_ < 0.01


def test_gamma_gamma_independence_check_matches_lifetimes(gammagamma):
    # lifetimes' Quickstart, Gamma-Gamma section: returning_customers_summary[['monetary_value', 'frequency']]
    # .corr() on its CDNOW summary (frequency > 0) is 0.113884 (and is, run with the installed lifetimes)
    assert gammagamma.frequency_spend_correlation_ == pytest.approx(0.113884, abs=5e-7)


def test_gamma_gamma_reproduces_published_estimates(gammagamma):
    for name, published in GG_PUBLISHED.items():
        assert gammagamma.params_[name] == pytest.approx(published, rel=0.01), name
    assert gammagamma.excluded_ == {"no_repeat": 1411, "non_positive_spend": 0}
    assert gammagamma.n_customers_ == 946
    assert gammagamma.log_likelihood_ == pytest.approx(-4055.92, abs=0.05)   # CLVTools: −4055.9177


def test_point_predictions(betageo, gammagamma):
    # customer 1: x = 2, t_x = 30.43, T = 38.86 (lifetimes test_estimation / Hardie's sheet)
    assert betageo.expected_purchases(39, 2, 30.43, 38.86)[()] == pytest.approx(1.226, abs=0.001)
    assert betageo.p_alive(2, 30.43, 38.86)[()] == pytest.approx(0.7266, abs=0.0005)
    times = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    published = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    assert betageo.expected_purchases_new(times) == pytest.approx(published, rel=0.01, abs=1e-4)
    assert betageo.p_alive(0, 0.0, 38.86)[()] == 1.0
    assert gammagamma.expected_spend(2, 22.35)[()] == pytest.approx(24.66, abs=0.01)


def test_summary_from_transactions_matches_the_published_summary(transactions, summary):
    derived = clv.rfm_input(transactions, CALIBRATION_END, time_unit="W")
    joined = derived.with_columns(pl.col("customer_id").cast(pl.Int64)).join(
        summary, left_on="customer_id", right_on="ID", how="full")
    assert joined.height == 2357 and joined["customer_id"].null_count() == 0
    assert (joined["frequency"] == joined["x"]).all()
    # the published file rounds to two decimals
    assert (joined["recency"] - joined["t_x"]).abs().max() < 0.005 + 1e-9
    assert (joined["T"] - joined["T_right"]).abs().max() < 0.005 + 1e-9
    assert (joined["monetary_value"] - joined["zbar"]).abs().max() < 0.005 + 1e-9
    # Fader, Hardie & Lee (2005b): repeat buyers' mean spend per transaction (lifetimes test_utils)
    repeat = derived.filter(pl.col("frequency") > 0)["monetary_value"]
    assert (repeat.len(), round(repeat.mean()), round(repeat.std()), round(repeat.median()),
            round(repeat.min()), round(repeat.max())) == (946, 35, 30, 27, 3, 300)


def test_fit_from_transactions_gives_the_published_estimates(transactions):
    derived = clv.rfm_input(transactions, CALIBRATION_END, time_unit="W")
    model = clv.BetaGeo().fit(derived["frequency"], derived["recency"], derived["T"])
    for name, published in BGNBD_PUBLISHED.items():
        assert model.params_[name] == pytest.approx(published, rel=0.01), name
    spend = clv.GammaGamma().fit(derived["frequency"], derived["monetary_value"])
    for name, published in GG_PUBLISHED.items():
        assert spend.params_[name] == pytest.approx(published, rel=0.01), name


def test_holdout_against_the_second_39_weeks(transactions, betageo):
    result = clv.holdout(transactions, CALIBRATION_END, HOLDOUT_END)
    assert result.converged and not result.degenerate and result.degenerate_reason is None
    table = result.table
    assert table.height == 2357
    assert table["duration_holdout"].unique().to_list() == [39.0]
    row = table.filter(pl.col("customer_id") == "1").row(0, named=True)
    assert row["predicted_purchases_holdout"] == pytest.approx(1.226, abs=0.001)
    by_frequency = clv.holdout_by_frequency(table)
    assert by_frequency["frequency_cal"].to_list() == list(range(8))
    assert by_frequency["customers"][0] == 1411
    # conditional expectations by calibration frequency (as in FHL 2005a, Figure 4); a sanity bound of
    # 0.4 orders per bucket, not a published number (measured: at most 0.35, in the x = 2 bucket)
    gap = (by_frequency["predicted_purchases_holdout"] - by_frequency["actual_purchases_holdout"]).abs()
    assert gap.max() < 0.4
    metrics = clv.holdout_metrics(table)
    assert metrics["correlation"] > 0.55


def test_clv_over_a_year_is_positive_and_ordered(betageo, gammagamma, summary):
    value = clv.customer_value(betageo, gammagamma, summary["x"], summary["t_x"], summary["T"], summary["zbar"],
                               horizon_months=12, monthly_discount=0.01)
    assert np.all(value >= 0)
    assert value[5] > value[0] > value[2]   # customer 6 (x = 7, $73.74) > customer 1 (x = 2) > customer 3 (x = 0)
