"""crm_core.clv: repeat-purchase summary, BG/NBD, Gamma–Gamma, CLV, next order, holdout.

The published CDNOW estimates are checked in tests/reference/test_cdnow.py; here: small hand-checkable
tables, lifetimes' own summary fixtures, identities of the model and recovery of simulated parameters.
"""
from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from crm_core import clv

SCHEMA = {"customer_id": pl.String, "order_date": pl.Datetime("us"), "amount": pl.Float64}


def tx(rows: list[tuple], order_ids: bool = False) -> pl.DataFrame:
    """Transactions from (customer, 'YYYY-MM-DD', amount[, order_id]) tuples."""
    data = {
        "customer_id": [str(r[0]) for r in rows],
        "order_date": [datetime.fromisoformat(r[1]) for r in rows],
        "amount": [float(r[2]) for r in rows],
    }
    schema = dict(SCHEMA)
    if order_ids:
        data["order_id"] = [r[3] for r in rows]
        schema["order_id"] = pl.String
    return pl.DataFrame(data, schema=schema)


def by_customer(frame: pl.DataFrame) -> dict[str, dict]:
    return {row["customer_id"]: row for row in frame.iter_rows(named=True)}


def fixed_betageo(r=0.243, alpha=4.414, a=0.793, b=2.426) -> clv.BetaGeo:
    model = clv.BetaGeo()
    model.params_ = {"r": r, "alpha": alpha, "a": a, "b": b}
    return model


def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, T: float, seed: int = 0):
    """(x, t_x, T) of ``n`` customers drawn from BG/NBD (FHL 2005a, section 2) over an age of ``T``."""
    rng = np.random.default_rng(seed)
    x, t_x = np.zeros(n), np.zeros(n)
    lam, p = rng.gamma(r, 1.0 / alpha, n), rng.beta(a, b, n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > T:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    return x, t_x, np.full(n, T)


# ------------------------------------------------------------------------- rfm_input

# lifetimes tests/test_utils.py, large_transaction_level_data_with_monetary_value
LIFETIMES_ROWS = [
    (1, "2015-01-01", 1), (1, "2015-02-06", 2), (2, "2015-01-01", 2), (3, "2015-01-01", 3),
    (3, "2015-01-02", 1), (3, "2015-01-05", 5), (4, "2015-01-16", 6), (4, "2015-02-02", 3),
    (4, "2015-02-05", 3), (5, "2015-01-16", 3), (5, "2015-01-17", 1), (5, "2015-01-18", 8),
    (6, "2015-02-02", 5),
]


def test_rfm_input_matches_lifetimes_summary_with_monetary_values():
    # lifetimes: summary_data_from_transaction_data(..., observation_period_end='20150207') (inclusive);
    # here as_of is exclusive, so the same period ends at 2015-02-08.
    summary = clv.rfm_input(tx(LIFETIMES_ROWS), datetime(2015, 2, 8), time_unit="D")
    expected = {  # id: frequency, recency, T, monetary_value (lifetimes' expected frame)
        "1": (1, 36, 37, 2), "2": (0, 0, 37, 0), "3": (2, 4, 37, 3),
        "4": (2, 20, 22, 3), "5": (2, 2, 22, 4.5), "6": (0, 0, 5, 0),
    }
    rows = by_customer(summary)
    assert set(rows) == set(expected)
    for cid, (f, r, T, m) in expected.items():
        row = rows[cid]
        assert (row["frequency"], row["recency"], row["T"], row["monetary_value"]) == (f, r, T, m), cid


def test_rfm_input_hand_made_days_refunds_and_units():
    rows = [
        ("A", "2024-01-01", 10, "a1"), ("A", "2024-01-01", 5, "a2"),      # two orders, one purchase day: 15
        ("A", "2024-01-08", 20, "a3"),
        ("A", "2024-01-15", 30, "a4"), ("A", "2024-01-15", -10, "a5"),    # a5: a refund document, not spend
        ("B", "2024-01-29", 50, "b1"),
        ("C", "2024-01-10", 40, "c1"), ("C", "2024-01-20", -40, "c2"),    # stand-alone refund day
        ("D", "2024-02-01", 99, "d1"),                                    # on as_of: not before it
        ("E", "2024-01-05", 100, "e1"), ("E", "2024-01-25", -30, "e1"),   # refund of the same order id
    ]
    as_of = datetime(2024, 2, 1)  # last included day 2024-01-31
    weeks = by_customer(clv.rfm_input(tx(rows, order_ids=True), as_of, "W"))
    assert set(weeks) == {"A", "B", "C", "E"}
    a = weeks["A"]
    assert a["frequency"] == 2
    assert a["recency"] == pytest.approx(2.0)          # 14 days
    assert a["T"] == pytest.approx(30 / 7)             # 2024-01-01 → 2024-01-31
    # mean of the repeat purchase days 20 and 30: Gamma–Gamma spend comes from purchases, and the
    # credit note a5 (its own id, net −10) is a refund document, not a purchase (crm_core.features)
    assert a["monetary_value"] == pytest.approx(25.0)
    b = weeks["B"]
    assert (b["frequency"], b["recency"], b["monetary_value"]) == (0, 0.0, 0.0)
    assert b["T"] == pytest.approx(2 / 7)
    assert weeks["C"]["frequency"] == 0                # the refund day is not a purchase
    assert weeks["E"]["frequency"] == 0                # refund netted into order e1 on 2024-01-05
    days = by_customer(clv.rfm_input(tx(rows, order_ids=True), as_of, "D"))
    assert (days["A"]["recency"], days["A"]["T"]) == (14.0, 30.0)
    days_e = clv.purchase_days(tx(rows, order_ids=True), as_of).filter(pl.col("customer_id") == "E")
    assert days_e.rows() == [("E", date(2024, 1, 5), 70.0)]
    literal = by_customer(clv.rfm_input(tx(rows, order_ids=True), as_of, "D", include_refund_days=True))
    assert literal["C"]["frequency"] == 1 and literal["C"]["monetary_value"] == -40.0


def test_rfm_input_without_order_id_treats_a_day_as_one_order():
    rows = [("A", "2024-01-01", 10), ("A", "2024-01-01", 5), ("A", "2024-01-03", 7)]
    row = by_customer(clv.rfm_input(tx(rows), datetime(2024, 1, 11), "D"))["A"]
    assert (row["frequency"], row["recency"], row["T"], row["monetary_value"]) == (1, 2.0, 9.0, 7.0)


def test_rfm_input_calibration_and_holdout_like_lifetimes():
    # lifetimes test_calibration_and_holdout_data: calibration_end '2015-02-01' and end '2015-02-07'
    # (both inclusive) → here calibration_end 2015-02-02 and as_of 2015-02-08 (exclusive).
    rows = by_customer(clv.rfm_input(tx(LIFETIMES_ROWS), datetime(2015, 2, 8), "D", datetime(2015, 2, 2)))
    assert "6" not in rows                        # first purchase after the calibration period
    assert rows["1"]["frequency_holdout"] == 1
    assert rows["2"]["frequency_holdout"] == 0
    assert rows["4"]["frequency_holdout"] == 2
    assert rows["4"]["frequency"] == 0 and rows["4"]["T"] == 16.0   # 2015-01-16 → 2015-02-01
    assert rows["1"]["duration_holdout"] == 6.0
    assert rows["1"]["monetary_value_holdout"] == 2.0


# ---------------------------------------------------------------------------- BG/NBD

def test_p_alive_is_one_without_repeat_purchases():
    model = fixed_betageo()
    alive = model.p_alive([0, 0, 2, 2], [0, 0, 30.43, 5.0], [38.86, 1.0, 38.86, 38.86])
    assert alive[0] == 1.0 and alive[1] == 1.0
    assert 0 < alive[3] < alive[2] < 1          # a long silence after the last purchase lowers P(alive)


def test_conditional_expectation_without_history_equals_unconditional():
    # E[Y(t) | x=0, t_x=0, T=0] is the expectation for a new customer, FHL 2005a eq. 9
    model = fixed_betageo()
    t = np.array([0.5, 1.0, 10.0, 52.0])
    assert model.expected_purchases(t, 0, 0, 0) == pytest.approx(model.expected_purchases_new(t), rel=1e-10)
    assert model.expected_purchases(0.0, 3, 20.0, 30.0) == pytest.approx(0.0, abs=1e-12)
    grid = model.expected_purchases(np.array([1.0, 5.0, 20.0, 100.0]), 3, 20.0, 30.0)
    assert np.all(np.diff(grid) > 0)


def test_expected_purchases_at_a_equal_one_is_finite():
    # eqs. 9 and 10 divide by a − 1; the singularity at a = 1 is removable
    at_one, beside = fixed_betageo(a=1.0), fixed_betageo(a=1.0 + 1e-4)
    for model in (at_one, beside):
        assert np.isfinite(model.expected_purchases(52.0, [0, 3], [0.0, 20.0], [30.0, 30.0])).all()
    assert at_one.expected_purchases(52.0, 3, 20.0, 30.0) == pytest.approx(
        beside.expected_purchases(52.0, 3, 20.0, 30.0), rel=1e-3)
    assert at_one.expected_purchases_new(10.0) == pytest.approx(beside.expected_purchases_new(10.0), rel=1e-3)


def test_expected_purchases_handles_heavy_buyers():
    model = fixed_betageo()
    values = model.expected_purchases(52.0, [0, 50, 300], [0, 51.0, 51.9], [52.0, 52.0, 52.0])
    assert np.all(np.isfinite(values)) and values[2] > values[1] > values[0]


# Issue 14: a + b < 1 puts the third parameter a+b+x−1 of ₂F₁ in eq. 10 below 0 for customers without repeats
ISSUE_14 = {"r": 0.5156, "alpha": 5.6051, "a": 0.0056, "b": 0.3354}
CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def posterior_integral(t, x, t_x, T, r, alpha, a, b) -> float:
    """E[Y(t) | x, t_x, T] from the posterior, without ₂F₁: given alive at T, λ ~ Gamma(r+x, α+T) and
    p ~ Beta(a, b+x) independently, and E[Y(t) | λ, p] = (1 − e^(−λpt))/p (FHL 2005a eq. 7). Integrating λ
    gives (1 − (1 + p·t/(α+T))^(−(r+x)))/p; the Beta density's endpoint singularities go to QUADPACK's
    algebraic weight. Times P(alive) = 1 / (1 + δ(x>0)·a/(b+x−1)·((α+T)/(α+t_x))^(r+x))."""
    from scipy.integrate import quad
    from scipy.special import betaln
    s, u = r + x, t / (alpha + T)
    value, _ = quad(lambda p: -math.expm1(-s * math.log1p(p * u)) / p if p > 0 else s * u, 0.0, 1.0,
                    weight="alg", wvar=(a - 1.0, b + x - 1.0), epsabs=1e-14, epsrel=1e-12, limit=200)
    odds_dead = a / (b + x - 1.0) * ((alpha + T) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
    return value / math.exp(betaln(a, b + x)) / (1.0 + odds_dead)


def eq10_direct(t, x, t_x, T, r, alpha, a, b):
    """Eq. 10 written out with scipy's hyp2f1 (valid when a+b+x−1 > 0): the formula before issue 14."""
    from scipy.special import hyp2f1
    c, z = a + b + x - 1.0, t / (alpha + T + t)
    odds_dead = np.where(x > 0, a / (b + np.maximum(x, 1) - 1.0) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    return (c / (a - 1.0) * (1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, c, z))
            / (1.0 + odds_dead))


def test_expected_purchases_published_example_with_a_plus_b_below_one():
    # issue 14: r=0.5156, α=5.6051, a=0.0056, b=0.3354; E[Y(13) | x=0, t_x=0, T=3] = 0.771 (was NaN)
    model = fixed_betageo(**ISSUE_14)
    value = model.expected_purchases(13.0, 0, 0.0, 3.0)[()]
    assert round(value, 3) == 0.771
    assert value == pytest.approx(posterior_integral(13.0, 0, 0.0, 3.0, **ISSUE_14), rel=1e-9)
    # Monte Carlo of the BG/NBD story itself, no formula: draw λ ~ Gamma(r, α), p ~ Beta(a, b); keep the
    # customers without a repeat purchase in (0, 3] (still alive: dropping out follows a purchase); from 3 on
    # they buy at rate λ until the K-th purchase, K ~ Geometric(p), so Y(13) = min(Poisson(13λ), K)
    rng = np.random.default_rng(14)
    n = 2_000_000
    lam = rng.gamma(ISSUE_14["r"], 1.0 / ISSUE_14["alpha"], n)
    p = rng.beta(ISSUE_14["a"], ISSUE_14["b"], n)
    kept = rng.poisson(3.0 * lam) == 0
    lam, p = lam[kept], p[kept]
    u = 1.0 - rng.random(lam.size)  # (0, 1]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # p ≈ 0: K = ∞
        k = np.where(p > 0, np.floor(np.log(u) / np.log1p(-p)) + 1.0, np.inf)  # P(K > k) = (1 − p)^k
    y = np.minimum(rng.poisson(13.0 * lam), k)
    mean, se = y.mean(), y.std() / math.sqrt(y.size)
    assert se < 0.002  # precise enough to tell 0.771 from the new-customer value 1.18 or from 0
    assert abs(mean - value) < 4 * se


@pytest.mark.parametrize("a, b", [(0.0056, 0.3354), (0.3, 0.7), (0.5, 0.5 - 1e-9), (0.5, 0.5 + 1e-9),
                                  (0.9, 0.05), (1e-4, 1e-4)])
@pytest.mark.parametrize("t, T", [(0.5, 0.0), (13.0, 3.0), (52.0, 52.0), (365.0, 1.0), (5000.0, 10.0)])
def test_expected_purchases_without_repeats_for_a_plus_b_at_or_below_one(a, b, t, T):
    # third parameter of ₂F₁ from −0.9998 through 0 (a + b = 1, the pole of ₂F₁ that c·₂F₁ removes): finite,
    # positive and equal to the posterior integral; eq. 9 is the same computation at T = 0
    params = {"r": 0.7, "alpha": 3.7, "a": a, "b": b}
    model = fixed_betageo(**params)
    value = model.expected_purchases(t, 0, 0.0, T)[()]
    assert value > 0
    assert value == pytest.approx(posterior_integral(t, 0, 0.0, T, **params), rel=1e-8)
    if T == 0.0:
        assert model.expected_purchases_new(t)[()] == pytest.approx(value, rel=1e-12)


def test_expected_purchases_new_is_finite_when_a_plus_b_is_one():
    # eq. 9's ₂F₁(r, b; a+b−1; z) has its pole at a + b = 1; the expectation itself is smooth there
    at_one, beside = fixed_betageo(a=0.4, b=0.6), fixed_betageo(a=0.4, b=0.6 + 1e-6)
    t = np.array([1.0, 10.0, 100.0])
    assert np.isfinite(at_one.expected_purchases_new(t)).all()
    assert at_one.expected_purchases_new(t) == pytest.approx(beside.expected_purchases_new(t), rel=1e-5)
    assert at_one.expected_purchases_new(t) == pytest.approx(
        [posterior_integral(v, 0, 0.0, 0.0, r=0.243, alpha=4.414, a=0.4, b=0.6) for v in t], rel=1e-8)


def test_expected_purchases_with_repeats_match_the_posterior_integral():
    for params in (ISSUE_14, CDNOW):
        model = fixed_betageo(**params)
        for x, t_x, T, t in [(1, 2.0, 10.0, 13.0), (2, 30.43, 38.86, 39.0), (7, 20.0, 52.0, 52.0)]:
            assert model.expected_purchases(t, x, t_x, T)[()] == pytest.approx(
                posterior_integral(t, x, t_x, T, **params), rel=1e-8)


def test_expected_purchases_unchanged_for_ordinary_parameters():
    # CDNOW estimates (a + b > 1): the same numbers as eq. 10 evaluated directly, per customer and through
    # the distinct-(x, T) path taken from 256 customers on, for one horizon and for a column of horizons
    rows = [(x, f * T, T) for x in (0, 1, 2, 5, 20, 100) for T in (0.0, 1.0, 10.0, 38.86, 78.0)
            for f in ((0.0,) if x == 0 else (0.1, 0.5, 1.0))]
    x, t_x, T = (np.tile(np.array(v, dtype=float), 10) for v in zip(*rows))
    assert x.size >= 256
    model = fixed_betageo(**CDNOW)
    for t in (0.5, 1.0, 13.0, 52.0, 200.0):
        expected = eq10_direct(t, x, t_x, T, **CDNOW)
        assert np.isfinite(expected).all()
        np.testing.assert_allclose(model.expected_purchases(t, x, t_x, T), expected, rtol=1e-9, atol=0)
        np.testing.assert_allclose(model.expected_purchases(t, x[:20], t_x[:20], T[:20]), expected[:20],
                                   rtol=1e-9, atol=0)
    horizons = np.array([0.5, 13.0, 52.0])[:, None]
    np.testing.assert_allclose(model.expected_purchases(horizons, x, t_x, T),
                               eq10_direct(horizons, x, t_x, T, **CDNOW), rtol=1e-9, atol=0)


def test_real_ta_feng_fit_has_no_missing_expected_orders():
    # the Ta-Feng fixture fits a + b < 1: its 62 customers without repeats used to get NaN ("–" on Lifecycle)
    from pathlib import Path

    from crm_core.io import read_table
    result = clv.predict(read_table(Path(__file__).parents[1] / "data" / "real" / "ta_feng_gb18030.csv").df)
    p = result.betageo.params_
    assert p["a"] + p["b"] < 1
    table = result.table
    no_repeats = table.filter(pl.col("frequency") == 0)
    assert no_repeats.height == 62
    for name in ("expected_orders_next_365_days", "expected_orders_next_90_days", "predicted_value_365_days"):
        values = table[name]
        assert values.null_count() == 0 and not values.is_nan().any() and (values > 0).all()
    # spot check one customer without repeats against the posterior integral (time unit: weeks)
    row = no_repeats.row(0, named=True)
    assert row["expected_orders_next_90_days"] == pytest.approx(
        posterior_integral(90 / 7, 0, 0.0, row["T"], **p), rel=1e-8)


def test_betageo_recovers_simulated_parameters():
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 3.0}
    x, t_x, T = simulate_bgnbd(6000, **truth, T=52.0, seed=3)
    model = clv.BetaGeo().fit(x, t_x, T)
    assert model.converged_
    # population purchase rate r/α and drop-out probability a/(a+b) are well identified
    assert model.params_["r"] / model.params_["alpha"] == pytest.approx(truth["r"] / truth["alpha"], rel=0.1)
    fitted_p = model.params_["a"] / (model.params_["a"] + model.params_["b"])
    assert fitted_p == pytest.approx(truth["a"] / (truth["a"] + truth["b"]), rel=0.2)
    assert model.params_["r"] == pytest.approx(truth["r"], rel=0.2)


def test_weights_give_the_same_fit_as_repeated_rows():
    x = np.array([0, 0, 0, 1, 1, 2, 3, 5, 0, 1])
    t_x = np.array([0, 0, 0, 3.0, 3.0, 10.0, 20.0, 25.0, 0, 8.0])
    T = np.array([30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 12.0, 12.0])
    expanded = clv.BetaGeo().fit(x, t_x, T)
    compact = clv.BetaGeo().fit([0, 1, 2, 3, 5, 0, 1], [0, 3.0, 10.0, 20.0, 25.0, 0, 8.0],
                                [30.0, 30.0, 30.0, 30.0, 30.0, 12.0, 12.0], weights=[3, 2, 1, 1, 1, 1, 1])
    for name in ("r", "alpha", "a", "b"):
        assert compact.params_[name] == pytest.approx(expanded.params_[name], rel=1e-5)
    assert compact.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-9)
    assert expanded.n_customers_ == 10


def test_penalizer_shrinks_parameters():
    x, t_x, T = simulate_bgnbd(500, 0.5, 6.0, 0.8, 3.0, T=52.0, seed=5)
    plain = clv.BetaGeo().fit(x, t_x, T)
    shrunk = clv.BetaGeo(penalizer=0.1).fit(x, t_x, T)
    assert sum(v ** 2 for v in shrunk.params_.values()) < sum(v ** 2 for v in plain.params_.values())


def test_betageo_rejects_inconsistent_inputs():
    with pytest.raises(ValueError):
        clv.BetaGeo().fit([1, 0], [5.0, 0.0], [4.0, 3.0])     # recency > T
    with pytest.raises(ValueError):
        clv.BetaGeo().fit([0], [2.0], [4.0])                  # recency > 0 without repeats
    with pytest.raises(ValueError):
        clv.BetaGeo().p_alive([1], [1.0], [2.0])              # not fitted


# ------------------------------------------------------------------- degenerate BG/NBD fits

def loyal_transactions(customers: int = 120, end: datetime = datetime(2024, 1, 1)) -> pl.DataFrame:
    """Customers who never drop out: each buys every 1 … 8 weeks (by id) from a start day in the first 60 days
    of 2023 up to ``end``, with amounts of 20 … 30. Nobody stops, so the likelihood rises as a → 0."""
    rows = []
    for number in range(customers):
        day, gap = datetime(2023, 1, 1) + timedelta(days=number % 60), timedelta(weeks=1 + number % 8)
        while day < end:
            rows.append((f"L{number:03d}", day.isoformat(), 20.0 + number % 7 + day.toordinal() % 5))
            day += gap
    return tx(rows)


def test_customers_who_never_drop_out_give_a_degenerate_fit_with_its_reason():
    summary = clv.rfm_input(loyal_transactions(), datetime(2024, 1, 1))
    model = clv.BetaGeo().fit(summary["frequency"], summary["recency"], summary["T"])
    p = model.params_
    assert model.converged_                        # the optimiser is happy: convergence alone says nothing here
    assert p["a"] / (p["a"] + p["b"]) < 1e-6       # the mean drop-out chance ran to 0 (measured: 1.2e-10)
    assert model.degenerate_ and model.degenerate_reason_ == "dropout_zero"
    assert model.sure_alive_share_ == 1.0          # P(alive) ≥ 0.999 for every repeat buyer
    # the same fit judged without the drop-out threshold: P(alive) still tells nobody apart
    no_dropout_rule = clv.BetaGeo(min_dropout=0.0).fit(summary["frequency"], summary["recency"], summary["T"])
    assert no_dropout_rule.degenerate_reason_ == "p_alive_one"
    lenient = clv.BetaGeo(min_dropout=0.0, max_sure_share=1.01).fit(
        summary["frequency"], summary["recency"], summary["T"])
    assert not lenient.degenerate_ and lenient.degenerate_reason_ is None


def test_a_degenerate_fit_predicts_every_customer_and_says_why():
    result = clv.predict(loyal_transactions(), datetime(2024, 1, 1), horizon_days=365)
    assert result.betageo.degenerate_
    keys = [note["key"] for note in result.notes]
    assert "lifecycle.note.no_dropout" in keys and "lifecycle.note.missing_predictions" not in keys
    assert result.missing == {}
    for name in ("p_alive", "expected_orders_next_365_days", "expected_orders_next_90_days",
                 "expected_avg_order_value", "predicted_value_365_days"):
        values = result.table[name]
        assert values.null_count() == 0 and values.is_finite().all(), name
    assert (result.table["expected_orders_next_365_days"] > 0).all()


def test_degenerate_reason_rules_in_order():
    sound = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert clv.degenerate_reason(sound, 0.0) is None
    assert clv.degenerate_reason(sound, math.nan) == "no_repeat_buyers"
    assert clv.degenerate_reason({**sound, "a": 5.6e-6, "b": 2945.0}, 1.0) == "dropout_zero"  # the UK retailer
    assert clv.degenerate_reason({**sound, "a": 2e-4, "b": 1.0}, 0.0) is None                 # p = 2e-4
    assert clv.degenerate_reason({**sound, "a": 2e-4, "b": 1.0}, 0.0, min_dropout=1e-3) == "dropout_zero"
    assert clv.degenerate_reason({**sound, "r": math.exp(17.5)}, 0.0) == "r_at_bound"
    assert clv.degenerate_reason({**sound, "alpha": math.exp(-17.5)}, 0.0) == "alpha_at_bound"
    assert clv.degenerate_reason({**sound, "b": math.exp(-17.2)}, 0.0) == "b_at_bound"          # p → 1
    assert clv.degenerate_reason({**sound, "b": math.exp(-17.2)}, 0.0, bound_margin=0.5) is None
    # a ridge, not an edge: both of a pair run off with a finite ratio (the Poisson limit, one drop-out chance
    # for all; measured on the generated sample 90 days back: a = 2.1e6, b = 6.6e7) is converged_ = False
    assert clv.degenerate_reason({**sound, "r": math.exp(17.5), "alpha": math.exp(17.0)}, 0.0) is None
    assert clv.degenerate_reason({**sound, "a": 2.1e6, "b": 6.6e7}, 0.0) is None
    assert clv.degenerate_reason(sound, 0.99) == "p_alive_one"
    assert clv.degenerate_reason(sound, 0.989) is None
    assert clv.degenerate_reason(sound, 0.95, max_sure_share=0.9) == "p_alive_one"


def test_simulated_drop_out_is_not_degenerate():
    x, t_x, T = simulate_bgnbd(3000, r=0.5, alpha=6.0, a=0.8, b=3.0, T=52.0, seed=8)
    model = clv.BetaGeo().fit(x, t_x, T)
    assert not model.degenerate_ and model.degenerate_reason_ is None
    assert 0.0 <= model.sure_alive_share_ < 0.5


def test_real_ta_feng_fixture_is_not_degenerate():
    # tests/data/real/ta_feng_original.csv, loaded as tests/core/test_io_real.py does: 162 customers, 100 repeat
    # buyers; measured a = 0.0487, b = 0.903 (mean drop-out chance 5 %), P(alive) ≥ 0.999 for none of them
    from pathlib import Path

    from crm_core.io import read_table
    transactions = read_table(Path(__file__).parents[1] / "data" / "real" / "ta_feng_original.csv").df
    result = clv.predict(transactions)
    model = result.betageo
    assert model.converged_ and not model.degenerate_ and model.degenerate_reason_ is None
    p = model.params_
    assert p["a"] / (p["a"] + p["b"]) == pytest.approx(0.051, abs=0.005)
    assert model.sure_alive_share_ == 0.0
    assert result.missing == {}


def test_predictions_without_a_number_are_counted_and_told_never_zero(monkeypatch):
    # the formulas are finite on every fit we know of; a NaN planted in the first customer's expected purchases
    # must come out as null (not 0, not dropped), counted, and told in a note
    original = clv.BetaGeo.expected_purchases

    def first_customer_nan(self, t, frequency, recency, T):
        values = np.array(original(self, t, frequency, recency, T), dtype=float)
        if values.ndim and values.shape[-1] > 1:
            values[..., 0] = np.nan
        return values

    monkeypatch.setattr(clv.BetaGeo, "expected_purchases", first_customer_nan)
    transactions = simulated_transactions(150, seed=7)
    result = clv.predict(transactions, datetime(2024, 1, 1), horizon_days=180)
    first = result.table.row(0, named=True)
    assert first["expected_orders_next_180_days"] is None and first["predicted_value_180_days"] is None
    assert first["expected_orders_next_90_days"] is None
    assert result.missing == {"expected_orders_next_180_days": 1, "expected_orders_next_90_days": 1,
                              "predicted_value_180_days": 1}
    assert {"key": "lifecycle.note.missing_predictions", "params": {"customers": 1}} in result.notes
    assert result.table.height == transactions["customer_id"].n_unique()       # nobody dropped
    rest = result.table.slice(1)
    assert rest["predicted_value_180_days"].null_count() == 0 and (rest["predicted_value_180_days"] >= 0).all()


def test_gamma_gamma_reports_the_frequency_spend_correlation():
    frequency = np.array([1, 2, 3, 4, 5, 1, 2, 3])
    spend = np.array([10.0, 12.0, 15.0, 15.0, 20.0, 11.0, 13.0, 14.0])
    fitted = clv.GammaGamma().fit(np.append(frequency, [0, 2]), np.append(spend, [0.0, -5.0]))
    # only the fitted customers (x > 0, m̄ > 0) enter, as numpy's Pearson r of those says
    assert fitted.frequency_spend_correlation_ == pytest.approx(np.corrcoef(frequency, spend)[0, 1], rel=1e-12)
    weighted = clv.frequency_spend_correlation([1, 2, 3], [10.0, 30.0, 20.0], weights=[2, 1, 1])
    assert weighted == pytest.approx(np.corrcoef([1, 1, 2, 3], [10.0, 10.0, 30.0, 20.0])[0, 1], rel=1e-12)
    assert math.isnan(clv.frequency_spend_correlation([2, 2, 2], [1.0, 5.0, 9.0]))


# ------------------------------------------------------------------------ Gamma–Gamma

def test_gamma_gamma_expected_spend_formula_and_exclusions():
    model = clv.GammaGamma()
    model.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    # note 025 eq. 5: w = p·x / (p·x + q − 1); E = (1 − w)·p·v/(q − 1) + w·m̄
    w = 12.5 / (12.5 + 2.74)
    expected = (1 - w) * 6.25 * 15.44 / 2.74 + w * 22.35
    assert model.expected_spend(2, 22.35)[()] == pytest.approx(expected)
    assert expected == pytest.approx(24.66, abs=0.005)      # Fader & Hardie (2013) / lifetimes
    assert model.expected_spend(0, 0.0)[()] == pytest.approx(6.25 * 15.44 / 2.74)
    assert model.expected_spend(3, -5.0)[()] == pytest.approx(model.population_mean_spend_)

    rng = np.random.default_rng(1)
    frequency = np.array([0] * 7 + [1] * 30 + [2] * 20 + [3] * 3)
    monetary = np.where(frequency > 0, rng.gamma(5.0, 6.0, len(frequency)), 0.0)
    monetary[-3:] = [0.0, -12.0, 0.0]                          # repeat buyers with non-positive spend
    fitted = clv.GammaGamma().fit(frequency, monetary)
    assert fitted.excluded_ == {"no_repeat": 7, "non_positive_spend": 3}
    assert fitted.n_customers_ == 50
    assert fitted.params_["q"] > 1


# ------------------------------------------------------------------------------- CLV

def test_customer_value_is_lifetimes_discounted_monthly_sum():
    bg = fixed_betageo()
    gg = clv.GammaGamma()
    gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    f, r, T, m = np.array([2, 0, 7]), np.array([30.43, 0.0, 29.43]), np.array([38.86, 38.86, 38.86]), \
        np.array([22.35, 0.0, 73.74])
    spend = gg.expected_spend(f, m)
    factor = 4.345  # weeks per month in lifetimes
    by_hand = sum(spend * (bg.expected_purchases(i * factor, f, r, T)
                           - bg.expected_purchases((i - 1) * factor, f, r, T)) / 1.01 ** i for i in range(1, 4))
    assert clv.customer_value(bg, gg, f, r, T, m, horizon_months=3, monthly_discount=0.01) == \
        pytest.approx(by_hand, rel=1e-12)
    undiscounted = clv.customer_value(bg, gg, f, r, T, m, horizon_months=1, monthly_discount=0.0)
    assert undiscounted == pytest.approx(spend * bg.expected_purchases(factor, f, r, T), rel=1e-12)
    days = clv.customer_value(bg, gg, f, r * 7, T * 7, m, horizon_months=1, monthly_discount=0.0, time_unit="D")
    assert np.all(days > 0)


# ------------------------------------------------------------------------ next order

def test_next_order_regular_rhythm_and_model_basis():
    rows = [("R", d, 30) for d in ("2024-01-01", "2024-01-15", "2024-01-29", "2024-02-12", "2024-02-26")]
    rows += [("S", "2024-03-01", 40), ("T", "2024-01-01", 10), ("T", "2024-03-10", 10)]
    as_of = datetime(2024, 3, 17)
    model = fixed_betageo()
    table = by_customer(clv.next_order(tx(rows), as_of, model, time_unit="W", horizon_days=90))
    regular = table["R"]
    assert regular["next_order_basis"] == "own_rhythm"
    assert regular["median_gap_days"] == 14
    assert regular["expected_next_order_date"] == date(2024, 3, 11)
    assert regular["days_overdue"] == 6
    single = table["S"]
    assert single["next_order_basis"] == "model" and single["days_overdue"] == 0
    expected_90 = single["expected_orders_next_90_days"]
    assert expected_90 == pytest.approx(model.expected_purchases(90 / 7, 0, 0, 15 / 7)[()])  # T: 03-01 → 03-16
    assert single["expected_next_order_date"] == date(2024, 3, 17) + timedelta(days=math.ceil(90 / expected_90))
    assert table["T"]["next_order_basis"] == "model"          # one gap is not a rhythm yet
    assert single["p_alive"] == 1.0


# ---------------------------------------------------------------------------- predict

def simulated_transactions(n: int = 400, seed: int = 2) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = datetime(2023, 1, 1)
    rows = []
    for i in range(n):
        day = int(rng.integers(0, 300))
        rate, p = rng.gamma(0.8, 1 / 30), rng.beta(1, 5)
        while day < 365:
            rows.append((f"c{i:04d}", (start + timedelta(days=day)).isoformat(), float(rng.gamma(3, 20))))
            day += max(1, int(rng.exponential(1 / rate)))
            if rng.random() < p:
                break
    return tx(rows)


def test_predict_columns_units_and_result():
    transactions = simulated_transactions()
    result = clv.predict(transactions, datetime(2024, 1, 1), horizon_days=180)
    table = result.table
    for column in ("p_alive", "expected_orders_next_180_days", "expected_avg_order_value",
                   "predicted_value_180_days", "expected_next_order_date", "days_overdue",
                   "expected_orders_next_90_days", "next_order_basis"):
        assert column in table.columns
    assert table.height == transactions["customer_id"].n_unique()
    assert table["p_alive"].is_between(0, 1).all()
    assert (table["predicted_value_180_days"] >= 0).all()
    assert (table["expected_avg_order_value"] > 0).all()
    assert result.gammagamma is not None and result.excluded["no_repeat"] == int((table["frequency"] == 0).sum())
    assert result.betageo.converged_
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.horizon_days = 1  # type: ignore[misc]
    # the 90-day expectation is smaller than the 180-day one for everybody
    assert (table["expected_orders_next_90_days"] <= table["expected_orders_next_180_days"] + 1e-12).all()


def test_predict_without_enough_repeat_buyers_uses_own_average_and_says_so():
    rows = [("A", "2024-01-01", 10), ("A", "2024-02-01", 30), ("B", "2024-01-15", 50), ("C", "2024-02-10", 20)]
    result = clv.predict(tx(rows), datetime(2024, 3, 1), horizon_days=90)
    assert result.gammagamma is None
    keys = [note["key"] for note in result.notes]
    assert "lifecycle.note.spend_model_skipped" in keys and "lifecycle.note.few_repeat_buyers" in keys
    assert result.table["predicted_value_90_days"].is_finite().all()
    spend = dict(result.table.select("customer_id", "expected_avg_order_value").iter_rows())
    assert spend == {"A": 20.0, "B": 50.0, "C": 20.0}


# ---------------------------------------------------------------------------- holdout

def test_holdout_counts_and_summary():
    transactions = simulated_transactions(300, seed=4)
    result = clv.holdout(transactions, datetime(2023, 10, 1), datetime(2024, 1, 1))
    assert result.converged and not result.degenerate
    table = result.table
    later = transactions.filter(pl.col("order_date") >= datetime(2023, 10, 1))
    known = transactions.filter(pl.col("order_date") < datetime(2023, 10, 1))["customer_id"].unique()
    assert set(table["customer_id"]) == set(known)
    actual = (later.filter(pl.col("customer_id").is_in(known.implode()))
              .select("customer_id", pl.col("order_date").dt.date()).unique().height)
    assert table["frequency_holdout"].sum() == actual
    assert table["duration_holdout"].unique().to_list() == [pytest.approx(92 / 7)]
    buckets = clv.holdout_by_frequency(table, max_frequency=3)
    assert buckets["frequency_cal"].to_list() == sorted(buckets["frequency_cal"].to_list())
    assert buckets["frequency_cal"].max() <= 3 and buckets["customers"].sum() == table.height
    metrics = clv.holdout_metrics(table)
    assert metrics["actual_total"] == actual and metrics["mae"] >= 0


def test_holdout_metrics_by_hand():
    table = pl.DataFrame({"predicted_purchases_holdout": [1.0, 2.0, 0.5], "frequency_holdout": [1, 3, 0]})
    metrics = clv.holdout_metrics(table)
    assert metrics["mae"] == pytest.approx(0.5)
    assert metrics["rmse"] == pytest.approx(math.sqrt((0 + 1 + 0.25) / 3))
    assert metrics["total_relative_error"] == pytest.approx(3.5 / 4 - 1)


def test_column_labels_carry_units():
    assert clv.column_label("expected_orders_next_90_days") == {
        "key": "lifecycle.column.expected_orders_next_days", "params": {"days": 90}}
    assert clv.column_label("predicted_value_365_days")["params"] == {"days": 365}
    assert clv.column_label("recency", "D")["key"] == "lifecycle.column.recency_days"
    assert clv.column_label("T_cal", "W")["key"] == "lifecycle.column.T_weeks"
    assert clv.column_label("p_alive")["key"] == "lifecycle.column.p_alive"


def test_every_output_column_has_a_label_in_both_languages():
    import tomllib
    from pathlib import Path

    locales = Path(__file__).resolve().parents[2] / "ui" / "locales"
    catalogs = {}
    for lang in ("en", "zh"):
        with (locales / lang / "lifecycle.toml").open("rb") as handle:
            catalogs[lang] = tomllib.load(handle)["lifecycle"]
    transactions = simulated_transactions(150, seed=6)
    holdout_table = clv.holdout(transactions, datetime(2023, 10, 1), datetime(2024, 1, 1)).table
    frames = [clv.predict(transactions, datetime(2024, 1, 1), horizon_days=365).table, holdout_table,
              clv.holdout_by_frequency(holdout_table)]
    for time_unit in ("W", "D"):
        for name in {c for frame in frames for c in frame.columns}:
            label = clv.column_label(name, time_unit)
            section, entry = label["key"].removeprefix("lifecycle.").split(".")
            for lang, catalog in catalogs.items():
                assert entry in catalog[section], (lang, name)
                catalog[section][entry].format(**label["params"])
    for key in list(clv.holdout_metrics(holdout_table)) + ["no_repeat", "non_positive_spend"]:
        assert key in catalogs["en"]["metric"] or key in catalogs["en"]["excluded"]
