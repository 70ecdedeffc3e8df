"""Calibration vs holdout: BG/NBD fitted before a cut-off against the purchases after it, by frequency and overall."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from crm_core.clv.bgnbd import BetaGeo
from crm_core.clv.inputs import rfm_input
from crm_core.features import DateLike


@dataclass(frozen=True)
class HoldoutResult:
    """The calibration-vs-holdout table of :func:`holdout` and the BG/NBD fitted on the calibration period.

    ``converged``, ``degenerate`` and ``degenerate_reason`` are the calibration fit's ``converged_``,
    ``degenerate_`` and ``degenerate_reason_`` (:class:`~crm_core.clv.BetaGeo`), so a caller showing the check
    can say whether the model it checks meant anything.
    """

    table: pl.DataFrame
    betageo: BetaGeo

    @property
    def converged(self) -> bool:
        return self.betageo.converged_

    @property
    def degenerate(self) -> bool:
        return self.betageo.degenerate_

    @property
    def degenerate_reason(self) -> str | None:
        return self.betageo.degenerate_reason_


def holdout(transactions: pl.DataFrame, calibration_end: DateLike, observation_end: DateLike, *,
            time_unit: str = "W", penalizer: float = 0.0) -> HoldoutResult:
    """Fit BG/NBD on ``[start, calibration_end)`` and compare with purchases in ``[calibration_end,
    observation_end)``, per customer (lifetimes' ``calibration_and_holdout_data`` + prediction).

    ``table`` columns: ``customer_id, frequency_cal, recency_cal, T_cal, frequency_holdout, duration_holdout,
    predicted_purchases_holdout`` (E[Y(duration) | calibration history], eq. 10). Only customers whose first
    purchase precedes ``calibration_end`` appear; nothing after it enters the fit. ``betageo`` is that fit,
    with its convergence and degeneracy (:class:`HoldoutResult`).
    """
    combined = rfm_input(transactions, observation_end, time_unit, calibration_end)
    model = BetaGeo(penalizer=penalizer).fit(combined["frequency"], combined["recency"], combined["T"])
    predicted = model.expected_purchases(combined["duration_holdout"], combined["frequency"],
                                         combined["recency"], combined["T"])
    table = (
        combined.rename({"frequency": "frequency_cal", "recency": "recency_cal", "T": "T_cal",
                         "monetary_value": "monetary_value_cal"})
        .with_columns(pl.Series("predicted_purchases_holdout", predicted))
        .select("customer_id", "frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout",
                "predicted_purchases_holdout")
    )
    return HoldoutResult(table, model)


def holdout_by_frequency(holdout_table: pl.DataFrame, max_frequency: int = 7) -> pl.DataFrame:
    """Mean predicted vs mean actual holdout purchases by calibration frequency 0 … ``max_frequency``+
    (lifetimes' ``plot_calibration_purchases_vs_holdout_purchases``). Columns: ``frequency_cal``
    (the last bucket holds everyone at or above ``max_frequency``), ``customers``,
    ``predicted_purchases_holdout``, ``actual_purchases_holdout``."""
    return (
        holdout_table.group_by(pl.col("frequency_cal").clip(upper_bound=max_frequency))
        .agg(pl.len().alias("customers"), pl.col("predicted_purchases_holdout").mean(),
             pl.col("frequency_holdout").mean().alias("actual_purchases_holdout"))
        .sort("frequency_cal")
    )


def holdout_metrics(holdout_table: pl.DataFrame) -> dict[str, float]:
    """Per-customer MAE and RMSE, Pearson correlation, and total predicted vs actual purchases with the
    relative error of the total (lifetimes #438: numbers beside the calibration plot)."""
    predicted = holdout_table["predicted_purchases_holdout"].to_numpy()
    actual = holdout_table["frequency_holdout"].cast(pl.Float64).to_numpy()
    error = predicted - actual
    corr = float(np.corrcoef(predicted, actual)[0, 1]) if len(actual) > 1 and actual.std() > 0 else math.nan
    total_actual = float(actual.sum())
    return {
        "customers": float(len(actual)),
        "mae": float(np.abs(error).mean()) if len(actual) else math.nan,
        "rmse": float(np.sqrt((error ** 2).mean())) if len(actual) else math.nan,
        "correlation": corr,
        "predicted_total": float(predicted.sum()),
        "actual_total": total_actual,
        "total_relative_error": float(predicted.sum() / total_actual - 1.0) if total_actual else math.nan,
    }
