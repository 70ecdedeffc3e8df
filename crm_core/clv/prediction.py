"""Per-customer predictions: discounted customer value, the next order and :func:`predict`, which fits both models."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from crm_core.clv.bgnbd import BetaGeo
from crm_core.clv.fitting import UNITS_PER_MONTH, ArrayLike, _float_array, _unit_days
from crm_core.clv.gamma_gamma import GammaGamma
from crm_core.clv.inputs import _summary, last_included_day, purchase_days, purchase_history
from crm_core.features import DateLike, MissingAmounts, default_as_of, has_amounts, to_datetime


def customer_value(betageo: BetaGeo, gammagamma: GammaGamma | None, frequency: ArrayLike, recency: ArrayLike,
                   T: ArrayLike, monetary: ArrayLike, horizon_months: float = 12,
                   monthly_discount: float = 0.01, time_unit: str = "W",
                   expected_spend: ArrayLike | None = None) -> np.ndarray:
    """Discounted expected revenue over ``horizon_months`` (lifetimes' ``customer_lifetime_value``).

    CLV = Σ_months E[Z | x, m̄] · (E[Y(mᵢ) | x, t_x, T] − E[Y(mᵢ₋₁) | …]) / (1 + monthly_discount)^i,
    with month i ending at i · UNITS_PER_MONTH[time_unit] model units (4.345 weeks or 30 days, as in
    lifetimes). A fractional last month is discounted at its fractional end. ``expected_spend`` overrides
    the Gamma–Gamma spend (used when that model could not be fitted).
    """
    _unit_days(time_unit)  # validates the unit
    per_month = UNITS_PER_MONTH[time_unit]
    if expected_spend is None:
        if gammagamma is None:
            raise ValueError("need a fitted GammaGamma or an explicit expected_spend")
        expected_spend = gammagamma.expected_spend(frequency, monetary)
    spend = _float_array(expected_spend)
    if horizon_months <= 0:
        return np.zeros(np.broadcast(spend, _float_array(frequency)).shape)
    month_ends = np.arange(1, math.ceil(horizon_months) + 1, dtype=float)
    month_ends[-1] = horizon_months
    grid = np.concatenate([[0.0], month_ends])[:, None] * per_month  # (months + 1, 1) in model units
    x, t_x, age = (_float_array(v)[None, :] for v in (frequency, recency, T))
    cumulative = betageo.expected_purchases(grid, x, t_x, age)  # (months + 1, customers)
    incremental = np.diff(cumulative, axis=0)
    discount = (1.0 + monthly_discount) ** month_ends[:, None]
    return (spend[None, :] * incremental / discount).sum(axis=0)


def next_order(transactions: pl.DataFrame, as_of: DateLike | None = None, betageo: BetaGeo | None = None, *,
               time_unit: str = "W", horizon_days: int = 90, min_gaps: int = 2,
               max_days_ahead: int = 730) -> pl.DataFrame:
    """Expected date of each customer's next order and how overdue it is.

    * ``own_rhythm``: customers with at least ``min_gaps`` gaps between purchase days: last purchase day
      + their own median gap (rounded to whole days).
    * ``model``: everyone else: ``as_of`` + horizon_days / E[orders in the next horizon_days] from BG/NBD
      (eq. 10), i.e. the expected waiting time at the model's predicted rate, which already discounts
      customers who have probably dropped out. Null when that lies more than ``max_days_ahead`` days away.

    ``days_overdue`` = max(0, as_of day − expected date) (always 0 on the model basis). ``betageo`` must be
    fitted on :func:`rfm_input` in ``time_unit``; when None one is fitted here as of ``as_of``.
    Columns: ``customer_id, purchase_days, last_order_date, median_gap_days, expected_next_order_date,
    next_order_basis, days_overdue, p_alive, expected_orders_next_<horizon_days>_days``.
    """
    unit_days = _unit_days(time_unit)
    as_of_dt = to_datetime(as_of) if as_of is not None else default_as_of(transactions)
    days = purchase_days(transactions, as_of_dt)
    summary = _summary(days, last_included_day(as_of_dt), unit_days)
    if betageo is None:
        betageo = BetaGeo().fit(summary["frequency"], summary["recency"], summary["T"])
    return _next_order(days, summary, betageo, as_of_dt, unit_days, horizon_days, min_gaps, max_days_ahead)


def _next_order(days: pl.DataFrame, summary: pl.DataFrame, betageo: BetaGeo, as_of_dt: datetime,
                unit_days: float, horizon_days: int, min_gaps: int, max_days_ahead: int) -> pl.DataFrame:
    f, r, age = summary["frequency"], summary["recency"], summary["T"]
    orders_col = f"expected_orders_next_{horizon_days}_days"
    # library boundary: model predictions are numpy
    model = summary.select("customer_id").with_columns(
        pl.Series("p_alive", betageo.p_alive(f, r, age)),
        pl.Series(orders_col, betageo.expected_purchases(horizon_days / unit_days, f, r, age)))
    today = pl.lit(as_of_dt.date())
    model_wait = pl.lit(float(horizon_days)) / pl.col(orders_col)
    own = pl.col("gaps") >= min_gaps
    return (
        purchase_history(days).join(model, on="customer_id", how="left")
        .with_columns(
            pl.when(own).then(pl.lit("own_rhythm")).otherwise(pl.lit("model")).alias("next_order_basis"),
            pl.when(own).then(pl.col("last_order_date") + pl.duration(days=pl.col("median_gap_days").round(0)))
            .when(model_wait <= max_days_ahead)
            .then(today + pl.duration(days=model_wait.ceil()))
            .otherwise(None).cast(pl.Date).alias("expected_next_order_date"),
        )
        .with_columns(
            pl.max_horizontal(pl.lit(0), (today - pl.col("expected_next_order_date")).dt.total_days())
            .cast(pl.Int64).alias("days_overdue"))
        .select("customer_id", "purchase_days", "last_order_date", "median_gap_days",
                "expected_next_order_date", "next_order_basis", "days_overdue", "p_alive", orders_col)
        .sort("customer_id")
    )


@dataclass(frozen=True)
class CLVResult:
    """Per-customer predictions plus the fitted models and what the fit left out.

    ``notes`` are translatable messages ``{"key", "params"}`` (ui/locales/*/lifecycle.toml). ``missing``
    counts, per prediction column, the customers the model gave no finite number (null in ``table``,
    explained by the note ``lifecycle.note.missing_predictions``); empty when every prediction exists.
    """

    table: pl.DataFrame
    betageo: BetaGeo
    gammagamma: GammaGamma | None
    excluded: dict[str, int]
    time_unit: str
    horizon_days: int
    as_of: datetime
    notes: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    missing: dict[str, int] = field(default_factory=dict)


PENALIZER_LADDER = (0.0, 0.001, 0.01, 0.1)


def _degenerate_note(reason: str | None) -> dict[str, Any] | None:
    """The note on a degenerate BG/NBD fit (:func:`crm_core.clv.degenerate_reason`); None when there is
    nothing to add (not degenerate, or no repeat buyers, which ``lifecycle.note.few_repeat_buyers`` says)."""
    if reason in ("dropout_zero", "p_alive_one"):
        return {"key": "lifecycle.note.no_dropout", "params": {}}
    if reason is not None and reason.endswith("_at_bound"):
        return {"key": "lifecycle.note.at_bound", "params": {"parameter": reason.removesuffix("_at_bound")}}
    return None


def predict(transactions: pl.DataFrame, as_of: DateLike | None = None, horizon_days: int = 365,
            monthly_discount: float = 0.01, *, time_unit: str = "W", penalizer: float = 0.0,
            next_order_horizon_days: int = 90, min_spend_customers: int = 10, min_repeat_customers: int = 10,
            min_gaps: int = 2, max_days_ahead: int = 730) -> CLVResult:
    """Fit BG/NBD and Gamma–Gamma as of ``as_of`` and predict per customer.

    Table columns: ``customer_id, frequency, recency, T, monetary_value`` (inputs, in ``time_unit``),
    ``p_alive``, ``expected_orders_next_<h>_days``, ``expected_avg_order_value``,
    ``predicted_value_<h>_days`` (CLV over h = ``horizon_days``, monthly discount), and the
    :func:`next_order` columns (``min_gaps``, ``max_days_ahead`` as there). If BG/NBD does not converge,
    larger penalizers are tried in turn (:data:`PENALIZER_LADDER`) and a note says which was used; a
    degenerate fit (``BetaGeo.degenerate_``: no measurable drop-out, or a parameter at its bound) gets the
    note ``lifecycle.note.no_dropout`` or ``lifecycle.note.at_bound``. A prediction the formulas leave
    without a finite number is null, never 0, counted in ``CLVResult.missing`` and told by the note
    ``lifecycle.note.missing_predictions`` (customers). With
    fewer than ``min_spend_customers`` repeat buyers Gamma–Gamma is skipped and each customer's own mean
    purchase-day value is used instead (with a note); with fewer than ``min_repeat_customers`` repeat
    buyers a note says the purchase predictions rest on too little repeat behaviour. Without amounts
    (:func:`crm_core.features.has_amounts` is False) Gamma–Gamma is not fitted: ``monetary_value``,
    ``expected_avg_order_value`` and ``predicted_value_<h>_days`` are null and the note
    ``app.base.needs_amounts`` (analysis ``clv``) says so; purchases and P(alive) still come from BG/NBD.
    Purchases exclude refund documents (:mod:`crm_core.features`): customers with only refunds before
    ``as_of`` have no row.
    """
    unit_days = _unit_days(time_unit)
    as_of_dt = to_datetime(as_of) if as_of is not None else default_as_of(transactions)
    days = purchase_days(transactions, as_of_dt)
    summary = _summary(days, last_included_day(as_of_dt), unit_days)
    if summary.height == 0:
        raise ValueError("no customers with orders before as_of")
    notes: list[dict[str, Any]] = []
    f, r, age, m = (summary[c] for c in ("frequency", "recency", "T", "monetary_value"))
    ladder = [penalizer] + [p for p in PENALIZER_LADDER if p > penalizer]
    betageo = BetaGeo(penalizer=ladder[0]).fit(f, r, age)
    for pen in ladder[1:]:  # larger penalizers until one converges
        if betageo.converged_:
            break
        betageo = BetaGeo(penalizer=pen).fit(f, r, age)
    if betageo.penalizer != penalizer:
        notes.append({"key": "lifecycle.note.penalizer_used", "params": {"penalizer": betageo.penalizer}})
    if not betageo.converged_:
        notes.append({"key": "lifecycle.note.not_converged", "params": {}})
    degenerate = _degenerate_note(betageo.degenerate_reason_)
    if degenerate is not None:
        notes.append(degenerate)
    repeat_customers = int((f > 0).sum())
    if repeat_customers < min_repeat_customers:
        notes.append({"key": "lifecycle.note.few_repeat_buyers",
                      "params": {"customers": repeat_customers, "minimum": min_repeat_customers}})

    repeat_positive = int(((f > 0) & (m > 0)).sum())
    gammagamma: GammaGamma | None = None
    money = has_amounts(transactions)
    if not money:  # baskets without amounts: purchases and P(alive) only, no spend and no value
        spend = np.full(summary.height, np.nan)
        excluded = {}
        notes.append({"key": MissingAmounts("clv").key, "params": {"analysis": "clv"}})
    elif repeat_positive >= min_spend_customers:
        gammagamma = GammaGamma().fit(f, m)
        spend = gammagamma.expected_spend(f, m)
        excluded = dict(gammagamma.excluded_)
    else:
        own_mean = days.group_by("customer_id").agg(pl.col("value").mean().alias("own"))
        # a customer whose every amount is missing has no own mean: NaN, counted below, not 0
        spend = summary.join(own_mean, on="customer_id", how="left")["own"].cast(pl.Float64).fill_null(
            float("nan")).to_numpy()
        excluded = {"no_repeat": int((f == 0).sum()), "non_positive_spend": int(((f > 0) & (m <= 0)).sum())}
        notes.append({"key": "lifecycle.note.spend_model_skipped",
                      "params": {"customers": repeat_positive, "minimum": min_spend_customers}})

    units_per_month = UNITS_PER_MONTH[time_unit]
    horizon_months = horizon_days / (units_per_month * unit_days)
    value = (customer_value(betageo, gammagamma, f, r, age, m, horizon_months, monthly_discount, time_unit,
                            expected_spend=spend) if money else np.full(summary.height, np.nan))
    h = horizon_days
    table = summary.with_columns(
        pl.Series("p_alive", betageo.p_alive(f, r, age)),
        pl.Series(f"expected_orders_next_{h}_days", betageo.expected_purchases(h / unit_days, f, r, age)),
        pl.Series("expected_avg_order_value", spend, dtype=pl.Float64, nan_to_null=True),
        pl.Series(f"predicted_value_{h}_days", value, dtype=pl.Float64, nan_to_null=True),
    )
    upcoming = _next_order(days, summary, betageo, as_of_dt, unit_days, next_order_horizon_days,
                           min_gaps, max_days_ahead).drop("p_alive")
    if next_order_horizon_days == h:
        upcoming = upcoming.drop(f"expected_orders_next_{h}_days")
    table = table.join(upcoming, on="customer_id", how="left").sort("customer_id")
    # model outputs without a finite number become null (blank, left out of sums) and are counted; the money
    # columns without amounts are null by design and already told by app.base.needs_amounts
    predicted = ["p_alive", f"expected_orders_next_{h}_days", f"expected_orders_next_{next_order_horizon_days}_days",
                 *(["expected_avg_order_value", f"predicted_value_{h}_days"] if money else [])]
    predicted = list(dict.fromkeys(predicted))
    table = table.with_columns(pl.when(pl.col(name).is_finite()).then(pl.col(name)).alias(name) for name in predicted)
    counts = table.select(pl.col(predicted).null_count()).row(0, named=True)
    missing = {name: int(count) for name, count in counts.items() if count}
    if missing:
        customers = int(table.select(pl.any_horizontal(pl.col(predicted).is_null()).sum()).item())
        notes.append({"key": "lifecycle.note.missing_predictions", "params": {"customers": customers}})
    return CLVResult(table, betageo, gammagamma, excluded, time_unit, horizon_days, as_of_dt, tuple(notes),
                     missing)
